//! Waiting until a release deployed at the gateway serves: the provider reports a replica
//! available (on faasd at once, so this proves little), then the function answers through the
//! gateway's `/function/NAME`. Right after a deploy the answers marked `X-Openfaas-Internal`
//! are not the function's: the gateway's `500 Can't reach service for: NAME.` (`proxy`), or,
//! on faasd, the of-watchdog's empty 500 while the function's process is not ready yet
//! (`of-watchdog`).

use std::time::{Duration, Instant};

use super::OpenFaasError;
use super::gateway::Gateway;
use crate::runtime::Deployment;

const POLL: Duration = Duration::from_millis(100);

/// Waits, within the function's health timeout, until a replica is available and the template's
/// readiness path (when it has one) and then the health path answer through the gateway.
pub async fn wait(
    gateway: &Gateway,
    http: &reqwest::Client,
    deployment: &Deployment,
) -> Result<(), OpenFaasError> {
    let function = deployment.function.as_str();
    let timeout = deployment.spec.health.timeout;
    let deadline = Instant::now() + timeout;
    let not_ready = |last: String| {
        OpenFaasError::NotReady(format!(
            "no answer within {}s (last: {last})",
            timeout.as_secs()
        ))
    };
    loop {
        let status = gateway.function(function).await?;
        match status {
            Some(status) if status.available_replicas > 0 => break,
            Some(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Some(_) => {
                return Err(not_ready(
                    "the provider reports no available replica".to_owned(),
                ));
            }
            None => {
                return Err(OpenFaasError::NotReady(
                    "the gateway no longer lists the function".to_owned(),
                ));
            }
        }
    }
    let probes = deployment
        .readiness
        .iter()
        .map(|path| (path.as_str(), 200..300))
        .chain(std::iter::once((
            deployment.spec.health.path.as_str(),
            100..500,
        )));
    for (path, ok) in probes {
        let url = format!("{}/function/{function}{path}", gateway.url());
        loop {
            let last = match http.get(&url).timeout(Duration::from_secs(2)).send().await {
                Ok(response)
                    if ok.contains(&response.status().as_u16())
                        && !response.headers().contains_key("x-openfaas-internal") =>
                {
                    break;
                }
                Ok(response) => {
                    let internal = response
                        .headers()
                        .get("x-openfaas-internal")
                        .map(|value| value.to_str().unwrap_or_default().to_owned());
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    let body = body.trim();
                    match internal.as_deref() {
                        Some("of-watchdog") => format!(
                            "the function's watchdog answered {status} at {path}: its process \
                             is not ready{}",
                            if body.is_empty() {
                                String::new()
                            } else {
                                format!(" ({body})")
                            }
                        ),
                        Some(_) if body.is_empty() => {
                            format!("the gateway answered {status} at {path}")
                        }
                        Some(_) => format!("the gateway answered {status} at {path}: {body}"),
                        None => format!("HTTP {status} from the function at {path}"),
                    }
                }
                Err(error) => error.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(not_ready(last));
            }
            tokio::time::sleep(POLL).await;
        }
    }
    Ok(())
}

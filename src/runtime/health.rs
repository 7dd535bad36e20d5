//! Waiting until a new release answers: the watchdog's `/_/health` first, then the function's
//! health path, on every container, before any traffic moves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Why a release never became ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("no answer from {address}{path} within {seconds}s (last: {last})")]
    Timeout {
        address: SocketAddr,
        path: String,
        seconds: u64,
        last: String,
    },
    /// The watchdog answered, with its own error: nothing listens where it forwards requests.
    #[error(
        "the watchdog answers but the app behind it does not: it must listen on port {port} \
         (at {address}{path}, {seconds}s of HTTP 500 from the watchdog)"
    )]
    AppUnreachable {
        address: SocketAddr,
        path: String,
        seconds: u64,
        port: u16,
    },
}

/// The header the OpenFaaS of-watchdog puts on the errors it makes itself (the upstream app did
/// not answer), as opposed to the app's own.
const WATCHDOG_ERROR_HEADER: &str = "x-openfaas-internal";

/// Polls until `readiness` (the watchdog's `/_/health`, when the template has one) answers
/// 200 and `GET path` answers below 500, on every address. `app_port` is where the template's
/// watchdog forwards to, named when the watchdog says the app does not answer.
pub async fn wait_ready(
    client: &reqwest::Client,
    addresses: &[SocketAddr],
    readiness: Option<&str>,
    path: &str,
    timeout: Duration,
    app_port: Option<u16>,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    let probes: Vec<(&str, std::ops::Range<u16>)> = readiness
        .map(|ready| (ready, 200..300))
        .into_iter()
        .chain(std::iter::once((path, 100..500)))
        .collect();
    for address in addresses {
        for (probe, ok) in &probes {
            let url = format!("http://{address}{probe}");
            loop {
                let mut app_unreachable = false;
                let last = match client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(response) if ok.contains(&response.status().as_u16()) => break,
                    Ok(response) => {
                        app_unreachable = response.status() == 500
                            && response.headers().contains_key(WATCHDOG_ERROR_HEADER);
                        format!("HTTP {}", response.status())
                    }
                    Err(error) => error.to_string(),
                };
                if Instant::now() >= deadline {
                    if let (true, Some(port)) = (app_unreachable, app_port) {
                        return Err(NotReady::AppUnreachable {
                            address: *address,
                            path: (*probe).to_owned(),
                            seconds: timeout.as_secs(),
                            port,
                        });
                    }
                    return Err(NotReady::Timeout {
                        address: *address,
                        path: (*probe).to_owned(),
                        seconds: timeout.as_secs(),
                        last,
                    });
                }
                tokio::time::sleep(poll_interval(deadline - timeout)).await;
            }
        }
    }
    Ok(())
}

/// How long to wait before the next probe: often at first, when a fast container is about to
/// answer and every poll is time the push waits, then less often.
fn poll_interval(started: Instant) -> Duration {
    if started.elapsed() < Duration::from_secs(3) {
        Duration::from_millis(40)
    } else {
        Duration::from_millis(250)
    }
}

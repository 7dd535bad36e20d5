//! A client of the OpenFaaS gateway's `/system` API, written to how the real gateway answers
//! (`OPENFAAS-OBSERVED.md`): any 2xx is success (faasd answers 200 with an empty body,
//! faas-netes 202), fields that are zero are left out, errors are plain text. Transient failures
//! (no connection, 502, 503) are tried again with backoff; a 4xx never is.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::GatewayConfig;

/// How long one request may take; deploys pull the image first, so they get longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts of a request that failed transiently, and the first pause between them.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Why the gateway could not do what was asked, in words for the pusher.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(
        "cannot reach the OpenFaaS gateway at {url} ({cause}); start it or fix LMNOP_GATEWAY_URL"
    )]
    Unreachable { url: String, cause: String },
    #[error(
        "the OpenFaaS gateway at {url} closed the connection without answering; its list of \
         functions needs Prometheus (faas_prometheus_host), which may be down"
    )]
    Closed { url: String },
    #[error(
        "the OpenFaaS gateway refused lmnop's credentials (401); set LMNOP_GATEWAY_USER and \
         LMNOP_GATEWAY_PASSWORD (or LMNOP_GATEWAY_PASSWORD_FILE)"
    )]
    Unauthorized,
    #[error("the OpenFaaS gateway did not answer {what} within {seconds}s")]
    Timeout { what: String, seconds: u64 },
    #[error("the OpenFaaS gateway answered {what} with {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("the OpenFaaS gateway answered {what} with what lmnop cannot read: {cause}")]
    Unreadable { what: String, cause: String },
}

impl GatewayError {
    /// The gateway answered 404 (a function or secret that is not there).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }
}

/// What lmnop asks the gateway to run: OpenFaaS's FunctionDeployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDeployment {
    pub service: String,
    pub image: String,
    pub namespace: String,
    pub env_vars: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub limits: Resources,
    pub requests: Resources,
    pub read_only_root_filesystem: bool,
}

/// CPU and memory, as Kubernetes quantities (`100m`, `128Mi`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

/// A function as the gateway lists it. Every field may be missing: the gateway leaves out what
/// is zero or empty (`replicas` at 0, `invocationCount` before the first call).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FunctionStatus {
    pub name: String,
    pub image: String,
    pub replicas: u64,
    /// Only in `GET /system/function/NAME`, and only while replicas run.
    pub available_replicas: u64,
    pub invocation_count: f64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct SecretName {
    name: String,
}

/// How far back the function's logs are read, in seconds.
const LOG_WINDOW: i64 = 3600;

/// One line of `/system/logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct LogLine {
    pub instance: String,
    pub timestamp: String,
    pub text: String,
}

/// The gateway at `LMNOP_GATEWAY_URL`, with lmnop's credentials.
#[derive(Debug, Clone)]
pub struct Gateway {
    config: GatewayConfig,
    http: reqwest::Client,
}

impl Gateway {
    pub fn new(config: GatewayConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Self { config, http }
    }

    /// `http://gateway:8080`, as configured.
    pub fn url(&self) -> &str {
        self.config.url.trim_end_matches('/')
    }

    /// `GET /system/functions`.
    pub async fn list(&self) -> Result<Vec<FunctionStatus>, GatewayError> {
        let body = self
            .send(
                "listing functions",
                reqwest::Method::GET,
                "/system/functions",
                None,
                REQUEST_TIMEOUT,
            )
            .await?;
        parse("listing functions", &body)
    }

    /// `GET /system/function/NAME`; `None` when there is no such function.
    pub async fn function(&self, name: &str) -> Result<Option<FunctionStatus>, GatewayError> {
        let what = format!("the status of {name}");
        let path = format!("/system/function/{name}");
        match self
            .send(&what, reqwest::Method::GET, &path, None, REQUEST_TIMEOUT)
            .await
        {
            Ok(body) => parse(&what, &body).map(Some),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Updates the function (`PUT`), or creates it (`POST`) when the gateway has none of that
    /// name.
    pub async fn deploy(&self, deployment: &FunctionDeployment) -> Result<(), GatewayError> {
        let body = serde_json::to_value(deployment).expect("a deployment serialises");
        let what = format!("the deploy of {}", deployment.service);
        match self
            .send(
                &what,
                reqwest::Method::PUT,
                "/system/functions",
                Some(&body),
                DEPLOY_TIMEOUT,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => self
                .send(
                    &what,
                    reqwest::Method::POST,
                    "/system/functions",
                    Some(&body),
                    DEPLOY_TIMEOUT,
                )
                .await
                .map(drop),
            Err(error) => Err(error),
        }
    }

    /// `POST /system/scale-function/NAME`; the provider acts on `serviceName` in the body.
    pub async fn scale(&self, name: &str, replicas: u64) -> Result<(), GatewayError> {
        let body = serde_json::json!({ "serviceName": name, "replicas": replicas });
        let path = format!("/system/scale-function/{name}");
        self.send(
            &format!("scaling {name}"),
            reqwest::Method::POST,
            &path,
            Some(&body),
            REQUEST_TIMEOUT,
        )
        .await
        .map(drop)
    }

    /// `DELETE /system/functions`; a function that is not there is already gone.
    pub async fn delete(&self, name: &str) -> Result<(), GatewayError> {
        let body = serde_json::json!({ "functionName": name });
        match self
            .send(
                &format!("deleting {name}"),
                reqwest::Method::DELETE,
                "/system/functions",
                Some(&body),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Err(error) if !error.is_not_found() => Err(error),
            _ => Ok(()),
        }
    }

    /// The names of the secrets the gateway has (it answers JSON as `text/plain`).
    pub async fn secret_names(&self) -> Result<Vec<String>, GatewayError> {
        let what = "listing secrets";
        let body = self
            .send(
                what,
                reqwest::Method::GET,
                "/system/secrets",
                None,
                REQUEST_TIMEOUT,
            )
            .await?;
        let names: Vec<SecretName> = parse(what, &body)?;
        Ok(names.into_iter().map(|secret| secret.name).collect())
    }

    /// Creates or replaces a secret: `PUT` (faasd creates a missing one too), `POST` when the
    /// provider answers 404 (faas-netes).
    pub async fn set_secret(
        &self,
        name: &str,
        value: &crate::domain::Secret,
    ) -> Result<(), GatewayError> {
        let body = serde_json::json!({ "name": name, "value": value.expose() });
        let what = format!("setting the secret {name}");
        match self
            .send(
                &what,
                reqwest::Method::PUT,
                "/system/secrets",
                Some(&body),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Err(error) if error.is_not_found() => self
                .send(
                    &what,
                    reqwest::Method::POST,
                    "/system/secrets",
                    Some(&body),
                    REQUEST_TIMEOUT,
                )
                .await
                .map(drop),
            other => other.map(drop),
        }
    }

    /// Deletes a secret. One that is not there is no error: faasd answers 500 `remove …: no
    /// such file or directory`, faas-netes 404.
    pub async fn delete_secret(&self, name: &str) -> Result<(), GatewayError> {
        let body = serde_json::json!({ "name": name });
        match self
            .send(
                &format!("deleting the secret {name}"),
                reqwest::Method::DELETE,
                "/system/secrets",
                Some(&body),
                REQUEST_TIMEOUT,
            )
            .await
        {
            Err(GatewayError::Status {
                status: 500, body, ..
            }) if body.contains("no such file or directory") => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            other => other.map(drop),
        }
    }

    /// The function's last log lines, oldest first. faasd's `tail=N` gives the *oldest* N lines
    /// of its window, so the whole window is fetched and the end kept here.
    pub async fn logs(&self, name: &str, lines: usize) -> Result<Vec<LogLine>, GatewayError> {
        let what = format!("the logs of {name}");
        // faasd's window is five minutes unless `since` says otherwise; an hour, as RFC 3339.
        let since = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - LOG_WINDOW)
            .map_or_else(|_| String::new(), |since| format!("&since={since}"));
        let path = format!("/system/logs?name={name}&follow=false{since}");
        let body = self
            .send(&what, reqwest::Method::GET, &path, None, REQUEST_TIMEOUT)
            .await?;
        let mut all: Vec<LogLine> = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let keep = all.len().saturating_sub(lines);
        Ok(all.split_off(keep))
    }

    /// `GET /system/info`: the provider and the gateway's version.
    pub async fn info(&self) -> Result<serde_json::Value, GatewayError> {
        let body = self
            .send(
                "its version",
                reqwest::Method::GET,
                "/system/info",
                None,
                REQUEST_TIMEOUT,
            )
            .await?;
        parse("its version", &body)
    }

    /// One request, tried again on transient failures; the body of a 2xx answer.
    async fn send(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<String, GatewayError> {
        let url = format!("{}{path}", self.url());
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(timeout)
                .basic_auth(
                    &self.config.user,
                    self.config
                        .password
                        .as_ref()
                        .map(|password| password.expose()),
                );
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if status.is_success() {
                        return Ok(text);
                    }
                    if status == reqwest::StatusCode::UNAUTHORIZED {
                        return Err(GatewayError::Unauthorized);
                    }
                    let error = GatewayError::Status {
                        what: what.to_owned(),
                        status: status.as_u16(),
                        body: text.trim().to_owned(),
                    };
                    if !matches!(status.as_u16(), 502 | 503) {
                        return Err(error);
                    }
                    error
                }
                Err(error) if error.is_timeout() => {
                    return Err(GatewayError::Timeout {
                        what: what.to_owned(),
                        seconds: timeout.as_secs(),
                    });
                }
                Err(error) if error.is_connect() => GatewayError::Unreachable {
                    url: self.url().to_owned(),
                    cause: root_cause(&error),
                },
                // Connected, then closed with no answer: the list handler's crash without
                // Prometheus, not a gateway that is down.
                Err(_) => GatewayError::Closed {
                    url: self.url().to_owned(),
                },
            };
            if attempt >= ATTEMPTS {
                return Err(outcome);
            }
            tracing::debug!(what, attempt, error = %outcome, "the gateway failed; trying again");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, body: &str) -> Result<T, GatewayError> {
    serde_json::from_str(body).map_err(|error| GatewayError::Unreadable {
        what: what.to_owned(),
        cause: error.to_string(),
    })
}

/// The last cause of an error chain (`Connection refused`), not the HTTP client's wrapper.
fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_is_sent_as_openfaas_names_its_fields() {
        let deployment = FunctionDeployment {
            service: "hello".to_owned(),
            image: "127.0.0.1:5000/fns/hello:abc".to_owned(),
            namespace: "openfaas-fn".to_owned(),
            limits: Resources {
                memory: Some("128Mi".to_owned()),
                cpu: Some("100m".to_owned()),
            },
            read_only_root_filesystem: true,
            ..FunctionDeployment::default()
        };
        let json = serde_json::to_value(&deployment).expect("json");
        assert_eq!(json["service"], "hello");
        assert_eq!(json["envVars"], serde_json::json!({}));
        assert_eq!(json["readOnlyRootFilesystem"], true);
        assert_eq!(
            json["limits"],
            serde_json::json!({"memory": "128Mi", "cpu": "100m"})
        );
        assert_eq!(json["requests"], serde_json::json!({}));
    }

    #[test]
    fn missing_fields_of_a_listed_function_read_as_zero() {
        let listed: Vec<FunctionStatus> = serde_json::from_str(
            r#"[{"name":"a","image":"r/a:1","namespace":"openfaas-fn","envVars":{},"labels":{},"annotations":{},"createdAt":"2026-12-03T07:30:52.321284291Z"}]"#,
        )
        .expect("parses");
        assert_eq!(listed[0].replicas, 0);
        assert_eq!(listed[0].available_replicas, 0);
        assert_eq!(listed[0].invocation_count, 0.0);
    }
}

//! A function as faasd keeps it: the FunctionDeployment it came from, its replicas, when it
//! becomes reachable, and the `FunctionStatus` JSON the gateway makes of it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::state::NAMESPACE;

/// How long a new function stays unreachable unless `STANDIN_READY_AFTER_MS` says otherwise.
const DEFAULT_READY_AFTER: Duration = Duration::from_millis(500);

/// The body of `POST` and `PUT /system/functions`. Every field may be absent or null, as in Go;
/// unknown fields are ignored.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub service: Option<String>,
    pub image: Option<String>,
    pub namespace: Option<String>,
    pub env_vars: Option<BTreeMap<String, String>>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub secrets: Option<Vec<String>>,
    pub limits: Option<Resources>,
    /// Read so that a wrong type is refused as Go refuses it; never shown, as in the real list.
    #[expect(dead_code, reason = "checked on input, never shown")]
    pub requests: Option<Resources>,
    #[expect(dead_code, reason = "checked on input, never shown")]
    pub read_only_root_filesystem: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
}

impl Resources {
    fn is_set(&self) -> bool {
        self.memory.as_deref().is_some_and(|m| !m.is_empty())
            || self.cpu.as_deref().is_some_and(|c| !c.is_empty())
    }
}

impl Deployment {
    pub fn name(&self) -> &str {
        self.service.as_deref().unwrap_or_default()
    }

    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or_default()
    }

    pub fn secrets(&self) -> &[String] {
        self.secrets.as_deref().unwrap_or_default()
    }

    pub fn env(&self, key: &str) -> Option<&str> {
        self.env_vars.as_ref()?.get(key).map(String::as_str)
    }

    /// How long until the function answers; `None` when it never will (`STANDIN_NEVER_READY=1`).
    pub fn ready_after(&self) -> Option<Duration> {
        if self.env("STANDIN_NEVER_READY") == Some("1") {
            return None;
        }
        let after = self
            .env("STANDIN_READY_AFTER_MS")
            .and_then(|ms| ms.trim().parse().ok())
            .map_or(DEFAULT_READY_AFTER, Duration::from_millis);
        Some(after)
    }

    /// A memory limit in milli-bytes (`128m`, a Kubernetes quantity) becomes a limit of a byte or
    /// so, which runc refuses: the whole bytes it rounds up to.
    pub fn tiny_memory_limit(&self) -> Option<u64> {
        let memory = self.limits.as_ref()?.memory.as_deref()?;
        let millis: f64 = memory.strip_suffix('m')?.parse().ok()?;
        Some(((millis / 1000.0).ceil() as u64).max(1))
    }
}

/// One function as the provider runs it.
#[derive(Clone, Debug)]
pub struct Function {
    pub deployment: Deployment,
    /// What the provider reports, which is what was asked except for the milli-byte quirk.
    pub limits: Option<Resources>,
    pub replicas: u64,
    pub created_at: jiff::Timestamp,
    /// When it starts answering; `None` for never.
    pub ready_at: Option<Instant>,
}

/// Which answer a status is for: the list has invocation counts, the single GET has
/// `availableReplicas`.
pub enum View {
    List { invocations: u64 },
    Detail,
}

/// The gateway's `FunctionStatus`, fields in Go's order, empty ones left out where Go omits them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus<'a> {
    name: &'a str,
    image: &'a str,
    namespace: &'static str,
    env_vars: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secrets: Option<&'a [String]>,
    labels: BTreeMap<&'a str, &'a str>,
    annotations: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<&'a Resources>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invocation_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    available_replicas: Option<u64>,
    created_at: String,
}

fn borrowed(map: Option<&BTreeMap<String, String>>) -> BTreeMap<&str, &str> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl Function {
    /// A function that has just been created, unreachable for its start-up time.
    pub fn start(deployment: Deployment, replicas: u64) -> Function {
        let ready_at = deployment.ready_after().map(|after| Instant::now() + after);
        Function {
            limits: deployment.limits.clone(),
            deployment,
            replicas,
            created_at: jiff::Timestamp::now(),
            ready_at,
        }
    }

    pub fn is_ready(&self) -> bool {
        self.replicas > 0 && self.ready_at.is_some_and(|at| Instant::now() >= at)
    }

    pub fn status(&self, view: View) -> FunctionStatus<'_> {
        let deployment = &self.deployment;
        // `LANG` comes from the image's own ENV; what was deployed wins.
        let mut env_vars = BTreeMap::from([("LANG", "C.UTF-8")]);
        env_vars.extend(borrowed(deployment.env_vars.as_ref()));
        let (invocation_count, available_replicas) = match view {
            View::List { invocations } => ((invocations > 0).then_some(invocations), None),
            View::Detail => (None, self.is_ready().then_some(self.replicas)),
        };
        FunctionStatus {
            name: deployment.name(),
            image: deployment.image(),
            namespace: NAMESPACE,
            env_vars,
            secrets: Some(deployment.secrets()).filter(|s| !s.is_empty()),
            labels: borrowed(deployment.labels.as_ref()),
            annotations: borrowed(deployment.annotations.as_ref()),
            limits: self.limits.as_ref().filter(|l| l.is_set()),
            invocation_count,
            replicas: (self.replicas > 0).then_some(self.replicas),
            available_replicas,
            created_at: self.created_at.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(json: &str) -> Deployment {
        serde_json::from_str(json).expect("a valid deployment")
    }

    #[test]
    fn start_up_time_comes_from_the_environment() {
        let plain = deployment(r#"{"service":"f","image":"i"}"#);
        assert_eq!(plain.ready_after(), Some(DEFAULT_READY_AFTER));
        let slow = deployment(r#"{"envVars":{"STANDIN_READY_AFTER_MS":"2000"}}"#);
        assert_eq!(slow.ready_after(), Some(Duration::from_secs(2)));
        let never = deployment(r#"{"envVars":{"STANDIN_NEVER_READY":"1"}}"#);
        assert_eq!(never.ready_after(), None);
    }

    #[test]
    fn milli_byte_limits_round_up_to_a_byte() {
        let tiny = deployment(r#"{"limits":{"memory":"128m"}}"#);
        assert_eq!(tiny.tiny_memory_limit(), Some(1));
        let fine = deployment(r#"{"limits":{"memory":"128Mi"}}"#);
        assert_eq!(fine.tiny_memory_limit(), None);
    }

    #[test]
    fn the_status_leaves_out_what_go_omits() {
        let mut function = Function::start(
            deployment(r#"{"service":"f","image":"i","envVars":{"A":"1"},"limits":{}}"#),
            0,
        );
        function.ready_at = None;
        let value = serde_json::to_value(function.status(View::List { invocations: 0 }))
            .expect("serialisable");
        assert_eq!(
            value["envVars"],
            serde_json::json!({"A":"1","LANG":"C.UTF-8"})
        );
        assert_eq!(value["labels"], serde_json::json!({}));
        for absent in ["secrets", "limits", "invocationCount", "replicas"] {
            assert!(value.get(absent).is_none(), "{absent} should be absent");
        }
    }
}

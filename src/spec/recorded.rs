//! The spec as recorded with each release: typed JSON read back as it was written, never
//! checked again against today's templates (a release keeps the options it was built with).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FunctionSpec, Health, Resources, Scaling};

/// Why a recorded spec could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("the recorded function.yml cannot be read: {0}")]
pub struct RecordedError(String);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    template: String,
    requests: RecordedResources,
    limits: RecordedResources,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    secrets: Vec<String>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    scaling: RecordedScaling,
    health: RecordedHealth,
    /// `"30s"`; records written before `timeout` existed have none and get the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
}

/// `{"cpu": "50m", "memory": "64Mi"}`: the units function.yml uses.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedResources {
    cpu: String,
    memory: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedScaling {
    min: u32,
    max: u32,
}

/// `{"path": "/", "timeout": "60s"}`
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedHealth {
    path: String,
    timeout: String,
}

fn number_before(text: &str, unit: &str, what: &str) -> Result<u32, RecordedError> {
    text.strip_suffix(unit)
        .and_then(|digits| digits.parse().ok())
        .ok_or_else(|| RecordedError(format!("{what} {text:?} is not a number of {unit}")))
}

impl RecordedResources {
    fn from_spec(resources: Resources) -> Self {
        Self {
            cpu: format!("{}m", resources.cpu_millis),
            memory: format!("{}Mi", resources.memory_mib),
        }
    }

    fn to_spec(&self) -> Result<Resources, RecordedError> {
        Ok(Resources {
            cpu_millis: number_before(&self.cpu, "m", "cpu")?,
            memory_mib: number_before(&self.memory, "Mi", "memory")?,
        })
    }
}

impl FunctionSpec {
    /// The record kept with a release: JSON in function.yml's own units (so it reads as a
    /// function.yml too). Secrets appear by name only: names are not secret.
    pub fn to_record(&self) -> String {
        let record = Record {
            template: self.template.clone(),
            requests: RecordedResources::from_spec(self.requests),
            limits: RecordedResources::from_spec(self.limits),
            environment: self.environment.clone(),
            secrets: self.secrets.clone(),
            options: self.options.clone(),
            scaling: RecordedScaling {
                min: self.scaling.min,
                max: self.scaling.max,
            },
            health: RecordedHealth {
                path: self.health.path.clone(),
                timeout: format!("{}s", self.health.timeout.as_secs()),
            },
            timeout: Some(format!("{}s", self.timeout.as_secs())),
        };
        serde_json::to_string(&record).expect("a record of strings and numbers serializes")
    }

    /// Reads a record written by [`FunctionSpec::to_record`] back, exactly as it was.
    pub fn from_record(text: &str) -> Result<Self, RecordedError> {
        let record: Record =
            serde_json::from_str(text).map_err(|error| RecordedError(error.to_string()))?;
        Ok(Self {
            template: record.template,
            requests: record.requests.to_spec()?,
            limits: record.limits.to_spec()?,
            environment: record.environment,
            secrets: record.secrets,
            options: record.options,
            scaling: Scaling {
                min: record.scaling.min,
                max: record.scaling.max,
            },
            health: Health {
                path: record.health.path,
                timeout: Duration::from_secs(u64::from(number_before(
                    &record.health.timeout,
                    "s",
                    "health timeout",
                )?)),
            },
            timeout: match record.timeout {
                Some(text) => Duration::from_secs(u64::from(number_before(&text, "s", "timeout")?)),
                None => super::DEFAULT_REQUEST_TIMEOUT,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What earlier versions wrote (serde_json's object key order), options included.
    const WRITTEN_BEFORE: &str = r#"{"environment":{"GREETING":"hi"},"health":{"path":"/healthz","timeout":"30s"},"limits":{"cpu":"200m","memory":"256Mi"},"options":{"PYTHON_VERSION":"3.11"},"requests":{"cpu":"50m","memory":"64Mi"},"scaling":{"min":1,"max":3},"secrets":["db"],"template":"python3.12"}"#;

    #[test]
    fn a_record_with_options_reads_back_typed() {
        let spec = FunctionSpec::from_record(WRITTEN_BEFORE).expect("readable");
        assert_eq!(spec.options["PYTHON_VERSION"], "3.11");
        assert_eq!(spec.scaling, Scaling { min: 1, max: 3 });
        assert_eq!(spec.limits.cpu_millis, 200);
        assert_eq!(spec.requests.memory_mib, 64);
        assert_eq!(spec.health.timeout, Duration::from_secs(30));
        assert_eq!(spec.secrets, ["db"]);
        let again = FunctionSpec::from_record(&spec.to_record()).expect("round trip");
        assert_eq!(again, spec);
    }

    #[test]
    fn a_damaged_record_says_what_is_wrong() {
        let damaged = WRITTEN_BEFORE.replace("200m", "lots");
        let error = FunctionSpec::from_record(&damaged).expect_err("damaged");
        assert!(error.to_string().contains("cpu \"lots\""), "{error}");
    }
}

//! The OpenFaaS of-watchdog settings lmnop gives a function's containers, derived from its spec.
//!
//! The watchdog cuts every request at its own read, write and exec timeouts (30 s unless told),
//! and after SIGTERM keeps serving for `healthcheck_interval` (by default the write timeout)
//! before it exits. lmnop bounds requests in the router at the function's `timeout` and drains
//! a container before stopping it, so it sets the watchdog's timeouts a margin above the
//! function's (the router's 504, which names the setting, comes first) and its interval to one
//! second, so a container stops in about a second instead of being killed after ten. A function's
//! own `environment` may set any of these names and wins.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::spec::FunctionSpec;

/// How much longer than the function's `timeout` the watchdog waits before it cuts a request.
pub const TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// How long the watchdog keeps serving after SIGTERM. Not zero: the watchdog then never stops.
pub const HEALTHCHECK_INTERVAL: &str = "1s";

/// The variables the watchdog reads, merged under the function's own `environment`.
pub fn environment(spec: &FunctionSpec) -> BTreeMap<String, String> {
    let limit = go_duration(spec.timeout + TIMEOUT_MARGIN);
    let mut env: BTreeMap<String, String> = [
        ("read_timeout", limit.clone()),
        ("write_timeout", limit.clone()),
        ("exec_timeout", limit),
        ("healthcheck_interval", HEALTHCHECK_INTERVAL.to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    env.extend(spec.environment.clone());
    env
}

/// A duration as Go's `time.ParseDuration` reads it: whole seconds as `35s`, else milliseconds.
fn go_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_follow_the_function_timeout_and_its_environment_wins() {
        let spec = FunctionSpec {
            template: "python3.12".to_owned(),
            requests: crate::spec::Resources::DEFAULT_REQUESTS,
            limits: crate::spec::Resources::DEFAULT_LIMITS,
            environment: BTreeMap::from([
                ("exec_timeout".to_owned(), "2s".to_owned()),
                ("GREETING".to_owned(), "hi".to_owned()),
            ]),
            secrets: Vec::new(),
            options: BTreeMap::new(),
            scaling: crate::spec::Scaling { min: 1, max: 1 },
            health: crate::spec::Health::default(),
            timeout: Duration::from_secs(45),
        };
        let env = environment(&spec);
        assert_eq!(env["read_timeout"], "50s");
        assert_eq!(env["write_timeout"], "50s");
        assert_eq!(env["exec_timeout"], "2s");
        assert_eq!(env["healthcheck_interval"], "1s");
        assert_eq!(env["GREETING"], "hi");
    }

    #[test]
    fn fractions_of_a_second_are_kept() {
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(go_duration(Duration::from_secs(35)), "35s");
    }
}

//! The watchdog's settings, read from the environment the way of-watchdog 0.10.7 reads them.

use std::collections::HashMap;
use std::time::Duration;

/// How requests are answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Start `fprocess` once and forward every request to `upstream_url`.
    Http,
    /// Serve files from `static_path`.
    Static,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub mode: Mode,
    pub function_process: String,
    pub upstream_url: String,
    pub static_path: String,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub exec_timeout: Duration,
    pub healthcheck_interval: Duration,
    pub suppress_lock: bool,
    pub buffer_http: bool,
    pub ready_path: String,
}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Config {
    /// Reads the settings; the error is what the real watchdog prints before exiting 1.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Config, String> {
        let env: HashMap<String, String> = vars.into_iter().collect();
        let get = |name: &str| env.get(name).cloned();
        let duration = |name: &str, fallback: Duration| match env.get(name) {
            Some(value) => int_or_duration(value, fallback),
            None => fallback,
        };
        let write_timeout = duration("write_timeout", DEFAULT_TIMEOUT);
        let flag = |name: &str| matches!(env.get(name).map(String::as_str), Some("true" | "1"));
        let mode = match get("mode").filter(|m| !m.is_empty()).as_deref() {
            Some("http") => Mode::Http,
            Some("static") => Mode::Static,
            // The real default is "streaming"; the stand-in serves only what lmnop's templates use.
            other => {
                return Err(format!(
                    "mode {:?} is not supported by this stand-in (http, static)",
                    other.unwrap_or("streaming")
                ));
            }
        };
        let config = Config {
            port: get("port").and_then(|p| p.parse().ok()).unwrap_or(8080),
            mode,
            function_process: get("function_process")
                .or(get("fprocess"))
                .unwrap_or_default(),
            upstream_url: get("http_upstream_url")
                .or(get("upstream_url"))
                .unwrap_or_default(),
            static_path: get("static_path").unwrap_or_else(|| "/home/app/public".to_owned()),
            read_timeout: duration("read_timeout", DEFAULT_TIMEOUT),
            write_timeout,
            exec_timeout: duration("exec_timeout", DEFAULT_TIMEOUT),
            healthcheck_interval: duration("healthcheck_interval", write_timeout),
            suppress_lock: flag("suppress_lock"),
            buffer_http: flag("buffer_http") || flag("http_buffer_req_body"),
            ready_path: get("ready_path").unwrap_or_default(),
        };
        if config.write_timeout.is_zero() {
            return Err("HTTP write timeout must be over 0s".to_owned());
        }
        if config.function_process.is_empty() && config.mode != Mode::Static {
            return Err(
                r#"provide a "function_process" or "fprocess" environmental variable for your function"#
                    .to_owned(),
            );
        }
        Ok(config)
    }
}

/// A whole number of seconds, or a Go duration such as `1m30s`; anything else is `fallback`.
pub fn int_or_duration(value: &str, fallback: Duration) -> Duration {
    if let Ok(seconds) = value.parse::<u64>() {
        return Duration::from_secs(seconds);
    }
    go_duration(value).unwrap_or(fallback)
}

/// Go's `time.ParseDuration` for non-negative values: `300ms`, `1.5h`, `2h45m`.
pub fn go_duration(value: &str) -> Option<Duration> {
    let rest = value.strip_prefix('+').unwrap_or(value);
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    let mut rest = rest;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * nanos;
    }
    Some(Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds_or_go_durations() {
        let fallback = Duration::from_secs(30);
        assert_eq!(int_or_duration("5", fallback), Duration::from_secs(5));
        assert_eq!(int_or_duration("1m30s", fallback), Duration::from_secs(90));
        assert_eq!(
            int_or_duration("250ms", fallback),
            Duration::from_millis(250)
        );
        assert_eq!(
            int_or_duration("1.5s", fallback),
            Duration::from_millis(1500)
        );
        assert_eq!(int_or_duration("soon", fallback), fallback);
        assert_eq!(int_or_duration("10", fallback), Duration::from_secs(10));
        assert_eq!(int_or_duration("-1", fallback), fallback);
    }
}

//! How the function runs once built: `scaling` (how many replicas), `health` (where and how
//! long to wait for a new release to answer before it may serve) and `timeout` (how long one
//! request may take).

use std::time::Duration;

use super::check::{Report, describe, echo, fixed_section, join};
use super::quantity;
use super::tree::{Entry, Scalar, ScalarKind, Value};
use super::{Health, Scaling};

/// Most replicas of one function.
pub(super) const MAX_REPLICAS: i64 = 20;
const TIMEOUT_SECONDS: (u64, u64) = (5, 600);
/// The range of `timeout`, one request's longest answer.
pub const REQUEST_TIMEOUT_SECONDS: (u64, u64) = (1, 600);
const MAX_PATH_CHARS: usize = 256;

/// `scaling: {min, max}`: 1 ≤ min ≤ max ≤ 20. Only `max` given: min is 1; only `min`: max = min.
pub(super) fn scaling(entry: Option<&Entry>, report: &mut Report) -> Scaling {
    let [min, max] = fixed_section(entry, ["min", "max"], report);
    let min_value = min.map(|entry| replicas(entry, report));
    let max_value = max.map(|entry| replicas(entry, report));
    match (min_value, max_value) {
        (Some(Some(min_value)), Some(Some(max_value))) => {
            if min_value > max_value {
                let message = format!(
                    "scaling.min {min_value} is more than scaling.max {max_value}; \
                     min must not exceed max"
                );
                report.add("scaling.min", min.map_or(0, |entry| entry.line), message);
            }
            Scaling {
                min: min_value,
                max: max_value,
            }
        }
        (Some(Some(min_value)), None) => Scaling {
            min: min_value,
            max: min_value,
        },
        (None, Some(Some(max_value))) => Scaling {
            min: 1,
            max: max_value,
        },
        _ => Scaling::default(),
    }
}

/// A replica count from 1 to 20, or None after reporting.
fn replicas(entry: &Entry, report: &mut Report) -> Option<u32> {
    let field = join("scaling", &entry.key);
    let number = match &entry.value.value {
        Value::Scalar(Scalar {
            text,
            kind: ScalarKind::Int,
        }) => quantity::integer(text),
        _ => None,
    };
    let Some(number) = number else {
        let message = format!(
            "{field} must be a whole number, not {}",
            describe(&entry.value)
        );
        report.add(&field, entry.line, message);
        return None;
    };
    if (1..=MAX_REPLICAS).contains(&number) {
        u32::try_from(number).ok()
    } else {
        let message = format!("{field} must be between 1 and {MAX_REPLICAS}, not {number}");
        report.add(&field, entry.line, message);
        None
    }
}

/// `health: {path, timeout}`, defaulting to `/` and 60 seconds.
pub(super) fn health(entry: Option<&Entry>, report: &mut Report) -> Health {
    let [path, timeout] = fixed_section(entry, ["path", "timeout"], report);
    let mut health = Health::default();
    if let Some(path) = path.and_then(|entry| health_path(entry, report)) {
        health.path = path;
    }
    if let Some(timeout) = timeout.and_then(|entry| health_timeout(entry, report)) {
        health.timeout = timeout;
    }
    health
}

fn health_path(entry: &Entry, report: &mut Report) -> Option<String> {
    const FIELD: &str = "health.path";
    let Value::Scalar(Scalar {
        text,
        kind: ScalarKind::Str,
    }) = &entry.value.value
    else {
        let message = format!(
            "{FIELD} must be a URL path like /healthz, not {}",
            describe(&entry.value)
        );
        report.add(FIELD, entry.line, message);
        return None;
    };
    let problem = if !text.starts_with('/') {
        Some(format!(
            "{FIELD} must start with /, like /healthz, not `{}`",
            echo(text)
        ))
    } else if text.chars().count() > MAX_PATH_CHARS {
        Some(format!(
            "{FIELD} must be at most {MAX_PATH_CHARS} characters long"
        ))
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some(format!(
            "{FIELD} must not contain spaces or control characters: `{}`",
            echo(text)
        ))
    } else {
        None
    };
    match problem {
        Some(message) => {
            report.add(FIELD, entry.line, message);
            None
        }
        None => Some(text.clone()),
    }
}

fn health_timeout(entry: &Entry, report: &mut Report) -> Option<Duration> {
    seconds_within(entry, "health.timeout", TIMEOUT_SECONDS, report)
}

/// `timeout: 45s`: how long one request may take before the router answers 504 (and the
/// watchdog in the function's image is told the same); 30 seconds unless given.
pub(super) fn request_timeout(entry: Option<&Entry>, report: &mut Report) -> Duration {
    entry
        .and_then(|entry| seconds_within(entry, "timeout", REQUEST_TIMEOUT_SECONDS, report))
        .unwrap_or(super::DEFAULT_REQUEST_TIMEOUT)
}

fn seconds_within(
    entry: &Entry,
    field: &'static str,
    (low, high): (u64, u64),
    report: &mut Report,
) -> Option<Duration> {
    let text = match &entry.value.value {
        Value::Scalar(Scalar {
            text,
            kind: ScalarKind::Str | ScalarKind::Int,
        }) => Some(text.trim()),
        _ => None,
    };
    let Some(seconds) = text.and_then(quantity::seconds) else {
        let shown = text.map_or_else(
            || describe(&entry.value),
            |text| format!("`{}`", echo(text)),
        );
        let message = format!("{field} must be seconds like 60s or minutes like 2m, not {shown}");
        report.add(field, entry.line, message);
        return None;
    };
    let shown = echo(text?);
    let range = format!("{field} must be {low}s to {high}s");
    if seconds < low {
        let message = format!("{shown} is below the smallest allowed, {low}s ({range})");
        report.add(field, entry.line, message);
        None
    } else if seconds > high {
        let message = format!("{shown} is above the largest allowed, {high}s ({range})");
        report.add(field, entry.line, message);
        None
    } else {
        Some(Duration::from_secs(seconds))
    }
}

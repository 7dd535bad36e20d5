//! `requests` and `limits`: CPU and memory, each within the range the installation allows, and
//! no request above its limit.

use super::Resources;
use super::check::{Report, describe, echo, fixed_section, join};
use super::quantity::{self, MemoryError};
use super::tree::{Entry, Node, Scalar, ScalarKind, Value};

const KEYS: [&str; 2] = ["cpu", "memory"];
const CPU_MILLIS: (u64, u64) = (50, 1000);
const MEMORY_MIB: (u64, u64) = (32, 4096);

/// One resource as written: its value (None when it was wrong, already reported) and line.
#[derive(Clone, Copy)]
struct Given {
    value: Option<u32>,
    line: usize,
}

/// Checks both sections and resolves defaults. A resource set on one side only moves the
/// other side's default so the pair stays consistent: a request above the default limit raises
/// the limit, a limit below the default request lowers the request.
pub(super) fn check(
    requests: Option<&Entry>,
    limits: Option<&Entry>,
    report: &mut Report,
) -> (Resources, Resources) {
    let [request_cpu, request_memory] = read("requests", requests, report);
    let [limit_cpu, limit_memory] = read("limits", limits, report);
    let cpu = resolve(
        [request_cpu, limit_cpu],
        [
            Resources::DEFAULT_REQUESTS.cpu_millis,
            Resources::DEFAULT_LIMITS.cpu_millis,
        ],
        ("cpu", "m"),
        report,
    );
    let memory = resolve(
        [request_memory, limit_memory],
        [
            Resources::DEFAULT_REQUESTS.memory_mib,
            Resources::DEFAULT_LIMITS.memory_mib,
        ],
        ("memory", "Mi"),
        report,
    );
    let requests = Resources {
        cpu_millis: cpu[0],
        memory_mib: memory[0],
    };
    let limits = Resources {
        cpu_millis: cpu[1],
        memory_mib: memory[1],
    };
    (requests, limits)
}

/// Reads `cpu` and `memory` of one section.
fn read(section: &str, entry: Option<&Entry>, report: &mut Report) -> [Option<Given>; 2] {
    let [cpu, memory] = fixed_section(entry, KEYS, report);
    let cpu = cpu.map(|entry| Given {
        value: read_cpu(&join(section, &entry.key), &entry.value, entry.line, report),
        line: entry.line,
    });
    let memory = memory.map(|entry| Given {
        value: read_memory(&join(section, &entry.key), &entry.value, entry.line, report),
        line: entry.line,
    });
    [cpu, memory]
}

/// The text of a quantity: text or a number (`cpu: 1`), not anything else.
fn quantity_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar(Scalar {
            text,
            kind: ScalarKind::Str | ScalarKind::Int | ScalarKind::Float,
        }) => Some(text.trim()),
        _ => None,
    }
}

fn read_cpu(field: &str, node: &Node, line: usize, report: &mut Report) -> Option<u32> {
    let text = quantity_text(node);
    let Some(millis) = text.and_then(quantity::cpu_millis) else {
        let shown = text.map_or_else(|| describe(node), |text| format!("`{}`", echo(text)));
        let message =
            format!("{field} must be millicores like 250m or cores like 0.5, not {shown}");
        report.add(field, line, message);
        return None;
    };
    in_range(field, line, text?, millis, CPU_MILLIS, "m", report)
}

fn read_memory(field: &str, node: &Node, line: usize, report: &mut Report) -> Option<u32> {
    let text = quantity_text(node);
    let mib = match text.map(quantity::memory_mib) {
        Some(Ok(mib)) => mib,
        Some(Err(MemoryError::NoUnit)) => {
            let message = format!(
                "{field} needs a unit, like {}Mi or 1Gi (a plain number would be bytes)",
                echo(text?)
            );
            report.add(field, line, message);
            return None;
        }
        Some(Err(MemoryError::Malformed)) | None => {
            let shown = text.map_or_else(|| describe(node), |text| format!("`{}`", echo(text)));
            let message =
                format!("{field} must be an amount like 256Mi, 1Gi, 500M or 1G, not {shown}");
            report.add(field, line, message);
            return None;
        }
    };
    in_range(field, line, text?, mib, MEMORY_MIB, "Mi", report)
}

/// The value when it lies in `[low, high]`; otherwise reports it, stating the range.
fn in_range(
    field: &str,
    line: usize,
    text: &str,
    value: u64,
    (low, high): (u64, u64),
    unit: &str,
    report: &mut Report,
) -> Option<u32> {
    let text = echo(text);
    let range = format!("{field} must be {low}{unit} to {high}{unit}");
    if value < low {
        let message = format!("{text} is below the smallest allowed, {low}{unit} ({range})");
        report.add(field, line, message);
        None
    } else if value > high {
        let message = format!("{text} is above the largest allowed, {high}{unit} ({range})");
        report.add(field, line, message);
        None
    } else {
        u32::try_from(value).ok()
    }
}

/// `[request, limit]` for one resource from what was written and the defaults.
fn resolve(
    [request, limit]: [Option<Given>; 2],
    [default_request, default_limit]: [u32; 2],
    (name, unit): (&str, &str),
    report: &mut Report,
) -> [u32; 2] {
    let value = |given: Option<Given>| given.and_then(|given| given.value);
    match (value(request), value(limit)) {
        (Some(request_value), Some(limit_value)) => {
            if request_value > limit_value {
                let field = format!("requests.{name}");
                let message = format!(
                    "requests.{name} {request_value}{unit} is more than limits.{name} \
                     {limit_value}{unit}; a request cannot exceed its limit"
                );
                let line = request.map_or(0, |given| given.line);
                report.add(&field, line, message);
            }
            [request_value, limit_value]
        }
        (Some(request_value), None) => [request_value, default_limit.max(request_value)],
        (None, Some(limit_value)) => [default_request.min(limit_value), limit_value],
        (None, None) => [default_request, default_limit],
    }
}

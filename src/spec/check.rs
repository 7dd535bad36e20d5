//! Checks the tree against the schema: which keys exist and what each section holds. Every
//! problem is collected, so one push shows them all; the helpers here are shared by sections.

use super::tree::{Entry, Node, Scalar, ScalarKind, Value};
use super::{
    Catalog, FunctionSpec, SpecError, SpecErrors, resources, runtime, settings, suggest, template,
};

/// The keys a `function.yml` may have, in the order the documentation lists them.
const TOP_KEYS: [&str; 9] = [
    "template",
    "requests",
    "limits",
    "environment",
    "secrets",
    "options",
    "scaling",
    "health",
    "timeout",
];

/// The problems found so far.
#[derive(Debug, Default)]
pub(super) struct Report {
    errors: Vec<SpecError>,
}

impl Report {
    pub(super) fn add(&mut self, field: &str, line: usize, message: String) {
        self.errors.push(SpecError {
            field: field.to_owned(),
            line,
            message,
        });
    }

    pub(super) fn extend(&mut self, errors: Vec<SpecError>) {
        self.errors.extend(errors);
    }

    /// The problems in file order (whole-file problems first), or None when there are none.
    pub(super) fn finish(mut self) -> Option<SpecErrors> {
        // Stable: problems on one line keep the order they were found in.
        self.errors.sort_by_key(|error| error.line);
        (!self.errors.is_empty()).then_some(SpecErrors(self.errors))
    }

    /// Reports a key that `known` does not hold, suggesting the nearest one.
    pub(super) fn unknown_key(&mut self, section: &str, entry: &Entry, known: &[&str]) {
        let field = join(section, &entry.key);
        let mut message = format!("unknown key `{}`; ", echo(&entry.key));
        match suggest::nearest(&entry.key, known.iter().copied()) {
            Some(near) => message.push_str(&format!("did you mean `{near}`?")),
            None => message.push_str(&format!("the known keys are {}", known.join(", "))),
        }
        self.add(&field, entry.line, message);
    }
}

/// `section.key`, or `key` at the top level; the key is echoed safely.
pub(super) fn join(section: &str, key: &str) -> String {
    if section.is_empty() {
        echo(key)
    } else {
        format!("{section}.{}", echo(key))
    }
}

/// User text made safe to show: control characters escaped, long text cut.
pub(super) fn echo(text: &str) -> String {
    const SHOWN: usize = 60;
    let mut shown = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == SHOWN {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// What a node is, for "must be X, not Y" messages.
pub(super) fn describe(node: &Node) -> String {
    match &node.value {
        Value::Map(_) => "a map".to_owned(),
        Value::List(_) => "a list".to_owned(),
        Value::Scalar(Scalar { text, kind }) => match kind {
            ScalarKind::Null => "an empty value".to_owned(),
            ScalarKind::Str => format!("the text `{}`", echo(text)),
            ScalarKind::Bool | ScalarKind::Int | ScalarKind::Float => format!("`{}`", echo(text)),
        },
    }
}

/// The text of a name-like scalar (text or a number), or None for anything else.
pub(super) fn name_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar(Scalar { text, kind }) => match kind {
            ScalarKind::Str | ScalarKind::Int | ScalarKind::Float => Some(text),
            ScalarKind::Null | ScalarKind::Bool => None,
        },
        Value::Map(_) | Value::List(_) => None,
    }
}

/// The entries of a section with fixed keys (`requests`, `scaling`…), one slot per known key.
/// A section left empty has none; one that is not a map, or has unknown keys, is reported.
pub(super) fn fixed_section<'a, const N: usize>(
    entry: Option<&'a Entry>,
    known: [&str; N],
    report: &mut Report,
) -> [Option<&'a Entry>; N] {
    let mut found = [None; N];
    let Some(entry) = entry else {
        return found;
    };
    match &entry.value.value {
        Value::Map(entries) => {
            for inner in entries {
                match known.iter().position(|key| *key == inner.key) {
                    Some(slot) => found[slot] = Some(inner),
                    None => report.unknown_key(&entry.key, inner, &known),
                }
            }
        }
        Value::Scalar(Scalar {
            kind: ScalarKind::Null,
            ..
        }) => {}
        _ => {
            let message = format!(
                "{} must be a map with {}, not {}",
                entry.key,
                known.join(" and "),
                describe(&entry.value)
            );
            report.add(&entry.key, entry.line, message);
        }
    }
    found
}

/// Checks a whole file whose top level is a map.
pub(super) fn file(entries: &[Entry], catalog: &dyn Catalog, report: &mut Report) -> FunctionSpec {
    let mut sections = [None; TOP_KEYS.len()];
    for entry in entries {
        match TOP_KEYS.iter().position(|key| *key == entry.key) {
            Some(slot) => sections[slot] = Some(entry),
            None => report.unknown_key("", entry, &TOP_KEYS),
        }
    }
    let [
        template,
        requests,
        limits,
        environment,
        secrets,
        options,
        scaling,
        health,
        timeout,
    ] = sections;

    let (template, declared) = template::check(template, catalog, report);
    let (requests, limits) = resources::check(requests, limits, report);
    FunctionSpec {
        requests,
        limits,
        environment: settings::environment(environment, report),
        secrets: settings::secrets(secrets, catalog, report),
        options: settings::options(options, &template, declared.as_deref(), report),
        scaling: runtime::scaling(scaling, report),
        health: runtime::health(health, report),
        timeout: runtime::request_timeout(timeout, report),
        template,
    }
}

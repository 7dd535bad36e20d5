//! What goes into the build and the container besides the template: its build `options`, the
//! `environment` and the `secrets`, each checked against its naming rule and the installation.

use std::collections::{BTreeMap, HashMap};

use super::check::{Report, describe, echo, join, name_text};
use super::tree::{Entry, Node, Scalar, ScalarKind, Value};
use super::{Catalog, DeclaredOption, OptionFormat};

/// Most environment variables a function may set.
pub(super) const MAX_ENVIRONMENT: usize = 128;
/// Longest environment or option value, in bytes.
pub(super) const MAX_VALUE_BYTES: usize = 4 * 1024;

/// The entries of a free-form map section (`environment`, `options`), reporting anything else.
fn map_section<'a>(entry: Option<&'a Entry>, shape: &str, report: &mut Report) -> &'a [Entry] {
    let Some(entry) = entry else { return &[] };
    match &entry.value.value {
        Value::Map(entries) => entries,
        Value::Scalar(Scalar {
            kind: ScalarKind::Null,
            ..
        }) => &[],
        _ => {
            let message = format!(
                "{} must be a map of {shape}, not {}",
                entry.key,
                describe(&entry.value)
            );
            report.add(&entry.key, entry.line, message);
            &[]
        }
    }
}

/// The value of an environment variable or option: text, a number or true/false, as written.
fn map_value(field: &str, entry: &Entry, report: &mut Report) -> Option<String> {
    let text = match &entry.value.value {
        Value::Scalar(Scalar {
            kind: ScalarKind::Null,
            ..
        }) => {
            let message = format!(
                "{field} has no value; write `{}: \"\"` for an empty one",
                echo(&entry.key)
            );
            report.add(field, entry.line, message);
            return None;
        }
        Value::Scalar(Scalar { text, .. }) => text,
        Value::Map(_) | Value::List(_) => {
            let message = format!(
                "{field} must be text, a number or true/false, not {}",
                describe(&entry.value)
            );
            report.add(field, entry.line, message);
            return None;
        }
    };
    if text.len() > MAX_VALUE_BYTES {
        let message = format!(
            "{field} is {} bytes long; the limit is {} KiB",
            text.len(),
            MAX_VALUE_BYTES / 1024
        );
        report.add(field, entry.line, message);
        return None;
    }
    if text.contains('\0') {
        report.add(
            field,
            entry.line,
            format!("{field} must not contain a NUL character"),
        );
        return None;
    }
    Some(text.clone())
}

/// `environment`: `NAME: value` pairs set in the container.
pub(super) fn environment(entry: Option<&Entry>, report: &mut Report) -> BTreeMap<String, String> {
    let entries = map_section(entry, "NAME: value", report);
    if let Some(section) = entry.filter(|_| entries.len() > MAX_ENVIRONMENT) {
        let message = format!(
            "environment has {} variables; the limit is {MAX_ENVIRONMENT}",
            entries.len()
        );
        report.add("environment", section.line, message);
    }
    let mut environment = BTreeMap::new();
    for entry in entries {
        let field = join("environment", &entry.key);
        let name = &entry.key;
        if !is_environment_name(name) {
            let message = format!(
                "`{}` is not a variable name: use letters, digits and '_', not starting with a digit",
                echo(name)
            );
            report.add(&field, entry.line, message);
        } else if name.starts_with("LMNOP_") {
            let message = format!("{name}: names starting with LMNOP_ are reserved for lmnop");
            report.add(&field, entry.line, message);
        } else if let Some(value) = map_value(&field, entry, report) {
            environment.insert(name.clone(), value);
        }
    }
    environment
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`
fn is_environment_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// `secrets`: names of secrets set with `lmnop secret set`, each of which must exist and be one
/// the function's owner may use.
pub(super) fn secrets(
    entry: Option<&Entry>,
    catalog: &dyn Catalog,
    report: &mut Report,
) -> Vec<String> {
    let items: &[Node] = match entry {
        None => &[],
        Some(entry) => match &entry.value.value {
            Value::List(items) => items,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            }) => &[],
            Value::Scalar(_) | Value::Map(_) => {
                let message = format!(
                    "secrets must be a list of secret names like [db-password], not {}",
                    describe(&entry.value)
                );
                report.add("secrets", entry.line, message);
                &[]
            }
        },
    };
    let mut secrets = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("secrets[{i}]");
        let Some(name) = name_text(item) else {
            let message = format!("{field} must be a secret name, not {}", describe(item));
            report.add(&field, item.line, message);
            continue;
        };
        if !is_secret_name(name) {
            let message = format!(
                "`{}` is not a secret name: use 1 to 63 characters: lowercase letters a-z, digits \
                 and '-', starting and ending with a letter or digit",
                echo(name)
            );
            report.add(&field, item.line, message);
        } else if let Some(first) = seen.insert(name, item.line) {
            let message = format!(
                "secret `{name}` is listed twice, on lines {first} and {}",
                item.line
            );
            report.add(&field, item.line, message);
        } else if !catalog.secret_exists(name) {
            // One message for "none" and "not yours": names of others' secrets stay unknown.
            let message = format!(
                "secret `{name}` does not exist or is not one this function's owner may use; \
                 an administrator creates it with `lmnop secret set {name} --owner USER` or \
                 shares it with `lmnop secret grant {name} USER`"
            );
            report.add(&field, item.line, message);
        } else {
            secrets.push(name.to_owned());
        }
    }
    secrets
}

/// The DNS-1123 label rule: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63 characters.
fn is_secret_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let edge =
        |b: Option<&u8>| matches!(b, Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit());
    edge(bytes.first())
        && edge(bytes.last())
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// `options`: build arguments for the template's Dockerfile, each declared by the template.
/// `declared` is None when the template is missing or unknown (already reported).
pub(super) fn options(
    entry: Option<&Entry>,
    template: &str,
    declared: Option<&[DeclaredOption]>,
    report: &mut Report,
) -> BTreeMap<String, String> {
    let mut options = BTreeMap::new();
    for entry in map_section(entry, "NAME: value", report) {
        let field = join("options", &entry.key);
        let name = &entry.key;
        if !is_option_name(name) {
            let message = format!(
                "`{}` is not an option name: use letters, digits and '_', not starting with a \
                 digit",
                echo(name)
            );
            report.add(&field, entry.line, message);
            continue;
        }
        let format = match declared {
            None => OptionFormat::Text,
            Some(declared) => match declared.iter().find(|option| &option.name == name) {
                Some(option) => option.format,
                None => {
                    let message = if declared.is_empty() {
                        format!(
                            "template `{template}` declares no options, so `{name}` cannot be set"
                        )
                    } else {
                        let names: Vec<&str> =
                            declared.iter().map(|option| option.name.as_str()).collect();
                        format!(
                            "option `{name}` is not declared by template `{template}`; its \
                             options are {}",
                            names.join(", ")
                        )
                    };
                    report.add(&field, entry.line, message);
                    continue;
                }
            },
        };
        if let Some(value) = map_value(&field, entry, report) {
            if let Err(message) = check_format(format, &value) {
                report.add(&field, entry.line, message);
                continue;
            }
            options.insert(name.clone(), value);
        }
    }
    options
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`: a Dockerfile `ARG` name (the original's options are lower-case,
/// `packages`; the shipped templates' own are upper-case).
fn is_option_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    matches!(bytes.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// A value checked against its option's format; the message says what is wrong.
fn check_format(format: OptionFormat, value: &str) -> Result<(), String> {
    match format {
        OptionFormat::Text => Ok(()),
        OptionFormat::DebianPackages => {
            for word in value.split_whitespace() {
                if !is_debian_package_name(word) {
                    return Err(format!(
                        "`{}` is not a Debian package name (lowercase letters, digits, '+', \
                         '-' and '.', starting with a letter or digit, two characters or more); \
                         list packages separated by spaces, e.g. `curl libpq-dev`",
                        echo(word)
                    ));
                }
            }
            Ok(())
        }
        OptionFormat::Port => match value.trim().parse::<u16>() {
            Ok(8080) => Err(
                "8080 is the watchdog's own port; the app listens on another one, e.g. 5000"
                    .to_owned(),
            ),
            Ok(port) if port >= 1024 => Ok(()),
            _ => Err(format!(
                "`{}` is not a port the app can listen on: use a number from 1024 to 65535",
                echo(value)
            )),
        },
    }
}

/// Debian Policy 5.6.7: `^[a-z0-9][a-z0-9+.-]+$`.
fn is_debian_package_name(word: &str) -> bool {
    let bytes = word.as_bytes();
    bytes.len() >= 2
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+.-".contains(b))
}

//! `function.yml`: the file at the root of a deploy branch that says how to build and run a
//! function. [`parse`] reads it, checks every field against the schema and the installation
//! ([`Catalog`]), and reports every problem with its field and line before anything is built.

mod check;
mod quantity;
mod recorded;
mod resources;
mod runtime;
mod scalar;
mod settings;
mod suggest;
mod template;
mod tree;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use recorded::RecordedError;
pub use runtime::REQUEST_TIMEOUT_SECONDS;
pub use template::is_template_name;

use check::Report;
use tree::Value;

/// The largest `function.yml` read; anything bigger is refused before parsing.
pub const MAX_FUNCTION_FILE_BYTES: usize = 64 * 1024;

/// What the parser needs to know about the installation.
pub trait Catalog {
    /// Names of the installed templates (sorted), for "unknown template" errors and suggestions.
    fn templates(&self) -> Vec<String>;
    /// The build options a template declares, or None when there is no such template.
    fn template_options(&self, template: &str) -> Option<Vec<DeclaredOption>>;
    /// Whether a secret of this name exists for this function.
    fn secret_exists(&self, name: &str) -> bool;
}

/// A build option a template declares, and how its values are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredOption {
    pub name: String,
    pub format: OptionFormat,
}

/// What a template's option accepts beyond the rules every value follows (text of at most
/// 4 KiB without control characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptionFormat {
    #[default]
    Text,
    /// Debian package names separated by spaces (`curl libpq-dev`), each by Debian's rule, so
    /// the value is safe on an `apt-get install` line.
    DebianPackages,
    /// A port an unprivileged app can listen on beside the watchdog: 1024-65535, not 8080.
    Port,
}

impl OptionFormat {
    /// The name `template.yml` gives it (`format: debian-packages`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "text" => Some(Self::Text),
            "debian-packages" => Some(Self::DebianPackages),
            "port" => Some(Self::Port),
            _ => None,
        }
    }
}

/// A checked `function.yml`, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub template: String,
    pub requests: Resources,
    pub limits: Resources,
    pub environment: BTreeMap<String, String>,
    pub secrets: Vec<String>,
    pub options: BTreeMap<String, String>,
    pub scaling: Scaling,
    pub health: Health,
    /// How long one request may take: the router answers 504 after it, and templates that
    /// run the watchdog give it the same limit.
    pub timeout: Duration,
}

/// `timeout` when function.yml leaves it out.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// CPU in millicores and memory in MiB, for `requests` or `limits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub cpu_millis: u32,
    pub memory_mib: u32,
}

impl Resources {
    /// What a function asks for when `requests` leaves a resource out.
    pub const DEFAULT_REQUESTS: Self = Self {
        cpu_millis: 50,
        memory_mib: 64,
    };
    /// What a function may use when `limits` leaves a resource out.
    pub const DEFAULT_LIMITS: Self = Self {
        cpu_millis: 100,
        memory_mib: 128,
    };
}

/// How many replicas run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaling {
    pub min: u32,
    pub max: u32,
}

impl Default for Scaling {
    fn default() -> Self {
        Self { min: 1, max: 1 }
    }
}

/// Where and how long to wait for a new release to answer before it may serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub path: String,
    pub timeout: Duration,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            path: "/".to_owned(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// One problem, tied to a field and a line (1-based; 0 when the problem is the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub field: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("function.yml")?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ", {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SpecError {}

/// Every problem found (not just the first), in file order; displayed one line per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Reads and checks `function.yml`; on failure returns every problem found, in file order.
pub fn parse(bytes: &[u8], catalog: &dyn Catalog) -> Result<FunctionSpec, SpecErrors> {
    let whole_file = |line: usize, message: String| {
        SpecErrors(vec![SpecError {
            field: String::new(),
            line,
            message,
        }])
    };
    if bytes.len() > MAX_FUNCTION_FILE_BYTES {
        return Err(whole_file(
            0,
            format!(
                "function.yml is {} bytes; the limit is {} KiB",
                bytes.len(),
                MAX_FUNCTION_FILE_BYTES / 1024
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let before = &bytes[..error.valid_up_to()];
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        whole_file(line, "function.yml is not valid UTF-8".to_owned())
    })?;
    // Editors on Windows may start the file with a byte-order mark; YAML would take it as text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let document = tree::read(text).map_err(|error| SpecErrors(vec![error]))?;

    let mut report = Report::default();
    report.extend(document.problems);
    let spec = match document.root {
        Some(tree::Node {
            value: Value::Map(entries),
            ..
        }) => Some(check::file(&entries, catalog, &mut report)),
        None
        | Some(tree::Node {
            value:
                Value::Scalar(tree::Scalar {
                    kind: tree::ScalarKind::Null,
                    ..
                }),
            ..
        }) => {
            let message = "function.yml is empty; a minimal file is `template: python3.12`";
            report.add("", 0, message.to_owned());
            None
        }
        Some(other) => {
            let message = format!(
                "function.yml must be a map of settings such as `template: python3.12`, not {}",
                check::describe(&other)
            );
            report.add("", other.line, message);
            None
        }
    };
    match (report.finish(), spec) {
        (None, Some(spec)) => Ok(spec),
        (Some(errors), _) => Err(errors),
        (None, None) => Err(whole_file(0, "function.yml could not be read".to_owned())),
    }
}

//! Function templates: one directory each under the templates directory, with a `template.yml`
//! (name, description, required files, build options and their defaults, port) and a
//! Dockerfile. A directory may install several names (`variants`: `python3.10`, `python3.12`, …),
//! each with option defaults of its own. Loaded once at start; a broken template is skipped with
//! a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// One installed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The name `function.yml` gives (`python3.10`).
    pub name: String,
    /// The template directory's name (`python`): operator build options given for it apply to
    /// every variant.
    pub family: String,
    pub description: String,
    /// What the pushed tree must contain.
    pub required_files: Vec<Requirement>,
    /// The port the container listens on.
    pub port: u16,
    /// Build options (Docker build args) and their defaults.
    pub options: BTreeMap<String, String>,
    /// Options whose values are checked against a format (`packages: {default: "", format:
    /// debian-packages}`); the others are text.
    pub option_formats: BTreeMap<String, crate::spec::OptionFormat>,
    /// The template's directory (its files go into the build context under `.lmnop/`).
    pub dir: PathBuf,
    /// The Dockerfile's path inside the build context.
    pub dockerfile: String,
    /// A path that answers 200 once the container's server is up (the watchdog's
    /// `/_/health`), checked before the function's own health path.
    pub readiness_path: Option<String>,
    /// Where the watchdog forwards requests inside the container: the port the function's own
    /// server must listen on (`app_port: 5000`, or `app_port: {option: APP_PORT}` when an option
    /// sets it).
    pub app_port: Option<AppPort>,
    /// The image is served by the OpenFaaS of-watchdog (`watchdog: of-watchdog`): lmnop sets its
    /// timeouts from the function's `timeout` and shortens its stop (see
    /// [`crate::runtime::watchdog`]).
    pub watchdog: bool,
}

/// A file the pushed tree must hold: one of `any_of` (the first found is the one used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub any_of: Vec<String>,
    /// It must be committed executable (git mode 100755).
    pub executable: bool,
    /// What to tell the pusher when it is missing, in the template's words.
    pub message: Option<String>,
}

impl Requirement {
    /// `entrypoint or function/entrypoint`; a long list by its first three.
    pub fn describe(&self) -> String {
        const LISTED: usize = 3;
        match self.any_of.len() {
            0..=LISTED => self.any_of.join(" or "),
            n => format!(
                "one of {} and {} more",
                self.any_of[..LISTED].join(", "),
                n - LISTED
            ),
        }
    }
}

/// The port a template's app listens on behind its watchdog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppPort {
    Fixed(u16),
    /// The value of this build option.
    Option(String),
}

impl Template {
    /// The port the app listens on, with these (resolved) build options.
    pub fn app_port(&self, options: &BTreeMap<String, String>) -> Option<u16> {
        match self.app_port.as_ref()? {
            AppPort::Fixed(port) => Some(*port),
            AppPort::Option(name) => options
                .get(name)
                .or_else(|| self.options.get(name))
                .and_then(|value| value.parse().ok()),
        }
    }
}

/// Why a template could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The installed templates, by name.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    by_name: BTreeMap<String, Template>,
}

impl Templates {
    /// Loads every `*/template.yml` under `dir`; broken ones are logged and left out.
    pub fn load(dir: &Path) -> Self {
        let mut by_name = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "no templates directory; every push will name an unknown template");
            return Self { by_name };
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join("template.yml").is_file() {
                continue;
            }
            match load_one(&path) {
                Ok(variants) => {
                    for template in variants {
                        if let Some(other) = by_name.get(&template.name) {
                            tracing::warn!(
                                name = template.name,
                                kept = %other.dir.display(),
                                skipped = %template.dir.display(),
                                "two templates install the same name; the first is kept"
                            );
                            continue;
                        }
                        by_name.insert(template.name.clone(), template);
                    }
                }
                Err(error) => tracing::warn!(%error, "template skipped"),
            }
        }
        Self { by_name }
    }

    pub fn get(&self, name: &str) -> Option<&Template> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }
}

/// The template in `dir`: one per variant, or one named after the directory.
fn load_one(dir: &Path) -> Result<Vec<Template>, TemplateError> {
    let path = dir.join("template.yml");
    let invalid = |message: String| TemplateError::Invalid {
        path: path.clone(),
        message,
    };
    let text = std::fs::read_to_string(&path).map_err(|source| TemplateError::Read {
        path: path.clone(),
        error: source,
    })?;
    let docs = YamlLoader::load_from_str(&text).map_err(|error| invalid(error.to_string()))?;
    let doc = docs
        .first()
        .ok_or_else(|| invalid("empty file".to_owned()))?;
    let name = doc["name"]
        .as_str()
        .ok_or_else(|| invalid("`name` is missing".to_owned()))?
        .to_owned();
    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name != folder {
        return Err(invalid(format!(
            "`name` is {name:?} but the directory is {folder:?}; they must match"
        )));
    }
    let port = doc["port"]
        .as_i64()
        .and_then(|port| u16::try_from(port).ok())
        .ok_or_else(|| invalid("`port` must be a port number".to_owned()))?;
    let required_files = match &doc["required_files"] {
        Yaml::BadValue => Vec::new(),
        Yaml::Array(items) => items
            .iter()
            .map(requirement)
            .collect::<Option<_>>()
            .ok_or_else(|| invalid(REQUIREMENT_FORMS.to_owned()))?,
        _ => return Err(invalid(REQUIREMENT_FORMS.to_owned())),
    };
    let mut options = BTreeMap::new();
    let mut option_formats = BTreeMap::new();
    let options_shape =
        || invalid("`options` must map NAME to a default value or {default, format}".to_owned());
    match &doc["options"] {
        Yaml::BadValue => {}
        Yaml::Hash(map) => {
            for (key, value) in map {
                let key = key.as_str().ok_or_else(options_shape)?;
                let default = match value {
                    Yaml::Hash(_) => {
                        let format = value["format"].as_str().unwrap_or("text");
                        let format =
                            crate::spec::OptionFormat::from_name(format).ok_or_else(|| {
                                invalid(format!(
                                    "option {key}: unknown format {format:?} (text or \
                                     debian-packages)"
                                ))
                            })?;
                        option_formats.insert(key.to_owned(), format);
                        scalar_text(&value["default"]).ok_or_else(options_shape)?
                    }
                    value => scalar_text(value).ok_or_else(options_shape)?,
                };
                options.insert(key.to_owned(), default);
            }
        }
        _ => return Err(options_shape()),
    }
    let dockerfile = match doc["dockerfile"].as_str() {
        Some(path) => path.to_owned(),
        None => format!("{}/Dockerfile", super::context::TEMPLATE_DIR),
    };
    let app_port = match &doc["app_port"] {
        Yaml::BadValue => None,
        Yaml::Hash(_) => {
            let option = doc["app_port"]["option"].as_str().ok_or_else(|| {
                invalid("`app_port` must be a port number or {option: NAME}".to_owned())
            })?;
            if !options.contains_key(option) {
                return Err(invalid(format!(
                    "`app_port` names {option}, which `options` does not declare"
                )));
            }
            Some(AppPort::Option(option.to_owned()))
        }
        value => Some(AppPort::Fixed(
            value
                .as_i64()
                .and_then(|port| u16::try_from(port).ok())
                .ok_or_else(|| {
                    invalid("`app_port` must be a port number or {option: NAME}".to_owned())
                })?,
        )),
    };
    let template = Template {
        name: name.clone(),
        family: name,
        description: doc["description"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        required_files,
        port,
        options,
        option_formats,
        dir: dir.to_owned(),
        dockerfile,
        readiness_path: doc["readiness_path"].as_str().map(str::to_owned),
        app_port,
        watchdog: match &doc["watchdog"] {
            Yaml::BadValue | Yaml::Null => false,
            Yaml::String(kind) if kind == "of-watchdog" => true,
            other => {
                return Err(invalid(format!(
                    "watchdog must be `of-watchdog` or left out, not {other:?}"
                )));
            }
        },
    };
    match &doc["variants"] {
        Yaml::BadValue => Ok(vec![template]),
        Yaml::Hash(variants) => variants
            .iter()
            .map(|(variant, defaults)| {
                let variant = variant
                    .as_str()
                    .filter(|name| crate::spec::is_template_name(name))
                    .ok_or_else(|| {
                        invalid(format!(
                            "variant {variant:?} is not a template name (a-z, 0-9, '.', '_', '-')"
                        ))
                    })?;
                let mut one = template.clone();
                one.name = variant.to_owned();
                if let Yaml::Hash(defaults) = defaults {
                    for (key, value) in defaults {
                        let (Some(key), Some(value)) = (key.as_str(), scalar_text(value)) else {
                            return Err(invalid(format!(
                                "variant {variant} must map option names to defaults"
                            )));
                        };
                        if !one.options.contains_key(key) {
                            return Err(invalid(format!(
                                "variant {variant} sets {key}, which `options` does not declare"
                            )));
                        }
                        one.options.insert(key.to_owned(), value);
                    }
                } else if !defaults.is_null() {
                    return Err(invalid(format!(
                        "variant {variant} must map option names to defaults"
                    )));
                }
                Ok(one)
            })
            .collect(),
        _ => Err(invalid(
            "`variants` must map names to their option defaults".to_owned(),
        )),
    }
}

const REQUIREMENT_FORMS: &str = "each of `required_files` must be a path or \
    {any_of: [PATH, ...], executable: BOOL, message: TEXT}";

/// `PATH`, or `{any_of: [PATH, ...], executable: true, message: ...}`.
fn requirement(item: &Yaml) -> Option<Requirement> {
    if let Some(path) = item.as_str() {
        return Some(Requirement {
            any_of: vec![path.to_owned()],
            executable: false,
            message: None,
        });
    }
    let any_of: Vec<String> = item["any_of"]
        .as_vec()?
        .iter()
        .map(|path| path.as_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    if any_of.is_empty() {
        return None;
    }
    let executable = match &item["executable"] {
        Yaml::BadValue => false,
        value => value.as_bool()?,
    };
    let message = match &item["message"] {
        Yaml::BadValue => None,
        value => Some(value.as_str()?.trim().to_owned()),
    };
    Some(Requirement {
        any_of,
        executable,
        message,
    })
}

fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(text) | Yaml::Real(text) => Some(text.clone()),
        Yaml::Integer(n) => Some(n.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_templates_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("function-templates");
        let templates = Templates::load(&dir);
        let python = templates.get("python3.12").expect("python3.12 ships");
        assert_eq!(python.port, 8080);
        assert_eq!(python.app_port(&BTreeMap::new()), Some(5000));
        let options = BTreeMap::from([("APP_PORT".to_owned(), "5050".to_owned())]);
        assert_eq!(python.app_port(&options), Some(5050));
        assert_eq!(
            python.required_files,
            [Requirement {
                any_of: vec!["entrypoint".to_owned(), "function/entrypoint".to_owned()],
                executable: true,
                message: python.required_files[0].message.clone(),
            }]
        );
        assert_eq!(
            python.option_formats.get("packages"),
            Some(&crate::spec::OptionFormat::DebianPackages)
        );
        assert!(python.options.contains_key("BASE_IMAGE"));
        assert!(python.options.contains_key("WATCHDOG_IMAGE"));
        assert_eq!(python.dockerfile, ".lmnop/Dockerfile");
        assert_eq!(python.readiness_path.as_deref(), Some("/_/health"));
        // The original lmnop's names, one directory: each its own Python. `python3` is the
        // original's oldest template: Python 3.9, its app on port 8000.
        for (name, image, port) in [
            ("python3", "python:3.9-slim-bookworm", 8000),
            ("python3.9", "python:3.9-slim-bookworm", 5000),
            ("python3.10", "python:3.10-slim-bookworm", 5000),
            ("python3.11", "python:3.11-slim-bookworm", 5000),
            ("python3.13", "python:3.13-slim-bookworm", 5000),
        ] {
            let variant = templates.get(name).expect("ships");
            assert_eq!(variant.options["BASE_IMAGE"], image);
            assert_eq!(variant.app_port(&BTreeMap::new()), Some(port), "{name}");
            assert_eq!((variant.family.as_str(), variant.port), ("python", 8080));
        }
        assert!(templates.get("python").is_none(), "the family is no name");
        for name in ["python3.12", "static", "hugo", "react"] {
            let template = templates.get(name).expect("ships");
            assert!(template.watchdog, "{name} runs the of-watchdog");
        }
        let own = templates.get("dockerfile").expect("dockerfile ships");
        assert_eq!(
            (own.dockerfile.as_str(), own.readiness_path.as_deref()),
            ("Dockerfile", None)
        );
        assert!(!own.watchdog);
    }

    #[test]
    fn watchdog_names_the_only_watchdog_lmnop_knows() {
        let dir = tempfile::tempdir().expect("tmp");
        let template = dir.path().join("odd");
        std::fs::create_dir_all(&template).expect("dir");
        std::fs::write(
            template.join("template.yml"),
            "name: odd\nport: 8080\nwatchdog: classic\n",
        )
        .expect("write");
        let error = load_one(&template).expect_err("refused").to_string();
        assert!(error.contains("watchdog must be `of-watchdog`"), "{error}");
    }

    #[test]
    fn variants_set_only_declared_options() {
        let dir = tempfile::tempdir().expect("tmp");
        let template = dir.path().join("lang");
        std::fs::create_dir_all(&template).expect("dir");
        std::fs::write(
            template.join("template.yml"),
            "name: lang\nport: 8080\noptions: {V: '1'}\nvariants:\n  lang1: {}\n  lang2: {W: '2'}\n",
        )
        .expect("write");
        let error = load_one(&template).expect_err("refused").to_string();
        assert!(error.contains("variant lang2 sets W"), "{error}");
    }

    #[test]
    fn a_broken_template_is_left_out() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("good")).expect("dir");
        std::fs::write(
            dir.path().join("good/template.yml"),
            "name: good\nport: 8080\n",
        )
        .expect("write");
        std::fs::create_dir_all(dir.path().join("bad")).expect("dir");
        std::fs::write(
            dir.path().join("bad/template.yml"),
            "name: other\nport: 8080\n",
        )
        .expect("write");
        let templates = Templates::load(dir.path());
        assert_eq!(templates.names(), ["good"]);
    }
}

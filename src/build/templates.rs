//! Function templates: one directory each under the templates directory, with a `template.yml`
//! (name, description, required files, build options and their defaults, port) and a
//! Dockerfile. Loaded once at start; a broken template is skipped with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// One installed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub description: String,
    /// Paths the pushed tree must contain.
    pub required_files: Vec<String>,
    /// The port the container listens on.
    pub port: u16,
    /// Build options (Docker build args) and their defaults.
    pub options: BTreeMap<String, String>,
    /// The template's directory (its files go into the build context under `.lmnop/`).
    pub dir: PathBuf,
    /// The Dockerfile's path inside the build context.
    pub dockerfile: String,
    /// A path that answers 200 once the container's server is up (the watchdog's
    /// `/_/health`), checked before the function's own health path.
    pub readiness_path: Option<String>,
    /// The image is served by the OpenFaaS of-watchdog (`watchdog: of-watchdog`): lmnop sets its
    /// timeouts from the function's `timeout` and shortens its stop (see
    /// [`crate::runtime::watchdog`]).
    pub watchdog: bool,
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
                Ok(template) => {
                    by_name.insert(template.name.clone(), template);
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

fn load_one(dir: &Path) -> Result<Template, TemplateError> {
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
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("`required_files` must be a list of paths".to_owned()))?,
        _ => {
            return Err(invalid(
                "`required_files` must be a list of paths".to_owned(),
            ));
        }
    };
    let mut options = BTreeMap::new();
    match &doc["options"] {
        Yaml::BadValue => {}
        Yaml::Hash(map) => {
            for (key, value) in map {
                let (Some(key), Some(value)) = (key.as_str(), scalar_text(value)) else {
                    return Err(invalid(
                        "`options` must map NAME to a default value".to_owned(),
                    ));
                };
                options.insert(key.to_owned(), value);
            }
        }
        _ => {
            return Err(invalid(
                "`options` must map NAME to a default value".to_owned(),
            ));
        }
    }
    let dockerfile = match doc["dockerfile"].as_str() {
        Some(path) => path.to_owned(),
        None => format!("{}/Dockerfile", super::context::TEMPLATE_DIR),
    };
    Ok(Template {
        name,
        description: doc["description"]
            .as_str()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        required_files,
        port,
        options,
        dir: dir.to_owned(),
        dockerfile,
        readiness_path: doc["readiness_path"].as_str().map(str::to_owned),
        watchdog: match &doc["watchdog"] {
            Yaml::BadValue | Yaml::Null => false,
            Yaml::String(kind) if kind == "of-watchdog" => true,
            other => {
                return Err(invalid(format!(
                    "watchdog must be `of-watchdog` or left out, not {other:?}"
                )));
            }
        },
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
        assert_eq!(python.required_files, ["function/entrypoint"]);
        assert!(python.options.contains_key("BASE_IMAGE"));
        assert!(python.options.contains_key("WATCHDOG_IMAGE"));
        assert_eq!(python.dockerfile, ".lmnop/Dockerfile");
        assert_eq!(python.readiness_path.as_deref(), Some("/_/health"));
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

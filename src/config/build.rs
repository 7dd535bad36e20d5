//! Build settings: the operator's build options (`LMNOP_BUILD_ARGS`) and the CA certificates
//! builds trust (`LMNOP_BUILD_CA_FILE`, read once).

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Operator build options: `(template or all, NAME, VALUE)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildArgs(pub Vec<(Option<String>, String, String)>);

impl BuildArgs {
    /// The options that apply to `template` of the template directory `family`: general ones,
    /// then the family's (`python.BASE_IMAGE`), then the template's own (`python3.10.…`), so the
    /// most specific wins.
    pub fn for_template(&self, template: &str, family: &str) -> Vec<(String, String)> {
        let given_for = |wanted: Option<&str>| -> Vec<(String, String)> {
            self.0
                .iter()
                .filter(|(t, _, _)| t.as_deref() == wanted)
                .map(|(_, name, value)| (name.clone(), value.clone()))
                .collect()
        };
        let mut options = given_for(None);
        if family != template {
            options.extend(given_for(Some(family)));
        }
        options.extend(given_for(Some(template)));
        options
    }
}

/// `NAME=VALUE,python3.12.NAME=VALUE` → [`BuildArgs`].
pub fn parse_build_args(text: &str) -> Result<BuildArgs, String> {
    let mut args = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not NAME=VALUE"))?;
        let (template, name) = match key.rsplit_once('.') {
            Some((template, name)) => (Some(template.to_owned()), name),
            None => (None, key),
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("{name:?} is not an option name (A-Z, 0-9, _)"));
        }
        args.push((template, name.to_owned(), value.to_owned()));
    }
    Ok(BuildArgs(args))
}

/// CA certificates (PEM) that builds trust, read once when lmnop starts: a push never touches
/// the file, and a missing or unreadable one stops `serve` with the setting's name.
#[derive(Debug, Clone)]
pub struct CaCertificates {
    path: PathBuf,
    pem: std::sync::Arc<[u8]>,
}

impl CaCertificates {
    /// Reads the file named by `LMNOP_BUILD_CA_FILE`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let setting = "LMNOP_BUILD_CA_FILE";
        let pem = std::fs::read(path).map_err(|error| ConfigError::ReadFile {
            setting,
            path: path.to_owned(),
            error,
        })?;
        if !pem.windows(11).any(|window| window == b"-----BEGIN ") {
            return Err(ConfigError::Invalid {
                setting,
                reason: format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            pem: pem.into(),
        })
    }

    /// Where the certificates were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, as read.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_apply_per_template() {
        let args = parse_build_args("BASE_IMAGE=a, python3.12.BASE_IMAGE=b,X=1").expect("valid");
        assert_eq!(
            args.for_template("python3.12", "python"),
            [
                ("BASE_IMAGE".to_owned(), "a".to_owned()),
                ("X".to_owned(), "1".to_owned()),
                ("BASE_IMAGE".to_owned(), "b".to_owned())
            ]
        );
        assert_eq!(args.for_template("static", "static").len(), 2);
        // The family's options apply to each of its templates, the template's own win.
        let args = parse_build_args("python.BASE_IMAGE=f,python3.10.BASE_IMAGE=t").expect("ok");
        assert_eq!(
            args.for_template("python3.10", "python").last(),
            Some(&("BASE_IMAGE".to_owned(), "t".to_owned()))
        );
        assert_eq!(
            args.for_template("python3.9", "python"),
            [("BASE_IMAGE".to_owned(), "f".to_owned())]
        );
        assert!(parse_build_args("nope").is_err());
        assert!(parse_build_args("lower=x").is_err());
        assert_eq!(parse_build_args("").expect("empty"), BuildArgs::default());
    }
}

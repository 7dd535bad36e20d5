//! Turning setting text into values: sizes, branch names, secrets given directly or as a file,
//! and the URL helpers (percent-encoding a path, hiding a password).

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::domain::Secret;

/// `1024`, `64K`, `512M`, `2G` → bytes (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a size like 1048576, 512M or 2G"))
}

/// `LMNOP_DEPLOY_BRANCH`: a plain branch name, without `refs/heads/`.
pub(super) fn deploy_branch(branch: String) -> Result<String, ConfigError> {
    if branch.is_empty()
        || branch.starts_with('-')
        || branch.contains(['/', ' ', '\\', ':', '~', '^', '?', '*', '['])
    {
        return Err(ConfigError::Invalid {
            setting: "LMNOP_DEPLOY_BRANCH",
            reason: format!("{branch:?} is not a plain branch name (like `main`)"),
        });
    }
    Ok(branch)
}

/// A secret given directly or as a file; a file's trailing newline is dropped.
pub(super) fn secret_setting(
    setting: &'static str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<Secret>, ConfigError> {
    let value = match (value, file) {
        (Some(value), _) => value,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile {
                setting,
                path,
                error: source,
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, None) => return Ok(None),
    };
    if value.is_empty() {
        return Err(ConfigError::Empty { setting });
    }
    Ok(Some(Secret::new(value)))
}

/// Percent-encodes the few characters that would end a path inside a URL.
pub(super) fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `scheme://user:password@host/…` → `scheme://user@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://lmnop:s3cret@db:5432/lmnop"),
            "postgres://lmnop@db:5432/lmnop"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn sizes_take_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn deploy_branches_are_plain_names() {
        assert!(deploy_branch("release-1.2".to_owned()).is_ok());
        for bad in ["", "-x", "refs/heads/main", "a b", "a:b"] {
            assert!(deploy_branch(bad.to_owned()).is_err(), "{bad:?}");
        }
    }
}

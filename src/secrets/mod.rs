//! Function secrets for the docker runtime: one owner-only file per secret under
//! `DATA_DIR/secrets`, mounted read-only into containers at `/var/openfaas/secrets/NAME`.
//! Values are write-only: they can be set and removed, never shown.

use std::io::Write;
use std::path::PathBuf;

use crate::domain::{Secret, SecretName};
use crate::store::DataDir;

/// Largest secret value accepted.
pub const MAX_SECRET_BYTES: usize = 512 * 1024;

/// Why a secret could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret is larger than {} KiB", MAX_SECRET_BYTES / 1024)]
    TooLarge,
    #[error("the secret is empty")]
    Empty,
    #[error("there is no secret named {0}")]
    NotFound(String),
    #[error("cannot write the secret store at {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The secrets directory.
#[derive(Debug, Clone)]
pub struct SecretStore {
    dir: PathBuf,
}

impl SecretStore {
    pub fn new(data_dir: &DataDir) -> Self {
        Self {
            dir: data_dir.secrets(),
        }
    }

    /// Where a secret's value lives (mounted from here into containers).
    pub fn path(&self, name: &SecretName) -> PathBuf {
        self.dir.join(name.as_str())
    }

    pub fn exists(&self, name: &SecretName) -> bool {
        self.path(name).is_file()
    }

    /// Stores a value (owner-only, replaced atomically). Returns true when it replaced one.
    pub fn set(&self, name: &SecretName, value: &Secret) -> Result<bool, SecretError> {
        use std::os::unix::fs::OpenOptionsExt;
        if value.expose().len() > MAX_SECRET_BYTES {
            return Err(SecretError::TooLarge);
        }
        if value.is_empty() {
            return Err(SecretError::Empty);
        }
        let io = |source| SecretError::Io {
            path: self.dir.clone(),
            error: source,
        };
        let target = self.path(name);
        let replaced = target.exists();
        let staging = self.dir.join(format!(".{name}.new"));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staging)
            .map_err(io)?;
        file.write_all(value.expose().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&staging, &target).map_err(io)?;
        Ok(replaced)
    }

    pub fn remove(&self, name: &SecretName) -> Result<(), SecretError> {
        match std::fs::remove_file(self.path(name)) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Err(SecretError::NotFound(name.to_string()))
            }
            Err(source) => Err(SecretError::Io {
                path: self.dir.clone(),
                error: source,
            }),
        }
    }

    /// Names of the stored secrets, sorted.
    pub fn list(&self) -> Result<Vec<String>, SecretError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| SecretError::Io {
            path: self.dir.clone(),
            error: source,
        })?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| SecretName::parse(name).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn set_list_replace_remove() {
        let dir = tempfile::tempdir().expect("tmp");
        let data_dir = DataDir::new(dir.path()).expect("a temp dir is absolute");
        crate::store::prepare_data_dir(&data_dir).expect("data dir");
        let store = SecretStore::new(&data_dir);
        let name = SecretName::parse("db-password").expect("name");
        assert!(!store.set(&name, &Secret::new("s3cret")).expect("set"));
        assert!(store.set(&name, &Secret::new("s3cret-2")).expect("replace"));
        assert_eq!(store.list().expect("list"), ["db-password"]);
        let mode = std::fs::metadata(store.path(&name))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(store.path(&name)).expect("read"),
            "s3cret-2"
        );
        store.remove(&name).expect("remove");
        assert!(matches!(store.remove(&name), Err(SecretError::NotFound(_))));
        assert!(store.list().expect("list").is_empty());
    }
}

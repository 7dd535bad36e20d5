//! The layout of the data directory (`LMNOP_DATA_DIR`): the one place that knows the name of
//! every file and folder lmnop keeps there.

use std::path::{Path, PathBuf};

/// Bare repositories, one `NAME.git` each.
const REPOS: &str = "repos";
/// The hooks directory every receive-pack is pointed at.
const HOOKS: &str = "hooks";
/// The empty repository advertised for a name that has no repository yet.
const EMPTY_REPO: &str = "empty.git";
/// Owner-only folder for the hook socket.
const RUN: &str = "run";
const HOOK_SOCKET: &str = "hook.sock";
/// Owner-only folder of function secrets.
const SECRETS: &str = "secrets";
/// The embedded SQLite database.
const DATABASE_FILE: &str = "lmnop.db";
const INSTANCE_ID_FILE: &str = "instance-id";
/// Scratch files: written and removed at once, or renamed into place.
const INSTANCE_ID_STAGING: &str = ".instance-id.new";
const WRITE_PROBE: &str = ".write-test";
const DOCTOR_PROBE: &str = ".doctor-write-test";

/// The data directory, made absolute once when the settings are read: git runs hooks inside
/// the repository, so every path handed to it must be absolute. Messages name the directory as
/// the operator wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
    given: PathBuf,
}

impl DataDir {
    /// `path` made absolute against the current directory (nothing is created, and symlinks are
    /// kept: the directory need not exist yet). Fails only for an empty path or when the
    /// current directory is gone.
    pub fn new(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let given = path.into();
        let root = std::path::absolute(&given)?;
        Ok(Self { root, given })
    }

    /// The directory itself (absolute).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The directory as the operator wrote it, for messages.
    pub fn given(&self) -> &Path {
        &self.given
    }

    /// `path`, one of this directory's, under the directory as the operator wrote it (for
    /// messages; the process never changes directory, so both name the same file).
    pub fn shown(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.root) {
            Ok(rest) if rest.as_os_str().is_empty() => self.given.clone(),
            Ok(rest) => self.given.join(rest),
            Err(_) => path.to_owned(),
        }
    }

    pub fn repos(&self) -> PathBuf {
        self.root.join(REPOS)
    }

    pub fn hooks(&self) -> PathBuf {
        self.root.join(HOOKS)
    }

    pub fn empty_repo(&self) -> PathBuf {
        self.root.join(EMPTY_REPO)
    }

    /// The owner-only folder that holds [`Self::hook_socket`].
    pub fn run(&self) -> PathBuf {
        self.root.join(RUN)
    }

    pub fn hook_socket(&self) -> PathBuf {
        self.run().join(HOOK_SOCKET)
    }

    pub fn secrets(&self) -> PathBuf {
        self.root.join(SECRETS)
    }

    /// Where the embedded SQLite database lives (the default database).
    pub fn database_file(&self) -> PathBuf {
        self.root.join(DATABASE_FILE)
    }

    pub fn instance_id_file(&self) -> PathBuf {
        self.root.join(INSTANCE_ID_FILE)
    }

    /// Written first, then renamed to [`Self::instance_id_file`].
    pub fn instance_id_staging(&self) -> PathBuf {
        self.root.join(INSTANCE_ID_STAGING)
    }

    /// Written and removed at start to prove the directory is writable.
    pub fn write_probe(&self) -> PathBuf {
        self.root.join(WRITE_PROBE)
    }

    /// `lmnop doctor`'s own probe, so it never races a starting server's.
    pub fn doctor_probe(&self) -> PathBuf {
        self.root.join(DOCTOR_PROBE)
    }
}

impl std::fmt::Display for DataDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.given.display().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_directories_are_made_absolute_and_shown_as_given() {
        let dir = DataDir::new("./data").expect("the current directory exists");
        assert!(dir.path().is_absolute());
        assert!(dir.repos().is_absolute() && dir.hook_socket().is_absolute());
        assert_eq!(dir.to_string(), "./data");
        assert_eq!(
            dir.shown(&dir.database_file()),
            Path::new("./data/lmnop.db")
        );
        assert_eq!(dir.shown(dir.path()), Path::new("./data"));
    }

    #[test]
    fn the_layout_is_the_one_existing_installations_have() {
        let dir = DataDir::new("/srv/lmnop").expect("absolute");
        let under = |path: PathBuf| {
            path.strip_prefix("/srv/lmnop")
                .expect("under the data dir")
                .to_owned()
        };
        assert_eq!(under(dir.repos()), Path::new("repos"));
        assert_eq!(under(dir.hooks()), Path::new("hooks"));
        assert_eq!(under(dir.empty_repo()), Path::new("empty.git"));
        assert_eq!(under(dir.hook_socket()), Path::new("run/hook.sock"));
        assert_eq!(under(dir.secrets()), Path::new("secrets"));
        assert_eq!(under(dir.database_file()), Path::new("lmnop.db"));
        assert_eq!(under(dir.instance_id_file()), Path::new("instance-id"));
    }

    #[test]
    fn an_empty_path_is_refused() {
        assert!(DataDir::new("").is_err());
    }
}

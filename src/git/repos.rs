//! Bare repositories on disk: where they live, creating one on first push, removing one that a
//! rejected first push left empty or whose function was deleted, and the hook every
//! receive-pack runs.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::domain::FunctionName;
use crate::store::DataDir;

/// The repositories of the data directory, and the hooks directory git is pointed at.
#[derive(Debug)]
pub struct Repos {
    root: PathBuf,
    hooks_dir: PathBuf,
    /// An empty repository whose refs are advertised for a push to a name that does not exist
    /// yet, so nothing is created until the pack arrives.
    empty: PathBuf,
    initial_branch: String,
}

/// A git command that failed.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {what} failed: {stderr}")]
    Git { what: &'static str, stderr: String },
}

impl From<std::io::Error> for RepoError {
    fn from(error: std::io::Error) -> Self {
        Self::Spawn(error)
    }
}

impl Repos {
    /// Prepares the layout and writes the hooks (pre-receive, reference-transaction,
    /// post-receive) that call `hook_binary`.
    pub async fn open(
        data_dir: &DataDir,
        hook_binary: &Path,
        initial_branch: &str,
    ) -> Result<Self, RepoError> {
        let repos = Self {
            root: data_dir.repos(),
            hooks_dir: data_dir.hooks(),
            empty: data_dir.empty_repo(),
            initial_branch: initial_branch.to_owned(),
        };
        std::fs::create_dir_all(&repos.root)?;
        write_hook(&repos.hooks_dir, hook_binary)?;
        if !repos.empty.join("HEAD").exists() {
            let _ = std::fs::remove_dir_all(&repos.empty);
            repos.init_bare(&repos.empty).await?;
        }
        Ok(repos)
    }

    pub fn path(&self, name: &FunctionName) -> PathBuf {
        self.root.join(format!("{name}.git"))
    }

    pub fn exists(&self, name: &FunctionName) -> bool {
        self.path(name).join("HEAD").is_file()
    }

    pub fn hooks_dir(&self) -> &Path {
        &self.hooks_dir
    }

    /// The repository whose refs an advertisement for `name` shows.
    pub fn advertised(&self, name: &FunctionName) -> PathBuf {
        if self.exists(name) {
            self.path(name)
        } else {
            self.empty.clone()
        }
    }

    /// Creates the bare repository for `name` (whole or not at all: it is made under a
    /// temporary name and renamed into place).
    pub async fn create(&self, name: &FunctionName) -> Result<PathBuf, RepoError> {
        let path = self.path(name);
        let staging = self
            .root
            .join(format!(".new-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        self.init_bare(&staging).await?;
        std::fs::rename(&staging, &path)?;
        Ok(path)
    }

    /// Removes a repository that has no refs (a first push that was rejected or cut off).
    pub async fn remove_if_empty(&self, name: &FunctionName) -> Result<bool, RepoError> {
        let path = self.path(name);
        let output = super::service::git(&path)
            .args(["for-each-ref", "--count=1", "--format=x"])
            .output()
            .await?;
        if !output.status.success() || !output.stdout.is_empty() {
            return Ok(false);
        }
        std::fs::remove_dir_all(&path)?;
        Ok(true)
    }

    /// At start, while no push runs: removes what pushes cut off left behind (git's quarantine
    /// directories, repositories renamed for removal) and repositories without a single ref (a
    /// first push that never finished). Returns the names of the repositories removed.
    pub fn sweep(&self) -> Vec<String> {
        let mut removed = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return removed;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if file_name.starts_with(".deleted-") {
                if let Err(error) = std::fs::remove_dir_all(&path) {
                    tracing::warn!(path = %path.display(), %error, "cannot remove a deleted repository");
                }
                continue;
            }
            let Some(name) = file_name
                .strip_suffix(".git")
                .filter(|_| !file_name.starts_with('.'))
            else {
                continue;
            };
            if let Ok(quarantines) = std::fs::read_dir(path.join("objects")) {
                for quarantine in quarantines.flatten() {
                    if quarantine
                        .file_name()
                        .to_string_lossy()
                        .starts_with("tmp_objdir-incoming-")
                    {
                        tracing::info!(repository = name, path = %quarantine.path().display(), "removing the objects of a push that was cut off");
                        let _ = std::fs::remove_dir_all(quarantine.path());
                    }
                }
            }
            if has_no_refs(&path) {
                tracing::info!(
                    repository = name,
                    "removing a repository a cut-off first push left empty"
                );
                if std::fs::remove_dir_all(&path).is_ok() {
                    removed.push(name.to_owned());
                }
            }
        }
        removed
    }

    /// Removes `name`'s repository: it is first renamed out of the way, so no request sees it
    /// half gone. True when there was one.
    pub fn remove(&self, name: &FunctionName) -> Result<bool, RepoError> {
        let path = self.path(name);
        if !path.exists() {
            return Ok(false);
        }
        let doomed = self.root.join(format!(
            ".deleted-{name}-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::rename(&path, &doomed)?;
        std::fs::remove_dir_all(&doomed)?;
        Ok(true)
    }

    async fn init_bare(&self, path: &Path) -> Result<(), RepoError> {
        let output = Command::new(super::service::git_program())
            .args(["init", "--bare", "--quiet"])
            .arg(format!("--initial-branch={}", self.initial_branch))
            .arg("--")
            .arg(path)
            .env_clear()
            .envs(super::service::base_env())
            .output()
            .await?;
        if output.status.success() {
            Ok(())
        } else {
            Err(RepoError::Git {
                what: "init",
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            })
        }
    }
}

/// `hooks/pre-receive`: a two-line script that hands the push to `lmnop hook pre-receive`.
fn write_hook(hooks_dir: &Path, binary: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(hooks_dir)?;
    let quoted = binary.to_string_lossy().replace('\'', r"'\''");
    for (hook, arguments) in [
        ("pre-receive", "pre-receive"),
        ("reference-transaction", "reference-transaction \"$1\""),
        ("post-receive", "post-receive"),
    ] {
        let script = format!("#!/bin/sh\nexec '{quoted}' hook {arguments}\n");
        let staging = hooks_dir.join(format!(".{hook}.new"));
        std::fs::write(&staging, script)?;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(staging, hooks_dir.join(hook))?;
    }
    Ok(())
}

/// Whether a bare repository has no ref at all (loose or packed).
fn has_no_refs(repo: &Path) -> bool {
    fn any_file(dir: &Path) -> bool {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    any_file(&path)
                } else {
                    !entry.file_name().to_string_lossy().ends_with(".lock")
                }
            })
        })
    }
    if !repo.join("HEAD").is_file() {
        return false;
    }
    let packed = std::fs::read_to_string(repo.join("packed-refs")).unwrap_or_default();
    let packed_refs = packed
        .lines()
        .any(|line| !line.starts_with('#') && !line.trim().is_empty());
    !packed_refs && !any_file(&repo.join("refs"))
}

//! Where a repository's refs point right now, read with gix. Blocking: call from
//! `spawn_blocking`.

use std::path::{Path, PathBuf};

use gix::ObjectId;

/// Why a ref could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("cannot open the repository {path}: {error}")]
    Open {
        path: PathBuf,
        error: Box<gix::open::Error>,
    },
    #[error("cannot read {name} in {path}: {error}")]
    Find {
        name: String,
        path: PathBuf,
        error: gix::reference::find::Error,
    },
    #[error("cannot follow {name} in {path}: {error}")]
    Follow {
        name: String,
        path: PathBuf,
        error: gix::reference::follow::to_object::Error,
    },
}

/// One repository's refs, opened once for any number of look-ups.
pub struct Refs {
    repository: gix::Repository,
    path: PathBuf,
}

impl Refs {
    pub fn open(repo: &Path) -> Result<Self, RefError> {
        // Isolated: no user or system git configuration decides how the repository is read.
        let repository =
            gix::open_opts(repo, gix::open::Options::isolated()).map_err(|source| {
                RefError::Open {
                    path: repo.to_owned(),
                    error: Box::new(source),
                }
            })?;
        Ok(Self {
            repository,
            path: repo.to_owned(),
        })
    }

    /// The object `name` (a full ref name such as `refs/heads/main`) points at, or `None` when
    /// the ref does not exist.
    pub fn target(&self, name: &str) -> Result<Option<ObjectId>, RefError> {
        let reference =
            self.repository
                .try_find_reference(name)
                .map_err(|source| RefError::Find {
                    name: name.to_owned(),
                    path: self.path.clone(),
                    error: source,
                })?;
        let Some(mut reference) = reference else {
            return Ok(None);
        };
        // Symbolic refs are followed; an annotated tag stays the tag object, as git reports it.
        let id = reference
            .follow_to_object()
            .map_err(|source| RefError::Follow {
                name: name.to_owned(),
                path: self.path.clone(),
                error: source,
            })?;
        Ok(Some(id.detach()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::fixture::{commit_all, git};

    #[test]
    fn refs_are_read_as_they_are_now() {
        let dir = tempfile::tempdir().expect("tmp");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        let one = commit_all(dir.path(), "one");
        let repo = dir.path().join(".git");
        let id = |hex: &str| ObjectId::from_hex(hex.as_bytes()).expect("hex");
        let target = |repo: &Path, name: &str| Refs::open(repo).expect("open").target(name);
        assert_eq!(target(&repo, "refs/heads/main").expect("read"), Some(one));
        assert_eq!(target(&repo, "refs/heads/dev").expect("read"), None);
        let two = commit_all(dir.path(), "two");
        git(dir.path(), &["pack-refs", "--all"]);
        assert_eq!(target(&repo, "refs/heads/main").expect("read"), Some(two));
        git(dir.path(), &["tag", "-a", "-m", "v1", "v1"]);
        let tag = git(dir.path(), &["rev-parse", "refs/tags/v1"]);
        assert_ne!(id(&tag), two);
        assert_eq!(
            target(&repo, "refs/tags/v1").expect("read"),
            Some(id(&tag)),
            "an annotated tag is not peeled"
        );
    }
}

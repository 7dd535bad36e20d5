//! Where a repository's refs point right now, read with gix. Blocking: call from
//! `spawn_blocking`.

use std::path::{Path, PathBuf};

use gix::ObjectId;

/// Why a ref could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    #[error("cannot open the repository {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<gix::open::Error>,
    },
    #[error("cannot read {name} in {path}: {source}")]
    Find {
        name: String,
        path: PathBuf,
        source: gix::reference::find::Error,
    },
    #[error("cannot follow {name} in {path}: {source}")]
    Follow {
        name: String,
        path: PathBuf,
        source: gix::reference::follow::to_object::Error,
    },
}

/// The object `name` (a full ref name such as `refs/heads/main`) points at, or `None` when the
/// ref does not exist.
pub fn target(repo: &Path, name: &str) -> Result<Option<ObjectId>, RefError> {
    // Isolated: no user or system git configuration decides how the repository is read.
    let repository =
        gix::open_opts(repo, gix::open::Options::isolated()).map_err(|source| RefError::Open {
            path: repo.to_owned(),
            source: Box::new(source),
        })?;
    let reference = repository
        .try_find_reference(name)
        .map_err(|source| RefError::Find {
            name: name.to_owned(),
            path: repo.to_owned(),
            source,
        })?;
    let Some(mut reference) = reference else {
        return Ok(None);
    };
    // Symbolic refs are followed; an annotated tag stays the tag object, as git reports it.
    let id = reference
        .follow_to_object()
        .map_err(|source| RefError::Follow {
            name: name.to_owned(),
            path: repo.to_owned(),
            source,
        })?;
    Ok(Some(id.detach()))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    #[test]
    fn refs_are_read_as_they_are_now() {
        let dir = tempfile::tempdir().expect("tmp");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "one"]);
        let one = git(dir.path(), &["rev-parse", "HEAD"]);
        let repo = dir.path().join(".git");
        let id = |hex: &str| ObjectId::from_hex(hex.as_bytes()).expect("hex");
        assert_eq!(
            target(&repo, "refs/heads/main").expect("read"),
            Some(id(&one))
        );
        assert_eq!(target(&repo, "refs/heads/dev").expect("read"), None);
        git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "two"]);
        git(dir.path(), &["pack-refs", "--all"]);
        let two = git(dir.path(), &["rev-parse", "HEAD"]);
        assert_eq!(
            target(&repo, "refs/heads/main").expect("read"),
            Some(id(&two))
        );
        git(dir.path(), &["tag", "-a", "-m", "v1", "v1"]);
        let tag = git(dir.path(), &["rev-parse", "refs/tags/v1"]);
        assert_ne!(tag, two);
        assert_eq!(
            target(&repo, "refs/tags/v1").expect("read"),
            Some(id(&tag)),
            "an annotated tag is not peeled"
        );
    }
}

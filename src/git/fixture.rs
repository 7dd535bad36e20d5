//! Test fixtures made by running the real `git`: a work tree's commits, for unit tests that read
//! them back with gix.

use std::path::Path;
use std::process::Command;

use gix::ObjectId;

/// Runs git in `dir` with no user configuration; returns its trimmed output, failing the test
/// when git fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Commits everything in the work tree `work` and returns the commit's id.
pub fn commit_all(work: &Path, message: &str) -> ObjectId {
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "--allow-empty", "-m", message]);
    ObjectId::from_hex(git(work, &["rev-parse", "HEAD"]).as_bytes()).expect("a commit id")
}

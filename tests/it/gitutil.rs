//! Driving the real `git` client against a test server: a work tree, commits, and pushes with
//! credentials in the URL, with no prompts and no user or system configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Result of one git command.
#[derive(Debug)]
pub struct GitRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// `git` with a clean, prompt-free environment, run in `dir`.
pub fn git(dir: &Path, args: &[&str]) -> GitRun {
    let output = git_command(dir, args).output().expect("git runs");
    GitRun {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The command [`git`] runs, for tests that start it themselves.
pub fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "/bin/false")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com");
    command
}

/// Runs git and fails the test with its output when it fails.
pub fn git_ok(dir: &Path, args: &[&str]) -> String {
    let run = git(dir, args);
    assert!(
        run.ok,
        "git {args:?} failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// A work tree with a `main` branch.
pub struct WorkTree {
    pub path: PathBuf,
}

impl WorkTree {
    pub fn new(parent: &Path, name: &str) -> Self {
        let path = parent.join(name);
        std::fs::create_dir_all(&path).expect("work tree dir");
        git_ok(&path, &["init", "-q", "-b", "main"]);
        Self { path }
    }

    pub fn write(&self, file: &str, content: &str) -> &Self {
        let path = self.path.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(path, content).expect("write file");
        self
    }

    /// Commits everything and returns the new commit id.
    pub fn commit(&self, message: &str) -> String {
        git_ok(&self.path, &["add", "-A"]);
        git_ok(
            &self.path,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        self.head()
    }

    pub fn head(&self) -> String {
        git_ok(&self.path, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn git(&self, args: &[&str]) -> GitRun {
        git(&self.path, args)
    }
}

/// `git ls-remote URL` as (ref → id) pairs; an empty list when the remote has no refs.
pub fn ls_remote(dir: &Path, url: &str) -> Vec<(String, String)> {
    git_ok(dir, &["ls-remote", url])
        .lines()
        .filter_map(|line| {
            let (id, name) = line.split_once('\t')?;
            Some((name.to_owned(), id.to_owned()))
        })
        .collect()
}

pub fn ref_id(refs: &[(String, String)], name: &str) -> Option<String> {
    refs.iter()
        .find(|(n, _)| n == name)
        .map(|(_, id)| id.clone())
}

/// One pkt-line of git's wire protocol.
pub fn pkt_line(text: &str) -> Vec<u8> {
    format!("{:04x}{text}", text.len() + 4).into_bytes()
}

/// Quarantine directories git left in the objects of the bare repository `repo`.
pub fn quarantines(repo: &Path) -> Vec<String> {
    std::fs::read_dir(repo.join("objects"))
        .expect("objects dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("tmp_objdir") || name.starts_with("incoming"))
        .collect()
}

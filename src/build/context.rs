//! The build context: the pushed commit's tree read straight from git's object store (the
//! quarantine first), plus the template's files under `.lmnop/`, written as an uncompressed tar.
//! Symlinks stay symlinks, submodules are left out, and nothing outside the tree can get in.

use std::io::Write;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::tree::EntryKind;

use crate::git::objects::{ObjectError, PushedObjects};

/// The directory of the context that holds the template's files; a repository may not use it.
pub const TEMPLATE_DIR: &str = ".lmnop";

/// Why the context could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Objects(#[from] ObjectError),
    #[error("cannot write the build context: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the path `{TEMPLATE_DIR}` at the root of the repository is reserved for lmnop; rename it"
    )]
    Reserved,
    #[error("the repository contains an unsafe path {0:?}")]
    UnsafePath(String),
    #[error("cannot read the template files in {path}: {source}")]
    Template {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What went into a context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextSummary {
    pub files: u64,
    pub bytes: u64,
    /// Submodules (gitlinks) that were left out, by path.
    pub submodules: Vec<String>,
}

/// Writes the tar of `tree` (and the template's files) to `out`.
pub fn write_context<W: Write>(
    objects: &PushedObjects,
    tree: ObjectId,
    template_dir: Option<&Path>,
    out: W,
) -> Result<ContextSummary, ContextError> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let mut summary = ContextSummary::default();
    let root = objects.entries(tree)?;
    if root
        .iter()
        .any(|entry| entry.name == TEMPLATE_DIR.as_bytes())
    {
        return Err(ContextError::Reserved);
    }
    add_tree(objects, &mut tar, &mut summary, Vec::new(), tree)?;
    if let Some(dir) = template_dir {
        add_template(&mut tar, &mut summary, dir, Path::new(TEMPLATE_DIR))?;
    }
    tar.into_inner()?.flush()?;
    Ok(summary)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

fn as_path(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
}

fn add_tree<W: Write>(
    objects: &PushedObjects,
    tar: &mut tar::Builder<W>,
    summary: &mut ContextSummary,
    prefix: Vec<u8>,
    tree: ObjectId,
) -> Result<(), ContextError> {
    for named in objects.entries(tree)? {
        // receive.fsckObjects already refuses these; the context never trusts that alone.
        if named.name.is_empty()
            || named.name == b"."
            || named.name == b".."
            || named.name.eq_ignore_ascii_case(b".git")
            || named.name.contains(&b'/')
            || named.name.contains(&0)
        {
            return Err(ContextError::UnsafePath(
                String::from_utf8_lossy(&named.name).into_owned(),
            ));
        }
        let mut path = prefix.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(&named.name);
        match named.entry.mode.kind() {
            EntryKind::Tree => {
                let mut dir = header(tar::EntryType::Directory, 0o755, 0);
                tar.append_data(&mut dir, as_path(&path), std::io::empty())?;
                add_tree(objects, tar, summary, path, named.entry.id)?;
            }
            EntryKind::Blob | EntryKind::BlobExecutable => {
                let content = objects
                    .blob(named.entry.id, usize::MAX)?
                    .unwrap_or_default();
                let mode = if named.entry.mode.kind() == EntryKind::BlobExecutable {
                    0o755
                } else {
                    0o644
                };
                let mut file = header(tar::EntryType::Regular, mode, content.len() as u64);
                tar.append_data(&mut file, as_path(&path), content.as_slice())?;
                summary.files += 1;
                summary.bytes += content.len() as u64;
            }
            EntryKind::Link => {
                // The link's text as git stores it; Docker resolves it inside the context only.
                let target = objects.blob(named.entry.id, 4096)?.unwrap_or_default();
                let mut link = header(tar::EntryType::Symlink, 0o777, 0);
                tar.append_link(&mut link, as_path(&path), as_path(&target))?;
                summary.files += 1;
            }
            EntryKind::Commit => {
                summary
                    .submodules
                    .push(String::from_utf8_lossy(&path).into_owned());
            }
        }
    }
    Ok(())
}

/// Adds the template's directory (trusted: the operator installed it) under `into`.
fn add_template<W: Write>(
    tar: &mut tar::Builder<W>,
    summary: &mut ContextSummary,
    dir: &Path,
    into: &Path,
) -> Result<(), ContextError> {
    let fail = |source| ContextError::Template {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(fail)?
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    let mut folder = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut folder, into, std::io::empty())?;
    for entry in entries {
        let path = entry.path();
        let target = into.join(entry.file_name());
        if path.is_dir() {
            add_template(tar, summary, &path, &target)?;
        } else {
            let content = std::fs::read(&path).map_err(fail)?;
            let executable = {
                use std::os::unix::fs::PermissionsExt;
                entry.metadata().map_err(fail)?.permissions().mode() & 0o111 != 0
            };
            let mode = if executable { 0o755 } else { 0o644 };
            let mut file = header(tar::EntryType::Regular, mode, content.len() as u64);
            tar.append_data(&mut file, &target, content.as_slice())?;
            summary.files += 1;
            summary.bytes += content.len() as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::push::Quarantine;

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
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// A repository with a file, an executable, a directory, a symlink out of the tree and a
    /// submodule; returns (repo, commit).
    fn fixture(dir: &Path) -> (PathBuf, ObjectId) {
        let work = dir.join("work");
        std::fs::create_dir_all(work.join("src")).expect("dirs");
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join("README.md"), "hello\n").expect("write");
        std::fs::write(work.join("src/run.sh"), "#!/bin/sh\necho hi\n").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", work.join("leak")).expect("symlink");
        git(&work, &["add", "-A"]);
        git(&work, &["update-index", "--chmod=+x", "src/run.sh"]);
        let head_like = "1111111111111111111111111111111111111111";
        git(
            &work,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{head_like},vendor/lib"),
            ],
        );
        git(&work, &["commit", "-q", "-m", "fixture"]);
        let commit = git(&work, &["rev-parse", "HEAD"]);
        (
            work.join(".git"),
            ObjectId::from_hex(commit.as_bytes()).expect("hex"),
        )
    }

    fn entries(tar_bytes: &[u8]) -> Vec<(String, tar::EntryType, u32, String)> {
        let mut archive = tar::Archive::new(tar_bytes);
        archive
            .entries()
            .expect("entries")
            .map(|entry| {
                let mut entry = entry.expect("entry");
                let path = entry.path().expect("path").display().to_string();
                let kind = entry.header().entry_type();
                let mode = entry.header().mode().expect("mode");
                let link = entry
                    .link_name()
                    .expect("link")
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                let mut content = String::new();
                std::io::Read::read_to_string(&mut entry, &mut content).expect("read");
                (
                    path,
                    kind,
                    mode,
                    if link.is_empty() { content } else { link },
                )
            })
            .collect()
    }

    #[test]
    fn the_context_is_the_tree_with_symlinks_kept_and_submodules_left_out() {
        let dir = tempfile::tempdir().expect("tmp");
        let (repo, commit) = fixture(dir.path());
        let objects = PushedObjects::open(&repo, &Quarantine::default()).expect("objects");
        let tree = objects.commit_tree(commit).expect("tree");
        let template = dir.path().join("template");
        std::fs::create_dir_all(&template).expect("template dir");
        std::fs::write(template.join("Dockerfile"), "FROM scratch\n").expect("write");

        let mut tar_bytes = Vec::new();
        let summary =
            write_context(&objects, tree, Some(&template), &mut tar_bytes).expect("context");
        assert_eq!(summary.submodules, ["vendor/lib"]);
        let entries = entries(&tar_bytes);
        let find = |name: &str| {
            entries
                .iter()
                .find(|e| e.0.trim_end_matches('/') == name)
                .cloned()
        };

        let readme = find("README.md").expect("README.md");
        assert_eq!(
            (readme.1, readme.2, readme.3.as_str()),
            (tar::EntryType::Regular, 0o644, "hello\n")
        );
        assert_eq!(find("src/run.sh").expect("run.sh").2, 0o755);
        let leak = find("leak").expect("leak");
        assert_eq!(
            (leak.1, leak.3.as_str()),
            (tar::EntryType::Symlink, "/etc/passwd")
        );
        assert!(
            !entries.iter().any(|e| e.3.contains("root:x:0:0")),
            "no host file content"
        );
        assert!(find("vendor/lib").is_none());
        assert!(!entries.iter().any(|e| e.0.starts_with(".git")));
        assert_eq!(
            find(".lmnop/Dockerfile").expect("template").3,
            "FROM scratch\n"
        );
    }

    #[test]
    fn a_repository_may_not_use_the_template_directory() {
        let dir = tempfile::tempdir().expect("tmp");
        let work = dir.path().join("work");
        std::fs::create_dir_all(work.join(TEMPLATE_DIR)).expect("dirs");
        git(&work, &["init", "-q", "-b", "main"]);
        std::fs::write(work.join(TEMPLATE_DIR).join("Dockerfile"), "FROM x\n").expect("write");
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "x"]);
        let commit =
            ObjectId::from_hex(git(&work, &["rev-parse", "HEAD"]).as_bytes()).expect("hex");
        let objects =
            PushedObjects::open(&work.join(".git"), &Quarantine::default()).expect("objects");
        let tree = objects.commit_tree(commit).expect("tree");
        let result = write_context(&objects, tree, None, std::io::sink());
        assert!(matches!(result, Err(ContextError::Reserved)), "{result:?}");
    }
}

//! The build context: the pushed commit's tree read straight from git's object store (the
//! quarantine first), less what its `.dockerignore` leaves out, plus the template's files under
//! `.lmnop/`, written as an uncompressed tar. Symlinks stay symlinks, submodules are left out, and
//! nothing outside the tree can get in.

use std::io::Write;
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::tree::EntryKind;

use super::dockerignore::{self, DockerIgnore};
use crate::git::objects::{NamedEntry, ObjectError, PushedObjects};

/// The directory of the context that holds the template's files; a repository may not use it.
pub const TEMPLATE_DIR: &str = ".lmnop";

/// Why the context could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Objects(#[from] ObjectError),
    #[error("cannot write the build context: {0}")]
    Io(std::io::Error),
    #[error(
        "the path `{TEMPLATE_DIR}` at the root of the repository is reserved for lmnop; rename it"
    )]
    Reserved,
    #[error("the repository contains an unsafe path {0:?}")]
    UnsafePath(String),
    #[error("cannot read the template files in {path}: {error}")]
    Template {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "`{}` must be a file of at most {} KiB at the root of the repository",
        dockerignore::FILE_NAME,
        dockerignore::MAX_SIZE / 1024
    )]
    DockerIgnore,
}

impl From<std::io::Error> for ContextError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// What goes into a context besides the pushed tree.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContextParts<'a> {
    /// The template's directory (trusted: the operator installed it), added under `.lmnop/`.
    pub template_dir: Option<&'a Path>,
    /// Files lmnop generates, added under `.lmnop/`.
    pub extra: &'a [(&'a str, &'a [u8])],
    /// The Dockerfile's path in the context. Like the Docker CLI, it and `.dockerignore` are sent
    /// even when `.dockerignore` lists them: the engine reads them, `COPY` never sees them.
    pub dockerfile: &'a str,
}

/// What went into a context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextSummary {
    pub files: u64,
    pub bytes: u64,
    /// Submodules (gitlinks) that were left out, by path.
    pub submodules: Vec<String>,
    /// Entries that `.dockerignore` left out (a directory left out unread counts once).
    pub ignored: u64,
}

/// Writes the tar of `tree`, less what its `.dockerignore` leaves out, and of `parts` to `out`.
pub fn write_context<W: Write>(
    objects: &PushedObjects,
    tree: ObjectId,
    parts: ContextParts<'_>,
    out: W,
) -> Result<ContextSummary, ContextError> {
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    let root = objects.entries(tree)?;
    if root
        .iter()
        .any(|entry| entry.name == TEMPLATE_DIR.as_bytes())
    {
        return Err(ContextError::Reserved);
    }
    let mut walk = Walk {
        objects,
        tar: &mut tar,
        summary: ContextSummary::default(),
        ignore: read_dockerignore(objects, &root)?,
        always: [
            dockerignore::FILE_NAME.as_bytes(),
            parts.dockerfile.as_bytes(),
        ],
    };
    walk.add_tree(Vec::new(), root)?;
    let mut summary = walk.summary;
    if let Some(dir) = parts.template_dir {
        add_template(&mut tar, &mut summary, dir, Path::new(TEMPLATE_DIR))?;
    }
    for (name, content) in parts.extra {
        let mut file = header(tar::EntryType::Regular, 0o644, content.len() as u64);
        tar.append_data(&mut file, Path::new(TEMPLATE_DIR).join(name), *content)?;
    }
    tar.into_inner()?.flush()?;
    Ok(summary)
}

/// The rules of the root's `.dockerignore`; none when there is no such file.
fn read_dockerignore(
    objects: &PushedObjects,
    root: &[NamedEntry],
) -> Result<DockerIgnore, ContextError> {
    let Some(entry) = root
        .iter()
        .find(|entry| entry.name == dockerignore::FILE_NAME.as_bytes())
    else {
        return Ok(DockerIgnore::default());
    };
    if !matches!(
        entry.entry.mode.kind(),
        EntryKind::Blob | EntryKind::BlobExecutable
    ) {
        return Err(ContextError::DockerIgnore);
    }
    let text = objects
        .blob(entry.entry.id, dockerignore::MAX_SIZE)?
        .ok_or(ContextError::DockerIgnore)?;
    Ok(DockerIgnore::parse(&text))
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

/// One walk of the pushed tree into the tar.
struct Walk<'a, W: Write> {
    objects: &'a PushedObjects,
    tar: &'a mut tar::Builder<W>,
    summary: ContextSummary,
    ignore: DockerIgnore,
    /// Paths sent whatever `.dockerignore` says.
    always: [&'a [u8]; 2],
}

impl<W: Write> Walk<'_, W> {
    fn add_tree(&mut self, prefix: Vec<u8>, entries: Vec<NamedEntry>) -> Result<(), ContextError> {
        for named in entries {
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
            let kind = named.entry.mode.kind();
            let ignored = self.ignore.excludes(&path) && !self.always.contains(&path.as_slice());
            if ignored {
                self.summary.ignored += 1;
                // An exception may bring back something inside; without one the whole
                // directory stays out unread.
                if kind != EntryKind::Tree || !self.ignore.has_exceptions() {
                    continue;
                }
            }
            match kind {
                EntryKind::Tree => {
                    if !ignored {
                        let mut dir = header(tar::EntryType::Directory, 0o755, 0);
                        self.tar
                            .append_data(&mut dir, as_path(&path), std::io::empty())?;
                    }
                    let entries = self.objects.entries(named.entry.id)?;
                    self.add_tree(path, entries)?;
                }
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    let content = self
                        .objects
                        .blob(named.entry.id, usize::MAX)?
                        .unwrap_or_default();
                    let mode = if kind == EntryKind::BlobExecutable {
                        0o755
                    } else {
                        0o644
                    };
                    let mut file = header(tar::EntryType::Regular, mode, content.len() as u64);
                    self.tar
                        .append_data(&mut file, as_path(&path), content.as_slice())?;
                    self.summary.files += 1;
                    self.summary.bytes += content.len() as u64;
                }
                EntryKind::Link => {
                    // The link's text as git stores it; Docker resolves it inside the context
                    // only.
                    let target = self.objects.blob(named.entry.id, 4096)?.unwrap_or_default();
                    let mut link = header(tar::EntryType::Symlink, 0o777, 0);
                    self.tar
                        .append_link(&mut link, as_path(&path), as_path(&target))?;
                    self.summary.files += 1;
                }
                EntryKind::Commit => {
                    self.summary
                        .submodules
                        .push(String::from_utf8_lossy(&path).into_owned());
                }
            }
        }
        Ok(())
    }
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
        error: source,
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
    use super::*;
    use crate::git::fixture::{commit_all, git};
    use crate::git::receive::Quarantine;

    /// The objects of the work tree `work` and the root tree of its HEAD.
    fn objects_and_tree(work: &Path, commit: ObjectId) -> (PushedObjects, ObjectId) {
        let objects =
            PushedObjects::open(&work.join(".git"), &Quarantine::default()).expect("objects");
        let tree = objects.commit_tree(commit).expect("tree");
        (objects, tree)
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
        let parts = ContextParts {
            template_dir: Some(&template),
            extra: &[("ca-certificates.crt", b"")],
            dockerfile: ".lmnop/Dockerfile",
        };
        let summary = write_context(&objects, tree, parts, &mut tar_bytes).expect("context");
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
        let (objects, tree) = objects_and_tree(&work, commit_all(&work, "x"));
        let result = write_context(&objects, tree, ContextParts::default(), std::io::sink());
        assert!(matches!(result, Err(ContextError::Reserved)), "{result:?}");
    }

    #[test]
    fn dockerignore_leaves_paths_out_but_never_the_dockerfile() {
        let dir = tempfile::tempdir().expect("tmp");
        let work = dir.path().join("work");
        for path in [
            "secrets",
            "logs",
            "src",
            "node_modules/keep",
            "node_modules/drop",
        ] {
            std::fs::create_dir_all(work.join(path)).expect("dirs");
        }
        git(&work, &["init", "-q", "-b", "main"]);
        let files = [
            (
                ".dockerignore",
                "# not for the image\nsecrets\n*.log\n!keep.log\nnode_modules\n!node_modules/keep\nDockerfile\n.dockerignore\n",
            ),
            ("Dockerfile", "FROM scratch\n"),
            ("secrets/key", "hunter2\n"),
            ("x.log", "log\n"),
            ("keep.log", "kept\n"),
            ("logs/y.log", "nested: not matched by *.log\n"),
            ("src/app.py", "print(1)\n"),
            ("node_modules/keep/a.js", "a\n"),
            ("node_modules/drop/b.js", "b\n"),
        ];
        for (path, content) in files {
            std::fs::write(work.join(path), content).expect("write");
        }
        let (objects, tree) = objects_and_tree(&work, commit_all(&work, "x"));
        let parts = ContextParts {
            dockerfile: "Dockerfile",
            ..ContextParts::default()
        };
        let mut tar_bytes = Vec::new();
        let summary = write_context(&objects, tree, parts, &mut tar_bytes).expect("context");
        let mut paths: Vec<String> = entries(&tar_bytes)
            .into_iter()
            .filter(|entry| entry.1 != tar::EntryType::Directory)
            .map(|entry| entry.0)
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "logs/y.log",
                "node_modules/keep/a.js",
                "src/app.py"
            ]
        );
        assert!(
            !entries(&tar_bytes)
                .iter()
                .any(|e| e.0.starts_with("secrets")),
            "an ignored directory is left out whole"
        );
        // With an exception in the file, ignored directories are walked and each entry in them
        // counts: secrets/ and its key, x.log, node_modules/, node_modules/drop/ and b.js.
        assert_eq!(summary.ignored, 6);
    }

    #[test]
    fn an_oversized_or_symlinked_dockerignore_is_refused() {
        for symlink in [false, true] {
            let dir = tempfile::tempdir().expect("tmp");
            let work = dir.path().join("work");
            std::fs::create_dir_all(&work).expect("dirs");
            git(&work, &["init", "-q", "-b", "main"]);
            if symlink {
                std::os::unix::fs::symlink("/etc/passwd", work.join(".dockerignore"))
                    .expect("symlink");
            } else {
                let big = "x\n".repeat(dockerignore::MAX_SIZE);
                std::fs::write(work.join(".dockerignore"), big).expect("write");
            }
            let (objects, tree) = objects_and_tree(&work, commit_all(&work, "x"));
            let result = write_context(&objects, tree, ContextParts::default(), std::io::sink());
            assert!(
                matches!(result, Err(ContextError::DockerIgnore)),
                "symlink {symlink}: {result:?}"
            );
        }
    }
}

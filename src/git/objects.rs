//! Reading the objects of a push with gix: first git's quarantine (what this push brought, not yet
//! accepted), then the repository itself. Blocking: call from `spawn_blocking`.

use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::{CommitRefIter, Find, Kind, TreeRefIter};

use super::receive::Quarantine;

/// Why objects could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("cannot open the object database at {path}: {error}")]
    Open {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the quarantine {0} is not inside the repository")]
    ForeignQuarantine(PathBuf),
    #[error("object {0} is missing")]
    Missing(ObjectId),
    #[error("object {id} is a {actual}, not a {expected}")]
    WrongKind {
        id: ObjectId,
        expected: Kind,
        actual: Kind,
    },
    #[error("object {id} cannot be read: {message}")]
    Corrupt { id: ObjectId, message: String },
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub mode: gix::objs::tree::EntryMode,
    pub id: ObjectId,
}

/// An entry with its file name (bytes: git names need not be UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedEntry {
    pub name: Vec<u8>,
    pub entry: Entry,
}

/// The objects a pre-receive hook can see.
pub struct PushedObjects {
    quarantine: Option<gix::odb::Handle>,
    main: gix::odb::Handle,
}

impl PushedObjects {
    /// Opens the repository's objects and, when given, the push's quarantine, which must lie
    /// inside the repository's object directory.
    pub fn open(repo: &Path, quarantine: &Quarantine) -> Result<Self, ObjectError> {
        let objects = repo.join("objects");
        let open = |path: &Path| {
            gix::odb::at(path).map_err(|source| ObjectError::Open {
                path: path.to_owned(),
                error: source,
            })
        };
        let quarantine = match quarantine.object_directory() {
            None => None,
            Some(path) => {
                let real = path.canonicalize().map_err(|source| ObjectError::Open {
                    path: path.clone(),
                    error: source,
                })?;
                let root = objects.canonicalize().map_err(|source| ObjectError::Open {
                    path: objects.clone(),
                    error: source,
                })?;
                if !real.starts_with(&root) {
                    return Err(ObjectError::ForeignQuarantine(path));
                }
                Some(open(&real)?)
            }
        };
        Ok(Self {
            quarantine,
            main: open(&objects)?,
        })
    }

    /// Reads an object of the expected kind into `buffer`.
    fn read<'a>(
        &self,
        id: ObjectId,
        expected: Kind,
        buffer: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], ObjectError> {
        let corrupt = |error: gix::objs::find::Error| ObjectError::Corrupt {
            id,
            message: error.to_string(),
        };
        let mut found = None;
        if let Some(quarantine) = &self.quarantine {
            if let Some(data) = quarantine.try_find(&id, buffer).map_err(corrupt)? {
                found = Some(data.kind);
            }
        }
        if found.is_none() {
            found = self
                .main
                .try_find(&id, buffer)
                .map_err(corrupt)?
                .map(|data| data.kind);
        }
        match found {
            None => Err(ObjectError::Missing(id)),
            Some(kind) if kind != expected => Err(ObjectError::WrongKind {
                id,
                expected,
                actual: kind,
            }),
            Some(_) => Ok(buffer.as_slice()),
        }
    }

    /// The root tree of a commit.
    pub fn commit_tree(&self, commit: ObjectId) -> Result<ObjectId, ObjectError> {
        let mut buffer = Vec::new();
        let data = self.read(commit, Kind::Commit, &mut buffer)?;
        CommitRefIter::from_bytes(data)
            .tree_id()
            .map_err(|error| ObjectError::Corrupt {
                id: commit,
                message: error.to_string(),
            })
    }

    /// The entry called `name` directly inside `tree`.
    pub fn entry(&self, tree: ObjectId, name: &str) -> Result<Option<Entry>, ObjectError> {
        let mut buffer = Vec::new();
        let data = self.read(tree, Kind::Tree, &mut buffer)?;
        for entry in TreeRefIter::from_bytes(data) {
            let entry = entry.map_err(|error| ObjectError::Corrupt {
                id: tree,
                message: error.to_string(),
            })?;
            if entry.filename == name.as_bytes() {
                return Ok(Some(Entry {
                    mode: entry.mode,
                    id: entry.oid.to_owned(),
                }));
            }
        }
        Ok(None)
    }

    /// Every entry of `tree`, in git's order.
    pub fn entries(&self, tree: ObjectId) -> Result<Vec<NamedEntry>, ObjectError> {
        let mut buffer = Vec::new();
        let data = self.read(tree, Kind::Tree, &mut buffer)?;
        TreeRefIter::from_bytes(data)
            .map(|entry| {
                let entry = entry.map_err(|error| ObjectError::Corrupt {
                    id: tree,
                    message: error.to_string(),
                })?;
                Ok(NamedEntry {
                    name: entry.filename.to_vec(),
                    entry: Entry {
                        mode: entry.mode,
                        id: entry.oid.to_owned(),
                    },
                })
            })
            .collect()
    }

    /// A blob's content, or `None` when it is larger than `limit` bytes.
    pub fn blob(&self, id: ObjectId, limit: usize) -> Result<Option<Vec<u8>>, ObjectError> {
        let mut buffer = Vec::new();
        let len = self.read(id, Kind::Blob, &mut buffer)?.len();
        // The buffer is the content: hand it over rather than copy it (a build context holds
        // one blob at a time, so its peak memory is the largest file, not twice that).
        buffer.truncate(len);
        Ok((len <= limit).then_some(buffer))
    }
}

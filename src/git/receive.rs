//! What a push is, as git's receive side hands it on: the ref updates, git's quarantine, who
//! pushed to which repository, and the verdict that accepts or rejects them all at once. The
//! handler that decides is given to the hook server ([`PushHandler`]); git itself knows no
//! pipeline.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use super::output::Output;
use crate::db::users::User;
use crate::domain::FunctionName;

/// A ref update as git gives it to the pre-receive hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

impl RefUpdate {
    pub fn is_delete(&self) -> bool {
        self.new.bytes().all(|b| b == b'0')
    }

    pub fn is_create(&self) -> bool {
        self.old.bytes().all(|b| b == b'0')
    }

    pub fn short_new(&self) -> &str {
        short_id(&self.new)
    }
}

/// The first seven characters of an object id, as git abbreviates them (the whole text when
/// shorter, so it never panics).
pub fn short_id(id: &str) -> &str {
    id.get(..7).unwrap_or(id)
}

/// Git's quarantine variables, where the objects of a push wait until it is accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantine {
    pub object_directory: Option<String>,
    pub alternate_object_directories: Option<String>,
    pub quarantine_path: Option<String>,
}

impl Quarantine {
    /// The directory holding the push's new objects.
    pub fn object_directory(&self) -> Option<PathBuf> {
        self.object_directory
            .as_deref()
            .or(self.quarantine_path.as_deref())
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    }
}

/// One push, as the git side knows it.
#[derive(Debug, Clone)]
pub struct Push {
    pub function: FunctionName,
    pub repo: PathBuf,
    pub user: User,
}

/// Whether git may update the refs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject,
}

/// Decides a push: given its ref updates (objects still in quarantine) and the pusher's output
/// channel, says whether git may update the refs.
pub trait PushHandler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        push: &'a Push,
        updates: &'a [RefUpdate],
        quarantine: &'a Quarantine,
        out: &'a Output,
    ) -> Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

    /// git's `reference-transaction` hook, run for each ref transaction after pre-receive
    /// accepted: `state` is `prepared` (the refs are locked; a Reject makes git abandon the
    /// update), `committed` or `aborted`.
    fn transaction<'a>(
        &'a self,
        push: &'a Push,
        state: &'a str,
        updates: &'a [RefUpdate],
    ) -> Pin<Box<dyn Future<Output = Verdict> + Send + 'a>>;

    /// git's `post-receive` hook: the refs are updated; what to tell the pusher.
    fn post_receive<'a>(
        &'a self,
        push: &'a Push,
        out: &'a Output,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

    /// git has exited, however it went: the refs are what they will stay. A push refused in
    /// `prepared` is returned: git dies there without telling the pusher anything, so lmnop
    /// closes git's report with it.
    fn settle<'a>(
        &'a self,
        push: &'a Push,
    ) -> Pin<Box<dyn Future<Output = Option<Refusal>> + Send + 'a>>;
}

/// A ref update lmnop refused after git had locked it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub ref_name: String,
    pub reason: String,
}

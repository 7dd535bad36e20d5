//! The push pipeline: what happens between git receiving a pack and git updating refs. The
//! pre-receive hook hands each push here; the verdict accepts or rejects all its refs at once.

mod deploy;
mod output;
mod stale;
mod validate;

pub use deploy::urls;

use std::path::PathBuf;

pub use output::{Output, Step, format_duration};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
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

    fn short_new(&self) -> &str {
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

/// The file at the root of the deploy branch that says how to build the function.
pub const FUNCTION_FILE: &str = "function.yml";

/// Runs the pipeline for one push and says whether to accept it.
pub async fn run(
    state: &AppState,
    push: &Push,
    updates: &[RefUpdate],
    quarantine: &Quarantine,
    out: &Output,
) -> Verdict {
    let deploy_ref = format!("refs/heads/{}", state.config.deploy_branch);
    out.note(&format!(
        "lmnop: {} pushed by {}",
        push.function, push.user.name
    ))
    .await;
    if !stale::check(push, updates, out).await {
        return Verdict::Reject;
    }
    let mut deploy = None;
    for update in updates {
        if !(update.name.starts_with("refs/heads/") || update.name.starts_with("refs/tags/")) {
            out.error(&format!(
                "{} is not a branch or a tag; lmnop stores only refs/heads/* and refs/tags/*",
                update.name
            ))
            .await;
            return Verdict::Reject;
        }
        if update.name == deploy_ref {
            if update.is_delete() {
                out.error(&format!(
                    "refusing to delete {}: it is the deploy branch of {}",
                    state.config.deploy_branch, push.function
                ))
                .await;
                out.hint("delete the function from the portal to remove it")
                    .await;
                return Verdict::Reject;
            }
            deploy = Some(update);
        } else {
            describe_stored(update, &state.config.deploy_branch, out).await;
        }
    }
    let Some(update) = deploy else {
        return record_function(state, push, out).await;
    };
    // A deploy records the function (and its release) itself, accepted or not.
    deploy_branch_push(state, push, update, quarantine, out).await
}

/// Records the function of a push that stored refs without deploying (its first push may be
/// of another branch), so its owner can reach the repository.
async fn record_function(state: &AppState, push: &Push, out: &Output) -> Verdict {
    match crate::db::functions::ensure(&state.db, push.function.as_str(), push.user.id).await {
        Ok(_) => Verdict::Accept,
        Err(error) => {
            tracing::error!(%error, function = %push.function, "cannot record the function");
            out.error("lmnop could not record the function; the server log has the details")
                .await;
            Verdict::Reject
        }
    }
}

async fn describe_stored(update: &RefUpdate, deploy_branch: &str, out: &Output) {
    let (kind, name) = match update.name.strip_prefix("refs/heads/") {
        Some(branch) => ("branch", branch),
        None => ("tag", update.name.trim_start_matches("refs/tags/")),
    };
    let what = if update.is_delete() {
        format!("{kind} {name} deleted")
    } else {
        format!("{kind} {name} stored at {}", update.short_new())
    };
    if kind == "branch" {
        out.note(&format!("{what} (only {deploy_branch} deploys)"))
            .await;
    } else {
        out.note(&what).await;
    }
}

/// A push to the deploy branch: check it, then build and deploy. Builds plug in here.
async fn deploy_branch_push(
    state: &AppState,
    push: &Push,
    update: &RefUpdate,
    quarantine: &Quarantine,
    out: &Output,
) -> Verdict {
    let secrets = state.secrets();
    let Some((tree, spec)) = validate::validate(
        push.repo.clone(),
        update,
        quarantine,
        &state.templates,
        &secrets,
        out,
    )
    .await
    else {
        return Verdict::Reject;
    };
    if deploy::release(state, push, update, quarantine, tree, spec, out).await {
        Verdict::Accept
    } else {
        Verdict::Reject
    }
}

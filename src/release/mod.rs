//! Releases: what happens between git receiving a pack and git updating refs (stale check,
//! validation, build, publish, deploy through the runtime seam, record), and every later change
//! to what runs (scale, delete, the reconciler) through the same seam and push lock.
//! [`Releaser`] is the hook server's push handler; the verdict accepts or rejects all of a
//! push's refs at once.

mod deploy;
pub mod error;
mod manage;
pub mod reconcile;
mod rollback;
mod stale;
pub mod switch;
mod validate;
pub mod watch;

pub use crate::git::output::{Output, Step, format_duration};
pub use crate::git::receive::{Push, Quarantine, RefUpdate, Verdict, short_id};
pub use error::ReleaseError;
pub use manage::ChangeError;
pub use rollback::RollbackError;

use std::sync::Arc;

use crate::build::builder::Builder;
use crate::build::templates::Templates;
use crate::config::{BuildArgs, CaCertificates, RegistryConfig};
use crate::db::Db;
use crate::git::locks::RepoLocks;
use crate::git::repos::Repos;
use crate::router::FunctionUrls;
use crate::runtime::Runtime;
use crate::secrets::SecretStore;

/// The push pipeline with what it uses, built once by the composition root; it is the hook
/// server's push handler.
#[derive(Debug, Clone)]
pub struct Releaser {
    pub db: Db,
    pub templates: Arc<Templates>,
    /// What builds and publishes images.
    pub builder: Arc<Builder>,
    pub runtime: Arc<Runtime>,
    pub secrets: SecretStore,
    /// One push, scale or delete at a time per function (git's receive takes the same lock).
    pub push_locks: Arc<RepoLocks>,
    /// The repositories, removed with their function.
    pub repos: Arc<Repos>,
    /// This installation's id, on every container it runs.
    pub instance: String,
    pub config: Arc<ReleaseConfig>,
    /// Deploy pushes whose release waits for git to update the branch.
    pub pending: Arc<switch::PendingPushes>,
}

/// The settings a release reads.
#[derive(Debug, Clone)]
pub struct ReleaseConfig {
    /// The branch whose pushes deploy.
    pub deploy_branch: String,
    /// Where images are pushed, when anywhere.
    pub registry: Option<RegistryConfig>,
    /// Operator build options.
    pub build_args: BuildArgs,
    /// Extra CA certificates handed to builds.
    pub build_ca: Option<CaCertificates>,
    /// What the push prints as the function's addresses.
    pub urls: FunctionUrls,
    /// Names a new function may not take.
    pub reserved: std::collections::BTreeSet<String>,
}

/// The file at the root of the deploy branch that says how to build the function.
pub const FUNCTION_FILE: &str = "function.yml";

impl crate::git::receive::PushHandler for Releaser {
    fn handle<'a>(
        &'a self,
        push: &'a Push,
        updates: &'a [RefUpdate],
        quarantine: &'a Quarantine,
        out: &'a Output,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>> {
        Box::pin(run(self, push, updates, quarantine, out))
    }

    fn transaction<'a>(
        &'a self,
        push: &'a Push,
        state: &'a str,
        updates: &'a [RefUpdate],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send + 'a>> {
        Box::pin(async move {
            let Some(state) = switch::TransactionState::parse(state) else {
                tracing::warn!(state, "unknown reference-transaction state");
                return Verdict::Accept;
            };
            if self.pending.transaction(self, push, state, updates).await {
                Verdict::Accept
            } else {
                Verdict::Reject
            }
        })
    }

    fn post_receive<'a>(
        &'a self,
        push: &'a Push,
        out: &'a Output,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move { self.pending.report(self, push, out) })
    }

    fn settle<'a>(
        &'a self,
        push: &'a Push,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Option<crate::git::receive::Refusal>> + Send + 'a>,
    > {
        Box::pin(async move {
            let refusal = self.pending.settle(self, push).await;
            forget_if_gone(self, push).await;
            refusal
        })
    }
}

/// Runs the pipeline for one push and says whether to accept it.
pub async fn run(
    state: &Releaser,
    push: &Push,
    updates: &[RefUpdate],
    quarantine: &Quarantine,
    out: &Output,
) -> Verdict {
    let deploy_ref = format!("refs/heads/{}", state.config.deploy_branch);
    out.note(&format!(
        "lmnop: {} pushed by {}",
        push.function, push.user.name
    ));
    if !stale::check(push, updates, out).await {
        return Verdict::Reject;
    }
    if !name_is_free_to_take(state, push, out).await {
        return Verdict::Reject;
    }
    let mut deploy = None;
    let mut stored = Vec::new();
    for update in updates {
        if !(update.name.starts_with("refs/heads/") || update.name.starts_with("refs/tags/")) {
            out.error(&format!(
                "{} is not a branch or a tag; lmnop stores only refs/heads/* and refs/tags/*",
                update.name
            ));
            return Verdict::Reject;
        }
        if update.name == deploy_ref {
            if update.is_delete() {
                out.error(&format!(
                    "refusing to delete {}: it is the deploy branch of {}",
                    state.config.deploy_branch, push.function
                ));
                out.hint("delete the function from the portal to remove it");
                return Verdict::Reject;
            }
            deploy = Some(update);
        } else {
            stored.push(update);
        }
    }
    let verdict = match deploy {
        None => record_function(state, push, out).await,
        // A deploy records the function (and its release) itself, accepted or not.
        Some(update) => deploy_branch_push(state, push, update, quarantine, out).await,
    };
    // The other refs are stored only with the deploy: said once the verdict is known.
    if verdict == Verdict::Accept {
        for update in stored {
            describe_stored(update, &state.config.deploy_branch, out).await;
        }
    } else {
        log_refused(push, out);
    }
    verdict
}

/// One line in the server log for every refused push, with what the pusher was told.
fn log_refused(push: &Push, out: &Output) {
    let log = out.log();
    let reason = log
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("error: "))
        .next_back()
        .unwrap_or("refused");
    tracing::info!(function = %push.function, pusher = push.user.name, outcome = "refused", reason, "push settled");
}

/// A refused first push leaves no trace: once its repository is gone (git stored no ref), the
/// function it recorded goes too, and the name is free again.
async fn forget_if_gone(state: &Releaser, push: &Push) {
    if push.repo.exists() {
        return;
    }
    match crate::db::functions::delete_if_never_deployed(&state.db, push.function.as_str()).await {
        Ok(true) => {
            tracing::info!(function = %push.function, "forgot the function of a refused first push")
        }
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(%error, function = %push.function, "cannot forget the function of a refused first push")
        }
    }
}

/// Refuses the first push to a reserved name; a function that already has one keeps it.
async fn name_is_free_to_take(state: &Releaser, push: &Push, out: &Output) -> bool {
    let name = push.function.as_str();
    if !state.config.reserved.contains(name) {
        return true;
    }
    match crate::db::functions::find(&state.db, name).await {
        Ok(Some(_)) => true,
        Ok(None) => {
            out.error(&format!(
                "{name} is a reserved name: it would answer for lmnop itself at {name}.<apps \
                 domain>, or be mistaken for it"
            ));
            out.hint(&format!(
                "push to another name; reserved: {}",
                state
                    .config
                    .reserved
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            false
        }
        Err(error) => {
            tracing::error!(%error, function = name, "cannot look up the function");
            out.error("lmnop could not look up the function; the server log has the details");
            false
        }
    }
}

/// Records the function of a push that stored refs without deploying (its first push may be
/// of another branch), so its owner can reach the repository.
async fn record_function(state: &Releaser, push: &Push, out: &Output) -> Verdict {
    match crate::db::functions::ensure(&state.db, push.function.as_str(), push.user.id).await {
        Ok(_) => Verdict::Accept,
        Err(error) => {
            tracing::error!(%error, function = %push.function, "cannot record the function");
            out.error("lmnop could not record the function; the server log has the details");
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
        out.note(&format!("{what} (only {deploy_branch} deploys)"));
    } else {
        out.note(&what);
    }
}

/// The stored secrets this push's function may use: those its owner may use (the pusher, for a
/// function this push creates or one whose owner is gone).
async fn usable_secrets(
    state: &Releaser,
    push: &Push,
) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let function = crate::db::functions::find(&state.db, push.function.as_str()).await?;
    let owner = match function.and_then(|function| function.owner_id) {
        Some(id) => crate::db::users::find_by_id(&state.db, id)
            .await?
            .unwrap_or_else(|| push.user.clone()),
        None => push.user.clone(),
    };
    let stored = state.secrets.list()?;
    Ok(crate::db::secrets::usable_by(&state.db, &owner, &stored).await?)
}

/// A push to the deploy branch: check it, then build and deploy. Builds plug in here.
async fn deploy_branch_push(
    state: &Releaser,
    push: &Push,
    update: &RefUpdate,
    quarantine: &Quarantine,
    out: &Output,
) -> Verdict {
    let usable = match usable_secrets(state, push).await {
        Ok(usable) => usable,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), function = %push.function, "cannot read who may use which secret");
            out.error("lmnop could not read the secrets' owners; the server log has the details");
            return Verdict::Reject;
        }
    };
    let Some(validated) = validate::validate(
        push.repo.clone(),
        update,
        quarantine,
        &state.templates,
        &usable,
        out,
    )
    .await
    else {
        return Verdict::Reject;
    };
    match state
        .runtime
        .admits(push.function.as_str(), &validated.spec)
        .await
    {
        Ok(notes) => {
            for note in notes {
                out.note(&note);
            }
        }
        Err(reason) => {
            out.error(&reason);
            out.hint("nothing was built; the previous release, if any, keeps serving");
            return Verdict::Reject;
        }
    }
    if deploy::release(state, push, update, quarantine, validated, out).await {
        Verdict::Accept
    } else {
        Verdict::Reject
    }
}

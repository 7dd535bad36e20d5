//! A deploy's last steps, tied to git's update of the branch so that the branch, the recorded
//! current release and the serving release never disagree. The pre-receive hook leaves the new
//! release staged (answering, no traffic); then, in git's `reference-transaction` hook:
//!
//! - `prepared` (git holds the branch's lock and can still refuse): the release is recorded
//!   current, then traffic moves to it. If the record fails, nothing moves and the hook refuses
//!   the update, so git leaves the branch where it was.
//! - `committed`: the old release finishes its requests and goes; `post-receive` then prints
//!   `success:`.
//! - `aborted` (git could not update the branch after all): traffic goes back, the record is
//!   put back and the release closed as failed.
//!
//! Whatever the hooks did or did not get to, once git has exited the branch itself decides:
//! [`PendingPushes::settle`] commits a switch whose commit the branch holds and undoes anything
//! else. A record that cannot be written is retried until the database answers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{Output, Push, Releaser};
use crate::db::releases::{self, Outcome, Release, ReleaseStatus};
use crate::git::receive::Refusal;
use crate::runtime::{Staged, Switched};

/// How often a record the database refused is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Deploy pushes between their pre-receive and the end of git's ref update, by function (the
/// push lock allows one per function).
#[derive(Debug, Default)]
pub struct PendingPushes {
    by_function: Mutex<HashMap<String, Pending>>,
}

/// A staged release waiting for git to update its branch.
#[derive(Debug)]
pub struct Pending {
    pub release: Release,
    /// The ref that deploys, and the commit it is to point at.
    pub ref_name: String,
    pub commit: String,
    /// The function's current release before this push.
    pub previous: Option<i64>,
    /// What is recorded with the release when it is made current.
    pub timings: String,
    pub build_log: String,
    pub stage: Stage,
}

#[derive(Debug)]
pub enum Stage {
    Staged(Staged),
    Switched(Switched),
    /// Serving, and the branch holds its commit.
    Live,
    /// Refused at `prepared` or undone; the reason was recorded.
    Refused(String),
}

/// Where git's transaction is, as its `reference-transaction` hook is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    Prepared,
    Committed,
    Aborted,
}

impl TransactionState {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "prepared" => Some(Self::Prepared),
            "committed" => Some(Self::Committed),
            "aborted" => Some(Self::Aborted),
            _ => None,
        }
    }
}

impl PendingPushes {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.by_function
            .lock()
            .expect("the pending pushes are never poisoned")
    }

    pub fn insert(&self, function: &str, pending: Pending) {
        if let Some(earlier) = self.lock().insert(function.to_owned(), pending) {
            tracing::error!(
                function,
                release = earlier.release.number,
                "a pending release was replaced before git settled it"
            );
        }
    }

    fn take(&self, function: &str) -> Option<Pending> {
        self.lock().remove(function)
    }

    fn put_back(&self, function: &str, pending: Pending) {
        self.lock().insert(function.to_owned(), pending);
    }

    /// One step of git's transaction over `updates` (`old new ref` each). False refuses it
    /// (only `prepared` can).
    pub async fn transaction(
        &self,
        state: &Releaser,
        push: &Push,
        transaction: TransactionState,
        updates: &[super::RefUpdate],
    ) -> bool {
        let function = push.function.as_str();
        let Some(mut pending) = self.take(function) else {
            return true;
        };
        let ours = updates
            .iter()
            .any(|update| update.name == pending.ref_name && update.new == pending.commit);
        if !ours {
            self.put_back(function, pending);
            return true;
        }
        let stage = std::mem::replace(&mut pending.stage, Stage::Live);
        let accepted = match (transaction, stage) {
            (TransactionState::Prepared, Stage::Staged(staged)) => {
                match record_current(state, &pending).await {
                    Ok(()) => match state.runtime.switch(staged).await {
                        Ok(switched) => {
                            pending.stage = Stage::Switched(switched);
                            true
                        }
                        // The runtime has put the previous release back; so does the record.
                        Err(error) => {
                            let reason = format!(
                                "v{} could not be switched to, so the previous release serves \
                                 again: {error}",
                                pending.release.number
                            );
                            tracing::error!(function, release = pending.release.number, %error, "refusing the branch update: the switch failed");
                            put_back_current(state, &pending, &reason);
                            pending.stage = Stage::Refused(reason);
                            false
                        }
                    },
                    Err(error) => {
                        let reason = format!(
                            "lmnop could not record v{} as current, so traffic stayed on the \
                             previous release: {error}",
                            pending.release.number
                        );
                        tracing::error!(function, release = pending.release.number, %error, "refusing the branch update: cannot record the release");
                        state.runtime.discard(staged).await;
                        close_failed(state, &pending, &reason);
                        pending.stage = Stage::Refused(reason);
                        false
                    }
                }
            }
            (TransactionState::Committed, Stage::Switched(switched)) => {
                state.runtime.commit(switched).await;
                pending.stage = Stage::Live;
                true
            }
            (TransactionState::Aborted, stage) => {
                let reason = format!(
                    "git did not update {}; the previous release keeps serving",
                    pending.ref_name
                );
                pending.stage = undo(state, &pending, stage, &reason).await;
                true
            }
            (_, stage) => {
                pending.stage = stage;
                true
            }
        };
        self.put_back(function, pending);
        accepted
    }

    /// `post-receive`: git has updated the refs; says the release is live.
    pub fn report(&self, state: &Releaser, push: &Push, out: &Output) {
        let lock = self.lock();
        let Some(pending) = lock.get(push.function.as_str()) else {
            return;
        };
        match &pending.stage {
            Stage::Live => {
                out.success(&format!(
                    "{} v{} is live",
                    push.function, pending.release.number
                ));
                for url in state.config.urls.of(push.function.as_str()) {
                    out.detail(&url);
                }
            }
            Stage::Refused(reason) => out.error(reason),
            Stage::Staged(_) | Stage::Switched(_) => {}
        }
    }

    /// After git has exited: the branch decides. A switch whose commit the branch holds stands;
    /// anything else is undone and the release closed as failed.
    /// A refused push is returned, for the pusher.
    pub async fn settle(&self, state: &Releaser, push: &Push) -> Option<Refusal> {
        let function = push.function.as_str();
        let mut pending = self.take(function)?;
        let holds = branch_holds(push, &pending.ref_name, &pending.commit).await;
        let stage = std::mem::replace(&mut pending.stage, Stage::Live);
        let outcome = match stage {
            Stage::Live => Ok("live"),
            Stage::Refused(reason) => Err(reason),
            Stage::Switched(switched) if holds => {
                state.runtime.commit(switched).await;
                Ok("live")
            }
            // git moved the branch without running the reference-transaction hook (a git older
            // than 2.28): the release follows the branch, late.
            Stage::Staged(staged) if holds => match record_current(state, &pending).await {
                Ok(()) => match state.runtime.switch(staged).await {
                    Ok(switched) => {
                        state.runtime.commit(switched).await;
                        tracing::warn!(
                            function,
                            "git ran no reference-transaction hook; the release was switched after the branch moved"
                        );
                        Ok("live, late")
                    }
                    Err(error) => {
                        let reason = format!(
                            "v{} could not be switched to after the branch moved; push again: \
                             {error}",
                            pending.release.number
                        );
                        put_back_current(state, &pending, &reason);
                        tracing::error!(function, %error, "the branch moved but its release could not be switched to; push again");
                        Err(reason)
                    }
                },
                Err(error) => {
                    state.runtime.discard(staged).await;
                    let reason = format!(
                        "lmnop could not record v{}: {}",
                        pending.release.number,
                        state.db.describe(&error)
                    );
                    close_failed(state, &pending, &reason);
                    tracing::error!(
                        function,
                        "the branch moved but its release could not be recorded; push again"
                    );
                    Err(reason)
                }
            },
            stage => {
                let reason = lock_hint(push, &pending.ref_name);
                let _ = undo(state, &pending, stage, &reason).await;
                Err(reason)
            }
        };
        let said = match &outcome {
            Ok(live) => (*live).to_owned(),
            Err(reason) => format!("refused: {reason}"),
        };
        tracing::info!(
            function,
            release = pending.release.number,
            pusher = push.user.name,
            commit = pending.commit,
            outcome = said,
            "push settled"
        );
        outcome.err().map(|reason| Refusal {
            ref_name: pending.ref_name,
            reason,
        })
    }
}

/// Why git did not move the branch, as far as lmnop can tell.
fn lock_hint(push: &Push, ref_name: &str) -> String {
    let lock = push.repo.join(format!("{ref_name}.lock"));
    if lock.exists() {
        format!(
            "git could not update {ref_name}: {} exists (left by a git process that crashed); \
             the previous release keeps serving",
            lock.display()
        )
    } else {
        format!("git did not update {ref_name}; the previous release keeps serving")
    }
}

/// Takes a release back out: staged replicas go, a switch is reverted, the record put back.
async fn undo(state: &Releaser, pending: &Pending, stage: Stage, reason: &str) -> Stage {
    match stage {
        Stage::Staged(staged) => {
            state.runtime.discard(staged).await;
            close_failed(state, pending, reason);
        }
        Stage::Switched(switched) => {
            state.runtime.revert(switched).await;
            put_back_current(state, pending, reason);
        }
        // Refused already: the first reason is the true one.
        Stage::Refused(first) => return Stage::Refused(first),
        Stage::Live => {}
    }
    Stage::Refused(reason.to_owned())
}

async fn record_current(state: &Releaser, pending: &Pending) -> Result<(), sqlx::Error> {
    let outcome = Outcome {
        status: ReleaseStatus::Deployed,
        error: None,
        timings: &pending.timings,
        build_log: &pending.build_log,
    };
    releases::finish(&state.db, &pending.release, &outcome).await
}

/// Closes the release as failed, now or, when the database does not answer, once it does.
pub fn close_failed(state: &Releaser, pending: &Pending, reason: &str) {
    close_failed_later(&state.db, &pending.release, reason, &pending.build_log);
}

/// Closes `release` as failed with `reason` and `log`, retrying until the database answers.
pub fn close_failed_later(db: &crate::db::Db, release: &Release, reason: &str, log: &str) {
    let db = db.clone();
    let id = release.id;
    let (reason, log) = (reason.to_owned(), log.to_owned());
    retry("close a failed release", release.number, move || {
        let (db, reason, log) = (db.clone(), reason.clone(), log.clone());
        async move { releases::abandon(&db, id, &reason, &log).await.map(drop) }
    });
}

/// Marks the release failed and makes the previous one current again, retrying until done.
fn put_back_current(state: &Releaser, pending: &Pending, reason: &str) {
    let db = state.db.clone();
    let (release, previous) = (pending.release.clone(), pending.previous);
    let number = release.number;
    let reason = reason.to_owned();
    retry("put back the current release", number, move || {
        let (db, release, reason) = (db.clone(), release.clone(), reason.clone());
        async move { releases::revert(&db, &release, previous, &reason).await }
    });
}

/// Runs `write` until it succeeds, in the background.
fn retry<F, Fut>(what: &'static str, release: i64, write: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>> + Send,
{
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            match write().await {
                Ok(()) => {
                    if warned {
                        tracing::info!(release, "the database answers again: done, {what}");
                    }
                    return;
                }
                Err(error) => {
                    if !warned {
                        tracing::warn!(release, %error, "cannot {what} yet; trying again until the database answers");
                        warned = true;
                    }
                    tokio::time::sleep(RETRY_EVERY).await;
                }
            }
        }
    });
}

/// Whether `ref_name` of the push's repository points at `commit` now.
async fn branch_holds(push: &Push, ref_name: &str, commit: &str) -> bool {
    let repo = push.repo.clone();
    let (ref_name, commit) = (ref_name.to_owned(), commit.to_owned());
    tokio::task::spawn_blocking(move || {
        crate::git::refs::Refs::open(&repo)
            .ok()
            .and_then(|refs| refs.target(&ref_name).ok().flatten())
            .is_some_and(|id| id.to_string() == commit)
    })
    .await
    .unwrap_or(false)
}

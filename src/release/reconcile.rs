//! The reconciler: at start and then periodically, the runtime converges to the database. A
//! function whose replicas are gone comes back from its current release, the router learns the
//! serving addresses (after a restart it knows none), and what no current release owns is
//! removed. Functions with a push in progress, a first push included, are left alone. It goes
//! through the same seam and deployment as a push and a scale.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Releaser;
use crate::db::releases;
use crate::domain::FunctionName;

/// How often the runtime is checked.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What one pass changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Functions that had nothing serving and serve again.
    pub restarted: Vec<String>,
    /// Replicas removed: stopped, of another release, or of no current release.
    pub removed: usize,
}

/// Runs forever: one pass now, then one every [`INTERVAL`].
pub async fn run(releaser: Releaser) {
    if let Err(error) = releases::fail_unfinished(&releaser.db).await {
        tracing::warn!(%error, "cannot close releases left unfinished");
    }
    loop {
        match reconcile(&releaser).await {
            Ok(report) if report != Report::default() => {
                tracing::info!(restarted = ?report.restarted, removed = report.removed, "reconciled the runtime");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(
                error = format!("{error:#}"),
                "reconciling the runtime failed"
            ),
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// One pass. Each function is looked at under its push lock, with its current release read
/// after the lock is taken: a push in progress (a first one included, whose function has no
/// current release yet) is left alone, and one that finished a moment ago is seen as it left
/// things.
pub async fn reconcile(releaser: &Releaser) -> anyhow::Result<Report> {
    let mut functions: BTreeMap<String, usize> = releases::serving(&releaser.db)
        .await?
        .into_iter()
        .map(|entry| (entry.function, 0))
        .collect();
    for running in releaser.runtime.list().await? {
        *functions.entry(running.function).or_default() += running.replicas;
    }
    let mut report = Report::default();
    for (function, replicas) in functions {
        let Some(_held) = releaser.push_locks.try_lock(&function) else {
            continue;
        };
        let Some(entry) = releases::serving_one(&releaser.db, &function).await? else {
            // No current release and no push in progress: nothing owns these.
            let Ok(name) = FunctionName::parse(&function) else {
                continue;
            };
            match releaser.runtime.remove(&name).await {
                Ok(()) => report.removed += replicas,
                Err(error) => {
                    tracing::warn!(function, %error, "cannot remove what no release owns")
                }
            }
            continue;
        };
        let Some(deployment) =
            releaser.deployment(&function, &entry.release, entry.desired_replicas)
        else {
            continue;
        };
        match releaser.runtime.scale(&deployment).await {
            Ok(scaled) => {
                report.removed += scaled.removed;
                if scaled.was_serving == 0 && scaled.serving > 0 {
                    report.restarted.push(function);
                }
            }
            Err(error) => tracing::warn!(
                function,
                %error,
                "cannot bring the function to its number of replicas"
            ),
        }
    }
    Ok(report)
}

//! The reconciler: at start (before lmnop serves) and then periodically, the runtime converges
//! to the database, several functions at a time. A
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

/// How many functions one pass brings back at once: a slow starter holds up only its own.
const PARALLEL: usize = 4;

/// What runs before lmnop serves: releases a stopped server left unfinished are closed, what
/// cut-off pushes left in the repositories is removed (with the function of a first push that
/// never finished), and one pass restores the routes.
pub async fn first_pass(releaser: &Releaser) {
    if let Err(error) = releases::fail_unfinished(&releaser.db).await {
        tracing::warn!(%error, "cannot close releases left unfinished");
    }
    let repos = releaser.repos.clone();
    let emptied = tokio::task::spawn_blocking(move || repos.sweep())
        .await
        .unwrap_or_default();
    for name in emptied {
        if let Err(error) =
            crate::db::functions::delete_if_never_deployed(&releaser.db, &name).await
        {
            tracing::warn!(function = name, %error, "cannot forget the function of a cut-off first push");
        }
    }
    pass(releaser).await;
}

/// Runs forever: one pass every [`INTERVAL`] (the first is [`first_pass`]).
pub async fn run(releaser: Releaser) {
    loop {
        tokio::time::sleep(INTERVAL).await;
        pass(&releaser).await;
    }
}

async fn pass(releaser: &Releaser) {
    match reconcile(releaser).await {
        Ok(report) if report != Report::default() => {
            tracing::info!(restarted = ?report.restarted, removed = report.removed, "reconciled the runtime");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "reconciling the runtime failed"
        ),
    }
}

/// One pass. Each function is looked at under its push lock, with its current release read
/// after the lock is taken: a push in progress (a first one included, whose function has no
/// current release yet) is left alone, and one that finished a moment ago is seen as it left
/// things.
pub async fn reconcile(releaser: &Releaser) -> anyhow::Result<Report> {
    // Before anything starts: no route may point at what is not its function's container.
    releaser.runtime.prune_routes(None).await?;
    let mut functions: BTreeMap<String, usize> = releases::serving(&releaser.db)
        .await?
        .into_iter()
        .map(|entry| (entry.function, 0))
        .collect();
    for running in releaser.runtime.list().await? {
        *functions.entry(running.function).or_default() += running.replicas;
    }
    use futures_util::StreamExt;
    let outcomes: Vec<anyhow::Result<Report>> = futures_util::stream::iter(functions)
        .map(|(function, replicas)| one(releaser, function, replicas))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut report = Report::default();
    for outcome in outcomes {
        let one = outcome?;
        report.removed += one.removed;
        report.restarted.extend(one.restarted);
    }
    report.restarted.sort();
    Ok(report)
}

/// One function of a pass, under its push lock.
pub async fn one(releaser: &Releaser, function: String, replicas: usize) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let Some(_held) = releaser.push_locks.try_lock(&function) else {
        return Ok(report);
    };
    let Some(entry) = releases::serving_one(&releaser.db, &function).await? else {
        // No current release and no push in progress: nothing owns these.
        let Ok(name) = FunctionName::parse(&function) else {
            return Ok(report);
        };
        match releaser.runtime.remove(&name).await {
            Ok(()) => report.removed += replicas,
            Err(error) => {
                tracing::warn!(function, %error, "cannot remove what no release owns")
            }
        }
        return Ok(report);
    };
    let Some(deployment) = releaser.deployment(&function, &entry.release, entry.desired_replicas)
    else {
        return Ok(report);
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
    Ok(report)
}

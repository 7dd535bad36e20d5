//! The reconciler: at start and then periodically, the docker runtime converges to the database.
//! A function whose containers are gone comes back from its current release, the router learns
//! the serving addresses (after a restart it knows none), and containers that no current release
//! owns are removed. Functions with a push in progress, a first push included, are left alone.

use std::collections::BTreeSet;
use std::time::Duration;

use bollard::Docker;

use super::containers::{self, Deployment, Instance};
use super::docker::DockerRuntime;
use std::sync::Arc;

use crate::build::templates::Templates;
use crate::db::Db;
use crate::db::releases::{self, Serving};
use crate::git::locks::RepoLocks;

/// How often the runtime is checked.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What one pass changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub restarted: Vec<String>,
    pub removed: usize,
}

/// What a pass reads and changes: the desired state, the push locks it respects, the
/// templates (for ports and readiness), and the runtime it converges.
#[derive(Debug, Clone)]
pub struct Reconciler {
    pub db: Db,
    pub push_locks: Arc<RepoLocks>,
    pub templates: Arc<Templates>,
    pub runtime: Arc<super::Runtime>,
}

/// Runs forever: one pass now, then one every [`INTERVAL`].
pub async fn run(state: Reconciler) {
    if let Err(error) = releases::fail_unfinished(&state.db).await {
        tracing::warn!(%error, "cannot close releases left unfinished");
    }
    loop {
        match reconcile(&state).await {
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

/// One pass. Each function is looked at under its push lock, with its current release and its
/// containers read after the lock is taken: a push in progress (a first one included, whose
/// function has no current release yet) is left alone, and one that finished a moment ago is
/// seen as it left things.
pub async fn reconcile(state: &Reconciler) -> anyhow::Result<Report> {
    let Some(runtime) = state.runtime.docker() else {
        return Ok(Report::default());
    };
    let docker = runtime.client().await?;
    let mut functions: BTreeSet<String> = releases::serving(&state.db)
        .await?
        .into_iter()
        .map(|entry| entry.function)
        .collect();
    functions.extend(
        containers::list(&docker, runtime.instance())
            .await?
            .into_iter()
            .map(|instance| instance.function),
    );
    let mut report = Report::default();
    for function in functions {
        let Some(_held) = state.push_locks.try_lock(&function) else {
            continue;
        };
        let mine = containers::list_function(&docker, runtime.instance(), &function).await?;
        let Some(entry) = releases::serving_one(&state.db, &function).await? else {
            // No current release and no push in progress: nothing owns these.
            report.removed += mine.len();
            containers::remove(&docker, &mine).await;
            continue;
        };
        converge_function(state, runtime, &docker, &entry, mine, &mut report).await;
    }
    Ok(report)
}

/// Brings one function with a current release to its containers: those of other releases go,
/// missing ones are started, the router learns the live ones.
async fn converge_function(
    state: &Reconciler,
    runtime: &DockerRuntime,
    docker: &Docker,
    entry: &Serving,
    mine: Vec<Instance>,
    report: &mut Report,
) {
    let function = entry.function.as_str();
    let spec = entry.release.config.clone();
    let template = state.templates.get(&spec.template);
    let port = template.map_or(8080, |template| template.port);
    let readiness = template.and_then(|template| template.readiness_path.clone());
    let mut live = Vec::new();
    let mut stale = Vec::new();
    for mut instance in mine {
        let address = if instance.release == entry.release.number
            && containers::is_running(docker, &instance.container_id).await
        {
            containers::address_of(docker, &instance.container_id, port)
                .await
                .ok()
        } else {
            None
        };
        match address {
            Some(address) => {
                instance.address = Some(address);
                live.push(instance);
            }
            None => stale.push(instance),
        }
    }
    report.removed += stale.len();
    containers::remove(docker, &stale).await;
    let Some(image) = entry.release.image.clone() else {
        runtime
            .routes()
            .set(function, live.iter().filter_map(|i| i.address).collect());
        return;
    };
    let deployment = Deployment {
        instance: runtime.instance().to_owned(),
        function: function.to_owned(),
        release: entry.release.number,
        image,
        replicas: super::scale::replicas(entry.desired_replicas, &spec),
        spec,
        port,
        readiness,
    };
    let before = live.len();
    match super::scale::converge(runtime, docker, &deployment, live).await {
        Ok(addresses) if before == 0 && !addresses.is_empty() => {
            report.restarted.push(function.to_owned());
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(function, %error, "cannot bring the function to its number of containers")
        }
    }
}

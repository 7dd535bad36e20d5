//! The reconciler: at start and then periodically, the docker runtime converges to the database.
//! A function whose containers are gone comes back from its current release, the router learns
//! the serving addresses (after a restart it knows none), and containers that no current release
//! owns are removed. Functions with a push in progress are left alone.

use std::collections::BTreeMap;
use std::time::Duration;

use super::docker::{self as runtime, Deployment, Instance};
use crate::app::AppState;
use crate::db::releases;
use crate::spec::{Catalog, FunctionSpec};

/// How often the runtime is checked.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What one pass changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub restarted: Vec<String>,
    pub removed: usize,
}

/// Accepts the recorded config as it was checked at push time.
struct Recorded;

impl Catalog for Recorded {
    fn templates(&self) -> Vec<String> {
        Vec::new()
    }

    fn template_options(&self, _template: &str) -> Option<Vec<String>> {
        Some(Vec::new())
    }

    fn secret_exists(&self, _name: &str) -> bool {
        true
    }
}

/// A release's recorded config (the JSON written at push time is valid function.yml).
pub fn recorded_spec(config: &str) -> Option<FunctionSpec> {
    crate::spec::parse(config.as_bytes(), &Recorded).ok()
}

/// Runs forever: one pass now, then one every [`INTERVAL`].
pub async fn run(state: AppState) {
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

/// One pass.
pub async fn reconcile(state: &AppState) -> anyhow::Result<Report> {
    let docker = state.engine.client().await?;
    let serving = releases::serving(&state.db).await?;
    let mut instances: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
    for instance in runtime::list(&docker, &state.instance).await? {
        instances
            .entry(instance.function.clone())
            .or_default()
            .push(instance);
    }
    let mut report = Report::default();
    let mut stale = Vec::new();
    for entry in &serving {
        let function = entry.function.as_str();
        let Some(_held) = state.push_locks.try_lock(function) else {
            instances.remove(function);
            continue;
        };
        let mine = instances.remove(function).unwrap_or_default();
        let Some(spec) = recorded_spec(&entry.release.config) else {
            tracing::warn!(
                function,
                "the current release's config cannot be read; left as it is"
            );
            continue;
        };
        let template = state.templates.get(&spec.template);
        let port = template.map_or(8080, |template| template.port);
        let readiness = template.and_then(|template| template.readiness_path.clone());
        let mut live = Vec::new();
        for mut instance in mine {
            let address = if instance.release == entry.release.number
                && runtime::is_running(&docker, &instance.container_id).await
            {
                runtime::address_of(&docker, &instance.container_id, port)
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
        let Some(image) = entry.release.image.clone() else {
            state
                .routes
                .set(function, live.iter().filter_map(|i| i.address).collect());
            continue;
        };
        let deployment = Deployment {
            instance: state.instance.clone(),
            function: function.to_owned(),
            release: entry.release.number,
            image,
            replicas: super::scale::replicas(entry.desired_replicas, &spec),
            spec,
            port,
        };
        let before = live.len();
        match super::scale::converge(state, &docker, &deployment, readiness.as_deref(), live).await
        {
            Ok(addresses) if before == 0 && !addresses.is_empty() => {
                report.restarted.push(function.to_owned());
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(function, %error, "cannot bring the function to its number of containers")
            }
        }
    }
    // Whatever is left belongs to no current release.
    stale.extend(instances.into_values().flatten());
    report.removed = stale.len();
    runtime::remove(&docker, &stale).await;
    Ok(report)
}

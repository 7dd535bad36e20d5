//! Scaling: how many containers a function runs, and bringing its serving release to that
//! number. New containers get traffic only once healthy; extra ones leave the route table and
//! finish the requests they were answering before they stop.

use std::collections::HashSet;
use std::net::SocketAddr;

use bollard::Docker;

use super::containers::{self, Deployment, Instance, RuntimeError};
use super::docker::DockerRuntime;
use super::health;
use crate::spec::FunctionSpec;

/// Why a function could not be brought to its number of containers.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("{0}")]
    Engine(crate::engine::EngineError),
    #[error("the new containers did not become healthy: {0}")]
    Unhealthy(String),
    #[error("{0}")]
    OpenFaas(#[from] super::openfaas::OpenFaasError),
}

/// What converging a release did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scaled {
    /// Healthy replicas of the release found serving before.
    pub was_serving: usize,
    /// Replicas serving now.
    pub serving: usize,
    /// Replicas removed: stopped ones, those of other releases, and extra ones.
    pub removed: usize,
}

/// The number of containers a function runs: what its owner asked for, kept within the
/// `scaling` range of the release's function.yml.
pub fn replicas(desired: i64, spec: &FunctionSpec) -> u32 {
    let desired = u32::try_from(desired.max(0)).unwrap_or(u32::MAX);
    desired.clamp(spec.scaling.min, spec.scaling.max)
}

fn addresses(instances: &[Instance]) -> Vec<SocketAddr> {
    instances.iter().filter_map(|i| i.address).collect()
}

/// Brings the release's healthy containers (`live`, addresses known) to `deployment.replicas`
/// and points the router at them. On failure the router keeps `live` and whatever this call
/// started is removed.
pub async fn converge(
    runtime: &DockerRuntime,
    docker: &Docker,
    deployment: &Deployment,
    mut live: Vec<Instance>,
) -> Result<Vec<SocketAddr>, ScaleError> {
    let routes = runtime.routes();
    let readiness = deployment.readiness.as_deref();
    let want = deployment.replicas as usize;
    let timeout = deployment.spec.timeout;
    live.sort_by_key(|instance| instance.replica);
    if live.len() > want {
        let extra = live.split_off(want);
        routes
            .set(&deployment.function, addresses(&live), timeout)
            .drained()
            .await;
        containers::remove(docker, &extra).await;
    } else if live.len() < want {
        let used: HashSet<u32> = live.iter().map(|instance| instance.replica).collect();
        let free: Vec<u32> = (0..)
            .filter(|index| !used.contains(index))
            .take(want - live.len())
            .collect();
        let started = containers::start_replicas(
            docker,
            runtime.secrets(),
            runtime.networks(),
            deployment,
            free,
        )
        .await?;
        let health = &deployment.spec.health;
        if let Err(error) = health::wait_ready(
            runtime.http(),
            &addresses(&started),
            readiness,
            &health.path,
            health.timeout,
            deployment.app_port,
        )
        .await
        {
            containers::remove(docker, &started).await;
            let _unchanged = routes.set(&deployment.function, addresses(&live), timeout);
            return Err(ScaleError::Unhealthy(error.to_string()));
        }
        live.extend(started);
    }
    let serving = addresses(&live);
    // The same backends or more: nothing leaves the table here.
    let _unchanged = routes.set(&deployment.function, serving.clone(), timeout);
    Ok(serving)
}

/// The function's containers split into the release's running ones (addresses known) and the
/// rest (stopped, unreachable, or of another release).
pub async fn sort_instances(
    docker: &Docker,
    deployment: &Deployment,
    mine: Vec<Instance>,
) -> (Vec<Instance>, Vec<Instance>) {
    let mut live = Vec::new();
    let mut stale = Vec::new();
    for mut instance in mine {
        let address = if instance.release == deployment.release
            && containers::is_running(docker, &instance.container_id).await
        {
            containers::address_of(docker, &instance.container_id, deployment.port)
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
    (live, stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(min: u32, max: u32) -> FunctionSpec {
        FunctionSpec {
            template: "python3.12".to_owned(),
            requests: crate::spec::Resources::DEFAULT_REQUESTS,
            limits: crate::spec::Resources::DEFAULT_LIMITS,
            environment: Default::default(),
            secrets: Vec::new(),
            options: Default::default(),
            scaling: crate::spec::Scaling { min, max },
            health: crate::spec::Health::default(),
            timeout: crate::spec::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    #[test]
    fn the_asked_number_stays_within_the_scaling_range() {
        assert_eq!(replicas(1, &spec(1, 1)), 1);
        assert_eq!(replicas(3, &spec(1, 5)), 3);
        assert_eq!(replicas(9, &spec(1, 5)), 5);
        assert_eq!(replicas(0, &spec(2, 5)), 2);
        assert_eq!(replicas(-4, &spec(1, 5)), 1);
    }
}

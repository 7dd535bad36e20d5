//! Scaling: how many containers a function runs, and bringing its serving release to that
//! number. New containers get traffic only once healthy; extra ones leave the route table before
//! they stop, so no request is sent to a container on its way out.

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
    live.sort_by_key(|instance| instance.replica);
    if live.len() > want {
        let extra = live.split_off(want);
        routes.set(&deployment.function, addresses(&live));
        containers::remove(docker, &extra).await;
    } else if live.len() < want {
        let used: HashSet<u32> = live.iter().map(|instance| instance.replica).collect();
        let free: Vec<u32> = (0..)
            .filter(|index| !used.contains(index))
            .take(want - live.len())
            .collect();
        let started =
            containers::start_replicas(docker, runtime.secrets(), deployment, free).await?;
        let health = &deployment.spec.health;
        if let Err(error) = health::wait_ready(
            runtime.http(),
            &addresses(&started),
            readiness,
            &health.path,
            health.timeout,
        )
        .await
        {
            containers::remove(docker, &started).await;
            routes.set(&deployment.function, addresses(&live));
            return Err(ScaleError::Unhealthy(error.to_string()));
        }
        live.extend(started);
    }
    let serving = addresses(&live);
    routes.set(&deployment.function, serving.clone());
    Ok(serving)
}

/// The running containers of `release` of `function`, with their addresses; containers that
/// stopped or have no address are left out.
pub async fn live_instances(
    docker: &Docker,
    instance_id: &str,
    function: &str,
    release: i64,
    port: u16,
) -> Result<Vec<Instance>, RuntimeError> {
    let mut live = Vec::new();
    for mut instance in containers::list(docker, instance_id).await? {
        if instance.function != function || instance.release != release {
            continue;
        }
        if !containers::is_running(docker, &instance.container_id).await {
            continue;
        }
        if let Ok(address) = containers::address_of(docker, &instance.container_id, port).await {
            instance.address = Some(address);
            live.push(instance);
        }
    }
    Ok(live)
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

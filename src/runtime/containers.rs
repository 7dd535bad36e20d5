//! The docker runtime's containers: a release runs as containers (one per replica) labelled by function,
//! release and replica, with CPU and memory limits, a read-only root and a writable `/tmp`, secrets mounted
//! read-only at `/var/openfaas/secrets/NAME`, and `environment` as variables, on the function's
//! own network ([`super::network`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::StreamExt;

use crate::domain::SecretName;
use crate::secrets::SecretStore;
use crate::spec::FunctionSpec;

pub const FUNCTION_LABEL: &str = "lmnop.function";
/// Marks the installation a container belongs to, so installations (and test servers) sharing
/// an engine never touch each other's containers.
pub const INSTANCE_LABEL: &str = "lmnop.instance";
pub const RELEASE_LABEL: &str = "lmnop.release";
/// Label with the container's index among its release's containers.
pub const REPLICA_LABEL: &str = "lmnop.replica";

/// Where secrets appear inside containers (the same place as on OpenFaaS).
pub const SECRETS_MOUNT: &str = "/var/openfaas/secrets";

/// Lines kept of the output of a container that stopped as it started.
const EXIT_TAIL_LINES: usize = 20;

/// The installation id as container and network names carry it.
pub fn short_instance(instance: &str) -> &str {
    &instance[..8.min(instance.len())]
}

/// Seconds a container gets to finish its requests when it is stopped.
const STOP_GRACE_SECONDS: i32 = 10;

/// Why containers could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{}", crate::engine::EngineFailure(.0))]
    Engine(bollard::errors::Error),
    #[error("container {0} has no address on its network")]
    NoAddress(String),
    /// The container stopped as it started, before it had an address; `output` is what it
    /// printed last.
    #[error("container {container} stopped as it started")]
    ExitedAtStart { container: String, output: String },
    #[error("{0}")]
    Unreachable(crate::engine::EngineError),
    #[error(
        "no subnet of {0} is free for another function's network; widen LMNOP_FUNCTION_SUBNETS"
    )]
    NoSubnet(String),
    /// The fake runtime could not start a replica.
    #[error("the fake runtime failed: {0}")]
    Fake(String),
    #[error("{0}")]
    Gateway(#[from] super::openfaas::gateway::GatewayError),
}

impl From<bollard::errors::Error> for RuntimeError {
    fn from(error: bollard::errors::Error) -> Self {
        Self::Engine(error)
    }
}

/// One release of one function, as the runtime sees it.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The installation's id (see [`crate::store::instance_id`]).
    pub instance: String,
    pub function: String,
    /// The release number (v1, v2, …).
    pub release: i64,
    /// The commit it was built from.
    pub commit: String,
    /// Who pushed it, when known.
    pub pusher: Option<String>,
    pub image: String,
    pub spec: FunctionSpec,
    pub port: u16,
    /// The template's readiness path (the watchdog's `/_/health`), probed before `spec.health`.
    pub readiness: Option<String>,
    /// The port the app listens on behind the template's watchdog (5000 for python), named when
    /// the watchdog answers for an app that does not.
    pub app_port: Option<u16>,
    /// The image runs the OpenFaaS of-watchdog, whose settings lmnop derives from the spec.
    pub watchdog: bool,
    /// How many containers run (see [`super::scale::replicas`]).
    pub replicas: u32,
}

/// A running container of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub container_id: String,
    pub function: String,
    pub release: i64,
    /// Its index among the release's containers (0, 1, …), part of its name.
    pub replica: u32,
    pub address: Option<SocketAddr>,
}

/// Starts the release's containers; on failure, the ones already started are removed.
pub async fn start(
    docker: &Docker,
    secrets: &SecretStore,
    networks: &super::network::FunctionNetworks,
    deployment: &Deployment,
) -> Result<Vec<Instance>, RuntimeError> {
    start_replicas(
        docker,
        secrets,
        networks,
        deployment,
        0..deployment.replicas,
    )
    .await
}

/// Starts the containers of the given replica indices; on failure, the ones this call started
/// are removed.
pub async fn start_replicas(
    docker: &Docker,
    secrets: &SecretStore,
    networks: &super::network::FunctionNetworks,
    deployment: &Deployment,
    indices: impl IntoIterator<Item = u32>,
) -> Result<Vec<Instance>, RuntimeError> {
    networks
        .ensure(docker, &deployment.instance, &deployment.function)
        .await?;
    let mut instances = Vec::new();
    for index in indices {
        match start_one(docker, secrets, deployment, index).await {
            Ok(instance) => instances.push(instance),
            Err(error) => {
                remove(docker, &instances).await;
                return Err(error);
            }
        }
    }
    Ok(instances)
}

fn container_config(
    secrets: &SecretStore,
    deployment: &Deployment,
    index: u32,
) -> ContainerCreateBody {
    let spec = &deployment.spec;
    let environment = if deployment.watchdog {
        super::watchdog::environment(spec)
    } else {
        spec.environment.clone()
    };
    let env = environment
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let binds = spec
        .secrets
        .iter()
        .filter_map(|name| SecretName::parse(name).ok())
        .map(|name| {
            format!(
                "{}:{SECRETS_MOUNT}/{name}:ro",
                secrets.path(&name).display()
            )
        })
        .collect();
    let labels = HashMap::from([
        (INSTANCE_LABEL.to_owned(), deployment.instance.clone()),
        (FUNCTION_LABEL.to_owned(), deployment.function.clone()),
        (RELEASE_LABEL.to_owned(), deployment.release.to_string()),
        (REPLICA_LABEL.to_owned(), index.to_string()),
    ]);
    ContainerCreateBody {
        image: Some(deployment.image.clone()),
        env: Some(env),
        labels: Some(labels),
        host_config: Some(HostConfig {
            nano_cpus: Some(i64::from(spec.limits.cpu_millis) * 1_000_000),
            memory: Some(i64::from(spec.limits.memory_mib) * 1024 * 1024),
            memory_reservation: Some(i64::from(spec.requests.memory_mib) * 1024 * 1024),
            readonly_rootfs: Some(true),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_owned(),
                "rw,nosuid,nodev,size=64m".to_owned(),
            )])),
            binds: Some(binds),
            init: Some(true),
            network_mode: Some(super::network::FunctionNetworks::name(
                &deployment.instance,
                &deployment.function,
            )),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    }
}

async fn start_one(
    docker: &Docker,
    secrets: &SecretStore,
    deployment: &Deployment,
    index: u32,
) -> Result<Instance, RuntimeError> {
    let name = format!(
        "lmnop-{}-{}-v{}-{index}",
        short_instance(&deployment.instance),
        deployment.function,
        deployment.release
    );
    // A container of the same name left by an interrupted deploy goes first.
    let _ = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await;
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(&name).build()),
            container_config(secrets, deployment, index),
        )
        .await?;
    let mut instance = Instance {
        container_id: created.id,
        function: deployment.function.clone(),
        release: deployment.release,
        replica: index,
        address: None,
    };
    if let Err(error) = docker
        .start_container(
            &instance.container_id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
    {
        remove(docker, std::slice::from_ref(&instance)).await;
        return Err(error.into());
    }
    match address(docker, &instance.container_id, deployment.port).await {
        Ok(address) => {
            instance.address = Some(address);
            Ok(instance)
        }
        Err(error) => {
            // A program that exits at once leaves its container without an address.
            let exited = !is_running(docker, &instance.container_id).await;
            let output = if exited {
                last_logs(docker, &instance.container_id, EXIT_TAIL_LINES).await
            } else {
                String::new()
            };
            remove(docker, std::slice::from_ref(&instance)).await;
            if exited {
                Err(RuntimeError::ExitedAtStart {
                    container: instance.container_id,
                    output,
                })
            } else {
                Err(error)
            }
        }
    }
}

/// The container's bridge address and the port it listens on.
pub async fn address_of(docker: &Docker, id: &str, port: u16) -> Result<SocketAddr, RuntimeError> {
    address(docker, id, port).await
}

async fn address(docker: &Docker, id: &str, port: u16) -> Result<SocketAddr, RuntimeError> {
    let inspected = docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await?;
    let networks = inspected
        .network_settings
        .and_then(|settings| settings.networks)
        .unwrap_or_default();
    networks
        .values()
        .filter_map(|endpoint| endpoint.ip_address.as_deref())
        .find_map(|ip| ip.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, port))
        .ok_or_else(|| RuntimeError::NoAddress(id.to_owned()))
}

/// Whether the container still runs.
pub async fn is_running(docker: &Docker, id: &str) -> bool {
    docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()
        .and_then(|c| c.state)
        .and_then(|state| state.running)
        .unwrap_or(false)
}

/// Completes with the id of the first of `instances` that stops running (never, if none does).
pub async fn first_exit(docker: &Docker, instances: &[Instance]) -> String {
    loop {
        for instance in instances {
            if !is_running(docker, &instance.container_id).await {
                return instance.container_id.clone();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// The last `lines` lines a container wrote, for error messages.
pub async fn last_logs(docker: &Docker, id: &str, lines: usize) -> String {
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    text
}

/// Stops containers gracefully (they finish their requests) and removes them.
pub async fn remove(docker: &Docker, instances: &[Instance]) {
    for instance in instances {
        let _ = docker
            .stop_container(
                &instance.container_id,
                Some(
                    StopContainerOptionsBuilder::new()
                        .t(STOP_GRACE_SECONDS)
                        .build(),
                ),
            )
            .await;
        let _ = docker
            .remove_container(
                &instance.container_id,
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await;
    }
}

/// Every container this installation runs, running or not.
pub async fn list(docker: &Docker, instance: &str) -> Result<Vec<Instance>, RuntimeError> {
    list_labelled(docker, instance, FUNCTION_LABEL.to_owned()).await
}

/// The IP addresses of this installation's running containers, by function: what a route may
/// point at.
pub async fn running_ips(
    docker: &Docker,
    instance: &str,
) -> Result<HashMap<String, std::collections::HashSet<std::net::IpAddr>>, RuntimeError> {
    let filters = HashMap::from([
        ("label", vec![format!("{INSTANCE_LABEL}={instance}")]),
        ("status", vec!["running".to_owned()]),
    ]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .filters(&filters)
                .build(),
        ))
        .await?;
    let mut ips: HashMap<String, std::collections::HashSet<std::net::IpAddr>> = HashMap::new();
    for container in containers {
        let Some(function) = container
            .labels
            .as_ref()
            .and_then(|labels| labels.get(FUNCTION_LABEL))
            .cloned()
        else {
            continue;
        };
        let addresses = container
            .network_settings
            .and_then(|settings| settings.networks)
            .into_iter()
            .flat_map(|networks| networks.into_values())
            .filter_map(|network| network.ip_address)
            .filter_map(|ip| ip.parse::<std::net::IpAddr>().ok());
        ips.entry(function).or_default().extend(addresses);
    }
    Ok(ips)
}

/// The containers this installation runs for `function`, running or not.
pub async fn list_function(
    docker: &Docker,
    instance: &str,
    function: &str,
) -> Result<Vec<Instance>, RuntimeError> {
    list_labelled(docker, instance, format!("{FUNCTION_LABEL}={function}")).await
}

async fn list_labelled(
    docker: &Docker,
    instance: &str,
    function_label: String,
) -> Result<Vec<Instance>, RuntimeError> {
    let filters = HashMap::from([(
        "label",
        vec![format!("{INSTANCE_LABEL}={instance}"), function_label],
    )]);
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await?;
    Ok(containers
        .into_iter()
        .filter_map(|container| {
            let labels = container.labels?;
            Some(Instance {
                container_id: container.id?,
                function: labels.get(FUNCTION_LABEL)?.clone(),
                release: labels.get(RELEASE_LABEL)?.parse().ok()?,
                replica: labels
                    .get(REPLICA_LABEL)
                    .and_then(|index| index.parse().ok())
                    .unwrap_or(0),
                address: None,
            })
        })
        .collect())
}

//! The docker runtime: each release as labelled containers on the engine, a zero-downtime
//! switch (new containers healthy before the router moves, old ones stopped once the requests
//! they were answering are done).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use super::containers::{self, Deployment, Instance, RuntimeError};
use super::health;
use super::scale::{ScaleError, Scaled};
use super::{ReplicaLog, Running};
use crate::domain::FunctionName;
use crate::engine::{Engine, EngineError};
use crate::router::RouteTable;
use crate::secrets::SecretStore;

/// Lines of a failing container's output quoted in the error.
const TAIL_LINES: usize = 20;

/// Why a release could not be deployed; the previous release keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Engine(EngineError),
    #[error("{0}")]
    Start(RuntimeError),
    /// The new version never answered; `message` says how, with its last output lines.
    #[error("the new version did not become healthy: {message}")]
    Unhealthy { message: String },
    #[error("{0}")]
    OpenFaas(#[from] super::openfaas::OpenFaasError),
    #[error("lmnop cannot read the function's current release: {0}")]
    Database(String),
}

/// A container id as people read it.
fn short(id: &str) -> &str {
    &id[..12.min(id.len())]
}

/// `message`, followed by a container's last output lines when it printed any.
fn with_output(mut message: String, output: &str) -> String {
    if !output.trim().is_empty() {
        message.push_str("\nlast lines of the container's output:\n");
        message.push_str(output.trim_end());
    }
    message
}

/// What a switch moved traffic away from: the old containers (still running) and their
/// backends' in-flight counts.
#[derive(Debug)]
pub struct SwitchedAway {
    retired: crate::router::Retired,
    old: Vec<Instance>,
}

/// Containers on one Docker engine, and the route table that sends traffic to them.
#[derive(Debug)]
pub struct DockerRuntime {
    engine: Arc<Engine>,
    secrets: SecretStore,
    routes: Arc<RouteTable>,
    /// Health checks of new containers.
    http: reqwest::Client,
    /// This installation's id, on every container it runs.
    instance: String,
    networks: super::network::FunctionNetworks,
    /// Containers of a replaced release still finishing their requests: left to the task that
    /// stops them once drained, never removed by a scale or a later switch before that.
    draining: Arc<Mutex<HashSet<String>>>,
}

impl DockerRuntime {
    pub fn new(
        engine: Arc<Engine>,
        secrets: SecretStore,
        routes: Arc<RouteTable>,
        http: reqwest::Client,
        instance: String,
        networks: super::network::FunctionNetworks,
    ) -> Self {
        Self {
            engine,
            secrets,
            routes,
            http,
            instance,
            networks,
            draining: Arc::default(),
        }
    }

    /// `instances` without the containers a drain is waiting for.
    pub(super) fn without_draining(&self, instances: Vec<Instance>) -> Vec<Instance> {
        let draining = self.draining.lock().expect("never poisoned");
        instances
            .into_iter()
            .filter(|instance| !draining.contains(&instance.container_id))
            .collect()
    }

    /// Stops `old` once `retired` has answered its requests (in the background).
    fn stop_when_drained(
        &self,
        docker: bollard::Docker,
        retired: crate::router::Retired,
        old: Vec<Instance>,
    ) {
        let ids: Vec<String> = old.iter().map(|i| i.container_id.clone()).collect();
        self.draining
            .lock()
            .expect("never poisoned")
            .extend(ids.iter().cloned());
        let draining = self.draining.clone();
        tokio::spawn(async move {
            retired.drained().await;
            containers::remove(&docker, &old).await;
            let mut draining = draining.lock().expect("never poisoned");
            for id in &ids {
                draining.remove(id);
            }
        });
    }

    pub fn networks(&self) -> &super::network::FunctionNetworks {
        &self.networks
    }

    /// The installation id containers are labelled with.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    pub fn secrets(&self) -> &SecretStore {
        &self.secrets
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn client(&self) -> Result<bollard::Docker, EngineError> {
        self.engine.client().await
    }

    /// Where the engine is, for messages.
    pub fn host(&self) -> String {
        self.engine.host().to_string()
    }

    pub async fn ping(&self) -> Result<(), EngineError> {
        self.engine.ping().await
    }

    /// See [`super::Runtime::stage`]: the release's containers, started and answering.
    pub async fn stage(&self, deployment: &Deployment) -> Result<Vec<Instance>, DeployError> {
        let docker = self.client().await.map_err(DeployError::Engine)?;
        let instances = match containers::start(&docker, &self.secrets, &self.networks, deployment)
            .await
        {
            Ok(instances) => instances,
            Err(RuntimeError::ExitedAtStart { container, output }) => {
                let message = format!("container {} stopped before it answered", short(&container));
                return Err(DeployError::Unhealthy {
                    message: with_output(message, &output),
                });
            }
            Err(error) => return Err(DeployError::Start(error)),
        };
        let addresses: Vec<_> = instances.iter().filter_map(|i| i.address).collect();
        let health = &deployment.spec.health;
        let ready = tokio::select! {
            ready = health::wait_ready(&self.http, &addresses, deployment.readiness.as_deref(), &health.path, health.timeout, deployment.app_port) => {
                ready.map_err(|error| (error.to_string(), None))
            }
            id = containers::first_exit(&docker, &instances) => {
                Err((format!("container {} stopped before it answered", short(&id)), Some(id)))
            }
        };
        if let Err((message, exited)) = ready {
            // The container that stopped, or else the first, says in its last lines why.
            let quoted = exited.or_else(|| instances.first().map(|i| i.container_id.clone()));
            let output = match &quoted {
                Some(id) => containers::last_logs(&docker, id, TAIL_LINES).await,
                None => String::new(),
            };
            containers::remove(&docker, &instances).await;
            return Err(DeployError::Unhealthy {
                message: with_output(message, &output),
            });
        }
        Ok(instances)
    }

    /// Removes a staged release's containers.
    pub async fn discard(&self, instances: &[Instance]) {
        match self.client().await {
            Ok(docker) => containers::remove(&docker, instances).await,
            Err(error) => {
                tracing::warn!(%error, "cannot remove a staged release; the reconciler will")
            }
        }
    }

    /// Points the router at `new`; the function's other containers keep running.
    pub async fn switch(&self, deployment: &Deployment, new: &[Instance]) -> SwitchedAway {
        let addresses: Vec<_> = new.iter().filter_map(|i| i.address).collect();
        let retired = self
            .routes
            .set(&deployment.function, addresses, deployment.spec.timeout);
        let old = match self.client().await {
            Ok(docker) => {
                match containers::list_function(&docker, &self.instance, &deployment.function).await
                {
                    Ok(all) => self
                        .without_draining(all)
                        .into_iter()
                        .filter(|i| i.release != deployment.release)
                        .collect(),
                    Err(error) => {
                        tracing::warn!(%error, function = deployment.function, "cannot list the old containers; the reconciler removes them");
                        Vec::new()
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, function = deployment.function, "cannot list the old containers; the reconciler removes them");
                Vec::new()
            }
        };
        SwitchedAway { retired, old }
    }

    /// The switch stands: the old containers finish their requests and go.
    pub async fn commit(&self, away: SwitchedAway) {
        if away.old.is_empty() {
            return;
        }
        match self.client().await {
            Ok(docker) => self.stop_when_drained(docker, away.retired, away.old),
            Err(error) => {
                tracing::warn!(%error, "cannot stop the old containers; the reconciler removes them")
            }
        }
    }

    /// The switch is undone: traffic goes back to the old containers, and `new` finishes its
    /// requests and goes.
    pub async fn revert(&self, deployment: &Deployment, new: Vec<Instance>, away: SwitchedAway) {
        let back: Vec<_> = away.old.iter().filter_map(|i| i.address).collect();
        let retired = if back.is_empty() {
            self.routes.clear(&deployment.function)
        } else {
            self.routes
                .set(&deployment.function, back, away.retired.timeout())
        };
        match self.client().await {
            Ok(docker) => self.stop_when_drained(docker, retired, new),
            Err(error) => {
                tracing::warn!(%error, "cannot remove the reverted release; the reconciler will")
            }
        }
    }

    /// See [`super::Runtime::prune_routes`].
    pub async fn prune_routes(&self, only: Option<&str>) -> Result<usize, RuntimeError> {
        let docker = self.client().await.map_err(RuntimeError::Unreachable)?;
        let running = containers::running_ips(&docker, &self.instance).await?;
        let mut pruned = 0;
        let functions = match only {
            Some(function) => vec![function.to_owned()],
            None => self.routes.functions(),
        };
        for function in functions {
            let own = running.get(&function);
            let retired = self.routes.retain(&function, |backend| match backend {
                crate::router::Backend::Replica(address) => {
                    own.is_some_and(|ips| ips.contains(&address.ip()))
                }
                // Not this runtime's: a route to a gateway is no container's.
                crate::router::Backend::Gateway(_) => false,
            });
            let taken = retired.backends();
            if !taken.is_empty() {
                tracing::warn!(function, backends = ?taken, "took backends that are no container of the function out of its route");
                pruned += taken.len();
            }
        }
        Ok(pruned)
    }

    /// A stream of the functions whose containers die or go, as the engine reports it; it
    /// ends when the engine's stream does (the engine stopped or restarted).
    pub async fn watch(
        &self,
    ) -> Result<
        futures_util::stream::BoxStream<'static, Result<Option<String>, bollard::errors::Error>>,
        EngineError,
    > {
        use futures_util::StreamExt;
        let docker = self.client().await?;
        let filters = HashMap::from([
            ("type", vec!["container".to_owned()]),
            (
                "label",
                vec![format!("{}={}", containers::INSTANCE_LABEL, self.instance)],
            ),
            (
                "event",
                vec!["die".to_owned(), "destroy".to_owned(), "stop".to_owned()],
            ),
        ]);
        let options = bollard::query_parameters::EventsOptionsBuilder::new()
            .filters(&filters)
            .build();
        Ok(docker
            .events(Some(options))
            .map(|event| {
                event.map(|event| {
                    event
                        .actor
                        .and_then(|actor| actor.attributes)
                        .and_then(|attributes| attributes.get(containers::FUNCTION_LABEL).cloned())
                })
            })
            .boxed())
    }

    /// See [`super::Runtime::scale`].
    pub async fn scale(&self, deployment: &Deployment) -> Result<Scaled, ScaleError> {
        let docker = self.client().await.map_err(ScaleError::Engine)?;
        let mine = containers::list_function(&docker, &self.instance, &deployment.function).await?;
        let mine = self.without_draining(mine);
        let (live, stale) = super::scale::sort_instances(&docker, deployment, mine).await;
        containers::remove(&docker, &stale).await;
        let was_serving = live.len();
        let serving = super::scale::converge(self, &docker, deployment, live).await?;
        Ok(Scaled {
            was_serving,
            serving: serving.len(),
            removed: stale.len() + was_serving.saturating_sub(serving.len()),
        })
    }

    /// See [`super::Runtime::list`].
    pub async fn list(&self) -> Result<Vec<Running>, RuntimeError> {
        let docker = self.client().await.map_err(RuntimeError::Unreachable)?;
        let mut running: Vec<Running> = Vec::new();
        for instance in containers::list(&docker, &self.instance).await? {
            match running
                .iter_mut()
                .find(|r| r.function == instance.function && r.release == instance.release)
            {
                Some(entry) => entry.replicas += 1,
                None => running.push(Running {
                    function: instance.function,
                    release: instance.release,
                    replicas: 1,
                }),
            }
        }
        // A network whose containers are gone still belongs to its function until removed.
        for function in super::network::FunctionNetworks::functions(&docker, &self.instance).await?
        {
            if !running.iter().any(|r| r.function == function) {
                running.push(Running {
                    function,
                    release: 0,
                    replicas: 0,
                });
            }
        }
        running.sort_by(|a, b| (&a.function, a.release).cmp(&(&b.function, b.release)));
        Ok(running)
    }

    /// See [`super::Runtime::logs`].
    pub async fn logs(
        &self,
        function: &FunctionName,
        lines: usize,
    ) -> Result<Vec<ReplicaLog>, RuntimeError> {
        let docker = self.client().await.map_err(RuntimeError::Unreachable)?;
        let mut mine =
            containers::list_function(&docker, &self.instance, function.as_str()).await?;
        mine.sort_by_key(|instance| (instance.release, instance.replica));
        let mut logs = Vec::with_capacity(mine.len());
        for instance in mine {
            logs.push(ReplicaLog {
                release: instance.release,
                replica: instance.replica,
                text: containers::last_logs(&docker, &instance.container_id, lines).await,
            });
        }
        Ok(logs)
    }

    /// See [`super::Runtime::remove`].
    pub async fn remove_function(&self, function: &FunctionName) -> Result<(), RuntimeError> {
        // Out of the router first; what it was answering finishes before the containers stop.
        self.routes.clear(function.as_str()).drained().await;
        let docker = self.client().await.map_err(RuntimeError::Unreachable)?;
        let mine = containers::list_function(&docker, &self.instance, function.as_str()).await?;
        containers::remove(&docker, &mine).await;
        super::network::FunctionNetworks::remove(&docker, &self.instance, function.as_str()).await;
        Ok(())
    }
}

//! Where functions run, behind one seam: [`Runtime`] deploys a release (start, wait until it
//! answers, switch the router, stop the old one), converges a release to its number of
//! replicas (scaling, and the reconciler's repairs), removes a function, says what runs and
//! what it printed, and tells the router where to send each function's requests. The docker
//! runtime runs containers on the engine that built the image; the OpenFaaS runtime deploys
//! through a gateway; the fake runtime serves tests that have no engine.

pub mod containers;
mod docker;
pub mod fake;
pub mod health;
pub mod network;
pub mod openfaas;
pub mod scale;
pub mod watchdog;

pub use containers::{Deployment, Instance, RuntimeError};
pub use docker::{DeployError, DockerRuntime};
pub use fake::FakeRuntime;
pub use openfaas::OpenFaasRuntime;
pub use scale::{ScaleError, Scaled};

use crate::domain::FunctionName;

/// The runtimes lmnop can deploy to. Closed: every caller handles each one.
#[derive(Debug)]
pub enum Runtime {
    Docker(DockerRuntime),
    /// Through an OpenFaaS gateway.
    OpenFaas(Box<OpenFaasRuntime>),
    /// In-process replicas, for tests where no engine runs.
    Fake(FakeRuntime),
}

impl Runtime {
    /// Starts the release, waits until every replica answers, points the router at it and
    /// stops the function's other releases. On failure nothing of the new release is left and
    /// the previous one keeps serving. A push goes through [`Self::stage`], [`Self::switch`]
    /// and [`Self::commit`] instead, with the record and the branch in between.
    pub async fn deploy(
        &self,
        deployment: &Deployment,
        previous: Option<Deployment>,
    ) -> Result<(), DeployError> {
        let staged = self.stage(deployment, previous).await?;
        let switched = self.switch(staged).await?;
        self.commit(switched).await;
        Ok(())
    }

    /// Whether the runtime can run `function` as `spec` asks, told before anything is built
    /// (the OpenFaaS Community Edition's limits), with notes for the pusher; the reason is for
    /// the pusher too.
    pub async fn admits(
        &self,
        function: &str,
        spec: &crate::spec::FunctionSpec,
    ) -> Result<Vec<String>, String> {
        match self {
            Self::OpenFaas(openfaas) => openfaas
                .admits(function, spec)
                .await
                .map_err(|error| error.to_string()),
            Self::Docker(_) | Self::Fake(_) => Ok(Vec::new()),
        }
    }

    /// Tells the runtime a secret's new value (`None`: it is deleted): the OpenFaaS gateway keeps
    /// its own copy; containers on the engine read lmnop's at their next start.
    pub async fn publish_secret(
        &self,
        name: &str,
        value: Option<&crate::domain::Secret>,
    ) -> Result<(), String> {
        match self {
            Self::OpenFaas(openfaas) => match value {
                Some(value) => openfaas.gateway().set_secret(name, value).await,
                None => openfaas.gateway().delete_secret(name).await,
            }
            .map_err(|error| error.to_string()),
            Self::Docker(_) | Self::Fake(_) => Ok(()),
        }
    }

    /// Whether `image` can still be run (a rollback runs an earlier release's): on the engine for
    /// the docker runtime, in the registry for OpenFaaS. The reason when it cannot.
    pub async fn image_available(&self, image: &str) -> Result<(), String> {
        if image.is_empty() {
            return Err("the release has no image".to_owned());
        }
        match self {
            Self::Docker(docker) => {
                let client = docker.client().await.map_err(|error| error.to_string())?;
                match client.inspect_image(image).await {
                    Ok(_) => Ok(()),
                    Err(bollard::errors::Error::DockerResponseServerError {
                        status_code: 404,
                        ..
                    }) => Err(format!("{image} is no longer on the engine")),
                    Err(error) => Err(format!("cannot look {image} up on the engine: {error}")),
                }
            }
            Self::OpenFaas(openfaas) => openfaas
                .image_in_registry(image)
                .await
                .map_err(|error| error.to_string()),
            Self::Fake(_) => Ok(()),
        }
    }

    /// Starts the release and waits until every replica answers; no traffic reaches it yet
    /// (the OpenFaaS runtime, which cannot run two releases of a function side by side, checks
    /// what the deploy needs instead). On failure nothing of it is left. `previous` is what
    /// serves now, put back if the switch is undone.
    pub async fn stage(
        &self,
        deployment: &Deployment,
        previous: Option<Deployment>,
    ) -> Result<Staged, DeployError> {
        let replicas = match self {
            Self::Docker(docker) => StagedReplicas::Docker(docker.stage(deployment).await?),
            Self::OpenFaas(openfaas) => {
                openfaas.stage(deployment).await?;
                StagedReplicas::OpenFaas
            }
            Self::Fake(fake) => StagedReplicas::Fake(fake.stage(deployment).await?),
        };
        Ok(Staged {
            deployment: deployment.clone(),
            previous,
            replicas,
        })
    }

    /// Removes a staged release that will not serve.
    pub async fn discard(&self, staged: Staged) {
        match (self, staged.replicas) {
            (Self::Docker(docker), StagedReplicas::Docker(instances)) => {
                docker.discard(&instances).await;
            }
            (_, replicas) => drop(replicas),
        }
    }

    /// Points the router at a staged release. The function's other releases keep running
    /// until [`Self::commit`] lets them finish their requests and go, or [`Self::revert`] moves
    /// the traffic back to them. Only the OpenFaaS runtime can fail here (it deploys now, and
    /// the new version may never answer); it has put the previous release back when it does.
    pub async fn switch(&self, staged: Staged) -> Result<Switched, DeployError> {
        let Staged {
            deployment,
            previous,
            replicas,
        } = staged;
        let away = match (self, replicas) {
            (Self::Docker(docker), StagedReplicas::Docker(instances)) => {
                let away = docker.switch(&deployment, &instances).await;
                Away::Docker(instances, away)
            }
            (Self::OpenFaas(openfaas), StagedReplicas::OpenFaas) => {
                openfaas.switch(&deployment, previous.as_ref()).await?;
                Away::OpenFaas
            }
            (Self::Fake(fake), StagedReplicas::Fake(replicas)) => {
                Away::Fake(fake.switch(&deployment, replicas))
            }
            _ => unreachable!("a release is staged and switched by the same runtime"),
        };
        Ok(Switched {
            deployment,
            previous,
            away,
        })
    }

    /// The switch stands: the old releases finish their requests and go.
    pub async fn commit(&self, switched: Switched) {
        match (self, switched.away) {
            (Self::Docker(docker), Away::Docker(_, away)) => docker.commit(away).await,
            // Deployed in place: nothing else runs.
            (Self::OpenFaas(_), Away::OpenFaas) => {}
            (Self::Fake(fake), Away::Fake(away)) => fake.commit(away),
            _ => unreachable!("a release is switched and committed by the same runtime"),
        }
    }

    /// The switch is undone: traffic goes back to the old release (none: the function has no
    /// route), and the new one finishes its requests and goes.
    pub async fn revert(&self, switched: Switched) {
        let Switched {
            deployment,
            previous,
            away,
        } = switched;
        match (self, away) {
            (Self::Docker(docker), Away::Docker(new, away)) => {
                docker.revert(&deployment, new, away).await;
            }
            (Self::OpenFaas(openfaas), Away::OpenFaas) => {
                openfaas.undo(&deployment, previous.as_ref()).await;
            }
            (Self::Fake(fake), Away::Fake(away)) => fake.revert(&deployment, away),
            _ => unreachable!("a release is switched and reverted by the same runtime"),
        }
    }

    /// Brings the release to `deployment.replicas` healthy replicas: what stopped or belongs to
    /// another release goes, missing replicas start and serve once healthy, and the router
    /// learns the serving ones (after a restart it knows none). Scaling and the reconciler's
    /// repairs both come here.
    pub async fn scale(&self, deployment: &Deployment) -> Result<Scaled, ScaleError> {
        match self {
            Self::Docker(docker) => docker.scale(deployment).await,
            Self::OpenFaas(openfaas) => Ok(openfaas.scale(deployment).await?),
            Self::Fake(fake) => fake.scale(deployment).await,
        }
    }

    /// Every function this installation runs something of, with its release and count.
    pub async fn list(&self) -> Result<Vec<Running>, RuntimeError> {
        match self {
            Self::Docker(docker) => docker.list().await,
            Self::OpenFaas(openfaas) => Ok(openfaas.list().await?),
            Self::Fake(fake) => Ok(fake.list()),
        }
    }

    /// The last `lines` lines each replica of `function` wrote, oldest replica first.
    pub async fn logs(
        &self,
        function: &FunctionName,
        lines: usize,
    ) -> Result<Vec<ReplicaLog>, RuntimeError> {
        match self {
            Self::Docker(docker) => docker.logs(function, lines).await,
            Self::OpenFaas(openfaas) => Ok(openfaas.logs(function, lines).await?),
            Self::Fake(fake) => Ok(fake.logs(function)),
        }
    }

    /// Stops and forgets everything the function runs.
    pub async fn remove(&self, function: &FunctionName) -> Result<(), RuntimeError> {
        match self {
            Self::Docker(docker) => docker.remove_function(function).await,
            Self::OpenFaas(openfaas) => Ok(openfaas.remove(function).await?),
            Self::Fake(fake) => {
                fake.remove(function).await;
                Ok(())
            }
        }
    }

    /// Takes every backend out of the router that is not a running container of its own
    /// function (after an engine restart, an address the router knew may belong to another
    /// function's new container). Returns how many went. `only` limits it to one function.
    pub async fn prune_routes(&self, only: Option<&str>) -> Result<usize, RuntimeError> {
        match self {
            Self::Docker(docker) => docker.prune_routes(only).await,
            // The gateway is the one backend: nothing the engine could hand to another.
            Self::OpenFaas(_) | Self::Fake(_) => Ok(0),
        }
    }

    /// The functions whose containers die or go, as they do (docker); `None` when the runtime
    /// has nothing to watch.
    pub async fn watch(
        &self,
    ) -> Result<
        Option<
            futures_util::stream::BoxStream<
                'static,
                Result<Option<String>, bollard::errors::Error>,
            >,
        >,
        crate::engine::EngineError,
    > {
        match self {
            Self::Docker(docker) => docker.watch().await.map(Some),
            Self::OpenFaas(_) | Self::Fake(_) => Ok(None),
        }
    }

    /// Whether what runs the functions answers (the fake one always does), and why not.
    pub async fn ping(&self) -> Result<(), String> {
        match self {
            Self::Docker(docker) => docker.ping().await.map_err(|error| error.to_string()),
            Self::OpenFaas(openfaas) => openfaas.ping().await.map_err(|error| error.to_string()),
            Self::Fake(_) => Ok(()),
        }
    }

    /// What runs the functions, as `/healthz` names it.
    pub fn part(&self) -> &'static str {
        match self {
            Self::Docker(_) | Self::Fake(_) => "engine",
            Self::OpenFaas(_) => "gateway",
        }
    }

    /// What runs the functions and where, for messages: `the Docker engine at unix://…`.
    pub fn place(&self) -> String {
        match self {
            Self::Docker(docker) => format!("the Docker engine at {}", docker.host()),
            Self::OpenFaas(openfaas) => {
                format!("the OpenFaaS gateway at {}", openfaas.gateway().url())
            }
            Self::Fake(_) => "the fake runtime".to_owned(),
        }
    }

    /// The fake runtime, for tests that look at what it runs.
    pub fn fake(&self) -> Option<&FakeRuntime> {
        match self {
            Self::Docker(_) | Self::OpenFaas(_) => None,
            Self::Fake(fake) => Some(fake),
        }
    }
}

/// A release whose replicas answer but get no traffic yet.
#[derive(Debug)]
pub struct Staged {
    deployment: Deployment,
    /// What served before, put back if the switch is undone.
    previous: Option<Deployment>,
    replicas: StagedReplicas,
}

#[derive(Debug)]
enum StagedReplicas {
    Docker(Vec<Instance>),
    /// Checked, not deployed: the gateway runs one release of a function at a time.
    OpenFaas,
    Fake(fake::FakeStaged),
}

/// A release that traffic was moved to, the old one still running.
#[derive(Debug)]
pub struct Switched {
    deployment: Deployment,
    previous: Option<Deployment>,
    away: Away,
}

#[derive(Debug)]
enum Away {
    /// The new containers, and what the switch moved traffic away from.
    Docker(Vec<Instance>, docker::SwitchedAway),
    /// Deployed in place at the gateway.
    OpenFaas,
    Fake(fake::FakeSwitched),
}

/// What runs of one release of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub function: String,
    pub release: i64,
    /// Replicas, started or stopped.
    pub replicas: usize,
}

/// What one replica wrote last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLog {
    pub release: i64,
    pub replica: u32,
    pub text: String,
}

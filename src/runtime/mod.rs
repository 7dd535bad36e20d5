//! Where functions run, behind one seam: [`Runtime`] deploys a release (start, wait until it
//! answers, switch the router, stop the old one), converges a release to its number of
//! replicas (scaling, and the reconciler's repairs), removes a function, says what runs and
//! what it printed, and tells the router where to send each function's requests. The docker
//! runtime runs containers on the engine that built the image; the OpenFaaS runtime is to come
//! as another variant; the fake runtime serves tests that have no engine.

pub mod containers;
mod docker;
pub mod fake;
pub mod health;
pub mod network;
pub mod scale;
pub mod watchdog;

pub use containers::{Deployment, Instance, RuntimeError};
pub use docker::{DeployError, DockerRuntime};
pub use fake::FakeRuntime;
pub use scale::{ScaleError, Scaled};

use crate::domain::FunctionName;

/// The runtimes lmnop can deploy to. Closed: every caller handles each one.
#[derive(Debug)]
pub enum Runtime {
    Docker(DockerRuntime),
    /// In-process replicas, for tests where no engine runs.
    Fake(FakeRuntime),
}

impl Runtime {
    /// Starts the release, waits until every replica answers, points the router at it and
    /// stops the function's other releases. On failure nothing of the new release is left and
    /// the previous one keeps serving.
    pub async fn deploy(&self, deployment: &Deployment) -> Result<(), DeployError> {
        match self {
            Self::Docker(docker) => docker.deploy(deployment).await,
            Self::Fake(fake) => fake.deploy(deployment).await,
        }
    }

    /// Brings the release to `deployment.replicas` healthy replicas: what stopped or belongs to
    /// another release goes, missing replicas start and serve once healthy, and the router
    /// learns the serving ones (after a restart it knows none). Scaling and the reconciler's
    /// repairs both come here.
    pub async fn scale(&self, deployment: &Deployment) -> Result<Scaled, ScaleError> {
        match self {
            Self::Docker(docker) => docker.scale(deployment).await,
            Self::Fake(fake) => fake.scale(deployment).await,
        }
    }

    /// Every function this installation runs something of, with its release and count.
    pub async fn list(&self) -> Result<Vec<Running>, RuntimeError> {
        match self {
            Self::Docker(docker) => docker.list().await,
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
            Self::Fake(fake) => Ok(fake.logs(function)),
        }
    }

    /// Stops and forgets everything the function runs.
    pub async fn remove(&self, function: &FunctionName) -> Result<(), RuntimeError> {
        match self {
            Self::Docker(docker) => docker.remove_function(function).await,
            Self::Fake(fake) => {
                fake.remove(function).await;
                Ok(())
            }
        }
    }

    /// The fake runtime, for tests that look at what it runs.
    pub fn fake(&self) -> Option<&FakeRuntime> {
        match self {
            Self::Docker(_) => None,
            Self::Fake(fake) => Some(fake),
        }
    }
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

//! Where functions run, behind one seam: [`Runtime`] deploys a release (start, wait until it
//! answers, switch the router, stop the old one), scales it, removes a function, and says what
//! runs. The docker runtime runs containers on the engine that built the image; the OpenFaaS
//! runtime is to come as another variant; the fake runtime serves tests that have no engine.

pub mod containers;
mod docker;
pub mod fake;
pub mod health;
pub mod reconcile;
pub mod scale;

pub use containers::{Deployment, Instance, RuntimeError};
pub use docker::{DeployError, DockerRuntime};
pub use fake::FakeRuntime;

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

    /// Brings the release's replicas to `deployment.replicas`; new ones serve once healthy.
    pub async fn scale(&self, deployment: &Deployment) -> Result<(), scale::ScaleError> {
        match self {
            Self::Docker(docker) => docker.scale(deployment).await,
            Self::Fake(fake) => fake.scale(deployment).await,
        }
    }

    /// Stops and forgets everything the function runs.
    pub async fn remove(&self, function: &FunctionName) -> Result<(), RuntimeError> {
        match self {
            Self::Docker(docker) => docker.remove_function(function).await,
            Self::Fake(fake) => {
                fake.remove(function);
                Ok(())
            }
        }
    }

    /// The docker runtime, for what only it can do (the reconciler's container pass).
    pub fn docker(&self) -> Option<&DockerRuntime> {
        match self {
            Self::Docker(docker) => Some(docker),
            Self::Fake(_) => None,
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

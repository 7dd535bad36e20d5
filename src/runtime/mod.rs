//! Where functions run, behind one seam: [`Runtime`] deploys a release (start, wait until it
//! answers, switch the router, stop the old one), scales it, removes a function, and says what
//! runs. The docker runtime runs containers on the engine that built the image; the OpenFaaS
//! runtime is to come as a second variant.

pub mod containers;
mod docker;
pub mod health;
pub mod reconcile;
pub mod scale;

pub use containers::{Deployment, Instance, RuntimeError};
pub use docker::{DeployError, DockerRuntime};

use crate::domain::FunctionName;

/// The runtimes lmnop can deploy to. Closed: every caller handles each one.
#[derive(Debug)]
pub enum Runtime {
    Docker(DockerRuntime),
}

impl Runtime {
    /// Starts the release, waits until every replica answers, points the router at it and
    /// stops the function's other releases. On failure nothing of the new release is left and
    /// the previous one keeps serving.
    pub async fn deploy(&self, deployment: &Deployment) -> Result<(), DeployError> {
        match self {
            Self::Docker(docker) => docker.deploy(deployment).await,
        }
    }

    /// Brings the release's replicas to `deployment.replicas`; new ones serve once healthy.
    pub async fn scale(&self, deployment: &Deployment) -> Result<(), scale::ScaleError> {
        match self {
            Self::Docker(docker) => docker.scale(deployment).await,
        }
    }

    /// Stops and forgets everything the function runs.
    pub async fn remove(&self, function: &FunctionName) -> Result<(), RuntimeError> {
        match self {
            Self::Docker(docker) => docker.remove_function(function).await,
        }
    }

    /// The docker runtime, for what only it can do (the reconciler's container pass).
    pub fn docker(&self) -> Option<&DockerRuntime> {
        match self {
            Self::Docker(docker) => Some(docker),
        }
    }
}

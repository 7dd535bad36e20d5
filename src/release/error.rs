//! Why a release failed, typed: the step that failed and its cause, for the pusher's output,
//! the release's record and (next) the release page and rollback.

use crate::build::builder::{BuildError, PublishError};
use crate::runtime::DeployError;

/// The steps of a release, in order, as the pusher and the release record name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Build,
    RegistryPush,
    Deploy,
    HealthCheck,
}

impl Step {
    /// The step's name in `git push` output and in a failed release's error.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::RegistryPush => "registry push",
            Self::Deploy => "deploy",
            Self::HealthCheck => "health check",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed release: the previous one keeps serving. Displays what went wrong; [`Self::step`]
/// says where, and [`Self::record`] says both, as the release keeps it.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("{0}")]
    Build(BuildError),
    #[error("{error} (registry {registry})")]
    Publish {
        registry: String,
        error: PublishError,
    },
    #[error("{0}")]
    Deploy(DeployError),
}

fn deploy_step(error: &DeployError) -> Step {
    match error {
        DeployError::Engine(_)
        | DeployError::Start(_)
        | DeployError::Database(_)
        | DeployError::OpenFaas(_) => Step::Deploy,
        DeployError::Unhealthy { .. } => Step::HealthCheck,
    }
}

impl ReleaseError {
    /// The step that failed.
    pub fn step(&self) -> Step {
        match self {
            Self::Build(_) => Step::Build,
            Self::Publish { .. } => Step::RegistryPush,
            Self::Deploy(error) => deploy_step(error),
        }
    }

    /// `STEP: what went wrong`, as a failed release records it.
    pub fn record(&self) -> String {
        format!("{}: {self}", self.step())
    }
}

impl From<BuildError> for ReleaseError {
    fn from(error: BuildError) -> Self {
        Self::Build(error)
    }
}

impl From<DeployError> for ReleaseError {
    fn from(error: DeployError) -> Self {
        Self::Deploy(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_error_names_its_step_once() {
        let unhealthy = ReleaseError::from(DeployError::Unhealthy {
            message: "timed out after 5s".to_owned(),
        });
        assert_eq!(unhealthy.step(), Step::HealthCheck);
        assert_eq!(
            unhealthy.record(),
            "health check: the new version did not become healthy: timed out after 5s"
        );
        let build = ReleaseError::from(BuildError::Fake("no Dockerfile".to_owned()));
        assert_eq!(build.step(), Step::Build);
        assert_eq!(build.record(), "build: no Dockerfile");
        let shown = format!("{:#}", anyhow::Error::from(build));
        assert_eq!(
            shown, "no Dockerfile",
            "the cause is shown once, not also as a source"
        );
    }
}

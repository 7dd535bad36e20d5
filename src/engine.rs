//! The Docker engine that builds images (and, with the docker runtime, runs functions): one
//! client, its API version negotiated on first use, because engines as old as API 1.41 are
//! common and a client that asks for a newer version is refused.

use std::time::Duration;

use bollard::Docker;
use tokio::sync::OnceCell;

/// How long to wait for the engine to answer the version negotiation.
const NEGOTIATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the engine could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the Docker engine at {host}: {message}; start it or point DOCKER_HOST at it"
    )]
    Unreachable { host: String, message: String },
}

/// A lazily connected engine client. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Engine {
    client: OnceCell<Docker>,
}

impl Engine {
    /// The client, connecting and negotiating the API version the first time.
    pub async fn client(&self) -> Result<Docker, EngineError> {
        self.client
            .get_or_try_init(|| async {
                let unreachable = |message: String| EngineError::Unreachable {
                    host: crate::doctor::docker_host(),
                    message,
                };
                let docker =
                    Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
                match tokio::time::timeout(NEGOTIATE_TIMEOUT, docker.negotiate_version()).await {
                    Ok(Ok(docker)) => Ok(docker),
                    Ok(Err(error)) => Err(unreachable(error.to_string())),
                    Err(_) => Err(unreachable(format!(
                        "no answer within {}s",
                        NEGOTIATE_TIMEOUT.as_secs()
                    ))),
                }
            })
            .await
            .cloned()
    }
}

//! The Docker engine that builds images (and, with the docker runtime, runs functions): one
//! client, its API version negotiated on first use, because engines as old as API 1.41 are
//! common and a client that asks for a newer version is refused.

use std::time::Duration;

use bollard::Docker;
use tokio::sync::OnceCell;

/// How long to wait for the engine to answer the version negotiation.
const NEGOTIATE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the engine listens: `DOCKER_HOST`, a setting like the others (`unix:///PATH`,
/// `tcp://HOST:PORT` or `http://HOST:PORT`), the local socket when unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerHost(String);

impl DockerHost {
    /// The engine's usual socket.
    pub const LOCAL_SOCKET: &str = "unix:///var/run/docker.sock";

    pub fn new(host: Option<String>) -> Self {
        Self(
            host.filter(|host| !host.is_empty())
                .unwrap_or_else(|| Self::LOCAL_SOCKET.to_owned()),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A client for this host (nothing is sent until the first call).
    pub fn connect(&self) -> Result<Docker, bollard::errors::Error> {
        /// Seconds a call to the engine may take (bollard's own default).
        const TIMEOUT_SECONDS: u64 = 120;
        let host = self.as_str();
        if host.starts_with("unix://") {
            Docker::connect_with_unix(host, TIMEOUT_SECONDS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, TIMEOUT_SECONDS, bollard::API_DEFAULT_VERSION)
        } else {
            Err(bollard::errors::Error::UnsupportedURISchemeError {
                uri: host.to_owned(),
            })
        }
    }
}

impl Default for DockerHost {
    fn default() -> Self {
        Self::new(None)
    }
}

impl std::fmt::Display for DockerHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An engine call's failure as a person reads it: one that never reached the engine says so, with
/// the cause at the bottom of the client's error chain (`Connection refused`, not the HTTP
/// client's wrapper) and what to do; any other is the engine's own answer. Where the engine is
/// (`DOCKER_HOST`) is for the caller to add, who knows which engine it asked.
pub struct EngineFailure<'a>(pub &'a bollard::errors::Error);

impl std::fmt::Display for EngineFailure<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use bollard::errors::Error;
        let unreached = matches!(
            self.0,
            Error::HyperLegacyError { .. }
                | Error::IOError { .. }
                | Error::RequestTimeoutError
                | Error::SocketNotFoundError(_)
                | Error::HyperResponseError { .. }
        );
        if unreached {
            let mut cause: &dyn std::error::Error = self.0;
            while let Some(source) = cause.source() {
                cause = source;
            }
            write!(
                f,
                "cannot reach the Docker engine ({cause}); start it or point DOCKER_HOST at it"
            )
        } else {
            write!(f, "the Docker engine failed: {}", self.0)
        }
    }
}

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
    host: DockerHost,
    client: OnceCell<Docker>,
}

impl Engine {
    pub fn new(host: DockerHost) -> Self {
        Self {
            host,
            client: OnceCell::new(),
        }
    }

    /// Where the engine is (`unix:///var/run/docker.sock`).
    pub fn host(&self) -> &DockerHost {
        &self.host
    }

    /// The client, connecting and negotiating the API version the first time.
    pub async fn client(&self) -> Result<Docker, EngineError> {
        self.client
            .get_or_try_init(|| async {
                let unreachable = |message: String| EngineError::Unreachable {
                    host: self.host.to_string(),
                    message,
                };
                let docker = self
                    .host
                    .connect()
                    .map_err(|e| unreachable(e.to_string()))?;
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

    /// One round trip to the engine.
    pub async fn ping(&self) -> Result<(), EngineError> {
        let docker = self.client().await?;
        docker
            .ping()
            .await
            .map(drop)
            .map_err(|error| EngineError::Unreachable {
                host: self.host.to_string(),
                message: error.to_string(),
            })
    }
}

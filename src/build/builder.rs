//! The build seam: [`Builder`] builds a release's image and publishes it to the registry. The
//! Docker builder is the real one; the fake one builds nothing, so the release pipeline can be
//! tested where no engine runs.

use std::sync::Arc;

use super::image::{self, BuildFailure, BuildInput, Built, Origin};
use super::registry::{self, PushError, Pushed};
use crate::config::RegistryConfig;
use crate::engine::{Engine, EngineError};

/// The file whose presence in a pushed tree makes the fake builder fail, as a failing `RUN`
/// step would.
pub const FAKE_FAILING_FILE: &str = "fake-build-fails";

/// The file whose presence makes the fake builder take as many seconds as it says (at most 60),
/// so a test can do something to lmnop mid-build.
pub const FAKE_SLOW_FILE: &str = "fake-build-seconds";

/// What builds images. Closed: every caller handles each one.
#[derive(Debug)]
pub enum Builder {
    /// Builds on the engine through its API, streaming every line.
    Docker(Arc<Engine>),
    /// Builds nothing: names an image after the tree and fails only when the tree holds
    /// [`FAKE_FAILING_FILE`]. For tests of the pipeline around the build.
    Fake,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Engine(EngineError),
    #[error("{0}")]
    Build(BuildFailure),
    #[error("{0}")]
    Fake(String),
}

/// Why an image could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Engine(EngineError),
    #[error("{0}")]
    Push(PushError),
}

impl Builder {
    /// Builds (or reuses) the image of `input`, handing each output line to `on_line`.
    pub async fn build(
        &self,
        input: &BuildInput,
        on_line: impl FnMut(&str),
    ) -> Result<Built, BuildError> {
        match self {
            Self::Docker(engine) => {
                let docker = engine.client().await.map_err(BuildError::Engine)?;
                image::build(&docker, input, on_line)
                    .await
                    .map_err(BuildError::Build)
            }
            Self::Fake => fake_build(input, on_line).await,
        }
    }

    /// Pushes `image` to `registry`.
    pub async fn publish(
        &self,
        registry: &RegistryConfig,
        image: &str,
        on_line: impl FnMut(&str),
    ) -> Result<Pushed, PublishError> {
        match self {
            Self::Docker(engine) => {
                let docker = engine.client().await.map_err(PublishError::Engine)?;
                registry::push(&docker, registry, image, on_line)
                    .await
                    .map_err(PublishError::Push)
            }
            Self::Fake => {
                let key = hex::encode(sha2::Sha256::digest(image.as_bytes()));
                Ok(Pushed {
                    digest: format!("sha256:{key}"),
                    uploaded: 1,
                    present: 0,
                })
            }
        }
    }
}

use sha2::Digest;

async fn fake_build(
    input: &BuildInput,
    mut on_line: impl FnMut(&str),
) -> Result<Built, BuildError> {
    let image = format!(
        "{}/{}:{}",
        input.repository_prefix, input.function, input.commit
    );
    let (repo, quarantine, tree) = (input.repo.clone(), input.quarantine.clone(), input.tree);
    let (fails, seconds) = tokio::task::spawn_blocking(move || {
        let objects = crate::git::objects::PushedObjects::open(&repo, &quarantine)?;
        let fails = objects.entry(tree, FAKE_FAILING_FILE)?.is_some();
        let seconds = match objects.entry(tree, FAKE_SLOW_FILE)? {
            Some(entry) => objects
                .blob(entry.id, 64)?
                .and_then(|bytes| String::from_utf8_lossy(&bytes).trim().parse::<u64>().ok())
                .unwrap_or(0),
            None => 0,
        };
        Ok::<_, crate::git::objects::ObjectError>((fails, seconds.min(60)))
    })
    .await
    .map_err(|error| BuildError::Fake(error.to_string()))?
    .map_err(|error| BuildError::Fake(error.to_string()))?;
    on_line(&format!("fake build of {image}"));
    if seconds > 0 {
        on_line(&format!("{FAKE_SLOW_FILE}: taking {seconds}s"));
        tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    }
    if fails {
        on_line(&format!("{FAKE_FAILING_FILE} is in the tree"));
        return Err(BuildError::Fake("a RUN step exited with code 1".to_owned()));
    }
    Ok(Built {
        image_id: format!("fake:{}", input.tree),
        image,
        origin: Origin::Built(super::context::ContextSummary::default()),
    })
}

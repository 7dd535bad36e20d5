//! Running a Docker build through bollard: the context streams in, every log line streams out
//! as it comes, and an error inside the stream is a failure even though the engine answered 200.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The build ran and a step failed; the message is Docker's.
    #[error("{0}")]
    Step(String),
    /// The engine could not be reached or broke off.
    #[error("the Docker engine failed: {0}")]
    Engine(#[from] bollard::errors::Error),
    /// The build ended without naming an image.
    #[error("the build ended without producing an image")]
    NoImage,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Tag for the result, `REPOSITORY:TAG`.
    pub tag: String,
    /// Path of the Dockerfile inside the context.
    pub dockerfile: String,
    pub build_args: HashMap<String, String>,
    pub labels: HashMap<String, String>,
}

/// Builds the image and returns its id (`sha256:…`). `on_line` sees every log line.
pub async fn build_image(
    docker: &Docker,
    request: &BuildRequest,
    context: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    mut on_line: impl FnMut(&str),
) -> Result<String, BuildError> {
    let options = BuildImageOptionsBuilder::new()
        .dockerfile(&request.dockerfile)
        .t(&request.tag)
        .buildargs(&request.build_args)
        .labels(&request.labels)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_try_stream(context)));
    let mut image_id = None;
    let mut partial = String::new();
    while let Some(item) = stream.next().await {
        let info = item?;
        if let Some(detail) = info.error_detail.as_ref().and_then(|d| d.message.clone()) {
            return Err(BuildError::Step(detail));
        }
        if let Some(error) = info.error {
            return Err(BuildError::Step(error));
        }
        if let Some(text) = info.stream.as_deref() {
            partial.push_str(text);
            while let Some(end) = partial.find('\n') {
                let line: String = partial.drain(..=end).collect();
                on_line(line.trim_end());
            }
        }
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            image_id = Some(id);
        }
    }
    if !partial.trim().is_empty() {
        on_line(partial.trim_end());
    }
    image_id.ok_or(BuildError::NoImage)
}

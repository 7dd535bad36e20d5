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
    #[error("{}", crate::engine::EngineFailure(.0))]
    Engine(bollard::errors::Error),
    /// The build ended without naming an image.
    #[error("the build ended without producing an image")]
    NoImage,
}

impl From<bollard::errors::Error> for BuildError {
    fn from(error: bollard::errors::Error) -> Self {
        Self::Engine(error)
    }
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
        let info = match item {
            Ok(info) => info,
            // bollard turns an `error` in the stream into this: a step failed, not the engine.
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(BuildError::Step(step_failure(&error)));
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(detail) = info.error_detail.as_ref().and_then(|d| d.message.clone()) {
            return Err(BuildError::Step(step_failure(&detail)));
        }
        if let Some(error) = info.error {
            return Err(BuildError::Step(step_failure(&error)));
        }
        if let Some(text) = info.stream.as_deref() {
            partial.push_str(text);
            while let Some(end) = partial.find('\n') {
                let line: String = partial.drain(..=end).collect();
                on_line(&plain(line.trim_end()));
            }
        }
        if let Some(id) = info.aux.and_then(|aux| aux.id) {
            image_id = Some(id);
        }
    }
    if !partial.trim().is_empty() {
        on_line(&plain(partial.trim_end()));
    }
    image_id.ok_or(BuildError::NoImage)
}

/// A build line without terminal escapes (the engine colours a step's stderr) or other control
/// characters, which would garble the pusher's terminal and the stored log.
fn plain(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.peek() == Some(&'[') {
                chars.next();
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
        } else if c == '\t' || !c.is_control() {
            out.push(c);
        }
    }
    out
}

/// Docker's message for a failed `RUN` quotes the whole command; the pusher has just seen it
/// in the step line, so only the exit code is kept.
fn step_failure(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("The command '") {
        if let Some((_, code)) = rest.rsplit_once("' returned a non-zero code: ") {
            return format!("a RUN step exited with code {}", code.trim());
        }
    }
    plain(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_lines_lose_colours_and_control_characters() {
        assert_eq!(plain("\u{1b}[91mERROR: no\u{1b}[0m"), "ERROR: no");
        assert_eq!(plain("a\tb\rc\u{7}"), "a\tbc");
        assert_eq!(plain("plain"), "plain");
    }

    #[test]
    fn a_failed_run_step_is_named_by_its_exit_code() {
        assert_eq!(
            step_failure(
                "The command '/bin/sh -c set -e; make \\\n  all' returned a non-zero code: 2"
            ),
            "a RUN step exited with code 2"
        );
        assert_eq!(
            step_failure("pull access denied for x"),
            "pull access denied for x"
        );
    }
}

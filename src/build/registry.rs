//! Pushing a built image to the operator's registry through the engine, with credentials that
//! never reach a log, and the digest the registry gave it.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::auth::DockerCredentials;
use bollard::query_parameters::PushImageOptionsBuilder;
use futures_util::StreamExt;

use crate::config::RegistryConfig;

/// How often a push in progress reports itself.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The registry refused or broke off; the message is the engine's.
    #[error("{0}")]
    Refused(String),
    #[error("{}", crate::engine::EngineFailure(.0))]
    Engine(bollard::errors::Error),
    #[error("the registry accepted {0} but named no digest for it")]
    NoDigest(String),
}

impl From<bollard::errors::Error> for PushError {
    fn from(error: bollard::errors::Error) -> Self {
        Self::Engine(error)
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:…`, the manifest digest the registry stored.
    pub digest: String,
    /// Layers uploaded by this push.
    pub uploaded: usize,
    /// Layers the registry already had.
    pub present: usize,
}

/// Layer states counted from the engine's push stream (it names no layer ids through the API
/// types, so the counts come from the statuses each layer passes through).
#[derive(Debug, Default)]
struct Tally {
    layers: usize,
    uploaded: usize,
    present: usize,
    digest: Option<String>,
}

impl Tally {
    fn see(&mut self, status: &str) {
        match status {
            "Preparing" => self.layers += 1,
            "Pushed" => self.uploaded += 1,
            "Layer already exists" => self.present += 1,
            _ => {
                if let Some(digest) = digest_in(status) {
                    self.digest = Some(digest);
                }
            }
        }
    }

    fn summary(&self) -> String {
        format!(
            "{} of {} layers done ({} uploaded, {} already there)",
            self.uploaded + self.present,
            self.layers,
            self.uploaded,
            self.present
        )
    }
}

/// The digest in the engine's closing status, `TAG: digest: sha256:… size: N`.
fn digest_in(status: &str) -> Option<String> {
    let rest = status.split_once("digest: ")?.1;
    let digest = rest.split_whitespace().next()?;
    (digest.starts_with("sha256:") && digest.len() == 71).then(|| digest.to_owned())
}

/// The credentials the engine hands the registry; none when no user is configured.
fn credentials(registry: &RegistryConfig) -> Option<DockerCredentials> {
    let user = registry.user.as_ref()?;
    Some(DockerCredentials {
        username: Some(user.clone()),
        password: registry.password.as_ref().map(|p| p.expose().to_owned()),
        serveraddress: Some(registry.host().to_owned()),
        ..Default::default()
    })
}

/// Pushes `image` (`REGISTRY/NAME:TAG`, already built on `docker`). `on_line` gets a progress
/// line every couple of seconds and one when done.
pub async fn push(
    docker: &Docker,
    registry: &RegistryConfig,
    image: &str,
    mut on_line: impl FnMut(&str),
) -> Result<Pushed, PushError> {
    let (repository, tag) = image
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .unwrap_or((image, "latest"));
    let options = PushImageOptionsBuilder::new().tag(tag).build();
    let mut stream = docker.push_image(repository, Some(options), credentials(registry));
    let mut tally = Tally::default();
    let mut last_report = Instant::now();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(PushError::Refused(error));
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(message) = info.error_detail.and_then(|detail| detail.message) {
            return Err(PushError::Refused(message));
        }
        if let Some(status) = info.status {
            tally.see(&status);
        }
        if last_report.elapsed() >= PROGRESS_EVERY {
            on_line(&format!("pushing: {}", tally.summary()));
            last_report = Instant::now();
        }
    }
    let digest = match tally.digest.take() {
        Some(digest) => digest,
        None => repo_digest(docker, image, registry).await?,
    };
    on_line(&format!("pushed: {}", tally.summary()));
    Ok(Pushed {
        digest,
        uploaded: tally.uploaded,
        present: tally.present,
    })
}

/// The digest the engine recorded for the image in this registry, when the stream named none.
async fn repo_digest(
    docker: &Docker,
    image: &str,
    registry: &RegistryConfig,
) -> Result<String, PushError> {
    let inspected = docker.inspect_image(image).await?;
    let prefix = format!("{}/", registry.host());
    inspected
        .repo_digests
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(&prefix))
        .find_map(|name| name.split_once('@').map(|(_, digest)| digest.to_owned()))
        .ok_or_else(|| PushError::NoDigest(image.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_status_names_the_digest() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            digest_in(&format!("abc123: digest: {digest} size: 1572")),
            Some(digest)
        );
        assert_eq!(digest_in("Pushed"), None);
        assert_eq!(digest_in("digest: sha256:short size: 1"), None);
    }

    #[test]
    fn layers_are_counted_by_status() {
        let mut tally = Tally::default();
        for status in [
            "The push refers to repository [127.0.0.1:5000/x]",
            "Preparing",
            "Preparing",
            "Preparing",
            "Waiting",
            "Pushing",
            "Pushed",
            "Layer already exists",
            "Layer already exists",
        ] {
            tally.see(status);
        }
        assert_eq!(
            tally.summary(),
            "3 of 3 layers done (1 uploaded, 2 already there)"
        );
    }

    #[test]
    fn credentials_go_only_where_a_user_is_set() {
        let mut registry = RegistryConfig {
            address: "registry.example.com:5000/team".to_owned(),
            user: None,
            password: Some(crate::domain::Secret::new("pw".to_owned())),
            insecure: false,
        };
        assert!(credentials(&registry).is_none());
        registry.user = Some("robot".to_owned());
        let given = credentials(&registry).expect("credentials");
        assert_eq!(given.username.as_deref(), Some("robot"));
        assert_eq!(given.password.as_deref(), Some("pw"));
        assert_eq!(
            given.serveraddress.as_deref(),
            Some("registry.example.com:5000")
        );
    }
}

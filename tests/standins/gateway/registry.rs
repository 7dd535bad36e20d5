//! Whether faasd could pull an image: a `HEAD` for its manifest at the registry the reference
//! names, over plain HTTP as faasd does for a loopback registry. A bare name would be looked up
//! on Docker Hub, which tests never reach, so it is never found.

const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
                              application/vnd.oci.image.manifest.v1+json, \
                              application/vnd.oci.image.index.v1+json, \
                              application/vnd.docker.distribution.manifest.list.v2+json";

/// An image reference, split as containerd reads it.
#[derive(Debug, PartialEq, Eq)]
struct Reference {
    /// `HOST:PORT`, or `None` for a name that means Docker Hub.
    registry: Option<String>,
    repository: String,
    /// A tag or a `sha256:` digest.
    reference: String,
}

fn parse(image: &str) -> Reference {
    let (name, reference) = match image.split_once('@') {
        Some((name, digest)) => (strip_tag(name), digest.to_owned()),
        None => match tag_of(image) {
            Some(tag) => (strip_tag(image), tag.to_owned()),
            None => (image, "latest".to_owned()),
        },
    };
    match name.split_once('/') {
        Some((host, repository)) if host.contains(':') => Reference {
            registry: Some(host.to_owned()),
            repository: repository.to_owned(),
            reference,
        },
        _ => Reference {
            registry: None,
            repository: name.to_owned(),
            reference,
        },
    }
}

/// The tag, the part after the last `:` of the last path component.
fn tag_of(name: &str) -> Option<&str> {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.rsplit_once(':').map(|(_, tag)| tag)
}

fn strip_tag(name: &str) -> &str {
    match tag_of(name) {
        Some(tag) => &name[..name.len() - tag.len() - 1],
        None => name,
    }
}

/// The reference as containerd spells it in errors: Docker Hub names expanded, `:latest` added.
pub fn normalized(image: &str) -> String {
    let parsed = parse(image);
    let name = match parsed.registry {
        Some(registry) => format!("{registry}/{}", parsed.repository),
        None if parsed.repository.contains('/') => {
            let first = parsed.repository.split('/').next().unwrap_or_default();
            if first.contains('.') || first == "localhost" {
                parsed.repository
            } else {
                format!("docker.io/{}", parsed.repository)
            }
        }
        None => format!("docker.io/library/{}", parsed.repository),
    };
    let separator = if parsed.reference.contains(':') {
        '@'
    } else {
        ':'
    };
    format!("{name}{separator}{}", parsed.reference)
}

/// faasd's answer when the image is not there.
pub fn pull_error(image: &str) -> String {
    let image = normalized(image);
    format!(
        "unable to pull image {image}: cannot pull: failed to resolve reference \"{image}\": {image}: not found"
    )
}

/// True when the registry answers 200 for the image's manifest.
pub async fn image_exists(client: &reqwest::Client, image: &str) -> bool {
    let parsed = parse(image);
    let Some(registry) = parsed.registry else {
        return false;
    };
    if parsed.repository.is_empty() || parsed.reference.is_empty() {
        return false;
    }
    let url = format!(
        "http://{registry}/v2/{}/manifests/{}",
        parsed.repository, parsed.reference
    );
    let answer = client
        .head(&url)
        .header(reqwest::header::ACCEPT, MANIFEST_TYPES)
        .send()
        .await;
    matches!(answer, Ok(response) if response.status() == reqwest::StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_split_like_containerd_does() {
        let tagged = parse("127.0.0.1:5001/team/pyfn:3");
        assert_eq!(tagged.registry.as_deref(), Some("127.0.0.1:5001"));
        assert_eq!(tagged.repository, "team/pyfn");
        assert_eq!(tagged.reference, "3");
        let digest = parse("localhost:5000/pyfn:1@sha256:abc");
        assert_eq!(digest.repository, "pyfn");
        assert_eq!(digest.reference, "sha256:abc");
        let untagged = parse("127.0.0.1:5001/pyfn");
        assert_eq!(untagged.reference, "latest");
        assert_eq!(parse("nginx:1").registry, None);
    }

    #[test]
    fn names_are_spelled_as_in_errors() {
        assert_eq!(normalized("127.0.0.1:5001/x:1"), "127.0.0.1:5001/x:1");
        assert_eq!(normalized("127.0.0.1:5001/x"), "127.0.0.1:5001/x:latest");
        assert_eq!(normalized("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(normalized("me/app:2"), "docker.io/me/app:2");
        assert_eq!(
            normalized("r:1/x@sha256:ab"),
            "r:1/x@sha256:ab",
            "a digest keeps its @"
        );
    }
}

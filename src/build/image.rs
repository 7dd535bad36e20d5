//! One function build: the image name, the build key that lets an unchanged tree reuse its
//! image, the options handed to the template, and the streamed Docker build.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::{ListImagesOptionsBuilder, TagImageOptionsBuilder};
use gix::ObjectId;
use sha2::{Digest, Sha256};
use tokio_stream::wrappers::ReceiverStream;

use super::context::{ContextError, ContextParts, ContextSummary, write_context};
use super::docker::{BuildError, BuildRequest, build_image};
use super::stream::ChunkWriter;
use super::templates::Template;
use crate::git::objects::PushedObjects;
use crate::git::receive::Quarantine;

/// Label carrying the build key on every image lmnop builds.
pub const BUILD_KEY_LABEL: &str = "lmnop.build-key";

/// Label saying what the image was built from: `FUNCTION@COMMIT by PUSHER`.
pub const SOURCE_LABEL: &str = "lmnop.source";

fn source_label(input: &BuildInput) -> String {
    format!("{}@{} by {}", input.function, input.commit, input.pusher)
}

/// Everything one build needs.
#[derive(Debug, Clone)]
pub struct BuildInput {
    pub function: String,
    pub commit: String,
    pub pusher: String,
    pub tree: ObjectId,
    pub repo: PathBuf,
    pub quarantine: Quarantine,
    pub template: Template,
    /// Options after template defaults, operator settings and function.yml, in that order.
    pub options: BTreeMap<String, String>,
    /// Extra CA certificates (PEM), possibly empty.
    pub ca_certificates: Vec<u8>,
    /// `REGISTRY/PREFIX` or `lmnop` for local images.
    pub repository_prefix: String,
}

/// A finished build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// `PREFIX/NAME:COMMIT`
    pub image: String,
    pub image_id: String,
    pub origin: Origin,
}

/// Where a finished build's image came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An image of the same tree, template and options, built before.
    Reused,
    /// Built now from this context.
    Built(ContextSummary),
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildFailure {
    #[error(transparent)]
    Docker(#[from] BuildError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("the build context could not be produced: {0}")]
    ContextTask(String),
}

/// Merges template defaults, operator options and function.yml options (later ones win).
pub fn resolve_options(
    template: &Template,
    operator: &[(String, String)],
    function: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut options = template.options.clone();
    for (name, value) in operator {
        if options.contains_key(name) {
            options.insert(name.clone(), value.clone());
        }
    }
    options.extend(function.iter().map(|(k, v)| (k.clone(), v.clone())));
    options
}

/// A digest of everything that decides the image: the tree, the template's files, the options
/// and the CA certificates.
pub fn build_key(input: &BuildInput) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(b"lmnop-build-v1\0");
    hasher.update(input.tree.as_bytes());
    hasher.update(input.template.name.as_bytes());
    hash_dir(&mut hasher, &input.template.dir, Path::new(""))?;
    for (name, value) in &input.options {
        hasher.update(format!("\0{name}={value}").as_bytes());
    }
    hasher.update(b"\0ca\0");
    hasher.update(&input.ca_certificates);
    Ok(hex::encode(hasher.finalize()))
}

fn hash_dir(hasher: &mut Sha256, dir: &Path, relative: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = relative.join(entry.file_name());
        if entry.path().is_dir() {
            hash_dir(hasher, &entry.path(), &path)?;
        } else {
            hasher.update(path.to_string_lossy().as_bytes());
            hasher.update(b"\0");
            hasher.update(std::fs::read(entry.path())?);
        }
    }
    Ok(())
}

/// Builds (or reuses) the function's image, streaming log lines to `on_line`.
pub async fn build(
    docker: &Docker,
    input: &BuildInput,
    on_line: impl FnMut(&str),
) -> Result<Built, BuildFailure> {
    let image = format!(
        "{}/{}:{}",
        input.repository_prefix, input.function, input.commit
    );
    let key = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || build_key(&input))
            .await
            .map_err(|error| BuildFailure::ContextTask(error.to_string()))?
            .map_err(|error| BuildFailure::ContextTask(error.to_string()))?
    };
    if let Some(image_id) = find_by_key(docker, &key).await? {
        let (repo, tag) = image.rsplit_once(':').expect("the image name has a tag");
        docker
            .tag_image(
                &image_id,
                Some(TagImageOptionsBuilder::new().repo(repo).tag(tag).build()),
            )
            .await
            .map_err(BuildError::from)?;
        return Ok(Built {
            image,
            image_id,
            origin: Origin::Reused,
        });
    }

    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let producer = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || {
            let objects =
                PushedObjects::open(&input.repo, &input.quarantine).map_err(ContextError::from)?;
            let extra: [(&str, &[u8]); 1] = [("ca-certificates.crt", &input.ca_certificates)];
            let parts = ContextParts {
                template_dir: Some(&input.template.dir),
                extra: &extra,
                dockerfile: &input.template.dockerfile,
            };
            write_context(&objects, input.tree, parts, ChunkWriter::new(tx))
        })
    };
    let request = BuildRequest {
        tag: image.clone(),
        dockerfile: input.template.dockerfile.clone(),
        build_args: input.options.clone().into_iter().collect::<HashMap<_, _>>(),
        // Two labels, not one per fact: the engine's classic builder runs and commits a
        // container for every label, about a tenth of a second each.
        labels: HashMap::from([
            (BUILD_KEY_LABEL.to_owned(), key),
            (SOURCE_LABEL.to_owned(), source_label(input)),
        ]),
    };
    let built = build_image(docker, &request, ReceiverStream::new(rx), on_line).await;
    // A context error explains a build that broke off; report it first.
    let summary = match producer.await {
        Ok(Err(error)) => return Err(error.into()),
        Err(error) => return Err(BuildFailure::ContextTask(error.to_string())),
        Ok(Ok(summary)) => summary,
    };
    Ok(Built {
        image,
        image_id: built?,
        origin: Origin::Built(summary),
    })
}

async fn find_by_key(docker: &Docker, key: &str) -> Result<Option<String>, BuildError> {
    let filters = HashMap::from([("label", vec![format!("{BUILD_KEY_LABEL}={key}")])]);
    let images = docker
        .list_images(Some(
            ListImagesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await?;
    Ok(images.into_iter().next().map(|image| image.id))
}

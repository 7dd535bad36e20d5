//! Benchmark helper for B7 (bench/deploy): sends one build context to the Docker engine the way a
//! push does, and nothing else. The context is the commit's tree read from a bare repository with
//! gix plus a template directory under `.lmnop/` (`build::context::write_context`), written on a
//! blocking thread into `build::stream::ChunkWriter` and streamed, uncompressed, into
//! `build::docker::build_image` (bollard, `POST /build`). No build key, no image reuse, no
//! deploy: what is left is the context's cost plus one trivial build.
//!
//! Usage: bench-context REPO COMMIT TEMPLATE_DIR TAG
//! Prints one line to stdout: `files=N bytes=N seconds=S hwm_kib=N image=sha256:…`.

use std::path::PathBuf;
use std::time::Instant;

use lmnop::build::context::{ContextParts, write_context};
use lmnop::build::docker::{BuildRequest, build_image};
use lmnop::build::stream::ChunkWriter;
use lmnop::git::objects::PushedObjects;
use lmnop::git::receive::Quarantine;
use tokio_stream::wrappers::ReceiverStream;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, commit, template, tag] = args.as_slice() else {
        anyhow::bail!("usage: bench-context REPO COMMIT TEMPLATE_DIR TAG");
    };
    let repo = PathBuf::from(repo);
    let template = PathBuf::from(template);
    let commit = gix::ObjectId::from_hex(commit.as_bytes())?;
    let docker = lmnop::engine::Engine::default().client().await?;

    let started = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let producer = tokio::task::spawn_blocking(move || {
        let objects = PushedObjects::open(&repo, &Quarantine::default())?;
        let tree = objects.commit_tree(commit)?;
        let extra: [(&str, &[u8]); 1] = [("ca-certificates.crt", b"")];
        let parts = ContextParts {
            template_dir: Some(&template),
            extra: &extra,
            dockerfile: ".lmnop/Dockerfile",
        };
        let summary = write_context(&objects, tree, parts, ChunkWriter::new(tx))?;
        anyhow::Ok(summary)
    });
    let request = BuildRequest {
        tag: tag.clone(),
        dockerfile: ".lmnop/Dockerfile".to_owned(),
        build_args: Default::default(),
        labels: Default::default(),
    };
    let built = build_image(&docker, &request, ReceiverStream::new(rx), |_| {}).await;
    let summary = producer.await??;
    let image = built?;
    // The peak memory of this process (VmHWM), read here because a parent's wait4 rusage can
    // count the forked parent's pages too.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("0");
    println!(
        "files={} bytes={} seconds={:.4} hwm_kib={hwm_kib} image={image}",
        summary.files,
        summary.bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

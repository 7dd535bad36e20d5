//! Build and deploy steps of a deploy-branch push, in the pre-receive hook: record a release,
//! build (or reuse) the image, push it to the registry when one is set, start the new
//! containers and wait until they answer. The release is then left staged for git's ref
//! update (see [`super::switch`]), which records it current and moves traffic. Any failure
//! leaves the previous release serving and the release marked failed with its log; so does a
//! push the pusher abandons half-way.

use std::collections::BTreeMap;
use std::time::Instant;

use gix::ObjectId;

use super::Releaser;
use super::error::ReleaseError;
use super::validate::Validated;
use super::{Output, Push, Quarantine, RefUpdate};
use crate::build::image::{self, BuildInput};
use crate::build::templates::Template;
use crate::db::releases::{self, Outcome, Release, ReleaseStatus};
use crate::runtime::Deployment;
use crate::spec::FunctionSpec;

/// Lines of a failing build or container shown to the pusher.
const TAIL_LINES: usize = 20;

/// Step timings, kept with the release.
#[derive(Debug, Default)]
struct Timings(BTreeMap<&'static str, f64>);

/// Runs the release; true when the new version serves.
pub async fn release(
    state: &Releaser,
    push: &Push,
    update: &RefUpdate,
    quarantine: &Quarantine,
    validated: Validated,
    out: &Output,
) -> bool {
    let Validated {
        tree,
        spec,
        template,
    } = validated;
    let function =
        match crate::db::functions::ensure(&state.db, push.function.as_str(), push.user.id).await {
            Ok(function) => function,
            Err(error) => {
                tracing::error!(%error, "cannot record the function");
                out.error("lmnop could not record the function; the server log has the details");
                return false;
            }
        };
    let release =
        match releases::start(&state.db, function.id, &update.new, push.user.id, &spec).await {
            Ok(release) => release,
            Err(error) => {
                tracing::error!(%error, "cannot record the release");
                out.error("lmnop could not record the release; the server log has the details");
                return false;
            }
        };
    // Should this future be dropped (the pusher went away), the release is closed as failed.
    let mut unfinished = Unfinished {
        db: state.db.clone(),
        release: Some(release.id),
        output: out,
    };
    let mut timings = Timings::default();
    let replicas = crate::runtime::scale::replicas(function.desired_replicas, &spec);
    let result = run(
        state,
        replicas,
        push,
        update,
        quarantine,
        tree,
        &spec,
        &template,
        &release,
        &mut timings,
        out,
    )
    .await;
    let timings_json = serde_json::to_string(&timings.0).unwrap_or_default();
    let staged = match result {
        Ok(staged) => staged,
        Err(failure) => {
            let outcome = Outcome {
                status: ReleaseStatus::Failed,
                error: Some(&failure.record()),
                timings: &timings_json,
                build_log: &out.log(),
            };
            if let Err(error) = releases::finish(&state.db, &release, &outcome).await {
                tracing::warn!(%error, "cannot record a failed release yet");
                super::switch::close_failed_later(
                    &state.db,
                    &release,
                    &failure.record(),
                    &out.log(),
                );
            }
            unfinished.release = None;
            out.error(&format!("{} failed: {failure}", failure.step()));
            let engine_down =
                tokio::time::timeout(std::time::Duration::from_secs(1), state.runtime.ping())
                    .await
                    .map_or(true, |answer| answer.is_err());
            // Containers stop with the engine; functions behind a gateway go on without it.
            let serving_stops =
                matches!(state.runtime.as_ref(), crate::runtime::Runtime::Docker(_));
            if engine_down {
                let serving = if function.current_release_id.is_some() && serving_stops {
                    format!(
                        ", so nothing serves {} until it is back; lmnop then starts the current \
                         release again",
                        push.function
                    )
                } else {
                    String::new()
                };
                out.hint(&format!(
                    "{} does not answer{serving}",
                    state.runtime.place()
                ));
            } else if function.current_release_id.is_some() {
                out.hint(&format!(
                    "the previous release keeps serving; the full log is kept with {} v{}",
                    push.function, release.number
                ));
            } else {
                // A refused first push leaves nothing behind, its log included.
                out.hint("nothing was deployed; push again once it is fixed");
            }
            return false;
        }
    };
    // The release answers. It is recorded current and gets the traffic once git holds the
    // branch's lock (see `switch`); that the database answers is checked now, while the pusher
    // can still be told why.
    if let Err(error) = releases::staged(&state.db, release.id, &timings_json, &out.log()).await {
        tracing::error!(%error, "cannot record a staged release");
        state.runtime.discard(staged).await;
        let reason = format!(
            "lmnop could not record v{}: {}",
            release.number,
            state.db.describe(&error)
        );
        super::switch::close_failed_later(&state.db, &release, &reason, &out.log());
        unfinished.release = None;
        out.error(&reason);
        out.hint(if function.current_release_id.is_some() {
            "the previous release keeps serving; push again once the database is back"
        } else {
            "nothing was deployed; push again once the database is back"
        });
        return false;
    }
    state.pending.insert(
        push.function.as_str(),
        super::switch::Pending {
            release: release.clone(),
            ref_name: update.name.clone(),
            commit: update.new.clone(),
            previous: function.current_release_id,
            timings: timings_json,
            build_log: out.log(),
            stage: super::switch::Stage::Staged(staged),
        },
    );
    unfinished.release = None;
    true
}

/// Closes a release whose push was dropped half-way: marked failed with the log so far. Its
/// containers, if any started, belong to no current release and the reconciler removes them.
struct Unfinished<'a> {
    db: crate::db::Db,
    release: Option<i64>,
    output: &'a Output,
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        let Some(id) = self.release.take() else {
            return;
        };
        let db = self.db.clone();
        let log = self.output.log();
        tokio::spawn(async move {
            let error = "the push was cancelled: the pusher disconnected";
            if let Err(error) = releases::abandon(&db, id, error, &log).await {
                tracing::warn!(%error, "cannot close a cancelled release");
            }
        });
    }
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename these
async fn run(
    state: &Releaser,
    replicas: u32,
    push: &Push,
    update: &RefUpdate,
    quarantine: &Quarantine,
    tree: ObjectId,
    spec: &FunctionSpec,
    template: &Template,
    release: &Release,
    timings: &mut Timings,
    out: &Output,
) -> Result<crate::runtime::Staged, ReleaseError> {
    // Build.
    let started = Instant::now();
    let step = out.step(&format!(
        "Building {} v{} from {} with {}",
        push.function,
        release.number,
        super::short_id(&update.new),
        template.name
    ));
    let ca_certificates = state
        .config
        .build_ca
        .as_ref()
        .map_or_else(Vec::new, |ca| ca.pem().to_vec());
    let options = image::resolve_options(
        template,
        &state
            .config
            .build_args
            .for_template(&template.name, &template.family),
        &spec.options,
    );
    let repository_prefix = state
        .config
        .registry
        .as_ref()
        .map_or_else(|| "lmnop".to_owned(), |registry| registry.address.clone());
    let input = BuildInput {
        function: push.function.to_string(),
        commit: update.new.clone(),
        pusher: push.user.name.clone(),
        tree,
        repo: push.repo.clone(),
        quarantine: quarantine.clone(),
        template: template.clone(),
        options,
        ca_certificates,
        repository_prefix,
    };
    let mut tail = std::collections::VecDeque::new();
    let built = state
        .builder
        .build(&input, |line| {
            out.detail_now(line);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.to_owned());
        })
        .await?;
    timings.0.insert("build", started.elapsed().as_secs_f64());
    match &built.origin {
        image::Origin::Reused => {
            step.done("reused the image of an identical earlier build");
        }
        image::Origin::Built(context) => {
            for submodule in &context.submodules {
                out.detail(&format!(
                    "submodule {submodule} left out: a build has only the pushed tree"
                ));
            }
            if context.ignored > 0 {
                out.detail(&format!(
                    "{} path{} left out by .dockerignore",
                    context.ignored,
                    if context.ignored == 1 { "" } else { "s" }
                ));
            }
            step.done("built");
        }
    }
    if let Err(error) = releases::set_image(&state.db, release.id, &built.image).await {
        tracing::error!(%error, "cannot record the image");
    }

    // Push to the registry, when there is one.
    if let Some(registry) = &state.config.registry {
        let started = Instant::now();
        let step = out.step(&format!("Pushing {} to {}", built.image, registry.host()));
        let pushed = state
            .builder
            .publish(registry, &built.image, |line| {
                out.detail_now(line);
            })
            .await
            .map_err(|error| ReleaseError::Publish {
                registry: registry.host().to_owned(),
                error,
            })?;
        timings.0.insert("push", started.elapsed().as_secs_f64());
        if let Err(error) = releases::set_digest(&state.db, release.id, &pushed.digest).await {
            tracing::error!(%error, "cannot record the digest");
        }
        step.done(&pushed.digest);
    }

    // Deploy.
    let started = Instant::now();
    let step = match state.runtime.as_ref() {
        crate::runtime::Runtime::OpenFaas(_) => out.step(&format!(
            "Checking what v{} needs at {}",
            release.number,
            state.runtime.place()
        )),
        _ => out.step(&format!(
            "Starting {} container{} of v{}",
            replicas,
            if replicas == 1 { "" } else { "s" },
            release.number
        )),
    };
    let deployment = Deployment {
        instance: state.instance.clone(),
        function: push.function.to_string(),
        release: release.number,
        commit: release.commit_id.clone(),
        pusher: Some(push.user.name.clone()),
        image: built.image.clone(),
        spec: spec.clone(),
        port: template.port,
        readiness: template.readiness_path.clone(),
        app_port: state.app_port(template, spec),
        watchdog: template.watchdog,
        replicas,
    };
    // What serves now, for a runtime that replaces a function in place and must put it back if
    // the switch is undone (the docker runtime keeps the old containers until then instead).
    let previous = if matches!(state.runtime.as_ref(), crate::runtime::Runtime::OpenFaas(_)) {
        match releases::serving_one(&state.db, push.function.as_str()).await {
            Ok(serving) => serving.and_then(|serving| {
                state.deployment(
                    push.function.as_str(),
                    &serving.release,
                    serving.desired_replicas,
                )
            }),
            Err(error) => {
                return Err(ReleaseError::Deploy(crate::runtime::DeployError::Database(
                    state.db.describe(&error),
                )));
            }
        }
    } else {
        None
    };
    let staged = state.runtime.stage(&deployment, previous).await?;
    timings.0.insert("deploy", started.elapsed().as_secs_f64());
    step.done(match state.runtime.as_ref() {
        // The gateway deploys it when git has locked the branch; the verdict follows.
        crate::runtime::Runtime::OpenFaas(_) => "ready to deploy; it goes live with the branch",
        _ => "healthy",
    });
    Ok(staged)
}

//! The smart-HTTP endpoints under `/scm/NAME` (also `/scm/NAME.git`): `info/refs`,
//! `git-upload-pack` and `git-receive-pack`. Repositories are private: every request
//! authenticates, and only the owner or an administrator may read or push.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::hook_server::{HookServer, PushSession, SOCKET_ENV, TOKEN_ENV};
use super::locks::RepoLocks;
use super::receive::{Push, Refusal};
use super::repos::Repos;
use super::service::{self, Service, ServiceBody, ServiceOptions};
use crate::accounts::Accounts;
use crate::db::Db;
use crate::db::users::User;
use crate::domain::FunctionName;
use crate::http::AppError;
use crate::http::auth::BasicUser;

/// Largest fetch negotiation accepted (wants and haves, after decompression).
const MAX_UPLOAD_REQUEST_BYTES: u64 = 64 * 1024 * 1024;
/// Kept of git's stderr for the server log.
const MAX_STDERR_BYTES: usize = 16 * 1024;

/// What the git endpoints use; the composition root hands it over (`FromRef`).
#[derive(Debug, Clone)]
pub struct GitState {
    pub db: Db,
    pub accounts: Accounts,
    pub repos: Arc<Repos>,
    pub hooks: Arc<HookServer>,
    /// One push at a time per repository (the API and the reconciler take the same lock).
    pub push_locks: Arc<RepoLocks>,
    /// Largest push accepted, in bytes.
    pub max_push_bytes: u64,
}

impl FromRef<GitState> for Accounts {
    fn from_ref(state: &GitState) -> Self {
        state.accounts.clone()
    }
}

/// The smart-HTTP routes, for any server state that can hand over a [`GitState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    GitState: FromRef<S>,
{
    Router::new()
        .route("/scm/{repo}/info/refs", get(advertise_refs))
        .route("/scm/{repo}/git-upload-pack", post(upload_pack))
        .route("/scm/{repo}/git-upload-archive", post(upload_archive))
        .route("/scm/{repo}/git-receive-pack", post(receive_pack))
}

/// `NAME` or `NAME.git` → a valid function name, or a 400 that states the rule.
fn repo_name(raw: &str) -> Result<FunctionName, AppError> {
    let name = raw.strip_suffix(".git").unwrap_or(raw);
    FunctionName::parse(name).map_err(|error| AppError::BadRequest(error.to_string()))
}

fn not_found(name: &FunctionName) -> AppError {
    AppError::NotFound(format!(
        "no repository named {name}, or you may not access it"
    ))
}

/// What a user may do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// Owners and administrators may read and push; anyone may push to create a new name.
async fn authorize(
    state: &GitState,
    user: &User,
    name: &FunctionName,
    access: Access,
) -> Result<(), AppError> {
    let function = crate::db::functions::find(&state.db, name.as_str()).await?;
    let allowed = match function {
        Some(function) => crate::accounts::can_see(user, &function),
        None if state.repos.exists(name) => crate::accounts::access::can_see_unowned(user),
        None => access == Access::Write,
    };
    if allowed {
        Ok(())
    } else {
        Err(not_found(name))
    }
}

#[derive(Debug, Deserialize)]
struct InfoRefsQuery {
    service: Option<String>,
}

fn protocol(headers: &HeaderMap) -> Option<String> {
    service::protocol_env(
        headers
            .get("git-protocol")
            .and_then(|value| value.to_str().ok()),
    )
}

async fn advertise_refs(
    State(state): State<GitState>,
    Path(raw): Path<String>,
    Query(query): Query<InfoRefsQuery>,
    request: Request,
) -> Result<Response, AppError> {
    let name = repo_name(&raw)?;
    let Some(service) = query.service.as_deref().and_then(Service::from_name) else {
        return Err(AppError::BadRequest(
            "lmnop speaks only git's smart HTTP protocol: use git 1.6.6 or newer".to_owned(),
        ));
    };
    let (user, headers, _) = authenticate(&state, request).await?;
    let access = match service {
        Service::UploadPack | Service::UploadArchive => Access::Read,
        Service::ReceivePack => Access::Write,
    };
    authorize(&state, &user, &name, access).await?;
    let repo = match service {
        Service::UploadPack | Service::UploadArchive if !state.repos.exists(&name) => {
            return Err(not_found(&name));
        }
        Service::UploadPack | Service::UploadArchive => state.repos.path(&name),
        Service::ReceivePack => state.repos.advertised(&name),
    };
    let protocol = protocol(&headers);
    let options = ServiceOptions {
        protocol: protocol.clone(),
        config: match service {
            Service::UploadPack => upload_pack_config(),
            Service::ReceivePack | Service::UploadArchive => Vec::new(),
        },
        ..ServiceOptions::default()
    };
    let refs = service::advertise(service, &repo, &options)
        .await
        .map_err(anyhow::Error::from)?;
    let mut body = Vec::with_capacity(refs.len() + 64);
    if !protocol.as_deref().is_some_and(|p| p.contains("version=2")) {
        let announce = format!("# service={}\n", service.name());
        body.extend_from_slice(format!("{:04x}{announce}0000", announce.len() + 4).as_bytes());
    }
    body.extend_from_slice(&refs);
    Ok(git_response(
        &format!("application/x-{}-advertisement", service.name()),
        Body::from(body),
    ))
}

/// Authenticates after the name was checked, so a bad name is a 400 that states the rule even
/// without credentials. Returns the user, the headers and the body.
async fn authenticate(
    state: &GitState,
    request: Request,
) -> Result<(User, HeaderMap, Body), AppError> {
    use axum::extract::FromRequestParts;
    let (mut parts, body) = request.into_parts();
    let BasicUser(user) = BasicUser::from_request_parts(&mut parts, state).await?;
    Ok((user, parts.headers, body))
}

/// What upload-pack offers, the same in the advertisement and the fetch: partial clones
/// (`--filter`), and the lazy fetches of single objects a partial clone makes later, which
/// protocol v0 allows only with `allowAnySHA1InWant` (the whole repository is the reader's to
/// see anyway).
fn upload_pack_config() -> Vec<(String, String)> {
    [
        ("uploadpack.allowFilter", "true"),
        ("uploadpack.allowAnySHA1InWant", "true"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect()
}

/// Checks the request's content type and whether its body is gzipped.
fn request_body(service: Service, headers: &HeaderMap) -> Result<bool, AppError> {
    let expected = format!("application/x-{}-request", service.name());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    if content_type != Some(expected.as_str()) {
        return Err(AppError::UnsupportedMediaType(format!(
            "expected Content-Type: {expected}"
        )));
    }
    match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
    {
        None | Some("identity") => Ok(false),
        Some("gzip" | "x-gzip") => Ok(true),
        Some(other) => Err(AppError::UnsupportedMediaType(format!(
            "unsupported Content-Encoding {other:?}: use gzip or none"
        ))),
    }
}

fn git_response(content_type: &str, body: Body) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, max-age=0, must-revalidate"),
    );
    response
}

async fn upload_pack(
    State(state): State<GitState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    read_service(&state, &raw, request, Service::UploadPack).await
}

/// `git archive --remote` (protocol v2 clients): the tree of a ref or commit as an archive,
/// for anyone who may read the repository.
async fn upload_archive(
    State(state): State<GitState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    read_service(&state, &raw, request, Service::UploadArchive).await
}

/// A service that only reads the repository: upload-pack or upload-archive.
async fn read_service(
    state: &GitState,
    raw: &str,
    request: Request,
    service: Service,
) -> Result<Response, AppError> {
    let name = repo_name(raw)?;
    let (user, headers, body) = authenticate(state, request).await?;
    authorize(state, &user, &name, Access::Read).await?;
    if !state.repos.exists(&name) {
        return Err(not_found(&name));
    }
    let gzip = request_body(service, &headers)?;
    let options = ServiceOptions {
        protocol: protocol(&headers),
        config: match service {
            Service::UploadPack => upload_pack_config(),
            Service::ReceivePack | Service::UploadArchive => Vec::new(),
        },
        ..ServiceOptions::default()
    };
    let repo = state.repos.path(&name);
    let running = service::start(
        service,
        &repo,
        &options,
        body,
        gzip,
        MAX_UPLOAD_REQUEST_BYTES,
    )
    .map_err(anyhow::Error::from)?;
    Ok(respond(service, running, CancellationToken::new(), async {
        None
    }))
}

async fn receive_pack(
    State(state): State<GitState>,
    Path(raw): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let name = repo_name(&raw)?;
    let (user, headers, body) = authenticate(&state, request).await?;
    let gzip = request_body(Service::ReceivePack, &headers)?;
    authorize(&state, &user, &name, Access::Write).await?;
    // Before a large push git sends a probe, a lone flush packet, to check the credentials:
    // answered as receive-pack would (nothing), without creating or touching the repository.
    let body = if !gzip
        && headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|n| n == "4")
    {
        let bytes = axum::body::to_bytes(body, 4)
            .await
            .map_err(|error| AppError::BadRequest(format!("cannot read the request: {error}")))?;
        if bytes.as_ref() == b"0000" {
            return Ok(git_response(
                &format!("application/x-{}-result", Service::ReceivePack.name()),
                Body::empty(),
            ));
        }
        Body::from(bytes)
    } else {
        body
    };
    // From here until git has updated the refs, no other push to this repository runs.
    let lock = state.push_locks.lock(name.as_str()).await;
    // A first push by somebody else may have created the function while this one waited.
    authorize(&state, &user, &name, Access::Write).await?;
    let created = !state.repos.exists(&name);
    let repo: PathBuf = if created {
        state
            .repos
            .create(&name)
            .await
            .map_err(anyhow::Error::from)?
    } else {
        state.repos.path(&name)
    };

    let cancel = CancellationToken::new();
    let token = state.hooks.register(PushSession {
        push: Push {
            function: name.clone(),
            repo: repo.clone(),
            user,
        },
        cancel: cancel.clone(),
    });
    let limit = state.max_push_bytes;
    let options = ServiceOptions {
        protocol: protocol(&headers),
        config: vec![
            ("receive.fsckObjects".to_owned(), "true".to_owned()),
            ("receive.maxInputSize".to_owned(), limit.to_string()),
            (
                "core.hooksPath".to_owned(),
                state.repos.hooks_dir().display().to_string(),
            ),
        ],
        env: vec![
            (
                SOCKET_ENV.to_owned(),
                state.hooks.socket().display().to_string(),
            ),
            (TOKEN_ENV.to_owned(), token.clone()),
        ],
    };
    // The commands and pkt-lines before the pack get some room beyond the pack limit.
    let started = service::start(
        Service::ReceivePack,
        &repo,
        &options,
        body,
        gzip,
        limit.saturating_add(1024 * 1024),
    );
    let running = match started {
        Ok(running) => running,
        Err(error) => {
            state.hooks.unregister(&token);
            if created {
                let _ = state.repos.remove_if_empty(&name).await;
            }
            return Err(AppError::Unexpected(error.into()));
        }
    };
    let cleanup_state = state.clone();
    let cleanup = async move {
        if created {
            match cleanup_state.repos.remove_if_empty(&name).await {
                Ok(true) => {
                    tracing::info!(function = %name, "removed the repository a rejected first push left empty")
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(%error, function = %name, "cannot remove an empty repository")
                }
            }
        }
        // The refs are final now: the push's release is settled against them.
        let refusal = cleanup_state.hooks.finish(&token).await;
        drop(lock);
        refusal
    };
    Ok(respond(Service::ReceivePack, running, cancel, cleanup))
}

/// Streams a running service's output as the response. The response ends after git has exited
/// and `cleanup` has run; a client that leaves early fires `cancel`.
fn respond(
    service: Service,
    running: service::RunningService,
    cancel: CancellationToken,
    cleanup: impl std::future::Future<Output = Option<Refusal>> + Send + 'static,
) -> Response {
    let (settled_tx, settled) = tokio::sync::oneshot::channel();
    tokio::spawn(supervise(
        running.child,
        running.stderr,
        cancel.clone(),
        async move {
            let _ = settled_tx.send(cleanup.await);
        },
    ));
    git_response(
        &format!("application/x-{}-result", service.name()),
        Body::from_stream(ServiceBody::new(service, running.stdout, settled, cancel)),
    )
}

/// Waits for a git child (killing it when the client went away), logs a failure with git's
/// stderr, then runs `cleanup`.
async fn supervise(
    mut child: tokio::process::Child,
    stderr: tokio::process::ChildStderr,
    cancel: CancellationToken,
    cleanup: impl std::future::Future<Output = ()>,
) {
    let stderr = tokio::spawn(service::read_stderr(stderr, MAX_STDERR_BYTES));
    let status = tokio::select! {
        status = child.wait() => status,
        () = cancel.cancelled() => {
            let _ = child.start_kill();
            child.wait().await
        }
    };
    let stderr = stderr.await.unwrap_or_default();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => {
            tracing::info!(%status, stderr = stderr.trim(), cancelled = cancel.is_cancelled(), "git ended with an error")
        }
        Err(error) => tracing::warn!(%error, "cannot wait for git"),
    }
    cleanup.await;
}

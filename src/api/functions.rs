//! `/api/v1/functions…`: what a function is and runs, its releases and their logs, and the two
//! changes an owner makes without a push: the number of containers, and deletion.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::ApiState;
use crate::db::audit::{self, AuditEntry};
use crate::db::functions::Function;
use crate::db::releases::{self, Release};
use crate::db::users::User;
use crate::http::AppError;
use crate::http::auth::BasicUser;

/// A function as the API shows it.
#[derive(Debug, Serialize)]
pub struct FunctionView {
    name: String,
    owner: Option<String>,
    /// The number of containers asked for (`PUT …/scale`).
    desired_replicas: i64,
    /// The `scaling` range of the serving release's function.yml.
    scaling: Option<ScalingView>,
    /// The serving release's number.
    release: Option<i64>,
    urls: Vec<String>,
    created_at: i64,
}

#[derive(Debug, Serialize)]
struct ScalingView {
    min: u32,
    max: u32,
}

/// A release as the API shows it (without its log).
#[derive(Debug, Serialize)]
pub struct ReleaseView {
    number: i64,
    commit: String,
    image: Option<String>,
    digest: Option<String>,
    status: &'static str,
    error: Option<String>,
    timings: serde_json::Value,
    created_at: i64,
    finished_at: Option<i64>,
    /// The release this one rolled back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback_of: Option<i64>,
}

impl From<Release> for ReleaseView {
    fn from(release: Release) -> Self {
        Self {
            number: release.number,
            commit: release.commit_id,
            image: release.image,
            digest: release.digest,
            status: release.status.as_str(),
            error: release.error,
            timings: serde_json::from_str(&release.timings).unwrap_or_default(),
            created_at: release.created_at,
            finished_at: release.finished_at,
            rollback_of: release.rollback_of,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FunctionDetail {
    #[serde(flatten)]
    function: FunctionView,
    /// Newest first.
    releases: Vec<ReleaseView>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleRequest {
    replicas: i64,
}

impl ScaleRequest {
    /// Only the documented object: serde alone would also take `[3]` for `{"replicas": 3}`.
    fn from_body(body: serde_json::Value) -> Result<Self, AppError> {
        let usage = r#"send {"replicas": N}"#;
        if !body.is_object() {
            return Err(AppError::BadRequest(format!(
                "the body must be a JSON object; {usage}"
            )));
        }
        serde_json::from_value(body)
            .map_err(|error| AppError::BadRequest(format!("{error}; {usage}")))
    }
}

/// `POST …/rollback`: `{"release": K}` (a number, or `"vK"`).
#[derive(Debug)]
pub struct RollbackRequest {
    release: i64,
}

impl RollbackRequest {
    fn from_body(body: &serde_json::Value) -> Result<Self, AppError> {
        let usage = r#"send {"release": K}, K the number of an earlier release that deployed"#;
        let release = match body.get("release") {
            Some(serde_json::Value::Number(number)) => number.as_i64(),
            Some(serde_json::Value::String(text)) => {
                text.strip_prefix('v').unwrap_or(text).parse().ok()
            }
            _ => None,
        };
        match (body.is_object(), release) {
            (true, Some(release)) if release > 0 => Ok(Self { release }),
            _ => Err(AppError::BadRequest(format!(
                "the body must be a JSON object naming a release; {usage}"
            ))),
        }
    }
}

/// What a rollback did.
#[derive(Debug, Serialize)]
pub struct RolledBack {
    name: String,
    /// The new release, now serving.
    release: i64,
    rollback_of: i64,
    note: String,
}

#[derive(Debug, Serialize)]
pub struct Scaled {
    name: String,
    replicas: u32,
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!(
        "no function named {name}, or you may not access it"
    ))
}

/// The function, if `user` may see it (its owner or an administrator).
async fn visible(state: &ApiState, user: &User, name: &str) -> Result<Function, AppError> {
    let function = crate::db::functions::find(&state.db, name)
        .await?
        .ok_or_else(|| not_found(name))?;
    if crate::accounts::can_see(user, &function) {
        Ok(function)
    } else {
        Err(not_found(name))
    }
}

async fn current(state: &ApiState, function: &Function) -> Result<Option<Release>, AppError> {
    match function.current_release_id {
        Some(id) => releases::find(&state.db, id).await.map_err(AppError::from),
        None => Ok(None),
    }
}

async fn view(state: &ApiState, function: Function) -> Result<FunctionView, AppError> {
    let release = current(state, &function).await?;
    let owner = match function.owner_id {
        Some(id) => crate::db::users::find_by_id(&state.db, id)
            .await?
            .map(|user| user.name),
        None => None,
    };
    let scaling = release.as_ref().map(|release| ScalingView {
        min: release.config.scaling.min,
        max: release.config.scaling.max,
    });
    Ok(FunctionView {
        urls: state.releaser.config.urls.of(&function.name),
        name: function.name,
        owner,
        desired_replicas: function.desired_replicas,
        scaling,
        release: release.map(|release| release.number),
        created_at: function.created_at,
    })
}

async fn record(state: &ApiState, user: &User, from: SocketAddr, action: &str, target: &str) {
    let entry = AuditEntry {
        actor: user.name.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        source: from.ip().to_string(),
    };
    if let Err(error) = audit::record(&state.db, &entry).await {
        tracing::error!(%error, action, target, "cannot write the audit log");
    }
}

/// `GET /api/v1/functions`: the caller's functions (every function for an administrator).
pub async fn list(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
) -> Result<Json<Vec<FunctionView>>, AppError> {
    let owner = crate::accounts::access::listed_owner(&user);
    let functions = crate::db::functions::list(&state.db, owner).await?;
    let mut views = Vec::with_capacity(functions.len());
    for function in functions {
        views.push(view(&state, function).await?);
    }
    Ok(Json(views))
}

/// `GET /api/v1/functions/NAME`: the function and its releases, newest first.
pub async fn show(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    Path(name): Path<String>,
) -> Result<Json<FunctionDetail>, AppError> {
    let function = visible(&state, &user, &name).await?;
    let releases = releases::list(&state.db, function.id).await?;
    Ok(Json(FunctionDetail {
        function: view(&state, function).await?,
        releases: releases.into_iter().map(ReleaseView::from).collect(),
    }))
}

/// `GET /api/v1/functions/NAME/releases/N/log`: the release's whole build and deploy log.
pub async fn log(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let function = visible(&state, &user, &name).await?;
    let wanted = number.strip_prefix('v').unwrap_or(&number);
    let no_release = || AppError::NotFound(format!("{name} has no release {number}"));
    let number: i64 = wanted.parse().map_err(|_| no_release())?;
    let release = releases::find_number(&state.db, function.id, number)
        .await?
        .ok_or_else(no_release)?;
    let log = releases::build_log(&state.db, release.id)
        .await?
        .unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        log,
    )
        .into_response())
}

/// Replica output lines shown by default, and the most one request may ask for.
const LOG_LINES: usize = 100;
const MAX_LOG_LINES: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    lines: Option<usize>,
}

/// `GET /api/v1/functions/NAME/logs[?lines=N]`: the last lines each replica printed, under a
/// `==> NAME vN replica I <==` header per replica.
pub async fn logs(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    Path(name): Path<String>,
    axum::extract::Query(query): axum::extract::Query<LogsQuery>,
) -> Result<Response, AppError> {
    let function = visible(&state, &user, &name).await?;
    let lines = query.lines.unwrap_or(LOG_LINES).min(MAX_LOG_LINES);
    let parsed = crate::domain::FunctionName::parse(&function.name).map_err(anyhow::Error::from)?;
    let logs = state
        .releaser
        .runtime
        .logs(&parsed, lines)
        .await
        .map_err(|error| AppError::Unavailable(format!("cannot read {name}'s output: {error}")))?;
    let mut text = String::new();
    for log in logs {
        text.push_str(&format!(
            "==> {name} v{} replica {} <==\n",
            log.release, log.replica
        ));
        text.push_str(&log.text);
        if !log.text.ends_with('\n') && !log.text.is_empty() {
            text.push('\n');
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response())
}

/// `PUT /api/v1/functions/NAME/scale` with `{"replicas": N}`: runs N containers of the serving
/// release, N within the `scaling` range of its function.yml. New containers serve once healthy.
pub async fn scale(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<Scaled>, AppError> {
    let request = ScaleRequest::from_body(body)?;
    let function = visible(&state, &user, &name).await?;
    let replicas = state.releaser.scale(&function, request.replicas).await?;
    record(
        &state,
        &user,
        from,
        &format!("function.scale.{replicas}"),
        &name,
    )
    .await;
    Ok(Json(Scaled { name, replicas }))
}

/// `POST /api/v1/functions/NAME/rollback` with `{"release": K}`: deploys release K's image and
/// config again, as a new release, health-gated like a push; the branch stays where it is.
pub async fn rollback(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<RolledBack>, AppError> {
    let request = RollbackRequest::from_body(&body)?;
    let function = visible(&state, &user, &name).await?;
    let release = state
        .releaser
        .rollback(&function, request.release, &user)
        .await?;
    record(
        &state,
        &user,
        from,
        &format!("function.rollback.v{}", request.release),
        &name,
    )
    .await;
    Ok(Json(RolledBack {
        note: format!(
            "v{} (rollback of v{}) serves {name}; the branch still points at its last push, \
             which the next push deploys",
            release.number, request.release
        ),
        name,
        release: release.number,
        rollback_of: request.release,
    }))
}

/// `DELETE /api/v1/functions/NAME`: stops its containers, forgets its routes, releases and
/// repository. Images stay on the engine and in the registry.
pub async fn delete(
    State(state): State<ApiState>,
    BasicUser(user): BasicUser,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    let function = visible(&state, &user, &name).await?;
    state.releaser.delete(&function).await?;
    record(&state, &user, from, "function.delete", &name).await;
    Ok(StatusCode::NO_CONTENT)
}

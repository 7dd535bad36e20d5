//! `/api/v1/functions…`: what a function is and runs, its releases and their logs, and the two
//! changes an owner makes without a push: the number of containers, and deletion.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::audit::{self, AuditEntry};
use crate::db::functions::Function;
use crate::db::releases::{self, Release};
use crate::db::users::{Role, User};
use crate::http::AppError;
use crate::http::auth::BasicUser;
use crate::runtime::Deployment;

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

#[derive(Debug, Serialize)]
pub struct Scaled {
    name: String,
    replicas: u32,
}

fn db_error(error: sqlx::Error) -> AppError {
    AppError::Unexpected(error.into())
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!(
        "no function named {name}, or you may not access it"
    ))
}

/// The function, if `user` may see it (its owner or an administrator).
async fn visible(state: &AppState, user: &User, name: &str) -> Result<Function, AppError> {
    let function = crate::db::functions::find(&state.db, name)
        .await
        .map_err(db_error)?
        .ok_or_else(|| not_found(name))?;
    if user.role == Role::Admin || function.owner_id == Some(user.id) {
        Ok(function)
    } else {
        Err(not_found(name))
    }
}

async fn current(state: &AppState, function: &Function) -> Result<Option<Release>, AppError> {
    match function.current_release_id {
        Some(id) => releases::find(&state.db, id).await.map_err(db_error),
        None => Ok(None),
    }
}

async fn view(state: &AppState, function: Function) -> Result<FunctionView, AppError> {
    let release = current(state, &function).await?;
    let owner = match function.owner_id {
        Some(id) => crate::db::users::find_by_id(&state.db, id)
            .await
            .map_err(db_error)?
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

async fn record(state: &AppState, user: &User, from: SocketAddr, action: &str, target: &str) {
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
    State(state): State<AppState>,
    BasicUser(user): BasicUser,
) -> Result<Json<Vec<FunctionView>>, AppError> {
    let owner = (user.role != Role::Admin).then_some(user.id);
    let functions = crate::db::functions::list(&state.db, owner)
        .await
        .map_err(db_error)?;
    let mut views = Vec::with_capacity(functions.len());
    for function in functions {
        views.push(view(&state, function).await?);
    }
    Ok(Json(views))
}

/// `GET /api/v1/functions/NAME`: the function and its releases, newest first.
pub async fn show(
    State(state): State<AppState>,
    BasicUser(user): BasicUser,
    Path(name): Path<String>,
) -> Result<Json<FunctionDetail>, AppError> {
    let function = visible(&state, &user, &name).await?;
    let releases = releases::list(&state.db, function.id)
        .await
        .map_err(db_error)?;
    Ok(Json(FunctionDetail {
        function: view(&state, function).await?,
        releases: releases.into_iter().map(ReleaseView::from).collect(),
    }))
}

/// `GET /api/v1/functions/NAME/releases/N/log`: the release's whole build and deploy log.
pub async fn log(
    State(state): State<AppState>,
    BasicUser(user): BasicUser,
    Path((name, number)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let function = visible(&state, &user, &name).await?;
    let wanted = number.strip_prefix('v').unwrap_or(&number);
    let no_release = || AppError::NotFound(format!("{name} has no release {number}"));
    let number: i64 = wanted.parse().map_err(|_| no_release())?;
    let release = releases::find_number(&state.db, function.id, number)
        .await
        .map_err(db_error)?
        .ok_or_else(no_release)?;
    let log = releases::build_log(&state.db, release.id)
        .await
        .map_err(db_error)?
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

/// `PUT /api/v1/functions/NAME/scale` with `{"replicas": N}`: runs N containers of the serving
/// release, N within the `scaling` range of its function.yml. New containers serve once healthy.
pub async fn scale(
    State(state): State<AppState>,
    BasicUser(user): BasicUser,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    Json(request): Json<ScaleRequest>,
) -> Result<Json<Scaled>, AppError> {
    let function = visible(&state, &user, &name).await?;
    let release = current(&state, &function).await?.ok_or_else(|| {
        AppError::Conflict(format!(
            "{name} has no serving release yet; push to it first"
        ))
    })?;
    let spec = release.config.clone();
    let (min, max) = (spec.scaling.min, spec.scaling.max);
    let replicas = u32::try_from(request.replicas)
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "{name} may run {min} to {max} containers (scaling in its function.yml), \
                 not {}; change scaling.max and push to allow more",
                request.replicas
            ))
        })?;
    let Some(_held) = state.push_locks.try_lock(&name) else {
        return Err(AppError::Conflict(format!(
            "a push to {name} is in progress; scale when it has finished"
        )));
    };
    let image = release
        .image
        .clone()
        .ok_or_else(|| AppError::Conflict(format!("{name} v{} has no image", release.number)))?;
    let template = state.templates.get(&spec.template);
    let deployment = Deployment {
        instance: state.instance.clone(),
        function: name.clone(),
        release: release.number,
        image,
        port: template.map_or(8080, |template| template.port),
        readiness: template.and_then(|template| template.readiness_path.clone()),
        spec,
        replicas,
    };
    state
        .runtime
        .scale(&deployment)
        .await
        .map_err(|error| AppError::Unavailable(format!("{name} was not scaled: {error}")))?;
    crate::db::functions::set_desired_replicas(&state.db, function.id, i64::from(replicas))
        .await
        .map_err(db_error)?;
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

/// `DELETE /api/v1/functions/NAME`: stops its containers, forgets its routes, releases and
/// repository. Images stay on the engine and in the registry.
pub async fn delete(
    State(state): State<AppState>,
    BasicUser(user): BasicUser,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    let function = visible(&state, &user, &name).await?;
    let Some(_held) = state.push_locks.try_lock(&name) else {
        return Err(AppError::Conflict(format!(
            "a push to {name} is in progress; delete it when that has finished"
        )));
    };
    // The database first: once the row is gone the reconciler removes any container left.
    crate::db::functions::delete(&state.db, function.id)
        .await
        .map_err(db_error)?;
    if let Ok(parsed) = crate::domain::FunctionName::parse(&name) {
        if let Err(error) = state.runtime.remove(&parsed).await {
            // The row is gone: the reconciler removes what is left once the engine answers.
            tracing::warn!(%error, function = name, "cannot stop the function's containers");
        }
        if let Err(error) = state.repos.remove(&parsed) {
            tracing::error!(%error, function = name, "cannot remove the repository");
        }
    }
    record(&state, &user, from, "function.delete", &name).await;
    Ok(StatusCode::NO_CONTENT)
}

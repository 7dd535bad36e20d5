//! The functions pages: the functions a user may see with their serving release and URLs; one
//! function with its releases newest first, each release's build log, rollback to an earlier
//! release, scaling within its range and deleting it (through the release module, as the
//! API's).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PortalState;
use super::session::{self, SignedIn};
use crate::db::functions::Function;
use crate::db::releases::{self, Release, ReleaseStatus};
use crate::db::users::User;
use crate::http::AppError;

/// A function as the list shows it.
struct Row {
    name: String,
    release: Option<i64>,
    replicas: i64,
    urls: Vec<String>,
}

#[derive(Template)]
#[template(path = "functions.html")]
struct ListPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    flash: Option<String>,
    functions: Vec<Row>,
    /// The signed-in user is an administrator: links to the users and the audit log.
    admin: bool,
}

/// A release as the function page shows it.
struct ReleaseRow {
    number: i64,
    status: &'static str,
    commit: String,
    rollback_of: Option<i64>,
    error: String,
    serving: bool,
    can_roll_back: bool,
}

#[derive(Template)]
#[template(path = "function.html")]
struct FunctionPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    name: &'a str,
    urls: Vec<String>,
    flash: Option<String>,
    releases: Vec<ReleaseRow>,
    /// Replicas asked for, and the range its serving release allows (none: nothing serves).
    replicas: i64,
    range: Option<(u32, u32)>,
}

#[derive(Template)]
#[template(path = "release_log.html")]
struct LogPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    name: &'a str,
    number: i64,
    log: &'a str,
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!("no function named {name}, or you may not see it"))
}

/// The function, if `user` may see it; a 404 otherwise, the same as for none.
async fn visible(state: &PortalState, user: &User, name: &str) -> Result<Function, AppError> {
    match crate::db::functions::find(&state.db, name).await? {
        Some(function) if crate::accounts::can_see(user, &function) => Ok(function),
        _ => Err(not_found(name)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListFlash {
    deleted: Option<String>,
}

/// `GET /portal/functions`.
pub async fn list(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Query(flash): Query<ListFlash>,
) -> Result<Html<String>, AppError> {
    // Only a valid function name is repeated on the page.
    let flash = flash
        .deleted
        .filter(|name| crate::domain::FunctionName::parse(name).is_ok())
        .map(|name| format!("{name} is deleted"));
    let owner = crate::accounts::access::listed_owner(&session.user);
    let mut rows = Vec::new();
    for function in crate::db::functions::list(&state.db, owner).await? {
        let release = match function.current_release_id {
            Some(id) => releases::find(&state.db, id).await?.map(|r| r.number),
            None => None,
        };
        rows.push(Row {
            urls: state.releaser.config.urls.of(&function.name),
            name: function.name,
            release,
            replicas: function.desired_replicas,
        });
    }
    super::render(&ListPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        flash,
        functions: rows,
        admin: session.user.role == crate::db::users::Role::Admin,
    })
}

#[derive(Debug, Deserialize)]
pub struct Flash {
    done: Option<String>,
    scaled: Option<String>,
}

/// `GET /portal/functions/NAME`.
pub async fn show(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Path(name): Path<String>,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, AppError> {
    let function = visible(&state, &session.user, &name).await?;
    let releases: Vec<ReleaseRow> = releases::list(&state.db, function.id)
        .await?
        .into_iter()
        .map(|release: Release| {
            let serving = function.current_release_id == Some(release.id);
            ReleaseRow {
                number: release.number,
                status: release.status.as_str(),
                commit: crate::release::short_id(&release.commit_id).to_owned(),
                rollback_of: release.rollback_of,
                error: release.error.unwrap_or_default(),
                can_roll_back: !serving && release.status == ReleaseStatus::Deployed,
                serving,
            }
        })
        .collect();
    // Only lmnop's own words, with a number from the query.
    let rolled = flash
        .done
        .and_then(|done| done.parse::<i64>().ok())
        .map(|number| format!("v{number} serves {name} now; the branch stays where it was"));
    let scaled = flash
        .scaled
        .and_then(|scaled| scaled.parse::<u32>().ok())
        .map(|count| {
            format!(
                "{name} runs {count} replica{} now",
                if count == 1 { "" } else { "s" }
            )
        });
    let flash = rolled.or(scaled);
    let range = match function.current_release_id {
        Some(id) => releases::find(&state.db, id)
            .await?
            .map(|release| (release.config.scaling.min, release.config.scaling.max)),
        None => None,
    };
    super::render(&FunctionPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        urls: state.releaser.config.urls.of(&function.name),
        name: &function.name,
        flash,
        releases,
        replicas: function.desired_replicas,
        range,
    })
}

/// `GET /portal/functions/NAME/releases/N/log`: the release's whole build and deploy log.
pub async fn log(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Path((name, number)): Path<(String, String)>,
) -> Result<Html<String>, AppError> {
    let function = visible(&state, &session.user, &name).await?;
    let wanted: i64 = number
        .strip_prefix('v')
        .unwrap_or(&number)
        .parse()
        .map_err(|_| AppError::NotFound(format!("{name} has no release {number}")))?;
    let release = releases::find_number(&state.db, function.id, wanted)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{name} has no release v{wanted}")))?;
    let log = releases::build_log(&state.db, release.id)
        .await?
        .unwrap_or_default();
    super::render(&LogPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        name: &function.name,
        number: wanted,
        log: &log,
    })
}

#[derive(Deserialize)]
pub struct RollbackForm {
    #[serde(default)]
    csrf: String,
    release: i64,
}

/// `POST /portal/functions/NAME/rollback`: the same rollback as the API's, back to the page.
pub async fn rollback(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RollbackForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let function = visible(&state, &session.user, &name).await?;
    let release = state
        .releaser
        .rollback(&function, form.release, &session.user)
        .await?;
    super::record(
        &state,
        &session.user,
        from,
        &format!("function.rollback.v{}", form.release),
        &name,
    )
    .await;
    Ok(Redirect::to(&format!("/portal/functions/{name}?done={}", release.number)).into_response())
}

#[derive(Deserialize)]
pub struct ScaleForm {
    #[serde(default)]
    csrf: String,
    replicas: i64,
}

/// `POST /portal/functions/NAME/scale`: runs that many replicas, within the function's range.
pub async fn scale(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<ScaleForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let function = visible(&state, &session.user, &name).await?;
    let count = state.releaser.scale(&function, form.replicas).await?;
    super::record(
        &state,
        &session.user,
        from,
        &format!("function.scale.{count}"),
        &name,
    )
    .await;
    Ok(Redirect::to(&format!("/portal/functions/{name}?scaled={count}")).into_response())
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    /// The function's name typed again, to confirm.
    #[serde(default)]
    confirm: String,
}

/// `POST /portal/functions/NAME/delete`, confirmed by typing the name: everything of it goes
/// (what it runs, its routes, releases and repository).
pub async fn delete(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<DeleteForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let function = visible(&state, &session.user, &name).await?;
    if form.confirm.trim() != function.name {
        return Err(AppError::BadRequest(format!(
            "type the function's name, {name}, to delete it"
        )));
    }
    state.releaser.delete(&function).await?;
    super::record(&state, &session.user, from, "function.delete", &name).await;
    Ok(Redirect::to(&format!("/portal/functions?deleted={name}")).into_response())
}

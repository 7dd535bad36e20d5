//! The administrators' pages: users (add, make admin, disable, enable: a disabled user cannot
//! sign in or push, and their sessions end at once) and the audit log (who did what, from
//! where, when; filtered and paged).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PortalState;
use super::session::{self, SignedIn};
use crate::accounts::{AccountError, Actor};
use crate::db::audit::Logged;
use crate::db::sessions::Session;
use crate::db::users::{Role, User, UserState};
use crate::domain::Secret;
use crate::http::AppError;

/// Entries on one page of the audit log.
const PAGE: i64 = 50;

fn admin_only(session: &Session) -> Result<(), AppError> {
    if session.user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::NotFound("there is no such page".to_owned()))
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    flash: Option<String>,
    users: Vec<User>,
}

#[derive(Debug, Deserialize)]
pub struct Flash {
    done: Option<String>,
    who: Option<String>,
}

/// `GET /portal/admin/users`.
pub async fn users(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, AppError> {
    admin_only(&session)?;
    let users = state
        .accounts
        .list()
        .await
        .map_err(|error| AppError::Unexpected(error.into()))?;
    // Only lmnop's words, with a name that exists.
    let flash = match (flash.done.as_deref(), flash.who) {
        (Some(done @ ("added" | "disabled" | "enabled" | "promoted")), Some(who))
            if users.iter().any(|user| user.name == who) =>
        {
            Some(format!("{who} is {done}"))
        }
        _ => None,
    };
    super::render(&UsersPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        flash,
        users,
    })
}

#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    name: String,
    /// For a new user.
    #[serde(default)]
    password: String,
    /// `add`, `disable`, `enable` or `promote`.
    action: String,
}

/// `POST /portal/admin/users`.
pub async fn change_user(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<UserForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    admin_only(&session)?;
    let actor = Actor {
        name: session.user.name.clone(),
        source: from.ip().to_string(),
    };
    let name = form.name.trim();
    let accounts = &state.accounts;
    let outcome = match form.action.as_str() {
        "add" => accounts
            .create_user(name, &Secret::new(form.password), Role::Member, &actor)
            .await
            .map(|_| "added"),
        "disable" if name == session.user.name => {
            return Err(AppError::BadRequest(
                "you cannot disable yourself; ask another administrator".to_owned(),
            ));
        }
        "disable" => accounts
            .set_state(name, UserState::Disabled, &actor)
            .await
            .map(|()| "disabled"),
        "enable" => accounts
            .set_state(name, UserState::Active, &actor)
            .await
            .map(|()| "enabled"),
        "promote" => accounts
            .set_role(name, Role::Admin, &actor)
            .await
            .map(|()| "promoted"),
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown action {other:?}: add, disable, enable or promote"
            )));
        }
    };
    match outcome {
        Ok(done) => Ok(
            Redirect::to(&format!("/portal/admin/users?done={done}&who={name}")).into_response(),
        ),
        Err(AccountError::Database(error)) => Err(error.into()),
        Err(AccountError::NotFound(_)) => Err(AppError::NotFound(format!(
            "there is no user named {name:?}"
        ))),
        Err(error) => Err(AppError::BadRequest(error.to_string())),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    filter: &'a str,
    entries: Vec<Logged>,
    /// The id to page on from, when there may be more.
    older: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    q: Option<String>,
    before: Option<i64>,
}

/// `GET /portal/admin/audit?q=TEXT&before=ID`.
pub async fn audit(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Query(query): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    admin_only(&session)?;
    let filter = query.q.unwrap_or_default();
    let filter = filter.trim();
    let entries = crate::db::audit::page(
        &state.db,
        (!filter.is_empty()).then_some(filter),
        query.before,
        PAGE,
    )
    .await?;
    let older = (entries.len() as i64 == PAGE)
        .then(|| entries.last().map(|entry| entry.id))
        .flatten();
    super::render(&AuditPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        filter,
        entries,
        older,
    })
}

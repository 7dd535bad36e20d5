//! The account page: change your password (the current one required; your other sessions end,
//! this one is renewed), and create and revoke API tokens (shown once, when created; they push
//! with git and call the API).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PortalState;
use super::session::{self, SignedIn};
use crate::accounts::{Actor, AuthError};
use crate::db::sessions::Session;
use crate::db::tokens::TokenInfo;
use crate::domain::Secret;
use crate::http::AppError;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    flash: Option<&'a str>,
    problem: Option<String>,
    /// A token just created: shown this once.
    new_token: Option<&'a str>,
    tokens: Vec<TokenInfo>,
}

fn actor(session: &Session, from: SocketAddr) -> Actor {
    Actor {
        name: session.user.name.clone(),
        source: from.ip().to_string(),
    }
}

async fn render_page(
    state: &PortalState,
    session: &Session,
    flash: Option<&str>,
    problem: Option<String>,
    new_token: Option<&str>,
) -> Result<Html<String>, AppError> {
    let tokens = state
        .accounts
        .list_tokens(&session.user.name)
        .await
        .map_err(|error| AppError::Unexpected(error.into()))?;
    super::render(&AccountPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        flash,
        problem,
        new_token,
        tokens,
    })
}

#[derive(Debug, Deserialize)]
pub struct Flash {
    done: Option<String>,
}

/// `GET /portal/account`.
pub async fn show(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, AppError> {
    let flash = match flash.done.as_deref() {
        Some("password") => Some("your password is changed; your other sessions have ended"),
        Some("revoked") => Some("the token is revoked"),
        _ => None,
    };
    render_page(&state, &session, flash, None, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// `POST /portal/account/password`.
pub async fn password(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<PasswordForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let refuse = |problem: String| async {
        let page = render_page(&state, &session, None, Some(problem), None).await?;
        Ok::<_, AppError>((StatusCode::BAD_REQUEST, page).into_response())
    };
    if form.new != form.repeat {
        return refuse("the new password and its repetition differ".to_owned()).await;
    }
    if form.current.len() > 1024 {
        return refuse("that is not your current password".to_owned()).await;
    }
    match state
        .accounts
        .authenticate_from(
            Some(from.ip()),
            &session.user.name,
            &Secret::new(form.current),
        )
        .await
    {
        Ok(_) => {}
        Err(AuthError::Limited(limited)) => {
            return Err(AppError::TooManyRequests {
                message: "too many failed tries; wait a little and try again".to_owned(),
                retry_after: limited.retry_after,
            });
        }
        Err(AuthError::Database(error)) => return Err(error.into()),
        Err(_) => return refuse("that is not your current password".to_owned()).await,
    }
    if let Err(error) = state
        .accounts
        .set_password(
            &session.user.name,
            &Secret::new(form.new),
            &actor(&session, from),
        )
        .await
    {
        return match error {
            crate::accounts::AccountError::Password(error) => refuse(error.to_string()).await,
            other => Err(AppError::Unexpected(other.into())),
        };
    }
    // Every session of the user ended with the new password; this browser gets a new one.
    let (cookie, _) = session::start(&state, session.user.id).await?;
    Ok((
        [(
            header::SET_COOKIE,
            session::set_cookie(&state, Some(&cookie)),
        )],
        Redirect::to("/portal/account?done=password"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    label: String,
}

/// `POST /portal/account/tokens`: the new token, shown on this page only.
pub async fn create_token(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let label = form.label.trim();
    if label.is_empty() || label.chars().count() > 100 {
        let page = render_page(
            &state,
            &session,
            None,
            Some("give the token a label of 1 to 100 characters".to_owned()),
            None,
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let token = state
        .accounts
        .create_token(&session.user.name, label, &actor(&session, from))
        .await
        .map_err(|error| AppError::Unexpected(error.into()))?;
    let page = render_page(&state, &session, None, None, Some(token.expose())).await?;
    // Not kept by the browser's cache: the token is on it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    id: i64,
}

/// `POST /portal/account/tokens/revoke`.
pub async fn revoke_token(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RevokeForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    match state
        .accounts
        .revoke_token(&session.user.name, form.id, &actor(&session, from))
        .await
    {
        Ok(()) => Ok(Redirect::to("/portal/account?done=revoked").into_response()),
        Err(crate::accounts::AccountError::NoToken { .. }) => {
            Err(AppError::NotFound("you have no such token".to_owned()))
        }
        Err(error) => Err(AppError::Unexpected(error.into())),
    }
}

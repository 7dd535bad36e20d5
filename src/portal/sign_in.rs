//! Signing in and out of the portal, with the accounts that push: a new session at every
//! sign-in, failures counted per address and per name (refused before any hashing once there
//! are too many), and sign-out ending the session.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PortalState;
use super::session::{self, SignedIn};
use crate::accounts::AuthError;
use crate::domain::Secret;
use crate::http::AppError;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    version: &'static str,
    next: &'a str,
    name: &'a str,
    problem: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after signing in: a portal page, nothing else (no open redirect).
fn next_page(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with("/portal/") && !next.starts_with("//") => next,
        _ => "/portal/functions",
    }
}

/// `GET /portal/sign-in`.
pub async fn form(Query(query): Query<Next>) -> Result<Html<String>, AppError> {
    super::render(&SignInPage {
        version: env!("CARGO_PKG_VERSION"),
        next: next_page(query.next.as_deref()),
        name: "",
        problem: None,
    })
}

#[derive(Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
    next: Option<String>,
}

/// `POST /portal/sign-in`: a new session and off to `next`, or the form again saying why.
pub async fn submit(
    State(state): State<PortalState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Credentials>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, None, "")?;
    if form.password.len() > 1024 || form.name.len() > 256 {
        return Err(AppError::BadRequest(
            "a user name or password that long is not one lmnop has".to_owned(),
        ));
    }
    let next = next_page(form.next.as_deref()).to_owned();
    let password = Secret::new(form.password);
    let user = match state
        .accounts
        .authenticate_from(Some(from.ip()), &form.name, &password)
        .await
    {
        Ok(user) => user,
        Err(AuthError::Limited(limited)) => {
            return Err(AppError::TooManyRequests {
                message: "too many failed sign-ins; wait a little and try again".to_owned(),
                retry_after: limited.retry_after,
            });
        }
        Err(AuthError::Database(error)) => return Err(error.into()),
        Err(error) => {
            let problem = match error {
                AuthError::Disabled(_) => "this account is disabled; ask an administrator",
                _ => "wrong user name or password",
            };
            let page = super::render(&SignInPage {
                version: env!("CARGO_PKG_VERSION"),
                next: &next,
                name: &form.name,
                problem: Some(problem),
            })?;
            return Ok((StatusCode::UNAUTHORIZED, page).into_response());
        }
    };
    // A session of its own: whatever cookie the browser had is not kept.
    if let Some(old) = session::cookie(&headers) {
        crate::db::sessions::delete(&state.db, &crate::accounts::tokens::hash(&old)).await?;
    }
    let (cookie, _) = session::start(&state, user.id).await?;
    Ok((
        [(
            header::SET_COOKIE,
            session::set_cookie(&state, Some(&cookie)),
        )],
        Redirect::to(&next),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /portal/sign-out`: the session ends.
pub async fn sign_out(
    State(state): State<PortalState>,
    SignedIn(signed_in): SignedIn,
    headers: HeaderMap,
    axum::Form(form): axum::Form<TokenForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&signed_in.csrf_token), &form.csrf)?;
    if let Some(cookie) = session::cookie(&headers) {
        crate::db::sessions::delete(&state.db, &crate::accounts::tokens::hash(&cookie)).await?;
    }
    Ok((
        [(header::SET_COOKIE, session::set_cookie(&state, None))],
        Redirect::to("/portal/sign-in"),
    )
        .into_response())
}

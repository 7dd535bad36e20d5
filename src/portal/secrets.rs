//! The secrets page: the secrets a user may manage (their own; an administrator's are the
//! administrators' and everybody's), with the functions that use each, and forms to create,
//! replace and delete them. Values are write-only: no page ever shows one. A secret a serving
//! function uses cannot be deleted; every change is audited (who, when, which name).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::PortalState;
use super::session::{self, SignedIn};
use crate::db::users::{Role, User};
use crate::domain::{Secret, SecretName};
use crate::http::AppError;

struct SecretRow {
    name: String,
    owner: String,
    used_by: Vec<String>,
}

#[derive(Template)]
#[template(path = "secrets.html")]
struct SecretsPage<'a> {
    version: &'static str,
    user: &'a str,
    csrf: &'a str,
    flash: Option<String>,
    secrets: Vec<SecretRow>,
}

/// Which serving functions use each secret.
async fn users_of(state: &PortalState) -> Result<BTreeMap<String, Vec<String>>, AppError> {
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for serving in crate::db::releases::serving(&state.db).await? {
        for secret in &serving.release.config.secrets {
            used.entry(secret.clone())
                .or_default()
                .push(serving.function.clone());
        }
    }
    Ok(used)
}

/// Whether `user` may change `name`: its owner, or an administrator.
fn may_manage(user: &User, owner: Option<&str>) -> bool {
    user.role == Role::Admin || owner == Some(user.name.as_str())
}

#[derive(Debug, Deserialize)]
pub struct Flash {
    set: Option<String>,
    deleted: Option<String>,
}

/// `GET /portal/secrets`.
pub async fn show(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    Query(flash): Query<Flash>,
) -> Result<Html<String>, AppError> {
    let (owners, _) = crate::db::secrets::access_list(&state.db).await?;
    let mut used = users_of(&state).await?;
    let names = state
        .releaser
        .secrets
        .list()
        .map_err(|error| AppError::Unexpected(error.into()))?;
    let secrets = names
        .into_iter()
        .filter(|name| may_manage(&session.user, owners.get(name).map(String::as_str)))
        .map(|name| SecretRow {
            owner: owners
                .get(&name)
                .cloned()
                .unwrap_or_else(|| "(administrators)".to_owned()),
            used_by: used.remove(&name).unwrap_or_default(),
            name,
        })
        .collect();
    // Only a valid secret name is repeated on the page.
    let valid = |name: String| SecretName::parse(&name).is_ok().then_some(name);
    let flash = flash
        .set
        .and_then(valid)
        .map(|name| format!("secret {name} is set; its value is not shown again"))
        .or_else(|| {
            flash
                .deleted
                .and_then(valid)
                .map(|name| format!("secret {name} is deleted"))
        });
    super::render(&SecretsPage {
        version: env!("CARGO_PKG_VERSION"),
        user: &session.user.name,
        csrf: &session.csrf_token,
        flash,
        secrets,
    })
}

#[derive(Deserialize)]
pub struct SetForm {
    #[serde(default)]
    csrf: String,
    name: String,
    value: String,
}

/// `POST /portal/secrets`: creates or replaces a secret. A member's new secret is theirs, an
/// administrator's the administrators'; replacing keeps the owner.
pub async fn set(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<SetForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let name = SecretName::parse(form.name.trim())
        .map_err(|error| AppError::BadRequest(error.to_string()))?;
    // As `lmnop secret set` reads it: one trailing newline is not part of the value.
    let mut value = form.value;
    if value.ends_with('\n') {
        value.pop();
        if value.ends_with('\r') {
            value.pop();
        }
    }
    let value = Secret::new(value);
    let store = &state.releaser.secrets;
    let exists = store.exists(&name);
    if exists {
        let owner = match crate::db::secrets::owner(&state.db, name.as_str()).await? {
            Some(id) => crate::db::users::find_by_id(&state.db, id)
                .await?
                .map(|user| user.name),
            None => None,
        };
        if !may_manage(&session.user, owner.as_deref()) {
            return Err(AppError::Conflict(format!(
                "the name {name} is taken by a secret that is not yours; choose another"
            )));
        }
    }
    store
        .set(&name, &value)
        .map_err(|error| AppError::BadRequest(error.to_string()))?;
    if !exists && session.user.role != Role::Admin {
        crate::db::secrets::set_owner(&state.db, name.as_str(), Some(session.user.id)).await?;
    }
    if let Err(error) = state
        .releaser
        .runtime
        .publish_secret(name.as_str(), Some(&value))
        .await
    {
        tracing::warn!(secret = %name, %error, "the gateway could not be told; the next deploy that uses it puts it there");
    }
    super::record(&state, &session.user, from, "secret.set", name.as_str()).await;
    Ok(Redirect::to(&format!("/portal/secrets?set={name}")).into_response())
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    name: String,
}

/// `POST /portal/secrets/delete`: refused while a serving function uses it, with their names.
pub async fn delete(
    State(state): State<PortalState>,
    SignedIn(session): SignedIn,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<DeleteForm>,
) -> Result<Response, AppError> {
    session::check_post(&state, &headers, Some(&session.csrf_token), &form.csrf)?;
    let name = SecretName::parse(form.name.trim())
        .map_err(|error| AppError::BadRequest(error.to_string()))?;
    let owner = match crate::db::secrets::owner(&state.db, name.as_str()).await? {
        Some(id) => crate::db::users::find_by_id(&state.db, id)
            .await?
            .map(|user| user.name),
        None => None,
    };
    if !state.releaser.secrets.exists(&name) || !may_manage(&session.user, owner.as_deref()) {
        return Err(AppError::NotFound(format!(
            "there is no secret {name} of yours"
        )));
    }
    if let Some(functions) = users_of(&state).await?.remove(name.as_str()) {
        return Err(AppError::Conflict(format!(
            "secret {name} is used by {}; remove it from their function.yml and push first",
            functions.join(", ")
        )));
    }
    state
        .releaser
        .secrets
        .remove(&name)
        .map_err(|error| AppError::Unexpected(error.into()))?;
    crate::db::secrets::forget(&state.db, name.as_str()).await?;
    if let Err(error) = state
        .releaser
        .runtime
        .publish_secret(name.as_str(), None)
        .await
    {
        tracing::warn!(secret = %name, %error, "the gateway still has the secret");
    }
    super::record(&state, &session.user, from, "secret.delete", name.as_str()).await;
    Ok(Redirect::to(&format!("/portal/secrets?deleted={name}")).into_response())
}

//! The web pages, rendered on the server with askama templates from `templates/`: one file per
//! page, each taking the [`PortalState`] the composition root hands over, and one HTML error
//! page for whatever fails under them. The home page (how to push, the templates), sign-in with
//! sessions, the functions (releases, build logs, rollback, scale, delete), secrets, the account
//! (password, API tokens), and the administrators' users and audit log.

mod account;
mod admin;
mod error;
mod functions;
mod home;
mod secrets;
mod session;
mod sign_in;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{any, get};

use crate::build::templates::Templates;
use crate::http::AppError;

pub use error::html_errors;

/// What the pages read.
#[derive(Debug, Clone)]
pub struct PortalState {
    pub templates: Arc<Templates>,
    pub site: Arc<Site>,
    pub db: crate::db::Db,
    pub accounts: crate::accounts::Accounts,
    /// Scale, delete and rollback go through the release module, as the API's do.
    pub releaser: crate::release::Releaser,
}

/// How this server is reached, as the pages tell it.
#[derive(Debug, Clone)]
pub struct Site {
    /// The public base URL, no trailing slash.
    pub base_url: String,
    /// The branch a push deploys.
    pub deploy_branch: String,
    /// Functions also answer at `NAME.<apps domain>`, when set.
    pub apps_domain: Option<String>,
    /// The base URL is https: cookies are `Secure`.
    pub https: bool,
}

/// The pages, for any server state that can hand over a [`PortalState`]. Errors are rendered
/// as the HTML error page.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    Router::new()
        .route("/", get(home::show))
        .route("/portal", get(home::show))
        .route("/portal/", get(home::show))
        .route("/portal/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/portal/sign-out", axum::routing::post(sign_in::sign_out))
        .route("/portal/functions", get(functions::list))
        .route("/portal/secrets", get(secrets::show).post(secrets::set))
        .route("/portal/account", get(account::show))
        .route(
            "/portal/admin/users",
            get(admin::users).post(admin::change_user),
        )
        .route("/portal/admin/audit", get(admin::audit))
        .route(
            "/portal/account/password",
            axum::routing::post(account::password),
        )
        .route(
            "/portal/account/tokens",
            axum::routing::post(account::create_token),
        )
        .route(
            "/portal/account/tokens/revoke",
            axum::routing::post(account::revoke_token),
        )
        .route(
            "/portal/secrets/delete",
            axum::routing::post(secrets::delete),
        )
        .route("/portal/functions/{name}", get(functions::show))
        .route(
            "/portal/functions/{name}/releases/{number}/log",
            get(functions::log),
        )
        .route(
            "/portal/functions/{name}/rollback",
            axum::routing::post(functions::rollback),
        )
        .route(
            "/portal/functions/{name}/scale",
            axum::routing::post(functions::scale),
        )
        .route(
            "/portal/functions/{name}/delete",
            axum::routing::post(functions::delete),
        )
        .route("/portal/{*rest}", any(unknown_page))
        .layer(axum::middleware::map_response(html_errors))
}

/// Any other page under `/portal`: the HTML 404 page, saying so.
async fn unknown_page(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("there is no page {}", uri.path()))
}

/// Records what `user` did from `from` in the audit log; a failure to write is logged, not the
/// user's to see.
async fn record(
    state: &PortalState,
    user: &crate::db::users::User,
    from: std::net::SocketAddr,
    action: &str,
    target: &str,
) {
    let entry = crate::db::audit::AuditEntry {
        actor: user.name.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        source: from.ip().to_string(),
    };
    if let Err(error) = crate::db::audit::record(&state.db, &entry).await {
        tracing::error!(%error, action, target, "cannot write the audit log");
    }
}

/// Renders a page, or answers the internal error page (the cause goes to the server log).
fn render(page: &impl askama::Template) -> Result<axum::response::Html<String>, AppError> {
    Ok(axum::response::Html(page.render()?))
}

//! The web pages, rendered on the server with askama templates from `templates/`: one file per
//! page, each taking the [`PortalState`] the composition root hands over, and one HTML error
//! page for whatever fails under them. So far the home page: how to push, and the templates this
//! server builds from.

mod error;
mod home;

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
        .route("/portal/{*rest}", any(unknown_page))
        .layer(axum::middleware::map_response(html_errors))
}

/// Any other page under `/portal`: the HTML 404 page, saying so.
async fn unknown_page(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("there is no page {}", uri.path()))
}

/// Renders a page, or answers the internal error page (the cause goes to the server log).
fn render(page: &impl askama::Template) -> Result<axum::response::Html<String>, AppError> {
    Ok(axum::response::Html(page.render()?))
}

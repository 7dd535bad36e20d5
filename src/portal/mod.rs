//! The web pages, rendered on the server with askama templates from `templates/`. So far the
//! home page: how to push, and the templates this server builds from.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::http::AppError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

/// One installed function template, as the home page lists it.
struct TemplateRow {
    name: String,
    description: String,
    required_files: Vec<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    version: &'static str,
    base_url: String,
    branch: String,
    apps_domain: Option<String>,
    templates: Vec<TemplateRow>,
}

async fn home(State(state): State<AppState>) -> Result<Response, AppError> {
    let templates = state
        .templates
        .names()
        .into_iter()
        .filter_map(|name| state.templates.get(&name))
        .map(|template| TemplateRow {
            name: template.name.clone(),
            description: template.description.clone(),
            required_files: template.required_files.clone(),
        })
        .collect();
    let page = Home {
        version: env!("CARGO_PKG_VERSION"),
        base_url: state.config.base_url(),
        branch: state.config.deploy_branch.clone(),
        apps_domain: state.config.apps_domain.clone(),
        templates,
    };
    let html = page
        .render()
        .map_err(|error| AppError::Unexpected(error.into()))?;
    Ok(Html(html).into_response())
}

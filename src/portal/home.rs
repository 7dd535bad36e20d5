//! The home page: how to push, where functions answer, and the installed templates.

use askama::Template;
use axum::extract::State;
use axum::response::Html;

use super::PortalState;
use crate::http::AppError;

/// One installed function template, as the home page lists it.
struct TemplateRow {
    name: String,
    description: String,
    /// Each as `entrypoint or function/entrypoint`.
    required_files: Vec<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    version: &'static str,
    base_url: &'a str,
    branch: &'a str,
    apps_domain: Option<&'a str>,
    templates: Vec<TemplateRow>,
}

/// `GET /`.
pub async fn show(State(state): State<PortalState>) -> Result<Html<String>, AppError> {
    let templates = state
        .templates
        .names()
        .into_iter()
        .filter_map(|name| state.templates.get(&name))
        .map(|template| TemplateRow {
            name: template.name.clone(),
            description: template.description.clone(),
            required_files: template
                .required_files
                .iter()
                .map(|requirement| requirement.describe())
                .collect(),
        })
        .collect();
    super::render(&Home {
        version: env!("CARGO_PKG_VERSION"),
        base_url: &state.site.base_url,
        branch: &state.site.deploy_branch,
        apps_domain: state.site.apps_domain.as_deref(),
        templates,
    })
}

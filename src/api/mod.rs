//! The JSON API for scripts and the command line: list functions, read a function and its
//! releases, read a release's full build log and what its replicas print, scale, delete. Errors are JSON, `{"error": "…"}`. Basic auth with a password or an
//! API token; a function is visible to its owner and administrators only (404 to anyone else).

mod error;
mod functions;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{any, get, post, put};

use crate::accounts::Accounts;
use crate::db::Db;
use crate::release::Releaser;

/// What the API uses; the composition root hands it over (`FromRef`).
#[derive(Debug, Clone)]
pub struct ApiState {
    pub db: Db,
    /// Scales and deletes through the release module; knows the runtime and the URLs.
    pub releaser: Releaser,
}

/// The API's routes, under `/api/v1`, for any server state that can hand over an [`ApiState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ApiState: FromRef<S>,
    Accounts: FromRef<S>,
{
    Router::new()
        .route("/api/v1/functions", get(functions::list))
        .route(
            "/api/v1/functions/{name}",
            get(functions::show).delete(functions::delete),
        )
        .route("/api/v1/functions/{name}/scale", put(functions::scale))
        .route(
            "/api/v1/functions/{name}/rollback",
            post(functions::rollback),
        )
        .route(
            "/api/v1/functions/{name}/releases/{number}/log",
            get(functions::log),
        )
        .route("/api/v1/functions/{name}/logs", get(functions::logs))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/{*rest}", any(unknown_endpoint))
        .layer(axum::middleware::map_response(error::json_errors))
}

/// The OpenAPI 3 document of these routes (a test checks each route is in it, and each of its
/// paths is a route).
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/v1/openapi.json`, for anybody: it describes the API, it holds no data.
async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// Anything else under `/api/v1`: a JSON 404 that says so.
async fn unknown_endpoint(uri: axum::http::Uri) -> crate::http::AppError {
    crate::http::AppError::NotFound(format!(
        "no API endpoint {}; see the README for /api/v1",
        uri.path()
    ))
}

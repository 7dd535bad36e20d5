//! The JSON API for scripts and the command line: list functions, read a function and its
//! releases, read a release's full build log, scale, delete. Errors are JSON, `{"error": "…"}`. Basic auth with a password or an
//! API token; a function is visible to its owner and administrators only (404 to anyone else).

mod error;
mod functions;

use axum::Router;
use axum::routing::{any, get, put};

use crate::app::AppState;

/// The API's routes, under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/functions", get(functions::list))
        .route(
            "/api/v1/functions/{name}",
            get(functions::show).delete(functions::delete),
        )
        .route("/api/v1/functions/{name}/scale", put(functions::scale))
        .route(
            "/api/v1/functions/{name}/releases/{number}/log",
            get(functions::log),
        )
        .route("/api/v1/{*rest}", any(unknown_endpoint))
        .layer(axum::middleware::map_response(error::json_errors))
}

/// Anything else under `/api/v1`: a JSON 404 that says so.
async fn unknown_endpoint(uri: axum::http::Uri) -> crate::http::AppError {
    crate::http::AppError::NotFound(format!(
        "no API endpoint {}; see the README for /api/v1",
        uri.path()
    ))
}

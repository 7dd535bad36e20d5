//! Errors of `/api/v1` as JSON, `{"error": "…"}`, whatever produced them: a handler's
//! `AppError`, the authentication extractor, or axum's own rejections (a body that is not the
//! JSON asked for, an unknown route under the API). Scripts read one shape; statuses and
//! headers (`WWW-Authenticate` on a 401) are kept.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;

/// The error body every API client reads.
#[derive(Debug, serde::Serialize)]
struct ApiError<'a> {
    error: &'a str,
}

/// Turns a plain-text error response into its JSON form; other responses pass unchanged.
pub async fn json_errors(response: Response) -> Response {
    let (mut parts, text) = match crate::http::error::plain_text_error(response).await {
        Ok(error) => error,
        Err(other) => return other,
    };
    let json =
        serde_json::to_vec(&ApiError { error: &text }).expect("a struct of one string serializes");
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}

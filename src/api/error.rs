//! Errors of `/api/v1` as JSON, `{"error": "…"}`, whatever produced them: a handler's
//! `AppError`, the authentication extractor, or axum's own rejections (a body that is not the
//! JSON asked for, an unknown route under the API). Scripts read one shape; statuses and
//! headers (`WWW-Authenticate` on a 401) are kept.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;

/// The most of an error body read to wrap it; error messages are a line or two.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// The error body every API client reads.
#[derive(Debug, serde::Serialize)]
struct ApiError<'a> {
    error: &'a str,
}

/// Turns a plain-text error response into its JSON form; other responses pass unchanged.
pub async fn json_errors(response: Response) -> Response {
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match to_bytes(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let text = crate::http::error::capped(&text);
    let json =
        serde_json::to_vec(&ApiError { error: &text }).expect("a struct of one string serializes");
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

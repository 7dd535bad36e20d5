//! The HTML error page: every error a page answers (a handler's `AppError`, axum's own
//! rejections, an unknown page) reaches a browser as a page in the site's frame, with the
//! message escaped and the status and headers kept.

use askama::Template;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// The most of an error body read to wrap it; error messages are a line or two.
const MAX_ERROR_BYTES: usize = 64 * 1024;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    version: &'static str,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

/// Turns a plain-text error response into the error page; other responses pass unchanged.
pub async fn html_errors(response: Response) -> Response {
    let status = response.status();
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let reason = status.canonical_reason().unwrap_or("error");
    let message = match to_bytes(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => reason.to_owned(),
    };
    let message = crate::http::error::capped(&message);
    let page = ErrorPage {
        version: env!("CARGO_PKG_VERSION"),
        status: status.as_u16(),
        reason,
        message: &message,
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "cannot render the error page");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
            "<!doctype html><title>lmnop</title><p>internal error</p>".to_owned()
        }
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(html))
}

//! The HTML error page: every error a page answers (a handler's `AppError`, axum's own
//! rejections, an unknown page) reaches a browser as a page in the site's frame, with the
//! message escaped and the status and headers kept.

use askama::Template;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

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
    let (mut parts, message) = match crate::http::error::plain_text_error(response).await {
        Ok(error) => error,
        Err(other) => return other,
    };
    let status = parts.status;
    let reason = status.canonical_reason().unwrap_or("error");
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
    Response::from_parts(parts, Body::from(html))
}

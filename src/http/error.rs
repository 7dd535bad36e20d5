//! The one error type at the HTTP edge: picks the status and the message a user sees, and logs
//! internal causes once, never showing them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The most of an error message shown, in characters: messages quote what was sent (a name, a
/// path, a JSON value), and a client that sends a megabyte must not get it back.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// Room kept in a cut message for the note saying so.
const NOTE_CHARS: usize = 48;

/// `message`, at most [`MAX_MESSAGE_CHARS`] long, the note of how much was left out included,
/// so capping a capped message changes nothing.
pub fn capped(message: &str) -> std::borrow::Cow<'_, str> {
    if message.chars().count() <= MAX_MESSAGE_CHARS {
        return message.into();
    }
    let end = message
        .char_indices()
        .nth(MAX_MESSAGE_CHARS - NOTE_CHARS)
        .map_or(message.len(), |(end, _)| end);
    format!(
        "{}… ({} more bytes not shown)",
        &message[..end],
        message.len() - end
    )
    .into()
}

/// The most of an error body read to re-dress it; error messages are a line or two.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A plain-text error response taken apart for another format (the API's JSON, the pages'
/// HTML): its head and its message, capped. Any other response is handed back unchanged.
pub async fn plain_text_error(
    response: axum::response::Response,
) -> Result<(axum::http::response::Parts, String), axum::response::Response> {
    let status = response.status();
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !is_text {
        return Err(response);
    }
    let (mut parts, body) = response.into_parts();
    let message = match axum::body::to_bytes(body, MAX_ERROR_BYTES).await {
        Ok(bytes) => capped(String::from_utf8_lossy(&bytes).trim()).into_owned(),
        Err(_) => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    // The new body has another length.
    parts.headers.remove(header::CONTENT_LENGTH);
    Ok((parts, message))
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// A database error is never the user's to read: logged once, answered as an internal error.
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

/// A page that cannot render is a bug: logged once, answered as an internal error.
/// A scale or delete the release module refused or could not do, as the API and the pages
/// answer it.
impl From<crate::release::ChangeError> for AppError {
    fn from(error: crate::release::ChangeError) -> Self {
        use crate::release::ChangeError;
        match error {
            ChangeError::NoRelease(_) | ChangeError::Busy(_) => Self::Conflict(error.to_string()),
            ChangeError::OutOfRange { .. } => Self::BadRequest(error.to_string()),
            ChangeError::Runtime(..) => Self::Unavailable(error.to_string()),
            ChangeError::Database(error) => error.into(),
        }
    }
}

/// A refused or failed rollback, as the API and the pages answer it.
impl From<crate::release::RollbackError> for AppError {
    fn from(error: crate::release::RollbackError) -> Self {
        use crate::release::RollbackError;
        match error {
            RollbackError::NoSuchRelease { .. } => Self::NotFound(error.to_string()),
            RollbackError::NeverServed { .. }
            | RollbackError::AlreadyServing { .. }
            | RollbackError::ImageGone { .. } => Self::Conflict(error.to_string()),
            RollbackError::Failed { .. } => Self::Unavailable(error.to_string()),
            RollbackError::Change(error) => error.into(),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(error: askama::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &self {
            Self::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                "internal error: the server log has the details".to_owned()
            }
            other => capped(&other.to_string()).into_owned(),
        };
        let retry_after = match &self {
            Self::TooManyRequests { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        let mut response = (status, format!("{message}\n")).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", super::REALM);
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_and_say_so() {
        assert_eq!(capped("short"), "short");
        let long = format!("no function named {}", "é".repeat(5000));
        let shown = capped(&long);
        assert!(shown.chars().count() <= MAX_MESSAGE_CHARS, "{shown}");
        assert_eq!(capped(&shown), shown, "capping twice changes nothing");
        assert!(shown.starts_with("no function named éé"), "{shown}");
        assert!(shown.ends_with("more bytes not shown)"), "{shown}");
    }
}

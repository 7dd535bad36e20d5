//! The one error type at the HTTP edge: picks the status and the message a user sees, and logs
//! internal causes once, never showing them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The most of an error message shown, in characters: messages quote what was sent (a name, a
/// path, a JSON value), and a client that sends a megabyte must not get it back.
pub const MAX_MESSAGE_CHARS: usize = 400;

/// `message`, cut to [`MAX_MESSAGE_CHARS`] with a note of how much was left out.
pub fn capped(message: &str) -> std::borrow::Cow<'_, str> {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message.into(),
        Some((end, _)) => format!(
            "{}… ({} more bytes not shown)",
            &message[..end],
            message.len() - end
        )
        .into(),
    }
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
        assert!(shown.chars().count() < MAX_MESSAGE_CHARS + 40, "{shown}");
        assert!(shown.starts_with("no function named éé"), "{shown}");
        assert!(shown.ends_with("more bytes not shown)"), "{shown}");
    }
}

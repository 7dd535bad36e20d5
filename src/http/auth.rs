//! HTTP basic authentication (password or API token) for git and scripts: one rule, shared with
//! every other way in.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::AppError;
use crate::accounts::{Accounts, AuthError};
use crate::db::users::User;
use crate::domain::Secret;

/// The user a request authenticated as. Missing or wrong credentials are a 401 with
/// `WWW-Authenticate`; a disabled account is a 403; too many failures from the client's
/// address or for the name are a 429 with `Retry-After`.
#[derive(Debug, Clone)]
pub struct BasicUser(pub User);

/// The largest `Authorization` header looked at; longer ones are refused before any work.
const MAX_HEADER_BYTES: usize = 4096;

impl<S> FromRequestParts<S> for BasicUser
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(AppError::Unauthorized);
        };
        let (name, password) = parse_basic(header.as_bytes()).ok_or(AppError::Unauthorized)?;
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        match Accounts::from_ref(state)
            .authenticate_from(address, &name, &password)
            .await
        {
            Ok(user) => Ok(Self(user)),
            Err(AuthError::InvalidCredentials) => Err(AppError::Unauthorized),
            Err(AuthError::Disabled(name)) => Err(AppError::Forbidden(format!(
                "the account {name} is disabled; ask an administrator to enable it"
            ))),
            Err(AuthError::Limited(limited)) => Err(AppError::TooManyRequests {
                message: AuthError::Limited(limited.clone()).to_string(),
                retry_after: limited.retry_after,
            }),
            Err(AuthError::Database(error)) => Err(error.into()),
        }
    }
}

/// `Basic base64(name:password)` → (name, password).
fn parse_basic(header: &[u8]) -> Option<(String, Secret)> {
    if header.len() > MAX_HEADER_BYTES {
        return None;
    }
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (name, password) = decoded.split_once(':')?;
    Some((name.to_owned(), Secret::new(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_credentials() {
        let header = format!("Basic {}", STANDARD.encode("alice:pa:ss"));
        let (name, password) = parse_basic(header.as_bytes()).expect("valid");
        assert_eq!(name, "alice");
        assert_eq!(password.expose(), "pa:ss");
    }

    #[test]
    fn refuses_other_schemes_and_junk() {
        assert!(parse_basic(b"Bearer abc").is_none());
        assert!(parse_basic(b"Basic !!!").is_none());
        assert!(parse_basic(format!("Basic {}", STANDARD.encode("no-colon")).as_bytes()).is_none());
        let long = format!("Basic {}", "A".repeat(MAX_HEADER_BYTES));
        assert!(parse_basic(long.as_bytes()).is_none());
    }
}

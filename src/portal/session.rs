//! Who is signed in to the portal: a random cookie (`lmnop_session`, `HttpOnly`,
//! `SameSite=Lax`, `Secure` behind https) whose SHA-256 names a stored session, and the checks
//! every form post passes: the session's CSRF token and an `Origin` (or `Referer`) of this site.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::PortalState;
use crate::db::sessions::Session;
use crate::domain::Secret;
use crate::http::AppError;

pub const COOKIE: &str = "lmnop_session";
/// How long a session lasts from sign-in.
pub const LIFETIME_S: i64 = 12 * 3600;

/// A new session's cookie value and CSRF token, stored (hashed) for `user_id`.
pub async fn start(state: &PortalState, user_id: i64) -> Result<(Secret, String), AppError> {
    let cookie = crate::accounts::tokens::random_password();
    let csrf = crate::accounts::tokens::random_password()
        .expose()
        .to_owned();
    crate::db::sessions::create(
        &state.db,
        &crate::accounts::tokens::hash(&cookie),
        user_id,
        &csrf,
        LIFETIME_S,
    )
    .await?;
    Ok((cookie, csrf))
}

/// The `Set-Cookie` of a session (`None`: the one that ends it).
pub fn set_cookie(state: &PortalState, value: Option<&Secret>) -> HeaderValue {
    let secure = if state.site.https { "; Secure" } else { "" };
    let text = match value {
        Some(value) => format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LIFETIME_S}{secure}",
            value.expose()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).expect("a session cookie is plain text")
}

/// The session cookie's value in a request.
pub fn cookie(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| Secret::new(value.to_owned()))
        .filter(|value| !value.expose().is_empty())
}

/// A signed-in user; a page that needs one sends everybody else to the sign-in page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Session);

/// Not signed in: off to the sign-in page, coming back here after.
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next = if self.0.starts_with("/portal/") {
            self.0
        } else {
            "/portal/functions".to_owned()
        };
        let query: String = url_encode(&next);
        Redirect::to(&format!("/portal/sign-in?next={query}")).into_response()
    }
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl<S> FromRequestParts<S> for SignedIn
where
    S: Send + Sync,
    PortalState: axum::extract::FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = <PortalState as axum::extract::FromRef<S>>::from_ref(state);
        let sign_in = || SignInFirst(parts.uri.path().to_owned()).into_response();
        let Some(value) = cookie(&parts.headers) else {
            return Err(sign_in());
        };
        match crate::db::sessions::find(&state.db, &crate::accounts::tokens::hash(&value)).await {
            Ok(Some(session)) => Ok(Self(session)),
            Ok(None) => Err(sign_in()),
            Err(error) => Err(AppError::from(error).into_response()),
        }
    }
}

/// A form post is this site's own: its `Origin` (else `Referer`) is this site's, and `token`
/// is the session's CSRF token. Otherwise 403, before anything changes.
pub fn check_post(
    state: &PortalState,
    headers: &HeaderMap,
    expected: Option<&str>,
    token: &str,
) -> Result<(), AppError> {
    if !same_origin(&state.site.base_url, headers) {
        return Err(AppError::Forbidden(
            "this form was sent from another site".to_owned(),
        ));
    }
    if let Some(expected) = expected {
        let matches = expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0;
        if !matches {
            return Err(AppError::Forbidden(
                "this form has expired or was not sent from lmnop's page; reload the page and \
                 try again"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// `Origin`, or without one `Referer`, names this site: the host (and port) of lmnop's public
/// URL, or the host the request itself was sent to (an installation reached by another name
/// than its public URL's). A post with neither header is refused: browsers send `Origin` with
/// every form post.
fn same_origin(base_url: &str, headers: &HeaderMap) -> bool {
    let host_of = |url: &str| -> Option<String> {
        let (_, rest) = url.split_once("://")?;
        let host = rest.split('/').next()?;
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    };
    let Some(theirs) = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok())
        .and_then(host_of)
    else {
        return false;
    };
    let requested = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    host_of(base_url).as_ref() == Some(&theirs) || requested.as_ref() == Some(&theirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn only_this_site_s_origin_or_referer_is_the_same_origin() {
        let base = "http://lmnop.example.com:8000";
        assert!(same_origin(
            base,
            &headers(header::ORIGIN, "http://lmnop.example.com:8000")
        ));
        assert!(same_origin(
            base,
            &headers(
                header::REFERER,
                "http://LMNOP.example.com:8000/portal/functions"
            )
        ));
        assert!(!same_origin(
            base,
            &headers(header::ORIGIN, "http://evil.example.com")
        ));
        assert!(!same_origin(
            base,
            &headers(header::ORIGIN, "http://lmnop.example.com")
        ));
        assert!(!same_origin(base, &headers(header::ORIGIN, "null")));
        assert!(!same_origin(base, &HeaderMap::new()));
        // Reached by another name than the public URL's: the request's own host counts.
        let mut by_address = headers(header::ORIGIN, "http://10.0.0.5:8000");
        by_address.insert(header::HOST, HeaderValue::from_static("10.0.0.5:8000"));
        assert!(same_origin(base, &by_address));
        by_address.insert(
            header::HOST,
            HeaderValue::from_static("lmnop.example.com:8000"),
        );
        assert!(!same_origin(base, &by_address));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let found = cookie(&headers(header::COOKIE, "a=1; lmnop_session=abc; b=2"));
        assert_eq!(found.as_ref().map(Secret::expose), Some("abc"));
        assert!(cookie(&headers(header::COOKIE, "lmnop_session=")).is_none());
        assert!(cookie(&headers(header::COOKIE, "other=1")).is_none());
    }
}

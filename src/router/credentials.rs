//! What of lmnop's own credentials must never cross the router: a function runs code its owner
//! wrote, on lmnop's origin when served under `/function/`, so it never sees the caller's
//! `Authorization` or lmnop's cookies, and cannot set lmnop's cookies or ask for lmnop's
//! password with a challenge in lmnop's realm.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::http::{COOKIE_PREFIX, REALM};

/// Takes lmnop's credentials out of a request on its way to a function: `Authorization`, and
/// every cookie whose name starts with lmnop's prefix (other cookies go on).
pub fn strip_from_request(headers: &mut HeaderMap) {
    headers.remove(header::AUTHORIZATION);
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && !is_lmnop_cookie(pair))
        .map(str::to_owned)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(header::COOKIE, value);
        }
    }
}

/// Takes out of a function's response what would act for lmnop: a `Set-Cookie` of one of
/// lmnop's cookie names, and a `WWW-Authenticate` challenge in lmnop's realm.
pub fn strip_from_response(headers: &mut HeaderMap) {
    retain(headers, header::SET_COOKIE, |value| !is_lmnop_cookie(value));
    retain(headers, header::WWW_AUTHENTICATE, |value| {
        !names_lmnop_realm(value)
    });
}

fn retain(headers: &mut HeaderMap, name: header::HeaderName, keep: impl Fn(&str) -> bool) {
    let values: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
    headers.remove(&name);
    for value in values {
        // A value that is not text cannot be checked, so it does not go on.
        if value.to_str().is_ok_and(&keep) {
            headers.append(name.clone(), value);
        }
    }
}

/// `name=value…` whose name (case aside, quotes and spaces trimmed) starts with lmnop's prefix.
fn is_lmnop_cookie(pair: &str) -> bool {
    let name = pair.split('=').next().unwrap_or_default();
    let name = name.trim().trim_matches('"').to_ascii_lowercase();
    name.starts_with(COOKIE_PREFIX)
}

/// Whether a challenge names lmnop's realm (`realm="lmnop"`, any case, quoted or not).
fn names_lmnop_realm(challenge: &str) -> bool {
    let lower = challenge.to_ascii_lowercase();
    lower.split([',', ' ']).any(|part| {
        part.trim()
            .strip_prefix("realm=")
            .is_some_and(|realm| realm.trim_matches('"') == REALM)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lmnop_s_cookies_and_authorization_stay_behind_and_others_go_on() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic YTpi"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; lmnop_session=s3cret; LMNOP-x=1"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("cart=3"));
        strip_from_request(&mut headers);
        assert!(!headers.contains_key(header::AUTHORIZATION));
        assert_eq!(headers[header::COOKIE], "theme=dark; cart=3");

        let mut only_lmnop = HeaderMap::new();
        only_lmnop.insert(header::COOKIE, HeaderValue::from_static("lmnop_session=x"));
        strip_from_request(&mut only_lmnop);
        assert!(!only_lmnop.contains_key(header::COOKIE));
    }

    #[test]
    fn a_function_cannot_set_lmnop_s_cookies_or_challenge_in_its_realm() {
        let mut headers = HeaderMap::new();
        for cookie in [
            "lmnop_session=stolen; Path=/",
            "theme=dark; Path=/",
            " LMNOP_x=1",
        ] {
            headers.append(header::SET_COOKIE, HeaderValue::from_static(cookie));
        }
        for challenge in [
            "Basic realm=\"lmnop\"",
            "Basic realm=LMNOP, charset=\"UTF-8\"",
            "Bearer realm=\"my-app\"",
        ] {
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        strip_from_response(&mut headers);
        let cookies: Vec<_> = headers.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["theme=dark; Path=/"]);
        let challenges: Vec<_> = headers.get_all(header::WWW_AUTHENTICATE).iter().collect();
        assert_eq!(challenges, ["Bearer realm=\"my-app\""]);
    }
}

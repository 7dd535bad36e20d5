//! Routing by host: `NAME.<apps domain>` goes to function NAME whatever the path; every other
//! host, lmnop's own above all, goes on to lmnop's own routes. A request whose `Host` is
//! ambiguous (two of them, user info in it, none on HTTP/1.1) is answered 400 before anything.

use axum::extract::{Request, State};
use axum::http::{StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::RouterState;

/// The middleware, on the whole server.
pub async fn route_by_host(
    State(state): State<RouterState>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(why) = check_host(&request) {
        return (StatusCode::BAD_REQUEST, format!("{why}\n")).into_response();
    }
    let own = state
        .own_host
        .as_deref()
        .is_some_and(|own| host_of(&request).is_some_and(|host| host == own));
    if !own {
        if let Some(name) = state
            .apps_domain
            .as_deref()
            .and_then(|domain| function_of(&request, domain))
        {
            return super::invoke_by_host(&state, &name, request).await;
        }
    }
    next.run(request).await
}

/// One `Host`, without user info; HTTP/1.1 requires it (RFC 9112 3.2).
fn check_host(request: &Request) -> Result<(), &'static str> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err("a request may carry one Host header, not several"),
        (None, _) if request.version() == Version::HTTP_11 => {
            Err("an HTTP/1.1 request needs a Host header")
        }
        (Some(host), None) if host.as_bytes().contains(&b'@') => {
            Err("the Host header may not carry user information")
        }
        _ => Ok(()),
    }
}

/// The request's host, lowercase and without its port.
fn host_of(request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let host = host.rsplit_once(':').map_or(host, |(name, _)| name);
    Some(host.to_ascii_lowercase())
}

/// The function a request's `Host` names under `domain`: a single label, so `a.b.<domain>` and
/// the bare domain are not functions.
fn function_of(request: &Request, domain: &str) -> Option<String> {
    let host = host_of(request)?;
    let name = host.strip_suffix(domain)?.strip_suffix('.')?;
    (!name.contains('.') && !name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str) -> Request {
        Request::builder()
            .header(header::HOST, host)
            .body(axum::body::Body::empty())
            .expect("request")
    }

    #[test]
    fn only_one_label_under_the_apps_domain_names_a_function() {
        let domain = "apps.example.com";
        assert_eq!(
            function_of(&request("Hello.apps.example.com:8080"), domain).as_deref(),
            Some("hello")
        );
        assert_eq!(function_of(&request("a.b.apps.example.com"), domain), None);
        assert_eq!(function_of(&request("apps.example.com"), domain), None);
        assert_eq!(function_of(&request(".apps.example.com"), domain), None);
        assert_eq!(function_of(&request("xapps.example.com"), domain), None);
        assert_eq!(function_of(&request("lmnop.example.com"), domain), None);
    }
}

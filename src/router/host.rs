//! Routing by host: `NAME.<apps domain>` goes to function NAME whatever the path; every other
//! host goes on to lmnop's own routes.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::RouterState;

/// The middleware, on the whole server.
pub async fn route_by_host(
    State(state): State<RouterState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(name) = state
        .apps_domain
        .as_deref()
        .and_then(|domain| function_of(&request, domain))
    {
        return super::invoke_by_host(&state, &name, request).await;
    }
    next.run(request).await
}

/// The function a request's `Host` names under `domain`: a single label, so `a.b.<domain>` and
/// the bare domain are not functions.
fn function_of(request: &Request, domain: &str) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let host = host
        .rsplit_once(':')
        .map_or(host, |(name, _)| name)
        .to_ascii_lowercase();
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

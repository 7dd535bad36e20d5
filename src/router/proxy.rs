//! Forwarding one request to one of a function's backends.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::RouterState;
use super::table::Backend;
use crate::domain::FunctionName;

/// Headers that belong to one connection and are never forwarded (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// A pooled HTTP/1 client to the containers: hyper's own, with the request and response bodies
/// passed through as they are (no URL parsing or body adapters per request).
pub type Upstream =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Body>;

pub fn upstream_client() -> Upstream {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build(connector)
}

/// The `/function/` routes, for any server state that can hand over a [`RouterState`].
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    RouterState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/function/{name}", any(invoke_root))
        .route("/function/{name}/", any(invoke_root))
        .route("/function/{name}/{*rest}", any(invoke_function))
}

async fn invoke_root(
    State(state): State<RouterState>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    forward(&state, &name, "/", request).await
}

pub async fn invoke_function(
    State(state): State<RouterState>,
    Path((name, _rest)): Path<(String, String)>,
    request: Request,
) -> Response {
    // The rest goes on exactly as it came, still percent-encoded: decoding it here would let
    // `%3F` or `%23` change what the function sees.
    let rest = raw_rest(request.uri().path()).to_owned();
    forward(&state, &name, &rest, request).await
}

/// `/function/NAME/rest…` → `/rest…`, taken from the raw path.
/// Whether a segment of `path` is `.` or `..`, written plainly or percent-encoded.
fn has_dot_segment(path: &str) -> bool {
    path.split(['/', '\\']).any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

fn raw_rest(path: &str) -> &str {
    let after = path.strip_prefix("/function/").unwrap_or(path);
    after.find('/').map_or("/", |slash| &after[slash..])
}

/// `NAME.<apps domain>`: the whole path goes to the function.
pub async fn invoke_by_host(state: &RouterState, name: &str, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    forward(state, name, &path, request).await
}

fn not_found(name: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no function named {name} is running\n"),
    )
        .into_response()
}

async fn forward(state: &RouterState, name: &str, path: &str, request: Request) -> Response {
    let Ok(name) = FunctionName::parse(name) else {
        return not_found(name);
    };
    // A function being replaced in place answers again in a moment: its requests wait here.
    state.routes.holds.wait(name.as_str()).await;
    let Some((lease, timeout)) = state.routes.pick(name.as_str()) else {
        return not_found(name.as_str());
    };
    let backend = lease.backend();
    // The URL library removes dot segments (`%2e` too): through a gateway, `/function/x/../..`
    // would reach its `/system` API.
    if matches!(backend, Backend::Gateway(_)) && has_dot_segment(path) {
        return (
            StatusCode::BAD_REQUEST,
            "a path with `.` or `..` segments cannot be sent to a function\n",
        )
            .into_response();
    }
    state.metrics.count_invocation(name.as_str());
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = backend.url(name.as_str(), &format!("{path}{query}"));
    let client_ip = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    let (parts, body) = request.into_parts();
    let client_version = parts.version;
    let mut headers = strip_hop_by_hop(&parts.headers);
    super::credentials::strip_from_request(&mut headers);
    // hyper has already told the client to go on (`100 Continue`); passed on, the header would
    // make the function's side wait for an answer it never sends.
    headers.remove(header::EXPECT);
    if let Some(host) = parts.headers.get(header::HOST) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
    }
    headers.remove(header::HOST);
    if let Some(ip) = client_ip {
        let forwarded = match parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
        {
            Some(previous) => format!("{previous}, {ip}"),
            None => ip,
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), value);
        }
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(state.forwarded_proto),
    );
    // A request that announces no body (most GETs) goes on without one, not as an empty
    // chunked stream: cheaper, and what the function expects.
    let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
        || parts
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    let mut upstream = axum::http::Request::new(if has_body { body } else { Body::empty() });
    *upstream.method_mut() = parts.method;
    *upstream.headers_mut() = headers;
    // Parsed as a URL first, which resolves `.` and `..` segments (`%2e` ones too) within
    // the function's own path, as a browser would.
    let uri = reqwest::Url::parse(&url)
        .map_err(|error| error.to_string())
        .and_then(|url| axum::http::Uri::try_from(url.as_str()).map_err(|error| error.to_string()));
    match uri {
        Ok(uri) => *upstream.uri_mut() = uri,
        Err(error) => {
            tracing::warn!(function = %name, %error, "cannot address the function");
            return (
                StatusCode::BAD_REQUEST,
                format!("the path cannot be sent to function {name}\n"),
            )
                .into_response();
        }
    }
    match tokio::time::timeout(timeout, state.upstream.request(upstream)).await {
        Ok(Ok(answer)) => {
            let (mut parts, body) = answer.into_parts();
            // The answer goes back in the client's HTTP version, whatever the function spoke.
            parts.version = client_version;
            parts.headers = strip_hop_by_hop(&parts.headers);
            super::credentials::strip_from_response(&mut parts.headers);
            // Streamed as it comes; the backend counts the request until the body is done.
            Response::from_parts(
                parts,
                Body::new(Leased {
                    body,
                    _lease: lease,
                }),
            )
        }
        Ok(Err(error)) => {
            tracing::warn!(function = %name, %error, "function unreachable");
            (
                StatusCode::BAD_GATEWAY,
                format!("function {name} did not answer\n"),
            )
                .into_response()
        }
        Err(_) => {
            tracing::warn!(function = %name, ?timeout, "function timed out");
            (
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "function {name} did not answer within {}s; a function that needs longer \
                     sets `timeout` in its function.yml (at most {}s)\n",
                    timeout.as_secs(),
                    crate::spec::REQUEST_TIMEOUT_SECONDS.1,
                ),
            )
                .into_response()
        }
    }
}

/// A response body that holds its backend's [`Lease`] until it has been sent or dropped.
struct Leased<B> {
    body: B,
    _lease: super::table::Lease,
}

impl<B> hyper::body::Body for Leased<B>
where
    B: hyper::body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

fn strip_hop_by_hop(headers: &HeaderMap) -> HeaderMap {
    // Headers named in Connection are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let lower = name.as_str();
        if HOP_BY_HOP.contains(&lower) || named.iter().any(|n| n == lower) {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::raw_rest;

    #[test]
    fn the_rest_of_the_path_is_kept_raw() {
        assert_eq!(raw_rest("/function/a/b/c"), "/b/c");
        assert_eq!(raw_rest("/function/a/x%3Fy%2F..%2Fz"), "/x%3Fy%2F..%2Fz");
        assert_eq!(raw_rest("/function/%61/"), "/");
        assert_eq!(raw_rest("/function/a"), "/");
    }
}

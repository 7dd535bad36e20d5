//! `/function/NAME[/rest]`, any method, no auth: a missing function is 404, one still starting is
//! 500 `Can't reach service`, a ready one answers `NAME IMAGE` (or its `STANDIN_BODY`).
//! `/function/NAME/_standin/echo` answers with what the function would have received: the path
//! without `/function/NAME`, the body re-sent chunked without `Content-Length`, the gateway's
//! forwarding headers added.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};
use serde::Serialize;

use crate::state::{Gateway, NAMESPACE};
use crate::{Reply, error, page_not_found, read_body, text};

const SERVED_BY: &str = "openfaas-ce/0.27.14";

/// Where faasd's bridge puts the function; what the function sees as `Host`.
const FUNCTION_HOST: &str = "10.62.0.2:8080";

/// Headers Go's reverse proxy does not forward.
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

#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    path: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// The gateway's per-call headers, sent to the function and back to the client.
struct Call {
    id: String,
    start_time: String,
}

impl Call {
    fn new() -> Call {
        let nanos = jiff::Timestamp::now().as_nanosecond();
        let random = |salt: u64| {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write_i128(nanos);
            hasher.write_u64(salt);
            hasher.finish()
        };
        let (high, low) = (random(1), random(2));
        Call {
            id: format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                high >> 32,
                (high >> 16) & 0xffff,
                high & 0xfff,
                (low >> 48) & 0x3fff | 0x8000,
                low & 0xffff_ffff_ffff
            ),
            start_time: nanos.to_string(),
        }
    }

    fn stamp(&self, reply: &mut Reply) {
        let headers = reply.headers_mut();
        for (name, value) in [
            ("x-call-id", self.id.as_str()),
            ("x-start-time", self.start_time.as_str()),
            ("x-served-by", SERVED_BY),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    }
}

pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> Reply {
    let peer = request.extensions().get::<SocketAddr>().copied();
    let (parts, body) = request.into_parts();
    let after = parts
        .uri
        .path()
        .strip_prefix("/function/")
        .unwrap_or_default();
    let (target, rest) = after.split_at(after.find('/').unwrap_or(after.len()));
    if target.is_empty() {
        return page_not_found();
    }
    let (name, namespace) = target.split_once('.').unwrap_or((target, NAMESPACE));
    let body = read_body(body).await;
    let call = Call::new();
    let rest = if rest.is_empty() { "/" } else { rest };
    let mut state = gateway.lock();
    let found = state
        .functions
        .get(name)
        .filter(|_| namespace == NAMESPACE)
        .map(|function| {
            let answer = function.deployment.env("STANDIN_BODY").map(str::to_owned);
            let image = function.deployment.image().to_owned();
            (function.is_ready(), answer, image)
        });
    let Some((ready, answer, image)) = found else {
        let message = format!(
            "error finding function {name}.{namespace}: server returned non-200 status code \
             (404) for function, {name}, body: "
        );
        return error(StatusCode::NOT_FOUND, &message);
    };
    *state.invocations.entry(name.to_owned()).or_default() += 1;
    if !ready {
        drop(state);
        let mut reply = error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Can't reach service for: {name}."),
        );
        reply
            .headers_mut()
            .insert("x-openfaas-internal", HeaderValue::from_static("proxy"));
        call.stamp(&mut reply);
        return reply;
    }
    state
        .logs
        .append(name, format!("{} {rest} 200", parts.method));
    drop(state);
    let mut reply = if rest == "/_standin/echo" {
        echo(&parts, rest, &body, peer, &call)
    } else {
        let answer = answer.unwrap_or_else(|| format!("{name} {image}\n"));
        text(StatusCode::OK, "text/plain", answer)
    };
    call.stamp(&mut reply);
    reply
}

/// The request as the function would have received it through faasd's proxy.
fn echo(parts: &Parts, rest: &str, body: &Bytes, peer: Option<SocketAddr>, call: &Call) -> Reply {
    let had_body = !body.is_empty() || parts.headers.contains_key(header::TRANSFER_ENCODING);
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name) || name == "content-length" {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.to_owned())
            .and_modify(|seen| {
                seen.push_str(", ");
                seen.push_str(&value);
            })
            .or_insert(value);
    }
    let client_host = header_text(&parts.headers, &header::HOST);
    headers.insert("host".to_owned(), FUNCTION_HOST.to_owned());
    if let Some(peer) = peer {
        let forwarded = match headers.get("x-forwarded-for") {
            Some(earlier) => format!("{earlier}, {peer}"),
            None => peer.to_string(),
        };
        headers.insert("x-forwarded-for".to_owned(), forwarded);
    }
    if let Some(host) = client_host {
        headers.insert("x-forwarded-host".to_owned(), host);
    }
    headers.insert("x-call-id".to_owned(), call.id.clone());
    headers.insert("x-start-time".to_owned(), call.start_time.clone());
    headers
        .entry("accept-encoding".to_owned())
        .or_insert_with(|| "gzip".to_owned());
    if had_body {
        headers.insert("transfer-encoding".to_owned(), "chunked".to_owned());
    }
    let path = match parts.uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let echo = Echo {
        method: parts.method.as_str(),
        path,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
    };
    match serde_json::to_vec(&echo) {
        Ok(body) => text(StatusCode::OK, "application/json", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

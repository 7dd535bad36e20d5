//! `/system/*`: each request is recorded, then suffers the fault tests asked for, then needs
//! basic auth as the gateway asks for it, and only then reaches the provider's handlers.

use std::io::{Error, ErrorKind};

use base64::Engine;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::control::{Fault, Recorded};
use crate::state::{Gateway, NAMESPACE};
use crate::{Reply, empty, error, functions, json, logs, page_not_found, read_body, secrets};

/// The user and password of a `Basic` authorization, read as Go's `Request.BasicAuth` does.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn unauthorized() -> Reply {
    let mut reply = error(StatusCode::UNAUTHORIZED, "invalid credentials");
    reply.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Restricted\""),
    );
    reply
}

/// An `Err` closes the connection without an answer.
pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> std::io::Result<Reply> {
    let (parts, body) = request.into_parts();
    let body = read_body(body).await;
    let credentials = basic_credentials(&parts.headers);
    let auth_ok = credentials.as_ref().is_some_and(|(user, password)| {
        *user == gateway.config.user && gateway.config.password.matches(password)
    });
    let user = credentials.map(|(user, _)| user);
    let fault = {
        let mut state = gateway.lock();
        state
            .requests
            .push(Recorded::new(&parts, user, auth_ok, &body));
        state.fault
    };
    match fault {
        Fault::Down => {
            return Err(Error::new(
                ErrorKind::ConnectionAborted,
                "the down fault drops the connection",
            ));
        }
        Fault::Slow(delay) => tokio::time::sleep(delay).await,
        Fault::NoPrometheus
            if parts.method == Method::GET
                && parts.uri.path() == "/system/functions"
                && !gateway.lock().functions.is_empty() =>
        {
            return Err(Error::new(
                ErrorKind::ConnectionAborted,
                "the list handler crashes without Prometheus",
            ));
        }
        Fault::None | Fault::Error500 | Fault::NoPrometheus => {}
    }
    if !auth_ok {
        return Ok(unauthorized());
    }
    let writes = !matches!(parts.method, Method::GET | Method::HEAD);
    if fault == Fault::Error500 && writes {
        return Ok(error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"));
    }
    Ok(route(gateway, &parts, body).await)
}

async fn route(gateway: &Gateway, parts: &Parts, body: Bytes) -> Reply {
    let path = parts.uri.path();
    let query = parts.uri.query();
    let method = &parts.method;
    match (path, method) {
        ("/system/info", &Method::GET) => show_info(gateway),
        ("/system/namespaces", &Method::GET) => json(StatusCode::OK, &[NAMESPACE]),
        ("/system/functions", &Method::GET) => functions::list_functions(gateway, query),
        ("/system/functions", &Method::POST) => functions::deploy_function(gateway, &body).await,
        ("/system/functions", &Method::PUT) => functions::update_function(gateway, &body).await,
        ("/system/functions", &Method::DELETE) => functions::delete_function(gateway, &body),
        ("/system/secrets", &Method::GET) => secrets::list_secrets(gateway, query),
        ("/system/secrets", &Method::POST | &Method::PUT) => secrets::write_secret(gateway, &body),
        ("/system/secrets", &Method::DELETE) => secrets::delete_secret(gateway, &body),
        ("/system/logs", &Method::GET) => logs::show_logs(gateway, query),
        ("/system/info" | "/system/namespaces" | "/system/logs", _)
        | ("/system/functions" | "/system/secrets", _) => empty(StatusCode::METHOD_NOT_ALLOWED),
        _ => route_by_name(gateway, parts, &body),
    }
}

/// The routes with a function name in the path.
fn route_by_name(gateway: &Gateway, parts: &Parts, body: &[u8]) -> Reply {
    let path = parts.uri.path();
    let named = |prefix: &str| {
        path.strip_prefix(prefix)
            .filter(|name| !name.is_empty() && !name.contains('/'))
    };
    if let Some(name) = named("/system/function/") {
        return match parts.method {
            Method::GET => functions::show_function(gateway, name, parts.uri.query()),
            _ => empty(StatusCode::METHOD_NOT_ALLOWED),
        };
    }
    if named("/system/scale-function/").is_some() {
        return match parts.method {
            // The provider reads the name from the body, not the path.
            Method::POST => functions::scale_function(gateway, body),
            _ => empty(StatusCode::METHOD_NOT_ALLOWED),
        };
    }
    page_not_found()
}

#[derive(Serialize)]
struct Info {
    provider: ProviderInfo,
    version: GatewayVersion,
    arch: &'static str,
}

#[derive(Serialize)]
struct ProviderInfo {
    provider: &'static str,
    version: ProviderVersion,
    orchestration: &'static str,
}

#[derive(Serialize)]
struct ProviderVersion {
    sha: &'static str,
    release: &'static str,
}

#[derive(Serialize)]
struct GatewayVersion {
    commit_message: &'static str,
    sha: &'static str,
    release: &'static str,
}

fn show_info(gateway: &Gateway) -> Reply {
    let provider = gateway.config.provider;
    let info = Info {
        provider: ProviderInfo {
            provider: provider.name(),
            version: ProviderVersion {
                sha: "standin",
                release: "0.19.0",
            },
            orchestration: provider.orchestration(),
        },
        version: GatewayVersion {
            commit_message: "stand-in",
            sha: "standin",
            release: "0.27.14",
        },
        arch: "amd64",
    };
    json(StatusCode::OK, &info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_from_basic_auth() {
        let mut headers = HeaderMap::new();
        // "admin:pa:ss"
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("basic YWRtaW46cGE6c3M="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("admin".to_owned(), "pa:ss".to_owned()))
        );
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(basic_credentials(&headers), None);
    }
}

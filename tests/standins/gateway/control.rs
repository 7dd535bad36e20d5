//! The stand-in's own endpoints for tests, without auth: `POST /_standin/fault` breaks
//! `/system/*` on purpose, `GET /_standin/requests` lists what `/system/*` received (passwords
//! never, secret values masked) and `DELETE /_standin/requests` forgets it.

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::state::Gateway;
use crate::{Reply, empty, error, json, page_not_found, read_body};

/// What `/system/*` suffers; `/function/*` always works.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Fault {
    #[default]
    None,
    /// The connection is closed with no answer, like the list handler crashing without
    /// Prometheus.
    Down,
    /// Answers come only after this long.
    Slow(Duration),
    /// Writes answer 500 `internal error`.
    Error500,
    /// Prometheus is gone: the list handler crashes (the connection closes with no answer) as
    /// soon as one function exists; everything else works.
    NoPrometheus,
}

#[derive(Deserialize)]
struct FaultRequest {
    kind: String,
    #[serde(default)]
    seconds: f64,
}

#[derive(Serialize)]
struct FaultState {
    kind: &'static str,
    seconds: f64,
}

/// One request to `/system/*` as it arrived.
#[derive(Clone, Debug, Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub auth_ok: bool,
    pub user: Option<String>,
    pub body: Value,
    pub raw: String,
}

const REDACTED: &str = "<redacted>";

impl Recorded {
    /// The request with any secret value in its body masked. A body that is not JSON cannot be
    /// searched for values, so on the secrets path it is not kept at all.
    pub fn new(
        request: &hyper::http::request::Parts,
        user: Option<String>,
        auth_ok: bool,
        body: &[u8],
    ) -> Recorded {
        let on_secrets = request.uri.path().starts_with("/system/secrets");
        let lossy = || String::from_utf8_lossy(body).into_owned();
        let (body, raw) = match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                let raw = if mask_values(&mut value) {
                    value.to_string()
                } else {
                    lossy()
                };
                (value, raw)
            }
            Err(_) if on_secrets && !body.is_empty() => (Value::Null, REDACTED.to_owned()),
            Err(_) => (Value::Null, lossy()),
        };
        Recorded {
            method: request.method.to_string(),
            path: request.uri.path().to_owned(),
            query: request.uri.query().map(str::to_owned),
            auth_ok,
            user,
            body,
            raw,
        }
    }
}

/// Masks `value` and `rawValue`, matched without case as Go's JSON decoder matches them.
fn mask_values(value: &mut Value) -> bool {
    let Value::Object(fields) = value else {
        return false;
    };
    let mut masked = false;
    for (key, field) in fields.iter_mut() {
        if key.eq_ignore_ascii_case("value") || key.eq_ignore_ascii_case("rawValue") {
            *field = Value::String(REDACTED.to_owned());
            masked = true;
        }
    }
    masked
}

pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> Reply {
    let (parts, body) = request.into_parts();
    match (&parts.method, parts.uri.path()) {
        (&Method::POST, "/_standin/fault") => set_fault(gateway, &read_body(body).await),
        (&Method::GET, "/_standin/fault") => show_fault(gateway),
        (&Method::GET, "/_standin/requests") => json(StatusCode::OK, &gateway.lock().requests),
        (&Method::DELETE, "/_standin/requests") => {
            gateway.lock().requests.clear();
            empty(StatusCode::OK)
        }
        _ => page_not_found(),
    }
}

fn set_fault(gateway: &Gateway, body: &[u8]) -> Reply {
    let asked: FaultRequest = match serde_json::from_slice(body) {
        Ok(asked) => asked,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let fault = match asked.kind.as_str() {
        "none" => Fault::None,
        "down" => Fault::Down,
        "slow" => match Duration::try_from_secs_f64(asked.seconds) {
            Ok(delay) => Fault::Slow(delay),
            Err(e) => return error(StatusCode::BAD_REQUEST, &format!("seconds: {e}")),
        },
        "error500" => Fault::Error500,
        "no-prometheus" => Fault::NoPrometheus,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown fault kind {other:?} (none, down, slow, error500, no-prometheus)"
                ),
            );
        }
    };
    gateway.lock().fault = fault;
    empty(StatusCode::OK)
}

fn show_fault(gateway: &Gateway) -> Reply {
    let (kind, seconds) = match gateway.lock().fault {
        Fault::None => ("none", 0.0),
        Fault::Down => ("down", 0.0),
        Fault::Slow(delay) => ("slow", delay.as_secs_f64()),
        Fault::Error500 => ("error500", 0.0),
        Fault::NoPrometheus => ("no-prometheus", 0.0),
    };
    json(StatusCode::OK, &FaultState { kind, seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> hyper::http::request::Parts {
        Request::post(uri)
            .body(())
            .expect("a valid request")
            .into_parts()
            .0
    }

    #[test]
    fn secret_values_are_masked() {
        let recorded = Recorded::new(
            &parts("/system/secrets"),
            Some("admin".to_owned()),
            true,
            br#"{"name":"db","value":"hunter2","RawValue":"aHVudGVyMg=="}"#,
        );
        assert!(!recorded.raw.contains("hunter2"));
        assert!(!recorded.raw.contains("aHVudGVyMg"));
        assert_eq!(recorded.body["name"], "db");
        assert_eq!(recorded.body["value"], REDACTED);
        let broken = Recorded::new(
            &parts("/system/secrets"),
            None,
            false,
            b"{\"value\":\"hunter2\"",
        );
        assert_eq!(broken.raw, REDACTED);
        assert_eq!(broken.body, Value::Null);
    }

    #[test]
    fn other_bodies_are_kept_as_sent() {
        let sent = br#"{"service":"f",  "image":"i"}"#;
        let recorded = Recorded::new(&parts("/system/functions?x=1"), None, false, sent);
        assert_eq!(recorded.raw.as_bytes(), sent);
        assert_eq!(recorded.query.as_deref(), Some("x=1"));
    }
}

//! A stand-in for the OpenFaaS CE gateway 0.27.14 in front of faasd 0.19.0 (or faas-netes), for
//! tests on machines without containerd. It answers as the real pair does where lmnop depends on
//! it, harsh parts included (`../shared/OPENFAAS-OBSERVED.md` has the evidence):
//!
//! - basic auth on `/system/*` (401 `invalid credentials`), none on `/healthz` and `/function/*`;
//! - faasd answers writes 200 with an empty body and runs one replica at most; faas-netes 202;
//! - the gateway clamps scale requests to 1-5, and the provider acts on `serviceName` in the body;
//! - a failed `PUT /system/functions` deletes the running function (see `functions.rs`);
//! - a deployed function answers 500 `Can't reach service for: NAME.` until it is ready;
//! - `GET /system/logs?tail=N` returns the oldest N lines;
//! - images are looked up in the registry named in the reference, over plain HTTP.
//!
//! Tests drive it with `/_standin/*` (see `control.rs`): faults, and the recorded requests.
//!
//! `gateway-standin --listen 127.0.0.1:0 --user U --password P [--provider faasd|faas-netes]
//! [--max-functions 15]` prints `listening on ADDR` once bound, then serves until killed.

mod control;
mod deployment;
mod functions;
mod invoke;
mod logs;
mod registry;
mod secrets;
mod state;
mod system;

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use state::{Config, Gateway, Provider};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Reply = Response<UnsyncBoxBody<Bytes, BoxError>>;

const USAGE: &str = "usage: gateway-standin --listen ADDR --user USER --password PASSWORD \
                     [--provider faasd|faas-netes] [--max-functions N]";

struct Args {
    listen: SocketAddr,
    config: Config,
}

/// Reads the command line; the error is printed with the usage before exiting 2.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut listen = None;
    let mut user = None;
    let mut password = None;
    let mut provider = Provider::Faasd;
    let mut max_functions = 15;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let value = value()?;
                listen = Some(
                    value
                        .parse::<SocketAddr>()
                        .map_err(|e| format!("--listen {value}: {e}"))?,
                );
            }
            "--user" => user = Some(value()?),
            "--password" => password = Some(value()?),
            "--provider" => {
                provider = match value()?.as_str() {
                    "faasd" => Provider::Faasd,
                    "faas-netes" => Provider::FaasNetes,
                    other => return Err(format!("unknown provider {other:?}")),
                }
            }
            "--max-functions" => {
                let value = value()?;
                max_functions = value
                    .parse()
                    .map_err(|e| format!("--max-functions {value}: {e}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args {
        listen: listen.ok_or("--listen is required")?,
        config: Config {
            user: user.ok_or("--user is required")?,
            password: state::Password::new(password.ok_or("--password is required")?),
            provider,
            max_functions,
        },
    })
}

#[tokio::main]
async fn main() {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("gateway-standin: {error}\n{USAGE}");
        std::process::exit(2);
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .unwrap_or_else(|error| {
            eprintln!("gateway-standin: cannot listen on {}: {error}", args.listen);
            std::process::exit(1);
        });
    let bound = listener
        .local_addr()
        .expect("a bound socket has an address");
    let mut stdout = std::io::stdout();
    // The test harness reads this one line to learn the port.
    let printed = writeln!(stdout, "listening on {bound}").and_then(|()| stdout.flush());
    if let Err(error) = printed {
        eprintln!("gateway-standin: cannot write to stdout: {error}");
        std::process::exit(1);
    }
    let gateway = Arc::new(Gateway::new(args.config));
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let gateway = gateway.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(peer);
            answer(gateway.clone(), request)
        });
        tokio::spawn(async move {
            // A closed connection is what the "down" fault asks for, so errors are not news.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One request. An `Err` makes hyper close the connection without answering, as Go's server
/// does when a handler panics.
async fn answer(gateway: Arc<Gateway>, request: Request<Incoming>) -> std::io::Result<Reply> {
    let path = request.uri().path();
    if path == "/healthz" {
        return Ok(empty(StatusCode::OK));
    }
    if path.starts_with("/system/") {
        return system::handle(&gateway, request).await;
    }
    if path.starts_with("/function/") {
        return Ok(invoke::handle(&gateway, request).await);
    }
    if path.starts_with("/_standin/") {
        return Ok(control::handle(&gateway, request).await);
    }
    Ok(page_not_found())
}

/// Reads a whole request body; a body cut short reads as what arrived.
pub async fn read_body(body: Incoming) -> Bytes {
    match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    }
}

/// An empty response, as Go writes one for `WriteHeader` alone (`Content-Length: 0`).
pub fn empty(status: StatusCode) -> Reply {
    let mut reply = Response::new(full(Bytes::new()));
    *reply.status_mut() = status;
    reply
}

pub fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(full(body.into()));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    reply
}

/// Go's `http.Error`: the message and a newline, as plain text that must not be sniffed.
pub fn error(status: StatusCode, message: &str) -> Reply {
    let mut reply = text(status, "text/plain; charset=utf-8", format!("{message}\n"));
    reply.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    reply
}

pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => text(status, "application/json", body),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// What Go's `ServeMux` and gorilla/mux answer for a path nobody serves.
pub fn page_not_found() -> Reply {
    error(StatusCode::NOT_FOUND, "404 page not found")
}

pub fn full(bytes: Bytes) -> UnsyncBoxBody<Bytes, BoxError> {
    http_body_util::Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// The query string's pairs, decoded as Go's `url.ParseQuery` does (`+` is a space).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// The first value of `key` in the query string.
pub fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) if bytes[i] == b'%' => hex(high).zip(hex(low)),
            _ => None,
        };
        match (bytes[i], escaped) {
            (_, Some((high, low))) => {
                out.push(high << 4 | low);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_decoded() {
        let pairs = query_pairs(Some(
            "name=py%2Dfn&since=2026-12-03T07%3A30%3A00Z&x=a+b&flag",
        ));
        assert_eq!(
            pairs,
            vec![
                ("name".to_owned(), "py-fn".to_owned()),
                ("since".to_owned(), "2026-12-03T07:30:00Z".to_owned()),
                ("x".to_owned(), "a b".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn the_command_line_is_read() {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--user",
            "admin",
            "--password",
            "pw",
        ]
        .map(String::from);
        let parsed = parse_args(args).expect("valid arguments");
        assert_eq!(parsed.config.max_functions, 15);
        assert_eq!(parsed.config.provider, Provider::Faasd);
        assert!(parse_args(["--listen".to_owned()]).is_err());
        assert!(parse_args(["--bogus".to_owned()]).is_err());
    }
}

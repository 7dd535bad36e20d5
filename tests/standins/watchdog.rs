//! A stand-in for the OpenFaaS of-watchdog, which cannot be pulled on machines without a
//! container registry. It keeps the published contract that function images rely on:
//!
//! - listens on `port` (default 8080);
//! - `mode=http`: starts `fprocess` once (split on spaces, no shell) and forwards every request
//!   to `upstream_url`; exits when that process exits;
//! - `mode=static`: serves files from `static_path` (default `/home/app/public`);
//! - `GET /_/health` answers 200 `OK` once the function process has started (http) or at once
//!   (static);
//! - SIGTERM stops it gracefully.
//!
//! Tests build it and wrap it in a local image (`/fwatchdog`), as the real image ships it.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(Clone)]
struct Watchdog {
    mode: Mode,
    client: reqwest::Client,
}

#[derive(Clone)]
enum Mode {
    Http { upstream: String },
    Static { root: PathBuf },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

#[tokio::main]
async fn main() {
    let port: u16 = env("port").and_then(|p| p.parse().ok()).unwrap_or(8080);
    let mode = match env("mode").as_deref() {
        Some("static") => Mode::Static {
            root: PathBuf::from(
                env("static_path").unwrap_or_else(|| "/home/app/public".to_owned()),
            ),
        },
        Some("http") | None => {
            let Some(fprocess) = env("fprocess") else {
                eprintln!("fwatchdog: set fprocess to the command that starts the function");
                std::process::exit(1);
            };
            let mut words = fprocess.split_whitespace();
            let program = words.next().unwrap_or_default().to_owned();
            let mut child = tokio::process::Command::new(&program)
                .args(words)
                .spawn()
                .unwrap_or_else(|error| {
                    eprintln!("fwatchdog: cannot start {program}: {error}");
                    std::process::exit(1);
                });
            tokio::spawn(async move {
                let status = child.wait().await;
                eprintln!("fwatchdog: forked function has terminated: {status:?}");
                std::process::exit(1);
            });
            Mode::Http {
                upstream: env("upstream_url")
                    .unwrap_or_else(|| "http://127.0.0.1:8082".to_owned())
                    .trim_end_matches('/')
                    .to_owned(),
            }
        }
        Some(other) => {
            eprintln!("fwatchdog: mode {other:?} is not supported by this stand-in (http, static)");
            std::process::exit(1);
        }
    };
    let state = Arc::new(Watchdog {
        mode,
        client: reqwest::Client::new(),
    });
    let app = Router::new()
        .route("/_/health", get(|| async { "OK" }))
        .fallback(forward)
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
        .await
        .unwrap_or_else(|error| {
            eprintln!("fwatchdog: cannot listen on {port}: {error}");
            std::process::exit(1);
        });
    eprintln!("fwatchdog: listening on {port}");
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        term.recv().await;
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .expect("serve");
}

async fn forward(State(watchdog): State<Arc<Watchdog>>, request: Request) -> Response {
    match &watchdog.mode {
        Mode::Static { root } => serve_file(root, request.uri().path()).await,
        Mode::Http { upstream } => proxy(&watchdog.client, upstream, request).await,
    }
}

async fn proxy(client: &reqwest::Client, upstream: &str, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let (parts, body) = request.into_parts();
    let mut outgoing = client
        .request(parts.method, format!("{upstream}{path}"))
        .body(reqwest::Body::wrap_stream(body.into_data_stream()));
    for (name, value) in &parts.headers {
        if name != header::HOST && name != header::CONNECTION {
            outgoing = outgoing.header(name, value);
        }
    }
    match outgoing.send().await {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name != header::CONNECTION
                    && name != HeaderName::from_static("transfer-encoding")
                {
                    response = response.header(name, value);
                }
            }
            response
                .body(Body::from_stream(answer.bytes_stream()))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("upstream: {error}\n")).into_response(),
    }
}

async fn serve_file(root: &Path, path: &str) -> Response {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut file = root.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(content) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css",
                Some("js") => "text/javascript",
                Some("json") => "application/json",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            ([(header::CONTENT_TYPE, kind)], content).into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

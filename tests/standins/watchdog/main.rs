//! A stand-in for the OpenFaaS of-watchdog 0.10.7, which cannot be pulled on machines without a
//! container registry. It behaves as the real one does where lmnop depends on it, harsh parts
//! included (`../shared/WATCHDOG-OBSERVED.md` has the evidence for each):
//!
//! - settings from the environment: `port`, `mode` (`http` or `static`), `fprocess`,
//!   `upstream_url`, `static_path`, `read_timeout`, `write_timeout`, `exec_timeout`,
//!   `healthcheck_interval`, `suppress_lock`, `buffer_http`, `ready_path`;
//! - a lock file, `$TMPDIR/.lock`, written once it listens; `GET /_/health` answers 200 `OK` only
//!   while it is there, `/_/ready` likewise;
//! - SIGTERM: the lock file goes, the function process gets SIGTERM at once (and when it dies
//!   the watchdog exits 1, dropping what was in flight); otherwise it keeps serving for
//!   `healthcheck_interval`, then stops accepting and waits for in-flight requests (at most
//!   `write_timeout`);
//! - a request's response must be written within `write_timeout` of its start and its body read
//!   within `read_timeout`, or the connection is dropped;
//! - `mode=http` forwards bodies chunked, without `Content-Length`, holds `Expect: 100-continue`
//!   bodies back 1.5 s, cuts requests at `exec_timeout` with an empty 504, holds responses back
//!   unless the client accepts `text/event-stream` (see `http.rs`);
//! - `mode=static` is Go's `http.FileServer` (see `files.rs`).
//!
//! Tests build it and wrap it in a local image (`/fwatchdog`), as the real image ships it.

mod config;
mod files;
mod http;

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::time::{Instant, Sleep};

use config::{Config, Mode};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type Reply = Response<UnsyncBoxBody<Bytes, BoxError>>;
pub type RequestBody = Deadline<Incoming>;

/// Prints a line the way Go's `log` package does: `2006/01/02 15:04:05 message`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        eprintln!(
            "{} {}",
            jiff::Timestamp::now().strftime("%Y/%m/%d %H:%M:%S"),
            format_args!($($arg)*)
        )
    };
}

struct Watchdog {
    config: Config,
    handler: Handler,
    accepting: AtomicBool,
    in_flight: AtomicUsize,
}

enum Handler {
    Http(http::Runner),
    Static(files::FileServer),
}

fn lock_path() -> PathBuf {
    std::env::temp_dir().join(".lock")
}

#[tokio::main]
async fn main() {
    let config = Config::from_env(std::env::vars()).unwrap_or_else(|error| {
        eprint!("Error loading config: {error}");
        std::process::exit(1);
    });
    let handler = match config.mode {
        Mode::Http => Handler::Http(http::Runner::start(&config).unwrap_or_else(|error| {
            log!("Failed to start process: {error}");
            std::process::exit(1);
        })),
        Mode::Static => {
            log!("Serving files at: {}", config.static_path);
            Handler::Static(files::FileServer::new(&config.static_path))
        }
    };
    log!(
        "Watchdog mode: {:?}\tfprocess: {:?}",
        config.mode,
        config.function_process
    );
    log!(
        "Timeouts: read: {:?} write: {:?} hard: {:?} health: {:?}",
        config.read_timeout,
        config.write_timeout,
        config.exec_timeout,
        config.healthcheck_interval
    );
    log!("Listening on port: {}", config.port);
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", config.port))
        .await
        .unwrap_or_else(|error| {
            log!("Error ListenAndServe: {error}");
            std::process::exit(1);
        });
    let watchdog = Arc::new(Watchdog {
        config,
        handler,
        accepting: AtomicBool::new(false),
        in_flight: AtomicUsize::new(0),
    });
    if watchdog.config.suppress_lock {
        log!(
            "Warning: \"suppress_lock\" is enabled. No automated health-checks will be in place for your function."
        );
        watchdog.accepting.store(true, Ordering::SeqCst);
    } else {
        let path = lock_path();
        log!("Writing lock-file to: {}", path.display());
        let written =
            std::fs::create_dir_all(std::env::temp_dir()).and_then(|()| std::fs::write(&path, b""));
        if let Err(error) = written {
            log!(
                "Cannot write {}. To disable lock-file set env suppress_lock=true.\n Error: {error}.",
                path.display()
            );
            // Go's log.Panicf exits 2.
            std::process::exit(2);
        }
        watchdog.accepting.store(true, Ordering::SeqCst);
    }
    serve(listener, watchdog).await;
}

/// Accepts connections until SIGTERM plus `healthcheck_interval`, then drains and exits 0.
async fn serve(listener: tokio::net::TcpListener, watchdog: Arc<Watchdog>) {
    let graceful = GracefulShutdown::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    let stop = {
        let watchdog = watchdog.clone();
        async move {
            term.recv().await;
            let interval = watchdog.config.healthcheck_interval;
            log!("SIGTERM: no new connections in {interval:?}");
            if let Handler::Http(runner) = &watchdog.handler {
                runner.terminate();
            }
            watchdog.accepting.store(false, Ordering::SeqCst);
            log!("Removing lock-file : {}", lock_path().display());
            if let Err(error) = std::fs::remove_file(lock_path()) {
                log!("Unable to mark server as unhealthy: {error}");
            }
            if interval.is_zero() {
                // Go's `<-time.Tick(0)` waits forever: the watchdog never stops by itself.
                std::future::pending::<()>().await;
            }
            tokio::time::sleep(interval).await;
            log!(
                "No new connections allowed, draining: {} requests",
                watchdog.in_flight.load(Ordering::SeqCst)
            );
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let watchdog = watchdog.clone();
                let read_timeout = watchdog.config.read_timeout;
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(peer);
                    let watchdog = watchdog.clone();
                    async move { watchdog.answer(request).await }
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
        }
    }
    drop(listener);
    let write_timeout = watchdog.config.write_timeout;
    if tokio::time::timeout(write_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        log!("Error in Shutdown: context deadline exceeded");
    }
    log!(
        "Exiting. Active connections: {}",
        watchdog.in_flight.load(Ordering::SeqCst)
    );
    std::process::exit(0);
}

impl Watchdog {
    /// One request: its body must be read within `read_timeout` and its whole response written
    /// within `write_timeout`, or the connection is dropped (Go's server deadlines).
    async fn answer(self: Arc<Self>, request: Request<Incoming>) -> std::io::Result<Reply> {
        let started = Instant::now();
        let read_deadline = started + self.config.read_timeout;
        let write_deadline = started + self.config.write_timeout;
        let request = request.map(|body| Deadline::new(body, read_deadline));
        let path = request.uri().path().to_owned();
        let answer = async {
            if let Some(clean) = canonical_redirect(&request) {
                return clean;
            }
            match path.as_str() {
                "/_/health" => self.health(request.method()),
                "/_/ready" => self.ready(request).await,
                _ => {
                    self.in_flight.fetch_add(1, Ordering::SeqCst);
                    let reply = self.function(request).await;
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    reply
                }
            }
        };
        match tokio::time::timeout_at(write_deadline, answer).await {
            Ok(reply) => Ok(reply.map(|body| Deadline::new(body, write_deadline).boxed_unsync())),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "write_timeout passed before the response was written",
            )),
        }
    }

    async fn function(&self, request: Request<RequestBody>) -> Reply {
        match &self.handler {
            Handler::Http(runner) => runner.run(request).await,
            Handler::Static(files) => files.serve(&request).await,
        }
    }

    fn healthy(&self) -> bool {
        self.accepting.load(Ordering::SeqCst) && lock_path().exists()
    }

    fn health(&self, method: &Method) -> Reply {
        match *method {
            Method::GET if self.healthy() => {
                text(StatusCode::OK, "text/plain; charset=utf-8", "OK")
            }
            Method::GET => empty(StatusCode::SERVICE_UNAVAILABLE),
            _ => empty(StatusCode::METHOD_NOT_ALLOWED),
        }
    }

    async fn ready(&self, mut request: Request<RequestBody>) -> Reply {
        if request.method() != Method::GET {
            return empty(StatusCode::METHOD_NOT_ALLOWED);
        }
        if !self.healthy() {
            return empty(StatusCode::SERVICE_UNAVAILABLE);
        }
        if self.config.ready_path.is_empty() {
            return empty(StatusCode::OK);
        }
        match self.config.ready_path.parse() {
            Ok(uri) => {
                *request.uri_mut() = uri;
                self.function(request).await
            }
            Err(_) => empty(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// Go's `ServeMux` answers a path that is not in canonical form (`//a`, `/a/../b`) with a 307 to
/// the cleaned one.
fn canonical_redirect<B>(request: &Request<B>) -> Option<Reply> {
    if request.method() == Method::CONNECT {
        return None;
    }
    let path = request.uri().path();
    let clean = files::clean_path(path);
    if clean == path {
        return None;
    }
    let location = match request.uri().query() {
        Some(query) => format!("{clean}?{query}"),
        None => clean,
    };
    let body = format!(
        "<a href=\"{}\">Temporary Redirect</a>.\n\n",
        files::escape_html(&location)
    );
    let mut reply = text(
        StatusCode::TEMPORARY_REDIRECT,
        "text/html; charset=utf-8",
        body,
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        reply.headers_mut().insert(header::LOCATION, value);
    }
    Some(reply)
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

pub fn full(bytes: Bytes) -> UnsyncBoxBody<Bytes, BoxError> {
    http_body_util::Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A body that fails once its deadline has passed, as reads and writes on a Go connection do
/// after `SetReadDeadline`/`SetWriteDeadline`.
pub struct Deadline<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
}

impl<B> Deadline<B> {
    fn new(inner: B, at: Instant) -> Self {
        Deadline {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(at)),
        }
    }
}

impl<B> Body for Deadline<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err("i/o timeout".into())));
        }
        Pin::new(&mut self.inner).poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// How long to hold a request body back when the client sent `Expect: 100-continue` and the
/// function does not answer it (Go's `ExpectContinueTimeout`).
pub const EXPECT_CONTINUE_TIMEOUT: Duration = Duration::from_millis(1500);

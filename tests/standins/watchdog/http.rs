//! `mode=http`: one function process, started once, and every request forwarded to it the way
//! of-watchdog's HTTP runner does.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use tokio::io::AsyncBufReadExt;
use tokio::time::Instant;

use crate::config::Config;
use crate::{EXPECT_CONTINUE_TIMEOUT, Reply, RequestBody, empty, log};

/// Go's response writer holds this much back before it starts sending a body chunked.
const BUFFER_BEFORE_CHUNKING: usize = 2048;

pub struct Runner {
    upstream: String,
    exec_timeout: Duration,
    buffer_body: bool,
    client: reqwest::Client,
    pid: Option<u32>,
}

const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::UPGRADE,
    header::CONTENT_LENGTH,
];

impl Runner {
    /// Starts the function process; the watchdog exits 1 when it ends with an error.
    pub fn start(config: &Config) -> std::io::Result<Runner> {
        let mut words = config.function_process.split(' ').filter(|w| !w.is_empty());
        let program = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        log!("Forking: {program}, arguments: {args:?}");
        let mut child = tokio::process::Command::new(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut relays = Vec::new();
        if let Some(out) = child.stdout.take() {
            relays.push(relay("stdout", out));
        }
        if let Some(err) = child.stderr.take() {
            relays.push(relay("stderr", err));
        }
        let pid = child.id();
        tokio::spawn(async move {
            // Holding stdin open, as the real watchdog does.
            let _stdin = child.stdin.take();
            let status = child.wait().await;
            // What the function printed last reaches the log before the watchdog goes.
            for relay in relays {
                let _ = tokio::time::timeout(Duration::from_secs(1), relay).await;
            }
            match status {
                Ok(status) if status.success() => {}
                Ok(status) => {
                    log!("Forked function has terminated: {}", describe(status));
                    std::process::exit(1);
                }
                Err(error) => {
                    log!("Forked function has terminated: {error}");
                    std::process::exit(1);
                }
            }
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.exec_timeout)
            .pool_idle_timeout(Duration::from_millis(500))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Runner {
            upstream: config.upstream_url.trim_end_matches('/').to_owned(),
            exec_timeout: config.exec_timeout,
            buffer_body: config.buffer_http,
            client,
            pid,
        })
    }

    /// Passes SIGTERM on to the function process, at once.
    pub fn terminate(&self) {
        if let Some(pid) = self
            .pid
            .and_then(|pid| rustix::process::Pid::from_raw(pid as i32))
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }

    pub async fn run(&self, request: Request<RequestBody>) -> Reply {
        let started = Instant::now();
        let target = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let url = format!("{}{target}", self.upstream);
        let (parts, body) = request.into_parts();
        let event_stream = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let host = parts
            .headers
            .get(header::HOST)
            .cloned()
            .or_else(|| parts.uri.authority().and_then(|a| a.as_str().parse().ok()));
        let expects_continue = parts
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let mut outgoing = self.client.request(parts.method.clone(), &url);
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(name) && name != header::HOST {
                outgoing = outgoing.header(name, value);
            }
        }
        if let Some(host) = host {
            outgoing = outgoing.header(header::HOST, host);
        }
        // Go's transport asks for gzip itself when the client did not, and then unpacks it.
        let gzip_added = !parts.headers.contains_key(header::ACCEPT_ENCODING)
            && !parts.headers.contains_key(header::RANGE)
            && parts.method != Method::HEAD;
        if gzip_added {
            outgoing = outgoing.header(header::ACCEPT_ENCODING, "gzip");
        }
        if !parts.headers.contains_key(header::USER_AGENT) {
            outgoing = outgoing.header(header::USER_AGENT, "Go-http-client/1.1");
        }
        if event_stream {
            if let Some(peer) = parts.extensions.get::<SocketAddr>() {
                outgoing = outgoing.header("x-forwarded-for", peer.ip().to_string());
            }
        }
        // Go's server gives a handler no body when the request has none; any other body goes
        // upstream chunked, with its length unknown (and so no Content-Length).
        let has_body = parts.headers.contains_key(header::TRANSFER_ENCODING)
            || parts
                .headers
                .get(header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if has_body {
            let body: reqwest::Body = if self.buffer_body {
                let bytes = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                reqwest::Body::wrap_stream(futures_util::stream::once(async move {
                    Ok::<_, std::io::Error>(bytes)
                }))
            } else {
                let stream = body.into_data_stream();
                if expects_continue {
                    // The function never answers 100 Continue, so the body waits for the timeout.
                    let wait = futures_util::stream::once(async {
                        tokio::time::sleep(EXPECT_CONTINUE_TIMEOUT).await;
                        None
                    });
                    let stream = wait.chain(stream.map(Some)).filter_map(|x| async { x });
                    reqwest::Body::wrap_stream(stream)
                } else {
                    reqwest::Body::wrap_stream(stream)
                }
            };
            outgoing = outgoing.body(body);
        } else if [Method::POST, Method::PUT, Method::PATCH].contains(&parts.method) {
            // Go sends `Content-Length: 0` for an empty body where one is expected.
            outgoing = outgoing
                .header(header::CONTENT_LENGTH, "0")
                .body(Vec::new());
        }
        if event_stream {
            return self.stream_through(outgoing, &parts, started).await;
        }
        let answer = tokio::time::timeout(self.exec_timeout, outgoing.send()).await;
        let answer = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                log!("Upstream HTTP request error: {error}");
                return internal(StatusCode::INTERNAL_SERVER_ERROR, started);
            }
            Err(_) => {
                log!("Upstream HTTP request error: context deadline exceeded");
                log!(
                    "Upstream HTTP killed due to exec_timeout: {:?}",
                    self.exec_timeout
                );
                return internal(StatusCode::GATEWAY_TIMEOUT, started);
            }
        };
        let status = answer.status();
        let length = answer.content_length();
        let mut reply = Reply::new(crate::full(Bytes::new()));
        *reply.status_mut() = status;
        let gunzip = gzip_added
            && answer
                .headers()
                .get(header::CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        for (name, value) in answer.headers() {
            let unpacked =
                gunzip && (name == header::CONTENT_ENCODING || name == header::CONTENT_LENGTH);
            if name != header::CONNECTION && name != header::TRANSFER_ENCODING && !unpacked {
                reply.headers_mut().append(name, value.clone());
            }
        }
        let took = started.elapsed();
        reply.headers_mut().insert(
            "x-duration-seconds",
            HeaderValue::from_str(&format!("{:.6}", took.as_secs_f64())).expect("a number"),
        );
        let mut body = body_of(answer, gunzip);
        // Go copies the body through its response buffer: nothing reaches the client until
        // 2 KiB have gathered or the function has finished, and only then is a length known.
        let mut held = BytesMut::new();
        let mut ended = true;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => held.extend_from_slice(&chunk),
                Err(error) => {
                    log!("Error copying response body: {error}");
                    break;
                }
            }
            if held.len() >= BUFFER_BEFORE_CHUNKING {
                ended = false;
                break;
            }
        }
        log!(
            "{} {} - {} - ContentLength: {} ({:.4}s)",
            parts.method,
            target,
            status,
            length.map_or("-1B".to_owned(), |l| format!("{l}B")),
            took.as_secs_f64()
        );
        if ended {
            *reply.body_mut() = crate::full(held.freeze());
            return reply;
        }
        let first = held.freeze();
        let rest = held_back(body);
        let stream = futures_util::stream::once(async move { Ok(first) }).chain(rest);
        *reply.body_mut() = BodyExt::boxed_unsync(http_body_util::StreamBody::new(
            stream.map(|chunk| chunk.map(hyper::body::Frame::data)),
        ));
        reply
    }

    /// `Accept: text/event-stream`: Go's reverse proxy, which passes each piece on as it comes
    /// and knows no exec timeout.
    async fn stream_through(
        &self,
        outgoing: reqwest::RequestBuilder,
        parts: &hyper::http::request::Parts,
        started: Instant,
    ) -> Reply {
        let answer = match outgoing.send().await {
            Ok(answer) => answer,
            Err(error) => {
                log!("http: proxy error: {error}");
                return empty(StatusCode::BAD_GATEWAY);
            }
        };
        let status = answer.status();
        let mut reply = Reply::new(crate::full(Bytes::new()));
        *reply.status_mut() = status;
        for (name, value) in answer.headers() {
            if !HOP_BY_HOP.contains(name) || name == header::CONTENT_LENGTH {
                reply.headers_mut().append(name, value.clone());
            }
        }
        let stream = answer.bytes_stream().map(|chunk| {
            chunk
                .map(hyper::body::Frame::data)
                .map_err(|e| -> crate::BoxError { e.into() })
        });
        *reply.body_mut() = BodyExt::boxed_unsync(http_body_util::StreamBody::new(stream));
        log!(
            "{} {} - {} - ({:.4}s)",
            parts.method,
            parts.uri,
            status.as_u16(),
            started.elapsed().as_secs_f64()
        );
        reply
    }
}

/// The function's response body, unpacked when the watchdog asked for gzip on its own.
fn body_of(
    answer: reqwest::Response,
    gunzip: bool,
) -> std::pin::Pin<Box<dyn futures_util::Stream<Item = std::io::Result<Bytes>> + Send>> {
    let stream = answer
        .bytes_stream()
        .map(|c| c.map_err(std::io::Error::other));
    if !gunzip {
        return Box::pin(stream);
    }
    let reader = tokio_util::io::StreamReader::new(stream);
    let decoder = async_compression::tokio::bufread::GzipDecoder::new(reader);
    Box::pin(tokio_util::io::ReaderStream::new(decoder))
}

/// The rest of a response body, passed on in pieces of at least 2 KiB, as Go's buffered writer
/// sends it (the last piece may be shorter).
fn held_back(
    body: impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
) -> impl futures_util::Stream<Item = Result<Bytes, crate::BoxError>> + Send + 'static {
    futures_util::stream::unfold((body, false), |(mut body, done)| async move {
        if done {
            return None;
        }
        let mut held = BytesMut::new();
        loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    held.extend_from_slice(&chunk);
                    if held.len() >= BUFFER_BEFORE_CHUNKING {
                        return Some((Ok(held.freeze()), (body, false)));
                    }
                }
                Some(Err(error)) => return Some((Err(error.into()), (body, true))),
                None if held.is_empty() => return None,
                None => return Some((Ok(held.freeze()), (body, true))),
            }
        }
    })
}

/// The watchdog's own failure: an empty body and headers that say it was the watchdog.
fn internal(status: StatusCode, started: Instant) -> Reply {
    let mut reply = empty(status);
    let headers = reply.headers_mut();
    headers.insert(
        "x-duration-seconds",
        HeaderValue::from_str(&format!("{:.6}", started.elapsed().as_secs_f64()))
            .expect("a number"),
    );
    headers.insert(
        "x-openfaas-internal",
        HeaderValue::from_static("of-watchdog"),
    );
    reply
}

/// Go's `exec.ExitError` text: `exit status 1` or `signal: terminated`.
fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(15)) => "signal: terminated".to_owned(),
        (None, Some(9)) => "signal: killed".to_owned(),
        (None, Some(signal)) => format!("signal: {signal}"),
        (None, None) => "unknown".to_owned(),
    }
}

/// Copies the function's output line by line to the watchdog's, prefixed with the stream's name.
fn relay(
    name: &'static str,
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    log!("Started logging: {name} from function.");
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if name == "stdout" {
                println!(
                    "{} {name}: {line}",
                    jiff::Timestamp::now().strftime("%Y/%m/%d %H:%M:%S")
                );
            } else {
                log!("{name}: {line}");
            }
        }
    })
}

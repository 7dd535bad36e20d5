//! `GET /system/logs`, as faasd serves it from journald: NDJSON lines by function name, kept after
//! the function is gone, a five-minute window by default, `tail=N` the *oldest* N lines (faasd
//! passes both `--since` and `--lines` to journalctl), `follow=true` a stream that stays open.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::{Body, Frame};
use hyper::header::{self, HeaderValue};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::state::{Gateway, NAMESPACE};
use crate::{BoxError, Reply, query_value, text};

/// faasd's default `--since`.
const WINDOW: SignedDuration = SignedDuration::from_secs(5 * 60);

/// Lines kept per function; older ones go first, as journald rotates.
const KEPT_LINES: usize = 10_000;

/// The first PID of a task's log collector; each task of a function (every deploy) has its own,
/// and its lines say which (`instance`), as faasd's do.
const FIRST_INSTANCE: u32 = 4242;

#[derive(Clone, Debug)]
struct Line {
    at: Timestamp,
    instance: u32,
    text: String,
}

/// Every function's lines, and a feed of new ones for followers.
pub struct Store {
    lines: HashMap<String, Vec<Line>>,
    /// The instance each function's lines come from now.
    instances: HashMap<String, u32>,
    next_instance: u32,
    feed: broadcast::Sender<(String, Line)>,
}

impl Default for Store {
    fn default() -> Store {
        Store {
            lines: HashMap::new(),
            instances: HashMap::new(),
            next_instance: FIRST_INSTANCE,
            feed: broadcast::channel(1024).0,
        }
    }
}

impl Store {
    /// A new task of `name` starts: its lines come from a new instance.
    pub fn start_instance(&mut self, name: &str) {
        self.instances.insert(name.to_owned(), self.next_instance);
        self.next_instance += 1;
    }

    pub fn append(&mut self, name: &str, text: impl Into<String>) {
        let line = Line {
            at: Timestamp::now(),
            instance: self.instances.get(name).copied().unwrap_or(FIRST_INSTANCE),
            text: text.into(),
        };
        let lines = self.lines.entry(name.to_owned()).or_default();
        if lines.len() >= KEPT_LINES {
            lines.remove(0);
        }
        lines.push(line.clone());
        // Nobody following is not an error.
        let _ = self.feed.send((name.to_owned(), line));
    }
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    namespace: &'static str,
    instance: String,
    timestamp: String,
    text: &'a str,
}

fn ndjson(name: &str, line: &Line) -> Bytes {
    let entry = Entry {
        name,
        namespace: NAMESPACE,
        instance: line.instance.to_string(),
        timestamp: line.at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        text: &line.text,
    };
    let mut out = serde_json::to_vec(&entry).expect("a log entry is plain strings");
    out.push(b'\n');
    Bytes::from(out)
}

/// Go's `strconv.ParseBool`, with anything unparseable read as false.
fn parse_bool(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

pub fn show_logs(gateway: &Gateway, query: Option<&str>) -> Reply {
    let name = query_value(query, "name").unwrap_or_default();
    let tail = query_value(query, "tail")
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| *t > 0)
        .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
    let follow = query_value(query, "follow").is_some_and(|f| parse_bool(&f));
    let since = query_value(query, "since")
        .and_then(|s| s.parse::<Timestamp>().ok())
        .unwrap_or_else(|| {
            Timestamp::now()
                .checked_sub(WINDOW)
                .unwrap_or(Timestamp::MIN)
        });
    let state = gateway.lock();
    let Some(lines) = state.logs.lines.get(&name) else {
        return text(StatusCode::OK, "text/plain", Bytes::new());
    };
    let backlog: Vec<Bytes> = lines
        .iter()
        .filter(|line| line.at >= since)
        .take(tail.unwrap_or(usize::MAX))
        .map(|line| ndjson(&name, line))
        .collect();
    if !follow {
        return text(StatusCode::OK, "text/plain", backlog.concat());
    }
    let mut feed = state.logs.feed.subscribe();
    drop(state);
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(async move {
        for chunk in backlog {
            if sender.send(chunk).await.is_err() {
                return;
            }
        }
        loop {
            tokio::select! {
                () = sender.closed() => return,
                received = feed.recv() => match received {
                    Ok((from, line)) if from == name => {
                        if sender.send(ndjson(&name, &line)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let mut reply = Reply::new(Chunks { receiver }.boxed_unsync());
    reply
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    reply
}

/// A response body sent chunk by chunk as lines arrive.
struct Chunks {
    receiver: mpsc::Receiver<Bytes>,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.receiver
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_microseconds() {
        let line = Line {
            at: "2026-12-03T07:34:34.329135123Z"
                .parse()
                .expect("a valid timestamp"),
            instance: FIRST_INSTANCE,
            text: "hello".to_owned(),
        };
        assert_eq!(
            ndjson("pyfn", &line),
            Bytes::from_static(
                b"{\"name\":\"pyfn\",\"namespace\":\"openfaas-fn\",\"instance\":\"4242\",\
                  \"timestamp\":\"2026-12-03T07:34:34.329135Z\",\"text\":\"hello\"}\n"
            )
        );
    }
}

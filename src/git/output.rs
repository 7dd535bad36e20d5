//! What the pusher sees: short lines relayed as `remote: …`, with step timings. Lines that start
//! with `error:`, `warning:`, `hint:` or `success:` are coloured by git itself when the pusher's
//! terminal shows colour, so nothing here emits escape codes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// The most of a push's output kept for the release's log; the rest is cut with a note.
pub const MAX_LOG_BYTES: usize = 1024 * 1024;

/// The pusher's output channel. Every line is also kept (bounded) for the release's log.
pub struct Output {
    tx: mpsc::UnboundedSender<String>,
    log: Mutex<String>,
}

impl Output {
    pub fn new(tx: mpsc::UnboundedSender<String>) -> Self {
        Self {
            tx,
            log: Mutex::new(String::new()),
        }
    }

    /// Everything shown so far (at most [`MAX_LOG_BYTES`]).
    pub fn log(&self) -> String {
        self.log
            .lock()
            .expect("the log lock is never poisoned")
            .clone()
    }

    fn send_now(&self, prefix: &str, text: &str) {
        // An empty text is one empty line (a spacer), not none.
        let lines: Vec<&str> = if text.is_empty() {
            vec![""]
        } else {
            text.lines().collect()
        };
        let mut log = self.log.lock().expect("the log lock is never poisoned");
        for line in lines {
            let line = format!("{prefix}{}", clean(line)).trim_end().to_owned();
            if log.len() + line.len() < MAX_LOG_BYTES {
                log.push_str(&line);
                log.push('\n');
            } else if !log.ends_with("[log truncated]\n") {
                log.push_str("[log truncated]\n");
            }
            // A pusher that went away must not stop the pipeline; its cancellation does that.
            let _ = self.tx.send(line);
        }
    }

    /// An indented detail line, from synchronous code (build log callbacks).
    pub fn detail_now(&self, text: &str) {
        self.send_now("       ", text);
    }

    /// A heading: `-----> text`.
    pub fn step(&self, text: &str) -> Step<'_> {
        self.send_now("-----> ", text);
        Step {
            output: self,
            started: Instant::now(),
        }
    }

    /// An indented detail line under the current step.
    pub fn detail(&self, text: &str) {
        self.send_now("       ", text);
    }

    pub fn note(&self, text: &str) {
        self.send_now("-----> ", text);
    }

    pub fn error(&self, text: &str) {
        self.send_now("error: ", text);
    }

    pub fn hint(&self, text: &str) {
        self.send_now("hint: ", text);
    }

    pub fn success(&self, text: &str) {
        self.send_now("success: ", text);
    }
}

/// A running step; says how long it took when it ends.
pub struct Step<'a> {
    output: &'a Output,
    started: Instant,
}

impl Step<'_> {
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// `       done: what (0.12s)`
    pub fn done(self, what: &str) {
        let elapsed = format_duration(self.elapsed());
        self.output.detail(&format!("{what} ({elapsed})"));
    }
}

pub fn format_duration(elapsed: Duration) -> String {
    format!("{:.2}s", elapsed.as_secs_f64())
}

/// Drops control characters (escape sequences, carriage returns) that could rewrite the
/// pusher's terminal.
fn clean(line: &str) -> String {
    line.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(clean("a\u{1b}[31mred\r"), "a[31mred");
    }
}

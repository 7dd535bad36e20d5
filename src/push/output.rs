//! What the pusher sees: short lines relayed as `remote: …`, with step timings. Lines that start
//! with `error:`, `warning:`, `hint:` or `success:` are coloured by git itself when the pusher's
//! terminal shows colour, so nothing here emits escape codes.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// The pusher's output channel. Every line is also kept (bounded) for the release's log.
pub struct Output {
    tx: mpsc::Sender<String>,
}

impl Output {
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Self { tx }
    }

    async fn send(&self, prefix: &str, text: &str) {
        // An empty text is one empty line (a spacer), not none.
        let lines: Vec<&str> = if text.is_empty() {
            vec![""]
        } else {
            text.lines().collect()
        };
        for line in lines {
            // A pusher that went away must not stop the pipeline; its cancellation does that.
            let line = format!("{prefix}{}", clean(line));
            let _ = self.tx.send(line.trim_end().to_owned()).await;
        }
    }

    /// A heading: `-----> text`.
    pub async fn step(&self, text: &str) -> Step<'_> {
        self.send("-----> ", text).await;
        Step {
            output: self,
            started: Instant::now(),
        }
    }

    /// An indented detail line under the current step.
    pub async fn detail(&self, text: &str) {
        self.send("       ", text).await;
    }

    pub async fn note(&self, text: &str) {
        self.send("-----> ", text).await;
    }

    pub async fn error(&self, text: &str) {
        self.send("error: ", text).await;
    }

    pub async fn hint(&self, text: &str) {
        self.send("hint: ", text).await;
    }

    pub async fn success(&self, text: &str) {
        self.send("success: ", text).await;
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
    pub async fn done(self, what: &str) {
        let elapsed = format_duration(self.elapsed());
        self.output.detail(&format!("{what} ({elapsed})")).await;
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

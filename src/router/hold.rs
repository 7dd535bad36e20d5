//! Holding a function's requests while it is replaced in place (the OpenFaaS gateway updates a
//! function by stopping the old one before the new one answers): requests that arrive meanwhile
//! wait at the router, and go on when the hold ends or its time is up, so none reaches the
//! function while nothing answers for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The functions whose requests wait, each until its hold is released or runs out.
#[derive(Debug, Default)]
pub struct Holds {
    held: Mutex<HashMap<String, (watch::Receiver<bool>, Instant)>>,
}

/// While this lives, requests for its function wait (see [`Holds::hold`]).
#[derive(Debug)]
#[must_use = "the hold ends when this is dropped"]
pub struct Hold {
    released: watch::Sender<bool>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let _ = self.released.send(true);
    }
}

impl Holds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (watch::Receiver<bool>, Instant)>> {
        self.held.lock().expect("the holds are never poisoned")
    }

    /// Requests for `function` wait from now until the returned hold is dropped, at most
    /// `longest`.
    pub fn hold(&self, function: &str, longest: Duration) -> Hold {
        let (released, receiver) = watch::channel(false);
        self.lock()
            .insert(function.to_owned(), (receiver, Instant::now() + longest));
        Hold { released }
    }

    /// Waits while `function` is held; at once when it is not.
    pub async fn wait(&self, function: &str) {
        let entry = {
            let mut held = self.lock();
            match held.get(function) {
                Some((receiver, until)) if !*receiver.borrow() && Instant::now() < *until => {
                    Some((receiver.clone(), *until))
                }
                Some(_) => {
                    // Released or run out: forgotten.
                    held.remove(function);
                    None
                }
                None => None,
            }
        };
        if let Some((mut receiver, until)) = entry {
            // Released, or its hold dropped (the channel closed): either way, go on.
            let _ = tokio::time::timeout_at(until, receiver.wait_for(|released| *released)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_wait_until_the_hold_ends_or_runs_out() {
        let holds = std::sync::Arc::new(Holds::default());
        // Not held: no wait.
        tokio::time::timeout(Duration::from_millis(50), holds.wait("a"))
            .await
            .expect("no wait without a hold");

        let hold = holds.hold("a", Duration::from_secs(30));
        let waiting = tokio::spawn({
            let holds = holds.clone();
            async move { holds.wait("a").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "held");
        tokio::time::timeout(Duration::from_millis(50), holds.wait("b"))
            .await
            .expect("another function is not held");
        drop(hold);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("released")
            .expect("joined");

        // A hold that is never released ends by itself.
        let _forgotten = holds.hold("c", Duration::from_millis(100));
        tokio::time::timeout(Duration::from_secs(1), holds.wait("c"))
            .await
            .expect("ran out");
    }
}

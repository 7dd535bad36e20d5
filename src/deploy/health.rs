//! Waiting until a new release answers: the watchdog's `/_/health` first, then the function's
//! health path, on every container, before any traffic moves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Why a release never became ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    #[error("no answer from {address}{path} within {seconds}s (last: {last})")]
    Timeout {
        address: SocketAddr,
        path: String,
        seconds: u64,
        last: String,
    },
}

/// Polls until `GET /_/health` answers 200 and `GET path` answers below 500 on every address.
pub async fn wait_ready(
    client: &reqwest::Client,
    addresses: &[SocketAddr],
    path: &str,
    timeout: Duration,
) -> Result<(), NotReady> {
    let deadline = Instant::now() + timeout;
    for address in addresses {
        for (probe, ok) in [("/_/health", 200..300), (path, 100..500)] {
            let url = format!("http://{address}{probe}");
            loop {
                let last = match client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(response) if ok.contains(&response.status().as_u16()) => break,
                    Ok(response) => format!("HTTP {}", response.status()),
                    Err(error) => error.to_string(),
                };
                if Instant::now() >= deadline {
                    return Err(NotReady::Timeout {
                        address: *address,
                        path: probe.to_owned(),
                        seconds: timeout.as_secs(),
                        last,
                    });
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    Ok(())
}

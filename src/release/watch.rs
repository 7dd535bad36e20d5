//! Following the engine between reconcile passes: when a container the router sends requests
//! to dies or is removed behind lmnop's back, its address leaves the route at once (before the
//! engine can hand it to another container) and the function is reconciled; when the engine's event
//! stream breaks (the engine stopped or restarted), a full pass runs as soon as it answers again.

use std::time::Duration;

use futures_util::StreamExt;

use super::Releaser;

/// How long to wait before asking a stopped engine again.
const RETRY: Duration = Duration::from_secs(1);

/// Runs forever (returns at once for a runtime with nothing to watch).
pub async fn run(releaser: Releaser) {
    let mut lost = false;
    loop {
        match releaser.runtime.watch().await {
            Ok(None) => return,
            Ok(Some(mut events)) => {
                if lost {
                    tracing::info!("the engine answers again; reconciling every function");
                    pass(&releaser).await;
                }
                while let Some(event) = events.next().await {
                    match event {
                        Ok(Some(function)) => {
                            let releaser = releaser.clone();
                            tokio::spawn(async move { container_went(&releaser, function).await });
                        }
                        Ok(None) => {}
                        Err(error) => {
                            tracing::warn!(%error, "the engine's event stream broke");
                            break;
                        }
                    }
                }
                lost = true;
            }
            Err(error) => {
                if !lost {
                    tracing::warn!(%error, "cannot follow the engine's events");
                }
                lost = true;
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// A container of `function` stopped or went. One lmnop stopped itself was out of the route
/// already; one the route still pointed at went behind lmnop's back: its address leaves the
/// route at once and the function is brought back to its replicas.
async fn container_went(releaser: &Releaser, function: String) {
    match releaser.runtime.prune_routes(Some(&function)).await {
        Ok(0) => {}
        Ok(_) => {
            if let Err(error) = super::reconcile::one(releaser, function.clone(), 0).await {
                tracing::warn!(
                    function,
                    error = format!("{error:#}"),
                    "cannot restore a function whose container went"
                );
            }
        }
        Err(error) => {
            tracing::warn!(function, %error, "cannot check the route of a function whose container went")
        }
    }
}

async fn pass(releaser: &Releaser) {
    match super::reconcile::reconcile(releaser).await {
        Ok(report) => {
            tracing::info!(restarted = ?report.restarted, removed = report.removed, "reconciled after the engine came back")
        }
        Err(error) => tracing::warn!(
            error = format!("{error:#}"),
            "reconciling after the engine came back failed"
        ),
    }
}

//! The HTTP/1 server loop: each connection gets a deadline for its request headers (which also
//! closes a keep-alive connection left idle), at most a set number of connections are served at
//! once (kept below the open-file limit, raised at start), and shutdown lets requests in flight
//! finish. TCP_NODELAY on every connection: without it a response written in two parts waits
//! for the client's delayed ACK, ~40 ms on every small git request.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// File descriptors kept free of connections: the database, repositories, git processes,
/// the engine's socket and log files need some.
const RESERVED_FILES: u64 = 256;

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For a request's headers, and for an idle keep-alive connection.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// Raises the open-file limit to its hard limit where allowed, and says how many connections
/// fit under it.
fn connection_budget(wanted: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(hard)) = (limit.current, limit.maximum) {
        if current < hard {
            limit.current = Some(hard);
            if let Err(error) = setrlimit(Resource::Nofile, limit) {
                tracing::debug!(%error, "cannot raise the open-file limit");
            }
        }
    }
    let files = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let room = usize::try_from(files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
    if room < wanted {
        tracing::warn!(
            wanted,
            served = room.max(1),
            open_file_limit = files,
            "LMNOP_MAX_CONNECTIONS is above what the open-file limit allows; serving fewer"
        );
    }
    wanted.min(room).max(1)
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(connection_budget(limits.max_connections)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                router.clone().oneshot(request)
            });
        // No upgrades: the router does not pass them to functions, and nothing else uses them.
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

//! Stand-ins for a part going wrong, in front of the real one so that no other test feels it: a
//! TCP proxy that can freeze (a registry that hangs mid-push) and an engine socket that can go
//! away and come back (a Docker engine stopped and started).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct FreezableProxy {
    pub address: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

struct Shared {
    frozen: AtomicBool,
    /// How many connections arrived while frozen.
    arrived_frozen: AtomicUsize,
    /// Those connections, held open and never answered.
    held: std::sync::Mutex<Vec<TcpStream>>,
    /// Connections being forwarded, aborted when the proxy freezes.
    forwarding: std::sync::Mutex<JoinSet<()>>,
}

impl FreezableProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target` until frozen.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let shared = Arc::new(Shared {
            frozen: AtomicBool::new(false),
            arrived_frozen: AtomicUsize::new(0),
            held: std::sync::Mutex::new(Vec::new()),
            forwarding: std::sync::Mutex::new(JoinSet::new()),
        });
        let accept = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if shared.frozen.load(Ordering::SeqCst) {
                        shared.arrived_frozen.fetch_add(1, Ordering::SeqCst);
                        shared.held.lock().expect("lock").push(client);
                        continue;
                    }
                    shared.forwarding.lock().expect("lock").spawn(async move {
                        if let Ok(mut upstream) = TcpStream::connect(target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                        }
                    });
                }
            }
        });
        Self {
            address,
            shared,
            accept,
        }
    }

    /// From now on nothing passes: open connections are cut (a client reusing one reconnects)
    /// and new ones are held without an answer.
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
        self.shared.forwarding.lock().expect("lock").abort_all();
    }

    /// Forwards again; the connections held meanwhile are closed.
    pub fn thaw(&self) {
        self.shared.frozen.store(false, Ordering::SeqCst);
        self.shared.held.lock().expect("lock").clear();
    }

    /// How many connections arrived while frozen.
    pub fn held(&self) -> usize {
        self.shared.arrived_frozen.load(Ordering::SeqCst)
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.forwarding.lock().expect("lock").abort_all();
    }
}

/// A Unix socket in front of the Docker engine's that can go away and come back, as the engine
/// does when it is stopped and started: while stopped, its socket file is gone (connecting fails)
/// and every open connection is cut. Containers already running go on running, which a real
/// stop would not do (without `live-restore`).
pub struct EngineSocket {
    pub path: std::path::PathBuf,
    target: std::path::PathBuf,
    running: std::sync::Mutex<Option<JoinSet<()>>>,
}

impl EngineSocket {
    /// Listens at `path` and forwards to the engine's socket at `target`.
    pub fn start(path: std::path::PathBuf, target: std::path::PathBuf) -> Self {
        let socket = Self {
            path,
            target,
            running: std::sync::Mutex::new(None),
        };
        socket.resume();
        socket
    }

    /// The engine is back: the socket answers again.
    pub fn resume(&self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = tokio::net::UnixListener::bind(&self.path).expect("bind the socket");
        let target = self.target.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut engine) = tokio::net::UnixStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut engine).await;
                    }
                });
            }
        });
        *self.running.lock().expect("lock") = Some(tasks);
    }

    /// The engine is gone: open connections are cut and new ones find no socket.
    pub fn stop(&self) {
        // Dropping the set aborts the accept loop, and with it every connection it forwards.
        drop(self.running.lock().expect("lock").take());
        let _ = std::fs::remove_file(&self.path);
    }

    /// `unix://PATH`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }
}

impl Drop for EngineSocket {
    fn drop(&mut self) {
        self.stop();
    }
}

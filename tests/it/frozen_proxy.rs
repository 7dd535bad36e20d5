//! A TCP proxy in front of a real service that can be frozen: from then on it holds every
//! connection open and forwards nothing, as a registry that hangs mid-push does.

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

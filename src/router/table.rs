//! Where each function's requests go, as the runtime says: swapped whole at once, so a switch
//! from one release to the next never leaves a moment with no backend.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// One place that serves a function. The docker and fake runtimes give each replica's address;
/// a gateway (OpenFaaS) would be another variant, reached by URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A replica the router reaches directly, at `http://ADDRESS/…`.
    Replica(SocketAddr),
}

impl Backend {
    /// The URL of `path_and_query` on this backend.
    pub fn url(&self, path_and_query: &str) -> String {
        match self {
            Self::Replica(address) => format!("http://{address}{path_and_query}"),
        }
    }
}

impl From<SocketAddr> for Backend {
    fn from(address: SocketAddr) -> Self {
        Self::Replica(address)
    }
}

#[derive(Debug, Default)]
struct Backends {
    backends: Vec<Backend>,
    next: AtomicUsize,
}

/// The serving backends per function.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: RwLock<HashMap<String, Arc<Backends>>>,
}

impl RouteTable {
    /// Points `function` at `backends` (none removes it).
    pub fn set<B: Into<Backend>>(&self, function: &str, backends: impl IntoIterator<Item = B>) {
        let backends: Vec<Backend> = backends.into_iter().map(Into::into).collect();
        let mut routes = self
            .routes
            .write()
            .expect("the route table is never poisoned");
        if backends.is_empty() {
            routes.remove(function);
        } else {
            routes.insert(
                function.to_owned(),
                Arc::new(Backends {
                    backends,
                    next: AtomicUsize::new(0),
                }),
            );
        }
    }

    /// The next backend of `function`, round robin.
    pub fn pick(&self, function: &str) -> Option<Backend> {
        let backends = self
            .routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .cloned()?;
        let index = backends.next.fetch_add(1, Ordering::Relaxed) % backends.backends.len();
        backends.backends.get(index).copied()
    }

    /// What serves `function` now.
    pub fn backends(&self, function: &str) -> Vec<Backend> {
        self.routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .map(|b| b.backends.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_and_swap() {
        let table = RouteTable::default();
        let a: SocketAddr = "10.0.0.1:8080".parse().expect("addr");
        let b: SocketAddr = "10.0.0.2:8080".parse().expect("addr");
        assert_eq!(table.pick("f"), None);
        table.set("f", vec![a, b]);
        let picks: Vec<_> = (0..4).filter_map(|_| table.pick("f")).collect();
        let (a, b) = (Backend::from(a), Backend::from(b));
        assert_eq!(picks, [a, b, a, b]);
        table.set("f", vec![b]);
        assert_eq!(table.pick("f"), Some(b));
        assert_eq!(b.url("/x?y"), "http://10.0.0.2:8080/x?y");
        table.set("f", Vec::<Backend>::new());
        assert_eq!(table.pick("f"), None);
    }
}

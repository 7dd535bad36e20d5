//! Which addresses serve each function: swapped whole at once, so a switch from one release to
//! the next never leaves a moment with no backend.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Debug, Default)]
struct Backends {
    addresses: Vec<SocketAddr>,
    next: AtomicUsize,
}

/// The serving addresses per function.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: RwLock<HashMap<String, Arc<Backends>>>,
}

impl RouteTable {
    /// Points `function` at `addresses` (an empty list removes it).
    pub fn set(&self, function: &str, addresses: Vec<SocketAddr>) {
        let mut routes = self
            .routes
            .write()
            .expect("the route table is never poisoned");
        if addresses.is_empty() {
            routes.remove(function);
        } else {
            routes.insert(
                function.to_owned(),
                Arc::new(Backends {
                    addresses,
                    next: AtomicUsize::new(0),
                }),
            );
        }
    }

    /// The next backend of `function`, round robin.
    pub fn pick(&self, function: &str) -> Option<SocketAddr> {
        let backends = self
            .routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .cloned()?;
        let index = backends.next.fetch_add(1, Ordering::Relaxed) % backends.addresses.len();
        backends.addresses.get(index).copied()
    }

    pub fn addresses(&self, function: &str) -> Vec<SocketAddr> {
        self.routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .map(|b| b.addresses.clone())
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
        assert_eq!(picks, [a, b, a, b]);
        table.set("f", vec![b]);
        assert_eq!(table.pick("f"), Some(b));
        table.set("f", vec![]);
        assert_eq!(table.pick("f"), None);
    }
}

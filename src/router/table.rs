//! Where each function's requests go, as the runtime says: swapped whole at once, so a switch
//! from one release to the next never leaves a moment with no backend. Each backend counts the
//! requests it is answering, so what leaves the table can be drained before it is stopped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

/// One place that serves a function. The docker and fake runtimes give each replica's address;
/// the OpenFaaS runtime gives its gateway's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A replica the router reaches directly, at `http://ADDRESS/…`.
    Replica(SocketAddr),
    /// An OpenFaaS gateway, which serves the function at `http://ADDRESS/function/NAME/…`.
    Gateway(SocketAddr),
}

impl Backend {
    /// The URL of `path_and_query` of `function` on this backend. Only a gateway's
    /// `/function/NAME` is ever reached through it, never its `/system` API: the function's
    /// name is a checked name and the path starts with `/`.
    pub fn url(&self, function: &str, path_and_query: &str) -> String {
        match self {
            Self::Replica(address) => format!("http://{address}{path_and_query}"),
            Self::Gateway(address) => {
                format!("http://{address}/function/{function}{path_and_query}")
            }
        }
    }
}

impl From<SocketAddr> for Backend {
    fn from(address: SocketAddr) -> Self {
        Self::Replica(address)
    }
}

/// The requests one backend is answering now.
#[derive(Debug, Default)]
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One request being answered by a backend: counted from the moment the backend is picked
/// until the lease is dropped (the router keeps it until the response body has been sent).
#[derive(Debug)]
pub struct Lease {
    backend: Backend,
    in_flight: Arc<InFlight>,
}

impl Lease {
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.in_flight.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.in_flight.idle.notify_waiters();
        }
    }
}

#[derive(Debug)]
struct Route {
    backends: Vec<(Backend, Arc<InFlight>)>,
    next: AtomicUsize,
    timeout: Duration,
}

/// The serving backends per function.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: RwLock<HashMap<String, Arc<Route>>>,
    /// Functions whose requests wait while they are replaced in place.
    pub holds: super::hold::Holds,
}

/// The backends a change took out of the table, with the requests they are still answering.
#[derive(Debug, Default)]
#[must_use = "retired backends are drained before they are stopped"]
pub struct Retired {
    function: String,
    backends: Vec<(Backend, Arc<InFlight>)>,
    /// The longest a request to them may take: their route's timeout.
    timeout: Duration,
}

impl Retired {
    /// The longest a request to them may take: their route's timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The backends taken out.
    pub fn backends(&self) -> Vec<Backend> {
        self.backends.iter().map(|(backend, _)| *backend).collect()
    }

    /// Requests still being answered by the retired backends.
    pub fn in_flight(&self) -> usize {
        self.backends
            .iter()
            .map(|(_, in_flight)| in_flight.count.load(Ordering::Acquire))
            .sum()
    }

    /// Waits until no retired backend answers a request any more, or until their timeout has
    /// passed (a request still running then has been cut by the router anyway). Returns the
    /// requests still in flight when it gave up (0 when drained), and logs them.
    pub async fn drained(self) -> usize {
        let limit = self.timeout + Duration::from_secs(1);
        self.drained_within(limit).await
    }

    /// [`Self::drained`], giving up after `limit`.
    pub async fn drained_within(self, limit: Duration) -> usize {
        let waiting = self.in_flight();
        if waiting > 0 {
            tracing::info!(
                function = self.function,
                requests = waiting,
                "draining before stop"
            );
        }
        let wait = async {
            for (_, in_flight) in &self.backends {
                loop {
                    let idle = in_flight.idle.notified();
                    tokio::pin!(idle);
                    idle.as_mut().enable();
                    if in_flight.count.load(Ordering::Acquire) == 0 {
                        break;
                    }
                    idle.await;
                }
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
        let cut = self.in_flight();
        if cut > 0 {
            tracing::warn!(
                function = self.function,
                requests = cut,
                "stopping with requests still running past their timeout"
            );
        }
        cut
    }
}

impl RouteTable {
    /// Points `function` at `backends` (none removes it), each request allowed `timeout`.
    /// Backends that stay keep counting their requests; the ones taken out are returned.
    pub fn set<B: Into<Backend>>(
        &self,
        function: &str,
        backends: impl IntoIterator<Item = B>,
        timeout: Duration,
    ) -> Retired {
        let backends: Vec<Backend> = backends.into_iter().map(Into::into).collect();
        let mut routes = self
            .routes
            .write()
            .expect("the route table is never poisoned");
        let previous = routes.remove(function);
        let retired_timeout = previous.as_ref().map_or(timeout, |route| route.timeout);
        let mut kept = Vec::with_capacity(backends.len());
        let mut old = previous
            .map(|route| route.backends.clone())
            .unwrap_or_default();
        for backend in backends {
            let in_flight = match old.iter().position(|(b, _)| *b == backend) {
                Some(index) => old.swap_remove(index).1,
                None => Arc::default(),
            };
            kept.push((backend, in_flight));
        }
        if !kept.is_empty() {
            routes.insert(
                function.to_owned(),
                Arc::new(Route {
                    backends: kept,
                    next: AtomicUsize::new(0),
                    timeout,
                }),
            );
        }
        Retired {
            function: function.to_owned(),
            backends: old,
            timeout: retired_timeout,
        }
    }

    /// The backends serving `function` now, left in the table: [`Retired::drained`] waits until
    /// they answer no request (with [`super::hold::Holds`] holding new ones back first).
    pub fn serving(&self, function: &str) -> Retired {
        let routes = self
            .routes
            .read()
            .expect("the route table is never poisoned");
        let route = routes.get(function);
        Retired {
            function: function.to_owned(),
            backends: route
                .map(|route| route.backends.clone())
                .unwrap_or_default(),
            timeout: route.map_or(Duration::ZERO, |route| route.timeout),
        }
    }

    /// Takes `function` out of the table; its backends are returned to be drained.
    pub fn clear(&self, function: &str) -> Retired {
        self.set(function, Vec::<Backend>::new(), Duration::ZERO)
    }

    /// The next backend of `function`, round robin, counted as answering one more request
    /// until the lease is dropped; with the function's timeout.
    pub fn pick(&self, function: &str) -> Option<(Lease, Duration)> {
        let routes = self
            .routes
            .read()
            .expect("the route table is never poisoned");
        let route = routes.get(function)?;
        let index = route.next.fetch_add(1, Ordering::Relaxed) % route.backends.len();
        let (backend, in_flight) = route.backends.get(index)?;
        // Counted while the table is read-locked: a switch (write lock) that retires this
        // backend sees the request.
        in_flight.count.fetch_add(1, Ordering::AcqRel);
        Some((
            Lease {
                backend: *backend,
                in_flight: in_flight.clone(),
            },
            route.timeout,
        ))
    }

    /// The functions that have a route.
    pub fn functions(&self) -> Vec<String> {
        self.routes
            .read()
            .expect("the route table is never poisoned")
            .keys()
            .cloned()
            .collect()
    }

    /// Takes the backends of `function` that `keep` refuses out of the table (the others keep
    /// their in-flight counts); they are returned to be drained.
    pub fn retain(&self, function: &str, keep: impl Fn(&Backend) -> bool) -> Retired {
        let current = self
            .routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .cloned();
        let Some(route) = current else {
            return Retired::default();
        };
        let kept: Vec<Backend> = route
            .backends
            .iter()
            .map(|(backend, _)| *backend)
            .filter(|backend| keep(backend))
            .collect();
        self.set(function, kept, route.timeout)
    }

    /// What serves `function` now.
    pub fn backends(&self, function: &str) -> Vec<Backend> {
        self.routes
            .read()
            .expect("the route table is never poisoned")
            .get(function)
            .map(|route| route.backends.iter().map(|(b, _)| *b).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("addr")
    }

    #[test]
    fn round_robin_and_swap() {
        let table = RouteTable::default();
        let (a, b) = (addr("10.0.0.1:8080"), addr("10.0.0.2:8080"));
        assert!(table.pick("f").is_none());
        let _ = table.set("f", vec![a, b], DEFAULT_TIMEOUT);
        let picks: Vec<_> = (0..4)
            .filter_map(|_| table.pick("f").map(|(lease, _)| lease.backend()))
            .collect();
        let (a, b) = (Backend::from(a), Backend::from(b));
        assert_eq!(picks, [a, b, a, b]);
        let retired = table.set("f", vec![b], Duration::from_secs(7));
        assert_eq!(retired.backends(), [a]);
        let (lease, timeout) = table.pick("f").expect("b");
        assert_eq!((lease.backend(), timeout), (b, Duration::from_secs(7)));
        assert_eq!(b.url("f", "/x?y"), "http://10.0.0.2:8080/x?y");
        let gateway = Backend::Gateway("10.0.0.9:8080".parse().expect("address"));
        assert_eq!(
            gateway.url("f", "/x?y"),
            "http://10.0.0.9:8080/function/f/x?y"
        );
        assert_eq!(table.clear("f").backends(), [b]);
        assert!(table.pick("f").is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn retired_backends_drain_when_their_requests_end() {
        let table = RouteTable::default();
        let (a, b) = (addr("10.0.0.1:8080"), addr("10.0.0.2:8080"));
        let _ = table.set("f", vec![a], DEFAULT_TIMEOUT);
        let (first, _) = table.pick("f").expect("a");
        let (second, _) = table.pick("f").expect("a");
        let retired = table.set("f", vec![b], DEFAULT_TIMEOUT);
        assert_eq!(retired.in_flight(), 2);
        let drain = tokio::spawn(retired.drained());
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(first);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!drain.is_finished(), "one request is still in flight");
        drop(second);
        assert_eq!(drain.await.expect("drain"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_backend_that_stays_keeps_its_count_and_a_stuck_one_is_given_up_on() {
        let table = RouteTable::default();
        let (a, b) = (addr("10.0.0.1:8080"), addr("10.0.0.2:8080"));
        let _ = table.set("f", vec![a], Duration::from_secs(10));
        let (stuck, _) = table.pick("f").expect("a");
        let none = table.set("f", vec![a, b], Duration::from_secs(10));
        assert_eq!(none.in_flight(), 0);
        let retired = table.set("f", vec![b], Duration::from_secs(10));
        assert_eq!(retired.in_flight(), 1, "the count moved with the backend");
        let started = tokio::time::Instant::now();
        assert_eq!(retired.drained().await, 1);
        assert_eq!(started.elapsed(), Duration::from_secs(11));
        drop(stuck);
    }
}

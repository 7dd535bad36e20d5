//! The fake runtime: each replica is a tiny HTTP server in this process that answers every
//! request with the function's `GREETING` (or its name) and release, so the router, the release
//! pipeline, scaling, deletion and the reconciler can be tested where no engine runs. A release
//! whose `environment` sets `FAKE_HEALTH=fail` never becomes healthy; [`FakeRuntime::crash`]
//! stops a function's replicas the way a dying container would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::containers::{Deployment, RuntimeError};
use super::docker::DeployError;
use super::scale::{ScaleError, Scaled};
use super::{ReplicaLog, Running};
use crate::domain::FunctionName;
use crate::router::RouteTable;

/// The environment variable that makes a release fail its health check.
pub const FAKE_HEALTH: &str = "FAKE_HEALTH";

/// What runs for one function.
#[derive(Debug)]
struct Function {
    release: i64,
    replicas: Vec<Replica>,
}

#[derive(Debug)]
struct Replica {
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    /// Stopped by [`FakeRuntime::crash`]: no longer counted as serving.
    crashed: bool,
}

impl Replica {
    fn is_alive(&self) -> bool {
        !self.crashed && !self.server.is_finished()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Replicas started and answering, not yet serving (dropping them stops them).
#[derive(Debug)]
pub struct FakeStaged(Vec<Replica>);

/// What a switch moved traffic away from.
#[derive(Debug)]
pub struct FakeSwitched {
    retired: crate::router::Retired,
    old: Option<Function>,
}

/// In-process replicas, by function.
#[derive(Debug)]
pub struct FakeRuntime {
    routes: Arc<RouteTable>,
    running: Mutex<HashMap<String, Function>>,
}

impl FakeRuntime {
    pub fn new(routes: Arc<RouteTable>) -> Self {
        Self {
            routes,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The release and number of live replicas `function` runs, if any.
    pub fn running(&self, function: &str) -> Option<(i64, usize)> {
        self.lock().get(function).map(|running| {
            let live = running.replicas.iter().filter(|r| r.is_alive()).count();
            (running.release, live)
        })
    }

    /// Stops every replica of `function` without telling the router, as containers that die
    /// (connections already open may still be answered, as from a dying container).
    pub fn crash(&self, function: &str) {
        if let Some(running) = self.lock().get_mut(function) {
            for replica in &mut running.replicas {
                replica.crashed = true;
                replica.server.abort();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Function>> {
        self.running
            .lock()
            .expect("the fake runtime's map is never poisoned")
    }

    async fn start(deployment: &Deployment, count: usize) -> Result<Vec<Replica>, RuntimeError> {
        let text = format!(
            "{} (v{})\n",
            deployment
                .spec
                .environment
                .get("GREETING")
                .cloned()
                .unwrap_or_else(|| deployment.function.clone()),
            deployment.release
        );
        let mut replicas = Vec::with_capacity(count);
        for _ in 0..count {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .map_err(|error| RuntimeError::Fake(error.to_string()))?;
            let address = listener
                .local_addr()
                .map_err(|error| RuntimeError::Fake(error.to_string()))?;
            let text = text.clone();
            let app = axum::Router::new().fallback(move || {
                let text = text.clone();
                async move { text }
            });
            let server = tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            replicas.push(Replica {
                address,
                server,
                crashed: false,
            });
        }
        Ok(replicas)
    }

    /// See [`super::Runtime::stage`].
    pub async fn stage(&self, deployment: &Deployment) -> Result<FakeStaged, DeployError> {
        if deployment
            .spec
            .environment
            .get(FAKE_HEALTH)
            .map(String::as_str)
            == Some("fail")
        {
            return Err(DeployError::Unhealthy {
                message: format!("{FAKE_HEALTH}=fail in its environment"),
            });
        }
        let replicas = Self::start(deployment, deployment.replicas as usize)
            .await
            .map_err(DeployError::Start)?;
        Ok(FakeStaged(replicas))
    }

    /// Points the router at the staged replicas; the old ones keep running.
    pub fn switch(&self, deployment: &Deployment, staged: FakeStaged) -> FakeSwitched {
        let retired = self.routes.set(
            &deployment.function,
            staged.0.iter().map(|replica| replica.address),
            deployment.spec.timeout,
        );
        let old = self.lock().insert(
            deployment.function.clone(),
            Function {
                release: deployment.release,
                replicas: staged.0,
            },
        );
        FakeSwitched { retired, old }
    }

    /// The old replicas stop once they have answered what they were sent.
    pub fn commit(&self, switched: FakeSwitched) {
        let FakeSwitched { retired, old } = switched;
        tokio::spawn(async move {
            retired.drained().await;
            drop(old);
        });
    }

    /// Traffic goes back to the old replicas; the new ones stop once drained.
    pub fn revert(&self, deployment: &Deployment, switched: FakeSwitched) {
        let FakeSwitched { retired, old } = switched;
        let (new, retired_new) = match old {
            Some(old) => {
                let back = self.routes.set(
                    &deployment.function,
                    old.replicas.iter().map(|replica| replica.address),
                    retired.timeout(),
                );
                (self.lock().insert(deployment.function.clone(), old), back)
            }
            None => (
                self.lock().remove(&deployment.function),
                self.routes.clear(&deployment.function),
            ),
        };
        drop(retired);
        tokio::spawn(async move {
            retired_new.drained().await;
            drop(new);
        });
    }

    /// See [`super::Runtime::scale`].
    pub async fn scale(&self, deployment: &Deployment) -> Result<Scaled, ScaleError> {
        let want = deployment.replicas as usize;
        // What stopped or belongs to another release goes first.
        let (mut live, mut removed) = {
            let mut map = self.lock();
            match map.remove(&deployment.function) {
                Some(running) if running.release == deployment.release => {
                    let total = running.replicas.len();
                    let live: Vec<Replica> = running
                        .replicas
                        .into_iter()
                        .filter(Replica::is_alive)
                        .collect();
                    let removed = total - live.len();
                    (live, removed)
                }
                Some(other) => (Vec::new(), other.replicas.len()),
                None => (Vec::new(), 0),
            }
        };
        let was_serving = live.len();
        if want > live.len() {
            live.extend(Self::start(deployment, want - live.len()).await?);
        }
        removed += live.len().saturating_sub(want);
        let extra = live.split_off(want.min(live.len()));
        let retired = self.routes.set(
            &deployment.function,
            live.iter().map(|replica| replica.address),
            deployment.spec.timeout,
        );
        retired.drained().await;
        drop(extra);
        let serving = live.len();
        self.lock().insert(
            deployment.function.clone(),
            Function {
                release: deployment.release,
                replicas: live,
            },
        );
        Ok(Scaled {
            was_serving,
            serving,
            removed,
        })
    }

    /// See [`super::Runtime::list`].
    pub fn list(&self) -> Vec<Running> {
        let mut list: Vec<Running> = self
            .lock()
            .iter()
            .map(|(function, running)| Running {
                function: function.clone(),
                release: running.release,
                replicas: running.replicas.len(),
            })
            .collect();
        list.sort_by(|a, b| a.function.cmp(&b.function));
        list
    }

    /// See [`super::Runtime::logs`]: one line per replica saying what it answers.
    pub fn logs(&self, function: &FunctionName) -> Vec<ReplicaLog> {
        let map = self.lock();
        let Some(running) = map.get(function.as_str()) else {
            return Vec::new();
        };
        (0u32..)
            .zip(&running.replicas)
            .map(|(index, replica)| ReplicaLog {
                release: running.release,
                replica: index,
                text: format!("fake replica listening on {}\n", replica.address),
            })
            .collect()
    }

    /// See [`super::Runtime::remove`].
    pub async fn remove(&self, function: &FunctionName) {
        self.routes.clear(function.as_str()).drained().await;
        let gone = self.lock().remove(function.as_str());
        drop(gone);
    }
}

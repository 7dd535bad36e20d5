//! The fake runtime: each replica is a tiny HTTP server in this process that answers every
//! request with the function's `GREETING` (or its name) and release, so the router, the release
//! pipeline, scaling and deletion can be tested where no engine runs. A release whose
//! `environment` sets `FAKE_HEALTH=fail` never becomes healthy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use super::containers::{Deployment, RuntimeError};
use super::docker::DeployError;
use super::scale::ScaleError;
use crate::domain::FunctionName;
use crate::router::RouteTable;

/// The environment variable that makes a release fail its health check.
pub const FAKE_HEALTH: &str = "FAKE_HEALTH";

/// What runs for one function.
#[derive(Debug)]
struct Running {
    release: i64,
    replicas: Vec<Replica>,
}

#[derive(Debug)]
struct Replica {
    address: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// In-process replicas, by function.
#[derive(Debug)]
pub struct FakeRuntime {
    routes: Arc<RouteTable>,
    running: Mutex<HashMap<String, Running>>,
}

impl FakeRuntime {
    pub fn new(routes: Arc<RouteTable>) -> Self {
        Self {
            routes,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The release and number of replicas `function` runs, if any.
    pub fn running(&self, function: &str) -> Option<(i64, usize)> {
        self.lock()
            .get(function)
            .map(|running| (running.release, running.replicas.len()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
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
            replicas.push(Replica { address, server });
        }
        Ok(replicas)
    }

    /// See [`super::Runtime::deploy`].
    pub async fn deploy(&self, deployment: &Deployment) -> Result<(), DeployError> {
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
        self.routes.set(
            &deployment.function,
            replicas.iter().map(|replica| replica.address).collect(),
        );
        let old = self.lock().insert(
            deployment.function.clone(),
            Running {
                release: deployment.release,
                replicas,
            },
        );
        drop(old);
        Ok(())
    }

    /// See [`super::Runtime::scale`].
    pub async fn scale(&self, deployment: &Deployment) -> Result<(), ScaleError> {
        let want = deployment.replicas as usize;
        let have = self
            .running(&deployment.function)
            .filter(|(release, _)| *release == deployment.release)
            .map_or(0, |(_, count)| count);
        let started = if want > have {
            Self::start(deployment, want - have).await?
        } else {
            Vec::new()
        };
        let mut map = self.lock();
        let running = map
            .entry(deployment.function.clone())
            .or_insert_with(|| Running {
                release: deployment.release,
                replicas: Vec::new(),
            });
        running.replicas.extend(started);
        running.replicas.truncate(want);
        self.routes.set(
            &deployment.function,
            running
                .replicas
                .iter()
                .map(|replica| replica.address)
                .collect(),
        );
        Ok(())
    }

    /// See [`super::Runtime::remove`].
    pub fn remove(&self, function: &FunctionName) {
        self.routes.set(function.as_str(), Vec::new());
        let gone = self.lock().remove(function.as_str());
        drop(gone);
    }
}

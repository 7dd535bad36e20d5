//! The HTTP server: shared state, the router of every feature, binding and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::accounts::{AccountError, Accounts, Passwords};
use crate::build::templates::Templates;
use crate::config::Config;
use crate::db::Db;
use crate::git::hook_server::HookServer;
use crate::git::locks::RepoLocks;
use crate::git::repos::{RepoError, Repos};
use crate::http::{self, Metrics};
use crate::store::{self, StoreError};

/// How long serving waits at start for the functions' routes to be restored.
const FIRST_PASS_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The composition root: every part, built once in [`Application::build_with`], and the
/// state each feature's handlers get from it (`FromRef`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub accounts: Accounts,
    pub metrics: Arc<Metrics>,
    pub hooks: Arc<HookServer>,
    /// One push, scale or delete at a time per function.
    pub push_locks: Arc<RepoLocks>,
    /// What the router sends requests to, as the runtime sets it.
    pub routes: Arc<crate::router::RouteTable>,
    /// Where functions run.
    pub runtime: Arc<crate::runtime::Runtime>,
    /// Releases: the push pipeline (the hook server's push handler), scale, delete and the
    /// reconciler.
    pub releaser: crate::release::Releaser,
    /// This installation's id, on every container it runs.
    pub instance: String,
    /// The state of each feature's handlers.
    pub git: crate::git::GitState,
    pub api: crate::api::ApiState,
    pub portal: crate::portal::PortalState,
    pub router: crate::router::RouterState,
}

impl AppState {
    /// The function secrets.
    pub fn secrets(&self) -> crate::secrets::SecretStore {
        self.releaser.secrets.clone()
    }
}

macro_rules! hand_over {
    ($($part:ty => $field:ident),* $(,)?) => {
        $(
            impl axum::extract::FromRef<AppState> for $part {
                fn from_ref(state: &AppState) -> Self {
                    state.$field.clone()
                }
            }
        )*
    };
}

hand_over! {
    Accounts => accounts,
    Db => db,
    Arc<Metrics> => metrics,
    crate::git::GitState => git,
    crate::api::ApiState => api,
    crate::portal::PortalState => portal,
    crate::router::RouterState => router,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create the first admin user: {0}")]
    FirstAdmin(AccountError),
    #[error("cannot prepare the repositories: {0}")]
    Repos(RepoError),
    #[error("cannot open the hook socket in the data directory: {0}")]
    HookSocket(std::io::Error),
    #[error("LMNOP_GATEWAY_URL: {0}")]
    Gateway(String),
    #[error("cannot listen on {addr}: {error}. Choose another address with LMNOP_LISTEN")]
    Bind {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

impl From<RepoError> for StartError {
    fn from(error: RepoError) -> Self {
        Self::Repos(error)
    }
}

impl From<AccountError> for StartError {
    fn from(error: AccountError) -> Self {
        Self::FirstAdmin(error)
    }
}

/// The address the router sends `/function/NAME` to: the gateway's, looked up once. The router
/// speaks plain HTTP to it, as to containers.
async fn gateway_address(url: &str) -> Result<SocketAddr, StartError> {
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        StartError::Gateway(format!(
            "{url} is not a plain http:// URL; the router reaches the gateway over HTTP inside \
             the cluster, e.g. http://gateway.openfaas:8080"
        ))
    })?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    tokio::net::lookup_host(&authority)
        .await
        .map_err(|error| StartError::Gateway(format!("cannot look up {authority}: {error}")))?
        .next()
        .ok_or_else(|| StartError::Gateway(format!("{authority} has no address")))
}

/// All routes, with the state they need.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::git::routes())
        .merge(crate::api::routes())
        .merge(crate::portal::routes())
        .merge(crate::router::routes())
        .route("/healthz", get(http::health::show_health))
        .route("/metrics", get(http::metrics::show_metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            http::metrics::track_requests,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn_with_state(
            state.router.clone(),
            crate::router::route_by_host,
        ))
        .with_state(state)
}

/// What builds images and runs functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seams {
    /// The Docker engine builds, the configured runtime runs.
    Real,
    /// Nothing touches an engine: the fake builder and the fake runtime (in-process
    /// replicas). For tests of everything around them.
    Fake,
}

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    hook_listener: tokio::net::UnixListener,
    router: Router,
    state: AppState,
}

impl Application {
    /// Opens the data directory and database, creates the first admin when there are no users,
    /// and binds the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        Self::build_with(config, Seams::Real).await
    }

    /// Like [`Application::build`], with the builder and runtime `seams` says.
    pub async fn build_with(config: Config, seams: Seams) -> Result<Self, StartError> {
        let db = store::open_database(&config.data_dir, &config.database).await?;
        store::prepare_data_dir(&config.data_dir)?;
        let hashing_threads = std::thread::available_parallelism().map_or(2, usize::from);
        let accounts = Accounts::new(db.clone(), Passwords::new(hashing_threads));
        if let Some(password) = accounts
            .ensure_first_admin(config.admin_password.as_ref())
            .await?
        {
            // Shown once, on purpose: the operator has no other way to learn it.
            tracing::warn!(
                user = "admin",
                password = password.expose(),
                "created the first user; change its password with `lmnop user passwd admin`"
            );
        }
        let repos =
            Repos::open(&config.data_dir, &config.hook_binary, &config.deploy_branch).await?;
        let (hooks, hook_listener) =
            HookServer::bind(&config.data_dir).map_err(StartError::HookSocket)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    error: source,
                })?;
        let templates = Arc::new(Templates::load(&config.templates_dir));
        let instance = store::instance_id(&config.data_dir)?;
        let engine = Arc::new(crate::engine::Engine::new(config.docker_host.clone()));
        let routes = Arc::new(crate::router::RouteTable::default());
        let http = reqwest::Client::builder()
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        let secrets = crate::secrets::SecretStore::new(&config.data_dir);
        let (builder, runtime) = match (seams, &config.runtime) {
            (Seams::Real, crate::config::RuntimeConfig::OpenFaas { gateway, registry }) => (
                crate::build::builder::Builder::Docker(engine.clone()),
                crate::runtime::Runtime::OpenFaas(Box::new(crate::runtime::OpenFaasRuntime::new(
                    crate::runtime::openfaas::gateway::Gateway::new(gateway.clone()),
                    registry.clone(),
                    secrets.clone(),
                    routes.clone(),
                    gateway_address(&gateway.url).await?,
                    instance.clone(),
                ))),
            ),
            (Seams::Real, crate::config::RuntimeConfig::Docker { .. }) => (
                crate::build::builder::Builder::Docker(engine.clone()),
                crate::runtime::Runtime::Docker(crate::runtime::DockerRuntime::new(
                    engine,
                    secrets.clone(),
                    routes.clone(),
                    http,
                    instance.clone(),
                    crate::runtime::network::FunctionNetworks {
                        pool: config.function_subnets,
                    },
                )),
            ),
            (Seams::Fake, _) => (
                crate::build::builder::Builder::Fake,
                crate::runtime::Runtime::Fake(crate::runtime::FakeRuntime::new(routes.clone())),
            ),
        };
        let runtime = Arc::new(runtime);
        let repos = Arc::new(repos);
        let push_locks = Arc::new(RepoLocks::default());
        let metrics = Metrics::new(config.metrics_token.clone());
        let urls = crate::router::FunctionUrls {
            base: config.base_url(),
            apps_domain: config.apps_domain.clone(),
        };
        let releaser = crate::release::Releaser {
            db: db.clone(),
            templates: templates.clone(),
            builder: Arc::new(builder),
            runtime: runtime.clone(),
            secrets,
            push_locks: push_locks.clone(),
            repos: repos.clone(),
            instance: instance.clone(),
            config: Arc::new(crate::release::ReleaseConfig {
                deploy_branch: config.deploy_branch.clone(),
                registry: config.runtime.registry().cloned(),
                build_args: config.build_args.clone(),
                build_ca: config.build_ca.clone(),
                urls,
                reserved: config.reserved_names(),
            }),
            pending: Arc::default(),
        };
        let git = crate::git::GitState {
            db: db.clone(),
            accounts: accounts.clone(),
            repos,
            hooks: hooks.clone(),
            push_locks: push_locks.clone(),
            max_push_bytes: config.max_push_bytes,
        };
        let api = crate::api::ApiState {
            db: db.clone(),
            releaser: releaser.clone(),
        };
        let portal = crate::portal::PortalState {
            templates,
            site: Arc::new(crate::portal::Site {
                base_url: config.base_url(),
                deploy_branch: config.deploy_branch.clone(),
                apps_domain: config.apps_domain.clone(),
                https: config.base_url().starts_with("https:"),
            }),
            db: db.clone(),
            accounts: accounts.clone(),
            releaser: releaser.clone(),
        };
        let https = config
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https:"));
        let router_state = crate::router::RouterState {
            routes: routes.clone(),
            upstream: crate::router::upstream_client(),
            metrics: metrics.clone(),
            apps_domain: config.apps_domain.clone(),
            own_host: config.public_host(),
            forwarded_proto: if https { "https" } else { "http" },
        };
        let state = AppState {
            config: Arc::new(config),
            db,
            accounts,
            metrics,
            hooks,
            push_locks,
            routes,
            runtime,
            releaser,
            instance,
            git,
            api,
            portal,
            router: router_state,
        };
        Ok(Self {
            router: router(state.clone()),
            listener,
            hook_listener,
            state,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let address = self.local_addr();
        let hooks = tokio::spawn(
            self.state
                .hooks
                .clone()
                .serve(self.hook_listener, Arc::new(self.state.releaser.clone())),
        );
        // Existing functions answer from the first request on: their routes are restored
        // before the listener serves (waiting at most a minute for a slow engine).
        let mut first_pass = tokio::spawn({
            let releaser = self.state.releaser.clone();
            async move { crate::release::reconcile::first_pass(&releaser).await }
        });
        if tokio::time::timeout(FIRST_PASS_LIMIT, &mut first_pass)
            .await
            .is_err()
        {
            tracing::warn!(
                "restoring the functions takes over {FIRST_PASS_LIMIT:?}; serving meanwhile"
            );
        }
        let reconciler = tokio::spawn(crate::release::reconcile::run(self.state.releaser.clone()));
        let watcher = tokio::spawn(crate::release::watch::run(self.state.releaser.clone()));
        tracing::info!(%address, "lmnop is listening");
        let limits = http::server::Limits {
            header_timeout: self.state.config.header_timeout,
            max_connections: self.state.config.max_connections,
        };
        http::server::serve(self.listener, self.router, limits, shutdown).await?;
        hooks.abort();
        reconciler.abort();
        watcher.abort();
        self.state.db.close().await;
        tracing::info!("lmnop stopped");
        Ok(())
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        tokio::signal::ctrl_c()
            .await
            .expect("installing the SIGINT handler succeeds");
    };
    let terminate = async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler succeeds")
            .recv()
            .await;
    };
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain printer (`{:#}`) and a plain `Display` both say each fact once.
    #[test]
    fn a_start_error_chain_says_each_fact_once() {
        let cause = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let error = StartError::from(RepoError::from(cause));
        let shown = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(
            shown,
            "cannot prepare the repositories: cannot run git: No such file"
        );
    }
}

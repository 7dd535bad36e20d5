//! The command-line surface: clap structs whose every field is a flag and an `LMNOP_*`
//! variable. Nothing here is checked beyond its type; [`super::Config`] resolves them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::build::{BuildArgs, parse_build_args};
use super::defaults;
use super::parse::parse_size;

/// Where lmnop keeps its state: needed by every command.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Directory for bare repositories, the SQLite database and secrets.
    #[arg(long, env = "LMNOP_DATA_DIR", default_value = defaults::DATA_DIR)]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    /// Default: SQLite at `DATA_DIR/lmnop.db`.
    #[arg(long, env = "LMNOP_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// File holding the database URL (for URLs with a password).
    #[arg(long, env = "LMNOP_DATABASE_URL_FILE", conflicts_with = "database_url")]
    pub database_url_file: Option<PathBuf>,
}

/// Where functions run and where images go: needed by `serve` and `doctor`.
#[derive(Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// Where functions run: `docker` (the local engine, from DOCKER_HOST or the local socket)
    /// or `openfaas` (an OpenFaaS gateway).
    #[arg(long, env = "LMNOP_RUNTIME", value_enum, default_value_t = defaults::runtime().kind())]
    pub runtime: RuntimeKind,

    /// The Docker engine that builds images (and, with the docker runtime, runs functions):
    /// `unix:///PATH`, `tcp://HOST:PORT` or `http://HOST:PORT`.
    #[arg(long, env = "DOCKER_HOST", default_value = crate::engine::DockerHost::LOCAL_SOCKET)]
    pub docker_host: String,

    /// OpenFaaS gateway URL, e.g. `http://gateway:8080` (with `--runtime openfaas`).
    #[arg(long, env = "LMNOP_GATEWAY_URL")]
    pub gateway_url: Option<String>,

    /// OpenFaaS gateway user for basic auth.
    #[arg(long, env = "LMNOP_GATEWAY_USER", default_value = defaults::GATEWAY_USER)]
    pub gateway_user: String,

    /// OpenFaaS gateway password.
    #[arg(long, env = "LMNOP_GATEWAY_PASSWORD", hide_env_values = true)]
    pub gateway_password: Option<String>,

    /// File holding the OpenFaaS gateway password.
    #[arg(
        long,
        env = "LMNOP_GATEWAY_PASSWORD_FILE",
        conflicts_with = "gateway_password"
    )]
    pub gateway_password_file: Option<PathBuf>,

    /// Registry to push images to, as `HOST[:PORT][/PREFIX]`. Unset: images stay on the engine.
    #[arg(long, env = "LMNOP_REGISTRY")]
    pub registry: Option<String>,

    /// Registry user name.
    #[arg(long, env = "LMNOP_REGISTRY_USER")]
    pub registry_user: Option<String>,

    /// Registry password or token.
    #[arg(long, env = "LMNOP_REGISTRY_PASSWORD", hide_env_values = true)]
    pub registry_password: Option<String>,

    /// File holding the registry password or token.
    #[arg(
        long,
        env = "LMNOP_REGISTRY_PASSWORD_FILE",
        conflicts_with = "registry_password"
    )]
    pub registry_password_file: Option<PathBuf>,

    /// Speak plain HTTP to the registry. Loopback registries (127.0.0.0/8, localhost) always do.
    #[arg(long, env = "LMNOP_REGISTRY_INSECURE")]
    pub registry_insecure: bool,
}

/// Settings of the server itself.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub runtime: RuntimeArgs,

    /// Address and port to listen on.
    #[arg(long, env = "LMNOP_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,

    /// Password for the `admin` user created on first start (when there are no users).
    /// Unset: a random one is printed once to the log.
    #[arg(long, env = "LMNOP_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// File holding the first admin password.
    #[arg(
        long,
        env = "LMNOP_ADMIN_PASSWORD_FILE",
        conflicts_with = "admin_password"
    )]
    pub admin_password_file: Option<PathBuf>,

    /// Bearer token that lets a scraper read /metrics from another host. Unset: /metrics
    /// answers only clients on this host (loopback), as it names every function.
    #[arg(long, env = "LMNOP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// File holding the /metrics token.
    #[arg(
        long,
        env = "LMNOP_METRICS_TOKEN_FILE",
        conflicts_with = "metrics_token"
    )]
    pub metrics_token_file: Option<PathBuf>,

    /// The URL people reach lmnop at, used in links printed to `git push` and in the portal.
    /// Default: `http://localhost:PORT`, with the port of the listen address.
    #[arg(long, env = "LMNOP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Serve function NAME at `NAME.<domain>` as well as at `/function/NAME`.
    #[arg(long, env = "LMNOP_APPS_DOMAIN")]
    pub apps_domain: Option<String>,

    /// The branch whose pushes deploy.
    #[arg(long, env = "LMNOP_DEPLOY_BRANCH", default_value = defaults::DEPLOY_BRANCH)]
    pub deploy_branch: String,

    /// Directory of function templates. Default: the `function-templates` shipped with lmnop.
    #[arg(long, env = "LMNOP_TEMPLATES_DIR")]
    pub templates_dir: Option<PathBuf>,

    /// Build options for every build, as `NAME=VALUE` or `TEMPLATE.NAME=VALUE`, comma-separated;
    /// they replace the templates' defaults (e.g. to use a mirror for base images) and
    /// function.yml `options` replace them in turn.
    #[arg(long, env = "LMNOP_BUILD_ARGS", default_value = "", value_parser = parse_build_args)]
    pub build_args: BuildArgs,

    /// CA certificates (PEM) that builds should trust, e.g. a corporate proxy's; templates hand
    /// them to pip, npm and apt.
    #[arg(long, env = "LMNOP_BUILD_CA_FILE")]
    pub build_ca_file: Option<PathBuf>,

    /// Largest push accepted, in bytes or with a K, M or G suffix (e.g. `512M`).
    /// IPv4 range each function's own network takes a /26 from (clear of every network the
    /// engine has).
    #[arg(long, env = "LMNOP_FUNCTION_SUBNETS", default_value = defaults::FUNCTION_SUBNETS)]
    pub function_subnets: ipnet::Ipv4Net,

    /// Seconds a client may take to send a request's headers; an idle keep-alive connection
    /// is closed after as long.
    #[arg(long, env = "LMNOP_HEADER_TIMEOUT", default_value_t = defaults::HEADER_TIMEOUT_SECONDS)]
    pub header_timeout: u64,

    /// Connections served at once; more wait to be accepted. Kept below the open-file limit,
    /// which lmnop raises to its hard limit at start.
    #[arg(long, env = "LMNOP_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,

    #[arg(long, env = "LMNOP_MAX_PUSH_SIZE", default_value = defaults::MAX_PUSH_SIZE, value_parser = parse_size)]
    pub max_push_size: u64,
}

/// Where functions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    Docker,
    #[value(name = "openfaas")]
    OpenFaas,
}

//! Settings: every one is an `LMNOP_*` environment variable and a flag, read once at start and
//! passed in. Secrets may come from a file (`…_FILE`) and are held as [`Secret`].
//! [`Config`] is what `serve` runs on; the parts live with their component.

mod args;
mod build;
pub mod defaults;
mod parse;
mod runtime;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use args::{RuntimeArgs, RuntimeKind, ServeArgs, StoreArgs};
pub use build::{BuildArgs, CaCertificates, parse_build_args};
pub use parse::{parse_size, redact_url};
pub use runtime::{GatewayConfig, RegistryConfig, RuntimeConfig};
pub use store::{DatabaseConfig, StoreConfig};

use crate::domain::Secret;
use crate::engine::DockerHost;
use crate::store::DataDir;

/// A setting that could not be used; says which and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {setting} from {path}: {error}")]
    ReadFile {
        setting: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{setting} is empty")]
    Empty { setting: &'static str },
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
}

/// Everything `lmnop serve` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: DataDir,
    pub database: DatabaseConfig,
    /// The engine that builds images.
    pub docker_host: DockerHost,
    pub runtime: RuntimeConfig,
    pub admin_password: Option<Secret>,
    /// Where each function's network takes its subnet from.
    pub function_subnets: ipnet::Ipv4Net,
    /// How long a client may take to send a request's headers (and an idle connection lasts).
    pub header_timeout: std::time::Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Lets non-local clients read /metrics (`Authorization: Bearer TOKEN`).
    pub metrics_token: Option<Secret>,
    pub public_url: Option<String>,
    pub apps_domain: Option<String>,
    pub deploy_branch: String,
    pub templates_dir: PathBuf,
    /// Largest push accepted, in bytes.
    pub max_push_bytes: u64,
    /// Operator build options.
    pub build_args: BuildArgs,
    /// Extra CA certificates handed to builds, read once at start.
    pub build_ca: Option<CaCertificates>,
    /// The `lmnop` binary git's pre-receive hook runs (this one, unless embedded elsewhere).
    pub hook_binary: PathBuf,
}

impl Config {
    /// The address users push to: `LMNOP_PUBLIC_URL`, or this server's port on localhost.
    pub fn base_url(&self) -> String {
        self.public_url.clone().map_or_else(
            || format!("http://localhost:{}", self.listen.port()),
            |url| url.trim_end_matches('/').to_owned(),
        )
    }

    /// The host (lowercase, no port) of `LMNOP_PUBLIC_URL`, when set.
    pub fn public_host(&self) -> Option<String> {
        let url = reqwest::Url::parse(self.public_url.as_deref()?).ok()?;
        Some(url.host_str()?.to_ascii_lowercase())
    }

    /// Function names no new function may take: names people expect to be lmnop's own, and
    /// the label of lmnop's own host when it lies under the apps domain (whoever took it would
    /// get lmnop's traffic).
    pub fn reserved_names(&self) -> std::collections::BTreeSet<String> {
        let mut names: std::collections::BTreeSet<String> = defaults::RESERVED_FUNCTION_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect();
        if let (Some(host), Some(domain)) = (self.public_host(), self.apps_domain.as_deref()) {
            if let Some(label) = host
                .strip_suffix(domain)
                .and_then(|rest| rest.strip_suffix('.'))
            {
                names.insert(label.to_owned());
            }
        }
        names
    }

    /// The [`defaults`] for everything but the data directory (SQLite inside it), listening
    /// on an ephemeral loopback port instead of the default address. Tests and embedders start
    /// here.
    pub fn with_data_dir(data_dir: DataDir) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseConfig::sqlite_in(&data_dir),
            data_dir,
            docker_host: DockerHost::default(),
            runtime: defaults::runtime(),
            admin_password: None,
            function_subnets: defaults::FUNCTION_SUBNETS
                .parse()
                .expect("the default function subnets parse"),
            header_timeout: std::time::Duration::from_secs(defaults::HEADER_TIMEOUT_SECONDS),
            max_connections: defaults::MAX_CONNECTIONS,
            metrics_token: None,
            public_url: None,
            apps_domain: None,
            deploy_branch: defaults::DEPLOY_BRANCH.to_owned(),
            templates_dir: defaults::templates_dir(),
            max_push_bytes: parse_size(defaults::MAX_PUSH_SIZE)
                .expect("the default push size parses (tested in config::defaults)"),
            build_args: BuildArgs::default(),
            build_ca: None,
            hook_binary: defaults::hook_binary(),
        }
    }

    pub fn from_serve_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let store = StoreConfig::from_args(args.store)?;
        let docker_host = DockerHost::new(Some(args.runtime.docker_host.clone()));
        let runtime = RuntimeConfig::from_args(args.runtime)?;
        let admin_password = parse::secret_setting(
            "LMNOP_ADMIN_PASSWORD",
            args.admin_password,
            args.admin_password_file,
        )?;
        let metrics_token = parse::secret_setting(
            "LMNOP_METRICS_TOKEN",
            args.metrics_token,
            args.metrics_token_file,
        )?;
        let deploy_branch = parse::deploy_branch(args.deploy_branch)?;
        if args.header_timeout == 0 || args.max_connections == 0 {
            return Err(ConfigError::Invalid {
                setting: if args.header_timeout == 0 {
                    "LMNOP_HEADER_TIMEOUT"
                } else {
                    "LMNOP_MAX_CONNECTIONS"
                },
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(Self {
            function_subnets: args.function_subnets,
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            max_connections: args.max_connections,
            metrics_token,
            listen: args.listen,
            data_dir: store.data_dir,
            database: store.database,
            docker_host,
            runtime,
            admin_password,
            public_url: args
                .public_url
                .map(|url| url.trim_end_matches('/').to_owned()),
            apps_domain: args
                .apps_domain
                .map(|domain| domain.trim_matches('.').to_ascii_lowercase()),
            deploy_branch,
            templates_dir: args.templates_dir.unwrap_or_else(defaults::templates_dir),
            max_push_bytes: args.max_push_size,
            build_args: args.build_args,
            build_ca: args
                .build_ca_file
                .map(|path| CaCertificates::read(&path))
                .transpose()?,
            hook_binary: defaults::hook_binary(),
        })
    }
}

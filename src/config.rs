//! Settings: every one is an `LMNOP_*` environment variable and a flag, read once at start and
//! passed in. Secrets may come from a file (`…_FILE`) and are held as [`Secret`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::domain::Secret;
use crate::store::DataDir;

/// Where lmnop keeps its state: needed by every command.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Directory for bare repositories, the SQLite database and secrets.
    #[arg(long, env = "LMNOP_DATA_DIR", default_value = "./lmnop-data")]
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
    #[arg(long, env = "LMNOP_RUNTIME", value_enum, default_value_t = RuntimeKind::Docker)]
    pub runtime: RuntimeKind,

    /// The Docker engine that builds images (and, with the docker runtime, runs functions):
    /// `unix:///PATH`, `tcp://HOST:PORT` or `http://HOST:PORT`.
    #[arg(long, env = "DOCKER_HOST", default_value = crate::engine::DockerHost::LOCAL_SOCKET)]
    pub docker_host: String,

    /// OpenFaaS gateway URL, e.g. `http://gateway:8080` (with `--runtime openfaas`).
    #[arg(long, env = "LMNOP_GATEWAY_URL")]
    pub gateway_url: Option<String>,

    /// OpenFaaS gateway user for basic auth.
    #[arg(long, env = "LMNOP_GATEWAY_USER", default_value = "admin")]
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
    #[arg(long, env = "LMNOP_LISTEN", default_value = "0.0.0.0:8000")]
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

    /// The URL people reach lmnop at, used in links printed to `git push` and in the portal.
    /// Default: `http://HOSTNAME:PORT` from the listen address.
    #[arg(long, env = "LMNOP_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Serve function NAME at `NAME.<domain>` as well as at `/function/NAME`.
    #[arg(long, env = "LMNOP_APPS_DOMAIN")]
    pub apps_domain: Option<String>,

    /// The branch whose pushes deploy.
    #[arg(long, env = "LMNOP_DEPLOY_BRANCH", default_value = "main")]
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
    #[arg(long, env = "LMNOP_MAX_PUSH_SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_push_size: u64,
}

/// Operator build options: `(template or all, NAME, VALUE)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildArgs(pub Vec<(Option<String>, String, String)>);

impl BuildArgs {
    /// The options that apply to `template`, template-specific ones last so they win.
    pub fn for_template(&self, template: &str) -> Vec<(String, String)> {
        let general = self.0.iter().filter(|(t, _, _)| t.is_none());
        let specific = self
            .0
            .iter()
            .filter(|(t, _, _)| t.as_deref() == Some(template));
        general
            .chain(specific)
            .map(|(_, name, value)| (name.clone(), value.clone()))
            .collect()
    }
}

/// `NAME=VALUE,python3.12.NAME=VALUE` → [`BuildArgs`].
pub fn parse_build_args(text: &str) -> Result<BuildArgs, String> {
    let mut args = Vec::new();
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not NAME=VALUE"))?;
        let (template, name) = match key.rsplit_once('.') {
            Some((template, name)) => (Some(template.to_owned()), name),
            None => (None, key),
        };
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!("{name:?} is not an option name (A-Z, 0-9, _)"));
        }
        args.push((template, name.to_owned(), value.to_owned()));
    }
    Ok(BuildArgs(args))
}

/// `1024`, `64K`, `512M`, `2G` → bytes (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 10),
        Some((i, 'm' | 'M')) => (&text[..i], 20),
        Some((i, 'g' | 'G')) => (&text[..i], 30),
        _ => (text, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a size like 1048576, 512M or 2G"))
}

/// Where functions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    Docker,
    #[value(name = "openfaas")]
    OpenFaas,
}

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

/// The database to use.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret,
}

impl DatabaseConfig {
    /// SQLite in the data directory: the embedded default. The URL names the file under the
    /// directory as the operator wrote it, so messages show what they typed.
    pub fn sqlite_in(data_dir: &DataDir) -> Self {
        let path = data_dir.shown(&data_dir.database_file());
        Self {
            url: Secret::new(format!("sqlite://{}", encode_path(&path))),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.expose().starts_with("sqlite:")
    }

    /// The URL with any password replaced, for messages.
    pub fn display_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// An OpenFaaS gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub url: String,
    pub user: String,
    pub password: Option<Secret>,
}

/// An image registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `HOST[:PORT][/PREFIX]`
    pub address: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub insecure: bool,
}

impl RegistryConfig {
    /// The registry's host and port, without the prefix.
    pub fn host(&self) -> &str {
        self.address.split('/').next().unwrap_or(&self.address)
    }

    /// The base URL of the registry's HTTP API.
    pub fn api_base(&self) -> String {
        let host = self.host();
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let loopback = name == "localhost" || name.starts_with("127.") || name == "[::1]";
        let scheme = if self.insecure || loopback {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }
}

/// Where functions run and where images go, resolved. Only legal combinations exist: the
/// OpenFaaS runtime needs a gateway and a registry the cluster can pull from.
#[derive(Debug, Clone)]
pub enum RuntimeConfig {
    /// Containers on the local engine; images are pushed to a registry only when one is set.
    Docker { registry: Option<RegistryConfig> },
    /// Functions deployed through an OpenFaaS gateway, images pulled from `registry`.
    OpenFaas {
        gateway: GatewayConfig,
        registry: RegistryConfig,
    },
}

impl RuntimeConfig {
    /// The registry images are pushed to, if any.
    pub fn registry(&self) -> Option<&RegistryConfig> {
        match self {
            Self::Docker { registry } => registry.as_ref(),
            Self::OpenFaas { registry, .. } => Some(registry),
        }
    }

    /// The OpenFaaS gateway, with the openfaas runtime.
    pub fn gateway(&self) -> Option<&GatewayConfig> {
        match self {
            Self::Docker { .. } => None,
            Self::OpenFaas { gateway, .. } => Some(gateway),
        }
    }

    /// Sets the registry images are pushed to (tests and embedders).
    pub fn set_registry(&mut self, new: RegistryConfig) {
        match self {
            Self::Docker { registry } => *registry = Some(new),
            Self::OpenFaas { registry, .. } => *registry = new,
        }
    }
}

/// Everything `lmnop serve` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: DataDir,
    pub database: DatabaseConfig,
    /// The engine that builds images.
    pub docker_host: crate::engine::DockerHost,
    pub runtime: RuntimeConfig,
    pub admin_password: Option<Secret>,
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

    /// Defaults for everything but the data directory: SQLite inside it, local Docker, no
    /// registry, listening on an ephemeral loopback port. Tests and embedders start here.
    pub fn with_data_dir(data_dir: DataDir) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DatabaseConfig::sqlite_in(&data_dir),
            data_dir,
            docker_host: crate::engine::DockerHost::default(),
            runtime: RuntimeConfig::Docker { registry: None },
            admin_password: None,
            public_url: None,
            apps_domain: None,
            deploy_branch: "main".to_owned(),
            templates_dir: default_templates_dir(),
            max_push_bytes: 1 << 30,
            build_args: BuildArgs::default(),
            build_ca: None,
            hook_binary: current_binary(),
        }
    }

    pub fn from_serve_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let store = StoreConfig::from_args(args.store)?;
        let docker_host = crate::engine::DockerHost::new(Some(args.runtime.docker_host.clone()));
        let runtime = RuntimeConfig::from_args(args.runtime)?;
        if let RuntimeConfig::OpenFaas { .. } = runtime {
            // Accepting it and running Docker containers instead would mislead the operator.
            return Err(ConfigError::Invalid {
                setting: "LMNOP_RUNTIME",
                reason: "the openfaas runtime is not available in this version of lmnop; \
                         unset LMNOP_RUNTIME (or set it to docker) to run functions on the \
                         local Docker engine"
                    .to_owned(),
            });
        }
        let admin_password = secret_setting(
            "LMNOP_ADMIN_PASSWORD",
            args.admin_password,
            args.admin_password_file,
        )?;
        if args.deploy_branch.is_empty()
            || args.deploy_branch.starts_with('-')
            || args
                .deploy_branch
                .contains(['/', ' ', '\\', ':', '~', '^', '?', '*', '['])
        {
            return Err(ConfigError::Invalid {
                setting: "LMNOP_DEPLOY_BRANCH",
                reason: format!(
                    "{:?} is not a plain branch name (like `main`)",
                    args.deploy_branch
                ),
            });
        }
        Ok(Self {
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
            deploy_branch: args.deploy_branch,
            templates_dir: args.templates_dir.unwrap_or_else(default_templates_dir),
            max_push_bytes: args.max_push_size,
            build_args: args.build_args,
            build_ca: args
                .build_ca_file
                .map(|path| CaCertificates::read(&path))
                .transpose()?,
            hook_binary: current_binary(),
        })
    }
}

/// CA certificates (PEM) that builds trust, read once when lmnop starts: a push never touches
/// the file, and a missing or unreadable one stops `serve` with the setting's name.
#[derive(Debug, Clone)]
pub struct CaCertificates {
    path: PathBuf,
    pem: std::sync::Arc<[u8]>,
}

impl CaCertificates {
    /// Reads the file named by `LMNOP_BUILD_CA_FILE`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let setting = "LMNOP_BUILD_CA_FILE";
        let pem = std::fs::read(path).map_err(|error| ConfigError::ReadFile {
            setting,
            path: path.to_owned(),
            error,
        })?;
        if !pem.windows(11).any(|window| window == b"-----BEGIN ") {
            return Err(ConfigError::Invalid {
                setting,
                reason: format!(
                    "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    path.display()
                ),
            });
        }
        Ok(Self {
            path: path.to_owned(),
            pem: pem.into(),
        })
    }

    /// Where the certificates were read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The certificates, as read.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

/// Data directory and database, resolved.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub data_dir: DataDir,
    pub database: DatabaseConfig,
}

impl StoreConfig {
    pub fn from_args(args: StoreArgs) -> Result<Self, ConfigError> {
        let data_dir = DataDir::new(&args.data_dir).map_err(|error| ConfigError::Invalid {
            setting: "LMNOP_DATA_DIR",
            reason: format!("cannot make {:?} absolute: {error}", args.data_dir),
        })?;
        let url = secret_setting(
            "LMNOP_DATABASE_URL",
            args.database_url,
            args.database_url_file,
        )?;
        let database = match url {
            None => DatabaseConfig::sqlite_in(&data_dir),
            Some(url) => {
                let text = url.expose();
                if !(text.starts_with("sqlite:")
                    || text.starts_with("postgres://")
                    || text.starts_with("postgresql://"))
                {
                    return Err(ConfigError::Invalid {
                        setting: "LMNOP_DATABASE_URL",
                        reason: format!(
                            "{} is neither `sqlite://PATH` nor `postgres://USER:PASSWORD@HOST/DB`",
                            redact_url(text)
                        ),
                    });
                }
                DatabaseConfig { url }
            }
        };
        Ok(Self { data_dir, database })
    }
}

impl RuntimeConfig {
    pub fn from_args(args: RuntimeArgs) -> Result<Self, ConfigError> {
        let registry_password = secret_setting(
            "LMNOP_REGISTRY_PASSWORD",
            args.registry_password,
            args.registry_password_file,
        )?;
        let registry = args.registry.map(|address| RegistryConfig {
            address: address.trim_end_matches('/').to_owned(),
            user: args.registry_user,
            password: registry_password,
            insecure: args.registry_insecure,
        });
        match args.runtime {
            RuntimeKind::Docker => Ok(Self::Docker { registry }),
            RuntimeKind::OpenFaas => {
                let url = args.gateway_url.ok_or_else(|| ConfigError::Invalid {
                    setting: "LMNOP_GATEWAY_URL",
                    reason: "the openfaas runtime needs the gateway's URL, e.g. \
                             LMNOP_GATEWAY_URL=http://gateway:8080"
                        .to_owned(),
                })?;
                let registry = registry.ok_or_else(|| ConfigError::Invalid {
                    setting: "LMNOP_REGISTRY",
                    reason: "the openfaas runtime needs a registry the cluster can pull images \
                             from, e.g. LMNOP_REGISTRY=registry.example.com/functions"
                        .to_owned(),
                })?;
                let password = secret_setting(
                    "LMNOP_GATEWAY_PASSWORD",
                    args.gateway_password,
                    args.gateway_password_file,
                )?;
                Ok(Self::OpenFaas {
                    gateway: GatewayConfig {
                        url: url.trim_end_matches('/').to_owned(),
                        user: args.gateway_user,
                        password,
                    },
                    registry,
                })
            }
        }
    }
}

/// A secret given directly or as a file; a file's trailing newline is dropped.
fn secret_setting(
    setting: &'static str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Option<Secret>, ConfigError> {
    let value = match (value, file) {
        (Some(value), _) => value,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile {
                setting,
                path,
                error: source,
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, None) => return Ok(None),
    };
    if value.is_empty() {
        return Err(ConfigError::Empty { setting });
    }
    Ok(Some(Secret::new(value)))
}

/// `function-templates/` next to the binary's crate when run from a checkout, else beside the
/// current directory.
fn default_templates_dir() -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("function-templates");
    if shipped.is_dir() {
        shipped
    } else {
        PathBuf::from("function-templates")
    }
}

/// The running executable, for the hook to call back.
fn current_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lmnop"))
}

/// Percent-encodes the few characters that would end a path inside a URL.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `scheme://user:password@host/…` → `scheme://user@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_urls() {
        assert_eq!(
            redact_url("postgres://lmnop:s3cret@db:5432/lmnop"),
            "postgres://lmnop@db:5432/lmnop"
        );
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn loopback_registries_speak_http() {
        let registry = |address: &str| RegistryConfig {
            address: address.to_owned(),
            user: None,
            password: None,
            insecure: false,
        };
        assert_eq!(
            registry("127.0.0.1:5000/fns").api_base(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            registry("localhost:5000").api_base(),
            "http://localhost:5000"
        );
        assert_eq!(
            registry("registry.example.com/x").api_base(),
            "https://registry.example.com"
        );
    }

    #[test]
    fn build_args_apply_per_template() {
        let args = parse_build_args("BASE_IMAGE=a, python3.12.BASE_IMAGE=b,X=1").expect("valid");
        assert_eq!(
            args.for_template("python3.12"),
            [
                ("BASE_IMAGE".to_owned(), "a".to_owned()),
                ("X".to_owned(), "1".to_owned()),
                ("BASE_IMAGE".to_owned(), "b".to_owned())
            ]
        );
        assert_eq!(args.for_template("static").len(), 2);
        assert!(parse_build_args("nope").is_err());
        assert!(parse_build_args("lower=x").is_err());
        assert_eq!(parse_build_args("").expect("empty"), BuildArgs::default());
    }

    #[test]
    fn sizes_take_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn sqlite_urls_escape_special_characters() {
        let data_dir = DataDir::new("/tmp/a b?c").expect("absolute");
        let config = DatabaseConfig::sqlite_in(&data_dir);
        assert_eq!(config.url.expose(), "sqlite:///tmp/a%20b%3Fc/lmnop.db");
    }
}

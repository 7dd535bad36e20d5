//! `lmnop doctor`: checks each part lmnop depends on and says, per part, what is wrong and what
//! to do about it.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::config::{GatewayConfig, RegistryConfig, RuntimeConfig, StoreConfig};
use crate::db::Db;
use crate::engine::DockerHost;
use crate::store::DataDir;

const TIMEOUT: Duration = Duration::from_secs(5);

/// The verdict on one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    /// Works, but should be fixed; does not fail the run.
    Warning {
        problem: String,
        fix: String,
    },
    Failed {
        problem: String,
        fix: String,
    },
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub part: &'static str,
    pub outcome: Outcome,
}

impl Check {
    fn ok(part: &'static str, detail: impl Into<String>) -> Self {
        Self {
            part,
            outcome: Outcome::Ok(detail.into()),
        }
    }

    fn failed(part: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            part,
            outcome: Outcome::Failed {
                problem: problem.into(),
                fix: fix.into(),
            },
        }
    }

    fn warned(part: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            part,
            outcome: Outcome::Warning {
                problem: problem.into(),
                fix: fix.into(),
            },
        }
    }

    pub fn passed(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed { .. })
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) => write!(f, "ok    {:<15} {detail}", self.part),
            Outcome::Warning { problem, fix } => write!(
                f,
                "WARN  {:<15} {problem}\n      {:<15} fix: {fix}",
                self.part, ""
            ),
            Outcome::Failed { problem, fix } => {
                write!(
                    f,
                    "FAIL  {:<15} {problem}\n      {:<15} fix: {fix}",
                    self.part, ""
                )
            }
        }
    }
}

/// Runs every check that applies to this configuration, in a fixed order.
pub async fn run(
    store: &StoreConfig,
    docker_host: &DockerHost,
    runtime: &RuntimeConfig,
) -> Vec<Check> {
    let mut checks = vec![
        check_data_dir(&store.data_dir),
        check_database(store).await,
        check_docker(docker_host).await,
        check_git().await,
    ];
    if let Some(registry) = runtime.registry() {
        checks.push(check_registry(registry).await);
    }
    if let Some(gateway) = runtime.gateway() {
        checks.push(check_gateway(gateway).await);
    }
    checks
}

/// The oldest git whose `reference-transaction` hook lets lmnop move traffic while git holds the
/// branch's lock.
const GIT_WITH_REFERENCE_TRANSACTION: (u32, u32) = (2, 28);

async fn check_git() -> Check {
    const PART: &str = "git";
    let program = crate::git::service::git_program();
    let output = tokio::time::timeout(
        TIMEOUT,
        tokio::process::Command::new(program)
            .arg("--version")
            .kill_on_drop(true)
            .output(),
    )
    .await;
    let version = match output {
        Ok(Ok(output)) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        }
        Ok(Ok(output)) => {
            return Check::failed(
                PART,
                format!(
                    "{} --version failed: {}",
                    program.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                "install git (2.28 or newer) on the PATH lmnop runs with",
            );
        }
        Ok(Err(error)) => {
            return Check::failed(
                PART,
                format!("cannot run {}: {error}", program.display()),
                "install git (2.28 or newer) on the PATH lmnop runs with",
            );
        }
        Err(_) => {
            return Check::failed(
                PART,
                format!("{} --version did not answer within 5 s", program.display()),
                "check the git on the PATH lmnop runs with",
            );
        }
    };
    match parse_git_version(&version) {
        Some(found) if found < GIT_WITH_REFERENCE_TRANSACTION => Check::warned(
            PART,
            format!(
                "{version} has no reference-transaction hook: a new release takes traffic only \
                 after git has moved the branch, so for a moment they disagree"
            ),
            "install git 2.28 or newer",
        ),
        _ => Check::ok(PART, format!("{version} ({})", program.display())),
    }
}

/// `(major, minor)` of `git version 2.47.3` (or `git version 2.39.2.windows.1`).
fn parse_git_version(line: &str) -> Option<(u32, u32)> {
    let mut parts = line.strip_prefix("git version ")?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The data directory or database file when others may read it, with its mode.
fn too_open(data_dir: &DataDir) -> Option<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .map(|meta| meta.permissions().mode() & 0o777)
    };
    let dir = data_dir.given().display().to_string();
    let db = data_dir.database_file();
    [
        (dir, mode(data_dir.path())),
        (db.display().to_string(), mode(&db)),
    ]
    .into_iter()
    .find_map(|(what, mode)| {
        mode.filter(|mode| mode & 0o077 != 0)
            .map(|mode| (what, mode))
    })
}

fn check_data_dir(data_dir: &DataDir) -> Check {
    const PART: &str = "data directory";
    let fix = "set LMNOP_DATA_DIR to a directory lmnop may write, or fix its permissions";
    // Messages name the directory as the operator wrote it.
    let path = data_dir.given();
    if !path.exists() {
        let parent = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        return if parent.is_dir() {
            Check::ok(PART, format!("{} (created at first start)", path.display()))
        } else {
            Check::failed(
                PART,
                format!(
                    "{} cannot be created: {} is not a directory",
                    path.display(),
                    parent.display()
                ),
                fix,
            )
        };
    }
    let probe = data_dir.doctor_probe();
    match std::fs::write(&probe, b"lmnop").and_then(|()| std::fs::remove_file(&probe)) {
        Ok(()) => match too_open(data_dir) {
            Some((what, mode)) => Check::warned(
                PART,
                format!(
                    "{what} can be read by other users (mode {mode:o}); it holds password and \
                     token hashes and secrets"
                ),
                format!(
                    "chmod -R go-rwx {} (lmnop serve makes it owner-only at start)",
                    path.display()
                ),
            ),
            None => Check::ok(PART, format!("{} (writable, owner-only)", path.display())),
        },
        Err(error) => Check::failed(
            PART,
            format!("{} is not writable: {error}", path.display()),
            fix,
        ),
    }
}

async fn check_database(store: &StoreConfig) -> Check {
    const PART: &str = "database";
    let shown = store.database.display_url();
    let default_sqlite = crate::config::DatabaseConfig::sqlite_in(&store.data_dir);
    if store.database.url.expose() == default_sqlite.url.expose()
        && !store.data_dir.database_file().exists()
    {
        return Check::ok(PART, format!("{shown} (created at first start)"));
    }
    let connected = tokio::time::timeout(TIMEOUT * 2, Db::connect(&store.database)).await;
    let db = match connected {
        Ok(Ok(db)) => db,
        Ok(Err(error)) => {
            return Check::failed(
                PART,
                error.to_string(),
                "start the database server, or fix LMNOP_DATABASE_URL",
            );
        }
        Err(_) => {
            return Check::failed(
                PART,
                format!("{shown} did not answer within {}s", (TIMEOUT * 2).as_secs()),
                "start the database server, or fix LMNOP_DATABASE_URL",
            );
        }
    };
    let known = db
        .migrator()
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count();
    let applied = match applied_migrations(&db).await {
        Ok(applied) => applied,
        Err(error) => {
            return Check::failed(
                PART,
                format!("{shown}: {error}"),
                "check the database user's rights",
            );
        }
    };
    db.close().await;
    if applied < known {
        Check::failed(
            PART,
            format!("{shown}: {applied} of {known} migrations applied"),
            "run `lmnop migrate` (serve also migrates at start)",
        )
    } else {
        Check::ok(PART, format!("{shown}, schema up to date"))
    }
}

async fn applied_migrations(db: &Db) -> Result<usize, sqlx::Error> {
    use sqlx::Row;
    let exists = match db.backend() {
        crate::db::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        crate::db::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_name = '_sqlx_migrations'"
        }
    };
    let tables: i64 = sqlx::query(exists)
        .fetch_one(db.reader())
        .await?
        .try_get("n")?;
    if tables == 0 {
        return Ok(0);
    }
    let applied: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(db.reader())
            .await?
            .try_get("n")?;
    Ok(usize::try_from(applied).unwrap_or(0))
}

async fn check_docker(host: &DockerHost) -> Check {
    const PART: &str = "docker engine";
    let fix = "start the Docker engine (`dockerd`, or `systemctl start docker`) or point DOCKER_HOST at it";
    let docker = match host.connect() {
        Ok(docker) => docker,
        Err(error) => return Check::failed(PART, format!("{host}: {error}"), fix),
    };
    let answered = tokio::time::timeout(TIMEOUT, async {
        let docker = docker.negotiate_version().await?;
        docker.version().await
    })
    .await;
    match answered {
        Ok(Ok(version)) => Check::ok(
            PART,
            format!(
                "{host}, Docker {} (API {})",
                version.version.unwrap_or_default(),
                version.api_version.unwrap_or_default()
            ),
        ),
        Ok(Err(error)) => Check::failed(PART, format!("cannot reach {host}: {error}"), fix),
        Err(_) => Check::failed(
            PART,
            format!("{host} did not answer within {}s", TIMEOUT.as_secs()),
            fix,
        ),
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("a client with a timeout builds")
}

async fn check_registry(registry: &RegistryConfig) -> Check {
    const PART: &str = "registry";
    let url = format!("{}/v2/", registry.api_base());
    let mut request = http_client().get(&url);
    if let Some(user) = &registry.user {
        request = request.basic_auth(user, registry.password.as_ref().map(|p| p.expose()));
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            Check::ok(PART, format!("{} ({url} answers)", registry.address))
        }
        Ok(response) if response.status() == reqwest::StatusCode::UNAUTHORIZED => Check::failed(
            PART,
            format!("{url} refused the credentials (401)"),
            "set LMNOP_REGISTRY_USER and LMNOP_REGISTRY_PASSWORD (or …_FILE)",
        ),
        Ok(response) => Check::failed(
            PART,
            format!("{url} answered {}", response.status()),
            "check that LMNOP_REGISTRY names a Docker registry (HOST:PORT/PREFIX)",
        ),
        Err(error) => Check::failed(
            PART,
            format!("cannot reach {url}: {}", error_chain(&error)),
            "start the registry or fix LMNOP_REGISTRY (LMNOP_REGISTRY_INSECURE for plain HTTP)",
        ),
    }
}

/// The gateway answers with these credentials (`/system/info`: provider and versions), and its
/// list of functions answers (it needs Prometheus once a function exists).
async fn check_gateway(config: &GatewayConfig) -> Check {
    use crate::runtime::openfaas::gateway::{Gateway, GatewayError};
    const PART: &str = "gateway";
    let gateway = Gateway::new(config.clone());
    let info = match gateway.info().await {
        Ok(info) => info,
        Err(error) => {
            let hint = match error {
                GatewayError::Unauthorized => {
                    "set LMNOP_GATEWAY_USER and LMNOP_GATEWAY_PASSWORD (or …_FILE)"
                }
                GatewayError::Unreachable { .. } | GatewayError::Timeout { .. } => {
                    "start the gateway or fix LMNOP_GATEWAY_URL"
                }
                _ => "check that LMNOP_GATEWAY_URL is the OpenFaaS gateway",
            };
            return Check::failed(PART, error.to_string(), hint);
        }
    };
    let text = |pointer: &str| info.pointer(pointer).and_then(|value| value.as_str());
    let provider = format!(
        "gateway {} with {} {} ({})",
        text("/version/release").unwrap_or("of unknown version"),
        text("/provider/provider").unwrap_or("an unnamed provider"),
        text("/provider/version/release").unwrap_or(""),
        text("/provider/orchestration").unwrap_or("unknown orchestration"),
    );
    match gateway.list().await {
        Ok(functions) => Check::ok(
            PART,
            format!(
                "{}: {provider}, credentials accepted, {} function(s) listed",
                config.url,
                functions.len()
            ),
        ),
        Err(error @ GatewayError::Closed { .. }) => Check::failed(
            PART,
            format!("{}: {provider}, but {error}", config.url),
            "start Prometheus where the gateway's faas_prometheus_host points",
        ),
        Err(error) => Check::failed(
            PART,
            format!("{}: {provider}, but {error}", config.url),
            "check the gateway's provider",
        ),
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::parse_git_version;

    #[test]
    fn git_versions_are_read_as_major_and_minor() {
        assert_eq!(parse_git_version("git version 2.47.3"), Some((2, 47)));
        assert_eq!(
            parse_git_version("git version 2.39.2.windows.1"),
            Some((2, 39))
        );
        assert_eq!(parse_git_version("git version 2.9.5"), Some((2, 9)));
        assert!(parse_git_version("git version 2.9.5") < Some((2, 28)));
        assert_eq!(parse_git_version("hub version 2.14.2"), None);
    }
}

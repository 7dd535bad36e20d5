//! Test helpers: per-test databases, a server on port 0, the `lmnop` binary, and the rule that
//! a part listed in `LMNOP_TEST_REQUIRE` must be there (the test fails instead of skipping).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use lmnop::app::{Application, Seams};
use lmnop::config::{Config, DatabaseConfig};
use lmnop::domain::Secret;
use lmnop::store::DataDir;
use rand::Rng;
use sqlx::migrate::MigrateDatabase;
use tempfile::TempDir;

/// Something outside the test process that some tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Docker,
    Registry,
    Chromium,
    Postgres,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Registry => "registry",
            Self::Chromium => "chromium",
            Self::Postgres => "postgres",
        }
    }
}

/// True when `part` is listed in `LMNOP_TEST_REQUIRE`.
pub fn required(part: Part) -> bool {
    std::env::var("LMNOP_TEST_REQUIRE")
        .unwrap_or_default()
        .split(',')
        .any(|listed| listed.trim() == part.name())
}

/// Whether a test may go on: true when `available`. A missing part fails the test, so a plain
/// `cargo test` never reports ok for a test that did not run; only `LMNOP_TEST_ALLOW_SKIP=1`
/// (and never for a part listed in `LMNOP_TEST_REQUIRE`) turns that into a skip, noted on
/// stderr.
pub fn need(part: Part, available: bool, why: &str) -> bool {
    if available {
        return true;
    }
    assert!(
        !required(part),
        "{} is required (LMNOP_TEST_REQUIRE) but not available: {why}",
        part.name()
    );
    assert!(
        skips_allowed(),
        "{} is not available ({why}): run ./scripts/test, which starts it, or set \
         LMNOP_TEST_ALLOW_SKIP=1 to skip the tests that need it",
        part.name()
    );
    eprintln!("skipped: {} not available ({why})", part.name());
    false
}

/// True when `LMNOP_TEST_ALLOW_SKIP=1`.
fn skips_allowed() -> bool {
    std::env::var("LMNOP_TEST_ALLOW_SKIP").is_ok_and(|value| value == "1")
}

/// Whether a Docker engine answers at DOCKER_HOST or the local socket.
pub async fn docker_available() -> bool {
    let Ok(docker) = bollard::Docker::connect_with_defaults() else {
        return false;
    };
    docker.ping().await.is_ok()
}

/// The test registry (`LMNOP_TEST_REGISTRY`, default `127.0.0.1:5000`) and whether it answers
/// `GET /v2/`.
pub async fn test_registry() -> (String, bool) {
    let address =
        std::env::var("LMNOP_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let answers = reqwest::Client::new()
        .get(format!("http://{address}/v2/"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success());
    (address, answers)
}

pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        lmnop::telemetry::init(lmnop::telemetry::LogFormat::Human, "debug");
    }
}

/// A database of its own for one test, of the backend `LMNOP_TEST_DATABASE` names. A PostgreSQL
/// database is dropped when this goes out of scope.
pub struct TestDatabase {
    pub config: DatabaseConfig,
    postgres_url: Option<String>,
}

impl TestDatabase {
    pub fn is_postgres() -> bool {
        std::env::var("LMNOP_TEST_DATABASE").is_ok_and(|value| value == "postgres")
    }

    /// A fresh database: SQLite at the default place inside `data_dir`, or a new PostgreSQL
    /// database created with `LMNOP_TEST_POSTGRES_URL`'s role.
    pub async fn new(data_dir: &Path) -> Self {
        if !Self::is_postgres() {
            return Self {
                config: DatabaseConfig::sqlite_in(
                    &DataDir::new(data_dir).expect("a temp dir is absolute"),
                ),
                postgres_url: None,
            };
        }
        let base = std::env::var("LMNOP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://lmnop:lmnop@127.0.0.1:5432/lmnop".to_owned());
        let (server, _) = base
            .rsplit_once('/')
            .expect("LMNOP_TEST_POSTGRES_URL ends in /DB");
        let suffix: u64 = rand::thread_rng().r#gen();
        let url = format!("{server}/lmnop_test_{suffix:x}");
        sqlx::any::install_default_drivers();
        sqlx::Any::create_database(&url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "LMNOP_TEST_DATABASE=postgres but no test database could be created with \
                     {server}: {error}"
                )
            });
        Self {
            config: DatabaseConfig {
                url: Secret::new(url.clone()),
            },
            postgres_url: Some(url),
        }
    }

    pub fn url(&self) -> &str {
        self.config.url.expose()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(url) = self.postgres_url.take() else {
            return;
        };
        // Drop runs inside the test's runtime: use a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime builds");
            runtime.block_on(sqlx::Any::force_drop_database(&url))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: a test database could not be dropped");
        }
    }
}

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A server on a free loopback port, with its own data directory and database.
pub struct TestApp {
    pub address: SocketAddr,
    _dir: TempDir,
    _db: TestDatabase,
    pub state: lmnop::app::AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    seams: Seams,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// A git URL for `repo` with credentials in it.
    pub fn git_url(&self, user: &str, password: &str, repo: &str) -> String {
        format!("http://{user}:{password}@{}/scm/{repo}", self.address)
    }

    /// The admin's git URL for `repo`.
    pub fn admin_url(&self, repo: &str) -> String {
        self.git_url("admin", ADMIN_PASSWORD, repo)
    }

    /// The data directory's repositories folder.
    pub fn repos_dir(&self) -> PathBuf {
        self.state.config.data_dir.repos()
    }

    /// Creates a member account.
    pub async fn add_user(&self, name: &str, password: &str) -> lmnop::db::users::User {
        self.state
            .accounts
            .create_user(
                name,
                &Secret::new(password),
                lmnop::db::users::Role::Member,
                &lmnop::accounts::Actor::cli(),
            )
            .await
            .expect("create user")
    }

    /// `GET /api/v1/functions/NAME` as the admin: the function with its releases (newest
    /// first), or `None` when there is no such function.
    pub async fn function_detail(&self, name: &str) -> Option<serde_json::Value> {
        function_detail_at(&self.url(""), name).await
    }

    /// The function's releases as the API shows them, newest first; none when there is no such
    /// function.
    pub async fn releases(&self, name: &str) -> Vec<serde_json::Value> {
        releases_at(&self.url(""), name).await
    }

    /// `GET /api/v1/functions/NAME/releases/N/log` as the admin: the release's whole log.
    pub async fn release_log(&self, name: &str, number: i64) -> String {
        release_log_at(&self.url(""), name, number).await
    }

    /// Stops the server and starts a new one on the same data directory and database (a new
    /// port), as an operator's restart would.
    /// Successful `GET …/info/refs` answers so far, from `/metrics`: a push has read the refs
    /// once this grows.
    pub async fn ref_advertisements(&self) -> u64 {
        let metrics = reqwest::get(self.url("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        metrics
            .lines()
            .filter(|line| {
                line.starts_with("lmnop_http_requests_total")
                    && line.contains("route=\"/scm/{repo}/info/refs\"")
                    && line.contains("status=\"200\"")
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Runs `git push ARGS` from `dir` so that it is overtaken: once the push has read the refs
    /// it waits for `function`'s lock, while `git update-ref REF NEW OLD` moves the ref in the
    /// server's repository under it; returns how the push ended.
    pub async fn push_overtaken(
        &self,
        dir: &Path,
        args: &[&str],
        function: &str,
        update_ref: [&str; 3],
    ) -> crate::gitutil::GitRun {
        let seen = self.ref_advertisements().await;
        let held = self.state.push_locks.lock(function).await;
        let (dir, args) = (
            dir.to_owned(),
            args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>(),
        );
        let waiting = std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::gitutil::git(&dir, &args)
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.ref_advertisements().await == seen {
            assert!(
                std::time::Instant::now() < deadline,
                "the push never read the refs"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let repo = self.repos_dir().join(format!("{function}.git"));
        let [name, new, old] = update_ref;
        crate::gitutil::git_ok(&repo, &["update-ref", name, new, old]);
        drop(held);
        waiting.join().expect("the push thread")
    }

    /// The `lmnop` command on this server's data directory and database.
    pub fn lmnop(&self) -> Command {
        lmnop_with(self.state.config.data_dir.path(), &self._db)
    }

    pub async fn restart(self) -> TestApp {
        let TestApp {
            _dir: dir,
            _db: db,
            state,
            shutdown,
            task,
            seams,
            ..
        } = self;
        if let Some(shutdown) = shutdown {
            let _ = shutdown.send(());
        }
        if let Some(task) = task {
            task.await.expect("server task").expect("server ran");
        }
        let mut config = (*state.config).clone();
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        start(config, dir, db, seams).await
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
    }
}

/// A GET of lmnop's JSON API as the admin on the server at `base` (`http://HOST:PORT`):
/// (status, body). Panics when the server does not answer.
async fn admin_get(base: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap_or_else(|error| panic!("the API answers GET {path}: {error}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// [`TestApp::function_detail`] of the server at `base`, for a server that is not a
/// [`TestApp`] (an `lmnop serve` process).
pub async fn function_detail_at(base: &str, name: &str) -> Option<serde_json::Value> {
    let (status, body) = admin_get(base, &format!("/api/v1/functions/{name}")).await;
    match status {
        200 => Some(serde_json::from_str(&body).expect("the function is JSON")),
        404 => None,
        _ => panic!("GET /api/v1/functions/{name} answered {status}: {body}"),
    }
}

/// [`TestApp::releases`] of the server at `base`.
pub async fn releases_at(base: &str, name: &str) -> Vec<serde_json::Value> {
    function_detail_at(base, name)
        .await
        .map(|detail| {
            detail["releases"]
                .as_array()
                .expect("the function has a list of releases")
                .clone()
        })
        .unwrap_or_default()
}

/// [`TestApp::release_log`] of the server at `base`.
pub async fn release_log_at(base: &str, name: &str, number: i64) -> String {
    let path = format!("/api/v1/functions/{name}/releases/{number}/log");
    let (status, body) = admin_get(base, &path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// (number, status) of each release, as the API shows them.
pub fn statuses(releases: &[serde_json::Value]) -> Vec<(i64, &str)> {
    releases
        .iter()
        .map(|release| {
            (
                release["number"].as_i64().expect("a release number"),
                release["status"].as_str().expect("a release status"),
            )
        })
        .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server on the fake builder and runtime: nothing touches an engine, functions answer from
/// in-process replicas.
pub async fn spawn_fake_app() -> TestApp {
    spawn_app_on(Seams::Fake, |_| {}).await
}

/// A server on the fake seams whose configuration `adjust` changes first.
pub async fn spawn_fake_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(Seams::Fake, adjust).await
}

/// A server whose configuration `adjust` changes first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(Seams::Real, adjust).await
}

async fn spawn_app_on(seams: Seams, adjust: impl FnOnce(&mut Config)) -> TestApp {
    init_logs();
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let db = TestDatabase::new(&data_dir).await;
    let mut config =
        Config::with_data_dir(DataDir::new(&data_dir).expect("a temp dir is absolute"));
    config.database = db.config.clone();
    config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    config.hook_binary = PathBuf::from(env!("CARGO_BIN_EXE_lmnop"));
    adjust(&mut config);
    start(config, dir, db, seams).await
}

async fn start(config: Config, dir: TempDir, db: TestDatabase, seams: Seams) -> TestApp {
    let app = Application::build_with(config, seams)
        .await
        .expect("the app starts");
    let address = app.local_addr();
    let state = app.state().clone();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        _dir: dir,
        _db: db,
        state,
        shutdown: Some(shutdown),
        task: Some(task),
        seams,
    }
}

/// The `lmnop` binary with a clean environment: only PATH, HOME, DOCKER_HOST and what the test
/// sets.
pub fn lmnop() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lmnop"));
    command.env_clear();
    for kept in ["PATH", "HOME", "DOCKER_HOST"] {
        if let Some(value) = std::env::var_os(kept) {
            command.env(kept, value);
        }
    }
    command
}

/// `lmnop` pointed at a data directory and a test database.
pub fn lmnop_with(data_dir: &Path, db: &TestDatabase) -> Command {
    let mut command = lmnop();
    command.env("LMNOP_DATA_DIR", data_dir);
    if TestDatabase::is_postgres() {
        command.env("LMNOP_DATABASE_URL", db.url());
    }
    command
}

/// A scratch directory and a database for black-box command tests.
pub struct Workspace {
    pub dir: TempDir,
    pub db: TestDatabase,
}

impl Workspace {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = TestDatabase::new(&dir.path().join("data")).await;
        Self { dir, db }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn lmnop(&self) -> Command {
        lmnop_with(&self.data_dir(), &self.db)
    }
}

/// Runs a command with `stdin` as its input; returns (exit code, stdout, stderr).
pub fn run(command: &mut Command, stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lmnop starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts input");
    let output = child.wait_with_output().expect("lmnop finishes");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A free port on loopback (bound, then released for a child process to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Sends `request` as it is (no client library tidying it) to `address` and reads the answer
/// to its end; returns the status (0 if none came) and the body.
pub fn raw_http(address: SocketAddr, request: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_owned());
    (status, body)
}

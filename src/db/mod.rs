//! The database: SQLite (embedded default) or PostgreSQL behind one pool type, the schema's
//! migrations, and one module per table group.
//!
//! Queries are written once in the SQL both backends understand (`$1` parameters, integer
//! timestamps). SQLite allows one writer at a time, so writes go through a single-connection
//! pool and never meet "database is locked"; reads use a wider pool.

pub mod audit;
pub mod functions;
pub mod releases;
pub mod secrets;
pub mod sessions;
pub mod tokens;
pub mod users;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::config::DatabaseConfig;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long to keep trying to reach the database before giving up with an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which database engine is behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database at {url}: {error}")]
    Connect { url: String, error: sqlx::Error },
    #[error("cannot apply database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(error: sqlx::Error) -> Self {
        Self::Query(error)
    }
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        Self::Migrate(error)
    }
}

/// Connection pools to the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    backend: Backend,
    /// Where it is, without credentials, for messages.
    location: String,
}

impl Db {
    /// Connects (creating an SQLite file when missing) without touching the schema.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, DbError> {
        install_default_drivers();
        let connect_error = |source| DbError::Connect {
            url: config.display_url(),
            error: source,
        };
        if config.is_sqlite() {
            let url = with_create_mode(config.url.expose());
            let write = sqlite_options(1)
                .connect(&url)
                .await
                .map_err(connect_error)?;
            let read = sqlite_options(8)
                .connect(&url)
                .await
                .map_err(connect_error)?;
            Ok(Self {
                read,
                write,
                backend: Backend::Sqlite,
                location: config.display_url(),
            })
        } else {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect(config.url.expose())
                .await
                .map_err(connect_error)?;
            Ok(Self {
                read: pool.clone(),
                write: pool,
                backend: Backend::Postgres,
                location: config.display_url(),
            })
        }
    }

    /// Connects and brings the schema up to date.
    pub async fn open(config: &DatabaseConfig) -> Result<Self, DbError> {
        let db = Self::connect(config).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.migrator().run(&self.write).await?;
        Ok(())
    }

    /// Reverts every migration down to (and excluding) `target`; `0` empties the schema.
    pub async fn undo_migrations(&self, target: i64) -> Result<(), DbError> {
        self.migrator().undo(&self.write, target).await?;
        Ok(())
    }

    /// The migrations this binary knows for this backend.
    pub fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Pool for queries that only read.
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Pool for statements that write; with SQLite it has exactly one connection.
    pub fn writer(&self) -> &AnyPool {
        &self.write
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `error` as a person reads it: that the database does not answer, and where it is.
    pub fn describe(&self, error: &sqlx::Error) -> String {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                format!(
                    "the database at {} does not answer ({error})",
                    self.location
                )
            }
            other => format!("the database at {} refused it: {other}", self.location),
        }
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn sqlite_options(max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL lets readers go on while the one writer writes; the busy timeout covers
                // other processes (`lmnop user add` beside a running server).
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = NORMAL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        })
}

/// Adds `mode=rwc` so a missing SQLite file is created, unless the URL chose a mode.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Seconds since the Unix epoch: how every timestamp is stored.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// True when `error` is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

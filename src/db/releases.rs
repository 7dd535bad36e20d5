//! The `releases` table: every deploy attempt of a function, numbered v1, v2, … with its commit,
//! image, resolved config, who pushed, step timings, status, error and full build log.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, unix_now};
use crate::spec::FunctionSpec;

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStatus {
    Building,
    Deploying,
    Deployed,
    Failed,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Building => "building",
            Self::Deploying => "deploying",
            Self::Deployed => "deployed",
            Self::Failed => "failed",
        }
    }

    fn from_db(text: &str) -> Result<Self, sqlx::Error> {
        match text {
            "building" => Ok(Self::Building),
            "deploying" => Ok(Self::Deploying),
            "deployed" => Ok(Self::Deployed),
            "failed" => Ok(Self::Failed),
            other => Err(sqlx::Error::Decode(
                format!("unknown release status {other:?}").into(),
            )),
        }
    }
}

/// A release as stored (the build log is read separately: it can be large).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub id: i64,
    pub function_id: i64,
    pub number: i64,
    pub commit_id: String,
    pub image: Option<String>,
    /// `sha256:…` of the manifest in the registry, when the image was pushed to one.
    pub digest: Option<String>,
    /// The function.yml it was built and runs with, as checked at push time.
    pub config: FunctionSpec,
    pub status: ReleaseStatus,
    pub pusher_id: Option<i64>,
    pub timings: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// The number of the release this one rolled back to (it runs that release's image).
    pub rollback_of: Option<i64>,
}

const COLUMNS: &str = "id, function_id, number, commit_id, image, digest, config, status, \
                       pusher_id, timings, error, created_at, finished_at, rollback_of";

fn from_row(row: &AnyRow) -> Result<Release, sqlx::Error> {
    Ok(Release {
        id: row.try_get("id")?,
        function_id: row.try_get("function_id")?,
        number: row.try_get("number")?,
        commit_id: row.try_get("commit_id")?,
        image: row.try_get("image")?,
        digest: row.try_get("digest")?,
        config: FunctionSpec::from_record(row.try_get("config")?)
            .map_err(|error| sqlx::Error::Decode(error.into()))?,
        status: ReleaseStatus::from_db(row.try_get("status")?)?,
        pusher_id: row.try_get("pusher_id")?,
        timings: row.try_get("timings")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        rollback_of: row.try_get("rollback_of")?,
    })
}

/// Starts the next release of a function (numbers are per function, from 1).
pub async fn start(
    db: &Db,
    function_id: i64,
    commit_id: &str,
    pusher_id: i64,
    config: &FunctionSpec,
) -> Result<Release, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO releases (function_id, number, commit_id, config, status, pusher_id, created_at) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, 'building', $4, $5 \
         FROM releases WHERE function_id = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(function_id)
    .bind(commit_id)
    .bind(config.to_record())
    .bind(pusher_id)
    .bind(unix_now())
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

/// Starts the next release of a function as a rollback to `of`: its commit, config, image and
/// digest, `deploying` at once (there is nothing to build).
pub async fn start_rollback(db: &Db, of: &Release, pusher_id: i64) -> Result<Release, sqlx::Error> {
    let row = sqlx::query(&format!(
        "INSERT INTO releases (function_id, number, commit_id, image, digest, config, status, \
         pusher_id, created_at, rollback_of) \
         SELECT $1, COALESCE(MAX(number), 0) + 1, $2, $3, $4, $5, 'deploying', $6, $7, $8 \
         FROM releases WHERE function_id = $1 \
         RETURNING {COLUMNS}"
    ))
    .bind(of.function_id)
    .bind(&of.commit_id)
    .bind(&of.image)
    .bind(&of.digest)
    .bind(of.config.to_record())
    .bind(pusher_id)
    .bind(unix_now())
    .bind(of.number)
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

/// Records the image and moves the release to `deploying`.
pub async fn set_image(db: &Db, id: i64, image: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE releases SET image = $1, status = 'deploying' WHERE id = $2")
        .bind(image)
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Records the digest the registry gave the release's image.
pub async fn set_digest(db: &Db, id: i64, digest: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE releases SET digest = $1 WHERE id = $2")
        .bind(digest)
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// How a release ended.
/// Keeps the timings and log of a release that is staged and waits for git; also how a push
/// learns, before git updates the branch, that the database answers.
pub async fn staged(db: &Db, id: i64, timings: &str, build_log: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE releases SET status = 'deploying', timings = $1, build_log = $2 WHERE id = $3",
    )
    .bind(timings)
    .bind(build_log)
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Outcome<'a> {
    pub status: ReleaseStatus,
    pub error: Option<&'a str>,
    pub timings: &'a str,
    pub build_log: &'a str,
}

/// Ends a release; a deployed one becomes its function's current release, in one transaction.
pub async fn finish(db: &Db, release: &Release, outcome: &Outcome<'_>) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "UPDATE releases SET status = $1, error = $2, timings = $3, build_log = $4, finished_at = $5 \
         WHERE id = $6",
    )
    .bind(outcome.status.as_str())
    .bind(outcome.error)
    .bind(outcome.timings)
    .bind(outcome.build_log)
    .bind(unix_now())
    .bind(release.id)
    .execute(&mut *tx)
    .await?;
    if outcome.status == ReleaseStatus::Deployed {
        sqlx::query("UPDATE functions SET current_release_id = $1, updated_at = $2 WHERE id = $3")
            .bind(release.id)
            .bind(unix_now())
            .bind(release.function_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Release>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM releases WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A function's releases, newest first.
pub async fn list(db: &Db, function_id: i64) -> Result<Vec<Release>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE function_id = $1 ORDER BY number DESC"
    ))
    .bind(function_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn build_log(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT build_log FROM releases WHERE id = $1")
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| row.try_get("build_log")).transpose()
}

/// A release still `building` or `deploying` becomes `failed` with `error` and the log so far
/// (a push that was cut off). True when it was unfinished.
pub async fn abandon(db: &Db, id: i64, error: &str, log: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE releases SET status = 'failed', error = $1, build_log = $2, finished_at = $3 \
         WHERE id = $4 AND status IN ('building', 'deploying')",
    )
    .bind(error)
    .bind(log)
    .bind(unix_now())
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A release that was made current but whose branch update git did not make: it becomes
/// `failed` with `error`, and the function's current release goes back to `previous` (unless
/// something else was made current since).
pub async fn revert(
    db: &Db,
    release: &Release,
    previous: Option<i64>,
    error: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query(
        "UPDATE releases SET status = 'failed', error = $1, finished_at = $2 WHERE id = $3",
    )
    .bind(error)
    .bind(unix_now())
    .bind(release.id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE functions SET current_release_id = $1, updated_at = $2 \
         WHERE id = $3 AND current_release_id = $4",
    )
    .bind(previous)
    .bind(unix_now())
    .bind(release.function_id)
    .bind(release.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Releases left `building` or `deploying` by a server that stopped mid-way become `failed`.
pub async fn fail_unfinished(db: &Db) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE releases SET status = 'failed', error = 'lmnop stopped during this release', \
         finished_at = $1 WHERE status IN ('building', 'deploying')",
    )
    .bind(unix_now())
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected())
}

/// A function and the release that should be serving it.
#[derive(Debug, Clone)]
pub struct Serving {
    pub function: String,
    /// The number of containers its owner asked for.
    pub desired_replicas: i64,
    pub release: Release,
}

/// The query of [`serving`], with `condition` on the functions table `f`.
fn serving_query(condition: &str) -> String {
    let columns = COLUMNS
        .split(", ")
        .map(|column| format!("r.{}", column.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT f.name AS function_name, f.desired_replicas, {columns} FROM functions f \
         JOIN releases r ON r.id = f.current_release_id {condition} ORDER BY f.name"
    )
}

fn serving_from_row(row: &AnyRow) -> Result<Serving, sqlx::Error> {
    Ok(Serving {
        function: row.try_get("function_name")?,
        desired_replicas: row.try_get("desired_replicas")?,
        release: from_row(row)?,
    })
}

/// Every function that has a current release, with that release.
pub async fn serving(db: &Db) -> Result<Vec<Serving>, sqlx::Error> {
    let rows = sqlx::query(&serving_query(""))
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(serving_from_row).collect()
}

/// The function's current release, if it has one.
pub async fn serving_one(db: &Db, function: &str) -> Result<Option<Serving>, sqlx::Error> {
    let row = sqlx::query(&serving_query("WHERE f.name = $1"))
        .bind(function)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(serving_from_row).transpose()
}

/// Release `number` of a function.
pub async fn find_number(
    db: &Db,
    function_id: i64,
    number: i64,
) -> Result<Option<Release>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM releases WHERE function_id = $1 AND number = $2"
    ))
    .bind(function_id)
    .bind(number)
    .fetch_optional(db.reader())
    .await?;
    row.as_ref().map(from_row).transpose()
}

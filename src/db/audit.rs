//! The `audit_log` table: who did what, from where, and when.

use sqlx::Row;

use super::{Db, unix_now};

/// One thing somebody did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who: a user name, or `cli` / `lmnop` for the operator and the server itself.
    pub actor: String,
    /// What, as `noun.verb`: `user.create`, `user.disable`, `token.create`, …
    pub action: String,
    /// What it was done to, e.g. a user or function name.
    pub target: String,
    /// From where: an IP address, or `cli`.
    pub source: String,
}

pub async fn record(db: &Db, entry: &AuditEntry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, source) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(unix_now())
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&entry.source)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The newest `limit` entries, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT actor, action, target, source FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                target: row.try_get("target")?,
                source: row.try_get("source")?,
            })
        })
        .collect()
}

/// One audit entry with its id and time, as the audit page lists them.
#[derive(Debug, Clone)]
pub struct Logged {
    pub id: i64,
    pub at: i64,
    pub entry: AuditEntry,
}

/// Entries older than `before` (an id; none: the newest), newest first, at most `limit`, whose
/// actor, action or target contains `containing` (none: all).
pub async fn page(
    db: &Db,
    containing: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Logged>, sqlx::Error> {
    // LIKE's own wildcards in the filter are matched as themselves.
    let pattern = containing.map(|text| {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let rows = sqlx::query(
        "SELECT id, at, actor, action, target, source FROM audit_log \
         WHERE ($1 IS NULL OR actor LIKE $1 ESCAPE '\\' OR action LIKE $1 ESCAPE '\\' \
                OR target LIKE $1 ESCAPE '\\') \
           AND ($2 IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3",
    )
    .bind(pattern)
    .bind(before)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Logged {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                entry: AuditEntry {
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    source: row.try_get("source")?,
                },
            })
        })
        .collect()
}

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

//! The `api_tokens` table: tokens for scripts and git, stored as SHA-256 hashes only.

use sqlx::Row;

use super::{Db, unix_now};

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

pub async fn insert(db: &Db, user_id: i64, label: &str, hash: &str) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (user_id, label, token_hash, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(label)
    .bind(hash)
    .bind(unix_now())
    .fetch_one(db.writer())
    .await?
    .try_get("id")
}

/// The id of the user who owns the token with this hash.
pub async fn owner_of(db: &Db, hash: &str) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT user_id FROM api_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| row.try_get("user_id")).transpose()
}

pub async fn list_for_user(db: &Db, user_id: i64) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, label, created_at, last_used_at FROM api_tokens \
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(TokenInfo {
                id: row.try_get("id")?,
                label: row.try_get("label")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

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

/// A token found by its hash: whose it is, and when it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub id: i64,
    pub user_id: i64,
    pub last_used_at: Option<i64>,
}

/// The token with this hash, if any.
pub async fn find_by_hash(db: &Db, hash: &str) -> Result<Option<Found>, sqlx::Error> {
    let row = sqlx::query("SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| {
        Ok(Found {
            id: row.try_get("id")?,
            user_id: row.try_get("user_id")?,
            last_used_at: row.try_get("last_used_at")?,
        })
    })
    .transpose()
}

/// Records that the token was used now.
pub async fn touch(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(unix_now())
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Deletes token `id` of `user_id`; false when the user has no such token.
pub async fn delete(db: &Db, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() > 0)
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

//! Portal sessions: stored by the SHA-256 of their cookie (the cookie alone opens one), with a
//! CSRF token, and ended at sign-out, on expiry, and when their user is disabled or changes
//! password.

use sqlx::Row;

use super::users::{User, UserState};
use super::{Db, unix_now};

/// A session, as the pages read it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
}

pub async fn create(
    db: &Db,
    id_hash: &str,
    user_id: i64,
    csrf_token: &str,
    lifetime_s: i64,
) -> Result<(), sqlx::Error> {
    let now = unix_now();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5)",
    )
    .bind(id_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(now)
    .bind(now + lifetime_s)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The session with this hash, if it has not expired and its user is active.
pub async fn find(db: &Db, id_hash: &str) -> Result<Option<Session>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.csrf_token, u.id, u.name, u.role, u.state, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2",
    )
    .bind(id_hash)
    .bind(unix_now())
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let user = super::users::from_row(&row)?;
    if user.state != UserState::Active {
        return Ok(None);
    }
    Ok(Some(Session {
        user,
        csrf_token: row.try_get("csrf_token")?,
    }))
}

pub async fn delete(db: &Db, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Ends every session of a user (disabled, or a new password), and expired ones of anybody.
pub async fn end_for_user(db: &Db, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 OR expires_at <= $2")
        .bind(user_id)
        .bind(unix_now())
        .execute(db.writer())
        .await?;
    Ok(())
}

//! The `users` table: accounts that push with git and log in to the portal.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, unix_now};
use crate::domain::UserName;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserState {
    Active,
    Disabled,
}

macro_rules! text_enum {
    ($ty:ident { $($variant:ident = $text:literal),+ }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            fn from_db(text: &str) -> Result<Self, sqlx::Error> {
                match text {
                    $($text => Ok(Self::$variant),)+
                    other => Err(sqlx::Error::Decode(
                        format!("unknown {} {other:?}", stringify!($ty)).into(),
                    )),
                }
            }
        }
    };
}

text_enum!(Role { Admin = "admin", Member = "member" });
text_enum!(UserState { Active = "active", Disabled = "disabled" });

/// A user as stored, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub state: UserState,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, role, state, created_at";

pub(super) fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::from_db(row.try_get("role")?)?,
        state: UserState::from_db(row.try_get("state")?)?,
        created_at: row.try_get("created_at")?,
    })
}

/// Adds a user; a taken name is a unique violation (see [`super::is_unique_violation`]).
pub async fn insert(
    db: &Db,
    name: &UserName,
    password_hash: &str,
    role: Role,
) -> Result<User, sqlx::Error> {
    let now = unix_now();
    let row = sqlx::query(&format!(
        "INSERT INTO users (name, password_hash, role, state, created_at, updated_at) \
         VALUES ($1, $2, $3, 'active', $4, $4) RETURNING {COLUMNS}"
    ))
    .bind(name.as_str())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .fetch_one(db.writer())
    .await?;
    from_row(&row)
}

/// A user and their password hash, for signing in.
pub async fn find_with_hash(db: &Db, name: &str) -> Result<Option<(User, String)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, password_hash FROM users WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(db.reader())
    .await?;
    row.map(|row| Ok((from_row(&row)?, row.try_get("password_hash")?)))
        .transpose()
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY name"))
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(db.reader())
        .await?
        .try_get("n")
}

/// Replaces a password hash; false when there is no such user.
pub async fn set_password_hash(db: &Db, name: &str, hash: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3")
        .bind(hash)
        .bind(unix_now())
        .bind(name)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Enables or disables a user; false when there is no such user.
pub async fn set_state(db: &Db, name: &str, state: UserState) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET state = $1, updated_at = $2 WHERE name = $3")
        .bind(state.as_str())
        .bind(unix_now())
        .bind(name)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_role(db: &Db, name: &str, role: Role) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE name = $3")
        .bind(role.as_str())
        .bind(unix_now())
        .bind(name)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() > 0)
}

//! The `functions` table: one row per function (and repository), with its owner.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, unix_now};

/// A function as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub desired_replicas: i64,
    pub current_release_id: Option<i64>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, name, owner_id, desired_replicas, current_release_id, created_at";

fn from_row(row: &AnyRow) -> Result<Function, sqlx::Error> {
    Ok(Function {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_id: row.try_get("owner_id")?,
        desired_replicas: row.try_get("desired_replicas")?,
        current_release_id: row.try_get("current_release_id")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn find(db: &Db, name: &str) -> Result<Option<Function>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM functions WHERE name = $1"))
        .bind(name)
        .fetch_optional(db.reader())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records a new function owned by `owner_id`; an existing row is left as it is.
pub async fn ensure(db: &Db, name: &str, owner_id: i64) -> Result<Function, sqlx::Error> {
    let now = unix_now();
    sqlx::query(
        "INSERT INTO functions (name, owner_id, desired_replicas, created_at, updated_at) \
         VALUES ($1, $2, 1, $3, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(owner_id)
    .bind(now)
    .execute(db.writer())
    .await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM functions WHERE name = $1"))
        .bind(name)
        .fetch_one(db.writer())
        .await?;
    from_row(&row)
}

/// Every function, by name; only those of `owner_id` when given.
pub async fn list(db: &Db, owner_id: Option<i64>) -> Result<Vec<Function>, sqlx::Error> {
    let rows = match owner_id {
        Some(owner) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM functions WHERE owner_id = $1 ORDER BY name"
            ))
            .bind(owner)
            .fetch_all(db.reader())
            .await?
        }
        None => {
            sqlx::query(&format!("SELECT {COLUMNS} FROM functions ORDER BY name"))
                .fetch_all(db.reader())
                .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Records how many containers the function's owner wants.
pub async fn set_desired_replicas(db: &Db, id: i64, replicas: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE functions SET desired_replicas = $1, updated_at = $2 WHERE id = $3")
        .bind(replicas)
        .bind(unix_now())
        .bind(id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Deletes the function named `name` when it never served (no current release), with its
/// releases: what a refused first push leaves. True when one was deleted.
pub async fn delete_if_never_deployed(db: &Db, name: &str) -> Result<bool, sqlx::Error> {
    match find(db, name).await? {
        Some(function) if function.current_release_id.is_none() => {
            delete(db, function.id).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Deletes the function and all its releases, in one transaction.
pub async fn delete(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query("UPDATE functions SET current_release_id = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM releases WHERE function_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM functions WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

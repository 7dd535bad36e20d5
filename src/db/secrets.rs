//! Who may use which secret: `secret_owners` (a secret with no row is the administrators') and
//! `secret_grants` (one more user whose functions may use it). Values are never here: they are
//! files in the secret store.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::users::{Role, User};
use super::{Db, unix_now};

/// Makes `owner` (or, with `None`, the administrators) the owner of secret `name`.
pub async fn set_owner(db: &Db, name: &str, owner: Option<i64>) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    sqlx::query("DELETE FROM secret_owners WHERE name = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    if let Some(owner) = owner {
        sqlx::query("INSERT INTO secret_owners (name, owner_id, created_at) VALUES ($1, $2, $3)")
            .bind(name)
            .bind(owner)
            .bind(unix_now())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// The owner of secret `name`: a user id, or `None` for the administrators.
pub async fn owner(db: &Db, name: &str) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query("SELECT owner_id FROM secret_owners WHERE name = $1")
        .bind(name)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| row.try_get("owner_id")).transpose()
}

/// Lets `user`'s functions use secret `name`. True when the grant is new.
pub async fn grant(db: &Db, name: &str, user: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO secret_grants (name, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name, user_id) DO NOTHING",
    )
    .bind(name)
    .bind(user)
    .bind(unix_now())
    .execute(db.writer())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes a grant back. True when there was one.
pub async fn revoke(db: &Db, name: &str, user: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM secret_grants WHERE name = $1 AND user_id = $2")
        .bind(name)
        .bind(user)
        .execute(db.writer())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets a removed secret's owner and grants.
pub async fn forget(db: &Db, name: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    for table in ["secret_owners", "secret_grants"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE name = $1"))
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Owner names (`None`: the administrators) and grantee names of every secret that has either.
pub async fn access_list(
    db: &Db,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, Vec<String>>), sqlx::Error> {
    let owners = sqlx::query(
        "SELECT s.name AS secret, u.name AS owner FROM secret_owners s \
         JOIN users u ON u.id = s.owner_id",
    )
    .fetch_all(db.reader())
    .await?
    .iter()
    .map(|row| Ok((row.try_get("secret")?, row.try_get("owner")?)))
    .collect::<Result<BTreeMap<String, String>, sqlx::Error>>()?;
    let mut grants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT g.name AS secret, u.name AS grantee FROM secret_grants g \
         JOIN users u ON u.id = g.user_id ORDER BY u.name",
    )
    .fetch_all(db.reader())
    .await?
    {
        grants
            .entry(row.try_get("secret")?)
            .or_default()
            .push(row.try_get("grantee")?);
    }
    Ok((owners, grants))
}

/// Of `names`, those the functions of `user` may use: the user's own, those granted to the
/// user, and (for an administrator) the administrators' own.
pub async fn usable_by(
    db: &Db,
    user: &User,
    names: &[String],
) -> Result<BTreeSet<String>, sqlx::Error> {
    let owners: BTreeMap<String, i64> = sqlx::query("SELECT name, owner_id FROM secret_owners")
        .fetch_all(db.reader())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("name")?, row.try_get("owner_id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let granted: BTreeSet<String> =
        sqlx::query("SELECT name FROM secret_grants WHERE user_id = $1")
            .bind(user.id)
            .fetch_all(db.reader())
            .await?
            .iter()
            .map(|row| row.try_get("name"))
            .collect::<Result<_, sqlx::Error>>()?;
    Ok(names
        .iter()
        .filter(|name| {
            granted.contains(*name)
                || match owners.get(*name) {
                    Some(owner) => *owner == user.id,
                    None => user.role == Role::Admin,
                }
        })
        .cloned()
        .collect())
}

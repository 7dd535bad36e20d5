//! The data directory (repositories, SQLite database, secrets): its layout ([`DataDir`]),
//! preparing it, and opening the database, shared by `serve` and the operator commands.

mod data_dir;

use std::path::{Path, PathBuf};

pub use data_dir::DataDir;

use crate::config::DatabaseConfig;
use crate::db::{Db, DbError};

/// Why lmnop's state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot write the data directory {path}: {error}. \
         Choose another with LMNOP_DATA_DIR (or --data-dir), or fix its permissions"
    )]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Creates the data directory and its layout, and proves it is writable.
pub fn prepare_data_dir(data_dir: &DataDir) -> Result<(), StoreError> {
    let fail = |source| StoreError::DataDir {
        path: data_dir.given().to_owned(),
        error: source,
    };
    // Owner-only: it holds password and token hashes (lmnop.db) and secrets.
    create_private_dir(data_dir.path()).map_err(fail)?;
    std::fs::create_dir_all(data_dir.repos()).map_err(fail)?;
    create_private_dir(&data_dir.secrets()).map_err(fail)?;
    restrict_file(&data_dir.database_file()).map_err(fail)?;
    let probe = data_dir.write_probe();
    std::fs::write(&probe, b"lmnop").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}

/// Makes an existing file owner-only; a missing one is fine (SQLite creates it later, inside
/// the owner-only directory).
fn restrict_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A directory only its owner can enter (secrets live there).
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Opens the database with its schema up to date. The data directory is created first only
/// when the database lives in it, so a bad PostgreSQL URL leaves nothing behind.
pub async fn open_database(
    data_dir: &DataDir,
    database: &DatabaseConfig,
) -> Result<Db, StoreError> {
    let inside = database.url.expose() == DatabaseConfig::sqlite_in(data_dir).url.expose();
    if inside {
        prepare_data_dir(data_dir)?;
    }
    let db = Db::open(database).await?;
    if inside {
        // Just created with the umask's mode, on a first start.
        restrict_file(&data_dir.database_file()).map_err(|error| StoreError::DataDir {
            path: data_dir.database_file(),
            error,
        })?;
    }
    Ok(db)
}

/// This installation's id: random, made at first start and kept in `DATA_DIR/instance-id`.
/// Containers carry it, so installations sharing a Docker engine leave each other alone.
pub fn instance_id(data_dir: &DataDir) -> Result<String, StoreError> {
    let path = data_dir.instance_id_file();
    let fail = |source| StoreError::DataDir {
        path: path.clone(),
        error: source,
    };
    match std::fs::read_to_string(&path) {
        Ok(id) if id.trim().len() >= 8 => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(fail(error)),
    }
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let id = hex::encode(bytes);
    let staging = data_dir.instance_id_staging();
    std::fs::write(&staging, &id).map_err(fail)?;
    std::fs::rename(&staging, &path).map_err(fail)?;
    Ok(id)
}

//! The data directory (repositories, SQLite database, secrets) and opening the database, shared
//! by `serve` and the operator commands.

use std::path::{Path, PathBuf};

use crate::config::DatabaseConfig;
use crate::db::{Db, DbError};

/// Why lmnop's state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot write the data directory {path}: {source}. \
         Choose another with LMNOP_DATA_DIR (or --data-dir), or fix its permissions"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Sub-directories of the data directory.
pub const REPOS_DIR: &str = "repos";
pub const SECRETS_DIR: &str = "secrets";

/// Creates the data directory and its layout, and proves it is writable.
pub fn prepare_data_dir(path: &Path) -> Result<(), StoreError> {
    let fail = |source| StoreError::DataDir {
        path: path.to_owned(),
        source,
    };
    std::fs::create_dir_all(path.join(REPOS_DIR)).map_err(fail)?;
    create_private_dir(&path.join(SECRETS_DIR)).map_err(fail)?;
    let probe = path.join(".write-test");
    std::fs::write(&probe, b"lmnop").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
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
pub async fn open_database(data_dir: &Path, database: &DatabaseConfig) -> Result<Db, StoreError> {
    if database.url.expose() == DatabaseConfig::sqlite_in(data_dir).url.expose() {
        prepare_data_dir(data_dir)?;
    }
    Ok(Db::open(database).await?)
}

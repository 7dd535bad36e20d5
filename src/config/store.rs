//! Store settings: the data directory (made absolute here, once) and the database, which
//! defaults to SQLite inside it.

use super::parse::{encode_path, redact_url, secret_setting};
use super::{ConfigError, StoreArgs};
use crate::domain::Secret;
use crate::store::DataDir;

/// The database to use.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret,
}

impl DatabaseConfig {
    /// SQLite in the data directory: the embedded default. The URL names the file under the
    /// directory as the operator wrote it, so messages show what they typed.
    pub fn sqlite_in(data_dir: &DataDir) -> Self {
        let path = data_dir.shown(&data_dir.database_file());
        Self {
            url: Secret::new(format!("sqlite://{}", encode_path(&path))),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.expose().starts_with("sqlite:")
    }

    /// The URL with any password replaced, for messages.
    pub fn display_url(&self) -> String {
        redact_url(self.url.expose())
    }
}

/// Data directory and database, resolved.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub data_dir: DataDir,
    pub database: DatabaseConfig,
}

impl StoreConfig {
    pub fn from_args(args: StoreArgs) -> Result<Self, ConfigError> {
        let data_dir = DataDir::new(&args.data_dir).map_err(|error| ConfigError::Invalid {
            setting: "LMNOP_DATA_DIR",
            reason: format!("cannot make {:?} absolute: {error}", args.data_dir),
        })?;
        let url = secret_setting(
            "LMNOP_DATABASE_URL",
            args.database_url,
            args.database_url_file,
        )?;
        let database = match url {
            None => DatabaseConfig::sqlite_in(&data_dir),
            Some(url) => {
                let text = url.expose();
                if !(text.starts_with("sqlite:")
                    || text.starts_with("postgres://")
                    || text.starts_with("postgresql://"))
                {
                    return Err(ConfigError::Invalid {
                        setting: "LMNOP_DATABASE_URL",
                        reason: format!(
                            "{} is neither `sqlite://PATH` nor `postgres://USER:PASSWORD@HOST/DB`",
                            redact_url(text)
                        ),
                    });
                }
                DatabaseConfig { url }
            }
        };
        Ok(Self { data_dir, database })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_escape_special_characters() {
        let data_dir = DataDir::new("/tmp/a b?c").expect("absolute");
        let config = DatabaseConfig::sqlite_in(&data_dir);
        assert_eq!(config.url.expose(), "sqlite:///tmp/a%20b%3Fc/lmnop.db");
    }

    #[test]
    fn the_default_database_is_named_as_the_data_dir_was_given() {
        let data_dir = DataDir::new("./data").expect("the current directory exists");
        let config = DatabaseConfig::sqlite_in(&data_dir);
        assert_eq!(config.url.expose(), "sqlite://./data/lmnop.db");
    }
}

//! `/healthz`: answers 200 while the server can reach its database.

use axum::extract::State;

use super::AppError;
use crate::db::Db;

pub async fn show_health(State(db): State<Db>) -> Result<&'static str, AppError> {
    match db.ping().await {
        Ok(()) => Ok("ok\n"),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            Err(AppError::Unavailable("database unreachable".to_owned()))
        }
    }
}

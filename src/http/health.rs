//! `/healthz`: answers 200 while the server can reach its database.

use axum::extract::State;

use super::AppError;
use crate::app::AppState;

pub async fn show_health(State(state): State<AppState>) -> Result<&'static str, AppError> {
    match state.db.ping().await {
        Ok(()) => Ok("ok\n"),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            Err(AppError::Unavailable("database unreachable".to_owned()))
        }
    }
}

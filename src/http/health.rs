//! `/healthz`: 200 `ok` while the server reaches its database and its engine; otherwise 503
//! saying which does not answer. It answers within about a second whatever is down.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use crate::app::AppState;

/// How long each part may take to answer.
pub const LIMIT: Duration = Duration::from_secs(1);

pub async fn show_health(State(state): State<AppState>) -> (StatusCode, String) {
    let (db, engine) = tokio::join!(
        tokio::time::timeout(LIMIT, state.db.ping()),
        tokio::time::timeout(LIMIT, state.runtime.ping()),
    );
    let mut down = Vec::new();
    match db {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: the database does not answer");
            down.push("database: does not answer");
        }
        Err(_) => {
            tracing::warn!("health check: the database gave no answer within {LIMIT:?}");
            down.push("database: does not answer");
        }
    }
    match engine {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: the engine does not answer");
            down.push("engine: does not answer");
        }
        Err(_) => {
            tracing::warn!("health check: the engine gave no answer within {LIMIT:?}");
            down.push("engine: does not answer");
        }
    }
    if down.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", down.join("\n")),
        )
    }
}

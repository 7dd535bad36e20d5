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
    let down: Vec<&str> = [
        (
            "database",
            db.map(|answer| answer.map_err(|e| e.to_string())),
        ),
        (
            "engine",
            engine.map(|answer| answer.map_err(|e| e.to_string())),
        ),
    ]
    .into_iter()
    .filter_map(|(part, answer)| {
        let why = match answer {
            Ok(Ok(())) => return None,
            Ok(Err(error)) => error,
            Err(_) => format!("no answer within {LIMIT:?}"),
        };
        tracing::warn!(part, why, "health check: a part does not answer");
        Some(match part {
            "database" => "database: does not answer",
            _ => "engine: does not answer",
        })
    })
    .collect();
    if down.is_empty() {
        (StatusCode::OK, "ok\n".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{}\n", down.join("\n")),
        )
    }
}

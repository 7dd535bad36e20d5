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
    let down: Vec<String> = [
        down(
            "database",
            db.map(|answer| answer.map_err(|e| e.to_string())),
        ),
        down(state.runtime.part(), engine),
    ]
    .into_iter()
    .flatten()
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

/// `part: does not answer` when `answer` is an error or came too late (the log says which).
fn down<E>(part: &str, answer: Result<Result<(), String>, E>) -> Option<String> {
    let why = match answer {
        Ok(Ok(())) => return None,
        Ok(Err(error)) => error,
        Err(_) => format!("no answer within {LIMIT:?}"),
    };
    tracing::warn!(part, why, "health check: a part does not answer");
    Some(format!("{part}: does not answer"))
}

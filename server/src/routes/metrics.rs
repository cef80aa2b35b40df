//! `GET /metrics`: Prometheus text format (see [`crate::telemetry`]).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::db;
use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::{self, Gauges};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let sent = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Compared as hashes, so the time taken says nothing of the token.
        let same = sent.is_some_and(|s| {
            use sha2::{Digest, Sha256};
            Sha256::digest(s.as_bytes()) == Sha256::digest(token.as_bytes())
        });
        if !same {
            return Err(ApiError::Unauthorized);
        }
    }
    let reachable = db::ping(&state.pool, Duration::from_secs(1)).await;
    let (rss_bytes, peak_rss_bytes) = telemetry::memory();
    let (memory_budget_bytes, memory_reserved_bytes, runs_waiting_for_memory) =
        state.executor.memory();
    let text = state.metrics.render(&Gauges {
        memory_budget_bytes,
        memory_reserved_bytes,
        runs_waiting_for_memory,
        running: state.executor.running(),
        queued: state.executor.queued(),
        rss_bytes,
        peak_rss_bytes,
        pool_size: state.pool.size(),
        pool_idle: state.pool.num_idle(),
        pool_max: state.config.db.pool_max,
        db_reachable: reachable,
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

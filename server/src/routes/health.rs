//! `GET /health`: is the server well, and how busy is it. `503` with `degraded` when the
//! database cannot be reached (or, just after start-up, is not migrated yet).

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::db;
use crate::state::AppState;
use crate::telemetry;

/// The longest `/health` waits for the database before saying it is unreachable.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// An answer slower than this (a pool whose connections are all busy) is not waited for when
/// the database answered within [`DB_RECENT`]: `/health` stays fast under load.
const DB_QUICK: Duration = Duration::from_millis(50);
const DB_RECENT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Response {
    let timeout = state.config.db.connect_timeout.min(DB_CHECK_TIMEOUT);
    let recent = state
        .db_answered
        .lock()
        .map(|t| t.is_some_and(|t| t.elapsed() < DB_RECENT))
        .unwrap_or(false);
    // The ping runs on a task of its own and is never cancelled: a query cut off part-way
    // would cost the pool its connection. An answer slower than DB_QUICK is left to finish
    // in the background (it still records when the database answered).
    let (pool, answered) = (state.pool.clone(), state.db_answered.clone());
    let mut ping = tokio::spawn(async move {
        let up = db::ping(&pool, timeout).await;
        if up && let Ok(mut t) = answered.lock() {
            *t = Some(std::time::Instant::now());
        }
        up
    });
    let reachable = match tokio::time::timeout(DB_QUICK, &mut ping).await {
        Ok(up) => up.unwrap_or(false),
        Err(_) if recent => true,
        Err(_) => ping.await.unwrap_or(false),
    };
    // Up, and migrated: until then requests that need the database would fail.
    let ready = reachable && state.database_ready();
    let (rss, peak) = telemetry::memory();
    let (budget, reserved, waiting) = state.executor.memory();
    let mb = |b: u64| (b as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0;
    let body = json!({
        "status": if ready { "ok" } else { "degraded" },
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "uptime_s": state.started.elapsed().as_secs(),
        "memory": {
            "rss_mb": mb(rss),
            "peak_rss_mb": mb(peak),
            "budget_mb": (budget < u64::MAX).then(|| mb(budget)),
            "budget_from": state.config.memory_budget_source,
            "reserved_mb": mb(reserved),
            "runs_waiting": waiting,
        },
        "db": {
            "reachable": reachable,
            "migrated": state.database_ready(),
            "pool_size": state.pool.size(),
            "pool_idle": state.pool.num_idle(),
            "pool_max": state.config.db.pool_max,
        },
        "runs": { "running": state.executor.running(), "queued": state.executor.queued() },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

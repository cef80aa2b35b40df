//! `GET /metrics`: Prometheus text format (see [`crate::telemetry`]).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::db;
use crate::state::AppState;
use crate::telemetry::{self, Gauges};

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let reachable = db::ping(&state.pool, Duration::from_secs(1)).await;
    let (rss_bytes, peak_rss_bytes) = telemetry::memory();
    let text = state.metrics.render(&Gauges {
        running: state.executor.running(),
        queued: state.executor.queued(),
        rss_bytes,
        peak_rss_bytes,
        pool_size: state.pool.size(),
        pool_idle: state.pool.num_idle(),
        pool_max: state.config.db.pool_max,
        db_reachable: reachable,
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

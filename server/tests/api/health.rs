//! `GET /health` and `GET /metrics`.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_memory_database_and_runs() {
    let app = TestApp::spawn().await;
    let (status, body) = app.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(body["uptime_s"].is_u64());
    assert!(body["memory"]["rss_mb"].as_f64().unwrap() > 0.0);
    assert!(
        body["memory"]["peak_rss_mb"].as_f64().unwrap()
            >= body["memory"]["rss_mb"].as_f64().unwrap()
    );
    assert_eq!(body["db"]["reachable"], true);
    assert!(body["db"]["pool_size"].as_u64().unwrap() >= 1);
    assert!(body["db"]["pool_idle"].is_u64());
    assert_eq!(body["db"]["pool_max"], 20);
    assert_eq!(body["runs"], json!({"running": 0, "queued": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text() {
    let app = TestApp::spawn().await;
    let (id, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 10_000}))
        .await;
    app.wait_finished(&id).await;
    app.get("/api/runs/nope").await;
    let (status, headers, body) = app
        .request(Method::GET, "/metrics", &[], Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(body.to_vec()).unwrap();
    for line in [
        "scenarioforge_runs_created_total 1",
        "scenarioforge_runs_total{status=\"completed\"} 1",
        "scenarioforge_runs_total{status=\"failed\"} 0",
        "scenarioforge_run_duration_seconds_count 1",
        "scenarioforge_iterations_total 10000",
        "scenarioforge_runs_running 0",
        "scenarioforge_runs_queued 0",
        "scenarioforge_db_pool_max_connections 20",
        "scenarioforge_db_up 1",
        "http_requests_total{route=\"/api/runs\",status=\"202\"} 1",
        "http_requests_total{route=\"/api/runs/{id}\",status=\"400\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
    for prefix in [
        "scenarioforge_iterations_per_second ",
        "process_resident_memory_bytes ",
        "process_resident_memory_peak_bytes ",
        "scenarioforge_db_pool_connections{state=\"idle\"} ",
        "scenarioforge_run_duration_seconds_bucket{le=\"+Inf\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "missing `{prefix}`"
        );
    }
    // Every sample line is `name{labels} value`, every metric has HELP and TYPE.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

//! The database goes away and comes back: requests get `503`, `/health` says degraded, the
//! server stays up, a run in flight keeps its result, and all recovers by itself.
//!
//! The outage is made with a TCP proxy between the server and PostgreSQL that drops every
//! connection and refuses new ones while "down".

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use scenarioforge_server::state::AppState;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::helpers::*;

struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (up2, connections2) = (Arc::clone(&up), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused in effect
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections2.lock().unwrap().push(task);
            }
        });
        Proxy {
            addr,
            up,
            connections,
        }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `postgres://user:pass@HOST:PORT/db` → (`HOST:PORT`, the URL with `addr` in its place).
fn through(url: &str, addr: SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (auth, rest) = rest.rsplit_once('@').map_or(("", rest), |(a, r)| (a, r));
    let (host, path) = rest.split_once('/').unwrap();
    let auth = if auth.is_empty() {
        String::new()
    } else {
        format!("{auth}@")
    };
    (host.to_string(), format!("{scheme}://{auth}{addr}/{path}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_the_server_stays_up_and_recovers() {
    let db = TestDb::create().await;
    let (target, _) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let proxy = Proxy::start(target).await;
    let (_, url) = through(&db.url, proxy.addr);
    let state = AppState::new(config(
        &url,
        &[("DB_CONNECT_TIMEOUT", "500"), ("MAX_CONCURRENT_RUNS", "1")],
    ))
    .unwrap();
    state.prepare_database().await.unwrap();
    let app = TestApp { state, db };

    let (done, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 5000}))
        .await;
    app.wait_finished(&done).await;
    // A run in flight when the database goes.
    let (inflight, _) = app
        .create_run(&wide_model(40), &json!({"iterations": slow_iterations()}))
        .await;
    wait_for(Duration::from_secs(30), || async {
        (app.state.executor.running() == 1).then_some(())
    })
    .await;

    proxy.down();
    let (status, body) = app.get(&format!("/api/runs/{done}")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error(&body, "database_unavailable", "the database is unavailable");
    let (_, headers, _) = app
        .request(
            axum::http::Method::GET,
            &format!("/api/runs/{done}"),
            &[],
            axum::body::Body::empty(),
        )
        .await;
    assert_eq!(headers["retry-after"], "5");
    let (status, body) = app
        .post("/api/runs", &json!({"model": model(STARTUP)}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_error(&body, "database_unavailable", "try again");
    let (status, body) = app.get(&format!("/api/runs/{done}/samples")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, health) = app.get("/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["db"]["reachable"], false);
    // Whatever needs no database still works.
    let (status, body) = app
        .post("/api/models/validate", &json!({"model": model(STARTUP)}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Long enough for the run in flight to finish and find no database to store into.
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.up();
    let run = wait_for(Duration::from_secs(60), || async {
        let (status, run) = app.get(&format!("/api/runs/{inflight}")).await;
        (status == StatusCode::OK && run["status"] == "completed").then_some(run)
    })
    .await;
    assert_eq!(run["summary"]["iterations"], slow_iterations());
    assert_eq!(run["sample_rows"], 10_000);
    let (status, health) = app.get("/health").await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "ok");
    let (status, _) = app.get(&format!("/api/runs/{done}")).await;
    assert_eq!(status, StatusCode::OK);
}

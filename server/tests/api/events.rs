//! `GET /api/runs/{id}/events` over a real socket: progress after each chunk, then `done`; a
//! late client gets the current state first.

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_streams_chunk_by_chunk_then_done() {
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1")]).await;
    let addr = app.serve().await;
    // A run ahead in the queue keeps ours queued while the client connects.
    let (blocker, _) = app
        .create_run(&wide_model(40), &json!({"iterations": slow_iterations()}))
        .await;
    // Long enough for several progress events, which go out at most every 100 ms.
    let total = if cfg!(debug_assertions) {
        slow_iterations()
    } else {
        10_000_000
    };
    let (id, _) = app
        .create_run(&wide_model(40), &json!({"iterations": total}))
        .await;
    let (status, head, body) =
        raw_request(addr, "GET", &format!("/api/runs/{id}/events"), &[], "").await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    let events = sse_events(&body);
    let (first, first_data) = &events[0];
    assert_eq!(first, "progress");
    assert_eq!(
        first_data["status"], "queued",
        "connected while queued: {first_data}"
    );
    let (last, last_data) = events.last().unwrap();
    assert_eq!(last, "done");
    assert_eq!(last_data["status"], "completed");
    assert_eq!(last_data["iterations_done"], total);

    let progress: Vec<_> = events
        .iter()
        .filter(|(name, data)| name == "progress" && data["status"] == "running")
        .map(|(_, data)| data)
        .collect();
    // The engine reports each time the chunks done in order advance, and the stream passes
    // on the latest at most every 100 ms: always at a chunk boundary, always forward.
    let done: Vec<u64> = progress
        .iter()
        .map(|p| p["iterations_done"].as_u64().unwrap())
        .filter(|&d| d > 0)
        .collect();
    assert!(done.windows(2).all(|w| w[0] < w[1]), "in order: {done:?}");
    assert!(
        done.iter().all(|d| d % 4096 == 0 || *d == total),
        "at chunk boundaries: {done:?}"
    );
    assert!(done.len() >= 3, "{} progress events: {done:?}", done.len());
    assert!(*done.last().unwrap() <= total);
    let p = progress.last().unwrap();
    assert_eq!(p["iterations_total"], total);
    assert!(p["elapsed_ms"].is_number());
    assert!(p["outputs"]["total"]["mean"].is_number(), "{p}");
    assert!(p["outputs"]["total"]["sem"].is_number(), "{p}");

    // A client that comes after the end gets the final state at once.
    let (status, _, body) =
        raw_request(addr, "GET", &format!("/api/runs/{id}/events"), &[], "").await;
    assert_eq!(status, 200);
    let events = sse_events(&body);
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0].0, "done");
    assert_eq!(events[0].1["status"], "completed");
    assert!(events[0].1["elapsed_ms"].is_number());
    app.wait_finished(&blocker).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_joining_mid_run_gets_the_current_progress_first() {
    let app = TestApp::spawn().await;
    let addr = app.serve().await;
    let (id, token) = app
        .create_run(&wide_model(40), &json!({"iterations": 10_000_000}))
        .await;
    wait_for(std::time::Duration::from_secs(30), || async {
        let (_, run) = app.get(&format!("/api/runs/{id}")).await;
        (run["progress"]["iterations_done"].as_u64() > Some(40_000)).then_some(())
    })
    .await;
    let path = format!("/api/runs/{id}/events");
    let stream = tokio::spawn(async move { raw_request(addr, "GET", &path, &[], "").await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = app
        .json(
            axum::http::Method::POST,
            &format!("/api/runs/{id}/cancel"),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(status, axum::http::StatusCode::ACCEPTED);
    let (_, _, body) = stream.await.unwrap();
    let events = sse_events(&body);
    assert_eq!(events[0].0, "progress");
    assert_eq!(events[0].1["status"], "running");
    assert!(
        events[0].1["iterations_done"].as_u64().unwrap() > 40_000,
        "the current state first: {}",
        events[0].1
    );
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "done");
    assert_eq!(data["status"], "cancelled");
}

/// At most `MAX_EVENT_STREAMS` streams are open at once; past it a client gets 503 with
/// `Retry-After`, and a stream that ends frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_beyond_the_limit_get_503() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app =
        TestApp::spawn_with(&[("MAX_EVENT_STREAMS", "2"), ("MAX_CONCURRENT_RUNS", "1")]).await;
    let addr = app.serve().await;
    let (id, owner) = app
        .create_run(&wide_model(40), &json!({"iterations": slow_iterations()}))
        .await;
    // Two streams held open: the request sent and the response head read.
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET /api/runs/{id}/events HTTP/1.1\r\nhost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        open.push(stream);
    }
    wait_for(std::time::Duration::from_secs(10), || async {
        (app.state.streams.open() == 2).then_some(())
    })
    .await;
    let (status, head, body) =
        raw_request(addr, "GET", &format!("/api/runs/{id}/events"), &[], "").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 5"),
        "{head}"
    );
    assert_error(
        &parse(body.as_bytes()),
        "too_many_streams",
        "MAX_EVENT_STREAMS",
    );
    // A client that goes away frees its place.
    drop(open.pop());
    wait_for(std::time::Duration::from_secs(10), || async {
        (app.state.streams.open() == 1).then_some(())
    })
    .await;
    app.cancel(&id, &owner).await;
    let (status, _, body) =
        raw_request(addr, "GET", &format!("/api/runs/{id}/events"), &[], "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sse_events(&body).last().unwrap().0, "done");
}

//! `/api/runs`: create, read, cancel, delete; ownership; order of the queue; the stored summary
//! against the command line's.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_stored_queued_then_completes_with_its_summary() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/api/runs",
            &json!({"model": model(STARTUP), "settings": {"iterations": 20000, "seed": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "queued");
    let id = body["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(uuid.get_version_num(), 4, "random (v4) ids");
    let token = body["owner_token"].as_str().unwrap();
    assert_eq!(token.len(), 64, "32 bytes in hex");
    assert_eq!(body["links"]["self"], format!("/api/runs/{id}"));
    assert_eq!(body["links"]["events"], format!("/api/runs/{id}/events"));
    assert_eq!(body["links"]["samples"], format!("/api/runs/{id}/samples"));
    assert_eq!(body["links"]["share"], format!("/r/{id}"));

    // Only the hash of the token is stored.
    let stored: Vec<u8> = sqlx::query_scalar("select owner_token_hash from runs where id = $1")
        .bind(uuid)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(token));

    let run = app.wait_finished(id).await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["progress"]["iterations_done"], 20000);
    assert_eq!(run["progress"]["iterations_total"], 20000);
    assert_eq!(run["settings"]["iterations"], 20000);
    assert_eq!(run["settings"]["seed"], 5);
    assert_eq!(
        run["settings"]["sample_size"], 10000,
        "SAMPLE_ROWS by default"
    );
    assert_eq!(run["model"]["name"], "Startup plan");
    assert_eq!(run["summary"]["status"], "completed");
    assert_eq!(run["summary"]["iterations"], 20000);
    assert!(run["summary"]["outputs"]["profit"]["mean"].is_number());
    assert_eq!(run["warnings"], json!([]));
    assert_eq!(run["error"], Value::Null);
    assert_eq!(run["sample_rows"], 10000);
    assert!(
        run["engine"]
            .as_str()
            .unwrap()
            .starts_with("scenarioforge-core")
    );
    assert_eq!(run["spec_hash"].as_str().unwrap().len(), 64);
    for t in ["created_at", "started_at", "finished_at"] {
        assert!(run["timings"][t].as_str().unwrap().ends_with('Z'), "{t}");
    }
    assert!(run["timings"]["elapsed_ms"].is_number());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stored_summary_is_the_command_lines_byte_for_byte() {
    let app = TestApp::spawn().await;
    for (name, text) in [("startup", STARTUP), ("portfolio", PORTFOLIO)] {
        let (id, _) = app
            .create_run(&model(text), &json!({"iterations": 30000, "seed": 99}))
            .await;
        app.wait_finished(&id).await;
        // The summary as the API returns it, its bytes untouched.
        let summary = app.raw_summary(&id).await;
        let path = format!("{}/{name}.json", examples_dir());
        let cli = cli_summary(&path, &["--iterations", "30000", "--seed", "99"]);
        assert_eq!(without_elapsed(&summary), without_elapsed(&cli), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_beyond_max_concurrent_runs_wait_in_order() {
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1")]).await;
    let slow = wide_model(40);
    let (first, _) = app
        .create_run(&slow, &json!({"iterations": slow_iterations()}))
        .await;
    let (second, _) = app.create_run(&slow, &json!({"iterations": 4096})).await;
    let (third, _) = app.create_run(&slow, &json!({"iterations": 4096})).await;
    let (_, run) = app.get(&format!("/api/runs/{second}")).await;
    assert_eq!(run["status"], "queued");
    let (_, health) = app.get("/health").await;
    assert_eq!(health["runs"]["running"], 1, "{health}");
    assert_eq!(health["runs"]["queued"], 2, "{health}");
    let mut finished = Vec::new();
    for id in [&first, &second, &third] {
        let run = app.wait_finished(id).await;
        finished.push(run["timings"]["started_at"].as_str().unwrap().to_string());
    }
    assert!(finished.windows(2).all(|w| w[0] <= w[1]), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_cancels_a_running_run_and_keeps_the_partial_summary() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_run(&wide_model(40), &json!({"iterations": 10_000_000}))
        .await;
    wait_for(std::time::Duration::from_secs(30), || async {
        let (_, run) = app.get(&format!("/api/runs/{id}")).await;
        (run["progress"]["iterations_done"].as_u64() > Some(0)).then_some(())
    })
    .await;
    let auth = format!("Bearer {token}");
    let (status, body) = app
        .json(
            Method::POST,
            &format!("/api/runs/{id}/cancel"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["cancel_requested"], true);
    let run = app.wait_finished(&id).await;
    assert_eq!(run["status"], "cancelled");
    let done = run["summary"]["iterations"].as_u64().unwrap();
    assert!(done > 0 && done < 10_000_000, "{done}");
    assert_eq!(run["summary"]["status"], "cancelled");
    assert!(run["summary"]["outputs"]["total"]["mean"].is_number());

    // A finished run cannot be cancelled again.
    let (status, body) = app
        .json(
            Method::POST,
            &format!("/api/runs/{id}/cancel"),
            &[("authorization", &auth)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "run_finished", "already finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_is_cancelled_at_once() {
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1")]).await;
    let (busy, busy_token) = app
        .create_run(&wide_model(40), &json!({"iterations": 10_000_000}))
        .await;
    let (id, token) = app.create_run(&wide_model(3), &json!({})).await;
    let (status, body) = app
        .json(
            Method::POST,
            &format!("/api/runs/{id}/cancel"),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "cancelled");
    let (_, run) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(run["status"], "cancelled");
    assert_eq!(run["summary"], Value::Null);
    // Free the worker.
    let (status, _) = app
        .json(
            Method::DELETE,
            &format!("/api/runs/{busy}"),
            &[("authorization", &format!("Bearer {busy_token}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_deletes_a_run_and_its_rows() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_run(&model(STARTUP), &json!({"iterations": 10000}))
        .await;
    app.wait_finished(&id).await;
    let (status, body) = app
        .json(
            Method::DELETE,
            &format!("/api/runs/{id}"),
            &[("authorization", &format!("bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found", "no run with id");
    let rows: i64 = sqlx::query_scalar("select count(*) from run_samples")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_run_can_be_deleted() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .create_run(&wide_model(40), &json!({"iterations": 10_000_000}))
        .await;
    app.wait_status(&id, "running").await;
    let (status, _) = app
        .json(
            Method::DELETE,
            &format!("/api/runs/{id}"),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    wait_for(std::time::Duration::from_secs(30), || async {
        (app.state.executor.running() == 0).then_some(())
    })
    .await;
    let (status, _) = app.get(&format!("/api/runs/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_returns_every_diagnostic_or_the_models_shape() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post("/api/models/validate", &json!({"model": model(STARTUP)}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid"], true);
    assert_eq!(body["diagnostics"], json!([]));
    assert!(
        body["outputs"]
            .as_array()
            .unwrap()
            .contains(&json!("profit"))
    );
    assert!(
        body["inputs"]
            .as_array()
            .unwrap()
            .contains(&json!("customers"))
    );

    let bad = json!({"nodes": [
        {"id": "a", "expr": "normal(0, 1"},
        {"id": "b", "expr": "revnue * 2"},
    ]});
    let (status, body) = app
        .post(
            "/api/models/validate",
            &json!({"model": bad, "settings": {"iterations": 0}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid"], false);
    let diagnostics = body["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 3, "{body}");
    assert_eq!(diagnostics[0]["node"], "a");
    assert!(diagnostics[0]["span"]["start"].is_number());
    assert_eq!(diagnostics[1]["node"], "b");
    assert_eq!(diagnostics[1]["kind"], "unknown_name");
    assert_eq!(diagnostics[2]["field"], "settings.iterations");

    // A model that compiles with settings that do not hold: its shape is still listed.
    let (status, body) = app
        .post(
            "/api/models/validate",
            &json!({"model": model(STARTUP), "settings": {"precision": {"relative": 0.01, "outputs": ["customers"]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["valid"], false);
    assert_eq!(
        body["diagnostics"][0]["field"], "settings.precision.outputs[0]",
        "{body}"
    );
    assert!(
        body["outputs"]
            .as_array()
            .unwrap()
            .contains(&json!("profit")),
        "{body}"
    );
    assert!(
        body["inputs"]
            .as_array()
            .unwrap()
            .contains(&json!("customers")),
        "{body}"
    );
    assert!(body.get("estimate").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_and_cancelled_runs_past_retention_are_deleted() {
    let app = TestApp::spawn().await;
    let (kept, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 5000}))
        .await;
    let (old, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 5000}))
        .await;
    let (recent, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 5000}))
        .await;
    for id in [&kept, &old, &recent] {
        app.wait_finished(id).await;
    }
    let age = |id: &str, status: &str, days: i32| {
        sqlx::query(
            "update runs set status = $2, finished_at = now() - make_interval(days => $3) where id = $1::uuid",
        )
        .bind(id.to_string())
        .bind(status.to_string())
        .bind(days)
        .execute(&app.state.pool)
    };
    age(&kept, "completed", 400).await.unwrap();
    age(&old, "failed", 31).await.unwrap();
    age(&recent, "cancelled", 29).await.unwrap();
    let deleted = scenarioforge_server::db::delete_expired(&app.state.pool, 30)
        .await
        .unwrap();
    assert_eq!(deleted, 1);
    for (id, status) in [
        (&kept, StatusCode::OK),
        (&old, StatusCode::NOT_FOUND),
        (&recent, StatusCode::OK),
    ] {
        assert_eq!(app.get(&format!("/api/runs/{id}")).await.0, status, "{id}");
    }
}

/// Correlations, Latin hypercube and a precision target pass through the API: the run stops
/// early with status `converged`, is stored like a completed run (summary, rows), its settings
/// read back as given, and its summary is the command line's byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_a_precision_target_converges_and_is_stored() {
    let app = TestApp::spawn().await;
    let settings = json!({"iterations": 300000, "seed": 3, "sampling": "latin_hypercube",
        "precision": {"relative": 0.01, "outputs": ["profit"]}});
    let (id, _) = app.create_run(&model(RETAIL), &settings).await;
    let run = app.wait_finished(&id).await;
    assert_eq!(run["status"], "converged", "{run}");
    let iterations = run["summary"]["iterations"].as_u64().unwrap();
    assert!(
        iterations < 300_000 && iterations % 4096 == 0,
        "{iterations}"
    );
    assert_eq!(run["summary"]["status"], "converged");
    assert_eq!(run["settings"]["sampling"], "latin_hypercube");
    assert_eq!(run["settings"]["precision"]["relative"], 0.01);
    assert_eq!(run["settings"]["precision"]["outputs"], json!(["profit"]));
    assert_eq!(run["summary"]["correlations"].as_array().unwrap().len(), 2);
    let (status, page) = app.get(&format!("/api/runs/{id}/samples?limit=5")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["rows"].as_array().unwrap().len(), 5);

    let summary = app.raw_summary(&id).await;
    let path = format!("{}/retail_pricing.json", examples_dir());
    let cli = cli_summary(
        &path,
        &[
            "--iterations",
            "300000",
            "--seed",
            "3",
            "--precision",
            "0.01",
        ],
    );
    assert_eq!(without_elapsed(&summary), without_elapsed(&cli));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_correlations_and_precision_settings_are_named() {
    let app = TestApp::spawn().await;
    let mut m = model(RETAIL);
    m["correlations"][1]["between"][1] = json!("profit");
    let (status, body) = app
        .post("/api/runs", &json!({"model": m, "settings": {}}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let d = &body["error"]["details"][0];
    assert_eq!(d["field"], "correlations[1].between[1]", "{body}");
    assert_eq!(d["kind"], "invalid_correlation");

    let (status, body) = app
        .post(
            "/api/runs",
            &json!({"model": model(RETAIL), "settings": {"precision": {"relative": 0.01, "outputs": ["demand"]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let d = &body["error"]["details"][0];
    assert_eq!(d["field"], "settings.precision.outputs[0]", "{body}");
}

/// Beyond `MAX_QUEUED_RUNS` waiting runs, a new run is refused with `429` and `Retry-After`,
/// and nothing of it is stored; once the queue drains, runs are taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_beyond_the_queue_bound_get_429_with_retry_after() {
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1"), ("MAX_QUEUED_RUNS", "1")]).await;
    let slow = wide_model(40);
    let (first, owner) = app
        .create_run(&slow, &json!({"iterations": slow_iterations()}))
        .await;
    app.wait_status(&first, "running").await;
    let (second, _) = app.create_run(&slow, &json!({"iterations": 4096})).await;
    let body = json!({"model": slow, "settings": {"iterations": 4096}});
    let (status, headers, bytes) = app
        .request(
            Method::POST,
            "/api/runs",
            &[("content-type", "application/json")],
            Body::from(body.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "10");
    assert_error(&parse(&bytes), "too_many_runs", "MAX_QUEUED_RUNS");
    let stored = app.stored_runs().await;
    assert_eq!(stored, 2, "the refused run left nothing behind");

    let (status, _) = app
        .json(
            Method::POST,
            &format!("/api/runs/{first}/cancel"),
            &[("authorization", &format!("Bearer {owner}"))],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.wait_finished(&second).await;
    let (third, _) = app.create_run(&slow, &json!({"iterations": 4096})).await;
    assert_eq!(app.wait_finished(&third).await["status"], "completed");
}

/// Run ids cannot be enumerated: they are random (UUID version 4, 122 random bits), and no
/// endpoint lists runs; a made-up id is a plain 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_cannot_be_listed_or_guessed() {
    let app = TestApp::spawn().await;
    let (a, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 4096}))
        .await;
    let (b, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 4096}))
        .await;
    for id in [&a, &b] {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 4, "{id}");
    }
    assert_ne!(a[..8], b[..8]);
    for path in [
        "/api/runs",
        "/api/runs?limit=10",
        "/api/runs/",
        "/api/models",
    ] {
        let (status, body) = app.get(path).await;
        assert!(
            matches!(
                status,
                StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND
            ),
            "{path}: {status} {body}"
        );
        assert!(!body.to_string().contains(&a), "{path} leaks a run id");
    }
    let (status, body) = app
        .get("/api/runs/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// Regression: the queue bound was read before an `await` and the insert, so 1,010 POSTs, 32 at
/// a time, all got 202 with `MAX_QUEUED_RUNS=1000`. Admission is now one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_bound_holds_under_parallel_posts() {
    let app = TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1"), ("MAX_QUEUED_RUNS", "10")]).await;
    let slow = wide_model(40);
    let (first, owner) = app
        .create_run(&slow, &json!({"iterations": slow_iterations()}))
        .await;
    app.wait_status(&first, "running").await;
    let body = json!({"model": model(STARTUP), "settings": {"iterations": 4096}});
    let posts: Vec<_> = (0..64)
        .map(|_| {
            let router = app.router();
            let body = body.to_string();
            tokio::spawn(async move {
                let request = axum::http::Request::post("/api/runs")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap();
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .unwrap()
                    .status()
            })
        })
        .collect();
    let mut accepted = 0;
    for post in posts {
        match post.await.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(accepted, 10, "exactly MAX_QUEUED_RUNS were admitted");
    let queued: i64 = sqlx::query_scalar("select count(*) from runs where status = 'queued'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(queued, 10);
    app.cancel(&first, &owner).await;
}

/// One client may not fill the queue for everyone: past `MAX_RUNS_PER_CLIENT` runs queued or
/// running, its new runs get 429 naming the limit, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_beyond_the_client_quota_get_429() {
    let app =
        TestApp::spawn_with(&[("MAX_CONCURRENT_RUNS", "1"), ("MAX_RUNS_PER_CLIENT", "2")]).await;
    let addr = app.serve().await;
    let slow = wide_model(40);
    let body = json!({"model": slow, "settings": {"iterations": slow_iterations()}}).to_string();
    let mut owners = Vec::new();
    for _ in 0..2 {
        let (status, _, answer) = raw_request(
            addr,
            "POST",
            "/api/runs",
            &[("content-type", "application/json")],
            &body,
        )
        .await;
        assert_eq!(status, 202, "{answer}");
        let answer = parse(answer.as_bytes());
        owners.push((
            answer["id"].as_str().unwrap().to_string(),
            answer["owner_token"].as_str().unwrap().to_string(),
        ));
    }
    let (status, headers, answer) = raw_request(
        addr,
        "POST",
        "/api/runs",
        &[("content-type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(status, 429, "{answer}");
    assert!(
        headers.to_lowercase().contains("retry-after: 10"),
        "{headers}"
    );
    assert_error(
        &parse(answer.as_bytes()),
        "too_many_client_runs",
        "this client already has 2 runs queued or running (MAX_RUNS_PER_CLIENT)",
    );
    let stored = app.stored_runs().await;
    assert_eq!(stored, 2);
    // Another client (here, one without an address) is not held back.
    let (status, _) = app
        .post(
            "/api/runs",
            &json!({"model": model(STARTUP), "settings": {"iterations": 4096}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for (id, owner) in owners {
        app.cancel(&id, &owner).await;
    }
}

/// Regression: progress was not stored, so a shared or reloaded run had no convergence chart.
/// A finished run keeps a bounded history that ends with its summary's numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_run_keeps_its_convergence_history() {
    let app = TestApp::spawn().await;
    let (id, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 2_000_000}))
        .await;
    let run = app.wait_finished(&id).await;
    assert_eq!(run["status"], "completed", "{run}");
    let points = run["convergence"].as_array().expect("a history");
    assert!(
        (20..=257).contains(&points.len()),
        "{} points for 489 chunks",
        points.len()
    );
    let iterations: Vec<u64> = points
        .iter()
        .map(|p| p["iterations"].as_u64().unwrap())
        .collect();
    assert!(iterations.windows(2).all(|w| w[0] < w[1]), "{iterations:?}");
    let last = points.last().unwrap();
    assert_eq!(last["iterations"], 2_000_000);
    for output in ["revenue", "profit"] {
        let summary = &run["summary"]["outputs"][output];
        assert_eq!(last["outputs"][output]["mean"], summary["mean"], "{output}");
        assert_eq!(last["outputs"][output]["sem"], summary["sem"], "{output}");
    }
}

/// A shutdown stops a run inside the chunk it computes (40 Latin hypercube draws of
/// binomial(1e15, 0.3): 26 s for the one chunk) within moments; the run is not recorded but
/// put back `queued` for the next start, that start not counted. (A run whose chunks had all
/// finished when the shutdown came is recorded: `core/tests/engine.rs`,
/// `a_stop_after_the_last_chunk_leaves_the_run_completed`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_stops_a_run_inside_its_chunk_and_puts_it_back() {
    let app = TestApp::spawn().await;
    let terms = vec!["binomial(1e15, 0.3)"; 40].join(" + ");
    let slow = json!({"name": "slow", "nodes": [{"id": "x", "expr": terms, "output": true}],
                      "settings": {"sampling": "latin_hypercube"}});
    let (id, _) = app.create_run(&slow, &json!({"iterations": 4096})).await;
    app.wait_status(&id, "running").await;
    app.state.begin_shutdown();
    let executor = app.state.executor.clone();
    let started = std::time::Instant::now();
    let joined =
        tokio::task::spawn_blocking(move || executor.join(std::time::Duration::from_secs(60)))
            .await
            .unwrap();
    assert!(joined);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let (status, iterations, attempts): (String, i64, i32) =
        sqlx::query_as("select status, iterations_done, attempts from runs where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), iterations, attempts), ("queued", 0, 0));
}

/// The table of rejected models that the engine's own test checks (`core/tests/rejected.rs`):
/// `/api/models/validate` lists exactly the engine's diagnostics, and `POST /api/runs`
/// refuses each with them in its details, storing nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rejected_models_table_gives_the_engines_diagnostics() {
    let app = TestApp::spawn().await;
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../../core/tests/cases/rejected.json")).unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let spec = scenarioforge_core::ModelSpec::from_json(&case["model"].to_string()).unwrap();
        let engine = scenarioforge_core::check(
            &spec,
            &scenarioforge_core::Settings::default(),
            &scenarioforge_core::Limits::default(),
        )
        .unwrap_err();
        let engine = serde_json::to_value(engine.diagnostics()).unwrap();
        let body = json!({"model": case["model"]});

        let (status, answer) = app.post("/api/models/validate", &body).await;
        assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        assert_eq!(answer["valid"], false, "{name}");
        assert_eq!(answer["diagnostics"], engine, "{name}");

        let (status, answer) = app.post("/api/runs", &body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {answer}");
        assert_eq!(answer["error"]["details"], engine, "{name}");
    }
    assert_eq!(app.stored_runs().await, 0);
}

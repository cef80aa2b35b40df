//! `GET /api/runs/{id}/samples`: keyset pages that never repeat or skip a row, the CSV stream,
//! and non-finite values.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// Every row of a run, page by page with `limit`; asserts the page invariants on the way.
async fn all_pages(app: &TestApp, id: &str, limit: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let query = match after {
            Some(a) => format!("?after={a}&limit={limit}"),
            None => format!("?limit={limit}"),
        };
        let (status, page) = app.get(&format!("/api/runs/{id}/samples{query}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page_rows = page["rows"].as_array().unwrap();
        assert!(page_rows.len() <= limit);
        rows.extend(page_rows.iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => {
                assert_eq!(page_rows.len(), limit, "only full pages have a next page");
                assert_eq!(Some(next), page_rows.last().and_then(|r| r[0].as_u64()));
                after = Some(next);
            }
            None => return rows,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_every_row_once_in_order_and_match_the_command_line() {
    let app = TestApp::spawn().await;
    let settings = json!({"iterations": 40_000, "seed": 3, "sample_size": 2500});
    let (id, _) = app.create_run(&model(STARTUP), &settings).await;
    let run = app.wait_finished(&id).await;
    assert_eq!(run["sample_rows"], 2500);

    let (_, first) = app.get(&format!("/api/runs/{id}/samples")).await;
    assert_eq!(
        first["rows"].as_array().unwrap().len(),
        50,
        "limit defaults to 50"
    );
    assert_eq!(first["total"], 2500);
    let columns: Vec<&str> = first["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(columns[0], "iteration");
    assert_eq!(columns[1], "customers");
    assert_eq!(
        columns.len(),
        1 + model(STARTUP)["nodes"].as_array().unwrap().len()
    );

    let mut reference: Option<Vec<Value>> = None;
    for limit in [1000, 7, 333, 1] {
        let rows = if limit == 1 {
            // Single rows from the middle on: `after` is exclusive.
            let all = reference.clone().unwrap();
            let after = all[1234][0].as_u64().unwrap();
            let (_, page) = app
                .get(&format!("/api/runs/{id}/samples?after={after}&limit=1"))
                .await;
            assert_eq!(page["rows"][0], all[1235]);
            continue;
        } else {
            all_pages(&app, &id, limit).await
        };
        assert_eq!(rows.len(), 2500, "limit {limit}");
        let iterations: Vec<u64> = rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
        assert!(
            iterations.windows(2).all(|w| w[0] < w[1]),
            "no repeats, in order"
        );
        assert_eq!(iterations.iter().collect::<BTreeSet<_>>().len(), 2500);
        assert!(
            rows.iter()
                .all(|r| r.as_array().unwrap().len() == columns.len())
        );
        match &reference {
            None => reference = Some(rows),
            Some(r) => assert_eq!(&rows, r, "the same rows whatever the page size"),
        }
    }

    // Past the end: an empty last page.
    let (_, page) = app
        .get(&format!("/api/runs/{id}/samples?after=40000"))
        .await;
    assert_eq!(page["rows"], json!([]));
    assert_eq!(page["next_after"], Value::Null);

    // The CSV holds the same rows, and is byte for byte the command line's --samples-csv.
    let (status, headers, csv) = app
        .request(
            Method::GET,
            &format!("/api/runs/{id}/samples?format=csv"),
            &[],
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    assert_eq!(csv.lines().count(), 2501);
    assert_eq!(csv.lines().next().unwrap(), columns.join(","));
    let file = std::env::temp_dir().join(format!("sf-samples-{id}.csv"));
    cli_summary(
        &format!("{}/startup.json", examples_dir()),
        &[
            "--iterations",
            "40000",
            "--seed",
            "3",
            "--sample-size",
            "2500",
            "--samples-csv",
            file.to_str().unwrap(),
        ],
    );
    let cli_csv = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(csv, cli_csv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_size_may_lower_sample_rows_but_not_raise_it() {
    let app = TestApp::spawn_with(&[("SAMPLE_ROWS", "300")]).await;
    let (lower, _) = app
        .create_run(
            &model(STARTUP),
            &json!({"iterations": 5000, "sample_size": 100}),
        )
        .await;
    let (higher, _) = app
        .create_run(
            &model(STARTUP),
            &json!({"iterations": 5000, "sample_size": 100_000}),
        )
        .await;
    assert_eq!(app.wait_finished(&lower).await["sample_rows"], 100);
    let run = app.wait_finished(&higher).await;
    assert_eq!(run["sample_rows"], 300);
    assert_eq!(run["settings"]["sample_size"], 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_finite_values_are_null_in_json_and_named_in_csv() {
    let app = TestApp::spawn().await;
    let m = json!({"nodes": [
        {"id": "x", "expr": "normal(0, 1)"},
        {"id": "y", "expr": "ln(x)", "output": true},
        {"id": "z", "expr": "1 / (x - x)", "output": true},
        {"id": "w", "expr": "(x - x) / (x - x)", "output": true},
    ]});
    let (id, _) = app.create_run(&m, &json!({"iterations": 5000})).await;
    let run = app.wait_finished(&id).await;
    assert_eq!(run["status"], "completed");
    assert!(!run["warnings"].as_array().unwrap().is_empty(), "{run}");
    let rows = all_pages(&app, &id, 1000).await;
    assert!(
        rows.iter().any(|r| r[2].is_null()),
        "ln of a negative is NaN → null"
    );
    assert!(rows.iter().any(|r| r[2].is_number()));
    assert!(
        rows.iter().all(|r| r[3].is_null()),
        "1/0 is infinite → null"
    );
    assert!(rows.iter().all(|r| r[4].is_null()), "0/0 is NaN → null");
    let (_, _, csv) = app
        .request(
            Method::GET,
            &format!("/api/runs/{id}/samples?format=csv"),
            &[],
            Body::empty(),
        )
        .await;
    let csv = String::from_utf8(csv.to_vec()).unwrap();
    let first = csv.lines().nth(1).unwrap();
    assert!(first.ends_with(",inf,NaN"), "{first}");
}

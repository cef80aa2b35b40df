//! Faults while a finished run's iteration rows are stored: the database refuses them (a full
//! disk) or does not finish in time (a statement timeout). Both are made real inside
//! PostgreSQL with a trigger on the rows table. The run is marked failed with an error that
//! says why, and the summary it computed is kept.

use serde_json::json;

use crate::helpers::*;

/// Runs `sql` on the test's database.
async fn execute(app: &TestApp, sql: &str) {
    sqlx::raw_sql(sql).execute(&app.state.pool).await.unwrap();
}

/// A trigger that refuses rows as a full disk does, for each `level` ("statement" or "row"),
/// after running `first` (PL/pgSQL statements).
async fn fill_the_disk(app: &TestApp, first: &str, level: &str) {
    execute(
        app,
        &format!(
            "create function disk_full() returns trigger language plpgsql as $$
             begin
               {first}
               raise exception 'could not extend file: No space left on device'
                 using errcode = 'disk_full';
             end $$;
             create trigger disk_full before insert on run_samples
               for each {level} execute function disk_full();"
        ),
    )
    .await;
}

async fn check_failed_with_summary(app: &TestApp, reason: &str) {
    let (id, _) = app
        .create_run(&model(STARTUP), &json!({"iterations": 20000, "seed": 4}))
        .await;
    let run = app.wait_finished(&id).await;
    assert_eq!(run["status"], "failed", "{run}");
    let error = run["error"].as_str().unwrap();
    assert_eq!(
        error,
        format!("the iteration rows could not be stored ({reason}); the summary is kept")
    );
    assert!(
        !error.contains("run_samples") && !error.contains("COPY"),
        "{error}"
    );
    assert_eq!(run["summary"]["iterations"], 20000, "{run}");
    assert_eq!(run["summary"]["status"], "completed");
    assert_eq!(run["sample_rows"], 0);

    // The summary is the one an undisturbed run gives.
    let cli = cli_summary(
        &format!("{}/startup.json", examples_dir()),
        &[
            "--iterations",
            "20000",
            "--seed",
            "4",
            "--sample-size",
            "10000",
        ],
    );
    let cli: serde_json::Value = serde_json::from_str(&cli).unwrap();
    assert_eq!(run["summary"]["outputs"], cli["outputs"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_run_and_keeps_its_summary() {
    let app = TestApp::spawn().await;
    fill_the_disk(&app, "", "statement").await;
    check_failed_with_summary(&app, "the database's disk is full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_cut_short_leaves_no_connection_out_of_step() {
    // The rows go out in two COPYs on two connections. The first row of one fails at once;
    // the other's first row waits, so its COPY is still open when the first fails and is cut
    // short. Every later query must still get its own answer, whichever connection serves it.
    // (Before the fix about one attempt in five read another query's answer: three attempts.)
    let app = TestApp::spawn_with(&[("DB_POOL_MAX", "4")]).await;
    execute(&app, "create sequence rows_seen").await;
    fill_the_disk(
        &app,
        "if nextval('rows_seen') > 1 then perform pg_sleep(0.5); end if;",
        "row",
    )
    .await;
    for seed in 0..3 {
        execute(&app, "alter sequence rows_seen restart").await;
        let (id, _) = app
            .create_run(&model(STARTUP), &json!({"iterations": 20000, "seed": seed}))
            .await;
        let run = app.wait_finished(&id).await;
        assert_eq!(run["status"], "failed", "{run}");
        // Reads, through every connection, until after the cut-short copy's answer has come.
        for _ in 0..40 {
            let (status, again) = app.get(&format!("/api/runs/{id}")).await;
            assert_eq!(status, 200, "{again}");
            assert_eq!(again["status"], "failed", "{again}");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_timeout_fails_the_run_and_keeps_its_summary() {
    // The server's own DB_STATEMENT_TIMEOUT, and storing rows that now takes a second.
    let app = TestApp::spawn_with(&[("DB_STATEMENT_TIMEOUT", "300")]).await;
    execute(
        &app,
        "create function slow_rows() returns trigger language plpgsql as $$
         begin perform pg_sleep(1); return null; end $$;
         create trigger slow_rows before insert on run_samples
           for each statement execute function slow_rows();",
    )
    .await;
    check_failed_with_summary(&app, "the database's statement timeout was reached").await;
}

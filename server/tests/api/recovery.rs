//! Restart recovery with the real binary: a run interrupted by SIGKILL, and again by a graceful
//! SIGTERM, is picked up at the next start and ends with the summary of an uninterrupted run.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        Server::start_with(database_url, &[]).await
    }

    /// Starts the server with `vars` set, without waiting for it to answer.
    fn spawn(database_url: &str, vars: &[(&str, &str)]) -> Server {
        // A free port: bound, read, released.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_scenarioforge"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", addr.to_string())
            .env("MAX_CONCURRENT_RUNS", "1")
            .env("RUST_LOG", "warn")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start scenarioforge serve");
        Server { child, addr }
    }

    async fn start_with(database_url: &str, vars: &[(&str, &str)]) -> Server {
        let server = Server::spawn(database_url, vars);
        let addr = server.addr;
        wait_for(Duration::from_secs(30), || async {
            let connect = tokio::net::TcpStream::connect(addr).await;
            if connect.is_err() {
                return None;
            }
            let (status, _, _) = raw_request(addr, "GET", "/health", &[], "").await;
            (status == 200).then_some(())
        })
        .await;
        server
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = raw_request(self.addr, "GET", path, &[], "").await;
        (status, parse(body.as_bytes()))
    }

    /// Waits until the run has made some progress, but not all.
    async fn wait_running(&self, id: &str) {
        wait_for(Duration::from_secs(60), || async {
            let (_, run) = self.get(&format!("/api/runs/{id}")).await;
            let done = run["progress"]["iterations_done"].as_u64().unwrap_or(0);
            assert!(
                matches!(run["status"].as_str(), Some("queued" | "running")),
                "the run ended before the interruption: {run}"
            );
            (done > 0).then_some(())
        })
        .await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn status_in_db(db: &TestDb, id: &str) -> String {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let status: String = sqlx::query_scalar("select status from runs where id = $1::uuid")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_resumes_at_the_next_start_with_the_same_summary() {
    let db = TestDb::create().await;
    let wide = wide_model(40);
    // Long enough to interrupt twice, in a debug or a release build.
    let iterations = if cfg!(debug_assertions) {
        1_500_000
    } else {
        10_000_000
    };
    let settings = json!({"iterations": iterations, "seed": 11});

    let server = Server::start(&db.url).await;
    let (status, _, body) = raw_request(
        server.addr,
        "POST",
        "/api/runs",
        &[("content-type", "application/json")],
        &json!({"model": wide, "settings": settings}).to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = parse(body.as_bytes())["id"].as_str().unwrap().to_string();

    // Abruptly: SIGKILL mid-run. The run is left `running`.
    server.wait_running(&id).await;
    drop(server);
    assert_eq!(status_in_db(&db, &id).await, "running");

    // Gracefully: SIGTERM mid-run. The run stops at a chunk boundary and is left to be resumed,
    // not recorded as cancelled.
    let mut server = Server::start(&db.url).await;
    server.wait_running(&id).await;
    let term = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = wait_for(Duration::from_secs(30), || {
        let exit = server.child.try_wait().unwrap();
        async move { exit }
    })
    .await;
    assert!(exit.success(), "a graceful shutdown exits 0: {exit:?}");
    assert_eq!(
        status_in_db(&db, &id).await,
        "queued",
        "put back, its start not counted"
    );

    // The next start runs it to the end.
    let server = Server::start(&db.url).await;
    let run = wait_for(Duration::from_secs(120), || async {
        let (_, run) = server.get(&format!("/api/runs/{id}")).await;
        (!matches!(run["status"].as_str(), Some("queued" | "running"))).then_some(run)
    })
    .await;
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["progress"]["iterations_done"], iterations);
    assert_eq!(
        run["sample_rows"], 10_000,
        "rows stored once, not once per attempt"
    );

    // The same summary as an uninterrupted run of the same model and seed.
    let file = std::env::temp_dir().join(format!("sf-recovery-{id}.json"));
    std::fs::write(&file, wide.to_string()).unwrap();
    let cli = cli_summary(
        file.to_str().unwrap(),
        &["--iterations", &iterations.to_string(), "--seed", "11"],
    );
    let _ = std::fs::remove_file(&file);
    let (_, _, body) = raw_request(server.addr, "GET", &format!("/api/runs/{id}"), &[], "").await;
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        summary: &'a serde_json::value::RawValue,
    }
    let raw: Raw = serde_json::from_str(&body).unwrap();
    assert_eq!(without_elapsed(raw.summary.get()), without_elapsed(&cli));
}

/// Regression: every run left `queued` or `running` was queued again at start-up with no
/// count, so a run that killed the process killed it on every restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_kills_the_server_fails_after_three_starts() {
    let db = TestDb::create().await;
    let poison = [("SCENARIOFORGE_TEST_ABORT_MODEL", "poison")];
    let server = Server::start_with(&db.url, &poison).await;
    let mut m = model(STARTUP);
    m["name"] = json!("poison");
    let (status, _, body) = raw_request(
        server.addr,
        "POST",
        "/api/runs",
        &[("content-type", "application/json")],
        &json!({"model": m}).to_string(),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let id = parse(body.as_bytes())["id"].as_str().unwrap().to_string();
    let mut server = server;
    for start in 1..=3 {
        // The run aborts the process, on the first start as soon as it is submitted, on the
        // next ones as soon as it is queued again.
        let exit = wait_for(Duration::from_secs(60), || {
            let exit = server.child.try_wait().unwrap();
            async move { exit }
        })
        .await;
        assert!(!exit.success(), "start {start}: the run aborted the server");
        assert_eq!(status_in_db(&db, &id).await, "running", "start {start}");
        drop(server);
        server = Server::spawn(&db.url, &poison);
    }
    // The fourth start fails the run instead of running it, and stays up.
    drop(server);
    let server = Server::start_with(&db.url, &poison).await;
    let (_, run) = server.get(&format!("/api/runs/{id}")).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(
        run["error"],
        "the server stopped during this run 3 times; it is not run again"
    );
    let (_, again) = server.get("/health").await;
    assert_eq!(again["status"], "ok", "{again}");
}

#[test]
fn serve_refuses_a_bad_configuration_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_scenarioforge"))
        .arg("serve")
        .env("DATABASE_URL", "postgres://u:p@127.0.0.1:1/db")
        .env("MAX_REQUEST_SIZE", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: MAX_REQUEST_SIZE: expected a size such as `10mb`"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_scenarioforge"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL: is not set"));
}

/// Regression: a client that sent half its headers kept its socket (still open after 75 s),
/// and idle sockets used every file descriptor. A request head must arrive within
/// `HEADER_READ_TIMEOUT`, and past `MAX_CONNECTIONS` a new connection is closed at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_surplus_connections_are_closed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let db = TestDb::create().await;
    let server = Server::start_with(
        &db.url,
        &[("HEADER_READ_TIMEOUT", "700"), ("MAX_CONNECTIONS", "3")],
    )
    .await;
    // Closed by the server: a read sees the end (or a reset) within `within`.
    let closed = |mut stream: tokio::net::TcpStream, within: Duration| async move {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(within, stream.read(&mut buf)).await;
        matches!(read, Ok(Ok(0) | Err(_)))
    };
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(
        closed(half, Duration::from_secs(5)).await,
        "half a request head is dropped"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );

    // Three idle connections hold every place; a fourth is closed at once.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let surplus = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    assert!(
        closed(surplus, Duration::from_millis(400)).await,
        "the fourth is refused"
    );
    // The idle ones time out too, and the server answers again.
    for stream in idle {
        assert!(
            closed(stream, Duration::from_secs(5)).await,
            "idle connections are dropped"
        );
    }
    let (status, _) = server.get("/health").await;
    assert_eq!(status, 200);
}

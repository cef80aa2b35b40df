//! The test harness: a fresh PostgreSQL database per test (created through `DATABASE_URL`,
//! dropped at the end), the app built on it and driven with `oneshot`, or served on a real
//! socket where streaming is tested.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use scenarioforge_server::config::Config;
use scenarioforge_server::state::AppState;
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const STARTUP: &str = include_str!("../../../examples/startup.json");
pub const RETAIL: &str = include_str!("../../../examples/retail_pricing.json");
pub const PORTFOLIO: &str = include_str!("../../../examples/portfolio.json");

/// A model with `n` normal inputs and one output that sums them: slow enough to observe while
/// it runs when `n` is large.
pub fn wide_model(n: usize) -> Value {
    let mut nodes: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("x{i}"), "expr": format!("normal({i}, 1)")}))
        .collect();
    let sum = (0..n)
        .map(|i| format!("x{i}"))
        .collect::<Vec<_>>()
        .join(" + ");
    nodes.push(json!({"id": "total", "expr": sum, "output": true}));
    json!({"name": "wide", "nodes": nodes})
}

/// Iterations of `wide_model(40)` that take a second or more, in a debug or a release build:
/// for tests that need a run still going while they act.
pub fn slow_iterations() -> u64 {
    if cfg!(debug_assertions) {
        400_000
    } else {
        4_000_000
    }
}

pub fn model(text: &str) -> Value {
    serde_json::from_str(text).expect("example model is JSON")
}

pub use crate::test_db::TestDb;

/// The configuration for a test: the defaults, `vars` on top, the test's database.
pub fn config(url: &str, vars: &[(&str, &str)]) -> Config {
    let mut all: Vec<(String, String)> = vec![("DATABASE_URL".into(), url.into())];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(|name| {
        all.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test configuration is valid")
}

/// The app on a fresh database, migrated, with its executor running.
#[derive(Debug)]
pub struct TestApp {
    pub state: AppState,
    /// Held for its `Drop`: the database goes after the app's threads have stopped.
    #[allow(dead_code)]
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    pub async fn spawn_with(vars: &[(&str, &str)]) -> TestApp {
        let db = TestDb::create().await;
        let state = AppState::new(config(&db.url, vars)).expect("app state");
        state.prepare_database().await.expect("migrations apply");
        TestApp { state, db }
    }

    pub fn router(&self) -> Router {
        scenarioforge_server::app(self.state.clone())
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self
            .router()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, headers, bytes)
    }

    /// A JSON request; the answer parsed as JSON (or `null` when empty).
    pub async fn json(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let mut headers = headers.to_vec();
        headers.push(("content-type", "application/json"));
        let (status, _, bytes) = self.request(method, uri, &headers, body).await;
        (status, parse(&bytes))
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.json(Method::GET, uri, &[], None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.json(Method::POST, uri, &[], Some(body)).await
    }

    /// Creates a run; returns its id and owner token.
    pub async fn create_run(&self, model: &Value, settings: &Value) -> (String, String) {
        let (status, body) = self
            .post("/api/runs", &json!({"model": model, "settings": settings}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        (
            body["id"].as_str().expect("id").to_string(),
            body["owner_token"].as_str().expect("token").to_string(),
        )
    }

    /// The stored summary of run `id` exactly as `GET /api/runs/{id}` sends its bytes.
    pub async fn raw_summary(&self, id: &str) -> String {
        let (_, _, bytes) = self
            .request(Method::GET, &format!("/api/runs/{id}"), &[], Body::empty())
            .await;
        #[derive(serde::Deserialize)]
        struct Raw<'a> {
            #[serde(borrow)]
            summary: &'a serde_json::value::RawValue,
        }
        let raw: Raw = serde_json::from_slice(&bytes).expect("a run with a summary");
        raw.summary.get().to_string()
    }

    /// Polls the run until it has finished; returns it.
    pub async fn wait_finished(&self, id: &str) -> Value {
        wait_for(Duration::from_secs(120), || async {
            let (status, run) = self.get(&format!("/api/runs/{id}")).await;
            assert_eq!(status, StatusCode::OK, "{run}");
            (!matches!(run["status"].as_str(), Some("queued" | "running"))).then_some(run)
        })
        .await
    }

    /// How many runs the database holds.
    pub async fn stored_runs(&self) -> i64 {
        sqlx::query_scalar("select count(*) from runs")
            .fetch_one(&self.state.pool)
            .await
            .expect("count runs")
    }

    /// Waits (up to 30 s) until run `id` has status `status`.
    pub async fn wait_status(&self, id: &str, status: &str) {
        wait_for(Duration::from_secs(30), || async {
            let (_, run) = self.get(&format!("/api/runs/{id}")).await;
            (run["status"] == status).then_some(())
        })
        .await;
    }

    /// `POST /api/runs/{id}/cancel` with the owner token.
    pub async fn cancel(&self, id: &str, owner: &str) -> (StatusCode, Value) {
        self.json(
            Method::POST,
            &format!("/api/runs/{id}/cancel"),
            &[("authorization", &format!("Bearer {owner}"))],
            None,
        )
        .await
    }

    /// Serves the app on a real socket (127.0.0.1, a free port).
    pub async fn serve(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.state.begin_shutdown();
        self.state.executor.join(Duration::from_secs(10));
    }
}

pub fn parse(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
    }
}

/// Calls `check` until it returns something, or panics after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Asserts the error body shape, the code, and that the message contains `needle`.
pub fn assert_error(body: &Value, code: &str, needle: &str) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    let message = error["message"].as_str().expect("message is a string");
    assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    assert!(error.get("details").is_some(), "{body}");
    assert!(
        !message.starts_with(char::is_uppercase),
        "messages start lowercase: {message}"
    );
    assert!(!message.ends_with('.'), "no trailing period: {message}");
}

/// The CLI's `--format json` summary of `model` (a file path).
pub fn cli_summary(model_path: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scenarioforge"))
        .arg("run")
        .arg(model_path)
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run the CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A summary document with its `elapsed_ms` (the one field that differs between identical
/// runs) set to 0 and trailing whitespace removed.
pub fn without_elapsed(summary: &str) -> String {
    summary
        .trim_end()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("\"elapsed_ms\":") {
                "  \"elapsed_ms\": 0,".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn examples_dir() -> String {
    format!("{}/../examples", env!("CARGO_MANIFEST_DIR"))
}

/// One HTTP/1.1 request over a real socket (`Connection: close`); the status, the headers as
/// text and the body, de-chunked.
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    split_response(&response)
}

/// Status, headers and (de-chunked) body of a raw HTTP/1.1 response.
pub fn split_response(response: &[u8]) -> (u16, String, String) {
    let text = String::from_utf8_lossy(response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a complete response head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, head.to_string(), body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Server-Sent Events as (event name, data as JSON).
pub fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(n) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    name = Some(n.trim().to_string());
                } else if let Some(d) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data = Some(d.trim().to_string());
                }
            }
            Some((name?, parse(data?.as_bytes())))
        })
        .collect()
}

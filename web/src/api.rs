//! The server's HTTP API, as the app uses it: relative URLs (`/api/...`), since the server
//! serves the app next to its API.

use std::collections::BTreeMap;

use gloo_net::http::{Request, Response};
use scenarioforge_core::{ModelSpec, RunStatus, Settings, Summary};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Why a request did not give what was asked.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No answer: the server is down or unreachable.
    Offline(String),
    NotFound,
    /// An error body from the server: its code and message.
    Server {
        status: u16,
        code: String,
        message: String,
    },
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Offline(why) => write!(f, "the server is offline ({why})"),
            ApiError::NotFound => f.write_str("not found"),
            ApiError::Server {
                status, message, ..
            } => write!(f, "{message} (HTTP {status})"),
        }
    }
}

#[derive(Serialize)]
struct RunRequest<'a> {
    model: &'a ModelSpec,
    settings: &'a Settings,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Created {
    pub id: String,
    pub owner_token: String,
    pub status: RunStatus,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RunProgress {
    pub iterations_done: u64,
    pub iterations_total: u64,
}

/// `GET /api/runs/{id}`.
#[derive(Clone, Debug, Deserialize)]
pub struct RunView {
    pub id: String,
    pub status: RunStatus,
    pub progress: RunProgress,
    pub model: ModelSpec,
    pub settings: Value,
    pub summary: Option<Summary>,
    pub error: Option<String>,
    #[serde(default)]
    pub sample_rows: u64,
    /// The convergence history kept with a finished run.
    #[serde(default)]
    pub convergence: Option<Vec<scenarioforge_core::convergence::Point>>,
}

/// A `progress` event of `GET /api/runs/{id}/events` (a `done` event is not read: the run
/// is fetched whole then).
#[derive(Clone, Debug, Deserialize)]
pub struct RunEvent {
    pub status: RunStatus,
    pub iterations_done: u64,
    pub iterations_total: u64,
    #[serde(default)]
    pub outputs: BTreeMap<String, OutputProgress>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct OutputProgress {
    pub mean: Option<f64>,
    pub sem: Option<f64>,
}

/// A page of `GET /api/runs/{id}/samples`.
#[derive(Clone, Debug, Deserialize)]
pub struct SamplePage {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<f64>>>,
    pub next_after: Option<u64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

async fn check(response: Result<Response, gloo_net::Error>) -> Result<Response, ApiError> {
    let response = response.map_err(|e| ApiError::Offline(e.to_string()))?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    if status == 404 {
        return Err(ApiError::NotFound);
    }
    // A proxy or a stopped server answers 502/503/504 without our error body.
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(ApiError::Server {
            status,
            code: body.error.code,
            message: body.error.message,
        }),
        Err(_) if status >= 502 => Err(ApiError::Offline(format!("HTTP {status}"))),
        Err(_) => Err(ApiError::Server {
            status,
            code: "unknown".to_string(),
            message: response.status_text(),
        }),
    }
}

async fn json<T: for<'de> Deserialize<'de>>(response: Response) -> Result<T, ApiError> {
    response.json::<T>().await.map_err(|e| ApiError::Server {
        status: response.status(),
        code: "bad_response".to_string(),
        message: format!("unexpected answer from the server: {e}"),
    })
}

/// `GET /health`: true when the server itself answers, `200` (ok) or `503` (degraded: its
/// database is away, and it catches up by itself). No answer, or a proxy's `502`/`504`,
/// means offline.
pub async fn server_online() -> bool {
    Request::get("/health")
        .send()
        .await
        .is_ok_and(|r| matches!(r.status(), 200 | 503))
}

/// `POST /api/runs`.
pub async fn create_run(model: &ModelSpec, settings: &Settings) -> Result<Created, ApiError> {
    let request = Request::post("/api/runs")
        .json(&RunRequest { model, settings })
        .map_err(|e| ApiError::Offline(e.to_string()))?;
    json(check(request.send().await).await?).await
}

/// `GET /api/runs/{id}`.
pub async fn get_run(id: &str) -> Result<RunView, ApiError> {
    json(check(Request::get(&format!("/api/runs/{id}")).send().await).await?).await
}

/// `GET /api/runs/{id}/samples?after=&limit=`.
pub async fn samples(id: &str, after: Option<u64>, limit: u64) -> Result<SamplePage, ApiError> {
    let mut url = format!("/api/runs/{id}/samples?limit={limit}");
    if let Some(after) = after {
        url.push_str(&format!("&after={after}"));
    }
    json(check(Request::get(&url).send().await).await?).await
}

/// `POST /api/runs/{id}/cancel` with the owner token.
pub async fn cancel(id: &str, owner_token: &str) -> Result<(), ApiError> {
    check(
        Request::post(&format!("/api/runs/{id}/cancel"))
            .header("authorization", &format!("Bearer {owner_token}"))
            .send()
            .await,
    )
    .await
    .map(|_| ())
}

pub fn events_url(id: &str) -> String {
    format!("/api/runs/{id}/events")
}

pub fn samples_csv_url(id: &str) -> String {
    format!("/api/runs/{id}/samples?format=csv")
}

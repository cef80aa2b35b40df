//! `/api/runs`: create a run, read it, cancel it, delete it.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use scenarioforge_core::check::join_messages;
use scenarioforge_core::cost::MemoryEstimate;
use scenarioforge_core::diag::Diagnostic;
use scenarioforge_core::model::thousands;
use scenarioforge_core::run::ENGINE;
use scenarioforge_core::{
    Checked, Model, ModelSpec, Rejected, RunSettings, RunStatus, Settings, check, cost,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Config;
use crate::db;
use crate::error::ApiError;
use crate::executor::Job;
use crate::extract::{ClientAddr, JsonBody, OwnerToken, RunId, hex, new_owner_token, token_hash};
use crate::live::Ending;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/runs", post(create))
        .route("/api/runs/{id}", get(read).delete(remove))
        .route("/api/runs/{id}/cancel", post(cancel))
}

/// The body of `POST /api/runs` and `POST /api/models/validate`: a model, and settings that
/// override the model's own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub model: ModelSpec,
    #[serde(default)]
    pub settings: Settings,
}

/// A request that passed every check: what the executor will run.
#[derive(Debug)]
pub struct ValidRun {
    pub spec: ModelSpec,
    pub settings: RunSettings,
    pub estimate: Estimate,
}

/// What the engine estimates a run will cost before it starts: upper bounds, from the
/// compiled model and the settings alone.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Estimate {
    /// Its peak memory (`core::cost::memory`), in bytes.
    pub memory_bytes: u64,
    /// Its work (`core::cost::work`), in seconds of one core of the reference machine.
    pub core_seconds: f64,
    /// That work shared over the server's engine threads: about the longest the run takes
    /// with the server to itself, before `MAX_SIMULATION_TIME`.
    pub seconds: f64,
}

impl Estimate {
    pub fn of(model: &Model, settings: &RunSettings, threads: usize) -> Estimate {
        Estimate::with_memory(
            &cost::memory(model, settings, threads),
            model,
            settings,
            threads,
        )
    }

    /// The estimate, given the memory estimate already computed.
    fn with_memory(
        memory: &MemoryEstimate,
        model: &Model,
        settings: &RunSettings,
        threads: usize,
    ) -> Estimate {
        let core_seconds = cost::work(model, settings).core_seconds();
        Estimate {
            memory_bytes: memory.total(),
            core_seconds,
            seconds: core_seconds / threads.max(1) as f64,
        }
    }
}

impl RunRequest {
    /// Checks the model and its settings with the engine's one entry point, against the
    /// server's limits, collecting every diagnostic of both. CPU-bound: call it off the
    /// async runtime ([`AppState::blocking`]).
    pub fn validate(self, config: &Config) -> Result<ValidRun, ApiError> {
        match check(&self.model, &self.settings, &config.limits()) {
            Ok(Checked { model, settings }) => {
                let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                let memory = cost::memory(&model, &settings, threads);
                let estimate = Estimate::with_memory(&memory, &model, &settings, threads);
                let refused = |message| ApiError::InvalidSettings {
                    message,
                    diagnostics: Vec::new(),
                };
                // A run above the whole budget would wait for ever.
                let (limit, variable) = if config.memory_budget < config.max_run_memory {
                    (config.memory_budget, "MEMORY_BUDGET")
                } else {
                    (config.max_run_memory, "MAX_RUN_MEMORY")
                };
                if let Some(message) = memory.refusal(&model, limit, variable) {
                    return Err(refused(message));
                }
                if let Some(limit) = config.max_run_work
                    && estimate.core_seconds > limit as f64
                {
                    return Err(refused(format!(
                        "the run would need up to about {} of one core's work for {} iterations, above the limit of {} (MAX_RUN_WORK)",
                        cost::approx_seconds(estimate.core_seconds),
                        thousands(settings.iterations()),
                        cost::approx_seconds(limit as f64)
                    )));
                }
                Ok(ValidRun {
                    spec: self.model,
                    settings,
                    estimate,
                })
            }
            Err(Rejected::Model(diagnostics)) => Err(ApiError::InvalidModel(diagnostics)),
            Err(Rejected::Settings { diagnostics, .. }) => Err(settings_error(
                &self.model.settings.overridden_by(&self.settings),
                config.max_iterations,
                diagnostics,
            )),
        }
    }
}

/// `422 invalid_settings`, whose message names the limit that was crossed.
fn settings_error(effective: &Settings, max: u64, diagnostics: Vec<Diagnostic>) -> ApiError {
    let message = match effective.iterations {
        Some(n) if n > max => format!(
            "iterations {} exceed the limit of {} (MAX_SIMULATION_ITERATIONS)",
            thousands(n),
            thousands(max)
        ),
        _ => format!("invalid settings: {}", join_messages(&diagnostics)),
    };
    ApiError::InvalidSettings {
        message,
        diagnostics,
    }
}

#[derive(Debug, Serialize)]
struct Links {
    #[serde(rename = "self")]
    this: String,
    events: String,
    samples: String,
    share: String,
}

fn links(id: Uuid) -> Links {
    Links {
        this: format!("/api/runs/{id}"),
        events: format!("/api/runs/{id}/events"),
        samples: format!("/api/runs/{id}/samples"),
        // The web app's page for the run (issue 4 serves it at `/r/{id}`).
        share: format!("/r/{id}"),
    }
}

/// `POST /api/runs` → `202`: the run is stored `queued` before the answer, then executed.
async fn create(
    State(state): State<AppState>,
    client: ClientAddr,
    JsonBody(request): JsonBody<RunRequest>,
) -> Result<Response, ApiError> {
    let config = Arc::clone(&state.config);
    let run = state.blocking(move || request.validate(&config)).await??;
    let id = Uuid::new_v4();
    let token = new_owner_token()?;
    let model = serde_json::to_value(&run.spec)
        .map_err(|e| ApiError::Internal(format!("cannot serialise a model: {e}")))?;
    if let Some(field) = nul_field(&model, "model") {
        return Err(ApiError::InvalidBody {
            message: format!(
                "invalid request body at `{field}`: text may not contain the character U+0000, which the database cannot store"
            ),
            details: json!({ "field": field }),
        });
    }
    let spec_hash = spec_hash(&model, &run.settings.to_settings());
    // Bounds on waiting work, checked and stored in one step: a refused run leaves nothing.
    let client = client.0.map(|ip| ip.to_string());
    let admitted = db::insert_run(
        &state.pool,
        &db::NewRun {
            id,
            owner_token_hash: &token_hash(&token),
            model: &model,
            settings: &run.settings,
            spec_hash: &spec_hash,
            engine: ENGINE,
            client: client.as_deref(),
        },
        db::Admission {
            max_queued: state.config.max_queued_runs,
            max_per_client: state.config.max_runs_per_client,
        },
    )
    .await?;
    match admitted {
        Ok(()) => {}
        Err(db::Refused::QueueFull { queued }) => return Err(ApiError::TooManyRuns { queued }),
        Err(db::Refused::ClientFull { active }) => {
            return Err(ApiError::TooManyClientRuns { active });
        }
    }
    state.metrics.run_created();
    state.executor.submit(Job {
        id,
        spec: run.spec,
        settings: run.settings,
    });
    let links = links(id);
    let location = HeaderValue::from_str(&links.this).ok();
    let body = json!({
        "id": id,
        "owner_token": token,
        "status": RunStatus::Queued,
        "estimate": run.estimate,
        "links": links,
    });
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The path (`model.nodes[2].label`) of the first string in `value` that holds U+0000,
/// which PostgreSQL's `jsonb` refuses.
fn nul_field(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_field(v, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| nul_field(v, &format!("{path}.{k}"))),
        _ => None,
    }
}

/// SHA-256 of the model and the effective settings, as stored.
fn spec_hash(model: &Value, settings: &Settings) -> String {
    let mut hasher = Sha256::new();
    hasher.update(model.to_string().as_bytes());
    hasher.update(b"\n");
    hasher.update(json!(settings).to_string().as_bytes());
    hex(&hasher.finalize())
}

#[derive(Debug, Serialize)]
struct RunView {
    id: Uuid,
    status: RunStatus,
    progress: ProgressView,
    timings: Timings,
    model: Value,
    settings: Value,
    engine: String,
    spec_hash: String,
    /// The summary document exactly as stored: the bytes of `scenarioforge run --format json`.
    summary: Option<Box<RawValue>>,
    warnings: Value,
    /// Each output's running mean and SEM as the run went, once it has finished (at most a
    /// few hundred points).
    convergence: Value,
    error: Option<String>,
    sample_rows: i32,
    links: Links,
}

#[derive(Debug, Serialize)]
struct ProgressView {
    iterations_done: i64,
    iterations_total: i64,
}

#[derive(Debug, Serialize)]
struct Timings {
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    /// Time spent running (queueing excluded), once finished.
    elapsed_ms: Option<i64>,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `GET /api/runs/{id}`: anyone with the id may read the run (the id is the share link).
async fn read(State(state): State<AppState>, RunId(id): RunId) -> Result<Response, ApiError> {
    let row = db::get_run(&state.pool, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let mut iterations_done = row.iterations_done;
    // The database hears of progress once a second; the executor knows it chunk by chunk.
    if let Some(live) = state.executor.live(id)
        && let crate::live::RunEvent::Progress(p) = live.subscribe().0.event
    {
        iterations_done = iterations_done.max(i64::try_from(p.iterations_done).unwrap_or(0));
    }
    let summary = row
        .summary
        .map(RawValue::from_string)
        .transpose()
        .map_err(|e| ApiError::Internal(format!("stored summary of {id} is not JSON: {e}")))?;
    let view = RunView {
        id: row.id,
        status: row.status,
        progress: ProgressView {
            iterations_done,
            iterations_total: row.iterations_total,
        },
        timings: Timings {
            created_at: rfc3339(row.created_at),
            started_at: row.started_at.map(rfc3339),
            finished_at: row.finished_at.map(rfc3339),
            elapsed_ms: row.elapsed_ms,
        },
        model: row.model.0,
        settings: row.settings.0,
        engine: row.engine,
        spec_hash: row.spec_hash,
        summary,
        warnings: row.warnings.map_or_else(|| json!([]), |w| w.0),
        convergence: row.convergence.map_or(Value::Null, |c| c.0),
        error: row.error,
        sample_rows: row.sample_rows,
        links: links(id),
    };
    Ok(Json(view).into_response())
}

pub fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound {
        message: format!("no run with id `{id}`"),
    }
}

/// Checks the owner token of run `id`; returns its status.
async fn authorize(state: &AppState, id: Uuid, token: &OwnerToken) -> Result<RunStatus, ApiError> {
    let (status, hash) = db::get_owner(&state.pool, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    // Hashes of 256-bit random tokens are compared: timing reveals nothing usable.
    match token.0 {
        Some(given) if given.as_slice() == hash.as_slice() => Ok(status),
        _ => Err(ApiError::Forbidden),
    }
}

/// `POST /api/runs/{id}/cancel` (owner only) → `202`. A queued run is cancelled at once; a
/// running one stops at its next chunk and keeps its partial summary, status `cancelled`.
async fn cancel(
    State(state): State<AppState>,
    RunId(id): RunId,
    token: OwnerToken,
) -> Result<Response, ApiError> {
    let status = authorize(&state, id, &token).await?;
    if status.is_finished() {
        return Err(ApiError::RunFinished { status });
    }
    if db::cancel_queued(&state.pool, id).await? {
        let cancelled = RunStatus::Cancelled;
        state.executor.forget(id, Ending::Finished(cancelled));
        let body =
            json!({ "id": id, "status": cancelled, "cancel_requested": true, "links": links(id) });
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    state.executor.cancel(id);
    // The run ends `cancelled` at its next chunk boundary; its events say when.
    let body = json!({ "id": id, "status": RunStatus::Running, "cancel_requested": true, "links": links(id) });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// `DELETE /api/runs/{id}` (owner only) → `204`: the run and its rows are gone; a running run
/// is stopped first.
async fn remove(
    State(state): State<AppState>,
    RunId(id): RunId,
    token: OwnerToken,
) -> Result<Response, ApiError> {
    authorize(&state, id, &token).await?;
    state.executor.cancel(id);
    db::delete_run(&state.pool, id).await?;
    state.executor.forget(id, Ending::Deleted);
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The API's one error type: every failure a handler can answer with, each with one status code,
//! and one body shape for all of them: `{"error": {"code", "message", "details"}}`.
//!
//! Server-side failures (5xx) are logged here, with their cause, and the client gets a message
//! that says what happened without echoing internals.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scenarioforge_core::{Diagnostic, RunStatus};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::{self, Failure};

#[derive(Debug)]
pub enum ApiError {
    /// 400 `invalid_json`: the body is not JSON (a syntax error or an empty body).
    InvalidJson { message: String, details: Value },
    /// 422 `invalid_body`: JSON, but not the shape expected (a wrong type, an unknown or a
    /// missing field); `details` names the field and the position.
    InvalidBody { message: String, details: Value },
    /// 422 `invalid_model`: the model does not compile; `details` holds every diagnostic.
    InvalidModel(Vec<Diagnostic>),
    /// 422 `invalid_settings`: the run settings are out of range (iterations above
    /// `MAX_SIMULATION_ITERATIONS`, ...); `details` holds every diagnostic.
    InvalidSettings {
        message: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// 413 `payload_too_large`: the body is larger than `MAX_REQUEST_SIZE`.
    PayloadTooLarge { limit: usize },
    /// 400 `invalid_id`: the run id in the path is not a UUID.
    InvalidId { id: String },
    /// 400 `invalid_parameter`: a query parameter is malformed or out of range.
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },
    /// 404 `not_found`: no run with this id, or no such route.
    NotFound { message: String },
    /// 405 `method_not_allowed`
    MethodNotAllowed,
    /// 403 `forbidden`: the owner token is missing or wrong.
    Forbidden,
    /// 409 `run_finished`: the run has already finished and cannot be cancelled.
    RunFinished { status: RunStatus },
    /// 408 `request_timeout`: the request took longer than `REQUEST_TIMEOUT`.
    RequestTimeout { limit_ms: u128 },
    /// 429 `too_many_runs`: `MAX_QUEUED_RUNS` runs are already waiting; try again later.
    TooManyRuns { queued: usize },
    /// 429 `too_many_client_runs`: this client has `MAX_RUNS_PER_CLIENT` runs queued or
    /// running; try again when one finishes.
    TooManyClientRuns { active: usize },
    /// 415 `unsupported_media_type`: a JSON endpoint got a body that does not say it is JSON.
    UnsupportedMediaType { got: Option<String> },
    /// 403 `forbidden_origin`: a state-changing request from a page of another site.
    ForbiddenOrigin { origin: String },
    /// 401 `unauthorized`: `/metrics` without its `METRICS_TOKEN`.
    Unauthorized,
    /// 503 `too_many_streams`: `MAX_EVENT_STREAMS` event streams are open; try again shortly.
    TooManyStreams { limit: usize },
    /// 503 `database_unavailable`: the database cannot be reached or did not answer in time.
    DatabaseUnavailable(sqlx::Error),
    /// 500 `internal`: a bug; logged, never described to the client.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson { .. }
            | ApiError::InvalidId { .. }
            | ApiError::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody { .. }
            | ApiError::InvalidModel(_)
            | ApiError::InvalidSettings { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Forbidden | ApiError::ForbiddenOrigin { .. } => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::RunFinished { .. } => StatusCode::CONFLICT,
            ApiError::RequestTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::DatabaseUnavailable(_) | ApiError::TooManyStreams { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::TooManyRuns { .. } | ApiError::TooManyClientRuns { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson { .. } => "invalid_json",
            ApiError::InvalidBody { .. } => "invalid_body",
            ApiError::InvalidModel(_) => "invalid_model",
            ApiError::InvalidSettings { .. } => "invalid_settings",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::InvalidId { .. } => "invalid_id",
            ApiError::InvalidParameter { .. } => "invalid_parameter",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Forbidden => "forbidden",
            ApiError::ForbiddenOrigin { .. } => "forbidden_origin",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::Unauthorized => "unauthorized",
            ApiError::RunFinished { .. } => "run_finished",
            ApiError::RequestTimeout { .. } => "request_timeout",
            ApiError::DatabaseUnavailable(_) => "database_unavailable",
            ApiError::TooManyRuns { .. } => "too_many_runs",
            ApiError::TooManyClientRuns { .. } => "too_many_client_runs",
            ApiError::TooManyStreams { .. } => "too_many_streams",
            ApiError::Internal(_) => "internal",
        }
    }

    fn message_and_details(&self) -> (String, Value) {
        match self {
            ApiError::InvalidJson { message, details }
            | ApiError::InvalidBody { message, details } => (message.clone(), details.clone()),
            ApiError::InvalidModel(diagnostics) => {
                let n = diagnostics.len();
                let message = match diagnostics.first() {
                    Some(first) if n == 1 => format!("the model is invalid: {}", first.message),
                    _ => format!("the model is invalid: {n} problems, listed in details"),
                };
                (message, json!(diagnostics))
            }
            ApiError::InvalidSettings {
                message,
                diagnostics,
            } => (message.clone(), json!(diagnostics)),
            ApiError::PayloadTooLarge { limit } => (
                format!(
                    "the request body is larger than the limit of {} (MAX_REQUEST_SIZE)",
                    human_bytes(*limit)
                ),
                json!({ "limit": "MAX_REQUEST_SIZE", "limit_bytes": limit }),
            ),
            ApiError::InvalidId { id } => (
                format!(
                    "`{id}` is not a run id: expected a UUID such as `3f2b8c1e-0d4a-4c3e-9a57-6f1e2d3c4b5a`"
                ),
                json!({ "parameter": "id" }),
            ),
            ApiError::InvalidParameter { parameter, message } => {
                (message.clone(), json!({ "parameter": parameter }))
            }
            ApiError::NotFound { message } => (message.clone(), Value::Null),
            ApiError::MethodNotAllowed => (
                "this method is not allowed on this path".to_string(),
                Value::Null,
            ),
            ApiError::Forbidden => (
                "this needs the run's owner token: send `Authorization: Bearer <owner_token>`"
                    .to_string(),
                Value::Null,
            ),
            ApiError::RunFinished { status } => (
                format!("the run has already finished with status `{status}`"),
                json!({ "status": status }),
            ),
            ApiError::RequestTimeout { limit_ms } => (
                format!(
                    "the request took longer than the limit of {limit_ms} ms (REQUEST_TIMEOUT)"
                ),
                json!({ "limit": "REQUEST_TIMEOUT", "limit_ms": limit_ms }),
            ),
            ApiError::DatabaseUnavailable(_) => (
                "the database is unavailable: try again shortly".to_string(),
                Value::Null,
            ),
            ApiError::TooManyRuns { queued } => (
                format!("{queued} runs are already waiting (MAX_QUEUED_RUNS): try again shortly"),
                json!({ "limit": "MAX_QUEUED_RUNS", "queued": queued }),
            ),
            ApiError::TooManyClientRuns { active } => (
                format!(
                    "this client already has {active} runs queued or running (MAX_RUNS_PER_CLIENT): try again when one finishes"
                ),
                json!({ "limit": "MAX_RUNS_PER_CLIENT", "active": active }),
            ),
            ApiError::UnsupportedMediaType { got } => (
                format!(
                    "the request body must be JSON: send `Content-Type: application/json`{}",
                    got.as_ref()
                        .map(|g| format!(", not `{g}`"))
                        .unwrap_or_default()
                ),
                json!({ "header": "content-type", "got": got }),
            ),
            ApiError::ForbiddenOrigin { origin } => (
                format!(
                    "requests that change state are accepted from this server's own pages and ALLOWED_ORIGINS only, not from `{origin}`"
                ),
                json!({ "header": "origin", "origin": origin }),
            ),
            ApiError::Unauthorized => (
                "this needs the metrics token: send `Authorization: Bearer <METRICS_TOKEN>`"
                    .to_string(),
                Value::Null,
            ),
            ApiError::TooManyStreams { limit } => (
                format!(
                    "{limit} event streams are already open (MAX_EVENT_STREAMS): try again shortly, or poll GET /api/runs/{{id}}"
                ),
                json!({ "limit": "MAX_EVENT_STREAMS", "open": limit }),
            ),
            ApiError::Internal(_) => ("internal server error".to_string(), Value::Null),
        }
    }
}

impl ApiError {
    /// Seconds a client should wait before trying again, for the errors that pass.
    fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::TooManyRuns { .. } | ApiError::TooManyClientRuns { .. } => Some(10),
            ApiError::DatabaseUnavailable(_) | ApiError::TooManyStreams { .. } => Some(5),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        match db::classify(&e) {
            Failure::Unavailable => ApiError::DatabaseUnavailable(e),
            // Values are checked before they reach SQL (`extract::no_nul`), so this is a
            // backstop: the client's, but its field is not known here.
            Failure::Refused => ApiError::InvalidBody {
                message: format!(
                    "the database refused a value of the request (SQLSTATE {})",
                    db::sqlstate(&e).unwrap_or_default()
                ),
                details: json!({ "field": null }),
            },
            Failure::Bug => ApiError::Internal(format!("database error: {e}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, mut details) = self.message_and_details();
        match &self {
            ApiError::DatabaseUnavailable(e) => tracing::warn!(error = %e, "database error"),
            ApiError::Internal(e) => {
                // The client gets the id, the log the cause: an operator can match the two.
                let error_id = Uuid::new_v4();
                tracing::error!(%error_id, error = %e, "internal error");
                details = json!({ "error_id": error_id });
            }
            _ => {}
        }
        let body = json!({
            "error": { "code": self.code(), "message": message, "details": details }
        });
        let mut response = (status, Json(body)).into_response();
        // Load and outages pass: say when to come back.
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `10485760` as `10 MiB`, `1536` as `1536 bytes`.
pub fn human_bytes(n: usize) -> String {
    const MIB: usize = 1 << 20;
    const KIB: usize = 1 << 10;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_well() {
        for (n, want) in [
            (10 << 20, "10 MiB"),
            (512 << 10, "512 KiB"),
            (1500, "1500 bytes"),
        ] {
            assert_eq!(human_bytes(n), want);
        }
    }
}

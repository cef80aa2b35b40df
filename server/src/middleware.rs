//! Middleware of every request: the `REQUEST_TIMEOUT` (408 in the API's error shape), the
//! same-origin check of state-changing requests, and the request counter behind
//! `http_requests_total`.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// Answers `408` when the handler has not produced a response within `REQUEST_TIMEOUT`
/// (reading a slow body included). A streamed response (events, CSV) has started by then and
/// is not cut off.
pub async fn request_timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout {
            limit_ms: limit.as_millis(),
        }
        .into_response(),
    }
}

/// Refuses a state-changing request (anything but GET, HEAD and OPTIONS) sent by a page of
/// another site: its `Origin` must be this server's own (the scheme and the `Host` it was
/// reached by) or one of `ALLOWED_ORIGINS`. Requests without an `Origin` (command-line
/// clients, other servers) are not a browser's and pass.
pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use axum::http::{Method, header};
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return next.run(req).await;
    };
    let origin = String::from_utf8_lossy(origin.as_bytes()).to_ascii_lowercase();
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).to_ascii_lowercase());
    let own = host.is_some_and(|host| {
        origin == format!("http://{host}") || origin == format!("https://{host}")
    });
    if own || state.config.allowed_origins.contains(&origin) {
        next.run(req).await
    } else {
        ApiError::ForbiddenOrigin { origin }.into_response()
    }
}

/// Counts responses by route (the pattern, such as `/api/runs/{id}`, never the raw path, so the
/// label set stays small) and status.
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(req).await;
    state
        .metrics
        .http_response(&route, response.status().as_u16());
    response
}

//! ScenarioForge's server: runs too big for a browser, executed on a pool of threads, every
//! result kept in PostgreSQL behind an unguessable link, progress streamed live.
//!
//! [`app`] is the whole HTTP API as an axum `Router`, so tests drive it without a socket:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scenarioforge_server::{app, config::Config, state::AppState};
//! use tower::ServiceExt;
//!
//! let config = Config::from_env()?;
//! let state = AppState::new(config)?;
//! state.prepare_database().await?; // migrations, and runs left unfinished queued again
//! let request = axum::http::Request::get("/health").body(axum::body::Body::empty())?;
//! let response = app(state).oneshot(request).await?;
//! assert!(response.status().is_success());
//! # Ok(()) }
//! ```
//!
//! The pieces, in the order a request meets them: [`config`] (the environment), [`middleware`]
//! (timeout, request counts), [`routes`] (one router per resource), [`extract`] (bodies, ids and
//! tokens made into values), [`error`] (the one error shape), [`executor`] (the run threads),
//! [`live`] (a running run's events), [`db`] (every SQL statement), [`telemetry`] (`/metrics`).
#![forbid(unsafe_code)]

pub mod budget;
pub mod config;
pub mod db;
pub mod error;
pub mod executor;
pub mod extract;
pub mod live;
pub mod middleware;
pub mod routes;
pub mod state;
pub mod telemetry;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use sha2::{Digest, Sha256};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// The HTTP API: `/api/runs`, `/api/models`, `/health`, `/metrics`.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_request_size;
    let policy = content_security_policy(&state.config.web_dir);
    Router::new()
        .merge(routes::runs::router())
        .merge(routes::events::router())
        .merge(routes::samples::router())
        .merge(routes::models::router())
        .merge(routes::health::router())
        .merge(routes::metrics::router())
        .route("/api/{*rest}", axum::routing::any(no_such_endpoint))
        .fallback_service(web_app(&state.config.web_dir))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::same_origin,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::count_requests,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            policy,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".to_string()).into_response()
        }))
        .with_state(state)
}

/// The content security policy of every response: the web app's own files, its WebAssembly
/// (`'wasm-unsafe-eval'` allows compiling it, not `eval`), and the one inline script Trunk
/// writes into `index.html` to start it, allowed by its hash, read from the built file at
/// start-up; nothing from elsewhere, no plugins, no framing. API responses carry it too, so a
/// JSON body opened in a tab cannot run anything either.
fn content_security_policy(web_dir: &std::path::Path) -> HeaderValue {
    let index = std::fs::read_to_string(web_dir.join("index.html")).unwrap_or_default();
    let hashes: String = inline_scripts(&index)
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(" 'sha256-{}'", BASE64_STANDARD.encode(digest))
        })
        .collect();
    let policy = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    // Base64 and the fixed text are visible ASCII, so this cannot fail; if it ever did, the
    // strictest policy is the safe answer.
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

/// The bodies of the `<script>` elements of `html` that have no `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        let (body, _) = body.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

async fn no_such_endpoint() -> ApiError {
    ApiError::NotFound {
        message: "no such endpoint".to_string(),
    }
}

/// The web app: the files of `dir` at `/`, and its `index.html` for every other path, so that
/// the app's own routes (`/r/{id}`) load it. Without a built app, every such path is a 404
/// that says how to build it.
fn web_app(dir: &std::path::Path) -> axum::routing::MethodRouter {
    let index = dir.join("index.html");
    if index.is_file() {
        axum::routing::get_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
    } else {
        let message = format!(
            "no web app at `{}`: build it with `trunk build --release` (scripts/run.sh does), or set WEB_DIR",
            dir.display()
        );
        axum::routing::any(move || {
            let message = message.clone();
            async move { ApiError::NotFound { message } }
        })
    }
}

/// How long a graceful shutdown waits for the runs to reach a chunk boundary.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// `scenarioforge serve`: listens on `BIND_ADDR` until SIGTERM or SIGINT, then stops
/// accepting, lets running runs reach a chunk boundary and leaves them to be resumed.
pub async fn serve(config: Config) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind_addr).await?;
    let state = AppState::new(config).map_err(std::io::Error::other)?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    // Migrations first. If the database is not up yet, the server starts anyway, answers 503
    // (and /health says degraded) meanwhile, and catches up when it comes.
    let prepared = match state.prepare_database().await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(runs = n, "resuming runs left unfinished");
            }
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "database not ready at start-up; retrying in the background");
            false
        }
    };
    tokio::spawn({
        let state = state.clone();
        async move {
            if !prepared {
                state.prepare_database_with_retry().await;
            }
            state.retention_task().await;
        }
    });
    let shutdown = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            tracing::info!(
                "shutting down: runs stop at a chunk boundary and resume at the next start"
            );
            state.begin_shutdown();
        }
    };
    let service = app(state.clone());
    accept(listener, service, &state, shutdown).await;
    let executor = state.executor.clone();
    let joined = tokio::task::spawn_blocking(move || executor.join(SHUTDOWN_GRACE))
        .await
        .unwrap_or(false);
    if !joined {
        tracing::warn!("runs still busy after {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    state.pool.close().await;
    Ok(())
}

/// Serves connections until `shutdown`, then waits for those open to finish (their event
/// streams end with the shutdown). At most `MAX_CONNECTIONS` are open: one more is closed as
/// soon as it is accepted, and a client that is slow to send a request head, or keeps an idle
/// connection, is dropped after `HEADER_READ_TIMEOUT`. (axum's `serve` sets neither: a client
/// sending half its headers kept its socket, and 19,985 idle sockets used every descriptor.)
async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    state: &AppState,
    shutdown: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let places = Arc::new(tokio::sync::Semaphore::new(state.config.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_read_timeout);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, most likely: let some close before trying again.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(place) = Arc::clone(&places).try_acquire_owned() else {
            state.metrics.connection_refused();
            drop(stream);
            continue;
        };
        let service = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                req
            },
        );
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _place = place;
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

//! `GET /api/runs/{id}/events`: a run's progress as Server-Sent Events.
//!
//! A client first gets the run's current state (a `progress` event, or `done` if it has
//! finished), then a `progress` event after each chunk and a final `done` event with the status.
//! Keep-alive comments flow while nothing happens (a queued run).

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use scenarioforge_core::summary::Named;
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

use crate::db::{self, StatusRow};
use crate::error::ApiError;
use crate::extract::RunId;
use crate::live::{DoneEvent, ProgressEvent, RunEvent};
use crate::routes::runs::not_found;
use crate::state::AppState;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a run that is not executing in this process is looked up in the database.
const POLL_EVERY: Duration = Duration::from_millis(500);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/runs/{id}/events", get(events))
}

async fn events(
    State(state): State<AppState>,
    RunId(id): RunId,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let Some(first) = db::get_status(&state.pool, id).await? else {
        return Err(not_found(id));
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    let shutdown = state.shutdown_signal();
    // A task per stream feeds the channel; it ends when the run ends, the client goes away
    // (the channel closes) or the server shuts down.
    tokio::spawn(async move {
        let sender = tx.clone();
        tokio::select! {
            () = feed(&state, id, first, &tx) => {}
            () = sender.closed() => {}
            () = until_shutdown(shutdown) => {}
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

async fn until_shutdown(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

async fn feed(state: &AppState, id: Uuid, first: StatusRow, tx: &mpsc::Sender<Event>) {
    if let Some(live) = state.executor.live(id) {
        let (latest, mut rx) = live.subscribe();
        let mut last_done = match &latest {
            RunEvent::Progress(p) => Some(p.iterations_done),
            RunEvent::Done(_) => None,
        };
        let mut last_status = status_of(&latest);
        if !send(tx, &latest).await || last_done.is_none() {
            return;
        }
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let RunEvent::Progress(p) = &event {
                        // Already sent in the first event.
                        if Some(p.iterations_done) <= last_done && p.status == last_status {
                            continue;
                        }
                        last_done = Some(p.iterations_done);
                        last_status = p.status;
                    }
                    if !send(tx, &event).await || matches!(event, RunEvent::Done(_)) {
                        return;
                    }
                }
                // A slow client skips events; the next one carries the whole state.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                // The executor dropped the run without a final event: it was interrupted by a
                // shutdown. End the stream; the client reconnects to the next server.
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
    // Not executing here: it has finished, or another process is running it. Follow the
    // database.
    poll(state, id, first, tx).await;
}

fn status_of(event: &RunEvent) -> &'static str {
    match event {
        RunEvent::Progress(p) => p.status,
        RunEvent::Done(_) => "done",
    }
}

async fn poll(state: &AppState, id: Uuid, mut row: StatusRow, tx: &mpsc::Sender<Event>) {
    let mut last: Option<(String, i64)> = None;
    loop {
        let StatusRow {
            status,
            iterations_done: done,
            iterations_total: total,
            elapsed_ms,
            error,
        } = row.clone();
        let to_u64 = |n: i64| u64::try_from(n).unwrap_or(0);
        let event = if matches!(status.as_str(), "queued" | "running") {
            RunEvent::Progress(std::sync::Arc::new(ProgressEvent {
                status: if status == "queued" {
                    "queued"
                } else {
                    "running"
                },
                iterations_done: to_u64(done),
                iterations_total: to_u64(total),
                elapsed_ms: 0,
                outputs: Named(Vec::new()),
            }))
        } else {
            RunEvent::Done(std::sync::Arc::new(DoneEvent {
                status: status.clone(),
                iterations_done: to_u64(done),
                iterations_total: to_u64(total),
                elapsed_ms: elapsed_ms.map(to_u64),
                error,
            }))
        };
        if last.as_ref() != Some(&(status.clone(), done)) {
            if !send(tx, &event).await || matches!(event, RunEvent::Done(_)) {
                return;
            }
            last = Some((status, done));
        }
        tokio::time::sleep(POLL_EVERY).await;
        match db::get_status(&state.pool, id).await {
            Ok(Some(r)) => row = r,
            Ok(None) => {
                let gone = RunEvent::Done(std::sync::Arc::new(DoneEvent {
                    status: "deleted".to_string(),
                    iterations_done: 0,
                    iterations_total: 0,
                    elapsed_ms: None,
                    error: None,
                }));
                send(tx, &gone).await;
                return;
            }
            // The database is away: keep the stream open and try again.
            Err(_) => {}
        }
    }
}

/// Sends one event; false when the client has gone.
async fn send(tx: &mpsc::Sender<Event>, event: &RunEvent) -> bool {
    let (name, data) = match event {
        RunEvent::Progress(p) => ("progress", serde_json::to_string(&**p)),
        RunEvent::Done(d) => ("done", serde_json::to_string(&**d)),
    };
    let Ok(data) = data else {
        return false;
    };
    tx.send(Event::default().event(name).data(data))
        .await
        .is_ok()
}

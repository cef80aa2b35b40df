//! `GET /api/runs/{id}/events`: a run's progress as Server-Sent Events.
//!
//! A client first gets the run's current state (a `progress` event, or `done` if it has
//! finished), then a `progress` event after each chunk and a final `done` event with the status.
//! Keep-alive comments flow while nothing happens (a queued run).
//!
//! Watchers cost little: each event is serialised once, by its publisher, for every stream
//! (`live::Sent`); a run that executes in another process is polled in the database by one
//! task however many clients watch it here (`RemoteFeeds`); and at most `MAX_EVENT_STREAMS`
//! streams are open at once (past it, `503` with `Retry-After`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use scenarioforge_core::RunStatus;
use scenarioforge_core::summary::Named;
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

use crate::db::{self, StatusRow};
use crate::error::ApiError;
use crate::extract::RunId;
use crate::live::{DoneEvent, Ending, LiveRun, ProgressEvent, RunEvent, Sent};
use crate::routes::runs::not_found;
use crate::state::AppState;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a run that is not executing in this process is looked up in the database.
const POLL_EVERY: Duration = Duration::from_millis(500);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/runs/{id}/events", get(events))
}

/// The open event streams, bounded by `MAX_EVENT_STREAMS`.
#[derive(Debug, Default)]
pub struct StreamCount(AtomicUsize);

/// One open stream, counted until dropped.
struct StreamPlace(Arc<StreamCount>);

impl StreamCount {
    fn take(self: &Arc<Self>, limit: usize) -> Option<StreamPlace> {
        let taken = self
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        taken.then(|| StreamPlace(Arc::clone(self)))
    }

    pub fn open(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for StreamPlace {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn events(
    State(state): State<AppState>,
    RunId(id): RunId,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let place =
        state
            .streams
            .take(state.config.max_event_streams)
            .ok_or(ApiError::TooManyStreams {
                limit: state.config.max_event_streams,
            })?;
    // Where the events come from: the executor when the run executes here, else the run's
    // shared poller, started (after one look in the database) by its first watcher.
    let source = match state.executor.live(id) {
        Some(live) => Source::Live(live),
        None => {
            let mut rx = state.remote.subscribe(&state, id);
            let first = rx
                .wait_for(|f| !matches!(f, Feed::Looking))
                .await
                .map(|f| f.clone())
                .unwrap_or(Feed::Unavailable);
            match first {
                Feed::Missing => return Err(not_found(id)),
                // The poller logged the cause.
                Feed::Unavailable => {
                    return Err(ApiError::DatabaseUnavailable(sqlx::Error::PoolTimedOut));
                }
                Feed::Looking | Feed::Event(_) => Source::Remote(rx),
            }
        }
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    let shutdown = state.shutdown_signal();
    // A task per stream feeds the channel; it ends when the run ends, the client goes away
    // (the channel closes) or the server shuts down, and frees the stream's place.
    tokio::spawn(async move {
        let _place = place;
        let sender = tx.clone();
        tokio::select! {
            () = feed(source, &tx) => {}
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

/// Where a stream's events come from.
enum Source {
    Live(Arc<LiveRun>),
    Remote(watch::Receiver<Feed>),
}

/// What a run's shared poller knows.
#[derive(Clone, Debug)]
pub enum Feed {
    /// Its first look in the database is under way.
    Looking,
    Event(Sent),
    /// No such run.
    Missing,
    /// The database did not answer the first look.
    Unavailable,
}

async fn feed(source: Source, tx: &mpsc::Sender<Event>) {
    let mut rx = match source {
        Source::Live(live) => return feed_live(&live, tx).await,
        Source::Remote(rx) => rx,
    };
    loop {
        let current = rx.borrow_and_update().clone();
        if let Feed::Event(sent) = current
            && (!send(tx, &sent).await || matches!(sent.event, RunEvent::Done(_)))
        {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Follows a run that executes here, through the executor's channel; ends with `done`, or
/// when the executor drops the run (a shutdown interrupted it).
async fn feed_live(live: &LiveRun, tx: &mpsc::Sender<Event>) {
    {
        let (latest, mut rx) = live.subscribe();
        let mut last_done = match &latest.event {
            RunEvent::Progress(p) => Some(p.iterations_done),
            RunEvent::Done(_) => None,
        };
        let mut last_status = status_of(&latest.event);
        if !send(tx, &latest).await || last_done.is_none() {
            return;
        }
        loop {
            match rx.recv().await {
                Ok(sent) => {
                    if let RunEvent::Progress(p) = &sent.event {
                        // Already sent in the first event.
                        if Some(p.iterations_done) <= last_done && Some(p.status) == last_status {
                            continue;
                        }
                        last_done = Some(p.iterations_done);
                        last_status = Some(p.status);
                    }
                    if !send(tx, &sent).await || matches!(sent.event, RunEvent::Done(_)) {
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
}

/// The run's status as an event shows it; `None` once it is done.
fn status_of(event: &RunEvent) -> Option<RunStatus> {
    match event {
        RunEvent::Progress(p) => Some(p.status),
        RunEvent::Done(_) => None,
    }
}

/// One database poller per run followed from here but executing elsewhere (or finished),
/// shared by all its streams: 1,000 watchers cost one query every `POLL_EVERY`, and one
/// look when they connect, not one each.
#[derive(Debug, Default)]
pub struct RemoteFeeds {
    feeds: Mutex<HashMap<Uuid, Arc<watch::Sender<Feed>>>>,
}

impl RemoteFeeds {
    /// A receiver of run `id`'s state from the database: the shared poller's, started now if
    /// there is none (it is `Looking` until the poller's first look).
    fn subscribe(&self, state: &AppState, id: Uuid) -> watch::Receiver<Feed> {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(feed) = feeds.get(&id) {
            return feed.subscribe();
        }
        let (tx, rx) = watch::channel(Feed::Looking);
        let tx = Arc::new(tx);
        feeds.insert(id, Arc::clone(&tx));
        tokio::spawn(poll(state.clone(), id, tx));
        rx
    }

    /// Forgets run `id`'s poller when it is done or nobody watches; true when forgotten.
    /// Under the map's lock, so no subscriber can join between the check and the removal.
    fn release_if_unwatched(&self, id: Uuid, tx: &watch::Sender<Feed>, done: bool) -> bool {
        let mut feeds = self.feeds.lock().unwrap_or_else(|e| e.into_inner());
        if done || tx.receiver_count() == 0 {
            feeds.remove(&id);
            true
        } else {
            false
        }
    }
}

/// The event a stored status is.
fn event_of(row: &StatusRow) -> RunEvent {
    let to_u64 = |n: i64| u64::try_from(n).unwrap_or(0);
    if !row.status.is_finished() {
        RunEvent::Progress(Arc::new(ProgressEvent {
            status: row.status,
            iterations_done: to_u64(row.iterations_done),
            iterations_total: to_u64(row.iterations_total),
            elapsed_ms: 0,
            outputs: Named(Vec::new()),
        }))
    } else {
        RunEvent::Done(Arc::new(DoneEvent {
            status: Ending::Finished(row.status),
            iterations_done: to_u64(row.iterations_done),
            iterations_total: to_u64(row.iterations_total),
            elapsed_ms: row.elapsed_ms.map(to_u64),
            error: row.error.clone(),
        }))
    }
}

/// The shared poller: looks the run up at once and then every `POLL_EVERY`, publishing each
/// change, until the run is done (or deleted) or nobody watches.
async fn poll(state: AppState, id: Uuid, tx: Arc<watch::Sender<Feed>>) {
    let key = |r: &StatusRow| (r.status, r.iterations_done);
    let is_done = |r: &StatusRow| r.status.is_finished();
    let mut last = match db::get_status(&state.pool, id).await {
        Ok(Some(row)) => {
            tx.send_replace(Feed::Event(event_of(&row).encode()));
            if is_done(&row) {
                state.remote.release_if_unwatched(id, &tx, true);
                return;
            }
            key(&row)
        }
        // Whoever waits hears why (a 404 or a 503); the next watcher starts a new poller.
        Ok(None) => {
            state.remote.release_if_unwatched(id, &tx, true);
            tx.send_replace(Feed::Missing);
            return;
        }
        Err(e) => {
            tracing::warn!(run = %id, error = %e, "cannot look up a run for its event stream");
            state.remote.release_if_unwatched(id, &tx, true);
            tx.send_replace(Feed::Unavailable);
            return;
        }
    };
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        if state.remote.release_if_unwatched(id, &tx, false) {
            return;
        }
        match db::get_status(&state.pool, id).await {
            Ok(Some(row)) => {
                if key(&row) != last {
                    last = key(&row);
                    tx.send_replace(Feed::Event(event_of(&row).encode()));
                    if is_done(&row) {
                        state.remote.release_if_unwatched(id, &tx, true);
                        return;
                    }
                }
            }
            Ok(None) => {
                tx.send_replace(Feed::Event(
                    RunEvent::Done(Arc::new(DoneEvent {
                        status: Ending::Deleted,
                        iterations_done: 0,
                        iterations_total: 0,
                        elapsed_ms: None,
                        error: None,
                    }))
                    .encode(),
                ));
                state.remote.release_if_unwatched(id, &tx, true);
                return;
            }
            // The database is away: keep the streams open and try again.
            Err(_) => {}
        }
    }
}

/// Sends one event, already encoded; false when the client has gone.
async fn send(tx: &mpsc::Sender<Event>, sent: &Sent) -> bool {
    tx.send(Event::default().event(sent.name).data(&*sent.json))
        .await
        .is_ok()
}

//! A run while it is queued or running: its cancel flag, its latest progress, and the channel
//! that carries progress to the event streams of `GET /api/runs/{id}/events`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scenarioforge_core::RunStatus;
use scenarioforge_core::summary::Named;
use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept for a subscriber that falls behind; older ones are skipped (the next event
/// carries the whole state anyway).
const EVENT_BUFFER: usize = 256;

/// One event of a run's stream.
#[derive(Clone, Debug)]
pub enum RunEvent {
    Progress(Arc<ProgressEvent>),
    Done(Arc<DoneEvent>),
}

impl RunEvent {
    /// The event ready to send: its SSE name and its JSON, serialised here once for every
    /// client that watches the run.
    pub fn encode(self) -> Sent {
        let (name, json) = match &self {
            RunEvent::Progress(p) => ("progress", serde_json::to_string(&**p)),
            RunEvent::Done(d) => ("done", serde_json::to_string(&**d)),
        };
        Sent {
            name,
            // Plain data with string keys always serialises.
            json: json.unwrap_or_default().into(),
            event: self,
        }
    }
}

/// An event and its encoding, shared by every stream that sends it.
#[derive(Clone, Debug)]
pub struct Sent {
    pub event: RunEvent,
    pub name: &'static str,
    pub json: Arc<str>,
}

/// Where a run is: sent after each chunk, and first to a client that connects late.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgressEvent {
    /// `queued` or `running`.
    pub status: RunStatus,
    pub iterations_done: u64,
    pub iterations_total: u64,
    pub elapsed_ms: u64,
    /// Running mean and standard error of each output, in model order; null before any finite
    /// value.
    pub outputs: Named<OutputProgress>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputProgress {
    pub mean: Option<f64>,
    pub sem: Option<f64>,
}

/// The last event of a run's stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DoneEvent {
    pub status: Ending,
    pub iterations_done: u64,
    pub iterations_total: u64,
    pub elapsed_ms: Option<u64>,
    pub error: Option<String>,
}

/// How a run's stream ends: with the run's final status, or with the run deleted
/// (`deleted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Finished(RunStatus),
    Deleted,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Finished(status) => status.as_str(),
            Ending::Deleted => "deleted",
        }
    }
}

impl Serialize for Ending {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Debug)]
pub struct LiveRun {
    /// Set by `POST /api/runs/{id}/cancel` and `DELETE`: the run stops at its next chunk.
    pub cancel: AtomicBool,
    latest: Mutex<Sent>,
    events: broadcast::Sender<Sent>,
    /// When progress was last sent to the event streams.
    last_sent: Mutex<Option<Instant>>,
}

/// Progress goes to the event streams at most this often (the state, `latest`, is updated
/// after every chunk): a run of short chunks would otherwise write an event per chunk to
/// every watcher, and 1,000 watchers of a 0.4 s run made it five times slower. Ten a second
/// still move a progress bar smoothly.
const STREAM_EVERY: Duration = Duration::from_millis(100);

/// Watchers a run serves at the full rate of `STREAM_EVERY`.
const STREAM_WATCHERS: u32 = 100;

impl LiveRun {
    pub fn new(iterations_total: u64) -> LiveRun {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        LiveRun {
            cancel: AtomicBool::new(false),
            latest: Mutex::new(
                RunEvent::Progress(Arc::new(ProgressEvent {
                    status: RunStatus::Queued,
                    iterations_done: 0,
                    iterations_total,
                    elapsed_ms: 0,
                    outputs: Named(Vec::new()),
                }))
                .encode(),
            ),
            events,
            last_sent: Mutex::new(None),
        }
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Publishes an event. Progress that is not ahead of the latest is dropped: engine threads
    /// report chunks in order, but two reports can cross on their way here.
    pub fn publish(&self, event: RunEvent) {
        let Ok(mut latest) = self.latest.lock() else {
            return;
        };
        if let (RunEvent::Progress(new), RunEvent::Progress(old)) = (&event, &latest.event)
            && new.status == old.status
            && new.iterations_done <= old.iterations_done
        {
            return;
        }
        if matches!(latest.event, RunEvent::Done(_)) {
            return;
        }
        let status_before = match &latest.event {
            RunEvent::Progress(p) => Some(p.status),
            RunEvent::Done(_) => None,
        };
        let sent = event.encode();
        *latest = sent.clone();
        // Progress in the same status as before waits for its turn; a change of status
        // (running) and the end always go out at once.
        if let RunEvent::Progress(p) = &sent.event
            && Some(p.status) == status_before
        {
            // Many watchers share a budget of about 1,000 events a second: past 100 of
            // them, each hears less often, so the fan-out's cost stops growing with them.
            let watchers = self.events.receiver_count().max(1) as u32;
            let every = STREAM_EVERY * watchers.div_ceil(STREAM_WATCHERS);
            let mut last = self.last_sent.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < every) {
                return;
            }
            *last = Some(Instant::now());
        }
        // No subscriber is not an error.
        let _ = self.events.send(sent);
    }

    /// A receiver of the events from now on, and the latest event before them. Taken under
    /// one lock, so nothing falls between the two.
    pub fn subscribe(&self) -> (Sent, broadcast::Receiver<Sent>) {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        (latest.clone(), self.events.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(status: RunStatus, done: u64) -> RunEvent {
        RunEvent::Progress(Arc::new(ProgressEvent {
            status,
            iterations_done: done,
            iterations_total: 100,
            elapsed_ms: 0,
            outputs: Named(Vec::new()),
        }))
    }

    fn done_of(e: &RunEvent) -> Option<u64> {
        match e {
            RunEvent::Progress(p) => Some(p.iterations_done),
            RunEvent::Done(_) => None,
        }
    }

    #[test]
    fn progress_only_moves_forward_and_stops_at_done() {
        let live = LiveRun::new(100);
        let (_, mut rx) = live.subscribe();
        live.publish(progress(RunStatus::Running, 0));
        live.publish(progress(RunStatus::Running, 20));
        live.publish(progress(RunStatus::Running, 10));
        live.publish(RunEvent::Done(Arc::new(DoneEvent {
            status: Ending::Finished(RunStatus::Completed),
            iterations_done: 100,
            iterations_total: 100,
            elapsed_ms: Some(1),
            error: None,
        })));
        live.publish(progress(RunStatus::Running, 30));
        let mut seen = Vec::new();
        while let Ok(e) = rx.try_recv() {
            seen.push(done_of(&e.event));
        }
        assert_eq!(seen, [Some(0), Some(20), None]);
    }
}

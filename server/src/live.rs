//! A run while it is queued or running: its cancel flag, its latest progress, and the channel
//! that carries progress to the event streams of `GET /api/runs/{id}/events`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

/// Where a run is: sent after each chunk, and first to a client that connects late.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgressEvent {
    /// `queued` or `running`.
    pub status: &'static str,
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
    pub status: String,
    pub iterations_done: u64,
    pub iterations_total: u64,
    pub elapsed_ms: Option<u64>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct LiveRun {
    /// Set by `POST /api/runs/{id}/cancel` and `DELETE`: the run stops at its next chunk.
    pub cancel: AtomicBool,
    latest: Mutex<RunEvent>,
    events: broadcast::Sender<RunEvent>,
}

impl LiveRun {
    pub fn new(iterations_total: u64) -> LiveRun {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        LiveRun {
            cancel: AtomicBool::new(false),
            latest: Mutex::new(RunEvent::Progress(Arc::new(ProgressEvent {
                status: "queued",
                iterations_done: 0,
                iterations_total,
                elapsed_ms: 0,
                outputs: Named(Vec::new()),
            }))),
            events,
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
        if let (RunEvent::Progress(new), RunEvent::Progress(old)) = (&event, &*latest)
            && new.status == old.status
            && new.iterations_done <= old.iterations_done
        {
            return;
        }
        if matches!(*latest, RunEvent::Done(_)) {
            return;
        }
        *latest = event.clone();
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }

    /// A receiver of the events from now on, and the latest event before them. Taken under
    /// one lock, so nothing falls between the two.
    pub fn subscribe(&self) -> (RunEvent, broadcast::Receiver<RunEvent>) {
        let latest = self.latest.lock().unwrap_or_else(|e| e.into_inner());
        (latest.clone(), self.events.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(status: &'static str, done: u64) -> RunEvent {
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
        live.publish(progress("running", 0));
        live.publish(progress("running", 20));
        live.publish(progress("running", 10));
        live.publish(RunEvent::Done(Arc::new(DoneEvent {
            status: "completed".into(),
            iterations_done: 100,
            iterations_total: 100,
            elapsed_ms: Some(1),
            error: None,
        })));
        live.publish(progress("running", 30));
        let mut seen = Vec::new();
        while let Ok(e) = rx.try_recv() {
            seen.push(done_of(&e));
        }
        assert_eq!(seen, [Some(0), Some(20), None]);
    }
}

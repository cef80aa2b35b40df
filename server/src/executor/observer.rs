//! The engine's view of the server during a run: progress out (to the event streams, and to
//! the database at most once a second), stop requests in (cancel, time limit, shutdown),
//! a core for each chunk.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scenarioforge_core::convergence::History;
use scenarioforge_core::summary::Named;
use scenarioforge_core::{Observer, Progress, RunStatus, Stop};
use uuid::Uuid;

use super::{Inner, lock};
use crate::db;
use crate::live::{LiveRun, OutputProgress, ProgressEvent, RunEvent};

/// Progress is written to the database at most this often (the event stream gets every chunk).
pub(super) const DB_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The work after a run's last chunk (its drivers, above all) may take a quarter of its time
/// limit more; what does not fit is left out, and the summary says so.
pub(super) const FINISH_GRACE_DIVISOR: u32 = 4;

/// The engine's view of the server: progress out, stop requests in.
pub(super) struct RunObserver<'a> {
    pub(super) id: Uuid,
    pub(super) live: &'a LiveRun,
    pub(super) executor: &'a Inner,
    pub(super) started: Instant,
    pub(super) deadline: Instant,
    /// Past it, the work after the last chunk is left out (`Observer::skip_finishing`).
    pub(super) finish_deadline: Instant,
    pub(super) last_db_write: Mutex<Instant>,
    /// The convergence history, kept with the result.
    pub(super) history: Mutex<History>,
}

impl Observer for RunObserver<'_> {
    fn progress(&self, p: &Progress) {
        lock(&self.history).push(p);
        let elapsed = self.started.elapsed();
        let finite = |x: f64| x.is_finite().then_some(x);
        self.live
            .publish(RunEvent::Progress(Arc::new(ProgressEvent {
                status: RunStatus::Running,
                iterations_done: p.iterations_done,
                iterations_total: p.iterations_total,
                elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                outputs: Named(
                    p.outputs
                        .iter()
                        .map(|(id, mean, sem)| {
                            (
                                id.clone(),
                                OutputProgress {
                                    mean: finite(*mean),
                                    sem: finite(*sem),
                                },
                            )
                        })
                        .collect(),
                ),
            })));
        let Ok(mut last) = self.last_db_write.try_lock() else {
            return;
        };
        if last.elapsed() >= DB_PROGRESS_EVERY {
            *last = Instant::now();
            // Fire and forget on the runtime: the engine thread never waits for the database.
            let pool = self.executor.pool.clone();
            let (id, done) = (self.id, p.iterations_done);
            self.executor.runtime.spawn(async move {
                if let Err(e) = db::update_progress(&pool, id, done).await {
                    tracing::debug!(run = %id, error = %e, "progress not stored");
                }
            });
        }
    }

    fn begin_chunk(&self) -> bool {
        self.executor.cores.take(|| self.should_stop().is_some())
    }

    fn end_chunk(&self) {
        self.executor.cores.give();
    }

    fn skip_finishing(&self) -> bool {
        self.live.cancelled() || self.executor.stopping() || Instant::now() >= self.finish_deadline
    }

    fn should_stop(&self) -> Option<Stop> {
        if self.live.cancelled() || self.executor.stopping() {
            Some(Stop::Cancelled)
        } else if Instant::now() >= self.deadline {
            Some(Stop::TimedOut)
        } else {
            None
        }
    }
}

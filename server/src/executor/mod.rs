//! The run executor: a fixed pool of `MAX_CONCURRENT_RUNS` OS threads that take queued runs
//! in order and run them on the engine, never on the async runtime's threads.
//!
//! Each run uses every core (`available_parallelism` engine threads), so a single run is as fast
//! as the command line, and several share the cores: a chunk computes only on a free core
//! (`Cores`), so however many runs execute, no more chunks compute at once than there are
//! cores. Progress goes to the run's event channel after each chunk, and to the database at
//! most once a second. A run's result is stored rows first, status and summary last, retried
//! while the database is away.
//!
//! On shutdown the running runs stop at a chunk boundary and are *not* recorded: they are put
//! back `queued`, and the next start runs them again from the beginning. Runs are
//! deterministic, so they end with the numbers they would have had.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scenarioforge_core::check::join_messages;
use scenarioforge_core::convergence::History;
use scenarioforge_core::cost;
use scenarioforge_core::summary::Named;
use scenarioforge_core::{ModelSpec, RunSettings, RunStatus, Status, compile, try_run};
use sqlx::PgPool;
use tokio::runtime::Handle;
use uuid::Uuid;

use crate::budget::Budget;
use crate::db;
use crate::live::{DoneEvent, Ending, LiveRun, ProgressEvent, RunEvent};
use crate::telemetry::Metrics;

mod cores;
mod observer;

use cores::Cores;
use observer::{FINISH_GRACE_DIVISOR, RunObserver};

/// The nice value of run threads (and so of the engine threads they start, which inherit it).
/// Runs keep every core busy; at a lower priority they still get all the CPU nobody else wants,
/// while request handling (and PostgreSQL) is scheduled first: `/health` stays fast under load.
const RUN_NICE: i32 = 10;

/// A run to execute.
#[derive(Debug)]
pub struct Job {
    pub id: Uuid,
    pub spec: ModelSpec,
    pub settings: RunSettings,
}

/// What the executor needs to know of the configuration.
#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    pub max_concurrent_runs: usize,
    /// `MAX_SIMULATION_TIME`: the longest a run may take, whatever it asks for.
    pub max_simulation_time: Duration,
    /// Engine threads per run.
    pub engine_threads: usize,
    /// `MEMORY_BUDGET`, in bytes (see [`Budget`]).
    pub memory_budget: u64,
    /// `MAX_SUMMARY_SIZE`, in bytes.
    pub max_summary_size: usize,
    /// A test hook (`SCENARIOFORGE_TEST_ABORT_MODEL`): a run of a model with this name
    /// aborts the process once it is marked running, as a run that crashes the server would.
    pub abort_model: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Executor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ExecutorConfig,
    pool: PgPool,
    runtime: Handle,
    metrics: Arc<Metrics>,
    queue: Mutex<VecDeque<Job>>,
    wake: Condvar,
    live: Mutex<HashMap<Uuid, Arc<LiveRun>>>,
    running: AtomicUsize,
    /// Cores free for a chunk, shared by every run (see `Observer::begin_chunk`).
    cores: Cores,
    /// Memory for the runs executing, by the engine's estimate of each.
    budget: Budget,
    shutdown: AtomicBool,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Executor {
    /// Starts the worker threads. Must be called within a tokio runtime, whose handle the
    /// workers use for their database calls.
    pub fn start(
        config: ExecutorConfig,
        pool: PgPool,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Executor> {
        let cores = Cores::new(config.engine_threads);
        let budget = Budget::new(config.memory_budget);
        let inner = Arc::new(Inner {
            config,
            pool,
            runtime: Handle::current(),
            metrics,
            queue: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            live: Mutex::new(HashMap::new()),
            running: AtomicUsize::new(0),
            cores,
            budget,
            shutdown: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
        });
        let workers = (0..inner.config.max_concurrent_runs)
            .map(|i| {
                let inner = Arc::clone(&inner);
                std::thread::Builder::new()
                    .name(format!("run-worker-{i}"))
                    .spawn(move || inner.work())
            })
            .collect::<Result<Vec<_>, _>>();
        match workers {
            Ok(w) => *lock(&inner.workers) = w,
            // Without threads nothing can run: the server does not start. Threads already
            // started are told to stop.
            Err(e) => {
                inner.shutdown.store(true, Ordering::SeqCst);
                // Under the queue's lock, so no worker is between its check and its wait.
                let _queue = lock(&inner.queue);
                inner.wake.notify_all();
                return Err(std::io::Error::other(format!(
                    "cannot start the run worker threads: {e}"
                )));
            }
        }
        Ok(Executor { inner })
    }

    /// Queues a stored run. A run already queued or running here is not queued twice.
    pub fn submit(&self, job: Job) {
        {
            let mut live = lock(&self.inner.live);
            if live.contains_key(&job.id) {
                return;
            }
            live.insert(job.id, Arc::new(LiveRun::new(job.settings.iterations())));
        }
        lock(&self.inner.queue).push_back(job);
        self.inner.wake.notify_one();
    }

    /// The live state of a queued or running run.
    pub fn live(&self, id: Uuid) -> Option<Arc<LiveRun>> {
        lock(&self.inner.live).get(&id).cloned()
    }

    /// Asks a running run to stop at its next chunk; false when it is not running here.
    pub fn cancel(&self, id: Uuid) -> bool {
        match self.live(id) {
            Some(live) => {
                live.cancel.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Forgets a run that will not run (cancelled while queued, or deleted), ending its event
    /// streams with a `done` event that says so.
    pub fn forget(&self, id: Uuid, ending: Ending) {
        lock(&self.inner.queue).retain(|j| j.id != id);
        let Some(live) = lock(&self.inner.live).remove(&id) else {
            return;
        };
        live.cancel.store(true, Ordering::Relaxed);
        let (done, total) = match live.subscribe().0.event {
            RunEvent::Progress(p) => (p.iterations_done, p.iterations_total),
            RunEvent::Done(d) => (d.iterations_done, d.iterations_total),
        };
        live.publish(RunEvent::Done(Arc::new(DoneEvent {
            status: ending,
            iterations_done: done,
            iterations_total: total,
            elapsed_ms: None,
            error: None,
        })));
    }

    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// Runs waiting for a worker thread, or (having one) for memory.
    pub fn queued(&self) -> usize {
        lock(&self.inner.queue).len() + self.inner.budget.usage().1
    }

    /// The memory budget: (total, reserved by runs executing, runs waiting for memory).
    pub fn memory(&self) -> (u64, u64, usize) {
        let (reserved, waiting) = self.inner.budget.usage();
        (self.inner.budget.total(), reserved, waiting)
    }

    /// Stops taking runs and asks the running ones to stop at their next chunk boundary,
    /// without recording them: they stay `running` in the database for the next start.
    pub fn shutdown(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        self.inner.wake.notify_all();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutdown.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for the worker threads to end (after [`Executor::shutdown`]);
    /// false if some are still busy.
    pub fn join(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut workers = std::mem::take(&mut *lock(&self.inner.workers));
        while Instant::now() < deadline {
            if workers.iter().all(JoinHandle::is_finished) {
                for w in workers.drain(..) {
                    let _ = w.join();
                }
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        *lock(&self.inner.workers) = workers;
        false
    }
}

impl Inner {
    fn stopping(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// One worker thread: takes the oldest queued run, runs it, repeats until shutdown.
    fn work(&self) {
        lower_priority();
        loop {
            let job = {
                let mut queue = lock(&self.queue);
                loop {
                    if self.stopping() {
                        return;
                    }
                    if let Some(job) = queue.pop_front() {
                        break job;
                    }
                    queue = self.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
                }
            };
            let id = job.id;
            self.execute(&job);
            if !self.stopping() {
                lock(&self.live).remove(&id);
            }
        }
    }

    fn execute(&self, job: &Job) {
        let Some(live) = lock(&self.live).get(&job.id).cloned() else {
            return;
        };
        let id = job.id;
        let total = job.settings.iterations();
        // Compiled before it is marked running, for the estimate of its memory: it waits
        // queued until that fits in the budget.
        let model = match compile(&job.spec) {
            Ok(m) => m,
            Err(diagnostics) => {
                // Only a run stored by an older engine can get here: new runs are compiled
                // before they are accepted.
                let message = format!(
                    "the model no longer compiles: {}",
                    join_messages(&diagnostics)
                );
                self.record_failure(id, &live, total, &message);
                return;
            }
        };
        let estimate = cost::memory(&model, &job.settings, self.config.engine_threads).total();
        let Some(_memory) = self
            .budget
            .reserve(id, estimate, || self.stopping() || live.cancelled())
        else {
            // Shutdown: left queued. Cancelled: `mark_running` below would find it so; the
            // cancel has recorded it already.
            return;
        };
        self.running.fetch_add(1, Ordering::Relaxed);
        let _running = Decrement(&self.running);
        match self.retry("start a run", || db::mark_running(&self.pool, id)) {
            Some(Ok(true)) => {}
            // Cancelled while queued, or deleted: nothing to run. (Shutdown: left queued.)
            Some(Ok(false)) | None => return,
            Some(Err(e)) => {
                tracing::error!(run = %id, error = %e, "cannot start a run");
                self.record_failure(id, &live, total, "the database refused to start the run");
                return;
            }
        }
        if self.config.abort_model.as_deref() == Some(job.spec.name.as_str()) {
            tracing::error!(run = %id, "aborting the process, as SCENARIOFORGE_TEST_ABORT_MODEL asks");
            std::process::abort();
        }
        let started = Instant::now();
        let limit = job
            .settings
            .max_time_ms()
            .map_or(self.config.max_simulation_time, |ms| {
                Duration::from_millis(ms).min(self.config.max_simulation_time)
            });
        let observer = RunObserver {
            id,
            live: &live,
            executor: self,
            started,
            deadline: started + limit,
            finish_deadline: started + limit + limit / FINISH_GRACE_DIVISOR,
            last_db_write: Mutex::new(started),
            history: Mutex::new(History::new()),
        };
        live.publish(RunEvent::Progress(Arc::new(ProgressEvent {
            status: RunStatus::Running,
            iterations_done: 0,
            iterations_total: total,
            elapsed_ms: 0,
            outputs: Named(Vec::new()),
        })));
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            try_run(&model, &job.settings, self.config.engine_threads, &observer)
        }));
        let elapsed = started.elapsed();
        let mut output = match outcome {
            Ok(Ok(output)) => output,
            Ok(Err(out_of_memory)) => {
                tracing::error!(run = %id, error = %out_of_memory, "a run could not reserve its memory");
                self.record_failure(id, &live, total, &out_of_memory.to_string());
                return;
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(run = %id, panic = %what, "the engine panicked");
                self.record_failure(id, &live, total, "the engine failed on this model");
                return;
            }
        };
        if self.stopping() && !live.cancelled() && output.summary.status == Status::Cancelled {
            // Stopped by the shutdown: queued again for the next start, this start not
            // counted (if the database is away, it stays `running` and the start counts).
            if let Err(e) = self
                .runtime
                .block_on(db::release_interrupted(&self.pool, id))
            {
                tracing::warn!(run = %id, error = %e, "cannot put back an interrupted run");
            }
            tracing::info!(run = %id, "run interrupted by shutdown; it will resume at the next start");
            return;
        }
        output.summary.elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        let status = RunStatus::from(output.summary.status);
        let summary = output.summary.to_json();
        if summary.len() > self.config.max_summary_size {
            let message = format!(
                "the summary would take {}, above the {} a stored summary may (MAX_SUMMARY_SIZE): fewer outputs or thresholds make it smaller",
                cost::approx_bytes(summary.len() as u64),
                cost::approx_bytes(self.config.max_summary_size as u64)
            );
            self.record_failure(id, &live, total, &message);
            return;
        }
        let warnings = serde_json::to_value(&output.summary.warnings).unwrap_or_default();
        let convergence =
            serde_json::to_value(lock(&observer.history).points()).unwrap_or_default();
        let finished = db::Finished {
            status,
            iterations_done: output.summary.iterations,
            summary: &summary,
            warnings,
            convergence,
            elapsed_ms: output.summary.elapsed_ms,
            samples: &output.samples,
        };
        let storing = Instant::now();
        match self.retry("store a run's result", || {
            db::finish(&self.pool, id, &finished)
        }) {
            Some(Ok(true)) => {}
            // Deleted while it ran, or shutdown while the database was away (then it runs
            // again at the next start).
            Some(Ok(false)) | None => return,
            Some(Err(e)) => {
                // The database refused the rows: the run fails, its summary is kept.
                tracing::error!(run = %id, error = %e, "cannot store a run's iteration rows");
                let message = format!(
                    "the iteration rows could not be stored ({}); the summary is kept",
                    storage_reason(&e)
                );
                if self
                    .retry("record a run whose rows failed", || async {
                        db::fail_keeping_summary(&self.pool, id, &message, &finished).await
                    })
                    .is_some()
                {
                    self.metrics
                        .run_finished(RunStatus::Failed, output.summary.iterations, 0.0);
                    live.publish(RunEvent::Done(Arc::new(DoneEvent {
                        status: Ending::Finished(RunStatus::Failed),
                        iterations_done: output.summary.iterations,
                        iterations_total: total,
                        elapsed_ms: Some(output.summary.elapsed_ms),
                        error: Some(message),
                    })));
                }
                return;
            }
        }
        self.metrics
            .run_finished(status, output.summary.iterations, elapsed.as_secs_f64());
        tracing::info!(
            run = %id,
            status = status.as_str(),
            iterations = output.summary.iterations,
            elapsed_ms = output.summary.elapsed_ms,
            store_ms = storing.elapsed().as_millis(),
            "run finished"
        );
        live.publish(RunEvent::Done(Arc::new(DoneEvent {
            status: Ending::Finished(status),
            iterations_done: output.summary.iterations,
            iterations_total: total,
            elapsed_ms: Some(output.summary.elapsed_ms),
            error: None,
        })));
    }

    fn record_failure(&self, id: Uuid, live: &LiveRun, total: u64, message: &str) {
        if self
            .retry("record a failed run", || db::fail(&self.pool, id, message))
            .is_none()
        {
            return;
        }
        self.metrics.run_finished(RunStatus::Failed, 0, 0.0);
        live.publish(RunEvent::Done(Arc::new(DoneEvent {
            status: Ending::Finished(RunStatus::Failed),
            iterations_done: 0,
            iterations_total: total,
            elapsed_ms: None,
            error: Some(message.to_string()),
        })));
    }

    /// Runs a database call from this (non-async) thread, retrying with backoff while the
    /// database is unavailable; `None` if the server shuts down first. An error the database
    /// will give again ([`db::is_permanent`]) is returned as `Some(Err)` for the caller to
    /// handle, not retried.
    fn retry<T, F, Fut>(&self, what: &str, call: F) -> Option<Result<T, sqlx::Error>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.runtime.block_on(call()) {
                Ok(v) => return Some(Ok(v)),
                Err(e) if db::is_permanent(&e) => return Some(Err(e)),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot {what}; retrying in {wait:?}");
                }
            }
            let until = Instant::now() + wait;
            while Instant::now() < until {
                if self.stopping() {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

/// What went wrong storing rows, in words for the run's `error` (no SQL, no internals).
fn storage_reason(e: &sqlx::Error) -> &'static str {
    let code = match e {
        sqlx::Error::Database(db) => db.code().unwrap_or_default().into_owned(),
        _ => String::new(),
    };
    match code.as_str() {
        "53100" => "the database's disk is full",
        "57014" => "the database's statement timeout was reached",
        c if c.starts_with("53") => "the database ran out of resources",
        _ => "the database refused them",
    }
}

/// Lowers the calling thread's priority to [`RUN_NICE`]. On Linux the nice value belongs to
/// the thread, and threads it creates inherit it.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), RUN_NICE) {
            tracing::warn!(error = %e, "cannot lower the priority of a run thread");
        }
    }
}

/// Counts down when dropped: the running-runs gauge, whichever way a run ends.
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Locks a mutex, ignoring poisoning: every lock here guards plain data that a panicking
/// holder cannot leave half-updated.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

//! What every handler shares: the configuration, the database pool, the run executor, the
//! metrics, and the shutdown signal that ends live event streams.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scenarioforge_core::{Checked, Limits, ModelSpec, RunSettings, Settings, check};
use sqlx::PgPool;
use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::db;
use crate::error::ApiError;
use crate::executor::{Executor, ExecutorConfig, Job};
use crate::routes::events::{RemoteFeeds, StreamCount};
use crate::telemetry::Metrics;

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: PgPool,
    pub executor: Executor,
    pub metrics: Arc<Metrics>,
    pub started: Instant,
    /// Set once the migrations are applied and unfinished runs queued again.
    database_ready: Arc<AtomicBool>,
    /// CPU-bound request work (parsing a large body, checking a model) runs on the blocking
    /// pool, at most one task per core at a time; the runtime's threads stay free for
    /// requests such as `/health`.
    blocking: Arc<Semaphore>,
    /// Open event streams, at most `MAX_EVENT_STREAMS`.
    pub streams: Arc<StreamCount>,
    /// The database pollers of runs watched here but executing elsewhere, one per run.
    pub remote: Arc<RemoteFeeds>,
    /// When the database last answered `/health` (see `routes::health`).
    pub db_answered: Arc<std::sync::Mutex<Option<Instant>>>,
    shutdown: watch::Sender<bool>,
}

impl AppState {
    /// Builds the state and starts the executor's threads (within a tokio runtime). Nothing
    /// here touches the database yet: see [`AppState::prepare_database`].
    pub fn new(config: Config) -> Result<AppState, sqlx::Error> {
        let pool = db::pool(&config.database_url, &config.db)?;
        let metrics = Arc::new(Metrics::default());
        let executor = Executor::start(
            ExecutorConfig {
                max_concurrent_runs: config.max_concurrent_runs,
                max_simulation_time: config.max_simulation_time,
                engine_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                memory_budget: config.memory_budget,
                max_summary_size: config.max_summary_size,
                abort_model: std::env::var("SCENARIOFORGE_TEST_ABORT_MODEL").ok(),
            },
            pool.clone(),
            Arc::clone(&metrics),
        )?;
        Ok(AppState {
            config: Arc::new(config),
            pool,
            executor,
            metrics,
            started: Instant::now(),
            database_ready: Arc::new(AtomicBool::new(false)),
            blocking: Arc::new(Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            streams: Arc::new(StreamCount::default()),
            remote: Arc::new(RemoteFeeds::default()),
            db_answered: Arc::new(std::sync::Mutex::new(None)),
            shutdown: watch::channel(false).0,
        })
    }

    /// Runs CPU-bound `work` on the blocking pool, waiting (asynchronously) for one of its
    /// per-core places. The place is held until the work ends, even if the request that asked
    /// for it is given up on, so the pool's load stays bounded.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let place = Arc::clone(&self.blocking)
            .acquire_owned()
            .await
            .map_err(|e| ApiError::Internal(format!("the blocking pool is closed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _place = place;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking work failed: {e}")))
    }

    /// Applies the migrations and queues again the runs a previous process left unfinished.
    /// Returns how many were queued.
    pub async fn prepare_database(&self) -> Result<usize, sqlx::migrate::MigrateError> {
        db::MIGRATOR.run(&self.pool).await?;
        let unfinished = db::requeue_unfinished(&self.pool).await?;
        let mut queued = 0;
        // Read back through the engine's one check: compiling is CPU-bound, so off the async
        // runtime. A stored run was admitted under the limits of its day; a limit lowered
        // since does not fail it (its settings, sample cap included, are stored in full).
        let limits = Limits::up_to(u64::MAX);
        let checked = match tokio::task::spawn_blocking(move || {
            unfinished
                .into_iter()
                .map(|run| (run.id, read_back(run.model.0, run.settings.0, &limits)))
                .collect::<Vec<_>>()
        })
        .await
        {
            Ok(checked) => checked,
            // The runs stay `queued` in the database, for the next start.
            Err(e) => {
                tracing::error!(error = %e, "reading back the unfinished runs failed");
                Vec::new()
            }
        };
        for (id, run) in checked {
            match run {
                Ok((spec, settings)) => {
                    self.executor.submit(Job { id, spec, settings });
                    queued += 1;
                }
                Err(e) => {
                    tracing::error!(run = %id, error = %e, "a stored run cannot be read back");
                    let message = format!("the stored run cannot be read back: {e}");
                    db::fail(&self.pool, id, &message).await?;
                }
            }
        }
        self.database_ready.store(true, Ordering::SeqCst);
        Ok(queued)
    }

    /// Whether [`AppState::prepare_database`] has succeeded.
    pub fn database_ready(&self) -> bool {
        self.database_ready.load(Ordering::SeqCst)
    }

    /// Keeps trying [`AppState::prepare_database`] until it succeeds or the server stops.
    pub async fn prepare_database_with_retry(&self) {
        let mut wait = Duration::from_millis(500);
        loop {
            match self.prepare_database().await {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(runs = n, "resuming runs left unfinished");
                    }
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "database not ready; retrying in {wait:?}");
                }
            }
            let mut stop = self.shutdown_signal();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    }

    /// Deletes expired failed and cancelled runs now and then, after `RUN_RETENTION_DAYS`.
    pub async fn retention_task(self) {
        let days = self.config.run_retention_days;
        if days == 0 {
            return;
        }
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        let mut stop = self.shutdown_signal();
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match db::delete_expired(&self.pool, days).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(runs = n, days, "deleted expired failed and cancelled runs");
                }
                Err(e) => tracing::warn!(error = %e, "cannot delete expired runs"),
            }
        }
    }

    /// Starts the shutdown: event streams end, runs stop at their next chunk boundary and are
    /// left to be resumed.
    pub fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
        self.executor.shutdown();
    }

    /// A receiver that sees `true` once the shutdown has begun.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// A stored run's model and settings, checked again: what it executes with, or why it cannot.
fn read_back(
    model: serde_json::Value,
    settings: serde_json::Value,
    limits: &Limits,
) -> Result<(ModelSpec, RunSettings), String> {
    let spec = serde_json::from_value::<ModelSpec>(model).map_err(|e| e.to_string())?;
    let settings = serde_json::from_value::<Settings>(settings).map_err(|e| e.to_string())?;
    match check(&spec, &settings, limits) {
        Ok(Checked { settings, .. }) => Ok((spec, settings)),
        Err(rejected) => Err(rejected.summary()),
    }
}

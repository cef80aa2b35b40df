//! The `runs` table: a run admitted, read, moved through its statuses, finished, failed,
//! cancelled, deleted, picked up again after a restart, expired. Statuses are bound as
//! [`RunStatus::as_str`], never written into the SQL.

use chrono::{DateTime, Utc};
use scenarioforge_core::{RunSettings, RunStatus, SampleTable};

use sqlx::postgres::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::samples::store_samples;
use super::{stored, to_i64, to_usize};

/// A run about to be stored, `queued`.
#[derive(Debug)]
pub struct NewRun<'a> {
    pub id: Uuid,
    pub owner_token_hash: &'a [u8],
    pub model: &'a serde_json::Value,
    /// The settings it executes with: stored written out in full
    /// ([`RunSettings::to_settings`]), read back through `check`.
    pub settings: &'a RunSettings,
    pub spec_hash: &'a str,
    pub engine: &'a str,
    /// The client's address, when known.
    pub client: Option<&'a str>,
}

/// The bounds a new run is admitted within.
#[derive(Clone, Copy, Debug)]
pub struct Admission {
    /// `MAX_QUEUED_RUNS`: runs waiting, in the whole database.
    pub max_queued: usize,
    /// `MAX_RUNS_PER_CLIENT`: runs queued or running of one client.
    pub max_per_client: usize,
}

/// Why a run was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    QueueFull { queued: usize },
    ClientFull { active: usize },
}

/// Stores a new run, `queued`, if it fits within `admission`. The counts and the insert are
/// one transaction under a transaction-scoped advisory lock, so concurrent admissions (from
/// any number of server processes on this database) are taken one at a time and a bound is
/// never exceeded.
pub async fn insert_run(
    pool: &PgPool,
    run: &NewRun<'_>,
    admission: Admission,
) -> Result<Result<(), Refused>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(ADMISSION_LOCK)
        .execute(&mut *tx)
        .await?;
    let (queued, active): (i64, i64) = sqlx::query_as(
        "select (select count(*) from runs where status = $2),
                (select count(*) from runs
                 where client = $1 and status in ($2, $3))",
    )
    .bind(run.client)
    .bind(RunStatus::Queued.as_str())
    .bind(RunStatus::Running.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let (queued, active) = (to_usize(queued), to_usize(active));
    if queued >= admission.max_queued {
        return Ok(Err(Refused::QueueFull { queued }));
    }
    if active >= admission.max_per_client {
        return Ok(Err(Refused::ClientFull { active }));
    }
    sqlx::query(
        "insert into runs (id, owner_token_hash, model, settings, spec_hash, engine, status,
                           iterations_total, client)
         values ($1, $2, $3, $4, $5, $6, $9, $7, $8)",
    )
    .bind(run.id)
    .bind(run.owner_token_hash)
    .bind(Json(run.model))
    .bind(Json(run.settings.to_settings()))
    .bind(run.spec_hash)
    .bind(run.engine)
    .bind(to_i64(run.settings.iterations()))
    .bind(run.client)
    .bind(RunStatus::Queued.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// The advisory lock that admissions take (an arbitrary constant of this application).
const ADMISSION_LOCK: i64 = 0x5CE4_A210;

/// A stored run, as `GET /api/runs/{id}` shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub model: Json<serde_json::Value>,
    pub settings: Json<serde_json::Value>,
    pub spec_hash: String,
    pub engine: String,
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub iterations_total: i64,
    pub iterations_done: i64,
    pub summary: Option<String>,
    pub warnings: Option<Json<serde_json::Value>>,
    pub convergence: Option<Json<serde_json::Value>>,
    pub error: Option<String>,
    pub elapsed_ms: Option<i64>,
    pub sample_rows: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn get_run(pool: &PgPool, id: Uuid) -> Result<Option<RunRow>, sqlx::Error> {
    sqlx::query_as(
        "select id, model, settings, spec_hash, engine, status, iterations_total, iterations_done,
                summary, warnings, convergence, error, elapsed_ms, sample_rows, created_at,
                started_at, finished_at
         from runs where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The run's status and owner token hash, for the owner-only endpoints.
pub async fn get_owner(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(RunStatus, Vec<u8>)>, sqlx::Error> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("select status, owner_token_hash from runs where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(|(status, hash)| Ok((stored(&status)?, hash)))
        .transpose()
}

/// A run's status, progress, running time and error.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct StatusRow {
    #[sqlx(try_from = "String")]
    pub status: RunStatus,
    pub iterations_done: i64,
    pub iterations_total: i64,
    pub elapsed_ms: Option<i64>,
    pub error: Option<String>,
}

/// The run's status and progress, for a live event stream that polls.
pub async fn get_status(pool: &PgPool, id: Uuid) -> Result<Option<StatusRow>, sqlx::Error> {
    sqlx::query_as(
        "select status, iterations_done, iterations_total, elapsed_ms, error from runs where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Moves a queued (or, after a restart, a running) run to `running`; false when it is no longer
/// there to run (cancelled while queued, or deleted).
pub async fn mark_running(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update runs set status = $2, started_at = now(), iterations_done = 0,
                         attempts = attempts + 1
         where id = $1 and status in ($3, $2)",
    )
    .bind(id)
    .bind(RunStatus::Running.as_str())
    .bind(RunStatus::Queued.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Puts back a run that a graceful shutdown interrupted: `queued` for the next start, and the
/// start it had is not counted against it.
pub async fn release_interrupted(pool: &PgPool, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update runs set status = $2, started_at = null, iterations_done = 0,
                         attempts = greatest(attempts - 1, 0)
         where id = $1 and status = $3",
    )
    .bind(id)
    .bind(RunStatus::Queued.as_str())
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Records progress while running; never moves it backwards or touches a finished run.
pub async fn update_progress(pool: &PgPool, id: Uuid, done: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update runs set iterations_done = $2
         where id = $1 and status = $3 and iterations_done < $2",
    )
    .bind(id)
    .bind(to_i64(done))
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// How a run ended, with everything to store.
#[derive(Debug)]
pub struct Finished<'a> {
    /// How it ended: one of the finished statuses.
    pub status: RunStatus,
    pub iterations_done: u64,
    pub summary: &'a str,
    pub warnings: serde_json::Value,
    /// Each output's running mean and SEM as the run went (`convergence::History`).
    pub convergence: serde_json::Value,
    pub elapsed_ms: u64,
    pub samples: &'a SampleTable,
}

/// Stores the result of a run: its sample rows, then its summary and final status. The status
/// is written last, so a run reads as finished only once its rows are all there; a process that
/// stops in between leaves the run `running`, and its next attempt replaces the rows. False when
/// the run is gone (deleted while it ran).
pub async fn finish(pool: &PgPool, id: Uuid, f: &Finished<'_>) -> Result<bool, sqlx::Error> {
    // Rows of an attempt that stopped before its status was written.
    sqlx::query("delete from run_samples where run_id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    match store_samples(pool, id, &f.samples.rows).await {
        Ok(()) => {}
        // The run was deleted meanwhile (the rows' foreign key has nothing to point to).
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23503") => return Ok(false),
        Err(e) => return Err(e),
    }
    let updated = sqlx::query(
        "update runs set status = $2, iterations_done = $3, summary = $4, warnings = $5,
                         elapsed_ms = $6, sample_rows = $7, finished_at = now(), error = null,
                         convergence = $8
         where id = $1 and status = $9",
    )
    .bind(id)
    .bind(f.status.as_str())
    .bind(to_i64(f.iterations_done))
    .bind(f.summary)
    .bind(Json(&f.warnings))
    .bind(to_i64(f.elapsed_ms))
    .bind(i32::try_from(f.samples.rows.len()).unwrap_or(i32::MAX))
    .bind(Json(&f.convergence))
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks a run failed (its model no longer compiles, or the engine panicked).
pub async fn fail(pool: &PgPool, id: Uuid, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update runs set status = $3, error = $2, finished_at = now()
         where id = $1 and status in ($4, $5)",
    )
    .bind(id)
    .bind(error)
    .bind(RunStatus::Failed.as_str())
    .bind(RunStatus::Queued.as_str())
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Records a run whose result could be computed but not stored in full (its iteration rows
/// failed, e.g. on a full disk or a statement timeout): `failed`, with the error, and with the
/// summary it computed, so that nothing the run learnt is lost. Its rows are removed.
pub async fn fail_keeping_summary(
    pool: &PgPool,
    id: Uuid,
    error: &str,
    f: &Finished<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from run_samples where run_id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    sqlx::query(
        "update runs set status = $8, error = $2, iterations_done = $3, summary = $4,
                         warnings = $5, elapsed_ms = $6, sample_rows = 0, finished_at = now(),
                         convergence = $7
         where id = $1 and status = $9",
    )
    .bind(id)
    .bind(error)
    .bind(to_i64(f.iterations_done))
    .bind(f.summary)
    .bind(Json(&f.warnings))
    .bind(to_i64(f.elapsed_ms))
    .bind(Json(&f.convergence))
    .bind(RunStatus::Failed.as_str())
    .bind(RunStatus::Running.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// Cancels a run that has not started; false when it is not queued.
pub async fn cancel_queued(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update runs set status = $2, finished_at = now()
         where id = $1 and status = $3",
    )
    .bind(id)
    .bind(RunStatus::Cancelled.as_str())
    .bind(RunStatus::Queued.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes a run and (by cascade) its rows; false when there was none.
pub async fn delete_run(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from runs where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A run left unfinished by a previous process.
#[derive(Debug, sqlx::FromRow)]
pub struct Unfinished {
    pub id: Uuid,
    pub model: Json<serde_json::Value>,
    pub settings: Json<serde_json::Value>,
}

/// Starts of a run after which a process that died during it is taken to have died of it.
pub const MAX_ATTEMPTS: i32 = 3;

/// The runs a previous process left `queued` or `running`, oldest first, all set back to
/// `queued` so that they run again from the start; first, a run left `running` after
/// [`MAX_ATTEMPTS`] starts is `failed` instead, and never picked up again.
pub async fn requeue_unfinished(pool: &PgPool) -> Result<Vec<Unfinished>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let message =
        format!("the server stopped during this run {MAX_ATTEMPTS} times; it is not run again");
    sqlx::query(
        "update runs set status = $3, finished_at = now(), error = $1
         where status = $4 and attempts >= $2",
    )
    .bind(&message)
    .bind(MAX_ATTEMPTS)
    .bind(RunStatus::Failed.as_str())
    .bind(RunStatus::Running.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update runs set status = $1, started_at = null, iterations_done = 0
         where status = $2",
    )
    .bind(RunStatus::Queued.as_str())
    .bind(RunStatus::Running.as_str())
    .execute(&mut *tx)
    .await?;
    let rows = sqlx::query_as(
        "select id, model, settings from runs where status = $1 order by created_at, id",
    )
    .bind(RunStatus::Queued.as_str())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Deletes failed and cancelled runs that finished more than `days` days ago.
pub async fn delete_expired(pool: &PgPool, days: u32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from runs
         where status in ($2, $3)
           and coalesce(finished_at, created_at) < now() - make_interval(days => $1)",
    )
    .bind(i32::try_from(days).unwrap_or(i32::MAX))
    .bind(RunStatus::Failed.as_str())
    .bind(RunStatus::Cancelled.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

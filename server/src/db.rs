//! Every SQL statement the server runs, one function each, over the `runs` and `run_samples`
//! tables of `migrations/`.
//!
//! Queries are checked at run time (`sqlx::query`, `query_as`), not with the compile-time
//! `query!` macros: those need a live database (or a checked-in offline cache) to build, and the
//! project builds from a clean clone without one. The integration tests run every statement here
//! against a real PostgreSQL instead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use scenarioforge_core::{RunSettings, RunStatus, SampleTable};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::types::Json;
use uuid::Uuid;

use crate::config::DbConfig;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A pool that connects lazily: the server starts, and answers `503`, while the database is
/// down, and recovers by itself when it returns.
pub fn pool(url: &str, config: &DbConfig) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    let options = options
        .options([(
            "statement_timeout",
            config.statement_timeout.as_millis().to_string(),
        )])
        .application_name("scenarioforge");
    Ok(PgPoolOptions::new()
        .max_connections(config.pool_max)
        .min_connections(config.pool_min)
        .acquire_timeout(config.connect_timeout)
        .idle_timeout(Some(config.idle_timeout))
        .connect_lazy_with(options))
}

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

fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

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

/// A status as stored: the check constraint admits only [`RunStatus::ALL`]'s names.
fn stored(status: &str) -> Result<RunStatus, sqlx::Error> {
    status
        .parse()
        .map_err(|e: scenarioforge_core::summary::UnknownStatus| sqlx::Error::Decode(Box::new(e)))
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

/// Rows per `COPY` below which the rows are not split between connections.
const COPY_SPLIT_MIN: usize = 2_000;

/// Writes sample rows by binary `COPY`, split over as many connections as there are cores: each
/// PostgreSQL backend parses and indexes its share on a core of its own. (Text COPY of 10,000
/// rows of 50 values took 300 ms, as long as the run that made them; one binary COPY took 90 ms,
/// two in parallel about half.)
async fn store_samples(
    pool: &PgPool,
    id: Uuid,
    rows: &[(u64, Vec<f64>)],
) -> Result<(), sqlx::Error> {
    let ways = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(rows.len() / COPY_SPLIT_MIN)
        .max(1);
    let part = rows.len().div_ceil(ways).max(1);
    let copies = rows.chunks(part).map(|rows| copy_rows(pool, id, rows));
    futures_util::future::try_join_all(copies).await?;
    Ok(())
}

async fn copy_rows(pool: &PgPool, id: Uuid, rows: &[(u64, Vec<f64>)]) -> Result<(), sqlx::Error> {
    let mut conn = ClosedUnlessKept {
        conn: pool.acquire().await?,
        keep: false,
    };
    copy_rows_on(&mut conn.conn, id, rows).await?;
    conn.keep = true;
    Ok(())
}

/// A pooled connection that is closed when dropped, not returned to the pool, unless `keep` was
/// set. sqlx 0.8.6 loses its place in the protocol when a `COPY` stops part way (it fails, or
/// `try_join_all` drops a sibling copy): the aborted copy's `ReadyForQuery` goes unread, and
/// the next query on that connection reads it as its own empty answer, so a stored run would read
/// as missing. Such a connection must never serve another query.
struct ClosedUnlessKept {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    keep: bool,
}

impl Drop for ClosedUnlessKept {
    fn drop(&mut self) {
        if !self.keep {
            self.conn.close_on_drop();
        }
    }
}

async fn copy_rows_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    rows: &[(u64, Vec<f64>)],
) -> Result<(), sqlx::Error> {
    use sqlx::Connection as _;
    let mut tx = conn.begin().await?;
    // The rows' commit need not wait for its WAL to reach the disk: the status update that
    // follows commits synchronously, which flushes all WAL before it, rows included. Until then a
    // crash leaves the run `running`, to be run again.
    sqlx::query("set local synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let mut copy = tx
        .copy_in_raw(
            "copy run_samples (run_id, iteration, \"values\") from stdin with (format binary)",
        )
        .await?;
    let mut buf = Vec::with_capacity(1 << 20);
    buf.extend_from_slice(COPY_BINARY_HEADER);
    for (iteration, values) in rows {
        copy_row(&mut buf, id, *iteration, values);
        if buf.len() >= 1 << 20 {
            copy.send(buf.as_slice()).await?;
            buf.clear();
        }
    }
    buf.extend_from_slice(&(-1i16).to_be_bytes());
    copy.send(buf.as_slice()).await?;
    copy.finish().await?;
    tx.commit().await
}

/// The signature, flags and header extension length of PostgreSQL's binary COPY format.
const COPY_BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// PostgreSQL's type oid of `double precision`, the element type of the `values` arrays.
const FLOAT8_OID: u32 = 701;

/// One tuple of binary COPY: (run_id uuid, iteration bigint, values double precision[]). Every
/// field is its byte length then its bytes, big-endian; an array is its dimensions, element type
/// and elements. NaN and infinities are IEEE bits like any other value.
fn copy_row(buf: &mut Vec<u8>, id: Uuid, iteration: u64, values: &[f64]) {
    let field = |buf: &mut Vec<u8>, len: usize| {
        buf.extend_from_slice(&i32::try_from(len).unwrap_or(i32::MAX).to_be_bytes());
    };
    buf.extend_from_slice(&3i16.to_be_bytes());
    field(buf, 16);
    buf.extend_from_slice(id.as_bytes());
    field(buf, 8);
    buf.extend_from_slice(&to_i64(iteration).to_be_bytes());
    field(buf, 20 + values.len() * 12);
    buf.extend_from_slice(&1i32.to_be_bytes()); // dimensions
    buf.extend_from_slice(&0i32.to_be_bytes()); // no nulls
    buf.extend_from_slice(&FLOAT8_OID.to_be_bytes());
    buf.extend_from_slice(
        &i32::try_from(values.len())
            .unwrap_or(i32::MAX)
            .to_be_bytes(),
    );
    buf.extend_from_slice(&1i32.to_be_bytes()); // lower bound
    for v in values {
        field(buf, 8);
        buf.extend_from_slice(&v.to_bits().to_be_bytes());
    }
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

/// Whether a database error will not go away by trying the same statement again: the
/// database answered, and refused (a full disk, a statement timeout, a value it rejects).
/// Lost connections, a full pool, a database shutting down or too many clients are
/// transient: the server waits and retries those.
pub fn is_permanent(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code = db.code().unwrap_or_default();
    let transient = code.starts_with("08") // connection exception
        || code.starts_with("40") // serialization failure, deadlock
        || matches!(code.as_ref(), "53300" | "57P01" | "57P02" | "57P03");
    !transient
}

/// What a database error means for the request that met it: the one place where
/// PostgreSQL's error classes (SQLSTATE) are read for the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database is down, restarting, out of resources or too slow: `503`, try again.
    Unavailable,
    /// The database refused a value the client sent (class 22, data exception, such as a
    /// `\u0000` in a string; class 23, a constraint): `422`, trying again will not help.
    Refused,
    /// Anything else is a bug of ours: `500`, logged with an id.
    Bug,
}

pub fn classify(e: &sqlx::Error) -> Failure {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            match code.get(..2).unwrap_or_default() {
                // Connection exception, transaction rollback (deadlock, serialization),
                // insufficient resources (disk full, out of memory, too many connections),
                // operator intervention (shutdown, statement timeout).
                "08" | "40" | "53" | "57" => Failure::Unavailable,
                "22" | "23" => Failure::Refused,
                _ => Failure::Bug,
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => Failure::Unavailable,
        _ => Failure::Bug,
    }
}

/// The SQLSTATE of a database error, if it has one.
pub fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
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

/// The columns of a run's sample rows (its node ids, in model order) and the number of rows;
/// `None` when there is no such run.
pub async fn sample_info(
    pool: &PgPool,
    id: Uuid,
) -> Result<Option<(Vec<String>, i32, RunStatus)>, sqlx::Error> {
    let row: Option<(Vec<String>, i32, String)> = sqlx::query_as(
        "select array(select n.node->>'id'
                      from jsonb_array_elements(model->'nodes') with ordinality as n(node, i)
                      order by n.i),
                sample_rows, status
         from runs where id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|(ids, rows, status)| Ok((ids, rows, stored(&status)?)))
        .transpose()
}

/// Up to `limit` sample rows with iterations after `after`, in iteration order: one step of the
/// keyset walk over the primary key (run_id, iteration).
pub async fn sample_page(
    pool: &PgPool,
    id: Uuid,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<(i64, Vec<f64>)>, sqlx::Error> {
    sqlx::query_as(
        "select iteration, \"values\" from run_samples
         where run_id = $1 and iteration > $2
         order by iteration
         limit $3",
    )
    .bind(id)
    .bind(after.unwrap_or(-1))
    .bind(limit)
    .fetch_all(pool)
    .await
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

/// A round trip to the database, bounded by `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    let query = sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool);
    matches!(tokio::time::timeout(timeout, query).await, Ok(Ok(1)))
}

/// Counts beyond `i64::MAX` cannot occur (iterations are limited far below); saturate anyway.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{RunStatus, copy_row};
    use uuid::Uuid;

    #[test]
    fn copy_rows_are_postgres_binary_tuples() {
        let mut buf = Vec::new();
        copy_row(&mut buf, Uuid::nil(), 7, &[1.5, f64::NAN]);
        let mut want = vec![0, 3, 0, 0, 0, 16];
        want.extend([0; 16]);
        want.extend([0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]);
        want.extend([
            0, 0, 0, 44, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 189, 0, 0, 0, 2, 0, 0, 0, 1,
        ]);
        want.extend([0, 0, 0, 8]);
        want.extend(1.5f64.to_bits().to_be_bytes());
        want.extend([0, 0, 0, 8]);
        want.extend(f64::NAN.to_bits().to_be_bytes());
        assert_eq!(buf, want);
    }

    /// The database's check constraint on `runs.status` names exactly the engine's statuses.
    #[test]
    fn the_status_constraint_lists_every_run_status() {
        let sql = include_str!("../../migrations/0001_create_runs.sql");
        let constraint = sql
            .split("check (status in (")
            .nth(1)
            .and_then(|rest| rest.split("))").next())
            .unwrap_or_default();
        let names: Vec<&str> = constraint
            .split(',')
            .map(|n| n.trim().trim_matches('\''))
            .collect();
        let ours: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ours);
    }
}

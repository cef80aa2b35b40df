//! Every SQL statement the server runs, one function each, over the `runs` and `run_samples`
//! tables of `migrations/`.
//!
//! Queries are checked at run time (`sqlx::query`, `query_as`), not with the compile-time
//! `query!` macros: those need a live database (or a checked-in offline cache) to build, and the
//! project builds from a clean clone without one. The integration tests run every statement here
//! against a real PostgreSQL instead.
use std::time::Duration;

use scenarioforge_core::RunStatus;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::DbConfig;

mod runs;
mod samples;

pub use runs::{
    Admission, Finished, MAX_ATTEMPTS, NewRun, Refused, RunRow, StatusRow, Unfinished,
    cancel_queued, delete_expired, delete_run, fail, fail_keeping_summary, finish, get_owner,
    get_run, get_status, insert_run, mark_running, release_interrupted, requeue_unfinished,
    update_progress,
};
pub use samples::{sample_info, sample_page};

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

pub(super) fn to_usize(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// A status as stored: the check constraint admits only [`RunStatus::ALL`]'s names.
pub(super) fn stored(status: &str) -> Result<RunStatus, sqlx::Error> {
    status
        .parse()
        .map_err(|e: scenarioforge_core::summary::UnknownStatus| sqlx::Error::Decode(Box::new(e)))
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

/// A round trip to the database, bounded by `timeout`.
pub async fn ping(pool: &PgPool, timeout: Duration) -> bool {
    let query = sqlx::query_scalar::<_, i32>("select 1").fetch_one(pool);
    matches!(tokio::time::timeout(timeout, query).await, Ok(Ok(1)))
}

/// Counts beyond `i64::MAX` cannot occur (iterations are limited far below); saturate anyway.
pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::RunStatus;

    /// The database's check constraint on `runs.status` names exactly the engine's statuses.
    #[test]
    fn the_status_constraint_lists_every_run_status() {
        let sql = include_str!("../../../migrations/0001_create_runs.sql");
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

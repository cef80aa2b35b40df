//! The server's configuration, read from the environment and validated at start-up.
//!
//! Every variable has the name and default of the system ScenarioForge replaces; a bad value is
//! an error that names the variable, so a deployment fails at once instead of misbehaving later.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use scenarioforge_core::Limits;

/// Everything `scenarioforge serve` needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// `BIND_ADDR`: where the HTTP server listens.
    pub bind_addr: SocketAddr,
    /// `DATABASE_URL`: the PostgreSQL database.
    pub database_url: String,
    /// `MAX_SIMULATION_ITERATIONS`: the most iterations one run may ask for.
    pub max_iterations: u64,
    /// `MAX_SIMULATION_TIME` (ms): a run stops at the next chunk boundary after this, `timed_out`.
    pub max_simulation_time: Duration,
    /// `REQUEST_TIMEOUT` (ms): a request not answered by then gets `408`.
    pub request_timeout: Duration,
    /// `MAX_REQUEST_SIZE`: the largest request body, in bytes.
    pub max_request_size: usize,
    /// `MAX_CONCURRENT_RUNS`: runs executing at once; the others wait in order.
    pub max_concurrent_runs: usize,
    /// `MAX_QUEUED_RUNS`: runs waiting at most; beyond it new runs get `429` with `Retry-After`.
    pub max_queued_runs: usize,
    /// `MAX_RUNS_PER_CLIENT`: runs one client (address) may have queued or running at once;
    /// beyond it its new runs get `429` with `Retry-After`.
    pub max_runs_per_client: usize,
    /// `MAX_EVENT_STREAMS`: event streams open at once; past it, `503` with `Retry-After`.
    pub max_event_streams: usize,
    /// `ALLOWED_ORIGINS`: origins (`https://app.example.com`) besides the server's own whose
    /// pages may send state-changing requests; comma-separated, none by default.
    pub allowed_origins: Vec<String>,
    /// `METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// `MAX_CONNECTIONS`: open connections at most; more are closed as they are accepted.
    /// The default keeps room below the process's file-descriptor limit for the database
    /// pool, files and `/health`.
    pub max_connections: usize,
    /// `MAX_RUN_MEMORY`: the most memory one run may need, by the engine's estimate
    /// (`core::cost::memory`); a run estimated above it is refused with `422`.
    pub max_run_memory: u64,
    /// `MAX_RUN_WORK` (s): the most work one run may need, in seconds of one core by the
    /// engine's estimate (`core::cost::work`, an upper bound); a run estimated above it is
    /// refused with `422`. Unset, no run is refused for its work: `MAX_SIMULATION_TIME`
    /// still stops every run.
    pub max_run_work: Option<u64>,
    /// `MEMORY_BUDGET`: the memory all runs executing at once may need, by the same estimate;
    /// a run starts only when it fits in what is left, and waits queued until then. Default:
    /// half the cgroup's memory limit, or of the memory available at start-up.
    pub memory_budget: u64,
    /// Where `memory_budget` came from, in words (for the log and `/health`).
    pub memory_budget_source: String,
    /// `MAX_SUMMARY_SIZE`: the most bytes a run's stored summary may take; a run whose
    /// summary is bigger fails, saying so, rather than be stored.
    pub max_summary_size: usize,
    /// `HEADER_READ_TIMEOUT` (ms): a connection that has not sent a whole request head within
    /// this, whether it just opened or is idle between requests, is closed.
    pub header_read_timeout: Duration,
    /// `SAMPLE_ROWS`: iteration rows stored per run; a run's `sample_size` may lower it.
    pub sample_rows: usize,
    pub db: DbConfig,
    /// `RUN_RETENTION_DAYS`: failed and cancelled runs older than this are deleted; 0 keeps them.
    pub run_retention_days: u32,
    /// `RUST_LOG`: the tracing filter.
    pub log_filter: String,
    /// `WEB_DIR`: the built web app (Trunk's `dist/`), served at `/`; default `dist`.
    pub web_dir: std::path::PathBuf,
}

/// The database pool's settings.
#[derive(Clone, Debug)]
pub struct DbConfig {
    /// `DB_POOL_MAX`
    pub pool_max: u32,
    /// `DB_POOL_MIN`
    pub pool_min: u32,
    /// `DB_CONNECT_TIMEOUT` (ms): the longest wait for a connection.
    pub connect_timeout: Duration,
    /// `DB_STATEMENT_TIMEOUT` (ms): PostgreSQL's `statement_timeout` on every connection.
    pub statement_timeout: Duration,
    /// `DB_IDLE_TIMEOUT` (ms): idle connections above `DB_POOL_MIN` are closed after this.
    pub idle_timeout: Duration,
}

/// A variable with a value the server cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";

impl Config {
    /// What the engine's check allows a run on this server: `MAX_SIMULATION_ITERATIONS`, and
    /// `SAMPLE_ROWS` kept at most.
    pub fn limits(&self) -> Limits {
        Limits {
            max_iterations: self.max_iterations,
            sample_rows: Some(self.sample_rows),
        }
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration from `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let vars = Vars(&lookup);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let db = DbConfig {
            pool_max: vars.number("DB_POOL_MAX", 20, 1, 10_000)?,
            pool_min: vars.number("DB_POOL_MIN", 2, 0, 10_000)?,
            connect_timeout: vars.millis("DB_CONNECT_TIMEOUT", 10_000)?,
            statement_timeout: vars.millis("DB_STATEMENT_TIMEOUT", 60_000)?,
            idle_timeout: vars.millis("DB_IDLE_TIMEOUT", 30_000)?,
        };
        if db.pool_min > db.pool_max {
            return Err(ConfigError {
                variable: "DB_POOL_MIN",
                message: format!(
                    "must not exceed DB_POOL_MAX ({}), got {}",
                    db.pool_max, db.pool_min
                ),
            });
        }
        let bind = vars.get("BIND_ADDR")?;
        let bind = bind.as_deref().unwrap_or(DEFAULT_BIND_ADDR);
        let bind_addr = bind.parse().map_err(|_| ConfigError {
            variable: "BIND_ADDR",
            message: format!("expected an address and port such as `127.0.0.1:3000`, got `{bind}`"),
        })?;
        let database_url = vars.get("DATABASE_URL")?.ok_or_else(|| ConfigError {
            variable: "DATABASE_URL",
            message: "is not set: give the PostgreSQL database to use, e.g. \
                      `postgres://user:password@127.0.0.1:5432/scenarioforge` \
                      (scripts/run.sh starts a private one when it is unset)"
                .to_string(),
        })?;
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError {
                variable: "DATABASE_URL",
                message: "expected a `postgres://` URL".to_string(),
            });
        }
        let max_request_size = match vars.get("MAX_REQUEST_SIZE")? {
            None => 10 * 1024 * 1024,
            Some(text) => parse_size(&text).map_err(|message| ConfigError {
                variable: "MAX_REQUEST_SIZE",
                message,
            })?,
        };
        // sqlx logs every notice at info ("relation ... already exists, skipping"): quieter.
        let log_filter = vars
            .get("RUST_LOG")?
            .unwrap_or_else(|| "info,sqlx=warn".to_string());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(ConfigError {
                variable: "RUST_LOG",
                message: format!("not a valid filter: {e}"),
            });
        }
        let web_dir = vars
            .get("WEB_DIR")?
            .unwrap_or_else(|| "dist".to_string())
            .into();
        let (memory_budget, memory_budget_source) = match vars.get("MEMORY_BUDGET")? {
            None => crate::budget::default_budget(),
            Some(text) => (
                parse_size(&text).map_err(|message| ConfigError {
                    variable: "MEMORY_BUDGET",
                    message,
                })? as u64,
                "MEMORY_BUDGET".to_string(),
            ),
        };
        Ok(Config {
            web_dir,
            bind_addr,
            database_url,
            max_iterations: vars.number("MAX_SIMULATION_ITERATIONS", 10_000_000, 1, u64::MAX)?,
            max_simulation_time: vars.millis("MAX_SIMULATION_TIME", 300_000)?,
            request_timeout: vars.millis("REQUEST_TIMEOUT", 120_000)?,
            max_request_size,
            max_concurrent_runs: vars.number("MAX_CONCURRENT_RUNS", cores, 1, 1024)?,
            max_queued_runs: vars.number("MAX_QUEUED_RUNS", 1000, 1, 1_000_000)?,
            max_runs_per_client: vars.number("MAX_RUNS_PER_CLIENT", 100, 1, 1_000_000)?,
            max_event_streams: vars.number("MAX_EVENT_STREAMS", 2000, 1, 1_000_000)?,
            allowed_origins: origins(vars.get("ALLOWED_ORIGINS")?.as_deref())?,
            metrics_token: vars.get("METRICS_TOKEN")?.filter(|t| !t.is_empty()),
            max_connections: vars.number(
                "MAX_CONNECTIONS",
                default_max_connections(),
                1,
                1_000_000,
            )?,
            header_read_timeout: vars.millis("HEADER_READ_TIMEOUT", 10_000)?,
            max_run_memory: match vars.get("MAX_RUN_MEMORY")? {
                None => 1 << 30,
                Some(text) => parse_size(&text).map_err(|message| ConfigError {
                    variable: "MAX_RUN_MEMORY",
                    message,
                })? as u64,
            },
            max_run_work: match vars.get("MAX_RUN_WORK")? {
                None => None,
                Some(_) => Some(vars.number("MAX_RUN_WORK", 0, 1, u64::MAX)?),
            },
            memory_budget,
            memory_budget_source,
            max_summary_size: match vars.get("MAX_SUMMARY_SIZE")? {
                None => 64 << 20,
                Some(text) => parse_size(&text).map_err(|message| ConfigError {
                    variable: "MAX_SUMMARY_SIZE",
                    message,
                })?,
            },
            sample_rows: vars.number(
                "SAMPLE_ROWS",
                10_000,
                0,
                scenarioforge_core::model::MAX_SAMPLE_SIZE,
            )?,
            db,
            run_retention_days: vars.number("RUN_RETENTION_DAYS", 30, 0, 36_500)?,
            log_filter,
        })
    }
}

struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    /// The variable's value; unset is `None`, set but empty is an error.
    fn get(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match (self.0)(name) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Err(ConfigError {
                variable: name,
                message: "is set but empty: unset it for the default or give a value".to_string(),
            }),
            Some(v) => Ok(Some(v.trim().to_string())),
        }
    }

    fn number<T>(&self, name: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(text) = self.get(name)? else {
            return Ok(default);
        };
        let out_of_range = || ConfigError {
            variable: name,
            message: format!("expected a whole number from {min} to {max}, got `{text}`"),
        };
        let value: T = text.replace('_', "").parse().map_err(|_| out_of_range())?;
        if value < min || value > max {
            return Err(out_of_range());
        }
        Ok(value)
    }

    fn millis(&self, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
        self.number(name, default, 1, 365 * 24 * 3_600_000)
            .map(Duration::from_millis)
    }
}

/// A size in bytes: `10mb`, `512kb`, `1gb`, `2048b` or a plain number of bytes. Units are
/// binary (1kb = 1024 bytes) and case-insensitive.
/// Connections at most by default: the file-descriptor limit less 256 kept for the database
/// pool and files, and no more than 10,000.
fn default_max_connections() -> usize {
    #[cfg(target_os = "linux")]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        usize::try_from(limit.saturating_sub(256))
            .unwrap_or(usize::MAX)
            .clamp(16, 10_000)
    }
    #[cfg(not(target_os = "linux"))]
    {
        1_000
    }
}

/// `ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]`, each without a path.
fn origins(text: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let ok = (o.starts_with("http://") || o.starts_with("https://"))
                && !o.split_once("://").is_some_and(|(_, rest)| rest.contains('/') || rest.is_empty());
            if ok {
                Ok(o.trim_end_matches('/').to_ascii_lowercase())
            } else {
                Err(ConfigError {
                    variable: "ALLOWED_ORIGINS",
                    message: format!(
                        "expected origins such as `https://app.example.com`, comma-separated, got `{o}`"
                    ),
                })
            }
        })
        .collect()
}

pub fn parse_size(text: &str) -> Result<usize, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let expected = || format!("expected a size such as `10mb`, `512kb` or `1048576`, got `{text}`");
    let n: u64 = digits.parse().map_err(|_| expected())?;
    let factor: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(expected()),
    };
    let bytes = n
        .checked_mul(factor)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err(format!("must be at least 1 byte, got `{text}`"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("DATABASE_URL".into())
            .or_insert_with(|| "postgres://u:p@127.0.0.1:5432/db".into());
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_those_of_the_issue() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.max_iterations, 10_000_000);
        assert_eq!(c.max_simulation_time, Duration::from_secs(300));
        assert_eq!(c.request_timeout, Duration::from_secs(120));
        assert_eq!(c.max_request_size, 10 * 1024 * 1024);
        assert!(c.max_concurrent_runs >= 1);
        assert_eq!(c.sample_rows, 10_000);
        assert_eq!((c.db.pool_max, c.db.pool_min), (20, 2));
        assert_eq!(c.db.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.db.statement_timeout, Duration::from_secs(60));
        assert_eq!(c.db.idle_timeout, Duration::from_secs(30));
        assert_eq!(c.run_retention_days, 30);
    }

    #[test]
    fn sizes() {
        let cases = [
            ("10mb", Ok(10 << 20)),
            ("512kb", Ok(512 << 10)),
            ("512KB", Ok(512 << 10)),
            ("1gb", Ok(1 << 30)),
            ("2048", Ok(2048)),
            ("100b", Ok(100)),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text), want, "{text}");
        }
        for bad in ["", "mb", "10 tb", "-5", "1.5mb", "0"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_variable() {
        let cases = [
            (
                ("MAX_SIMULATION_ITERATIONS", "lots"),
                "MAX_SIMULATION_ITERATIONS: expected a whole number from 1 to 18446744073709551615, got `lots`",
            ),
            (
                ("MAX_SIMULATION_TIME", "0"),
                "MAX_SIMULATION_TIME: expected a whole number from 1 to 31536000000, got `0`",
            ),
            (
                ("MAX_REQUEST_SIZE", "huge"),
                "MAX_REQUEST_SIZE: expected a size such as `10mb`, `512kb` or `1048576`, got `huge`",
            ),
            (
                ("MAX_CONCURRENT_RUNS", "0"),
                "MAX_CONCURRENT_RUNS: expected a whole number from 1 to 1024, got `0`",
            ),
            (
                ("SAMPLE_ROWS", "2000000"),
                "SAMPLE_ROWS: expected a whole number from 0 to 1000000, got `2000000`",
            ),
            (
                ("DB_POOL_MIN", "30"),
                "DB_POOL_MIN: must not exceed DB_POOL_MAX (20), got 30",
            ),
            (
                ("BIND_ADDR", "nowhere"),
                "BIND_ADDR: expected an address and port such as `127.0.0.1:3000`, got `nowhere`",
            ),
            (
                ("REQUEST_TIMEOUT", ""),
                "REQUEST_TIMEOUT: is set but empty: unset it for the default or give a value",
            ),
            (
                ("DATABASE_URL", "mysql://x"),
                "DATABASE_URL: expected a `postgres://` URL",
            ),
        ];
        for ((name, value), want) in cases {
            let err = config(&[(name, value)]).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
        let err = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
    }
}

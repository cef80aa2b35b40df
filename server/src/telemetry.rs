//! What the server counts, and the Prometheus text format it is shown in at `/metrics`.
//!
//! Written by hand: a handful of counters, gauges and one histogram need no metrics framework,
//! and the text format is a few lines of `write!`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use scenarioforge_core::RunStatus;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the run duration histogram's buckets.
const DURATION_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    /// Runs that ended in this process, by final status.
    runs_finished: Mutex<BTreeMap<&'static str, u64>>,
    /// Runs accepted by `POST /api/runs` in this process.
    runs_created: AtomicU64,
    /// Connections closed as they were accepted, past `MAX_CONNECTIONS`.
    connections_refused: AtomicU64,
    duration: Mutex<Histogram>,
    iterations: AtomicU64,
    /// Iterations per second of the last run that ended, as f64 bits.
    last_rate: AtomicU64,
    /// HTTP responses by (route, status).
    http: Mutex<BTreeMap<(String, u16), u64>>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The values that are read when `/metrics` is asked for, not counted as they happen.
#[derive(Debug)]
pub struct Gauges {
    pub running: usize,
    pub queued: usize,
    pub memory_budget_bytes: u64,
    pub memory_reserved_bytes: u64,
    pub runs_waiting_for_memory: usize,
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
    pub pool_size: u32,
    pub pool_idle: usize,
    pub pool_max: u32,
    pub db_reachable: bool,
}

impl Metrics {
    pub fn run_created(&self) {
        self.runs_created.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn run_finished(&self, status: RunStatus, iterations: u64, seconds: f64) {
        if let Ok(mut m) = self.runs_finished.lock() {
            *m.entry(status.as_str()).or_default() += 1;
        }
        if let Ok(mut h) = self.duration.lock() {
            for (count, &bound) in h.counts.iter_mut().zip(&DURATION_BUCKETS) {
                if seconds <= bound {
                    *count += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
        self.iterations.fetch_add(iterations, Ordering::Relaxed);
        if seconds > 0.0 {
            self.last_rate
                .store((iterations as f64 / seconds).to_bits(), Ordering::Relaxed);
        }
    }

    pub fn http_response(&self, route: &str, status: u16) {
        if let Ok(mut m) = self.http.lock() {
            *m.entry((route.to_string(), status)).or_default() += 1;
        }
    }

    /// Everything, in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "scenarioforge_runs_created_total",
            "counter",
            "Runs accepted since the server started.",
        );
        let _ = writeln!(
            out,
            "scenarioforge_runs_created_total {}",
            self.runs_created.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "scenarioforge_connections_refused_total",
            "counter",
            "Connections closed at once because MAX_CONNECTIONS were open.",
        );
        let _ = writeln!(
            out,
            "scenarioforge_connections_refused_total {}",
            self.connections_refused.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "scenarioforge_runs_total",
            "counter",
            "Runs that ended since the server started, by final status.",
        );
        if let Ok(m) = self.runs_finished.lock() {
            for status in RunStatus::ALL.into_iter().filter(|s| s.is_finished()) {
                let n = m.get(status.as_str()).copied().unwrap_or(0);
                let _ = writeln!(out, "scenarioforge_runs_total{{status=\"{status}\"}} {n}");
            }
        }
        gauge(
            &mut out,
            "scenarioforge_runs_running",
            "Runs executing now.",
            g.running,
        );
        gauge(
            &mut out,
            "scenarioforge_runs_queued",
            "Runs waiting to start: for a worker thread, or for memory.",
            g.queued,
        );
        gauge(
            &mut out,
            "scenarioforge_memory_budget_bytes",
            "MEMORY_BUDGET: the memory the runs executing at once may need, by the engine's estimate.",
            g.memory_budget_bytes,
        );
        gauge(
            &mut out,
            "scenarioforge_memory_reserved_bytes",
            "Memory reserved by the runs executing, by the engine's estimate of each.",
            g.memory_reserved_bytes,
        );
        gauge(
            &mut out,
            "scenarioforge_runs_waiting_for_memory",
            "Runs taken from the queue that wait for their memory to fit in the budget.",
            g.runs_waiting_for_memory,
        );
        header(
            &mut out,
            "scenarioforge_run_duration_seconds",
            "histogram",
            "Wall time of runs from start to end, queueing excluded.",
        );
        if let Ok(h) = self.duration.lock() {
            for (count, bound) in h.counts.iter().zip(DURATION_BUCKETS) {
                let _ = writeln!(
                    out,
                    "scenarioforge_run_duration_seconds_bucket{{le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "scenarioforge_run_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
                 scenarioforge_run_duration_seconds_sum {}\n\
                 scenarioforge_run_duration_seconds_count {}",
                h.count, h.sum, h.count
            );
        }
        header(
            &mut out,
            "scenarioforge_iterations_total",
            "counter",
            "Iterations computed by runs that ended.",
        );
        let _ = writeln!(
            out,
            "scenarioforge_iterations_total {}",
            self.iterations.load(Ordering::Relaxed)
        );
        gauge(
            &mut out,
            "scenarioforge_iterations_per_second",
            "Iterations per second of the last run that ended.",
            f64::from_bits(self.last_rate.load(Ordering::Relaxed)),
        );
        gauge(
            &mut out,
            "process_resident_memory_bytes",
            "Resident set size (VmRSS).",
            g.rss_bytes,
        );
        gauge(
            &mut out,
            "process_resident_memory_peak_bytes",
            "Peak resident set size (VmHWM).",
            g.peak_rss_bytes,
        );
        header(
            &mut out,
            "scenarioforge_db_pool_connections",
            "gauge",
            "Database connections in the pool, by state.",
        );
        let idle = g.pool_idle as u64;
        let in_use = u64::from(g.pool_size).saturating_sub(idle);
        let _ = writeln!(
            out,
            "scenarioforge_db_pool_connections{{state=\"idle\"}} {idle}\n\
             scenarioforge_db_pool_connections{{state=\"in_use\"}} {in_use}"
        );
        gauge(
            &mut out,
            "scenarioforge_db_pool_max_connections",
            "DB_POOL_MAX.",
            g.pool_max,
        );
        gauge(
            &mut out,
            "scenarioforge_db_up",
            "1 when the database answered the last check.",
            u8::from(g.db_reachable),
        );
        header(
            &mut out,
            "http_requests_total",
            "counter",
            "HTTP responses by route and status.",
        );
        if let Ok(m) = self.http.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    escape_label(route)
                );
            }
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A gauge without labels: its header and its one value.
fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Resident and peak resident memory of this process in bytes, from `/proc/self/status`
/// (`VmRSS`, `VmHWM`); zeros where there is no `/proc`.
pub fn memory() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The CPU time this process has used, all its threads, in seconds, from `/proc/self/stat`
/// (`utime` and `stime`, in the kernel's USER_HZ ticks, 100 a second on Linux); 0 where there
/// is no `/proc`.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name, in parentheses, may hold spaces: the fields are counted after it.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name's.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_prometheus_text_format() {
        let m = Metrics::default();
        m.run_finished(RunStatus::Completed, 1000, 0.3);
        m.http_response("/api/runs/{id}", 200);
        let text = m.render(&Gauges {
            running: 1,
            queued: 2,
            memory_budget_bytes: 1 << 30,
            memory_reserved_bytes: 1 << 20,
            runs_waiting_for_memory: 3,
            rss_bytes: 10,
            peak_rss_bytes: 20,
            pool_size: 3,
            pool_idle: 1,
            pool_max: 20,
            db_reachable: true,
        });
        for line in [
            "scenarioforge_runs_total{status=\"completed\"} 1",
            "scenarioforge_runs_total{status=\"failed\"} 0",
            "scenarioforge_run_duration_seconds_bucket{le=\"0.25\"} 0",
            "scenarioforge_run_duration_seconds_bucket{le=\"0.5\"} 1",
            "scenarioforge_run_duration_seconds_count 1",
            "scenarioforge_runs_running 1",
            "scenarioforge_runs_queued 2",
            "scenarioforge_memory_budget_bytes 1073741824",
            "scenarioforge_runs_waiting_for_memory 3",
            "scenarioforge_db_pool_connections{state=\"in_use\"} 2",
            "http_requests_total{route=\"/api/runs/{id}\",status=\"200\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(memory().0 > 0);
    }
}

//! The process's memory budget (`MEMORY_BUDGET`): a run starts only when the engine's estimate
//! of its peak memory (`core::cost::memory`) fits in what the runs already started leave, and
//! waits queued otherwise. Reservations are served in the order they were asked for, so a big
//! run is not overtaken for ever by small ones behind it.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use uuid::Uuid;

/// How often a waiting reservation looks again at whether it should give up.
const RECHECK: Duration = Duration::from_millis(50);

#[derive(Debug)]
pub struct Budget {
    total: u64,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    reserved: u64,
    /// Runs waiting for memory, first come first.
    waiting: VecDeque<Uuid>,
}

/// Memory held for a run, given back when dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut state = self.budget.lock();
        state.reserved -= self.bytes;
        drop(state);
        self.budget.changed.notify_all();
    }
}

impl Budget {
    pub fn new(total: u64) -> Budget {
        Budget {
            total,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// (bytes reserved by runs executing, runs waiting for memory).
    pub fn usage(&self) -> (u64, usize) {
        let state = self.lock();
        (state.reserved, state.waiting.len())
    }

    /// Reserves `bytes` for run `id` (at most the whole budget), waiting while they do not fit
    /// or an earlier run is waiting; `None` when `give_up` says so first (the run was
    /// cancelled, or the server is stopping).
    pub fn reserve(
        &self,
        id: Uuid,
        bytes: u64,
        give_up: impl Fn() -> bool,
    ) -> Option<Reservation<'_>> {
        let bytes = bytes.min(self.total);
        let mut state = self.lock();
        state.waiting.push_back(id);
        loop {
            if state.waiting.front() == Some(&id) && state.reserved + bytes <= self.total {
                state.waiting.pop_front();
                state.reserved += bytes;
                drop(state);
                // The next in line may fit too.
                self.changed.notify_all();
                return Some(Reservation {
                    budget: self,
                    bytes,
                });
            }
            if give_up() {
                state.waiting.retain(|w| *w != id);
                drop(state);
                self.changed.notify_all();
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, RECHECK)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The budget when `MEMORY_BUDGET` is not set: half the memory this process may use, which is
/// its cgroup's limit where there is one and otherwise the memory available at start-up; the
/// other half is left for the rest of the process (connections, requests, the database
/// pool) and for the allocator's slack. With `what` it says where the figure came from.
pub fn default_budget() -> (u64, String) {
    let half = |bytes: u64| bytes / 2;
    if let Some(limit) = cgroup_limit() {
        return (
            half(limit),
            format!("half the cgroup's memory limit of {} MiB", limit >> 20),
        );
    }
    match available_memory() {
        Some(avail) => (
            half(avail),
            format!("half the {} MiB available at start-up", avail >> 20),
        ),
        // Nowhere to read it from (not Linux): a budget that never holds a run back.
        None => (
            u64::MAX,
            "unlimited (the machine's memory is unknown)".to_string(),
        ),
    }
}

/// The memory limit of this process's cgroup (v2 `memory.max`, or v1), if it has one.
fn cgroup_limit() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in cgroup.lines() {
        // v2: `0::/path`; v1: `N:memory:/path`.
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let file = if controllers.is_empty() {
            format!("/sys/fs/cgroup{path}/memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")
        } else {
            continue;
        };
        // A limit this large (v1 says "no limit" with about 2^63) is no limit.
        if let Some(limit) = read_number(&file).filter(|&b| b < 1 << 50) {
            return Some(limit);
        }
    }
    None
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// A file holding one number (`max` is none).
fn read_number(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[test]
    fn runs_wait_their_turn_and_memory_comes_back() {
        let budget = Arc::new(Budget::new(100));
        let first = budget.reserve(Uuid::from_u128(1), 70, || false).unwrap();
        assert_eq!(budget.usage(), (70, 0));
        // 50 does not fit beside 70: it waits, and a later 10 that would fit waits behind it.
        let (b, started) = (Arc::clone(&budget), Arc::new(AtomicBool::new(false)));
        let s = Arc::clone(&started);
        let big = std::thread::spawn(move || {
            let r = b.reserve(Uuid::from_u128(2), 50, || false);
            s.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            drop(r);
        });
        while budget.usage().1 == 0 {
            std::thread::yield_now();
        }
        let b = Arc::clone(&budget);
        let small = std::thread::spawn(move || {
            let r = b.reserve(Uuid::from_u128(3), 10, || false);
            assert!(r.is_some());
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(!started.load(Ordering::SeqCst), "50 started beside 70");
        assert_eq!(budget.usage(), (70, 2), "the 10 went past the 50");
        drop(first);
        big.join().unwrap();
        small.join().unwrap();
        assert_eq!(budget.usage(), (0, 0));
    }

    #[test]
    fn a_waiting_run_gives_up_and_leaves_the_line() {
        let budget = Budget::new(100);
        let _held = budget.reserve(Uuid::from_u128(1), 100, || false).unwrap();
        assert!(budget.reserve(Uuid::from_u128(2), 1, || true).is_none());
        assert_eq!(budget.usage(), (100, 0));
    }

    #[test]
    fn the_default_is_half_of_something_real() {
        let (bytes, what) = default_budget();
        assert!(bytes > 0 && what.contains("half"), "{bytes} {what}");
    }
}

//! The machine's cores, shared chunk by chunk between the runs executing.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use super::lock;

/// The machine's cores, as a count of chunks that may compute at once across all runs. Each run
/// starts an engine thread per core, so a run alone uses every core, and runs side by side
/// share them chunk by chunk rather than oversubscribing the machine (eight concurrent runs
/// were sixteen busy threads on two cores).
#[derive(Debug)]
pub(super) struct Cores {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Cores {
    pub(super) fn new(n: usize) -> Cores {
        Cores {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Takes a core, waiting for one; false, without one, when `give_up` says so first (it
    /// is asked every 10 ms: a run's deadline holds while it waits).
    pub(super) fn take(&self, give_up: impl Fn() -> bool) -> bool {
        let mut free = lock(&self.free);
        while *free == 0 {
            if give_up() {
                return false;
            }
            free = self
                .freed
                .wait_timeout(free, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *free -= 1;
        true
    }

    pub(super) fn give(&self) {
        *lock(&self.free) += 1;
        self.freed.notify_one();
    }
}

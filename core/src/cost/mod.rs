//! What a run will cost before it starts, from the compiled model and the settings alone:
//! an upper bound on the memory it holds at its peak ([`memory`]) and on the work it does
//! ([`work`]), so that a caller can refuse, queue or place a run before paying for it (the
//! server's `MAX_RUN_MEMORY`, `MEMORY_BUDGET` and `MAX_RUN_WORK`, the page's limits).

mod memory;
mod ranges;
mod work;

pub use memory::{MemoryEstimate, memory};
pub use work::{WorkEstimate, work};

/// A buffer a run needs could not be reserved: the run cannot start (or go on) on this
/// machine, and fails with this rather than abort the process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    /// What the buffer is for, in words.
    pub what: &'static str,
    pub bytes: u64,
}

impl std::fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the run could not reserve {} for {}: the machine is out of memory for it",
            approx_bytes(self.bytes),
            self.what
        )
    }
}

impl std::error::Error for OutOfMemory {}

/// `3221225472` as `3.0 GiB`, `1048576` as `1.0 MiB`, `2048` as `2.0 KiB`.
pub fn approx_bytes(n: u64) -> String {
    const MIB: f64 = (1 << 20) as f64;
    let mib = n as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else if mib >= 1.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

/// Seconds in words: `40 ms`, `2.4 s`, `12 s`, `3.5 min`, `2.0 h`.
pub fn approx_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 10.0 {
        format!("{seconds:.1} s")
    } else if seconds < 600.0 {
        format!("{seconds:.0} s")
    } else if seconds < 36_000.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

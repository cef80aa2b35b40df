//! An upper bound on the memory a run holds at its peak.

use super::approx_bytes;
use crate::compile::Model;
use crate::eval::CHUNK_SIZE;
use crate::limits::MAX_DRIVERS;
use crate::model::RunSettings;
use crate::report::SCREEN_ROWS;
use crate::run::SENSITIVITY_ROWS;
use crate::stats::bins::FINE_BINS;
use crate::stats::sketch::MAX_BUCKETS;

/// The parts of a run's memory, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The iteration sample: its rows of every node and inline draw, with their hashes.
    pub sample: u64,
    /// Each engine thread's chunk of columns.
    pub columns: u64,
    /// Sketches, fine bins and threshold counts: per output, per thread and merged.
    pub statistics: u64,
    /// The ranks and columns the drivers are measured on.
    pub sensitivity: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.sample + self.columns + self.statistics + self.sensitivity
    }

    /// Why a run of `model` with this estimate may not run under `limit` bytes (named
    /// `limit_name`, such as `MAX_RUN_MEMORY`), or `None` when it fits: the one message the
    /// server and the browser both give.
    pub fn refusal(&self, model: &Model, limit: u64, limit_name: &str) -> Option<String> {
        (self.total() > limit).then(|| {
            format!(
                "the run would need about {} of memory ({} for its sample of {} nodes and draws), above the limit of {} ({limit_name})",
                approx_bytes(self.total()),
                approx_bytes(self.sample),
                model.sample_slots().len(),
                approx_bytes(limit)
            )
        })
    }
}

/// An upper bound on the memory a run of `model` with `settings` on `threads` engine threads
/// holds at its peak, whatever its iteration count beyond the sample. The server's
/// `cli.rs` test holds it between the peak a run adds to the process and 1.5 times that,
/// for six shapes of model.
pub fn memory(model: &Model, settings: &RunSettings, threads: usize) -> MemoryEstimate {
    let f64s = |n: u64| n.saturating_mul(8);
    let threads = threads.max(1) as u64;
    let width = model.sample_slots().len() as u64;
    let chunk = CHUNK_SIZE as u64;
    let rows = (settings.sample_size().max(SENSITIVITY_ROWS) as u64).min(settings.iterations());
    // A row's values and its (hash, iteration, slot) in the heap; each thread's candidates
    // of one chunk, copied out of its columns; the rows the caller gets back (every node).
    let candidates = rows.min(chunk);
    let kept = (settings.sample_size() as u64).min(settings.iterations());
    // At the end the rows are listed by hash (an iteration and a slice each) and sorted.
    let sample = rows
        .saturating_mul(f64s(width) + 24 + 48)
        .saturating_add(
            threads
                .saturating_mul(candidates)
                .saturating_mul(f64s(width) + 16),
        )
        .saturating_add(kept.saturating_mul(f64s(model.nodes.len() as u64) + 32));
    let columns = f64s(model.program.slots as u64)
        .saturating_mul(chunk)
        .saturating_mul(threads);
    let outputs = model.outputs.len() as u64;
    // A sketch holds a bucket per 0.78% of its values' range of magnitudes: 2,048 buckets
    // for sixteen binades, far more than a typical output needs (a sketch can reach
    // 2 · MAX_BUCKETS counts only for values spanning nineteen decades).
    let sketch = f64s(MAX_BUCKETS as u64 / 4);
    let per_output = sketch + f64s(FINE_BINS as u64 + 2) + 1024;
    // One set per thread, the merged one, and a chunk's own under a precision target.
    let statistics = outputs
        .saturating_mul(per_output)
        .saturating_mul(threads + 2);
    MemoryEstimate {
        sample,
        columns,
        statistics,
        sensitivity: sensitivity(model, threads),
    }
}

/// The ranks the drivers are measured on (`report::sensitivity`): each thread ranks and
/// centres one output at a time, besides the drivers' ranks of [`ranked`].
fn sensitivity(model: &Model, threads: u64) -> u64 {
    let (full, screened) = ranked(model);
    // A rank is an i32 and a bin index a row, a u64 key while sorting: 8 bytes counted.
    (full as u64)
        .saturating_mul(SENSITIVITY_ROWS as u64 * 8)
        .saturating_add((screened as u64).saturating_mul(SCREEN_ROWS as u64 * 8))
        .saturating_add(threads.saturating_mul(SENSITIVITY_ROWS as u64 * 32))
}

/// How many driver columns are ranked on all `SENSITIVITY_ROWS`, and how many on the
/// `SCREEN_ROWS` of the screen alone: an output with more than `2 · MAX_DRIVERS` drivers has
/// them all ranked on the screen, and at most `2 · MAX_DRIVERS` of them on the full rows.
pub(super) fn ranked(model: &Model) -> (usize, usize) {
    let keep = 2 * MAX_DRIVERS;
    let mut all: Vec<usize> = Vec::new();
    let mut screened: Vec<usize> = Vec::new();
    let mut measured = 0usize;
    for (ds, &node) in model.drivers.iter().zip(&model.outputs) {
        // An output that is itself one draw is not its own driver.
        let own = |s: usize| model.sources[s].whole && model.sources[s].node == node;
        let listed: Vec<usize> = ds.iter().copied().filter(|&s| !own(s)).collect();
        if listed.len() > keep {
            screened.extend(&listed);
            measured += keep;
        }
        all.extend(listed);
    }
    for list in [&mut all, &mut screened] {
        list.sort_unstable();
        list.dedup();
    }
    // Those of small lists are all measured; the screened ones at most `keep` an output.
    let small = all.len() - screened.len().min(all.len());
    (small + measured.min(screened.len()), screened.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, ModelSpec, Settings, compile};

    fn estimate(json: &str, iterations: u64) -> MemoryEstimate {
        let model = compile(&ModelSpec::from_json(json).unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|_| unreachable!());
        let settings = Settings {
            iterations: Some(iterations),
            ..Settings::default()
        };
        let settings = RunSettings::validate(&settings, &Limits::up_to(u64::MAX))
            .unwrap_or_else(|_| unreachable!());
        memory(&model, &settings, 2)
    }

    /// The sample is bounded by the iterations: a short run needs little.
    #[test]
    fn a_short_run_needs_little() {
        let nodes: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"id": "n{i}", "expr": "1"}}"#))
            .collect();
        let small = estimate(&format!(r#"{{"nodes": [{}]}}"#, nodes.join(",")), 100);
        let big = estimate(&format!(r#"{{"nodes": [{}]}}"#, nodes.join(",")), 20_000);
        assert!(small.sample * 50 < big.sample, "{small:?} {big:?}");
    }
}

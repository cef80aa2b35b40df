//! One engine thread's share of a run: it evaluates a chunk, accumulates what merges in any
//! order, and picks the sample's candidates.

use super::merge::{Accumulator, Ordered};
use crate::compile::Model;
use crate::cost::OutOfMemory;
use crate::eval::{CHUNK_SIZE, Columns};
use crate::model::RunSettings;
use crate::rng::iteration_hash;
use crate::sample::BottomK;
use crate::simd::kernel;
use crate::stats::bins::{FineBins, Grid};
use crate::stats::moments::Moments;

/// One thread's working state: a chunk of columns, its accumulator, scratch space.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) acc: Accumulator,
    pub(super) cols: Columns,
    /// The columns a sample row holds ([`Model::sample_slots`]).
    pub(super) row_slots: Vec<usize>,
    pub(super) finite: Vec<f64>,
    /// Chunk 0's values of an output, sorted to choose its histogram grid.
    pub(super) scratch: Vec<f64>,
    pub(super) bad: Vec<usize>,
    /// `(hash, iteration)` of the rows of the last chunk that may enter the sample, and
    /// their values, row after row.
    pub(super) candidates: Vec<(u64, u64)>,
    pub(super) candidate_rows: Vec<f64>,
}

impl Worker {
    pub(super) fn try_new(model: &Model) -> Result<Worker, OutOfMemory> {
        Ok(Worker {
            acc: Accumulator::new(model),
            cols: Columns::try_new(model.program.slots)?,
            row_slots: model.sample_slots(),
            finite: Vec::with_capacity(CHUNK_SIZE),
            scratch: Vec::new(),
            bad: Vec::with_capacity(model.nodes.len()),
            candidates: Vec::new(),
            candidate_rows: Vec::new(),
        })
    }

    /// Evaluates chunk `chunk`, accumulates what merges in any order, keeps the rows whose
    /// hash is below `sample_threshold` as candidates, and returns the chunk's size and the
    /// moments of each output (to be merged in chunk order). `None` when `stop` abandoned
    /// the chunk part-way: then nothing of it was accumulated.
    pub(super) fn chunk(
        &mut self,
        model: &Model,
        settings: &RunSettings,
        chunk: u64,
        sample_threshold: u64,
        stop: &dyn Fn() -> bool,
    ) -> Option<(u64, Vec<Moments>)> {
        let seed = settings.seed();
        let start = chunk * CHUNK_SIZE as u64;
        let n = (settings.iterations() - start).min(CHUNK_SIZE as u64) as usize;
        let cols = &mut self.cols;
        if !model
            .program
            .run_chunk(cols, n, seed, chunk, settings.sampling(), stop)
        {
            return None;
        }
        for refused in cols.invalid() {
            let first = start + refused.first_row as u64;
            let entry = &mut self.acc.invalid[refused.draw];
            entry.0 += refused.count;
            if first < entry.1 {
                (entry.1, entry.2) = (first, refused.reason.clone());
            }
        }

        self.bad.clear();
        for (node, nf) in self.acc.non_finite.iter_mut().enumerate() {
            let col = &cols.col(node)[..n];
            let count = if cols.may_be_non_finite(node) {
                count_non_finite(col)
            } else {
                0
            };
            if count > 0 {
                let first = col.iter().position(|v| !v.is_finite()).unwrap_or(0) as u64;
                *nf = (nf.0 + count as u64, nf.1.min(start + first));
            }
            self.bad.push(count);
        }

        let mut moments = Vec::with_capacity(model.outputs.len());
        for (o, &node) in model.outputs.iter().enumerate() {
            let mut col = &cols.col(node)[..n];
            if self.bad[node] > 0 {
                self.finite.clear();
                self.finite
                    .extend(col.iter().copied().filter(|v| v.is_finite()));
                col = &self.finite;
            }
            let m = Moments::from_slice(col);
            self.acc.sketches[o].insert_slice_with_extremes(col, m.min(), m.max());
            if chunk == 0 {
                self.scratch.clear();
                self.scratch.extend_from_slice(col);
                self.acc.bins[o] = FineBins::new(Grid::from_first_chunk(&mut self.scratch));
            }
            self.acc.bins[o].insert_slice(col);
            moments.push(m);
            for (count, &t) in self.acc.below[o]
                .iter_mut()
                .zip(&model.nodes[node].thresholds)
            {
                *count += col.iter().filter(|&&v| v < t).count() as u64;
            }
        }

        self.candidates.clear();
        self.candidate_rows.clear();
        for i in 0..n {
            let iteration = start + i as u64;
            let hash = iteration_hash(seed, iteration);
            if hash <= sample_threshold {
                self.candidates.push((hash, iteration));
                self.candidate_rows
                    .extend(self.row_slots.iter().map(|&slot| cols.col(slot)[i]));
            }
        }
        Some((n as u64, moments))
    }

    /// Under a precision target, what the last chunk added to the worker's accumulator and
    /// its sample candidates, taken out to be merged in chunk order; `None` otherwise.
    pub(super) fn ordered_part(
        &mut self,
        model: &Model,
        settings: &RunSettings,
    ) -> Option<Ordered> {
        settings.precision()?;
        let grids = self.acc.grids();
        Some(Ordered {
            acc: std::mem::replace(&mut self.acc, Accumulator::with_grids(model, &grids)),
            candidates: std::mem::take(&mut self.candidates),
            rows: std::mem::take(&mut self.candidate_rows),
        })
    }

    pub(super) fn offer_candidates(&self, sample: &mut BottomK) {
        let width = self.row_slots.len();
        for (k, &(hash, iteration)) in self.candidates.iter().enumerate() {
            sample.offer(
                hash,
                iteration,
                &self.candidate_rows[k * width..(k + 1) * width],
            );
        }
    }
}

kernel! {
    /// NaN and infinities in `col`. It runs over every node's column of every chunk, so the
    /// common answer, none, comes from a sum of `v · 0`, which is 0 for every finite value and
    /// NaN otherwise: four lanes of one multiply and one add, which vectorise. (Counting with
    /// `is_finite` left the 64-bit mask arithmetic to SSE2, which lacks it: 5% of a run.)
    fn count_non_finite(col: &[f64]) -> usize {
        let mut lanes = [0.0; 4];
        let quads = col.chunks_exact(4);
        let rest: f64 = quads.remainder().iter().map(|v| v * 0.0).sum();
        for quad in quads {
            for lane in 0..4 {
                lanes[lane] += quad[lane] * 0.0;
            }
        }
        if (lanes[0] + lanes[1] + lanes[2] + lanes[3] + rest).is_nan() {
            col.iter().filter(|v| !v.is_finite()).count()
        } else {
            0
        }
    }
}

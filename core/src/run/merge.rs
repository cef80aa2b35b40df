//! The run's merged state: moments merged in chunk order, the order-free accumulators, and
//! under a precision target everything in chunk order.

use std::collections::BTreeMap;

use super::{Progress, new_sample};
use crate::compile::Model;
use crate::cost::OutOfMemory;
use crate::eval::CHUNK_SIZE;
use crate::model::{MIN_PRECISION_ITERATIONS, Precision, RunSettings, Sampling};
use crate::sample::BottomK;
use crate::stats::bins::{FineBins, Grid};
use crate::stats::moments::Moments;
use crate::stats::sketch::Sketch;
use crate::summary::SemMethod;

/// What a chunk hands to the in-order merge.
#[derive(Debug)]
pub(super) struct ChunkOut {
    pub(super) n: u64,
    pub(super) moments: Vec<Moments>,
    /// Under a precision target, everything else the chunk adds (see [`Target`]).
    pub(super) ordered: Option<Ordered>,
}

/// A chunk's order-free statistics and sample candidates, kept apart from the worker's so
/// that they can be merged in chunk order.
#[derive(Debug)]
pub(super) struct Ordered {
    pub(super) acc: Accumulator,
    pub(super) candidates: Vec<(u64, u64)>,
    pub(super) rows: Vec<f64>,
}

/// A run with a precision target stops at the first chunk boundary where the target is met,
/// so the chunks past that point, which other threads may already have finished, must not
/// count. Such a run therefore merges everything, not just the moments, in chunk order here,
/// and drops whatever arrives after the stop.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) precision: Precision,
    /// Positions in `model.outputs` the target applies to.
    pub(crate) outputs: Vec<usize>,
    pub(crate) acc: Accumulator,
    pub(crate) sample: BottomK,
}

/// Moments merged strictly in chunk order: chunks that finish early wait in `pending`.
#[derive(Debug)]
pub(crate) struct Merge {
    pub(crate) next: u64,
    pub(crate) done: u64,
    pub(super) pending: BTreeMap<u64, ChunkOut>,
    pub(crate) moments: Vec<Moments>,
    pub(crate) target: Option<Target>,
    /// The precision target was met after chunk `next - 1`.
    pub(crate) converged: bool,
    /// Under Latin hypercube sampling, per output, the moments of the means of full chunks:
    /// each chunk is an independent hypercube, so their spread gives the standard error.
    pub(super) chunk_means: Option<Vec<Moments>>,
}

/// Full chunks (independent hypercubes) below which a Latin hypercube run's standard error
/// is not estimated from their spread, too few to be steady, and the iid one, an upper
/// bound, is reported instead.
pub const MIN_REPLICATES: u64 = 10;

impl Merge {
    pub(super) fn try_new(model: &Model, settings: &RunSettings) -> Result<Merge, OutOfMemory> {
        let target = match settings.precision() {
            None => None,
            Some(p) => Some(Target {
                outputs: (0..model.outputs.len())
                    .filter(|&o| {
                        p.outputs.is_empty()
                            || p.outputs.contains(&model.nodes[model.outputs[o]].id)
                    })
                    .collect(),
                precision: p.clone(),
                acc: Accumulator::new(model),
                sample: new_sample(model, settings)?,
            }),
        };
        Ok(Merge {
            next: 0,
            done: 0,
            pending: BTreeMap::new(),
            moments: vec![Moments::new(); model.outputs.len()],
            target,
            converged: false,
            chunk_means: (settings.sampling() == Sampling::LatinHypercube)
                .then(|| vec![Moments::new(); model.outputs.len()]),
        })
    }

    /// The standard error of output `o`'s mean, and how it was estimated. Random sampling:
    /// the iid `std / sqrt(n)`. Latin hypercube, which has lower variance: from the spread of
    /// the means of the full chunks, each an independent hypercube (replicated LHS), as
    /// `sqrt(s² · CHUNK_SIZE / n)` with `s²` their sample variance; with fewer than
    /// [`MIN_REPLICATES`] of them, the iid figure, which overstates it.
    pub(crate) fn sem(&self, o: usize) -> (f64, SemMethod) {
        let m = &self.moments[o];
        let Some(chunk_means) = &self.chunk_means else {
            return (m.sem(), SemMethod::Iid);
        };
        let means = &chunk_means[o];
        let k = means.count();
        if k < MIN_REPLICATES || m.count() == 0 {
            return (m.sem(), SemMethod::UpperBound);
        }
        let spread = means.std() * means.std() * k as f64 / (k - 1) as f64;
        (
            (spread * CHUNK_SIZE as f64 / m.count() as f64).sqrt(),
            SemMethod::Replicates,
        )
    }

    /// Adds a chunk; true when the merged prefix grew.
    pub(super) fn add(&mut self, chunk: u64, out: ChunkOut) -> bool {
        if self.converged {
            return false;
        }
        self.pending.insert(chunk, out);
        let mut advanced = false;
        while let Some(out) = self.pending.remove(&self.next) {
            self.absorb(out);
            self.next += 1;
            advanced = true;
            if self.target.is_some() && self.precision_met() {
                self.converged = true;
                self.pending.clear();
                break;
            }
        }
        advanced
    }

    /// At the end of a stopped run, merges the chunks that completed after one that was
    /// abandoned part-way, in chunk order: the run's statistics then cover exactly the
    /// chunks completed, like its order-free accumulators and its sample. True when there
    /// were any.
    pub(super) fn settle(&mut self) -> bool {
        let pending = std::mem::take(&mut self.pending);
        let any = !pending.is_empty();
        for out in pending.into_values() {
            self.absorb(out);
        }
        any
    }

    pub(super) fn absorb(&mut self, out: ChunkOut) {
        for (total, part) in self.moments.iter_mut().zip(&out.moments) {
            total.merge(part);
        }
        if let Some(chunk_means) = &mut self.chunk_means {
            for (means, part) in chunk_means.iter_mut().zip(&out.moments) {
                if part.count() == CHUNK_SIZE as u64 {
                    means.merge(&Moments::from_slice(&[part.mean()]));
                }
            }
        }
        self.done += out.n;
        if let (Some(target), Some(ordered)) = (&mut self.target, out.ordered) {
            target.acc.merge(&ordered.acc);
            let width = ordered.rows.len() / ordered.candidates.len().max(1);
            for (k, &(hash, iteration)) in ordered.candidates.iter().enumerate() {
                target
                    .sample
                    .offer(hash, iteration, &ordered.rows[k * width..(k + 1) * width]);
            }
        }
    }

    /// Whether every chosen output's mean is known as precisely as the target asks.
    pub(super) fn precision_met(&self) -> bool {
        let Some(target) = &self.target else {
            return false;
        };
        self.done >= MIN_PRECISION_ITERATIONS
            && target
                .outputs
                .iter()
                .all(|&o| self.shortfall(target, o).is_none())
    }

    /// `None` when output `o` meets the target; otherwise its mean, half-width and the
    /// half-width it needs.
    pub(crate) fn shortfall(&self, target: &Target, o: usize) -> Option<(f64, f64, f64)> {
        let m = &self.moments[o];
        let p = &target.precision;
        let (mean, half) = (m.mean(), p.z * self.sem(o).0);
        let needed = p
            .relative
            .map_or(0.0, |r| r * mean.abs())
            .max(p.absolute.unwrap_or(0.0));
        let met = m.count() >= 2 && half.is_finite() && half <= needed;
        (!met).then_some((mean, half, needed))
    }

    /// The bound below which a row may enter the sample.
    pub(super) fn sample_threshold(&self, sample: &BottomK) -> u64 {
        self.target
            .as_ref()
            .map_or_else(|| sample.threshold(), |t| t.sample.threshold())
    }

    pub(super) fn progress(&self, model: &Model, total: u64) -> Progress {
        Progress {
            iterations_done: self.done,
            iterations_total: total,
            outputs: model
                .outputs
                .iter()
                .zip(&self.moments)
                .enumerate()
                .map(|(k, (&o, m))| {
                    let (mean, sem) = if m.count() == 0 {
                        (f64::NAN, f64::NAN)
                    } else {
                        (m.mean(), self.sem(k).0)
                    };
                    (model.nodes[o].id.clone(), mean, sem)
                })
                .collect(),
        }
    }
}

/// What a worker accumulates whose merge is exact in any order: integer counts and minima.
#[derive(Debug)]
pub(crate) struct Accumulator {
    pub(crate) sketches: Vec<Sketch>,
    /// Per output: exact counts on the histogram grid that chunk 0 chose.
    pub(crate) bins: Vec<FineBins>,
    /// Per output, per threshold: finite values below it.
    pub(crate) below: Vec<Vec<u64>>,
    /// Per node: non-finite values and the first iteration that had one.
    pub(crate) non_finite: Vec<(u64, u64)>,
    /// Per draw with per-iteration parameters (`Program::draws`): draws whose parameters
    /// were invalid, the first iteration that had one, and why.
    pub(crate) invalid: Vec<(u64, u64, String)>,
}

impl Accumulator {
    pub(super) fn new(model: &Model) -> Accumulator {
        Accumulator {
            sketches: model.outputs.iter().map(|_| Sketch::new()).collect(),
            bins: model.outputs.iter().map(|_| FineBins::default()).collect(),
            below: model
                .outputs
                .iter()
                .map(|&o| vec![0; model.nodes[o].thresholds.len()])
                .collect(),
            non_finite: vec![(0, u64::MAX); model.nodes.len()],
            invalid: vec![(0, u64::MAX, String::new()); model.program.draws.len()],
        }
    }

    /// An empty accumulator that counts on `grids` (one per output).
    pub(super) fn with_grids(model: &Model, grids: &[Option<Grid>]) -> Accumulator {
        let mut acc = Accumulator::new(model);
        for (bins, &grid) in acc.bins.iter_mut().zip(grids) {
            *bins = FineBins::new(grid);
        }
        acc
    }

    pub(super) fn grids(&self) -> Vec<Option<Grid>> {
        self.bins.iter().map(FineBins::grid).collect()
    }

    pub(super) fn merge(&mut self, other: &Accumulator) {
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
            a.merge(b);
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            a.merge(b);
        }
        for (a, b) in self.below.iter_mut().zip(&other.below) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.non_finite.iter_mut().zip(&other.non_finite) {
            *a = (a.0 + b.0, a.1.min(b.1));
        }
        for (a, b) in self.invalid.iter_mut().zip(&other.invalid) {
            a.0 += b.0;
            if b.1 < a.1 {
                (a.1, a.2) = (b.1, b.2.clone());
            }
        }
    }
}

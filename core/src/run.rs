//! Running a compiled model: chunks spread over threads, statistics streamed and merged in
//! chunk order, so the summary is the same bits for any thread count and on any target.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::compile::Model;
use crate::cost::OutOfMemory;
use crate::eval::{CHUNK_SIZE, Columns};
use crate::model::{MIN_PRECISION_ITERATIONS, Precision, RunSettings, Sampling};
use crate::rng::iteration_hash;
use crate::sample::BottomK;
use crate::simd::kernel;
use crate::stats::bins::{FineBins, Grid};
use crate::stats::moments::Moments;

use crate::report::finish;
use crate::stats::sketch::Sketch;
use crate::summary::{SemMethod, Summary};

/// Rows of the iteration sample that sensitivity is computed from, whatever `sample_size`
/// the user asked for: enough for first-order shares within 0.02 (the Ishigami test).
pub const SENSITIVITY_ROWS: usize = 20_000;

/// Why a run stops before its last iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    TimedOut,
}

/// Where a run is, reported after each chunk in chunk order.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub iterations_done: u64,
    pub iterations_total: u64,
    /// `(output id, running mean, running SEM)`; the mean is NaN while no value was finite.
    pub outputs: Vec<(String, f64, f64)>,
}

/// The caller's side of a run: it hears progress and can stop the run at a chunk boundary.
/// The engine has no clock of its own (it has no I/O); time limits live here.
pub trait Observer: Sync {
    fn progress(&self, _progress: &Progress) {}
    fn should_stop(&self) -> Option<Stop> {
        None
    }
    /// Asked during the work after the last chunk (ranking each output's drivers, measuring
    /// the achieved correlations), which can take seconds for a model with many outputs:
    /// true leaves out what is left of it, and the summary's warnings say what was.
    fn skip_finishing(&self) -> bool {
        false
    }
    /// Called by an engine thread before it computes a chunk, and may wait: a caller running
    /// several runs at once (the server) hands out its cores here, so that however many runs
    /// there are, no more chunks compute at once than there are cores. False when the run
    /// was stopped while it waited: the chunk is then abandoned, and no
    /// [`Observer::end_chunk`] follows; otherwise one does, even if the chunk panics.
    fn begin_chunk(&self) -> bool {
        true
    }
    fn end_chunk(&self) {}
}

/// A chunk's turn on a core, from [`Observer::begin_chunk`] until dropped.
struct ChunkTurn<'a>(&'a dyn Observer);

impl<'a> ChunkTurn<'a> {
    fn take(observer: &'a dyn Observer) -> Option<ChunkTurn<'a>> {
        observer.begin_chunk().then_some(ChunkTurn(observer))
    }
}

impl Drop for ChunkTurn<'_> {
    fn drop(&mut self) {
        self.0.end_chunk();
    }
}

/// An observer that hears nothing and never stops the run.
#[derive(Debug)]
pub struct Unobserved;
impl Observer for Unobserved {}

/// The sampled iterations: `columns` are the node ids, rows sorted by iteration.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleTable {
    pub columns: Vec<String>,
    pub rows: Vec<(u64, Vec<f64>)>,
}

#[derive(Debug)]
pub struct RunOutput {
    pub summary: Summary,
    pub samples: SampleTable,
}

pub const ENGINE: &str = concat!("scenarioforge-core ", env!("CARGO_PKG_VERSION"));

/// Runs `model` with `settings` on `threads` threads (1 on wasm); an allocation that fails
/// aborts the process, as any does. A caller running models it did not write (the server)
/// uses [`try_run`].
pub fn run(
    model: &Model,
    settings: &RunSettings,
    threads: usize,
    observer: &dyn Observer,
) -> RunOutput {
    try_run(model, settings, threads, observer).unwrap_or_else(|e| {
        let bytes = usize::try_from(e.bytes).unwrap_or(usize::MAX);
        std::alloc::handle_alloc_error(
            std::alloc::Layout::from_size_align(bytes.min(isize::MAX as usize), 8)
                .unwrap_or(std::alloc::Layout::new::<f64>()),
        )
    })
}

/// [`run`], with the run's large buffers (the sample, each thread's columns) reserved before
/// its first chunk, fallibly: a machine without the memory fails the run, not the process.
pub fn try_run(
    model: &Model,
    settings: &RunSettings,
    threads: usize,
    observer: &dyn Observer,
) -> Result<RunOutput, OutOfMemory> {
    let n_chunks = settings.iterations().div_ceil(CHUNK_SIZE as u64);
    let threads = threads.clamp(1, n_chunks.max(1) as usize);
    let shared = Shared {
        model,
        settings,
        observer,
        next_chunk: AtomicU64::new(0),
        stopped: Mutex::new(None),
        merge: Mutex::new(Merge::try_new(model, settings)?),
        sample_threshold: AtomicU64::new(sample_prefilter(settings)),
        sample: Mutex::new(new_sample(model, settings)?),
        n_chunks,
        converged: AtomicBool::new(false),
    };
    let mut first = Worker::try_new(model)?;
    let mut others = Vec::with_capacity(threads - 1);
    for _ in 1..threads {
        others.push(Worker::try_new(model)?);
    }
    // Chunk 0 first, alone: it decides each output's histogram grid, which every worker
    // needs before it counts a value (see `stats::bins`).
    let go_on = shared.step(&mut first);
    let accs: Vec<Accumulator> = if others.is_empty() || !go_on {
        vec![shared.work(first)]
    } else {
        let grids = first.acc.grids();
        std::thread::scope(|s| {
            let shared = &shared;
            let mut handles = vec![s.spawn(move || shared.work(first))];
            for mut worker in others {
                worker.acc = Accumulator::with_grids(model, &grids);
                handles.push(s.spawn(move || shared.work(worker)));
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut merge = shared.merge.into_inner().unwrap_or_else(|e| e.into_inner());
    // A stop asked for while the last chunks were being finished stopped nothing.
    let stopped = if merge.next < n_chunks {
        *shared.stopped.lock().unwrap_or_else(|e| e.into_inner())
    } else {
        None
    };
    if merge.settle() {
        observer.progress(&merge.progress(model, settings.iterations()));
    }
    let sample = shared
        .sample
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut acc = Accumulator::new(model);
    for other in &accs {
        acc.merge(other);
    }
    let skip = || observer.skip_finishing();
    Ok(finish(
        model, settings, threads, stopped, &merge, &acc, &sample, &skip,
    ))
}

/// A run driven one slice at a time by its caller, on the caller's thread: for the browser,
/// which must return to its event loop between slices. Chunks go through the same code as in
/// [`run`], in order, so the output is the same bits as `run` on any number of threads.
#[derive(Debug)]
pub struct Stepper {
    model: Model,
    settings: RunSettings,
    worker: Worker,
    merge: Merge,
    sample: BottomK,
    next_chunk: u64,
    n_chunks: u64,
    stopped: Option<Stop>,
}

impl Stepper {
    /// Reserves the run's large buffers, fallibly, as [`try_run`] does.
    pub fn new(model: Model, settings: RunSettings) -> Result<Stepper, OutOfMemory> {
        Ok(Stepper {
            worker: Worker::try_new(&model)?,
            merge: Merge::try_new(&model, &settings)?,
            sample: new_sample(&model, &settings)?,
            next_chunk: 0,
            n_chunks: settings.iterations().div_ceil(CHUNK_SIZE as u64),
            stopped: None,
            model,
            settings,
        })
    }

    /// Runs up to `chunks` more chunks and reports where the run is.
    pub fn step(&mut self, chunks: u64) -> Progress {
        let prefilter = sample_prefilter(&self.settings);
        let end = self.next_chunk.saturating_add(chunks).min(self.n_chunks);
        while self.stopped.is_none() && !self.merge.converged && self.next_chunk < end {
            let chunk = self.next_chunk;
            self.next_chunk += 1;
            let threshold = prefilter.min(self.merge.sample_threshold(&self.sample));
            // The caller stops a stepped run between slices, never inside a chunk.
            let Some((n, moments)) =
                self.worker
                    .chunk(&self.model, &self.settings, chunk, threshold, &|| false)
            else {
                break;
            };
            let ordered = self.worker.ordered_part(&self.model, &self.settings);
            if ordered.is_none() {
                self.worker.offer_candidates(&mut self.sample);
            }
            self.merge.add(
                chunk,
                ChunkOut {
                    n,
                    moments,
                    ordered,
                },
            );
        }
        self.merge.progress(&self.model, self.settings.iterations())
    }

    /// Every chunk is done, the precision target was met, or the run was stopped.
    pub fn is_done(&self) -> bool {
        self.stopped.is_some() || self.merge.converged || self.next_chunk >= self.n_chunks
    }

    /// Stops the run before its next chunk; `finish` then gives the partial result.
    pub fn stop(&mut self, why: Stop) {
        self.stopped.get_or_insert(why);
    }

    /// The summary and sample of the chunks run so far.
    pub fn finish(self) -> RunOutput {
        let stopped = if self.next_chunk < self.n_chunks {
            self.stopped
        } else {
            None
        };
        finish(
            &self.model,
            &self.settings,
            1,
            stopped,
            &self.merge,
            &self.worker.acc,
            &self.sample,
            &|| false,
        )
    }
}

fn new_sample(model: &Model, settings: &RunSettings) -> Result<BottomK, OutOfMemory> {
    let k = settings.sample_size().max(SENSITIVITY_ROWS);
    // Never more rows than iterations: the room is reserved up front.
    let rows = usize::try_from(settings.iterations()).map_or(k, |n| k.min(n));
    BottomK::try_new(k, rows, model.sample_slots().len())
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

/// A hash bound that the sample's rows will fall under, so that the first chunks need not
/// offer every row. Among `n` uniform hashes, the number below `μ/n · 2^64` is binomial with
/// mean μ; with `μ = k + t`, `t = 45√k + 1500`, it falls short of `k` with probability at
/// most `exp(-t²/2μ) < e^-1000` for every `k` of at least 20,000 (a Chernoff bound), and even
/// then the sample is the same for every thread count. At k = 20,000 that offers 27,900
/// rows, not the 41,000 of twice k. Under a precision target the run may stop long before
/// `iterations`, and a bound made for all of them would leave the sample short: every row
/// is offered.
fn sample_prefilter(settings: &RunSettings) -> u64 {
    let k = settings.sample_size().max(SENSITIVITY_ROWS) as u64;
    let n = settings.iterations();
    if k >= n / 4 || settings.precision().is_some() {
        return u64::MAX;
    }
    let fraction = (k as f64 + 45.0 * (k as f64).sqrt() + 1500.0) / n as f64;
    if fraction >= 1.0 {
        u64::MAX
    } else {
        (fraction * 18_446_744_073_709_551_616.0) as u64
    }
}

struct Shared<'a> {
    model: &'a Model,
    settings: &'a RunSettings,
    observer: &'a dyn Observer,
    next_chunk: AtomicU64,
    stopped: Mutex<Option<Stop>>,
    merge: Mutex<Merge>,
    sample_threshold: AtomicU64,
    sample: Mutex<BottomK>,
    n_chunks: u64,
    /// The precision target was met: no more chunks.
    converged: AtomicBool,
}

/// What a chunk hands to the in-order merge.
#[derive(Debug)]
struct ChunkOut {
    n: u64,
    moments: Vec<Moments>,
    /// Under a precision target, everything else the chunk adds (see [`Target`]).
    ordered: Option<Ordered>,
}

/// A chunk's order-free statistics and sample candidates, kept apart from the worker's so
/// that they can be merged in chunk order.
#[derive(Debug)]
struct Ordered {
    acc: Accumulator,
    candidates: Vec<(u64, u64)>,
    rows: Vec<f64>,
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
    pending: BTreeMap<u64, ChunkOut>,
    pub(crate) moments: Vec<Moments>,
    pub(crate) target: Option<Target>,
    /// The precision target was met after chunk `next - 1`.
    pub(crate) converged: bool,
    /// Under Latin hypercube sampling, per output, the moments of the means of full chunks:
    /// each chunk is an independent hypercube, so their spread gives the standard error.
    chunk_means: Option<Vec<Moments>>,
}

/// Full chunks (independent hypercubes) below which a Latin hypercube run's standard error
/// is not estimated from their spread, too few to be steady, and the iid one, an upper
/// bound, is reported instead.
pub const MIN_REPLICATES: u64 = 10;

impl Merge {
    fn try_new(model: &Model, settings: &RunSettings) -> Result<Merge, OutOfMemory> {
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
    fn add(&mut self, chunk: u64, out: ChunkOut) -> bool {
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
    fn settle(&mut self) -> bool {
        let pending = std::mem::take(&mut self.pending);
        let any = !pending.is_empty();
        for out in pending.into_values() {
            self.absorb(out);
        }
        any
    }

    fn absorb(&mut self, out: ChunkOut) {
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
    fn precision_met(&self) -> bool {
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
    fn sample_threshold(&self, sample: &BottomK) -> u64 {
        self.target
            .as_ref()
            .map_or_else(|| sample.threshold(), |t| t.sample.threshold())
    }

    fn progress(&self, model: &Model, total: u64) -> Progress {
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
    fn new(model: &Model) -> Accumulator {
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
    fn with_grids(model: &Model, grids: &[Option<Grid>]) -> Accumulator {
        let mut acc = Accumulator::new(model);
        for (bins, &grid) in acc.bins.iter_mut().zip(grids) {
            *bins = FineBins::new(grid);
        }
        acc
    }

    fn grids(&self) -> Vec<Option<Grid>> {
        self.bins.iter().map(FineBins::grid).collect()
    }

    fn merge(&mut self, other: &Accumulator) {
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

/// One thread's working state: a chunk of columns, its accumulator, scratch space.
#[derive(Debug)]
struct Worker {
    acc: Accumulator,
    cols: Columns,
    /// The columns a sample row holds ([`Model::sample_slots`]).
    row_slots: Vec<usize>,
    finite: Vec<f64>,
    /// Chunk 0's values of an output, sorted to choose its histogram grid.
    scratch: Vec<f64>,
    bad: Vec<usize>,
    /// `(hash, iteration)` of the rows of the last chunk that may enter the sample, and
    /// their values, row after row.
    candidates: Vec<(u64, u64)>,
    candidate_rows: Vec<f64>,
}

impl Worker {
    fn try_new(model: &Model) -> Result<Worker, OutOfMemory> {
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
    fn chunk(
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
    fn ordered_part(&mut self, model: &Model, settings: &RunSettings) -> Option<Ordered> {
        settings.precision()?;
        let grids = self.acc.grids();
        Some(Ordered {
            acc: std::mem::replace(&mut self.acc, Accumulator::with_grids(model, &grids)),
            candidates: std::mem::take(&mut self.candidates),
            rows: std::mem::take(&mut self.candidate_rows),
        })
    }

    fn offer_candidates(&self, sample: &mut BottomK) {
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

impl Shared<'_> {
    /// One worker: takes chunks in increasing order until none are left or the run stops.
    /// A stop can abandon a chunk part-way (see [`Merge::settle`]).
    fn work(&self, mut worker: Worker) -> Accumulator {
        while self.step(&mut worker) {}
        worker.acc
    }

    /// Takes the next chunk and runs it; false when none is left or the run stops.
    fn step(&self, worker: &mut Worker) -> bool {
        // Whether any chunk is left comes first: a run whose chunks are all taken is not
        // stopped, however late they finish.
        if self.next_chunk.load(Ordering::Relaxed) >= self.n_chunks
            || self.converged.load(Ordering::Relaxed)
            || self
                .stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
        {
            return false;
        }
        if let Some(stop) = self.observer.should_stop() {
            self.stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(stop);
            return false;
        }
        let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        if chunk >= self.n_chunks {
            return false;
        }
        let threshold = self.sample_threshold.load(Ordering::Relaxed);
        let turn = ChunkTurn::take(self.observer);
        let asked = Cell::new(None);
        let stop = || {
            asked.set(self.observer.should_stop());
            asked.get().is_some()
        };
        let done = match turn {
            Some(_) => worker.chunk(self.model, self.settings, chunk, threshold, &stop),
            // Stopped while it waited for a core.
            None => {
                stop();
                None
            }
        };
        drop(turn);
        let Some((n, moments)) = done else {
            // Abandoned part-way: the chunks done are those completed, not a prefix, and
            // `Merge::settle` merges the ones past the gap when the run ends.
            self.stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert(asked.get().unwrap_or(Stop::Cancelled));
            return false;
        };
        let ordered = worker.ordered_part(self.model, self.settings);
        if ordered.is_none() && !worker.candidates.is_empty() {
            let mut sample = self.sample.lock().unwrap_or_else(|e| e.into_inner());
            worker.offer_candidates(&mut sample);
            self.sample_threshold
                .fetch_min(sample.threshold(), Ordering::Relaxed);
        }
        let mut merge = self.merge.lock().unwrap_or_else(|e| e.into_inner());
        let advanced = merge.add(
            chunk,
            ChunkOut {
                n,
                moments,
                ordered,
            },
        );
        if merge.converged {
            self.converged.store(true, Ordering::Relaxed);
        }
        if let Some(t) = &merge.target {
            self.sample_threshold
                .fetch_min(t.sample.threshold(), Ordering::Relaxed);
        }
        if advanced {
            let progress = merge.progress(self.model, self.settings.iterations());
            drop(merge);
            self.observer.progress(&progress);
        }
        true
    }
}

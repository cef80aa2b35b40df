//! Running a compiled model: chunks spread over threads, statistics streamed and merged in
//! chunk order, so the summary is the same bits for any thread count and on any target.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::compile::Model;
use crate::cost::OutOfMemory;
use crate::eval::CHUNK_SIZE;
use crate::model::RunSettings;
use crate::sample::BottomK;

use crate::report::finish;
use crate::summary::Summary;

mod merge;
mod worker;

use merge::ChunkOut;
pub use merge::MIN_REPLICATES;
pub(crate) use merge::{Accumulator, Merge};
use worker::Worker;

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

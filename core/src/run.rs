//! Running a compiled model: chunks spread over threads, statistics streamed and merged in
//! chunk order, so the summary is the same bits for any thread count and on any target.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::compile::Model;
use crate::eval::{CHUNK_SIZE, Columns};
use crate::model::RunSettings;
use crate::rng::iteration_hash;
use crate::sample::BottomK;
use crate::stats::moments::Moments;
use crate::stats::sensitivity::{self, Ranked};
use crate::stats::sketch::Sketch;
use crate::summary::{
    Driver, Named, OutputStats, OutputSummary, Percentiles, Status, Summary, TailMeans, Warning,
    threshold_key,
};

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

/// Runs `model` with `settings` on `threads` threads (1 on wasm).
pub fn run(
    model: &Model,
    settings: &RunSettings,
    threads: usize,
    observer: &dyn Observer,
) -> RunOutput {
    let n_chunks = settings.iterations.div_ceil(CHUNK_SIZE as u64);
    let shared = Shared {
        model,
        settings,
        observer,
        next_chunk: AtomicU64::new(0),
        stopped: Mutex::new(None),
        merge: Mutex::new(Merge {
            next: 0,
            done: 0,
            pending: BTreeMap::new(),
            moments: vec![Moments::new(); model.outputs.len()],
        }),
        sample_threshold: AtomicU64::new(sample_prefilter(
            settings.sample_size.max(SENSITIVITY_ROWS) as u64,
            settings.iterations,
        )),
        sample: Mutex::new(BottomK::new(
            settings.sample_size.max(SENSITIVITY_ROWS),
            model.nodes.len(),
        )),
        n_chunks,
    };
    let threads = threads.clamp(1, n_chunks.max(1) as usize);
    let accs: Vec<Accumulator> = if threads == 1 {
        vec![shared.work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| shared.work())).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let stopped = shared
        .stopped
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    let merge = shared.merge.into_inner().unwrap_or_else(|e| e.into_inner());
    let sample = shared
        .sample
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut acc = Accumulator::new(model);
    for other in &accs {
        acc.merge(other);
    }
    finish(model, settings, threads, stopped, &merge, &acc, &sample)
}

/// NaN and infinities in `col`. Counting on the exponent bits with integer sums, rather than
/// `all(is_finite)` with its early exit, lets the loop vectorise: it runs over every node's
/// column of every chunk.
fn count_non_finite(col: &[f64]) -> usize {
    const EXPONENT: u64 = 0x7FF0_0000_0000_0000;
    col.iter()
        .map(|v| usize::from(v.to_bits() & EXPONENT == EXPONENT))
        .sum()
}

/// A hash bound that the sample's rows will fall under, so that the first chunks need not
/// offer every row. Among `n` uniform hashes, the `k`-th smallest is near `k/n · 2^64`; twice
/// that plus a margin leaves out a row of the true bottom `k` with a probability below
/// 10^-300 (a Chernoff bound), and even then the sample is the same for every thread count.
fn sample_prefilter(k: u64, n: u64) -> u64 {
    if k >= n / 4 {
        return u64::MAX;
    }
    let fraction = (2 * k + 1000) as f64 / n as f64;
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
}

/// Moments merged strictly in chunk order: chunks that finish early wait in `pending`.
struct Merge {
    next: u64,
    done: u64,
    pending: BTreeMap<u64, (u64, Vec<Moments>)>,
    moments: Vec<Moments>,
}

/// What a worker accumulates whose merge is exact in any order: integer counts and minima.
struct Accumulator {
    sketches: Vec<Sketch>,
    /// Per output, per threshold: finite values below it.
    below: Vec<Vec<u64>>,
    /// Per node: non-finite values and the first iteration that had one.
    non_finite: Vec<(u64, u64)>,
}

impl Accumulator {
    fn new(model: &Model) -> Accumulator {
        Accumulator {
            sketches: model.outputs.iter().map(|_| Sketch::new()).collect(),
            below: model
                .outputs
                .iter()
                .map(|&o| vec![0; model.nodes[o].thresholds.len()])
                .collect(),
            non_finite: vec![(0, u64::MAX); model.nodes.len()],
        }
    }

    fn merge(&mut self, other: &Accumulator) {
        for (a, b) in self.sketches.iter_mut().zip(&other.sketches) {
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
    }
}

impl Shared<'_> {
    /// One worker: takes chunks in increasing order until none are left or the run stops.
    /// Every chunk taken is finished, so the chunks done are always a prefix `0..k`.
    fn work(&self) -> Accumulator {
        let model = self.model;
        let seed = self.settings.seed;
        let mut acc = Accumulator::new(model);
        let mut cols = Columns::new(model.program.slots);
        let mut finite = Vec::with_capacity(CHUNK_SIZE);
        let mut bad = Vec::with_capacity(model.nodes.len());
        let mut candidates: Vec<(u64, u64)> = Vec::new();
        let mut candidate_rows: Vec<f64> = Vec::new();
        loop {
            if self
                .stopped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_some()
            {
                break;
            }
            if let Some(stop) = self.observer.should_stop() {
                self.stopped
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(stop);
                break;
            }
            let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
            if chunk >= self.n_chunks {
                break;
            }
            let start = chunk * CHUNK_SIZE as u64;
            let n = (self.settings.iterations - start).min(CHUNK_SIZE as u64) as usize;
            model.program.run_chunk(&mut cols, n, seed, chunk);

            bad.clear();
            for (node, nf) in acc.non_finite.iter_mut().enumerate() {
                let col = &cols.col(node)[..n];
                let count = count_non_finite(col);
                if count > 0 {
                    let first = col.iter().position(|v| !v.is_finite()).unwrap_or(0) as u64;
                    *nf = (nf.0 + count as u64, nf.1.min(start + first));
                }
                bad.push(count);
            }

            let mut moments = Vec::with_capacity(model.outputs.len());
            for (o, &node) in model.outputs.iter().enumerate() {
                let mut col = &cols.col(node)[..n];
                if bad[node] > 0 {
                    finite.clear();
                    finite.extend(col.iter().copied().filter(|v| v.is_finite()));
                    col = &finite;
                }
                moments.push(Moments::from_slice(col));
                acc.sketches[o].insert_slice(col);
                for (count, &t) in acc.below[o].iter_mut().zip(&model.nodes[node].thresholds) {
                    *count += col.iter().filter(|&&v| v < t).count() as u64;
                }
            }

            let threshold = self.sample_threshold.load(Ordering::Relaxed);
            candidates.clear();
            candidate_rows.clear();
            for i in 0..n {
                let iteration = start + i as u64;
                let hash = iteration_hash(seed, iteration);
                if hash < threshold {
                    candidates.push((hash, iteration));
                    candidate_rows.extend((0..model.nodes.len()).map(|node| cols.col(node)[i]));
                }
            }
            if !candidates.is_empty() {
                let mut sample = self.sample.lock().unwrap_or_else(|e| e.into_inner());
                let width = model.nodes.len();
                for (k, &(hash, iteration)) in candidates.iter().enumerate() {
                    sample.offer(hash, iteration, &candidate_rows[k * width..(k + 1) * width]);
                }
                self.sample_threshold
                    .fetch_min(sample.threshold(), Ordering::Relaxed);
            }

            self.merged(chunk, n as u64, moments);
        }
        acc
    }

    fn merged(&self, chunk: u64, n: u64, moments: Vec<Moments>) {
        let mut merge = self.merge.lock().unwrap_or_else(|e| e.into_inner());
        merge.pending.insert(chunk, (n, moments));
        let mut advanced = false;
        loop {
            let next = merge.next;
            let Some((n, m)) = merge.pending.remove(&next) else {
                break;
            };
            for (total, part) in merge.moments.iter_mut().zip(&m) {
                total.merge(part);
            }
            merge.done += n;
            merge.next += 1;
            advanced = true;
        }
        if advanced {
            let progress = Progress {
                iterations_done: merge.done,
                iterations_total: self.settings.iterations,
                outputs: self
                    .model
                    .outputs
                    .iter()
                    .zip(&merge.moments)
                    .map(|(&o, m)| {
                        let (mean, sem) = if m.count() == 0 {
                            (f64::NAN, f64::NAN)
                        } else {
                            (m.mean(), m.sem())
                        };
                        (self.model.nodes[o].id.clone(), mean, sem)
                    })
                    .collect(),
            };
            drop(merge);
            self.observer.progress(&progress);
        }
    }
}

fn finish(
    model: &Model,
    settings: &RunSettings,
    threads: usize,
    stopped: Option<Stop>,
    merge: &Merge,
    acc: &Accumulator,
    sample: &BottomK,
) -> RunOutput {
    let rows = sample.by_hash();
    let mut outputs = Vec::new();
    for (o, &node) in model.outputs.iter().enumerate() {
        let info = &model.nodes[node];
        let moments = &merge.moments[o];
        let sketch = &acc.sketches[o];
        let count = moments.count();
        let stats = (count > 0).then(|| {
            let q = |p: f64| sketch.quantile(p).unwrap_or(f64::NAN);
            let (lo, hi) = (q(0.005), q(0.995));
            OutputStats {
                mean: moments.mean(),
                std: moments.std(),
                sem: moments.sem(),
                min: moments.min(),
                max: moments.max(),
                skewness: moments.skewness(),
                kurtosis: moments.kurtosis(),
                percentiles: Percentiles {
                    p1: q(0.01),
                    p5: q(0.05),
                    p10: q(0.10),
                    p25: q(0.25),
                    p50: q(0.50),
                    p75: q(0.75),
                    p90: q(0.90),
                    p95: q(0.95),
                    p99: q(0.99),
                },
                tail_means: TailMeans {
                    lowest_5: sketch.tail_mean_low(0.05),
                    highest_5: sketch.tail_mean_high(0.05),
                },
                prob_below: Named(
                    info.thresholds
                        .iter()
                        .zip(&acc.below[o])
                        .map(|(&t, &b)| (threshold_key(t), b as f64 / count as f64))
                        .collect(),
                ),
                histogram: sketch.histogram(lo, hi, 50),
            }
        });
        outputs.push((
            info.id.clone(),
            OutputSummary {
                count,
                non_finite: acc.non_finite[node].0,
                stats,
            },
        ));
    }

    let warnings = model
        .nodes
        .iter()
        .zip(&acc.non_finite)
        .filter(|(_, nf)| nf.0 > 0)
        .map(|(info, &(count, first))| Warning {
            node: info.id.clone(),
            message: format!(
                "node `{}` gave {count} non-finite value{} (NaN or infinite), first at iteration {first}; they are left out of its statistics",
                info.id,
                if count == 1 { "" } else { "s" },
            ),
            count,
            first_iteration: first,
        })
        .collect();

    let mut table: Vec<(u64, Vec<f64>)> = rows
        .iter()
        .take(settings.sample_size)
        .map(|&(it, row)| (it, row.to_vec()))
        .collect();
    table.sort_unstable_by_key(|&(it, _)| it);

    RunOutput {
        summary: Summary {
            status: match stopped {
                None => Status::Completed,
                Some(Stop::Cancelled) => Status::Cancelled,
                Some(Stop::TimedOut) => Status::TimedOut,
            },
            iterations: merge.done,
            seed: settings.seed,
            elapsed_ms: 0,
            engine: ENGINE.to_string(),
            outputs: Named(outputs),
            sensitivity: sensitivity(model, &rows, threads),
            warnings,
        },
        samples: SampleTable {
            columns: model.nodes.iter().map(|n| n.id.clone()).collect(),
            rows: table,
        },
    }
}

/// Drivers of every output, from the first `SENSITIVITY_ROWS` rows of the sample, largest
/// first in each list.
fn sensitivity(model: &Model, rows: &[(u64, &[f64])], threads: usize) -> Named<Vec<Driver>> {
    let rows = &rows[..rows.len().min(SENSITIVITY_ROWS)];
    let column = |node: usize| -> Vec<f64> { rows.iter().map(|(_, r)| r[node]).collect() };
    let all_finite = |col: &[f64]| col.iter().all(|v| v.is_finite());
    let inputs: Vec<(usize, Vec<f64>)> = model.inputs.iter().map(|&i| (i, column(i))).collect();
    // Each column is ranked once. A column with non-finite values is ranked per pair, on the
    // rows where both sides are finite.
    let ranked_inputs: Vec<Option<Ranked>> = par_map(&inputs, threads, |(_, c)| {
        all_finite(c).then(|| Ranked::new(c))
    });
    let lists = par_map(&model.outputs, threads, |&output| {
        let y = column(output);
        let ranked_y = all_finite(&y).then(|| Ranked::new(&y));
        let mut drivers: Vec<Driver> = inputs
            .iter()
            .zip(&ranked_inputs)
            .filter(|((input, _), _)| *input != output)
            .map(|((input, x), rx)| {
                let (rho, share) = match (rx, &ranked_y) {
                    (Some(rx), Some(ry)) => (
                        sensitivity::spearman_ranked(rx, ry),
                        sensitivity::first_order_share_ranked(rx, &y),
                    ),
                    _ => {
                        let (x, y): (Vec<f64>, Vec<f64>) = x
                            .iter()
                            .zip(&y)
                            .filter(|(a, b)| a.is_finite() && b.is_finite())
                            .unzip();
                        (
                            sensitivity::spearman(&x, &y),
                            sensitivity::first_order_share(&x, &y),
                        )
                    }
                };
                Driver {
                    input: model.nodes[*input].id.clone(),
                    rank_correlation: rho,
                    variance_share: share,
                }
            })
            .collect();
        // Sorted by importance, seen both ways: a driver with a strong but non-monotone
        // effect has a small rank correlation and a large variance share.
        let importance = |d: &Driver| {
            d.variance_share
                .max(d.rank_correlation * d.rank_correlation)
        };
        drivers.sort_by(|a, b| {
            importance(b)
                .total_cmp(&importance(a))
                .then_with(|| a.input.cmp(&b.input))
        });
        (model.nodes[output].id.clone(), drivers)
    });
    Named(lists)
}

/// `items.iter().map(f)` on up to `threads` threads, each taking a contiguous share; the
/// results come back in order, so the outcome does not depend on `threads`.
fn par_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

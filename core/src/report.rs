//! A run's summary, assembled from its merged state: each output's statistics, the warnings,
//! the achieved correlations, and the drivers of each output (its sources of randomness,
//! ranked on the iteration sample).

use crate::compile::Model;
use crate::limits::MAX_DRIVERS;
use crate::model::RunSettings;
use crate::run::{Accumulator, ENGINE, Merge, RunOutput, SENSITIVITY_ROWS, SampleTable, Stop};
use crate::sample::BottomK;
use crate::stats::sensitivity::{self, Centred, Ranked};
use crate::summary::{
    CorrelationReport, Driver, Named, OutputKind, OutputStats, OutputSummary, Percentiles,
    Probability, SensitivityNote, Status, Summary, TailMeans, Warning, WarningKind, threshold_key,
};

/// What `variance_share` and `rank_correlation` mean, in every summary, so that a summary
/// taken to another tool says how to read its drivers.
pub const SENSITIVITY_METHOD: &str = "drivers are the distribution draws an output depends on (a node's own draw, or one inline in a formula, labelled `node: draw`); rank_correlation is Spearman's rho between the draw and the output, variance_share the first-order Sobol index (the share of the output's variance the draw explains alone, a binned estimate), both on up to 20,000 sampled iterations; shares of independent draws add up to at most 1";

/// Asked during the work after the last chunk; true leaves out what is left of it.
pub(crate) type Skip<'a> = &'a (dyn Fn() -> bool + Sync);

#[allow(clippy::too_many_arguments)]
pub(crate) fn finish(
    model: &Model,
    settings: &RunSettings,
    threads: usize,
    stopped: Option<Stop>,
    merge: &Merge,
    acc: &Accumulator,
    sample: &BottomK,
    skip: Skip,
) -> RunOutput {
    // Under a precision target the in-order merge holds the statistics of exactly the
    // chunks that count.
    let (acc, sample) = match &merge.target {
        Some(t) => (&t.acc, &t.sample),
        None => (acc, sample),
    };
    let rows = sample.by_hash();
    let mut outputs = Vec::new();
    for (o, &node) in model.outputs.iter().enumerate() {
        let info = &model.nodes[node];
        let moments = &merge.moments[o];
        let sketch = &acc.sketches[o];
        let count = moments.count();
        let stats = (count > 0).then(|| {
            let (sem, sem_method) = merge.sem(o);
            let bins = &acc.bins[o];
            let q = |p: f64| bins.quantile(sketch, p).unwrap_or(f64::NAN);
            // A yes/no output's histogram is its two bars, no and yes.
            let (lo, hi, bins_shown) = if info.boolean {
                (0.0, 1.0, 2)
            } else {
                (q(0.005), q(0.995), 50)
            };
            OutputStats {
                mean: moments.mean(),
                std: moments.std(),
                sem,
                sem_method,
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
                histogram: bins.histogram(sketch, lo, hi, bins_shown),
            }
        });
        let non_finite = acc.non_finite[node].0;
        let probability = stats
            .as_ref()
            .filter(|_| info.boolean)
            .and_then(|s| Probability::wilson(s.histogram.counts[1], count));
        outputs.push((
            info.id.clone(),
            OutputSummary {
                count,
                non_finite,
                coverage: if count + non_finite == 0 {
                    0.0
                } else {
                    count as f64 / (count + non_finite) as f64
                },
                kind: if info.boolean {
                    OutputKind::Boolean
                } else {
                    OutputKind::Number
                },
                probability,
                stats,
            },
        ));
    }

    let mut warnings: Vec<Warning> = model
        .warnings
        .iter()
        .map(|message| Warning {
            kind: WarningKind::Correlation,
            node: None,
            expression: None,
            message: message.clone(),
            count: None,
            first_iteration: None,
        })
        .collect();
    warnings.extend(invalid_parameter_warnings(model, merge.done, acc));
    warnings.extend(precision_warnings(model, merge));
    warnings.extend(model
        .nodes
        .iter()
        .zip(&acc.non_finite)
        .filter(|(_, nf)| nf.0 > 0)
        .map(|(info, &(count, first))| Warning {
            kind: WarningKind::NonFinite,
            node: Some(info.id.clone()),
            expression: None,
            message: format!(
                "node `{}` gave {} non-finite value{} (NaN or infinite), first at iteration {first}; they are left out of its statistics",
                info.id,
                crate::model::thousands(count),
                if count == 1 { "" } else { "s" },
            ),
            count: Some(count),
            first_iteration: Some(first),
        }));

    let mut table: Vec<(u64, Vec<f64>)> = rows
        .iter()
        .take(settings.sample_size())
        .map(|&(it, row)| (it, row[..model.nodes.len()].to_vec()))
        .collect();
    table.sort_unstable_by_key(|&(it, _)| it);

    // Nothing to rank on without iterations.
    let (sensitivity, unranked) = if merge.done == 0 {
        (Named(Vec::new()), Vec::new())
    } else {
        sensitivity(model, &rows, threads, skip)
    };
    let correlations = if merge.done == 0 || skip() {
        None
    } else {
        Some(achieved_correlations(model, &rows))
    };
    warnings.extend(skipped_warning(
        model,
        &unranked,
        correlations.is_none() && merge.done > 0 && model.program.correlation.is_some(),
    ));

    RunOutput {
        summary: Summary {
            status: match stopped {
                None if merge.converged => Status::Converged,
                None => Status::Completed,
                Some(Stop::Cancelled) => Status::Cancelled,
                Some(Stop::TimedOut) => Status::TimedOut,
            },
            iterations: merge.done,
            seed: settings.seed(),
            complete: outputs.iter().all(|(_, o)| o.non_finite == 0),
            elapsed_ms: 0,
            engine: ENGINE.to_string(),
            outputs: Named(outputs),
            sensitivity,
            sensitivity_method: SENSITIVITY_METHOD.to_string(),
            sensitivity_notes: sensitivity_notes(model),
            correlations: correlations.unwrap_or_default(),
            warnings,
        },
        samples: SampleTable {
            columns: model.nodes.iter().map(|n| n.id.clone()).collect(),
            rows: table,
        },
    }
}

/// Every draw whose parameters were invalid in some iterations: where, how often, the first
/// time and why (the reason names the parameter and its value).
fn invalid_parameter_warnings(model: &Model, done: u64, acc: &Accumulator) -> Vec<Warning> {
    model
        .program
        .draws
        .iter()
        .zip(&acc.invalid)
        .filter(|(_, (count, _, _))| *count > 0)
        .map(|(draw, (count, first, reason))| {
            let id = &model.nodes[draw.node].id;
            let share = *count as f64 / done.max(1) as f64 * 100.0;
            Warning {
                kind: WarningKind::InvalidParameters,
                node: Some(id.clone()),
                expression: Some(draw.text.clone()),
                message: format!(
                    "`{}` in `{id}` had invalid parameters in {} of {} iterations ({share:.1}%), first at iteration {first}: {reason}; those draws are NaN",
                    draw.text,
                    crate::model::thousands(*count),
                    crate::model::thousands(done),
                ),
                count: Some(*count),
                first_iteration: Some(*first),
            }
        })
        .collect()
}

/// Why a run with a precision target did not converge, output by output.
fn precision_warnings(model: &Model, merge: &Merge) -> Vec<Warning> {
    let Some(target) = &merge.target else {
        return Vec::new();
    };
    if merge.converged || merge.done == 0 {
        return Vec::new();
    }
    let p = &target.precision;
    let confidence = format!("{}% confidence", p.confidence * 100.0);
    target
        .outputs
        .iter()
        .filter_map(|&o| {
            let (mean, half, needed) = merge.shortfall(target, o)?;
            let id = &model.nodes[model.outputs[o]].id;
            let done = crate::model::thousands(merge.done);
            let message = if p.absolute.is_none() && mean.abs() <= half {
                format!(
                    "the mean of `{id}` is too close to zero for a relative precision target: after {done} iterations it is {mean:.6} ± {half:.3} ({confidence}), so ±{}% of it cannot be reached; give `absolute` in settings.precision",
                    p.relative.unwrap_or(0.0) * 100.0
                )
            } else {
                format!(
                    "precision target not reached for `{id}` within {done} iterations: its mean is {mean:.6} ± {half:.3} ({confidence}), the target is ± {needed:.3}"
                )
            };
            Some(Warning {
                kind: WarningKind::Precision,
                node: Some(id.clone()),
                expression: None,
                message,
                count: None,
                first_iteration: None,
            })
        })
        .collect()
}

/// Each correlated pair's rank correlation as measured on the first `SENSITIVITY_ROWS` rows
/// of the iteration sample (a uniform sample of the iterations).
fn achieved_correlations(model: &Model, rows: &[(u64, &[f64])]) -> Vec<CorrelationReport> {
    let Some(c) = &model.program.correlation else {
        return Vec::new();
    };
    let rows = &rows[..rows.len().min(SENSITIVITY_ROWS)];
    c.pairs
        .iter()
        .map(|p| {
            let (a, b) = (c.nodes[p.a], c.nodes[p.b]);
            let (x, y): (Vec<f64>, Vec<f64>) = rows
                .iter()
                .map(|(_, r)| (r[a], r[b]))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .unzip();
            CorrelationReport {
                between: [model.nodes[a].id.clone(), model.nodes[b].id.clone()],
                requested: p.requested,
                used: p.used,
                achieved: sensitivity::spearman(&x, &y),
            }
        })
        .collect()
}

/// The warning that finishing work was left out: the outputs whose drivers were not ranked
/// (`unranked`, positions in `model.outputs`), and whether the achieved correlations were.
fn skipped_warning(model: &Model, unranked: &[usize], correlations: bool) -> Option<Warning> {
    let mut parts = Vec::new();
    if !unranked.is_empty() {
        let named: Vec<String> = unranked
            .iter()
            .take(5)
            .map(|&o| format!("`{}`", model.nodes[model.outputs[o]].id))
            .collect();
        let more = unranked.len() - named.len();
        parts.push(format!(
            "the drivers of {} of {} outputs ({}{})",
            crate::model::thousands(unranked.len() as u64),
            crate::model::thousands(model.outputs.len() as u64),
            named.join(", "),
            if more > 0 {
                format!(" and {} more", crate::model::thousands(more as u64))
            } else {
                String::new()
            }
        ));
    }
    if correlations {
        parts.push("the achieved correlations".to_string());
    }
    (!parts.is_empty()).then(|| Warning {
        kind: WarningKind::Skipped,
        node: None,
        expression: None,
        message: format!(
            "the time limit or a cancel came before {} were measured: they are left out; every other statistic is complete",
            parts.join(" and ")
        ),
        count: None,
        first_iteration: None,
    })
}

/// Drivers of every output: the sources it depends on, each ranked once on the first
/// `SENSITIVITY_ROWS` rows of the sample; largest first in each list. `skip` is asked
/// before each output: the outputs it left out are returned apart (positions in
/// `model.outputs`) and have no list.
fn sensitivity(
    model: &Model,
    rows: &[(u64, &[f64])],
    threads: usize,
    skip: Skip,
) -> (Named<Vec<Driver>>, Vec<usize>) {
    let rows = &rows[..rows.len().min(SENSITIVITY_ROWS)];
    let column = |at: usize| -> Vec<f64> { rows.iter().map(|(_, r)| r[at]).collect() };
    let all_finite = |col: &[f64]| col.iter().all(|v| v.is_finite());
    let positions = model.sample_positions();
    // Each source any output depends on is ranked once, and only its ranks are kept. A
    // column with non-finite values is ranked per pair, on the rows where both are finite.
    let candidates = screened(model, rows, threads, skip);
    let mut used: Vec<usize> = candidates.iter().flatten().flatten().copied().collect();
    used.sort_unstable();
    used.dedup();
    let ranked: Vec<Option<Ranked>> = par_map(&used, threads, |&s| {
        if skip() {
            return None;
        }
        let x = column(positions[s]);
        all_finite(&x).then(|| Ranked::new(&x))
    });
    let outputs: Vec<(usize, usize)> = model.outputs.iter().copied().enumerate().collect();
    let lists = par_map(&outputs, threads, |&(o, output)| {
        // An output whose candidates were not screened is skipped too.
        let list = candidates[o].as_ref()?;
        if skip() {
            return None;
        }
        if list.is_empty() {
            return Some((model.nodes[output].id.clone(), Vec::new()));
        }
        let y = column(output);
        let ranked_y = all_finite(&y).then(|| (Ranked::new(&y), Centred::new(&y)));
        let mut drivers: Vec<Driver> = list
            .iter()
            .map(|&s| {
                let rx = used.binary_search(&s).ok().and_then(|k| ranked[k].as_ref());
                let (rho, share) = match (rx, &ranked_y) {
                    (Some(rx), Some((ry, cy))) => (
                        sensitivity::spearman_ranked(rx, ry),
                        sensitivity::first_order_share_ranked(rx, cy),
                    ),
                    _ => {
                        let (x, y): (Vec<f64>, Vec<f64>) = column(positions[s])
                            .into_iter()
                            .zip(&y)
                            .filter(|(a, b)| a.is_finite() && b.is_finite())
                            .unzip();
                        (
                            sensitivity::spearman(&x, &y),
                            sensitivity::first_order_share(&x, &y),
                        )
                    }
                };
                let source = &model.sources[s];
                let node = model.nodes[source.node].id.clone();
                Driver {
                    input: if source.whole {
                        node.clone()
                    } else {
                        format!("{node}: {}", source.text)
                    },
                    node,
                    expression: (!source.whole).then(|| source.text.clone()),
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
        drivers.truncate(MAX_DRIVERS);
        Some((model.nodes[output].id.clone(), drivers))
    });
    let unranked = (0..lists.len()).filter(|&o| lists[o].is_none()).collect();
    (Named(lists.into_iter().flatten().collect()), unranked)
}

/// Rows of the sample the screen of many drivers reads.
pub(crate) const SCREEN_ROWS: usize = 2_000;

/// The sources of each output worth measuring. An output that is itself one draw is not its
/// own driver. One with more than `2 · MAX_DRIVERS` has them screened first on the first
/// `SCREEN_ROWS` rows (ρ² and the variance share, ten times cheaper than the full measure),
/// and only the `2 · MAX_DRIVERS` that score highest are measured: 1,000 outputs of 1,000
/// inputs each would otherwise cost a million full measures (and list them all).
/// `None` for an output whose screen `skip` left out.
fn screened(
    model: &Model,
    rows: &[(u64, &[f64])],
    threads: usize,
    skip: Skip,
) -> Vec<Option<Vec<usize>>> {
    let own = |o: usize, s: usize| {
        let src = &model.sources[s];
        src.whole && src.node == model.outputs[o]
    };
    let lists: Vec<Vec<usize>> = model
        .drivers
        .iter()
        .enumerate()
        .map(|(o, ds)| ds.iter().copied().filter(|&s| !own(o, s)).collect())
        .collect();
    let keep = 2 * MAX_DRIVERS;
    if lists.iter().all(|l| l.len() <= keep) {
        return lists.into_iter().map(Some).collect();
    }
    let rows = &rows[..rows.len().min(SCREEN_ROWS)];
    let positions = model.sample_positions();
    // Non-finite values screen as zero: the full measure decides for those that pass.
    let column = |at: usize| -> Vec<f64> {
        rows.iter()
            .map(|(_, r)| if r[at].is_finite() { r[at] } else { 0.0 })
            .collect()
    };
    let mut wide: Vec<usize> = lists
        .iter()
        .filter(|l| l.len() > keep)
        .flatten()
        .copied()
        .collect();
    wide.sort_unstable();
    wide.dedup();
    if skip() {
        return lists
            .into_iter()
            .map(|l| (l.len() <= keep).then_some(l))
            .collect();
    }
    let ranked: Vec<Ranked> = par_map(&wide, threads, |&s| Ranked::new(&column(positions[s])));
    let outputs: Vec<usize> = (0..lists.len()).collect();
    par_map(&outputs, threads, |&o| {
        let list = &lists[o];
        if list.len() <= keep {
            return Some(list.clone());
        }
        if skip() {
            return None;
        }
        let y = column(model.outputs[o]);
        let (ry, cy) = (Ranked::new(&y), Centred::new(&y));
        let mut scored: Vec<(f64, usize)> = list
            .iter()
            .map(|&s| {
                let rx = &ranked[wide.binary_search(&s).unwrap_or(0)];
                let rho = sensitivity::spearman_ranked(rx, &ry);
                let share = sensitivity::first_order_share_ranked(rx, &cy);
                let score = (rho * rho).max(share);
                (if score.is_nan() { 0.0 } else { score }, s)
            })
            .collect();
        // Highest first; ties to the earlier source, so the choice never depends on threads.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut kept: Vec<usize> = scored.into_iter().take(keep).map(|(_, s)| s).collect();
        kept.sort_unstable();
        Some(kept)
    })
}

/// Outputs whose drivers are not independent, so that their shares can overlap (and add up
/// to more than 1): two of them are correlated, or one's parameters depend on another.
fn sensitivity_notes(model: &Model) -> Vec<SensitivityNote> {
    let correlated: Vec<(usize, usize)> =
        model
            .program
            .correlation
            .as_ref()
            .map_or_else(Vec::new, |c| {
                c.pairs
                    .iter()
                    .map(|p| (c.nodes[p.a], c.nodes[p.b]))
                    .collect()
            });
    let whole_of = |node: usize| model.sources.iter().position(|s| s.whole && s.node == node);
    let parents = model.source_parents();
    model
        .outputs
        .iter()
        .zip(&model.drivers)
        .filter_map(|(&output, drivers)| {
            let has = |s: Option<usize>| s.is_some_and(|s| drivers.contains(&s));
            let mut reasons = Vec::new();
            for &(a, b) in &correlated {
                if has(whole_of(a)) && has(whole_of(b)) {
                    reasons.push(format!(
                        "`{}` and `{}` are correlated, so their variance shares overlap",
                        model.nodes[a].id, model.nodes[b].id
                    ));
                }
            }
            for &s in drivers {
                if let Some(p) = parents[s].iter().find(|p| drivers.contains(p)) {
                    let name = |s: usize| {
                        let src = &model.sources[s];
                        if src.whole {
                            model.nodes[src.node].id.clone()
                        } else {
                            format!("{}: {}", model.nodes[src.node].id, src.text)
                        }
                    };
                    reasons.push(format!(
                        "the parameters of `{}` depend on `{}`, so their variance shares overlap",
                        name(s),
                        name(*p)
                    ));
                }
            }
            let listed = drivers
                .iter()
                .filter(|&&s| !(model.sources[s].whole && model.sources[s].node == output))
                .count();
            if listed > MAX_DRIVERS {
                reasons.push(format!(
                    "it has {listed} drivers, of which the {MAX_DRIVERS} largest are listed"
                ));
            }
            (!reasons.is_empty()).then(|| SensitivityNote {
                output: model.nodes[output].id.clone(),
                message: format!(
                    "about the drivers of `{}`: {}",
                    model.nodes[output].id,
                    reasons.join("; ")
                ),
            })
        })
        .collect()
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

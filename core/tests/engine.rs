//! The engine end to end: sensitivity on the Ishigami function, progress, cancellation,
//! non-finite values, the iteration sample, and agreement with exact statistics.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use scenarioforge_core::eval::CHUNK_SIZE;
use scenarioforge_core::summary::{OutputKind, WarningKind};
use scenarioforge_core::{
    Limits, Model, ModelSpec, Observer, Progress, RunOutput, RunSettings, Settings, Status, Stop,
    Unobserved, compile, run,
};

fn model(json: &str) -> (Model, ModelSpec) {
    let spec = ModelSpec::from_json(json).unwrap();
    (compile(&spec).unwrap(), spec)
}

fn run_with(
    model: &Model,
    iterations: u64,
    sample_size: u64,
    threads: usize,
    observer: &dyn Observer,
) -> RunOutput {
    let settings = Settings {
        iterations: Some(iterations),
        seed: Some(5),
        sample_size: Some(sample_size),
        ..Settings::default()
    };
    let settings = RunSettings::validate(&settings, &Limits::up_to(u64::MAX)).unwrap();
    run(model, &settings, threads, observer)
}

/// First-order Sobol indices of y = sin x1 + 7 sin² x2 + 0.1 x3⁴ sin x1, x_i ~ U(-π, π):
/// 0.3139, 0.4424 and 0 (Ishigami and Homma 1990; Saltelli et al. 2008).
#[test]
fn ishigami_variance_shares() {
    let pi = std::f64::consts::PI;
    let json = format!(
        r#"{{"nodes": [
            {{"id": "x1", "expr": "uniform(-{pi}, {pi})"}},
            {{"id": "x2", "expr": "uniform(-{pi}, {pi})"}},
            {{"id": "x3", "expr": "uniform(-{pi}, {pi})"}},
            {{"id": "y", "expr": "sin(x1) + 7 * sin(x2) ^ 2 + 0.1 * x3 ^ 4 * sin(x1)"}}
        ]}}"#
    );
    let (m, _) = model(&json);
    let out = run_with(&m, 1_000_000, 0, 2, &Unobserved);
    let drivers = out.summary.sensitivity.get("y").unwrap();
    let share = |id: &str| {
        drivers
            .iter()
            .find(|d| d.input == id)
            .unwrap()
            .variance_share
    };
    for (id, want) in [("x1", 0.3139), ("x2", 0.4424), ("x3", 0.0)] {
        assert!(
            (share(id) - want).abs() < 0.02,
            "{id}: share {} vs {want}",
            share(id)
        );
    }
    // x2 acts through sin², which is symmetric: its rank correlation is near 0 although it
    // drives the most variance, and it is still listed first.
    assert_eq!(drivers[0].input, "x2");
    assert!(drivers[0].rank_correlation.abs() < 0.05);
    // The mean of y is 3.5 exactly (7 · E[sin²] = 3.5, the other terms are odd).
    let y = out
        .summary
        .outputs
        .get("y")
        .unwrap()
        .stats
        .as_ref()
        .unwrap();
    assert!((y.mean - 3.5).abs() < 4.0 * y.sem, "{} ± {}", y.mean, y.sem);
}

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<Progress>>,
    stop_after: Option<u64>,
    calls: AtomicU64,
}

impl Observer for Recorder {
    fn progress(&self, p: &Progress) {
        self.seen.lock().unwrap().push(p.clone());
    }
    fn should_stop(&self) -> Option<Stop> {
        let calls = self.calls.fetch_add(1, Ordering::SeqCst);
        self.stop_after
            .filter(|&n| calls >= n)
            .map(|_| Stop::Cancelled)
    }
}

#[test]
fn progress_arrives_in_order_and_ends_with_the_summary_mean() {
    let (m, _) = model(r#"{"nodes": [{"id": "x", "expr": "normal(10, 2)"}]}"#);
    let recorder = Recorder::default();
    let out = run_with(&m, 100_000, 100, 2, &recorder);
    let seen = recorder.seen.lock().unwrap();
    let done: Vec<u64> = seen.iter().map(|p| p.iterations_done).collect();
    assert!(done.windows(2).all(|w| w[0] < w[1]), "{done:?}");
    assert_eq!(*done.last().unwrap(), 100_000);
    let last = seen.last().unwrap();
    assert_eq!(last.iterations_total, 100_000);
    let stats = out
        .summary
        .outputs
        .get("x")
        .unwrap()
        .stats
        .as_ref()
        .unwrap();
    assert_eq!(
        (last.outputs[0].1, last.outputs[0].2),
        (stats.mean, stats.sem)
    );
}

#[test]
fn cancelling_keeps_the_statistics_of_whole_chunks() {
    let (m, _) = model(r#"{"nodes": [{"id": "x", "expr": "uniform(0, 1)"}]}"#);
    // Two questions a chunk: before it, and before its one instruction.
    let recorder = Recorder {
        stop_after: Some(10),
        ..Recorder::default()
    };
    let out = run_with(&m, 10_000_000, 100, 1, &recorder);
    assert_eq!(out.summary.status, Status::Cancelled);
    assert_eq!(out.summary.iterations, 5 * CHUNK_SIZE as u64);
    assert_eq!(
        out.summary.outputs.get("x").unwrap().count,
        5 * CHUNK_SIZE as u64
    );
    // Cancelled after the same number of chunks, the partial summary is the same whatever
    // the run's length was meant to be.
    let recorder = Recorder {
        stop_after: Some(10),
        ..Recorder::default()
    };
    let other = run_with(&m, 5_000_000, 100, 1, &recorder);
    assert_eq!(out.summary.outputs, other.summary.outputs);
}

/// Three instructions a chunk (two draws and a sum), so four questions: a stop that comes
/// between `a` and `b` of chunk 5 abandons that chunk, and the run is the five before it.
#[test]
fn a_stop_inside_a_chunk_abandons_that_chunk_alone() {
    let (m, _) = model(
        r#"{"nodes": [{"id": "a", "expr": "normal(0, 1)"}, {"id": "b", "expr": "uniform(0, 1)"},
            {"id": "x", "expr": "a + b", "output": true}]}"#,
    );
    let stopped = |after| {
        let recorder = Recorder {
            stop_after: Some(after),
            ..Recorder::default()
        };
        run_with(&m, 1_000_000, 100, 1, &recorder)
    };
    let (inside, between) = (stopped(22), stopped(20));
    assert_eq!(inside.summary.status, Status::Cancelled);
    assert_eq!(inside.summary.iterations, 5 * CHUNK_SIZE as u64);
    assert_eq!(inside.summary.outputs, between.summary.outputs);
    assert_eq!(inside.samples, between.samples);
}

/// On several threads a stop abandons the chunks being computed while later ones may have
/// completed: every statistic covers the same completed chunks.
#[test]
fn a_stopped_run_on_threads_counts_each_completed_chunk_everywhere() {
    let (m, _) = model(
        r#"{"nodes": [{"id": "a", "expr": "normal(0, 1)"}, {"id": "b", "expr": "uniform(0, 1)"},
            {"id": "x", "expr": "a + b", "output": true, "thresholds": [0.5]}]}"#,
    );
    for after in [9, 37, 101] {
        let recorder = Recorder {
            stop_after: Some(after),
            ..Recorder::default()
        };
        let out = run_with(&m, 10_000_000, 1_000_000, 4, &recorder);
        let n = out.summary.iterations;
        assert_eq!(n % CHUNK_SIZE as u64, 0, "stop after {after}: {n}");
        let x = out.summary.outputs.get("x").unwrap();
        let stats = x.stats.as_ref().unwrap();
        assert_eq!(x.count, n);
        assert_eq!(stats.histogram.total(), n);
        assert!(out.samples.rows.len() as u64 <= n);
        // The last progress reported is the summary's.
        let seen = recorder.seen.lock().unwrap();
        assert_eq!(seen.last().unwrap().iterations_done, n);
        assert_eq!(seen.last().unwrap().outputs[0].1, stats.mean);
    }
}

/// Asks to stop once every iteration has been reported done: a stop that comes too late to
/// stop anything.
struct StopWhenDone {
    done: AtomicU64,
    total: u64,
    why: Stop,
}

impl Observer for StopWhenDone {
    fn progress(&self, p: &Progress) {
        self.done.store(p.iterations_done, Ordering::SeqCst);
    }
    fn should_stop(&self) -> Option<Stop> {
        (self.done.load(Ordering::SeqCst) >= self.total).then_some(self.why)
    }
}

/// Regression: a worker asked whether to stop before it saw that no chunk was left, so a run
/// whose chunks had all finished was labelled timed out or cancelled (and on the server's
/// shutdown, thrown away and run again).
#[test]
fn a_stop_after_the_last_chunk_leaves_the_run_completed() {
    let (m, _) = model(r#"{"nodes": [{"id": "x", "expr": "uniform(0, 1)"}]}"#);
    for threads in [1, 2, 4] {
        for why in [Stop::Cancelled, Stop::TimedOut] {
            let observer = StopWhenDone {
                done: AtomicU64::new(0),
                total: 40_000,
                why,
            };
            let out = run_with(&m, 40_000, 100, threads, &observer);
            assert_eq!(
                out.summary.status,
                Status::Completed,
                "{threads} threads, {why:?}"
            );
            assert_eq!(out.summary.iterations, 40_000);
        }
    }
}

#[test]
fn the_sample_is_the_same_rows_whatever_the_threads_and_holds_whole_iterations() {
    let (m, _) = model(
        r#"{"nodes": [{"id": "a", "expr": "normal(0, 1)"}, {"id": "b", "expr": "a * 2 + 1"}]}"#,
    );
    let one = run_with(&m, 50_000, 1000, 1, &Unobserved).samples;
    let two = run_with(&m, 50_000, 1000, 2, &Unobserved).samples;
    assert_eq!(one, two);
    assert_eq!(one.columns, ["a", "b"]);
    assert_eq!(one.rows.len(), 1000);
    for (_, row) in &one.rows {
        assert_eq!(row[1], row[0] * 2.0 + 1.0);
    }
    // Uniform over the iterations: about a fifth of the rows in each fifth of the run.
    let first_fifth = one.rows.iter().filter(|(it, _)| *it < 10_000).count();
    assert!((150..250).contains(&first_fifth), "{first_fifth}");
}

/// Exact statistics of a known sample: 0, 1, ..., n-1 (floor of a uniform grid).
#[test]
fn statistics_agree_with_exact_values() {
    let (m, _) = model(
        r#"{"nodes": [{"id": "u", "expr": "uniform(0, 1)"}, {"id": "x", "expr": "u * 1000", "thresholds": [250, 900]}]}"#,
    );
    let out = run_with(&m, 400_000, 0, 2, &Unobserved);
    let x = out
        .summary
        .outputs
        .get("x")
        .unwrap()
        .stats
        .as_ref()
        .unwrap();
    let close =
        |got: f64, want: f64, tol: f64| assert!((got - want).abs() <= tol, "{got} vs {want}");
    close(x.mean, 500.0, 2.0);
    close(x.std, 1000.0 / 12f64.sqrt(), 1.0);
    close(x.skewness, 0.0, 0.02);
    close(x.kurtosis, -1.2, 0.02);
    for (got, q) in [
        (x.percentiles.p5, 50.0),
        (x.percentiles.p50, 500.0),
        (x.percentiles.p95, 950.0),
    ] {
        close(got, q, q * 0.01 + 1.0);
    }
    close(*x.prob_below.get("250").unwrap(), 0.25, 0.005);
    close(*x.prob_below.get("900").unwrap(), 0.90, 0.005);
    close(x.tail_means.lowest_5, 25.0, 1.0);
    close(x.tail_means.highest_5, 975.0, 10.0);
    let h = &x.histogram;
    assert_eq!(h.counts.len(), 50);
    assert_eq!(h.counts.iter().sum::<u64>() + h.below + h.above, 400_000);
}

#[test]
fn values_that_never_finish_finite_leave_no_statistics() {
    let (m, _) = model(r#"{"nodes": [{"id": "x", "expr": "uniform(1, 2) / 0"}]}"#);
    let out = run_with(&m, 10_000, 10, 1, &Unobserved);
    let x = out.summary.outputs.get("x").unwrap();
    assert_eq!(
        (x.count, x.non_finite, x.stats.is_none()),
        (0, 10_000, true)
    );
    assert_eq!(out.summary.warnings[0].first_iteration, Some(0));
    // The JSON has no NaN (which JSON cannot carry): the statistics are absent.
    let json = out.summary.to_json();
    assert!(
        !json.contains(": NaN") && !json.contains(": null"),
        "{json}"
    );
}

#[test]
fn non_finite_values_are_counted_whichever_operation_made_them() {
    // About half of each is NaN or infinite: from a constant divided by a column, a column
    // times a constant, a function of one argument, and `max` passing a NaN through.
    let (m, _) = model(
        r#"{"nodes": [
            {"id": "u", "expr": "uniform(0, 1)"},
            {"id": "a", "expr": "1 / (u < 0.5)"},
            {"id": "b", "expr": "(1 / (u < 0.5)) * 2"},
            {"id": "c", "expr": "max(0 / (u < 0.5), 1)"},
            {"id": "d", "expr": "sqrt(u - 0.5)"}
        ]}"#,
    );
    let out = run_with(&m, 20_000, 10, 1, &Unobserved);
    for id in ["a", "b", "c", "d"] {
        let x = out.summary.outputs.get(id).unwrap();
        assert_eq!(x.count + x.non_finite, 20_000, "{id}");
        assert!(
            (9_000..11_000).contains(&x.non_finite),
            "{id}: {}",
            x.non_finite
        );
    }
}

/// Regression: a draw whose parameter came out invalid was NaN without a word beyond the
/// node's count of non-finite values; 31% of iterations were silently left out.
#[test]
fn invalid_parameters_are_named_with_their_count_and_the_coverage_is_reported() {
    let (m, _) = model(
        r#"{"nodes": [
            {"id": "sd", "expr": "normal(1, 2)"},
            {"id": "x", "expr": "normal(0, sd)", "output": true},
            {"id": "y", "expr": "uniform(0, 1)", "output": true}]}"#,
    );
    let settings = Settings {
        iterations: Some(100_000),
        seed: Some(42),
        ..Settings::default()
    };
    let settings = RunSettings::validate(&settings, &Limits::up_to(u64::MAX)).unwrap();
    let summary = run(&m, &settings, 2, &Unobserved).summary;
    let x = summary.outputs.get("x").unwrap();
    assert_eq!(x.non_finite, 30_849);
    assert_eq!(x.coverage, 69_151.0 / 100_000.0);
    assert_eq!(summary.outputs.get("y").unwrap().coverage, 1.0);
    assert!(!summary.complete);
    let w = &summary.warnings[0];
    assert_eq!(w.kind, WarningKind::InvalidParameters);
    assert_eq!(w.node.as_deref(), Some("x"));
    assert_eq!(w.expression.as_deref(), Some("normal(0, sd)"));
    assert_eq!(w.count, Some(30_849));
    let first = w.first_iteration.unwrap();
    assert!(
        w.message.starts_with(&format!(
            "`normal(0, sd)` in `x` had invalid parameters in 30,849 of 100,000 iterations (30.8%), first at iteration {first}: `sd` must be at least 0, got -"
        )),
        "{}",
        w.message
    );
    // The same for any thread count, and by the browser's stepper.
    assert_eq!(
        run(&m, &settings, 1, &Unobserved).summary.warnings,
        summary.warnings
    );
    let mut stepper = scenarioforge_core::Stepper::new(m.clone(), settings.clone()).unwrap();
    while !stepper.is_done() {
        stepper.step(3);
    }
    assert_eq!(stepper.finish().summary.warnings, summary.warnings);
}

/// Regression: a yes/no output (`late = duration > 90`) got a 50-bin histogram and
/// p5 = p50 = p95 = 0; it is its chance of yes with a Wilson interval, and two bars.
#[test]
fn a_yes_no_output_is_its_probability_with_a_wilson_interval() {
    let (m, _) = model(
        r#"{"nodes": [
            {"id": "d", "expr": "normal(80, 10)"},
            {"id": "late", "expr": "d > 90", "output": true},
            {"id": "either", "expr": "if(late, 1, d < 60)", "output": true},
            {"id": "flag", "expr": "bernoulli(0.001)", "output": true},
            {"id": "score", "expr": "d * 2", "output": true}]}"#,
    );
    let out = run_with(&m, 1_000_000, 100, 2, &Unobserved);
    let get = |id: &str| out.summary.outputs.get(id).unwrap().clone();
    assert_eq!(get("score").kind, OutputKind::Number);
    assert!(get("score").probability.is_none());
    for id in ["late", "either", "flag"] {
        let o = get(id);
        assert_eq!(o.kind, OutputKind::Boolean, "{id}");
        let p = o.probability.unwrap();
        let stats = o.stats.unwrap();
        assert_eq!(p.count, 1_000_000);
        assert_eq!(p.yes as f64, (stats.mean * 1e6).round(), "{id}");
        assert_eq!(stats.histogram.counts, vec![p.count - p.yes, p.yes], "{id}");
        // Wilson 1927, by hand.
        let (n, phat, z) = (1e6, p.p, 1.959_963_984_540_054_f64);
        let centre = (phat + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (phat * (1.0 - phat) / n + z * z / (4.0 * n * n)).sqrt();
        assert!(
            (p.low - (centre - half)).abs() < 1e-15 && (p.high - (centre + half)).abs() < 1e-15
        );
        assert!(p.low < p.p && p.p < p.high, "{id}: {p:?}");
    }
    // P(d > 90) for normal(80, 10) is 0.158655; the interval covers it.
    let late = get("late").probability.unwrap();
    assert!(late.low < 0.158_655 && 0.158_655 < late.high, "{late:?}");
}

/// Regression: in the project-schedule example the drivers of `duration` included `rework`,
/// which combines `second_round` and `testing` with two inline draws, so its share double
/// counted theirs and the shares summed to 1.19; in the startup example `salaries` was
/// listed as driving `revenue`, which does not depend on it.
#[test]
fn drivers_of_the_examples_are_their_upstream_draws() {
    let run_example = |text: &str| {
        let spec = ModelSpec::from_json(text).unwrap();
        let m = compile(&spec).unwrap();
        run_with(&m, 100_000, 100, 2, &Unobserved).summary
    };
    let schedule = run_example(include_str!("../../examples/project_schedule.json"));
    let duration = schedule.sensitivity.get("duration").unwrap();
    let names: Vec<&str> = duration.iter().map(|d| d.input.as_str()).collect();
    assert!(!names.contains(&"rework"), "{names:?}");
    for inline in ["rework: uniform(0.4, 0.8)", "rework: weibull(1.5, 4)"] {
        let d = duration.iter().find(|d| d.input == inline).unwrap();
        assert_eq!(d.node, "rework");
        assert!(d.expression.is_some());
    }
    let total: f64 = duration.iter().map(|d| d.variance_share).sum();
    assert!(total <= 1.0, "independent draws' shares sum to {total}");
    assert!(schedule.sensitivity_notes.is_empty());

    let startup = run_example(include_str!("../../examples/startup.json"));
    let revenue: Vec<&str> = startup
        .sensitivity
        .get("revenue")
        .unwrap()
        .iter()
        .map(|d| d.input.as_str())
        .collect();
    assert!(!revenue.contains(&"salaries"), "{revenue:?}");

    // Correlated drivers can overlap: the summary says so for the outputs concerned.
    let retail = run_example(include_str!("../../examples/retail_pricing.json"));
    let noted: Vec<&str> = retail
        .sensitivity_notes
        .iter()
        .map(|n| n.output.as_str())
        .collect();
    assert_eq!(noted, ["profit", "margin"]);
    assert!(
        retail.sensitivity_notes[0]
            .message
            .contains("`demand` and `price` are correlated")
    );
}

/// At most `MAX_DRIVERS` drivers per output, the largest, chosen after a cheap screen when
/// there are many (a model of 1,000 inputs each driving 1,000 outputs listed a million, and
/// measured them all): the summary stays small and says how many there were.
#[test]
fn many_drivers_are_screened_and_the_largest_listed() {
    let mut nodes: Vec<String> = (0..120)
        .map(|i| format!(r#"{{"id": "x{i}", "expr": "normal(0, 1)"}}"#))
        .collect();
    // The last twenty inputs weigh ten times the others: they drive the output.
    let sum: Vec<String> = (0..120)
        .map(|i| format!("{} * x{i}", if i >= 100 { 10 } else { 1 }))
        .collect();
    nodes.push(format!(r#"{{"id": "y", "expr": "{}"}}"#, sum.join(" + ")));
    let (m, _) = model(&format!(r#"{{"nodes": [{}]}}"#, nodes.join(",")));
    let out = run_with(&m, 40_000, 100, 2, &Unobserved);
    let drivers = out.summary.sensitivity.get("y").unwrap();
    assert_eq!(drivers.len(), scenarioforge_core::limits::MAX_DRIVERS);
    let mut names: Vec<&str> = drivers.iter().map(|d| d.input.as_str()).collect();
    names.sort_unstable();
    let mut want: Vec<String> = (100..120).map(|i| format!("x{i}")).collect();
    want.sort_unstable();
    assert_eq!(names, want);
    let note = &out.summary.sensitivity_notes[0];
    assert_eq!(note.output, "y");
    assert!(
        note.message
            .contains("it has 120 drivers, of which the 20 largest are listed")
    );
    // The same on one thread.
    let one = run_with(&m, 40_000, 100, 1, &Unobserved);
    assert_eq!(one.summary.sensitivity, out.summary.sensitivity);
}

/// Leaves out the finishing work after `after` questions.
struct SkipFinishing {
    after: u64,
    calls: AtomicU64,
}

impl Observer for SkipFinishing {
    fn skip_finishing(&self) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst) >= self.after
    }
}

/// Past its limit, a run keeps its statistics and says which drivers it did not rank.
#[test]
fn finishing_work_left_out_is_named() {
    let nodes: Vec<String> = (0..6)
        .map(|i| {
            format!(
                r#"{{"id": "y{i}", "expr": "normal(0, 1) + uniform(0, {i} + 1)", "output": true}}"#
            )
        })
        .collect();
    let (m, _) = model(&format!(r#"{{"nodes": [{}]}}"#, nodes.join(",")));
    let whole = run_with(&m, 20_000, 100, 1, &Unobserved);
    assert!(whole.summary.warnings.is_empty());
    assert_eq!(whole.summary.sensitivity.0.len(), 6);
    for after in [0, 3, 14] {
        let observer = SkipFinishing {
            after,
            calls: AtomicU64::new(0),
        };
        let out = run_with(&m, 20_000, 100, 1, &observer);
        assert_eq!(
            out.summary.outputs, whole.summary.outputs,
            "statistics kept"
        );
        let ranked = out.summary.sensitivity.0.len();
        assert!(ranked < 6, "after {after}: {ranked} ranked");
        // Those ranked are ranked as in the whole run.
        for (id, drivers) in out.summary.sensitivity.iter() {
            assert_eq!(Some(drivers), whole.summary.sensitivity.get(id));
        }
        let skipped: Vec<_> = out
            .summary
            .warnings
            .iter()
            .filter(|w| w.kind == WarningKind::Skipped)
            .collect();
        assert_eq!(skipped.len(), 1, "{:?}", out.summary.warnings);
        let missing = 6 - ranked;
        assert!(
            skipped[0]
                .message
                .contains(&format!("the drivers of {missing} of 6 outputs")),
            "{}",
            skipped[0].message
        );
    }
}

#[test]
fn a_run_stopped_before_any_iteration_lists_no_drivers() {
    let (m, _) = model(r#"{"nodes": [{"id": "x", "expr": "normal(0, 1) + uniform(0, 1)"}]}"#);
    let recorder = Recorder {
        stop_after: Some(0),
        ..Recorder::default()
    };
    let out = run_with(&m, 20_000, 100, 2, &recorder);
    assert_eq!(out.summary.iterations, 0);
    assert!(out.summary.sensitivity.0.is_empty());
}

//! Sampling quality: correlated inputs (Iman–Conover), Latin hypercube sampling and stopping
//! at a precision target, each with its bad input, and all of them deterministic.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::sync::Mutex;

use scenarioforge_core::model::{PrecisionSpec, Sampling};
use scenarioforge_core::stats::sensitivity::spearman;
use scenarioforge_core::{
    Diagnostic, DiagnosticKind, Limits, Model, ModelSpec, Observer, Progress, RunOutput,
    RunSettings, Settings, Status, Stepper, Unobserved, compile, run,
};

fn compiled(json: &str) -> Model {
    compile(&ModelSpec::from_json(json).unwrap()).unwrap()
}

fn errors(json: &str) -> Vec<Diagnostic> {
    compile(&ModelSpec::from_json(json).unwrap()).unwrap_err()
}

fn settings(iterations: u64, sampling: Sampling, precision: Option<PrecisionSpec>) -> RunSettings {
    let s = Settings {
        iterations: Some(iterations),
        seed: Some(11),
        sample_size: Some(20_000),
        sampling: Some(sampling),
        precision,
        ..Settings::default()
    };
    RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap()
}

/// `k` inputs of assorted distributions, each pair (i, i+1) correlated with `rank(i)`, and
/// every input an output so the sample keeps them.
fn chain_model(dists: &[&str], rank: impl Fn(usize) -> f64) -> String {
    let nodes: Vec<String> = dists
        .iter()
        .enumerate()
        .map(|(i, d)| format!(r#"{{"id": "x{i}", "expr": "{d}", "output": true}}"#))
        .collect();
    let pairs: Vec<String> = (0..dists.len() - 1)
        .map(|i| {
            format!(
                r#"{{"between": ["x{i}", "x{}"], "rank": {}}}"#,
                i + 1,
                rank(i)
            )
        })
        .collect();
    format!(
        r#"{{"nodes": [{}], "correlations": [{}]}}"#,
        nodes.join(", "),
        pairs.join(", ")
    )
}

const DISTS: [&str; 10] = [
    "normal(10, 2)",
    "lognormal(0, 0.8)",
    "uniform(-1, 3)",
    "triangular(0, 1, 5)",
    "beta(2, 5)",
    "gamma(2, 3)",
    "pert(1, 2, 9)",
    "poisson(30)",
    "exponential(0.5)",
    "100 to 400",
];

/// The rank correlation of two columns of the iteration sample.
fn measured(out: &RunOutput, a: &str, b: &str) -> f64 {
    let col = |id: &str| {
        let c = out.samples.columns.iter().position(|x| x == id).unwrap();
        out.samples
            .rows
            .iter()
            .map(|(_, r)| r[c])
            .collect::<Vec<_>>()
    };
    spearman(&col(a), &col(b))
}

fn check_achieved(k: usize) {
    let rank = |i: usize| [0.7, -0.3, 0.3, -0.45, 0.4, 0.0, 0.45, -0.2, 0.4][i];
    let model = compiled(&chain_model(&DISTS[..k], rank));
    let out = run(
        &model,
        &settings(1_000_000, Sampling::Random, None),
        2,
        &Unobserved,
    );
    let reports = &out.summary.correlations;
    assert_eq!(reports.len(), k - 1);
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r.between, [format!("x{i}"), format!("x{}", i + 1)]);
        assert_eq!(r.requested, rank(i));
        assert_eq!(r.used, rank(i));
        let got = measured(&out, &r.between[0], &r.between[1]);
        assert!(
            (got - rank(i)).abs() < 0.02,
            "{k} inputs, pair {i}: achieved {got}, target {}",
            rank(i)
        );
        assert!((r.achieved - rank(i)).abs() < 0.02, "{r:?}");
    }
    assert!(
        out.summary.warnings.is_empty(),
        "{:?}",
        out.summary.warnings
    );
}

#[test]
fn two_correlated_inputs_reach_their_target() {
    check_achieved(2);
}

#[test]
fn five_correlated_inputs_reach_their_targets() {
    check_achieved(5);
}

#[test]
fn ten_correlated_inputs_reach_their_targets() {
    check_achieved(10);
}

#[test]
fn correlation_keeps_each_input_distribution_exactly() {
    // Reordering within a chunk changes no value, so every order statistic the sketch sees
    // (and so every percentile, the extremes and the threshold counts) is unchanged.
    let with = chain_model(&DISTS[..4], |_| 0.8);
    let mut independent: serde_json::Value = serde_json::from_str(&with).unwrap();
    independent.as_object_mut().unwrap().remove("correlations");
    let (with, independent) = (compiled(&with), compiled(&independent.to_string()));
    let s = settings(100_000, Sampling::Random, None);
    let a = run(&with, &s, 1, &Unobserved).summary;
    let b = run(&independent, &s, 1, &Unobserved).summary;
    for ((id, x), (_, y)) in a.outputs.0.iter().zip(&b.outputs.0) {
        let (x, y) = (x.stats.as_ref().unwrap(), y.stats.as_ref().unwrap());
        assert_eq!(x.percentiles, y.percentiles, "{id}");
        assert_eq!((x.min, x.max), (y.min, y.max), "{id}");
        assert!((x.mean - y.mean).abs() <= 1e-12 * x.mean.abs(), "{id}");
    }
}

#[test]
fn an_impossible_matrix_is_repaired_with_a_warning() {
    let json = r#"{"nodes": [
        {"id": "a", "expr": "normal(0, 1)"},
        {"id": "b", "expr": "uniform(0, 1)"},
        {"id": "c", "expr": "gamma(3, 1)"},
        {"id": "y", "expr": "a + b + c"}],
      "correlations": [
        {"between": ["a", "b"], "rank": 0.9},
        {"between": ["b", "c"], "rank": 0.9},
        {"between": ["a", "c"], "rank": -0.9}]}"#;
    let model = compiled(json);
    assert_eq!(model.warnings.len(), 1);
    let warning = &model.warnings[0];
    assert!(warning.contains("not positive definite"), "{warning}");
    for pair in [
        "`a`–`b`: requested 0.9",
        "`b`–`c`: requested 0.9",
        "`a`–`c`: requested -0.9",
    ] {
        assert!(warning.contains(pair), "{warning}");
    }
    let out = run(
        &model,
        &settings(200_000, Sampling::Random, None),
        1,
        &Unobserved,
    );
    assert_eq!(out.summary.warnings[0].message, *warning);
    for r in &out.summary.correlations {
        assert!(
            r.used.abs() < 0.9 && r.used.signum() == r.requested.signum(),
            "{r:?}"
        );
        assert!((r.achieved - r.used).abs() < 0.03, "{r:?}");
    }
}

/// Regression: a rank correlation of exactly 1 or -1 was flagged as impossible and repaired
/// to 0.75 here (the pair left out, x0–x2, could not be 0). It is valid, if degenerate: the
/// two inputs' ranks are the same (or reversed), and pairs left out follow from it.
#[test]
fn a_perfect_rank_correlation_is_accepted_and_exact() {
    let model = compiled(&chain_model(&DISTS[..4], |i| [1.0, -1.0, 0.5][i]));
    let out = run(
        &model,
        &settings(100_000, Sampling::Random, None),
        2,
        &Unobserved,
    );
    assert!(
        out.summary.warnings.is_empty(),
        "{:?}",
        out.summary.warnings
    );
    for (r, want) in out.summary.correlations.iter().zip([1.0, -1.0, 0.5]) {
        assert_eq!((r.requested, r.used), (want, want), "{r:?}");
        // Within a chunk the ranks are exactly the same (or reversed); chunks draw apart,
        // so over the whole run a perfect pair measures within 0.001 of ±1.
        let got = measured(&out, &r.between[0], &r.between[1]);
        let tolerance = if want == 0.5 { 0.02 } else { 0.001 };
        assert!((got - want).abs() < tolerance, "{r:?}: {got}");
        if want != 0.5 {
            let col = |id: &str| {
                let c = out.samples.columns.iter().position(|x| x == id).unwrap();
                out.samples
                    .rows
                    .iter()
                    .filter(|(it, _)| *it < 4096)
                    .map(|(_, row)| row[c])
                    .collect::<Vec<_>>()
            };
            let in_chunk = spearman(&col(&r.between[0]), &col(&r.between[1]));
            assert!((in_chunk - want).abs() < 1e-12, "{r:?}: chunk 0 {in_chunk}");
        }
    }
}

#[test]
fn every_bad_correlation_is_reported_at_its_field() {
    let json = r#"{"nodes": [
        {"id": "a", "expr": "normal(0, 1)"},
        {"id": "b", "expr": "uniform(0, 1)"},
        {"id": "c", "expr": "a * 2"},
        {"id": "d", "expr": "normal(a, 1)"}],
      "correlations": [
        {"between": ["a", "bb"], "rank": 0.5},
        {"between": ["a", "c"], "rank": 0.5},
        {"between": ["a", "d"], "rank": 0.5},
        {"between": ["a", "b"], "rank": 1.5},
        {"between": ["a", "b"], "rank": 0.2},
        {"between": ["b", "a"], "rank": 0.3},
        {"between": ["b", "b"], "rank": 0.3}]}"#;
    let diags = errors(json);
    let got: Vec<(DiagnosticKind, &str, &str)> = diags
        .iter()
        .map(|d| (d.kind, d.field.as_deref().unwrap_or(""), d.message.as_str()))
        .collect();
    let want = [
        (
            DiagnosticKind::UnknownName,
            "correlations[0].between[1]",
            "unknown node `bb` in a correlation, did you mean `b`?",
        ),
        (
            DiagnosticKind::InvalidCorrelation,
            "correlations[1].between[1]",
            "`c` cannot be correlated: it is not a stochastic input (a node whose formula is one distribution call, or `a to b`)",
        ),
        (
            DiagnosticKind::InvalidCorrelation,
            "correlations[2].between[1]",
            "`d` cannot be correlated: its distribution's parameters depend on other nodes; only inputs with constant parameters can be correlated",
        ),
        (
            DiagnosticKind::InvalidCorrelation,
            "correlations[3].rank",
            "a rank correlation must be between -1 and 1, got 1.5",
        ),
        (
            DiagnosticKind::InvalidCorrelation,
            "correlations[5]",
            "the pair `b`, `a` is given twice (first at correlations[4])",
        ),
        (
            DiagnosticKind::InvalidCorrelation,
            "correlations[6].between",
            "`b` is correlated with itself; a correlation needs two different nodes",
        ),
    ];
    assert_eq!(got, want);
}

#[test]
fn correlation_errors_come_with_formula_errors() {
    let json = r#"{"nodes": [
        {"id": "a", "expr": "normal(0, 1"},
        {"id": "b", "expr": "uniform(0, 1)"}],
      "correlations": [{"between": ["a", "b"], "rank": -2}]}"#;
    let diags = errors(json);
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert_eq!(diags[1].field.as_deref(), Some("correlations[0].rank"));
}

#[test]
fn unknown_fields_in_correlations_and_settings_are_named() {
    for (json, field) in [
        (
            r#"{"nodes": [{"id": "a", "expr": "1"}], "correlations": [{"between": ["a", "a"], "rho": 1}]}"#,
            "correlations[0].rho",
        ),
        (
            r#"{"nodes": [{"id": "a", "expr": "1"}], "settings": {"sampling": "sobol"}}"#,
            "settings.sampling",
        ),
        (
            r#"{"nodes": [{"id": "a", "expr": "1"}], "settings": {"precision": {"relativ": 0.1}}}"#,
            "settings.precision.relativ",
        ),
    ] {
        let d = &ModelSpec::from_json(json).unwrap_err()[0];
        assert_eq!(d.field.as_deref(), Some(field), "{d:?}");
    }
}

/// Latin hypercube: each chunk's draws of a site take one value from each of its strata.
#[test]
fn latin_hypercube_stratifies_each_chunk() {
    let model = compiled(r#"{"nodes": [{"id": "u", "expr": "uniform(0, 1)"}]}"#);
    let s = Settings {
        iterations: Some(4096),
        sample_size: Some(4096),
        sampling: Some(Sampling::LatinHypercube),
        ..Settings::default()
    };
    let out = run(
        &model,
        &RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap(),
        1,
        &Unobserved,
    );
    let mut strata: Vec<usize> = out
        .samples
        .rows
        .iter()
        .map(|(_, r)| (r[0] * 4096.0) as usize)
        .collect();
    strata.sort_unstable();
    assert_eq!(strata, (0..4096).collect::<Vec<_>>());
}

/// Regression: under Latin hypercube the SEM used the iid formula, which overstates it. Each
/// chunk is an independent hypercube, so the SEM comes from the spread of the chunks' means:
/// it must match the actual spread of the mean over seeds, where the iid one is far above it.
#[test]
fn latin_hypercube_sem_matches_the_spread_of_the_mean_over_seeds() {
    let model = compiled(
        r#"{"nodes": [
            {"id": "a", "expr": "uniform(0, 1)"},
            {"id": "b", "expr": "normal(0, 1)"},
            {"id": "y", "expr": "a * b + exp(a) + b"}]}"#,
    );
    let (mut means, mut sems, mut iid) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 0..60 {
        let s = Settings {
            iterations: Some(20 * 4096),
            seed: Some(seed),
            sampling: Some(Sampling::LatinHypercube),
            sample_size: Some(0),
            ..Settings::default()
        };
        let out = run(
            &model,
            &RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap(),
            2,
            &Unobserved,
        );
        let stats = out.summary.outputs.get("y").unwrap().stats.clone().unwrap();
        assert_eq!(
            stats.sem_method,
            scenarioforge_core::summary::SemMethod::Replicates
        );
        means.push(stats.mean);
        sems.push(stats.sem);
        iid.push(stats.std / (20.0 * 4096.0_f64).sqrt());
    }
    let n = means.len() as f64;
    let centre = means.iter().sum::<f64>() / n;
    let actual = (means
        .iter()
        .map(|m| (m - centre) * (m - centre))
        .sum::<f64>()
        / (n - 1.0))
        .sqrt();
    let reported = sems.iter().sum::<f64>() / n;
    let naive = iid.iter().sum::<f64>() / n;
    let ratio = reported / actual;
    eprintln!("LHS SEM: reported {reported:.3e}, actual spread {actual:.3e}, iid {naive:.3e}");
    // 60 seeds estimate a spread to within about ±20% (two standard errors).
    assert!(
        (0.75..1.33).contains(&ratio),
        "reported {reported} against actual {actual}"
    );
    assert!(naive > 3.0 * actual, "iid {naive} against actual {actual}");

    // With fewer than ten full chunks the iid figure stands, labelled as an upper bound.
    let s = Settings {
        iterations: Some(9 * 4096),
        sampling: Some(Sampling::LatinHypercube),
        ..Settings::default()
    };
    let out = run(
        &model,
        &RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap(),
        1,
        &Unobserved,
    );
    let stats = out.summary.outputs.get("y").unwrap().stats.clone().unwrap();
    assert_eq!(
        stats.sem_method,
        scenarioforge_core::summary::SemMethod::UpperBound
    );
    assert_eq!(stats.sem, stats.std / (9.0 * 4096.0_f64).sqrt());
}

/// The spread of the mean over seeds: Latin hypercube must beat random sampling clearly on
/// an additive model, where it removes nearly all of the error.
#[test]
fn latin_hypercube_reduces_the_spread_of_the_mean() {
    let model = compiled(
        r#"{"nodes": [
            {"id": "a", "expr": "lognormal(0, 0.5)"},
            {"id": "b", "expr": "beta(2, 5)"},
            {"id": "c", "expr": "gamma(2, 1)"},
            {"id": "y", "expr": "a + 3 * b + c"}]}"#,
    );
    let spread = |sampling| {
        let means: Vec<f64> = (0..30)
            .map(|seed| {
                let s = Settings {
                    iterations: Some(10_000),
                    seed: Some(seed),
                    sample_size: Some(0),
                    sampling: Some(sampling),
                    ..Settings::default()
                };
                let s = RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap();
                let out = run(&model, &s, 1, &Unobserved).summary;
                out.outputs.0[0].1.stats.as_ref().unwrap().mean
            })
            .collect();
        let m = means.iter().sum::<f64>() / means.len() as f64;
        (means.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (means.len() - 1) as f64).sqrt()
    };
    let (random, latin) = (spread(Sampling::Random), spread(Sampling::LatinHypercube));
    assert!(
        latin < random / 5.0,
        "random {random}, latin hypercube {latin}"
    );
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Progress>>);

impl Observer for Recorder {
    fn progress(&self, p: &Progress) {
        self.0.lock().unwrap().push(p.clone());
    }
}

const NOISY: &str = r#"{"nodes": [
    {"id": "x", "expr": "lognormal(3, 0.9)"},
    {"id": "y", "expr": "normal(50, 20)"},
    {"id": "total", "expr": "x + y", "output": true},
    {"id": "ratio", "expr": "x / y", "output": true}]}"#;

fn precision(relative: Option<f64>, absolute: Option<f64>, outputs: &[&str]) -> PrecisionSpec {
    PrecisionSpec {
        relative,
        absolute,
        confidence: Some(0.95),
        outputs: (!outputs.is_empty()).then(|| outputs.iter().map(|s| s.to_string()).collect()),
    }
}

/// The run stops at the first chunk boundary where the running mean and SEM that progress
/// reports (the same merged moments) meet the target, and at the same place on any number
/// of threads and when stepped.
#[test]
fn precision_stops_at_the_first_chunk_that_meets_it() {
    let model = compiled(NOISY);
    let full = Recorder::default();
    run(&model, &settings(400_000, Sampling::Random, None), 1, &full);
    let z = 1.959_963_984_540_054;
    let expected = full
        .0
        .lock()
        .unwrap()
        .iter()
        .find(|p| {
            let (_, mean, sem) = &p.outputs[0];
            p.iterations_done >= 16_384 && z * sem <= 0.002 * mean.abs()
        })
        .map(|p| p.iterations_done)
        .unwrap();
    assert!(expected > 16_384 && expected < 400_000, "{expected}");

    let s = settings(
        400_000,
        Sampling::Random,
        Some(precision(Some(0.002), None, &["total"])),
    );
    let mut summaries = Vec::new();
    for threads in [1, 2, 8] {
        let out = run(&model, &s, threads, &Unobserved).summary;
        assert_eq!(out.status, Status::Converged);
        assert_eq!(out.iterations, expected, "{threads} threads");
        let mut out = out;
        out.elapsed_ms = 0;
        summaries.push(out.to_json());
    }
    let mut stepper = Stepper::new(model, s).unwrap();
    while !stepper.is_done() {
        stepper.step(3);
    }
    let mut stepped = stepper.finish().summary;
    stepped.elapsed_ms = 0;
    summaries.push(stepped.to_json());
    assert!(summaries.iter().all(|s| *s == summaries[0]));
}

#[test]
fn a_mean_near_zero_needs_an_absolute_target() {
    let model = compiled(r#"{"nodes": [{"id": "z", "expr": "normal(0, 1)"}]}"#);
    let relative = settings(
        100_000,
        Sampling::Random,
        Some(precision(Some(0.001), None, &[])),
    );
    let out = run(&model, &relative, 1, &Unobserved).summary;
    assert_eq!(out.status, Status::Completed);
    assert_eq!(out.iterations, 100_000);
    let w = &out.warnings[0].message;
    assert!(
        w.starts_with("the mean of `z` is too close to zero for a relative precision target")
            && w.contains("give `absolute` in settings.precision"),
        "{w}"
    );

    let absolute = settings(
        100_000,
        Sampling::Random,
        Some(precision(Some(0.001), Some(0.02), &[])),
    );
    let out = run(&model, &absolute, 1, &Unobserved).summary;
    assert_eq!(out.status, Status::Converged);
    // 1.96 / sqrt(n) <= 0.02 first holds at n = 9604; the minimum is four chunks.
    assert_eq!(out.iterations, 16_384);
}

#[test]
fn bad_precision_settings_are_named() {
    let bad = |p: PrecisionSpec| {
        let s = Settings {
            precision: Some(p),
            ..Settings::default()
        };
        RunSettings::validate(&s, &Limits::up_to(u64::MAX))
            .unwrap_err()
            .into_iter()
            .map(|d| (d.field.unwrap(), d.message))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bad(PrecisionSpec::default()),
        [(
            "settings.precision".to_string(),
            "a precision target needs `relative` (a fraction of the mean, e.g. 0.001), `absolute` (in the output's units), or both".to_string()
        )]
    );
    assert_eq!(
        bad(PrecisionSpec {
            relative: Some(-0.1),
            absolute: Some(f64::INFINITY),
            confidence: Some(1.0),
            outputs: Some(vec![]),
        }),
        [
            (
                "settings.precision.relative".to_string(),
                "relative must be a number greater than 0, got -0.1".to_string()
            ),
            (
                "settings.precision.absolute".to_string(),
                "absolute must be a number greater than 0, got inf".to_string()
            ),
            (
                "settings.precision.confidence".to_string(),
                "confidence must be between 0 and 1 (exclusive), e.g. 0.95, got 1".to_string()
            ),
            (
                "settings.precision.outputs".to_string(),
                "outputs must name at least one output; leave it out for every output".to_string()
            ),
        ]
    );
    let model = compiled(NOISY);
    let s = settings(
        10_000,
        Sampling::Random,
        Some(precision(Some(0.01), None, &["total", "x"])),
    );
    let d = s.check_against(&model).unwrap_err();
    assert_eq!(d[0].field.as_deref(), Some("settings.precision.outputs[1]"));
    assert_eq!(
        d[0].message,
        "`x` is not an output of the model; its outputs are `total`, `ratio`"
    );
}

/// Kolmogorov–Smirnov statistic of `xs` against `cdf`.
fn ks(mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// With correlation and Latin hypercube both on, each input still has exactly its own
/// distribution: KS on the sampled rows passes at the 1% level.
#[test]
fn correlated_latin_hypercube_inputs_keep_their_distributions() {
    use statrs::distribution::{ContinuousCDF, Gamma, Normal};
    let model = compiled(
        r#"{"nodes": [
            {"id": "x", "expr": "normal(10, 2)", "output": true},
            {"id": "y", "expr": "gamma(2, 3)", "output": true}],
          "correlations": [{"between": ["x", "y"], "rank": -0.7}]}"#,
    );
    let out = run(
        &model,
        &settings(200_000, Sampling::LatinHypercube, None),
        2,
        &Unobserved,
    );
    let col = |c: usize| {
        out.samples
            .rows
            .iter()
            .map(|(_, r)| r[c])
            .collect::<Vec<_>>()
    };
    let n = out.samples.rows.len() as f64;
    let critical = 1.63 / n.sqrt();
    let normal = Normal::new(10.0, 2.0).unwrap();
    let gamma = Gamma::new(2.0, 1.0 / 3.0).unwrap();
    let (dx, dy) = (ks(col(0), |v| normal.cdf(v)), ks(col(1), |v| gamma.cdf(v)));
    assert!(
        dx < critical && dy < critical,
        "D {dx}, {dy}; critical {critical}"
    );
    assert!((measured(&out, "x", "y") + 0.7).abs() < 0.02);
}

/// A run that stops early at its precision target still keeps the sample it was asked for.
#[test]
fn an_early_stop_keeps_a_full_sample() {
    let model = compiled(NOISY);
    let s = Settings {
        iterations: Some(1_000_000),
        seed: Some(11),
        sample_size: Some(10_000),
        precision: Some(precision(Some(0.01), None, &["total"])),
        ..Settings::default()
    };
    let s = RunSettings::validate(&s, &Limits::up_to(u64::MAX)).unwrap();
    let out = run(&model, &s, 2, &Unobserved);
    assert_eq!(out.summary.status, Status::Converged);
    assert!(out.summary.iterations >= 16_384 && out.summary.iterations < 100_000);
    assert_eq!(out.samples.rows.len(), 10_000);
}

/// Regression: repairing 50 inputs whose 1,000 pairs could not hold together took 11 s (500
/// rounds of projections, each eigen-decomposition running all its sweeps). The repair is
/// bounded and still gives a valid matrix that the run imposes.
#[test]
fn a_large_impossible_matrix_is_repaired_within_bounded_work() {
    let nodes: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"id": "x{i}", "expr": "normal(0, 1)", "output": true}}"#))
        .collect();
    let pairs: Vec<String> = (0..50)
        .flat_map(|i| (i + 1..50).map(move |j| (i, j)))
        .take(1000)
        .map(|(i, j)| {
            let rank = if (i + j) % 3 == 0 { -0.9 } else { 0.9 };
            format!(r#"{{"between": ["x{i}", "x{j}"], "rank": {rank}}}"#)
        })
        .collect();
    let json = format!(
        r#"{{"nodes": [{}], "correlations": [{}]}}"#,
        nodes.join(","),
        pairs.join(",")
    );
    let model = compiled(&json);
    assert!(
        model.warnings[0].contains("cannot all hold together"),
        "{:?}",
        model.warnings
    );
    let out = run(
        &model,
        &settings(20_000, Sampling::Random, None),
        2,
        &Unobserved,
    );
    for r in &out.summary.correlations {
        assert!(
            r.used.abs() <= 1.0 && (r.achieved - r.used).abs() < 0.1,
            "{r:?}"
        );
    }
}

//! The work estimate (`cost::work`) against the time runs take: each case is a whole run on
//! one thread, timed (the best of three) beside its estimate. The estimate is meant as an
//! upper bound on this machine kind: every ratio estimate/measured at or above 1, and as
//! close to 1 as a bound cheap enough to compute allows.
//!
//! `cargo bench -p scenarioforge-core --bench cost` (a filter as the first argument runs the
//! cases whose label contains it).
#![allow(clippy::unwrap_used)] // Benchmarks fail loudly by design.

use std::time::Instant;

use scenarioforge_core::{Limits, ModelSpec, RunSettings, Unobserved, compile, cost, run};

/// (label, nodes as `id = expr` lines, iterations, Latin hypercube).
fn cases() -> Vec<(String, String, u64, bool)> {
    let mut cases = Vec::new();
    let draws = [
        "normal(0, 1)",
        "lognormal(0, 1)",
        "uniform(0, 1)",
        "triangular(0, 1, 3)",
        "pert(0, 1, 3)",
        "beta(2, 3)",
        "gamma(0.5, 1)",
        "gamma(3, 1)",
        "exponential(1)",
        "weibull(1.5, 1)",
        "student_t(5)",
        "poisson(3)",
        "poisson(1000)",
        "poisson(1e9)",
        "binomial(20, 0.3)",
        "binomial(1e4, 0.3)",
        "binomial(1e9, 0.3)",
        "binomial(1e15, 0.3)",
        "poisson(15)",
        "poisson(1e15)",
        "gamma(1e6, 1)",
        "beta(1e5, 1e5)",
        "student_t(1e6)",
        "bernoulli(0.3)",
        "discrete(1, 1, 2, 1, 3, 2, 4, 1, 5, 1)",
        "2 to 9",
        "truncate(normal(0, 1), 0, 1)",
        "truncate(normal(0, 1), 9, 10)",
        "truncate(lognormal(0, 1), 1, 2)",
        "truncate(gamma(2, 1), 0, 1)",
        "truncate(gamma(2, 1), 6, 7)",
        "truncate(beta(2, 3), 0.9, 1)",
        "truncate(poisson(1000), 0, 950)",
        "truncate(binomial(1e6, 0.3), 0, 299000)",
        "truncate(student_t(3), 2, 3)",
    ];
    for d in draws {
        for latin in [false, true] {
            let slow = latin
                && ["1e4", "1e5", "1e6", "1e9", "1e15"]
                    .iter()
                    .any(|n| d.contains(n));
            let iterations = if slow { 20_000 } else { 200_000 };
            cases.push((d.to_string(), format!("x = {d}"), iterations, latin));
        }
    }
    // Parameters known only per iteration.
    let varying = [
        ("normal(u, 1)", "u = uniform(0, 1)\nx = normal(u, 1)"),
        ("gamma(u, 1)", "u = uniform(1, 3)\nx = gamma(u, 1)"),
        ("beta(u, 2)", "u = uniform(1, 3)\nx = beta(u, 2)"),
        (
            "gamma(u, 1), large shapes",
            "u = uniform(1e5, 1e7)\nx = gamma(u, 1)",
        ),
        ("poisson(u)", "u = uniform(0, 2000)\nx = poisson(u)"),
        (
            "binomial(n, 0.3)",
            "u = uniform(0, 1000)\nn = round(u)\nx = binomial(n, 0.3)",
        ),
        (
            "truncate(gamma(2, 1), u, 7)",
            "u = uniform(0, 6)\nx = truncate(gamma(2, 1), u, 7)",
        ),
    ];
    for (label, nodes) in varying {
        for latin in [false, true] {
            cases.push((label.to_string(), nodes.to_string(), 100_000, latin));
        }
    }
    // Formulas, outputs, a sample and correlations.
    let chain: Vec<String> = (0..50)
        .map(|i| match i {
            0 => "n0 = normal(0, 1)".to_string(),
            _ => format!("n{i} = n{} * 1.01 + exp(n{}) / 3", i - 1, i - 1),
        })
        .collect();
    cases.push((
        "chain of 50 formulas".into(),
        chain.join("\n"),
        100_000,
        false,
    ));
    let wide: Vec<String> = (0..50).map(|i| format!("n{i} = normal({i}, 1)")).collect();
    let total = (0..50)
        .map(|i| format!("n{i}"))
        .collect::<Vec<_>>()
        .join(" + ");
    cases.push((
        "50 inputs, one sum".into(),
        format!("{}\ntotal = {total}", wide.join("\n")),
        100_000,
        false,
    ));
    let outputs: Vec<String> = (0..50)
        .map(|i| format!("o{i} = x * {i} + pow(x, 2) !output"))
        .collect();
    cases.push((
        "50 outputs".into(),
        format!("x = normal(0, 1)\n{}", outputs.join("\n")),
        100_000,
        false,
    ));
    cases.push((
        "formula functions".into(),
        "x = uniform(0.5, 2)\na = if(x > 1, ln(x), sqrt(x)) !output\nb = max(x, 1, 2, a) + sin(x) + pow(x, 1.5) + mod(x, 0.3) !output".into(),
        200_000,
        false,
    ));
    let correlated: Vec<String> = (0..10).map(|i| format!("c{i} = normal(0, 1)")).collect();
    let sum = (0..10)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(" + ");
    cases.push((
        "10 correlated inputs".into(),
        format!("{}\ntotal = {sum}\n!correlate", correlated.join("\n")),
        100_000,
        false,
    ));
    cases.push((
        "50 inputs, sample of 100k".into(),
        format!("{}\ntotal = {total}\n!sample 100000", wide.join("\n")),
        100_000,
        false,
    ));
    cases
}

/// A model from `id = expr` lines: `!output` marks an output, `!correlate` chains the
/// inputs `c0 .. c9` by rank 0.5, `!sample n` sets the sample size.
fn model_json(lines: &str, iterations: u64, latin: bool) -> String {
    let mut nodes = Vec::new();
    let mut correlations = Vec::new();
    let mut sample = 1000;
    for line in lines.lines() {
        if line == "!correlate" {
            correlations = (1..10)
                .map(|i| format!(r#"{{"between": ["c{}", "c{i}"], "rank": 0.5}}"#, i - 1))
                .collect();
            continue;
        }
        if let Some(n) = line.strip_prefix("!sample ") {
            sample = n.parse().unwrap();
            continue;
        }
        let (id, expr) = line.split_once(" = ").unwrap();
        let (expr, output) = match expr.strip_suffix(" !output") {
            Some(e) => (e, true),
            None => (expr, false),
        };
        nodes.push(serde_json::json!({"id": id, "expr": expr, "output": output}).to_string());
    }
    let sampling = if latin { "latin_hypercube" } else { "random" };
    format!(
        r#"{{"nodes": [{}], "correlations": [{}], "settings": {{"iterations": {iterations}, "seed": 1, "sample_size": {sample}, "sampling": "{sampling}"}}}}"#,
        nodes.join(","),
        correlations.join(",")
    )
}

fn main() {
    // COST_SCALE multiplies every case's iterations: runs of two lengths separate what a
    // run does once from what it does each iteration.
    let scale: f64 = std::env::var("COST_SCALE").map_or(1.0, |s| s.parse().unwrap());
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    println!(
        "{:<44} {:>6} {:>10} {:>12} {:>12} {:>6}",
        "case", "lhs", "iterations", "measured ms", "estimate ms", "ratio"
    );
    let mut lowest = f64::INFINITY;
    for (label, lines, iterations, latin) in cases() {
        if !label.contains(&filter) {
            continue;
        }
        let iterations = (iterations as f64 * scale) as u64;
        let spec = ModelSpec::from_json(&model_json(&lines, iterations, latin)).unwrap();
        let model = compile(&spec).unwrap();
        let settings = RunSettings::validate(&spec.settings, &Limits::up_to(u64::MAX)).unwrap();
        let estimate = cost::work(&model, &settings).total_ns() / 1e6;
        let measured = (0..3)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(run(&model, &settings, 1, &Unobserved));
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min);
        let ratio = estimate / measured;
        lowest = lowest.min(ratio);
        println!(
            "{label:<44} {:>6} {iterations:>10} {measured:>12.1} {estimate:>12.1} {ratio:>6.2}",
            if latin { "yes" } else { "" },
        );
    }
    println!("lowest ratio: {lowest:.2}");

    // What the estimate itself costs, for the largest model the limits allow in nodes.
    let nodes: Vec<String> = (0..10_000)
        .map(|i| match i {
            0 => "n0 = normal(0, 1)".to_string(),
            _ => format!(
                "n{i} = (n{} + normal(0, 1)) / 2 + exp(n{} / 100)",
                i - 1,
                i - 1
            ),
        })
        .collect();
    let spec = ModelSpec::from_json(&model_json(&nodes.join("\n"), 1_000_000, true)).unwrap();
    let model = compile(&spec).unwrap();
    let settings = RunSettings::validate(&spec.settings, &Limits::up_to(u64::MAX)).unwrap();
    let t = Instant::now();
    let estimate = std::hint::black_box(cost::work(&model, &settings));
    println!(
        "the estimate of a 10,000-node model ({} instructions): {:.2} ms to compute, {:.0} core-seconds",
        model.program.instrs.len(),
        t.elapsed().as_secs_f64() * 1e3,
        estimate.core_seconds()
    );
}

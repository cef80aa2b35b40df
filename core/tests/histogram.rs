//! The summary's histogram against exact expected counts, and the cumulative curve the page
//! draws from it against the exact CDF.
//!
//! Regression: the histogram used to give each quantile-sketch bucket's whole count to the
//! one bin holding its centre; near 1000 a bucket is 4–8 units wide against 1.08-unit bins,
//! so `normal(1000, 10)` came out as a comb with 36 of its 50 bins empty.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use scenarioforge_core::stats::Histogram;
use scenarioforge_core::summary::OutputSummary;
use scenarioforge_core::{Limits, ModelSpec, RunSettings, Settings, compile, run};
use statrs::distribution::{ContinuousCDF, LogNormal, Normal, Uniform};

const ITERATIONS: u64 = 1_000_000;

/// The summary of one node `x = expr` at `ITERATIONS` iterations.
fn output_of(expr: &str, seed: u64, threads: usize) -> OutputSummary {
    let json = format!(r#"{{"name": "h", "nodes": [{{"id": "x", "expr": "{expr}"}}]}}"#);
    let model = compile(&ModelSpec::from_json(&json).unwrap()).unwrap();
    let settings = Settings {
        iterations: Some(ITERATIONS),
        seed: Some(seed),
        ..Settings::default()
    };
    let settings = RunSettings::validate(&settings, &Limits::up_to(u64::MAX)).unwrap();
    let summary = run(&model, &settings, threads, &scenarioforge_core::Unobserved).summary;
    summary.outputs.0[0].1.clone()
}

fn histogram_of(expr: &str, threads: usize) -> (Histogram, u64) {
    let out = output_of(expr, 42, threads);
    (out.stats.unwrap().histogram, out.count)
}

/// Every bin expected to hold at least 10,000 values is within 5% of that (sampling noise is
/// about 1% there), no bin is empty, and the cumulative curve is within 0.01 of the CDF.
fn check(expr: &str, cdf: impl Fn(f64) -> f64) {
    let (h, n) = histogram_of(expr, 2);
    assert_eq!(h.total(), n, "{expr}: the counts add up");
    assert_eq!(h.counts.len(), 50, "{expr}");
    let mut checked = 0;
    for (i, &count) in h.counts.iter().enumerate() {
        let (a, b) = (h.edges[i], h.edges[i + 1]);
        let expected = n as f64 * (cdf(b) - cdf(a));
        assert!(count > 0, "{expr}: bin {i} [{a}, {b}) is empty");
        if expected >= 10_000.0 {
            checked += 1;
            let off = (count as f64 - expected) / expected;
            assert!(
                off.abs() <= 0.05,
                "{expr}: bin {i} [{a}, {b}) holds {count}, expected {expected:.0} ({:+.1}%)",
                off * 100.0
            );
        }
    }
    assert!(checked >= 20, "{expr}: only {checked} bins checked");
    let points = h.cumulative();
    assert_eq!(points.len(), 51);
    // The chart draws straight lines between the points: check them and halfway between.
    for pair in points.windows(2) {
        let ((x0, p0), (x1, p1)) = (pair[0], pair[1]);
        let mid = (x0 + x1) / 2.0;
        for (x, p) in [(x0, p0), (mid, (p0 + p1) / 2.0), (x1, p1)] {
            assert!(
                (p - cdf(x)).abs() <= 0.01,
                "{expr}: the curve gives {p} at {x}, the CDF {}",
                cdf(x)
            );
        }
    }
}

#[test]
fn normal_100_15() {
    let d = Normal::new(100.0, 15.0).unwrap();
    check("normal(100, 15)", |x| d.cdf(x));
}

#[test]
fn normal_1000_10() {
    let d = Normal::new(1000.0, 10.0).unwrap();
    check("normal(1000, 10)", |x| d.cdf(x));
}

#[test]
fn lognormal_0_half() {
    let d = LogNormal::new(0.0, 0.5).unwrap();
    check("lognormal(0, 0.5)", |x| d.cdf(x));
}

#[test]
fn uniform_0_10() {
    let d = Uniform::new(0.0, 10.0).unwrap();
    check("uniform(0, 10)", |x| d.cdf(x));
}

/// A narrow spread far from zero: one sketch bucket (0.78% of 1e6) is 7,800 standard
/// deviations wide, so only exact counts can draw it.
#[test]
fn narrow_far_from_zero() {
    let d = Normal::new(1e6, 1.0).unwrap();
    check("normal(1e6, 1)", |x| d.cdf(x));
}

#[test]
fn the_same_counts_for_any_thread_count() {
    let (one, _) = histogram_of("lognormal(1, 0.8)", 1);
    for threads in [2, 3, 8] {
        assert_eq!(histogram_of("lognormal(1, 0.8)", threads).0, one);
    }
}

/// Percentiles come from the fine bins where those are tighter than the sketch's 0.39%:
/// for `normal(1e6, 1)` the sketch alone would answer one bucket's value for p1 to p99.
#[test]
fn percentiles_of_a_narrow_spread() {
    let p = output_of("normal(1e6, 1)", 7, 2).stats.unwrap().percentiles;
    let d = Normal::new(1e6, 1.0).unwrap();
    for (q, got) in [
        (0.01, p.p1),
        (0.05, p.p5),
        (0.5, p.p50),
        (0.95, p.p95),
        (0.99, p.p99),
    ] {
        let want = d.inverse_cdf(q);
        assert!(
            (got - want).abs() < 0.02,
            "p{}: {got} against {want}",
            q * 100.0
        );
    }
}

//! Helpers for the distribution tests: goodness of fit by Kolmogorov–Smirnov for continuous
//! distributions and pooled chi-squared for discrete ones, and quantile functions checked
//! against a reference CDF.
//!
//! The goodness-of-fit part is native-only, like statrs, its reference; what the wasm32
//! build runs (value stability) needs only [`dist`].

#[cfg(not(target_arch = "wasm32"))]
use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF};

use super::{Dist, DistKind};
#[cfg(not(target_arch = "wasm32"))]
use crate::rng::Stream;

/// Draws per goodness-of-fit test.
#[cfg(not(target_arch = "wasm32"))]
pub(super) const N: usize = 100_000;

/// A distribution the test knows to be valid.
pub(super) fn dist(kind: DistKind, params: &[f64]) -> Dist {
    Dist::new(kind, params).unwrap()
}

/// `N` draws through the batched path, from a stream fixed by `seed`.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn draws(dist: &Dist, seed: u64) -> Vec<f64> {
    let mut rng = Stream::new(seed, 7, 0);
    let mut out = vec![0.0; N];
    dist.fill(&mut rng, &mut out);
    out
}

/// One-sample Kolmogorov–Smirnov test at the 1% level: D < 1.63/√n.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_ks(what: &str, mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) {
    assert!(xs.iter().all(|x| x.is_finite()), "{what}: non-finite draw");
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let f = cdf(x);
        d = d.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    let critical = 1.63 / n.sqrt();
    assert!(d < critical, "{what}: KS D = {d} >= {critical}");
}

/// Chi-squared goodness of fit at the 0.1% level. `categories` lists each possible value
/// with its probability, in increasing order of value; adjacent categories are pooled until
/// each bin expects at least 5 draws, and any probability the list leaves out forms the
/// last bin together with draws that match no listed value.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_chi2(what: &str, xs: &[f64], categories: &[(f64, f64)]) {
    let n = xs.len() as f64;
    let mut counts = vec![0.0; categories.len()];
    let mut unmatched = 0.0;
    for &x in xs {
        match categories.binary_search_by(|(v, _)| v.total_cmp(&x)) {
            Ok(i) => counts[i] += 1.0,
            Err(_) => unmatched += 1.0,
        }
    }
    // (observed, expected) per pooled bin.
    let mut bins: Vec<(f64, f64)> = Vec::new();
    let (mut observed, mut expected) = (0.0, 0.0);
    for (&count, &(_, p)) in counts.iter().zip(categories) {
        observed += count;
        expected += p * n;
        if expected >= 5.0 {
            bins.push((observed, expected));
            (observed, expected) = (0.0, 0.0);
        }
    }
    let listed: f64 = categories.iter().map(|(_, p)| p).sum();
    observed += unmatched;
    expected += (1.0 - listed).max(0.0) * n;
    match bins.last_mut() {
        Some(last) if expected < 5.0 => {
            last.0 += observed;
            last.1 += expected;
        }
        _ => bins.push((observed, expected)),
    }
    assert!(bins.len() >= 2, "{what}: too few bins");
    let statistic: f64 = bins.iter().map(|(o, e)| (o - e) * (o - e) / e).sum();
    let df = (bins.len() - 1) as f64;
    let critical = ChiSquared::new(df).unwrap().inverse_cdf(0.999);
    assert!(
        statistic < critical,
        "{what}: chi-squared {statistic} >= {critical} with {df} degrees of freedom"
    );
}

/// The probabilities every quantile test visits: deep in both tails and across the middle.
#[cfg(not(target_arch = "wasm32"))]
pub(super) const P_GRID: [f64; 11] = [
    1e-12, 1e-6, 0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999_999,
];

/// Checks `d`'s quantiles at `ps` against a reference distribution: the error in x that the
/// reference CDF's miss implies, |F(x) - p| / f(x) (from the upper tail, 1 - F against
/// 1 - p, when p > 1/2), relative to |x|, or absolute within 0.01 of 0, must be below
/// `tol`. Returns the worst, for reports.
///
/// Measured through the reference's CDF rather than its quantile function, which for some
/// distributions (statrs' gamma: eight bisections and four Newton steps) is the less
/// precise of the two.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_quantiles(
    what: &str,
    d: &Dist,
    ps: &[f64],
    reference: &(impl ContinuousCDF<f64, f64> + Continuous<f64, f64>),
    tol: f64,
) -> f64 {
    assert_quantiles_by(
        what,
        d,
        ps,
        |x| reference.cdf(x),
        |x| reference.sf(x),
        |x| reference.pdf(x),
        tol,
    )
}

/// [`assert_quantiles`] with the reference given as its CDF, survival function and density.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_quantiles_by(
    what: &str,
    d: &Dist,
    ps: &[f64],
    cdf: impl Fn(f64) -> f64,
    sf: impl Fn(f64) -> f64,
    pdf: impl Fn(f64) -> f64,
    tol: f64,
) -> f64 {
    let mut worst: f64 = 0.0;
    for &p in ps {
        let x = d.quantile(p);
        let miss = if p <= 0.5 {
            cdf(x) - p
        } else {
            (1.0 - p) - sf(x)
        };
        let err = (miss / pdf(x)).abs() / x.abs().max(0.01);
        // Where the density misleads (x at the end of the support, e.g. a quantile within
        // 1e-17 of 1 rounds to 1), the CDF must pass p between x's neighbours instead.
        let bracketed = || {
            let (below, above) = (x.next_down(), x.next_up());
            if p <= 0.5 {
                cdf(below) <= p && p <= cdf(above)
            } else {
                sf(above) <= 1.0 - p && 1.0 - p <= sf(below)
            }
        };
        let err = if err < tol || !bracketed() { err } else { 0.0 };
        assert!(err < tol, "{what} at p = {p}: x = {x}, error {err:e}");
        worst = worst.max(err);
    }
    worst
}

/// Quantiles of stratified probabilities (i + 1/2)/n, i < n: a sample whose empirical CDF
/// is the true one to within 1/n if the quantile function is right.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn stratified(d: &Dist) -> Vec<f64> {
    let mut xs: Vec<f64> = (0..N).map(|i| (i as f64 + 0.5) / N as f64).collect();
    d.quantile_each(&mut xs);
    xs
}

/// Kolmogorov–Smirnov for a discrete distribution: at each value drawn, the share of the
/// sample at or below it must be within 1.63/√n of the reference CDF there (the statistic
/// is attained at the jumps, which the continuous [`assert_ks`] would misjudge).
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_ks_discrete(what: &str, mut xs: Vec<f64>, cdf: impl Fn(f64) -> f64) {
    assert!(xs.iter().all(|x| x.is_finite()), "{what}: non-finite value");
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let critical = 1.63 / n.sqrt();
    let mut d: f64 = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        if xs.get(i + 1) != Some(&x) {
            d = d.max(((i + 1) as f64 / n - cdf(x)).abs());
        }
    }
    assert!(d < critical, "{what}: KS D = {d} >= {critical}");
}

/// Checks a discrete distribution's quantiles at `ps` exactly against a brute-force sum of
/// `pmf` over 0..=top (where the mass above `top` must be negligible): the smallest k with
/// F(k) >= p, or, for p > 1/2, with 1 - F(k) <= 1 - p, the sums compensated (Neumaier) so
/// that they are exact to rounding.
#[cfg(not(target_arch = "wasm32"))]
pub(super) fn assert_discrete_quantiles(
    what: &str,
    d: &Dist,
    ps: &[f64],
    pmf: impl Fn(f64) -> f64,
    top: usize,
) {
    let probs: Vec<f64> = (0..=top).map(|k| pmf(k as f64)).collect();
    let running = |terms: &mut dyn Iterator<Item = f64>| -> Vec<f64> {
        let (mut sum, mut carry) = (0.0_f64, 0.0_f64);
        terms
            .map(|t| {
                let next = sum + t;
                carry += if sum.abs() >= t.abs() {
                    (sum - next) + t
                } else {
                    (t - next) + sum
                };
                sum = next;
                sum + carry
            })
            .collect()
    };
    // lower[k] = P(X <= k); upper[k] = P(X > k), summed from the top down.
    let lower = running(&mut probs.iter().copied());
    let mut upper = running(&mut probs.iter().rev().copied());
    upper.reverse();
    upper.remove(0);
    upper.push(0.0);
    for &p in ps {
        let want = if p <= 0.5 {
            lower.iter().position(|&f| f >= p)
        } else {
            upper.iter().position(|&s| s <= 1.0 - p)
        };
        let want = want.expect("top too low") as f64;
        assert_eq!(d.quantile(p), want, "{what} at p = {p}");
    }
}

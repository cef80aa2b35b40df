//! Helpers for the distribution tests: goodness of fit by Kolmogorov–Smirnov for continuous
//! distributions and pooled chi-squared for discrete ones.
//!
//! The goodness-of-fit part is native-only, like statrs, its reference; what the wasm32
//! build runs (value stability) needs only [`dist`].

#[cfg(not(target_arch = "wasm32"))]
use statrs::distribution::{ChiSquared, ContinuousCDF};

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

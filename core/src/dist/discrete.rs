//! A discrete distribution over listed values with given weights.

use super::error::{ParamError, finite, non_negative};
use super::invert::is_probability;
use super::{DistKind, arity_error};
use crate::rng::Stream;

/// Discrete((v1, w1), (v2, w2), ...): value `vi` with probability `wi / Σw`.
///
/// Sampling scales a uniform to the total weight and binary-searches the running sums:
/// O(log n) per draw, and building it is one pass, so a per-iteration `new` stays cheap.
#[derive(Clone, Debug, PartialEq)]
pub struct Discrete {
    values: Box<[f64]>,
    /// Weights divided by the largest, so their sum cannot overflow.
    weights: Box<[f64]>,
    /// Running sums of `weights`.
    cumulative: Box<[f64]>,
    /// The last index with a positive weight: where a uniform rounded up to the total
    /// lands.
    last: usize,
}

impl Discrete {
    /// Validates `pairs` = [v1, w1, v2, w2, ...]: an even count of at least 2, values
    /// finite, weights finite and at least 0, not all 0.
    pub fn new(pairs: &[f64]) -> Result<Discrete, ParamError> {
        if !DistKind::Discrete.arity_ok(pairs.len()) {
            return Err(arity_error(DistKind::Discrete, pairs.len()));
        }
        let mut values = Vec::with_capacity(pairs.len() / 2);
        let mut weights = Vec::with_capacity(pairs.len() / 2);
        let mut largest: f64 = 0.0;
        for (i, pair) in pairs.chunks_exact(2).enumerate() {
            finite(2 * i, "value", pair[0])?;
            non_negative(2 * i + 1, "weight", pair[1])?;
            values.push(pair[0]);
            weights.push(pair[1]);
            largest = largest.max(pair[1]);
        }
        if largest == 0.0 {
            return Err(ParamError::new(
                None,
                "the weights must sum to more than 0, got 0".to_string(),
            ));
        }
        Ok(Discrete::from_weights(values, weights, largest))
    }

    /// Builds the table from finite values and weights >= 0 whose largest is `largest`
    /// > 0.
    fn from_weights(values: Vec<f64>, mut weights: Vec<f64>, largest: f64) -> Discrete {
        let mut cumulative = Vec::with_capacity(weights.len());
        let mut sum = 0.0;
        let mut last = 0;
        for (i, w) in weights.iter_mut().enumerate() {
            *w /= largest;
            sum += *w;
            cumulative.push(sum);
            if *w > 0.0 {
                last = i;
            }
        }
        Discrete {
            values: values.into(),
            weights: weights.into(),
            cumulative: cumulative.into(),
            last,
        }
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        let total = self.cumulative[self.last];
        let x = rng.next_f64() * total;
        // The first running sum above x; zero-weight entries never are, as their sum
        // equals the one before.
        let i = self.cumulative.partition_point(|&c| c <= x).min(self.last);
        self.values[i]
    }

    /// The quantile function in place: the smallest value whose cumulative weight, over the
    /// values in increasing order, reaches p times the total; NaN for p outside [0, 1].
    ///
    /// The values are listed in the order given, so this sorts them (merging repeats) once
    /// per batch: O(m log m) for m pairs, then O(log m) per value.
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let mut table: Vec<(f64, f64)> = self.possible().collect();
        table.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut values: Vec<f64> = Vec::with_capacity(table.len());
        let mut cumulative: Vec<f64> = Vec::with_capacity(table.len());
        let mut sum = 0.0;
        for (v, w) in table {
            sum += w;
            match (values.last(), cumulative.last_mut()) {
                (Some(&last), Some(c)) if last == v => *c = sum,
                _ => {
                    values.push(v);
                    cumulative.push(sum);
                }
            }
        }
        let end = values.len().saturating_sub(1);
        for p in ps.iter_mut() {
            *p = if is_probability(*p) {
                let target = *p * sum;
                let i = cumulative.partition_point(|&c| c < target).min(end);
                values.get(i).copied().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            };
        }
    }

    /// How many (value, weight) pairs were given.
    pub(super) fn pairs(&self) -> usize {
        self.values.len()
    }

    /// The smallest and largest values that can be drawn.
    pub(super) fn range(&self) -> (f64, f64) {
        self.possible()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (v, _)| {
                (lo.min(v), hi.max(v))
            })
    }

    /// This distribution conditioned on [lo, hi], or `None` when no value with positive
    /// weight lies there.
    pub(super) fn restricted(&self, lo: f64, hi: f64) -> Option<Discrete> {
        let (values, weights): (Vec<f64>, Vec<f64>) =
            self.possible().filter(|&(v, _)| lo <= v && v <= hi).unzip();
        let largest = weights.iter().copied().fold(0.0, f64::max);
        (largest > 0.0).then(|| Discrete::from_weights(values, weights, largest))
    }

    /// The (value, weight) pairs with positive weight.
    fn possible(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.values
            .iter()
            .zip(self.weights.iter())
            .map(|(&v, &w)| (v, w))
            .filter(|&(_, w)| w > 0.0)
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_chi2, dist, draws};

    #[test]
    fn matches_the_reference_pmf() {
        let cases: [&[f64]; 2] = [
            &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0],
            // A repeated value, a zero weight and a rare value.
            &[-5.0, 0.5, 10.0, 0.0, 0.25, 30.0, 7.5, 0.1, -5.0, 2.0],
        ];
        for (seed, pairs) in cases.into_iter().enumerate() {
            let mut categories: Vec<(f64, f64)> = Vec::new();
            let total: f64 = pairs.chunks(2).map(|p| p[1]).sum();
            for p in pairs.chunks(2) {
                match categories.iter_mut().find(|c| c.0 == p[0]) {
                    Some(c) => c.1 += p[1] / total,
                    None => categories.push((p[0], p[1] / total)),
                }
            }
            categories.sort_by(|a, b| a.0.total_cmp(&b.0));
            let xs = draws(&dist(DistKind::Discrete, pairs), seed as u64);
            assert!(
                xs.iter().all(|&x| x != 10.0),
                "a zero-weight value was drawn"
            );
            assert_chi2(&format!("discrete{pairs:?}"), &xs, &categories);
        }
    }

    #[test]
    fn extreme_weights_do_not_overflow() {
        let xs = draws(&dist(DistKind::Discrete, &[1.0, 1e308, 2.0, 1e308]), 3);
        let ones = xs.iter().filter(|&&x| x == 1.0).count() as f64 / xs.len() as f64;
        assert!((ones - 0.5).abs() < 0.01, "{ones}");
    }

    #[test]
    fn quantiles_walk_the_sorted_values() {
        // Listed out of order, with a repeat and a zero weight: sorted, the cumulative
        // weights are -5: 2.5, 0.25: 32.5, 7.5: 32.6 (10 has no weight).
        let d = dist(
            DistKind::Discrete,
            &[7.5, 0.1, -5.0, 0.5, 10.0, 0.0, 0.25, 30.0, -5.0, 2.0],
        );
        let total = 32.6;
        let check = |p: f64, want: f64| assert_eq!(d.quantile(p), want, "p = {p}");
        check(0.0, -5.0);
        check(2.5 / total, -5.0);
        check(2.5 / total + 1e-9, 0.25);
        check(32.5 / total, 0.25);
        check(32.5 / total + 1e-9, 7.5);
        check(1.0, 7.5);
    }
}

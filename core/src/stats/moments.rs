//! Streaming moments (count, mean, central sums to the fourth, min, max), merged chunk by chunk.

/// Count, mean, second to fourth central sums, min and max of a set of finite values.
///
/// A chunk's values become a `Moments` with [`Moments::from_slice`] (two passes: the mean
/// first, then the central sums, which is far more accurate than accumulating raw power sums),
/// and chunks combine with [`Moments::merge`] (Chan et al. for the mean and second sum, Pébay
/// 2008 for the third and fourth). Every operation is a fixed sequence of `+ - * /` and
/// `sqrt`, so the same chunks merged in the same order give the same bits on every target.
///
/// Statistics of an empty set: `mean`, `std`, `sem`, `skewness` and `kurtosis` are `0.0`,
/// and `min` and `max` are NaN, so callers must check [`Moments::count`] before reporting
/// them. Statistics that are undefined because the variance is zero (one value, or all values
/// equal) are `0.0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
    // Kept as +inf / -inf while empty so that merging needs no special case; the accessors
    // turn them into NaN.
    min: f64,
    max: f64,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments::new()
    }
}

use crate::simd::kernel;

/// Lanes of independent accumulators in [`Moments::from_slice`]. Four lanes break the
/// add-latency chain and let the compiler use SIMD without reassociating anything itself;
/// the lane structure is fixed, so the result is still one defined sequence of operations.
const LANES: usize = 4;

kernel! {
    /// [`Moments::from_slice`].
    fn moments_of(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::new();
        }
        let n = values.len() as f64;

        // Pass 1: sum, min and max.
        let mut sum = [0.0; LANES];
        let mut min = [f64::INFINITY; LANES];
        let mut max = [f64::NEG_INFINITY; LANES];
        let mut chunks = values.chunks_exact(LANES);
        for chunk in &mut chunks {
            for lane in 0..LANES {
                let x = chunk[lane];
                sum[lane] += x;
                min[lane] = if x < min[lane] { x } else { min[lane] };
                max[lane] = if x > max[lane] { x } else { max[lane] };
            }
        }
        for (lane, &x) in chunks.remainder().iter().enumerate() {
            sum[lane] += x;
            min[lane] = if x < min[lane] { x } else { min[lane] };
            max[lane] = if x > max[lane] { x } else { max[lane] };
        }
        let total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
        let min = min
            .into_iter()
            .fold(f64::INFINITY, |a, b| if b < a { b } else { a });
        let max = max
            .into_iter()
            .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
        if min == max {
            // All values are equal: the exact answer, rather than the rounding noise of
            // `sum / n`, which would give a tiny variance and a garbage skewness.
            return Moments {
                count: values.len() as u64,
                mean: min,
                m2: 0.0,
                m3: 0.0,
                m4: 0.0,
                min,
                max,
            };
        }
        let centre = total / n;

        // Pass 2: power sums of the deviations from `centre`.
        let mut s1 = [0.0; LANES];
        let mut s2 = [0.0; LANES];
        let mut s3 = [0.0; LANES];
        let mut s4 = [0.0; LANES];
        let mut chunks = values.chunks_exact(LANES);
        for chunk in &mut chunks {
            for lane in 0..LANES {
                let d = chunk[lane] - centre;
                let d2 = d * d;
                s1[lane] += d;
                s2[lane] += d2;
                s3[lane] += d2 * d;
                s4[lane] += d2 * d2;
            }
        }
        for (lane, &x) in chunks.remainder().iter().enumerate() {
            let d = x - centre;
            let d2 = d * d;
            s1[lane] += d;
            s2[lane] += d2;
            s3[lane] += d2 * d;
            s4[lane] += d2 * d2;
        }
        let s1 = (s1[0] + s1[1]) + (s1[2] + s1[3]);
        let s2 = (s2[0] + s2[1]) + (s2[2] + s2[3]);
        let s3 = (s3[0] + s3[1]) + (s3[2] + s3[3]);
        let s4 = (s4[0] + s4[1]) + (s4[2] + s4[3]);

        // `centre` carries the rounding error of the first sum; the deviations' own sum
        // measures it accurately (the corrected two-pass algorithm of Chan, Golub and LeVeque),
        // and the binomial expansion moves the power sums to the corrected mean exactly.
        let delta = s1 / n;
        let delta2 = delta * delta;
        let m2 = s2 - s1 * delta;
        let m3 = s3 - 3.0 * delta * s2 + 2.0 * n * delta2 * delta;
        let m4 = s4 - 4.0 * delta * s3 + 6.0 * delta2 * s2 - 3.0 * n * delta2 * delta2;
        Moments {
            count: values.len() as u64,
            mean: centre + delta,
            m2: m2.max(0.0),
            m3,
            m4: m4.max(0.0),
            min,
            max,
        }
    }
}

impl Moments {
    /// The moments of no values.
    pub fn new() -> Moments {
        Moments {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            m3: 0.0,
            m4: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The moments of `values`, which must all be finite (the caller filters; a NaN or
    /// infinity gives meaningless statistics, not a panic).
    pub fn from_slice(values: &[f64]) -> Moments {
        moments_of(values)
    }

    /// Adds the values summarised by `other` (Chan et al. / Pébay pairwise update).
    ///
    /// Not associative in the last bits: the engine always merges chunks in chunk order.
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let na = self.count as f64;
        let nb = other.count as f64;
        let n = na + nb;
        let delta = other.mean - self.mean;
        let delta_n = delta / n;
        let delta_n2 = delta_n * delta_n;
        let term1 = delta * delta_n * na * nb;

        let m4 = self.m4
            + other.m4
            + term1 * delta_n2 * (na * na - na * nb + nb * nb)
            + 6.0 * delta_n2 * (na * na * other.m2 + nb * nb * self.m2)
            + 4.0 * delta_n * (na * other.m3 - nb * self.m3);
        let m3 = self.m3
            + other.m3
            + term1 * delta_n * (na - nb)
            + 3.0 * delta_n * (na * other.m2 - nb * self.m2);
        let m2 = self.m2 + other.m2 + term1;

        self.count += other.count;
        self.mean += delta_n * nb;
        self.m2 = m2;
        self.m3 = m3;
        self.m4 = m4;
        if other.min < self.min {
            self.min = other.min;
        }
        if other.max > self.max {
            self.max = other.max;
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Arithmetic mean; `0.0` when empty.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population variance (divided by `count`); `0.0` when empty or constant.
    fn variance(&self) -> f64 {
        if self.has_spread() {
            self.m2 / self.count as f64
        } else {
            0.0
        }
    }

    /// Population standard deviation (divided by `count`, not `count - 1`); `0.0` when empty
    /// or constant.
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }

    /// Standard error of the mean, `std / sqrt(count)`; `0.0` when empty.
    pub fn sem(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.std() / (self.count as f64).sqrt()
        }
    }

    /// Population skewness `sqrt(n) m3 / m2^1.5`; `0.0` when the variance is zero.
    pub fn skewness(&self) -> f64 {
        if !self.has_spread() {
            return 0.0;
        }
        let n = self.count as f64;
        n.sqrt() * self.m3 / (self.m2 * self.m2.sqrt())
    }

    /// Population excess kurtosis `n m4 / m2² - 3`; `0.0` when the variance is zero.
    pub fn kurtosis(&self) -> f64 {
        if !self.has_spread() {
            return 0.0;
        }
        let n = self.count as f64;
        n * self.m4 / (self.m2 * self.m2) - 3.0
    }

    /// Smallest value; NaN when empty.
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value; NaN when empty.
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// Whether the values are not all equal, so that the variance is a meaningful divisor.
    /// `min < max` is exact, unlike testing `m2 > 0`, which merged rounding noise can fool.
    fn has_spread(&self) -> bool {
        self.count > 1 && self.min < self.max && self.m2 > 0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::{normals, uniforms};

    /// The textbook two-pass computation over all the data at once, with the mean refined by
    /// the sum of the deviations (without it the reference itself is off by 5e-5 in the
    /// skewness of 1e6 + N(0, 1)).
    fn naive(values: &[f64]) -> [f64; 6] {
        let n = values.len() as f64;
        let rough = values.iter().sum::<f64>() / n;
        let mean = rough + values.iter().map(|x| x - rough).sum::<f64>() / n;
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for &x in values {
            let d = x - mean;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
        }
        let var = m2 / n;
        let std = var.sqrt();
        [
            mean,
            std,
            std / n.sqrt(),
            (m3 / n) / (var * std),
            (m4 / n) / (var * var) - 3.0,
            n,
        ]
    }

    fn summary(m: &Moments) -> [f64; 6] {
        [
            m.mean(),
            m.std(),
            m.sem(),
            m.skewness(),
            m.kurtosis(),
            m.count() as f64,
        ]
    }

    /// Builds the moments of `values` cut at the given piece lengths (cycled), merged in order.
    fn merged(values: &[f64], pieces: &[usize]) -> Moments {
        let mut acc = Moments::new();
        let mut rest = values;
        for &len in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at(len.min(rest.len()));
            acc.merge(&Moments::from_slice(head));
            rest = tail;
        }
        acc
    }

    fn assert_close(got: [f64; 6], want: [f64; 6], tol: f64, what: &str) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let err = (g - w).abs() / w.abs().max(1.0);
            assert!(err <= tol, "{what}: statistic {i}: got {g}, want {w}");
        }
    }

    #[test]
    fn splits_agree_with_naive_two_pass() {
        let sets: Vec<(&str, Vec<f64>)> = vec![
            ("normal", normals(1, 100_003)),
            (
                "shifted normal",
                normals(2, 100_003).iter().map(|z| 1e6 + z).collect(),
            ),
            (
                "lognormal",
                normals(3, 100_003).iter().map(|&z| libm::exp(z)).collect(),
            ),
            ("uniform", uniforms(4, 100_003)),
        ];
        let splits: [&[usize]; 6] = [
            &[100_003],
            &[4096],
            &[1],
            &[1, 7, 1000, 3, 4096, 2],
            &[50_000, 1],
            &[0, 3, 0, 17],
        ];
        for (name, values) in &sets {
            let want = naive(values);
            for pieces in splits {
                let got = summary(&merged(values, pieces));
                assert_close(got, want, 1e-9, &format!("{name} split {pieces:?}"));
            }
            let whole = Moments::from_slice(values);
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!((whole.min(), whole.max()), (min, max));
            assert_eq!(merged(values, &[333]).min(), min);
            assert_eq!(merged(values, &[333]).max(), max);
        }
    }

    #[test]
    fn known_values() {
        let m = Moments::from_slice(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean(), 2.5);
        assert_eq!(m.std(), 1.25f64.sqrt());
        assert_eq!(m.skewness(), 0.0);
        assert!((m.kurtosis() - -1.36).abs() < 1e-15);
        assert_eq!((m.min(), m.max()), (1.0, 4.0));
        // Bernoulli(1/4) exactly: skewness (1 - 2p)/sqrt(pq) = 2/sqrt(3), excess kurtosis
        // (1 - 6pq)/(pq) = -2/3.
        let m = Moments::from_slice(&[0.0, 0.0, 0.0, 1.0]);
        assert!((m.skewness() - 2.0 / 3f64.sqrt()).abs() < 1e-15);
        assert!((m.kurtosis() - -2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn degenerate_sets_have_no_nan_except_min_max_of_empty() {
        let empty = Moments::new();
        assert_eq!(empty, Moments::default());
        assert_eq!(empty, Moments::from_slice(&[]));
        assert_eq!(empty.count(), 0);
        for s in [
            empty.mean(),
            empty.std(),
            empty.sem(),
            empty.skewness(),
            empty.kurtosis(),
        ] {
            assert_eq!(s, 0.0);
        }
        assert!(empty.min().is_nan() && empty.max().is_nan());

        let one = Moments::from_slice(&[3.5]);
        assert_eq!(
            (one.count(), one.mean(), one.min(), one.max()),
            (1, 3.5, 3.5, 3.5)
        );
        assert_eq!(
            [one.std(), one.sem(), one.skewness(), one.kurtosis()],
            [0.0; 4]
        );

        // 0.1 ten thousand times: `sum / n` is not exactly 0.1, but the answer must be.
        let constant = vec![0.1; 10_000];
        for m in [
            Moments::from_slice(&constant),
            merged(&constant, &[7, 4096]),
        ] {
            assert_eq!(
                (m.mean(), m.std(), m.skewness(), m.kurtosis()),
                (0.1, 0.0, 0.0, 0.0)
            );
        }

        let mut m = Moments::new();
        m.merge(&Moments::new());
        assert_eq!(m, Moments::new());
        m.merge(&one);
        assert_eq!(m, one);
        m.merge(&Moments::new());
        assert_eq!(m, one);
    }

    #[test]
    fn merging_in_chunk_order_is_deterministic() {
        let values = normals(9, 50_000);
        let a = merged(&values, &[4096]);
        let b = merged(&values, &[4096]);
        assert_eq!(summary(&a).map(f64::to_bits), summary(&b).map(f64::to_bits));
    }
}

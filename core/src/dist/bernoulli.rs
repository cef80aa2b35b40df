//! The Bernoulli distribution: 1 with probability `p`, else 0.

use super::error::{ParamError, probability};
use super::invert::is_probability;
use crate::rng::Stream;

/// Bernoulli(p), giving 1.0 or 0.0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bernoulli {
    pub(super) p: f64,
}

impl Bernoulli {
    /// Validates the parameter: a probability in [0, 1].
    pub fn new(p: f64) -> Result<Bernoulli, ParamError> {
        probability(0, "p", p)?;
        Ok(Bernoulli { p })
    }

    /// `next_f64` is in [0, 1), so p = 0 never gives 1 and p = 1 always does.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        if rng.next_f64() < self.p { 1.0 } else { 0.0 }
    }

    /// The quantile function in place: 0 while p <= P(X = 0) = 1 - p₁, else 1; p = 0 gives
    /// the smallest possible value. NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let zero_possible = self.p < 1.0;
        for p in ps.iter_mut() {
            *p = if !is_probability(*p) {
                f64::NAN
            } else if zero_possible && *p <= 1.0 - self.p {
                0.0
            } else {
                1.0
            };
        }
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
        for (seed, p) in [0.5, 0.013].into_iter().enumerate() {
            let xs = draws(&dist(DistKind::Bernoulli, &[p]), seed as u64);
            assert_chi2(&format!("bernoulli({p})"), &xs, &[(0.0, 1.0 - p), (1.0, p)]);
        }
    }

    #[test]
    fn certain_outcomes_are_constant() {
        assert!(
            draws(&dist(DistKind::Bernoulli, &[0.0]), 1)
                .iter()
                .all(|&x| x == 0.0)
        );
        assert!(
            draws(&dist(DistKind::Bernoulli, &[1.0]), 1)
                .iter()
                .all(|&x| x == 1.0)
        );
    }

    #[test]
    fn quantiles_step_at_one_minus_p() {
        let d = dist(DistKind::Bernoulli, &[0.3]);
        let got: Vec<f64> = [0.0, 0.5, 0.7, 0.700_000_1, 1.0]
            .into_iter()
            .map(|p| d.quantile(p))
            .collect();
        assert_eq!(got, [0.0, 0.0, 0.0, 1.0, 1.0]);
        assert_eq!(dist(DistKind::Bernoulli, &[1.0]).quantile(0.0), 1.0);
        assert_eq!(dist(DistKind::Bernoulli, &[0.0]).quantile(1.0), 0.0);
    }
}

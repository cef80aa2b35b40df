//! The normal distribution, sampled by the ziggurat.

use super::error::{ParamError, finite, non_negative};
use super::invert::is_probability;
use super::special::normal_quantile;
use super::ziggurat;
use crate::rng::Stream;

/// Normal(mean, sd). An `sd` of 0 gives the constant `mean`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normal {
    pub(super) mean: f64,
    pub(super) sd: f64,
}

impl Normal {
    /// Validates the parameters: `mean` finite, `sd` finite and at least 0.
    pub fn new(mean: f64, sd: f64) -> Result<Normal, ParamError> {
        finite(0, "mean", mean)?;
        non_negative(1, "sd", sd)?;
        Ok(Normal { mean, sd })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.mean + self.sd * ziggurat::tables().sample(rng)
    }

    /// Fills `out` with draws, fetching the ziggurat tables once for the whole batch.
    pub fn fill(&self, rng: &mut Stream, out: &mut [f64]) {
        ziggurat::tables().fill(rng, out);
        for x in out {
            *x = self.mean + self.sd * *x;
        }
    }

    /// The quantile function in place: `mean + sd·Φ⁻¹(p)` by Wichura's AS 241; NaN for p
    /// outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        for p in ps.iter_mut() {
            *p = if !is_probability(*p) {
                f64::NAN
            } else if self.sd == 0.0 {
                // Not mean + 0·(±inf) at p = 0 or 1.
                self.mean
            } else {
                self.mean + self.sd * normal_quantile(*p)
            };
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
    use statrs::distribution::{ContinuousCDF, Normal as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, (mean, sd)) in [(0.0, 1.0), (-3.5, 0.02)].into_iter().enumerate() {
            let reference = Reference::new(mean, sd).unwrap();
            assert_ks(
                &format!("normal({mean}, {sd})"),
                draws(&dist(DistKind::Normal, &[mean, sd]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn zero_sd_gives_the_mean() {
        let xs = draws(&dist(DistKind::Normal, &[2.5, 0.0]), 1);
        assert!(xs.iter().all(|&x| x == 2.5));
    }

    #[test]
    fn quantiles_match_the_reference() {
        for (mean, sd) in [(0.0, 1.0), (-3.5, 0.02), (1e6, 250.0)] {
            let reference = Reference::new(mean, sd).unwrap();
            let d = dist(DistKind::Normal, &[mean, sd]);
            assert_quantiles(
                &format!("normal({mean}, {sd})"),
                &d,
                &P_GRID,
                &reference,
                1e-10,
            );
        }
        assert_eq!(dist(DistKind::Normal, &[2.5, 0.0]).quantile(0.3), 2.5);
    }
}

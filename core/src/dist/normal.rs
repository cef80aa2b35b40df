//! The normal distribution, sampled by the ziggurat.

use super::error::{ParamError, finite, non_negative};
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
        let zig = ziggurat::tables();
        for x in out {
            *x = self.mean + self.sd * zig.sample(rng);
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
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
}

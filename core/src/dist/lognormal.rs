//! The lognormal distribution: `exp` of a normal draw.

use super::error::{ParamError, finite, non_negative};
use super::invert::is_probability;
use super::special::normal_quantile;
use super::ziggurat;
use crate::fastmath;
use crate::rng::Stream;

/// LogNormal(mu, sigma): `ln x` is Normal(mu, sigma). A `sigma` of 0 gives the constant
/// `exp(mu)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormal {
    pub(super) mu: f64,
    pub(super) sigma: f64,
}

impl LogNormal {
    /// Validates the parameters: `mu` finite, `sigma` finite and at least 0.
    pub fn new(mu: f64, sigma: f64) -> Result<LogNormal, ParamError> {
        finite(0, "mu", mu)?;
        non_negative(1, "sigma", sigma)?;
        Ok(LogNormal { mu, sigma })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        fastmath::exp(self.mu + self.sigma * ziggurat::tables().sample(rng))
    }

    /// Fills `out` with draws, fetching the ziggurat tables once for the whole batch.
    ///
    /// The normals come first and the `exp`s in a second pass: that loop vectorises, and
    /// gives the same bits as `sample`.
    pub fn fill(&self, rng: &mut Stream, out: &mut [f64]) {
        ziggurat::tables().fill(rng, out);
        for x in out.iter_mut() {
            *x = self.mu + self.sigma * *x;
        }
        fastmath::exp_in_place(out);
    }

    /// The quantile function in place: `exp(mu + sigma·Φ⁻¹(p))`; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        for p in ps.iter_mut() {
            *p = if !is_probability(*p) {
                f64::NAN
            } else if self.sigma == 0.0 {
                fastmath::exp(self.mu)
            } else {
                fastmath::exp(self.mu + self.sigma * normal_quantile(*p))
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
    use statrs::distribution::{ContinuousCDF, LogNormal as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, (mu, sigma)) in [(0.0, 1.0), (4.0, 0.3)].into_iter().enumerate() {
            let reference = Reference::new(mu, sigma).unwrap();
            assert_ks(
                &format!("lognormal({mu}, {sigma})"),
                draws(&dist(DistKind::LogNormal, &[mu, sigma]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn quantiles_match_the_reference() {
        for (mu, sigma) in [(0.0, 1.0), (4.0, 0.3), (-2.0, 3.0)] {
            let reference = Reference::new(mu, sigma).unwrap();
            let d = dist(DistKind::LogNormal, &[mu, sigma]);
            let what = format!("lognormal({mu}, {sigma})");
            assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10);
        }
    }
}

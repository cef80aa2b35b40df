//! The exponential distribution, by inversion.

use super::error::{ParamError, positive};
use super::invert::is_probability;
use crate::rng::Stream;

/// Exponential(rate), with mean 1/rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    pub(super) rate: f64,
}

impl Exponential {
    /// Validates the parameter: finite and greater than 0.
    pub fn new(rate: f64) -> Result<Exponential, ParamError> {
        positive(0, "rate", rate)?;
        Ok(Exponential { rate })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        -libm::log(rng.next_open01()) / self.rate
    }

    /// The quantile function in place: `-ln(1 - p) / rate`, through `log1p` so small p keep
    /// their precision; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        for p in ps.iter_mut() {
            *p = if is_probability(*p) {
                -libm::log1p(-*p) / self.rate
            } else {
                f64::NAN
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
    use statrs::distribution::{ContinuousCDF, Exp as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, rate) in [1.0, 0.002].into_iter().enumerate() {
            let reference = Reference::new(rate).unwrap();
            assert_ks(
                &format!("exponential({rate})"),
                draws(&dist(DistKind::Exponential, &[rate]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn quantiles_match_the_reference() {
        for rate in [1.0, 0.002, 40.0] {
            let reference = Reference::new(rate).unwrap();
            let d = dist(DistKind::Exponential, &[rate]);
            assert_quantiles(
                &format!("exponential({rate})"),
                &d,
                &P_GRID,
                &reference,
                1e-10,
            );
        }
    }
}

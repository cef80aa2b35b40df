//! The exponential distribution, by inversion.

use super::error::{ParamError, positive};
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
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
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
}

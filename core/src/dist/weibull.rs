//! The Weibull distribution, by inversion.

use super::error::{ParamError, positive};
use super::invert::is_probability;
use crate::rng::Stream;

/// Weibull(shape, scale): P(X > x) = exp(-(x/scale)^shape).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weibull {
    pub(super) shape: f64,
    pub(super) scale: f64,
    inv_shape: f64,
}

impl Weibull {
    /// Validates the parameters: both finite and greater than 0.
    pub fn new(shape: f64, scale: f64) -> Result<Weibull, ParamError> {
        positive(0, "shape", shape)?;
        positive(1, "scale", scale)?;
        Ok(Weibull {
            shape,
            scale,
            inv_shape: 1.0 / shape,
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.at_hazard(-libm::log(rng.next_open01()))
    }

    /// The quantile function in place: the point whose cumulative hazard is `-ln(1 - p)`;
    /// NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        for p in ps.iter_mut() {
            *p = if is_probability(*p) {
                self.at_hazard(-libm::log1p(-*p))
            } else {
                f64::NAN
            };
        }
    }

    /// The point whose cumulative hazard (x/scale)^shape is `h`.
    ///
    /// `exp(ln h / shape)` rather than `pow(h, 1/shape)`: `libm::pow` costs about 45 ns
    /// against about 15 ns for the pair, for an error of a few ulps at most.
    #[inline]
    pub(super) fn at_hazard(&self, h: f64) -> f64 {
        self.scale * libm::exp(libm::log(h) * self.inv_shape)
    }

    /// The cumulative hazard (x/scale)^shape at `x >= 0`.
    pub(super) fn hazard(&self, x: f64) -> f64 {
        libm::pow(x / self.scale, self.shape)
    }

    pub(super) fn inv_shape(&self) -> f64 {
        self.inv_shape
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
    use statrs::distribution::{ContinuousCDF, Weibull as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, (shape, scale)) in [(1.5, 1.0), (0.4, 250.0)].into_iter().enumerate() {
            let reference = Reference::new(shape, scale).unwrap();
            assert_ks(
                &format!("weibull({shape}, {scale})"),
                draws(&dist(DistKind::Weibull, &[shape, scale]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn quantiles_match_the_reference() {
        for (shape, scale) in [(1.5, 1.0), (0.4, 250.0), (30.0, 2.0)] {
            let reference = Reference::new(shape, scale).unwrap();
            let d = dist(DistKind::Weibull, &[shape, scale]);
            let what = format!("weibull({shape}, {scale})");
            assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10);
        }
    }
}

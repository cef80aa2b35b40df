//! The gamma distribution by Marsaglia & Tsang's method, and the standard gamma draws that
//! beta, PERT and Student's t are built from.

use super::error::{ParamError, positive};
use super::ziggurat;
use crate::fastmath;
use crate::rng::Stream;

/// Gamma(shape, 1), ready to draw.
///
/// Marsaglia & Tsang ("A simple method for generating gamma variables", 2000) need a
/// shape of at least 1 and accept 95–99% of proposals. Below 1 it draws Gamma(shape + 1) and
/// multiplies by `u^(1/shape)`; that factor underflows for tiny shapes, so callers that
/// need a ratio of such draws use [`StdGamma::ln_sample`] instead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct StdGamma {
    d: f64,
    c: f64,
    /// `1/shape` when the shape is below 1 and the boost applies, else 0.
    inv_shape: f64,
}

impl StdGamma {
    /// `shape` must be positive (callers validate it).
    pub(super) fn new(shape: f64) -> StdGamma {
        let (base, inv_shape) = if shape >= 1.0 {
            (shape, 0.0)
        } else {
            (shape + 1.0, 1.0 / shape)
        };
        let d = base - 1.0 / 3.0;
        StdGamma {
            d,
            c: 1.0 / f64::sqrt(9.0 * d),
            inv_shape,
        }
    }

    /// Whether draws go through the `u^(1/shape)` boost (shape below 1).
    pub(super) fn boosted(&self) -> bool {
        self.inv_shape > 0.0
    }

    /// A Gamma(max(shape, 1 + shape)) draw: the Marsaglia–Tsang core.
    #[inline]
    fn core(&self, rng: &mut Stream) -> f64 {
        let zig = ziggurat::tables();
        loop {
            let x = zig.sample(rng);
            let v = 1.0 + self.c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = rng.next_open01();
            let x2 = x * x;
            // The squeeze accepts most proposals without a logarithm.
            if u < 1.0 - 0.0331 * x2 * x2
                || fastmath::ln(u) < 0.5 * x2 + self.d * (1.0 - v + fastmath::ln(v))
            {
                return self.d * v;
            }
        }
    }

    #[inline]
    pub(super) fn sample(&self, rng: &mut Stream) -> f64 {
        let g = self.core(rng);
        if self.boosted() {
            g * libm::exp(libm::log(rng.next_open01()) * self.inv_shape)
        } else {
            g
        }
    }

    /// The natural log of a draw, finite even where the draw itself underflows to 0.
    #[inline]
    pub(super) fn ln_sample(&self, rng: &mut Stream) -> f64 {
        let g = libm::log(self.core(rng));
        if self.boosted() {
            g + libm::log(rng.next_open01()) * self.inv_shape
        } else {
            g
        }
    }
}

/// Gamma(shape, scale), with mean shape·scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gamma {
    std: StdGamma,
    scale: f64,
}

impl Gamma {
    /// Validates the parameters: both finite and greater than 0.
    pub fn new(shape: f64, scale: f64) -> Result<Gamma, ParamError> {
        positive(0, "shape", shape)?;
        positive(1, "scale", scale)?;
        Ok(Gamma {
            std: StdGamma::new(shape),
            scale,
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.scale * self.std.sample(rng)
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
    use statrs::distribution::{ContinuousCDF, Gamma as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        let cases = [(2.5, 1.0), (0.3, 4.0), (150.0, 0.01)];
        for (seed, (shape, scale)) in cases.into_iter().enumerate() {
            let reference = Reference::new(shape, 1.0 / scale).unwrap();
            assert_ks(
                &format!("gamma({shape}, {scale})"),
                draws(&dist(DistKind::Gamma, &[shape, scale]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn log_draws_survive_tiny_shapes() {
        let g = super::StdGamma::new(1e-3);
        let mut rng = crate::rng::Stream::new(5, 0, 0);
        for _ in 0..1000 {
            let l = g.ln_sample(&mut rng);
            assert!(l.is_finite() && l < 10.0, "{l}");
        }
    }
}

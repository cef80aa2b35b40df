//! The beta distribution, as a ratio of two gamma draws.

use super::error::{ParamError, positive};
use super::gamma::StdGamma;
use crate::rng::Stream;

/// Beta(a, b) on [0, 1]: X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
///
/// When either shape is below 1 the gamma draws can underflow to 0 (giving 0/0), so the
/// ratio is then taken from their logarithms instead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beta {
    a: StdGamma,
    b: StdGamma,
}

impl Beta {
    /// Validates the parameters: both finite and greater than 0.
    pub fn new(a: f64, b: f64) -> Result<Beta, ParamError> {
        positive(0, "a", a)?;
        positive(1, "b", b)?;
        Ok(Beta::from_shapes(a, b))
    }

    /// Beta from shapes already known to be positive and finite.
    pub(super) fn from_shapes(a: f64, b: f64) -> Beta {
        Beta {
            a: StdGamma::new(a),
            b: StdGamma::new(b),
        }
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        if self.a.boosted() || self.b.boosted() {
            let lx = self.a.ln_sample(rng);
            let ly = self.b.ln_sample(rng);
            // 1 / (1 + e^(ly - lx)), written so the exponent is never positive.
            return if lx >= ly {
                1.0 / (1.0 + libm::exp(ly - lx))
            } else {
                let t = libm::exp(lx - ly);
                t / (1.0 + t)
            };
        }
        let x = self.a.sample(rng);
        let y = self.b.sample(rng);
        let sum = x + y;
        if sum.is_finite() {
            x / sum
        } else {
            // Shapes near the top of the double range: halve first so the sum fits.
            (0.5 * x) / (0.5 * x + 0.5 * y)
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
    use statrs::distribution::{Beta as Reference, ContinuousCDF};

    #[test]
    fn matches_the_reference_cdf() {
        let cases = [(2.0, 5.0), (0.5, 0.5), (30.0, 1.5)];
        for (seed, (a, b)) in cases.into_iter().enumerate() {
            let reference = Reference::new(a, b).unwrap();
            assert_ks(
                &format!("beta({a}, {b})"),
                draws(&dist(DistKind::Beta, &[a, b]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn tiny_shapes_give_values_in_range() {
        // Beta(a, b) tends to Bernoulli(a / (a + b)) as both shapes shrink.
        let xs = draws(&dist(DistKind::Beta, &[1e-4, 3e-4]), 2);
        assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
        let high = xs.iter().filter(|&&x| x > 0.5).count() as f64 / xs.len() as f64;
        assert!((high - 0.25).abs() < 0.01, "{high}");
    }
}

//! The PERT distribution: a beta rescaled to [min, max] with its mode at `mode`.

use super::beta::Beta;
use super::error::{ParamError, ordered_triple};
use super::uniform::Span;
use crate::rng::Stream;

/// Classic PERT(min, mode, max): `min + (max - min)·Beta(α, β)` with
/// α = 1 + 4(mode - min)/(max - min) and β = 1 + 4(max - mode)/(max - min).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pert {
    pub(super) span: Span,
    beta: Beta,
}

impl Pert {
    /// Validates the parameters: all finite, `min <= mode <= max` and `min < max`.
    pub fn new(min: f64, mode: f64, max: f64) -> Result<Pert, ParamError> {
        ordered_triple(0, [min, mode, max], true)?;
        let span = Span::new(min, max);
        let fc = span.fraction(mode);
        Ok(Pert {
            span,
            beta: Beta::from_shapes(1.0 + 4.0 * fc, 1.0 + 4.0 * (1.0 - fc)),
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.span.at(self.beta.sample(rng))
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_ks, dist, draws};
    use statrs::distribution::{Beta, ContinuousCDF};

    #[test]
    fn matches_the_reference_cdf() {
        let cases = [(0.0, 2.0, 10.0), (100.0, 100.0, 130.0)];
        for (seed, (min, mode, max)) in cases.into_iter().enumerate() {
            let alpha = 1.0 + 4.0 * (mode - min) / (max - min);
            let beta = 1.0 + 4.0 * (max - mode) / (max - min);
            let reference = Beta::new(alpha, beta).unwrap();
            assert_ks(
                &format!("pert({min}, {mode}, {max})"),
                draws(&dist(DistKind::Pert, &[min, mode, max]), seed as u64),
                |x| reference.cdf(((x - min) / (max - min)).clamp(0.0, 1.0)),
            );
        }
    }
}

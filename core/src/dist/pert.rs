//! The PERT distribution: a beta rescaled to [min, max] with its mode at `mode`.

use super::beta::{Beta, BetaQuantile};
use super::error::{ParamError, ordered_triple};
use super::invert::{Inverse, with_complement};
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

    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.at(p, q));
        }
    }

    pub(super) fn inverse(&self) -> PertQuantile {
        PertQuantile {
            span: self.span,
            beta: self.beta.inverse(),
        }
    }
}

/// PERT's quantile function and CDF: the beta's, mapped onto [min, max].
#[derive(Clone, Copy, Debug)]
pub(super) struct PertQuantile {
    span: Span,
    beta: BetaQuantile,
}

impl Inverse for PertQuantile {
    fn cdf(&self, x: f64) -> (f64, f64) {
        let t = self.span.fraction(x);
        if t.is_nan() {
            (f64::NAN, f64::NAN)
        } else if t <= 0.0 {
            (0.0, 1.0)
        } else if t >= 1.0 {
            (1.0, 0.0)
        } else {
            // The distance to max directly, so the upper tail keeps its precision.
            self.beta.tails(t, self.span.fraction_before_hi(x))
        }
    }

    /// Measured from min below the middle and from max above it, so values near either
    /// end keep their distance to it.
    fn at(&self, p: f64, q: f64) -> f64 {
        let (x, y) = self.beta.pair(p, q);
        if x <= y {
            self.span.at(x)
        } else {
            self.span.before_hi(y)
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles_by, dist, draws};
    use statrs::distribution::{Beta, Continuous, ContinuousCDF};

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

    #[test]
    fn quantiles_match_the_reference() {
        let cases = [(0.0, 2.0, 10.0), (100.0, 100.0, 130.0), (-1.0, 0.999, 1.0)];
        for (min, mode, max) in cases {
            let alpha = 1.0 + 4.0 * (mode - min) / (max - min);
            let beta = 1.0 + 4.0 * (max - mode) / (max - min);
            let reference = Beta::new(alpha, beta).unwrap();
            let width = max - min;
            let d = dist(DistKind::Pert, &[min, mode, max]);
            assert_quantiles_by(
                &format!("pert({min}, {mode}, {max})"),
                &d,
                &P_GRID,
                |x| reference.cdf((x - min) / width),
                |x| reference.sf((x - min) / width),
                |x| reference.pdf((x - min) / width) / width,
                1e-10,
            );
        }
    }
}

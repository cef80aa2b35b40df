//! The continuous uniform distribution, and `Span`, the affine map from [0, 1] onto an
//! interval that uniform, triangular and PERT draws share.

use super::error::{Num, ParamError, finite};
use super::invert::is_probability;
use crate::rng::Stream;

/// An interval [lo, hi] with its width, mapping fractions of it to points in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Span {
    pub(super) lo: f64,
    pub(super) hi: f64,
    width: f64,
}

impl Span {
    pub(super) fn new(lo: f64, hi: f64) -> Span {
        Span {
            lo,
            hi,
            width: hi - lo,
        }
    }

    /// The point a fraction `t` in [0, 1] of the way from `lo` to `hi`. When the width
    /// overflows (lo = -1e308, hi = 1e308) the two-term form stays finite instead.
    #[inline]
    pub(super) fn at(&self, t: f64) -> f64 {
        let x = self.lo + self.width * t;
        if x.is_finite() {
            x.min(self.hi)
        } else {
            self.lo * (1.0 - t) + self.hi * t
        }
    }

    /// [`Span::at`] of every value in place; the same bits as `at` one value at a time.
    /// With a finite width, `lo + width * t` is finite for every t in [0, 1], so the loop
    /// needs no fallback and vectorises.
    pub(super) fn at_each(&self, ts: &mut [f64]) {
        if self.width.is_finite() {
            for t in ts.iter_mut() {
                *t = (self.lo + self.width * *t).min(self.hi);
            }
        } else {
            for t in ts.iter_mut() {
                *t = self.at(*t);
            }
        }
    }

    /// The point a fraction `s` in [0, 1] of the way back from `hi`: `at(1 - s)` without
    /// rounding `1 - s`, so points near `hi` keep their precision.
    #[inline]
    pub(super) fn before_hi(&self, s: f64) -> f64 {
        let x = self.hi - self.width * s;
        if x.is_finite() {
            x.max(self.lo)
        } else {
            self.hi * (1.0 - s) + self.lo * s
        }
    }

    /// How far `x` lies below `hi` as a fraction of the width: `1 - fraction(x)` without
    /// rounding, so points near `hi` keep their precision (0 for an empty span).
    pub(super) fn fraction_before_hi(&self, x: f64) -> f64 {
        if self.width == 0.0 {
            0.0
        } else if self.width.is_finite() {
            (self.hi - x) / self.width
        } else {
            (self.hi * 0.5 - x * 0.5) / (self.hi * 0.5 - self.lo * 0.5)
        }
    }

    /// Where `x` lies in the span as a fraction of its width (0 for an empty span).
    pub(super) fn fraction(&self, x: f64) -> f64 {
        if self.width == 0.0 {
            0.0
        } else if self.width.is_finite() {
            (x - self.lo) / self.width
        } else {
            // Halving is exact, and makes every difference of two finite numbers finite.
            (x * 0.5 - self.lo * 0.5) / (self.hi * 0.5 - self.lo * 0.5)
        }
    }
}

/// Uniform(low, high) on [low, high]. `low == high` gives the constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniform {
    pub(super) span: Span,
}

impl Uniform {
    /// Validates the parameters: both finite, `low <= high`.
    pub fn new(low: f64, high: f64) -> Result<Uniform, ParamError> {
        finite(0, "low", low)?;
        finite(1, "high", high)?;
        if low > high {
            return Err(ParamError::new(
                None,
                format!(
                    "`low` and `high` must satisfy low <= high, got {}, {}",
                    Num(low),
                    Num(high)
                ),
            ));
        }
        Ok(Uniform {
            span: Span::new(low, high),
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.span.at(rng.next_f64())
    }

    /// The quantile function in place: `low + (high - low)·p`; NaN for p outside [0, 1].
    /// Checking the whole batch first leaves the common loop without a branch, so that it
    /// vectorises.
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        if ps.iter().all(|&p| is_probability(p)) {
            self.span.at_each(ps);
        } else {
            for p in ps.iter_mut() {
                *p = if is_probability(*p) {
                    self.span.at(*p)
                } else {
                    f64::NAN
                };
            }
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
    use statrs::distribution::{ContinuousCDF, Uniform as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, (low, high)) in [(0.0, 1.0), (-40.0, 2.5)].into_iter().enumerate() {
            let reference = Reference::new(low, high).unwrap();
            assert_ks(
                &format!("uniform({low}, {high})"),
                draws(&dist(DistKind::Uniform, &[low, high]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn huge_intervals_stay_finite() {
        let xs = draws(&dist(DistKind::Uniform, &[-1e308, 1.5e308]), 3);
        assert!(xs.iter().all(|&x| (-1e308..=1.5e308).contains(&x)));
        let above = xs.iter().filter(|&&x| x > 0.25e308).count();
        assert!((above as f64 / xs.len() as f64 - 0.5).abs() < 0.01);
    }

    #[test]
    fn quantiles_match_the_reference() {
        for (low, high) in [(0.0, 1.0), (-40.0, 2.5)] {
            let reference = Reference::new(low, high).unwrap();
            let d = dist(DistKind::Uniform, &[low, high]);
            let what = format!("uniform({low}, {high})");
            assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10);
        }
        let point = dist(DistKind::Uniform, &[3.0, 3.0]);
        assert_eq!(point.quantile(0.7), 3.0);
    }
}

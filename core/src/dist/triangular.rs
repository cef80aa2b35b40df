//! The triangular distribution, sampled by inverting its CDF.

use super::error::{ParamError, ordered_triple};
use super::invert::is_probability;
use super::uniform::Span;
use crate::rng::Stream;
use crate::simd::kernel;

/// Triangular(min, mode, max). `min == max` gives the constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Triangular {
    pub(super) span: Span,
    /// Where the mode sits in [min, max], as a fraction of the width.
    fc: f64,
}

impl Triangular {
    /// Validates the parameters: all finite, `min <= mode <= max`.
    pub fn new(min: f64, mode: f64, max: f64) -> Result<Triangular, ParamError> {
        ordered_triple(0, [min, mode, max], false)?;
        let span = Span::new(min, max);
        Ok(Triangular {
            span,
            fc: span.fraction(mode),
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.quantile(rng.next_f64())
    }

    /// The point with P(X <= x) = p. Above the mode it works from `1 - p` so that it
    /// mirrors [`Triangular::quantile_sf`] exactly.
    #[inline]
    pub(super) fn quantile(&self, p: f64) -> f64 {
        if p < self.fc {
            self.span.at(f64::sqrt(p * self.fc))
        } else {
            self.span.before_hi(f64::sqrt((1.0 - p) * (1.0 - self.fc)))
        }
    }

    /// [`Triangular::quantile`] of every value in place; the same bits, computed without a
    /// branch on the side of the mode (which mispredicts half the time) when the width is
    /// finite, so that the loop vectorises.
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let Span { lo, hi, .. } = self.span;
        let width = hi - lo;
        if !width.is_finite() {
            for p in ps.iter_mut() {
                *p = self.quantile(*p);
            }
            return;
        }
        quantiles_finite(ps, lo, hi, self.fc);
    }

    /// The quantile function in place, NaN for p outside [0, 1]: the batch is checked first
    /// so that the common case runs [`Triangular::quantile_each`]'s vectorised loop.
    pub(super) fn quantile_checked(&self, ps: &mut [f64]) {
        if ps.iter().all(|&p| is_probability(p)) {
            self.quantile_each(ps);
        } else {
            for p in ps.iter_mut() {
                *p = if is_probability(*p) {
                    self.quantile(*p)
                } else {
                    f64::NAN
                };
            }
        }
    }

    /// The point with P(X > x) = s, precise when s is tiny.
    pub(super) fn quantile_sf(&self, s: f64) -> f64 {
        if s <= 1.0 - self.fc {
            self.span.before_hi(f64::sqrt(s * (1.0 - self.fc)))
        } else {
            self.span.at(f64::sqrt((1.0 - s) * self.fc))
        }
    }

    /// P(X <= x).
    pub(super) fn cdf(&self, x: f64) -> f64 {
        let t = self.span.fraction(x);
        if t <= 0.0 {
            0.0
        } else if t >= 1.0 {
            1.0
        } else if t <= self.fc {
            t * t / self.fc
        } else {
            1.0 - (1.0 - t) * (1.0 - t) / (1.0 - self.fc)
        }
    }

    /// P(X > x), computed directly so the upper tail keeps its precision.
    pub(super) fn sf(&self, x: f64) -> f64 {
        let t = self.span.fraction(x);
        if t <= 0.0 {
            1.0
        } else if t >= 1.0 {
            0.0
        } else if t <= self.fc {
            1.0 - t * t / self.fc
        } else {
            (1.0 - t) * (1.0 - t) / (1.0 - self.fc)
        }
    }

    /// Whether `x` is at or above the mode, where [`Triangular::sf`] is the precise side.
    pub(super) fn above_mode(&self, x: f64) -> bool {
        self.span.fraction(x) >= self.fc
    }
}

// statrs, the reference, is a native-only dev-dependency.
kernel! {
    /// [`Triangular::quantile_each`] for a finite width `hi - lo`, whose mode sits at
    /// fraction `fc` of it.
    fn quantiles_finite(ps: &mut [f64], lo: f64, hi: f64, fc: f64) {
        let (width, gc) = (hi - lo, 1.0 - fc);
        for p in ps.iter_mut() {
            // Only selects of plain values, which LLVM keeps as selects: when a select
            // chose between two results of `sqrt`, it made a branch of it instead.
            let below = *p < fc;
            let t = if below { *p * fc } else { (1.0 - *p) * gc };
            let (from, step) = if below { (lo, width) } else { (hi, -width) };
            let x = from + step * f64::sqrt(t);
            *p = if x < lo {
                lo
            } else if x > hi {
                hi
            } else {
                x
            };
        }
    }
}

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
    use statrs::distribution::{ContinuousCDF, Triangular as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        let cases = [(0.0, 0.3, 1.0), (-10.0, 25.0, 25.0)];
        for (seed, (min, mode, max)) in cases.into_iter().enumerate() {
            let reference = Reference::new(min, max, mode).unwrap();
            assert_ks(
                &format!("triangular({min}, {mode}, {max})"),
                draws(&dist(DistKind::Triangular, &[min, mode, max]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn cdf_and_quantile_agree() {
        let t = super::Triangular::new(2.0, 3.0, 7.0).unwrap();
        for x in [2.0, 2.5, 3.0, 4.0, 6.9, 7.0] {
            assert!((t.cdf(x) + t.sf(x) - 1.0).abs() < 1e-15);
            if x > 2.0 && x < 7.0 {
                assert!((t.quantile(t.cdf(x)) - x).abs() < 1e-12, "{x}");
                assert!((t.quantile_sf(t.sf(x)) - x).abs() < 1e-12, "{x}");
            }
        }
    }

    #[test]
    fn quantiles_match_the_reference() {
        for (min, mode, max) in [(0.0, 0.3, 1.0), (-10.0, 25.0, 25.0), (5.0, 5.0, 9.0)] {
            let reference = Reference::new(min, max, mode).unwrap();
            let d = dist(DistKind::Triangular, &[min, mode, max]);
            let what = format!("triangular({min}, {mode}, {max})");
            assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10);
        }
    }
}

//! The beta distribution, as a ratio of two gamma draws.

use super::error::{ParamError, positive};
use super::gamma::StdGamma;
use super::invert::{Inverse, LN_MIN, Point, solve, with_complement};
use super::special::{BetaFront, beta_tails, ln_beta, normal_quantile};
use crate::fastmath;
use crate::rng::Stream;

/// Beta(a, b) on [0, 1]: X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).
///
/// When either shape is below 1 the gamma draws can underflow to 0 (giving 0/0), so the
/// ratio is then taken from their logarithms instead.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Beta {
    a: StdGamma,
    b: StdGamma,
    /// The shapes themselves, for the quantile function.
    shapes: (f64, f64),
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
            shapes: (a, b),
        }
    }

    pub(super) fn shapes(&self) -> (f64, f64) {
        self.shapes
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

    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.pair(p, q).0);
        }
    }

    pub(super) fn inverse(&self) -> BetaQuantile {
        BetaQuantile::new(self.shapes.0, self.shapes.1)
    }
}

/// Beta(a, b)'s quantile function and CDF, with the constants that depend only on the shapes
/// (three `lgamma`s' worth) computed once for a batch.
///
/// The quantile solves I_x(a, b) = p by [`solve`] in ln x, where the lower tail is close
/// to the power law x^a / (a B(a, b)). When the answer lies above 1/2 it solves for
/// y = 1 - x instead, as the lower tail of Beta(b, a), so that values near 1 keep their
/// distance from 1 (which Student's t and PERT near its maximum need) and the upper tail,
/// close to a power law in y, is as easy as the lower.
#[derive(Clone, Copy, Debug)]
pub(super) struct BetaQuantile {
    a: f64,
    b: f64,
    ln_beta: f64,
    front: BetaFront,
}

impl BetaQuantile {
    /// `a` and `b` must be positive and finite.
    pub(super) fn new(a: f64, b: f64) -> BetaQuantile {
        let ln_beta = ln_beta(a, b);
        let front = if a + b < 100.0 {
            BetaFront::Direct { ln_beta }
        } else {
            BetaFront::new(a, b)
        };
        BetaQuantile {
            a,
            b,
            ln_beta,
            front,
        }
    }

    /// (I_x(a, b), 1 - I_x(a, b)) at x, with y = 1 - x passed separately (precise when x
    /// is near 1).
    pub(super) fn tails(&self, x: f64, y: f64) -> (f64, f64) {
        let front = self.front.at(self.a, self.b, x, y);
        beta_tails(self.a, self.b, x, y, front)
    }

    /// (x, 1 - x) for the smallest x with I_x(a, b) >= p, where q = 1 - p; the smaller of
    /// the two is computed directly, so both keep their relative precision.
    pub(super) fn pair(&self, p: f64, q: f64) -> (f64, f64) {
        if p == 0.0 {
            return (0.0, 1.0);
        }
        if q == 0.0 {
            return (1.0, 0.0);
        }
        // Where the tail's power law x^a/(a B(a, b)) puts the answer below the smallest
        // double, that is the answer's rounding (and likewise at 1).
        if (fastmath::ln(p * self.a) + self.ln_beta) / self.a < LN_MIN {
            return (0.0, 1.0);
        }
        if (fastmath::ln(q * self.b) + self.ln_beta) / self.b < LN_MIN {
            return (1.0, 0.0);
        }
        let (x0, y0) = self.guess(p, q);
        let flip = x0 > y0;
        let (v, w) = self.oriented(flip, p, q, if flip { y0 } else { x0 });
        // The guess can put the answer on the wrong side of 1/2; far on the wrong side,
        // the complement has lost digits, so solve again the other way round from there.
        let (v, w, flip) = if v > 0.75 {
            let (v, w) = self.oriented(!flip, p, q, w);
            (v, w, !flip)
        } else {
            (v, w, flip)
        };
        if flip { (w, v) } else { (v, w) }
    }

    /// Solves for x (or, with `flip`, for y = 1 - x as Beta(b, a) with p and q swapped) in
    /// ln space from `start`; returns the solved variable and its complement.
    fn oriented(&self, flip: bool, p: f64, q: f64, start: f64) -> (f64, f64) {
        let (a, b, p, q) = if flip {
            (self.b, self.a, q, p)
        } else {
            (self.a, self.b, p, q)
        };
        // x^a y^b / B(a, b) is symmetric under swapping (a, x) with (b, y).
        let front = self.front;
        let u = solve(p, q, fastmath::ln(start), (LN_MIN, 0.0), |u| {
            let x = fastmath::exp(u);
            let y = 1.0 - x;
            let f = front.at(a, b, x, y);
            let (lower, upper) = beta_tails(a, b, x, y, f);
            Point {
                lower,
                upper,
                // x·(density) = x^a y^(b-1) / B(a, b), and its log's derivative in ln x.
                density: f / y,
                slope: a - (b - 1.0) * x / y,
            }
        });
        let v = fastmath::exp(u);
        (v, 1.0 - v)
    }

    /// A starting point (x, 1 - x): for shapes of at least 1, the normal approximation of
    /// Abramowitz & Stegun 26.5.22 (as in Numerical Recipes' `invbetai`); below that, a power
    /// law at each end, x^a/a and (1 - x)^b/b, joined where their masses meet. In either
    /// case, far enough out in a tail, the tail's own power law x ≈ (p·a·B(a, b))^(1/a).
    fn guess(&self, p: f64, q: f64) -> (f64, f64) {
        let (a, b) = (self.a, self.b);
        let (x, y) = if a >= 1.0 && b >= 1.0 {
            // The upper-tail normal quantile: positive for small p.
            let z = if p <= q {
                -normal_quantile(p)
            } else {
                normal_quantile(q)
            };
            let al = (z * z - 3.0) / 6.0;
            let (ia, ib) = (1.0 / (2.0 * a - 1.0), 1.0 / (2.0 * b - 1.0));
            let h = 2.0 / (ia + ib);
            let w = z * f64::sqrt(al + h) / h - (ib - ia) * (al + 5.0 / 6.0 - 2.0 / (3.0 * h));
            // x = a / (a + b·e^(2w)), from whichever side keeps e^(±2w) from overflowing.
            if w > 0.0 {
                let r = a / b * fastmath::exp(-2.0 * w);
                (r / (1.0 + r), 1.0 / (1.0 + r))
            } else {
                let r = b / a * fastmath::exp(2.0 * w);
                (1.0 / (1.0 + r), r / (1.0 + r))
            }
        } else {
            let ln_ab = fastmath::ln(a + b);
            let t = fastmath::exp(a * (fastmath::ln(a) - ln_ab)) / a;
            let u = fastmath::exp(b * (fastmath::ln(b) - ln_ab)) / b;
            let w = t + u;
            if p < t / w {
                let x = fastmath::exp(fastmath::ln(a * w * p) / a);
                (x, 1.0 - x)
            } else {
                let y = fastmath::exp(fastmath::ln(b * w * q) / b);
                (1.0 - y, y)
            }
        };
        // The tail's power law holds while (1 - x)^b stays close to 1, i.e. b·x is small.
        if p <= q && x < 0.5 {
            let x_tail = fastmath::exp((fastmath::ln(p * a) + self.ln_beta) / a);
            if x_tail > 0.0 && b * x_tail < 0.1 {
                return (x_tail, 1.0 - x_tail);
            }
        } else if q < p && y < 0.5 {
            let y_tail = fastmath::exp((fastmath::ln(q * b) + self.ln_beta) / b);
            if y_tail > 0.0 && a * y_tail < 0.1 {
                return (1.0 - y_tail, y_tail);
            }
        }
        (x.max(f64::MIN_POSITIVE), y.max(f64::MIN_POSITIVE))
    }
}

impl Inverse for BetaQuantile {
    fn cdf(&self, x: f64) -> (f64, f64) {
        if x.is_nan() {
            (f64::NAN, f64::NAN)
        } else if x <= 0.0 {
            (0.0, 1.0)
        } else if x >= 1.0 {
            (1.0, 0.0)
        } else {
            self.tails(x, 1.0 - x)
        }
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        self.pair(p, q).0
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
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

    #[test]
    fn quantiles_match_the_reference() {
        let cases = [
            (0.3, 0.3),
            (0.3, 500.0),
            (500.0, 0.3),
            (1.0, 1.0),
            (0.9, 1.1),
            (2.0, 5.0),
            (30.0, 1.5),
            (500.0, 500.0),
            (0.01, 2.0),
            (5000.0, 20.0),
        ];
        let mut worst: f64 = 0.0;
        for (a, b) in cases {
            let reference = Reference::new(a, b).unwrap();
            let d = dist(DistKind::Beta, &[a, b]);
            let what = format!("beta({a}, {b})");
            worst = worst.max(assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10));
        }
        println!("beta: worst quantile error {worst:e}");
    }

    #[test]
    fn quantiles_keep_the_distance_to_one() {
        // Beta(1, b) has the closed form x = 1 - (1 - p)^(1/b); near 1 the complement must
        // come out directly, not as 1 - x.
        let inv = super::Beta::new(1.0, 0.05).unwrap().inverse();
        for p in [0.5, 0.9, 0.999_999] {
            let (x, y) = inv.pair(p, 1.0 - p);
            let want = libm::pow(1.0 - p, 20.0);
            assert!((y / want - 1.0).abs() < 1e-12, "p = {p}: {y} vs {want}");
            assert_eq!(x, 1.0 - y);
        }
        // Far enough out that x underflows: 0, not the smallest subnormal.
        assert_eq!(dist(DistKind::Beta, &[0.01, 2.0]).quantile(1e-6), 0.0);
    }
}

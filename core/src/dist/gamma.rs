//! The gamma distribution by Marsaglia & Tsang's method, and the standard gamma draws that
//! beta, PERT and Student's t are built from.

use super::error::{ParamError, positive};
use super::invert::{Inverse, LN_MAX, LN_MIN, Point, solve, with_complement};
use super::special::{IncGamma, normal_quantile};
use super::{MAX_ATTEMPTS, ziggurat};
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
        for _ in 0..MAX_ATTEMPTS {
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
        f64::NAN
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
    shape: f64,
    scale: f64,
}

impl Gamma {
    /// Validates the parameters: both finite and greater than 0.
    pub fn new(shape: f64, scale: f64) -> Result<Gamma, ParamError> {
        positive(0, "shape", shape)?;
        positive(1, "scale", scale)?;
        Ok(Gamma {
            std: StdGamma::new(shape),
            shape,
            scale,
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        self.scale * self.std.sample(rng)
    }

    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.at(p, q));
        }
    }

    pub(super) fn inverse(&self) -> GammaQuantile {
        GammaQuantile {
            scale: self.scale,
            inc: IncGamma::new(self.shape),
            shape: self.shape,
        }
    }
}

/// Gamma(shape, scale)'s quantile function and CDF, with the `lgamma` of the shape computed
/// once for a batch.
///
/// The quantile solves P(a, x) = p (or Q(a, x) = q in the upper tail) by [`solve`] in
/// ln x, from the Wilson–Hilferty approximation x ≈ a(1 - 1/(9a) + z/√(9a))³ (Johnson,
/// Kotz & Balakrishnan, "Continuous Univariate Distributions" 1, §17.5) or, where that is
/// worse, the tails' own shapes: x^a / Γ(a + 1) ≈ p below, x^(a-1) e^-x / Γ(a) ≈ q above.
#[derive(Clone, Copy, Debug)]
pub(super) struct GammaQuantile {
    shape: f64,
    scale: f64,
    inc: IncGamma,
}

impl GammaQuantile {
    /// The Gamma(shape, 1) quantile.
    fn standard(&self, p: f64, q: f64) -> f64 {
        if p == 0.0 {
            return 0.0;
        }
        if q == 0.0 {
            return f64::INFINITY;
        }
        let a = self.shape;
        let u0 = self.guess(p, q);
        if u0 <= LN_MIN {
            // Below the smallest double: x^a/Γ(a + 1) is the whole story there.
            return 0.0;
        }
        let inc = self.inc;
        let u = solve(p, q, u0, (LN_MIN, LN_MAX), |u| {
            let x = fastmath::exp(u);
            let (lower, upper, density) = inc.tails(x);
            Point {
                lower,
                upper,
                density,
                // d/du of ln(x^a e^-x).
                slope: a - x,
            }
        });
        fastmath::exp(u)
    }

    /// A starting ln x.
    fn guess(&self, p: f64, q: f64) -> f64 {
        let a = self.shape;
        let z = if p <= q {
            normal_quantile(p)
        } else {
            -normal_quantile(q)
        };
        let c = 1.0 / (9.0 * a);
        let t = 1.0 - c + z * f64::sqrt(c);
        let wilson_hilferty = if t > 0.0 {
            fastmath::ln(a * t * t * t)
        } else {
            f64::NEG_INFINITY
        };
        let ln_gamma1p = self.inc.ln_gamma1p();
        // x^a / Γ(a + 1) = p, which underestimates x: e^-x < 1 is left out.
        let lower_tail = (fastmath::ln(p) + ln_gamma1p) / a;
        if p <= q {
            return wilson_hilferty.max(lower_tail);
        }
        if a >= 1.0 && t > 0.0 {
            return wilson_hilferty;
        }
        // x = -ln q - ln Γ(a) + (a - 1) ln x, by fixed-point steps, where x > 1.
        let base = -fastmath::ln(q) - (ln_gamma1p - fastmath::ln(a));
        if base > 1.0 {
            let mut x = base;
            for _ in 0..3 {
                x = base + (a - 1.0) * fastmath::ln(x);
            }
            if x > 1.0 {
                return fastmath::ln(x);
            }
        }
        wilson_hilferty.max(lower_tail)
    }
}

impl Inverse for GammaQuantile {
    fn cdf(&self, x: f64) -> (f64, f64) {
        let (lower, upper, _) = self.inc.tails(x / self.scale);
        (lower, upper)
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        self.scale * self.standard(p, q)
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
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

    #[test]
    fn quantiles_match_the_reference() {
        let cases = [
            (0.3, 1.0),
            (0.999, 2.0),
            (1.0, 1.0),
            (2.5, 0.5),
            (19.9, 1.0),
            (20.0, 1.0),
            (150.0, 0.01),
            (500.0, 1.0),
            (0.01, 1.0),
        ];
        let mut worst: f64 = 0.0;
        for (shape, scale) in cases {
            let reference = Reference::new(shape, 1.0 / scale).unwrap();
            let d = dist(DistKind::Gamma, &[shape, scale]);
            let what = format!("gamma({shape}, {scale})");
            // Gamma(0.01) puts p <= 1e-6 below the smallest double: those quantiles are 0.
            let ps: Vec<f64> = P_GRID
                .into_iter()
                .filter(|&p| shape > 0.1 || p > 1e-4)
                .collect();
            worst = worst.max(assert_quantiles(&what, &d, &ps, &reference, 1e-10));
        }
        println!("gamma: worst quantile error {worst:e}");
        assert_eq!(dist(DistKind::Gamma, &[0.01, 1.0]).quantile(1e-6), 0.0);
    }

    #[test]
    fn huge_shapes_stay_precise() {
        // Around the mean of Gamma(1e5) statrs' series would need thousands of terms, so the
        // check is the Wilson–Hilferty transform, exact to O(1/a) there: the median of
        // Gamma(a) is a - 1/3 + 8/(405a) + O(1/a²) (Choi 1994).
        let a = 1e5;
        let median = dist(DistKind::Gamma, &[a, 1.0]).quantile(0.5);
        let want = a - 1.0 / 3.0 + 8.0 / (405.0 * a);
        assert!((median - want).abs() < 1e-8, "{median} vs {want}");
    }
}

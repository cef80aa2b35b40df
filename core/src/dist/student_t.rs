//! Student's t distribution: a normal draw over the root of a scaled chi-squared draw.

use super::beta::BetaQuantile;
use super::error::{ParamError, positive};
use super::gamma::StdGamma;
use super::invert::{Inverse, with_complement};
use super::ziggurat;
use crate::rng::Stream;
use std::f64::consts::PI;

/// Student's t with `df` degrees of freedom: Z·√(df / χ²(df)), where χ²(df) = 2·Gamma(df/2),
/// so Z·√(k / Gamma(k)) with k = df/2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StudentT {
    half_df: f64,
    ln_half_df: f64,
    gamma: StdGamma,
}

impl StudentT {
    /// Validates the parameter: finite and greater than 0.
    pub fn new(df: f64) -> Result<StudentT, ParamError> {
        positive(0, "df", df)?;
        let half_df = 0.5 * df;
        Ok(StudentT {
            half_df,
            ln_half_df: libm::log(half_df),
            gamma: StdGamma::new(half_df),
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        let z = ziggurat::tables().sample(rng);
        if self.gamma.boosted() {
            // Below df = 2 the gamma draw can underflow; work with its logarithm.
            z * libm::exp(0.5 * (self.ln_half_df - self.gamma.ln_sample(rng)))
        } else {
            z * f64::sqrt(self.half_df / self.gamma.sample(rng))
        }
    }

    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.at(p, q));
        }
    }

    pub(super) fn inverse(&self) -> StudentTQuantile {
        StudentTQuantile {
            df: 2.0 * self.half_df,
            beta: BetaQuantile::new(0.5, self.half_df),
        }
    }
}

/// Student's t quantile function and CDF, through the beta distribution:
/// P(|T| <= τ) = I_y(1/2, df/2) with y = τ²/(df + τ²) (Abramowitz & Stegun 26.7.1), so
/// τ = √(df·y/(1 - y)), from y and 1 - y each kept precise by [`BetaQuantile::pair`]:
/// y near 0 for p near 1/2, 1 - y near 0 far out in the tails. One and two degrees of
/// freedom have closed forms (Cauchy's tan(π(p - 1/2)), and (2p - 1)/√(2p(1 - p))).
#[derive(Clone, Copy, Debug)]
pub(super) struct StudentTQuantile {
    df: f64,
    /// Beta(1/2, df/2): the law of T²/(df + T²).
    beta: BetaQuantile,
}

impl Inverse for StudentTQuantile {
    fn cdf(&self, t: f64) -> (f64, f64) {
        if t.is_nan() {
            return (f64::NAN, f64::NAN);
        }
        let tt = t * t;
        // y = t²/(df + t²) and 1 - y = df/(df + t²), each directly.
        let (y, x) = if tt.is_finite() {
            (tt / (self.df + tt), self.df / (self.df + tt))
        } else {
            (1.0, 0.0)
        };
        let (inside, outside) = self.beta.tails(y, x);
        let tail = 0.5 * outside;
        let rest = 0.5 + 0.5 * inside;
        if t < 0.0 { (tail, rest) } else { (rest, tail) }
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        let sign = if p < q { -1.0 } else { 1.0 };
        // The smaller tail, and the probability between it and its mirror image: exact
        // when s >= 1/4, and 1 - 2s loses nothing that matters below that.
        let s = p.min(q);
        let central = 1.0 - 2.0 * s;
        if s == 0.0 {
            return sign * f64::INFINITY;
        }
        let magnitude = if self.df == 1.0 {
            if s < 0.25 {
                1.0 / libm::tan(PI * s)
            } else {
                libm::tan(PI * (0.5 * central))
            }
        } else if self.df == 2.0 {
            central / f64::sqrt(2.0 * s * (1.0 - s))
        } else {
            let (y, x) = self.beta.pair(central, 2.0 * s);
            f64::sqrt(self.df * (y / x))
        };
        sign * magnitude
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{P_GRID, assert_ks, assert_quantiles, dist, draws};
    use statrs::distribution::{ContinuousCDF, StudentsT as Reference};

    #[test]
    fn matches_the_reference_cdf() {
        for (seed, df) in [1.0, 4.5, 60.0].into_iter().enumerate() {
            let reference = Reference::new(0.0, 1.0, df).unwrap();
            assert_ks(
                &format!("student_t({df})"),
                draws(&dist(DistKind::StudentT, &[df]), seed as u64),
                |x| reference.cdf(x),
            );
        }
    }

    #[test]
    fn quantiles_match_the_reference() {
        let mut worst: f64 = 0.0;
        for df in [1.0, 2.0, 2.5, 30.0, 0.5, 1e4] {
            let reference = Reference::new(0.0, 1.0, df).unwrap();
            let d = dist(DistKind::StudentT, &[df]);
            let what = format!("student_t({df})");
            worst = worst.max(assert_quantiles(&what, &d, &P_GRID, &reference, 1e-10));
        }
        println!("student_t: worst quantile error {worst:e}");
    }

    #[test]
    fn quantiles_are_symmetric_and_exact_at_the_centre() {
        for df in [1.0, 2.0, 2.5, 30.0] {
            let d = dist(DistKind::StudentT, &[df]);
            assert_eq!(d.quantile(0.5), 0.0);
            // Probabilities whose complements are exact.
            for p in [1.0 / 1024.0 / 1024.0 / 1024.0, 1.0 / 128.0, 0.25, 0.4375] {
                assert_eq!(d.quantile(p), -d.quantile(1.0 - p), "df = {df}, p = {p}");
            }
        }
    }
}

//! The Poisson distribution: sequential inversion for small means, Hörmann's transformed
//! rejection (PTRS) for large ones.

use super::MAX_ATTEMPTS;
use super::error::{Num, ParamError, non_negative};
use super::invert::{Inverse, search, with_complement};
use super::special::{IncGamma, ln_poisson_pmf, normal_quantile};
use crate::fastmath;
use crate::rng::Stream;

/// The largest mean accepted. Draws stay exact integers in a double well beyond it; the
/// bound keeps `lambda` where PTRS's floating-point steps have been checked.
pub(super) const MAX_LAMBDA: f64 = 1e15;

/// Below this mean, inversion (about lambda + 1 steps) beats PTRS's setup and logarithms.
const INVERSION_BELOW: f64 = 10.0;

/// Poisson(lambda). A `lambda` of 0 gives the constant 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Poisson {
    pub(super) lambda: f64,
    method: Method,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    /// P(X = 0) = e^-lambda, the start of the sequential search.
    Inversion { p0: f64 },
    /// The constants of PTRS (Hörmann 1993, "The transformed rejection method for
    /// generating Poisson random variables").
    Ptrs {
        a: f64,
        b: f64,
        vr: f64,
        ln_inv_alpha: f64,
    },
}

impl Poisson {
    /// Validates the parameter: finite, between 0 and 1e15.
    pub fn new(lambda: f64) -> Result<Poisson, ParamError> {
        non_negative(0, "lambda", lambda)?;
        if lambda > MAX_LAMBDA {
            return Err(ParamError::new(
                Some(0),
                format!(
                    "`lambda` must be at most {}, got {}",
                    Num(MAX_LAMBDA),
                    Num(lambda)
                ),
            ));
        }
        let method = if lambda < INVERSION_BELOW {
            Method::Inversion {
                p0: libm::exp(-lambda),
            }
        } else {
            let b = 0.931 + 2.53 * f64::sqrt(lambda);
            Method::Ptrs {
                a: -0.059 + 0.02483 * b,
                b,
                vr: 0.9277 - 3.6224 / (b - 2.0),
                ln_inv_alpha: libm::log(1.1239 + 1.1328 / (b - 3.4)),
            }
        };
        Ok(Poisson { lambda, method })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        match self.method {
            Method::Inversion { p0 } => self.inversion(rng, p0),
            Method::Ptrs {
                a,
                b,
                vr,
                ln_inv_alpha,
            } => {
                for _ in 0..MAX_ATTEMPTS {
                    let u = rng.next_f64() - 0.5;
                    let v = rng.next_f64();
                    let us = 0.5 - u.abs();
                    let k = ((2.0 * a / us + b) * u + self.lambda + 0.43).floor();
                    if us >= 0.07 && v <= vr {
                        return k;
                    }
                    if k < 0.0 || (us < 0.013 && v > us) {
                        continue;
                    }
                    // The exact log-probability (not lgamma's cancelling sum) keeps this test
                    // right for lambda up to 1e15.
                    if libm::log(v) + ln_inv_alpha - libm::log(a / (us * us) + b)
                        <= ln_poisson_pmf(k, self.lambda)
                    {
                        return k;
                    }
                }
                f64::NAN
            }
        }
    }

    /// Walks the CDF from 0 until it passes a uniform draw.
    fn inversion(&self, rng: &mut Stream, p0: f64) -> f64 {
        for _ in 0..MAX_ATTEMPTS {
            let mut u = rng.next_f64();
            let mut p = p0;
            let mut k = 0.0;
            // Once p underflows, whatever is left of u is rounding error in the running
            // sum; start over rather than walk on forever.
            while p > 0.0 {
                if u < p {
                    return k;
                }
                u -= p;
                k += 1.0;
                p *= self.lambda / k;
            }
        }
        f64::NAN
    }

    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.at(p, q));
        }
    }

    pub(super) fn inverse(&self) -> PoissonQuantile {
        PoissonQuantile {
            lambda: self.lambda,
        }
    }
}

/// Poisson(lambda)'s quantile function and CDF.
///
/// P(X <= k) = Q(k + 1, lambda), the upper regularised incomplete gamma function, which
/// Temme's expansion evaluates in constant time for large means. The quantile starts from
/// the Cornish–Fisher expansion k ≈ lambda + z√lambda + (z² - 1)/6 (with the continuity
/// correction), which is within a step or two, and settles the exact k by [`search`].
#[derive(Clone, Copy, Debug)]
pub(super) struct PoissonQuantile {
    lambda: f64,
}

impl PoissonQuantile {
    /// (P(X <= k), P(X > k)) for a whole k >= 0.
    fn tails_at(&self, k: f64) -> (f64, f64) {
        let (below, above, _) = IncGamma::new(k + 1.0).tails(self.lambda);
        (above, below)
    }
}

impl Inverse for PoissonQuantile {
    fn cdf(&self, x: f64) -> (f64, f64) {
        let k = x.floor();
        if k.is_nan() {
            (f64::NAN, f64::NAN)
        } else if k < 0.0 {
            (0.0, 1.0)
        } else if k == f64::INFINITY {
            (1.0, 0.0)
        } else {
            self.tails_at(k)
        }
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        let lambda = self.lambda;
        if lambda == 0.0 || p == 0.0 {
            return 0.0;
        }
        if q == 0.0 {
            return f64::INFINITY;
        }
        let z = if p <= q {
            normal_quantile(p)
        } else {
            -normal_quantile(q)
        };
        let guess = (lambda + f64::sqrt(lambda) * z + (z * z - 1.0) / 6.0 - 0.5).ceil();
        // One step low for the lower tail and one high for the upper, so that the search
        // settles by adding probabilities.
        let guess = if p <= q { guess - 1.0 } else { guess + 1.0 };
        search(
            p,
            q,
            guess,
            f64::INFINITY,
            |k| self.tails_at(k),
            |k| fastmath::exp(ln_poisson_pmf(k, lambda)),
        )
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::special::ln_poisson_pmf;
    use super::super::testutil::{P_GRID, assert_chi2, assert_discrete_quantiles, dist, draws};
    use statrs::distribution::{Discrete, Poisson as Reference};

    fn check(lambda: f64, seed: u64) {
        let reference = Reference::new(lambda).unwrap();
        let top = (lambda + 12.0 * lambda.sqrt() + 20.0) as u64;
        let bottom = (lambda - 12.0 * lambda.sqrt()).max(0.0) as u64;
        let categories: Vec<(f64, f64)> = (bottom..=top)
            .map(|k| (k as f64, reference.pmf(k)))
            .collect();
        let xs = draws(&dist(DistKind::Poisson, &[lambda]), seed);
        assert_chi2(&format!("poisson({lambda})"), &xs, &categories);
    }

    #[test]
    fn small_means_match_the_reference_pmf() {
        check(0.7, 1);
        check(6.5, 2);
    }

    #[test]
    fn large_means_match_the_reference_pmf() {
        check(10.0, 3);
        check(340.0, 4);
        check(2.5e6, 5);
    }

    #[test]
    fn huge_means_stay_centred() {
        // Mean and spread of Poisson(1e15): both within a few standard errors.
        let lambda = 1e15;
        let xs = draws(&dist(DistKind::Poisson, &[lambda]), 6);
        let n = xs.len() as f64;
        // Deviations from lambda, so the sums stay small enough to be exact.
        let devs: Vec<f64> = xs.iter().map(|x| x - lambda).collect();
        let mean = devs.iter().sum::<f64>() / n;
        let var = devs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (n - 1.0);
        assert!(xs.iter().all(|x| x.fract() == 0.0));
        assert!((mean / (lambda / n).sqrt()).abs() < 5.0, "{mean}");
        assert!((var / lambda - 1.0).abs() < 0.03, "{var}");
    }

    #[test]
    fn zero_mean_gives_zero() {
        assert!(
            draws(&dist(DistKind::Poisson, &[0.0]), 7)
                .iter()
                .all(|&x| x == 0.0)
        );
    }

    #[test]
    fn quantiles_are_exact() {
        for lambda in [0.5, 30.0, 1e5] {
            let d = dist(DistKind::Poisson, &[lambda]);
            let top = (lambda + 40.0 * lambda.sqrt() + 60.0) as usize;
            // statrs' pmf goes through ln Γ, which cancels for large k; Loader's form is
            // checked against it in `special`.
            assert_discrete_quantiles(
                &format!("poisson({lambda})"),
                &d,
                &P_GRID,
                |k| libm::exp(ln_poisson_pmf(k, lambda)),
                top,
            );
        }
        let d = dist(DistKind::Poisson, &[4.0]);
        assert_eq!((d.quantile(0.0), d.quantile(1.0)), (0.0, f64::INFINITY));
        assert_eq!(dist(DistKind::Poisson, &[0.0]).quantile(0.7), 0.0);
    }
}

//! The binomial distribution: sequential inversion when the expected count of the rarer
//! outcome is small, Hörmann's transformed rejection (BTRS) otherwise.

use super::error::{Num, ParamError, finite, probability};
use super::special::ln_binomial_pmf;
use crate::rng::Stream;

/// The largest `n` accepted: every whole number up to it is exact in a double.
pub(super) const MAX_N: f64 = 9_007_199_254_740_992.0;

/// Below this expected count of the rarer outcome, inversion takes few steps; BTRS needs
/// at least about 10 to be valid.
const INVERSION_BELOW: f64 = 10.0;

/// Binomial(n, p): successes in `n` trials of probability `p`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Binomial {
    pub(super) n: f64,
    pub(super) p: f64,
    /// Whether draws are taken for 1 - p (the rarer outcome) and reflected as n - k.
    flipped: bool,
    method: Method,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    /// Always `value` (n = 0, p = 0 or p = 1).
    Constant { value: f64 },
    /// P(X = 0) and the odds p/q for the sequential search.
    Inversion { p0: f64, odds: f64 },
    /// The constants of BTRS (Hörmann 1993, "The generation of binomial random variates").
    Btrs(Btrs),
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Btrs {
    p: f64,
    q: f64,
    a: f64,
    b: f64,
    c: f64,
    vr: f64,
    ln_alpha: f64,
    /// ln P(X = m) at the mode m, the reference for the acceptance ratio.
    ln_pmf_mode: f64,
}

impl Binomial {
    /// Validates the parameters: `n` a whole number from 0 to 2^53, `p` in [0, 1].
    pub fn new(n: f64, p: f64) -> Result<Binomial, ParamError> {
        finite(0, "n", n)?;
        if n.fract() != 0.0 || !(0.0..=MAX_N).contains(&n) {
            return Err(ParamError::new(
                Some(0),
                format!("`n` must be a whole number from 0 to 2^53, got {}", Num(n)),
            ));
        }
        probability(1, "p", p)?;
        let flipped = p > 0.5;
        let rare = if flipped { 1.0 - p } else { p };
        let method = if n == 0.0 || p == 0.0 {
            Method::Constant { value: 0.0 }
        } else if p == 1.0 {
            Method::Constant { value: n }
        } else if n * rare < INVERSION_BELOW {
            let q = 1.0 - rare;
            Method::Inversion {
                p0: libm::exp(n * libm::log1p(-rare)),
                odds: rare / q,
            }
        } else {
            Method::Btrs(Btrs::new(n, rare))
        };
        Ok(Binomial {
            n,
            p,
            flipped,
            method,
        })
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        let k = match &self.method {
            Method::Constant { value } => return *value,
            Method::Inversion { p0, odds } => self.inversion(rng, *p0, *odds),
            Method::Btrs(btrs) => btrs.sample(rng, self.n),
        };
        if self.flipped { self.n - k } else { k }
    }

    /// Walks the CDF of the rarer outcome's count from 0 until it passes a uniform draw.
    fn inversion(&self, rng: &mut Stream, p0: f64, odds: f64) -> f64 {
        loop {
            let mut u = rng.next_f64();
            let mut p = p0;
            let mut k = 0.0;
            // Once p underflows (or k passes n), whatever is left of u is rounding error
            // in the running sum; start over rather than walk on.
            while p > 0.0 && k <= self.n {
                if u < p {
                    return k;
                }
                u -= p;
                k += 1.0;
                p *= odds * (self.n - k + 1.0) / k;
            }
        }
    }
}

impl Btrs {
    /// `p` is at most 1/2 and n·p at least 10.
    fn new(n: f64, p: f64) -> Btrs {
        let q = 1.0 - p;
        let spq = f64::sqrt(n * p * q);
        let b = 1.15 + 2.53 * spq;
        let mode = ((n + 1.0) * p).floor().min(n);
        Btrs {
            p,
            q,
            a: -0.0873 + 0.0248 * b + 0.01 * p,
            b,
            c: n * p + 0.5,
            vr: 0.92 - 4.2 / b,
            ln_alpha: libm::log((2.83 + 5.1 / b) * spq),
            ln_pmf_mode: ln_binomial_pmf(mode, n, p, q),
        }
    }

    #[inline]
    fn sample(&self, rng: &mut Stream, n: f64) -> f64 {
        loop {
            let u = rng.next_f64() - 0.5;
            let v = rng.next_f64();
            let us = 0.5 - u.abs();
            let k = ((2.0 * self.a / us + self.b) * u + self.c).floor();
            if !(0.0..=n).contains(&k) {
                continue;
            }
            if us >= 0.07 && v <= self.vr {
                return k;
            }
            // Loader's exact log-probabilities keep this ratio right for n up to 2^53,
            // where lgamma differences would cancel away.
            let lhs = libm::log(v) + self.ln_alpha - libm::log(self.a / (us * us) + self.b);
            if lhs <= ln_binomial_pmf(k, n, self.p, self.q) - self.ln_pmf_mode {
                return k;
            }
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{assert_chi2, dist, draws};
    use statrs::distribution::{Binomial as Reference, Discrete};

    fn check(n: u64, p: f64, seed: u64) {
        let reference = Reference::new(p, n).unwrap();
        let categories: Vec<(f64, f64)> = (0..=n).map(|k| (k as f64, reference.pmf(k))).collect();
        let xs = draws(&dist(DistKind::Binomial, &[n as f64, p]), seed);
        assert_chi2(&format!("binomial({n}, {p})"), &xs, &categories);
    }

    #[test]
    fn small_counts_match_the_reference_pmf() {
        check(12, 0.3, 1);
        check(1000, 0.996, 2);
        check(1, 0.5, 3);
    }

    #[test]
    fn large_counts_match_the_reference_pmf() {
        check(25, 0.45, 4);
        check(5000, 0.1, 5);
        check(20_000, 0.93, 6);
    }

    #[test]
    fn huge_n_stays_centred() {
        let (n, p) = (2f64.powi(53), 0.3);
        let xs = draws(&dist(DistKind::Binomial, &[n, p]), 7);
        let count = xs.len() as f64;
        // Deviations from n·p, so the sums stay small enough to be exact.
        let devs: Vec<f64> = xs.iter().map(|x| x - n * p).collect();
        let mean = devs.iter().sum::<f64>() / count;
        let var = devs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (count - 1.0);
        let sd = (n * p * (1.0 - p)).sqrt();
        assert!(xs.iter().all(|x| x.fract() == 0.0));
        assert!((mean / (sd / count.sqrt())).abs() < 5.0, "{mean}");
        assert!((var / (sd * sd) - 1.0).abs() < 0.03, "{var}");
    }

    #[test]
    fn degenerate_cases_are_constant() {
        let check = |n: f64, p: f64, want: f64| {
            let xs = draws(&dist(DistKind::Binomial, &[n, p]), 8);
            assert!(xs.iter().all(|&x| x == want), "binomial({n}, {p})");
        };
        check(0.0, 0.4, 0.0);
        check(7.0, 0.0, 0.0);
        check(7.0, 1.0, 7.0);
    }
}

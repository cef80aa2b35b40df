//! The binomial distribution: sequential inversion when the expected count of the rarer
//! outcome is small, Hörmann's transformed rejection (BTRS) otherwise.

use super::MAX_ATTEMPTS;
use super::error::{Num, ParamError, finite, probability};
use super::invert::{Inverse, search, with_complement};
use super::special::{beta_tails, ln_binomial_pmf, normal_quantile};
use crate::fastmath;
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
        for _ in 0..MAX_ATTEMPTS {
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
        f64::NAN
    }
}

impl Binomial {
    /// The quantile function in place; NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let inv = self.inverse();
        for p in ps.iter_mut() {
            *p = with_complement(*p).map_or(f64::NAN, |(p, q)| inv.at(p, q));
        }
    }

    pub(super) fn inverse(&self) -> BinomialQuantile {
        BinomialQuantile {
            n: self.n,
            p: self.p,
            q: 1.0 - self.p,
        }
    }
}

/// Binomial(n, p)'s quantile function and CDF.
///
/// P(X <= k) = I_q(n - k, k + 1), the regularised incomplete beta function (Abramowitz &
/// Stegun 26.5.24), whose continued-fraction prefactor q^(n-k) p^(k+1) / B(n - k, k + 1) is
/// (n - k)·p·P(X = k), taken from Loader's exact log-probability. The quantile starts from
/// the Cornish–Fisher expansion k ≈ np + z√(npq) + (q - p)(z² - 1)/6 and settles the exact
/// k by [`search`], usually with one CDF value and a probability or two.
///
/// Near the mean the continued fraction takes about 1.3·√(np(1 - p)) terms: a few
/// microseconds at n = 1e6, p = 0.01, and past np(1 - p) of about 2e6 its cap of 2000
/// terms cuts it short and the quantile may be off by a few. Didonato & Morris's
/// asymptotic expansion for large shapes (BASYM, ACM TOMS 708) would remove both limits.
#[derive(Clone, Copy, Debug)]
pub(super) struct BinomialQuantile {
    n: f64,
    p: f64,
    q: f64,
}

impl BinomialQuantile {
    fn pmf(&self, k: f64) -> f64 {
        fastmath::exp(ln_binomial_pmf(k, self.n, self.p, self.q))
    }

    /// (P(X <= k), P(X > k)) for a whole k in [0, n).
    fn tails_at(&self, k: f64) -> (f64, f64) {
        let (a, b) = (self.n - k, k + 1.0);
        let front = a * self.p * self.pmf(k);
        beta_tails(a, b, self.q, self.p, front)
    }
}

impl Inverse for BinomialQuantile {
    fn cdf(&self, x: f64) -> (f64, f64) {
        let k = x.floor();
        if k.is_nan() {
            (f64::NAN, f64::NAN)
        } else if k < 0.0 {
            (0.0, 1.0)
        } else if k >= self.n || self.p == 0.0 {
            (1.0, 0.0)
        } else if self.p == 1.0 {
            (0.0, 1.0)
        } else {
            self.tails_at(k)
        }
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        let n = self.n;
        if n == 0.0 || self.p == 0.0 {
            return 0.0;
        }
        if self.p == 1.0 {
            return n;
        }
        if p == 0.0 {
            return 0.0;
        }
        let z = if p <= q {
            normal_quantile(p)
        } else {
            -normal_quantile(q)
        };
        let mean = n * self.p;
        let sd = f64::sqrt(mean * self.q);
        let guess = (mean + sd * z + (self.q - self.p) * (z * z - 1.0) / 6.0 - 0.5).ceil();
        let guess = if p <= q { guess - 1.0 } else { guess + 1.0 };
        search(
            p,
            q,
            guess,
            n,
            |k| {
                if k >= n { (1.0, 0.0) } else { self.tails_at(k) }
            },
            |k| self.pmf(k),
        )
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
        for _ in 0..MAX_ATTEMPTS {
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
        f64::NAN
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::special::ln_binomial_pmf;
    use super::super::testutil::{P_GRID, assert_chi2, assert_discrete_quantiles, dist, draws};
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
        let (n, p) = ((1u64 << 53) as f64, 0.3);
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

    #[test]
    fn quantiles_are_exact() {
        for (n, p) in [
            (10.0, 0.3),
            (1e6, 0.01),
            (1000.0, 0.996),
            (25.0, 0.45),
            (1.0, 0.5),
        ] {
            let d = dist(DistKind::Binomial, &[n, p]);
            let sd = (n * p * (1.0 - p)).sqrt();
            let top = (n * p + 40.0 * sd + 60.0).min(n) as usize;
            assert_discrete_quantiles(
                &format!("binomial({n}, {p})"),
                &d,
                &P_GRID,
                |k| libm::exp(ln_binomial_pmf(k, n, p, 1.0 - p)),
                top,
            );
        }
        let d = dist(DistKind::Binomial, &[7.0, 0.4]);
        assert_eq!((d.quantile(0.0), d.quantile(1.0)), (0.0, 7.0));
        assert_eq!(dist(DistKind::Binomial, &[7.0, 1.0]).quantile(0.2), 7.0);
        assert_eq!(dist(DistKind::Binomial, &[7.0, 0.0]).quantile(0.9), 0.0);
    }
}

//! Special functions the samplers share: the normal CDF and its inverse, and Loader's
//! saddle-point pieces for exact Poisson and binomial log-probabilities, here; the
//! regularised incomplete gamma (`gamma.rs`) and beta (`beta.rs`) functions, the CDFs the
//! shaped distributions' quantiles solve.
//!
//! Everything is `+ - * /`, `sqrt` and the pinned `libm`, so the results are the same bits
//! on every target.

mod beta;
mod gamma;

pub(crate) use beta::{BetaFront, beta_tails, ln_beta};
pub(crate) use gamma::IncGamma;

use std::f64::consts::FRAC_1_SQRT_2;

/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// ln(√(2π)).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;

/// The standard normal CDF Φ(z), through `erfc` so the lower tail keeps its relative
/// precision far out (Φ(-30) ≈ 5e-198 rather than 0).
pub(crate) fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z * FRAC_1_SQRT_2)
}

/// The standard normal survival function 1 - Φ(z), precise in the upper tail.
pub(crate) fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z * FRAC_1_SQRT_2)
}

/// The standard normal quantile Φ⁻¹(p): Wichura's algorithm AS 241 (PPND16, Applied
/// Statistics 37, 1988), about 1e-16 relative error, for p down to the smallest doubles.
/// Gives -inf at 0, +inf at 1 and NaN outside [0, 1].
// The coefficients keep all the digits Wichura published, so they can be checked against
// the paper; the compiler rounds them to the same doubles either way.
#[allow(clippy::excessive_precision)]
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        1.331_416_678_917_843_774_5e2,
        1.971_590_950_306_551_442_7e3,
        1.373_169_376_550_946_112_5e4,
        4.592_195_393_154_987_145_7e4,
        6.726_577_092_700_870_085_3e4,
        3.343_057_558_358_812_810_5e4,
        2.509_080_928_730_122_672_7e3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.231_333_070_160_091_125_2e1,
        6.871_870_074_920_579_083e2,
        5.394_196_021_424_751_107_7e3,
        2.121_379_430_158_659_586_7e4,
        3.930_789_580_009_271_061e4,
        2.872_908_573_572_194_267_4e4,
        5.226_495_278_852_854_561e3,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        2.417_807_251_774_506_117_7e-1,
        2.272_384_498_926_918_458_33e-2,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        6.897_673_349_851_000_045_5e-1,
        1.481_039_764_274_800_745_9e-1,
        1.519_866_656_361_645_719_66e-2,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        2.965_605_718_285_048_912_3e-1,
        2.653_218_952_657_612_309_3e-2,
        1.242_660_947_388_078_438_6e-3,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        5.998_322_065_558_879_376_9e-1,
        1.369_298_809_227_358_053_1e-1,
        1.487_536_129_085_061_485_25e-2,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    /// Evaluates a degree-7 polynomial by Horner's rule (no fused multiply-add, for the
    /// same bits on every target).
    fn poly(c: &[f64; 8], x: f64) -> f64 {
        c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
    }

    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    if tail == 0.0 {
        return if q < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let r = f64::sqrt(-libm::log(tail));
    let magnitude = if r <= 5.0 {
        let r = r - 1.6;
        poly(&C, r) / poly(&D, r)
    } else {
        let r = r - 5.0;
        poly(&E, r) / poly(&F, r)
    };
    if q < 0.0 { -magnitude } else { magnitude }
}

/// The error of Stirling's approximation to ln(n!):
/// `ln(n!) - ((n + 1/2) ln n - n + ln √(2π))`, for n ≥ 0 (Loader 2000).
pub(crate) fn stirling_error(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 0.0 {
        return 0.0;
    }
    if n <= 15.0 {
        // Small n: the direct difference loses at most a few units in 1e-15.
        return libm::lgamma(n + 1.0) - (n + 0.5) * libm::log(n) + n - LN_SQRT_2PI;
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// The deviance term `x ln(x / np) + np - x`, computed without the cancellation the direct
/// form suffers when x is close to np (Loader 2000).
pub(crate) fn deviance(x: f64, np: f64) -> f64 {
    if (x - np).abs() < 0.1 * (x + np) {
        let mut v = (x - np) / (x + np);
        let mut s = (x - np) * v;
        let mut ej = 2.0 * x * v;
        v *= v;
        // |v| < 0.01, so each term shrinks a hundredfold; the cap only bounds the loop.
        for j in 1..1000 {
            ej *= v;
            let next = s + ej / f64::from(2 * j + 1);
            if next == s {
                return next;
            }
            s = next;
        }
        return s;
    }
    x * libm::log(x / np) + np - x
}

/// ln P(K = k) for K ~ Poisson(λ), k a whole number ≥ 0, accurate even when λ is 1e15
/// (the naive `k ln λ - λ - ln k!` cancels to nothing there).
pub(crate) fn ln_poisson_pmf(k: f64, lambda: f64) -> f64 {
    if lambda == 0.0 {
        return if k == 0.0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if k == 0.0 {
        return -lambda;
    }
    -stirling_error(k) - deviance(k, lambda) - 0.5 * (LN_2PI + libm::log(k))
}

/// ln P(K = k) for K ~ Binomial(n, p), with q = 1 - p passed separately so a caller that
/// knows it exactly keeps it exact (Loader's `dbinom_raw`).
pub(crate) fn ln_binomial_pmf(k: f64, n: f64, p: f64, q: f64) -> f64 {
    if k == 0.0 {
        if n == 0.0 {
            return 0.0;
        }
        return if p < 0.1 {
            -deviance(n, n * q) - n * p
        } else {
            n * libm::log(q)
        };
    }
    if k == n {
        return if q < 0.1 {
            -deviance(n, n * p) - n * q
        } else {
            n * libm::log(p)
        };
    }
    let lc = stirling_error(n)
        - stirling_error(k)
        - stirling_error(n - k)
        - deviance(k, n * p)
        - deviance(n - k, n * q);
    let lf = LN_2PI + libm::log(k) + libm::log1p(-k / n);
    lc - 0.5 * lf
}

/// Terms of the power series and continued fraction are summed until they change the
/// result by less than this...
pub(super) const SERIES_EPS: f64 = 1e-16;
/// ...or until this many have been summed; outside Temme's band both converge in well
/// under a hundred terms, so the cap only bounds the loop.
pub(super) const SERIES_MAX: usize = 2000;

/// Lentz's method replaces a zero denominator by this, so that the recurrence carries on.
pub(super) const LENTZ_TINY: f64 = 1e-300;

pub(super) fn lentz_guard(x: f64) -> f64 {
    if x.abs() < LENTZ_TINY { LENTZ_TINY } else { x }
}

// statrs, the reference, is a native-only dev-dependency.

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests;

//! Special functions the samplers share: the normal CDF and its inverse, and Loader's
//! saddle-point pieces for exact Poisson and binomial log-probabilities.
//!
//! Everything is `+ - * /`, `sqrt` and the pinned `libm`, so the results are the same bits
//! on every target.

use crate::fastmath;
use std::f64::consts::{FRAC_1_SQRT_2, PI};

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

/// The regularised incomplete gamma function at shape `a` > 0, ready to evaluate at any x:
/// P(a, x) = γ(a, x)/Γ(a), the CDF of Gamma(a, 1), and its complement Q(a, x).
///
/// Which method depends on where x lies (as in DiDonato & Morris, "Computation of the
/// incomplete gamma function ratios and their inverse", ACM TOMS 12, 1986): within 40% of
/// a large shape, Temme's uniform asymptotic expansion; below that, the power series for
/// P; above, Legendre's continued fraction for Q. Each computes the tail it is good at
/// directly, which outside Temme's band is also the smaller one, so both keep their
/// relative precision where they are small.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IncGamma {
    a: f64,
    /// For a < 1, ln Γ(a + 1); otherwise Loader's Stirling error of a (see
    /// [`IncGamma::prefactor`]). Computed once, as it costs an `lgamma`.
    ln_norm: f64,
}

/// Temme's expansion is used from this shape up...
const TEMME_FROM: f64 = 20.0;
/// ...for x within this fraction of a from a. There 10 terms of the expansion, each a
/// Taylor polynomial in η (|η| < 0.48), give about 1e-15 relative error, and the series and
/// continued fraction, which need O(√a) terms near a, are not needed.
const TEMME_BAND: f64 = 0.4;
/// Terms of the power series and continued fraction are summed until they change the
/// result by less than this...
const SERIES_EPS: f64 = 1e-16;
/// ...or until this many have been summed; outside Temme's band both converge in well
/// under a hundred terms, so the cap only bounds the loop.
const SERIES_MAX: usize = 2000;

impl IncGamma {
    /// `a` must be positive and finite (callers validate it).
    pub(crate) fn new(a: f64) -> IncGamma {
        let ln_norm = if a < 1.0 {
            libm::lgamma(a + 1.0)
        } else {
            stirling_error(a)
        };
        IncGamma { a, ln_norm }
    }

    /// ln Γ(a + 1), from the constant already computed.
    pub(crate) fn ln_gamma1p(&self) -> f64 {
        let a = self.a;
        if a < 1.0 {
            self.ln_norm
        } else {
            (a + 0.5) * fastmath::ln(a) - a + LN_SQRT_2PI + self.ln_norm
        }
    }

    /// `(P(a, x), Q(a, x), x^a e^-x / Γ(a))`; the last is x times the Gamma(a, 1) density,
    /// the derivative of P with respect to ln x.
    pub(crate) fn tails(&self, x: f64) -> (f64, f64, f64) {
        let a = self.a;
        if x.is_nan() {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        if x <= 0.0 {
            return (0.0, 1.0, 0.0);
        }
        if x == f64::INFINITY {
            return (1.0, 0.0, 0.0);
        }
        if a >= TEMME_FROM && (x - a).abs() <= TEMME_BAND * a {
            return self.temme(x);
        }
        let front = self.prefactor(x);
        if x < a + 1.0 {
            // P = x^a e^-x / Γ(a + 1) · Σ x^n / ((a + 1)···(a + n)), the terms shrinking
            // by x/(a + n) < 1.
            let (mut sum, mut term) = (1.0, 1.0);
            for n in 1..SERIES_MAX {
                term *= x / (a + n as f64);
                sum += term;
                if term <= sum * SERIES_EPS {
                    break;
                }
            }
            let p = front * sum;
            (p, 1.0 - p, a * front)
        } else {
            let q = a * front * gamma_cf(a, x);
            (1.0 - q, q, a * front)
        }
    }

    /// x^a e^-x / Γ(a + 1). For a >= 1 in Loader's form, e^(-D(a, x) - δ(a)) / √(2πa) with
    /// D the deviance and δ the Stirling error, which keeps full relative precision for
    /// shapes in the millions where `a ln x - x - ln Γ(a + 1)` would cancel.
    fn prefactor(&self, x: f64) -> f64 {
        let a = self.a;
        if a < 1.0 {
            fastmath::exp(a * fastmath::ln(x) - x - self.ln_norm)
        } else {
            fastmath::exp(-deviance(a, x) - self.ln_norm) / f64::sqrt(2.0 * PI * a)
        }
    }

    /// Temme's uniform expansion (DLMF 8.12.3–8.12.4): with λ = x/a and η the signed root
    /// of η²/2 = λ - 1 - ln λ,
    ///
    /// Q(a, x) = erfc(η √(a/2))/2 + e^(-aη²/2) / √(2πa) · Σ c_k(η) a^-k,
    ///
    /// and P(a, x) = erfc(-η √(a/2))/2 - (the same sum), so the tail on the far side of a
    /// from x comes out directly. a·η²/2 is Loader's deviance D(a, x), precise near x = a.
    fn temme(&self, x: f64) -> (f64, f64, f64) {
        let a = self.a;
        let dev = deviance(a, x);
        let eta = f64::sqrt(2.0 * dev / a).copysign(x - a);
        let inv_a = 1.0 / a;
        let mut sum = 0.0;
        for coeffs in TEMME_COEFFS.iter().rev() {
            let c = coeffs.iter().rev().fold(0.0, |acc, &ci| acc * eta + ci);
            sum = sum * inv_a + c;
        }
        let near = fastmath::exp(-dev);
        let correction = near / f64::sqrt(2.0 * PI * a) * sum;
        let half_erfc = 0.5 * libm::erfc(f64::sqrt(dev));
        let density = f64::sqrt(a / (2.0 * PI)) * near * fastmath::exp(-self.ln_norm);
        if x >= a {
            let q = half_erfc + correction;
            (1.0 - q, q, density)
        } else {
            let p = half_erfc - correction;
            (p, 1.0 - p, density)
        }
    }
}

/// Legendre's continued fraction for Q(a, x) / (x^a e^-x / Γ(a)), x > a + 1, evaluated by
/// the modified Lentz method (Numerical Recipes, 3rd ed., §6.2 `gcf`).
fn gamma_cf(a: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / LENTZ_TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..SERIES_MAX {
        let i = i as f64;
        let an = -i * (i - a);
        b += 2.0;
        d = lentz_guard(an * d + b);
        c = lentz_guard(b + an / c);
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= SERIES_EPS {
            break;
        }
    }
    h
}

/// Lentz's method replaces a zero denominator by this, so that the recurrence carries on.
const LENTZ_TINY: f64 = 1e-300;

fn lentz_guard(x: f64) -> f64 {
    if x.abs() < LENTZ_TINY { LENTZ_TINY } else { x }
}

/// Taylor coefficients in η of Temme's c_k(η), k = 0..9, for [`IncGamma::temme`].
///
/// Derived (not copied) from the recurrence of DLMF 8.12.9: c_0 = 1/(λ - 1) - 1/η and
/// c_k = (1/η) c_k-1'(η) + (-1)^k g_k / (λ - 1), with g_k Stirling's coefficients for Γ
/// (DLMF 5.11.3) and λ - 1 = η + η²/3 + η³/36 - ... the reversion of η²/2 = λ - 1 - ln λ,
/// all in exact rational arithmetic to degree 60, then rounded to doubles. The
/// recurrence only stays regular at η = 0 if every g_k is right, which checks them. The
/// first row begins -1/3, 1/12, -2/135, 1/864 as in DLMF 8.12.10; each row keeps the
/// degrees that matter at |η| < 0.48 and a >= 20.
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
const TEMME_COEFFS: [&[f64]; 10] = [
    &[
        -0.3333333333333333,
        0.08333333333333333,
        -0.014814814814814815,
        0.0011574074074074073,
        0.0003527336860670194,
        -0.0001787551440329218,
        3.919263178522438e-05,
        -2.185448510679992e-06,
        -1.85406221071516e-06,
        8.296711340953087e-07,
        -1.7665952736826078e-07,
        6.707853543401498e-09,
        1.0261809784240309e-08,
        -4.382036018453353e-09,
        9.14769958223679e-10,
        -2.5514193994946248e-11,
        -5.830772132550426e-11,
        2.4361948020667415e-11,
        -5.0276692801141755e-12,
        1.1004392031956135e-13,
    ],
    &[
        -0.001851851851851852,
        -0.003472222222222222,
        0.0026455026455026454,
        -0.0009902263374485596,
        0.00020576131687242798,
        -4.018775720164609e-07,
        -1.8098550334489977e-05,
        7.64916091608111e-06,
        -1.6120900894563446e-06,
        4.647127802807434e-09,
        1.378633446915721e-07,
        -5.752545603517705e-08,
        1.1951628599778148e-08,
        -1.7543241719747647e-11,
        -1.0091543710600413e-09,
        4.162792991842583e-10,
        -8.56390702649298e-11,
        6.067215101604758e-14,
    ],
    &[
        0.004133597883597883,
        -0.0026813271604938273,
        0.0007716049382716049,
        2.0093878600823047e-06,
        -0.0001073665322636516,
        5.2923448829120125e-05,
        -1.2760635188618728e-05,
        3.423578734096138e-08,
        1.3721957309062934e-06,
        -6.298992138380055e-07,
        1.4280614206064242e-07,
        -2.0477098421990866e-10,
        -1.409252991086752e-08,
        6.228974084922022e-09,
        -1.3670488396617114e-09,
        9.428356159014678e-13,
    ],
    &[
        0.0006494341563786008,
        0.00022947209362139917,
        -0.0004691894943952557,
        0.00026772063206283885,
        -7.561801671883977e-05,
        -2.396505113867297e-07,
        1.1082654115347302e-05,
        -5.6749528269915965e-06,
        1.4230900732435883e-06,
        -2.7861080291528143e-11,
        -1.6958404091930278e-07,
        8.099464905388083e-08,
        -1.9111168485973655e-08,
        2.3928620439808118e-12,
    ],
    &[
        -0.0008618882909167117,
        0.0007840392217200666,
        -0.0002990724803031902,
        -1.4638452578843418e-06,
        6.641498215465122e-05,
        -3.968365047179435e-05,
        1.1375726970678419e-05,
        2.507497226237533e-10,
        -1.6954149536558305e-06,
        8.907507532205309e-07,
        -2.292934834000805e-07,
        2.956794137544049e-11,
    ],
    &[
        -0.00033679855336635813,
        -6.972813758365857e-05,
        0.0002772753244959392,
        -0.00019932570516188847,
        6.797780477937208e-05,
        1.419062920643967e-07,
        -1.3594048189768693e-05,
        8.018470256334202e-06,
        -2.291481176508095e-06,
        -3.252473551298454e-10,
    ],
    &[
        0.0005313079364639922,
        -0.0005921664373536939,
        0.0002708782096718045,
        7.902353232660328e-07,
        -8.153969367561969e-05,
        5.61168275310625e-05,
        -1.8329116582843375e-05,
        -3.0796134506033047e-09,
    ],
    &[
        0.00034436760689237765,
        5.171790908260592e-05,
        -0.00033493161081142234,
        0.0002812695154763237,
        -0.00010976582244684731,
        -1.2741009095484485e-07,
    ],
    &[
        -0.0006526239185953094,
        0.0008394987206720873,
        -0.000438297098541721,
        -6.969091458420552e-07,
    ],
    &[
        -0.0005967612901927463,
        -7.204895416020011e-05,
        0.0006782308837667328,
        -0.0006401475260262758,
    ],
];

/// The regularised incomplete beta function at shapes a, b > 0: I_x(a, b), the CDF of
/// Beta(a, b), and its complement, from the continued fraction of Numerical Recipes
/// (3rd ed., §6.4 `betacf`; Didonato & Morris's BFRAC is the same fraction) on whichever
/// side of the mean x lies, so that the tail it computes directly is the smaller one.
///
/// `front` is x^a y^b / B(a, b) (see [`BetaFront`]); y = 1 - x is passed separately so that a
/// caller that knows it more precisely than `1 - x` (x near 1) keeps that precision.
pub(crate) fn beta_tails(a: f64, b: f64, x: f64, y: f64, front: f64) -> (f64, f64) {
    if x.is_nan() || y.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if y <= 0.0 {
        return (1.0, 0.0);
    }
    if x < (a + 1.0) / (a + b + 2.0) {
        let i = front * beta_cf(a, b, x) / a;
        (i, 1.0 - i)
    } else {
        let j = front * beta_cf(b, a, y) / b;
        (1.0 - j, j)
    }
}

/// The continued fraction for I_x(a, b) / (x^a y^b / (a B(a, b))), fast for
/// x < (a + 1)/(a + b + 2): 1/(1 + d1/(1 + d2/(1 + ...))) with
/// d(2m+1) = -(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)) and
/// d(2m) = m(b - m)x / ((a + 2m - 1)(a + 2m)) (DLMF 8.17.22), by the modified Lentz method.
///
/// The forward recurrence for the convergents would be about a third faster (no division on
/// its dependent chain), but near the mean of large shapes the odd terms are close to -1
/// and it cancels: 1e-12 relative error at a = 1e6 where Lentz's method keeps 1e-15.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / lentz_guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..SERIES_MAX {
        let m = m as f64;
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / lentz_guard(1.0 + even * d);
        c = lentz_guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / lentz_guard(1.0 + odd * d);
        c = lentz_guard(1.0 + odd / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() <= SERIES_EPS {
            break;
        }
    }
    h
}

/// x^a y^b / B(a, b) (y = 1 - x) for fixed shapes: the factor in front of the continued
/// fraction, and x·y times the Beta(a, b) density.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BetaFront {
    /// exp(a ln x + b ln y - ln B(a, b)), precise while a + b is moderate.
    Direct { ln_beta: f64 },
    /// Loader's form for large shapes, with c = a + b:
    /// √(ab/c) / √(2π) · e^(δ(c) - δ(a) - δ(b)) · e^(-D(a, cx) - D(b, cy)),
    /// δ the Stirling error and D the deviance. The deviances vanish at the mean instead of
    /// cancelling there, so the relative precision holds for shapes in the millions.
    Loader { scale: f64 },
}

/// From this total a + b on, [`BetaFront`] uses Loader's form.
const BETA_LOADER_FROM: f64 = 100.0;

impl BetaFront {
    pub(crate) fn new(a: f64, b: f64) -> BetaFront {
        let c = a + b;
        if c < BETA_LOADER_FROM {
            BetaFront::Direct {
                ln_beta: ln_beta(a, b),
            }
        } else {
            let delta = stirling_error(c) - stirling_error(a) - stirling_error(b);
            BetaFront::Loader {
                scale: f64::sqrt(a / c * b) * fastmath::exp(delta - LN_SQRT_2PI),
            }
        }
    }

    pub(crate) fn at(&self, a: f64, b: f64, x: f64, y: f64) -> f64 {
        match *self {
            BetaFront::Direct { ln_beta } => {
                // y comes separately (not as 1 - x), so its own logarithm is precise.
                fastmath::exp(a * fastmath::ln(x) + b * fastmath::ln(y) - ln_beta)
            }
            BetaFront::Loader { scale } => {
                let c = a + b;
                scale * fastmath::exp(-deviance(a, c * x) - deviance(b, c * y))
            }
        }
    }
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) - ln Γ(a + b).
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b)
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use statrs::distribution::{Binomial, ContinuousCDF, Discrete, Normal, Poisson};
    use statrs::function::beta::beta_reg;
    use statrs::function::gamma::{gamma_lr, gamma_ur};

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        let reference = Normal::new(0.0, 1.0).unwrap();
        let mut p = 1e-300;
        while p < 0.5 {
            // 1 - p rounds to 1 for p below 1e-16; that case is checked on its own below.
            for x in [p, 1.0 - p].into_iter().filter(|&x| x < 1.0) {
                let z = normal_quantile(x);
                // Compare in whichever tail keeps the relative precision.
                let (back, want) = if z < 0.0 {
                    (normal_cdf(z), x)
                } else {
                    (normal_sf(z), 1.0 - x)
                };
                // Rounding z·(1/√2) costs erfc a relative 2z²·ε, so allow for that.
                assert!(
                    ((back - want) / want).abs() < 2e-15 * (4.0 + z * z),
                    "p = {x}: z = {z}, back = {back}"
                );
            }
            let z = normal_quantile(p);
            let r = reference.inverse_cdf(p);
            assert!(((z - r) / r).abs() < 1e-9, "p = {p}: {z} vs {r}");
            p *= 1.7;
        }
        assert_eq!(normal_quantile(0.5), 0.0);
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
        assert!(normal_quantile(f64::NAN).is_nan());
        assert!(normal_quantile(1.5).is_nan());
    }

    #[test]
    fn normal_tails_keep_relative_precision() {
        // Φ(-30) = 4.906713927148187e-198 (R: pnorm(-30)).
        let got = normal_cdf(-30.0);
        assert!((got / 4.906_713_927_148_187e-198 - 1.0).abs() < 1e-13);
        assert_eq!(normal_sf(30.0), got);
    }

    #[test]
    fn log_pmfs_match_statrs() {
        for lambda in [0.5, 3.0, 17.5, 250.0, 1e5] {
            let reference = Poisson::new(lambda).unwrap();
            for k in [
                0u64, 1, 2, 5, 16, 17, 18, 40, 230, 250, 300, 99_000, 100_000,
            ] {
                let want = reference.ln_pmf(k);
                let got = ln_poisson_pmf(k as f64, lambda);
                if want > -700.0 {
                    assert!(
                        (got - want).abs() < 1e-9 * want.abs().max(1.0),
                        "poisson({lambda}) at {k}: {got} vs {want}"
                    );
                }
            }
        }
        for (n, p) in [(10u64, 0.3), (200, 0.05), (1000, 0.5), (100_000, 0.01)] {
            let reference = Binomial::new(p, n).unwrap();
            for k in [0, 1, 3, 10, 50, 100, 500, 1000, 99_999, 100_000] {
                if k > n {
                    continue;
                }
                let want = reference.ln_pmf(k);
                let got = ln_binomial_pmf(k as f64, n as f64, p, 1.0 - p);
                if want > -700.0 {
                    assert!(
                        (got - want).abs() < 1e-9 * want.abs().max(1.0),
                        "binomial({n}, {p}) at {k}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn poisson_log_pmf_stays_accurate_for_huge_lambda() {
        // Near the mode of Poisson(1e15) the pmf is about 1/√(2πλ); the naive formula
        // would be off by whole units in the log here.
        let lambda = 1e15;
        let got = ln_poisson_pmf(lambda, lambda);
        let want = -0.5 * libm::log(2.0 * std::f64::consts::PI * lambda) - 1.0 / (12.0 * lambda);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // One standard deviation out the log-density drops by about 1/2.
        let sd = lambda.sqrt();
        let drop = ln_poisson_pmf(lambda + sd, lambda) - got;
        assert!((drop + 0.5).abs() < 1e-6, "{drop}");
    }

    /// |got - want| relative to want, or to 1e-300 when want underflows.
    fn relative(got: f64, want: f64) -> f64 {
        (got - want).abs() / want.abs().max(1e-300)
    }

    #[test]
    fn incomplete_gamma_matches_statrs() {
        // Shapes on both sides of Temme's threshold and band, x from deep in the lower tail
        // to deep in the upper; each tail checked where it is the smaller.
        for a in [0.3, 1.0, 2.5, 19.5, 20.0, 60.0, 500.0] {
            let inc = IncGamma::new(a);
            for ratio in [
                1e-3, 0.1, 0.59, 0.61, 0.9, 0.999, 1.0, 1.001, 1.1, 1.39, 1.41, 2.0, 5.0,
            ] {
                let x = a * ratio;
                let (p, q, _) = inc.tails(x);
                let (want_p, want_q) = (gamma_lr(a, x), gamma_ur(a, x));
                let err = if want_p < want_q {
                    relative(p, want_p)
                } else {
                    relative(q, want_q)
                };
                assert!(
                    err < 1e-12,
                    "a = {a}, x = {x}: ({p}, {q}) vs ({want_p}, {want_q})"
                );
                assert!((p + q - 1.0).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn incomplete_gamma_density_is_the_derivative() {
        // x^a e^-x / Γ(a) = dP/d(ln x), by a central difference.
        for (a, x) in [(0.3, 0.2), (2.5, 4.0), (500.0, 480.0), (500.0, 900.0)] {
            let inc = IncGamma::new(a);
            let h = 1e-6;
            // From whichever tail is small, where the difference does not cancel.
            let tail = |x: f64| {
                let (p, q, _) = inc.tails(x);
                if x < a { p } else { -q }
            };
            let slope = (tail(x * (1.0 + h)) - tail(x * (1.0 - h))) / (2.0 * h);
            let density = inc.tails(x).2;
            assert!(relative(density, slope) < 1e-7, "a = {a}, x = {x}");
        }
    }

    #[test]
    fn incomplete_beta_matches_statrs() {
        for (a, b) in [
            (0.3, 0.3),
            (2.0, 5.0),
            (0.5, 15.0),
            (30.0, 1.5),
            (500.0, 500.0),
        ] {
            let front = BetaFront::new(a, b);
            for x in [1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 0.999_999] {
                let y = 1.0 - x;
                let (p, q) = beta_tails(a, b, x, y, front.at(a, b, x, y));
                let (want_p, want_q) = (beta_reg(a, b, x), beta_reg(b, a, y));
                let err = if want_p < want_q {
                    relative(p, want_p)
                } else {
                    relative(q, want_q)
                };
                assert!(
                    err < 1e-12,
                    "({a}, {b}) at {x}: ({p}, {q}) vs ({want_p}, {want_q})"
                );
            }
        }
    }

    #[test]
    fn loader_and_direct_beta_fronts_agree() {
        // Around the switch from one form to the other.
        for (a, b) in [(60.0, 45.0), (99.8, 0.5), (3.0, 97.5)] {
            let direct = BetaFront::Direct {
                ln_beta: ln_beta(a, b),
            };
            let loader = BetaFront::new(a, b);
            assert!(matches!(loader, BetaFront::Loader { .. }));
            for x in [0.01, 0.3, 0.57, 0.9] {
                let (l, d) = (loader.at(a, b, x, 1.0 - x), direct.at(a, b, x, 1.0 - x));
                assert!(relative(l, d) < 1e-12, "({a}, {b}) at {x}: {l} vs {d}");
            }
        }
    }
}

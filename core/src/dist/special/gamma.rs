//! The regularised incomplete gamma function: the CDF of the gamma and the Poisson.

use std::f64::consts::PI;

use super::{
    LENTZ_TINY, LN_SQRT_2PI, SERIES_EPS, SERIES_MAX, deviance, lentz_guard, stirling_error,
};
use crate::fastmath;

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

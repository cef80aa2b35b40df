//! The truncated normal: inversion through Φ⁻¹ on the precise side, and in the far tails
//! Robert's exponential rejection and a Newton solve for quantiles.

use super::{clamp, truncated_exp1};
use crate::dist::MAX_ATTEMPTS;
use crate::dist::special::{normal_cdf, normal_quantile, normal_sf};
use crate::fastmath;
use crate::rng::Stream;

/// From this many standard deviations out, a truncated normal is drawn by rejection from
/// an exponential proposal: the normal tail mass Φ(-z) heads for underflow (it is 5e-198
/// at 30 and 0 in doubles beyond about 38), so its inverse can no longer be used.
const NORMAL_TAIL_FROM: f64 = 30.0;

/// Normal(mean, sd), sd > 0, conditioned on [lo, hi].
#[derive(Clone, Copy, Debug)]
pub(super) struct TruncNormal {
    mean: f64,
    sd: f64,
    lo: f64,
    hi: f64,
    pub(super) method: NormalMethod,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum NormalMethod {
    /// A probability p uniform in [start, start + width] mapped back through Φ⁻¹. When the
    /// whole interval is above the mean (`upper`) p is an upper-tail probability, so that
    /// a lower bound of, say, 8 sd does not vanish into 1 - Φ(8) = 1 - 6e-16.
    Inverse { upper: bool, start: f64, width: f64 },
    /// Robert's rejection from an exponential proposal ("Simulation of truncated normal
    /// variables", 1995), stepping out from `edge` in direction `sign`: z = a + e/alpha
    /// with e exponential, accepted with probability exp(-(z - alpha)²/2).
    Tail {
        edge: f64,
        sign: f64,
        alpha: f64,
        /// a - alpha, computed without cancellation.
        gap: f64,
        /// sd/alpha: the step in x for each unit of e.
        step: f64,
        /// The proposal's mass below the far bound, as in [`truncated_exp1`].
        mass: f64,
    },
}

impl TruncNormal {
    pub(super) fn new(mean: f64, sd: f64, lo: f64, hi: f64) -> TruncNormal {
        TruncNormal::with_tail_from(mean, sd, lo, hi, NORMAL_TAIL_FROM)
    }

    /// As `new`, with the switch to the tail method at `tail_from` standard deviations
    /// (tests lower it to check that method against the exact CDF).
    pub(super) fn with_tail_from(
        mean: f64,
        sd: f64,
        lo: f64,
        hi: f64,
        tail_from: f64,
    ) -> TruncNormal {
        let a = (lo - mean) / sd;
        let b = (hi - mean) / sd;
        // The interval's width in sd, from the bounds directly: a - b would cancel.
        let width = (hi - lo) / sd;
        let method = if a >= tail_from {
            NormalMethod::tail(a, width, lo, 1.0, sd)
        } else if b <= -tail_from {
            NormalMethod::tail(-b, width, hi, -1.0, sd)
        } else if a >= 0.0 {
            let start = normal_sf(b);
            NormalMethod::Inverse {
                upper: true,
                start,
                width: normal_sf(a) - start,
            }
        } else {
            let start = normal_cdf(a);
            NormalMethod::Inverse {
                upper: false,
                start,
                width: normal_cdf(b) - start,
            }
        };
        TruncNormal {
            mean,
            sd,
            lo,
            hi,
            method,
        }
    }

    #[inline]
    pub(super) fn sample(&self, rng: &mut Stream) -> f64 {
        let x = match self.method {
            NormalMethod::Inverse {
                upper,
                start,
                width,
            } => {
                // An open uniform keeps p off an infinite quantile at an infinite bound;
                // p can still round onto 1 (about once in 2^53 draws), so draw again then.
                let mut x = f64::NAN;
                for _ in 0..MAX_ATTEMPTS {
                    let p = start + rng.next_open01() * width;
                    let z = normal_quantile(p);
                    if z.is_finite() {
                        x = if upper {
                            self.mean - self.sd * z
                        } else {
                            self.mean + self.sd * z
                        };
                        break;
                    }
                }
                x
            }
            NormalMethod::Tail {
                edge,
                sign,
                alpha,
                gap,
                step,
                mass,
            } => {
                let mut x = f64::NAN;
                for _ in 0..MAX_ATTEMPTS {
                    let e = truncated_exp1(rng, mass);
                    let d = gap + e / alpha;
                    if -libm::log(rng.next_open01()) >= 0.5 * d * d {
                        x = edge + sign * step * e;
                        break;
                    }
                }
                x
            }
        };
        clamp(x, self.lo, self.hi)
    }
}

impl TruncNormal {
    /// The quantile at p (q = 1 - p), before clamping to [lo, hi].
    pub(super) fn quantile(&self, p: f64, q: f64) -> f64 {
        match self.method {
            NormalMethod::Inverse {
                upper: true,
                start,
                width,
            } => {
                // An upper-tail probability in [sf(b), sf(a)], all at most 1/2.
                self.mean - self.sd * normal_quantile(start + q * width)
            }
            NormalMethod::Inverse {
                upper: false,
                start,
                width,
            } => {
                let f = start + p * width;
                if f <= 0.5 {
                    self.mean + self.sd * normal_quantile(f)
                } else {
                    // Past the median the upper tail is the precise side: sf(b) + q·width.
                    let sf_hi = normal_sf((self.hi - self.mean) / self.sd);
                    self.mean - self.sd * normal_quantile(sf_hi + q * width)
                }
            }
            NormalMethod::Tail { edge, sign, .. } => {
                // Beyond the near edge a (in sd), P(X <= x | ...) = p is a conditional upper
                // tail of q above the mean and of p below it (mirrored).
                let a = sign * (edge - self.mean) / self.sd;
                let width = (self.hi - self.lo) / self.sd;
                let (s, rest) = if sign > 0.0 { (q, p) } else { (p, q) };
                edge + sign * self.sd * far_tail_excess(a, width, s, rest)
            }
        }
    }
}

/// For a standard normal Z conditioned on [a, a + width], a > 0: the d in [0, width] with
/// P(Z > a + d | ...) = s, where `rest` = 1 - s (the smaller is the precise one).
///
/// With Q the upper tail and R = Q/φ Mills' ratio, ρ(d) = Q(a + d)/Q(a) =
/// e^(-(ad + d²/2)) R(a + d)/R(a) needs no tail probability that underflows, and the
/// equation ln ρ(d) = ln(ρ(width) + s(1 - ρ(width))) is solved by Newton's method from
/// the exponential approximation: d ln ρ/dd = -1/R(a + d). ln ρ is concave, so the iterates
/// approach from above and never overshoot.
fn far_tail_excess(a: f64, width: f64, s: f64, rest: f64) -> f64 {
    const STEPS: usize = 30;
    let ln_ratio = |d: f64| -(a * d + 0.5 * d * d) + fastmath::ln(mills(a + d) / mills(a));
    let ln_rho_far = if width.is_finite() {
        ln_ratio(width)
    } else {
        f64::NEG_INFINITY
    };
    let mass = -libm::expm1(ln_rho_far);
    let target = if rest < 0.5 {
        libm::log1p(-rest * mass)
    } else {
        fastmath::ln(fastmath::exp(ln_rho_far) + s * mass)
    };
    let mut d = (-target / a).min(width);
    for _ in 0..STEPS {
        let step = (ln_ratio(d) - target) * mills(a + d);
        let next = clamp(d + step, 0.0, width);
        if next.is_nan() {
            break;
        }
        let done = (next - d).abs() <= 1e-15 * (a + d);
        d = next;
        if done {
            break;
        }
    }
    d
}

/// Mills' ratio R(z) = Q(z)/φ(z) for z >= 0: from `erfc` below 30, and above, where
/// e^(z²/2) would overflow, from Laplace's continued fraction 1/(z + 1/(z + 2/(z + ...))),
/// whose first 12 terms are exact to rounding there.
fn mills(z: f64) -> f64 {
    if z < 30.0 {
        normal_sf(z) / (fastmath::exp(-0.5 * z * z) / SQRT_2PI)
    } else {
        let mut t = z;
        for k in (1..=12).rev() {
            t = z + f64::from(k) / t;
        }
        1.0 / t
    }
}

/// √(2π).
const SQRT_2PI: f64 = 2.506_628_274_631_000_5;

impl NormalMethod {
    /// The tail method for a standard normal on [a, a + width], a > 0, mapped back to x
    /// by `edge + sign·sd·(z - a)`.
    fn tail(a: f64, width: f64, edge: f64, sign: f64, sd: f64) -> NormalMethod {
        // Robert's optimal rate is (a + √(a² + 4))/2; past 1e150, a² overflows and the rate
        // a itself is as good (any rate >= a is valid).
        let (alpha, gap) = if a < 1e150 {
            let root = f64::sqrt(a * a + 4.0);
            (0.5 * (a + root), -2.0 / (a + root))
        } else {
            (a, 0.0)
        };
        NormalMethod::Tail {
            edge,
            sign,
            alpha,
            gap,
            step: sd / alpha,
            mass: -libm::expm1(-alpha * width),
        }
    }
}

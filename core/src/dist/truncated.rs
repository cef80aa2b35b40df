//! Truncation: a distribution conditioned on an interval [lo, hi], by inverting its CDF
//! where that is known in closed form, and otherwise by rejection where the interval holds
//! much of the distribution and by numerical inversion where it holds little: every draw
//! costs a bounded amount of work, however narrow the interval.

use super::beta::BetaQuantile;
use super::binomial::BinomialQuantile;
use super::error::{Num, ParamError};
use super::gamma::GammaQuantile;
use super::invert::{Inverse, Window, with_complement};
use super::pert::PertQuantile;
use super::poisson::PoissonQuantile;
use super::special::{normal_cdf, normal_quantile, normal_sf};
use super::student_t::StudentTQuantile;
use super::uniform::Span;
use super::{Bernoulli, Dist, MAX_ATTEMPTS, Triangular, Uniform, Weibull};
use crate::fastmath;
use crate::rng::Stream;

/// A base without a closed-form inverse is drawn by rejection from it when [lo, hi] holds at
/// least this much of its mass (four tries a draw on average, at most), and by inverting its
/// CDF numerically when less: rejection from binomial(1e9, 0.5) into [0, 10] would never
/// succeed.
const REJECT_FROM_MASS: f64 = 0.25;

/// From this many standard deviations out, a truncated normal is drawn by rejection from
/// an exponential proposal: the normal tail mass Φ(-z) heads for underflow (it is 5e-198
/// at 30 and 0 in doubles beyond about 38), so its inverse can no longer be used.
const NORMAL_TAIL_FROM: f64 = 30.0;

/// A distribution conditioned on [lo, hi].
#[derive(Clone, Debug)]
pub struct Truncated {
    base: Dist,
    lo: f64,
    hi: f64,
    method: Method,
}

/// How a truncation draws, in the terms its cost depends on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Drawn {
    /// By a closed form (or, far in a normal's tail, a rejection that accepts almost
    /// always): a few of the base's operations a value.
    Closed,
    /// By rejection from the base, which accepts `mass` of its proposals (at least
    /// `REJECT_FROM_MASS`); by the base's quantile on the window under Latin hypercube.
    Rejected { mass: f64 },
    /// By the base's quantile on the window, one CDF search a value.
    Inverted,
}

#[derive(Clone, Debug)]
enum Method {
    Normal(TruncNormal),
    /// A truncated normal in log space, exponentiated.
    LogNormal(TruncNormal),
    Triangular(TruncTriangular),
    /// `lo + E/rate` with E ~ Exp(1) conditioned on E < -ln(1 - mass): the exponential's
    /// memorylessness means no CDF value near 1 is ever formed.
    Exponential {
        rate: f64,
        mass: f64,
    },
    /// The cumulative hazard H = (x/scale)^shape is H(lo) plus an exponential conditioned
    /// as above, which keeps far-tail truncations exact.
    Weibull {
        dist: Weibull,
        hazard_lo: f64,
        mass: f64,
    },
    /// Rejection from the base, the window kept for quantiles (Latin hypercube).
    Reject(BaseInverse, Window),
    /// The base's quantile function on the window, for a narrow interval.
    Invert(BaseInverse, Window),
}

impl Truncated {
    /// The lower bound, after intersecting with the base distribution's support.
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// The upper bound, after intersecting with the base distribution's support.
    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// The distribution being conditioned.
    pub fn base(&self) -> &Dist {
        &self.base
    }

    /// How a value is drawn, for what it costs (`dist::work`).
    pub(super) fn drawn(&self) -> Drawn {
        match &self.method {
            Method::Normal(_)
            | Method::LogNormal(_)
            | Method::Triangular(_)
            | Method::Exponential { .. }
            | Method::Weibull { .. } => Drawn::Closed,
            Method::Reject(_, window) => Drawn::Rejected {
                mass: window.mass(),
            },
            Method::Invert(..) => Drawn::Inverted,
        }
    }

    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        let x = match &self.method {
            Method::Normal(t) => t.sample(rng),
            Method::LogNormal(t) => fastmath::exp(t.sample(rng)),
            Method::Triangular(t) => t.sample(rng),
            Method::Exponential { rate, mass } => self.lo + truncated_exp1(rng, *mass) / rate,
            Method::Weibull {
                dist,
                hazard_lo,
                mass,
            } => {
                let e = truncated_exp1(rng, *mass);
                if *hazard_lo > 0.0 {
                    // x = lo·(1 + e/H(lo))^(1/shape): relative to lo, so a far-tail lo
                    // keeps every digit.
                    self.lo * libm::exp(libm::log1p(e / hazard_lo) * dist.inv_shape())
                } else {
                    dist.at_hazard(e)
                }
            }
            Method::Reject(..) => return self.reject(rng),
            Method::Invert(inv, window) => return window.at(inv, rng.next_f64()),
        };
        clamp(x, self.lo, self.hi)
    }

    /// The quantile function in place: the base's quantile at F(lo) + p·(F(hi) - F(lo)),
    /// by the same inversions as the draws where there are some, and through the base's own
    /// CDF and quantile function for the rest. NaN for p outside [0, 1].
    pub(super) fn quantile_each(&self, ps: &mut [f64]) {
        let (lo, hi) = (self.lo, self.hi);
        let each = |ps: &mut [f64], f: &dyn Fn(f64, f64) -> f64| {
            for p in ps.iter_mut() {
                *p = with_complement(*p).map_or(f64::NAN, |(p, q)| clamp(f(p, q), lo, hi));
            }
        };
        match &self.method {
            Method::Normal(t) => each(ps, &|p, q| t.quantile(p, q)),
            Method::LogNormal(t) => each(ps, &|p, q| fastmath::exp(t.quantile(p, q))),
            Method::Triangular(t) => each(ps, &|p, q| t.quantile(p, q)),
            Method::Exponential { rate, mass } => {
                each(ps, &|p, _| lo + -libm::log1p(-p * mass) / rate);
            }
            Method::Weibull {
                dist,
                hazard_lo,
                mass,
            } => each(ps, &|p, _| {
                // As in `sample`, with the uniform draw replaced by p.
                let e = -libm::log1p(-p * mass);
                if *hazard_lo > 0.0 {
                    lo * libm::exp(libm::log1p(e / hazard_lo) * dist.inv_shape())
                } else {
                    dist.at_hazard(e)
                }
            }),
            Method::Reject(inv, window) | Method::Invert(inv, window) => {
                for p in ps.iter_mut() {
                    *p = window.at(inv, *p);
                }
            }
        }
    }

    fn reject(&self, rng: &mut Stream) -> f64 {
        for _ in 0..MAX_ATTEMPTS {
            let x = self.base.sample(rng);
            if self.lo <= x && x <= self.hi {
                return x;
            }
        }
        f64::NAN
    }
}

/// `x` moved into [lo, hi] (rounding in a quantile can step just outside); NaN stays NaN.
#[inline]
fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// An Exp(1) draw conditioned on being below -ln(1 - mass), by inversion; `mass` is the
/// probability of that event, in [0, 1].
#[inline]
fn truncated_exp1(rng: &mut Stream, mass: f64) -> f64 {
    -libm::log1p(-rng.next_f64() * mass)
}

/// `base` conditioned on [lo, hi] (lo <= hi, neither NaN): the base itself when the
/// interval covers its support, a narrower base when that is closed under truncation
/// (uniform, Bernoulli, discrete), else a [`Truncated`]. `shown` are the bounds as the
/// user gave them, for the error message.
pub(super) fn restrict(
    base: Dist,
    lo: f64,
    hi: f64,
    shown: (f64, f64),
) -> Result<Dist, ParamError> {
    let zero = || {
        ParamError::new(
            None,
            format!(
                "`lo` and `hi` must bound an interval with positive probability, got {}, {}",
                Num(shown.0),
                Num(shown.1)
            ),
        )
    };
    let (min, max) = base.support();
    if lo <= min && max <= hi {
        return Ok(base);
    }
    let (lo, hi) = (lo.max(min), hi.min(max));
    if lo > hi {
        return Err(zero());
    }
    // Truncating again narrows the interval on the same base: [lo, hi] already lies
    // inside the old one, which is this distribution's support.
    let base = match base {
        Dist::Truncated(t) => return restrict(t.base, lo, hi, shown),
        other => other,
    };
    // A continuous distribution puts no mass on a single point.
    let continuous = lo < hi;
    let method = match &base {
        Dist::Normal(d) if d.sd > 0.0 && continuous => {
            Method::Normal(TruncNormal::new(d.mean, d.sd, lo, hi))
        }
        Dist::LogNormal(d) if d.sigma > 0.0 && continuous => Method::LogNormal(TruncNormal::new(
            d.mu,
            d.sigma,
            libm::log(lo),
            libm::log(hi),
        )),
        Dist::Uniform(_) if continuous => {
            return Ok(Dist::Uniform(Uniform {
                span: Span::new(lo, hi),
            }));
        }
        Dist::Triangular(d) if continuous => Method::Triangular(TruncTriangular::new(*d, lo, hi)),
        Dist::Exponential(d) if continuous => Method::Exponential {
            rate: d.rate,
            mass: -libm::expm1(-d.rate * (hi - lo)),
        },
        Dist::Weibull(d) if continuous => {
            let hazard_lo = d.hazard(lo);
            let mass = if hazard_lo.is_finite() {
                -libm::expm1(-(d.hazard(hi) - hazard_lo))
            } else {
                // lo is so far out that all the mass sits at lo itself.
                0.0
            };
            Method::Weibull {
                dist: *d,
                hazard_lo,
                mass,
            }
        }
        Dist::Pert(d) if continuous => by_mass(BaseInverse::Pert(d.inverse()), lo, hi, shown)?,
        Dist::Beta(d) if continuous => by_mass(BaseInverse::Beta(d.inverse()), lo, hi, shown)?,
        Dist::Gamma(d) if continuous => by_mass(BaseInverse::Gamma(d.inverse()), lo, hi, shown)?,
        Dist::StudentT(d) if continuous => {
            by_mass(BaseInverse::StudentT(d.inverse()), lo, hi, shown)?
        }
        // Some whole number must lie in [lo, hi] (the support bounds n and 0 already).
        Dist::Poisson(d) if lo.ceil() <= hi => {
            by_mass(BaseInverse::Poisson(d.inverse()), lo, hi, shown)?
        }
        Dist::Binomial(d) if lo.ceil() <= hi => {
            by_mass(BaseInverse::Binomial(d.inverse()), lo, hi, shown)?
        }
        Dist::Bernoulli(d) => {
            // Both outcomes possible would mean [lo, hi] covers the support, handled above.
            let p = if d.p > 0.0 && lo <= 1.0 && 1.0 <= hi {
                1.0
            } else if d.p < 1.0 && lo <= 0.0 && 0.0 <= hi {
                0.0
            } else {
                return Err(zero());
            };
            return Ok(Dist::Bernoulli(Bernoulli { p }));
        }
        Dist::Discrete(d) => {
            return d.restricted(lo, hi).map(Dist::Discrete).ok_or_else(zero);
        }
        _ => return Err(zero()),
    };
    Ok(Dist::Truncated(Box::new(Truncated {
        base,
        lo,
        hi,
        method,
    })))
}

/// Rejection or inversion for a base drawn by neither closed form, by the mass of [lo, hi]
/// under it; an error when that mass is zero in doubles (below about 1e-308), where neither
/// can draw.
fn by_mass(inv: BaseInverse, lo: f64, hi: f64, shown: (f64, f64)) -> Result<Method, ParamError> {
    let window = Window::new(&inv, lo, hi, inv.discrete());
    let mass = window.mass();
    if mass >= REJECT_FROM_MASS {
        Ok(Method::Reject(inv, window))
    } else if mass > 0.0 {
        Ok(Method::Invert(inv, window))
    } else {
        Err(ParamError::new(
            None,
            format!(
                "`lo` and `hi` bound an interval too improbable to draw from (its probability \
                 is below 1e-308), got {}, {}",
                Num(shown.0),
                Num(shown.1)
            ),
        ))
    }
}

/// The quantile functions and CDFs of the bases truncated by rejection or inversion.
#[derive(Clone, Copy, Debug)]
enum BaseInverse {
    Pert(PertQuantile),
    Beta(BetaQuantile),
    Gamma(GammaQuantile),
    StudentT(StudentTQuantile),
    Poisson(PoissonQuantile),
    Binomial(BinomialQuantile),
}

impl BaseInverse {
    fn discrete(&self) -> bool {
        matches!(self, BaseInverse::Poisson(_) | BaseInverse::Binomial(_))
    }
}

impl Inverse for BaseInverse {
    fn cdf(&self, x: f64) -> (f64, f64) {
        match self {
            BaseInverse::Pert(d) => d.cdf(x),
            BaseInverse::Beta(d) => d.cdf(x),
            BaseInverse::Gamma(d) => d.cdf(x),
            BaseInverse::StudentT(d) => d.cdf(x),
            BaseInverse::Poisson(d) => d.cdf(x),
            BaseInverse::Binomial(d) => d.cdf(x),
        }
    }

    fn at(&self, p: f64, q: f64) -> f64 {
        match self {
            BaseInverse::Pert(d) => d.at(p, q),
            BaseInverse::Beta(d) => d.at(p, q),
            BaseInverse::Gamma(d) => d.at(p, q),
            BaseInverse::StudentT(d) => d.at(p, q),
            BaseInverse::Poisson(d) => d.at(p, q),
            BaseInverse::Binomial(d) => d.at(p, q),
        }
    }
}

/// Normal(mean, sd), sd > 0, conditioned on [lo, hi].
#[derive(Clone, Copy, Debug)]
struct TruncNormal {
    mean: f64,
    sd: f64,
    lo: f64,
    hi: f64,
    method: NormalMethod,
}

#[derive(Clone, Copy, Debug)]
enum NormalMethod {
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
    fn new(mean: f64, sd: f64, lo: f64, hi: f64) -> TruncNormal {
        TruncNormal::with_tail_from(mean, sd, lo, hi, NORMAL_TAIL_FROM)
    }

    /// As `new`, with the switch to the tail method at `tail_from` standard deviations
    /// (tests lower it to check that method against the exact CDF).
    fn with_tail_from(mean: f64, sd: f64, lo: f64, hi: f64, tail_from: f64) -> TruncNormal {
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
    fn sample(&self, rng: &mut Stream) -> f64 {
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
    fn quantile(&self, p: f64, q: f64) -> f64 {
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

/// Triangular conditioned on [lo, hi] inside its support.
#[derive(Clone, Copy, Debug)]
struct TruncTriangular {
    dist: Triangular,
    /// Whether the interval lies at or above the mode, where upper-tail probabilities are
    /// the precise ones to draw.
    upper: bool,
    start: f64,
    width: f64,
}

impl TruncTriangular {
    fn new(dist: Triangular, lo: f64, hi: f64) -> TruncTriangular {
        let upper = dist.above_mode(lo);
        let (start, end) = if upper {
            (dist.sf(hi), dist.sf(lo))
        } else {
            (dist.cdf(lo), dist.cdf(hi))
        };
        TruncTriangular {
            dist,
            upper,
            start,
            width: end - start,
        }
    }

    /// The quantile at p (q = 1 - p): the same map as `sample`, with the uniform draw
    /// replaced by the probability on the precise side.
    fn quantile(&self, p: f64, q: f64) -> f64 {
        if self.upper {
            self.dist.quantile_sf(self.start + q * self.width)
        } else {
            self.dist.quantile(self.start + p * self.width)
        }
    }

    #[inline]
    fn sample(&self, rng: &mut Stream) -> f64 {
        let p = self.start + rng.next_f64() * self.width;
        if self.upper {
            self.dist.quantile_sf(p)
        } else {
            self.dist.quantile(p)
        }
    }
}

// statrs, the reference, is a native-only dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::super::DistKind;
    use super::super::testutil::{
        N, P_GRID, assert_ks, assert_ks_discrete, dist, draws, stratified,
    };
    use super::*;
    use statrs::distribution::{
        Beta as BetaRef, ContinuousCDF, DiscreteCDF, Exp, Gamma, LogNormal, Normal,
        Poisson as PoissonRef, StudentsT, Triangular as Tri, Weibull as Wei,
    };

    /// KS against `cdf` renormalised to [lo, hi].
    fn check(what: &str, d: Dist, lo: f64, hi: f64, cdf: impl Fn(f64) -> f64, seed: u64) {
        let (f_lo, f_hi) = (cdf(lo), cdf(hi));
        let t = d.truncated(lo, hi).unwrap();
        assert!(matches!(t, Dist::Truncated(_)), "{what}: not truncated");
        let xs = draws(&t, seed);
        assert!(
            xs.iter().all(|&x| lo <= x && x <= hi),
            "{what}: out of range"
        );
        assert_ks(what, xs, |x| (cdf(x) - f_lo) / (f_hi - f_lo));
    }

    #[test]
    fn normal_two_bounds() {
        let r = Normal::new(1.0, 2.0).unwrap();
        let d = dist(DistKind::Normal, &[1.0, 2.0]);
        check("normal on [-2, 1.5]", d.clone(), -2.0, 1.5, |x| r.cdf(x), 1);
        check("normal on [4, 9]", d.clone(), 4.0, 9.0, |x| r.cdf(x), 2);
        check("normal on [-9, -4]", d, -9.0, -4.0, |x| r.cdf(x), 3);
    }

    #[test]
    fn normal_one_bound() {
        let r = Normal::new(0.0, 1.0).unwrap();
        let d = dist(DistKind::Normal, &[0.0, 1.0]);
        check(
            "normal above -0.5",
            d.clone(),
            -0.5,
            f64::INFINITY,
            |x| r.cdf(x),
            4,
        );
        // In the upper tail, compare survival functions: 1 - Φ(x) would round away.
        let sf = |x: f64| -r.sf(x);
        check("normal above 6", d.clone(), 6.0, f64::INFINITY, sf, 5);
        check(
            "normal below -1",
            d,
            f64::NEG_INFINITY,
            -1.0,
            |x| r.cdf(x),
            6,
        );
    }

    #[test]
    fn normal_tail_method_matches_the_exact_cdf() {
        // Force Robert's method at moderate distances, where statrs' CDF is still exact.
        let r = Normal::new(0.0, 1.0).unwrap();
        let cases = [(1.5, f64::INFINITY), (0.5, 0.9), (-3.0, -2.0)];
        for (seed, (lo, hi)) in cases.into_iter().enumerate() {
            let t = TruncNormal::with_tail_from(0.0, 1.0, lo, hi, 0.0);
            assert!(matches!(t.method, NormalMethod::Tail { .. }));
            let mut rng = Stream::new(seed as u64, 9, 0);
            let xs: Vec<f64> = (0..N).map(|_| t.sample(&mut rng)).collect();
            let (f_lo, f_hi) = (r.cdf(lo), r.cdf(hi));
            assert_ks(&format!("tail method on [{lo}, {hi}]"), xs, |x| {
                (r.cdf(x) - f_lo) / (f_hi - f_lo)
            });
        }
    }

    #[test]
    fn normal_far_tails_work() {
        // E[X | X > a] = a + 1/a - 2/a³ + ... for a standard normal.
        let d = dist(DistKind::Normal, &[0.0, 1.0]);
        for a in [40.0, 1e3] {
            let xs = draws(&d.clone().truncated(a, f64::INFINITY).unwrap(), 8);
            let mean_excess = xs.iter().map(|x| x - a).sum::<f64>() / N as f64;
            let want = 1.0 / a - 2.0 / (a * a * a);
            assert!(xs.iter().all(|&x| x >= a && x.is_finite()));
            assert!(
                (mean_excess / want - 1.0).abs() < 0.02,
                "a = {a}: {mean_excess}"
            );
        }
        // So far out that every draw rounds to the bound.
        let xs = draws(&d.clone().truncated(1e200, f64::INFINITY).unwrap(), 8);
        assert!(xs.iter().all(|&x| x == 1e200));
        // Below -50 and in a narrow band far out, by symmetry and by the proposal's cut.
        let xs = draws(&d.clone().truncated(f64::NEG_INFINITY, -50.0).unwrap(), 9);
        assert!(xs.iter().all(|&x| (-51.0..=-50.0).contains(&x)));
        let xs = draws(&d.truncated(60.0, 60.001).unwrap(), 10);
        assert!(xs.iter().all(|&x| (60.0..=60.001).contains(&x)));
    }

    #[test]
    fn lognormal() {
        let r = LogNormal::new(0.5, 0.8).unwrap();
        let d = dist(DistKind::LogNormal, &[0.5, 0.8]);
        check("lognormal on [1, 3]", d.clone(), 1.0, 3.0, |x| r.cdf(x), 11);
        check(
            "lognormal below 2",
            d,
            f64::NEG_INFINITY,
            2.0,
            |x| r.cdf(x.max(0.0)),
            12,
        );
    }

    #[test]
    fn triangular() {
        let r = Tri::new(0.0, 10.0, 2.0).unwrap();
        let d = dist(DistKind::Triangular, &[0.0, 2.0, 10.0]);
        check(
            "triangular on [1, 3]",
            d.clone(),
            1.0,
            3.0,
            |x| r.cdf(x),
            13,
        );
        check(
            "triangular on [5, 20]",
            d,
            5.0,
            20.0,
            |x| -r.sf(x.min(10.0)),
            14,
        );
    }

    #[test]
    fn exponential_and_weibull() {
        let r = Exp::new(0.5).unwrap();
        let d = dist(DistKind::Exponential, &[0.5]);
        check(
            "exponential on [1, 4]",
            d.clone(),
            1.0,
            4.0,
            |x| r.cdf(x),
            15,
        );
        check(
            "exponential above 30",
            d,
            30.0,
            f64::INFINITY,
            |x| -r.sf(x),
            16,
        );
        let r = Wei::new(2.0, 3.0).unwrap();
        let d = dist(DistKind::Weibull, &[2.0, 3.0]);
        check(
            "weibull on [-1, 2]",
            d.clone(),
            -1.0,
            2.0,
            |x| r.cdf(x.max(0.0)),
            17,
        );
        check("weibull above 12", d, 12.0, f64::INFINITY, |x| -r.sf(x), 18);
    }

    #[test]
    fn rejection() {
        let r = Gamma::new(2.0, 1.0).unwrap();
        let d = dist(DistKind::Gamma, &[2.0, 1.0]);
        check("gamma on [1, 4]", d, 1.0, 4.0, |x| r.cdf(x), 19);
        let r = StudentsT::new(0.0, 1.0, 3.0).unwrap();
        let d = dist(DistKind::StudentT, &[3.0]);
        check("student_t on [-1, 2]", d, -1.0, 2.0, |x| r.cdf(x), 20);
    }

    #[test]
    fn narrow_intervals_are_drawn_by_inversion() {
        // Mass of about 1e-23, which rejection would never hit; the exponential's tail
        // e^-x (negated, so that it increases) is precise out there.
        let d = dist(DistKind::Gamma, &[1.0, 1.0]);
        check("gamma on [52, 53]", d, 52.0, 53.0, |x| -(-x).exp(), 22);
        let r = Gamma::new(2.0, 1.0).unwrap();
        let d = dist(DistKind::Gamma, &[2.0, 1.0]);
        check("gamma on [0.01, 0.02]", d, 0.01, 0.02, |x| r.cdf(x), 23);
        // P(X <= 30) is 4e-5 for binomial(100, 0.5): each step down is about 2.4 times
        // less likely, so the mean conditioned on [0, 30] is 30 - 1/(2.4 - 1) or so.
        let t = dist(DistKind::Binomial, &[100.0, 0.5])
            .truncated(0.0, 30.0)
            .unwrap();
        let xs = draws(&t, 24);
        assert!(
            xs.iter()
                .all(|&x| x.fract() == 0.0 && (0.0..=30.0).contains(&x))
        );
        let pmf =
            |k: f64| (0..k as usize).fold(1.0, |c, i| c * (100.0 - i as f64) / (i as f64 + 1.0));
        let total: f64 = (0..=30).map(|k| pmf(k as f64)).sum();
        let mean: f64 = (0..=30).map(|k| k as f64 * pmf(k as f64)).sum::<f64>() / total;
        let var: f64 = (0..=30)
            .map(|k| (k as f64 - mean).powi(2) * pmf(k as f64))
            .sum::<f64>()
            / total;
        let got = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!(
            (got - mean).abs() < 4.0 * (var / xs.len() as f64).sqrt(),
            "mean {got}, want {mean}"
        );
    }

    #[test]
    fn an_interval_too_improbable_to_draw_from_is_refused() {
        // binomial(1e9, 0.5) on [0, 10]: about 2^-1e9, zero in doubles.
        let e = dist(DistKind::Binomial, &[1e9, 0.5])
            .truncated(0.0, 10.0)
            .unwrap_err();
        assert!(e.message.contains("too improbable"), "{}", e.message);
    }

    #[test]
    fn closed_families_stay_closed() {
        let u = dist(DistKind::Uniform, &[0.0, 10.0])
            .truncated(2.0, 20.0)
            .unwrap();
        assert!(matches!(&u, Dist::Uniform(u) if u.span.lo == 2.0 && u.span.hi == 10.0));
        let b = dist(DistKind::Bernoulli, &[0.3])
            .truncated(0.5, 7.0)
            .unwrap();
        assert!(matches!(b, Dist::Bernoulli(Bernoulli { p: 1.0 })));
        let d = dist(DistKind::Discrete, &[1.0, 1.0, 2.0, 1.0, 3.0, 1.0]);
        let xs = draws(&d.truncated(1.5, 3.0).unwrap(), 21);
        assert!(xs.iter().all(|&x| x == 2.0 || x == 3.0));
        assert!(xs.contains(&2.0) && xs.contains(&3.0));
        // A bound that removes nothing leaves the distribution as it was.
        let g = dist(DistKind::Gamma, &[2.0, 1.0]).truncated(0.0, f64::INFINITY);
        assert!(matches!(g, Ok(Dist::Gamma(_))));
    }

    #[test]
    fn nested_truncation_intersects() {
        let d = dist(DistKind::Poisson, &[4.0])
            .truncated(2.0, 9.0)
            .unwrap()
            .truncated(5.0, 50.0)
            .unwrap();
        let Dist::Truncated(t) = &d else {
            panic!("not truncated: {d:?}")
        };
        assert_eq!((t.lo(), t.hi()), (5.0, 9.0));
        assert!(matches!(t.base(), Dist::Poisson(_)));
        let xs = draws(&d, 22);
        assert!(
            xs.iter()
                .all(|&x| (5.0..=9.0).contains(&x) && x.fract() == 0.0)
        );
    }

    /// Quantiles of `d` on [lo, hi] against `cdf` renormalised there: all inside, a
    /// stratified sample passing KS, and at each p of the grid the renormalised CDF of the
    /// quantile within `tol` of p relative to the smaller tail.
    fn check_quantiles(what: &str, d: Dist, lo: f64, hi: f64, cdf: impl Fn(f64) -> f64, tol: f64) {
        let (f_lo, f_hi) = (cdf(lo), cdf(hi));
        let conditioned = |x: f64| (cdf(x) - f_lo) / (f_hi - f_lo);
        let t = d.truncated(lo, hi).unwrap();
        let xs = stratified(&t);
        assert!(
            xs.iter().all(|&x| lo <= x && x <= hi),
            "{what}: out of range"
        );
        assert_ks(what, xs, conditioned);
        for p in P_GRID {
            let got = conditioned(t.quantile(p));
            // Absolute 1e-12 besides: near lo, cdf(x) - cdf(lo) cancels in the reference.
            let allowed = tol * p.min(1.0 - p) + 1e-12;
            assert!((got - p).abs() <= allowed, "{what} at {p}: {got}");
        }
    }

    #[test]
    fn quantiles_by_inversion() {
        // The normal CDF from libm's erfc (checked in `special`): statrs' erf is off by up
        // to about 3e-12 (Φ(1.5)), more than these checks allow.
        let (cdf, sf) = (
            |x: f64| normal_cdf((x - 1.0) / 2.0),
            |x: f64| normal_sf((x - 1.0) / 2.0),
        );
        let d = dist(DistKind::Normal, &[1.0, 2.0]);
        check_quantiles("normal on [-2, 1.5]", d.clone(), -2.0, 1.5, cdf, 1e-10);
        check_quantiles("normal on [4, 9]", d.clone(), 4.0, 9.0, |x| -sf(x), 1e-10);
        check_quantiles("normal above -1", d, -1.0, f64::INFINITY, |x| -sf(x), 1e-10);
        let cdf = |x: f64| normal_cdf((libm::log(x) - 0.5) / 0.8);
        let d = dist(DistKind::LogNormal, &[0.5, 0.8]);
        check_quantiles("lognormal on [1, 3]", d, 1.0, 3.0, cdf, 1e-10);
        let r = Tri::new(0.0, 10.0, 2.0).unwrap();
        let d = dist(DistKind::Triangular, &[0.0, 2.0, 10.0]);
        check_quantiles(
            "triangular on [1, 3]",
            d.clone(),
            1.0,
            3.0,
            |x| r.cdf(x),
            1e-10,
        );
        let sf = |x: f64| -r.sf(x.min(10.0));
        check_quantiles("triangular on [5, 20]", d, 5.0, 20.0, sf, 1e-10);
        let r = Exp::new(0.5).unwrap();
        let d = dist(DistKind::Exponential, &[0.5]);
        check_quantiles(
            "exponential on [1, 4]",
            d.clone(),
            1.0,
            4.0,
            |x| r.cdf(x),
            1e-10,
        );
        check_quantiles(
            "exponential above 30",
            d,
            30.0,
            f64::INFINITY,
            |x| -r.sf(x),
            1e-10,
        );
        let r = Wei::new(2.0, 3.0).unwrap();
        let d = dist(DistKind::Weibull, &[2.0, 3.0]);
        check_quantiles(
            "weibull above 12",
            d,
            12.0,
            f64::INFINITY,
            |x| -r.sf(x),
            1e-10,
        );
    }

    #[test]
    fn quantiles_through_the_base_cdf() {
        let r = Gamma::new(2.0, 1.0).unwrap();
        let d = dist(DistKind::Gamma, &[2.0, 1.0]);
        check_quantiles("gamma on [1, 4]", d.clone(), 1.0, 4.0, |x| r.cdf(x), 1e-10);
        check_quantiles(
            "gamma above 20",
            d,
            20.0,
            f64::INFINITY,
            |x| -r.sf(x),
            1e-10,
        );
        let r = StudentsT::new(0.0, 1.0, 3.0).unwrap();
        let d = dist(DistKind::StudentT, &[3.0]);
        check_quantiles("student_t on [-1, 2]", d, -1.0, 2.0, |x| r.cdf(x), 1e-10);
        let r = BetaRef::new(2.0, 3.0).unwrap();
        let d = dist(DistKind::Beta, &[2.0, 3.0]);
        check_quantiles("beta on [0.9, 1]", d, 0.9, 1.0, |x| -r.sf(x), 1e-10);
        let r = BetaRef::new(1.8, 4.2).unwrap();
        let d = dist(DistKind::Pert, &[0.0, 2.0, 10.0]);
        let cdf = |x: f64| r.cdf((x / 10.0).clamp(0.0, 1.0));
        check_quantiles("pert on [1, 3]", d, 1.0, 3.0, cdf, 1e-10);
    }

    #[test]
    fn discrete_quantiles_stay_on_whole_numbers_inside() {
        let r = PoissonRef::new(4.0).unwrap();
        let d = dist(DistKind::Poisson, &[4.0]).truncated(1.5, 9.0).unwrap();
        let xs = stratified(&d);
        assert!(
            xs.iter()
                .all(|&x| (2.0..=9.0).contains(&x) && x.fract() == 0.0)
        );
        let (f_lo, f_hi) = (r.cdf(1), r.cdf(9));
        assert_ks_discrete("poisson on [1.5, 9]", xs, |x| {
            (r.cdf(x as u64) - f_lo) / (f_hi - f_lo)
        });
        let d = dist(DistKind::Binomial, &[50.0, 0.3])
            .truncated(20.0, 50.0)
            .unwrap();
        assert_eq!((d.quantile(0.0), d.quantile(1.0)), (20.0, 50.0));
    }

    #[test]
    fn far_tail_quantiles() {
        // Beyond 30 sd, d = x - a solves a·d + d²/2 + d/a + O(d/a³) = -ln(1 - p), from
        // ln(Q(a + d)/Q(a)) with Mills' ratio 1/z - 1/z³ + ...
        let a = 40.0;
        let t = dist(DistKind::Normal, &[0.0, 1.0])
            .truncated(a, f64::INFINITY)
            .unwrap();
        // (Not much below p = 1e-3: x - a would lose its digits to x's rounding.)
        for p in [1e-3, 0.3, 0.9, 0.999_999] {
            let d = t.quantile(p) - a;
            let want = -libm::log1p(-p);
            let got = a * d + 0.5 * d * d + d / a;
            assert!((got / want - 1.0).abs() < 1e-5, "p = {p}: {got} vs {want}");
        }
        // Mirrored below the mean, and so far out that every quantile rounds to the bound.
        let t = dist(DistKind::Normal, &[0.0, 1.0])
            .truncated(f64::NEG_INFINITY, -a)
            .unwrap();
        assert!(t.quantile(0.999) > -a - 1e-3 && t.quantile(0.001) < -a - 0.1);
        let t = dist(DistKind::Normal, &[0.0, 1.0])
            .truncated(1e200, f64::INFINITY)
            .unwrap();
        assert_eq!(t.quantile(0.5), 1e200);
        // The tail method against the exact CDF where that is still representable.
        for (lo, hi) in [(1.5, f64::INFINITY), (0.5, 0.9), (-3.0, -2.0)] {
            let t = TruncNormal::with_tail_from(0.0, 1.0, lo, hi, 0.0);
            assert!(matches!(t.method, NormalMethod::Tail { .. }));
            // From the tail the interval lies in, where the values do not cancel.
            let tail = |x: f64| {
                if lo > 0.0 {
                    -normal_sf(x)
                } else {
                    normal_cdf(x)
                }
            };
            let (f_lo, f_hi) = (tail(lo), tail(hi));
            for p in P_GRID {
                let x = clamp(t.quantile(p, 1.0 - p), lo, hi);
                let got = (tail(x) - f_lo) / (f_hi - f_lo);
                assert!(
                    (got - p).abs() < 1e-12,
                    "tail method on [{lo}, {hi}] at {p}: {got}"
                );
            }
        }
    }
}

//! Truncation: a distribution conditioned on an interval [lo, hi], by inverting its CDF
//! where that is known in closed form, and otherwise by rejection where the interval holds
//! much of the distribution and by numerical inversion where it holds little: every draw
//! costs a bounded amount of work, however narrow the interval.

mod normal;
mod triangular;

use normal::TruncNormal;
use triangular::TruncTriangular;

use super::beta::BetaQuantile;
use super::binomial::BinomialQuantile;
use super::error::{Num, ParamError};
use super::gamma::GammaQuantile;
use super::invert::{Inverse, Window, with_complement};
use super::pert::PertQuantile;
use super::poisson::PoissonQuantile;
use super::student_t::StudentTQuantile;
use super::uniform::Span;
use super::{Bernoulli, Dist, MAX_ATTEMPTS, Uniform, Weibull};
use crate::fastmath;
use crate::rng::Stream;

/// A base without a closed-form inverse is drawn by rejection from it when [lo, hi] holds at
/// least this much of its mass (four tries a draw on average, at most), and by inverting its
/// CDF numerically when less: rejection from binomial(1e9, 0.5) into [0, 10] would never
/// succeed.
const REJECT_FROM_MASS: f64 = 0.25;

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

#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests;

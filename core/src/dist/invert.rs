//! Shared machinery for quantile functions: numerical inversion of a CDF by safeguarded
//! Halley steps, and quantiles of a distribution conditioned on an interval.
//!
//! Every step is `+ - * /`, `sqrt`, `fastmath` and `libm`, and every loop stops on a fixed
//! rule (a step below a fixed tolerance, or [`MAX_STEPS`] steps), so an input gives the same bits
//! on every target.

use crate::fastmath;

/// Iteration stops after a Halley step of at most this, which converges cubically: the
/// error left after it is of the order of its cube, far below the 1e-15 or so to which the
/// CDFs themselves are known. This saves the evaluation that would only confirm it.
const HALLEY_TOL: f64 = 1e-6;
/// The same after a Newton step, which converges quadratically.
const NEWTON_TOL: f64 = 1e-9;

/// A cap that only matters when the CDF is too flat for its rounding noise to fall below
/// the tolerances (shapes below about 1e-6): the result is then as good as the CDF allows.
const MAX_STEPS: usize = 60;

/// The CDF F of a continuous distribution and its density, at a point given by the solver's
/// variable u (often the log of x): both tails, each computed so that it is precise where it
/// is small; `density` = dF/du; `slope` = d ln(density)/du.
#[derive(Clone, Copy, Debug)]
pub(super) struct Point {
    pub lower: f64,
    pub upper: f64,
    pub density: f64,
    pub slope: f64,
}

/// The u in the bracket (lo, hi) (both finite) with F(u) = p, or equivalently 1 - F(u) = q,
/// where p + q = 1 and the smaller of them is the precise one; `u0` is a starting guess.
///
/// The equation solved is ln F(u) = ln p when p <= q, else ln(1 - F(u)) = ln q. In the
/// tails, with u the log of x, these are close to straight lines (F ≈ c·x^a, or
/// 1 - F ≈ c·e^-x), so from a rough guess few steps are needed; and the logarithms keep
/// the relative precision of tail probabilities such as 1e-300. Halley's step
/// -(r/r') / (1 - r·r''/(2r'²)) is used where its correction factor lies in (0.5, 2), else
/// Newton's; a step that leaves the bracket (which shrinks on every evaluation, from the
/// sign of the residual) is replaced by bisection.
pub(super) fn solve(
    p: f64,
    q: f64,
    u0: f64,
    (mut lo, mut hi): (f64, f64),
    mut eval: impl FnMut(f64) -> Point,
) -> f64 {
    let use_lower = p <= q;
    let target = fastmath::ln(if use_lower { p } else { q });
    let mut u = if lo < u0 && u0 < hi {
        u0
    } else {
        0.5 * (lo + hi)
    };
    for _ in 0..MAX_STEPS {
        let at = eval(u);
        // The residual r, increasing in u, with r' = g and r''/r'² = k.
        let (r, g, k) = if use_lower {
            let g = at.density / at.lower;
            (fastmath::ln(at.lower) - target, g, (at.slope - g) / g)
        } else {
            let h = at.density / at.upper;
            (target - fastmath::ln(at.upper), h, (at.slope + h) / h)
        };
        if r < 0.0 {
            lo = u;
        } else if r > 0.0 {
            hi = u;
        } else if r == 0.0 {
            return u;
        }
        let newton = -r / g;
        let factor = 1.0 - 0.5 * r * k;
        let (step, tol) = if factor > 0.5 && factor < 2.0 {
            (newton / factor, HALLEY_TOL)
        } else {
            (newton, NEWTON_TOL)
        };
        let next = u + step;
        // A closed bracket: near the root a step can round onto the end just evaluated,
        // and the next step from there is then below the tolerance.
        if lo <= next && next <= hi {
            let done = step.abs() <= tol;
            u = next;
            if done {
                break;
            }
        } else {
            u = 0.5 * (lo + hi);
        }
    }
    u
}

/// The quantile function and CDF of a distribution, ready to use: what conditioning on an
/// interval needs from it.
pub(super) trait Inverse {
    /// (P(X <= x), P(X > x)), each precise where it is small.
    fn cdf(&self, x: f64) -> (f64, f64);

    /// The smallest x with P(X <= x) >= p, given p and q = 1 - p (p + q = 1 exactly; the
    /// smaller is the precise one), both in [0, 1].
    fn at(&self, p: f64, q: f64) -> f64;
}

/// A distribution conditioned on [lo, hi], by its CDF's two tails at the ends: a probability
/// p in [0, 1] maps to F(lo) + p·(F(hi) - F(lo)), worked in the upper tail (1 - F) once that
/// is past 1/2, so an interval far out in either tail keeps its precision. With `discrete`,
/// the mass below lo is that of the whole numbers below it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    lo: f64,
    hi: f64,
    f_lo: f64,
    s_lo: f64,
    f_hi: f64,
    s_hi: f64,
}

impl Window {
    pub(super) fn new(inv: &impl Inverse, lo: f64, hi: f64, discrete: bool) -> Window {
        let (below, top) = if discrete {
            (lo.ceil() - 1.0, hi.floor())
        } else {
            (lo, hi)
        };
        let (f_lo, s_lo) = inv.cdf(below);
        let (f_hi, s_hi) = inv.cdf(top);
        let (lo, hi) = if discrete {
            (below + 1.0, top)
        } else {
            (lo, hi)
        };
        Window {
            lo,
            hi,
            f_lo,
            s_lo,
            f_hi,
            s_hi,
        }
    }

    /// P(lo <= X <= hi), from the tail in which it is precise.
    pub(super) fn mass(&self) -> f64 {
        if self.f_lo <= 0.5 {
            self.f_hi - self.f_lo
        } else {
            self.s_lo - self.s_hi
        }
    }

    /// The conditioned quantile at p; NaN for p outside [0, 1].
    #[inline]
    pub(super) fn at(&self, inv: &impl Inverse, p: f64) -> f64 {
        if !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        let f = self.f_lo + p * (self.f_hi - self.f_lo);
        let x = if f <= 0.5 {
            inv.at(f, 1.0 - f)
        } else {
            let s = self.s_hi + (1.0 - p) * (self.s_lo - self.s_hi);
            inv.at(1.0 - s, s)
        };
        // Rounding can step just outside; NaN stays NaN.
        if x < self.lo {
            self.lo
        } else if x > self.hi {
            self.hi
        } else {
            x
        }
    }
}

/// Whether `p` is a probability, the domain of every quantile function.
#[inline]
pub(super) fn is_probability(p: f64) -> bool {
    (0.0..=1.0).contains(&p)
}

/// (p, 1 - p) for a probability p, or None (NaN, or outside [0, 1]).
#[inline]
pub(super) fn with_complement(p: f64) -> Option<(f64, f64)> {
    is_probability(p).then_some((p, 1.0 - p))
}

/// ln of the smallest positive double (a subnormal), and of the largest: the widest
/// bracket for a solver working in ln x.
pub(super) const LN_MIN: f64 = -744.5;
pub(super) const LN_MAX: f64 = 709.78;

/// The smallest whole k in [0, top] with F(k) >= p (in the upper tail, with
/// 1 - F(k) <= q), starting from a guess `k0`, for a discrete distribution on the whole
/// numbers with `cdf(k)` = (F(k), 1 - F(k)) and probabilities `pmf(k)`.
///
/// From the guess it walks a few steps in whichever direction adds a probability to a tail
/// (never subtracts, which would cancel): up for F when p <= q, down for 1 - F otherwise;
/// callers bias the guess that way. When those steps do not settle it, it gallops to a
/// bracket and bisects on k with fresh CDF values, so a poor guess costs a logarithmic
/// number of evaluations and every loop has a fixed bound.
pub(super) fn search(
    p: f64,
    q: f64,
    k0: f64,
    top: f64,
    cdf: impl Fn(f64) -> (f64, f64),
    pmf: impl Fn(f64) -> f64,
) -> f64 {
    /// Cheap steps from the guess before galloping.
    const WALK: usize = 4;
    /// Doublings of the gallop: enough to cross the whole range of doubles.
    const GALLOP: usize = 1100;
    let lower = p <= q;
    let reached = |(f, s): (f64, f64)| if lower { f >= p } else { s <= q };
    // max and min rather than clamp: a NaN guess becomes 0 instead of a panic.
    let mut k = k0.max(0.0).min(top);
    let (mut f, mut s) = cdf(k);
    // The walk: F grows by pmf(k + 1) going up, 1 - F by pmf(k) going down.
    for _ in 0..WALK {
        let here = reached((f, s));
        if lower && !here && k < top {
            k += 1.0;
            let m = pmf(k);
            (f, s) = (f + m, s - m);
            if reached((f, s)) {
                return k;
            }
        } else if !lower && here && k > 0.0 {
            let m = pmf(k);
            let below = (f - m, s + m);
            if !reached(below) {
                return k;
            }
            k -= 1.0;
            (f, s) = below;
        } else {
            break;
        }
    }
    // Bracket: `miss` < answer <= `hit`, with -1 standing for "below the support".
    let (mut miss, mut hit) = if reached((f, s)) {
        let mut hit = k;
        let mut step = 1.0;
        let mut miss = -1.0;
        for _ in 0..GALLOP {
            let probe = hit - step;
            if probe < 0.0 {
                break;
            }
            if reached(cdf(probe)) {
                hit = probe;
                step *= 2.0;
            } else {
                miss = probe;
                break;
            }
        }
        (miss, hit)
    } else {
        let mut miss = k;
        let mut step = 1.0;
        let mut hit = top;
        for _ in 0..GALLOP {
            let probe = miss + step;
            if probe >= top {
                break;
            }
            if reached(cdf(probe)) {
                hit = probe;
                break;
            }
            miss = probe;
            step *= 2.0;
        }
        (miss, hit)
    };
    for _ in 0..GALLOP {
        if hit - miss <= 1.0 {
            break;
        }
        let mid = (0.5 * (miss + hit)).floor();
        if reached(cdf(mid)) {
            hit = mid;
        } else {
            miss = mid;
        }
    }
    hit
}

//! Probability distributions for the engine to draw from: validated parameters, batched
//! draws from a [`Stream`], truncation to an interval and the `a to b` 90% interval.
//!
//! Every draw is built from `+ - * /`, `sqrt` and the pinned `libm`, and takes its random
//! numbers only from the stream it is handed, so a seed gives the same bits on x86-64 and
//! wasm32. Parameters are checked once, in [`Dist::new`]; sampling never fails, and a
//! distribution that cannot produce a value (a truncation whose rejection gives up) draws
//! NaN.
//!
//! ```
//! use scenarioforge_core::dist::{Dist, DistKind};
//! use scenarioforge_core::rng::Stream;
//!
//! let cost = Dist::new(DistKind::Triangular, &[10.0, 12.0, 20.0]).unwrap();
//! let mut rng = Stream::new(42, 0, 0);
//! let mut column = vec![0.0; 4096];
//! cost.fill(&mut rng, &mut column);
//! assert!(column.iter().all(|c| (10.0..=20.0).contains(c)));
//!
//! // `2 to 9`, never above 10 days.
//! let delay = Dist::ninety_percent(2.0, 9.0).unwrap().truncated(0.0, 10.0).unwrap();
//! assert!((0.0..=10.0).contains(&delay.sample(&mut rng)));
//!
//! let err = Dist::new(DistKind::Normal, &[0.0, -1.0]).unwrap_err();
//! assert_eq!(err.to_string(), "`sd` must be at least 0, got -1");
//! assert_eq!(err.arg, Some(1));
//! ```

mod bernoulli;
mod beta;
mod binomial;
mod discrete;
mod error;
mod exponential;
mod gamma;
mod invert;
mod lognormal;
mod normal;
mod pert;
mod poisson;
mod special;
mod student_t;
mod table;
/// Fills `out` with uniform draws from [0, 1), as `next_f64` would one at a time. Drawing
/// first and transforming after keeps each loop simple: the transform then vectorises.
fn uniforms(rng: &mut Stream, out: &mut [f64]) {
    rng.fill_unit(out);
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod reference;
#[cfg(test)]
mod testutil;
mod triangular;
mod truncated;
mod uniform;
mod weibull;
mod work;
mod ziggurat;

pub use bernoulli::Bernoulli;
pub use beta::Beta;
pub use binomial::Binomial;
pub use discrete::Discrete;
pub use error::ParamError;
pub use exponential::Exponential;
pub use gamma::Gamma;
pub use lognormal::LogNormal;
pub use normal::Normal;
pub use pert::Pert;
pub use poisson::Poisson;
pub(crate) use special::normal_quantile;
pub use student_t::StudentT;
pub use table::InverseTable;
pub use triangular::Triangular;
pub use truncated::Truncated;
pub use uniform::Uniform;
pub use weibull::Weibull;

use crate::fastmath;
use crate::rng::Stream;
use error::{Num, finite};

/// Every rejection loop gives up after this many refused proposals and gives NaN, which the
/// engine counts and reports as a non-finite value. Each loop accepts at least a quarter of
/// its proposals (the ziggurat 99%, Marsaglia–Tsang and the binomial and Poisson samplers
/// over 80%, truncation by rejection 25% by construction), so the cap is reached with a
/// probability below 0.75^1000 ≈ 1e-125: it bounds a draw's work, it never changes one.
pub const MAX_ATTEMPTS: u32 = 1_000;

/// The distributions a model can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKind {
    Normal,
    LogNormal,
    Uniform,
    Triangular,
    Pert,
    Beta,
    Gamma,
    Exponential,
    Weibull,
    StudentT,
    Poisson,
    Binomial,
    Bernoulli,
    Discrete,
}

impl DistKind {
    pub const ALL: [DistKind; 14] = [
        DistKind::Normal,
        DistKind::LogNormal,
        DistKind::Uniform,
        DistKind::Triangular,
        DistKind::Pert,
        DistKind::Beta,
        DistKind::Gamma,
        DistKind::Exponential,
        DistKind::Weibull,
        DistKind::StudentT,
        DistKind::Poisson,
        DistKind::Binomial,
        DistKind::Bernoulli,
        DistKind::Discrete,
    ];

    /// The kind a formula names, e.g. `"student_t"`.
    pub fn from_name(name: &str) -> Option<DistKind> {
        DistKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The name formulas use.
    pub fn name(self) -> &'static str {
        match self {
            DistKind::Normal => "normal",
            DistKind::LogNormal => "lognormal",
            DistKind::Uniform => "uniform",
            DistKind::Triangular => "triangular",
            DistKind::Pert => "pert",
            DistKind::Beta => "beta",
            DistKind::Gamma => "gamma",
            DistKind::Exponential => "exponential",
            DistKind::Weibull => "weibull",
            DistKind::StudentT => "student_t",
            DistKind::Poisson => "poisson",
            DistKind::Binomial => "binomial",
            DistKind::Bernoulli => "bernoulli",
            DistKind::Discrete => "discrete",
        }
    }

    /// The parameters in call order; for `discrete`, the pair that repeats.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            DistKind::Normal => &["mean", "sd"],
            DistKind::LogNormal => &["mu", "sigma"],
            DistKind::Uniform => &["low", "high"],
            DistKind::Triangular | DistKind::Pert => &["min", "mode", "max"],
            DistKind::Beta => &["a", "b"],
            DistKind::Gamma | DistKind::Weibull => &["shape", "scale"],
            DistKind::Exponential => &["rate"],
            DistKind::StudentT => &["df"],
            DistKind::Poisson => &["lambda"],
            DistKind::Binomial => &["n", "p"],
            DistKind::Bernoulli => &["p"],
            DistKind::Discrete => &["value", "weight"],
        }
    }

    /// Whether a call with `n` arguments has the right count.
    pub fn arity_ok(self, n: usize) -> bool {
        match self {
            DistKind::Discrete => n >= 2 && n.is_multiple_of(2),
            _ => n == self.param_names().len(),
        }
    }

    /// The expected arguments in words, for messages.
    pub fn arity_text(self) -> &'static str {
        match self {
            DistKind::Normal => "2 arguments (mean, sd)",
            DistKind::LogNormal => "2 arguments (mu, sigma)",
            DistKind::Uniform => "2 arguments (low, high)",
            DistKind::Triangular | DistKind::Pert => "3 arguments (min, mode, max)",
            DistKind::Beta => "2 arguments (a, b)",
            DistKind::Gamma | DistKind::Weibull => "2 arguments (shape, scale)",
            DistKind::Exponential => "1 argument (rate)",
            DistKind::StudentT => "1 argument (df)",
            DistKind::Poisson => "1 argument (lambda)",
            DistKind::Binomial => "2 arguments (n, p)",
            DistKind::Bernoulli => "1 argument (p)",
            DistKind::Discrete => "pairs of arguments (value, weight, ...)",
        }
    }
}

/// "normal takes 2 arguments (mean, sd), got 3".
fn arity_error(kind: DistKind, given: usize) -> ParamError {
    ParamError::new(
        None,
        format!("{} takes {}, got {given}", kind.name(), kind.arity_text()),
    )
}

/// The z-score of the 95th percentile, Φ⁻¹(0.95).
const Z95: f64 = 1.644_853_626_951_472_2;

/// A distribution with validated parameters, ready to draw from.
#[derive(Clone, Debug)]
pub enum Dist {
    Normal(Normal),
    LogNormal(LogNormal),
    Uniform(Uniform),
    Triangular(Triangular),
    Pert(Pert),
    Beta(Beta),
    Gamma(Gamma),
    Exponential(Exponential),
    Weibull(Weibull),
    StudentT(StudentT),
    Poisson(Poisson),
    Binomial(Binomial),
    Bernoulli(Bernoulli),
    Discrete(Discrete),
    Truncated(Box<Truncated>),
}

impl Dist {
    /// Validates `params` for `kind`. Cheap enough to call once per iteration: no tables
    /// are built (only `discrete` allocates, for its cumulative weights).
    pub fn new(kind: DistKind, params: &[f64]) -> Result<Dist, ParamError> {
        Ok(match (kind, params) {
            (DistKind::Normal, &[mean, sd]) => Dist::Normal(Normal::new(mean, sd)?),
            (DistKind::LogNormal, &[mu, sigma]) => Dist::LogNormal(LogNormal::new(mu, sigma)?),
            (DistKind::Uniform, &[low, high]) => Dist::Uniform(Uniform::new(low, high)?),
            (DistKind::Triangular, &[min, mode, max]) => {
                Dist::Triangular(Triangular::new(min, mode, max)?)
            }
            (DistKind::Pert, &[min, mode, max]) => Dist::Pert(Pert::new(min, mode, max)?),
            (DistKind::Beta, &[a, b]) => Dist::Beta(Beta::new(a, b)?),
            (DistKind::Gamma, &[shape, scale]) => Dist::Gamma(Gamma::new(shape, scale)?),
            (DistKind::Exponential, &[rate]) => Dist::Exponential(Exponential::new(rate)?),
            (DistKind::Weibull, &[shape, scale]) => Dist::Weibull(Weibull::new(shape, scale)?),
            (DistKind::StudentT, &[df]) => Dist::StudentT(StudentT::new(df)?),
            (DistKind::Poisson, &[lambda]) => Dist::Poisson(Poisson::new(lambda)?),
            (DistKind::Binomial, &[n, p]) => Dist::Binomial(Binomial::new(n, p)?),
            (DistKind::Bernoulli, &[p]) => Dist::Bernoulli(Bernoulli::new(p)?),
            (DistKind::Discrete, pairs) => Dist::Discrete(Discrete::new(pairs)?),
            _ => return Err(arity_error(kind, params.len())),
        })
    }

    /// `a to b`: the distribution with `a` and `b` as its 5th and 95th percentiles:
    /// lognormal when 0 < a < b (mu = (ln a + ln b)/2, sigma = (ln b - ln a)/(2·z95)),
    /// otherwise normal with mean (a + b)/2 and sd (b - a)/(2·z95). Errors point at
    /// argument 0 (`a`) or 1 (`b`).
    pub fn ninety_percent(a: f64, b: f64) -> Result<Dist, ParamError> {
        finite(0, "a", a)?;
        finite(1, "b", b)?;
        // Both are finite here, so a plain comparison is NaN-safe.
        if a >= b {
            return Err(ParamError::new(
                None,
                format!(
                    "the lower bound must be less than the upper bound, got {} to {}",
                    Num(a),
                    Num(b)
                ),
            ));
        }
        if a > 0.0 {
            let (ln_a, ln_b) = (fastmath::ln(a), fastmath::ln(b));
            Ok(Dist::LogNormal(LogNormal::new(
                (ln_a + ln_b) / 2.0,
                (ln_b - ln_a) / (2.0 * Z95),
            )?))
        } else {
            // Halving each term first is exact and keeps a + b and b - a from overflowing;
            // otherwise it gives the same bits as (a + b)/2 and (b - a)/(2·z95).
            Ok(Dist::Normal(Normal::new(
                a * 0.5 + b * 0.5,
                (b * 0.5 - a * 0.5) / Z95,
            )?))
        }
    }

    /// `truncate(D, lo, hi)`: this distribution conditioned on [lo, hi]; `hi` may be +inf
    /// (and `lo` -inf) for a one-sided bound. Errors unless lo < hi, and when the interval
    /// is known to hold no probability. Errors point at argument 0 (`lo`) or 1 (`hi`) of
    /// this method, as for `new` and `ninety_percent`: a caller indexing the whole call
    /// `truncate(D, lo, hi)` offsets them past D's arguments.
    ///
    /// Uniform, triangular, exponential, Weibull, normal and lognormal are drawn by
    /// inverting their CDF; uniform, Bernoulli and discrete become narrower distributions
    /// of their own kind; the rest are drawn by rejection where [lo, hi] holds a quarter of
    /// the mass or more, and by numerical inversion of the CDF where it holds less.
    pub fn truncated(self, lo: f64, hi: f64) -> Result<Dist, ParamError> {
        for (arg, name, x) in [(0, "lo", lo), (1, "hi", hi)] {
            if x.is_nan() {
                return Err(ParamError::new(
                    Some(arg),
                    format!("`{name}` must be a number, got NaN"),
                ));
            }
        }
        // Neither is NaN here, so a plain comparison is NaN-safe.
        if lo >= hi {
            return Err(ParamError::new(
                None,
                format!(
                    "`lo` and `hi` must satisfy lo < hi, got {}, {}",
                    Num(lo),
                    Num(hi)
                ),
            ));
        }
        truncated::restrict(self, lo, hi, (lo, hi))
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, rng: &mut Stream) -> f64 {
        match self {
            Dist::Normal(d) => d.sample(rng),
            Dist::LogNormal(d) => d.sample(rng),
            Dist::Uniform(d) => d.sample(rng),
            Dist::Triangular(d) => d.sample(rng),
            Dist::Pert(d) => d.sample(rng),
            Dist::Beta(d) => d.sample(rng),
            Dist::Gamma(d) => d.sample(rng),
            Dist::Exponential(d) => d.sample(rng),
            Dist::Weibull(d) => d.sample(rng),
            Dist::StudentT(d) => d.sample(rng),
            Dist::Poisson(d) => d.sample(rng),
            Dist::Binomial(d) => d.sample(rng),
            Dist::Bernoulli(d) => d.sample(rng),
            Dist::Discrete(d) => d.sample(rng),
            Dist::Truncated(d) => d.sample(rng),
        }
    }

    /// Fills `out` with independent draws: the same values, in the same order, as calling
    /// [`Dist::sample`] once per element, with the dispatch hoisted out of the loop.
    pub fn fill(&self, rng: &mut Stream, out: &mut [f64]) {
        macro_rules! each {
            ($d:expr) => {
                for x in out.iter_mut() {
                    *x = $d.sample(rng);
                }
            };
        }
        match self {
            Dist::Normal(d) => d.fill(rng, out),
            Dist::LogNormal(d) => d.fill(rng, out),
            Dist::Uniform(d) => {
                uniforms(rng, out);
                d.span.at_each(out);
            }
            Dist::Triangular(d) => {
                uniforms(rng, out);
                d.quantile_each(out);
            }
            Dist::Pert(d) => each!(d),
            Dist::Beta(d) => each!(d),
            Dist::Gamma(d) => each!(d),
            Dist::Exponential(d) => each!(d),
            Dist::Weibull(d) => each!(d),
            Dist::StudentT(d) => each!(d),
            Dist::Poisson(d) => each!(d),
            Dist::Binomial(d) => each!(d),
            Dist::Bernoulli(d) => each!(d),
            Dist::Discrete(d) => each!(d),
            Dist::Truncated(d) => each!(d),
        }
    }

    /// A table for drawing by fast inversion ([`Dist::fill_from`]), for the distributions
    /// whose draws otherwise cost several times more (beta, PERT, gamma, Student's t);
    /// `None` for the others, and when the quantile cannot be tabulated. Takes about a
    /// millisecond: build it once for fixed parameters, never per iteration.
    pub fn inverse_table(&self) -> Option<InverseTable> {
        let (lo, hi) = self.support();
        match self {
            Dist::Beta(d) => InverseTable::build(&d.inverse(), lo, hi),
            Dist::Pert(d) => InverseTable::build(&d.inverse(), lo, hi),
            Dist::Gamma(d) => InverseTable::build(&d.inverse(), lo, hi),
            Dist::StudentT(d) => InverseTable::build(&d.inverse(), lo, hi),
            _ => None,
        }
    }

    /// Fills `out` with draws by inversion through `table`, which must be this
    /// distribution's [`Dist::inverse_table`]: one uniform per draw, and the quantile to
    /// within `1e-12` in probability (exact beyond the table's ends).
    pub fn fill_from(&self, table: &InverseTable, rng: &mut Stream, out: &mut [f64]) {
        uniforms(rng, out);
        table.map(out, |u| self.quantile(u));
    }

    /// The quantile function: the smallest x with P(X <= x) >= p, for p in (0, 1), so that
    /// `quantile` of a uniform draw is a draw (inversion), and of stratified uniforms a
    /// Latin hypercube sample. p = 0 and p = 1 give the ends of the support (infinite for
    /// unbounded ones); NaN or p outside [0, 1] gives NaN.
    ///
    /// Closed forms where there are some (normal by Wichura's AS 241, lognormal, uniform,
    /// triangular, exponential, Weibull, Bernoulli, discrete); safeguarded Halley
    /// iteration on the exact CDF for beta, PERT, gamma and Student's t, within about 1e-12
    /// relative of 50-digit references (1e-13 for shapes above 0.1); for Poisson and
    /// binomial, a Cornish–Fisher guess settled exactly against the CDF. A truncation maps p
    /// to F(lo) + p·(F(hi) - F(lo)) of the base distribution, from whichever tail keeps the
    /// precision.
    ///
    /// Every step is `+ - * /`, `sqrt`, `fastmath` and the pinned `libm`, and every
    /// iteration ends on a fixed rule, so the result is the same bits on every target.
    /// A call with a single p does all of a distribution's setup (one to three `lgamma`s
    /// for the shaped ones; a sort for discrete), which [`Dist::quantile_each`] does once
    /// per batch.
    pub fn quantile(&self, p: f64) -> f64 {
        let mut one = [p];
        self.quantile_each(&mut one);
        one[0]
    }

    /// Replaces each p in `ps` (all in (0, 1)) by `quantile(p)`: the same bits as one at a
    /// time, with the dispatch and the setup done once.
    pub fn quantile_each(&self, ps: &mut [f64]) {
        match self {
            Dist::Normal(d) => d.quantile_each(ps),
            Dist::LogNormal(d) => d.quantile_each(ps),
            Dist::Uniform(d) => d.quantile_each(ps),
            Dist::Triangular(d) => d.quantile_checked(ps),
            Dist::Pert(d) => d.quantile_each(ps),
            Dist::Beta(d) => d.quantile_each(ps),
            Dist::Gamma(d) => d.quantile_each(ps),
            Dist::Exponential(d) => d.quantile_each(ps),
            Dist::Weibull(d) => d.quantile_each(ps),
            Dist::StudentT(d) => d.quantile_each(ps),
            Dist::Poisson(d) => d.quantile_each(ps),
            Dist::Binomial(d) => d.quantile_each(ps),
            Dist::Bernoulli(d) => d.quantile_each(ps),
            Dist::Discrete(d) => d.quantile_each(ps),
            Dist::Truncated(d) => d.quantile_each(ps),
        }
    }

    /// The smallest closed interval every draw lies in.
    pub(crate) fn support(&self) -> (f64, f64) {
        const ALL: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);
        const POSITIVE: (f64, f64) = (0.0, f64::INFINITY);
        match self {
            Dist::Normal(d) if d.sd == 0.0 => (d.mean, d.mean),
            Dist::LogNormal(d) if d.sigma == 0.0 => {
                // The same function as LogNormal::sample, so the point is the draw.
                let c = fastmath::exp(d.mu);
                (c, c)
            }
            Dist::Normal(_) | Dist::StudentT(_) => ALL,
            Dist::LogNormal(_) | Dist::Gamma(_) | Dist::Exponential(_) | Dist::Weibull(_) => {
                POSITIVE
            }
            Dist::Uniform(d) => (d.span.lo, d.span.hi),
            Dist::Triangular(d) => (d.span.lo, d.span.hi),
            Dist::Pert(d) => (d.span.lo, d.span.hi),
            Dist::Beta(_) => (0.0, 1.0),
            Dist::Poisson(d) if d.lambda == 0.0 => (0.0, 0.0),
            Dist::Poisson(_) => POSITIVE,
            Dist::Binomial(d) if d.n == 0.0 || d.p == 0.0 => (0.0, 0.0),
            Dist::Binomial(d) if d.p == 1.0 => (d.n, d.n),
            Dist::Binomial(d) => (0.0, d.n),
            Dist::Bernoulli(d) => (
                if d.p == 1.0 { 1.0 } else { 0.0 },
                if d.p == 0.0 { 0.0 } else { 1.0 },
            ),
            Dist::Discrete(d) => d.range(),
            Dist::Truncated(t) => (t.lo(), t.hi()),
        }
    }
}

#[cfg(test)]
mod tests;

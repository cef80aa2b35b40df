//! What one value of a distribution costs: an upper bound on its expected time, in
//! nanoseconds of one core of the reference machine (the 2-core x86-64 machine with AVX-512
//! the figures were measured on, by `benches/cost.rs`), for the engine's cost model
//! (`cost::work`). Every step is `+ - * /`, `sqrt` and `libm`, so a limit checked against it
//! answers the same on every target. The figures are of the algorithms in this module's
//! files: a change to a sampler or a quantile changes its line here, and the benchmark shows
//! whether the bound still holds.
//!
//! A rejection loop is counted at its expected number of proposals (at most four, the
//! truncation's worst), not at `MAX_ATTEMPTS`: over a chunk's 4,096 values the total
//! concentrates on its expectation, and the cap only bounds a single draw.

use super::truncated::Drawn;
use super::{Dist, DistKind};

/// Terms of a continued fraction or series are capped at this many (`special::SERIES_MAX`
/// and the beta fraction's cap).
const MAX_TERMS: f64 = 2000.0;

/// One term of an incomplete beta function's continued fraction.
const TERM_NS: f64 = 4.0;

/// One evaluation of a discrete CDF besides its terms: the front factor from Loader's
/// log-probability, and the probability a walk step adds.
const EVAL_NS: f64 = 120.0;

/// Validating a distribution's parameters, once a value when they vary by iteration.
const BUILD_NS: f64 = 15.0;

impl Dist {
    /// An upper bound on the expected nanoseconds of one value: drawn at random (`fill`,
    /// before any inversion table), or by the quantile of a given probability (`latin`).
    pub fn work_ns(&self, latin: bool) -> f64 {
        let by = |random: f64, quantile: f64| if latin { quantile } else { random };
        match self {
            Dist::Normal(_) => by(4.5, 20.0),
            Dist::LogNormal(_) => by(8.0, 30.0),
            Dist::Uniform(_) => by(4.0, 6.0),
            Dist::Triangular(_) => by(8.0, 12.0),
            Dist::Exponential(_) => by(12.0, 12.0),
            Dist::Weibull(_) => by(60.0, 60.0),
            Dist::Bernoulli(_) => by(6.0, 6.0),
            Dist::Discrete(d) => {
                let pairs = d.pairs() as f64;
                let search = 5.0 + 2.0 * libm::log2(pairs).max(1.0);
                // A batch of quantiles sorts the pairs once, per `eval::STOP_ROWS` values.
                by(
                    search,
                    search + 8.0 * pairs * libm::log2(pairs).max(1.0) / 256.0,
                )
            }
            Dist::Gamma(_) => by(40.0, GAMMA_QUANTILE_NS),
            Dist::Beta(d) => {
                let (a, b) = d.shapes();
                by(60.0, beta_quantile(a.max(b)))
            }
            Dist::Pert(_) => by(60.0, beta_quantile(5.0)),
            // A t quantile goes through the incomplete beta of shapes df/2 and 1/2, quick
            // whatever the df.
            Dist::StudentT(_) => by(40.0, 1200.0),
            Dist::Poisson(d) => poisson(d.lambda, latin),
            Dist::Binomial(d) => binomial(d.n, d.p, latin),
            Dist::Truncated(t) => {
                let base = t.base();
                match t.drawn() {
                    // The normal's far tail, drawn by Robert's rejection: about 60 ns.
                    Drawn::Closed if !latin => 2.0 * base.work_ns(false) + 60.0,
                    Drawn::Closed => 1.5 * base.work_ns(true) + 10.0,
                    Drawn::Rejected { mass } if !latin => base.work_ns(false) / mass + 5.0,
                    // One quantile of the base at the probability mapped onto the window.
                    Drawn::Rejected { .. } | Drawn::Inverted => 1.2 * base.work_ns(true) + 30.0,
                }
            }
        }
    }

    /// An upper bound on the expected nanoseconds of one value drawn through the
    /// distribution's inversion table ([`Dist::inverse_table`]), where it has one.
    pub fn tabled_work_ns(&self) -> Option<f64> {
        matches!(
            self,
            Dist::Beta(_) | Dist::Pert(_) | Dist::Gamma(_) | Dist::StudentT(_)
        )
        .then_some(12.0)
    }
}

impl DistKind {
    /// An upper bound on the expected nanoseconds of one value whose parameters are known
    /// only when it is drawn: the parameters checked and the distribution built, then one
    /// value, at the worst the parameters can be. `params` holds the range (lo, hi) each
    /// parameter lies in, infinite ends for unbounded.
    pub fn worst_work_ns(self, latin: bool, params: &[(f64, f64)]) -> f64 {
        let by = |random: f64, quantile: f64| if latin { quantile } else { random };
        let hi = |i: usize| params.get(i).map_or(f64::INFINITY, |r| r.1);
        let draw = match self {
            DistKind::Normal => by(10.0, 20.0),
            DistKind::LogNormal => by(40.0, 60.0),
            DistKind::Uniform => by(8.0, 8.0),
            DistKind::Triangular => by(15.0, 20.0),
            DistKind::Exponential => by(20.0, 20.0),
            DistKind::Weibull => by(80.0, 80.0),
            DistKind::Bernoulli => by(8.0, 8.0),
            // Built from its pairs each time: the weights summed, searched, and sorted for
            // a quantile.
            DistKind::Discrete => {
                let m = (params.len() / 2).max(1) as f64;
                by(10.0 + 4.0 * m, 10.0 + 10.0 * m * libm::log2(m).max(1.0))
            }
            // Marsaglia–Tsang's set-up is a square root and a division.
            DistKind::Gamma => by(80.0, GAMMA_QUANTILE_NS),
            DistKind::StudentT => by(80.0, 1500.0),
            // PERT's shapes are at most 5; a beta quantile's fraction grows with the larger.
            DistKind::Pert => by(250.0, beta_quantile(5.0)),
            DistKind::Beta => by(250.0, beta_quantile(hi(0).max(hi(1)))),
            // PTRS and BTRS set up with a logarithm or two and the mode's probability.
            DistKind::Poisson => by(200.0, poisson(f64::INFINITY, true)),
            DistKind::Binomial => {
                // The cost grows with n and as p nears 1/2.
                let n = hi(0).min(super::binomial::MAX_N).floor().max(0.0);
                let (p_lo, p_hi) = params.get(1).copied().unwrap_or((0.0, 1.0));
                let p = 0.5_f64.max(p_lo.max(0.0)).min(p_hi.min(1.0));
                let p = if p.is_nan() { 0.5 } else { p };
                by(150.0 + binomial(n, p, false), binomial(n, p, true))
            }
        };
        BUILD_NS + draw
    }
}

/// A gamma quantile: safeguarded Halley steps on the incomplete gamma function, by its
/// series, continued fraction or (for large shapes) Temme's expansion: under a microsecond
/// whatever the shape.
const GAMMA_QUANTILE_NS: f64 = 600.0;

/// A beta (PERT, t) quantile: Halley steps on the incomplete beta function, whose continued
/// fraction takes about √shape terms, capped.
fn beta_quantile(shape: f64) -> f64 {
    900.0 + 4.0 * TERM_NS * (1.5 * shape.sqrt()).min(MAX_TERMS)
}

/// Poisson(lambda): by inversion below a mean of 10 (about lambda + 1 steps), by PTRS
/// above; a quantile by the incomplete gamma function, Temme's expansion for large means.
fn poisson(lambda: f64, latin: bool) -> f64 {
    if latin {
        400.0
    } else if lambda < 10.0 {
        15.0 + 5.0 * lambda
    } else {
        100.0
    }
}

/// Binomial(n, p): by inversion while the rarer outcome's mean is below 10, by BTRS above;
/// a quantile by [`invert::search`](super::invert::search) on the incomplete beta function,
/// whose continued fraction takes about 1.3·√(npq) terms near the mean, capped at 2000.
/// When the cap cuts it short, the Cornish–Fisher guess is further off and the search
/// gallops: about two evaluations more for each doubling of the standard deviation.
fn binomial(n: f64, p: f64, latin: bool) -> f64 {
    let rare = n * p.min(1.0 - p);
    if latin {
        let sd = (rare * p.max(1.0 - p)).sqrt();
        let terms = (1.3 * sd + 10.0).min(MAX_TERMS);
        let evaluations = 3.0 + 2.0 * libm::log2(1.0 + sd / 10.0);
        200.0 + evaluations * (EVAL_NS + TERM_NS * terms)
    } else if rare < 10.0 {
        15.0 + 5.0 * rare
    } else {
        100.0
    }
}

//! An upper bound on the work a run does: its draws (by distribution and parameters,
//! rejection loops at their expected proposals), formulas, correlation and statistics for
//! each iteration, and what it does once (inversion tables, ranking the drivers). In
//! nanoseconds of one core of the reference machine, as the draws' figures
//! (`dist::work`); `benches/cost.rs` measures 90 runs beside it.

use crate::compile::Model;
use crate::dist::DistKind;
use crate::eval::{CHUNK_SIZE, Draw, Family, Func1, Func2, Inner, Op, Operand, TABLES_FROM_CHUNK};
use crate::model::{RunSettings, Sampling};
use crate::run::SENSITIVITY_ROWS;

use super::memory::ranked;
use super::ranges::{Range, ranges};

/// A run's work, in nanoseconds of one core of the reference machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorkEstimate {
    pub iterations: u64,
    /// Draws, formulas and correlation of one iteration, in the chunks before the fixed
    /// draws' inversion tables (`eval::TABLES_FROM_CHUNK`) and in those after.
    pub evaluation_ns: f64,
    pub tabled_evaluation_ns: f64,
    /// The statistics and the sample's bookkeeping of one iteration.
    pub statistics_ns: f64,
    /// What the run does once: the inversion tables, the drivers' ranks, the summary.
    pub once_ns: f64,
}

impl WorkEstimate {
    /// The whole run, with the margin of `SPREAD` (1.3).
    pub fn total_ns(&self) -> f64 {
        let early = self.iterations.min(TABLES_FROM_CHUNK * CHUNK_SIZE as u64) as f64;
        let late = self.iterations as f64 - early;
        SPREAD
            * (early * self.evaluation_ns
                + late * self.tabled_evaluation_ns
                + self.iterations as f64 * self.statistics_ns
                + self.once_ns)
    }

    /// The core-seconds of the whole run: its wall time on one engine thread.
    pub fn core_seconds(&self) -> f64 {
        self.total_ns() / 1e9
    }
}

/// The same run timed again on the shared reference machine takes up to this much longer
/// than the figures' measurements (the best of three, `benches/cost.rs`, varies by 30%
/// between sittings): the bound's margin for it.
const SPREAD: f64 = 1.3;

/// An inversion table takes about a millisecond to build (`eval::TABLES_FROM_CHUNK`).
const TABLE_NS: f64 = 1.5e6;

/// An upper bound on the work of a run of `model` with `settings`, computed in one pass
/// over its instructions.
pub fn work(model: &Model, settings: &RunSettings) -> WorkEstimate {
    let latin = settings.sampling() == Sampling::LatinHypercube;
    let program = &model.program;
    let mut evaluation = 0.0;
    let mut tabled = 0.0;
    let mut tables = 0usize;
    let ranges = ranges(program);
    for instr in &program.instrs {
        let (now, later) = match &instr.op {
            Op::Draw { draw, .. } => {
                let (now, later) = draw_ns(draw, latin, &ranges);
                if later < now {
                    tables += 1;
                }
                (now, later)
            }
            op => (op_ns(op), op_ns(op)),
        };
        evaluation += now;
        tabled += later;
    }
    if let Some(c) = &program.correlation {
        let k = c.nodes.len() as f64;
        let n = CHUNK_SIZE as f64;
        // Scores, each input's shuffle and re-ranking sorts, the k² transform, and the
        // chunk's Cholesky factor shared out over its rows.
        let per_row = 20.0 + k * (25.0 + 6.0 * libm::log2(n)) + 2.0 * k * k + k * k * k / n;
        evaluation += per_row;
        tabled += per_row;
    }

    let nodes = model.nodes.len() as f64;
    let width = model.sample_slots().len() as f64;
    let per_output: f64 = model
        .outputs
        .iter()
        .map(|&o| 4.0 + 0.6 * model.nodes[o].thresholds.len() as f64)
        .sum();
    // Each row's hash; the candidates for the sample copy a row each and enter its heap.
    let n = settings.iterations().max(1) as f64;
    let k = settings.sample_size().max(SENSITIVITY_ROWS) as f64;
    let candidates = (k + 45.0 * k.sqrt() + 1500.0).min(n);
    let statistics = 0.5 * nodes + per_output + 3.0 + candidates / n * (60.0 + 4.0 * width);

    let tables = if settings.iterations() > TABLES_FROM_CHUNK * CHUNK_SIZE as u64 {
        tables as f64 * TABLE_NS
    } else {
        0.0
    };
    // Ranking a column of the sensitivity rows sorts it; each output's drivers are then
    // correlated with it, a pass over the rows each.
    let rows = (SENSITIVITY_ROWS as f64).min(n);
    let rank = rows * (10.0 + 3.0 * libm::log2(rows));
    let (full, screened) = ranked(model);
    let pairs: usize = model.drivers.iter().map(Vec::len).sum();
    let sensitivity = (full + model.outputs.len()) as f64 * rank
        + screened as f64 * rank / 10.0
        + pairs as f64 * rows * 2.0;
    // The summary: each output's sketch and bins read once; the sample sorted.
    let summary = model.outputs.len() as f64 * 50_000.0 + k.min(n) * width * 10.0;

    WorkEstimate {
        iterations: settings.iterations(),
        evaluation_ns: evaluation,
        tabled_evaluation_ns: tabled,
        statistics_ns: statistics,
        // 0.1 ms of setting up: the workers, the merge, the first chunk's grid.
        once_ns: tables + sensitivity + summary + 1e5,
    }
}

/// A draw's nanoseconds a value before and after its inversion table; `ranges` bound the
/// columns its parameters may come from.
fn draw_ns(draw: &Draw, latin: bool, ranges: &[Range]) -> (f64, f64) {
    // Latin hypercube first shuffles the strata: a random index and a swap a value.
    let strata = if latin { 8.0 } else { 0.0 };
    match draw {
        Draw::Fixed(fixed) => {
            let dist = fixed.dist();
            let now = dist.work_ns(latin) + strata;
            let later = match dist.tabled_work_ns() {
                Some(t) if !latin => t,
                _ => now,
            };
            (now, later)
        }
        Draw::Varying { family, params, .. } => {
            let bounds: Vec<(f64, f64)> = params
                .iter()
                .map(|p| match *p {
                    Operand::Col(c) => (ranges[c].lo, ranges[c].hi),
                    Operand::Const(v) => (v, v),
                })
                .collect();
            let ns = family_ns(*family, latin, &bounds) + 2.0 * params.len() as f64 + strata;
            (ns, ns)
        }
    }
}

/// A value of `family` with parameters known only when it is drawn, in the ranges
/// `params`: the worst they can make it.
fn family_ns(family: Family, latin: bool, params: &[(f64, f64)]) -> f64 {
    // A truncation's last one or two parameters are its bounds.
    let base = match family {
        Family::Truncated { upper, .. } => {
            &params[..params.len().saturating_sub(1 + usize::from(upper))]
        }
        _ => params,
    };
    let inner = |inner: Inner, latin: bool| match inner {
        Inner::Dist(kind) => kind.worst_work_ns(latin, base),
        // `a to b`: two logarithms, then a lognormal or a normal.
        Inner::Ninety => 40.0 + DistKind::LogNormal.worst_work_ns(latin, &[]),
    };
    match family {
        Family::Dist(kind) => inner(Inner::Dist(kind), latin),
        Family::Ninety => inner(Inner::Ninety, latin),
        // The base built, the mass of the interval from its CDF at both ends, then a value
        // by rejection (a quarter of the proposals accepted, at worst) or by the quantile
        // on the window: the CDF costs about what a quantile does.
        Family::Truncated { inner: base, .. } => {
            let quantile = inner(base, true);
            2.0 * quantile + (4.0 * inner(base, false)).max(1.5 * quantile)
        }
    }
}

/// An instruction other than a draw: nanoseconds a value, in the engine's batched loops.
fn op_ns(op: &Op) -> f64 {
    match op {
        Op::Fill(_) | Op::Copy(_) => 0.5,
        Op::Unary(f, _) => match f {
            Func1::Neg | Func1::Abs | Func1::Not | Func1::Sign => 1.0,
            Func1::Sqrt | Func1::Floor | Func1::Ceil | Func1::Round => 1.5,
            Func1::Exp | Func1::Ln => 2.0,
            Func1::Log10 | Func1::Sin | Func1::Cos | Func1::Tan => 25.0,
        },
        Op::Binary(f, _, _) => match f {
            Func2::Add | Func2::Sub | Func2::Mul | Func2::Div => 0.7,
            Func2::Min | Func2::Max => 1.5,
            Func2::Lt
            | Func2::Le
            | Func2::Gt
            | Func2::Ge
            | Func2::Eq
            | Func2::Ne
            | Func2::And
            | Func2::Or => 2.0,
            Func2::Mod | Func2::Log => 15.0,
            Func2::Pow => 25.0,
        },
        Op::If(..) | Op::Clamp(..) => 4.0,
        Op::Fold { args, .. } => 2.0 + 2.0 * args.len() as f64,
        Op::Draw { .. } => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Dist;
    use crate::{Limits, ModelSpec, Settings, compile};

    fn estimate(nodes: &str, iterations: u64, sampling: Sampling) -> WorkEstimate {
        let json = format!(r#"{{"nodes": [{nodes}]}}"#);
        let model = compile(&ModelSpec::from_json(&json).unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|_| unreachable!());
        let settings = Settings {
            iterations: Some(iterations),
            sampling: Some(sampling),
            ..Settings::default()
        };
        let settings = RunSettings::validate(&settings, &Limits::up_to(u64::MAX))
            .unwrap_or_else(|_| unreachable!());
        work(&model, &settings)
    }

    fn one(expr: &str) -> String {
        format!(r#"{{"id": "x", "expr": "{expr}"}}"#)
    }

    /// A hundred times the iterations: a hundred times the work per iteration, and the
    /// sample's and the drivers' work once.
    #[test]
    fn work_grows_with_the_iterations() {
        let short = estimate(&one("normal(0, 1)"), 100_000, Sampling::Random);
        let long = estimate(&one("normal(0, 1)"), 10_000_000, Sampling::Random);
        let ratio = long.total_ns() / short.total_ns();
        assert!((20.0..=100.0).contains(&ratio), "{ratio}");
        assert_eq!(long.once_ns, short.once_ns);
    }

    #[test]
    fn a_quantile_of_a_huge_binomial_costs_its_continued_fraction() {
        let small = Dist::new(DistKind::Binomial, &[20.0, 0.3]).unwrap_or_else(|_| unreachable!());
        let huge = Dist::new(DistKind::Binomial, &[1e15, 0.3]).unwrap_or_else(|_| unreachable!());
        assert!(huge.work_ns(true) > 100.0 * small.work_ns(true));
        // Drawn at random, both are a handful of steps.
        assert!(huge.work_ns(false) < 200.0);
    }

    #[test]
    fn narrow_truncations_cost_a_quantile_and_wide_ones_their_rejections() {
        let gamma = |lo: f64, hi: f64| {
            Dist::new(DistKind::Gamma, &[2.0, 1.0])
                .and_then(|d| d.truncated(lo, hi))
                .unwrap_or_else(|_| unreachable!())
        };
        let base = Dist::new(DistKind::Gamma, &[2.0, 1.0]).unwrap_or_else(|_| unreachable!());
        // [0, 1] holds 26% of gamma(2, 1): about four proposals a value.
        let wide = gamma(0.0, 1.0).work_ns(false);
        assert!(wide >= 3.8 * base.work_ns(false), "{wide}");
        let narrow = gamma(6.0, 7.0).work_ns(false);
        assert!(narrow >= base.work_ns(true), "{narrow}");
    }

    /// A draw whose parameters vary is counted at the worst its parameters' ranges allow:
    /// about the fixed draw at the top of the range when they are bounded, far more when
    /// they are not.
    #[test]
    fn parameters_known_only_per_iteration_cost_their_worst() {
        let latin = |y: &str| {
            estimate(
                &format!(r#"{}, {{"id": "y", "expr": "{y}"}}"#, one("uniform(0, 1)")),
                100_000,
                Sampling::LatinHypercube,
            )
            .evaluation_ns
        };
        let fixed = latin("binomial(100, 0.5)");
        let bounded = latin("binomial(round(x * 100), 0.5)");
        let unbounded = latin("binomial(round(1 / x), 0.5)");
        assert!(
            bounded >= fixed && bounded < 1.5 * fixed,
            "{bounded} {fixed}"
        );
        assert!(unbounded > 10.0 * bounded, "{unbounded} {bounded}");
    }

    #[test]
    fn tables_lower_the_cost_of_later_chunks() {
        let w = estimate(&one("beta(2, 3)"), 1_000_000, Sampling::Random);
        assert!(w.tabled_evaluation_ns < w.evaluation_ns);
        assert!(w.once_ns >= TABLE_NS);
        // A run that ends before the tables are built pays for none.
        let short = estimate(&one("beta(2, 3)"), 4096, Sampling::Random);
        assert!(short.once_ns < TABLE_NS);
    }
}

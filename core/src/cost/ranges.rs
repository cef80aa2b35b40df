//! The range of values each column of a program can hold, by interval arithmetic over its
//! instructions: what bounds the parameters of a draw that vary per iteration, so that its
//! cost is counted at the worst those parameters can be rather than the worst any could be
//! (`binomial(round(u), 0.3)` with u below 1,000 is a few hundred nanoseconds a quantile; with
//! any n it could be hundreds of microseconds).
//!
//! The ends are computed with the engine's own `fastmath` and `libm`, so a limit checked
//! against the estimate answers the same on every target. The ranges hold every value that
//! is a number: a NaN (a draw with invalid parameters, or
//! 0/0) is not in them, and an infinite end means unbounded on that side.

use crate::dist::DistKind;
use crate::eval::{Draw, Family, Fold, Func1, Func2, Inner, Op, Operand, Program};
use crate::fastmath;

/// A closed interval of doubles, `lo <= hi`, either end possibly infinite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Range {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
}

impl Range {
    pub(crate) const ALL: Range = Range {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
    };
    const TRUTH: Range = Range { lo: 0.0, hi: 1.0 };

    fn point(v: f64) -> Range {
        Range::spanning([v])
    }

    /// The smallest range holding `values`; everything when one is NaN (an operation on the
    /// ends that is undefined there, such as inf − inf).
    fn spanning(values: impl IntoIterator<Item = f64>) -> Range {
        let mut r = Range {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        };
        for v in values {
            if v.is_nan() {
                return Range::ALL;
            }
            r.lo = r.lo.min(v);
            r.hi = r.hi.max(v);
        }
        if r.lo > r.hi { Range::ALL } else { r }
    }

    fn hull(self, other: Range) -> Range {
        Range {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    fn contains_zero(self) -> bool {
        self.lo <= 0.0 && 0.0 <= self.hi
    }

    /// `f` at both ends, for a function monotone on the range.
    fn monotone(self, f: impl Fn(f64) -> f64) -> Range {
        Range::spanning([f(self.lo), f(self.hi)])
    }

    /// `f` at the four corners of `self` × `other`, for a function monotone in each
    /// argument on the ranges.
    fn corners(self, other: Range, f: impl Fn(f64, f64) -> f64) -> Range {
        Range::spanning([
            f(self.lo, other.lo),
            f(self.lo, other.hi),
            f(self.hi, other.lo),
            f(self.hi, other.hi),
        ])
    }
}

/// The range of each of `program`'s columns.
pub(crate) fn ranges(program: &Program) -> Vec<Range> {
    let mut ranges = vec![Range::ALL; program.slots];
    for instr in &program.instrs {
        let of = |o: &Operand| match *o {
            Operand::Col(c) => ranges[c],
            Operand::Const(v) => Range::point(v),
        };
        let r = match &instr.op {
            Op::Fill(v) => Range::point(*v),
            Op::Copy(a) => ranges[*a],
            Op::Unary(f, a) => unary(*f, ranges[*a]),
            Op::Binary(f, a, b) => binary(*f, of(a), of(b)),
            Op::If(_, a, b) => of(a).hull(of(b)),
            Op::Clamp(x, lo, hi) => {
                let (x, lo, hi) = (of(x), of(lo), of(hi));
                Range::spanning([x.lo.max(lo.lo).min(hi.lo), x.hi.max(lo.hi).min(hi.hi)])
            }
            Op::Fold { func, args } => {
                let mut args = args.iter().map(of);
                let first = args.next().unwrap_or(Range::ALL);
                let n = 1 + args.len();
                let r = args.fold(first, |acc, r| match func {
                    Fold::Min => Range::spanning([acc.lo.min(r.lo), acc.hi.min(r.hi)]),
                    Fold::Max => Range::spanning([acc.lo.max(r.lo), acc.hi.max(r.hi)]),
                    Fold::Sum | Fold::Mean => Range::spanning([acc.lo + r.lo, acc.hi + r.hi]),
                });
                match func {
                    Fold::Mean => r.monotone(|v| v / n as f64),
                    _ => r,
                }
            }
            Op::Draw { draw, .. } => match draw {
                Draw::Fixed(fixed) => {
                    let (lo, hi) = fixed.dist().support();
                    Range::spanning([lo, hi])
                }
                Draw::Varying { family, params, .. } => {
                    let params: Vec<Range> = params.iter().map(of).collect();
                    drawn(*family, &params)
                }
            },
        };
        ranges[instr.out] = r;
    }
    ranges
}

fn unary(f: Func1, a: Range) -> Range {
    match f {
        Func1::Neg => a.monotone(|x| -x),
        Func1::Not => Range::TRUTH,
        Func1::Abs if a.contains_zero() => Range::spanning([0.0, -a.lo, a.hi]),
        Func1::Abs => a.monotone(f64::abs),
        // Below 0 the square root and the logarithms are NaN, outside any range.
        Func1::Sqrt => Range::spanning([a.lo.max(0.0).sqrt(), a.hi.max(0.0).sqrt()]),
        Func1::Exp => a.monotone(fastmath::exp),
        Func1::Ln => Range::spanning([fastmath::ln(a.lo.max(0.0)), fastmath::ln(a.hi.max(0.0))]),
        Func1::Log10 => Range::spanning([libm::log10(a.lo.max(0.0)), libm::log10(a.hi.max(0.0))]),
        Func1::Floor => a.monotone(f64::floor),
        Func1::Ceil => a.monotone(f64::ceil),
        Func1::Round => a.monotone(f64::round),
        Func1::Sign => Range { lo: -1.0, hi: 1.0 },
        Func1::Sin | Func1::Cos => Range { lo: -1.0, hi: 1.0 },
        Func1::Tan => Range::ALL,
    }
}

fn binary(f: Func2, a: Range, b: Range) -> Range {
    match f {
        Func2::Add => Range::spanning([a.lo + b.lo, a.hi + b.hi]),
        Func2::Sub => Range::spanning([a.lo - b.hi, a.hi - b.lo]),
        Func2::Mul => a.corners(b, |x, y| x * y),
        Func2::Div if b.contains_zero() => Range::ALL,
        Func2::Div => a.corners(b, |x, y| x / y),
        Func2::Min => Range::spanning([a.lo.min(b.lo), a.hi.min(b.hi)]),
        Func2::Max => Range::spanning([a.lo.max(b.lo), a.hi.max(b.hi)]),
        Func2::Lt
        | Func2::Le
        | Func2::Gt
        | Func2::Ge
        | Func2::Eq
        | Func2::Ne
        | Func2::And
        | Func2::Or => Range::TRUTH,
        // A positive base: x^y is monotone in x for each y and in y for each x.
        Func2::Pow if a.lo > 0.0 => a.corners(b, libm::pow),
        Func2::Pow | Func2::Log => Range::ALL,
        // The remainder takes the divisor's sign and is smaller than it.
        Func2::Mod if b.lo > 0.0 => Range { lo: 0.0, hi: b.hi },
        Func2::Mod if b.hi < 0.0 => Range { lo: b.lo, hi: 0.0 },
        Func2::Mod => Range::ALL,
    }
}

/// Where the values of a draw of `family` with parameters in `params` lie.
fn drawn(family: Family, params: &[Range]) -> Range {
    let positive = Range {
        lo: 0.0,
        hi: f64::INFINITY,
    };
    let of = |kind: DistKind, params: &[Range]| match kind {
        DistKind::Uniform | DistKind::Triangular | DistKind::Pert => match params {
            [first, .., last] => Range::spanning([first.lo, last.hi]),
            _ => Range::ALL,
        },
        DistKind::Beta | DistKind::Bernoulli => Range::TRUTH,
        DistKind::Binomial => {
            Range::spanning([0.0, params.first().map_or(f64::INFINITY, |n| n.hi)])
        }
        DistKind::Poisson
        | DistKind::Gamma
        | DistKind::Exponential
        | DistKind::Weibull
        | DistKind::LogNormal => positive,
        DistKind::Discrete => params
            .iter()
            .step_by(2)
            .copied()
            .reduce(Range::hull)
            .unwrap_or(Range::ALL),
        DistKind::Normal | DistKind::StudentT => Range::ALL,
    };
    match family {
        Family::Dist(kind) => of(kind, params),
        Family::Ninety => Range::ALL,
        Family::Truncated { inner, upper } => {
            let bounds = 1 + usize::from(upper);
            let (inner_params, b) = params.split_at(params.len().saturating_sub(bounds));
            let base = match inner {
                Inner::Dist(kind) => of(kind, inner_params),
                Inner::Ninety => Range::ALL,
            };
            let lo = b.first().map_or(f64::NEG_INFINITY, |r| r.lo);
            let hi = if upper {
                b.get(1).map_or(f64::INFINITY, |r| r.hi)
            } else {
                f64::INFINITY
            };
            Range::spanning([base.lo.max(lo), base.hi.min(hi)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ModelSpec, compile};

    fn ranges_of(nodes: &str) -> Vec<Range> {
        let json = format!(r#"{{"nodes": [{nodes}]}}"#);
        let model = compile(&ModelSpec::from_json(&json).unwrap_or_else(|_| unreachable!()))
            .unwrap_or_else(|_| unreachable!());
        ranges(&model.program)[..model.nodes.len()].to_vec()
    }

    #[test]
    fn ranges_follow_the_formulas() {
        let r = ranges_of(
            r#"{"id": "u", "expr": "uniform(2, 10)"},
               {"id": "n", "expr": "round(u * 100) - 50"},
               {"id": "q", "expr": "1 / u"},
               {"id": "m", "expr": "max(u, 4, 1)"},
               {"id": "z", "expr": "normal(0, 1) * u"},
               {"id": "k", "expr": "binomial(n, 0.5)"}"#,
        );
        assert_eq!(r[0], Range { lo: 2.0, hi: 10.0 });
        assert_eq!(
            r[1],
            Range {
                lo: 150.0,
                hi: 950.0
            }
        );
        assert_eq!(r[2], Range { lo: 0.1, hi: 0.5 });
        assert_eq!(r[3], Range { lo: 4.0, hi: 10.0 });
        assert_eq!(r[4], Range::ALL);
        assert_eq!(r[5], Range { lo: 0.0, hi: 950.0 });
    }

    #[test]
    fn a_divisor_that_may_be_zero_bounds_nothing() {
        let r = ranges_of(
            r#"{"id": "u", "expr": "uniform(-1, 1)"},
               {"id": "q", "expr": "1 / u"}"#,
        );
        assert_eq!(r[1], Range::ALL);
    }
}

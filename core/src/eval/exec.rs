//! One instruction over a chunk's columns: the batched loops (each operator its own tight,
//! vectorised loop) and the draws, by quantile under Latin hypercube.

use super::{
    Draw, Func1, Func2, InvalidDraws, Op, Operand, STOP_ROWS, apply_clamp, apply_fold, apply_if,
    apply1, apply2,
};
use crate::fastmath;
use crate::model::Sampling;
use crate::rng::Stream;
use crate::simd::kernel;

#[derive(Clone, Copy)]
pub(super) enum Arg<'a> {
    Col(&'a [f64]),
    Const(f64),
}

impl Arg<'_> {
    #[inline(always)]
    fn at(self, i: usize) -> f64 {
        match self {
            Arg::Col(c) => c[i],
            Arg::Const(v) => v,
        }
    }
}

pub(super) fn arg<'a>(cols: &'a [Vec<f64>], op: Operand, n: usize) -> Arg<'a> {
    match op {
        Operand::Col(c) => Arg::Col(&cols[c][..n]),
        Operand::Const(v) => Arg::Const(v),
    }
}

/// The largest double below 1.
pub(super) const ONE_BELOW: f64 = 1.0 - f64::EPSILON / 2.0;

/// `n` uniforms in (0, 1), one in each of the strata `[i/n, (i+1)/n)`, in random order: a
/// Fisher–Yates shuffle of the strata, then a uniform offset within each.
pub(super) fn stratified(rng: &mut Stream, out: &mut [f64]) {
    let n = out.len();
    for (i, u) in out.iter_mut().enumerate() {
        *u = i as f64;
    }
    for i in (1..n).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        out.swap(i, j);
    }
    let scale = 1.0 / n as f64;
    for u in out.iter_mut() {
        // (n - 1 + v) / n can round up to 1, where unbounded quantiles are infinite.
        *u = ((*u + rng.next_open01()) * scale).min(ONE_BELOW);
    }
}

/// Runs `op` into `out`; returns whether `out` may hold a NaN or an infinity (false only when
/// the operation saw that it does not), or `None` when `stop` stopped it part-way.
pub(super) fn exec(
    op: &Op,
    cols: &[Vec<f64>],
    out: &mut [f64],
    Place {
        seed,
        chunk,
        sampling,
    }: Place,
    invalid: &mut Vec<InvalidDraws>,
    stop: &dyn Fn() -> bool,
) -> Option<bool> {
    let n = out.len();
    match op {
        Op::Unary(f, a) => return Some(unary(*f, &cols[*a][..n], out)),
        Op::Binary(f, a, b) => return Some(binary(*f, arg(cols, *a, n), arg(cols, *b, n), out)),
        Op::Fill(v) => out.fill(*v),
        Op::Copy(a) => out.copy_from_slice(&cols[*a][..n]),
        Op::If(c, a, b) => {
            let (c, a, b) = (arg(cols, *c, n), arg(cols, *a, n), arg(cols, *b, n));
            for (i, o) in out.iter_mut().enumerate() {
                *o = apply_if(c.at(i), a.at(i), b.at(i));
            }
        }
        Op::Clamp(x, lo, hi) => {
            let (x, lo, hi) = (arg(cols, *x, n), arg(cols, *lo, n), arg(cols, *hi, n));
            for (i, o) in out.iter_mut().enumerate() {
                *o = apply_clamp(x.at(i), lo.at(i), hi.at(i));
            }
        }
        Op::Fold { func, args } => {
            let args: Vec<Arg> = args.iter().map(|&a| arg(cols, a, n)).collect();
            for (i, o) in out.iter_mut().enumerate() {
                *o = apply_fold(*func, args.iter().map(|a| a.at(i)));
            }
        }
        Op::Draw { site, draw } => {
            let mut rng = Stream::new(seed, *site, chunk);
            let latin = sampling == Sampling::LatinHypercube;
            if latin {
                stratified(&mut rng, out);
            }
            match draw {
                // Each quantile depends on its probability alone, so the column can be
                // done a part at a time.
                Draw::Fixed(fixed) if latin => {
                    for part in out.chunks_mut(STOP_ROWS) {
                        if stop() {
                            return None;
                        }
                        fixed.dist().quantile_each(part);
                    }
                }
                Draw::Fixed(fixed) => fixed.fill(&mut rng, out, chunk),
                Draw::Varying {
                    family,
                    params,
                    index,
                } => {
                    let params: Vec<Arg> = params.iter().map(|&a| arg(cols, a, n)).collect();
                    let mut p = vec![0.0; params.len()];
                    let mut refused: Option<InvalidDraws> = None;
                    for (i, o) in out.iter_mut().enumerate() {
                        if i % STOP_ROWS == 0 && stop() {
                            return None;
                        }
                        for (slot, a) in p.iter_mut().zip(&params) {
                            *slot = a.at(i);
                        }
                        *o = match family.build(&p) {
                            Err(e) => {
                                match &mut refused {
                                    Some(r) => r.count += 1,
                                    None => {
                                        refused = Some(InvalidDraws {
                                            draw: *index,
                                            count: 1,
                                            first_row: i,
                                            reason: e.message,
                                        });
                                    }
                                }
                                f64::NAN
                            }
                            Ok(d) if latin => d.quantile(*o),
                            Ok(d) => d.sample(&mut rng),
                        };
                    }
                    invalid.extend(refused);
                }
            }
        }
    }
    Some(true)
}

/// Where in a run an instruction executes.
#[derive(Clone, Copy)]
pub(super) struct Place {
    pub(super) seed: u64,
    pub(super) chunk: u64,
    pub(super) sampling: Sampling,
}

/// No bits set when `r` is finite: `r - r` is +0.0 then, and NaN otherwise. An OR of these
/// over a loop vectorises, where a count of `!is_finite` needs 64-bit compares SSE2 lacks.
#[inline(always)]
#[allow(clippy::eq_op)]
pub(super) fn non_finite_bits(r: f64) -> u64 {
    (r - r).to_bits()
}

/// Applies `f` to every value; a generic so that each operator gets its own tight loop.
/// Returns whether a result may be NaN or infinite, found on the way rather than by another
/// pass over the column later.
#[inline(always)]
pub(super) fn map1(a: &[f64], out: &mut [f64], f: impl Fn(f64) -> f64) -> bool {
    let mut bad = 0;
    for (o, &x) in out.iter_mut().zip(a) {
        let r = f(x);
        *o = r;
        bad |= non_finite_bits(r);
    }
    bad != 0
}

kernel! {
    /// Returns whether a result may be NaN or infinite.
    fn unary(f: Func1, a: &[f64], out: &mut [f64]) -> bool {
        match f {
            Func1::Neg => map1(a, out, |x| -x),
            Func1::Abs => map1(a, out, f64::abs),
            Func1::Sqrt => map1(a, out, f64::sqrt),
            Func1::Exp => {
                fastmath::exp_slice(a, out);
                true
            }
            Func1::Ln => {
                fastmath::ln_slice(a, out);
                true
            }
            other => map1(a, out, |x| apply1(other, x)),
        }
    }
}

/// [`map1`] for two operands.
#[inline(always)]
pub(super) fn map2(a: Arg, b: Arg, out: &mut [f64], f: impl Fn(f64, f64) -> f64) -> bool {
    let mut bad = 0;
    let mut put = |o: &mut f64, r: f64| {
        *o = r;
        bad |= non_finite_bits(r);
    };
    match (a, b) {
        (Arg::Col(a), Arg::Col(b)) => {
            for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                put(o, f(x, y));
            }
        }
        (Arg::Col(a), Arg::Const(y)) => {
            for (o, &x) in out.iter_mut().zip(a) {
                put(o, f(x, y));
            }
        }
        (Arg::Const(x), Arg::Col(b)) => {
            for (o, &y) in out.iter_mut().zip(b) {
                put(o, f(x, y));
            }
        }
        (Arg::Const(x), Arg::Const(y)) => {
            let r = f(x, y);
            out.fill(r);
            bad = non_finite_bits(r);
        }
    }
    bad != 0
}

kernel! {
    /// Returns whether a result may be NaN or infinite.
    fn binary(f: Func2, a: Arg, b: Arg, out: &mut [f64]) -> bool {
        match f {
            Func2::Add => map2(a, b, out, |x, y| x + y),
            Func2::Sub => map2(a, b, out, |x, y| x - y),
            Func2::Mul => map2(a, b, out, |x, y| x * y),
            Func2::Div => map2(a, b, out, |x, y| x / y),
            Func2::Pow => map2(a, b, out, libm::pow),
            Func2::Min => map2(a, b, out, |x, y| apply2(Func2::Min, x, y)),
            Func2::Max => map2(a, b, out, |x, y| apply2(Func2::Max, x, y)),
            other => map2(a, b, out, |x, y| apply2(other, x, y)),
        }
    }
}

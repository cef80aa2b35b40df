//! The batched program a model compiles to, and its evaluation over a chunk of iterations.
//!
//! Every node owns a column of `CHUNK_SIZE` values; an instruction reads columns or
//! constants and writes one column, looping over the whole chunk ("push ifs up and fors
//! down"): the operator is matched once per chunk, never once per value.

use std::sync::OnceLock;

use crate::correlate::Correlation;
use crate::cost::OutOfMemory;
use crate::dist::{Dist, DistKind, InverseTable, ParamError};
use crate::fastmath;
use crate::model::Sampling;
use crate::rng::Stream;
use crate::simd::kernel;

/// Iterations per chunk. Part of the engine's definition, never derived from the thread
/// count: random streams are keyed by chunk index, so changing it changes every result.
pub const CHUNK_SIZE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operand {
    Col(usize),
    Const(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func1 {
    Neg,
    Not,
    Abs,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Floor,
    Ceil,
    Round,
    Sign,
    Sin,
    Cos,
    Tan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func2 {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Log,
    Mod,
    Min,
    Max,
}

/// What a draw site draws from.
#[derive(Clone, Debug)]
pub enum Draw {
    /// Constant parameters: built and validated once at compile time.
    Fixed(FixedDraw),
    /// Parameters that vary by iteration; a draw whose parameters are invalid is NaN, and
    /// counted in [`Columns::invalid`] under `index`, its place in [`Program::draws`].
    Varying {
        family: Family,
        params: Vec<Operand>,
        index: usize,
    },
}

/// Where a draw with per-iteration parameters is: its node, and its call as written.
#[derive(Clone, Debug, PartialEq)]
pub struct DrawInfo {
    pub node: usize,
    pub text: String,
}

/// The draws of one chunk whose parameters were invalid, for one draw site.
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidDraws {
    /// The draw's place in [`Program::draws`].
    pub draw: usize,
    pub count: u64,
    /// The first such row of the chunk, and why its parameters were refused (the message
    /// names the parameter and its value).
    pub first_row: usize,
    pub reason: String,
}

/// The first chunk whose fixed draws go through an inversion table. A table costs about a
/// millisecond to build, what its faster draws save over some 70,000 draws, so a run pays
/// for one only once it has made that many the slower way: a run of a model with a hundred
/// PERT inputs stays as quick to start as before. Keyed by the chunk, not the run's length,
/// so a chunk's draws are the same in a short run and a long one.
pub const TABLES_FROM_CHUNK: u64 = 16;

/// A distribution with constant parameters, and its table for fast inversion
/// ([`Dist::inverse_table`]), built when a run reaches chunk `TABLES_FROM_CHUNK` rather than
/// at compile time, so that checking a model or a short run never pays for it.
#[derive(Clone, Debug)]
pub struct FixedDraw {
    dist: Dist,
    table: OnceLock<Option<InverseTable>>,
}

impl FixedDraw {
    pub fn new(dist: Dist) -> FixedDraw {
        FixedDraw {
            dist,
            table: OnceLock::new(),
        }
    }

    pub fn dist(&self) -> &Dist {
        &self.dist
    }

    /// Random draws for chunk `chunk`: through the table where the distribution has one,
    /// from chunk `TABLES_FROM_CHUNK` on.
    fn fill(&self, rng: &mut Stream, out: &mut [f64], chunk: u64) {
        if chunk >= TABLES_FROM_CHUNK
            && let Some(table) = self.table.get_or_init(|| self.dist.inverse_table())
        {
            return self.dist.fill_from(table, rng, out);
        }
        self.dist.fill(rng, out);
    }
}

/// A distribution family whose parameters are known only per iteration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Dist(DistKind),
    /// `a to b`.
    Ninety,
    /// `truncate(D, lo)` or `truncate(D, lo, hi)`; the last one or two params are the bounds.
    Truncated {
        inner: Inner,
        upper: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    Dist(DistKind),
    Ninety,
}

impl Family {
    /// Builds the distribution from per-iteration parameter values.
    fn build(self, p: &[f64]) -> Result<Dist, ParamError> {
        let inner = |inner: Inner, p: &[f64]| match inner {
            Inner::Dist(kind) => Dist::new(kind, p),
            Inner::Ninety => Dist::ninety_percent(p[0], p[1]),
        };
        match self {
            Family::Dist(kind) => Dist::new(kind, p),
            Family::Ninety => Dist::ninety_percent(p[0], p[1]),
            Family::Truncated { inner: kind, upper } => {
                let bounds = 1 + usize::from(upper);
                let (params, b) = p.split_at(p.len() - bounds);
                let hi = if upper { b[1] } else { f64::INFINITY };
                inner(kind, params)?.truncated(b[0], hi)
            }
        }
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    Fill(f64),
    Copy(usize),
    Unary(Func1, usize),
    Binary(Func2, Operand, Operand),
    If(Operand, Operand, Operand),
    Clamp(Operand, Operand, Operand),
    /// `min`, `max`, `sum`, `mean` of several arguments (the two-argument forms are `Binary`).
    Fold {
        func: Fold,
        args: Vec<Operand>,
    },
    Draw {
        site: u32,
        draw: Draw,
    },
}

impl Op {
    /// The columns this instruction reads.
    pub fn reads(&self) -> Vec<usize> {
        let cols = |ops: &[Operand]| -> Vec<usize> {
            ops.iter()
                .filter_map(|o| match o {
                    Operand::Col(c) => Some(*c),
                    Operand::Const(_) => None,
                })
                .collect()
        };
        match self {
            Op::Fill(_) => Vec::new(),
            Op::Copy(a) | Op::Unary(_, a) => vec![*a],
            Op::Binary(_, a, b) => cols(&[*a, *b]),
            Op::If(a, b, c) | Op::Clamp(a, b, c) => cols(&[*a, *b, *c]),
            Op::Fold { args, .. } => cols(args),
            Op::Draw { draw, .. } => match draw {
                Draw::Fixed(_) => Vec::new(),
                Draw::Varying { params, .. } => cols(params),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    Min,
    Max,
    Sum,
    Mean,
}

#[derive(Clone, Debug)]
pub struct Instr {
    pub op: Op,
    pub out: usize,
}

/// A compiled model: instructions in dependency order over `slots` columns; the first
/// columns belong to the nodes, in model order.
#[derive(Clone, Debug)]
pub struct Program {
    pub instrs: Vec<Instr>,
    pub slots: usize,
    /// Rank correlation imposed on the draws of the first `first` instructions.
    pub correlation: Option<Correlation>,
    pub first: usize,
    /// Every draw with per-iteration parameters, indexed by `Draw::Varying::index`.
    pub draws: Vec<DrawInfo>,
}

pub fn apply1(f: Func1, x: f64) -> f64 {
    match f {
        Func1::Neg => -x,
        Func1::Not => truth(x == 0.0 && !x.is_nan()),
        Func1::Abs => x.abs(),
        // IEEE 754 requires sqrt, floor, ceil and round to be exact: the same bits
        // everywhere. The transcendental functions come from fastmath (exp and ln, the hot
        // ones) and libm for the same reason.
        Func1::Sqrt => x.sqrt(),
        Func1::Exp => fastmath::exp(x),
        Func1::Ln => fastmath::ln(x),
        Func1::Log10 => libm::log10(x),
        Func1::Floor => x.floor(),
        Func1::Ceil => x.ceil(),
        Func1::Round => x.round(),
        Func1::Sign => {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        }
        Func1::Sin => libm::sin(x),
        Func1::Cos => libm::cos(x),
        Func1::Tan => libm::tan(x),
    }
}

#[inline(always)]
fn truth(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// `x` as a truth value: non-zero is true. NaN is neither, so logic on it stays NaN.
#[inline(always)]
fn logic(a: f64, b: f64, f: impl Fn(bool, bool) -> bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        truth(f(a != 0.0, b != 0.0))
    }
}

#[inline(always)]
fn compare(a: f64, b: f64, f: impl Fn(f64, f64) -> bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        truth(f(a, b))
    }
}

#[inline(always)]
pub fn apply2(f: Func2, a: f64, b: f64) -> f64 {
    match f {
        Func2::Add => a + b,
        Func2::Sub => a - b,
        Func2::Mul => a * b,
        Func2::Div => a / b,
        Func2::Pow => libm::pow(a, b),
        Func2::Lt => compare(a, b, |a, b| a < b),
        Func2::Le => compare(a, b, |a, b| a <= b),
        Func2::Gt => compare(a, b, |a, b| a > b),
        Func2::Ge => compare(a, b, |a, b| a >= b),
        Func2::Eq => compare(a, b, |a, b| a == b),
        Func2::Ne => compare(a, b, |a, b| a != b),
        Func2::And => logic(a, b, |a, b| a && b),
        Func2::Or => logic(a, b, |a, b| a || b),
        Func2::Log => fastmath::ln(a) / fastmath::ln(b),
        // The remainder takes the divisor's sign, as in spreadsheets: mod(-1, 3) is 2.
        Func2::Mod => {
            let r = a % b;
            if r != 0.0 && (r < 0.0) != (b < 0.0) {
                r + b
            } else {
                r
            }
        }
        // NaN propagates (unlike f64::min), so a bad value is never silently dropped.
        Func2::Min => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else if b < a {
                b
            } else {
                a
            }
        }
        Func2::Max => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else if b > a {
                b
            } else {
                a
            }
        }
    }
}

pub fn apply_if(c: f64, a: f64, b: f64) -> f64 {
    if c.is_nan() {
        f64::NAN
    } else if c != 0.0 {
        a
    } else {
        b
    }
}

pub fn apply_clamp(x: f64, lo: f64, hi: f64) -> f64 {
    apply2(Func2::Min, apply2(Func2::Max, x, lo), hi)
}

pub fn apply_fold(func: Fold, values: impl Iterator<Item = f64>) -> f64 {
    let mut n = 0usize;
    let mut acc = 0.0;
    for v in values {
        acc = match (func, n) {
            (_, 0) => v,
            (Fold::Min, _) => apply2(Func2::Min, acc, v),
            (Fold::Max, _) => apply2(Func2::Max, acc, v),
            (Fold::Sum | Fold::Mean, _) => acc + v,
        };
        n += 1;
    }
    if func == Fold::Mean {
        acc / n as f64
    } else {
        acc
    }
}

/// Column storage for one chunk: one `CHUNK_SIZE` column per slot.
#[derive(Debug)]
pub struct Columns {
    cols: Vec<Vec<f64>>,
    /// Whether each column may hold a NaN or an infinity: false when the instruction that
    /// wrote it saw that it does not, so that it need not be searched.
    may_be_non_finite: Vec<bool>,
    /// The last chunk's draws with invalid parameters, one entry per draw site that had any.
    invalid: Vec<InvalidDraws>,
}

impl Columns {
    /// A chunk of `slots` columns, reserved fallibly (a model of 10,000 nodes needs 330 MB
    /// of them per engine thread).
    pub fn try_new(slots: usize) -> Result<Columns, OutOfMemory> {
        let oom = || OutOfMemory {
            what: "a chunk of columns",
            bytes: (slots * CHUNK_SIZE * 8) as u64,
        };
        let mut cols = Vec::new();
        cols.try_reserve_exact(slots).map_err(|_| oom())?;
        for _ in 0..slots {
            let mut col = Vec::new();
            col.try_reserve_exact(CHUNK_SIZE).map_err(|_| oom())?;
            col.resize(CHUNK_SIZE, 0.0);
            cols.push(col);
        }
        Ok(Columns {
            cols,
            may_be_non_finite: vec![true; slots],
            invalid: Vec::new(),
        })
    }

    /// The draws of the last chunk whose parameters were invalid (each gave NaN).
    pub fn invalid(&self) -> &[InvalidDraws] {
        &self.invalid
    }

    pub fn col(&self, slot: usize) -> &[f64] {
        &self.cols[slot]
    }

    /// Whether column `slot` may hold a NaN or an infinity after [`Program::run_chunk`]:
    /// false when it is known to hold none.
    pub fn may_be_non_finite(&self, slot: usize) -> bool {
        self.may_be_non_finite[slot]
    }
}

#[derive(Clone, Copy)]
enum Arg<'a> {
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

fn arg<'a>(cols: &'a [Vec<f64>], op: Operand, n: usize) -> Arg<'a> {
    match op {
        Operand::Col(c) => Arg::Col(&cols[c][..n]),
        Operand::Const(v) => Arg::Const(v),
    }
}

impl Program {
    /// Evaluates the first `n` iterations of chunk `chunk` of a run seeded with `seed`.
    /// `stop` is asked before each instruction and the correlation, and every [`STOP_ROWS`]
    /// values of a draw whose values are computed one at a time (a quantile can cost 100 µs);
    /// when it says yes, the chunk is abandoned part-way and `false` returned: the columns
    /// then hold nothing usable.
    pub fn run_chunk(
        &self,
        cols: &mut Columns,
        n: usize,
        seed: u64,
        chunk: u64,
        sampling: Sampling,
        stop: &dyn Fn() -> bool,
    ) -> bool {
        cols.invalid.clear();
        let (correlated, rest) = self.instrs.split_at(self.first);
        for (k, part) in [correlated, rest].into_iter().enumerate() {
            if k == 1
                && let Some(c) = &self.correlation
            {
                if stop() {
                    return false;
                }
                c.apply(&mut cols.cols, n, seed, chunk);
            }
            for instr in part {
                if stop() {
                    return false;
                }
                // The output column is taken out while the instruction reads the others;
                // the compiler never makes an instruction read its own output.
                let mut out = std::mem::take(&mut cols.cols[instr.out]);
                let done = exec(
                    &instr.op,
                    &cols.cols,
                    &mut out[..n],
                    Place {
                        seed,
                        chunk,
                        sampling,
                    },
                    &mut cols.invalid,
                    stop,
                );
                cols.cols[instr.out] = out;
                let Some(may_be_non_finite) = done else {
                    return false;
                };
                cols.may_be_non_finite[instr.out] = may_be_non_finite;
            }
        }
        true
    }

    /// Imposes `c` on its nodes' draws: their instructions (each node's only one, a draw
    /// with constant parameters, so it depends on nothing) move to the front, and the
    /// correlation is applied after them.
    pub(crate) fn correlate(&mut self, c: Correlation) {
        let (mut front, rest): (Vec<Instr>, Vec<Instr>) = std::mem::take(&mut self.instrs)
            .into_iter()
            .partition(|ins| c.nodes.contains(&ins.out));
        self.first = front.len();
        front.extend(rest);
        self.instrs = front;
        self.correlation = Some(c);
    }
}

/// The largest double below 1.
const ONE_BELOW: f64 = 1.0 - f64::EPSILON / 2.0;

/// `n` uniforms in (0, 1), one in each of the strata `[i/n, (i+1)/n)`, in random order: a
/// Fisher–Yates shuffle of the strata, then a uniform offset within each.
fn stratified(rng: &mut Stream, out: &mut [f64]) {
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

/// Rows of a draw computed between two questions to [`Program::run_chunk`]'s `stop`.
pub const STOP_ROWS: usize = 256;

/// Runs `op` into `out`; returns whether `out` may hold a NaN or an infinity (false only when
/// the operation saw that it does not), or `None` when `stop` stopped it part-way.
fn exec(
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
struct Place {
    seed: u64,
    chunk: u64,
    sampling: Sampling,
}

/// No bits set when `r` is finite: `r - r` is +0.0 then, and NaN otherwise. An OR of these
/// over a loop vectorises, where a count of `!is_finite` needs 64-bit compares SSE2 lacks.
#[inline(always)]
#[allow(clippy::eq_op)]
fn non_finite_bits(r: f64) -> u64 {
    (r - r).to_bits()
}

/// Applies `f` to every value; a generic so that each operator gets its own tight loop.
/// Returns whether a result may be NaN or infinite, found on the way rather than by another
/// pass over the column later.
#[inline(always)]
fn map1(a: &[f64], out: &mut [f64], f: impl Fn(f64) -> f64) -> bool {
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
fn map2(a: Arg, b: Arg, out: &mut [f64], f: impl Fn(f64, f64) -> f64) -> bool {
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

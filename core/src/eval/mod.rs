//! The batched program a model compiles to, and its evaluation over a chunk of iterations.
//!
//! Every node owns a column of `CHUNK_SIZE` values; an instruction reads columns or
//! constants and writes one column, looping over the whole chunk ("push ifs up and fors
//! down"): the operator is matched once per chunk, never once per value.

use std::sync::OnceLock;

use crate::correlate::Correlation;
use crate::cost::OutOfMemory;
use crate::dist::{Dist, DistKind, InverseTable, ParamError};
use crate::model::Sampling;
use crate::rng::Stream;

mod exec;
mod scalar;

use exec::{Place, exec};
pub use scalar::{apply_clamp, apply_fold, apply_if, apply1, apply2};

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

/// Rows of a draw computed between two questions to [`Program::run_chunk`]'s `stop`.
pub const STOP_ROWS: usize = 256;

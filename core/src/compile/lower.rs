//! Lowering: the checked, ordered formulas emitted as the batched [`Program`]'s
//! instructions, constants folded as they go, every draw given its own site.

use std::collections::{HashMap, HashSet};

use super::resolve::distribution_call;

use crate::correlate;
use crate::diag::{Diagnostic, DiagnosticKind};
use crate::dist::{Dist, DistKind};
use crate::eval::{
    Draw, DrawInfo, Family, FixedDraw, Fold, Func1, Func2, Inner, Instr, Op, Operand, Program,
    apply_clamp, apply_fold, apply_if, apply1, apply2,
};
use crate::expr::{BinOp, Expr, ExprKind, UnOp};
use crate::sources::Source;

/// Emits instructions for nodes in dependency order, folding constants as it goes.
pub(super) struct Compiler {
    instrs: Vec<Instr>,
    slots: usize,
    free: Vec<usize>,
    /// The value of every node compiled so far: its column, or a constant it folded to.
    values: Vec<Operand>,
    /// Draw sites in use, to keep each one's random stream distinct.
    sites: HashSet<u32>,
    /// Every draw with per-iteration parameters, in the order emitted.
    draws: Vec<DrawInfo>,
    /// Every draw site, in the order emitted: the model's sources of randomness.
    sources: Vec<Source>,
    /// Columns of inline draws, never reused, so that a chunk's draws are still there when
    /// the sample takes its rows.
    pinned: HashSet<usize>,
}

impl Compiler {
    /// Draw sites emitted so far.
    pub(super) fn draw_sites(&self) -> usize {
        self.sites.len()
    }

    pub(super) fn new(nodes: usize) -> Compiler {
        Compiler {
            instrs: Vec::new(),
            slots: nodes,
            free: Vec::new(),
            values: (0..nodes).map(Operand::Col).collect(),
            sites: HashSet::from([correlate::SCORE_SITE]),
            draws: Vec::new(),
            sources: Vec::new(),
            pinned: HashSet::new(),
        }
    }

    pub(super) fn finish(self) -> (Program, Vec<Source>) {
        let program = Program {
            instrs: self.instrs,
            slots: self.slots,
            correlation: None,
            first: 0,
            draws: self.draws,
        };
        (program, self.sources)
    }

    pub(super) fn node(
        &mut self,
        i: usize,
        id: &str,
        src: &str,
        expr: &Expr,
        index: &HashMap<&str, usize>,
    ) -> Result<(), Vec<Diagnostic>> {
        let mut cx = NodeCx {
            id,
            node: i,
            src,
            index,
            draws: 0,
            errors: Vec::new(),
        };
        let value = self.expr(expr, &mut cx);
        if !cx.errors.is_empty() {
            return Err(cx.errors);
        }
        match value {
            Operand::Const(v) => {
                self.instrs.push(Instr {
                    op: Op::Fill(v),
                    out: i,
                });
                self.values[i] = Operand::Const(v);
            }
            Operand::Col(c) => {
                // The formula's last instruction wrote a temporary: have it write the node's
                // own column instead. A formula that only names another node is a copy.
                match self.instrs.last_mut() {
                    Some(last) if c >= self.values.len() && last.out == c => {
                        last.out = i;
                        // A draw that is the whole formula: its values are the node's.
                        if self.pinned.remove(&c)
                            && let Some(source) = self.sources.last_mut()
                        {
                            (source.slot, source.whole) = (i, true);
                        }
                    }
                    _ => self.instrs.push(Instr {
                        op: Op::Copy(c),
                        out: i,
                    }),
                }
                self.release(value);
            }
        }
        Ok(())
    }

    pub(super) fn temp(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    pub(super) fn release(&mut self, op: Operand) {
        if let Operand::Col(c) = op
            && c >= self.values.len()
            && !self.pinned.contains(&c)
        {
            self.free.push(c);
        }
    }

    /// Emits `op` writing a fresh temporary; the operands it consumes are released after.
    pub(super) fn emit(&mut self, op: Op, inputs: &[Operand]) -> Operand {
        let out = self.temp();
        self.instrs.push(Instr { op, out });
        for &input in inputs {
            self.release(input);
        }
        Operand::Col(out)
    }

    pub(super) fn expr(&mut self, expr: &Expr, cx: &mut NodeCx) -> Operand {
        match &expr.kind {
            ExprKind::Num(v) => Operand::Const(*v),
            ExprKind::Name(name) => cx
                .index
                .get(name.as_str())
                .map_or(Operand::Const(f64::NAN), |&j| self.values[j]),
            ExprKind::Unary(op, e) => {
                let f = match op {
                    UnOp::Neg => Func1::Neg,
                    UnOp::Not => Func1::Not,
                };
                let a = self.expr(e, cx);
                self.unary(f, a)
            }
            ExprKind::Binary(BinOp::To, a, b) => {
                self.draw(Inner::Ninety, &[&**a, &**b], None, expr, cx)
            }
            ExprKind::Binary(op, a, b) => {
                let f = match op {
                    BinOp::To | BinOp::Add => Func2::Add,
                    BinOp::Or => Func2::Or,
                    BinOp::And => Func2::And,
                    BinOp::Lt => Func2::Lt,
                    BinOp::Le => Func2::Le,
                    BinOp::Gt => Func2::Gt,
                    BinOp::Ge => Func2::Ge,
                    BinOp::Eq => Func2::Eq,
                    BinOp::Ne => Func2::Ne,
                    BinOp::Sub => Func2::Sub,
                    BinOp::Mul => Func2::Mul,
                    BinOp::Div => Func2::Div,
                    BinOp::Pow => Func2::Pow,
                };
                let a = self.expr(a, cx);
                let b = self.expr(b, cx);
                self.binary(f, a, b)
            }
            ExprKind::Call { name, args, .. } => self.call(name, args, expr, cx),
        }
    }

    pub(super) fn unary(&mut self, f: Func1, a: Operand) -> Operand {
        match a {
            Operand::Const(x) => Operand::Const(apply1(f, x)),
            Operand::Col(c) => self.emit(Op::Unary(f, c), &[a]),
        }
    }

    pub(super) fn binary(&mut self, f: Func2, a: Operand, b: Operand) -> Operand {
        match (a, b) {
            (Operand::Const(x), Operand::Const(y)) => Operand::Const(apply2(f, x, y)),
            _ => self.emit(Op::Binary(f, a, b), &[a, b]),
        }
    }

    pub(super) fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        expr: &Expr,
        cx: &mut NodeCx,
    ) -> Operand {
        if let Some(kind) = DistKind::from_name(name) {
            let args: Vec<&Expr> = args.iter().collect();
            return self.draw(Inner::Dist(kind), &args, None, expr, cx);
        }
        if name == "truncate" {
            let Some((inner, inner_args)) = args.first().and_then(distribution_call) else {
                return Operand::Const(f64::NAN);
            };
            return self.draw(inner, &inner_args, Some(&args[1..]), expr, cx);
        }
        let values: Vec<Operand> = args.iter().map(|a| self.expr(a, cx)).collect();
        let consts = constants(&values);
        let f1 = match name {
            "abs" => Some(Func1::Abs),
            "sqrt" => Some(Func1::Sqrt),
            "exp" => Some(Func1::Exp),
            "ln" => Some(Func1::Ln),
            "log10" => Some(Func1::Log10),
            "floor" => Some(Func1::Floor),
            "ceil" => Some(Func1::Ceil),
            "round" => Some(Func1::Round),
            "sign" => Some(Func1::Sign),
            "sin" => Some(Func1::Sin),
            "cos" => Some(Func1::Cos),
            "tan" => Some(Func1::Tan),
            _ => None,
        };
        if let Some(f) = f1 {
            return self.unary(f, values[0]);
        }
        match name {
            "pow" => self.binary(Func2::Pow, values[0], values[1]),
            "log" => self.binary(Func2::Log, values[0], values[1]),
            "mod" => self.binary(Func2::Mod, values[0], values[1]),
            "if" => match consts {
                Some(c) => Operand::Const(apply_if(c[0], c[1], c[2])),
                None => self.emit(Op::If(values[0], values[1], values[2]), &values),
            },
            "clamp" => match consts {
                Some(c) => Operand::Const(apply_clamp(c[0], c[1], c[2])),
                None => self.emit(Op::Clamp(values[0], values[1], values[2]), &values),
            },
            "min" | "max" | "sum" | "mean" => {
                let func = match name {
                    "min" => Fold::Min,
                    "max" => Fold::Max,
                    "sum" => Fold::Sum,
                    _ => Fold::Mean,
                };
                if let Some(c) = consts {
                    return Operand::Const(apply_fold(func, c.into_iter()));
                }
                match (func, values.as_slice()) {
                    (_, [one]) => *one,
                    (Fold::Min, [a, b]) => self.binary(Func2::Min, *a, *b),
                    (Fold::Max, [a, b]) => self.binary(Func2::Max, *a, *b),
                    (Fold::Sum, [a, b]) => self.binary(Func2::Add, *a, *b),
                    _ => self.emit(
                        Op::Fold {
                            func,
                            args: values.clone(),
                        },
                        &values,
                    ),
                }
            }
            // `check` reported anything else already.
            _ => Operand::Const(f64::NAN),
        }
    }

    /// A draw site: a distribution call, `a to b`, or `truncate(D, bounds...)`.
    pub(super) fn draw(
        &mut self,
        inner: Inner,
        args: &[&Expr],
        bounds: Option<&[Expr]>,
        call: &Expr,
        cx: &mut NodeCx,
    ) -> Operand {
        let mut params: Vec<Operand> = args.iter().map(|a| self.expr(a, cx)).collect();
        let n_inner = params.len();
        if let Some(bounds) = bounds {
            for b in bounds {
                let v = self.expr(b, cx);
                params.push(v);
            }
        }
        let site = self.site(cx.id, cx.draws);
        cx.draws += 1;
        let text = cx
            .src
            .get(call.span.start..call.span.end)
            .unwrap_or_default()
            .to_string();
        let consts = constants(&params);
        let family = match bounds {
            None => match inner {
                Inner::Dist(k) => Family::Dist(k),
                Inner::Ninety => Family::Ninety,
            },
            Some(b) => Family::Truncated {
                inner,
                upper: b.len() == 2,
            },
        };
        let draw = match consts {
            Some(p) => {
                let built = match inner {
                    Inner::Dist(k) => Dist::new(k, &p[..n_inner]),
                    Inner::Ninety => Dist::ninety_percent(p[0], p[1]),
                };
                let built = built.and_then(|d| match bounds {
                    None => Ok(d),
                    Some(_) => {
                        let hi = p.get(n_inner + 1).copied().unwrap_or(f64::INFINITY);
                        d.truncated(p[n_inner], hi).map_err(|mut e| {
                            // Point at the bounds, not the inner distribution's arguments.
                            e.arg = e.arg.map(|a| a + n_inner);
                            e
                        })
                    }
                });
                match built {
                    Ok(dist) => Draw::Fixed(FixedDraw::new(dist)),
                    Err(e) => {
                        let all_args: Vec<&Expr> = args
                            .iter()
                            .copied()
                            .chain(bounds.into_iter().flatten())
                            .collect();
                        let span = e
                            .arg
                            .and_then(|a| all_args.get(a))
                            .map_or(call.span, |a| a.span);
                        let what = match inner {
                            Inner::Dist(k) => format!("`{}`", k.name()),
                            Inner::Ninety => "`to`".to_string(),
                        };
                        cx.errors.push(Diagnostic::in_expr(
                            DiagnosticKind::InvalidParameter,
                            format!("invalid parameters for {what}: {}", e.message),
                            cx.id,
                            span,
                        ));
                        return Operand::Const(f64::NAN);
                    }
                }
            }
            None => {
                self.draws.push(DrawInfo {
                    node: cx.node,
                    text: text.clone(),
                });
                Draw::Varying {
                    family,
                    params: params.clone(),
                    index: self.draws.len() - 1,
                }
            }
        };
        let varying = matches!(draw, Draw::Varying { .. });
        let value = self.emit(Op::Draw { site, draw }, &params);
        if let Operand::Col(slot) = value {
            self.pinned.insert(slot);
            self.sources.push(Source {
                node: cx.node,
                text,
                whole: false,
                slot,
                varying,
            });
        }
        value
    }

    /// The random stream of the `k`-th draw in node `id`. Keyed by the node's id rather than
    /// its position, so adding or reordering nodes leaves every other node's draws unchanged
    /// (common random numbers between versions of a model).
    pub(super) fn site(&mut self, id: &str, k: u32) -> u32 {
        let mut h: u32 = 0x811c_9dc5; // FNV-1a
        for b in id.bytes().chain(k.to_le_bytes()) {
            h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
        // A collision would make two sites draw the same numbers: probe to the next free one.
        while !self.sites.insert(h) {
            h = h.wrapping_add(0x9e37_79b9);
        }
        h
    }
}

/// The values of `operands` when every one is a constant.
pub(super) fn constants(operands: &[Operand]) -> Option<Vec<f64>> {
    operands
        .iter()
        .map(|v| {
            if let Operand::Const(x) = v {
                Some(*x)
            } else {
                None
            }
        })
        .collect()
}

pub(super) struct NodeCx<'a> {
    id: &'a str,
    /// The node's position and formula, for naming its draws.
    node: usize,
    src: &'a str,
    index: &'a HashMap<&'a str, usize>,
    draws: u32,
    errors: Vec<Diagnostic>,
}

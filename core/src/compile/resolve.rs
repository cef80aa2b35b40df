//! Names and order: each formula's names resolved and calls checked (functions and their
//! argument counts, distributions), and the nodes put in an order where each comes after
//! those it references, or the cycles that forbid one.

use std::collections::{HashMap, HashSet};

use crate::diag::{Diagnostic, DiagnosticKind, Span, closest};
use crate::dist::DistKind;
use crate::eval::Inner;
use crate::expr::{BinOp, Expr, ExprKind, UnOp};
use crate::model::ModelSpec;

/// Functions of the formula language that are not distributions, with their argument counts.
pub(super) const FUNCTIONS: &[(&str, Arity)] = &[
    ("if", Arity::Exact(3)),
    ("abs", Arity::Exact(1)),
    ("sqrt", Arity::Exact(1)),
    ("exp", Arity::Exact(1)),
    ("ln", Arity::Exact(1)),
    ("log10", Arity::Exact(1)),
    ("log", Arity::Exact(2)),
    ("pow", Arity::Exact(2)),
    ("mod", Arity::Exact(2)),
    ("min", Arity::AtLeast(1)),
    ("max", Arity::AtLeast(1)),
    ("sum", Arity::AtLeast(1)),
    ("mean", Arity::AtLeast(1)),
    ("clamp", Arity::Exact(3)),
    ("floor", Arity::Exact(1)),
    ("ceil", Arity::Exact(1)),
    ("round", Arity::Exact(1)),
    ("sign", Arity::Exact(1)),
    ("sin", Arity::Exact(1)),
    ("cos", Arity::Exact(1)),
    ("tan", Arity::Exact(1)),
    ("truncate", Arity::Range(2, 3)),
];

#[derive(Clone, Copy, Debug)]
pub(super) enum Arity {
    Exact(usize),
    AtLeast(usize),
    Range(usize, usize),
}

impl Arity {
    fn allows(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::AtLeast(k) => n >= k,
            Arity::Range(lo, hi) => (lo..=hi).contains(&n),
        }
    }

    fn describe(self) -> String {
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        match self {
            Arity::Exact(k) => format!("{k} argument{}", plural(k)),
            Arity::AtLeast(k) => format!("at least {k} argument{}", plural(k)),
            Arity::Range(lo, hi) => format!("{lo} or {hi} arguments"),
        }
    }
}

/// Every name a formula may call: the functions and the distributions.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS
        .iter()
        .map(|(n, _)| *n)
        .chain(DistKind::ALL.iter().map(|k| k.name()))
}

pub(super) fn is_function(name: &str) -> bool {
    function_names().any(|f| f == name)
}

pub(super) fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) const KEYWORDS: [&str; 4] = ["to", "and", "or", "not"];

/// Whether `expr` gives only 1 or 0, `boolean` saying so of the nodes compiled before it.
pub(super) fn is_yes_no(expr: &Expr, index: &HashMap<&str, usize>, boolean: &[bool]) -> bool {
    match &expr.kind {
        ExprKind::Num(v) => *v == 0.0 || *v == 1.0,
        ExprKind::Name(name) => index.get(name.as_str()).is_some_and(|&j| boolean[j]),
        ExprKind::Unary(UnOp::Not, _) => true,
        ExprKind::Unary(UnOp::Neg, _) => false,
        ExprKind::Binary(op, _, _) => matches!(
            op,
            BinOp::Or
                | BinOp::And
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::Eq
                | BinOp::Ne
        ),
        ExprKind::Call { name, args, .. } => match (name.as_str(), args.as_slice()) {
            ("bernoulli", _) => true,
            ("if", [_, a, b]) => is_yes_no(a, index, boolean) && is_yes_no(b, index, boolean),
            _ => false,
        },
    }
}

/// Resolves names and checks calls in one formula, collecting references to other nodes.
pub(super) fn check(
    expr: &Expr,
    node: &str,
    index: &HashMap<&str, usize>,
    refs: &mut Vec<(usize, Span)>,
    diags: &mut Vec<Diagnostic>,
    hints: &mut usize,
) {
    match &expr.kind {
        ExprKind::Num(_) => {}
        ExprKind::Name(name) => {
            if let Some(&j) = index.get(name.as_str()) {
                refs.push((j, expr.span));
            } else if is_function(name) {
                diags.push(Diagnostic::in_expr(
                    DiagnosticKind::UnknownName,
                    format!("`{name}` is a function; call it with arguments, as in `{name}(...)`"),
                    node,
                    expr.span,
                ));
            } else {
                let near = if *hints > 0 {
                    *hints -= 1;
                    closest(name, index.keys().copied())
                } else {
                    None
                };
                let message = match near {
                    Some(near) => format!("unknown name `{name}`, did you mean `{near}`?"),
                    None => format!("unknown name `{name}`"),
                };
                diags.push(Diagnostic::in_expr(
                    DiagnosticKind::UnknownName,
                    message,
                    node,
                    expr.span,
                ));
            }
        }
        ExprKind::Unary(_, e) => check(e, node, index, refs, diags, hints),
        ExprKind::Binary(_, a, b) => {
            check(a, node, index, refs, diags, hints);
            check(b, node, index, refs, diags, hints);
        }
        ExprKind::Call {
            name,
            name_span,
            args,
        } => {
            let arity_error = if let Some(kind) = DistKind::from_name(name) {
                (!kind.arity_ok(args.len())).then(|| kind.arity_text().to_string())
            } else if let Some((_, arity)) = FUNCTIONS.iter().find(|(n, _)| n == name) {
                (!arity.allows(args.len())).then(|| arity.describe())
            } else {
                let message = if index.contains_key(name.as_str()) {
                    format!("`{name}` is a node, not a function")
                } else if let Some(near) = closest(name, function_names()) {
                    format!("unknown function `{name}`, did you mean `{near}`?")
                } else {
                    format!("unknown function `{name}`")
                };
                diags.push(Diagnostic::in_expr(
                    DiagnosticKind::UnknownFunction,
                    message,
                    node,
                    *name_span,
                ));
                None
            };
            if let Some(expected) = arity_error {
                let given = args.len();
                diags.push(Diagnostic::in_expr(
                    DiagnosticKind::ArgumentCount,
                    format!("`{name}` takes {expected}, got {given}"),
                    node,
                    expr.span,
                ));
            }
            if let Some(first) = args.first().filter(|_| name == "truncate")
                && distribution_call(first).is_none()
            {
                diags.push(Diagnostic::in_expr(
                    DiagnosticKind::NotADistribution,
                    "the first argument of `truncate` must be a distribution call such as `normal(0, 1)` or `a to b`",
                    node,
                    first.span,
                ));
            }
            for a in args {
                check(a, node, index, refs, diags, hints);
            }
        }
    }
}

/// The distribution `expr` calls directly, if it is a distribution call or `a to b`.
pub(super) fn distribution_call(expr: &Expr) -> Option<(Inner, Vec<&Expr>)> {
    match &expr.kind {
        ExprKind::Call { name, args, .. } => {
            DistKind::from_name(name).map(|k| (Inner::Dist(k), args.iter().collect()))
        }
        ExprKind::Binary(BinOp::To, a, b) => Some((Inner::Ninety, vec![&**a, &**b])),
        _ => None,
    }
}

/// Nodes in an order where every node comes after those it references (depth-first, in
/// model order), or a diagnostic for every cycle, named in full.
pub(super) fn topological_order(
    spec: &ModelSpec,
    refs: &[Vec<(usize, Span)>],
) -> Result<Vec<usize>, Vec<Diagnostic>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let n = spec.nodes.len();
    let mut mark = vec![Mark::New; n];
    let mut order = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut in_reported_cycle = HashSet::new();
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // An explicit stack of (node, next reference to follow): deep chains of nodes must
        // not overflow the call stack.
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&(target, span)) = refs[node].get(*next) {
                *next += 1;
                match mark[target] {
                    Mark::New => {
                        mark[target] = Mark::OnPath;
                        stack.push((target, 0));
                    }
                    Mark::OnPath => {
                        let start = stack.iter().position(|&(s, _)| s == target).unwrap_or(0);
                        let cycle: Vec<usize> = stack[start..].iter().map(|&(s, _)| s).collect();
                        if cycle.iter().all(|c| in_reported_cycle.insert(*c)) || cycle.len() == 1 {
                            let mut names: Vec<&str> =
                                cycle.iter().map(|&c| spec.nodes[c].id.as_str()).collect();
                            names.push(&spec.nodes[target].id);
                            // Point at the reference that leaves the cycle's first node.
                            let first = cycle[0];
                            let second = cycle.get(1).copied().unwrap_or(first);
                            let at = refs[first]
                                .iter()
                                .find(|&&(t, _)| t == second)
                                .map_or(span, |&(_, s)| s);
                            errors.push(Diagnostic::in_expr(
                                DiagnosticKind::Cycle,
                                format!("cycle: {}", names.join(" -> ")),
                                &spec.nodes[first].id,
                                at,
                            ));
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    if errors.is_empty() {
        Ok(order)
    } else {
        Err(errors)
    }
}

//! Compilation: a [`ModelSpec`] is checked (ids, formulas, names, cycles, constant
//! parameters) and turned into a [`Model`]: a batched [`Program`] plus what the run needs to
//! know about each node. Every problem found is reported at once.

use std::collections::{HashMap, HashSet};

use crate::correlate;
use crate::diag::{Diagnostic, DiagnosticKind, Span, closest};
use crate::dist::{Dist, DistKind};
use crate::eval::{
    Draw, DrawInfo, Family, FixedDraw, Fold, Func1, Func2, Inner, Instr, Op, Operand, Program,
    apply_clamp, apply_fold, apply_if, apply1, apply2,
};
use crate::expr::{BinOp, Expr, ExprKind, UnOp, parse};
use crate::limits::{
    MAX_CORRELATIONS, MAX_DIAGNOSTICS, MAX_ID_LEN, MAX_NODES, MAX_SUGGESTIONS, MAX_TEXT_LEN,
    MAX_THRESHOLDS,
};
use crate::model::{ModelSpec, NodeSpec, thousands};
use crate::sources::{self, Source};
use crate::summary::threshold_key;

/// A validated, compiled model.
#[derive(Clone, Debug)]
pub struct Model {
    pub nodes: Vec<NodeInfo>,
    /// Indices of the output nodes, in model order.
    pub outputs: Vec<usize>,
    /// Indices of the stochastic inputs (nodes whose own formula draws), in model order.
    pub inputs: Vec<usize>,
    /// Every draw site: the model's sources of randomness.
    pub sources: Vec<Source>,
    /// For each output (as in `outputs`), the sources it depends on: its drivers.
    pub drivers: Vec<Vec<usize>>,
    pub program: Program,
    /// Problems that do not stop the model from running, e.g. repaired correlations.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub id: String,
    /// The node's own formula draws at least once.
    pub stochastic: bool,
    /// Every value is 1 (yes) or 0 (no): a comparison, `and`, `or`, `not`, a `bernoulli`
    /// draw, an `if` between two such, or another such node.
    pub boolean: bool,
    pub thresholds: Vec<f64>,
}

impl Model {
    pub fn node_ids(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.id.as_str())
    }

    /// The nodes a correlation may name, in model order.
    pub fn correlatable(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| correlatable(&self.program, i).is_ok())
    }
}

/// Whether node `node` may be correlated, and why not: its only instruction must be a draw
/// with constant parameters (so it depends on nothing, and reordering its values within a
/// chunk breaks no link to another node).
fn correlatable(program: &Program, node: usize) -> Result<(), String> {
    let mut writes = program.instrs.iter().filter(|ins| ins.out == node);
    match (writes.next().map(|ins| &ins.op), writes.next()) {
        (
            Some(Op::Draw {
                draw: Draw::Fixed(_),
                ..
            }),
            None,
        ) => Ok(()),
        (
            Some(Op::Draw {
                draw: Draw::Varying { .. },
                ..
            }),
            None,
        ) => Err("its distribution's parameters depend on other nodes; only inputs with constant parameters can be correlated".to_string()),
        _ => Err("it is not a stochastic input (a node whose formula is one distribution call, or `a to b`)".to_string()),
    }
}

/// Functions of the formula language that are not distributions, with their argument counts.
const FUNCTIONS: &[(&str, Arity)] = &[
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
enum Arity {
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

fn is_function(name: &str) -> bool {
    function_names().any(|f| f == name)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

const KEYWORDS: [&str; 4] = ["to", "and", "or", "not"];

/// Checks and compiles a model; on failure, every diagnostic found.
pub fn compile(spec: &ModelSpec) -> Result<Model, Vec<Diagnostic>> {
    compile_unbounded_diagnostics(spec).map_err(cap_diagnostics)
}

/// At most [`MAX_DIAGNOSTICS`] of `diags`, and then one that says how many more there were.
pub fn cap_diagnostics(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    if diags.len() > MAX_DIAGNOSTICS {
        let more = diags.len() - MAX_DIAGNOSTICS;
        diags.truncate(MAX_DIAGNOSTICS);
        diags.push(Diagnostic::new(
            DiagnosticKind::TooLarge,
            format!(
                "and {} more problems; only the first {MAX_DIAGNOSTICS} are listed",
                thousands(more as u64)
            ),
        ));
    }
    diags
}

/// Counts the limits that decide whether compiling is worth starting: a model over them is
/// refused before anything in it is looked at.
fn check_size(spec: &ModelSpec) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut over = |field: &str, what: String| {
        diags.push(Diagnostic::new(DiagnosticKind::TooLarge, what).at_field(field));
    };
    if spec.nodes.len() > MAX_NODES {
        over(
            "nodes",
            format!(
                "the model has {} nodes; the limit is {}",
                thousands(spec.nodes.len() as u64),
                thousands(MAX_NODES as u64)
            ),
        );
    }
    if spec.correlations.len() > MAX_CORRELATIONS {
        over(
            "correlations",
            format!(
                "the model has {} correlations; the limit is {}",
                thousands(spec.correlations.len() as u64),
                thousands(MAX_CORRELATIONS as u64)
            ),
        );
    }
    for (field, text) in [
        ("name", Some(&spec.name)),
        ("description", spec.description.as_ref()),
    ] {
        if let Some(text) = text
            && text.len() > MAX_TEXT_LEN
        {
            over(
                field,
                format!(
                    "the model's {field} is {} bytes long; the limit is {}",
                    thousands(text.len() as u64),
                    thousands(MAX_TEXT_LEN as u64)
                ),
            );
        }
    }
    diags
}

/// A node's own limits: its id's length, its texts and its threshold count. True when its
/// id is too long (it then takes no part in name resolution).
fn check_node_size(i: usize, node: &NodeSpec, diags: &mut Vec<Diagnostic>) -> bool {
    let id = node.id.as_str();
    let shown: String = id.chars().take(MAX_ID_LEN).collect();
    let long_id = id.chars().count() > MAX_ID_LEN;
    if long_id {
        diags.push(
            Diagnostic::new(
                DiagnosticKind::InvalidId,
                format!(
                    "invalid id `{shown}…`: it is {} characters long; the limit is {MAX_ID_LEN}",
                    id.chars().count()
                ),
            )
            .at_field(format!("nodes[{i}].id")),
        );
    }
    for (field, text) in [
        ("label", &node.label),
        ("unit", &node.unit),
        ("description", &node.description),
    ] {
        if let Some(text) = text
            && text.len() > MAX_TEXT_LEN
        {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::TooLarge,
                    format!(
                        "the {field} of `{shown}` is {} bytes long; the limit is {}",
                        thousands(text.len() as u64),
                        thousands(MAX_TEXT_LEN as u64)
                    ),
                )
                .at_field(format!("nodes[{i}].{field}")),
            );
        }
    }
    if node.thresholds.len() > MAX_THRESHOLDS {
        diags.push(
            Diagnostic::new(
                DiagnosticKind::TooLarge,
                format!(
                    "`{shown}` has {} thresholds; the limit is {MAX_THRESHOLDS}",
                    node.thresholds.len()
                ),
            )
            .at_field(format!("nodes[{i}].thresholds")),
        );
    }
    long_id
}

pub(crate) fn compile_unbounded_diagnostics(spec: &ModelSpec) -> Result<Model, Vec<Diagnostic>> {
    let mut diags = check_size(spec);
    if !diags.is_empty() {
        return Err(diags);
    }
    if spec.nodes.is_empty() {
        diags.push(
            Diagnostic::new(
                DiagnosticKind::MissingField,
                "the model has no nodes; add at least one",
            )
            .at_field("nodes"),
        );
    }

    // Ids first, so formulas can be checked against the full set of names.
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in spec.nodes.iter().enumerate() {
        let id = node.id.as_str();
        let field = format!("nodes[{i}].id");
        if check_node_size(i, node, &mut diags) {
            continue;
        } else if !valid_id(id) {
            let d = Diagnostic::new(
                DiagnosticKind::InvalidId,
                format!(
                    "invalid id `{id}`: an id is a letter or `_` followed by letters, digits or `_`"
                ),
            )
            .at_field(field);
            diags.push(if id.is_empty() { d } else { d.at_node(id) });
        } else if is_function(id) || KEYWORDS.contains(&id) {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidId,
                    format!("invalid id `{id}`: it is the name of a function or keyword"),
                )
                .at_node(id)
                .at_field(field),
            );
        } else if index.insert(id, i).is_some() {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::DuplicateId,
                    format!("duplicate id `{id}`: ids must be unique"),
                )
                .at_node(id)
                .at_field(field),
            );
        }
        for (t, &x) in node.thresholds.iter().enumerate().take(MAX_THRESHOLDS) {
            let at = format!("nodes[{i}].thresholds[{t}]");
            if !x.is_finite() {
                diags.push(
                    Diagnostic::new(
                        DiagnosticKind::InvalidSetting,
                        format!("threshold must be finite, got {x}"),
                    )
                    .at_node(id)
                    .at_field(at),
                );
                continue;
            }
            // The summary keys P(value < x) by x as written (`threshold_key`): two
            // thresholds with one key, such as 0 and -0, would give one answer twice.
            let key = threshold_key(x);
            if let Some(first) = node.thresholds[..t]
                .iter()
                .position(|&y| threshold_key(y) == key)
            {
                diags.push(
                    Diagnostic::new(
                        DiagnosticKind::InvalidSetting,
                        format!(
                            "threshold {x} of `{id}` is given twice (first at thresholds[{first}])"
                        ),
                    )
                    .at_node(id)
                    .at_field(at),
                );
            }
        }
    }

    // Parse and resolve every formula. Only the first few unknown names get a suggestion.
    let mut hints = MAX_SUGGESTIONS;
    let mut parsed: Vec<Option<Expr>> = Vec::with_capacity(spec.nodes.len());
    let mut refs: Vec<Vec<(usize, Span)>> = Vec::with_capacity(spec.nodes.len());
    for node in &spec.nodes {
        let id = node.id.as_str();
        match parse(&node.expr) {
            Ok(expr) => {
                let before = diags.len();
                let mut found = Vec::new();
                check(&expr, id, &index, &mut found, &mut diags, &mut hints);
                parsed.push((diags.len() == before).then_some(expr));
                refs.push(found);
            }
            Err(d) => {
                diags.push((*d).at_node(id));
                parsed.push(None);
                refs.push(Vec::new());
            }
        }
    }

    let order = match topological_order(spec, &refs) {
        Ok(order) => order,
        Err(cycles) => {
            diags.extend(cycles);
            return Err(diags);
        }
    };

    let mut compiler = Compiler::new(spec.nodes.len());
    let mut stochastic = vec![false; spec.nodes.len()];
    let mut boolean = vec![false; spec.nodes.len()];
    for &i in &order {
        let Some(expr) = &parsed[i] else { continue };
        boolean[i] = is_yes_no(expr, &index, &boolean);
        let id = spec.nodes[i].id.as_str();
        let draws_before = compiler.sites.len();
        match compiler.node(i, id, &spec.nodes[i].expr, expr, &index) {
            Ok(()) => stochastic[i] = compiler.sites.len() > draws_before,
            Err(mut errors) => diags.append(&mut errors),
        }
    }
    if !diags.is_empty() {
        // The pairs' names and values can still be checked, so that they are reported too.
        if let Err(mut errors) = correlate::build(&spec.correlations, &index, |_| Ok(())) {
            diags.append(&mut errors);
        }
        return Err(diags);
    }

    let mut referenced = vec![false; spec.nodes.len()];
    for r in &refs {
        for &(j, _) in r {
            referenced[j] = true;
        }
    }
    let marked: Vec<usize> = (0..spec.nodes.len())
        .filter(|&i| spec.nodes[i].output)
        .collect();
    let outputs = if marked.is_empty() {
        (0..spec.nodes.len()).filter(|&i| !referenced[i]).collect()
    } else {
        marked
    };
    let nodes = spec
        .nodes
        .iter()
        .zip(stochastic.iter().zip(&boolean))
        .map(|(n, (&s, &b))| NodeInfo {
            id: n.id.clone(),
            stochastic: s,
            boolean: b,
            thresholds: n.thresholds.clone(),
        })
        .collect();
    let (mut program, sources) = compiler.finish();
    let input_ok = |node: usize| correlatable(&program, node);
    let built = correlate::build(&spec.correlations, &index, input_ok)?;
    let mut warnings = Vec::new();
    warnings.extend(built.warning);
    if let Some(c) = built.correlation {
        program.correlate(c);
    }
    let drivers = sources::upstream(&program, &sources, &outputs);
    Ok(Model {
        nodes,
        sources,
        drivers,
        outputs,
        inputs: (0..spec.nodes.len()).filter(|&i| stochastic[i]).collect(),
        program,
        warnings,
    })
}

/// Whether `expr` gives only 1 or 0, `boolean` saying so of the nodes compiled before it.
fn is_yes_no(expr: &Expr, index: &HashMap<&str, usize>, boolean: &[bool]) -> bool {
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
fn check(
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
fn distribution_call(expr: &Expr) -> Option<(Inner, Vec<&Expr>)> {
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
fn topological_order(
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

/// Emits instructions for nodes in dependency order, folding constants as it goes.
struct Compiler {
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
    fn new(nodes: usize) -> Compiler {
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

    fn finish(self) -> (Program, Vec<Source>) {
        let program = Program {
            instrs: self.instrs,
            slots: self.slots,
            correlation: None,
            first: 0,
            draws: self.draws,
        };
        (program, self.sources)
    }

    fn node(
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

    fn temp(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    fn release(&mut self, op: Operand) {
        if let Operand::Col(c) = op
            && c >= self.values.len()
            && !self.pinned.contains(&c)
        {
            self.free.push(c);
        }
    }

    /// Emits `op` writing a fresh temporary; the operands it consumes are released after.
    fn emit(&mut self, op: Op, inputs: &[Operand]) -> Operand {
        let out = self.temp();
        self.instrs.push(Instr { op, out });
        for &input in inputs {
            self.release(input);
        }
        Operand::Col(out)
    }

    fn expr(&mut self, expr: &Expr, cx: &mut NodeCx) -> Operand {
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

    fn unary(&mut self, f: Func1, a: Operand) -> Operand {
        match a {
            Operand::Const(x) => Operand::Const(apply1(f, x)),
            Operand::Col(c) => self.emit(Op::Unary(f, c), &[a]),
        }
    }

    fn binary(&mut self, f: Func2, a: Operand, b: Operand) -> Operand {
        match (a, b) {
            (Operand::Const(x), Operand::Const(y)) => Operand::Const(apply2(f, x, y)),
            _ => self.emit(Op::Binary(f, a, b), &[a, b]),
        }
    }

    fn call(&mut self, name: &str, args: &[Expr], expr: &Expr, cx: &mut NodeCx) -> Operand {
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
    fn draw(
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
    fn site(&mut self, id: &str, k: u32) -> u32 {
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
fn constants(operands: &[Operand]) -> Option<Vec<f64>> {
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

struct NodeCx<'a> {
    id: &'a str,
    /// The node's position and formula, for naming its draws.
    node: usize,
    src: &'a str,
    index: &'a HashMap<&'a str, usize>,
    draws: u32,
    errors: Vec<Diagnostic>,
}

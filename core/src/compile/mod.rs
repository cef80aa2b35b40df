//! Compilation: a [`ModelSpec`] is checked (ids, formulas, names, cycles, constant
//! parameters) and turned into a [`Model`]: a batched [`Program`] plus what the run needs to
//! know about each node. Every problem found is reported at once.

use std::collections::HashMap;

use crate::correlate;
use crate::diag::{Diagnostic, DiagnosticKind, Span};
use crate::eval::{Draw, Op, Program};
use crate::expr::{Expr, parse};
use crate::limits::{
    MAX_CORRELATIONS, MAX_DIAGNOSTICS, MAX_ID_LEN, MAX_NODES, MAX_SUGGESTIONS, MAX_TEXT_LEN,
    MAX_THRESHOLDS,
};
use crate::model::{ModelSpec, NodeSpec, thousands};
use crate::sources::{self, Source};
use crate::summary::threshold_key;

mod lower;
mod resolve;

use lower::Compiler;
pub use resolve::function_names;
use resolve::{KEYWORDS, check, is_function, is_yes_no, topological_order, valid_id};

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
        let draws_before = compiler.draw_sites();
        match compiler.node(i, id, &spec.nodes[i].expr, expr, &index) {
            Ok(()) => stochastic[i] = compiler.draw_sites() > draws_before,
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

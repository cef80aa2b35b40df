//! Edits of a model that are more than setting a field: renaming a node everywhere it is
//! referenced, undo and redo, and the diagnostics of the current model.

use scenarioforge_core::expr::references;
use scenarioforge_core::model::NodeSpec;
use scenarioforge_core::{Diagnostic, Limits, ModelSpec, Settings, check};

/// `formula` with every reference to the node `old` replaced by `new`, references as the
/// engine reads them ([`references`]); a formula the lexer cannot read is left as it is.
pub fn rename_in_formula(formula: &str, old: &str, new: &str) -> String {
    let Some(refs) = references(formula) else {
        return formula.to_string();
    };
    let mut out = String::with_capacity(formula.len());
    let mut last = 0;
    for (name, span) in refs {
        if name == old {
            out.push_str(&formula[last..span.start]);
            out.push_str(new);
            last = span.end;
        }
    }
    out.push_str(&formula[last..]);
    out
}

/// Renames node `index` to `new` and rewrites every formula that refers to it.
pub fn rename_node(spec: &mut ModelSpec, index: usize, new: &str) {
    let Some(old) = spec.nodes.get(index).map(|n| n.id.clone()) else {
        return;
    };
    if old == new {
        return;
    }
    // Only rewrite references when the old id was unique: with duplicates, a reference
    // cannot be told apart.
    let unique = spec.nodes.iter().filter(|n| n.id == old).count() == 1;
    for node in &mut spec.nodes {
        if unique && !old.is_empty() {
            node.expr = rename_in_formula(&node.expr, &old, new);
        }
    }
    spec.nodes[index].id = new.to_string();
}

/// An id not used in `spec`, starting from `base`: `base`, `base_2`, `base_3`, ...
pub fn fresh_id(spec: &ModelSpec, base: &str) -> String {
    let taken = |id: &str| spec.nodes.iter().any(|n| n.id == id);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|k| format!("{base}_{k}"))
        .find(|id| !taken(id))
        .unwrap_or_default()
}

/// A new node for the end of `spec`.
pub fn new_node(spec: &ModelSpec) -> NodeSpec {
    NodeSpec {
        id: fresh_id(spec, "node"),
        expr: "normal(100, 10)".to_string(),
        label: None,
        unit: None,
        description: None,
        output: false,
        thresholds: Vec::new(),
    }
}

/// An empty model with one node to start from.
pub fn blank_model() -> ModelSpec {
    let mut spec = ModelSpec {
        name: "Untitled model".to_string(),
        description: None,
        nodes: Vec::new(),
        correlations: Vec::new(),
        settings: Default::default(),
    };
    spec.nodes.push(new_node(&spec));
    spec
}

/// Undo and redo: snapshots of the model before each edit. Typing in one field makes one
/// step, not one per keystroke: an edit with the same `group` as the previous one joins it.
#[derive(Clone, Debug, Default)]
pub struct History {
    past: Vec<ModelSpec>,
    future: Vec<ModelSpec>,
    last_group: Option<String>,
}

const HISTORY_LIMIT: usize = 200;

impl History {
    /// Records `before`, the model as it was before an edit in `group`.
    pub fn record(&mut self, before: &ModelSpec, group: Option<&str>) {
        let joins = group.is_some() && group == self.last_group.as_deref();
        if !joins {
            self.past.push(before.clone());
            if self.past.len() > HISTORY_LIMIT {
                self.past.remove(0);
            }
        }
        self.future.clear();
        self.last_group = group.map(str::to_string);
    }

    pub fn undo(&mut self, current: &ModelSpec) -> Option<ModelSpec> {
        let previous = self.past.pop()?;
        self.future.push(current.clone());
        self.last_group = None;
        Some(previous)
    }

    pub fn redo(&mut self, current: &ModelSpec) -> Option<ModelSpec> {
        let next = self.future.pop()?;
        self.past.push(current.clone());
        self.last_group = None;
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.past.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.future.is_empty()
    }
}

/// Every problem with the model and its settings, as the engine reports them; empty when it
/// runs. The limits are the server's defaults: the browser's own limits only decide where a
/// run goes.
pub fn diagnostics(spec: &ModelSpec) -> Vec<Diagnostic> {
    match check(spec, &Settings::default(), &Limits::default()) {
        Ok(_) => Vec::new(),
        Err(rejected) => rejected.into_diagnostics(),
    }
}

/// A node's index from a diagnostic's `field` (`nodes[3].id`), for problems reported by
/// field rather than by node.
pub fn node_index_of_field(field: &str) -> Option<usize> {
    let rest = field.strip_prefix("nodes[")?;
    let end = rest.find(']')?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(formula: &str, expected: &str) {
        assert_eq!(rename_in_formula(formula, "rev", "revenue"), expected);
    }

    #[test]
    fn rename_rewrites_references_only() {
        check("rev - costs", "revenue - costs");
        check("rev*rev", "revenue*revenue");
        check("revx + x_rev + rev", "revx + x_rev + revenue");
        check("rev(1) + rev", "rev(1) + revenue");
        check("max(rev, 0)", "max(revenue, 0)");
        check("rev + $", "rev + $");
    }

    #[test]
    fn rename_node_updates_every_formula() {
        let mut spec = ModelSpec::from_json(
            r#"{"nodes": [{"id": "a", "expr": "1 to 2"}, {"id": "b", "expr": "a * 2 + a"}]}"#,
        )
        .expect("valid model");
        rename_node(&mut spec, 0, "price");
        assert_eq!(spec.nodes[0].id, "price");
        assert_eq!(spec.nodes[1].expr, "price * 2 + price");
    }

    #[test]
    fn history_groups_typing() {
        let a = blank_model();
        let mut b = a.clone();
        b.name = "b".into();
        let mut c = b.clone();
        c.name = "c".into();
        let mut h = History::default();
        h.record(&a, Some("name"));
        h.record(&b, Some("name"));
        assert_eq!(h.undo(&c), Some(a.clone()));
        assert_eq!(h.redo(&a), Some(c));
        assert!(!h.can_redo());
    }

    #[test]
    fn field_index() {
        assert_eq!(node_index_of_field("nodes[12].id"), Some(12));
        assert_eq!(node_index_of_field("settings.iterations"), None);
    }

    /// Regression: the page checked the model and its settings apart, so a precision target
    /// on a node that is not an output passed here and was a 422 on the server.
    #[test]
    fn diagnostics_are_the_servers() {
        let spec = ModelSpec::from_json(
            r#"{"nodes": [{"id": "a", "expr": "normal(0, 1)"}, {"id": "b", "expr": "a * 2"}],
                "settings": {"precision": {"relative": 0.01, "outputs": ["a"]}}}"#,
        )
        .unwrap();
        let diags = diagnostics(&spec);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].field.as_deref(),
            Some("settings.precision.outputs[0]")
        );
    }

    /// The table of rejected models that the engine's own test checks
    /// (`core/tests/rejected.rs`): the editor shows exactly the engine's diagnostics.
    #[test]
    fn the_rejected_models_table_gives_the_engines_diagnostics() {
        let cases: Vec<serde_json::Value> =
            serde_json::from_str(include_str!("../../core/tests/cases/rejected.json"))
                .unwrap_or_default();
        assert!(cases.len() >= 8);
        for case in cases {
            let spec = ModelSpec::from_json(&case["model"].to_string())
                .unwrap_or_else(|d| panic!("{}: {d:?}", case["name"]));
            let engine = scenarioforge_core::check(&spec, &Settings::default(), &Limits::default())
                .err()
                .map(scenarioforge_core::Rejected::into_diagnostics);
            assert_eq!(Some(diagnostics(&spec)), engine, "{}", case["name"]);
        }
    }
}

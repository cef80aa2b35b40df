//! The model being edited, as the editor's parts share it: the model, its undo history,
//! its diagnostics, the selected node and the last run's warnings, as signals.

use leptos::prelude::*;
use scenarioforge_core::summary::Warning;
use scenarioforge_core::{Diagnostic, ModelSpec};

use crate::edit;

/// The model being edited, its undo history and its diagnostics, shared by the editor's parts.
#[derive(Clone, Copy, Debug)]
pub struct Editor {
    pub model: RwSignal<ModelSpec>,
    pub history: RwSignal<edit::History>,
    pub diagnostics: RwSignal<Vec<Diagnostic>>,
    pub selected: RwSignal<Option<usize>>,
    /// The last run's warnings, shown under the nodes they name.
    pub run_warnings: RwSignal<Vec<Warning>>,
}

impl Editor {
    pub fn new(spec: ModelSpec) -> Editor {
        Editor {
            model: RwSignal::new(spec),
            history: RwSignal::new(edit::History::default()),
            diagnostics: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            run_warnings: RwSignal::new(Vec::new()),
        }
    }

    /// Applies `change` as one undoable step; edits in the same `group` (typing in one
    /// field) join into one step.
    pub fn edit(&self, group: Option<&str>, change: impl FnOnce(&mut ModelSpec)) {
        let before = self.model.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            self.history.update(|h| h.record(&before, group));
            self.model.set(after);
        }
    }

    /// Replaces the whole model (an example, an import, a blank model) as one undoable step.
    pub fn replace(&self, spec: ModelSpec) {
        self.edit(None, move |m| *m = spec);
        self.selected.set(None);
    }

    pub fn undo(&self) {
        let current = self.model.get_untracked();
        if let Some(previous) = self.history.try_update(|h| h.undo(&current)).flatten() {
            self.model.set(previous);
        }
    }

    pub fn redo(&self) {
        let current = self.model.get_untracked();
        if let Some(next) = self.history.try_update(|h| h.redo(&current)).flatten() {
            self.model.set(next);
        }
    }

    /// The diagnostics that belong to node `index`.
    pub fn node_diagnostics(&self, index: usize) -> Vec<Diagnostic> {
        let id = self
            .model
            .with(|m| m.nodes.get(index).map(|n| n.id.clone()))
            .unwrap_or_default();
        self.diagnostics.with(|ds| {
            ds.iter()
                .filter(|d| match (&d.node, &d.field) {
                    (Some(node), _) => *node == id,
                    (None, Some(field)) => edit::node_index_of_field(field) == Some(index),
                    _ => false,
                })
                .cloned()
                .collect()
        })
    }
}

//! The model as a graph: nodes in columns by dependency depth, arrows for references,
//! inputs and outputs drawn differently, the selection shared with the list, errors marked.

use leptos::prelude::*;
use scenarioforge_core::ModelSpec;
use scenarioforge_core::expr;

use crate::editing::Editor;

/// Where each node goes and which arrows join them.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Per node: `(column, row)`.
    pub places: Vec<(usize, usize)>,
    /// `(from, to)`: node `to`'s formula refers to node `from`.
    pub edges: Vec<(usize, usize)>,
    pub columns: usize,
    pub rows: usize,
}

/// The nodes each formula refers to, as the engine reads its references
/// ([`expr::references`]); a formula the lexer cannot read refers to nothing.
fn references(spec: &ModelSpec) -> Vec<Vec<usize>> {
    spec.nodes
        .iter()
        .map(|node| {
            let mut refs: Vec<usize> = expr::references(&node.expr)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(name, _)| spec.nodes.iter().position(|n| n.id == name))
                .collect();
            refs.sort_unstable();
            refs.dedup();
            refs
        })
        .collect()
}

/// Column = the longest chain of references below the node (inputs in column 0). Cycles
/// are cut: a depth never exceeds the node count.
pub fn layout(spec: &ModelSpec) -> Layout {
    let refs = references(spec);
    let n = spec.nodes.len();
    let mut depth = vec![0usize; n];
    for _ in 0..n {
        let mut changed = false;
        for (i, r) in refs.iter().enumerate() {
            let d = r
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| depth[j] + 1)
                .max()
                .unwrap_or(0)
                .min(n);
            if d != depth[i] {
                depth[i] = d;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let columns = depth.iter().copied().max().map_or(0, |d| d + 1);
    let mut per_column = vec![0usize; columns];
    let places = depth
        .iter()
        .map(|&d| {
            let row = per_column[d];
            per_column[d] += 1;
            (d, row)
        })
        .collect();
    let edges = refs
        .iter()
        .enumerate()
        .flat_map(|(to, r)| {
            r.iter()
                .filter(move |&&f| f != to)
                .map(move |&from| (from, to))
        })
        .collect();
    Layout {
        places,
        edges,
        columns,
        rows: per_column.into_iter().max().unwrap_or(0),
    }
}

const NODE_W: f64 = 120.0;
const NODE_H: f64 = 30.0;
const GAP_X: f64 = 50.0;
const GAP_Y: f64 = 12.0;

#[component]
pub fn Graph(editor: Editor) -> impl IntoView {
    move || {
        let spec = editor.model.get();
        let l = layout(&spec);
        let selected = editor.selected.get();
        let errors: Vec<bool> = (0..spec.nodes.len())
            .map(|i| !editor.node_diagnostics(i).is_empty())
            .collect();
        let pos = |i: usize| {
            let (c, r) = l.places[i];
            (
                8.0 + c as f64 * (NODE_W + GAP_X),
                8.0 + r as f64 * (NODE_H + GAP_Y),
            )
        };
        let width = 16.0 + l.columns as f64 * (NODE_W + GAP_X) - GAP_X;
        let height = 16.0 + l.rows as f64 * (NODE_H + GAP_Y) - GAP_Y;
        let edges = l
            .edges
            .iter()
            .map(|&(from, to)| {
                let (x0, y0) = pos(from);
                let (x1, y1) = pos(to);
                let (x0, y0, x1, y1) = (x0 + NODE_W, y0 + NODE_H / 2.0, x1, y1 + NODE_H / 2.0);
                let mid = (x0 + x1) / 2.0;
                let hot = selected == Some(from) || selected == Some(to);
                view! {
                    <path class=if hot { "edge hot" } else { "edge" }
                        d=format!("M{x0:.1},{y0:.1} C{mid:.1},{y0:.1} {mid:.1},{y1:.1} {x1:.1},{y1:.1}")
                        marker-end="url(#arrow)"></path>
                }
            })
            .collect_view();
        let has_refs: Vec<bool> = (0..spec.nodes.len())
            .map(|i| l.edges.iter().any(|&(_, to)| to == i))
            .collect();
        let nodes = spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let (x, y) = pos(i);
                let mut class = String::from("gnode");
                class.push_str(if node.output {
                    " g-output"
                } else if has_refs[i] {
                    " g-formula"
                } else {
                    " g-input"
                });
                if errors[i] {
                    class.push_str(" g-error");
                }
                if selected == Some(i) {
                    class.push_str(" selected");
                }
                let id = node.id.clone();
                let shown = if id.chars().count() > 16 {
                    format!("{}…", id.chars().take(15).collect::<String>())
                } else {
                    id.clone()
                };
                view! {
                    <g class=class tabindex="0" role="button" aria-label=format!("node {id}")
                        on:click=move |_| select(editor, i)
                        on:keydown=move |ev| if ev.key() == "Enter" { select(editor, i) }>
                        <rect x=x y=y width=NODE_W height=NODE_H rx=if has_refs[i] { 4.0 } else { 15.0 }></rect>
                        <text x=x + NODE_W / 2.0 y=y + NODE_H / 2.0 + 4.0 text-anchor="middle">{shown}</text>
                        <title>{format!("{id} = {}", node.expr)}</title>
                    </g>
                }
            })
            .collect_view();
        view! {
            <div class="graph-scroll">
                <svg class="graph" viewBox=format!("0 0 {width} {height}") style:max-width=format!("{width}px") role="img" aria-label="model graph">
                    <defs>
                        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"></path>
                        </marker>
                    </defs>
                    {edges}
                    {nodes}
                </svg>
            </div>
            <p class="legend small muted">
                <span class="key key-input">"input"</span>
                <span class="key key-formula">"formula"</span>
                <span class="key key-output">"output"</span>
                <span class="key key-error">"has an error"</span>
            </p>
        }
    }
}

/// Selects node `i` in both views and brings its row in the list into view.
fn select(editor: Editor, i: usize) {
    editor.selected.set(Some(i));
    let id = editor
        .model
        .with_untracked(|m| m.nodes.get(i).map(|n| n.id.clone()));
    if let (Some(id), Some(document)) = (id, web_sys::window().and_then(|w| w.document())) {
        let selector = format!("li.node[data-node=\"{id}\"] input.formula");
        if let Ok(Some(el)) = document.query_selector(&selector) {
            use wasm_bindgen::JsCast;
            if let Ok(input) = el.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_follow_dependency_depth() {
        let spec = ModelSpec::from_json(
            r#"{"nodes": [
                {"id": "a", "expr": "1 to 2"},
                {"id": "b", "expr": "normal(a, 1)"},
                {"id": "c", "expr": "a + b"},
                {"id": "d", "expr": "d + 1"}
            ]}"#,
        )
        .expect("valid json");
        let l = layout(&spec);
        assert_eq!(l.places, vec![(0, 0), (1, 0), (2, 0), (0, 1)]);
        assert_eq!(l.edges, vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!((l.columns, l.rows), (3, 2));
    }
}

//! The model's nodes as an editable list: id, label, formula, unit, output switch,
//! thresholds; add, delete, duplicate, reorder; each node's diagnostics beside it.

use leptos::prelude::*;
use scenarioforge_core::Diagnostic;
use scenarioforge_core::summary::WarningKind;

use crate::edit;
use crate::editing::Editor;

#[component]
pub fn NodeList(editor: Editor) -> impl IntoView {
    let count = move || editor.model.with(|m| m.nodes.len());
    view! {
        <ol class="nodes">
            <For each=move || 0..count() key=|i| *i let:index>
                <NodeRow editor=editor index=index />
            </For>
        </ol>
        <button class="add" on:click=move |_| editor.edit(None, |m| {
            let node = edit::new_node(m);
            m.nodes.push(node);
        })>"+ Add node"</button>
    }
}

#[component]
fn NodeRow(editor: Editor, index: usize) -> impl IntoView {
    let field = move |f: fn(&scenarioforge_core::model::NodeSpec) -> String| {
        move || {
            editor
                .model
                .with(|m| m.nodes.get(index).map(f).unwrap_or_default())
        }
    };
    let diags = Memo::new(move |_| editor.node_diagnostics(index));
    let has_error = move || diags.with(|d| !d.is_empty());
    let selected = move || editor.selected.get() == Some(index);
    let id_text = field(|n| n.id.clone());
    let row_class = move || {
        let mut c = String::from("node");
        if has_error() {
            c.push_str(" has-error");
        }
        if selected() {
            c.push_str(" selected");
        }
        if editor
            .model
            .with(|m| m.nodes.get(index).is_some_and(|n| n.output))
        {
            c.push_str(" is-output");
        }
        c
    };
    view! {
        <li class=row_class on:focusin=move |_| editor.selected.set(Some(index)) data-node=id_text>
            <div class="node-line">
                <label class="f-id">
                    <span>"id"</span>
                    <input class="mono" aria-label="node id" prop:value=field(|n| n.id.clone())
                        on:change=move |ev| {
                            let new = event_target_value(&ev).trim().to_string();
                            editor.edit(None, |m| edit::rename_node(m, index, &new));
                        } />
                </label>
                <label class="f-label">
                    <span>"label"</span>
                    <input prop:value=field(|n| n.label.clone().unwrap_or_default())
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            editor.edit(Some(&format!("label{index}")), |m| {
                                m.nodes[index].label = (!v.is_empty()).then_some(v);
                            });
                        } />
                </label>
                <label class="f-unit">
                    <span>"unit"</span>
                    <input prop:value=field(|n| n.unit.clone().unwrap_or_default())
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            editor.edit(Some(&format!("unit{index}")), |m| {
                                m.nodes[index].unit = (!v.is_empty()).then_some(v);
                            });
                        } />
                </label>
                <div class="node-buttons">
                    <button title="move up" aria-label="move up" disabled={move || index == 0}
                        on:click=move |_| editor.edit(None, |m| m.nodes.swap(index - 1, index))>"↑"</button>
                    <button title="move down" aria-label="move down" disabled={move || index + 1 >= editor.model.with(|m| m.nodes.len())}
                        on:click=move |_| editor.edit(None, |m| m.nodes.swap(index, index + 1))>"↓"</button>
                    <button title="duplicate" aria-label="duplicate"
                        on:click=move |_| editor.edit(None, |m| {
                            let mut copy = m.nodes[index].clone();
                            copy.id = edit::fresh_id(m, &format!("{}_copy", copy.id));
                            m.nodes.insert(index + 1, copy);
                        })>"copy"</button>
                    <button title="delete" aria-label="delete" class="danger"
                        on:click=move |_| {
                            editor.edit(None, |m| { m.nodes.remove(index); });
                            editor.selected.set(None);
                        }>"✕"</button>
                </div>
            </div>
            <div class="node-line">
                <label class="f-expr">
                    <span>"formula"</span>
                    <input class="mono formula" aria-label="formula" spellcheck="false" prop:value=field(|n| n.expr.clone())
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            editor.edit(Some(&format!("expr{index}")), |m| m.nodes[index].expr = v);
                        } />
                </label>
                <label class="f-output">
                    <input type="checkbox" prop:checked=move || editor.model.with(|m| m.nodes.get(index).is_some_and(|n| n.output))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            editor.edit(None, |m| m.nodes[index].output = on);
                        } />
                    <span>"output"</span>
                </label>
                <label class="f-thresholds">
                    <span>"thresholds"</span>
                    <input class="mono" placeholder="e.g. 0, 1e6" prop:value=field(|n| n.thresholds.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "))
                        on:change=move |ev| {
                            let parsed: Vec<f64> = event_target_value(&ev)
                                .split(',')
                                .filter_map(|s| s.trim().parse().ok())
                                .filter(|x: &f64| x.is_finite())
                                .collect();
                            editor.edit(None, |m| m.nodes[index].thresholds = parsed);
                        } />
                </label>
            </div>
            {move || {
                let expr = editor.model.with(|m| m.nodes.get(index).map(|n| n.expr.clone()).unwrap_or_default());
                diags.get().into_iter().map(|d| diagnostic_line(&d, &expr)).collect_view()
            }}
            {move || {
                // What the last run found wrong here: invalid parameters of a draw.
                let id = id_text();
                editor.run_warnings.with(|ws| ws.iter()
                    .filter(|w| w.kind == WarningKind::InvalidParameters && w.node.as_deref() == Some(id.as_str()))
                    .map(|w| view! { <p class="node-warning" role="status">"⚠ last run: " {w.message.clone()}</p> })
                    .collect_view())
            }}
        </li>
    }
}

/// One diagnostic under its node: the formula with the span marked, and the message.
fn diagnostic_line(d: &Diagnostic, expr: &str) -> impl IntoView + use<> {
    let quoted = d.span.and_then(|s| {
        let start = s.start.min(expr.len());
        let end = s.end.clamp(start, expr.len());
        (expr.is_char_boundary(start) && expr.is_char_boundary(end)).then(|| {
            // An empty span (a missing token at the end) is shown as a marked space.
            let marked = if end > start {
                expr[start..end].to_string()
            } else {
                " ".to_string()
            };
            (expr[..start].to_string(), marked, expr[end..].to_string())
        })
    });
    view! {
        <div class="diagnostic" role="alert">
            {quoted.map(|(before, marked, after)| view! {
                <code class="quoted">{before}<mark>{marked}</mark>{after}</code>
            })}
            <span class="message">{d.message.clone()}</span>
        </div>
    }
}

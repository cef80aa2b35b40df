//! The correlation editor: pairs of stochastic inputs with a rank correlation each, set with a
//! slider, and the matrix the engine will use, repaired values flagged.

use leptos::prelude::*;
use scenarioforge_core::model::CorrelationSpec;
use scenarioforge_core::{ModelSpec, compile};

use crate::editing::Editor;

/// Inputs that can be correlated: nodes whose formula is one distribution call with constant
/// parameters, as the engine decides it (the model compiled without its correlations, so
/// that a bad pair does not hide the list).
fn correlatable(spec: &ModelSpec) -> Vec<String> {
    let mut plain = spec.clone();
    plain.correlations.clear();
    compile(&plain).map_or_else(
        |_| Vec::new(),
        |model| {
            model
                .correlatable()
                .map(|i| model.nodes[i].id.clone())
                .collect()
        },
    )
}

/// The rank correlation used for each pair, by position in the model's list: equal to the
/// requested one unless the set could not hold together. `None` while the model has errors.
fn used_values(spec: &ModelSpec) -> Option<Vec<f64>> {
    let model = compile(spec).ok()?;
    let c = model.program.correlation.as_ref()?;
    Some(c.pairs.iter().map(|p| p.used).collect())
}

#[component]
pub fn CorrelationEditor(editor: Editor) -> impl IntoView {
    let inputs = Memo::new(move |_| editor.model.with(correlatable));
    let pairs = move || editor.model.with(|m| m.correlations.clone());
    let used = Memo::new(move |_| editor.model.with(used_values));
    let add = move |_| {
        let ids = inputs.get_untracked();
        editor.edit(None, |m| {
            let taken = |a: &str, b: &str| {
                m.correlations.iter().any(|c| {
                    (c.between[0] == a && c.between[1] == b)
                        || (c.between[0] == b && c.between[1] == a)
                })
            };
            // The first two inputs not yet paired, so a new pair is valid at once.
            let free = ids.iter().enumerate().find_map(|(i, a)| {
                ids[i + 1..]
                    .iter()
                    .find(|b| !taken(a, b))
                    .map(|b| [a.clone(), b.clone()])
            });
            if let Some(between) = free {
                m.correlations.push(CorrelationSpec { between, rank: 0.0 });
            }
        });
    };
    let set_end = move |i: usize, end: usize, id: String| {
        editor.edit(None, move |m| {
            if let Some(c) = m.correlations.get_mut(i) {
                c.between[end] = id;
            }
        });
    };
    let set_rank = move |i: usize, text: String| {
        if let Ok(v) = text.parse::<f64>() {
            editor.edit(Some("correlation"), move |m| {
                if let Some(c) = m.correlations.get_mut(i) {
                    c.rank = v;
                }
            });
        }
    };
    let remove = move |i: usize| {
        editor.edit(None, move |m| {
            if i < m.correlations.len() {
                m.correlations.remove(i);
            }
        });
    };
    let field_errors = move |i: usize| {
        let prefix = format!("correlations[{i}]");
        editor.diagnostics.with(|ds| {
            ds.iter()
                .filter(|d| {
                    d.field
                        .as_deref()
                        .is_some_and(|f| f == prefix || f.starts_with(&format!("{prefix}.")))
                })
                .map(|d| d.message.clone())
                .collect::<Vec<_>>()
        })
    };

    view! {
        <details class="correlations" open=move || !pairs().is_empty()>
            <summary>{move || format!("Correlations ({})", pairs().len())}</summary>
            <p class="muted small">"Rank (Spearman) correlations between uncertain inputs, e.g. demand falling as price rises. Each input keeps its own distribution."</p>
            <ul class="pairs">
                {move || pairs().into_iter().enumerate().map(|(i, c)| {
                    let options = move |chosen: String| inputs.get().into_iter().map(|id| {
                        let selected = id == chosen;
                        view! { <option value=id.clone() selected=selected>{id.clone()}</option> }
                    }).collect_view();
                    let (a, b) = (c.between[0].clone(), c.between[1].clone());
                    let shown = used.get().and_then(|u| u.get(i).copied());
                    let repaired = shown.is_some_and(|u| (u - c.rank).abs() > 5e-4);
                    view! {
                        <li class="pair">
                            <select class="pair-a" aria-label="first input" on:change=move |ev| set_end(i, 0, event_target_value(&ev))>{options(a)}</select>
                            <select class="pair-b" aria-label="second input" on:change=move |ev| set_end(i, 1, event_target_value(&ev))>{options(b)}</select>
                            <input class="pair-rank" type="range" min="-1" max="1" step="0.05" aria-label="rank correlation"
                                prop:value=c.rank.to_string()
                                on:input=move |ev| set_rank(i, event_target_value(&ev)) />
                            <span class="pair-value num">{format!("{:+.2}", c.rank)}</span>
                            {repaired.then(|| view! {
                                <span class="repaired" title="these pairs cannot all hold together; the engine uses the nearest valid value">
                                    {format!("used {:+.2}", shown.unwrap_or(c.rank))}
                                </span>
                            })}
                            <button class="remove" aria-label="remove this pair" on:click=move |_| remove(i)>"✕"</button>
                            {field_errors(i).into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view()}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button class="add-pair" on:click=add disabled=move || inputs.with(|i| i.len() < 2)>"+ correlate two inputs"</button>
            {move || matrix(&editor.model.get(), used.get())}
        </details>
    }
}

/// The correlation matrix over the inputs that appear in pairs: requested values, with the
/// ones the engine had to change shown as "requested → used".
fn matrix(spec: &ModelSpec, used: Option<Vec<f64>>) -> Option<impl IntoView + use<>> {
    let mut ids: Vec<String> = Vec::new();
    for c in &spec.correlations {
        for id in &c.between {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
    }
    if ids.len() < 2 {
        return None;
    }
    let cell = |a: &str, b: &str| -> (String, bool) {
        if a == b {
            return ("1".to_string(), false);
        }
        let found = spec.correlations.iter().enumerate().find(|(_, c)| {
            (c.between[0] == a && c.between[1] == b) || (c.between[0] == b && c.between[1] == a)
        });
        match found {
            None => ("0".to_string(), false),
            Some((i, c)) => match used.as_ref().and_then(|u| u.get(i)) {
                Some(&u) if (u - c.rank).abs() > 5e-4 => {
                    (format!("{:+.2} → {:+.2}", c.rank, u), true)
                }
                _ => (format!("{:+.2}", c.rank), false),
            },
        }
    };
    Some(view! {
        <table class="data matrix" aria-label="correlation matrix">
            <thead><tr><th></th>{ids.iter().map(|id| view! { <th>{id.clone()}</th> }).collect_view()}</tr></thead>
            <tbody>
                {ids.iter().map(|a| view! {
                    <tr>
                        <th>{a.clone()}</th>
                        {ids.iter().map(|b| {
                            let (text, repaired) = cell(a, b);
                            view! { <td class="num" class:repaired=repaired>{text}</td> }
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    })
}

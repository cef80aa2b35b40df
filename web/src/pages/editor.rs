//! The editor at `/`: toolbar (examples, blank, import, export, undo, redo), the node list
//! with live diagnostics, the run panel, the results, and the runs started from here.

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use scenarioforge_core::ModelSpec;
use wasm_bindgen::JsCast;

use crate::api;
use crate::browser;
use crate::components::correlations::CorrelationEditor;
use crate::components::graph::Graph;
use crate::components::node_list::NodeList;
use crate::components::results::ResultsView;
use crate::components::run_panel::RunPanel;
use crate::edit;
use crate::editing::Editor;
use crate::examples::EXAMPLES;
use crate::runner::RunState;
use crate::store;

/// How long typing must pause before the model is checked and saved.
const DEBOUNCE_MS: u32 = 250;

#[component]
pub fn EditorPage() -> impl IntoView {
    let initial = store::load_model().unwrap_or_else(|| {
        ModelSpec::from_json(EXAMPLES[0].1).unwrap_or_else(|_| edit::blank_model())
    });
    let editor = Editor::new(initial);
    editor
        .diagnostics
        .set(edit::diagnostics(&editor.model.get_untracked()));
    let run = RunState::new();
    let server_online: RwSignal<Option<bool>> = RwSignal::new(None);
    let my_runs = RwSignal::new(store::my_runs());
    let import_error: RwSignal<Option<String>> = RwSignal::new(None);

    spawn_local(async move {
        server_online.set(Some(api::server_online().await));
    });

    // Diagnostics and saving, debounced: each edit bumps the generation, and only the last
    // one still current after the pause does the work.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        editor.model.track();
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        spawn_local(async move {
            TimeoutFuture::new(DEBOUNCE_MS).await;
            if generation.get_value() == mine {
                let spec = editor.model.get_untracked();
                editor.diagnostics.set(edit::diagnostics(&spec));
                store::save_model(&spec);
            }
        });
    });
    // The runs list follows every run that ends.
    Effect::new(move |_| {
        run.results.track();
        run.live.track();
        my_runs.set(store::my_runs());
    });

    // Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) outside text fields undo and redo model edits;
    // inside a field the browser's own text undo applies.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let key = ev.key().to_lowercase();
        if !(ev.ctrl_key() || ev.meta_key()) || (key != "z" && key != "y") {
            return;
        }
        let in_field = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .is_some();
        if in_field {
            return;
        }
        ev.prevent_default();
        if key == "y" || ev.shift_key() {
            editor.redo();
        } else {
            editor.undo();
        }
    });
    on_cleanup(move || keys.remove());

    let on_example = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if let Some((_, json)) = EXAMPLES.iter().find(|(t, _)| *t == value) {
            if let Ok(spec) = ModelSpec::from_json(json) {
                editor.replace(spec);
            }
        } else if value == "blank" {
            editor.replace(edit::blank_model());
        }
        if let Some(select) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        {
            select.set_value("");
        }
    };
    let on_import = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        spawn_local(async move {
            let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
            match text.ok().and_then(|t| t.as_string()) {
                Some(text) => match ModelSpec::from_json(&text) {
                    Ok(spec) => {
                        import_error.set(None);
                        editor.replace(spec);
                    }
                    Err(d) => import_error.set(Some(format!(
                        "could not import {}: {}",
                        file.name(),
                        d.iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))),
                },
                None => import_error.set(Some("could not read the file".to_string())),
            }
        });
    };
    let export = move |_| {
        let spec = editor.model.get_untracked();
        let json = serde_json::to_string_pretty(&spec).unwrap_or_default();
        let name = if spec.name.is_empty() {
            "model".to_string()
        } else {
            spec.name.replace(' ', "_").to_lowercase()
        };
        browser::download(&format!("{name}.json"), "application/json", &json);
    };

    // The last run's warnings go to the nodes they name, too; and the results, which render
    // below the editor, are brought into view when they arrive (a newcomer pressing Run
    // otherwise sees nothing happen).
    Effect::new(move |_| {
        let warnings = run.results.with(|r| {
            r.as_ref()
                .map(|r| r.summary.warnings.clone())
                .unwrap_or_default()
        });
        if run.results.with(Option::is_some) {
            browser::scroll_into_view("section.results");
        }
        editor.run_warnings.set(warnings);
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"ScenarioForge"</a>
            <input class="model-name" aria-label="model name" prop:value=move || editor.model.with(|m| m.name.clone())
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    editor.edit(Some("name"), |m| m.name = v);
                } />
            <nav class="toolbar" aria-label="model">
                <select aria-label="open an example" on:change=on_example class="examples">
                    <option value="" selected=true>"Examples…"</option>
                    {EXAMPLES.iter().map(|(t, _)| view! { <option value=*t>{*t}</option> }).collect_view()}
                    <option value="blank">"Blank model"</option>
                </select>
                <label class="button file">
                    "Import"
                    <input type="file" accept=".json,application/json" on:change=on_import class="visually-hidden" />
                </label>
                <button on:click=export>"Export"</button>
                <button on:click=move |_| editor.undo() disabled=move || !editor.history.with(|h| h.can_undo())>"↶ Undo"</button>
                <button on:click=move |_| editor.redo() disabled=move || !editor.history.with(|h| h.can_redo())>"↷ Redo"</button>
            </nav>
            <span class=move || match server_online.get() {
                Some(true) => "server-status online",
                Some(false) => "server-status offline",
                None => "server-status",
            }>{move || match server_online.get() {
                Some(true) => "server online",
                Some(false) => "server offline",
                None => "checking server…",
            }}</span>
        </header>
        {move || import_error.get().map(|e| view! { <p class="error banner">{e}</p> })}
        <main class="editor-layout">
            <section class="model" aria-label="model">
                <div class="section-head">
                    <h2>"Nodes"</h2>
                    <span class="muted">{move || {
                        let n = editor.diagnostics.with(Vec::len);
                        if n == 0 { "no problems".to_string() } else { format!("{n} problem{}", if n == 1 { "" } else { "s" }) }
                    }}</span>
                </div>
                {move || editor.model.with(|m| m.description.clone()).map(|d| view! { <p class="description">{d}</p> })}
                <details class="graph-block" open>
                    <summary>"Graph"</summary>
                    <Graph editor=editor />
                </details>
                <NodeList editor=editor />
                <CorrelationEditor editor=editor />
                {move || {
                    // Problems that belong to no node (settings, the model as a whole).
                    let general: Vec<String> = editor.diagnostics.with(|ds| ds.iter()
                        .filter(|d| d.node.is_none() && d.field.as_deref().and_then(edit::node_index_of_field).is_none())
                        .map(|d| d.message.clone()).collect());
                    general.into_iter().map(|m| view! { <p class="error">{m}</p> }).collect_view()
                }}
            </section>
            <aside class="side">
                <RunPanel editor=editor run=run server_online=server_online />
                <MyRuns runs=my_runs />
            </aside>
        </main>
        {move || run.results.get().map(|r| view! {
            <ResultsView results=r convergence=run.convergence.get_untracked() />
        })}
    }
}

#[component]
fn MyRuns(runs: RwSignal<Vec<store::MyRun>>) -> impl IntoView {
    view! {
        <section class="my-runs" aria-label="my runs">
            <h2>"My runs"</h2>
            {move || {
                let list = runs.get();
                if list.is_empty() {
                    view! { <p class="muted small">"Runs sent to the server or shared from this browser are listed here, with their links."</p> }.into_any()
                } else {
                    view! {
                        <ul>
                            {list.into_iter().take(10).map(|r| view! {
                                <li>
                                    <a href=format!("/r/{}", r.id)>{if r.name.is_empty() { "model".to_string() } else { r.name.clone() }}</a>
                                    <span class="muted small">{format!(" · {} iterations · {} · {}", crate::format::thousands(r.iterations), r.kind, r.status)}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
    }
}

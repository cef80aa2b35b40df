//! A shared run at `/r/{id}`: the model read-only, the run's progress or results, the
//! iteration table, and "open a copy in the editor".

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map};
use scenarioforge_core::{ModelSpec, Settings};

use crate::api::{self, ApiError, RunView};
use crate::components::results::ResultsView;
use crate::format;
use crate::pages::not_found::NotFound;
use crate::runner::{self, Results, RunState, Samples};
use crate::store;

#[derive(Clone, Debug)]
enum Loaded {
    Loading,
    Found(Box<RunView>),
    Missing,
    Failed(String),
}

#[component]
pub fn SharePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let loaded = RwSignal::new(Loaded::Loading);
    let run = RunState::new();

    Effect::new(move |_| {
        let id = id();
        loaded.set(Loaded::Loading);
        run.results.set(None);
        spawn_local(async move {
            match api::get_run(&id).await {
                Ok(view) => {
                    // The stored history first: the results view reads it when it renders.
                    if let Some(points) = &view.convergence {
                        run.convergence
                            .set(points.iter().map(runner::Point::from).collect());
                    }
                    if let Some(summary) = view.summary.clone() {
                        run.results.set(Some(Results {
                            summary,
                            model: view.model.clone(),
                            samples: Samples::Server {
                                id: id.clone(),
                                total: view.sample_rows,
                            },
                            server_id: Some(id.clone()),
                            ran_in_browser: false,
                        }));
                    }
                    let unfinished = !view.status.is_finished();
                    loaded.set(Loaded::Found(Box::new(view)));
                    if unfinished {
                        runner::follow(run, id).await;
                    }
                }
                Err(ApiError::NotFound | ApiError::Server { status: 400, .. }) => {
                    loaded.set(Loaded::Missing);
                }
                Err(e) => loaded.set(Loaded::Failed(e.to_string())),
            }
        });
    });

    move || {
        match loaded.get() {
        Loaded::Loading => view! { <main class="share"><p class="muted">"Loading the run…"</p></main> }.into_any(),
        Loaded::Missing => view! { <NotFound what=format!("There is no run with the id {}. It may have been deleted, or the link is incomplete.", id()) /> }.into_any(),
        Loaded::Failed(e) => view! { <main class="share"><p class="error">{format!("Could not load the run: {e}")}</p></main> }.into_any(),
        Loaded::Found(view) => shared_run(*view, run).into_any(),
    }
    }
}

fn shared_run(view: RunView, run: RunState) -> impl IntoView {
    let navigate = use_navigate();
    let mut model = view.model.clone();
    if let Ok(settings) = serde_json::from_value::<Settings>(view.settings.clone()) {
        model.settings = model.settings.overridden_by(&settings);
    }
    let copy = model.clone();
    let open_copy = move |_| {
        store::save_model(&copy);
        navigate("/", Default::default());
    };
    let owner = store::owner_token(&view.id).is_some();
    let run_id = view.id.clone();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"ScenarioForge"</a>
            <span class="model-name static">{model.name.clone()}</span>
            <nav class="toolbar">
                <button class="primary" on:click=open_copy>"Open a copy in the editor"</button>
            </nav>
        </header>
        <main class="share">
            <p class="muted">{format!("Shared run {} · status {} · {} of {} iterations{}",
                view.id, view.status,
                format::thousands(view.progress.iterations_done), format::thousands(view.progress.iterations_total),
                if owner { " · started from this browser" } else { "" })}</p>
            {view.error.clone().map(|e| view! { <p class="error">{e}</p> })}
            <ReadOnlyModel model=model />
            {move || run.live.get().map(|l| view! {
                <div class="progress" aria-live="polite">
                    <progress max=l.total.max(1) value=l.done></progress>
                    <span>{format!("{} of {} iterations · {}", format::thousands(l.done), format::thousands(l.total), l.status)}</span>
                    {owner.then(|| { let run_id = run_id.clone(); view! { <button class="cancel" on:click=move |_| {
                        if let Some(token) = store::owner_token(&run_id) {
                            run.server_run.set(Some((run_id.clone(), token)));
                            run.cancel();
                        }
                    }>"Cancel"</button> } })}
                </div>
            })}
            {move || run.error.get().map(|e| view! { <p class="error">{e}</p> })}
        </main>
        {move || run.results.get().map(|r| view! { <ResultsView results=r convergence=run.convergence.get_untracked() /> })}
    }
}

#[component]
fn ReadOnlyModel(model: ModelSpec) -> impl IntoView {
    view! {
        <section class="model readonly" aria-label="model">
            <h2>"Model"</h2>
            {model.description.clone().map(|d| view! { <p class="description">{d}</p> })}
            <table class="data">
                <thead><tr><th>"id"</th><th>"label"</th><th>"formula"</th><th>"unit"</th><th>"output"</th><th>"thresholds"</th></tr></thead>
                <tbody>
                    {model.nodes.iter().map(|n| view! {
                        <tr class:is-output=n.output>
                            <td class="mono">{n.id.clone()}</td>
                            <td>{n.label.clone().unwrap_or_default()}</td>
                            <td class="mono">{n.expr.clone()}</td>
                            <td>{n.unit.clone().unwrap_or_default()}</td>
                            <td>{if n.output { "yes" } else { "" }}</td>
                            <td class="mono">{n.thresholds.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <p class="muted small">{format!("seed {} · {} iterations",
                model.settings.seed.unwrap_or(0),
                format::thousands(model.settings.iterations.unwrap_or(10_000)))}</p>
        </section>
    }
}

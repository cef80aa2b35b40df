//! Run settings, where the run goes, the run and cancel buttons, and the progress bar.

use leptos::prelude::*;
use leptos::task::spawn_local;
use scenarioforge_core::model::{DEFAULT_ITERATIONS, DEFAULT_SAMPLE_SIZE, Sampling};

use crate::browser;
use crate::components::charts::Convergence;
use crate::editing::Editor;
use crate::format;
use crate::runner::{self, Placement, RunState};
use crate::store;

#[component]
pub fn RunPanel(
    editor: Editor,
    run: RunState,
    server_online: RwSignal<Option<bool>>,
) -> impl IntoView {
    let placement = RwSignal::new(Placement::Auto);
    let limit_s = RwSignal::new(store::load_limit());
    let settings = move || editor.model.with(|m| m.settings.clone());
    // Text typed into a field that is not a number: shown beside the field, and Run waits
    // for it to be fixed (the model keeps its last valid value meanwhile).
    let field_errors: RwSignal<Vec<(&'static str, String)>> = RwSignal::new(Vec::new());
    let set_field_error = move |name: &'static str, error: Option<String>| {
        field_errors.update(|all| {
            all.retain(|(n, _)| *n != name);
            all.extend(error.map(|e| (name, e)));
        });
    };
    let field_error = move |name: &'static str| {
        field_errors.with(|all| all.iter().find(|(n, _)| *n == name).map(|(_, e)| e.clone()))
    };
    let set_u64 = move |name: &'static str, text: String| {
        let cleaned = text.replace([',', '_', ' '], "");
        let value = cleaned.parse::<u64>().ok();
        if value.is_none() && !cleaned.is_empty() {
            set_field_error(
                name,
                Some(format!("`{}` is not a whole number", text.trim())),
            );
            return;
        }
        set_field_error(name, None);
        editor.edit(Some(name), |m| match name {
            "iterations" => m.settings.iterations = value,
            "seed" => m.settings.seed = value,
            _ => m.settings.sample_size = value,
        });
    };
    // The precision target: a number field per part; all empty turns it off.
    let precision_part = move |part: &'static str| {
        settings().precision.and_then(|p| match part {
            "relative" => p.relative.map(|r| format::number(r * 100.0)),
            "absolute" => p.absolute.map(format::number),
            _ => p.confidence.map(|c| format::number(c * 100.0)),
        })
    };
    let set_precision = move |part: &'static str, text: String| {
        let cleaned = text.replace([',', '_', ' ', '%'], "");
        let value = cleaned.parse::<f64>().ok();
        if value.is_none() && !cleaned.is_empty() {
            set_field_error(part, Some(format!("`{}` is not a number", text.trim())));
            return;
        }
        set_field_error(part, None);
        editor.edit(Some(part), |m| {
            let mut p = m.settings.precision.clone().unwrap_or_default();
            match part {
                "relative" => p.relative = value.map(|v| v / 100.0),
                "absolute" => p.absolute = value,
                _ => p.confidence = value.map(|v| v / 100.0),
            }
            m.settings.precision = (p.relative.is_some() || p.absolute.is_some()).then_some(p);
        });
    };
    let errors = move || editor.diagnostics.with(Vec::len);
    let why_disabled = move || {
        if run.running() {
            Some("a run is in progress".to_string())
        } else if let Some((name, error)) = field_errors.with(|all| all.first().cloned()) {
            Some(format!("fix the {name} field first — {error}"))
        } else if errors() > 0 {
            let first = editor
                .diagnostics
                .with(|d| {
                    d.first().map(|d| match &d.node {
                        Some(n) => format!("`{n}`: {}", d.message),
                        None => d.message.clone(),
                    })
                })
                .unwrap_or_default();
            Some(format!(
                "fix {} error{} first — {first}",
                errors(),
                if errors() == 1 { "" } else { "s" }
            ))
        } else {
            None
        }
    };
    let start = move |_| {
        if why_disabled().is_some() {
            return;
        }
        let spec = editor.model.get_untracked();
        let limit = limit_s.get_untracked();
        spawn_local(runner::run(run, spec, placement.get_untracked(), limit));
    };
    let estimate = move || {
        let speed = run.speed.get()?;
        let iterations = settings().iterations.unwrap_or(DEFAULT_ITERATIONS);
        Some(format!(
            "at the last measured {} iterations/s: about {} here; the limit is about {} iterations",
            format::number(speed),
            format::duration(iterations as f64 / speed),
            format::number(speed * limit_s.get()),
        ))
    };
    view! {
        <section class="run-panel" aria-label="run">
            <h2>"Run"</h2>
            <div class="settings">
                <label>
                    <span>"iterations"</span>
                    <input inputmode="numeric" prop:value=move || format::thousands(settings().iterations.unwrap_or(DEFAULT_ITERATIONS))
                        on:change=move |ev| set_u64("iterations", event_target_value(&ev)) />
                    {move || field_error("iterations").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                </label>
                <label>
                    <span>"seed"</span>
                    <span class="with-button">
                        <input inputmode="numeric" prop:value=move || settings().seed.unwrap_or(0).to_string()
                            on:change=move |ev| set_u64("seed", event_target_value(&ev)) />
                        {move || field_error("seed").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                        <button on:click=move |_| {
                            let seed = browser::random_seed();
                            editor.edit(None, |m| m.settings.seed = Some(seed));
                        }>"new seed"</button>
                    </span>
                </label>
                <label>
                    <span>"sample size"</span>
                    <input inputmode="numeric" prop:value=move || format::thousands(settings().sample_size.unwrap_or(DEFAULT_SAMPLE_SIZE as u64))
                        on:change=move |ev| set_u64("sample", event_target_value(&ev)) />
                    {move || field_error("sample").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                </label>
                <label>
                    <span>"sampling"</span>
                    <select class="sampling" on:change=move |ev| {
                        let sampling = match event_target_value(&ev).as_str() {
                            "latin_hypercube" => Some(Sampling::LatinHypercube),
                            _ => None,
                        };
                        editor.edit(None, |m| m.settings.sampling = sampling);
                    }>
                        <option value="random" selected=move || settings().sampling.unwrap_or_default() == Sampling::Random>"random"</option>
                        <option value="latin_hypercube" selected=move || settings().sampling == Some(Sampling::LatinHypercube)>"Latin hypercube"</option>
                    </select>
                </label>
                <label title="Stop as soon as every output's mean is known to within this percentage of itself; iterations is then the most the run may do.">
                    <span>"stop at precision (± % of mean)"</span>
                    <input class="precision-relative" inputmode="decimal" placeholder="off"
                        prop:value=move || precision_part("relative").unwrap_or_default()
                        on:change=move |ev| set_precision("relative", event_target_value(&ev)) />
                    {move || field_error("relative").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                </label>
                <label title="For outputs whose mean is near zero: a half-width in the output's own units.">
                    <span>"or ± (absolute)"</span>
                    <input class="precision-absolute" inputmode="decimal" placeholder="off"
                        prop:value=move || precision_part("absolute").unwrap_or_default()
                        on:change=move |ev| set_precision("absolute", event_target_value(&ev)) />
                    {move || field_error("absolute").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                </label>
                {move || settings().precision.is_some().then(|| view! {
                    <label>
                        <span>"confidence (%)"</span>
                        <input class="precision-confidence" inputmode="decimal" placeholder="95"
                            prop:value=move || precision_part("confidence").unwrap_or_default()
                            on:change=move |ev| set_precision("confidence", event_target_value(&ev)) />
                        {move || field_error("confidence").map(|e| view! { <span class="field-error" role="alert">{e}</span> })}
                    </label>
                })}
                <label>
                    <span>"run where"</span>
                    <select class="placement" on:change=move |ev| placement.set(match event_target_value(&ev).as_str() {
                        "browser" => Placement::Browser,
                        "server" => Placement::Server,
                        _ => Placement::Auto,
                    })>
                        <option value="auto" selected=true>"browser if it fits the limit, else server"</option>
                        <option value="browser">"this browser"</option>
                        <option value="server">"the server"</option>
                    </select>
                </label>
                <label>
                    <span>"browser limit (seconds)"</span>
                    <input type="number" min="1" prop:value=move || limit_s.get().to_string()
                        on:change=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f64>() && v > 0.0 {
                                limit_s.set(v);
                                store::save_limit(v);
                            }
                        } />
                </label>
            </div>
            {move || estimate().map(|e| view! { <p class="muted small">{e}</p> })}
            <div class="run-buttons">
                <button class="primary run" on:click=start disabled=move || why_disabled().is_some()
                    title=move || why_disabled().unwrap_or_default()>"▶ Run"</button>
                <button class="cancel" on:click=move |_| run.cancel() disabled=move || !run.running()>"Cancel"</button>
            </div>
            {move || why_disabled().filter(|_| !run.running()).map(|w| view! { <p class="why-disabled">{format!("Run is disabled: {w}")}</p> })}
            {move || run.live.get().map(|l| {
                let elapsed = (browser::now_ms() - l.started_ms) / 1000.0;
                let left = if l.done > 0 && l.total > l.done {
                    format::duration(elapsed / l.done as f64 * (l.total - l.done) as f64)
                } else { "—".to_string() };
                let pct = if l.total > 0 { l.done as f64 / l.total as f64 * 100.0 } else { 0.0 };
                view! {
                    <div class="progress" aria-live="polite">
                        <progress max="100" value=pct></progress>
                        <span>{format!("{} · {} of {} iterations · {} left · {}",
                            l.place, format::thousands(l.done), format::thousands(l.total), left, l.status)}</span>
                    </div>
                }
            })}
            {move || {
                // While a run is in flight: the first output's running mean ± 2 SEM.
                run.live.with(Option::is_some).then(|| {
                    let points = run.convergence.get();
                    let output = points.last().and_then(|p| p.outputs.first()).map(|o| o.0.clone())?;
                    Some(view! { <Convergence points=points output=output.clone() title=format!("{output}: running mean ± 2 SEM") /> })
                }).flatten()
            }}
            {move || (!run.note.get().is_empty()).then(|| view! { <p class="note">{run.note.get()}</p> })}
            {move || run.error.get().map(|e| view! { <p class="error">{e}</p> })}
            {move || match server_online.get() {
                Some(false) => Some(view! { <p class="offline">"The server is offline: runs stay in this browser; sharing and runs past the browser limit need the server."</p> }),
                _ => None,
            }}
        </section>
    }
}

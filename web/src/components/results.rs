//! A run's results: per output the statistics, histogram, cumulative chart, drivers and
//! convergence; warnings; the iteration table; downloads and the share link.

use leptos::prelude::*;
use leptos::task::spawn_local;
use scenarioforge_core::sample::MAX_PAGE_ROWS;
use scenarioforge_core::summary::{
    CorrelationReport, OutputSummary, Probability, SemMethod, WarningKind,
};

use crate::api;
use crate::browser;
use crate::components::charts::{Convergence, Cumulative, Histogram, Scatter, Tornado, YesNo};
use crate::components::samples::SampleTable;
use crate::format;
use crate::runner::{self, Point, Results, Samples};

#[component]
pub fn ResultsView(results: Results, convergence: Vec<Point>) -> impl IntoView {
    let summary = results.summary.clone();
    let model = results.model.clone();
    let unit_of = {
        let model = model.clone();
        move |id: &str| {
            model
                .nodes
                .iter()
                .find(|n| n.id == id)
                .and_then(|n| n.unit.clone())
        }
    };
    let label_of = {
        let model = model.clone();
        move |id: &str| {
            model
                .nodes
                .iter()
                .find(|n| n.id == id)
                .and_then(|n| n.label.clone())
                .map_or_else(|| id.to_string(), |l| format!("{l} ({id})"))
        }
    };
    let status = summary.status.as_str().replace('_', " ");
    let headline = format!(
        "{} iterations · seed {} · {} · {} · {}",
        format::thousands(summary.iterations),
        summary.seed,
        format::duration(summary.elapsed_ms as f64 / 1000.0),
        if results.ran_in_browser {
            "ran in this browser"
        } else {
            "ran on the server"
        },
        status,
    );
    let outputs = summary
        .outputs
        .iter()
        .map(|(id, out)| {
            let unit = unit_of(id);
            let drivers = summary.sensitivity.get(id).cloned().unwrap_or_default();
            output_card(
                id,
                &label_of(id),
                unit.as_deref(),
                out,
                drivers,
                &convergence,
            )
        })
        .collect_view();
    // Warnings about lost iterations (invalid parameters, non-finite values) first: they say
    // which statistics leave out part of the run.
    let mut warnings = summary.warnings.clone();
    warnings.sort_by_key(|w| match w.kind {
        WarningKind::InvalidParameters => 0,
        WarningKind::NonFinite => 1,
        _ => 2,
    });
    let incomplete: Vec<String> = summary
        .outputs
        .iter()
        .filter(|(_, o)| o.non_finite > 0)
        .map(|(id, o)| {
            format!(
                "`{id}` covers {} of the iterations ({} NaN or infinite)",
                format::percent(o.coverage),
                format::thousands(o.non_finite)
            )
        })
        .collect();
    let correlations = correlation_table(&summary.correlations);
    // The scatter plot starts on the first correlated pair, else the first two columns.
    let first_pair = summary
        .correlations
        .first()
        .map(|c| (c.between[0].clone(), c.between[1].clone()));

    let summary_json = summary.to_json();
    let summary_json_dom = summary_json.clone();
    let name = if model.name.is_empty() {
        "model".to_string()
    } else {
        slug(&model.name)
    };
    let name2 = name.clone();
    let samples = results.samples.clone();
    let download_csv = move |_| match &samples {
        Samples::Memory(t) => {
            browser::download(&format!("{name2}-samples.csv"), "text/csv", &csv(t));
        }
        Samples::Server { id, .. } => browser::download_url(
            &format!("{name2}-samples.csv"),
            &crate::api::samples_csv_url(id),
        ),
    };

    let share_link: RwSignal<Option<String>> = RwSignal::new(results.server_id.clone());
    let share_error: RwSignal<Option<String>> = RwSignal::new(None);
    let sharing = RwSignal::new(false);
    let share_model = model.clone();
    let share = move |_| {
        let spec = share_model.clone();
        sharing.set(true);
        spawn_local(async move {
            match runner::share(&spec).await {
                Ok(id) => share_link.set(Some(id)),
                Err(e) => share_error.set(Some(format!("could not share: {e}"))),
            }
            sharing.set(false);
        });
    };

    view! {
        <section class="results" aria-label="results">
            <header class="results-head">
                <div>
                    <h2>"Results"</h2>
                    <p class="muted">{headline}</p>
                </div>
                <div class="actions">
                    <button on:click=move |_| browser::download(&format!("{name}-summary.json"), "application/json", &summary_json)>"Download summary (JSON)"</button>
                    <button on:click=download_csv>"Download iterations (CSV)"</button>
                    {move || match share_link.get() {
                        Some(id) => view! {
                            <a class="share-link" href=format!("/r/{id}") target="_blank">{format!("{}/r/{id}", browser::origin())}</a>
                        }.into_any(),
                        None => view! {
                            <button class="primary" on:click=share.clone() disabled=move || sharing.get()>
                                {move || if sharing.get() { "Sharing…" } else { "Share" }}
                            </button>
                        }.into_any(),
                    }}
                </div>
            </header>
            {move || share_error.get().map(|e| view! { <p class="error">{e}</p> })}
            {(!warnings.is_empty()).then(|| view! {
                <ul class="warnings">
                    {(!incomplete.is_empty()).then(|| view! {
                        <li class="lost">{format!("⚠ Some statistics leave out iterations: {}.", incomplete.join("; "))}</li>
                    })}
                    {warnings.iter().map(|w| view! { <li class=format!("warning-{:?}", w.kind).to_lowercase()>"⚠ " {w.message.clone()}</li> }).collect_view()}
                </ul>
            })}
            {(!summary.sensitivity_notes.is_empty()).then(|| view! {
                <ul class="notes">
                    {summary.sensitivity_notes.iter().map(|n| view! { <li>{n.message.clone()}</li> }).collect_view()}
                </ul>
            })}
            {outputs}
            {correlations}
            <ScatterExplorer samples=results.samples.clone() first_pair=first_pair />
            // The summary document itself, for tests that compare runs bit for bit.
            <script type="application/json" class="summary-json">{summary_json_dom}</script>
            <h3>"Sampled iterations"</h3>
            <SampleTable samples=results.samples.clone() />
        </section>
    }
}

fn output_card(
    id: &str,
    label: &str,
    unit: Option<&str>,
    out: &OutputSummary,
    drivers: Vec<scenarioforge_core::summary::Driver>,
    convergence: &[Point],
) -> impl IntoView + use<> {
    let Some(stats) = out.stats.clone() else {
        return view! {
            <article class="output">
                <h3>{label.to_string()}</h3>
                <p class="error">{format!("no finite value in {} iterations", format::thousands(out.non_finite))}</p>
            </article>
        }
        .into_any();
    };
    if let Some(probability) = out.probability {
        return yes_no_card(id, label, out, probability, drivers, convergence).into_any();
    }
    let u = |x: f64| format::with_unit(x, unit);
    let p = &stats.percentiles;
    let rows = vec![
        (
            match stats.sem_method {
                SemMethod::Iid => "mean ± SEM",
                SemMethod::Replicates => "mean ± SEM (from chunk hypercubes)",
                SemMethod::UpperBound => "mean ± SEM (upper bound)",
            },
            format!("{} ± {}", u(stats.mean), format::number(stats.sem)),
        ),
        ("std", u(stats.std)),
        (
            "p5 / p50 / p95",
            format!(
                "{} / {} / {}",
                format::number(p.p5),
                format::number(p.p50),
                u(p.p95)
            ),
        ),
        (
            "min / max",
            format!("{} / {}", format::number(stats.min), u(stats.max)),
        ),
        (
            "values",
            format!(
                "{} finite{}",
                format::thousands(out.count),
                if out.non_finite > 0 {
                    format!(
                        ", {} non-finite: the statistics cover {} of the iterations",
                        format::thousands(out.non_finite),
                        format::percent(out.coverage)
                    )
                } else {
                    String::new()
                }
            ),
        ),
    ];
    let probs = stats
        .prob_below
        .iter()
        .map(|(t, p)| {
            let t_num: f64 = t.parse().unwrap_or(f64::NAN);
            view! { <tr><th>{format!("P(< {})", u(t_num))}</th><td class="num strong">{format::percent(*p)}</td></tr> }
        })
        .collect_view();
    view! {
        <article class="output">
            <h3>{label.to_string()}</h3>
            <div class="output-grid">
                <table class="stats">
                    {rows.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td class="num">{v}</td></tr> }).collect_view()}
                    {probs}
                </table>
                <Histogram stats=stats.clone() title=format!("distribution of {id}") />
                <Cumulative stats=stats.clone() title=format!("P({id} ≤ x)") />
                {(!drivers.is_empty()).then(|| view! { <Tornado drivers=drivers title=format!("drivers of {id}") /> })}
                <Convergence points=convergence.to_vec() output=id.to_string() title=format!("running mean of {id} ± 2 SEM") />
            </div>
        </article>
    }
    .into_any()
}

/// A yes/no output: its chance of yes with the 95% interval, and two bars.
fn yes_no_card(
    id: &str,
    label: &str,
    out: &OutputSummary,
    p: Probability,
    drivers: Vec<scenarioforge_core::summary::Driver>,
    convergence: &[Point],
) -> impl IntoView + use<> {
    let rows = vec![
        ("P(yes)", format::percent(p.p)),
        (
            "95% interval",
            format!("{} – {}", format::percent(p.low), format::percent(p.high)),
        ),
        (
            "yes / iterations",
            format!(
                "{} / {}",
                format::thousands(p.yes),
                format::thousands(p.count)
            ),
        ),
    ];
    let lost = (out.non_finite > 0).then(|| {
        format!(
            "{} non-finite: the figures cover {} of the iterations",
            format::thousands(out.non_finite),
            format::percent(out.coverage)
        )
    });
    view! {
        <article class="output boolean">
            <h3>{label.to_string()}</h3>
            <div class="output-grid">
                <table class="stats">
                    {rows.into_iter().map(|(k, v)| view! { <tr><th>{k}</th><td class="num strong">{v}</td></tr> }).collect_view()}
                    {lost.map(|l| view! { <tr><th>"values"</th><td class="num">{l}</td></tr> })}
                </table>
                <YesNo probability=p title=format!("{id}: no and yes") />
                {(!drivers.is_empty()).then(|| view! { <Tornado drivers=drivers title=format!("drivers of {id}") /> })}
                <Convergence points=convergence.to_vec() output=id.to_string() title=format!("running share of yes in {id} ± 2 SEM") />
            </div>
        </article>
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The sample as CSV: `iteration,node...`, empty cells for non-finite values.
fn csv(table: &scenarioforge_core::SampleTable) -> String {
    let mut out = String::from("iteration");
    for c in &table.columns {
        out.push(',');
        out.push_str(c);
    }
    out.push('\n');
    for (it, vals) in &table.rows {
        out.push_str(&it.to_string());
        for v in vals {
            out.push(',');
            if v.is_finite() {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    out
}

/// Requested, used and achieved rank correlation of each correlated pair.
fn correlation_table(reports: &[CorrelationReport]) -> Option<impl IntoView + use<>> {
    (!reports.is_empty()).then(|| {
        let rows = reports
            .iter()
            .map(|r| {
                let repaired = (r.used - r.requested).abs() > 5e-4;
                view! {
                    <tr>
                        <th>{format!("{} – {}", r.between[0], r.between[1])}</th>
                        <td class="num">{format!("{:+.2}", r.requested)}</td>
                        <td class="num" class:repaired=repaired>{format!("{:+.3}", r.used)}</td>
                        <td class="num strong achieved">{format!("{:+.3}", r.achieved)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <section class="achieved-correlations" aria-label="correlations">
                <h3>"Correlations"</h3>
                <table class="data">
                    <thead><tr><th>"pair"</th><th>"requested"</th><th>"used"</th><th>"achieved (sample)"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
    })
}

/// Rows of the iteration sample a scatter plot reads: all of a browser run's, the first page
/// of a server run's.
const SCATTER_ROWS: u64 = 2_000;

/// Column names and rows (without the iteration number) of the sampled iterations.
type Loaded = (Vec<String>, Vec<Vec<f64>>);

/// The first `SCATTER_ROWS` sampled iterations of a server run, page after page of the
/// most rows the API gives at once.
async fn scatter_rows(id: &str) -> Result<Loaded, api::ApiError> {
    let mut columns = Vec::new();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut after = None;
    while (rows.len() as u64) < SCATTER_ROWS {
        let limit = (SCATTER_ROWS - rows.len() as u64).min(MAX_PAGE_ROWS);
        let page = api::samples(id, after, limit).await?;
        columns = page.columns.into_iter().skip(1).collect();
        rows.extend(page.rows.into_iter().map(|r| {
            r.into_iter()
                .skip(1)
                .map(|v| v.unwrap_or(f64::NAN))
                .collect()
        }));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok((columns, rows))
}

/// Any two nodes of the sampled iterations against each other.
#[component]
fn ScatterExplorer(samples: Samples, first_pair: Option<(String, String)>) -> impl IntoView {
    let data: RwSignal<Option<Loaded>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    match samples {
        Samples::Memory(t) => data.set(Some((
            t.columns.clone(),
            t.rows.iter().map(|(_, r)| r.clone()).collect(),
        ))),
        Samples::Server { id, .. } => spawn_local(async move {
            match scatter_rows(&id).await {
                Ok(loaded) => data.set(Some(loaded)),
                Err(e) => error.set(Some(format!("cannot load the sampled iterations: {e}"))),
            }
        }),
    }
    let x = RwSignal::new(first_pair.as_ref().map(|p| p.0.clone()));
    let y = RwSignal::new(first_pair.map(|p| p.1));
    let chosen = move |which: RwSignal<Option<String>>, fallback: usize| {
        data.with(|d| {
            let columns = &d.as_ref()?.0;
            which.get().filter(|c| columns.contains(c)).or_else(|| {
                columns
                    .get(fallback.min(columns.len().saturating_sub(1)))
                    .cloned()
            })
        })
    };
    let column = move |name: &str| {
        data.with(|d| {
            let (columns, rows) = d.as_ref()?;
            let c = columns.iter().position(|x| x == name)?;
            Some(rows.iter().map(|r| r[c]).collect::<Vec<f64>>())
        })
    };
    let picker = move |which: RwSignal<Option<String>>, fallback: usize, label: &'static str| {
        let current = chosen(which, fallback).unwrap_or_default();
        let options = data.with(|d| d.as_ref().map(|d| d.0.clone()).unwrap_or_default());
        view! {
            <label>
                {label}
                <select class=format!("scatter-{label}") on:change=move |ev| which.set(Some(event_target_value(&ev)))>
                    {options.into_iter().map(|c| {
                        let selected = c == current;
                        let label = c.clone();
                        view! { <option value=c selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section class="scatter-explorer" aria-label="scatter plot">
            <h3>"Scatter plot"</h3>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
            {move || data.with(Option::is_some).then(|| view! {
                <div class="table-controls">{picker(x, 0, "x")} {picker(y, 1, "y")}</div>
            })}
            {move || {
                let (xn, yn) = (chosen(x, 0)?, chosen(y, 1)?);
                let (xs, ys) = (column(&xn)?, column(&yn)?);
                Some(view! { <Scatter xs=xs ys=ys x_label=xn y_label=yn /> })
            }}
        </section>
    }
}

//! The table of sampled iterations, one page at a time: from memory for a browser run,
//! from `GET /api/runs/{id}/samples` (keyset pages) for a server run. Only the current page
//! is ever in the DOM.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::format;
use crate::runner::Samples;

const PAGE_SIZES: [usize; 4] = [25, 50, 100, 250];

#[derive(Clone, Debug, PartialEq)]
struct Page {
    columns: Vec<String>,
    rows: Vec<(u64, Vec<Option<f64>>)>,
}

#[component]
pub fn SampleTable(samples: Samples) -> impl IntoView {
    let page_size = RwSignal::new(50usize);
    let page = RwSignal::new(0usize);
    let total = match &samples {
        Samples::Memory(t) => t.rows.len() as u64,
        Samples::Server { total, .. } => *total,
    };
    let pages = move || (total as usize).div_ceil(page_size.get()).max(1);
    let current: RwSignal<Option<Page>> = RwSignal::new(None);
    let loading_error: RwSignal<Option<String>> = RwSignal::new(None);
    // For a server run: the `after` cursor that starts each page seen so far, for this size.
    let cursors: StoredValue<Vec<Option<u64>>> = StoredValue::new(vec![None]);

    let source = samples.clone();
    Effect::new(move |prev: Option<usize>| {
        let size = page_size.get();
        if prev.is_some_and(|p| p != size) {
            cursors.set_value(vec![None]);
        }
        let p = page.get();
        match &source {
            Samples::Memory(table) => current.set(Some(memory_page(table, p, size))),
            Samples::Server { id, .. } => {
                let id = id.clone();
                spawn_local(async move {
                    match server_page(&id, cursors, p, size).await {
                        Ok(pg) => {
                            loading_error.set(None);
                            current.set(Some(pg));
                        }
                        Err(e) => loading_error.set(Some(e.to_string())),
                    }
                });
            }
        }
        size
    });

    let go = move |p: usize| page.set(p.min(pages() - 1));
    view! {
        <section class="samples" aria-label="sampled iterations">
            <div class="table-controls">
                <label>
                    "rows per page "
                    <select on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse() {
                            page_size.set(n);
                            page.set(0);
                        }
                    }>
                        {PAGE_SIZES.iter().map(|&n| view! { <option value=n selected=n == 50>{n}</option> }).collect_view()}
                    </select>
                </label>
                <button on:click=move |_| go(page.get().saturating_sub(1)) disabled=move || page.get() == 0>"← previous"</button>
                <span class="page-of">{move || format!("page {} of {}", format::thousands(page.get() as u64 + 1), format::thousands(pages() as u64))}</span>
                <button on:click=move |_| go(page.get() + 1) disabled={move || page.get() + 1 >= pages()}>"next →"</button>
                <label>
                    "go to page "
                    <input type="number" min="1" class="page-jump" prop:value=move || page.get() + 1
                        on:change=move |ev| {
                            if let Ok(n) = event_target_value(&ev).parse::<usize>() {
                                go(n.max(1) - 1);
                            }
                        } />
                </label>
                <span class="muted">{format!("{} sampled iterations", format::thousands(total))}</span>
            </div>
            {move || loading_error.get().map(|e| view! { <p class="error">{e}</p> })}
            <div class="table-scroll">
                <table class="data">
                    {move || current.get().map(|pg| view! {
                        <thead><tr>
                            <th>"iteration"</th>
                            {pg.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {pg.rows.iter().map(|(it, vals)| view! {
                                <tr>
                                    <td>{*it}</td>
                                    {vals.iter().map(|v| view! { <td>{v.map_or_else(|| "—".to_string(), format::number)}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    })}
                </table>
            </div>
        </section>
    }
}

fn memory_page(table: &Arc<scenarioforge_core::SampleTable>, page: usize, size: usize) -> Page {
    let start = (page * size).min(table.rows.len());
    let end = (start + size).min(table.rows.len());
    Page {
        columns: table.columns.clone(),
        rows: table.rows[start..end]
            .iter()
            .map(|(it, vals)| {
                (
                    *it,
                    vals.iter().map(|v| v.is_finite().then_some(*v)).collect(),
                )
            })
            .collect(),
    }
}

/// Page `page` of a server run's rows. Keyset pages cannot be addressed by number, so a
/// jump past the pages seen walks there, keeping only each page's cursor.
async fn server_page(
    id: &str,
    cursors: StoredValue<Vec<Option<u64>>>,
    page: usize,
    size: usize,
) -> Result<Page, api::ApiError> {
    loop {
        let known = cursors.with_value(Vec::len);
        let (start_page, after) = if page < known {
            (page, cursors.with_value(|c| c[page]))
        } else {
            (known - 1, cursors.with_value(|c| c[known - 1]))
        };
        let got = api::samples(id, after, size as u64).await?;
        if start_page + 1 >= cursors.with_value(Vec::len)
            && let Some(next) = got.next_after
        {
            cursors.update_value(|c| c.push(Some(next)));
        }
        if start_page == page || got.next_after.is_none() {
            return Ok(Page {
                columns: got.columns.into_iter().skip(1).collect(),
                rows: got
                    .rows
                    .into_iter()
                    .map(|r| {
                        let it = r.first().copied().flatten().unwrap_or(0.0) as u64;
                        (it, r.into_iter().skip(1).collect())
                    })
                    .collect(),
            });
        }
    }
}

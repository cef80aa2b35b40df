//! The app end to end: the real `scenarioforge serve` on a fresh PostgreSQL database, serving
//! the Trunk build in `dist/`, driven in headless Chromium through chromedriver.
//!
//! Needs `DATABASE_URL` (`source scripts/pg.sh && pg_start`), `trunk build --release` done
//! first, and Debian's `chromium` and `chromium-driver`. Each missing piece fails the test
//! with a message saying what to do; nothing is skipped.

#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use test_db::TestDb;

#[path = "support/test_db.rs"]
mod test_db;

/// The longest any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);
const CHROMIUM: &str = "/usr/bin/chromium";

/// The example the test edits, its output node with the formula it breaks and fixes.
const EXAMPLE: &str = "Startup plan";
const NODE: &str = "profit";
const FORMULA: &str = "revenue - costs";
const BROKEN: &str = "revenue - costz";

#[tokio::test(flavor = "multi_thread")]
async fn the_app_end_to_end() {
    let started = Instant::now();
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    assert!(
        dist.join("index.html").is_file(),
        "{} is missing: run `trunk build --release` from the repository root first",
        dist.join("index.html").display()
    );
    let db = TestDb::create().await;
    let server = Server::start(&db.url, &dist);
    let driver = ChromeDriver::start();
    let base = format!("http://{}", server.addr);

    let editor = driver.session().await;
    let result = editor_scenario(&editor, &driver, &base).await;
    let _ = editor.close().await;
    result.unwrap();

    let session = driver.session().await;
    let result = correlation_scenario(&session, &base).await;
    let _ = session.close().await;
    result.unwrap();

    let session = driver.session().await;
    let result = memory_scenario(&session, &base).await;
    let _ = session.close().await;
    result.unwrap();
    eprintln!("e2e: passed in {:.1?}", started.elapsed());
}

/// Everything the issue lists, in one browser session plus a second one for the share link.
async fn editor_scenario(c: &Client, driver: &ChromeDriver, base: &str) -> Result<(), String> {
    // Load the app; the server answers its health check.
    c.goto(&format!("{base}/")).await.map_err(e)?;
    wait_text(c, ".server-status", "server online").await?;

    // Load an example: first another one, so that loading ours visibly changes the model.
    select(c, "select.examples", "Project schedule").await?;
    wait_value(c, "input.model-name", "Project schedule").await?;
    select(c, "select.examples", EXAMPLE).await?;
    wait_value(c, "input.model-name", EXAMPLE).await?;
    let formula = format!("li[data-node='{NODE}'] input.formula");
    wait_value(c, &formula, FORMULA).await?;

    // An unknown name: the diagnostic sits under that node, the name marked, Run disabled.
    retype(c, &formula, BROKEN).await?;
    let diagnostic = format!("li[data-node='{NODE}'] .diagnostic");
    wait_text(c, &format!("{diagnostic} mark"), "costz").await?;
    wait_text(c, &format!("{diagnostic} .message"), "costz").await?;
    wait_text(c, ".why-disabled", "fix 1 error first").await?;
    let run_button = c.find(Locator::Css("button.run")).await.map_err(e)?;
    check(
        run_button.attr("disabled").await.map_err(e)?.is_some(),
        "the run button is disabled while the model has an error",
    )?;

    // Fixed: the diagnostic and the reason Run is disabled go away.
    retype(c, &formula, FORMULA).await?;
    wait_gone(c, &diagnostic).await?;
    wait_gone(c, ".why-disabled").await?;

    // Regression: text that is not a number in the iterations field silently reset it to
    // 10,000. It is an error beside the field, and Run waits for it to be fixed.
    set_iterations(c, "abc").await?;
    wait_text(c, ".run-panel .field-error", "`abc` is not a whole number").await?;
    wait_text(c, ".why-disabled", "fix the iterations field first").await?;
    let run_button = c.find(Locator::Css("button.run")).await.map_err(e)?;
    check(
        run_button.attr("disabled").await.map_err(e)?.is_some(),
        "the run button is disabled while a setting is not a number",
    )?;

    // Run in this browser: results table, histogram, tornado.
    set_iterations(c, "20,000").await?;
    wait_gone(c, ".run-panel .field-error").await?;
    run_placed(c, "browser").await?;
    wait_text(c, "section.results .results-head p", "ran in this browser").await?;
    wait_text(c, "section.results .results-head p", "20,000 iterations").await?;
    // Regression: the results rendered about 2,100 px below the fold and the page stayed
    // put, so a newcomer thought nothing happened. They are brought into view.
    results_in_view(c).await?;
    screenshot(c, "editor-after-run").await?;
    let cards = count(c, "section.results article.output").await?;
    check(cards == 4, &format!("4 output cards, found {cards}"))?;
    check(
        count(c, "article.output table.stats td.num").await? > 0,
        "the results table has numbers",
    )?;
    check(
        count(c, "article.output svg rect.bar").await? > 0,
        "a histogram is drawn",
    )?;
    check(
        count(c, "article.output svg rect.tornado").await? > 0,
        "a tornado is drawn",
    )?;

    // Page through the iteration table.
    wait_text(c, ".samples .page-of", "page 1 of ").await?;
    let pages = text(c, ".samples .page-of").await?;
    let last_page = pages
        .rsplit(' ')
        .next()
        .map(|n| n.replace(',', ""))
        .ok_or_else(|| format!("page count in {pages:?}"))?;
    check(
        last_page.parse::<u32>().is_ok_and(|n| n > 2),
        &format!("several pages: {pages:?}"),
    )?;
    let first_row = ".samples tbody tr:first-child td:first-child";
    let first = text(c, first_row).await?;
    click_button(c, ".samples .table-controls button", "next").await?;
    wait_text(c, ".samples .page-of", "page 2 of ").await?;
    wait_until("the iteration table to show another page", || async {
        let now = text(c, first_row).await?;
        Ok((now == first).then(|| format!("first iteration still {now}")))
    })
    .await?;
    set_field(c, ".samples input.page-jump", &last_page).await?;
    wait_text(
        c,
        ".samples .page-of",
        &format!("page {last_page} of {last_page}"),
    )
    .await?;
    let rows = count(c, ".samples tbody tr").await?;
    check(
        (1..=50).contains(&rows),
        &format!("the last page has 1 to 50 rows, found {rows}"),
    )?;

    // Share the browser run and open the link in a new browser session: the same numbers.
    let browser_summary = summary_json(c).await?;
    let browser_stats = stats_text(c).await?;
    click_button(c, ".results-head .actions button.primary", "Share").await?;
    let link = wait_find(c, "a.share-link").await?;
    let href = link.attr("href").await.map_err(e)?.unwrap_or_default();
    let id = href
        .strip_prefix("/r/")
        .ok_or_else(|| format!("share link {href:?} is not /r/{{id}}"))?
        .to_string();
    let other = driver.session().await;
    let shared = shared_scenario(&other, base, &id).await;
    let _ = other.close().await;
    let (shared_summary, shared_stats) = shared?;
    check_same(
        &browser_summary,
        &shared_summary,
        "the shared page's summary",
    )?;
    check(
        browser_stats == shared_stats,
        &format!("same numbers on the shared page: {browser_stats:?} vs {shared_stats:?}"),
    )?;
    let api: Value = c
        .execute(
            "return fetch(arguments[0]).then(r => r.json())",
            vec![json!(format!("{base}/api/runs/{id}"))],
        )
        .await
        .map_err(e)?;
    check(
        api["status"] == "completed",
        &format!("the shared run completed: {api}"),
    )?;
    check_same(&browser_summary, &api["summary"], "GET /api/runs/{id}")?;

    // A run past the browser limit goes to the server and completes there.
    set_field(c, ".run-panel input[type=number]", "0.2").await?;
    select(c, ".run-panel select.placement", "auto").await?;
    set_iterations(c, "3,000,000").await?;
    wait_enabled(c, "button.run").await?;
    click(c, &wait_find(c, "button.run").await?).await?;
    wait_text(c, ".run-panel .note", "sent to the server").await?;
    wait_text(c, "section.results .results-head p", "ran on the server").await?;
    wait_text(c, "section.results .results-head p", "3,000,000 iterations").await?;
    wait_text(c, "section.results .results-head p", "completed").await?;
    wait_text(c, ".my-runs", "3,000,000 iterations · server · completed").await?;
    // Regression: the page asked the server for 2,000 sample rows a page (its limit is
    // 1,000), so a server run's scatter plot never drew.
    scatter_drawn(c).await?;
    let link = wait_find(c, "a.share-link").await?;
    let href = link.attr("href").await.map_err(e)?.unwrap_or_default();
    let server_id = href.strip_prefix("/r/").unwrap_or_default().to_string();
    // Its share link, in a new session: the scatter plot, and the convergence chart from
    // the stored history (progress was not stored, so a shared run had none).
    let other = driver.session().await;
    let shared = shared_server_run(&other, base, &server_id).await;
    let _ = other.close().await;
    shared?;
    screenshot(c, "server-run").await?;

    // Reload the editor: the model, with the last edits, is still there. (The example is
    // also the model a first visit opens, so the test renames it to tell the two apart, and
    // waits for the debounced save to reach local storage.)
    let renamed = format!("{EXAMPLE} (edited)");
    retype(c, "input.model-name", &renamed).await?;
    wait_until("the renamed model to be saved", || async {
        let stored = c
            .execute(
                "return localStorage.getItem('scenarioforge.model');",
                vec![],
            )
            .await
            .map_err(e)?;
        let name = stored
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .map(|m| m["name"].clone());
        Ok((name != Some(json!(renamed))).then(|| format!("stored name {name:?}")))
    })
    .await?;
    c.refresh().await.map_err(e)?;
    wait_value(c, "input.model-name", &renamed).await?;
    wait_value(c, &formula, FORMULA).await?;
    wait_value(
        c,
        ".run-panel .settings label:first-child input",
        "3,000,000",
    )
    .await?;

    // Regression: a draw whose parameter came out invalid was NaN with only a generic note.
    // The results say which statistics leave out iterations, and the node says why.
    let invalid = "normal(revenue - costs, churn - 0.05)";
    retype(c, &formula, invalid).await?;
    set_iterations(c, "20,000").await?;
    run_placed(c, "browser").await?;
    wait_text(c, "section.results .results-head p", "20,000 iterations").await?;
    wait_text(c, "section.results .warnings .lost", "`profit` covers").await?;
    wait_text(
        c,
        &format!("li[data-node='{NODE}'] .node-warning"),
        "had invalid parameters in",
    )
    .await?;
    wait_text(
        c,
        &format!("li[data-node='{NODE}'] .node-warning"),
        "`sd` must be at least 0",
    )
    .await?;
    screenshot(c, "invalid-parameters").await?;
    Ok(())
}

/// The correlation editor, Latin hypercube and a precision target, run in the browser: pairs
/// added and set with the slider, an impossible set flagged as repaired, and the achieved
/// correlations and the scatter plot in the results.
async fn correlation_scenario(c: &Client, base: &str) -> Result<(), String> {
    c.goto(&format!("{base}/")).await.map_err(e)?;
    select(c, "select.examples", "Retail pricing (correlated inputs)").await?;
    wait_value(c, "input.model-name", "Retail pricing").await?;
    wait_text(c, "details.correlations summary", "Correlations (2)").await?;
    check(
        count(c, "table.matrix tbody tr").await? == 4,
        "the matrix shows the four correlated inputs",
    )?;

    // A third pair: the first two inputs not yet paired.
    click(c, &wait_find(c, "button.add-pair").await?).await?;
    wait_text(c, "details.correlations summary", "Correlations (3)").await?;
    let third = "li.pair:nth-child(3)";
    wait_value(c, &format!("{third} select.pair-a"), "demand").await?;
    wait_value(c, &format!("{third} select.pair-b"), "unit_cost").await?;

    // Demand strongly with unit cost while strongly against price, and price independent of
    // unit cost: impossible together, so the engine's repaired value is flagged.
    slide(c, &format!("{third} input.pair-rank"), "0.9").await?;
    wait_text(c, &format!("{third} .pair-value"), "+0.90").await?;
    wait_text(c, &format!("{third} .repaired"), "used").await?;
    wait_find(c, "table.matrix td.repaired").await?;
    // A value that can hold: the flags go.
    slide(c, &format!("{third} input.pair-rank"), "0.3").await?;
    wait_text(c, &format!("{third} .pair-value"), "+0.30").await?;
    wait_gone(c, "table.matrix td.repaired").await?;

    // Latin hypercube (the example's choice) and its precision target, run in the browser.
    wait_value(c, ".run-panel select.sampling", "latin_hypercube").await?;
    wait_value(c, ".run-panel input.precision-relative", "1").await?;
    run_placed(c, "browser").await?;
    wait_text(c, "section.results .results-head p", "converged").await?;
    let summary = summary_json(c).await?;
    check(
        summary["status"] == "converged",
        &format!("the run converged: {}", summary["status"]),
    )?;
    let pairs = summary["correlations"]
        .as_array()
        .ok_or("the summary has correlations")?;
    check(pairs.len() == 3, "three correlated pairs in the summary")?;
    for p in pairs {
        let (want, got) = (
            p["requested"].as_f64().unwrap_or(f64::NAN),
            p["achieved"].as_f64().unwrap_or(f64::NAN),
        );
        check(
            (want - got).abs() < 0.05,
            &format!("achieved near requested: {p}"),
        )?;
    }
    check(
        count(c, ".achieved-correlations tbody tr").await? == 3,
        "the results list the three pairs",
    )?;
    // The scatter plot starts on the first pair and follows the chosen columns.
    wait_text(c, ".scatter-caption", "price against demand").await?;
    check(
        count(c, "figure.scatter circle.point").await? > 100,
        "the scatter plot draws the sampled iterations",
    )?;
    select(c, ".scatter-explorer select.scatter-y", "profit").await?;
    wait_text(c, ".scatter-caption", "profit against demand").await?;
    Ok(())
}

/// A run whose memory the engine estimates above the page's 1 GiB: refused in the browser with
/// the server's message, and, placed automatically, sent to the server, which keeps at most
/// `SAMPLE_ROWS` of its rows and so runs it.
async fn memory_scenario(c: &Client, base: &str) -> Result<(), String> {
    c.goto(&format!("{base}/")).await.map_err(e)?;
    // 200 inputs: a sample of 1,000,000 rows of them is about 3 GiB.
    let mut nodes: Vec<Value> = (0..200)
        .map(|i| json!({"id": format!("x{i}"), "expr": "normal(0, 1)"}))
        .collect();
    nodes.push(json!({"id": "total", "expr": "x0 + x1", "output": true}));
    let model = json!({"name": "Too wide for the page", "nodes": nodes,
                       "settings": {"iterations": 1_000_000, "sample_size": 1_000_000}});
    let path = std::env::temp_dir().join(format!("sf-e2e-wide-{}.json", std::process::id()));
    std::fs::write(&path, model.to_string()).map_err(e)?;
    let input = wait_find(c, "input[type=file]").await?;
    input
        .send_keys(path.to_str().ok_or("a UTF-8 path")?)
        .await
        .map_err(e)?;
    wait_value(c, "input.model-name", "Too wide for the page").await?;
    let _ = std::fs::remove_file(&path);
    run_placed(c, "browser").await?;
    wait_text(
        c,
        ".run-panel p.error",
        "above the limit of 1.0 GiB (this browser's limit)",
    )
    .await?;
    wait_text(
        c,
        ".run-panel p.error",
        "for its sample of 201 nodes and draws",
    )
    .await?;
    screenshot(c, "browser-memory").await?;
    run_placed(c, "auto").await?;
    wait_text(
        c,
        ".run-panel .note",
        "sent to the server: the run would need about",
    )
    .await?;
    wait_text(c, "section.results .results-head p", "1,000,000 iterations").await?;
    wait_text(c, "section.results .results-head p", "ran on the server").await?;
    Ok(())
}

/// Chooses where the run goes (`browser`, `auto`, `server`) and starts it.
async fn run_placed(c: &Client, placement: &str) -> Result<(), String> {
    select(c, ".run-panel select.placement", placement).await?;
    click(c, &wait_find(c, "button.run").await?).await
}

/// Moves a range input to `value` as dragging it would: an `input` event per change.
async fn slide(c: &Client, css: &str, value: &str) -> Result<(), String> {
    wait_find(c, css).await?;
    c.execute(
        "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
         el.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![json!(css), json!(value)],
    )
    .await
    .map_err(e)?;
    Ok(())
}

/// The shared run in a fresh browser: its summary document and displayed statistics.
async fn shared_scenario(c: &Client, base: &str, id: &str) -> Result<(Value, Vec<String>), String> {
    c.goto(&format!("{base}/r/{id}")).await.map_err(e)?;
    wait_text(c, "main.share", "status").await?;
    wait_text(c, "section.results .results-head p", "completed").await?;
    let about = text(c, "main.share p.muted").await?;
    check(about.contains(id), "the share page names the run")?;
    check(
        !about.contains("started from this browser"),
        "the second session shares nothing with the first",
    )?;
    Ok((summary_json(c).await?, stats_text(c).await?))
}

/// With `E2E_SCREENSHOTS` set to a folder, saves what the window shows there as `NAME.png`, for
/// a person to look at.
async fn screenshot(c: &Client, name: &str) -> Result<(), String> {
    let Some(dir) = std::env::var_os("E2E_SCREENSHOTS") else {
        return Ok(());
    };
    let png = c.screenshot().await.map_err(e)?;
    std::fs::create_dir_all(&dir).map_err(e)?;
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).map_err(e)
}

/// The results section starts inside the window.
async fn results_in_view(c: &Client) -> Result<(), String> {
    wait_until("the results to be scrolled into view", || async {
        let top = c
            .execute(
                "const r = document.querySelector('section.results').getBoundingClientRect(); \
                 return [r.top, window.innerHeight];",
                vec![],
            )
            .await
            .map_err(e)?;
        let (top, height) = (
            top[0].as_f64().unwrap_or(f64::NAN),
            top[1].as_f64().unwrap_or(0.0),
        );
        // Scrolled to the top of the window, give or take the subpixel of a rounded scroll.
        Ok((!(top >= -2.0 && top < height)).then(|| format!("results top at {top} of {height}")))
    })
    .await
}

/// The scatter plot of the results draws the sampled iterations.
async fn scatter_drawn(c: &Client) -> Result<(), String> {
    wait_until("the scatter plot to draw its points", || async {
        let points = count(c, "figure.scatter circle.point").await?;
        Ok((points < 100).then(|| format!("{points} points")))
    })
    .await
}

/// A finished server run's share page: its scatter plot and its convergence chart.
async fn shared_server_run(c: &Client, base: &str, id: &str) -> Result<(), String> {
    c.goto(&format!("{base}/r/{id}")).await.map_err(e)?;
    wait_text(c, "section.results .results-head p", "completed").await?;
    scatter_drawn(c).await?;
    screenshot(c, "shared-server-run").await?;
    let line = wait_find(c, "article.output polyline.mean-line").await?;
    let points = line.attr("points").await.map_err(e)?.unwrap_or_default();
    let n = points.split_whitespace().count();
    check(
        n >= 20,
        &format!("the shared run's convergence chart has {n} points"),
    )
}

/// Compares two summaries except for `elapsed_ms`, the one field that varies between
/// identical runs. Numbers compare as doubles: a document that went through JavaScript
/// (`fetch(..).json()`) comes back with `0.0` as `0`, the same double.
fn check_same(browser: &Value, other: &Value, what: &str) -> Result<(), String> {
    fn as_doubles(v: &mut Value) {
        match v {
            Value::Number(n) => {
                if let Some(d) = n.as_f64().and_then(serde_json::Number::from_f64) {
                    *n = d;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(as_doubles),
            Value::Object(fields) => fields.values_mut().for_each(as_doubles),
            _ => {}
        }
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("elapsed_ms");
        }
        as_doubles(&mut v);
        v
    };
    check(
        strip(browser) == strip(other),
        &format!("{what} equals the browser run's summary:\n{browser}\n{other}"),
    )
}

async fn summary_json(c: &Client) -> Result<Value, String> {
    let el = wait_find(c, "section.results script.summary-json").await?;
    let text = el.prop("textContent").await.map_err(e)?.unwrap_or_default();
    serde_json::from_str(&text).map_err(|err| format!("summary JSON in the page: {err}"))
}

async fn stats_text(c: &Client) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for cell in c
        .find_all(Locator::Css("article.output table.stats td"))
        .await
        .map_err(e)?
    {
        out.push(cell.text().await.map_err(e)?);
    }
    Ok(out)
}

async fn set_iterations(c: &Client, value: &str) -> Result<(), String> {
    set_field(c, ".run-panel .settings label:first-child input", value).await
}

/// Sets a field's text and commits it, as typing then leaving the field would. (Clearing it
/// first would commit an empty value that the app re-renders before the new text arrives.)
async fn set_field(c: &Client, css: &str, value: &str) -> Result<(), String> {
    wait_find(c, css).await?;
    c.execute(
        "const el = document.querySelector(arguments[0]); el.value = arguments[1]; \
         el.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![json!(css), json!(value)],
    )
    .await
    .map_err(e)?;
    wait_value(c, css, value).await
}

/// Replaces a field's text by typing, so that every keystroke is an `input` event.
async fn retype(c: &Client, css: &str, value: &str) -> Result<(), String> {
    let el = wait_find(c, css).await?;
    el.clear().await.map_err(e)?;
    el.send_keys(value).await.map_err(e)?;
    wait_value(c, css, value).await
}

async fn select(c: &Client, css: &str, value: &str) -> Result<(), String> {
    wait_find(c, css)
        .await?
        .select_by_value(value)
        .await
        .map_err(e)
}

async fn click_button(c: &Client, css: &str, label: &str) -> Result<(), String> {
    for b in c.find_all(Locator::Css(css)).await.map_err(e)? {
        if b.text().await.map_err(e)?.contains(label) {
            return click(c, &b).await;
        }
    }
    Err(format!("no {css} button labelled {label:?}"))
}

/// Clicks `el` after scrolling it to the middle of the window, out from under the sticky
/// top bar.
async fn click(c: &Client, el: &Element) -> Result<(), String> {
    let arg = serde_json::to_value(el).map_err(e)?;
    c.execute(
        "arguments[0].scrollIntoView({ block: 'center' });",
        vec![arg],
    )
    .await
    .map_err(e)?;
    el.click().await.map_err(e)
}

async fn text(c: &Client, css: &str) -> Result<String, String> {
    wait_find(c, css).await?.text().await.map_err(e)
}

async fn count(c: &Client, css: &str) -> Result<usize, String> {
    Ok(c.find_all(Locator::Css(css)).await.map_err(e)?.len())
}

async fn wait_find(c: &Client, css: &str) -> Result<Element, String> {
    let deadline = Instant::now() + STEP;
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            return Ok(el);
        }
        if Instant::now() > deadline {
            return Err(format!("{css} did not appear within {STEP:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until some element matching `css` contains `needle` in its text.
async fn wait_text(c: &Client, css: &str, needle: &str) -> Result<(), String> {
    wait_until(&format!("{css} containing {needle:?}"), || async {
        let mut texts = Vec::new();
        for el in c.find_all(Locator::Css(css)).await.map_err(e)? {
            // An element replaced while it is read is read again on the next poll.
            if let Ok(t) = el.text().await {
                texts.push(t);
            }
        }
        Ok((!texts.iter().any(|t| t.contains(needle))).then(|| format!("found {texts:?}")))
    })
    .await
}

async fn wait_value(c: &Client, css: &str, expected: &str) -> Result<(), String> {
    wait_until(&format!("{css} with value {expected:?}"), || async {
        let value = match c.find(Locator::Css(css)).await {
            Ok(el) => el.prop("value").await.ok().flatten(),
            Err(_) => None,
        };
        Ok((value.as_deref() != Some(expected)).then(|| format!("value {value:?}")))
    })
    .await
}

async fn wait_gone(c: &Client, css: &str) -> Result<(), String> {
    wait_until(&format!("{css} to go away"), || async {
        let n = count(c, css).await?;
        Ok((n > 0).then(|| format!("{n} left")))
    })
    .await
}

async fn wait_enabled(c: &Client, css: &str) -> Result<(), String> {
    wait_until(&format!("{css} to be enabled"), || async {
        let disabled = wait_find(c, css).await?.attr("disabled").await.map_err(e)?;
        Ok(disabled.map(|_| "disabled".to_string()))
    })
    .await
}

/// Polls `probe` until it reports nothing left to wait for (`None`), for at most `STEP`; on
/// timeout the error says what the last poll saw.
async fn wait_until<F, Fut>(what: &str, mut probe: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>, String>>,
{
    let deadline = Instant::now() + STEP;
    loop {
        let Some(state) = probe().await? else {
            return Ok(());
        };
        if Instant::now() > deadline {
            return Err(format!(
                "timed out after {STEP:?} waiting for {what}: {state}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("expected: {what}"))
    }
}

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Waits until something listens on `addr`, or the child it belongs to has exited.
fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + STEP;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on {addr}");
        }
        assert!(
            Instant::now() < deadline,
            "{what} is not listening on {addr} after {STEP:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed when dropped, the test's failures included.
#[derive(Debug)]
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `scenarioforge serve` on its own port and database, serving `dist/`.
#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    _process: Guard,
}

impl Server {
    fn start(database_url: &str, dist: &Path) -> Server {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut child = Command::new(env!("CARGO_BIN_EXE_scenarioforge"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", addr.to_string())
            .env("WEB_DIR", dist)
            .env("MAX_CONCURRENT_RUNS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start `scenarioforge serve`");
        wait_listening(addr, &mut child, "scenarioforge serve");
        Server {
            addr,
            _process: Guard(child),
        }
    }
}

/// chromedriver on its own port, and a temporary directory for the browsers' profiles.
#[derive(Debug)]
struct ChromeDriver {
    url: String,
    profiles: TempDir,
    _process: Guard,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing: install Debian's `chromium` and `chromium-driver`"
        );
        let port = free_port();
        let mut child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (Debian's `chromium-driver`)");
        wait_listening(([127, 0, 0, 1], port).into(), &mut child, "chromedriver");
        ChromeDriver {
            url: format!("http://127.0.0.1:{port}"),
            profiles: TempDir::new(),
            _process: Guard(child),
        }
    }

    /// A new browser session with a profile of its own: nothing stored, nothing shared.
    async fn session(&self) -> Client {
        let profile = self.profiles.fresh();
        let options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", format!("--user-data-dir={}", profile.display()),
                "--window-size=1440,900",
            ],
        });
        let caps = serde_json::Map::from_iter([("goog:chromeOptions".to_string(), options)]);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|err| panic!("cannot start a Chromium session: {err}"))
    }
}

/// A temporary directory, removed when dropped.
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
    next: std::cell::Cell<u32>,
}

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!("scenarioforge-e2e-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        TempDir {
            path,
            next: std::cell::Cell::new(0),
        }
    }

    fn fresh(&self) -> PathBuf {
        self.next.set(self.next.get() + 1);
        self.path.join(format!("profile-{}", self.next.get()))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

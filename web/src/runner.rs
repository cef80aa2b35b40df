//! Running a model: in this browser with the engine's `Stepper` (a few chunks at a time,
//! yielding to the event loop in between so the page never freezes), or on the server when
//! the measured speed says the run would take longer than the browser limit.

use std::sync::Arc;

use futures_util::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use leptos::prelude::*;
use scenarioforge_core::cost;
use scenarioforge_core::{
    Checked, Limits, ModelSpec, Rejected, RunStatus, SampleTable, Settings, Stepper, Stop, Summary,
    check,
};

use crate::api;
use crate::browser;
use crate::format;
use crate::store;

/// Where the user wants a run to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// In the browser unless the measured speed says it would take past the limit.
    Auto,
    Browser,
    Server,
}

/// The iteration table of a finished run.
#[derive(Clone, Debug)]
pub enum Samples {
    /// A browser run's sample, in memory.
    Memory(Arc<SampleTable>),
    /// A server run's rows, read a page at a time from the API.
    Server { id: String, total: u64 },
}

/// A finished (or stopped) run, ready to show.
#[derive(Clone, Debug)]
pub struct Results {
    pub summary: Summary,
    /// The model that ran, for units and labels.
    pub model: ModelSpec,
    pub samples: Samples,
    /// The server run behind these results, if any (for the share link).
    pub server_id: Option<String>,
    pub ran_in_browser: bool,
}

/// One point of the convergence chart: each output's running mean and SEM.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub iterations: u64,
    pub outputs: Vec<(String, f64, f64)>,
}

impl From<&scenarioforge_core::convergence::Point> for Point {
    fn from(p: &scenarioforge_core::convergence::Point) -> Point {
        Point {
            iterations: p.iterations,
            outputs: p
                .outputs
                .iter()
                .map(|(id, m)| {
                    (
                        id.to_string(),
                        m.mean.unwrap_or(f64::NAN),
                        m.sem.unwrap_or(f64::NAN),
                    )
                })
                .collect(),
        }
    }
}

/// Where a run in flight is.
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    pub done: u64,
    pub total: u64,
    pub started_ms: f64,
    /// `browser` or `server`.
    pub place: &'static str,
    pub status: RunStatus,
}

/// The reactive state of one run panel: what is running, what it gave.
#[derive(Clone, Copy, Debug)]
pub struct RunState {
    pub live: RwSignal<Option<Live>>,
    pub convergence: RwSignal<Vec<Point>>,
    pub results: RwSignal<Option<Results>>,
    /// Why the run is where it is, or why it failed.
    pub note: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    pub cancel_requested: RwSignal<bool>,
    /// `(id, owner token)` of the server run in flight.
    pub server_run: RwSignal<Option<(String, String)>>,
    /// Measured speed in this browser, iterations per second, from the last browser run.
    pub speed: RwSignal<Option<f64>>,
}

impl RunState {
    pub fn new() -> RunState {
        RunState {
            live: RwSignal::new(None),
            convergence: RwSignal::new(Vec::new()),
            results: RwSignal::new(None),
            note: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            cancel_requested: RwSignal::new(false),
            server_run: RwSignal::new(None),
            speed: RwSignal::new(None),
        }
    }

    pub fn running(&self) -> bool {
        self.live.with(Option::is_some)
    }

    fn start(&self, total: u64, place: &'static str) {
        self.live.set(Some(Live {
            done: 0,
            total,
            started_ms: browser::now_ms(),
            place,
            status: RunStatus::Running,
        }));
        self.convergence.set(Vec::new());
        self.error.set(None);
    }

    fn progress(&self, point: Point, status: RunStatus) {
        self.live.update(|l| {
            if let Some(l) = l {
                l.done = point.iterations;
                l.status = status;
            }
        });
        self.convergence.update(|c| {
            if c.last().is_none_or(|p| p.iterations < point.iterations) {
                c.push(point);
            }
        });
    }

    /// Asks the run in flight to stop: a browser run before its next slice, a server run
    /// through the API with its owner token.
    pub fn cancel(&self) {
        self.cancel_requested.set(true);
        if let Some((id, token)) = self.server_run.get_untracked() {
            let state = *self;
            leptos::task::spawn_local(async move {
                if let Err(e) = api::cancel(&id, &token).await {
                    state.error.set(Some(format!("could not cancel: {e}")));
                }
            });
        }
    }
}

/// Time a browser slice should take: short enough that typing and the cancel button stay
/// responsive, long enough that yielding costs little.
const SLICE_MS: f64 = 40.0;

/// The most memory a run in the page may need, by the engine's estimate: a quarter of the
/// 4 GiB a wasm32 page can address at most, and what a tab can hold beside everything else.
/// A bigger run goes to the server (or, placed in the browser, is refused).
const BROWSER_MEMORY: u64 = 1 << 30;

/// The window over which a run measures its speed in this browser, in ms from its start.
const CALIBRATION_FROM_MS: f64 = 100.0;
const CALIBRATION_MS: f64 = 300.0;

/// Runs `spec` where `placement` and the browser limit say.
pub async fn run(state: RunState, spec: ModelSpec, placement: Placement, limit_s: f64) {
    state.cancel_requested.set(false);
    state.results.set(None);
    // The server's own check: what it would refuse is not run here either.
    let (model, settings) = match check(&spec, &Settings::default(), &Limits::default()) {
        Ok(Checked { model, settings }) => (model, settings),
        Err(Rejected::Model(d)) => {
            state
                .error
                .set(Some(format!("the model has {} error(s)", d.len())));
            return;
        }
        Err(Rejected::Settings { diagnostics, .. }) => {
            state
                .error
                .set(diagnostics.first().map(|d| d.message.clone()));
            return;
        }
    };
    if placement == Placement::Server {
        state.note.set("runs on the server, as asked".to_string());
        run_on_server(state, spec, "server").await;
        return;
    }
    // The server's memory check too, against this page's own limit.
    let estimate = cost::memory(&model, &settings, 1);
    if let Some(message) = estimate.refusal(&model, BROWSER_MEMORY, "this browser's limit") {
        if placement == Placement::Browser {
            state.error.set(Some(message));
            return;
        }
        state.note.set(format!("sent to the server: {message}"));
        run_on_server(state, spec, "server").await;
        return;
    }

    state.start(settings.iterations(), "browser");
    let started = browser::now_ms();
    let mut stepper = match Stepper::new(model, settings.clone()) {
        Ok(s) => s,
        Err(e) => {
            state.live.set(None);
            state.error.set(Some(e.to_string()));
            return;
        }
    };
    // Calibration: the first slices measure this model's speed in this browser.
    let mut chunks = 1u64;
    let mut calibrated = false;
    let mut mark: Option<(f64, u64)> = None;
    loop {
        if state.cancel_requested.get_untracked() {
            stepper.stop(Stop::Cancelled);
        }
        let t0 = browser::now_ms();
        // One chunk at a time within the slice, so the convergence chart gets a point per
        // chunk; the signals are updated once per slice.
        let mut points = Vec::with_capacity(chunks as usize);
        for _ in 0..chunks {
            let p = stepper.step(1);
            points.push(Point {
                iterations: p.iterations_done,
                outputs: p.outputs,
            });
            if stepper.is_done() {
                break;
            }
        }
        let slice_ms = (browser::now_ms() - t0).max(0.01);
        let per_chunk = slice_ms / points.len().max(1) as f64;
        chunks = ((SLICE_MS / per_chunk) as u64).clamp(1, 256);
        let done = points.last().map_or(0, |p| p.iterations);
        state.convergence.update(|c| c.extend(points));
        state.live.update(|l| {
            if let Some(l) = l {
                l.done = done;
            }
        });
        let elapsed = browser::now_ms() - started;
        // The browser first runs wasm from a quick baseline compile and swaps in optimised
        // code once it is hot, so the first slices are several times slower than the rest:
        // the speed is measured from `CALIBRATION_FROM_MS` to `CALIBRATION_MS`.
        if mark.is_none() && elapsed >= CALIBRATION_FROM_MS {
            mark = Some((elapsed, done));
        }
        if !calibrated && (elapsed >= CALIBRATION_MS || stepper.is_done()) && done > 0 {
            calibrated = true;
            let speed = match mark {
                Some((t, d)) if done > d && elapsed > t => {
                    (done - d) as f64 / ((elapsed - t) / 1000.0)
                }
                _ => done as f64 / (elapsed / 1000.0),
            };
            state.speed.set(Some(speed));
            let estimate = elapsed / 1000.0 + (settings.iterations() - done) as f64 / speed;
            let limit_iterations = speed * limit_s;
            if placement == Placement::Auto && estimate > limit_s {
                state.note.set(format!(
                    "sent to the server: {} iterations would take about {} in this browser \
                     (measured {} iterations/s), past the {} browser limit (about {} iterations)",
                    format::thousands(settings.iterations()),
                    format::duration(estimate),
                    format::number(speed),
                    format::duration(limit_s),
                    format::number(limit_iterations),
                ));
                run_on_server(state, spec, "server").await;
                return;
            }
            state.note.set(format!(
                "runs in this browser: about {} at the measured {} iterations/s{}",
                format::duration(estimate),
                format::number(speed),
                if placement == Placement::Browser {
                    " (browser chosen)".to_string()
                } else {
                    format!(", within the {} browser limit", format::duration(limit_s))
                },
            ));
        }
        if stepper.is_done() {
            break;
        }
        // Back to the event loop: input, rendering and the cancel button get their turn.
        browser::yield_to_event_loop().await;
    }
    let elapsed_ms = (browser::now_ms() - started).max(0.0) as u64;
    if elapsed_ms >= 300 {
        // A run long enough to be warm gives the best figure for the next estimate.
        state.speed.set(Some(
            done_total(&state) as f64 / (elapsed_ms as f64 / 1000.0),
        ));
    }
    let out = stepper.finish();
    let mut summary = out.summary;
    summary.elapsed_ms = elapsed_ms;
    state.live.set(None);
    state.results.set(Some(Results {
        summary,
        model: spec,
        samples: Samples::Memory(Arc::new(out.samples)),
        server_id: None,
        ran_in_browser: true,
    }));
}

fn done_total(state: &RunState) -> u64 {
    state
        .live
        .with_untracked(|l| l.as_ref().map_or(0, |l| l.done))
}

/// Sends `spec` to the server and follows the run to its end.
async fn run_on_server(state: RunState, spec: ModelSpec, kind: &str) {
    let iterations = spec.settings.iterations.unwrap_or(10_000);
    state.start(iterations, "server");
    let created = match api::create_run(&spec, &spec.settings).await {
        Ok(c) => c,
        Err(e) => {
            state.live.set(None);
            state
                .error
                .set(Some(format!("could not start the run on the server: {e}")));
            return;
        }
    };
    store::remember_run(store::MyRun {
        id: created.id.clone(),
        owner_token: created.owner_token.clone(),
        name: spec.name.clone(),
        iterations,
        kind: kind.to_string(),
        status: created.status.to_string(),
        created_ms: js_sys::Date::now(),
    });
    state
        .server_run
        .set(Some((created.id.clone(), created.owner_token.clone())));
    follow(state, created.id).await;
}

/// Follows a server run's event stream until it is done, then loads its results.
pub async fn follow(state: RunState, id: String) {
    if state.live.get_untracked().is_none() {
        state.start(0, "server");
    }
    // The browser reconnects a dropped stream by itself; a stream it gave up on (closed)
    // ends the wait like `done`, and the run's state then says where it is.
    let Ok(mut source) = EventSource::new(&api::events_url(&id)) else {
        state
            .error
            .set(Some("could not open the run's event stream".to_string()));
        state.live.set(None);
        return;
    };
    let (Ok(progress), Ok(done)) = (source.subscribe("progress"), source.subscribe("done")) else {
        state
            .error
            .set(Some("could not follow the run's event stream".to_string()));
        state.live.set(None);
        return;
    };
    let mut events = futures_util::stream::select(progress, done);
    while let Some(Ok((kind, message))) = events.next().await {
        if kind != "progress" {
            break;
        }
        let Some(ev) = message
            .data()
            .as_string()
            .and_then(|text| serde_json::from_str::<api::RunEvent>(&text).ok())
        else {
            continue;
        };
        state.live.update(|l| {
            if let Some(l) = l {
                l.total = ev.iterations_total;
            }
        });
        let outputs = ev
            .outputs
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    o.mean.unwrap_or(f64::NAN),
                    o.sem.unwrap_or(f64::NAN),
                )
            })
            .collect();
        state.progress(
            Point {
                iterations: ev.iterations_done,
                outputs,
            },
            ev.status,
        );
    }
    drop(events);
    source.close();
    state.server_run.set(None);
    match api::get_run(&id).await {
        Ok(view) => {
            store::set_run_status(&id, view.status.as_str());
            state.live.set(None);
            // The stored history has a point every few chunks; the stream, at most ten a
            // second, may have given a short run only two or three.
            if let Some(points) = &view.convergence {
                state
                    .convergence
                    .set(points.iter().map(Point::from).collect());
            }
            match view.summary {
                Some(summary) => state.results.set(Some(Results {
                    summary,
                    model: view.model,
                    samples: Samples::Server {
                        id: id.clone(),
                        total: view.sample_rows,
                    },
                    server_id: Some(id),
                    ran_in_browser: false,
                })),
                None if !view.status.is_finished() => {
                    state.error.set(Some(
                        "lost the run's event stream; reload the page to follow it".to_string(),
                    ));
                }
                None => state.error.set(Some(format!(
                    "the run ended {}{}",
                    view.status,
                    view.error.map(|e| format!(": {e}")).unwrap_or_default()
                ))),
            }
        }
        Err(e) => {
            state.live.set(None);
            state
                .error
                .set(Some(format!("could not load the run: {e}")));
        }
    }
}

/// Shares a browser run: the server runs the same model and settings (same seed, so the
/// same bits) and its id is the link.
pub async fn share(spec: &ModelSpec) -> Result<String, api::ApiError> {
    let created = api::create_run(spec, &spec.settings).await?;
    store::remember_run(store::MyRun {
        id: created.id.clone(),
        owner_token: created.owner_token,
        name: spec.name.clone(),
        iterations: spec.settings.iterations.unwrap_or(10_000),
        kind: "share".to_string(),
        status: created.status.to_string(),
        created_ms: js_sys::Date::now(),
    });
    Ok(created.id)
}

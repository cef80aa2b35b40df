//! What the app keeps in the browser's local storage: the model being edited, the browser
//! limit, and the runs started from this browser with their owner tokens. Nothing else
//! identifies the user.

use scenarioforge_core::ModelSpec;
use serde::{Deserialize, Serialize};

use crate::browser;

const MODEL_KEY: &str = "scenarioforge.model";
const LIMIT_KEY: &str = "scenarioforge.browser_limit_s";
const RUNS_KEY: &str = "scenarioforge.my_runs";

/// The longest run, in seconds at the measured speed, kept in the browser by default.
pub const DEFAULT_BROWSER_LIMIT_S: f64 = 20.0;

pub fn load_model() -> Option<ModelSpec> {
    browser::load(MODEL_KEY)
}

pub fn save_model(spec: &ModelSpec) {
    browser::save(MODEL_KEY, spec);
}

pub fn load_limit() -> f64 {
    browser::load(LIMIT_KEY).unwrap_or(DEFAULT_BROWSER_LIMIT_S)
}

pub fn save_limit(seconds: f64) {
    browser::save(LIMIT_KEY, &seconds);
}

/// A run started from this browser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyRun {
    pub id: String,
    pub owner_token: String,
    pub name: String,
    pub iterations: u64,
    /// `server` (too big for the browser, or asked for) or `share` (a browser run shared).
    pub kind: String,
    pub status: String,
    pub created_ms: f64,
}

pub fn my_runs() -> Vec<MyRun> {
    browser::load(RUNS_KEY).unwrap_or_default()
}

/// Adds or updates a run (by id), newest first; the list keeps the last 50.
pub fn remember_run(run: MyRun) {
    let mut runs = my_runs();
    runs.retain(|r| r.id != run.id);
    runs.insert(0, run);
    runs.truncate(50);
    browser::save(RUNS_KEY, &runs);
}

pub fn set_run_status(id: &str, status: &str) {
    let mut runs = my_runs();
    if let Some(r) = runs.iter_mut().find(|r| r.id == id) {
        r.status = status.to_string();
        browser::save(RUNS_KEY, &runs);
    }
}

pub fn owner_token(id: &str) -> Option<String> {
    my_runs()
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| r.owner_token)
}

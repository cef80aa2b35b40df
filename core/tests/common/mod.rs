//! Shared by the determinism tests, native and wasm: the example models and how a golden
//! summary is computed from one.

use scenarioforge_core::{
    Limits, Model, ModelSpec, RunSettings, Settings, Stepper, Summary, Unobserved, compile, run,
};

/// Iterations of a golden run: twenty chunks, the last one partial, so that the inversion
/// tables of chunks 16 and later are covered too.
pub const GOLDEN_ITERATIONS: u64 = 80_000;

pub const EXAMPLES: [(&str, &str, &str); 5] = [
    (
        "startup",
        include_str!("../../../examples/startup.json"),
        include_str!("../golden/startup.json"),
    ),
    (
        "supply_chain",
        include_str!("../../../examples/supply_chain.json"),
        include_str!("../golden/supply_chain.json"),
    ),
    (
        "portfolio",
        include_str!("../../../examples/portfolio.json"),
        include_str!("../golden/portfolio.json"),
    ),
    (
        "project_schedule",
        include_str!("../../../examples/project_schedule.json"),
        include_str!("../golden/project_schedule.json"),
    ),
    (
        // Correlations, Latin hypercube and a precision target that stops the run early.
        "retail_pricing",
        include_str!("../../../examples/retail_pricing.json"),
        include_str!("../golden/retail_pricing.json"),
    ),
];

/// The summary JSON of `model` at `GOLDEN_ITERATIONS` on `threads` threads, with the
/// wall-clock time zeroed (the one field that differs between identical runs).
pub fn summary_json(model: &str, threads: usize) -> String {
    let (compiled, settings) = prepared(model);
    golden_json(run(&compiled, &settings, threads, &Unobserved).summary)
}

/// The same summary computed by a [`Stepper`], `chunks` chunks at a time, as the browser runs.
pub fn stepped_summary_json(model: &str, chunks: u64) -> String {
    let (compiled, settings) = prepared(model);
    let mut stepper = Stepper::new(compiled, settings).unwrap();
    while !stepper.is_done() {
        stepper.step(chunks);
    }
    golden_json(stepper.finish().summary)
}

fn prepared(model: &str) -> (Model, RunSettings) {
    let spec = ModelSpec::from_json(model).unwrap();
    let compiled = compile(&spec).unwrap();
    let overrides = Settings {
        iterations: Some(GOLDEN_ITERATIONS),
        ..Settings::default()
    };
    let settings = RunSettings::validate(
        &spec.settings.overridden_by(&overrides),
        &Limits::up_to(GOLDEN_ITERATIONS),
    )
    .unwrap();
    (compiled, settings)
}

fn golden_json(mut summary: Summary) -> String {
    summary.elapsed_ms = 0;
    let mut json = summary.to_json();
    json.push('\n');
    json
}

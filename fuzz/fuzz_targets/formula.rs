//! The formula language: any text as a node's formula, next to nodes it may reference, through
//! the lexer, parser and compiler, and a formula that compiles evaluated on a small batch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scenarioforge_core::model::NodeSpec;
use scenarioforge_core::{Limits, ModelSpec, RunSettings, Settings, Unobserved, compile, run};

fn node(id: &str, expr: &str) -> NodeSpec {
    NodeSpec {
        id: id.to_string(),
        expr: expr.to_string(),
        label: None,
        unit: None,
        description: None,
        output: false,
        thresholds: vec![0.0],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(formula) = std::str::from_utf8(data) else {
        return;
    };
    let _ = scenarioforge_core::expr::parse(formula);
    let spec = ModelSpec {
        name: String::new(),
        description: None,
        nodes: vec![
            node("a", "normal(0, 1)"),
            node("b", "uniform(1, 2)"),
            node("c", "poisson(3)"),
            node("x", formula),
        ],
        correlations: Vec::new(),
        settings: Settings::default(),
    };
    let Ok(model) = compile(&spec) else {
        return;
    };
    let settings = Settings {
        iterations: Some(64),
        sample_size: Some(8),
        ..Settings::default()
    };
    let Ok(settings) = RunSettings::validate(&settings, &Limits::up_to(64)) else {
        return;
    };
    let out = run(&model, &settings, 1, &Unobserved);
    let _ = out.summary.to_json();
});

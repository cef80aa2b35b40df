//! The model file: any bytes through the JSON reader and the compiler, and a model that
//! compiles through a short run. Nothing may panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scenarioforge_core::{Limits, ModelSpec, RunSettings, Settings, Unobserved, compile, run};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(spec) = ModelSpec::from_json(text) else {
        return;
    };
    let Ok(model) = compile(&spec) else {
        return;
    };
    // The model's own settings, capped so one input stays fast; they must validate or be
    // rejected, never panic.
    let capped = Settings {
        iterations: Some(spec.settings.iterations.unwrap_or(64).min(256)),
        sample_size: Some(spec.settings.sample_size.unwrap_or(16).min(64)),
        ..spec.settings.clone()
    };
    let Ok(settings) = RunSettings::validate(&capped, &Limits::up_to(256)) else {
        return;
    };
    if settings.check_against(&model).is_ok() {
        let out = run(&model, &settings, 1, &Unobserved);
        let _ = out.summary.to_json();
    }
});

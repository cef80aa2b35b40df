//! The table of rejected models in `cases/rejected.json`, through the engine's one check.
//! The same table goes through the command line (`server/tests/cli.rs`), the validate and
//! create endpoints (`server/tests/api/runs.rs`) and the web editor's checker
//! (`web/src/edit.rs`), each of which must give exactly these diagnostics.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use scenarioforge_core::{Limits, ModelSpec, Settings, check};
use serde_json::Value;

#[test]
fn every_case_gives_the_diagnostics_it_expects() {
    let cases: Vec<Value> = serde_json::from_str(include_str!("cases/rejected.json")).unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let spec = ModelSpec::from_json(&case["model"].to_string()).unwrap();
        let rejected = check(&spec, &Settings::default(), &Limits::default()).unwrap_err();
        let got = serde_json::to_value(rejected.diagnostics()).unwrap();
        let got = got.as_array().unwrap();
        let expect = case["expect"].as_array().unwrap();
        assert_eq!(got.len(), expect.len(), "{name}: {got:#?}");
        for (g, e) in got.iter().zip(expect) {
            for key in ["kind", "node", "field"] {
                if let Some(want) = e.get(key) {
                    assert_eq!(&g[key], want, "{name}: {key} of {g}");
                }
            }
            if let Some(text) = e.get("contains").and_then(Value::as_str) {
                let message = g["message"].as_str().unwrap();
                assert!(message.contains(text), "{name}: `{message}` lacks `{text}`");
            }
        }
    }
}

//! Under wasm32 (run in Node.js by `wasm-bindgen-test-runner`): every example's summary is
//! byte-identical to the golden file the native build produced and checks.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn wasm_summaries_match_the_native_golden_files() {
    for (name, model, golden) in common::EXAMPLES {
        let got = common::summary_json(model, 1);
        assert!(
            got == golden,
            "{name}: the wasm summary differs from the native golden file:\n{got}"
        );
        // The browser runs a model a few chunks at a time: the same bits again.
        let stepped = common::stepped_summary_json(model, 2);
        assert!(stepped == golden, "{name}: the stepped wasm run differs");
    }
}

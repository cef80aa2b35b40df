//! Same model, seed and settings: the same bits, for any thread count, and the same as the
//! golden files (which the wasm build checks too, in `wasm_golden.rs`).
//!
//! After an intended change of results, regenerate the golden files with
//! `BLESS=1 cargo test -p scenarioforge-core --test determinism` and review the diff.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

mod common;

use common::{EXAMPLES, stepped_summary_json, summary_json};

#[test]
fn summaries_are_identical_for_1_2_and_8_threads_and_match_golden() {
    let bless = std::env::var_os("BLESS").is_some();
    for (name, model, golden) in EXAMPLES {
        let one = summary_json(model, 1);
        assert_eq!(one, summary_json(model, 2), "{name}: 1 vs 2 threads");
        assert_eq!(one, summary_json(model, 8), "{name}: 1 vs 8 threads");
        assert_eq!(
            one,
            stepped_summary_json(model, 3),
            "{name}: run vs stepped 3 chunks at a time"
        );
        if bless {
            let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(path, &one).unwrap();
        } else {
            assert!(
                one == golden,
                "{name}: the summary differs from tests/golden/{name}.json:\n{one}"
            );
        }
    }
}

/// The kernels' baseline and AVX-512 copies (`simd`) give the same bits: the golden models run
/// with the AVX-512 copies turned off. (Where the processor has no AVX-512 the test above
/// already ran the baseline copies, and this one repeats it.)
#[test]
fn the_baseline_copies_of_the_simd_kernels_match_golden() {
    scenarioforge_core::simd::use_wide(false);
    for (name, model, golden) in EXAMPLES {
        let one = summary_json(model, 1);
        if std::env::var_os("BLESS").is_none() {
            assert!(
                one == golden,
                "{name}: without AVX-512, the summary differs from tests/golden/{name}.json:\n{one}"
            );
        }
    }
    scenarioforge_core::simd::use_wide(true);
}

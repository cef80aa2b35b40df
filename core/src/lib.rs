//! ScenarioForge's engine: a Monte Carlo model of uncertain inputs and formulas, run in
//! chunks over columns, summarised in bounded memory, the same bits on every target.
//!
//! ```
//! use scenarioforge_core::{Limits, ModelSpec, RunSettings, compile, run, Unobserved};
//!
//! let spec = ModelSpec::from_json(r#"{
//!     "name": "Lemonade stand",
//!     "nodes": [
//!         {"id": "cups", "expr": "100 to 400"},
//!         {"id": "price", "expr": "triangular(1, 1.5, 2.5)"},
//!         {"id": "profit", "expr": "cups * price - 150", "thresholds": [0]}
//!     ],
//!     "settings": {"iterations": 20000, "seed": 7}
//! }"#).unwrap();
//! let model = compile(&spec).unwrap();
//! let settings = RunSettings::validate(&spec.settings, &Limits::up_to(10_000_000)).unwrap();
//! let out = run(&model, &settings, 1, &Unobserved);
//! let profit = out.summary.outputs.get("profit").unwrap();
//! assert_eq!(profit.count, 20_000);
//! let p_loss = profit.stats.as_ref().unwrap().prob_below.get("0").unwrap();
//! assert!(*p_loss > 0.0 && *p_loss < 0.5);
//! ```
//!
//! The pipeline, one module per stage: [`model`] (the JSON file) → [`expr`] (lex, parse) →
//! [`compile`](mod@compile) (names, cycles, constants → a batched [`eval::Program`]) → [`run`](mod@run) (chunks,
//! threads, streaming [`stats`]) → [`summary`].
// Denied rather than forbidden: `simd::kernel!` allows the one `unsafe` call it needs, of a
// function compiled for AVX-512 once the processor is known to have it.
#![deny(unsafe_code)]
// A `pub` item is part of the engine's API or it is `pub(crate)`.
#![warn(unreachable_pub)]

pub mod check;
pub mod compile;
pub mod convergence;
pub mod correlate;
pub mod cost;
pub mod diag;
pub mod dist;
pub mod eval;
pub mod expr;
pub mod fastmath;
pub mod limits;
pub mod model;
pub mod report;
pub mod rng;
pub mod run;
pub mod sample;
pub mod simd;
pub mod sources;
pub mod stats;
pub mod summary;

pub use check::{Checked, Limits, Rejected, check};
pub use compile::{Model, compile};
pub use cost::OutOfMemory;
pub use diag::{Diagnostic, DiagnosticKind, Span};
pub use model::{ModelSpec, RunSettings, Settings};
pub use run::{
    Observer, Progress, RunOutput, SampleTable, Stepper, Stop, Unobserved, run, try_run,
};
pub use summary::{RunStatus, Status, Summary};

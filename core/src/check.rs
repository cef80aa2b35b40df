//! Whether a model may run, and with which settings: the one answer that the command line,
//! the server and the browser all use, so that none of them accepts what another refuses.

use crate::compile::{Model, cap_diagnostics, compile_unbounded_diagnostics};
use crate::diag::Diagnostic;
use crate::model::{ModelSpec, RunSettings, Settings};

/// A model that compiles with settings that hold for it: what a run needs.
#[derive(Debug)]
pub struct Checked {
    pub model: Model,
    pub settings: RunSettings,
}

/// Why a model may not run. Either way every problem found is listed (at most
/// [`crate::limits::MAX_DIAGNOSTICS`] and a count of the rest).
#[derive(Clone, Debug, PartialEq)]
pub enum Rejected {
    /// The model does not compile; any problems with its settings follow its own.
    Model(Vec<Diagnostic>),
    /// The model compiles but its settings are invalid, or do not fit it (a precision
    /// target on a node that is not an output).
    Settings(Vec<Diagnostic>),
}

impl Rejected {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Rejected::Model(d) | Rejected::Settings(d) => d,
        }
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        match self {
            Rejected::Model(d) | Rejected::Settings(d) => d,
        }
    }
}

/// Compiles `spec` and validates its settings, overridden by `overrides`, against
/// `max_iterations` and against the compiled model.
pub fn check(
    spec: &ModelSpec,
    overrides: &Settings,
    max_iterations: u64,
) -> Result<Checked, Rejected> {
    let effective = spec.settings.overridden_by(overrides);
    let settings = RunSettings::validate(&effective, max_iterations);
    match compile_unbounded_diagnostics(spec) {
        Ok(model) => match settings.and_then(|s| s.check_against(&model).map(|()| s)) {
            Ok(settings) => Ok(Checked { model, settings }),
            Err(d) => Err(Rejected::Settings(cap_diagnostics(d))),
        },
        Err(mut diags) => {
            diags.extend(settings.err().unwrap_or_default());
            Err(Rejected::Model(cap_diagnostics(diags)))
        }
    }
}

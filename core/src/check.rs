//! Whether a model may run, and with which settings: the one answer that the command line,
//! the server and the browser all use, so that none of them accepts what another refuses.
//! [`RunSettings`] are made here and nowhere else.

use crate::compile::{Model, cap_diagnostics, compile_unbounded_diagnostics};
use crate::diag::Diagnostic;
use crate::model::{DEFAULT_MAX_ITERATIONS, ModelSpec, RunSettings, Settings};

/// What the caller allows a run: the command line and the page allow the defaults, the
/// server what its configuration says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most iterations a run may ask for (`MAX_SIMULATION_ITERATIONS`).
    pub max_iterations: u64,
    /// The most sample rows kept (`SAMPLE_ROWS`): a run's `sample_size` may lower it, and
    /// without one a run keeps this many. `None` keeps what the settings say.
    pub sample_rows: Option<usize>,
}

impl Limits {
    /// Up to `max_iterations`, keeping the sample the settings ask for.
    pub fn up_to(max_iterations: u64) -> Limits {
        Limits {
            max_iterations,
            sample_rows: None,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::up_to(DEFAULT_MAX_ITERATIONS)
    }
}

/// A model that compiles with settings that hold for it: what a run needs.
#[derive(Debug)]
pub struct Checked {
    pub model: Model,
    pub settings: RunSettings,
}

/// Why a model may not run. Either way every problem found is listed (at most
/// [`crate::limits::MAX_DIAGNOSTICS`] and a count of the rest).
#[derive(Clone, Debug)]
pub enum Rejected {
    /// The model does not compile; any problems with its settings follow its own.
    Model(Vec<Diagnostic>),
    /// The model compiles (it is here, so that its inputs and outputs can still be shown)
    /// but its settings are invalid, or do not fit it (a precision target on a node that is
    /// not an output).
    Settings {
        model: Box<Model>,
        diagnostics: Vec<Diagnostic>,
    },
}

impl Rejected {
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Rejected::Model(d) | Rejected::Settings { diagnostics: d, .. } => d,
        }
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        match self {
            Rejected::Model(d) | Rejected::Settings { diagnostics: d, .. } => d,
        }
    }

    /// The diagnostics' messages in one line, `; `-separated: for an error that has room
    /// for one message.
    pub fn summary(&self) -> String {
        join_messages(self.diagnostics())
    }
}

/// `diagnostics`' messages in one line, `; `-separated.
pub fn join_messages(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Compiles `spec` and validates its settings, overridden by `overrides`, against `limits`
/// and against the compiled model.
pub fn check(spec: &ModelSpec, overrides: &Settings, limits: &Limits) -> Result<Checked, Rejected> {
    let effective = spec.settings.overridden_by(overrides);
    let settings = RunSettings::validate(&effective, limits);
    match compile_unbounded_diagnostics(spec) {
        Ok(model) => match settings.and_then(|s| s.check_against(&model).map(|()| s)) {
            Ok(settings) => Ok(Checked { model, settings }),
            Err(d) => Err(Rejected::Settings {
                model: Box::new(model),
                diagnostics: cap_diagnostics(d),
            }),
        },
        Err(mut diags) => {
            diags.extend(settings.err().unwrap_or_default());
            Err(Rejected::Model(cap_diagnostics(diags)))
        }
    }
}

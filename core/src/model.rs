//! The model file: its JSON shape, and the settings of a run.
//!
//! [`ModelSpec`] is what a user writes; [`crate::compile`](fn@crate::compile) turns it into a validated
//! [`crate::Model`] and nothing past that point sees the unvalidated form.

use serde::{Deserialize, Serialize};

use crate::check::Limits;
use crate::diag::{Diagnostic, DiagnosticKind};

/// A model as written in its JSON file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub nodes: Vec<NodeSpec>,
    /// Rank correlations between stochastic inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlations: Vec<CorrelationSpec>,
    #[serde(default)]
    pub settings: Settings,
}

/// `{"between": ["customers", "price"], "rank": -0.4}`: the Spearman rank correlation two
/// stochastic inputs should have.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationSpec {
    pub between: [String; 2],
    pub rank: f64,
}

/// One node: an uncertain input or a formula of other nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub id: String,
    pub expr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output: bool,
    /// Values x for which P(value < x) is reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<f64>,
}

/// Run settings as written in a model file or a request; every one optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Sampling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionSpec>,
}

/// How each chunk's draws are spread over their distributions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Independent draws.
    #[default]
    Random,
    /// Within each chunk of n iterations, every draw site takes exactly one value from each
    /// of n equally likely strata of its distribution, in random order.
    LatinHypercube,
}

impl Sampling {
    pub fn name(self) -> &'static str {
        match self {
            Sampling::Random => "random",
            Sampling::LatinHypercube => "latin_hypercube",
        }
    }
}

/// `{"relative": 0.001, "confidence": 0.95, "outputs": ["profit"]}`: stop once the mean of
/// every chosen output is known this precisely.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecisionSpec {
    /// Largest confidence-interval half-width of the mean, as a fraction of |mean|.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
    /// Largest half-width in the output's own units; for outputs whose mean is near zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute: Option<f64>,
    /// Confidence level of the interval, 0.95 unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Outputs the target applies to; every output unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<String>>,
}

impl Settings {
    /// `self` with every field that `overrides` sets replaced.
    pub fn overridden_by(&self, overrides: &Settings) -> Settings {
        Settings {
            iterations: overrides.iterations.or(self.iterations),
            seed: overrides.seed.or(self.seed),
            sample_size: overrides.sample_size.or(self.sample_size),
            max_time_ms: overrides.max_time_ms.or(self.max_time_ms),
            sampling: overrides.sampling.or(self.sampling),
            precision: overrides
                .precision
                .clone()
                .or_else(|| self.precision.clone()),
        }
    }
}

pub const DEFAULT_ITERATIONS: u64 = 10_000;
pub const DEFAULT_SAMPLE_SIZE: usize = 10_000;
pub const MAX_SAMPLE_SIZE: usize = 1_000_000;
pub const DEFAULT_MAX_ITERATIONS: u64 = 10_000_000;

/// Fewest iterations a run with a precision target does before it may stop: four chunks,
/// so that the standard error it stops on is itself estimated well.
pub const MIN_PRECISION_ITERATIONS: u64 = 16_384;

/// Validated settings of one run, made only by [`crate::check`](fn@crate::check): whatever holds one holds
/// settings that the model and the caller's limits allow.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSettings {
    iterations: u64,
    seed: u64,
    sample_size: usize,
    max_time_ms: Option<u64>,
    sampling: Sampling,
    precision: Option<Precision>,
}

/// A validated precision target: the run stops at the first chunk boundary (after
/// [`MIN_PRECISION_ITERATIONS`]) where, for every chosen output, `z · sem` is at most
/// `relative · |mean|` or at most `absolute`.
#[derive(Clone, Debug, PartialEq)]
pub struct Precision {
    pub relative: Option<f64>,
    pub absolute: Option<f64>,
    pub confidence: f64,
    /// The normal quantile of `(1 + confidence) / 2`.
    pub z: f64,
    /// Output ids; empty for every output.
    pub outputs: Vec<String>,
}

impl Precision {
    /// Validates a precision spec; problems are named by their field.
    fn validate(spec: &PrecisionSpec, errors: &mut Vec<Diagnostic>) -> Option<Precision> {
        let before = errors.len();
        let mut bad = |field: &str, message: String| {
            errors.push(
                Diagnostic::new(DiagnosticKind::InvalidSetting, message)
                    .at_field(format!("settings.precision.{field}")),
            );
        };
        for (name, value) in [("relative", spec.relative), ("absolute", spec.absolute)] {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0)
            {
                bad(
                    name,
                    format!("{name} must be a number greater than 0, got {v}"),
                );
            }
        }
        if spec.relative.is_none() && spec.absolute.is_none() {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidSetting,
                    "a precision target needs `relative` (a fraction of the mean, e.g. 0.001), `absolute` (in the output's units), or both",
                )
                .at_field("settings.precision"),
            );
        }
        let confidence = spec.confidence.unwrap_or(0.95);
        let mut bad = |field: &str, message: String| {
            errors.push(
                Diagnostic::new(DiagnosticKind::InvalidSetting, message)
                    .at_field(format!("settings.precision.{field}")),
            );
        };
        if !(confidence > 0.0 && confidence < 1.0) {
            bad(
                "confidence",
                format!(
                    "confidence must be between 0 and 1 (exclusive), e.g. 0.95, got {confidence}"
                ),
            );
        }
        if spec.outputs.as_ref().is_some_and(Vec::is_empty) {
            bad(
                "outputs",
                "outputs must name at least one output; leave it out for every output".to_string(),
            );
        }
        (errors.len() == before).then(|| Precision {
            relative: spec.relative,
            absolute: spec.absolute,
            confidence,
            z: crate::dist::normal_quantile(0.5 + 0.5 * confidence),
            outputs: spec.outputs.clone().unwrap_or_default(),
        })
    }
}

impl RunSettings {
    /// The number of iterations, or the most a run with a precision target may do.
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The iteration rows the run keeps.
    pub fn sample_size(&self) -> usize {
        self.sample_size
    }

    pub fn max_time_ms(&self) -> Option<u64> {
        self.max_time_ms
    }

    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    pub fn precision(&self) -> Option<&Precision> {
        self.precision.as_ref()
    }

    /// These settings written out in full: what a run stores, and what [`crate::check`](fn@crate::check)
    /// turns back into the same settings under the same limits.
    pub fn to_settings(&self) -> Settings {
        Settings {
            iterations: Some(self.iterations),
            seed: Some(self.seed),
            sample_size: Some(self.sample_size as u64),
            max_time_ms: self.max_time_ms,
            // Random is the default, and left out, as a model file would.
            sampling: (self.sampling != Sampling::Random).then_some(self.sampling),
            precision: self.precision.as_ref().map(|p| PrecisionSpec {
                relative: p.relative,
                absolute: p.absolute,
                confidence: Some(p.confidence),
                outputs: (!p.outputs.is_empty()).then(|| p.outputs.clone()),
            }),
        }
    }

    /// Checks `settings` against `limits`: iterations in 1..=`max_iterations`, sample size
    /// in 0..=1,000,000 (capped at the limit's sample rows). Every problem is reported.
    ///
    /// The settings half of [`crate::check`](fn@crate::check), for a caller that runs a model it compiled
    /// itself (tests, benchmarks); the command line, the server and the page use `check`,
    /// which also checks the settings against the model.
    pub fn validate(settings: &Settings, limits: &Limits) -> Result<RunSettings, Vec<Diagnostic>> {
        let max_iterations = limits.max_iterations;
        let mut errors = Vec::new();
        let iterations = settings.iterations.unwrap_or(DEFAULT_ITERATIONS);
        if iterations == 0 || iterations > max_iterations {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidSetting,
                    format!(
                        "iterations must be between 1 and {} (the configured maximum), got {}",
                        thousands(max_iterations),
                        thousands(iterations)
                    ),
                )
                .at_field("settings.iterations"),
            );
        }
        let asked = settings.sample_size;
        let sample_size = asked.unwrap_or(DEFAULT_SAMPLE_SIZE as u64);
        if sample_size > MAX_SAMPLE_SIZE as u64 {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidSetting,
                    format!(
                        "sample_size must be between 0 and {}, got {}",
                        thousands(MAX_SAMPLE_SIZE as u64),
                        thousands(sample_size)
                    ),
                )
                .at_field("settings.sample_size"),
            );
        }
        if settings.max_time_ms == Some(0) {
            errors.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidSetting,
                    "max_time_ms must be at least 1, got 0",
                )
                .at_field("settings.max_time_ms"),
            );
        }
        let precision = settings
            .precision
            .as_ref()
            .and_then(|p| Precision::validate(p, &mut errors));
        if !errors.is_empty() {
            return Err(errors);
        }
        let sample_size = match limits.sample_rows {
            // The caller's most rows; a run's own sample_size may lower it.
            Some(cap) => asked.map_or(cap, |s| (s as usize).min(cap)),
            None => sample_size as usize,
        };
        Ok(RunSettings {
            iterations,
            seed: settings.seed.unwrap_or(0),
            sample_size,
            max_time_ms: settings.max_time_ms,
            sampling: settings.sampling.unwrap_or_default(),
            precision,
        })
    }

    /// Checks the parts of the settings that depend on the model: the outputs a precision
    /// target names must be outputs of `model`.
    pub fn check_against(&self, model: &crate::Model) -> Result<(), Vec<Diagnostic>> {
        let Some(precision) = &self.precision else {
            return Ok(());
        };
        let outputs: Vec<&str> = model
            .outputs
            .iter()
            .map(|&o| model.nodes[o].id.as_str())
            .collect();
        let errors: Vec<Diagnostic> = precision
            .outputs
            .iter()
            .enumerate()
            .filter(|(_, name)| !outputs.contains(&name.as_str()))
            .map(|(i, name)| {
                Diagnostic::new(
                    DiagnosticKind::InvalidSetting,
                    format!(
                        "`{name}` is not an output of the model; its outputs are {}",
                        outputs
                            .iter()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at_field(format!("settings.precision.outputs[{i}]"))
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl ModelSpec {
    /// Reads a model from JSON. A malformed file gives one diagnostic with its line and
    /// column; unknown and missing fields are named.
    pub fn from_json(text: &str) -> Result<ModelSpec, Vec<Diagnostic>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let spec = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| vec![json_diagnostic(Some(e.path().to_string()), e.inner())])?;
        de.end().map_err(|e| vec![json_diagnostic(None, &e)])?;
        Ok(spec)
    }
}

/// A diagnostic for a JSON error, classified, located by line and column, and naming the
/// field path (`nodes[2].expr`) where serde knows it.
pub fn json_diagnostic(path: Option<String>, e: &serde_json::Error) -> Diagnostic {
    // serde_json appends " at line L column C" to its messages; the location is kept in
    // fields of its own, so strip it from the text.
    let full = e.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m)
        .to_string();
    let kind = if message.starts_with("unknown field") {
        DiagnosticKind::UnknownField
    } else if message.starts_with("missing field") {
        DiagnosticKind::MissingField
    } else {
        DiagnosticKind::InvalidJson
    };
    let message = match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("malformed JSON: {message}")
        }
        _ => message,
    };
    let mut d = Diagnostic::new(kind, message);
    d.field = path.filter(|p| p != "." && !p.is_empty());
    if e.line() > 0 {
        d.line = Some(e.line());
        d.column = Some(e.column());
    }
    d
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

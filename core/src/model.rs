//! The model file: its JSON shape, and the settings of a run.
//!
//! [`ModelSpec`] is what a user writes; [`crate::compile`] turns it into a validated
//! [`crate::Model`] and nothing past that point sees the unvalidated form.

use serde::{Deserialize, Serialize};

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
    #[serde(default)]
    pub settings: Settings,
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
}

impl Settings {
    /// `self` with every field that `overrides` sets replaced.
    pub fn overridden_by(&self, overrides: &Settings) -> Settings {
        Settings {
            iterations: overrides.iterations.or(self.iterations),
            seed: overrides.seed.or(self.seed),
            sample_size: overrides.sample_size.or(self.sample_size),
            max_time_ms: overrides.max_time_ms.or(self.max_time_ms),
        }
    }
}

pub const DEFAULT_ITERATIONS: u64 = 10_000;
pub const DEFAULT_SAMPLE_SIZE: usize = 10_000;
pub const MAX_SAMPLE_SIZE: usize = 1_000_000;
pub const DEFAULT_MAX_ITERATIONS: u64 = 10_000_000;

/// Validated settings of one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSettings {
    pub iterations: u64,
    pub seed: u64,
    pub sample_size: usize,
    pub max_time_ms: Option<u64>,
}

impl RunSettings {
    /// Checks `settings` against the limits: iterations in 1..=`max_iterations`, sample size
    /// in 0..=1,000,000. Every problem is reported.
    pub fn validate(
        settings: &Settings,
        max_iterations: u64,
    ) -> Result<RunSettings, Vec<Diagnostic>> {
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
        let sample_size = settings.sample_size.unwrap_or(DEFAULT_SAMPLE_SIZE as u64);
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
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(RunSettings {
            iterations,
            seed: settings.seed.unwrap_or(0),
            sample_size: sample_size as usize,
            max_time_ms: settings.max_time_ms,
        })
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

//! The summary of a run: the document the CLI prints with `--format json`, the server stores
//! and the web app shows. Field order is fixed, maps keep model order, and floats print as
//! their shortest round-trip form, so the same run gives the same bytes everywhere.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stats::bins::Histogram;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    /// Stopped early because the precision target was met.
    Converged,
    TimedOut,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        RunStatus::from(self).as_str()
    }
}

/// Where a run is in its life, wherever it runs: waiting, executing, or how it ended. The
/// server stores it by [`RunStatus::as_str`] (the database's check constraint lists the same
/// names) and the page reads it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    /// Stopped early because the precision target was met.
    Converged,
    TimedOut,
    Cancelled,
    /// Could not run or could not be stored; the run's `error` says why.
    Failed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Converged,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
        RunStatus::Failed,
    ];

    /// The name stored and sent: `queued`, `timed_out`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Converged => "converged",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        }
    }

    /// Whether the run has ended: neither queued nor running.
    pub fn is_finished(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

impl From<Status> for RunStatus {
    fn from(status: Status) -> RunStatus {
        match status {
            Status::Completed => RunStatus::Completed,
            Status::Converged => RunStatus::Converged,
            Status::TimedOut => RunStatus::TimedOut,
            Status::Cancelled => RunStatus::Cancelled,
        }
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is none of [`RunStatus::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl std::fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a run status", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl TryFrom<String> for RunStatus {
    type Error = UnknownStatus;

    fn try_from(s: String) -> Result<RunStatus, UnknownStatus> {
        s.parse()
    }
}

impl std::str::FromStr for RunStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<RunStatus, UnknownStatus> {
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub status: Status,
    /// Iterations completed (fewer than requested when the run timed out or was cancelled).
    pub iterations: u64,
    pub seed: u64,
    /// Wall-clock time, filled in by whoever ran it; the only field that varies between
    /// identical runs.
    pub elapsed_ms: u64,
    pub engine: String,
    /// False when some output's statistics leave out iterations (NaN or infinite values):
    /// read each output's `coverage` and the warnings.
    pub complete: bool,
    pub outputs: Named<OutputSummary>,
    pub sensitivity: Named<Vec<Driver>>,
    /// What the drivers' figures mean.
    pub sensitivity_method: String,
    /// Outputs whose drivers overlap (correlated, or one's parameters depend on another).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitivity_notes: Vec<SensitivityNote>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlations: Vec<CorrelationReport>,
    pub warnings: Vec<Warning>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSummary {
    /// Finite values summarised.
    pub count: u64,
    /// NaN or infinite values, left out of every statistic.
    pub non_finite: u64,
    /// The share of the iterations that the statistics cover: `count / (count + non_finite)`
    /// (1 when every value was finite; 0 when the run made none).
    pub coverage: f64,
    /// `number`, or `boolean` for a yes/no output (every value 1 or 0), whose `probability`
    /// of yes is the figure to read.
    pub kind: OutputKind,
    /// For a boolean output: P(yes) and its 95% Wilson score interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<Probability>,
    /// Absent when no value was finite.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<OutputStats>,
}

/// How a standard error of the mean was estimated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SemMethod {
    /// Independent draws: `std / sqrt(count)`.
    Iid,
    /// Latin hypercube: from the spread of the chunks' means, each chunk an independent
    /// hypercube (replicated LHS).
    Replicates,
    /// Latin hypercube with too few full chunks to use their spread: the iid figure, which
    /// overstates the standard error of a Latin hypercube mean.
    UpperBound,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    #[default]
    Number,
    Boolean,
}

/// The chance of yes, `p = yes / count`, with its 95% Wilson score interval `[low, high]`
/// (Wilson 1927): unlike p ± 1.96·SEM it stays within [0, 1] and is honest for p near 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    pub p: f64,
    pub low: f64,
    pub high: f64,
    pub yes: u64,
    pub count: u64,
}

impl Probability {
    pub fn wilson(yes: u64, count: u64) -> Option<Probability> {
        if count == 0 {
            return None;
        }
        let n = count as f64;
        let p = yes as f64 / n;
        let z = 1.959_963_984_540_054;
        let z2 = z * z;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Some(Probability {
            p,
            low: (centre - half).max(0.0),
            high: (centre + half).min(1.0),
            yes,
            count,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputStats {
    pub mean: f64,
    pub std: f64,
    pub sem: f64,
    /// How `sem` was estimated.
    pub sem_method: SemMethod,
    pub min: f64,
    pub max: f64,
    pub skewness: f64,
    pub kurtosis: f64,
    pub percentiles: Percentiles,
    pub tail_means: TailMeans,
    /// P(value < x) for each threshold x, keyed by x as written.
    pub prob_below: Named<f64>,
    pub histogram: Histogram,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p1: f64,
    pub p5: f64,
    pub p10: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailMeans {
    pub lowest_5: f64,
    pub highest_5: f64,
}

/// How much one source of randomness drives one output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Driver {
    /// The draw, for people: its node's id when the draw is the node's whole formula, else
    /// `node: draw` (`rework: normal(5, 2)`).
    pub input: String,
    /// The node whose formula makes the draw.
    pub node: String,
    /// The draw as written, when it is inline in a larger formula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    pub rank_correlation: f64,
    /// First-order share of the output's variance explained by this input alone.
    pub variance_share: f64,
}

/// What a warning is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A distribution's parameters, computed per iteration, were invalid in some iterations:
    /// those draws are NaN.
    InvalidParameters,
    /// A node gave NaN or infinite values, left out of its statistics.
    NonFinite,
    /// The correlations could not all hold and were repaired.
    Correlation,
    /// A precision target was not reached.
    Precision,
    /// The time limit or a cancel came before some of the work after the last chunk (drivers,
    /// achieved correlations): the message names what was left out.
    Skipped,
}

/// Why the variance shares of an output's drivers can add up to more than 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensitivityNote {
    pub output: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: WarningKind,
    /// The node concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The distribution call concerned, as written in the node's formula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    pub message: String,
    /// How many values it concerns (non-finite values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_iteration: Option<u64>,
}

/// A correlated pair: the rank correlation asked for, the one imposed (different only when
/// the pairs could not all hold together), and the one measured on the iteration sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorrelationReport {
    pub between: [String; 2],
    pub requested: f64,
    pub used: f64,
    pub achieved: f64,
}

/// A map from names to values that keeps insertion order (the model's order) in JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Named<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for NamedVisitor<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Named<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = access.next_entry()? {
                    entries.push(entry);
                }
                Ok(Named(entries))
            }
        }
        deserializer.deserialize_map(NamedVisitor(std::marker::PhantomData))
    }
}

/// A threshold as a map key: `0`, `1000000`, `0.5`, never `0.0` or `1e6`.
pub fn threshold_key(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

impl Summary {
    /// The summary as pretty JSON, the bytes the CLI prints and the server stores.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each status's name is what serde writes, and reads back as the same status.
    #[test]
    fn a_status_name_is_the_same_everywhere() {
        for status in RunStatus::ALL {
            let json = serde_json::to_string(&status).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<RunStatus>(), Ok(status));
        }
        assert_eq!(
            "timedout".parse::<RunStatus>(),
            Err(UnknownStatus("timedout".to_string()))
        );
        assert_eq!(Status::TimedOut.as_str(), "timed_out");
        let finished: Vec<RunStatus> = RunStatus::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(finished.len(), 5);
    }
}

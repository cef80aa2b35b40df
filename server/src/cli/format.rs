//! The summary as a table for people: aligned columns, units, thousands separators.

use scenarioforge_core::cost::{approx_bytes, approx_seconds};
use scenarioforge_core::model::thousands;
use scenarioforge_core::summary::SemMethod;
use scenarioforge_core::{ModelSpec, Status, Summary};

/// A number for reading: thousands separators for large values, four significant digits for
/// small ones, scientific notation only at the extremes.
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a >= 1e15 || (a > 0.0 && a < 1e-4) {
        return format!("{x:.3e}");
    }
    if a >= 1000.0 {
        let rounded = x.round();
        let sign = if rounded < 0.0 { "-" } else { "" };
        return format!("{sign}{}", thousands(rounded.abs() as u64));
    }
    if a == 0.0 {
        return "0".to_string();
    }
    // Four significant digits, without trailing zeros.
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 8) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn percent(p: f64) -> String {
    if p > 0.0 && p < 0.001 {
        "<0.1%".to_string()
    } else {
        format!("{:.1}%", p * 100.0)
    }
}

/// What a run's memory (bytes) and work (CPU seconds) were, against what the engine
/// estimated before it.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    pub memory: u64,
    pub memory_estimate: u64,
    pub cpu_seconds: f64,
    pub work_estimate: f64,
}

pub fn table(spec: &ModelSpec, summary: &Summary, threads: usize, cost: Cost) -> String {
    let unit_of = |id: &str| {
        spec.nodes
            .iter()
            .find(|n| n.id == id)
            .and_then(|n| n.unit.clone())
            .map_or(String::new(), |u| format!(" {u}"))
    };
    let title = if spec.name.is_empty() {
        "model".to_string()
    } else {
        spec.name.clone()
    };
    let status = match summary.status {
        Status::Completed => "completed".to_string(),
        Status::Converged => "converged (precision target met)".to_string(),
        Status::TimedOut => "TIMED OUT (partial results)".to_string(),
        Status::Cancelled => "CANCELLED (partial results)".to_string(),
    };
    let mut out = format!(
        "{title}: {} iterations, seed {}, {status} in {:.2} s on {threads} thread{}\n\
         memory: {} used by the run, {} estimated before it\n\
         work: {} of CPU used by the run, up to {} estimated before it\n\n",
        thousands(summary.iterations),
        summary.seed,
        summary.elapsed_ms as f64 / 1000.0,
        if threads == 1 { "" } else { "s" },
        approx_bytes(cost.memory),
        approx_bytes(cost.memory_estimate),
        approx_seconds(cost.cpu_seconds),
        approx_seconds(cost.work_estimate),
    );

    let header = [
        "output",
        "mean ± sem",
        "std",
        "p5",
        "p50",
        "p95",
        "P(below)",
    ];
    let mut rows: Vec<[String; 7]> = Vec::new();
    for (id, o) in summary.outputs.iter() {
        let unit = unit_of(id);
        let Some(s) = &o.stats else {
            rows.push([
                id.to_string(),
                "no finite values".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        };
        if let Some(p) = &o.probability {
            // A yes/no output reads as its chance of yes, with the 95% interval.
            rows.push([
                id.to_string(),
                format!(
                    "P(yes) {} [{}, {}]",
                    percent(p.p),
                    percent(p.low),
                    percent(p.high)
                ),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                format!("{} of {}", thousands(p.yes), thousands(p.count)),
            ]);
            continue;
        }
        let below = s
            .prob_below
            .iter()
            .map(|(t, p)| {
                format!(
                    "<{}: {}",
                    number(t.parse().unwrap_or(f64::NAN)),
                    percent(*p)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        rows.push([
            id.to_string(),
            format!("{} ± {}{unit}", number(s.mean), number(s.sem)),
            number(s.std),
            number(s.percentiles.p5),
            number(s.percentiles.p50),
            number(s.percentiles.p95),
            below,
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            // Names and the threshold column read left to right; numbers align right.
            if c == 0 || c == header.len() - 1 {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            } else {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            }
            l.push_str("  ");
        }
        format!("{}\n", l.trim_end())
    };
    out.push_str(&line(&header.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }

    let drivers: Vec<String> = summary
        .sensitivity
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(id, d)| {
            let top = d
                .iter()
                .take(3)
                .map(|d| {
                    format!(
                        "{} (ρ {:+.2}, {:.0}% of variance)",
                        d.input,
                        d.rank_correlation,
                        d.variance_share * 100.0
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("  {id}: {top}\n")
        })
        .collect();
    if !drivers.is_empty() {
        out.push_str("\ntop drivers\n");
        for d in drivers {
            out.push_str(&d);
        }
    }
    if !summary.correlations.is_empty() {
        out.push_str("\ncorrelations (rank)      requested      used  achieved\n");
        for c in &summary.correlations {
            out.push_str(&format!(
                "  {:<22} {:>9.2} {:>9.3} {:>9.3}\n",
                format!("{} – {}", c.between[0], c.between[1]),
                c.requested,
                c.used,
                c.achieved
            ));
        }
    }
    let upper_bound = summary.outputs.iter().any(|(_, o)| {
        o.stats
            .as_ref()
            .is_some_and(|s| s.sem_method == SemMethod::UpperBound)
    });
    if upper_bound {
        out.push_str(
            "\nsem: an upper bound (Latin hypercube with fewer than 10 full chunks of 4,096 iterations; more iterations give an estimate from their spread)\n",
        );
    }
    if !summary.complete {
        out.push_str("\nstatistics that leave out iterations\n");
        for (id, o) in summary.outputs.iter().filter(|(_, o)| o.non_finite > 0) {
            out.push_str(&format!(
                "  {id}: covers {} of the iterations ({} NaN or infinite left out)\n",
                percent(o.coverage),
                thousands(o.non_finite)
            ));
        }
    }
    if !summary.warnings.is_empty() {
        out.push_str("\nwarnings\n");
        for w in &summary.warnings {
            out.push_str(&format!("  {}\n", w.message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_read_well() {
        let cases = [
            (0.0, "0"),
            (1234567.4, "1,234,567"),
            (-1234.5, "-1,235"),
            (12.3456, "12.35"),
            (0.123456, "0.1235"),
            (0.5, "0.5"),
            (100.0, "100"),
            (3e-7, "3.000e-7"),
            (2.5e16, "2.500e16"),
        ];
        for (x, want) in cases {
            assert_eq!(number(x), want, "{x}");
        }
    }
}

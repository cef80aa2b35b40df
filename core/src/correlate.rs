//! Rank correlation between stochastic inputs: the model's `correlations`, validated and made
//! consistent at compile time, imposed on each chunk by the Iman–Conover method.
//!
//! Iman and Conover ("A distribution-free approach to inducing rank correlation among input
//! variables", 1982) reorder each input's draws so that their ranks follow those of a matrix
//! of normal scores with the target correlation. Reordering never changes a value, so every
//! input keeps its own distribution exactly, and it needs no inverse CDF, so it works for
//! every distribution. It runs within each chunk, from a random stream keyed by (seed,
//! chunk) like every other draw, with only `+ - * /` and `sqrt` between the stream and the
//! permutation: the same bits for any thread count and on every target.
//!
//! Targets are Spearman correlations; the normal scores get the Pearson correlation
//! `2 sin(πρ/6)`, the one whose bivariate normal has Spearman correlation ρ (Pearson 1907).
//! Without that step a target of 0.5 would come out near 0.48.

use std::collections::HashMap;

use crate::diag::{Diagnostic, DiagnosticKind, closest};
use crate::dist::normal_quantile;
use crate::limits::{MAX_CORRELATED_INPUTS, MAX_SUGGESTIONS};
use crate::model::CorrelationSpec;
use crate::rng::Stream;

/// The draw site of the score permutations; the compiler keeps node draws off it.
pub(crate) const SCORE_SITE: u32 = 0xC022_E1A7;

/// Correlated inputs of a model, ready to impose on chunks.
#[derive(Clone, Debug)]
pub struct Correlation {
    /// Node indices of the correlated inputs; position `j` is row and column `j` below.
    pub nodes: Vec<usize>,
    /// The pairs as the model gives them, with the rank correlation used for each.
    pub pairs: Vec<Pair>,
    /// Lower Cholesky factor of the target correlation of the normal scores, row-major k×k.
    factor: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// Positions in [`Correlation::nodes`].
    pub a: usize,
    pub b: usize,
    pub requested: f64,
    /// Equal to `requested` unless the matrix had to be repaired.
    pub used: f64,
}

/// What [`build`] decides: the correlation, and a warning when the targets were repaired.
#[derive(Debug)]
pub struct Built {
    pub correlation: Option<Correlation>,
    pub warning: Option<String>,
}

/// Validates the model's correlation pairs. `input_ok(node)` says whether a node may be
/// correlated (`Err` carries the reason it may not). Every problem is reported, each at its
/// field of the model file.
pub fn build(
    specs: &[CorrelationSpec],
    index: &HashMap<&str, usize>,
    input_ok: impl Fn(usize) -> Result<(), String>,
) -> Result<Built, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut nodes: Vec<usize> = Vec::new();
    let mut pairs: Vec<Pair> = Vec::new();
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut hints = MAX_SUGGESTIONS;
    for (i, spec) in specs.iter().enumerate() {
        let field = format!("correlations[{i}]");
        let before = diags.len();
        let mut ends = [0usize; 2];
        for (j, name) in spec.between.iter().enumerate() {
            let at = format!("{field}.between[{j}]");
            match index.get(name.as_str()) {
                None => {
                    let hint = (hints > 0)
                        .then(|| {
                            hints -= 1;
                            closest(name, index.keys().copied())
                        })
                        .flatten()
                        .map(|c| format!(", did you mean `{c}`?"))
                        .unwrap_or_default();
                    diags.push(
                        Diagnostic::new(
                            DiagnosticKind::UnknownName,
                            format!("unknown node `{name}` in a correlation{hint}"),
                        )
                        .at_field(at),
                    );
                }
                Some(&node) => match input_ok(node) {
                    Ok(()) => ends[j] = node,
                    Err(why) => diags.push(
                        Diagnostic::new(
                            DiagnosticKind::InvalidCorrelation,
                            format!("`{name}` cannot be correlated: {why}"),
                        )
                        .at_node(name)
                        .at_field(at),
                    ),
                },
            }
        }
        if spec.between[0] == spec.between[1] {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidCorrelation,
                    format!(
                        "`{}` is correlated with itself; a correlation needs two different nodes",
                        spec.between[0]
                    ),
                )
                .at_field(format!("{field}.between")),
            );
        }
        if !(spec.rank >= -1.0 && spec.rank <= 1.0) {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidCorrelation,
                    format!(
                        "a rank correlation must be between -1 and 1, got {}",
                        spec.rank
                    ),
                )
                .at_field(format!("{field}.rank")),
            );
        }
        if diags.len() > before {
            continue;
        }
        let key = (ends[0].min(ends[1]), ends[0].max(ends[1]));
        if let Some(&first) = seen.get(&key) {
            diags.push(
                Diagnostic::new(
                    DiagnosticKind::InvalidCorrelation,
                    format!(
                        "the pair `{}`, `{}` is given twice (first at correlations[{first}])",
                        spec.between[0], spec.between[1]
                    ),
                )
                .at_field(field),
            );
            continue;
        }
        seen.insert(key, i);
        let mut position = |node: usize| {
            nodes.iter().position(|&n| n == node).unwrap_or_else(|| {
                nodes.push(node);
                nodes.len() - 1
            })
        };
        let (a, b) = (position(ends[0]), position(ends[1]));
        pairs.push(Pair {
            a,
            b,
            requested: spec.rank,
            used: spec.rank,
        });
    }
    if nodes.len() > MAX_CORRELATED_INPUTS {
        diags.push(
            Diagnostic::new(
                DiagnosticKind::TooLarge,
                format!(
                    "{} inputs are correlated; the limit is {MAX_CORRELATED_INPUTS}",
                    nodes.len()
                ),
            )
            .at_field("correlations"),
        );
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    if pairs.is_empty() {
        return Ok(Built {
            correlation: None,
            warning: None,
        });
    }

    let k = nodes.len();
    let mut target = identity(k);
    for p in &pairs {
        // ±1 exactly (the sine rounds 2 sin(π/6) a hair below 1): a perfect rank
        // correlation makes one input's scores the other's, a singular but valid target.
        let r = if p.requested.abs() == 1.0 {
            p.requested
        } else {
            2.0 * libm::sin(std::f64::consts::PI * p.requested / 6.0)
        };
        target[p.a * k + p.b] = r;
        target[p.b * k + p.a] = r;
    }
    imply_through_perfect_pairs(&mut target, k, &pairs);
    let (factor, warning) = match semidefinite_cholesky(&target, k) {
        Some(factor) => (factor, None),
        None => {
            let repaired = nearest_correlation(&target, k);
            let mut lines = Vec::new();
            for p in &mut pairs {
                let r = repaired[p.a * k + p.b];
                p.used = 6.0 / std::f64::consts::PI * libm::asin(r / 2.0);
                lines.push(format!(
                    "{}: requested {}, used {:.3}",
                    pair_name(specs, p, &nodes, index),
                    p.requested,
                    p.used
                ));
            }
            let factor = cholesky(&repaired, k).unwrap_or_else(|| identity(k));
            let warning = format!(
                "the correlations cannot all hold together (their matrix is not positive definite), so the nearest valid matrix is used: {}",
                lines.join("; ")
            );
            (factor, Some(warning))
        }
    };
    Ok(Built {
        correlation: Some(Correlation {
            nodes,
            pairs,
            factor,
        }),
        warning,
    })
}

fn pair_name(
    specs: &[CorrelationSpec],
    p: &Pair,
    nodes: &[usize],
    index: &HashMap<&str, usize>,
) -> String {
    let name = |n: usize| {
        specs
            .iter()
            .flat_map(|s| s.between.iter())
            .find(|id| index.get(id.as_str()) == Some(&nodes[n]))
            .cloned()
            .unwrap_or_default()
    };
    format!("`{}`–`{}`", name(p.a), name(p.b))
}

impl Correlation {
    /// Reorders the first `n` values of each correlated node's column (`cols[node]`) so that
    /// their ranks follow normal scores with the target correlation. Chunks with no more
    /// rows than correlated inputs are left as drawn: their scores cannot have a full-rank
    /// correlation.
    pub fn apply(&self, cols: &mut [Vec<f64>], n: usize, seed: u64, chunk: u64) {
        let k = self.nodes.len();
        if n <= k + 1 {
            return;
        }
        // Van der Waerden scores Φ⁻¹(i / (n + 1)), built symmetric so they sum to zero.
        let mut scores = vec![0.0; n];
        for i in 0..n / 2 {
            let z = normal_quantile((i + 1) as f64 / (n + 1) as f64);
            scores[i] = z;
            scores[n - 1 - i] = -z;
        }
        // Each input's scores in an independent random order (Fisher–Yates).
        let mut rng = Stream::new(seed, SCORE_SITE, chunk);
        let mut s: Vec<Vec<f64>> = (0..k)
            .map(|_| {
                let mut col = scores.clone();
                for i in (1..n).rev() {
                    let j = below(&mut rng, i as u64 + 1) as usize;
                    col.swap(i, j);
                }
                col
            })
            .collect();

        // Their correlation T = Q Qᵀ as drawn; A = P Q⁻¹ turns it into the target P Pᵀ.
        let mut t = identity(k);
        let norms: Vec<f64> = s.iter().map(|c| dot(c, c).sqrt()).collect();
        for a in 0..k {
            for b in 0..a {
                let r = dot(&s[a], &s[b]) / (norms[a] * norms[b]);
                t[a * k + b] = r;
                t[b * k + a] = r;
            }
        }
        let Some(q) = cholesky(&t, k) else { return };
        let a = mul_lower(&self.factor, &invert_lower(&q, k), k);
        let mut row = vec![0.0; k];
        for i in 0..n {
            for (r, col) in row.iter_mut().zip(&s) {
                *r = col[i];
            }
            for (j, col) in s.iter_mut().enumerate() {
                col[i] = (0..=j).map(|m| a[j * k + m] * row[m]).sum();
            }
        }

        // Each input's values, sorted, go to the rows in the order of its new scores.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        let mut sorted: Vec<f64> = Vec::with_capacity(n);
        for (j, &node) in self.nodes.iter().enumerate() {
            let col = &mut cols[node][..n];
            sorted.clear();
            sorted.extend_from_slice(col);
            sorted.sort_unstable_by(f64::total_cmp);
            order.clear();
            order.extend(0..n as u32);
            let sj = &s[j];
            order.sort_unstable_by(|&x, &y| {
                sj[x as usize].total_cmp(&sj[y as usize]).then(x.cmp(&y))
            });
            for (&row, &v) in order.iter().zip(&sorted) {
                col[row as usize] = v;
            }
        }
    }
}

/// A uniform integer in `0..bound` (Lemire's multiply-shift; its bias, below 2^-50 for the
/// bounds used here, is far under anything a run can detect).
fn below(rng: &mut Stream, bound: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(bound)) >> 64) as u64
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn identity(k: usize) -> Vec<f64> {
    let mut m = vec![0.0; k * k];
    for i in 0..k {
        m[i * k + i] = 1.0;
    }
    m
}

/// The lower Cholesky factor L of a symmetric k×k matrix (L Lᵀ = m), or `None` unless m is
/// positive definite with some margin (a pivot below 1e-10 counts as singular).
pub fn cholesky(m: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s: f64 = (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum();
            if i == j {
                let d = m[i * k + i] - s;
                if d.is_nan() || d <= 1e-10 {
                    return None;
                }
                l[i * k + i] = d.sqrt();
            } else {
                l[i * k + j] = (m[i * k + j] - s) / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Inputs tied by a rank correlation of ±1 are one input up to sign, so a pair the model
/// leaves out (0 by default) that involves one of them takes the value the other's pair
/// implies: with `a`–`b` at 1 and `b`–`c` at -1, `a`–`c` is -1, not the impossible 0. Pairs
/// the model gives are never changed (if they contradict, the matrix is repaired as any).
fn imply_through_perfect_pairs(target: &mut [f64], k: usize, pairs: &[Pair]) {
    let mut given = vec![false; k * k];
    for p in pairs {
        given[p.a * k + p.b] = true;
        given[p.b * k + p.a] = true;
    }
    let perfect: Vec<(usize, usize, f64)> = pairs
        .iter()
        .filter(|p| p.requested.abs() == 1.0)
        .map(|p| (p.a, p.b, p.requested))
        .collect();
    // Each pass fills at least one entry or ends; there are at most k² to fill.
    let mut changed = !perfect.is_empty();
    while changed {
        changed = false;
        for &(a, b, sign) in &perfect {
            for (from, to) in [(a, b), (b, a)] {
                for c in 0..k {
                    if c == a || c == b || !given[from * k + c] || given[to * k + c] {
                        continue;
                    }
                    let r = sign * target[from * k + c];
                    target[to * k + c] = r;
                    target[c * k + to] = r;
                    given[to * k + c] = true;
                    given[c * k + to] = true;
                    changed = true;
                }
            }
        }
    }
}

/// A lower factor L with L Lᵀ = m for a positive semidefinite m whose singular directions
/// are exact: a pivot that is zero (within 1e-10) whose column below is zero too gives a
/// zero column, as a pair with rank correlation ±1 does (the second input's scores are then
/// the first's, or their negation). `None` when m is not positive semidefinite that way.
fn semidefinite_cholesky(m: &[f64], k: usize) -> Option<Vec<f64>> {
    const TOLERANCE: f64 = 1e-10;
    let mut l = vec![0.0; k * k];
    for j in 0..k {
        let s: f64 = (0..j).map(|p| l[j * k + p] * l[j * k + p]).sum();
        let d = m[j * k + j] - s;
        if d.is_nan() || d < -TOLERANCE {
            return None;
        }
        let singular = d <= TOLERANCE;
        if !singular {
            l[j * k + j] = d.sqrt();
        }
        for i in j + 1..k {
            let s: f64 = (0..j).map(|p| l[i * k + p] * l[j * k + p]).sum();
            let rest = m[i * k + j] - s;
            if singular {
                if rest.abs() > 1e-9 {
                    return None;
                }
            } else {
                l[i * k + j] = rest / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// The inverse of a lower-triangular matrix with a nonzero diagonal.
fn invert_lower(l: &[f64], k: usize) -> Vec<f64> {
    let mut inv = vec![0.0; k * k];
    for c in 0..k {
        inv[c * k + c] = 1.0 / l[c * k + c];
        for r in c + 1..k {
            let s: f64 = (c..r).map(|p| l[r * k + p] * inv[p * k + c]).sum();
            inv[r * k + c] = -s / l[r * k + r];
        }
    }
    inv
}

/// The product of two lower-triangular matrices.
fn mul_lower(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k * k];
    for r in 0..k {
        for c in 0..=r {
            out[r * k + c] = (c..=r).map(|p| a[r * k + p] * b[p * k + c]).sum();
        }
    }
    out
}

/// The nearest correlation matrix to a symmetric matrix with unit diagonal, in the
/// Frobenius norm: Higham's alternating projections with Dykstra's correction ("Computing
/// the nearest correlation matrix", IMA J. Numer. Anal. 2002). Eigenvalues are kept at or
/// above `MIN_EIGENVALUE`, so the result has a Cholesky factor.
pub fn nearest_correlation(m: &[f64], k: usize) -> Vec<f64> {
    const MIN_EIGENVALUE: f64 = 1e-6;
    let mut y = m.to_vec();
    let mut correction = vec![0.0; k * k];
    // Alternating projections converge linearly, slowly for a badly inconsistent matrix: 500
    // rounds of 50 inputs took 11 s. The rounds are bounded; whatever the last gives is made
    // positive definite below, so the result is valid if not quite the nearest.
    for _ in 0..MAX_REPAIR_ROUNDS {
        let r: Vec<f64> = y.iter().zip(&correction).map(|(a, b)| a - b).collect();
        let (values, vectors) = symmetric_eigen(&r, k);
        let mut x = vec![0.0; k * k];
        for (e, &lambda) in values.iter().enumerate() {
            let lambda = lambda.max(MIN_EIGENVALUE);
            for i in 0..k {
                for j in 0..k {
                    x[i * k + j] += lambda * vectors[i * k + e] * vectors[j * k + e];
                }
            }
        }
        for i in 0..k * k {
            correction[i] = x[i] - r[i];
        }
        let mut next = x;
        for i in 0..k {
            next[i * k + i] = 1.0;
        }
        let change: f64 = next.iter().zip(&y).map(|(a, b)| (a - b) * (a - b)).sum();
        y = next;
        if change.sqrt() < 1e-10 {
            break;
        }
    }
    // Setting the diagonal to 1 can leave the smallest eigenvalue a hair below the floor;
    // shrink towards the identity until the factor exists.
    let mut shrink = 0.0;
    while cholesky(&y, k).is_none() && shrink < 1.0 {
        shrink = if shrink == 0.0 { 1e-9 } else { shrink * 10.0 };
        for i in 0..k {
            for j in 0..k {
                if i != j {
                    y[i * k + j] *= 1.0 - shrink;
                }
            }
        }
    }
    y
}

/// Rounds of Higham's projections at most (`nearest_correlation`).
const MAX_REPAIR_ROUNDS: usize = 100;

/// Eigenvalues and eigenvectors (as columns, row-major) of a symmetric k×k matrix by cyclic
/// Jacobi rotations: only `+ - * /` and `sqrt`, so the same bits on every target.
fn symmetric_eigen(m: &[f64], k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = identity(k);
    // Done when the off-diagonal part is negligible against the whole. (An absolute bound,
    // 1e-30, could not be met in floating point by a 50×50 matrix of entries near 1: every
    // call ran its 100 sweeps.)
    let whole: f64 = m.iter().map(|x| x * x).sum();
    for _sweep in 0..50 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j] * a[i * k + j])
            .sum();
        if off.is_nan() || off <= 1e-24 * whole {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..k).map(|i| a[i * k + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_correlation_repairs_an_impossible_triple() {
        // x and y strongly together, y and z too, but x and z strongly apart: impossible.
        let m = [1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0];
        assert!(cholesky(&m, 3).is_none());
        let fixed = nearest_correlation(&m, 3);
        assert!(cholesky(&fixed, 3).is_some());
        for i in 0..3 {
            assert_eq!(fixed[i * 3 + i], 1.0);
        }
        // Symmetric, and each value moved towards feasibility, keeping its sign.
        assert_eq!(fixed[1], fixed[3]);
        assert!(fixed[1] > 0.3 && fixed[1] < 0.9, "{fixed:?}");
        assert!(fixed[2] < -0.3 && fixed[2] > -0.9, "{fixed:?}");
    }

    #[test]
    fn a_valid_matrix_is_left_alone() {
        let m = [1.0, 0.5, 0.5, 1.0];
        let fixed = nearest_correlation(&m, 2);
        for (a, b) in fixed.iter().zip(&m) {
            assert!((a - b).abs() < 1e-9);
        }
    }

    #[test]
    fn jacobi_finds_known_eigenvalues() {
        let m = [2.0, 1.0, 1.0, 2.0];
        let (mut values, _) = symmetric_eigen(&m, 2);
        values.sort_by(f64::total_cmp);
        assert!((values[0] - 1.0).abs() < 1e-12 && (values[1] - 3.0).abs() < 1e-12);
    }
}

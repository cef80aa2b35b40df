//! A model's size limits (`scenarioforge_core::limits`): each is refused with a diagnostic that
//! names it and where, and a model full of mistakes gets a bounded list of them.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use scenarioforge_core::limits::{
    MAX_CORRELATED_INPUTS, MAX_DIAGNOSTICS, MAX_ID_LEN, MAX_NODES, MAX_THRESHOLDS,
};
use scenarioforge_core::{Diagnostic, DiagnosticKind, ModelSpec, compile};

fn errors(spec: &ModelSpec) -> Vec<Diagnostic> {
    compile(spec).unwrap_err()
}

fn nodes(n: usize, expr: impl Fn(usize) -> String) -> String {
    let nodes: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id": "n{i}", "expr": "{}"}}"#, expr(i)))
        .collect();
    format!(r#"{{"nodes": [{}]}}"#, nodes.join(","))
}

fn only(diags: &[Diagnostic]) -> (DiagnosticKind, &str, &str) {
    assert_eq!(diags.len(), 1, "{diags:?}");
    let d = &diags[0];
    (d.kind, d.field.as_deref().unwrap_or(""), d.message.as_str())
}

#[test]
fn too_many_nodes_is_refused_before_anything_else() {
    let spec = ModelSpec::from_json(&nodes(MAX_NODES + 1, |_| "unknown_name".into())).unwrap();
    assert_eq!(
        only(&errors(&spec)),
        (
            DiagnosticKind::TooLarge,
            "nodes",
            "the model has 10,001 nodes; the limit is 10,000"
        )
    );
    // At the limit it compiles.
    let spec = ModelSpec::from_json(&nodes(MAX_NODES, |i| format!("{i}"))).unwrap();
    assert!(compile(&spec).is_ok());
}

/// Regression: every unknown name was compared with every id (35 s for 20,000 nodes), and
/// every diagnostic was listed.
#[test]
fn a_model_full_of_unknown_names_gets_a_bounded_list() {
    let spec = ModelSpec::from_json(&nodes(MAX_NODES, |i| format!("m{i} + 1"))).unwrap();
    let diags = errors(&spec);
    assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
    assert_eq!(
        diags[0].message, "unknown name `m0`, did you mean `n0`?",
        "the first ones get a suggestion"
    );
    assert_eq!(diags[50].message, "unknown name `m50`", "later ones do not");
    assert_eq!(
        diags[MAX_DIAGNOSTICS].message,
        "and 9,900 more problems; only the first 100 are listed"
    );
}

#[test]
fn long_ids_and_texts_are_named() {
    let long = "a".repeat(MAX_ID_LEN + 1);
    let json = format!(
        r#"{{"nodes": [{{"id": "{long}", "expr": "1"}}, {{"id": "b", "expr": "{long} + 1", "unit": "{}"}}]}}"#,
        "u".repeat(10_001)
    );
    let diags = errors(&ModelSpec::from_json(&json).unwrap());
    let got: Vec<(DiagnosticKind, &str)> = diags
        .iter()
        .map(|d| (d.kind, d.field.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(
        got,
        [
            (DiagnosticKind::InvalidId, "nodes[0].id"),
            (DiagnosticKind::TooLarge, "nodes[1].unit"),
            (DiagnosticKind::UnknownName, ""),
        ],
        "{diags:?}"
    );
    assert_eq!(
        diags[0].message,
        format!(
            "invalid id `{}…`: it is 65 characters long; the limit is 64",
            &long[..64]
        )
    );
    assert_eq!(
        diags[1].message,
        "the unit of `b` is 10,001 bytes long; the limit is 10,000"
    );
}

#[test]
fn thresholds_are_limited_and_never_repeated() {
    let many: Vec<String> = (0..=MAX_THRESHOLDS).map(|t| t.to_string()).collect();
    let json = format!(
        r#"{{"nodes": [
            {{"id": "a", "expr": "1", "thresholds": [{}]}},
            {{"id": "b", "expr": "1", "thresholds": [5, 5]}},
            {{"id": "c", "expr": "1", "thresholds": [0, 1, -0]}}]}}"#,
        many.join(",")
    );
    let diags = errors(&ModelSpec::from_json(&json).unwrap());
    let got: Vec<(&str, &str)> = diags
        .iter()
        .map(|d| (d.field.as_deref().unwrap_or(""), d.message.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "nodes[0].thresholds",
                "`a` has 101 thresholds; the limit is 100"
            ),
            (
                "nodes[1].thresholds[1]",
                "threshold 5 of `b` is given twice (first at thresholds[0])"
            ),
            (
                "nodes[2].thresholds[2]",
                "threshold -0 of `c` is given twice (first at thresholds[0])"
            ),
        ]
    );
}

#[test]
fn too_many_correlated_inputs_are_refused() {
    let k = MAX_CORRELATED_INPUTS + 1;
    let nodes: Vec<String> = (0..k)
        .map(|i| format!(r#"{{"id": "x{i}", "expr": "normal(0, 1)"}}"#))
        .collect();
    let pairs: Vec<String> = (1..k)
        .map(|i| format!(r#"{{"between": ["x0", "x{i}"], "rank": 0.1}}"#))
        .collect();
    let json = format!(
        r#"{{"nodes": [{}], "correlations": [{}]}}"#,
        nodes.join(","),
        pairs.join(",")
    );
    assert_eq!(
        only(&errors(&ModelSpec::from_json(&json).unwrap())),
        (
            DiagnosticKind::TooLarge,
            "correlations",
            "51 inputs are correlated; the limit is 50"
        )
    );
}

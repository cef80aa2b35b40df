//! The model graph: ids, references, cycles, evaluation order and default outputs.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use scenarioforge_core::limits::MAX_NODES;
use scenarioforge_core::{DiagnosticKind, ModelSpec, compile};

fn spec(nodes: &[(&str, &str)]) -> ModelSpec {
    let nodes: Vec<_> = nodes
        .iter()
        .map(|(id, e)| serde_json::json!({"id": id, "expr": e}))
        .collect();
    ModelSpec::from_json(&serde_json::json!({ "nodes": nodes }).to_string()).unwrap()
}

/// The messages of a model's diagnostics, or its outputs when it compiles.
fn check(nodes: &[(&str, &str)], expected: &[&str]) {
    let got: Vec<String> = match compile(&spec(nodes)) {
        Ok(model) => model
            .outputs
            .iter()
            .map(|&o| format!("output {}", model.nodes[o].id))
            .collect(),
        Err(diags) => diags
            .iter()
            .map(|d| format!("{}: {}", d.node.as_deref().unwrap_or("-"), d.message))
            .collect(),
    };
    assert_eq!(got, expected, "{nodes:?}");
}

#[test]
fn graphs() {
    check(&[("a", "1"), ("b", "a + 1")], &["output b"]);
    check(
        &[("a", "1"), ("b", "a"), ("c", "a")],
        &["output b", "output c"],
    );
    check(&[("a", "b + 1"), ("b", "2")], &["output a"]);
    check(&[("x", "5")], &["output x"]);
    check(&[("a", "a + 1")], &["a: cycle: a -> a"]);
    check(&[("a", "b"), ("b", "a")], &["a: cycle: a -> b -> a"]);
    check(
        &[("a", "b"), ("b", "c"), ("c", "a")],
        &["a: cycle: a -> b -> c -> a"],
    );
    check(
        &[("x", "1"), ("a", "x + b"), ("b", "c * 2"), ("c", "a")],
        &["a: cycle: a -> b -> c -> a"],
    );
    check(
        &[("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")],
        &["a: cycle: a -> b -> a", "c: cycle: c -> d -> c"],
    );
    check(&[("a", "missing")], &["a: unknown name `missing`"]);
    check(
        &[("price", "1"), ("b", "prise * 2")],
        &["b: unknown name `prise`, did you mean `price`?"],
    );
    check(
        &[("a", "1"), ("a", "2")],
        &["a: duplicate id `a`: ids must be unique"],
    );
    check(
        &[("1a", "1")],
        &["1a: invalid id `1a`: an id is a letter or `_` followed by letters, digits or `_`"],
    );
    check(
        &[("my-node", "1")],
        &[
            "my-node: invalid id `my-node`: an id is a letter or `_` followed by letters, digits or `_`",
        ],
    );
    check(
        &[("max", "1")],
        &["max: invalid id `max`: it is the name of a function or keyword"],
    );
    check(
        &[("normal", "1")],
        &["normal: invalid id `normal`: it is the name of a function or keyword"],
    );
    check(
        &[("to", "1")],
        &["to: invalid id `to`: it is the name of a function or keyword"],
    );
    check(
        &[("", "1")],
        &["-: invalid id ``: an id is a letter or `_` followed by letters, digits or `_`"],
    );
}

#[test]
fn marked_outputs_replace_the_default() {
    let json = r#"{"nodes": [{"id": "a", "expr": "1"}, {"id": "b", "expr": "a", "output": true}, {"id": "c", "expr": "b"}]}"#;
    let model = compile(&ModelSpec::from_json(json).unwrap()).unwrap();
    assert_eq!(model.outputs, vec![1]);
}

#[test]
fn stochastic_inputs_are_nodes_that_draw() {
    let model = compile(&spec(&[
        ("a", "normal(0, 1)"),
        ("b", "a * 2"),
        ("c", "b + (1 to 2)"),
        ("d", "3"),
    ]))
    .unwrap();
    let inputs: Vec<&str> = model
        .inputs
        .iter()
        .map(|&i| model.nodes[i].id.as_str())
        .collect();
    assert_eq!(inputs, ["a", "c"]);
}

#[test]
fn nodes_run_after_what_they_reference() {
    // `a` is evaluated after `c` although it comes first in the file.
    let json = r#"{"nodes": [{"id": "a", "expr": "c * 2"}, {"id": "c", "expr": "uniform(1, 2)"}],
                   "settings": {"iterations": 100, "sample_size": 100}}"#;
    let spec = ModelSpec::from_json(json).unwrap();
    let model = compile(&spec).unwrap();
    let settings = scenarioforge_core::RunSettings::validate(
        &spec.settings,
        &scenarioforge_core::Limits::up_to(1000),
    )
    .unwrap();
    let out = scenarioforge_core::run(&model, &settings, 1, &scenarioforge_core::Unobserved);
    for (_, row) in &out.samples.rows {
        assert_eq!(row[0], row[1] * 2.0);
    }
}

#[test]
fn a_long_chain_does_not_overflow_the_stack() {
    let ids: Vec<String> = (0..MAX_NODES).map(|i| format!("n{i}")).collect();
    let mut nodes = vec![(ids[0].as_str(), "1".to_string())];
    for i in 1..ids.len() {
        nodes.push((ids[i].as_str(), format!("{} + 1", ids[i - 1])));
    }
    let nodes: Vec<(&str, &str)> = nodes.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let model = compile(&spec(&nodes)).unwrap();
    assert_eq!(model.outputs, vec![MAX_NODES - 1]);
}

#[test]
fn json_errors_name_field_and_position() {
    let cases: [(&str, DiagnosticKind, &str, Option<&str>); 5] = [
        (
            "{\"nodes\": [",
            DiagnosticKind::InvalidJson,
            "malformed JSON: EOF while parsing a list",
            Some("nodes"),
        ),
        (
            r#"{"nodes": [{"id": "a", "expr": "1", "colour": "red"}]}"#,
            DiagnosticKind::UnknownField,
            "unknown field `colour`, expected one of `id`, `expr`, `label`, `unit`, `description`, `output`, `thresholds`",
            Some("nodes[0].colour"),
        ),
        (
            r#"{"nodes": [{"id": "a"}]}"#,
            DiagnosticKind::MissingField,
            "missing field `expr`",
            Some("nodes[0]"),
        ),
        (
            r#"{"name": "x"}"#,
            DiagnosticKind::MissingField,
            "missing field `nodes`",
            None,
        ),
        (
            r#"{"nodes": [], "settings": {"iterations": -5}}"#,
            DiagnosticKind::InvalidJson,
            "invalid value: integer `-5`, expected u64",
            Some("settings.iterations"),
        ),
    ];
    for (json, kind, message, field) in cases {
        let d = &ModelSpec::from_json(json).unwrap_err()[0];
        assert_eq!(
            (d.kind, d.message.as_str(), d.field.as_deref()),
            (kind, message, field),
            "{json}"
        );
        assert!(d.line.is_some() && d.column.is_some(), "{json}");
    }
}

/// The drivers of each output are the draws upstream of it: a node's own draw or one inline
/// in a formula, never a node that only combines draws, never a node it does not depend on.
fn drivers(nodes: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    let model = compile(&spec(nodes)).unwrap();
    model
        .outputs
        .iter()
        .zip(&model.drivers)
        .map(|(&o, ds)| {
            let names = ds
                .iter()
                .map(|&s| {
                    let src = &model.sources[s];
                    let id = &model.nodes[src.node].id;
                    if src.whole {
                        id.clone()
                    } else {
                        format!("{id}: {}", src.text)
                    }
                })
                .collect();
            (model.nodes[o].id.clone(), names)
        })
        .collect()
}

#[test]
fn drivers_are_the_draws_upstream_of_each_output() {
    let got = drivers(&[
        ("a", "normal(0, 1)"),
        ("b", "uniform(0, 1)"),
        ("unused", "normal(5, 1)"),
        ("mix", "a * b + normal(0, 0.1)"),
        ("y", "mix + exponential(2) * a"),
        ("z", "b * 2"),
        ("w", "normal(a, 1)"),
        ("k", "10"),
    ]);
    let want: Vec<(String, Vec<String>)> = [
        ("unused", vec!["unused"]),
        (
            "y",
            vec!["a", "b", "mix: normal(0, 0.1)", "y: exponential(2)"],
        ),
        ("z", vec!["b"]),
        ("w", vec!["a", "w"]),
        ("k", vec![]),
    ]
    .into_iter()
    .map(|(o, d)| (o.to_string(), d.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(got, want);
}

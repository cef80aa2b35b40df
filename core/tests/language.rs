//! The formula language, table-driven: parse trees as S-expressions, evaluated values, and
//! the exact text of rendered errors.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use scenarioforge_core::diag::render_all;
use scenarioforge_core::expr::parse;
use scenarioforge_core::{Limits, ModelSpec, RunSettings, Settings, Unobserved, compile, run};

#[track_caller]
fn check_parse(src: &str, expected: &str) {
    match parse(src) {
        Ok(e) => assert_eq!(e.to_string(), expected, "parse of {src:?}"),
        Err(d) => panic!("parse of {src:?} failed: {}", d.message),
    }
}

/// Evaluates `expr` as node `x` of a model whose other nodes are `a = 2`, `b = 3`, `c = -1`,
/// `z = 0`, through the whole pipeline (compile, one iteration, sample row).
fn eval(expr: &str) -> f64 {
    let json = serde_json::json!({
        "nodes": [
            {"id": "a", "expr": "2"}, {"id": "b", "expr": "3"}, {"id": "c", "expr": "-1"}, {"id": "z", "expr": "0"},
            {"id": "x", "expr": expr}
        ]
    });
    let spec = ModelSpec::from_json(&json.to_string()).unwrap();
    let model = compile(&spec).unwrap_or_else(|d| panic!("{expr:?}: {d:?}"));
    let settings = Settings {
        iterations: Some(1),
        sample_size: Some(1),
        ..Settings::default()
    };
    let settings = RunSettings::validate(&settings, &Limits::up_to(10)).unwrap();
    let out = run(&model, &settings, 1, &Unobserved);
    out.samples.rows[0].1[4]
}

#[track_caller]
fn check_eval(expr: &str, expected: f64) {
    let got = eval(expr);
    let same = got == expected || (got.is_nan() && expected.is_nan());
    assert!(same, "{expr:?}: expected {expected}, got {got}");
}

/// Compiles a model of `(id, expr)` nodes and renders its diagnostics.
fn errors(nodes: &[(&str, &str)]) -> String {
    let nodes: Vec<_> = nodes
        .iter()
        .map(|(id, e)| serde_json::json!({"id": id, "expr": e}))
        .collect();
    let spec = ModelSpec::from_json(&serde_json::json!({ "nodes": nodes }).to_string()).unwrap();
    match compile(&spec) {
        Ok(_) => String::new(),
        Err(d) => render_all(&d, |id| {
            spec.nodes
                .iter()
                .find(|n| n.id == id)
                .map(|n| n.expr.clone())
        }),
    }
}

#[track_caller]
fn check_error(expr: &str, expected: &str) {
    let got = errors(&[("revenue", "1"), ("costs", "1"), ("profit", expr)]);
    assert_eq!(got, expected, "errors of {expr:?}");
}

#[test]
fn parse_trees() {
    let cases = [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
        ("2 ^ 3 ^ 2", "(^ 2 (^ 3 2))"),
        ("-2 ^ 2", "(neg (^ 2 2))"),
        ("2 ^ -1", "(^ 2 (neg 1))"),
        ("-a * b", "(* (neg a) b)"),
        ("--a", "(neg (neg a))"),
        ("a < b and b < c", "(and (< a b) (< b c))"),
        ("a or b and c", "(or a (and b c))"),
        ("not a and b", "(and (not a) b)"),
        ("not a < b", "(not (< a b))"),
        ("a == b != c", "(!= (== a b) c)"),
        ("a + b <= c * 2", "(<= (+ a b) (* c 2))"),
        ("1000 to 5000", "(to 1000 5000)"),
        ("a * 2 to b + 1", "(to (* a 2) (+ b 1))"),
        ("(1 to 2) * 3", "(* (to 1 2) 3)"),
        ("max(a, b, 3)", "(max a b 3)"),
        ("if(a > 0, a, -a)", "(if (> a 0) a (neg a))"),
        (
            "truncate(normal(0, 1), -2, 2)",
            "(truncate (normal 0 1) (neg 2) 2)",
        ),
        ("f()", "(f)"),
        ("5%", "0.05"),
        ("2.5M", "2500000"),
        ("1_000_000", "1000000"),
        ("1e6", "1000000"),
        ("1.5e-3", "0.0015"),
        ("3k", "3000"),
        ("2B", "2000000000"),
        ("0.1k", "100"),
        (".5", "0.5"),
        (
            "customers * price * (1 - churn)",
            "(* (* customers price) (- 1 churn))",
        ),
    ];
    for (src, expected) in cases {
        check_parse(src, expected);
    }
}

#[test]
fn evaluated_values() {
    let cases = [
        ("1 + 2 * 3", 7.0),
        ("-2 ^ 2", -4.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("a * b - c", 7.0),
        ("a / z", f64::INFINITY),
        ("5% * 200", 10.0),
        ("2.5M / 1k", 2500.0),
        ("a < b", 1.0),
        ("a > b", 0.0),
        ("a == 2", 1.0),
        ("a != 2", 0.0),
        ("a <= 2 and b >= 3", 1.0),
        ("z or c", 1.0),
        ("not z", 1.0),
        ("not a", 0.0),
        ("if(c, 10, 20)", 10.0),
        ("if(z, 10, 20)", 20.0),
        ("abs(c)", 1.0),
        ("sqrt(16)", 4.0),
        ("exp(0)", 1.0),
        ("ln(exp(2))", 2.0),
        ("log10(1000)", 3.0),
        ("log(8, 2)", 3.0),
        ("pow(a, 10)", 1024.0),
        ("mod(7, 3)", 1.0),
        ("mod(-1, 3)", 2.0),
        ("mod(7, -3)", -2.0),
        ("min(a, b, c)", -1.0),
        ("max(a, b, c)", 3.0),
        ("sum(a, b, c, 4)", 8.0),
        ("mean(a, b, c, 4)", 2.0),
        ("min(a)", 2.0),
        ("clamp(10, 0, 5)", 5.0),
        ("clamp(c, 0, 5)", 0.0),
        ("floor(-2.5)", -3.0),
        ("ceil(2.1)", 3.0),
        ("round(2.5)", 3.0),
        ("round(-2.5)", -3.0),
        ("sign(c)", -1.0),
        ("sign(z)", 0.0),
        ("sin(0)", 0.0),
        ("cos(0)", 1.0),
        ("tan(0)", 0.0),
        ("sqrt(c)", f64::NAN),
        ("ln(z)", f64::NEG_INFINITY),
        ("max(a, sqrt(c))", f64::NAN),
        ("normal(5, 0)", 5.0),
        ("uniform(3, 3)", 3.0),
        ("truncate(normal(0, 1), 10, 10.000001) >= 10", 1.0),
        ("bernoulli(1)", 1.0),
        ("discrete(7, 1)", 7.0),
        ("binomial(10, 0)", 0.0),
    ];
    for (expr, expected) in cases {
        check_eval(expr, expected);
    }
}

#[test]
fn rendered_errors() {
    check_error(
        "revnue - costs",
        "error: unknown name `revnue`, did you mean `revenue`?\n --> node `profit`, column 1\n  |\n  | revnue - costs\n  | ^^^^^^\n",
    );
    check_error(
        "revenue - cost * 2",
        "error: unknown name `cost`, did you mean `costs`?\n --> node `profit`, column 11\n  |\n  | revenue - cost * 2\n  |           ^^^^\n",
    );
    check_error(
        "",
        "error: empty formula: expected a number, a name or a call\n --> node `profit`, column 1\n  |\n  | \n  | ^\n",
    );
    check_error(
        "revenue * (1 + 2",
        "error: unclosed `(`\n --> node `profit`, column 11\n  |\n  | revenue * (1 + 2\n  |           ^\n",
    );
    check_error(
        "max(revenue, costs",
        "error: unclosed `(` in the call to `max`\n --> node `profit`, column 4\n  |\n  | max(revenue, costs\n  |    ^\n",
    );
    check_error(
        "revenue costs",
        "error: unexpected `costs` after a complete expression; expected an operator\n --> node `profit`, column 9\n  |\n  | revenue costs\n  |         ^^^^^\n",
    );
    check_error(
        "revenue + * costs",
        "error: unexpected `*`; expected a number, a name or `(`\n --> node `profit`, column 11\n  |\n  | revenue + * costs\n  |           ^\n",
    );
    check_error(
        "revenue -",
        "error: unexpected end of formula; expected a number, a name or `(`\n --> node `profit`, column 10\n  |\n  | revenue -\n  |          ^\n",
    );
    check_error(
        "revenue)",
        "error: unmatched `)`\n --> node `profit`, column 8\n  |\n  | revenue)\n  |        ^\n",
    );
    check_error(
        "revenue % 2",
        "error: `%` is only a percent suffix on a number (`5%`); for the remainder use `mod(a, b)`\n --> node `profit`, column 9\n  |\n  | revenue % 2\n  |         ^\n",
    );
    check_error(
        "revenue = 2",
        "error: unexpected `=`, did you mean `==`?\n --> node `profit`, column 9\n  |\n  | revenue = 2\n  |         ^\n",
    );
    check_error(
        "2kg",
        "error: malformed number `2kg`: a number may end in `%`, `k`, `M` or `B` only\n --> node `profit`, column 1\n  |\n  | 2kg\n  | ^^^\n",
    );
    check_error(
        "1e+",
        "error: malformed number: expected digits after the exponent `e`\n --> node `profit`, column 1\n  |\n  | 1e+\n  | ^^^\n",
    );
    check_error(
        "sqroot(revenue)",
        "error: unknown function `sqroot`, did you mean `sqrt`?\n --> node `profit`, column 1\n  |\n  | sqroot(revenue)\n  | ^^^^^^\n",
    );
    check_error(
        "revenue(2)",
        "error: `revenue` is a node, not a function\n --> node `profit`, column 1\n  |\n  | revenue(2)\n  | ^^^^^^^\n",
    );
    check_error(
        "sqrt + 1",
        "error: `sqrt` is a function; call it with arguments, as in `sqrt(...)`\n --> node `profit`, column 1\n  |\n  | sqrt + 1\n  | ^^^^\n",
    );
    check_error(
        "normal(revenue)",
        "error: `normal` takes 2 arguments (mean, sd), got 1\n --> node `profit`, column 1\n  |\n  | normal(revenue)\n  | ^^^^^^^^^^^^^^^\n",
    );
    check_error(
        "if(revenue, 1)",
        "error: `if` takes 3 arguments, got 2\n --> node `profit`, column 1\n  |\n  | if(revenue, 1)\n  | ^^^^^^^^^^^^^^\n",
    );
    check_error(
        "normal(0, -1)",
        "error: invalid parameters for `normal`: `sd` must be at least 0, got -1\n --> node `profit`, column 11\n  |\n  | normal(0, -1)\n  |           ^^\n",
    );
    check_error(
        "beta(0, 1)",
        "error: invalid parameters for `beta`: `a` must be greater than 0, got 0\n --> node `profit`, column 6\n  |\n  | beta(0, 1)\n  |      ^\n",
    );
    check_error(
        "truncate(revenue, 0)",
        "error: the first argument of `truncate` must be a distribution call such as `normal(0, 1)` or `a to b`\n --> node `profit`, column 10\n  |\n  | truncate(revenue, 0)\n  |          ^^^^^^^\n",
    );
    check_error(
        "5 to 1",
        "error: invalid parameters for `to`: the lower bound must be less than the upper bound, got 5 to 1\n --> node `profit`, column 1\n  |\n  | 5 to 1\n  | ^^^^^^\n",
    );
}

#[test]
fn several_errors_are_reported_at_once() {
    let text = errors(&[("a", "b +"), ("b", "nope"), ("c", "sqrt(1, 2)")]);
    assert_eq!(text.matches("error:").count(), 3, "{text}");
    assert!(
        text.contains("node `a`") && text.contains("node `b`") && text.contains("node `c`"),
        "{text}"
    );
}

#[test]
fn limits_on_size_and_depth() {
    let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let text = errors(&[("x", &deep)]);
    assert!(
        text.starts_with("error: formula is 20001 bytes long; the limit is 10000"),
        "{text}"
    );
    let nested = format!("{}1{}", "(".repeat(100), ")".repeat(100));
    let text = errors(&[("x", &nested)]);
    assert!(
        text.starts_with("error: formula is nested more than 64 levels deep"),
        "{text}"
    );
    let minus = format!("{}1", "-".repeat(5000));
    assert!(errors(&[("x", &minus)]).contains("nested more than 64 levels"));
}

//! `scenarioforge run` and `check` end to end: the examples, every bad-input class, exit
//! codes, the CSV sample, time limits and Ctrl-C.
#![allow(clippy::unwrap_used)] // Tests fail loudly by design.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_scenarioforge");

fn examples_dir() -> String {
    format!("{}/../examples", env!("CARGO_MANIFEST_DIR"))
}

fn scenarioforge(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs with `model` on standard input.
fn with_stdin(args: &[&str], model: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused for its arguments exits before it reads the model: the pipe may be
    // closed before the model is written, which is not a failure of the test.
    let written = child.stdin.take().unwrap().write_all(model.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_summary(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn every_example_runs_and_checks() {
    for name in [
        "startup",
        "supply_chain",
        "portfolio",
        "project_schedule",
        "retail_pricing",
    ] {
        let path = format!("{}/{name}.json", examples_dir());
        let check = scenarioforge(&["check", &path]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{name}: {}",
            text(&check.stderr)
        );
        let checked = text(&check.stdout);
        assert!(checked.starts_with("ok: "), "{name}");
        // What a run would cost, before it is paid for.
        assert!(
            checked.contains("iterations: up to about ") && checked.contains("of one core's work"),
            "{name}: {checked}"
        );

        let table = scenarioforge(&["run", &path, "--iterations", "20000"]);
        assert_eq!(
            table.status.code(),
            Some(0),
            "{name}: {}",
            text(&table.stderr)
        );
        let table = text(&table.stdout);
        assert!(
            table.contains("20,000 iterations") && table.contains("mean ± sem"),
            "{name}: {table}"
        );
        assert!(table.contains("top drivers"), "{name}: {table}");
        assert!(
            table.contains("of CPU used by the run, up to "),
            "{name}: {table}"
        );

        let summary = json_summary(&scenarioforge(&[
            "run",
            &path,
            "--iterations",
            "20000",
            "--format",
            "json",
        ]));
        assert_eq!(summary["status"], "completed");
        assert_eq!(summary["iterations"], 20000);
        assert!(!summary["outputs"].as_object().unwrap().is_empty());
    }
}

#[test]
fn json_is_the_same_bytes_for_any_thread_count() {
    let path = format!("{}/supply_chain.json", examples_dir());
    let run = |threads: &str| {
        let out = scenarioforge(&[
            "run",
            &path,
            "--iterations",
            "100000",
            "--threads",
            threads,
            "--format",
            "json",
        ]);
        let mut v = json_summary(&out);
        v["elapsed_ms"] = 0.into();
        serde_json::to_string(&v).unwrap()
    };
    assert_eq!(run("1"), run("2"));
    assert_eq!(run("1"), run("7"));
}

#[test]
fn a_model_on_stdin_with_overrides() {
    let model = r#"{"name": "coin", "nodes": [{"id": "heads", "expr": "binomial(100, 0.5)", "thresholds": [50]}],
                    "settings": {"iterations": 5, "seed": 1}}"#;
    let out = with_stdin(
        &[
            "run",
            "-",
            "--iterations",
            "40000",
            "--seed",
            "9",
            "--format",
            "json",
        ],
        model,
    );
    let v = json_summary(&out);
    assert_eq!(
        (v["iterations"].as_u64(), v["seed"].as_u64()),
        (Some(40000), Some(9))
    );
    let mean = v["outputs"]["heads"]["mean"].as_f64().unwrap();
    assert!((mean - 50.0).abs() < 0.1, "{mean}");
    let below = v["outputs"]["heads"]["prob_below"]["50"].as_f64().unwrap();
    // P(X < 50) for Binomial(100, 1/2) is 0.4602.
    assert!((below - 0.4602).abs() < 0.01, "{below}");
}

#[test]
fn samples_csv_has_a_header_and_the_requested_rows() {
    let dir = std::env::temp_dir().join(format!("sf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("rows.csv");
    let path = format!("{}/startup.json", examples_dir());
    let out = scenarioforge(&[
        "run",
        &path,
        "--iterations",
        "30000",
        "--sample-size",
        "500",
        "--samples-csv",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&csv).unwrap();
    let mut lines = body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("iteration,customers,price,churn,")
    );
    let rows: Vec<u64> = lines
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(rows.len(), 500);
    assert!(
        rows.windows(2).all(|w| w[0] < w[1]),
        "rows are sorted by iteration"
    );
    assert!(rows.iter().all(|&r| r < 30000));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_time_limit_stops_with_partial_results() {
    let path = format!("{}/startup.json", examples_dir());
    let out = scenarioforge(&[
        "run",
        &path,
        "--iterations",
        "10000000",
        "--max-time",
        "0.05",
        "--format",
        "json",
    ]);
    let v = json_summary(&out);
    assert_eq!(v["status"], "timed_out");
    let done = v["iterations"].as_u64().unwrap();
    assert!(
        done > 0 && done < 10_000_000 && done.is_multiple_of(4096),
        "{done}"
    );
    assert_eq!(v["outputs"]["profit"]["count"].as_u64(), Some(done));
}

#[test]
fn ctrl_c_prints_the_partial_summary() {
    let path = format!("{}/startup.json", examples_dir());
    let child = Command::new(BIN)
        .args([
            "run",
            &path,
            "--iterations",
            "10000000",
            "--threads",
            "1",
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let v = json_summary(&out);
    assert_eq!(v["status"], "cancelled");
    assert!(v["iterations"].as_u64().unwrap() < 10_000_000);
}

/// Bad input: exit code 2 and a rendered diagnostic on stderr.
#[track_caller]
fn rejects(model: &str, args: &[&str], expected: &str) {
    let mut all = vec!["run", "-"];
    all.extend_from_slice(args);
    let out = with_stdin(&all, model);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in:\n{stderr}"
    );
    assert!(out.stdout.is_empty());
}

fn model(nodes: &str) -> String {
    format!(r#"{{"nodes": [{nodes}]}}"#)
}

#[test]
fn every_bad_input_class_is_exit_2_with_a_diagnostic() {
    rejects(
        "{\"nodes\": [",
        &[],
        "error: malformed JSON: EOF while parsing a list\n --> field `nodes`, line 1, column 11",
    );
    rejects(
        "not json",
        &[],
        "error: malformed JSON: expected ident\n --> line 1, column 2",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1", "colour": "red"}"#),
        &[],
        "error: unknown field `colour`",
    );
    rejects(
        &model(r#"{"id": "a"}"#),
        &[],
        "error: missing field `expr`\n --> field `nodes[0]`",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}, {"id": "a", "expr": "2"}"#),
        &[],
        "error: duplicate id `a`",
    );
    rejects(
        &model(r#"{"id": "2x", "expr": "1"}"#),
        &[],
        "error: invalid id `2x`",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "  "}"#),
        &[],
        "error: empty formula",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1 + * 2"}"#),
        &[],
        "error: unexpected `*`",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "(1 + 2"}"#),
        &[],
        "error: unclosed `(`",
    );
    rejects(
        &model(r#"{"id": "revenue", "expr": "1"}, {"id": "profit", "expr": "revnue - 1"}"#),
        &[],
        "error: unknown name `revnue`, did you mean `revenue`?\n --> node `profit`, column 1\n  |\n  | revnue - 1\n  | ^^^^^^\n",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "nromal(0, 1)"}"#),
        &[],
        "error: unknown function `nromal`, did you mean `normal`?",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "uniform(1)"}"#),
        &[],
        "error: `uniform` takes 2 arguments",
    );
    rejects(
        &model(
            r#"{"id": "a", "expr": "c + 1"}, {"id": "b", "expr": "a"}, {"id": "c", "expr": "b"}"#,
        ),
        &[],
        "error: cycle: a -> c -> b -> a",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "normal(0, -1)"}"#),
        &[],
        "`sd` must be at least 0, got -1",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "beta(0, 1)"}"#),
        &[],
        "`a` must be greater than 0, got 0",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "triangular(5, 1, 3)"}"#),
        &[],
        "invalid parameters for `triangular`",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}"#),
        &["--iterations", "0"],
        "error: iterations must be between 1 and 10,000,000 (the configured maximum), got 0\n --> field `settings.iterations`",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}"#),
        &["--iterations", "10000001"],
        "got 10,000,001",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}"#),
        &["--iterations", "5000", "--max-iterations", "1000"],
        "between 1 and 1,000 (the configured maximum)",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}"#),
        &["--sample-size", "1000001"],
        "sample_size must be between 0 and 1,000,000",
    );
    rejects(
        &model(r#"{"id": "a", "expr": "1"}"#),
        &["--max-time=-1"],
        "--max-time must be a positive number of seconds",
    );
}

#[test]
fn several_diagnostics_at_once_and_check_exit_codes() {
    let out = with_stdin(
        &["check", "-"],
        &model(
            r#"{"id": "a", "expr": "b +"}, {"id": "b", "expr": "nope"}, {"id": "c", "expr": "sqrt(1, 2)"}"#,
        ),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.matches("error:").count(), 3, "{stderr}");
    assert!(stderr.ends_with("3 errors found\n"), "{stderr}");

    let missing = scenarioforge(&["run", "/nonexistent/model.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("error: cannot read model `/nonexistent/model.json`"));

    let bad_flag = scenarioforge(&["run", "x.json", "--threads", "0"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn runtime_problems_are_warnings_not_crashes() {
    let out = with_stdin(
        &["run", "-", "--iterations", "20000", "--format", "json"],
        &model(
            r#"{"id": "x", "expr": "normal(0, 1)"}, {"id": "y", "expr": "ln(x)"}, {"id": "s", "expr": "normal(0, x)"}"#,
        ),
    );
    let v = json_summary(&out);
    let y = &v["outputs"]["y"];
    let (count, bad) = (
        y["count"].as_u64().unwrap(),
        y["non_finite"].as_u64().unwrap(),
    );
    assert_eq!(count + bad, 20000);
    assert!(bad > 9000 && bad < 11000, "{bad}");
    let warnings = v["warnings"].as_array().unwrap();
    let nodes: Vec<(&str, &str)> = warnings
        .iter()
        .map(|w| (w["kind"].as_str().unwrap(), w["node"].as_str().unwrap()))
        .collect();
    // The invalid sd of `s` first (the cause), then the nodes that gave NaN.
    assert_eq!(
        nodes,
        [
            ("invalid_parameters", "s"),
            ("non_finite", "y"),
            ("non_finite", "s")
        ]
    );
    assert_eq!(warnings[0]["expression"], "normal(0, x)");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("`sd` must be at least 0, got -")
    );
    assert!(
        warnings[1]["message"]
            .as_str()
            .unwrap()
            .contains("first at iteration")
    );
    assert_eq!(v["complete"], false);
}

/// `--sampling` and `--precision` override the model's settings; the table shows the
/// correlations; bad values are exit 2 naming what was wrong.
#[test]
fn sampling_precision_and_correlations_on_the_command_line() {
    let path = format!("{}/retail_pricing.json", examples_dir());
    let out = scenarioforge(&[
        "run",
        &path,
        "--sampling",
        "random",
        "--precision",
        "0.02",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = json_summary(&out);
    assert_eq!(s["status"], "converged");
    // Four chunks at least; 2% is reached well before the model's 200,000.
    assert_eq!(s["iterations"], 16_384);
    assert_eq!(
        s["correlations"][0]["between"],
        serde_json::json!(["demand", "price"])
    );

    let table = scenarioforge(&["run", &path]);
    let t = text(&table.stdout);
    assert!(t.contains("converged (precision target met)"), "{t}");
    assert!(t.contains("demand – price"), "{t}");

    let m = model(r#"{"id": "x", "expr": "normal(5, 1)"}"#);
    rejects(
        &m,
        &["--precision", "-1"],
        "relative must be a number greater than 0, got -1",
    );
    rejects(&m, &["--sampling", "sobol"], "invalid value 'sobol'");
    rejects(
        r#"{"nodes": [{"id": "x", "expr": "normal(5, 1)"}, {"id": "y", "expr": "x * 2"}],
            "correlations": [{"between": ["x", "y"], "rank": 0.5}]}"#,
        &[],
        "`y` cannot be correlated: it is not a stochastic input",
    );
}

/// The bytes of `memory: 1.0 MiB used by the run, 1.5 MiB estimated before it`.
fn memory_line(stdout: &str) -> (f64, f64) {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("memory: "))
        .unwrap_or_else(|| panic!("no memory line in {stdout}"));
    let mib = |part: &str| -> f64 {
        let (n, unit) = part.trim().split_once(' ').unwrap();
        let n: f64 = n.parse().unwrap();
        n * if unit.starts_with("GiB") { 1024.0 } else { 1.0 }
    };
    let (used, rest) = line.split_once(" used by the run, ").unwrap();
    let estimate = rest.trim_end_matches(" estimated before it");
    (mib(used), mib(estimate))
}

fn nodes_json(nodes: &[String], extra: &str) -> String {
    format!(r#"{{"nodes": [{}]{extra}}}"#, nodes.join(","))
}

/// The engine's memory estimate (`core::cost::memory`, what MAX_RUN_MEMORY and MEMORY_BUDGET
/// admit runs by) is above the peak memory the run added to the process, and within 1.5
/// times it, for six shapes of model: wide, deep, many outputs, correlated, a large sample,
/// many constant nodes (the sample of every node).
#[test]
fn the_memory_estimate_bounds_the_peak_within_half_again() {
    let node = |id: String, expr: String, output: bool| {
        format!(r#"{{"id": "{id}", "expr": "{expr}", "output": {output}}}"#)
    };
    // `prefix0 + prefix1 + ...`, the first `n`.
    let sum = |prefix: &str, n: usize| {
        (0..n)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(" + ")
    };
    // `n` normal inputs and their sum, the one output.
    let summed = |prefix: &str, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| node(format!("{prefix}{i}"), "normal(0, 1)".into(), false))
            .chain([node("total".into(), sum(prefix, n), true)])
            .collect()
    };
    let wide = summed("n", 1000);
    let deep: Vec<String> = (0..2000)
        .map(|i| {
            let prev = if i == 0 {
                "0".to_string()
            } else {
                format!("d{}", i - 1)
            };
            node(format!("d{i}"), format!("{prev} + normal(0, 1)"), i == 1999)
        })
        .collect();
    let many_outputs: Vec<String> = (0..200)
        .map(|i| node(format!("i{i}"), "normal(0, 1)".into(), false))
        .chain((0..1000).map(|j| node(format!("o{j}"), sum("i", 200), true)))
        .collect();
    let correlated_inputs = summed("c", 45);
    let pairs: Vec<String> = (0..45)
        .flat_map(|a| {
            ((a + 1)..45).map(move |b| format!(r#"{{"between": ["c{a}", "c{b}"], "rank": 0.3}}"#))
        })
        .collect();
    let sample: Vec<String> = (0..20)
        .map(|i| node(format!("s{i}"), "uniform(0, 1)".into(), i == 19))
        .collect();
    let constants: Vec<String> = (0..2000)
        .map(|i| node(format!("k{i}"), "1".into(), false))
        .chain([node("out".into(), "k0 + normal(0, 1)".into(), true)])
        .collect();
    let dir = std::env::temp_dir().join(format!("sf-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("sample.csv");
    let csv = csv.to_str().unwrap();
    let shapes: Vec<(&str, String, Vec<&str>)> = vec![
        ("wide", nodes_json(&wide, ""), vec!["--iterations", "20000"]),
        ("deep", nodes_json(&deep, ""), vec!["--iterations", "20000"]),
        (
            "many outputs",
            nodes_json(&many_outputs, ""),
            vec!["--iterations", "20000"],
        ),
        (
            "correlated",
            nodes_json(
                &correlated_inputs,
                &format!(r#", "correlations": [{}]"#, pairs.join(",")),
            ),
            vec!["--iterations", "100000"],
        ),
        (
            "large sample",
            nodes_json(&sample, ""),
            vec![
                "--iterations",
                "400000",
                "--sample-size",
                "400000",
                "--samples-csv",
                csv,
            ],
        ),
        (
            "constants",
            nodes_json(&constants, ""),
            vec!["--iterations", "20000"],
        ),
    ];
    let mut wrong = Vec::new();
    for (name, model, args) in shapes {
        let mut all = vec!["run", "-"];
        all.extend(args);
        let out = with_stdin(&all, &model);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        let (used, estimate) = memory_line(&text(&out.stdout));
        eprintln!(
            "{name}: used {used:.1} MiB, estimated {estimate:.1} MiB ({:.2}x)",
            estimate / used
        );
        if !(used <= estimate && estimate <= 1.5 * used) {
            wrong.push(format!(
                "{name}: used {used:.1} MiB, estimated {estimate:.1} MiB"
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The table of rejected models that the engine's own test checks (`core/tests/rejected.rs`):
/// `check` and `run` exit 2 and print every diagnostic the engine gives, and no other.
#[test]
fn the_rejected_models_table_gives_the_engines_diagnostics() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../core/tests/cases/rejected.json")).unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let json = case["model"].to_string();
        let spec = scenarioforge_core::ModelSpec::from_json(&json).unwrap();
        let engine = scenarioforge_core::check(
            &spec,
            &scenarioforge_core::Settings::default(),
            &scenarioforge_core::Limits::default(),
        )
        .unwrap_err();
        for command in ["check", "run"] {
            let out = with_stdin(&[command, "-"], &json);
            assert_eq!(out.status.code(), Some(2), "{name}: {command}");
            let stderr = text(&out.stderr);
            for d in engine.diagnostics() {
                assert!(stderr.contains(&d.message), "{name}: {command}: {stderr}");
            }
            let n = engine.diagnostics().len();
            assert_eq!(
                stderr.matches("error:").count(),
                n,
                "{name}: {command}: {stderr}"
            );
            assert!(
                stderr.contains(&format!("{n} error")),
                "{name}: {command}: {stderr}"
            );
        }
    }
}

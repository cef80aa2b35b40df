//! The command line: `scenarioforge run`, `scenarioforge check` and `scenarioforge serve`.
//!
//! Exit codes: 0 success (a run that timed out or was cancelled still printed its partial
//! summary), 2 bad model or arguments, 1 internal error.

mod format;
mod progress;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use scenarioforge_core::diag::{Diagnostic, render_all};
use scenarioforge_core::model::{DEFAULT_MAX_ITERATIONS, PrecisionSpec, Sampling, thousands};
use scenarioforge_core::{Checked, Limits, ModelSpec, SampleTable, Settings, check, cost, try_run};

use progress::CliObserver;
use scenarioforge_server::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "scenarioforge",
    version,
    about = "Monte Carlo scenario models: run, check, serve"
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a model and print its summary.
    Run(RunArgs),
    /// Check a model and print its diagnostics, without running it.
    Check {
        /// The model file (JSON), or `-` for standard input.
        model: PathBuf,
    },
    /// Serve the HTTP API (configured by environment variables: DATABASE_URL, BIND_ADDR, ...;
    /// see the README).
    Serve,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The model file (JSON), or `-` for standard input.
    model: PathBuf,
    /// Iterations to run (overrides the model's settings).
    #[arg(long)]
    iterations: Option<u64>,
    /// Random seed (overrides the model's settings).
    #[arg(long)]
    seed: Option<u64>,
    /// Threads to run on; the summary is the same for any number. Default: every core.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
    /// Iterations kept for the iteration table (0 to 1,000,000).
    #[arg(long)]
    sample_size: Option<u64>,
    /// Stop after this many seconds, keeping the chunks completed (status `timed_out`).
    #[arg(long)]
    max_time: Option<f64>,
    /// How draws are spread within each chunk (overrides the model's settings).
    #[arg(long, value_enum)]
    sampling: Option<SamplingArg>,
    /// Stop once every output's mean is known to within this fraction of itself (e.g. 0.001),
    /// at the model's confidence (95% unless it says otherwise); `--iterations` is then the
    /// ceiling.
    #[arg(long, allow_negative_numbers = true)]
    precision: Option<f64>,
    /// The largest iteration count accepted.
    #[arg(long, default_value_t = DEFAULT_MAX_ITERATIONS)]
    max_iterations: u64,
    /// How to print the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the sampled iterations to this CSV file.
    #[arg(long)]
    samples_csv: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SamplingArg {
    Random,
    /// Spelled as in the model file; `latin-hypercube` also works.
    #[value(name = "latin_hypercube", alias = "latin-hypercube")]
    LatinHypercube,
}

impl From<SamplingArg> for Sampling {
    fn from(s: SamplingArg) -> Sampling {
        match s {
            SamplingArg::Random => Sampling::Random,
            SamplingArg::LatinHypercube => Sampling::LatinHypercube,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// A failure of the command: bad input (exit 2, already explained) or an internal error (exit 1).
enum Failure {
    BadInput(String),
    Internal(String),
}

pub fn main(args: Args) -> ExitCode {
    let result = match args.command {
        Command::Run(run_args) => run_command(&run_args),
        Command::Check { model } => check_command(&model),
        Command::Serve => serve_command(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(text)) => {
            eprint!("{text}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(text)) => {
            eprintln!("internal error: {text}");
            ExitCode::from(1)
        }
    }
}

/// Reads the configuration, then runs the server until SIGTERM or SIGINT.
fn serve_command() -> Result<(), Failure> {
    let config = scenarioforge_server::config::Config::from_env()
        .map_err(|e| Failure::BadInput(format!("error: {e}\n")))?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log_filter))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Internal(format!("cannot start the async runtime: {e}")))?;
    runtime
        .block_on(scenarioforge_server::serve(config))
        .map_err(|e| Failure::Internal(format!("server: {e}")))
}

fn read_model(path: &Path) -> Result<String, Failure> {
    let mut text = String::new();
    let read = if path == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        Failure::BadInput(format!(
            "error: cannot read model `{}`: {e}\n",
            path.display()
        ))
    })?;
    Ok(text)
}

fn diagnostics(spec: Option<&ModelSpec>, diags: &[Diagnostic]) -> Failure {
    let formula = |node: &str| {
        spec?
            .nodes
            .iter()
            .find(|n| n.id == node)
            .map(|n| n.expr.clone())
    };
    let count = diags.len();
    let mut text = render_all(diags, formula);
    text.push_str(&format!(
        "\n{count} error{} found\n",
        if count == 1 { "" } else { "s" }
    ));
    Failure::BadInput(text)
}

fn load(path: &Path) -> Result<ModelSpec, Failure> {
    let text = read_model(path)?;
    ModelSpec::from_json(&text).map_err(|d| diagnostics(None, &d))
}

/// The engine's one check of a model and its settings, with every diagnostic on failure.
fn checked(spec: &ModelSpec, overrides: &Settings, limits: &Limits) -> Result<Checked, Failure> {
    check(spec, overrides, limits).map_err(|r| diagnostics(Some(spec), r.diagnostics()))
}

fn check_command(path: &Path) -> Result<(), Failure> {
    let spec = load(path)?;
    let Checked { model, settings } = checked(&spec, &Settings::default(), &Limits::default())?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "ok: {} nodes, {} stochastic inputs, {} outputs ({})\n\
         cost of {} iterations: up to about {} of memory and {} of one core's work",
        model.nodes.len(),
        model.inputs.len(),
        model.outputs.len(),
        model
            .outputs
            .iter()
            .map(|&o| model.nodes[o].id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        thousands(settings.iterations()),
        cost::approx_bytes(cost::memory(&model, &settings, threads).total()),
        cost::approx_seconds(cost::work(&model, &settings).core_seconds()),
    );
    Ok(())
}

fn run_command(args: &RunArgs) -> Result<(), Failure> {
    let spec = load(&args.model)?;
    let max_time_ms = match args.max_time {
        Some(s) if !(s > 0.0 && s.is_finite()) => {
            return Err(Failure::BadInput(format!(
                "error: --max-time must be a positive number of seconds, got {s}\n"
            )));
        }
        Some(s) => Some((s * 1000.0).ceil() as u64),
        None => None,
    };
    let overrides = Settings {
        iterations: args.iterations,
        seed: args.seed,
        sample_size: args.sample_size,
        max_time_ms,
        sampling: args.sampling.map(Sampling::from),
        // The flag sets the relative target and keeps the rest of the model's.
        precision: args.precision.map(|relative| PrecisionSpec {
            relative: Some(relative),
            ..spec.settings.precision.clone().unwrap_or_default()
        }),
    };
    let limits = Limits {
        max_iterations: args.max_iterations,
        // No rows are written without a CSV, so none are kept: the summary is the same
        // whatever the sample size (sensitivity reads rows of its own, which do not change).
        sample_rows: args.samples_csv.is_none().then_some(0),
    };
    let Checked { model, settings } = checked(&spec, &overrides, &limits)?;
    let threads = args.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |t| t as usize,
    );

    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    // Ctrl-C stops the run within an instruction or so; the partial summary is printed.
    // A second Ctrl-C ends the process at once.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let show_progress = std::io::stderr().is_terminal();
    let observer = CliObserver::new(
        Instant::now(),
        settings.max_time_ms().map(Duration::from_millis),
        Arc::clone(&cancel),
        show_progress,
    );
    let started = Instant::now();
    let memory_estimate = cost::memory(&model, &settings, threads).total();
    let work_estimate = cost::work(&model, &settings).core_seconds();
    let before = telemetry::memory().0;
    let cpu_before = telemetry::cpu_seconds();
    let output = try_run(&model, &settings, threads, &observer);
    // The growth of the peak over what the process held before the run.
    let cost = format::Cost {
        memory: telemetry::memory().1.saturating_sub(before),
        memory_estimate,
        cpu_seconds: telemetry::cpu_seconds() - cpu_before,
        work_estimate,
    };
    observer.finish();
    let mut output = output.map_err(|e| Failure::Internal(e.to_string()))?;
    output.summary.elapsed_ms = started.elapsed().as_millis() as u64;

    if let Some(path) = &args.samples_csv {
        write_samples(path, &output.samples).map_err(|e| {
            Failure::BadInput(format!("error: cannot write `{}`: {e}\n", path.display()))
        })?;
    }
    let text = match args.format {
        Format::Json => format!("{}\n", output.summary.to_json()),
        Format::Table => format::table(&spec, &output.summary, threads, cost),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| Failure::Internal(format!("cannot write the summary: {e}")))?;
    Ok(())
}

fn write_samples(path: &Path, samples: &SampleTable) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(out, "iteration")?;
    for c in &samples.columns {
        write!(out, ",{c}")?;
    }
    writeln!(out)?;
    for (iteration, row) in &samples.rows {
        write!(out, "{iteration}")?;
        for v in row {
            write!(out, ",{v}")?;
        }
        writeln!(out)?;
    }
    out.flush()
}

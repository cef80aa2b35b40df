//! `scenarioforge`: run and check models from the command line, or serve the HTTP API.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::main(args)
}

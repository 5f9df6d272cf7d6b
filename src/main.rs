//! The `clearfleet` binary: parse the command line, run, turn the outcome into an exit code.
//! The binary holds the command line, the settings built from it, logging and one file per
//! command; everything else lives in the library crates under `crates/` (docs/design.md).

mod cli;
mod cmdline;
mod commands;
mod config;
mod error;
mod logging;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    ExitCode::from(commands::run(cli))
}

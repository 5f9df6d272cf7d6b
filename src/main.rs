//! The `clearfleet` binary: parse the command line, run, turn the outcome into an exit code.
//! The binary holds the command line, the settings built from it, logging and one file per
//! command; everything else lives in the library crates under `crates/` (docs/design.md).

mod cli;
mod cmdline;
mod commands;
mod config;
mod error;
mod logging;
mod vault_secrets;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match <cli::Cli as clap::Parser>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` go to stdout and are not errors. A bad command line is
            // invalid input (exit 4, README "Exit codes"), not clap's 2, which means that a
            // host failed.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                clearfleet_events::exit::INVALID_INPUT
            } else {
                clearfleet_events::exit::OK
            });
        }
    };
    ExitCode::from(commands::run(cli))
}

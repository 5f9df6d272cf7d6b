//! The `clearfleet` binary: parse the command line, run, turn the outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = <clearfleet::cli::Cli as clap::Parser>::parse();
    ExitCode::from(clearfleet::app::run(cli))
}

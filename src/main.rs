//! The `clearfleet` binary: parse the command line, run, turn the outcome into an exit code.
//! The binary holds the command line, the settings built from it, logging and one file per
//! command; everything else lives in the library crates under `crates/` (docs/design.md).

mod ansible_cfg;
mod cli;
mod cmdline;
mod commands;
mod config;
mod error;
mod logging;

use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = <cli::Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|m| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&m).map(|c| (c, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            // ansible.cfg and `ANSIBLE_*` fill what the command line left unset.
            match ansible_cfg::apply(&mut cli, &matches) {
                Ok(extras) => {
                    for w in &extras.warnings {
                        eprintln!("warning: {w}");
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(clearfleet_events::exit::INVALID_INPUT);
                }
            }
            cli
        }
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
    if let Some(missing) = cli.missing_inventory() {
        eprintln!("error: {missing}");
        return ExitCode::from(clearfleet_events::exit::INVALID_INPUT);
    }
    ExitCode::from(commands::run(cli))
}

//! Runs one parsed command line to its exit code: the glue between the CLI and the layers,
//! one file per command.

mod completions;
mod detect;
mod inventory;
mod man;
mod releases;
mod run;
mod shared;
mod upgrade;

use crate::cli::{Cli, Command};
use crate::error::print_error;
use clearfleet_base::capture::MaxOutput;
use clearfleet_report::View;
use clearfleet_runner::Job;

/// Runs `cli` and returns the process exit code (see `exit.rs`).
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Inventory(args) => inventory::inventory(&args),
        Command::Ping(args) => shared::hosts(
            &args.connect,
            Job::Ping,
            "ping".to_owned(),
            View::Commands,
            MaxOutput::DEFAULT,
        ),
        Command::Exec(args) => {
            let command = args.command.join(" ");
            let line = format!("exec -- {command}");
            shared::hosts(
                &args.connect,
                Job::Exec { command },
                line,
                View::Commands,
                args.output.max_output,
            )
        }
        Command::Run(args) => run::playbook(&args),
        Command::Upgrade(args) => upgrade::run(&args),
        Command::Detect(args) => detect::detect(&args, View::Detect),
        Command::Plan(args) => detect::detect(&args, View::Plan),
        Command::Releases(args) => releases::releases(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::Man(args) => man::man(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    }
}

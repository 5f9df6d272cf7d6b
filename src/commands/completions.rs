//! `clearfleet completions SHELL`: the shell's completion script, generated from the clap
//! definitions of `cli.rs`, so it never falls behind the options.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, Shell};
use crate::error::Error;

/// Prints the completion script for `args.shell` on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<u8, Error> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "clearfleet", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(Error::Output)?;
    Ok(clearfleet_events::exit::OK)
}

//! `clearfleet man [--dir DIR]`: the man pages, generated from the clap definitions of `cli.rs`
//! (clap_mangen): clearfleet(1), and with `--dir` one page per command as well.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};
use crate::error::Error;

/// Prints clearfleet.1 on stdout, or writes every page into `args.dir`.
pub fn man(args: &ManArgs) -> Result<u8, Error> {
    // Built once so that each subcommand knows its page name (`clearfleet-upgrade`); no page
    // for clap's `help` command, as clap_mangen::generate_to does.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    match &args.dir {
        None => {
            let mut roff = Vec::new();
            page(cmd).render(&mut roff).map_err(Error::Output)?;
            std::io::stdout()
                .lock()
                .write_all(&roff)
                .map_err(Error::Output)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| Error::ManPage {
                path: dir.clone(),
                source,
            })?;
            write_pages(cmd, dir)?;
        }
    }
    Ok(clearfleet_events::exit::OK)
}

/// The page of `cmd`, dated with the commit the binary was built from (when known), its footer
/// naming clearfleet and that version on every page (clap_mangen would say `upgrade 0.1.0`).
fn page(cmd: clap::Command) -> Man {
    let man =
        Man::new(with_aliases(cmd)).source(format!("clearfleet {}", env!("CLEARFLEET_VERSION")));
    match env!("CLEARFLEET_COMMIT_DATE") {
        "" => man,
        date => man.date(date),
    }
}

/// Writes the page of `cmd` and of each of its visible subcommands into `dir`.
fn write_pages(cmd: clap::Command, dir: &Path) -> Result<(), Error> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir)?;
    }
    let man = page(cmd);
    let path = dir.join(man.get_filename());
    let mut roff = Vec::new();
    man.render(&mut roff).map_err(Error::Output)?;
    std::fs::write(&path, roff).map_err(|source| Error::ManPage { path, source })
}

/// `cmd` with each option's visible aliases written after its help, as `--help` shows them:
/// clap_mangen leaves aliases out, and a page should name every spelling a user may meet.
fn with_aliases(cmd: clap::Command) -> clap::Command {
    let aliased: Vec<(clap::Id, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let aliases = a.get_visible_aliases()?;
            let list = aliases
                .iter()
                .map(|alias| format!("--{alias}"))
                .collect::<Vec<_>>()
                .join(", ");
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let word = if aliases.len() == 1 {
                "alias"
            } else {
                "aliases"
            };
            Some((a.get_id().clone(), format!("{help} [{word}: {list}]")))
        })
        .collect();
    aliased
        .into_iter()
        .fold(cmd, |cmd, (id, help)| cmd.mut_arg(id, |a| a.help(help)))
}

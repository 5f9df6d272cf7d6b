//! What the commands share: logging set-up, the reporters on screen and on disk, `--rerun`,
//! `--target`, running one runner job over the selected hosts (ping, exec, detect, plan), and
//! loading and running a playbook (`run`, `upgrade`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{ConnectArgs, OutputFormat};
use crate::error::Error;
use clearfleet_base::capture::MaxOutput;
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::secret::Redactor;
use clearfleet_base::vault::Vault;
use clearfleet_clearml::{Releases, Version};
use clearfleet_events::{Event, RunSummary};
use clearfleet_inventory::Inventory;
use clearfleet_report::files::{FilesReporter, RunKind};
use clearfleet_report::{HumanReporter, JsonReporter, Reporter, View};
use clearfleet_runner::Job;
use clearfleet_runner::config::RunConfig;
use clearfleet_runner::playbook::{PlaybookOptions, TemplateCache};

/// Starts logging (stderr and `--log-file`); see `logging.rs`.
pub fn init_logging(args: &ConnectArgs) -> Result<(), Error> {
    crate::logging::init(args.verbose, args.quiet, args.log_file.as_deref()).map_err(|source| {
        Error::LogFile {
            path: args.log_file.clone().unwrap_or_default(),
            source,
        }
    })
}

/// The vault of the run (`--vault-*`) and the inventory read with it.
pub fn load_inventory(args: &ConnectArgs) -> Result<(Inventory, Vault), Error> {
    let vault = crate::vault_secrets::vault(&args.vault)?;
    let inventory = Inventory::load_vaulted(&args.inventory, &vault)?;
    Ok((inventory, vault))
}

/// The async runtime a command runs its hosts on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// `--target`: a release of the release data that has a compose file (default: the latest).
pub fn resolve_target(releases: &Releases, target: Option<&str>) -> Result<Version, Error> {
    let Some(t) = target else {
        return Ok(releases.latest);
    };
    let v: Version = t.parse().map_err(Error::Version)?;
    // An announced release is a target the planner refuses per host, saying what is unknown.
    if releases.hop(v).is_none() && releases.announced(v).is_none() {
        return Err(Error::UnknownTarget {
            target: v,
            known: releases
                .hops
                .iter()
                .map(|h| h.version.to_string())
                .collect(),
        });
    }
    Ok(v)
}

/// The reporter on screen: JSON Lines, or human output (with the live view on a terminal).
pub fn screen_reporter(args: &ConnectArgs, view: View) -> Box<dyn Reporter> {
    match args.output {
        OutputFormat::Human => {
            let mut human =
                HumanReporter::new(anstream::stdout(), anstream::stderr(), args.quiet, view);
            human.verbose = args.verbose > 0;
            let human: Box<dyn Reporter> = Box::new(human);
            if clearfleet_report::live::wanted(args.quiet, args.verbose) {
                Box::new(clearfleet_report::live::LiveReporter::new(human))
            } else {
                human
            }
        }
        OutputFormat::Json => Box::new(JsonReporter::new(std::io::stdout(), std::io::stderr())),
    }
}

/// `--rerun`: the arguments with `--limit` narrowed to the hosts of the earlier report that
/// ended with the asked statuses (and that the inventory and the user's `--limit` still select).
pub fn with_rerun(args: &ConnectArgs, inventory: &Inventory) -> Result<ConnectArgs, Error> {
    let mut args = args.clone();
    if args.rerun.is_empty() {
        return Ok(args);
    }
    use clearfleet_report::rerun;
    let dir = rerun::report_dir(
        args.from_report.as_deref(),
        std::path::Path::new(clearfleet_report::files::DEFAULT_PARENT),
    )?;
    let statuses: Vec<String> = args.rerun.iter().map(|s| s.as_str().to_owned()).collect();
    let wanted = rerun::hosts(&dir, &statuses)?;
    let selected = inventory.select(args.limit.as_deref().unwrap_or("all"))?;
    let names: Vec<String> = selected
        .into_iter()
        .filter(|h| wanted.contains(h))
        .collect();
    if names.is_empty() {
        return Err(Error::NoHosts {
            pattern: format!(
                "--rerun {} of {}{}",
                statuses.join(","),
                dir.display(),
                args.limit
                    .as_deref()
                    .map(|l| format!(" within --limit {l}"))
                    .unwrap_or_default()
            ),
        });
    }
    args.limit = Some(names.join(","));
    Ok(args)
}

/// The `--report-dir` reporter, if one is wanted: `none` never, no flag only if `default_on`.
pub fn files_reporter(
    args: &ConnectArgs,
    command: &str,
    kind: RunKind,
    redactor: &Redactor,
    default_on: bool,
) -> Result<Option<FilesReporter>, Error> {
    let dir = match &args.report_dir {
        Some(d) if d.as_os_str() == "none" => return Ok(None),
        Some(d) => d.clone(),
        None if default_on => FilesReporter::default_dir().map_err(|source| Error::Report {
            path: clearfleet_report::files::DEFAULT_PARENT.into(),
            source,
        })?,
        None => return Ok(None),
    };
    // Secret `-e` values masked before the reporter sees the command line.
    let argv = crate::cmdline::masked(&std::env::args().collect::<Vec<_>>());
    FilesReporter::new(dir.clone(), command, &argv, kind, redactor.clone())
        .map(Some)
        .map_err(|source| Error::Report { path: dir, source })
}

/// Writes the report directory, if any, and says where it is (stderr, unless `-q`).
pub fn write_report(
    files: Option<&mut FilesReporter>,
    exit_code: u8,
    quiet: bool,
) -> Result<(), Error> {
    let Some(files) = files else {
        return Ok(());
    };
    files.set_exit_code(exit_code);
    files.write().map_err(|source| Error::Report {
        path: files.dir().to_path_buf(),
        source,
    })?;
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "report: {}",
            files.dir().join("index.html").display()
        );
    }
    Ok(())
}

/// Runs `job` on the selected hosts; `max_output` is `--max-output` where the command has it.
pub fn hosts(
    args: &ConnectArgs,
    job: Job,
    command_line: String,
    view: View,
    max_output: MaxOutput,
) -> Result<u8, Error> {
    init_logging(args)?;
    let (inventory, vault) = load_inventory(args)?;
    let args = &with_rerun(args, &inventory)?;
    let mut config = crate::config::from_inventory(args, &inventory, max_output)?;
    config.redactor = config.redactor.watching(vault.found());
    crate::logging::add_secrets(&config.redactor);
    let (command, kind) = match (&job, view) {
        (Job::Ping, _) => ("ping", RunKind::Commands),
        (Job::Exec { .. }, _) => ("exec", RunKind::Commands),
        (_, View::Plan) => ("plan", RunKind::Detect),
        _ => ("detect", RunKind::Detect),
    };
    let mut files = files_reporter(args, command, kind, &config.redactor, false)?;
    let runtime = runtime()?;
    let mut reporter = screen_reporter(args, view);
    let mut tee = Tee::new(reporter.as_mut(), files.as_mut());
    let summary = runtime.block_on(clearfleet_runner::run(config, job, command_line, &mut tee));
    // Dropping the runtime would wait for lingering connection tasks; the run is over.
    runtime.shutdown_background();
    tee.finish().map_err(Error::Output)?;
    write_report(files.as_mut(), summary.exit_code(), args.quiet)?;
    Ok(summary.exit_code())
}

/// A playbook loaded with its templates compiled once (a template's syntax error is a load
/// error).
pub struct LoadedPlaybook {
    pub playbook: clearfleet_playbook::Playbook,
    pub templates: Arc<TemplateCache>,
}

/// Loads the playbook at `path` of `files` (the disk, or the built-in playbook in memory) and
/// checks its templates; nothing is contacted.
/// `roles_path` is where roles are searched after `roles/` beside the playbook.
pub fn load_playbook(
    files: &ControllerFiles,
    path: &Path,
    roles_path: &[std::path::PathBuf],
) -> Result<LoadedPlaybook, Error> {
    let templates = Arc::new(TemplateCache::default());
    let mut check =
        |src: &str,
         kind: clearfleet_playbook::TemplateKind,
         at: &clearfleet_base::diagnostic::Location| { templates.check(src, kind, at) };
    let playbook = clearfleet_playbook::load_playbook_with(files, path, roles_path, &mut check)?;
    for w in &playbook.warnings {
        eprintln!(
            "warning: {w}\n  = note: Ansible finds this only when a host reaches the include or task; so does the run, and it fails those hosts"
        );
    }
    Ok(LoadedPlaybook {
        playbook,
        templates,
    })
}

/// One playbook run: everything the runner takes besides the reporters.
pub struct PlaybookRun {
    pub playbook: LoadedPlaybook,
    pub inventory: Inventory,
    pub config: RunConfig,
    pub options: PlaybookOptions,
    /// `playbook_dir`, where relative `src:` paths resolve.
    pub playbook_dir: PathBuf,
}

/// Runs a playbook with its events on screen (the playbook view) and, with `--report-dir`, in
/// the files; `watch` sees every event first. The runtime is shut down without waiting for
/// lingering connection tasks: the run is over.
pub fn run_playbook(
    runtime: tokio::runtime::Runtime,
    run: PlaybookRun,
    args: &ConnectArgs,
    files: Option<&mut FilesReporter>,
    watch: Option<&mut dyn Reporter>,
) -> Result<RunSummary, Error> {
    let mut reporter = screen_reporter(args, View::Playbook);
    let mut tee = Tee {
        screen: reporter.as_mut(),
        files,
        // A shorter borrow of the same watcher (`&mut dyn` does not shorten inside `Option`).
        watch: watch.map(|w| w as &mut dyn Reporter),
    };
    let summary = runtime.block_on(clearfleet_runner::playbook::run(
        run.playbook.playbook,
        run.inventory,
        run.config,
        run.playbook.templates,
        run.options,
        run.playbook_dir,
        &mut tee,
    ));
    runtime.shutdown_background();
    tee.finish().map_err(Error::Output)?;
    Ok(summary)
}

/// Sends every event to the reporter on screen and, with `--report-dir`, to the files.
pub struct Tee<'a> {
    pub screen: &'a mut dyn Reporter,
    pub files: Option<&'a mut FilesReporter>,
    /// Sees every event before the others (only for what it learns; it writes nothing).
    pub watch: Option<&'a mut dyn Reporter>,
}

impl<'a> Tee<'a> {
    pub fn new(screen: &'a mut dyn Reporter, files: Option<&'a mut FilesReporter>) -> Self {
        Tee {
            screen,
            files,
            watch: None,
        }
    }
}

impl Reporter for Tee<'_> {
    fn report(&mut self, event: &Event) {
        if let Some(w) = self.watch.as_deref_mut() {
            w.report(event);
        }
        crate::logging::log_event(event);
        self.screen.report(event);
        if let Some(f) = self.files.as_deref_mut() {
            f.report(event);
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.screen.finish()
    }
}

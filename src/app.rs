//! Runs one parsed command line to its exit code: the glue between the CLI and the layers.

use std::io::Write;

use std::sync::Arc;

use crate::clearml::plan::PlanOptions;
use crate::clearml::{Releases, Version};
use crate::cli::{Cli, Command, ConnectArgs, DetectArgs, InventoryArgs, OutputFormat, RunArgs};
use crate::config::{RunConfig, is_secret_var};
use crate::error::{Error, print_error};
use crate::inventory::Inventory;
use crate::report::files::{FilesReporter, RunKind, Tee};
use crate::report::{HumanReporter, JsonReporter, Reporter, View};
use crate::runner::{self, Job};
use crate::secret::Redactor;

/// Runs `cli` and returns the process exit code (see `exit.rs`).
pub fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Inventory(args) => inventory(&args),
        Command::Ping(args) => hosts(&args.connect, Job::Ping, "ping".to_owned(), View::Commands),
        Command::Exec(args) => {
            let command = args.command.join(" ");
            let line = format!("exec -- {command}");
            hosts(&args.connect, Job::Exec { command }, line, View::Commands)
        }
        Command::Run(args) => playbook(&args),
        Command::Upgrade(args) => crate::upgrade::run(&args),
        Command::Detect(args) => detect(&args, View::Detect),
        Command::Plan(args) => detect(&args, View::Plan),
        Command::Releases(args) => releases(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            print_error(&e);
            e.exit_code()
        }
    }
}

/// Starts logging (stderr and `--log-file`); see `logging.rs`.
pub(crate) fn init_logging(args: &ConnectArgs) -> Result<(), Error> {
    crate::logging::init(args.verbose, args.quiet, args.log_file.as_deref()).map_err(|source| {
        Error::LogFile {
            path: args.log_file.clone().unwrap_or_default(),
            source,
        }
    })
}

/// `--target`: a release of the release data that has a compose file (default: the latest).
pub(crate) fn resolve_target(releases: &Releases, target: Option<&str>) -> Result<Version, Error> {
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

/// `clearfleet releases`: the release data in use (built in, or `--releases FILE`), checked.
fn releases(args: &crate::cli::ReleasesArgs) -> Result<u8, Error> {
    let path = args.data.releases.as_deref();
    let releases = Releases::load(path).map_err(Error::Releases)?;
    let text = match args.output {
        OutputFormat::Human => crate::report::releases_table(
            &releases,
            &path.map_or_else(
                || "built in (playbooks/clearml/releases.yml)".to_owned(),
                |p| p.display().to_string(),
            ),
        ),
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&releases).map_err(|e| Error::Output(e.into()))?
        ),
    };
    anstream::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::Output)?;
    Ok(crate::exit::OK)
}

fn detect(args: &DetectArgs, view: View) -> Result<u8, Error> {
    let releases = Releases::load(args.data.releases.as_deref()).map_err(Error::Releases)?;
    let target = resolve_target(&releases, args.target.as_deref())?;
    let job = Job::Detect {
        releases: Arc::new(releases),
        target,
        options: PlanOptions {
            allow_es_migration: args.allow_es_migration,
            discard_compose_changes: args.discard_compose_changes,
        },
    };
    let name = if view == View::Plan { "plan" } else { "detect" };
    hosts(&args.connect, job, name.to_owned(), view)
}

/// The reporter on screen: JSON Lines, or human output (with the live view on a terminal).
pub(crate) fn screen_reporter(args: &ConnectArgs, view: View) -> Box<dyn Reporter> {
    match args.output {
        OutputFormat::Human => {
            let mut human =
                HumanReporter::new(anstream::stdout(), anstream::stderr(), args.quiet, view);
            human.verbose = args.verbose > 0;
            let human: Box<dyn Reporter> = Box::new(human);
            if crate::report::live::wanted(args.quiet, args.verbose) {
                Box::new(crate::report::live::LiveReporter::new(human))
            } else {
                human
            }
        }
        OutputFormat::Json => Box::new(JsonReporter::new(std::io::stdout(), std::io::stderr())),
    }
}

/// `--rerun`: the arguments with `--limit` narrowed to the hosts of the earlier report that
/// ended with the asked statuses (and that the inventory and the user's `--limit` still select).
pub(crate) fn with_rerun(args: &ConnectArgs, inventory: &Inventory) -> Result<ConnectArgs, Error> {
    let mut args = args.clone();
    if args.rerun.is_empty() {
        return Ok(args);
    }
    use crate::report::rerun;
    let dir = rerun::report_dir(
        args.from_report.as_deref(),
        std::path::Path::new(crate::report::files::DEFAULT_PARENT),
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
pub(crate) fn files_reporter(
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
            path: crate::report::files::DEFAULT_PARENT.into(),
            source,
        })?,
        None => return Ok(None),
    };
    let argv: Vec<String> = std::env::args().collect();
    FilesReporter::new(dir.clone(), command, &argv, kind, redactor.clone())
        .map(Some)
        .map_err(|source| Error::Report { path: dir, source })
}

/// Writes the report directory, if any, and says where it is (stderr, unless `-q`).
pub(crate) fn write_report(
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

fn hosts(args: &ConnectArgs, job: Job, command_line: String, view: View) -> Result<u8, Error> {
    init_logging(args)?;
    let inventory = Inventory::load(&args.inventory)?;
    let args = &with_rerun(args, &inventory)?;
    let config = RunConfig::from_inventory(args, &inventory)?;
    crate::logging::add_secrets(&config.redactor);
    let (command, kind) = match (&job, view) {
        (Job::Ping, _) => ("ping", RunKind::Commands),
        (Job::Exec { .. }, _) => ("exec", RunKind::Commands),
        (_, View::Plan) => ("plan", RunKind::Detect),
        _ => ("detect", RunKind::Detect),
    };
    let mut files = files_reporter(args, command, kind, &config.redactor, false)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let mut reporter = screen_reporter(args, view);
    let mut tee = Tee {
        screen: reporter.as_mut(),
        files: files.as_mut(),
    };
    let summary = runtime.block_on(runner::run(config, job, command_line, &mut tee));
    // Dropping the runtime would wait for lingering connection tasks; the run is over.
    runtime.shutdown_background();
    tee.finish().map_err(Error::Output)?;
    write_report(files.as_mut(), summary.exit_code(), args.quiet)?;
    Ok(summary.exit_code())
}

/// `clearfleet run`: load and check everything, then run the playbook.
fn playbook(args: &RunArgs) -> Result<u8, Error> {
    use crate::runner::playbook::{PlaybookOptions, TemplateCache};
    init_logging(&args.connect)?;
    let inventory = Inventory::load(&args.connect.inventory)?;
    let connect = with_rerun(&args.connect, &inventory)?;
    let args = &RunArgs {
        connect,
        ..args.clone()
    };
    let templates = Arc::new(TemplateCache::default());
    let mut sites = Vec::new();
    let mut check =
        |src: &str, kind: crate::playbook::TemplateKind, at: &crate::diagnostic::Location| {
            sites.push(crate::runner::playbook::undefined::Site {
                source: src.to_owned(),
                kind,
                location: at.clone(),
            });
            templates.check(src, kind, at)
        };
    let playbook = crate::playbook::load_playbook(&args.playbook, &mut check)?;
    let extra_vars = parse_extra_vars(&args.extra_vars)?;
    let known = inventory
        .host_names()
        .flat_map(|h| inventory.host_vars(h).unwrap_or_default().into_keys())
        .chain(extra_vars.keys().cloned())
        .collect();
    let mut undefined =
        crate::runner::playbook::undefined::check(&playbook, &sites, &known, &templates);
    if let Some(task) = &args.start_at_task {
        undefined.extend(crate::runner::playbook::undefined::check_start_at(
            &playbook, task,
        ));
    }
    if !undefined.is_empty() {
        return Err(crate::playbook::PlaybookError::new(undefined).into());
    }
    let names = inventory.select(args.connect.limit.as_deref().unwrap_or("all"))?;
    if names.is_empty() {
        return Err(Error::NoHosts {
            pattern: args
                .connect
                .limit
                .clone()
                .unwrap_or_else(|| "all".to_owned()),
        });
    }
    let config = RunConfig::for_hosts(&args.connect, &inventory, names)?;
    let redactor = config.redactor.with(
        extra_vars
            .iter()
            .filter(|(k, _)| is_secret_var(k))
            .filter_map(|(_, v)| v.as_str().map(crate::secret::Secret::new)),
    );
    crate::logging::add_secrets(&redactor);
    let mut files = files_reporter(&args.connect, "run", RunKind::Playbook, &redactor, false)?;
    let playbook_dir = args
        .playbook
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let options = PlaybookOptions {
        check: args.check,
        diff: args.diff,
        tags: args.tags.clone(),
        skip_tags: args.skip_tags.clone(),
        start_at_task: args.start_at_task.clone(),
        extra_vars,
        limit: args.connect.limit.clone(),
        host_vars: Default::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let mut reporter = screen_reporter(&args.connect, View::Playbook);
    let mut tee = Tee {
        screen: reporter.as_mut(),
        files: files.as_mut(),
    };
    let summary = runtime.block_on(crate::runner::playbook::run(
        playbook,
        inventory,
        config,
        templates,
        options,
        playbook_dir,
        &mut tee,
    ));
    runtime.shutdown_background();
    tee.finish().map_err(Error::Output)?;
    write_report(files.as_mut(), summary.exit_code(), args.connect.quiet)?;
    Ok(summary.exit_code())
}

/// `-e` values: `@file` (YAML or JSON), a JSON/YAML mapping, or `k=v` pairs.
fn parse_extra_vars(
    values: &[String],
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let mut out = serde_json::Map::new();
    for value in values {
        let bad = |reason: String| Error::ExtraVars {
            value: value.clone(),
            reason,
        };
        let text;
        let source = if let Some(path) = value.strip_prefix('@') {
            text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            text.as_str()
        } else {
            value.as_str()
        };
        let trimmed = source.trim_start();
        if value.starts_with('@') || trimmed.starts_with('{') {
            match serde_saphyr::from_str::<serde_json::Value>(source) {
                Ok(serde_json::Value::Object(m)) => out.extend(m),
                Ok(_) => return Err(bad("expected a mapping".to_owned())),
                Err(e) => return Err(bad(e.to_string())),
            }
        } else {
            let pairs = crate::playbook::kv::parse_kv(source, false).map_err(bad)?;
            for (k, v) in pairs {
                if k == "_raw_params" {
                    return Err(bad("expected key=value".to_owned()));
                }
                out.insert(k, v);
            }
        }
    }
    Ok(out)
}

fn inventory(args: &InventoryArgs) -> Result<u8, Error> {
    let inventory = Inventory::load(&args.inventory)?;
    let text = if args.list_hosts
        || (args.limit.is_some() && !args.list && args.host.is_none() && args.graph.is_none())
    {
        let pattern = args.limit.as_deref().unwrap_or("all");
        let mut s = String::new();
        for host in inventory.select(pattern)? {
            s.push_str(&host);
            s.push('\n');
        }
        s
    } else if let Some(group) = &args.graph {
        inventory.to_graph(Some(group))?
    } else if let Some(host) = &args.host {
        let json = inventory.to_host_json(host)?;
        mask_json_text(&json, args.show_secrets)
    } else {
        mask_json_text(&inventory.to_list_json(), args.show_secrets)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| {
            if text.is_empty() || text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .map_err(Error::Output)?;
    Ok(crate::exit::OK)
}

/// Masks secret variables (passwords, tokens) in inventory JSON unless `--show-secrets`.
fn mask_json_text(json: &str, show: bool) -> String {
    if show {
        return json.to_owned();
    }
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(json) else {
        return json.to_owned();
    };
    let mut masked = false;
    mask_value(&mut value, &mut masked);
    if !masked {
        return json.to_owned();
    }
    crate::inventory::output::python_json(&value)
}

fn mask_value(value: &mut serde_json::Value, masked: &mut bool) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_secret_var(k) && v.is_string() {
                    *v = serde_json::Value::String("********".to_owned());
                    *masked = true;
                } else {
                    mask_value(v, masked);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| mask_value(v, masked)),
        _ => {}
    }
}

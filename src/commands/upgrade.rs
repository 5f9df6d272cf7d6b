//! `clearfleet upgrade`: detect every host, plan its hops, run the upgrade playbook on the hosts
//! that need it (with their state and plan as variables), then say what happened to each.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::shared::{Tee, files_reporter, init_logging, screen_reporter, write_report};
use crate::cli::{OutputFormat, UpgradeArgs};
use crate::error::Error;
use clearfleet_clearml::Releases;
use clearfleet_clearml::plan::PlanOptions;
use clearfleet_clearml::playbook_vars::{
    ComposeSource, PLAYBOOK_FILES, Skip, default_backup_dir, host_vars,
};
use clearfleet_events::{HostStatus, RunSummary};
use clearfleet_inventory::Inventory;
use clearfleet_playbook::Serial;
use clearfleet_report::files::RunKind;
use clearfleet_report::upgrade_table::{UpgradeRow, table};
use clearfleet_report::{Reporter, View};
use clearfleet_runner::Job;
use clearfleet_runner::playbook::{PlaybookOptions, TemplateCache};

/// The backup steps of the built-in playbook (`clearml/backup.yml`).
const BACKUP_TASK: &str = "Back up data and config";
const VERIFY_TASK: &str = "Verify the backup";

/// How far a host's backup got, from its task events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Backup {
    #[default]
    NotStarted,
    /// The backup task began and has not finished (a cancelled host: a partial backup).
    Writing,
    Taken,
    Verified,
}

/// Passes every event on and notes each host's backup progress on the way.
struct BackupWatch<'a> {
    inner: &'a mut dyn Reporter,
    hosts: HashMap<String, Backup>,
}

impl Reporter for BackupWatch<'_> {
    fn report(&mut self, event: &clearfleet_events::Event) {
        use clearfleet_events::{EventKind, TaskStatus};
        match &event.kind {
            EventKind::HostTask { host, task } if task == BACKUP_TASK => {
                self.hosts.insert(host.clone(), Backup::Writing);
            }
            EventKind::TaskResult(r)
                if matches!(r.status, TaskStatus::Ok | TaskStatus::Changed) =>
            {
                let next = match r.task.as_str() {
                    BACKUP_TASK => Some(Backup::Taken),
                    VERIFY_TASK => Some(Backup::Verified),
                    _ => None,
                };
                if let Some(next) = next {
                    self.hosts.insert(r.host.clone(), next);
                }
            }
            _ => {}
        }
        self.inner.report(event);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

/// What an interrupted host's row says about its backup at `path`.
fn backup_state(state: Backup, path: Option<&str>) -> (String, Option<String>) {
    let at = path.unwrap_or("?");
    match state {
        Backup::NotStarted => ("none: the server was not yet backed up".to_owned(), None),
        Backup::Writing => (
            format!("incomplete: cancelled while being written at {at}"),
            path.map(str::to_owned),
        ),
        Backup::Taken => (
            format!("taken at {at}, not verified"),
            path.map(str::to_owned),
        ),
        Backup::Verified => (format!("verified at {at}"), path.map(str::to_owned)),
    }
}

fn parse_serial(s: &str) -> Result<Serial, Error> {
    let bad = || Error::Serial(s.to_owned());
    match s.trim().strip_suffix('%') {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .map(Serial::Percent)
            .map_err(|_| bad()),
        None => s
            .trim()
            .parse::<u32>()
            .map(Serial::Number)
            .map_err(|_| bad()),
    }
}

/// Writes the built-in upgrade playbook into a private directory and returns its main file.
fn materialize_playbook() -> Result<(PathBuf, PathBuf), Error> {
    let dir = std::env::temp_dir().join(format!("clearfleet-upgrade-{}", std::process::id()));
    for (name, text) in PLAYBOOK_FILES {
        let path = dir.join(name);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, text)
        };
        write().map_err(|source| Error::PlaybookFiles {
            path: path.clone(),
            source,
        })?;
    }
    Ok((dir.join("clearml-upgrade.yml"), dir))
}

/// Removes the materialized playbook directory when the command ends, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `clearfleet upgrade`.
pub fn run(args: &UpgradeArgs) -> Result<u8, Error> {
    init_logging(&args.connect)?;
    let releases = Releases::load(args.data.releases.as_deref()).map_err(Error::Releases)?;
    let target = super::shared::resolve_target(&releases, args.target.as_deref())?;
    let serial = args.serial.as_deref().map(parse_serial).transpose()?;
    let source = match &args.compose_mirror {
        None => ComposeSource::Upstream,
        Some(m) if m.starts_with("http://") || m.starts_with("https://") => {
            ComposeSource::Url(m.clone())
        }
        Some(m) => ComposeSource::Dir(
            std::fs::canonicalize(m)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| m.clone()),
        ),
    };
    // Everything that can be wrong with the input is found before any host is contacted.
    let (playbook_path, materialized) = match &args.playbook {
        Some(p) => (p.clone(), None),
        None => {
            let (main, dir) = materialize_playbook()?;
            (main, Some(dir))
        }
    };
    let templates = Arc::new(TemplateCache::default());
    let mut check =
        |src: &str,
         kind: clearfleet_playbook::TemplateKind,
         at: &clearfleet_base::diagnostic::Location| { templates.check(src, kind, at) };
    // The built-in files stay until the end: `include_tasks` reads them while running.
    let _cleanup = materialized.map(RemoveOnDrop);
    let mut playbook = clearfleet_playbook::load_playbook(&playbook_path, &mut check)?;
    for play in &mut playbook.plays {
        if serial.is_some() {
            play.serial = serial.clone();
        }
        if args.max_fail_percentage.is_some() {
            play.max_fail_percentage = args.max_fail_percentage;
        }
    }
    let inventory = Inventory::load(&args.connect.inventory)?;
    let connect = super::shared::with_rerun(&args.connect, &inventory)?;
    let args = &UpgradeArgs {
        connect,
        ..args.clone()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;

    // 1. Detect and plan every host.
    let releases = Arc::new(releases);
    // The inventory is read once: detection and the playbook both use it.
    let detect_config = crate::config::from_inventory(&args.connect, &inventory)?;
    crate::logging::add_secrets(&detect_config.redactor);
    let mut files = files_reporter(
        &args.connect,
        "upgrade",
        RunKind::Upgrade,
        &detect_config.redactor,
        true,
    )?;
    let mut detect_reporter = screen_reporter(&args.connect, View::Plan);
    let mut tee = Tee {
        screen: detect_reporter.as_mut(),
        files: files.as_mut(),
    };
    let detected: RunSummary = runtime.block_on(clearfleet_runner::run(
        detect_config,
        Job::Detect {
            releases: releases.clone(),
            target,
            options: PlanOptions {
                allow_es_migration: args.allow_es_migration,
                discard_compose_changes: args.discard_compose_changes,
            },
        },
        "upgrade: detect".to_owned(),
        &mut tee,
    ));
    tee.finish().map_err(Error::Output)?;
    if detected.was_interrupted {
        write_report(files.as_mut(), detected.exit_code(), args.connect.quiet)?;
        return Ok(detected.exit_code());
    }

    // 2. Decide per host.
    let now = std::time::SystemTime::now();
    let mut rows: Vec<UpgradeRow> = Vec::new();
    let mut per_host: HashMap<String, Map<String, Value>> = HashMap::new();
    let mut secrets = Vec::new();
    let mut from: HashMap<String, String> = HashMap::new();
    for o in &detected.outcomes {
        let Some(d) = &o.detected else {
            rows.push(UpgradeRow::untouched(
                &o.host,
                o.status,
                match o.status {
                    HostStatus::Unreachable => "unreachable".to_owned(),
                    _ => format!("detection failed: {}", o.error.clone().unwrap_or_default()),
                },
            ));
            continue;
        };
        let root = d.state.root.clone().unwrap_or_default();
        let backup = args.backup_dir.clone().map_or_else(
            || default_backup_dir(&root, now),
            |b| format!("{}/{}", b.trim_end_matches('/'), o.host),
        );
        match host_vars(&d.state, &d.plan, &releases, &source, &backup) {
            Ok((mut vars, found)) => {
                secrets.extend(found);
                // Poll every 5 s (1 s for short waits) until `--wait` is used up.
                let delay = if args.wait >= 60 { 5 } else { 1 };
                vars.insert("clearml_wait_delay".into(), Value::from(delay));
                vars.insert(
                    "clearml_wait_retries".into(),
                    Value::from((args.wait / delay).max(1)),
                );
                from.insert(
                    o.host.clone(),
                    vars["clearml_from"].as_str().unwrap_or("").to_owned(),
                );
                per_host.insert(o.host.clone(), vars);
            }
            Err(Skip::UpToDate(v)) => rows.push(UpgradeRow::untouched(
                &o.host,
                HostStatus::Ok,
                format!("up to date ({v})"),
            )),
            Err(Skip::NewerThanKnown(v)) => rows.push(UpgradeRow::untouched(
                &o.host,
                HostStatus::Ok,
                format!("newer than known ({v}): left alone"),
            )),
            Err(Skip::NoServer) => rows.push(UpgradeRow::untouched(
                &o.host,
                HostStatus::Ok,
                "no ClearML server: nothing to do".to_owned(),
            )),
            Err(Skip::Refused(reason)) => rows.push(UpgradeRow::untouched(
                &o.host,
                HostStatus::Refused,
                format!("refused: {reason}"),
            )),
        }
    }

    // 3. Upgrade the hosts that need it.
    let mut interrupted = false;
    if !per_host.is_empty() {
        let names: Vec<String> = detected
            .outcomes
            .iter()
            .map(|o| o.host.clone())
            .filter(|h| per_host.contains_key(h))
            .collect();
        let mut config = crate::config::for_hosts(&args.connect, &inventory, names.clone())?;
        if let Some(f) = files.as_mut() {
            f.redact_also(secrets.iter().cloned());
        }
        config.redactor = config.redactor.with(secrets);
        crate::logging::add_secrets(&config.redactor);
        config.warnings.clear();
        // `--check`: only the preflight, whose checks are read-only and run for real.
        let options = PlaybookOptions {
            limit: Some(names.join(",")),
            host_vars: per_host.clone(),
            check: args.check,
            tags: if args.check {
                vec!["preflight".to_owned()]
            } else {
                Vec::new()
            },
            ..PlaybookOptions::default()
        };
        let mut play_reporter = screen_reporter(&args.connect, View::Playbook);
        let playbook_dir = playbook_path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let tee = Tee {
            screen: play_reporter.as_mut(),
            files: files.as_mut(),
        };
        let mut tee = tee;
        let mut watch = BackupWatch {
            inner: &mut tee,
            hosts: HashMap::new(),
        };
        let summary = runtime.block_on(clearfleet_runner::playbook::run(
            playbook,
            inventory,
            config,
            templates,
            options,
            playbook_dir,
            &mut watch,
        ));
        let backups = std::mem::take(&mut watch.hosts);
        watch.finish().map_err(Error::Output)?;
        interrupted = summary.was_interrupted;
        for o in &summary.outcomes {
            let backup = per_host
                .get(&o.host)
                .and_then(|v| v.get("clearml_backup_dir"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let attempted = o
                .recap
                .is_some_and(|r| r.ok + r.failed + r.unreachable + r.skipped > 0);
            // A resumed upgrade carries on from the verified backup its marker names.
            let resumed = per_host
                .get(&o.host)
                .is_some_and(|v| v.get("clearml_resume").is_some());
            if o.status == HostStatus::Interrupted {
                let state = backups.get(&o.host).copied().unwrap_or(if resumed {
                    Backup::Verified
                } else {
                    Backup::NotStarted
                });
                let (said, path) = backup_state(state, backup.as_deref());
                let step = o.error.clone().unwrap_or_else(|| "interrupted".to_owned());
                rows.push(UpgradeRow {
                    host: o.host.clone(),
                    status: HostStatus::Interrupted,
                    result: format!("interrupted: {step}"),
                    backup: path,
                    step: Some(step),
                    backup_state: Some(said),
                });
                continue;
            }
            let vars = per_host.get(&o.host);
            let recover_reason = vars
                .and_then(|v| v.get("clearml_recover_reason"))
                .and_then(Value::as_str);
            let result = match o.status {
                HostStatus::Ok if !attempted => {
                    "not attempted: an earlier batch spent the failure budget".to_owned()
                }
                HostStatus::Ok if args.check && recover_reason.is_some() => format!(
                    "would roll back to {}: {} (check: nothing changed)",
                    from.get(&o.host).cloned().unwrap_or_default(),
                    recover_reason.unwrap_or_default()
                ),
                HostStatus::Ok if args.check => {
                    let hops: Vec<&str> = per_host
                        .get(&o.host)
                        .and_then(|v| v.get("clearml_hops")?.as_array())
                        .into_iter()
                        .flatten()
                        .filter_map(|h| h["version"].as_str())
                        .collect();
                    format!(
                        "would upgrade {} → {} (preflight passed; check: nothing changed)",
                        from.get(&o.host).cloned().unwrap_or_default(),
                        hops.join(" → ")
                    )
                }
                HostStatus::Ok => {
                    let to = vars
                        .and_then(|v| {
                            v.get("clearml_hops")?
                                .as_array()?
                                .last()?
                                .get("version")?
                                .as_str()
                        })
                        .map_or_else(|| target.to_string(), str::to_owned);
                    // What compose v1 costs: it cannot recreate on a recent engine, so every
                    // hop after the first removed all containers (data stores too) first.
                    let hops = vars
                        .and_then(|v| v.get("clearml_hops")?.as_array().map(Vec::len))
                        .unwrap_or(0);
                    let v1 = vars
                        .and_then(|v| v.get("clearml_compose")?.as_str())
                        .is_some_and(|c| c.ends_with("docker-compose"));
                    let mut notes = Vec::new();
                    if resumed {
                        notes.push("finished an interrupted upgrade".to_owned());
                    }
                    if v1 && hops > 1 {
                        notes.push(format!(
                            "compose v1: all containers were removed and created again at each of \
                             the {} hops after the first, data stores included",
                            hops - 1
                        ));
                    }
                    format!(
                        "upgraded {} → {to}{}",
                        from.get(&o.host).cloned().unwrap_or_default(),
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", notes.join("; "))
                        }
                    )
                }
                HostStatus::Unreachable => "unreachable during the upgrade".to_owned(),
                _ => {
                    let last = o
                        .failures
                        .last()
                        .map(|(task, _, msg)| (task.clone(), msg.clone()));
                    let rescued = o.recap.is_some_and(|r| r.rescued > 0);
                    match last {
                        Some((_, msg))
                            if msg.starts_with("rolled back")
                                || msg.starts_with("restarted")
                                || msg.starts_with("ROLLBACK FAILED") =>
                        {
                            msg
                        }
                        // The rollback itself failed: the host needs a person, now.
                        Some((task, msg)) if rescued => {
                            let cause = o
                                .failures
                                .first()
                                .map(|(t, _, m)| format!("{t}: {m}"))
                                .unwrap_or_default();
                            format!(
                                "ROLLBACK FAILED at {task}: {msg} (after {cause}); restore the backup by hand"
                            )
                        }
                        Some((task, msg)) => format!("not changed: {task}: {msg}"),
                        None => "failed".to_owned(),
                    }
                }
            };
            // A backup exists once the host got past "Stop and back up": upgraded or rolled back.
            let backed_up = resumed
                || result.starts_with("upgraded")
                || result.starts_with("rolled back")
                || result.starts_with("ROLLBACK FAILED");
            rows.push(UpgradeRow {
                host: o.host.clone(),
                status: if attempted {
                    o.status
                } else {
                    HostStatus::Failed
                },
                result,
                backup: if backed_up { backup } else { None },
                step: None,
                backup_state: None,
            });
        }
    }
    runtime.shutdown_background();

    // 4. What happened to each host, in inventory order.
    let order: HashMap<&str, usize> = detected
        .outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.host.as_str(), i))
        .collect();
    rows.sort_by_key(|r| order.get(r.host.as_str()).copied().unwrap_or(usize::MAX));
    let text = match args.connect.output {
        OutputFormat::Human => table(&rows),
        OutputFormat::Json => rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                if let Some(m) = v.as_object_mut() {
                    m.insert("type".to_owned(), Value::String("upgrade".to_owned()));
                }
                format!("{v}\n")
            })
            .collect(),
    };
    let mut out = anstream::stdout();
    out.write_all(text.as_bytes()).map_err(Error::Output)?;
    let code = if interrupted {
        clearfleet_events::exit::INTERRUPTED
    } else if rows.iter().any(|r| r.status == HostStatus::Failed) {
        clearfleet_events::exit::HOST_FAILED
    } else if rows.iter().any(|r| r.status == HostStatus::Unreachable) {
        clearfleet_events::exit::HOST_UNREACHABLE
    } else if rows.iter().any(|r| r.status == HostStatus::Refused) {
        clearfleet_events::exit::HOST_REFUSED
    } else {
        clearfleet_events::exit::OK
    };
    if let Some(f) = files.as_mut() {
        f.set_upgrade(&rows, &target.to_string());
    }
    write_report(files.as_mut(), code, args.connect.quiet)?;
    Ok(code)
}

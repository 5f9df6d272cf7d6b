//! `clearfleet upgrade`: detect every host, plan its hops, run the upgrade playbook on the hosts
//! that need it (with their state and plan as variables), then say what happened to each.
//!
//! [`run`] is its steps in order: [`load_and_check`] (everything wrong with the input is found
//! before any host is contacted), [`detect`], [`plan`], [`upgrade`] (the playbook, batch by
//! batch as `--serial` says), [`collect`] and [`report`]. What happened to a host is an
//! [`UpgradeOutcome`]; only the reporters put it into words.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::shared::{
    LoadedPlaybook, PlaybookRun, Tee, files_reporter, init_logging, load_playbook, run_playbook,
    screen_reporter, write_report,
};
use crate::cli::{OutputFormat, UpgradeArgs};
use crate::error::Error;
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::secret::Secret;
use clearfleet_clearml::plan::PlanOptions;
use clearfleet_clearml::playbook_vars::{
    ComposeSource, PLAYBOOK_FILES, Skip, default_backup_dir, host_vars,
};
use clearfleet_clearml::{Releases, Version};
use clearfleet_events::{BackupProgress, HostOutcome, HostStatus, RunSummary, UpgradeOutcome};
use clearfleet_inventory::Inventory;
use clearfleet_playbook::Serial;
use clearfleet_report::files::{FilesReporter, RunKind};
use clearfleet_report::upgrade_table::{UpgradeRow, table};
use clearfleet_report::{Reporter, View};
use clearfleet_runner::Job;
use clearfleet_runner::playbook::PlaybookOptions;

/// The backup steps of the built-in playbook (`clearml/backup.yml`).
const BACKUP_TASK: &str = "Back up data and config";
const VERIFY_TASK: &str = "Verify the backup";

/// How the rollback of the built-in playbook (`clearml/rollback.yml`) begins its failure
/// message: the only words of the playbook this command reads.
const ROLLED_BACK: &str = "rolled back";
const RESTARTED: &str = "restarted";
const ROLLBACK_FAILED: &str = "ROLLBACK FAILED";

/// Notes each host's backup progress from the events of the backup tasks; writes nothing.
#[derive(Default)]
struct BackupWatch {
    hosts: HashMap<String, BackupProgress>,
}

impl Reporter for BackupWatch {
    fn report(&mut self, event: &clearfleet_events::Event) {
        use clearfleet_events::{EventKind, TaskStatus};
        match &event.kind {
            EventKind::HostTask { host, task } if task == BACKUP_TASK => {
                self.hosts.insert(host.clone(), BackupProgress::Writing);
            }
            EventKind::TaskResult(r)
                if matches!(r.status, TaskStatus::Ok | TaskStatus::Changed) =>
            {
                let next = match r.task.as_str() {
                    BACKUP_TASK => Some(BackupProgress::Taken),
                    VERIFY_TASK => Some(BackupProgress::Verified),
                    _ => None,
                };
                if let Some(next) = next {
                    self.hosts.insert(r.host.clone(), next);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
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

/// The built-in playbook's main file among [`PLAYBOOK_FILES`], its other files relative to it.
const PLAYBOOK_MAIN: &str = "clearml-upgrade.yml";

/// Where the playbook comes from: the built-in one in memory (nothing of it is written to disk,
/// and its diagnostics name `clearml/hop.yml`), or `--playbook` on disk.
fn playbook_source(args: &UpgradeArgs) -> (ControllerFiles, PathBuf) {
    match &args.playbook {
        Some(p) => (ControllerFiles::Disk, p.clone()),
        None => (
            ControllerFiles::memory(PLAYBOOK_FILES.iter().copied()),
            PathBuf::from(PLAYBOOK_MAIN),
        ),
    }
}

/// Everything `upgrade` reads and checks before it contacts a host.
struct Input {
    /// The arguments, `--limit` narrowed by `--rerun`.
    args: UpgradeArgs,
    releases: Arc<Releases>,
    target: Version,
    source: ComposeSource,
    playbook: LoadedPlaybook,
    playbook_dir: PathBuf,
    inventory: Inventory,
}

/// Step 1: the release data, `--target`, `--serial`, the playbook (its templates checked) and
/// the inventory.
fn load_and_check(args: &UpgradeArgs) -> Result<Input, Error> {
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
    let (files, playbook_path) = playbook_source(args);
    let mut playbook = load_playbook(&files, &playbook_path, &args.connect.settings.roles_path)?;
    for play in &mut playbook.playbook.plays {
        if serial.is_some() {
            play.serial = serial.clone();
        }
        if args.max_fail_percentage.is_some() {
            play.max_fail_percentage = args.max_fail_percentage;
        }
    }
    let inventory = Inventory::load(&args.connect.inventory)?;
    let connect = super::shared::with_rerun(&args.connect, &inventory)?;
    let input = Input {
        args: UpgradeArgs {
            connect,
            ..args.clone()
        },
        releases: Arc::new(releases),
        target,
        source,
        playbook,
        playbook_dir: playbook_path
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
        inventory,
    };
    Ok(input)
}

/// Step 2: detect and plan every selected host, on screen and in the report directory (made
/// here: its redactor comes with the hosts' configuration).
fn detect(
    runtime: &tokio::runtime::Runtime,
    input: &Input,
) -> Result<(Option<FilesReporter>, RunSummary), Error> {
    let args = &input.args;
    // The inventory is read once: detection and the playbook both use it.
    let config =
        crate::config::from_inventory(&args.connect, &input.inventory, args.output.max_output)?;
    crate::logging::add_secrets(&config.redactor);
    let mut files = files_reporter(
        &args.connect,
        "upgrade",
        RunKind::Upgrade,
        &config.redactor,
        true,
    )?;
    let mut screen = screen_reporter(&args.connect, View::Plan);
    let mut tee = Tee::new(screen.as_mut(), files.as_mut());
    let detected = runtime.block_on(clearfleet_runner::run(
        config,
        Job::Detect {
            releases: input.releases.clone(),
            target: input.target,
            options: PlanOptions {
                allow_es_migration: args.allow_es_migration,
                discard_compose_changes: args.discard_compose_changes,
            },
        },
        "upgrade: detect".to_owned(),
        &mut tee,
    ));
    tee.finish().map_err(Error::Output)?;
    Ok((files, detected))
}

/// What the plan step decided.
#[derive(Default)]
struct Plans {
    /// The hosts left alone (unreachable, up to date, refused...), with why.
    left_alone: Vec<UpgradeRow>,
    /// The hosts to upgrade, in inventory order...
    hosts: Vec<String>,
    /// ... and their playbook variables.
    vars: HashMap<String, Map<String, Value>>,
    /// Secrets found in the hosts' configuration (kept out of every output).
    secrets: Vec<Secret>,
}

/// Step 3: per host, the playbook variables of its plan, or why it is left alone.
fn plan(input: &Input, detected: &RunSummary, now: SystemTime) -> Plans {
    let args = &input.args;
    let mut plans = Plans::default();
    for o in &detected.outcomes {
        let Some(d) = &o.detected else {
            let outcome = match o.status {
                HostStatus::Unreachable => UpgradeOutcome::Unreachable,
                _ => UpgradeOutcome::DetectionFailed {
                    error: o.error.clone().unwrap_or_default(),
                },
            };
            plans.left_alone.push(UpgradeRow::new(&o.host, outcome));
            continue;
        };
        let root = d.state.root.clone().unwrap_or_default();
        let backup = args.backup_dir.clone().map_or_else(
            || default_backup_dir(&root, now),
            |b| format!("{}/{}", b.trim_end_matches('/'), o.host),
        );
        let skip = match host_vars(&d.state, &d.plan, &input.releases, &input.source, &backup) {
            Ok((mut vars, found)) => {
                plans.secrets.extend(found);
                // Poll every 5 s (1 s for short waits) until `--wait` is used up.
                let delay = if args.wait >= 60 { 5 } else { 1 };
                vars.insert("clearml_wait_delay".into(), Value::from(delay));
                vars.insert(
                    "clearml_wait_retries".into(),
                    Value::from((args.wait / delay).max(1)),
                );
                // The directory the user named holds every host's backup: the preflight
                // refuses it when others may open it.
                if let Some(dir) = &args.backup_dir {
                    vars.insert("clearml_backup_parent".into(), Value::from(dir.clone()));
                }
                plans.hosts.push(o.host.clone());
                plans.vars.insert(o.host.clone(), vars);
                continue;
            }
            Err(skip) => skip,
        };
        let outcome = match skip {
            Skip::UpToDate(version) => UpgradeOutcome::UpToDate { version },
            Skip::NewerThanKnown(version) => UpgradeOutcome::NewerThanKnown { version },
            Skip::NoServer => UpgradeOutcome::NoServer,
            Skip::Refused(reason) => UpgradeOutcome::Refused { reason },
        };
        plans.left_alone.push(UpgradeRow::new(&o.host, outcome));
    }
    plans
}

/// Step 4: the playbook on the hosts to upgrade (in batches if `--serial` says so), each with
/// its variables; `--check` runs only the preflight, whose checks are read-only and run for
/// real. Returns the run and how far each host's backup got.
fn upgrade(
    runtime: tokio::runtime::Runtime,
    args: &UpgradeArgs,
    playbook: LoadedPlaybook,
    playbook_dir: PathBuf,
    inventory: Inventory,
    plans: &Plans,
    mut files: Option<&mut FilesReporter>,
) -> Result<(RunSummary, HashMap<String, BackupProgress>), Error> {
    let mut config = crate::config::for_hosts(
        &args.connect,
        &inventory,
        plans.hosts.clone(),
        args.output.max_output,
    )?;
    if let Some(f) = files.as_deref_mut() {
        f.redact_also(plans.secrets.iter().cloned());
    }
    config.redactor = config.redactor.with(plans.secrets.iter().cloned());
    crate::logging::add_secrets(&config.redactor);
    config.warnings.clear();
    let options = PlaybookOptions {
        limit: Some(plans.hosts.join(",")),
        host_vars: plans.vars.clone(),
        check: args.check,
        tags: if args.check {
            vec!["preflight".to_owned()]
        } else {
            Vec::new()
        },
        ..PlaybookOptions::default()
    };
    let run = PlaybookRun {
        playbook,
        inventory,
        config,
        options,
        playbook_dir,
    };
    let mut watch = BackupWatch::default();
    let summary = run_playbook(runtime, run, &args.connect, files, Some(&mut watch))?;
    Ok((summary, watch.hosts))
}

/// Step 5: what the playbook did to each host it ran on.
fn collect(
    summary: &RunSummary,
    backups: &HashMap<String, BackupProgress>,
    plans: &Plans,
    check: bool,
    target: Version,
) -> Vec<UpgradeRow> {
    summary
        .outcomes
        .iter()
        .map(|o| {
            let vars = plans.vars.get(&o.host);
            let var = |name: &str| vars.and_then(|v| v.get(name));
            // A resumed upgrade carries on from the verified backup its marker names.
            let resumed = var("clearml_resume").is_some();
            let outcome = outcome(o, vars, backups.get(&o.host).copied(), check, target);
            let backup = var("clearml_backup_dir")
                .and_then(Value::as_str)
                .filter(|_| resumed || outcome.backup_exists())
                .map(str::to_owned);
            UpgradeRow {
                host: o.host.clone(),
                outcome,
                backup,
            }
        })
        .collect()
}

/// What the playbook did to one host, from its result, its variables (`vars`) and how far its
/// backup got (`backup`, from the task events).
fn outcome(
    o: &HostOutcome,
    vars: Option<&Map<String, Value>>,
    backup: Option<BackupProgress>,
    check: bool,
    target: Version,
) -> UpgradeOutcome {
    let var = |name: &str| vars.and_then(|v| v.get(name));
    let resumed = var("clearml_resume").is_some();
    let from = || {
        var("clearml_from")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let hops = var("clearml_hops").and_then(Value::as_array);
    let attempted = o
        .recap
        .is_some_and(|r| r.ok + r.failed + r.unreachable + r.skipped > 0);
    match o.status {
        HostStatus::Interrupted => UpgradeOutcome::Interrupted {
            step: o.error.clone().unwrap_or_else(|| "interrupted".to_owned()),
            backup: backup.unwrap_or(if resumed {
                BackupProgress::Verified
            } else {
                BackupProgress::NotStarted
            }),
        },
        HostStatus::Ok if !attempted => UpgradeOutcome::NotAttempted,
        HostStatus::Ok if check => match var("clearml_recover_reason").and_then(Value::as_str) {
            Some(reason) => UpgradeOutcome::WouldRollBack {
                from: from(),
                reason: reason.to_owned(),
            },
            None => UpgradeOutcome::WouldUpgrade {
                from: from(),
                hops: hops
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.get("version")?.as_str().map(str::to_owned))
                    .collect(),
            },
        },
        HostStatus::Ok => {
            let to = hops
                .and_then(|h| h.last()?.get("version")?.as_str())
                .map_or_else(|| target.to_string(), str::to_owned);
            let hops = hops.map_or(0, Vec::len);
            let v1 = var("clearml_compose")
                .and_then(Value::as_str)
                .is_some_and(|c| c.ends_with("docker-compose"));
            UpgradeOutcome::Upgraded {
                from: from(),
                to,
                resumed,
                compose_v1_recreations: if v1 && hops > 1 { hops - 1 } else { 0 },
            }
        }
        HostStatus::Unreachable => UpgradeOutcome::UnreachableDuringUpgrade,
        HostStatus::Failed | HostStatus::Refused => failure(o),
    }
}

/// A failed host: what its last failure says (the rollback's own report, if it ran).
fn failure(o: &HostOutcome) -> UpgradeOutcome {
    let Some((task, _, msg)) = o.failures.last() else {
        return UpgradeOutcome::Failed;
    };
    let report = msg.clone();
    if msg.starts_with(ROLLED_BACK) {
        UpgradeOutcome::RolledBack { report }
    } else if msg.starts_with(RESTARTED) {
        UpgradeOutcome::Restarted { report }
    } else if msg.starts_with(ROLLBACK_FAILED) {
        UpgradeOutcome::RollbackFailed { report }
    } else if o.recap.is_some_and(|r| r.rescued > 0) {
        // The rollback itself failed: the host needs a person, now.
        UpgradeOutcome::RollbackTaskFailed {
            task: task.clone(),
            message: report,
            cause: o
                .failures
                .first()
                .map(|(t, _, m)| format!("{t}: {m}"))
                .unwrap_or_default(),
        }
    } else {
        UpgradeOutcome::NotChanged {
            task: task.clone(),
            message: report,
        }
    }
}

/// Step 6: the closing table (or JSON Lines) in inventory order, the report directory, and
/// the exit code.
fn report(
    mut rows: Vec<UpgradeRow>,
    detected: &RunSummary,
    interrupted: bool,
    mut files: Option<&mut FilesReporter>,
    args: &UpgradeArgs,
    target: Version,
) -> Result<u8, Error> {
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
    let code = clearfleet_events::exit::code(interrupted, |s| rows.iter().any(|r| r.status() == s));
    if let Some(f) = files.as_deref_mut() {
        f.set_upgrade(&rows, &target.to_string());
    }
    write_report(files, code, args.connect.quiet)?;
    Ok(code)
}

/// Runs `clearfleet upgrade`.
pub fn run(args: &UpgradeArgs) -> Result<u8, Error> {
    let input = load_and_check(args)?;
    let runtime = super::shared::runtime()?;
    let (mut files, detected) = detect(&runtime, &input)?;
    if detected.was_interrupted {
        write_report(
            files.as_mut(),
            detected.exit_code(),
            input.args.connect.quiet,
        )?;
        return Ok(detected.exit_code());
    }
    let mut plans = plan(&input, &detected, SystemTime::now());
    let Input {
        args,
        target,
        playbook,
        playbook_dir,
        inventory,
        ..
    } = input;
    let mut rows = std::mem::take(&mut plans.left_alone);
    let mut interrupted = false;
    if plans.hosts.is_empty() {
        runtime.shutdown_background();
    } else {
        let (summary, backups) = upgrade(
            runtime,
            &args,
            playbook,
            playbook_dir,
            inventory,
            &plans,
            files.as_mut(),
        )?;
        interrupted = summary.was_interrupted;
        rows.extend(collect(&summary, &backups, &plans, args.check, target));
    }
    report(rows, &detected, interrupted, files.as_mut(), &args, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_events::Recap;

    fn host(
        name: &str,
        status: HostStatus,
        recap: Recap,
        failures: &[(&str, &str)],
    ) -> HostOutcome {
        HostOutcome {
            recap: Some(recap),
            failures: failures
                .iter()
                .map(|(t, m)| {
                    (
                        (*t).to_owned(),
                        "rollback.yml:1:1".to_owned(),
                        (*m).to_owned(),
                    )
                })
                .collect(),
            ..HostOutcome::new(name, status)
        }
    }

    /// The variables `plan` gives a host upgraded from 1.12.1 over `hops`.
    fn vars(name: &str, hops: &[&str], extra: Value) -> Map<String, Value> {
        let mut v = serde_json::json!({
            "clearml_from": "1.12.1",
            "clearml_hops": hops.iter().map(|h| serde_json::json!({"version": h})).collect::<Vec<_>>(),
            "clearml_compose": "docker compose",
            "clearml_backup_dir": format!("/b/{name}"),
        });
        if let (Some(m), Value::Object(more)) = (v.as_object_mut(), extra) {
            m.extend(more);
        }
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Each row as the table says it: status, result, backup line.
    fn said(rows: &[UpgradeRow]) -> Vec<(HostStatus, String, Option<String>)> {
        rows.iter()
            .map(|r| {
                (
                    r.status(),
                    r.result(),
                    r.backup_state().or(r.backup.clone()),
                )
            })
            .collect()
    }

    #[test]
    fn the_playbook_results_become_outcomes() {
        use serde_json::json;
        let ran = |ok, failed, rescued, unreachable| Recap {
            ok,
            failed,
            rescued,
            unreachable,
            ..Recap::default()
        };
        let two = ["2.0.0", "2.3.0"];
        let mut plans = Plans::default();
        let mut add = |name: &str, v: Map<String, Value>| {
            plans.hosts.push(name.to_owned());
            plans.vars.insert(name.to_owned(), v);
        };
        add(
            "v1",
            vars(
                "v1",
                &two,
                json!({"clearml_compose": "/usr/bin/docker-compose"}),
            ),
        );
        add(
            "resumed",
            vars(
                "resumed",
                &["2.3.0"],
                json!({"clearml_resume": true, "clearml_from": "2.0.0"}),
            ),
        );
        add("idle", vars("idle", &two, json!({})));
        add("rb", vars("rb", &two, json!({})));
        add("rs", vars("rs", &two, json!({})));
        add("rbf", vars("rbf", &two, json!({})));
        add("pre", vars("pre", &two, json!({})));
        add("lost", vars("lost", &two, json!({})));
        add("int", vars("int", &two, json!({})));
        add("int0", vars("int0", &two, json!({})));
        let mut int = host("int", HostStatus::Interrupted, ran(4, 0, 0, 0), &[]);
        int.error = Some("cancelled during `Verify the backup`".to_owned());
        let summary = RunSummary {
            outcomes: vec![
                host("v1", HostStatus::Ok, ran(9, 0, 0, 0), &[]),
                host("resumed", HostStatus::Ok, ran(9, 0, 0, 0), &[]),
                host("idle", HostStatus::Ok, Recap::default(), &[]),
                host(
                    "rb",
                    HostStatus::Failed,
                    ran(5, 1, 1, 0),
                    &[
                        ("Start 2.0.0", "boom"),
                        ("Report the rollback", "rolled back to 1.12.1: boom"),
                    ],
                ),
                host(
                    "rs",
                    HostStatus::Failed,
                    ran(5, 1, 1, 0),
                    &[(
                        "Report the rollback",
                        "restarted 1.12.1 (data untouched, no verified backup): boom",
                    )],
                ),
                host(
                    "rbf",
                    HostStatus::Failed,
                    ran(5, 1, 1, 0),
                    &[("Start 2.0.0", "boom"), ("Restore", "disk full")],
                ),
                host(
                    "pre",
                    HostStatus::Failed,
                    ran(2, 1, 0, 0),
                    &[("Preflight", "port 8008 busy")],
                ),
                host("lost", HostStatus::Unreachable, ran(2, 0, 0, 1), &[]),
                int,
                host("int0", HostStatus::Interrupted, Recap::default(), &[]),
            ],
            ..RunSummary::default()
        };
        let backups = HashMap::from([("int".to_owned(), BackupProgress::Taken)]);
        let target: Version = "2.3.0".parse().unwrap_or_else(|e| panic!("{e}"));
        let rows = collect(&summary, &backups, &plans, false, target);
        let s = |x: &str| x.to_owned();
        let b = |x: &str| Some(x.to_owned());
        use HostStatus::*;
        assert_eq!(
            said(&rows),
            [
                (
                    Ok,
                    s(
                        "upgraded 1.12.1 → 2.3.0 (compose v1: all containers were removed and created again at each of the 1 hops after the first, data stores included)"
                    ),
                    b("/b/v1")
                ),
                (
                    Ok,
                    s("upgraded 2.0.0 → 2.3.0 (finished an interrupted upgrade)"),
                    b("/b/resumed")
                ),
                (
                    Failed,
                    s("not attempted: an earlier batch spent the failure budget"),
                    None
                ),
                (Failed, s("rolled back to 1.12.1: boom"), b("/b/rb")),
                (
                    Failed,
                    s("restarted 1.12.1 (data untouched, no verified backup): boom"),
                    None
                ),
                (
                    Failed,
                    s(
                        "ROLLBACK FAILED at Restore: disk full (after Start 2.0.0: boom); restore the backup by hand"
                    ),
                    b("/b/rbf")
                ),
                (Failed, s("not changed: Preflight: port 8008 busy"), None),
                (Unreachable, s("unreachable during the upgrade"), None),
                (
                    Interrupted,
                    s("interrupted: cancelled during `Verify the backup`"),
                    b("taken at /b/int, not verified")
                ),
                (
                    Interrupted,
                    s("interrupted: interrupted"),
                    b("none: the server was not yet backed up")
                ),
            ]
        );
        assert_eq!(rows[8].backup.as_deref(), Some("/b/int"));
        assert_eq!(rows[9].backup, None);

        // `--check`: what would happen.
        plans.vars.insert(
            s("rb"),
            vars(
                "rb",
                &two,
                json!({"clearml_recover_reason": "interrupted in its hop step"}),
            ),
        );
        let checked = RunSummary {
            outcomes: ["v1", "rb"]
                .map(|h| host(h, Ok, ran(3, 0, 0, 0), &[]))
                .into(),
            ..RunSummary::default()
        };
        assert_eq!(
            said(&collect(&checked, &HashMap::new(), &plans, true, target)),
            [
                (
                    Ok,
                    s(
                        "would upgrade 1.12.1 → 2.0.0 → 2.3.0 (preflight passed; check: nothing changed)"
                    ),
                    None
                ),
                (
                    Ok,
                    s(
                        "would roll back to 1.12.1: interrupted in its hop step (check: nothing changed)"
                    ),
                    None
                ),
            ]
        );
    }

    #[test]
    fn serial_reads_numbers_and_percentages() {
        assert!(matches!(parse_serial("3"), Ok(Serial::Number(3))));
        assert!(matches!(parse_serial(" 25% "), Ok(Serial::Percent(25))));
        assert!(parse_serial("x%").is_err());
    }
}

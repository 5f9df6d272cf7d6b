//! The upgrade report's `index.html` at 500 hosts in headless Chromium: a simulated fleet's
//! event stream (the built-in playbook's real task names and locations, read from its files;
//! varied versions, every status label, durations) through the real files reporter, then the
//! page rendered and its DOM checked. No SSH and no Docker: the page is what is tested.
//! `CLEARFLEET_REPORT_PAGE_DIR=DIR` keeps the report in DIR (scripts/screenshots uses it).

use std::path::Path;
use std::time::Duration;

use clearfleet_base::secret::{Redactor, Secret};
use clearfleet_clearml::containers::Family;
use clearfleet_clearml::plan::{Migration, Plan};
use clearfleet_clearml::playbook_vars::PLAYBOOK_FILES;
use clearfleet_clearml::{Detected, HostState, Version};
use clearfleet_events::{
    BackupProgress, Event, EventKind, HostOutcome, HostStatus, Recap, Reporter, RunSummary,
    TaskResult, TaskStatus, UpgradeOutcome,
};
use clearfleet_report::files::{FilesReporter, RunKind};
use clearfleet_report::upgrade_table::UpgradeRow;

use crate::support::report::chromium_dom;

const TARGET: &str = "2.3.0";
/// In a failed task's output: the page must show it masked.
const SECRET: &str = "cf-page-secret-71f";
/// When the playbook run starts (the detection takes this long).
const DETECT_MS: u64 = 3_000;

/// A task of the built-in playbook: its name (templates as written) and `file:line:col`.
#[derive(Clone)]
struct Task {
    name: String,
    location: String,
}

/// The tasks of one shipped file that report a result: every `- name:` item but block headers.
fn tasks_of(file: &str) -> Vec<Task> {
    let text = PLAYBOOK_FILES
        .iter()
        .find(|(f, _)| *f == file)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("{file} is not shipped"));
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(dash) = line.find("- name: ") else {
            continue;
        };
        if !line[..dash].trim().is_empty() {
            continue;
        }
        let body = dash + 2;
        let block = lines[i + 1..]
            .iter()
            .take_while(|l| {
                let indent = l.len() - l.trim_start().len();
                l.trim().is_empty() || indent >= body
            })
            .any(|l| {
                l.len() - l.trim_start().len() == body && l.trim_start().starts_with("block:")
            });
        if block {
            continue;
        }
        out.push(Task {
            name: line[body + 6..].trim().trim_matches('"').to_owned(),
            location: format!("{file}:{}:{}", i + 1, body + 1),
        });
    }
    out
}

/// A task name with its templates filled as the run would.
fn render(name: &str, hop: &str) -> String {
    name.replace("{{ hop.version }}", hop)
        .replace(
            "{{ hop.server_image }}",
            &format!("allegroai/clearml:{hop}"),
        )
        .replace("{{ hop.mongo_fcv }}", "6.0")
        .replace("{{ step.image }}", "mongo:4.2.24")
        .replace("{{ step.fcv }}", "4.2")
        .replace("{{ clearml_root }}", "/opt/clearml")
        .replace("{{ clearml_new_root }}", "/opt/clearml")
        .replace("{{ clearml_set_fcv | default('') }}", "5.0")
        .replace(
            "{{ clearml_min_max_map_count | default(524288) }}",
            "524288",
        )
}

/// What happens to a simulated host.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    Upgraded,
    UpToDate,
    Refused,
    RolledBack,
    RollbackFailed,
    NotChanged,
    Unreachable,
    Interrupted,
    NotAttempted,
}

fn fate(i: usize) -> Fate {
    match i % 100 {
        0 | 1 => Fate::RollbackFailed,
        2..=5 => Fate::RolledBack,
        6 | 7 => Fate::NotChanged,
        8 | 9 => Fate::Unreachable,
        10 => Fate::Interrupted,
        11 => Fate::NotAttempted,
        12..=14 => Fate::Refused,
        15..=29 => Fate::UpToDate,
        _ => Fate::Upgraded,
    }
}

fn version(s: &str) -> Version {
    s.parse().unwrap_or_else(|e| panic!("version {s}: {e:?}"))
}

/// A stable spread of 0.6 to 1.6 from two numbers.
fn jitter(a: usize, b: usize) -> f64 {
    let x = (a as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64 + 7).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    0.6 + (x >> 11) as f64 / (1u64 << 53) as f64
}

/// How long a task takes, by what it does.
fn base_ms(name: &str) -> u64 {
    let n = name.to_ascii_lowercase();
    if n.starts_with("pull ") {
        40_000
    } else if n.starts_with("back up") {
        30_000
    } else if n.starts_with("start ") || n.starts_with("wait for") {
        15_000
    } else if n.starts_with("stop ") || n.starts_with("remove the previous") {
        6_000
    } else if n.starts_with("the server reports") || n.contains("answers") {
        800
    } else {
        150
    }
}

/// Feeds one host's playbook results; returns its outcome and whether it has a backup.
struct Host {
    name: String,
    i: usize,
    at: u64,
    seq: usize,
    recap: Recap,
}

impl Host {
    fn result(
        &mut self,
        f: &mut FilesReporter,
        task: &Task,
        hop: &str,
        status: TaskStatus,
        msg: Option<&str>,
    ) {
        let name = render(&task.name, hop);
        let dur = if status == TaskStatus::Skipped || task.name == "Hop" {
            0
        } else {
            (base_ms(&name) as f64 * jitter(self.i, self.seq)) as u64
        };
        self.seq += 1;
        self.at += dur + 20;
        match status {
            TaskStatus::Ok => self.recap.ok += 1,
            TaskStatus::Changed => self.recap.changed += 1,
            TaskStatus::Skipped => self.recap.skipped += 1,
            TaskStatus::Failed => self.recap.failed += 1,
            TaskStatus::Unreachable => self.recap.unreachable += 1,
            TaskStatus::Ignored | TaskStatus::UnreachableIgnored => self.recap.ignored += 1,
        }
        let failed = status == TaskStatus::Failed;
        f.report(&event(
            self.at,
            EventKind::TaskResult(Box::new(TaskResult {
                host: self.name.clone(),
                delegated_to: None,
                task: name,
                location: task.location.clone(),
                status,
                item: None,
                msg: msg.map(str::to_owned),
                rc: failed.then_some(1),
                stdout: String::new(),
                stderr: if failed {
                    format!("curl: (7) Failed to connect to localhost port 8008\ntoken={SECRET}\n")
                } else {
                    String::new()
                },
                diff: None,
                duration: Duration::from_millis(dur),
            })),
        ));
    }

    /// Every task of `file` in order, `skip` ones skipped, up to `stop` (excluded) if given.
    fn run_file(
        &mut self,
        f: &mut FilesReporter,
        file: &str,
        hop: &str,
        skip: &dyn Fn(&str) -> bool,
        stop: Option<&str>,
    ) -> bool {
        for t in tasks_of(file) {
            if stop.is_some_and(|s| render(&t.name, hop) == s) {
                return false;
            }
            let status = if skip(&t.name) {
                TaskStatus::Skipped
            } else if t.name.starts_with("Mark ")
                || t.name.starts_with("Start ")
                || t.name.starts_with("Stop ")
                || t.name.starts_with("Put ")
                || t.name.starts_with("Back up")
            {
                TaskStatus::Changed
            } else {
                TaskStatus::Ok
            };
            self.result(f, &t, hop, status, None);
        }
        true
    }
}

fn event(ms: u64, kind: EventKind) -> Event {
    Event {
        elapsed: Duration::from_millis(ms),
        kind,
    }
}

fn hops_from(before: &str) -> Vec<&'static str> {
    match before {
        "2.0.0" => vec!["2.3.0"],
        _ => vec!["1.17.1", "2.0.0", "2.3.0"],
    }
}

/// The version a host runs before, by its number.
fn before(i: usize, fate: Fate) -> &'static str {
    match fate {
        Fate::Refused => "0.15.1",
        Fate::UpToDate => TARGET,
        _ => ["1.12.1", "1.16.2", "2.0.0"][(i / 7) % 3],
    }
}

fn detected(v: &str, fate: Fate) -> Detected {
    let state = HostState {
        os: Some("linux".into()),
        arch: Some("x86_64".into()),
        kind: Some(if fate == Fate::Refused {
            Family::Trains
        } else {
            Family::Clearml
        }),
        root: Some(
            if fate == Fate::Refused {
                "/opt/trains"
            } else {
                "/opt/clearml"
            }
            .into(),
        ),
        running: true,
        version: Some(version(v)),
        ..HostState::default()
    };
    let plan = match fate {
        Fate::UpToDate => Plan::UpToDate {
            version: version(v),
        },
        Fate::Refused => Plan::Refused {
            reason: "Host runs Trains Server ≤0.15 (Elasticsearch 5 data at /opt/trains/data/elastic): the Elasticsearch 5→7 data migration is required first".into(),
        },
        _ => Plan::Upgrade {
            migrations: if v == "1.12.1" {
                vec![Migration::SetFcv {
                    version: "5.0".into(),
                }]
            } else {
                Vec::new()
            },
            hops: hops_from(v).into_iter().map(version).collect(),
        },
    };
    Detected::new(state, plan)
}

/// A 500-host upgrade report, written into `dir` through the real files reporter.
fn write_report(dir: &Path, hosts: usize) {
    let names: Vec<String> = (1..=hosts).map(|i| format!("clearml-{i:03}")).collect();
    let mut f = FilesReporter::new(
        dir.to_path_buf(),
        "upgrade",
        &[
            "clearfleet".into(),
            "upgrade".into(),
            "-i".into(),
            "fleet.yml".into(),
        ],
        RunKind::Upgrade,
        Redactor::new([Secret::new(SECRET)]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Detection.
    f.report(&event(
        0,
        EventKind::RunStarted {
            command: "upgrade: detect".into(),
            hosts: names.clone(),
            forks: 50,
        },
    ));
    let mut detect_outcomes = Vec::new();
    for (i, h) in names.iter().enumerate() {
        let fate = fate(i);
        let start = (i % 50) as u64 * 30;
        f.report(&event(start, EventKind::HostStarted { host: h.clone() }));
        let took = (1_500.0 * jitter(i, 999)) as u64;
        let mut o = if fate == Fate::Unreachable {
            let mut o = HostOutcome::new(h.as_str(), HostStatus::Unreachable);
            o.error = Some("connection refused by 10.0.3.9:22 (after 3 attempts)".into());
            o
        } else {
            let mut o = HostOutcome::new(h.as_str(), HostStatus::Ok);
            o.detected = Some(Box::new(detected(before(i, fate), fate)));
            o
        };
        o.duration = Duration::from_millis(took);
        f.report(&event(start + took, EventKind::HostFinished(o.clone())));
        detect_outcomes.push(o);
    }
    f.report(&event(
        DETECT_MS - 100,
        EventKind::RunFinished(RunSummary {
            outcomes: detect_outcomes,
            ..Default::default()
        }),
    ));

    // The playbook, on the hosts with hops to take.
    let playing: Vec<usize> = (0..hosts)
        .filter(|&i| {
            !matches!(
                fate(i),
                Fate::UpToDate | Fate::Refused | Fate::Unreachable | Fate::NotAttempted
            )
        })
        .collect();
    f.report(&event(
        DETECT_MS,
        EventKind::PlayStarted {
            name: "Upgrade ClearML servers".into(),
            hosts: playing.iter().map(|&i| names[i].clone()).collect(),
        },
    ));
    let main = tasks_of("clearml-upgrade.yml");
    let hop_include = main
        .iter()
        .find(|t| t.name == "Hop")
        .cloned()
        .unwrap_or_else(|| panic!("no Hop include"));
    let mut rows = Vec::new();
    let mut finished = Vec::new();
    for &i in &playing {
        let fate = fate(i);
        let from = before(i, fate);
        let hops = hops_from(from);
        let mut h = Host {
            name: names[i].clone(),
            i,
            at: DETECT_MS + (i % 50) as u64 * 40,
            seq: 0,
            recap: Recap::default(),
        };
        let es = |n: &str| {
            n.starts_with("Find python")
                || n.contains("Elasticsearch")
                || n.contains("migration kit")
                || n.contains("MongoDB 3.6")
                || n.contains("MongoDB 4.4")
        };
        let mut outcome = None;
        let mut backup = None;
        let mut status = HostStatus::Ok;
        if fate == Fate::NotChanged {
            let stop = "Enough memory for ClearML Server (8 GB)";
            h.run_file(&mut f, "clearml/preflight.yml", "", &es, Some(stop));
            let t = tasks_of("clearml/preflight.yml")
                .into_iter()
                .find(|t| t.name == stop)
                .unwrap_or_else(|| panic!("no {stop}"));
            let msg = "ClearML Server needs 8 GB of memory; this host has 3.8 GB";
            h.result(&mut f, &t, "", TaskStatus::Failed, Some(msg));
            outcome = Some(UpgradeOutcome::NotChanged {
                task: stop.into(),
                message: msg.into(),
            });
            status = HostStatus::Failed;
        } else {
            let skip_include = |n: &str| es(n) || n == "Prepare and pull every hop";
            h.run_file(&mut f, "clearml/preflight.yml", "", &skip_include, None);
            let include = tasks_of("clearml/preflight.yml")
                .into_iter()
                .find(|t| t.name == "Prepare and pull every hop")
                .unwrap_or_else(|| panic!("no include"));
            for hop in &hops {
                h.result(&mut f, &include, hop, TaskStatus::Ok, None);
                h.run_file(
                    &mut f,
                    "clearml/prepare_hop.yml",
                    hop,
                    &|n| n == "Fetch the {{ hop.version }} compose file",
                    None,
                );
            }
            h.run_file(&mut f, "clearml/backup.yml", "", &|_| false, None);
            backup = Some(format!(
                "/var/backups/clearml/clearml-upgrade-20261206T052000Z-{}",
                names[i]
            ));
            let fcv = from == "1.12.1";
            h.run_file(
                &mut f,
                "clearml/migrate.yml",
                "",
                &|n| {
                    !(fcv
                        && (n.starts_with("Start MongoDB alone")
                            || n.starts_with("Set the MongoDB")
                            || n.starts_with("Stop MongoDB again")))
                },
                None,
            );
            // The failing hop: the last for a rollback, the second for an interrupted host.
            let failing = match fate {
                Fate::RolledBack | Fate::RollbackFailed => Some(hops.len() - 1),
                Fate::Interrupted => Some(hops.len().min(2) - 1),
                _ => None,
            };
            for (k, hop) in hops.iter().enumerate() {
                h.result(&mut f, &hop_include, hop, TaskStatus::Ok, None);
                let stop = if failing == Some(k) {
                    Some(if fate == Fate::Interrupted {
                        format!("Start {hop}")
                    } else {
                        format!("The server reports {hop}")
                    })
                } else {
                    None
                };
                let v2 = |n: &str| {
                    n.starts_with("Remove the previous hop")
                        || n.starts_with("The web server reports")
                };
                let done = h.run_file(&mut f, "clearml/hop.yml", hop, &v2, stop.as_deref());
                if done {
                    continue;
                }
                if fate == Fate::Interrupted {
                    outcome = Some(UpgradeOutcome::Interrupted {
                        step: format!("Start {hop}"),
                        backup: BackupProgress::Verified,
                    });
                    status = HostStatus::Interrupted;
                    break;
                }
                let t = tasks_of("clearml/hop.yml")
                    .into_iter()
                    .find(|t| t.name == "The server reports {{ hop.version }}")
                    .unwrap_or_else(|| panic!("no check task"));
                let why = format!("Status code was 502 and not [200]: the server reports {hop}");
                h.result(&mut f, &t, hop, TaskStatus::Failed, Some(&why));
                // The rescue: the rollback.
                let broken = fate == Fate::RollbackFailed;
                let stop = broken.then_some("The previous version answers");
                h.run_file(
                    &mut f,
                    "clearml/rollback.yml",
                    "",
                    &|n| n == "Report the failed rollback" || n == "Report the rollback",
                    stop,
                );
                let all = tasks_of("clearml/rollback.yml");
                let find = |n: &str| {
                    all.iter()
                        .find(|t| t.name == n)
                        .cloned()
                        .unwrap_or_else(|| panic!("no {n}"))
                };
                if broken {
                    let msg = format!(
                        "ROLLBACK FAILED at The previous version answers: curl: (7) (after The server reports {hop}: {why}); restore the backup by hand"
                    );
                    h.result(
                        &mut f,
                        &find("The previous version answers"),
                        "",
                        TaskStatus::Failed,
                        Some("Status code was -1"),
                    );
                    h.result(
                        &mut f,
                        &find("Report the failed rollback"),
                        "",
                        TaskStatus::Failed,
                        Some(&msg),
                    );
                    outcome = Some(UpgradeOutcome::RollbackFailed { report: msg });
                } else {
                    let msg = format!("rolled back to {from}: The server reports {hop}: {why}");
                    h.result(
                        &mut f,
                        &find("Report the rollback"),
                        "",
                        TaskStatus::Failed,
                        Some(&msg),
                    );
                    outcome = Some(UpgradeOutcome::RolledBack { report: msg });
                }
                status = HostStatus::Failed;
                break;
            }
            if outcome.is_none() {
                h.run_file(&mut f, "clearml/postcheck.yml", "", &|_| false, None);
            }
        }
        let outcome = outcome.unwrap_or_else(|| UpgradeOutcome::Upgraded {
            from: from.into(),
            to: TARGET.into(),
            resumed: false,
            compose_v1_recreations: 0,
        });
        let mut o = HostOutcome::new(names[i].as_str(), status);
        o.recap = Some(h.recap);
        if status == HostStatus::Interrupted {
            o.error = Some(format!(
                "cancelled during `Start {}`",
                hops[hops.len().min(2) - 1]
            ));
        }
        finished.push((h.at, o));
        let mut row = UpgradeRow::new(&names[i], outcome);
        row.backup = backup;
        rows.push(row);
    }
    let end = finished
        .iter()
        .map(|(at, _)| *at)
        .max()
        .unwrap_or(DETECT_MS)
        + 50;
    for (_, o) in &finished {
        f.report(&event(end, EventKind::HostFinished(o.clone())));
    }
    f.report(&event(
        end,
        EventKind::RunFinished(RunSummary {
            outcomes: finished.iter().map(|(_, o)| o.clone()).collect(),
            ..Default::default()
        }),
    ));
    for (i, h) in names.iter().enumerate() {
        let outcome = match fate(i) {
            Fate::UpToDate => UpgradeOutcome::UpToDate {
                version: TARGET.into(),
            },
            Fate::Refused => UpgradeOutcome::Refused {
                reason: "Host runs Trains Server ≤0.15: the Elasticsearch 5→7 data migration is required first".into(),
            },
            Fate::Unreachable => UpgradeOutcome::Unreachable,
            Fate::NotAttempted => UpgradeOutcome::NotAttempted,
            _ => continue,
        };
        rows.push(UpgradeRow::new(h, outcome));
    }
    f.set_upgrade(&rows, TARGET);
    f.set_exit_code(2);
    f.finish().unwrap_or_else(|e| panic!("{e}"));
    f.write().unwrap_or_else(|e| panic!("{e}"));
}

fn attr(dom: &str, name: &str) -> Option<f64> {
    let key = format!("{name}=\"");
    let start = dom.find(&key)? + key.len();
    dom[start..].split('"').next()?.parse().ok()
}

#[test]
fn a_500_host_upgrade_page_renders_in_chromium() {
    const HOSTS: usize = 500;
    let tmp = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::var_os("CLEARFLEET_REPORT_PAGE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("report"));
    write_report(&dir, HOSTS);
    let page = dir.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("index.html at {HOSTS} hosts: {} bytes", html.len());
    for outside in ["<link", "<img", " src=", "url("] {
        assert!(
            !html.contains(outside),
            "{outside}: the page must be self-contained"
        );
    }
    assert!(!html.contains(SECRET), "a secret reached the page");
    assert!(
        html.contains("token=********"),
        "masked output of the failed step"
    );

    let Some((dom, log)) = chromium_dom(&page, "") else {
        return;
    };
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(dom.matches("<tr class=\"host\"").count(), HOSTS);
    assert!(
        dom.contains(&format!("data-hosts=\"{HOSTS}\"")),
        "the script counted"
    );
    // Every host has its section; only the ones that need a look are open.
    assert_eq!(dom.matches("<details id=\"host-").count(), HOSTS);
    let rows: Vec<&str> = dom.split("<tr class=\"host\"").skip(1).collect();
    let first = rows.first().copied().unwrap_or_default();
    let last = rows.last().copied().unwrap_or_default();
    assert!(
        first.contains("data-status=\"failed\""),
        "failures first: {first:.300}"
    );
    assert!(
        last.contains("data-status=\"ok\""),
        "ok hosts last: {last:.300}"
    );
    // Every segment kind of the built-in playbook is drawn somewhere, with its task names.
    for seg in [
        "p-detect",
        "p-preflight",
        "p-pull",
        "p-backup",
        "p-migrate",
        "p-hop",
        "p-checks",
        "p-rollback",
        "o-failed",
    ] {
        assert!(
            dom.contains(&format!("seg {seg}")) || dom.contains(seg),
            "{seg}"
        );
    }
    for label in [
        ">1.17.1</span>",
        ">2.0.0</span>",
        ">migrate set-fcv</span>",
        "✖ The server reports 2.3.0 (failed",
    ] {
        assert!(dom.contains(label), "{label} not drawn");
    }
    assert!(dom.contains("class=\"tick\""), "the axis has ticks");
    // A mark at each failing step: the hop of a rolled-back host and of a host whose rollback
    // failed (and that rollback's own failing step), the preflight of a host not changed, the
    // detection of an unreachable host.
    assert_eq!(
        dom.matches("<span class=\"failmark\"").count(),
        20 + 2 * 10 + 10 + 10
    );
    // Every status label, counted (per 100 hosts: see `fate`).
    for (label, n) in [
        ("rollback failed", 10),
        ("failed (rolled back)", 20),
        ("failed (not changed)", 10),
        ("unreachable", 10),
        ("interrupted", 5),
        ("not attempted", 5),
        ("refused", 15),
        ("up to date", 75),
        ("upgraded", 350),
    ] {
        let count = format!("<span class=\"count\" data-label=\"{label}\">{n} ");
        assert!(dom.contains(&count), "{count} not in the totals");
        assert_eq!(
            dom.matches(&format!(" {label}</td>")).count(),
            n,
            "rows labelled {label}"
        );
    }
    // The downtime under the rows of every host whose server stopped: upgraded, rolled back,
    // the rollback failed (still down), interrupted in a hop (still down).
    assert_eq!(
        dom.matches("<span class=\"down\"").count(),
        350 + 20 + 10 + 5
    );
    assert!(
        dom.contains("<p id=\"downtime\">downtime: "),
        "the total and worst downtime"
    );
    // Failed hosts' sections: the failed commands (masked) and the next step.
    assert!(dom.contains("<ul class=\"next\">"), "next steps");
    assert!(dom.contains("--rerun failed"), "the rerun line");
    // Counts by version before and after.
    let versions = dom
        .split("<p id=\"versions\">")
        .nth(1)
        .and_then(|s| s.split("</p>").next())
        .unwrap_or_else(|| panic!("no version counts"));
    for v in ["1.12.1 ×", "1.16.2 ×", "2.0.0 ×", "0.15.1 ×15", "2.3.0 ×"] {
        assert!(versions.contains(v), "{v} not in {versions}");
    }
    let script_ms = attr(&dom, "data-script-ms").unwrap_or_else(|| panic!("no data-script-ms"));
    let load_ms = attr(&dom, "data-load-ms").unwrap_or_else(|| panic!("no data-load-ms"));
    eprintln!("rendered: script done at {script_ms} ms, load event at {load_ms} ms");
}

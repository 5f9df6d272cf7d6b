//! The fleet at a glance: each host's steps grouped into the phases of the built-in upgrade
//! playbook (preflight, pull, backup, each migration, each hop, checks, rollback) by an explicit
//! table, and drawn as segments of one row on a time axis the whole fleet shares.

use super::junit::xml_escape as esc;
use super::{HostRecord, RunKind, Step};

/// A phase of a host's run: what one segment of its row stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// The upgrade's detection (its one command step).
    Detect,
    Preflight,
    /// Fetching, pinning and pulling every hop's compose file and images.
    Pull,
    /// Stopping the server, backing it up and verifying the backup.
    Backup,
    /// One data migration, by the name the plan gives it (`es7`, `mongo44`...).
    Migrate(&'static str),
    /// One hop, with its version once a task named it.
    Hop(Option<String>),
    /// The final checks.
    Checks,
    Rollback,
    /// Anything else: a play's or a command's steps (every run but `upgrade`), or a task of a
    /// `--playbook` of its own that the table does not know.
    Other(String),
}

impl Phase {
    /// The words on the segment.
    pub fn label(&self) -> String {
        match self {
            Phase::Detect => "detect".to_owned(),
            Phase::Preflight => "preflight".to_owned(),
            Phase::Pull => "pull".to_owned(),
            Phase::Backup => "backup".to_owned(),
            Phase::Migrate(m) => format!("migrate {m}"),
            Phase::Hop(Some(v)) => v.clone(),
            Phase::Hop(None) => "hop".to_owned(),
            Phase::Checks => "checks".to_owned(),
            Phase::Rollback => "rollback".to_owned(),
            Phase::Other(name) => name.clone(),
        }
    }

    /// The CSS class of its segments (their pattern).
    fn class(&self) -> &'static str {
        match self {
            Phase::Detect => "p-detect",
            Phase::Preflight => "p-preflight",
            Phase::Pull => "p-pull",
            Phase::Backup => "p-backup",
            Phase::Migrate(_) => "p-migrate",
            Phase::Hop(_) => "p-hop",
            Phase::Checks => "p-checks",
            Phase::Rollback => "p-rollback",
            Phase::Other(_) => "p-other",
        }
    }
}

/// What a table row maps a task to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Preflight,
    Pull,
    Backup,
    Migrate(&'static str),
    Hop,
    Checks,
    Rollback,
}

/// The built-in playbook's tasks by file (`playbooks/clearml/…`) and task name prefix (the part
/// before any template): the first row that matches decides; an empty prefix is the whole file.
/// The migrations carry the plan's names (`clearml_migrations`). A test reads every task of
/// the shipped files and checks that each has a row and each row a task.
const PHASES: &[(&str, &str, Kind)] = &[
    ("clearml-upgrade.yml", "Hop", Kind::Hop),
    ("preflight.yml", "Prepare and pull every hop", Kind::Pull),
    ("preflight.yml", "", Kind::Preflight),
    ("prepare_hop.yml", "", Kind::Pull),
    ("backup.yml", "", Kind::Backup),
    (
        "migrate.yml",
        "Migrate the Elasticsearch 5 data",
        Kind::Migrate("es7"),
    ),
    (
        "migrate.yml",
        "The Elasticsearch 7 data belongs",
        Kind::Migrate("es7"),
    ),
    (
        "migrate.yml",
        "Remove the stopped Trains containers",
        Kind::Migrate("rename-root"),
    ),
    ("migrate.yml", "Move ", Kind::Migrate("rename-root")),
    (
        "migrate.yml",
        "Copy the MongoDB 3.6 data",
        Kind::Migrate("mongo44"),
    ),
    (
        "migrate.yml",
        "Step the MongoDB feature compatibility",
        Kind::Migrate("mongo44"),
    ),
    ("mongo_step.yml", "", Kind::Migrate("mongo44")),
    (
        "migrate.yml",
        "Start MongoDB alone",
        Kind::Migrate("set-fcv"),
    ),
    (
        "migrate.yml",
        "Set the MongoDB feature compatibility version to",
        Kind::Migrate("set-fcv"),
    ),
    (
        "migrate.yml",
        "Stop MongoDB again",
        Kind::Migrate("set-fcv"),
    ),
    ("hop.yml", "", Kind::Hop),
    ("postcheck.yml", "", Kind::Checks),
    ("rollback.yml", "", Kind::Rollback),
];

/// The file name of a task location (`clearml/hop.yml:3:3`, `/tmp/x/clearml/hop.yml:3:3`).
fn location_file(location: &str) -> &str {
    let path = location.rsplitn(3, ':').last().unwrap_or(location);
    path.rsplit('/').next().unwrap_or(path)
}

fn kind_of(file: &str, task: &str) -> Option<Kind> {
    PHASES
        .iter()
        .find(|(f, prefix, _)| *f == file && task.starts_with(prefix))
        .map(|(_, _, k)| *k)
}

/// The version a hop task names (`Mark the 2.0.0 hop in progress`, `Start 2.0.0`, `The server
/// reports 2.0.0`).
fn hop_version(task: &str) -> Option<&str> {
    let v = task
        .strip_prefix("Mark the ")
        .and_then(|t| t.strip_suffix(" hop in progress"))
        .or_else(|| task.strip_prefix("Start "))
        .or_else(|| task.strip_prefix("The server reports "))?
        .trim();
    v.starts_with(|c: char| c.is_ascii_digit()).then_some(v)
}

/// The phase of one step of an `upgrade` report.
fn upgrade_phase(st: &Step) -> Phase {
    let Some(location) = &st.location else {
        return Phase::Detect;
    };
    match kind_of(location_file(location), &st.name) {
        Some(Kind::Preflight) => Phase::Preflight,
        Some(Kind::Pull) => Phase::Pull,
        Some(Kind::Backup) => Phase::Backup,
        Some(Kind::Migrate(m)) => Phase::Migrate(m),
        Some(Kind::Hop) => Phase::Hop(hop_version(&st.name).map(str::to_owned)),
        Some(Kind::Checks) => Phase::Checks,
        Some(Kind::Rollback) => Phase::Rollback,
        None => Phase::Other(st.play.clone().unwrap_or_else(|| st.name.clone())),
    }
}

/// The rollback's last task: it fails on purpose, to say the host was rolled back (its message
/// is the host's result), so it is not a failing step of its own.
const ROLLBACK_REPORT: &str = "Report the rollback";

/// A task status that marks a failure.
pub(crate) fn failed(status: &str) -> bool {
    matches!(status, "failed" | "unreachable")
}

/// Consecutive steps of one phase.
#[derive(Debug, Clone)]
pub(crate) struct Segment<'a> {
    pub phase: Phase,
    pub start_ms: u64,
    pub end_ms: u64,
    pub steps: Vec<&'a Step>,
}

impl Segment<'_> {
    /// The first step that failed in it.
    pub fn failing_step(&self) -> Option<&Step> {
        self.steps.iter().copied().find(|s| {
            failed(&s.status) && !(self.phase == Phase::Rollback && s.name == ROLLBACK_REPORT)
        })
    }
}

/// The host's steps as segments, in order. A hop starts a new segment at the playbook's `Hop`
/// include or when a task names another version than the segment's.
pub(crate) fn segments(h: &HostRecord, kind: RunKind) -> Vec<Segment<'_>> {
    let mut out: Vec<Segment> = Vec::new();
    for st in &h.steps {
        let phase = if kind == RunKind::Upgrade {
            upgrade_phase(st)
        } else {
            Phase::Other(st.play.clone().unwrap_or_else(|| st.name.clone()))
        };
        let end = st.start_ms.saturating_add(st.duration_ms);
        let hop_include = st.location.as_deref().map(location_file) == Some("clearml-upgrade.yml");
        let same = out.last_mut().filter(|last| match (&last.phase, &phase) {
            (Phase::Hop(_), Phase::Hop(_)) if hop_include => {
                last.steps.iter().all(|s| s.duration_ms == 0)
            }
            (Phase::Hop(Some(a)), Phase::Hop(Some(b))) => a == b,
            (Phase::Hop(_), Phase::Hop(_)) => true,
            (a, b) => a == b,
        });
        match same {
            Some(last) => {
                if let (Phase::Hop(None), Phase::Hop(Some(v))) = (&last.phase, &phase) {
                    last.phase = Phase::Hop(Some(v.clone()));
                }
                last.start_ms = last.start_ms.min(st.start_ms);
                last.end_ms = last.end_ms.max(end);
                last.steps.push(st);
            }
            None => out.push(Segment {
                phase,
                start_ms: st.start_ms,
                end_ms: end,
                steps: vec![st],
            }),
        }
    }
    out
}

/// The unit of an axis over `total_ms`: its divisor in ms and its name. One unit for all its
/// ticks (`0 · 1 min · 2 min`, not `50 s · 100 s · 2.5 min`).
fn unit(total_ms: u64) -> (u64, &'static str) {
    if total_ms < 2_000 {
        (1, "ms")
    } else if total_ms < 180_000 {
        (1_000, "s")
    } else {
        (60_000, "min")
    }
}

/// A round interval for `n` ticks or fewer over `total_ms`: 1, 2 or 5 times a power of ten
/// of the axis's unit, or for minutes also a quarter and a half of one, 15 and 30 of them.
fn tick_step(total_ms: u64, n: u64) -> u64 {
    let want = total_ms.div_ceil(n.max(1)).max(1);
    let (unit, _) = unit(total_ms);
    let mut candidates = Vec::new();
    if unit == 60_000 {
        candidates.extend([15_000, 30_000]);
    }
    let mut base = unit;
    while base < u64::MAX / 10 {
        for m in [1, 2, 5] {
            candidates.push(base * m);
        }
        if unit == 60_000 && base == 10 * unit {
            candidates.extend([15 * unit, 30 * unit]);
        }
        base *= 10;
    }
    candidates.sort_unstable();
    candidates
        .into_iter()
        .find(|&c| c >= want)
        .unwrap_or(u64::MAX)
}

/// A tick label in the axis's unit: `0`, `500 ms`, `20 s`, `1.5 min`.
fn tick_label(ms: u64, total_ms: u64) -> String {
    let (unit, name) = unit(total_ms);
    if ms == 0 {
        "0".to_owned()
    } else {
        format!("{} {name}", trim_float(ms as f64 / unit as f64))
    }
}

fn trim_float(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// A position on the axis, in percent of its width.
pub(crate) fn pct(ms: u64, total_ms: u64) -> f64 {
    (ms.min(total_ms) as f64 * 100.0 / total_ms.max(1) as f64 * 100.0).round() / 100.0
}

/// The axis of the header: round ticks over `total_ms`, each with its label.
pub(crate) fn axis(total_ms: u64) -> String {
    let step = tick_step(total_ms, 8);
    let mut s = String::from("<div class=\"axis\">");
    let mut t = 0;
    while t <= total_ms {
        // A label too close to the right end would be cut: its tick alone.
        let left = pct(t, total_ms);
        let text = if left > 96.0 {
            String::new()
        } else {
            tick_label(t, total_ms)
        };
        s.push_str(&format!(
            "<span class=\"tick\" style=\"left:{left}%\">{text}</span>"
        ));
        t = t.saturating_add(step);
        if step == u64::MAX {
            break;
        }
    }
    s.push_str("</div>");
    s
}

/// A duration as the other reports write it (`830ms`, `12.40s`, `5m18s`).
pub(crate) fn duration(ms: u64) -> String {
    crate::human_duration(std::time::Duration::from_millis(ms))
}

/// One host's track: its segments (a title listing the tasks; the failing one marked ✖ and
/// named), and the span its server was down, if known, under them.
pub(crate) fn track(
    h: &HostRecord,
    kind: RunKind,
    total_ms: u64,
    down: Option<(u64, u64)>,
) -> String {
    let mut s = String::from("<div class=\"track\">");
    if let Some((from, to)) = down {
        s.push_str(&format!(
            "<span class=\"down\" style=\"left:{}%;width:{}%\" title=\"server down {}\"></span>",
            pct(from, total_ms),
            (pct(to, total_ms) - pct(from, total_ms)).max(0.2),
            duration(to.saturating_sub(from))
        ));
    }
    for seg in segments(h, kind) {
        let shown: Vec<&&Step> = seg
            .steps
            .iter()
            .filter(|st| st.status != "skipping")
            .collect();
        if shown.is_empty() {
            continue;
        }
        let fail = seg.failing_step();
        let outcome = match fail {
            Some(f) if f.status == "unreachable" => "o-unreachable",
            Some(_) => "o-failed",
            None if seg.phase == Phase::Rollback => "o-rollback",
            None => "o-ok",
        };
        let mut title = format!(
            "{} · {}",
            seg.phase.label(),
            duration(seg.end_ms.saturating_sub(seg.start_ms))
        );
        for st in &shown {
            title.push_str(&if failed(&st.status) {
                format!(
                    "\n✖ {} ({}, {})",
                    st.name,
                    st.status,
                    duration(st.duration_ms)
                )
            } else {
                format!("\n{} · {}", st.name, duration(st.duration_ms))
            });
        }
        if let Some(f) = fail
            && let Some(m) = f.msg.as_deref().filter(|m| !m.trim().is_empty())
        {
            title.push_str(&format!("\n{m}"));
        }
        let left = pct(seg.start_ms, total_ms);
        let width = (pct(seg.end_ms, total_ms) - left).max(0.3);
        s.push_str(&format!(
            "<span class=\"seg {} {outcome}\" style=\"left:{left}%;width:{width}%\" title=\"{}\">{}{}</span>",
            seg.phase.class(),
            esc(&title),
            if fail.is_some() { "✖ " } else { "" },
            esc(&seg.phase.label()),
        ));
        // The failing step itself: a mark across the row where it ended.
        if let Some(f) = fail {
            s.push_str(&format!(
                "<span class=\"failmark\" style=\"left:{}%\" title=\"✖ {}\"></span>",
                pct(f.start_ms.saturating_add(f.duration_ms), total_ms),
                esc(&f.name)
            ));
        }
    }
    s.push_str("</div>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_clearml::playbook_vars::PLAYBOOK_FILES;

    /// Every task name of a shipped task file, templates replaced by `X`, with whether it is
    /// an include (`include_tasks`: it has a result of its own).
    fn tasks(text: &str) -> Vec<(String, bool)> {
        let name = regex::Regex::new(r"^\s*- name: (.*)$").unwrap_or_else(|e| panic!("{e}"));
        let tmpl = regex::Regex::new(r"\{\{[^}]*\}\}").unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if let Some(c) = name.captures(line) {
                let n = c[1].trim().trim_matches('"').to_owned();
                let include = lines
                    .get(i + 1)
                    .is_some_and(|l| l.trim_start().starts_with("include_tasks:"));
                let import_or_block = lines.get(i + 1).is_some_and(|l| {
                    let l = l.trim_start();
                    l.starts_with("import_tasks:") || l.starts_with("when:")
                });
                if include || !import_or_block {
                    out.push((tmpl.replace_all(&n, "X").into_owned(), include));
                }
            }
        }
        out
    }

    #[test]
    fn every_task_of_the_built_in_playbook_has_a_phase_and_every_row_a_task() {
        let mut used = vec![false; PHASES.len()];
        let mut seen = 0;
        for (path, text) in PLAYBOOK_FILES {
            if !path.ends_with(".yml") || path.ends_with("releases.yml") {
                continue;
            }
            let file = location_file(path);
            for (task, include) in tasks(text) {
                // The main file's tasks are imports and blocks (no result), but for the hop loop.
                if file == "clearml-upgrade.yml" && !include {
                    continue;
                }
                let row = PHASES
                    .iter()
                    .position(|(f, p, _)| *f == file && task.starts_with(p));
                let Some(row) = row else {
                    panic!("{path}: task {task:?} has no phase");
                };
                used[row] = true;
                seen += 1;
            }
        }
        assert!(seen >= 70, "only {seen} tasks read");
        let rollback = PLAYBOOK_FILES
            .iter()
            .find(|(p, _)| *p == "clearml/rollback.yml")
            .map(|(_, t)| tasks(t))
            .unwrap_or_default();
        assert!(rollback.iter().any(|(t, _)| t == ROLLBACK_REPORT));
        for (row, used) in PHASES.iter().zip(used) {
            assert!(used, "{row:?} matches no task of the shipped playbook");
        }
    }

    fn step(name: &str, location: &str, status: &str, start_ms: u64, duration_ms: u64) -> Step {
        Step {
            play: Some("Upgrade ClearML servers".to_owned()),
            name: name.to_owned(),
            location: Some(location.to_owned()),
            status: status.to_owned(),
            item: None,
            msg: None,
            rc: None,
            stdout_tail: String::new(),
            stderr_tail: String::new(),
            diff: None,
            start_ms,
            duration_ms,
        }
    }

    #[test]
    fn steps_group_into_phases_and_hops_by_version() {
        let mut h = HostRecord::new("a");
        let mut detect = step("upgrade: detect", "", "ok", 0, 100);
        detect.location = None;
        detect.play = None;
        h.steps = vec![
            detect,
            step("Docker answers", "clearml/preflight.yml:7:3", "ok", 100, 10),
            step(
                "Prepare and pull every hop",
                "clearml/preflight.yml:258:3",
                "ok",
                110,
                0,
            ),
            step(
                "Pull the 2.0.0 images before anything stops",
                "/tmp/x/clearml/prepare_hop.yml:37:3",
                "ok",
                110,
                50,
            ),
            step(
                "Stop the server",
                "clearml/backup.yml:29:3",
                "changed",
                160,
                30,
            ),
            step(
                "Migrate the Elasticsearch 5 data to Elasticsearch 7",
                "clearml/migrate.yml:9:3",
                "skipping",
                190,
                0,
            ),
            step(
                "Set the MongoDB feature compatibility version to 5.0",
                "clearml/migrate.yml:64:3",
                "changed",
                190,
                5,
            ),
            step("Hop", "clearml-upgrade.yml:70:11", "ok", 195, 0),
            step(
                "Mark the 1.17.1 hop in progress",
                "clearml/hop.yml:3:3",
                "changed",
                195,
                5,
            ),
            step(
                "Wait for the apiserver",
                "clearml/hop.yml:57:3",
                "ok",
                200,
                20,
            ),
            step("Hop", "clearml-upgrade.yml:70:11", "ok", 220, 0),
            step(
                "Mark the 2.0.0 hop in progress",
                "clearml/hop.yml:3:3",
                "changed",
                220,
                5,
            ),
            step(
                "The server reports 2.0.0",
                "clearml/hop.yml:80:3",
                "failed",
                225,
                40,
            ),
            step("Remember why", "clearml/rollback.yml:7:3", "ok", 265, 1),
            step(
                "Start the previous version",
                "clearml/rollback.yml:77:7",
                "changed",
                266,
                30,
            ),
            step(
                ROLLBACK_REPORT,
                "clearml/rollback.yml:126:3",
                "failed",
                296,
                0,
            ),
        ];
        let segs = segments(&h, RunKind::Upgrade);
        let labels: Vec<String> = segs.iter().map(|s| s.phase.label()).collect();
        assert_eq!(
            labels,
            [
                "detect",
                "preflight",
                "pull",
                "backup",
                "migrate es7",
                "migrate set-fcv",
                "1.17.1",
                "2.0.0",
                "rollback"
            ]
        );
        let hop = &segs[7];
        assert_eq!((hop.start_ms, hop.end_ms), (220, 265));
        assert_eq!(
            hop.failing_step().map(|s| s.name.as_str()),
            Some("The server reports 2.0.0")
        );
        assert!(segs[6].failing_step().is_none());
        // Another run kind: one segment per play or command.
        assert_eq!(segments(&h, RunKind::Playbook).len(), 2);
        let row = track(&h, RunKind::Upgrade, 300, Some((160, 296)));
        assert!(row.contains("title=\"server down 136ms\""), "{row}");
        assert_eq!(
            row.matches("class=\"seg ").count(),
            8,
            "skipped-only es7 not drawn: {row}"
        );
        assert!(
            row.contains("o-failed\" style=\"left:73.33%;width:15%\""),
            "{row}"
        );
        assert!(
            row.contains("✖ The server reports 2.0.0 (failed, 40ms)"),
            "{row}"
        );
        assert!(row.contains(">✖ 2.0.0</span>"), "{row}");
        // The rollback's report fails on purpose: the rollback is not a failure of its own.
        assert!(segs[8].failing_step().is_none());
        assert!(row.contains("p-rollback o-rollback"), "{row}");
        assert_eq!(row.matches("o-failed").count(), 1, "{row}");
        assert!(
            row.contains("<span class=\"failmark\" style=\"left:88.33%\" title=\"✖ The server reports 2.0.0\">"),
            "{row}"
        );
    }

    #[test]
    fn ticks_are_round_and_labelled() {
        assert_eq!(tick_step(886, 8), 200);
        assert_eq!(tick_step(3_325, 8), 1_000);
        assert_eq!(tick_step(367_000, 8), 60_000);
        assert_eq!(tick_step(200_000, 8), 30_000);
        assert_eq!(tick_step(3_600_000, 8), 600_000);
        assert_eq!(tick_step(0, 8), 1);
        let a = axis(3_325);
        assert_eq!(a.matches("class=\"tick\"").count(), 4, "{a}");
        assert!(a.contains(">3 s</span>"), "{a}");
        let a = axis(367_000);
        let labels: Vec<&str> = a
            .split("\">")
            .skip(2)
            .filter_map(|p| p.split('<').next())
            .collect();
        assert_eq!(
            labels,
            ["0", "1 min", "2 min", "3 min", "4 min", "5 min", ""]
        );
        assert_eq!(tick_label(150_000, 600_000), "2.5 min");
    }
}

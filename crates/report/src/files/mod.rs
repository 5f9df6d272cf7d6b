//! `--report-dir`: a reporter that keeps what every other reporter prints, then writes a
//! directory an operator can archive and read later: summary, per-host pages, JUnit, the JSON
//! event stream and one self-contained HTML page. The directory and its files are private
//! (0700, 0600) and never reached through a symbolic link (`clearfleet_base::private_files`).

mod host;
mod html;
mod junit;
mod next;
mod timeline;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Value, json};

use super::downtime::{Downtime, TaskSpan, Tracker};
use super::upgrade_table::UpgradeRow;
use super::{FirstError, JsonReporter, Reporter, ms};
use clearfleet_base::private_files::PrivateDir;
use clearfleet_base::secret::Redactor;
use clearfleet_base::time;
use clearfleet_clearml::playbook_vars::BACKUP_MANIFESTS;
use clearfleet_events::{
    Event, EventKind, HostOutcome, HostStatus, Recap, TaskStatus, UpgradeLabel, UpgradeOutcome,
};

/// Where `upgrade` puts its reports unless told otherwise (and where `--rerun` looks).
pub const DEFAULT_PARENT: &str = "reports";

/// Creates `base`, or `base-2`, `base-3`... if it exists: the first that did not (mode 0700,
/// missing parents too; a symbolic link counts as existing and is left alone).
fn claim_dir(base: &Path) -> std::io::Result<PathBuf> {
    for n in 1u32.. {
        let path = if n == 1 {
            base.to_path_buf()
        } else {
            let mut name = base.file_name().unwrap_or_default().to_os_string();
            name.push(format!("-{n}"));
            base.with_file_name(name)
        };
        match PrivateDir::create_new(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free report directory name"))
}

/// Removes the host pages (`hosts/*.json`, `hosts/*.md`) of an earlier report in the same
/// directory that this report does not rewrite; nothing else is touched.
fn remove_stale_host_pages(hosts_dir: &PrivateDir, keep: &[String]) -> std::io::Result<()> {
    for name in hosts_dir.files()? {
        let path = Path::new(&name);
        let ours = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "md")
        );
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if ours && !keep.iter().any(|k| k == stem) {
            hosts_dir.remove_file(&name)?;
        }
    }
    Ok(())
}

/// How many lines of stdout and stderr a report keeps per step.
pub const TAIL_LINES: usize = 50;
/// The most bytes of those lines a report keeps per step (their end).
pub const TAIL_BYTES: usize = 16 * 1024;

/// What kind of run the report is about: it decides the JUnit test cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `exec`, `ping`: a test case per host.
    Commands,
    /// `detect`, `plan`: a test case per host, with the detected state and plan.
    Detect,
    /// `run`: a test case per host per play.
    Playbook,
    /// `upgrade`: a test case per host, with the state, the plan and the hops done.
    Upgrade,
}

/// One task result, or the single command of `exec`/`ping`/`detect`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Step {
    pub play: Option<String>,
    pub name: String,
    pub location: Option<String>,
    pub status: String,
    pub item: Option<String>,
    pub msg: Option<String>,
    pub rc: Option<i64>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub diff: Option<String>,
    /// Since the start of the report.
    pub start_ms: u64,
    pub duration_ms: u64,
}

/// Everything the report knows about one host.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HostRecord {
    pub host: String,
    /// How the host ended; `None` (written `pending`) while it has not.
    #[serde(serialize_with = "status_or_pending")]
    pub status: Option<HostStatus>,
    /// `upgrade`: which of its distinct results the host had (`rolled_back`, `refused`...);
    /// `None` for other commands and hosts the upgrade never decided.
    pub label: Option<UpgradeLabel>,
    /// When the host's first event came (since the report started).
    pub start_ms: Option<u64>,
    /// When its own work ended: its last step's end (a playbook reports every host's end
    /// together, after the run), or its `HostFinished` for a single command or a cancelled host.
    pub end_ms: Option<u64>,
    /// `end_ms - start_ms`: the host's own time.
    pub duration_ms: u64,
    /// `upgrade`: how long its server did not answer (see [`super::downtime`]); `None` if it
    /// never stopped.
    pub downtime: Option<Downtime>,
    /// The downtime so far, from the task results.
    #[serde(skip)]
    tracker: Tracker,
    pub rc: Option<i64>,
    pub failure: Option<String>,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    pub hops_done: Vec<String>,
    /// What the upgrade did (`upgraded 1.12.1 → 2.3.0`).
    pub result: Option<String>,
    pub backup: Option<String>,
    /// The manifests of the backup (`<backup>/manifest.data`...), when there is a backup.
    pub backup_manifests: Vec<String>,
    /// The hops the plan chose (`1.17.1`, `2.0.0`, `2.3.0`), in order.
    pub hops_planned: Vec<String>,
    /// What to do next, a line each (commands included), for hosts that did not end ok.
    pub next: Vec<String>,
    /// Where Ctrl-C left an interrupted host (the step it was in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Whether an interrupted upgrade host's backup exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<String>,
    pub recap: Option<Recap>,
    pub detected: Option<Value>,
    pub plan: Option<Value>,
    pub verdict: Option<String>,
    pub steps: Vec<Step>,
}

impl HostRecord {
    fn new(host: &str) -> Self {
        HostRecord {
            host: host.to_owned(),
            status: None,
            label: None,
            start_ms: None,
            end_ms: None,
            duration_ms: 0,
            downtime: None,
            tracker: Tracker::default(),
            rc: None,
            failure: None,
            version_before: None,
            version_after: None,
            hops_done: Vec::new(),
            result: None,
            backup: None,
            backup_manifests: Vec::new(),
            hops_planned: Vec::new(),
            next: Vec::new(),
            step: None,
            backup_state: None,
            recap: None,
            detected: None,
            plan: None,
            verdict: None,
            steps: Vec::new(),
        }
    }

    /// The file name stem of the host's pages: the name with anything odd replaced.
    pub fn file_stem(&self) -> String {
        file_stem(&self.host)
    }

    /// The status in words: `ok`, `failed`, `unreachable`, `interrupted`, `refused`, or
    /// `pending` while the host has not ended.
    pub fn status_word(&self) -> &'static str {
        self.status.map_or(PENDING, HostStatus::as_str)
    }
}

/// The status of a host that has not ended (it never started, or the report was written early).
pub(crate) const PENDING: &str = "pending";

fn status_or_pending<S: serde::Serializer>(
    status: &Option<HostStatus>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.map_or(PENDING, HostStatus::as_str))
}

pub(crate) fn file_stem(host: &str) -> String {
    let s: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// A play and the hosts it ran on, for JUnit.
#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub name: String,
    pub hosts: Vec<String>,
}

/// The whole report, as the writers see it.
pub(crate) struct Report {
    pub run_id: String,
    pub command: String,
    pub command_line: Vec<String>,
    pub kind: RunKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub duration_ms: u64,
    pub plays: Vec<Play>,
    pub hosts: Vec<HostRecord>,
    pub exit_code: Option<u8>,
}

impl Report {
    pub fn count(&self, status: HostStatus) -> usize {
        self.hosts
            .iter()
            .filter(|h| h.status == Some(status))
            .count()
    }
}

/// Collects a run's events and writes the report directory on [`FilesReporter::write`].
pub struct FilesReporter {
    /// The report directory, held open: its files are written relative to it.
    out: PrivateDir,
    /// Its `hosts/`.
    hosts_dir: PrivateDir,
    run_id: String,
    command: String,
    /// What the current runner run calls itself (`exec -- uptime`): the step name of a command.
    run_command: String,
    command_line: Vec<String>,
    kind: RunKind,
    redactor: Redactor,
    wall_start: SystemTime,
    clock: Instant,
    /// Offset of the current runner run's `elapsed` from the report's start.
    base: Duration,
    /// The next event is the first of a runner run (the report's first, or one after a
    /// `RunFinished`): it sets `base`. A playbook run sends no `RunStarted`.
    new_run: bool,
    plays: Vec<Play>,
    play: Option<String>,
    hosts: IndexMap<String, HostRecord>,
    events: JsonReporter<Vec<u8>, std::io::Sink>,
    extra_events: Vec<u8>,
    exit_code: Option<u8>,
    error: FirstError,
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    let mut s = lines[skip..].join("\n");
    // Lines can be long (up to the output limit): the report keeps every step's tail until
    // it is written, so a tail is bounded in bytes too.
    let mut cut = s.len().saturating_sub(TAIL_BYTES);
    while !s.is_char_boundary(cut) {
        cut += 1;
    }
    if cut > 0 {
        s = format!("[… {cut} earlier bytes]{}", &s[cut..]);
    }
    if skip > 0 {
        s = format!("[… {skip} earlier lines]\n{s}");
    }
    s
}

impl FilesReporter {
    /// A report of `command` (`exec`, `upgrade`, ...) into `dir`, created now. `command_line`
    /// is the process's arguments with secret `-e` values masked already (the binary's
    /// `cmdline::masked`); every `redactor` secret is masked here.
    pub fn new(
        dir: PathBuf,
        command: &str,
        command_line: &[String],
        kind: RunKind,
        redactor: Redactor,
    ) -> std::io::Result<Self> {
        let out = PrivateDir::open_or_create(&dir)?;
        let hosts_dir = out.subdir("hosts")?;
        let wall_start = SystemTime::now();
        let command_line = command_line.iter().map(|a| redactor.redact(a)).collect();
        Ok(FilesReporter {
            out,
            hosts_dir,
            run_id: format!("{}-{}", time::compact(wall_start), std::process::id()),
            command: command.to_owned(),
            run_command: command.to_owned(),
            command_line,
            kind,
            redactor,
            wall_start,
            clock: Instant::now(),
            base: Duration::ZERO,
            new_run: true,
            plays: Vec::new(),
            play: None,
            hosts: IndexMap::new(),
            events: JsonReporter::new(Vec::new(), std::io::sink()),
            extra_events: Vec::new(),
            exit_code: None,
            error: FirstError::default(),
        })
    }

    /// The default directory of `upgrade`: `reports/<UTC time>` under the current directory,
    /// claimed now (created empty). Two runs starting in the same second get `-2`, `-3`...
    pub fn default_dir() -> std::io::Result<PathBuf> {
        claim_dir(&Path::new(DEFAULT_PARENT).join(time::compact(SystemTime::now())))
    }

    pub fn dir(&self) -> &Path {
        self.out.path()
    }

    /// More secrets to keep out of the files (found after the reporter was made).
    pub fn redact_also(&mut self, more: impl IntoIterator<Item = clearfleet_base::secret::Secret>) {
        self.redactor = self.redactor.with(more);
    }

    fn host(&mut self, name: &str) -> &mut HostRecord {
        self.hosts
            .entry(name.to_owned())
            .or_insert_with(|| HostRecord::new(name))
    }

    fn finished(&mut self, o: &HostOutcome, at: u64) {
        let command = self.run_command.clone();
        let play = self.play.clone();
        let h = self.host(&o.host);
        h.status = Some(o.status);
        // A playbook run reports every host's end together, after its last host: a host's own
        // end is the end of its last step (a cancelled host's is now: it was in a step).
        let last_step = h
            .steps
            .last()
            .map(|s| s.start_ms.saturating_add(s.duration_ms));
        let end = match (o.recap.is_some(), o.status, last_step) {
            (true, HostStatus::Interrupted, _) | (true, _, None) | (false, _, _) => at,
            (true, _, Some(step_end)) => step_end.min(at),
        };
        h.end_ms = Some(end);
        let start = h
            .start_ms
            .unwrap_or_else(|| at.saturating_sub(ms(o.duration)));
        h.start_ms.get_or_insert(start);
        h.duration_ms = end.saturating_sub(h.start_ms.unwrap_or(start));
        h.downtime = h.tracker.downtime(end);
        h.rc = o.rc.or(h.rc);
        if o.status == HostStatus::Interrupted {
            h.step = o.error.clone();
            h.failure = Some(match &o.error {
                Some(e) => format!("interrupted: {e}"),
                None => "interrupted".to_owned(),
            });
        } else {
            h.failure = super::digest::host_cause(o).map(|why| match o.failures.last() {
                Some((task, location, msg)) => format!("{task} ({location}): {msg}"),
                None => why,
            });
        }
        if o.recap.is_some() {
            h.recap = o.recap;
        }
        if let Some(d) = &o.detected {
            let s = &d.state;
            h.version_before = match (s.version, s.version_range) {
                (Some(v), _) => Some(v.to_string()),
                (None, Some((lo, hi))) if lo == hi => Some(lo.to_string()),
                (None, Some((lo, hi))) => Some(format!("{lo}–{hi}")),
                _ => None,
            };
            h.version_after = h.version_before.clone();
            h.detected = serde_json::to_value(&d.state).ok();
            h.plan = serde_json::to_value(&d.plan).ok();
            h.hops_planned = match &d.plan {
                clearfleet_clearml::plan::Plan::Upgrade { hops, .. }
                | clearfleet_clearml::plan::Plan::Resume { hops, .. } => {
                    hops.iter().map(ToString::to_string).collect()
                }
                _ => Vec::new(),
            };
            h.verdict = Some(d.verdict.clone());
        }
        // A command run (exec, ping, detect) is one step; a playbook's steps are its tasks.
        if o.recap.is_none() {
            h.steps.push(Step {
                play,
                name: command,
                location: None,
                status: o.status.as_str().to_owned(),
                item: None,
                msg: o.error.clone(),
                rc: o.rc,
                stdout_tail: tail(&o.stdout, TAIL_LINES),
                stderr_tail: tail(&o.stderr, TAIL_LINES),
                diff: None,
                start_ms: start,
                duration_ms: ms(o.duration),
            });
        }
    }

    /// `upgrade`: what happened to each host, and the version it was taken to.
    pub fn set_upgrade(&mut self, rows: &[UpgradeRow], target: &str) {
        let command_line = self.command_line.clone();
        let dir = self.out.path().to_path_buf();
        for r in rows {
            let result = r.result();
            let h = self.host(&r.host);
            h.status = Some(r.status());
            h.label = Some(r.outcome.label());
            h.backup = r.backup.clone();
            h.backup_manifests = match &r.backup {
                Some(b) => BACKUP_MANIFESTS
                    .iter()
                    .map(|m| format!("{}/{m}", b.trim_end_matches('/')))
                    .collect(),
                None => Vec::new(),
            };
            h.step = r.step().map(str::to_owned);
            h.backup_state = r.backup_state();
            if matches!(r.outcome, UpgradeOutcome::Upgraded { .. }) {
                h.version_after = Some(target.to_owned());
            } else if r.status() == HostStatus::Ok {
                // Up to date, no server, or a check run: nothing changed.
            } else if r.outcome.left_as_it_was() {
                h.version_after = h.version_before.clone();
            } else {
                h.version_after = None;
            }
            if r.status() != HostStatus::Ok {
                h.failure = Some(result.clone());
            }
            h.result = Some(result);
            h.next = next::upgrade(h, &command_line, &dir);
            let mut line = serde_json::to_value(r).unwrap_or_default();
            if let Some(m) = line.as_object_mut() {
                m.insert("type".to_owned(), json!("upgrade"));
            }
            let _ = writeln!(self.extra_events, "{line}");
        }
    }

    /// The run's exit code, for `summary.json`.
    pub fn set_exit_code(&mut self, code: u8) {
        self.exit_code = Some(code);
    }

    /// Writes every file of the report; the directory exists already.
    pub fn write(&mut self) -> std::io::Result<()> {
        let end = SystemTime::now();
        let duration_ms = ms(self.clock.elapsed());
        // Secrets are masked before any escaping (JSON, XML, HTML) could hide them from a
        // text search; the finished files get a second pass below.
        let mut hosts: Vec<HostRecord> = self.hosts.values().cloned().collect();
        hosts
            .iter_mut()
            .for_each(|h| redact_record(h, &self.redactor));
        let report = Report {
            run_id: self.run_id.clone(),
            command: self.command.clone(),
            command_line: self
                .command_line
                .iter()
                .map(|a| self.redactor.redact(a))
                .collect(),
            kind: self.kind,
            start: self.wall_start,
            end,
            duration_ms,
            plays: self.plays.clone(),
            hosts,
            exit_code: self.exit_code,
        };
        let r = &self.redactor;
        let put = |name: &str, text: &str| self.out.write(name, r.redact(text).as_bytes());
        let put_host =
            |name: &str, text: &str| self.hosts_dir.write(name, r.redact(text).as_bytes());
        put("summary.json", &summary_json(&report))?;
        let stems: Vec<String> = report.hosts.iter().map(HostRecord::file_stem).collect();
        remove_stale_host_pages(&self.hosts_dir, &stems)?;
        for h in &report.hosts {
            let stem = h.file_stem();
            put_host(
                &format!("{stem}.json"),
                &pretty(&serde_json::to_value(h).unwrap_or_default()),
            )?;
            put_host(&format!("{stem}.md"), &host::markdown(h))?;
        }
        put("junit.xml", &junit::junit(&report))?;
        let mut events = String::from_utf8_lossy(self.events.get_ref()).into_owned();
        events.push_str(&String::from_utf8_lossy(&self.extra_events));
        put("events.jsonl", &events)?;
        put("index.html", &html::page(&report))?;
        self.error.take()
    }
}

/// Every string of a JSON value with secrets masked.
fn redact_value(v: &mut Value, r: &Redactor) {
    match v {
        Value::String(s) => *s = r.redact(s),
        Value::Array(items) => items.iter_mut().for_each(|i| redact_value(i, r)),
        Value::Object(map) => map.values_mut().for_each(|i| redact_value(i, r)),
        _ => {}
    }
}

fn redact_record(h: &mut HostRecord, r: &Redactor) {
    let opt = |s: &mut Option<String>| {
        if let Some(x) = s {
            *x = r.redact(x);
        }
    };
    for s in [
        &mut h.failure,
        &mut h.version_before,
        &mut h.version_after,
        &mut h.result,
        &mut h.backup,
        &mut h.step,
        &mut h.backup_state,
        &mut h.verdict,
    ] {
        opt(s);
    }
    for list in [&mut h.hops_done, &mut h.next, &mut h.backup_manifests] {
        list.iter_mut().for_each(|x| *x = r.redact(x));
    }
    for v in [&mut h.detected, &mut h.plan].into_iter().flatten() {
        redact_value(v, r);
    }
    for st in &mut h.steps {
        for s in [
            &mut st.play,
            &mut st.location,
            &mut st.item,
            &mut st.msg,
            &mut st.diff,
        ] {
            opt(s);
        }
        st.name = r.redact(&st.name);
        st.stdout_tail = r.redact(&st.stdout_tail);
        st.stderr_tail = r.redact(&st.stderr_tail);
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn summary_json(r: &Report) -> String {
    let hosts: Vec<Value> = r
        .hosts
        .iter()
        .map(|h| {
            let mut v = json!({
                "host": h.host,
                "status": h.status_word(),
                "label": h.label,
                "version_before": h.version_before,
                "version_after": h.version_after,
                "hops_done": h.hops_done,
                "start_ms": h.start_ms,
                "end_ms": h.end_ms,
                "duration_ms": h.duration_ms,
                "downtime": h.downtime,
                "failure": h.failure,
                "result": h.result,
                "backup": h.backup,
                "page": format!("hosts/{}.md", h.file_stem()),
            });
            if let Some(m) = v.as_object_mut() {
                for (k, x) in [("step", &h.step), ("backup_state", &h.backup_state)] {
                    if let Some(x) = x {
                        m.insert(k.to_owned(), json!(x));
                    }
                }
            }
            v
        })
        .collect();
    pretty(&json!({
        "run_id": r.run_id,
        "command": r.command,
        "command_line": r.command_line,
        "start": time::rfc3339(r.start),
        "end": time::rfc3339(r.end),
        "duration_ms": r.duration_ms,
        "exit_code": r.exit_code,
        "totals": {
            "hosts": r.hosts.len(),
            "ok": r.count(HostStatus::Ok),
            "failed": r.count(HostStatus::Failed),
            "unreachable": r.count(HostStatus::Unreachable),
            "interrupted": r.count(HostStatus::Interrupted),
            "refused": r.count(HostStatus::Refused),
        },
        "hosts": hosts,
    }))
}

/// The version a hop task names: `The server reports 2.0.0`.
fn hop_done(task: &str) -> Option<&str> {
    task.strip_prefix("The server reports ").map(str::trim)
}

impl Reporter for FilesReporter {
    fn report(&mut self, event: &Event) {
        self.events.report(event);
        let now = self.clock.elapsed();
        if self.new_run {
            self.base = now.saturating_sub(event.elapsed);
            self.new_run = false;
        }
        if let EventKind::RunStarted { hosts, command, .. } = &event.kind {
            self.run_command = command.clone();
            for h in hosts {
                self.host(h);
            }
        }
        let at = ms(self.base.saturating_add(event.elapsed));
        match &event.kind {
            EventKind::HostStarted { host } => {
                self.host(host).start_ms.get_or_insert(at);
            }
            EventKind::HostFinished(o) => self.finished(o, at),
            EventKind::PlayStarted { name, hosts } => {
                self.play = Some(name.clone());
                self.plays.push(Play {
                    name: name.clone(),
                    hosts: hosts.clone(),
                });
                for h in hosts {
                    self.host(h);
                }
            }
            EventKind::TaskResult(t) => {
                let play = self.play.clone();
                let h = self.host(&t.host);
                let start = at.saturating_sub(ms(t.duration));
                h.start_ms.get_or_insert(start);
                h.tracker.see(&TaskSpan {
                    task: &t.task,
                    location: &t.location,
                    status: t.status,
                    start_ms: start,
                    end_ms: at,
                });
                if matches!(t.status, TaskStatus::Ok | TaskStatus::Changed)
                    && let Some(v) = hop_done(&t.task)
                    && !h.hops_done.iter().any(|d| d == v)
                {
                    h.hops_done.push(v.to_owned());
                }
                h.steps.push(Step {
                    play,
                    name: t.task.clone(),
                    location: Some(t.location.clone()),
                    status: t.status.as_str().to_owned(),
                    item: t.item.clone(),
                    msg: t.msg.clone(),
                    rc: t.rc,
                    stdout_tail: tail(&t.stdout, TAIL_LINES),
                    stderr_tail: tail(&t.stderr, TAIL_LINES),
                    diff: t.diff.clone(),
                    start_ms: start,
                    duration_ms: ms(t.duration),
                });
            }
            EventKind::RunFinished(summary) => {
                self.play = None;
                self.new_run = true;
                // Hosts that never started (an interrupted run) get no HostFinished event.
                for o in &summary.outcomes {
                    let h = self.host(&o.host);
                    if h.status.is_none() {
                        h.status = Some(o.status);
                        h.failure = o.error.clone().or_else(|| super::digest::host_cause(o));
                    }
                }
            }
            EventKind::RunStarted { .. }
            | EventKind::Warning { .. }
            | EventKind::Interrupted { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::HostTask { .. } => {}
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.events.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_last_lines_and_say_how_many_were_cut() {
        let text: String = (1..=60).map(|i| format!("l{i}\n")).collect();
        let t = tail(&text, 50);
        assert!(t.starts_with("[… 10 earlier lines]\nl11\n"), "{t}");
        assert!(t.ends_with("l60"), "{t}");
        assert_eq!(tail("a\nb", 50), "a\nb");
        let long = format!("é{}", "x".repeat(TAIL_BYTES));
        assert_eq!(
            tail(&long, 50),
            format!("[… 2 earlier bytes]{}", "x".repeat(TAIL_BYTES))
        );
        let t = tail(&format!("{}z", "é".repeat(TAIL_BYTES)), 50);
        assert!(
            t.ends_with("éz") && t.len() < TAIL_BYTES + 30,
            "{}",
            t.len()
        );
    }

    #[test]
    fn secrets_are_masked_before_escaping() {
        let r = Redactor::new([clearfleet_base::secret::Secret::new("p\"w<1>")]);
        let mut h = HostRecord::new("h");
        h.failure = Some("bad p\"w<1>".to_owned());
        h.detected = Some(json!({"env": ["x=p\"w<1>"]}));
        redact_record(&mut h, &r);
        let text = serde_json::to_string(&h).unwrap_or_default();
        assert!(!text.contains("p\\\"w"), "{text}");
        assert_eq!(h.failure.as_deref(), Some("bad ********"));
        assert_eq!(h.detected, Some(json!({"env": ["x=********"]})));
    }

    fn ev(ms: u64, kind: EventKind) -> Event {
        Event {
            elapsed: Duration::from_millis(ms),
            kind,
        }
    }

    /// The files reporter of `clearfleet upgrade`, writing into `dir/r`.
    fn upgrade_reporter(dir: &tempfile::TempDir) -> FilesReporter {
        FilesReporter::new(
            dir.path().join("r"),
            "upgrade",
            &["clearfleet".to_owned(), "upgrade".to_owned()],
            RunKind::Upgrade,
            Redactor::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn upgrade_rows_decide_status_versions_and_the_last_hop() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let mut f = upgrade_reporter(&dir);
        let hosts = vec!["a".to_owned(), "b".to_owned(), "never".to_owned()];
        f.report(&ev(
            0,
            EventKind::RunStarted {
                command: "upgrade: detect".into(),
                hosts: hosts.clone(),
                forks: 2,
            },
        ));
        for (i, h) in ["a", "b"].iter().enumerate() {
            f.report(&ev(1, EventKind::HostStarted { host: (*h).into() }));
            let mut o = HostOutcome::new(*h, HostStatus::Ok);
            o.duration = Duration::from_millis(5);
            f.report(&ev(6 + i as u64, EventKind::HostFinished(o)));
            f.host(h).version_before = Some("1.0.0".into());
        }
        let t = |host: &str, task: &str, status| {
            crate::test_events::task_result(
                host,
                task,
                "hop.yml:29:3",
                status,
                Duration::from_millis(3),
            )
        };
        f.report(&ev(
            0,
            EventKind::RunStarted {
                command: "upgrade".into(),
                hosts: vec!["a".into(), "b".into()],
                forks: 2,
            },
        ));
        f.report(&ev(9, t("a", "The server reports 2.0.0", TaskStatus::Ok)));
        f.report(&ev(
            12,
            t("b", "The server reports 2.0.0", TaskStatus::Failed),
        ));
        f.report(&ev(
            20,
            EventKind::RunFinished(clearfleet_events::RunSummary {
                outcomes: vec![HostOutcome::new("never", HostStatus::Interrupted)],
                ..Default::default()
            }),
        ));
        f.set_upgrade(
            &[
                UpgradeRow::new(
                    "a",
                    UpgradeOutcome::Upgraded {
                        from: "1.0.0".into(),
                        to: "2.0.0".into(),
                        resumed: false,
                        compose_v1_recreations: 0,
                    },
                ),
                UpgradeRow::new(
                    "b",
                    UpgradeOutcome::RolledBack {
                        report: "rolled back to 1.0.0: boom".into(),
                    },
                ),
            ],
            "2.0.0",
        );
        let a = f.host("a").clone();
        assert_eq!(a.version_after.as_deref(), Some("2.0.0"));
        assert_eq!(a.hops_done, ["2.0.0"]);
        // The detect step, then the hop task, placed after the detect phase in time.
        assert_eq!(a.steps.len(), 2);
        assert!(a.steps[1].start_ms >= a.steps[0].start_ms, "{a:?}");
        let b = f.host("b").clone();
        assert_eq!(b.status, Some(HostStatus::Failed));
        assert!(b.hops_done.is_empty());
        assert_eq!(b.version_after.as_deref(), Some("1.0.0"));
        assert_eq!(b.failure.as_deref(), Some("rolled back to 1.0.0: boom"));
        assert_eq!(f.host("never").status, Some(HostStatus::Interrupted));
        f.write().unwrap_or_else(|e| panic!("{e}"));
        let events = std::fs::read_to_string(dir.path().join("r/events.jsonl")).unwrap_or_default();
        assert!(events.ends_with("\"type\":\"upgrade\"}\n"), "{events}");
    }

    fn result(host: &str, task: &str, file: &str, ms: u64) -> EventKind {
        crate::test_events::task_result(
            host,
            task,
            &format!("{file}:1:3"),
            TaskStatus::Changed,
            Duration::from_millis(ms),
        )
    }

    /// As `upgrade` sends them: a detect run, then a playbook run that sends no `RunStarted`
    /// and reports every host's end together after its last task.
    #[test]
    fn each_host_has_its_own_duration_and_downtime() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let mut f = upgrade_reporter(&dir);
        let hosts = vec!["a".to_owned(), "b".to_owned()];
        f.report(&ev(
            0,
            EventKind::RunStarted {
                command: "upgrade: detect".into(),
                hosts: hosts.clone(),
                forks: 2,
            },
        ));
        for h in &hosts {
            f.report(&ev(0, EventKind::HostStarted { host: h.clone() }));
        }
        for h in &hosts {
            f.report(&ev(
                40,
                EventKind::HostFinished(HostOutcome::new(h, HostStatus::Ok)),
            ));
        }
        f.report(&ev(40, EventKind::RunFinished(Default::default())));
        // Planning takes a while: the playbook's clock starts later.
        std::thread::sleep(Duration::from_millis(60));
        f.report(&ev(
            0,
            EventKind::PlayStarted {
                name: "Upgrade".into(),
                hosts: hosts.clone(),
            },
        ));
        f.report(&ev(
            20,
            result("a", "Stop the server", "clearml/backup.yml", 10),
        ));
        f.report(&ev(
            25,
            result("b", "Stop the server", "clearml/backup.yml", 10),
        ));
        f.report(&ev(
            60,
            result("a", "The file server answers", "clearml/postcheck.yml", 5),
        ));
        f.report(&ev(90, result("b", "Start 2.0.0", "clearml/hop.yml", 5)));
        let mut done = Vec::new();
        for h in &hosts {
            let mut o = HostOutcome::new(h, HostStatus::Ok);
            o.recap = Some(Recap::default());
            done.push(o.clone());
            f.report(&ev(100, EventKind::HostFinished(o)));
        }
        let a = f.host("a").clone();
        let b = f.host("b").clone();
        let (a_start, b_start) = (a.start_ms.unwrap_or(0), b.start_ms.unwrap_or(0));
        // The playbook's steps come after detection (which ended at 40), not over it.
        assert!(a.steps[1].start_ms > a_start + 40, "{a:?}");
        // Each ends with its own last step.
        assert_eq!(a.end_ms, Some(a.steps[2].start_ms + 5));
        assert_eq!(b.end_ms, Some(b.steps[2].start_ms + 5));
        assert_eq!(a.duration_ms, a.end_ms.unwrap_or(0) - a_start);
        assert_eq!(b.duration_ms, b.end_ms.unwrap_or(0) - b_start);
        assert_eq!(b.end_ms.unwrap_or(0) - a.end_ms.unwrap_or(0), 30);
        // a: from the stop's start to the health check's end; b never answered.
        let da = a.downtime.unwrap_or_else(|| panic!("{a:?}"));
        assert_eq!((da.duration_ms, da.still_down), (50, false));
        let db = b.downtime.unwrap_or_else(|| panic!("{b:?}"));
        assert_eq!((db.duration_ms, db.still_down), (75, true));
    }

    #[test]
    fn two_runs_in_the_same_second_get_different_directories() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let base = dir.path().join("reports/20260101T000000Z");
        let a = claim_dir(&base).unwrap_or_else(|e| panic!("{e}"));
        let b = claim_dir(&base).unwrap_or_else(|e| panic!("{e}"));
        let c = claim_dir(&base).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, base);
        assert_eq!(b, dir.path().join("reports/20260101T000000Z-2"));
        assert_eq!(c, dir.path().join("reports/20260101T000000Z-3"));
    }

    #[test]
    fn only_stale_host_pages_are_removed() {
        let dir = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let hosts = dir.path().join("hosts");
        std::fs::create_dir_all(hosts.join("sub.json")).unwrap_or_else(|e| panic!("{e}"));
        for f in ["a.json", "a.md", "old.json", "old.md", "notes.txt"] {
            std::fs::write(hosts.join(f), "x").unwrap_or_else(|e| panic!("{e}"));
        }
        let held = PrivateDir::open_or_create(&hosts).unwrap_or_else(|e| panic!("{e}"));
        remove_stale_host_pages(&held, &["a".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
        let mut left: Vec<String> = std::fs::read_dir(&hosts)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["a.json", "a.md", "notes.txt", "sub.json"]);
    }

    #[test]
    fn odd_host_names_make_safe_file_names() {
        assert_eq!(file_stem("web01.example.com"), "web01.example.com");
        assert_eq!(file_stem("../etc/x"), "_.._etc_x");
        assert_eq!(file_stem("a b/c"), "a_b_c");
    }
}

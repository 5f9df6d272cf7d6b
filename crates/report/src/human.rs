//! Human output: one whole block per host as it finishes (never interleaved), then a recap.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use super::{FirstError, Reporter, human_duration};
use clearfleet_events::{Event, EventKind, HostOutcome, HostStatus, RunSummary, TaskStatus};

/// What the run's results look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// A block per host with its command output (`exec`, `ping`).
    Commands,
    /// A table of detected deployments (`detect`); blocks only for hosts that failed.
    Detect,
    /// The upgrade path of each host (`plan`); blocks only for hosts that failed.
    Plan,
    /// PLAY/TASK headers, a line per host and task, the PLAY RECAP (`run`).
    Playbook,
}

pub struct HumanReporter<W: Write, E: Write> {
    out: W,
    err: E,
    /// `-q`: print blocks only for hosts that did not end ok.
    quiet: bool,
    view: View,
    /// `-v`: show output of every task, not only of failed ones.
    pub verbose: bool,
    /// The task whose header was printed last (name, location), and whether nothing was
    /// printed under it yet.
    banner: Option<(String, String)>,
    banner_bare: bool,
    /// The locations of the handlers started so far (a result's header says which it is).
    handlers: std::collections::HashSet<String>,
    error: FirstError,
}

impl<W: Write, E: Write> HumanReporter<W, E> {
    pub fn new(out: W, err: E, quiet: bool, view: View) -> Self {
        HumanReporter {
            out,
            err,
            quiet,
            view,
            verbose: false,
            banner: None,
            banner_bare: false,
            handlers: Default::default(),
            error: FirstError::default(),
        }
    }

    /// The header of a task starting on some host. Under the `free` strategy hosts start the
    /// same task one after another: a header right under the same header is left out.
    fn task_started(&mut self, name: &str, location: &str, handler: bool) -> std::io::Result<()> {
        let same = self
            .banner
            .as_ref()
            .is_some_and(|(n, l)| n == name && l == location);
        if same && self.banner_bare {
            return Ok(());
        }
        if handler {
            self.handlers.insert(location.to_owned());
        }
        self.banner = Some((name.to_owned(), location.to_owned()));
        self.banner_bare = true;
        self.out
            .write_all(super::playbook::task_header(name, handler).as_bytes())
    }

    /// A task's line, under its own header: when hosts run at their own pace (`free`), a result
    /// may belong to another task than the last header, which is then printed again (as
    /// Ansible's default callback does).
    fn task_result(&mut self, r: &clearfleet_events::TaskResult) -> std::io::Result<()> {
        // A task is known by its location (its name may be rendered per host).
        let under = self.banner.as_ref().is_some_and(|(_, l)| *l == r.location);
        if !under {
            let handler = self.handlers.contains(&r.location);
            self.out
                .write_all(super::playbook::task_header(&r.task, handler).as_bytes())?;
            self.banner = Some((r.task.clone(), r.location.clone()));
        }
        self.banner_bare = false;
        self.out
            .write_all(super::playbook::task_line(r, self.verbose).as_bytes())
            .and_then(|()| self.out.flush())
    }
}

fn status_style(status: HostStatus) -> Style {
    let color = match status {
        HostStatus::Ok => AnsiColor::Green,
        HostStatus::Failed => AnsiColor::Red,
        HostStatus::Unreachable => AnsiColor::Magenta,
        HostStatus::Interrupted | HostStatus::Refused => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn status_label(status: HostStatus) -> &'static str {
    match status {
        HostStatus::Ok => "ok",
        HostStatus::Failed => "FAILED",
        HostStatus::Unreachable => "UNREACHABLE",
        HostStatus::Interrupted => "INTERRUPTED",
        HostStatus::Refused => "REFUSED",
    }
}

/// What the operator is told at each Ctrl-C.
pub(crate) fn interrupt_message(stage: u8) -> &'static str {
    if stage == 1 {
        "interrupted: no new host or task will start; running ones finish (Ctrl-C again to cancel them)"
    } else {
        "interrupted again: cancelling running commands"
    }
}

/// The block for one host: a header line, its stdout, then its stderr after a marker.
pub fn host_block(o: &HostOutcome) -> String {
    let style = status_style(o.status);
    let mut s = format!("{} | {style}{}{style:#}", o.host, status_label(o.status));
    if let Some(rc) = o.rc {
        s.push_str(&format!(" | rc={rc}"));
    }
    s.push_str(&format!(" | {}\n", human_duration(o.duration)));
    push_lines(&mut s, &o.stdout);
    if !o.stderr.is_empty() {
        let dim = Style::new().dimmed();
        s.push_str(&format!("{dim}[stderr]{dim:#}\n"));
        push_lines(&mut s, &o.stderr);
    }
    if let (Some(error), true) = (&o.error, o.rc.is_none()) {
        s.push_str(&format!("error: {error}\n"));
    }
    s
}

fn push_lines(s: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    s.push_str(text);
    if !text.ends_with('\n') {
        s.push('\n');
    }
}

/// The recap: a line per host in inventory order, then the totals.
pub fn recap(summary: &RunSummary) -> String {
    let width = summary
        .outcomes
        .iter()
        .map(|o| super::text::width(&o.host))
        .max()
        .unwrap_or(0)
        .max(4);
    let bold = Style::new().bold();
    let mut s = format!("\n{bold}RECAP{bold:#}\n");
    for o in &summary.outcomes {
        let style = status_style(o.status);
        let label = o.status.as_str();
        let detail = match (o.rc, &o.error) {
            (Some(rc), _) if rc != 0 => format!("rc={rc}"),
            (_, Some(e)) if o.status != HostStatus::Ok => first_line(e).to_owned(),
            _ => String::new(),
        };
        let host = super::text::pad(&o.host, width);
        if detail.is_empty() {
            s.push_str(&format!("{host}  {style}{label}{style:#}\n"));
        } else {
            s.push_str(&format!(
                "{host}  {style}{label}{style:#}{:pad$}  {detail}\n",
                "",
                pad = 11usize.saturating_sub(label.len())
            ));
        }
    }
    s.push_str(&totals(summary));
    s
}

/// The closing line: `N hosts in T: a ok, b failed, ...`.
pub fn totals(summary: &RunSummary) -> String {
    let mut parts = vec![format!("{} ok", summary.ok)];
    if summary.failed > 0 {
        parts.push(format!("{} failed", summary.failed));
    }
    if summary.unreachable > 0 {
        parts.push(format!("{} unreachable", summary.unreachable));
    }
    if summary.interrupted > 0 {
        parts.push(format!("{} interrupted", summary.interrupted));
    }
    if summary.refused > 0 {
        parts.push(format!("{} refused", summary.refused));
    }
    let hosts = summary.hosts();
    format!(
        "{hosts} host{} in {}: {}\n",
        if hosts == 1 { "" } else { "s" },
        human_duration(summary.duration),
        parts.join(", ")
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

impl<W: Write, E: Write> Reporter for HumanReporter<W, E> {
    fn report(&mut self, event: &Event) {
        let r = match &event.kind {
            EventKind::HostFinished(_) if self.view == View::Playbook => Ok(()),
            EventKind::HostFinished(o)
                if (self.quiet || self.view != View::Commands) && o.status == HostStatus::Ok =>
            {
                Ok(())
            }
            EventKind::PlayStarted { name, .. } if !self.quiet => self
                .out
                .write_all(super::playbook::play_header(name).as_bytes()),
            EventKind::TaskStarted {
                name,
                location,
                handler,
            } if !self.quiet => self.task_started(name, location, *handler),
            EventKind::TaskResult(r) if !self.quiet => self.task_result(r),
            EventKind::TaskResult(r)
                if matches!(r.status, TaskStatus::Failed | TaskStatus::Unreachable) =>
            {
                self.out
                    .write_all(super::playbook::task_line(r, self.verbose).as_bytes())
                    .and_then(|()| self.out.flush())
            }
            EventKind::PlayStarted { .. }
            | EventKind::TaskStarted { .. }
            | EventKind::TaskResult(_) => Ok(()),
            // One write per block keeps hosts from interleaving even if stdout is shared.
            EventKind::HostFinished(o) => self
                .out
                .write_all(host_block(o).as_bytes())
                .and_then(|()| self.out.flush()),
            EventKind::RunFinished(summary) => {
                let text = match self.view {
                    View::Commands => recap(summary) + &super::digest::digest(summary),
                    View::Detect => {
                        super::detect_table::table(summary)
                            + &super::digest::digest(summary)
                            + &totals(summary)
                    }
                    View::Plan => {
                        super::detect_table::plans(summary)
                            + &super::digest::digest(summary)
                            + &totals(summary)
                    }
                    View::Playbook => {
                        super::playbook::recap(summary)
                            + &super::playbook::digest(summary)
                            + &totals(summary)
                    }
                };
                self.out
                    .write_all(text.as_bytes())
                    .and_then(|()| self.out.flush())
            }
            EventKind::Warning { message } => {
                let style = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
                writeln!(self.err, "{style}warning{style:#}: {message}")
            }
            EventKind::Interrupted { stage } => writeln!(self.err, "{}", interrupt_message(*stage)),
            EventKind::RunStarted { .. }
            | EventKind::HostStarted { .. }
            | EventKind::HostTask { .. } => Ok(()),
        };
        self.error.keep(r);
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(host: &str, status: HostStatus, rc: Option<i64>) -> HostOutcome {
        HostOutcome {
            rc,
            duration: Duration::from_millis(12),
            ..HostOutcome::new(host, status)
        }
    }

    fn started(name: &str, location: &str, handler: bool) -> Event {
        Event {
            elapsed: Duration::ZERO,
            kind: EventKind::TaskStarted {
                name: name.into(),
                location: location.into(),
                handler,
            },
        }
    }

    fn result(host: &str, task: &str, location: &str) -> Event {
        Event {
            elapsed: Duration::ZERO,
            kind: crate::test_events::task_result(
                host,
                task,
                location,
                TaskStatus::Ok,
                Duration::from_millis(1),
            ),
        }
    }

    fn printed(events: &[Event]) -> String {
        let mut out = Vec::new();
        let mut r = HumanReporter::new(&mut out, std::io::sink(), false, View::Playbook);
        for e in events {
            r.report(e);
        }
        drop(r);
        let text = String::from_utf8(out).unwrap_or_default();
        anstream::adapter::strip_str(&text)
            .to_string()
            .lines()
            .map(|l| l.trim_end_matches('*').trim_end().to_owned())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn hosts_at_their_own_pace_print_each_result_under_its_own_task() {
        // The `free` strategy: a and b start task A, a goes on to B while b's A ends.
        let text = printed(&[
            started("A", "pb.yml:3:7", false),
            started("A", "pb.yml:3:7", false),
            result("a", "A", "pb.yml:3:7"),
            started("B", "pb.yml:5:7", false),
            result("b", "A", "pb.yml:3:7"),
            result("a", "B", "pb.yml:5:7"),
            started("h", "pb.yml:9:7", true),
            result("a", "h", "pb.yml:9:7"),
            result("b", "B", "pb.yml:5:7"),
            result("b", "h", "pb.yml:9:7"),
        ]);
        assert_eq!(
            text,
            "TASK [A]\nok: [a]\nTASK [B]\nTASK [A]\nok: [b]\nTASK [B]\nok: [a]\n\
             RUNNING HANDLER [h]\nok: [a]\nTASK [B]\nok: [b]\nRUNNING HANDLER [h]\nok: [b]"
        );
    }

    #[test]
    fn hosts_in_step_print_a_header_per_task_as_before() {
        // `linear`: every header once, even the same task run twice (a loop of includes).
        let text = printed(&[
            started("A", "pb.yml:3:7", false),
            result("a", "A", "pb.yml:3:7"),
            result("b", "A", "pb.yml:3:7"),
            started("A", "pb.yml:3:7", false),
            result("a", "A", "pb.yml:3:7"),
            started("Gathering Facts", "", false),
            result("a", "Gathering Facts", ""),
        ]);
        assert_eq!(
            text,
            "TASK [A]\nok: [a]\nok: [b]\nTASK [A]\nok: [a]\nTASK [Gathering Facts]\nok: [a]"
        );
    }

    #[test]
    fn block_keeps_stdout_and_stderr_apart() {
        let mut o = outcome("web01", HostStatus::Failed, Some(3));
        o.stdout = "out\n".to_owned();
        o.stderr = "err".to_owned();
        let plain = anstream::adapter::strip_str(&host_block(&o)).to_string();
        assert_eq!(plain, "web01 | FAILED | rc=3 | 12ms\nout\n[stderr]\nerr\n");
    }

    #[test]
    fn unreachable_block_names_the_error() {
        let mut o = outcome("db", HostStatus::Unreachable, None);
        o.error = Some("connection refused".to_owned());
        let plain = anstream::adapter::strip_str(&host_block(&o)).to_string();
        assert_eq!(
            plain,
            "db | UNREACHABLE | 12ms\nerror: connection refused\n"
        );
    }

    #[test]
    fn recap_lists_hosts_and_totals() {
        let mut bad = outcome("h2", HostStatus::Unreachable, None);
        bad.error = Some("timed out\nmore".to_owned());
        let summary = RunSummary {
            outcomes: vec![outcome("h1", HostStatus::Ok, Some(0)), bad],
            ok: 1,
            unreachable: 1,
            duration: Duration::from_millis(1500),
            ..Default::default()
        };
        let plain = anstream::adapter::strip_str(&recap(&summary)).to_string();
        assert_eq!(
            plain,
            "\nRECAP\nh1    ok\nh2    unreachable  timed out\n2 hosts in 1.50s: 1 ok, 1 unreachable\n"
        );
    }

    #[test]
    fn totals_count_refused_hosts_apart() {
        let summary = RunSummary {
            ok: 1,
            refused: 1,
            duration: Duration::from_millis(1500),
            ..Default::default()
        };
        assert_eq!(totals(&summary), "2 hosts in 1.50s: 1 ok, 1 refused\n");
    }

    #[test]
    fn recap_lines_up_a_cjk_host_name() {
        let summary = RunSummary {
            outcomes: vec![
                outcome("服务器-1", HostStatus::Ok, Some(0)),
                outcome("web01", HostStatus::Failed, Some(2)),
            ],
            ok: 1,
            failed: 1,
            duration: Duration::from_millis(1500),
            ..Default::default()
        };
        let plain = anstream::adapter::strip_str(&recap(&summary)).to_string();
        assert_eq!(
            plain,
            "\nRECAP\n服务器-1  ok\nweb01     failed       rc=2\n2 hosts in 1.50s: 1 ok, 1 failed\n"
        );
    }
}

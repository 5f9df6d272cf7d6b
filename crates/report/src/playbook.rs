//! Human output of playbook runs: PLAY and TASK headers, a line per host and task, the PLAY
//! RECAP, then a digest of every failure that cannot scroll away unnoticed.

use anstyle::{AnsiColor, Style};

use clearfleet_events::{RunSummary, TaskResult, TaskStatus};

fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(title.chars().count() + 1).max(3);
    format!("\n{title} {}\n", "*".repeat(stars))
}

pub fn play_header(name: &str) -> String {
    banner(&format!("PLAY [{name}]"))
}

pub fn task_header(name: &str, handler: bool) -> String {
    banner(&format!(
        "{} [{name}]",
        if handler { "RUNNING HANDLER" } else { "TASK" }
    ))
}

fn style(status: TaskStatus) -> Style {
    let color = match status {
        TaskStatus::Ok => AnsiColor::Green,
        TaskStatus::Changed | TaskStatus::Ignored => AnsiColor::Yellow,
        TaskStatus::Skipped => AnsiColor::Cyan,
        TaskStatus::Failed | TaskStatus::Unreachable => AnsiColor::Red,
    };
    Style::new().fg_color(Some(color.into()))
}

/// `changed: [web01] => (item=a)` and, on failure or with `verbose`, the message and output
/// as real lines.
pub fn task_line(r: &TaskResult, verbose: bool) -> String {
    let st = style(r.status);
    let label = match r.status {
        TaskStatus::Failed => "fatal",
        TaskStatus::Ignored => "failed (ignored)",
        other => other.as_str(),
    };
    let mut s = format!("{st}{label}: [{}]", r.host);
    if let Some(item) = &r.item {
        s.push_str(&format!(" => (item={item})"));
    }
    if let Some(msg) = r.msg.as_ref().filter(|m| !m.trim().is_empty())
        && (verbose
            || matches!(
                r.status,
                TaskStatus::Failed | TaskStatus::Unreachable | TaskStatus::Ignored
            )
            || task_is_debug(r))
    {
        s.push_str(&format!(": {msg}"));
    }
    s.push_str(&format!("{st:#}\n"));
    let show_output = verbose || matches!(r.status, TaskStatus::Failed | TaskStatus::Ignored);
    if show_output {
        if let Some(rc) = r.rc.filter(|rc| *rc != 0) {
            s.push_str(&format!("  rc: {rc}\n"));
        }
        for (name, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            if !text.trim().is_empty() {
                s.push_str(&format!("  {name}:\n"));
                for line in text.lines() {
                    s.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    if let Some(diff) = &r.diff {
        s.push_str(diff);
        if !diff.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// A result that only carries a message (what `debug` prints).
fn task_is_debug(r: &TaskResult) -> bool {
    r.stdout.is_empty() && r.status == TaskStatus::Ok && r.msg.is_some()
}

/// The PLAY RECAP, hosts in inventory order.
pub fn recap(summary: &RunSummary) -> String {
    let width = summary
        .outcomes
        .iter()
        .map(|o| o.host.chars().count())
        .max()
        .unwrap_or(0);
    let mut s = banner("PLAY RECAP");
    for o in &summary.outcomes {
        let r = o.recap.unwrap_or_default();
        let pad = " ".repeat(width - o.host.chars().count());
        s.push_str(&format!(
            "{}{pad} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}\n",
            o.host, r.ok, r.changed, r.unreachable, r.failed, r.skipped, r.rescued, r.ignored
        ));
    }
    s.push_str(&interrupted(summary));
    s
}

/// Where Ctrl-C left each interrupted host (empty when none was).
pub fn interrupted(summary: &RunSummary) -> String {
    let hosts: Vec<_> = summary
        .outcomes
        .iter()
        .filter(|o| o.status == clearfleet_events::HostStatus::Interrupted)
        .collect();
    if hosts.is_empty() {
        return String::new();
    }
    let st = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    let mut s = format!(
        "\n{st}INTERRUPTED{st:#} ({} host{})\n",
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
    for o in hosts {
        s.push_str(&format!(
            "  {}: {}\n",
            o.host,
            o.error.as_deref().unwrap_or("interrupted")
        ));
    }
    s
}

/// Every failure of the run, grouped by cause (see `digest.rs`).
pub fn digest(summary: &RunSummary) -> String {
    super::digest::digest(summary)
}

//! Human output of playbook runs: PLAY and TASK headers, a line per host and task, the PLAY
//! RECAP, then a digest of every failure that cannot scroll away unnoticed.

use anstyle::{AnsiColor, Style};

use clearfleet_events::{Recap, RunSummary, TaskResult, TaskStatus};

/// `title` and stars to the 79th column (at least three), as Ansible draws it.
fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(super::text::width(title) + 1).max(3);
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
        TaskStatus::Changed | TaskStatus::Ignored | TaskStatus::UnreachableIgnored => {
            AnsiColor::Yellow
        }
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
        TaskStatus::UnreachableIgnored => "unreachable (ignored)",
        other => other.as_str(),
    };
    let mut s = match &r.delegated_to {
        Some(to) => format!("{st}{label}: [{} -> {to}]", r.host),
        None => format!("{st}{label}: [{}]", r.host),
    };
    if let Some(item) = &r.item {
        s.push_str(&format!(" => (item={item})"));
    }
    if let Some(msg) = r.msg.as_ref().filter(|m| !m.trim().is_empty())
        && (verbose
            || matches!(
                r.status,
                TaskStatus::Failed
                    | TaskStatus::Unreachable
                    | TaskStatus::Ignored
                    | TaskStatus::UnreachableIgnored
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

/// The PLAY RECAP, hosts in inventory order: those that took part, as Ansible lists the hosts
/// its stats processed (a host no play selected, or that ran only `meta` tasks, counts nothing
/// and is left out unless it was interrupted).
pub fn recap(summary: &RunSummary) -> String {
    let listed: Vec<_> = summary
        .outcomes
        .iter()
        .filter(|o| {
            o.recap.is_some_and(|r| r != Recap::default())
                || o.status != clearfleet_events::HostStatus::Ok
        })
        .collect();
    let width = listed
        .iter()
        .map(|o| super::text::width(&o.host))
        .max()
        .unwrap_or(0);
    let mut s = banner("PLAY RECAP");
    for o in listed {
        let r = o.recap.unwrap_or_default();
        s.push_str(&format!(
            "{} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}\n",
            super::text::pad(&o.host, width), r.ok, r.changed, r.unreachable, r.failed, r.skipped, r.rescued, r.ignored
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

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_events::{HostOutcome, HostStatus};

    #[test]
    fn banners_and_the_recap_count_columns_not_characters() {
        // 79 columns wide, like an ASCII one: `TASK [启动]` takes 11 columns, not 9.
        let header = task_header("启动", false);
        assert_eq!(header, format!("\nTASK [启动] {}\n", "*".repeat(67)));
        assert_eq!(
            task_header("Start", false),
            format!("\nTASK [Start] {}\n", "*".repeat(66))
        );
        let summary = RunSummary {
            outcomes: ["服务器-1", "web01"]
                .map(|h| HostOutcome {
                    recap: Some(Recap {
                        ok: 1,
                        ..Recap::default()
                    }),
                    ..HostOutcome::new(h, HostStatus::Ok)
                })
                .into(),
            ..RunSummary::default()
        };
        let text = recap(&summary);
        let lines: Vec<&str> = text.lines().skip(2).collect();
        assert!(lines[0].starts_with("服务器-1 : ok=1 "), "{text}");
        assert!(lines[1].starts_with("web01    : ok=1 "), "{text}");
    }

    #[test]
    fn the_recap_leaves_out_hosts_that_took_no_part() {
        let host = |name: &str, ok: u32, status: HostStatus| HostOutcome {
            recap: Some(Recap {
                ok,
                ..Recap::default()
            }),
            ..HostOutcome::new(name, status)
        };
        let summary = RunSummary {
            outcomes: vec![
                host("web01", 2, HostStatus::Ok),
                host("outside-every-play", 0, HostStatus::Ok),
                host("stopped", 0, HostStatus::Interrupted),
            ],
            ..RunSummary::default()
        };
        let text = recap(&summary);
        let hosts: Vec<&str> = text
            .lines()
            .skip(2)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(hosts, ["web01", "stopped"], "{text}");
        // Columns fit the hosts listed, not the longest name of the inventory.
        assert!(text.contains("web01   : ok=2 "), "{text}");
    }
}

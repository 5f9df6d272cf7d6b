//! The failure digest: failures grouped by cause, so "3 hosts: host key changed" reads at a
//! glance instead of three copies of one message scattered over a long run.

use std::sync::LazyLock;

use anstyle::{AnsiColor, Style};
use regex::Regex;

use clearfleet_events::{HostOutcome, HostStatus, RunSummary};

/// One cause and the hosts that failed with it, in inventory order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The normalised message: host names, paths and numbers replaced.
    pub label: String,
    pub hosts: Vec<String>,
}

static PATH: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(~|\.{1,2})?/[^\s'"`,;:()\[\]]*"#).ok());
static NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b\d+(?:[.:]\d+)*(?:[a-zA-Z%]{0,3})?\b").ok());
static SPACES: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\s+").ok());

/// A message reduced to its cause: first line, host name, paths and numbers replaced.
pub fn normalise(message: &str, host: &str) -> String {
    let mut s = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_owned();
    if !host.is_empty() {
        s = replace_word(&s, host, "<host>");
    }
    for (re, with) in [(&PATH, "<path>"), (&NUMBER, "N"), (&SPACES, " ")] {
        if let Some(re) = re.as_ref() {
            s = re.replace_all(&s, with).into_owned();
        }
    }
    let s = s.trim();
    if s.is_empty() {
        "failed without a message".to_owned()
    } else {
        s.to_owned()
    }
}

/// `text` with `word` replaced where it stands alone: not inside a longer name (host `a` in
/// `task`, `web` in `webserver`).
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let alone = !before.is_some_and(is_name) && !after.is_some_and(|c| is_name(c) && c != '.');
        out.push_str(&rest[..at]);
        out.push_str(if alone { with } else { word });
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Why one host of `exec`, `ping` or `detect` did not end ok, or `None` if it did.
pub fn host_cause(o: &HostOutcome) -> Option<String> {
    match (o.status, &o.error, o.rc) {
        (HostStatus::Ok, _, _) => None,
        (HostStatus::Interrupted, _, _) => Some("interrupted".to_owned()),
        (_, Some(e), _) => Some(e.clone()),
        (_, None, Some(rc)) => Some(format!("exit status {rc}")),
        (HostStatus::Unreachable, None, None) => Some("unreachable".to_owned()),
        (_, None, None) => Some("failed".to_owned()),
    }
}

/// The causes of a run's failures: a playbook's failed tasks (`task (location): message`) or each failed
/// host's error, grouped by normalised cause, most hosts first.
pub fn causes(summary: &RunSummary) -> Vec<Cause> {
    let mut groups: Vec<Cause> = Vec::new();
    let mut add = |label: String, host: &str| match groups.iter_mut().find(|c| c.label == label) {
        Some(c) if !c.hosts.iter().any(|h| h == host) => c.hosts.push(host.to_owned()),
        Some(_) => {}
        None => groups.push(Cause {
            label,
            hosts: vec![host.to_owned()],
        }),
    };
    for o in &summary.outcomes {
        if o.failures.is_empty() {
            if let Some(why) = host_cause(o) {
                add(normalise(&why, &o.host), &o.host);
            }
        } else {
            for (task, location, msg) in &o.failures {
                let task = normalise(task, &o.host);
                let msg = normalise(msg, &o.host);
                add(format!("{task} ({location}): {msg}"), &o.host);
            }
        }
    }
    // Stable: equal counts keep their first-seen order.
    groups.sort_by_key(|c| std::cmp::Reverse(c.hosts.len()));
    groups
}

/// The digest printed at the end of human output; empty when nothing failed.
pub fn digest(summary: &RunSummary) -> String {
    let causes = causes(summary);
    if causes.is_empty() {
        return String::new();
    }
    let bold = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let mut s = format!(
        "\n{bold}FAILURES ({} cause{}){bold:#}\n",
        causes.len(),
        if causes.len() == 1 { "" } else { "s" }
    );
    for c in causes {
        let n = c.hosts.len();
        s.push_str(&format!(
            "  {n} host{}: {}\n    {}\n",
            if n == 1 { "" } else { "s" },
            c.label,
            c.hosts.join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(host: &str, error: &str) -> HostOutcome {
        HostOutcome {
            error: Some(error.to_owned()),
            ..HostOutcome::new(host, HostStatus::Failed)
        }
    }

    #[test]
    fn messages_differing_in_hosts_numbers_and_paths_group_together() {
        let summary = RunSummary {
            outcomes: vec![
                failed("web01", "host key changed for web01 (127.0.0.1:2201)"),
                failed(
                    "db",
                    "not enough disk for backup: need 12 GB in /srv/a, have 3 GB",
                ),
                failed("web02", "host key changed for web02 (127.0.0.1:2202)"),
                HostOutcome::new("ok1", HostStatus::Ok),
                failed(
                    "db2",
                    "not enough disk for backup: need 7 GB in /data/b, have 1 GB",
                ),
                failed("web03", "host key changed for web03 (10.0.0.3:22)\ndetails"),
            ],
            ..Default::default()
        };
        let plain = anstream::adapter::strip_str(&digest(&summary)).to_string();
        assert_eq!(
            plain,
            "\nFAILURES (2 causes)\n  3 hosts: host key changed for <host> (N)\n    web01, web02, web03\n  2 hosts: not enough disk for backup: need N GB in <path>, have N GB\n    db, db2\n"
        );
    }

    #[test]
    fn playbook_failures_group_by_task_and_message() {
        let mut a = HostOutcome::new("a", HostStatus::Failed);
        a.failures = vec![("Check".into(), "p.yml:3:5".into(), "rc 2 on a".into())];
        let mut b = HostOutcome::new("b", HostStatus::Failed);
        b.failures = vec![("Check".into(), "p.yml:3:5".into(), "rc 4 on b".into())];
        let summary = RunSummary {
            outcomes: vec![a, b],
            ..Default::default()
        };
        assert_eq!(
            causes(&summary),
            vec![Cause {
                label: "Check (p.yml:3:5): rc N on <host>".into(),
                hosts: vec!["a".into(), "b".into()]
            }]
        );
        assert_eq!(digest(&RunSummary::default()), "");
    }

    #[test]
    fn a_host_name_inside_another_word_is_kept() {
        assert_eq!(
            normalise("command on a: a task has a problem", "a"),
            "command on <host>: <host> task has <host> problem"
        );
        assert_eq!(
            normalise("webserver web down; web.", "web"),
            "webserver <host> down; <host>."
        );
    }
}

//! `junit.xml`: the run as test results, so CI systems show failed hosts like failed tests
//! (testsuites/testsuite/testcase with failure, error and skipped, counts consistent).

use super::{HostRecord, Report, RunKind};
use clearfleet_base::time;
use clearfleet_events::HostStatus;

/// Text safe in XML attributes and content: escaped, without characters XML 1.0 forbids.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// How a test case ended.
enum Outcome {
    Passed,
    Failed(String),
    Error(String),
    Skipped(String),
}

struct Case {
    name: String,
    time_ms: u64,
    outcome: Outcome,
    /// `upgrade`: the host's label (the `type` of its failure, error or skipped element).
    label: Option<&'static str>,
    /// `<property name=... value=...>` of the test case (`label`, `downtime_ms`...).
    properties: Vec<(&'static str, String)>,
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// A host's one test case for `exec`, `ping`, `detect` and `upgrade`.
fn host_case(h: &HostRecord) -> Case {
    let why = || {
        h.failure
            .clone()
            .unwrap_or_else(|| h.status_word().to_owned())
    };
    let outcome = match h.status {
        Some(HostStatus::Ok) => Outcome::Passed,
        Some(HostStatus::Failed) => Outcome::Failed(why()),
        Some(HostStatus::Unreachable) => Outcome::Error(why()),
        Some(HostStatus::Interrupted | HostStatus::Refused) | None => Outcome::Skipped(why()),
    };
    let mut properties = Vec::new();
    if let Some(l) = h.label {
        properties.push(("label", l.as_str().to_owned()));
    }
    if let Some(d) = &h.downtime {
        properties.push(("downtime_ms", d.duration_ms.to_string()));
        properties.push(("still_down", d.still_down.to_string()));
    }
    Case {
        name: h.host.clone(),
        time_ms: h.duration_ms,
        outcome,
        label: h.label.map(|l| l.as_str()),
        properties,
    }
}

/// A host's test case for one play: its first failed or unreachable task decides.
fn play_case(h: &HostRecord, play: &str) -> Case {
    let steps: Vec<_> = h
        .steps
        .iter()
        .filter(|s| s.play.as_deref() == Some(play))
        .collect();
    let describe = |s: &super::Step| match &s.msg {
        Some(m) if !m.trim().is_empty() => format!("{}: {m}", s.name),
        _ => s.name.clone(),
    };
    let outcome = if let Some(s) = steps.iter().find(|s| s.status == "failed") {
        Outcome::Failed(describe(s))
    } else if let Some(s) = steps.iter().find(|s| s.status == "unreachable") {
        Outcome::Error(describe(s))
    } else if steps.is_empty() && matches!(h.status, Some(HostStatus::Interrupted) | None) {
        Outcome::Skipped(h.status_word().to_owned())
    } else {
        Outcome::Passed
    };
    Case {
        name: h.host.clone(),
        time_ms: steps
            .iter()
            .fold(0u64, |t, s| t.saturating_add(s.duration_ms)),
        outcome,
        label: None,
        properties: Vec::new(),
    }
}

fn suite(out: &mut String, name: &str, classname: &str, timestamp: &str, cases: &[Case]) {
    let count = |f: fn(&Outcome) -> bool| cases.iter().filter(|c| f(&c.outcome)).count();
    let failures = count(|o| matches!(o, Outcome::Failed(_)));
    let errors = count(|o| matches!(o, Outcome::Error(_)));
    let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
    let time = cases.iter().fold(0u64, |t, c| t.saturating_add(c.time_ms));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{}\" timestamp=\"{timestamp}\">\n",
        xml_escape(name),
        cases.len(),
        secs(time)
    ));
    for c in cases {
        let open = format!(
            "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
            xml_escape(&c.name),
            xml_escape(classname),
            secs(c.time_ms)
        );
        let properties: String = if c.properties.is_empty() {
            String::new()
        } else {
            let mut p = String::from("      <properties>\n");
            for (name, value) in &c.properties {
                p.push_str(&format!(
                    "        <property name=\"{name}\" value=\"{}\"/>\n",
                    xml_escape(value)
                ));
            }
            p.push_str("      </properties>\n");
            p
        };
        let (tag, kind, msg) = match &c.outcome {
            Outcome::Passed if properties.is_empty() => {
                out.push_str(&format!("{open}/>\n"));
                continue;
            }
            Outcome::Passed => {
                out.push_str(&format!("{open}>\n{properties}    </testcase>\n"));
                continue;
            }
            Outcome::Failed(m) => ("failure", "failed", m),
            Outcome::Error(m) => ("error", "unreachable", m),
            Outcome::Skipped(m) => ("skipped", "interrupted", m),
        };
        let kind = c.label.unwrap_or(kind);
        let first = msg.lines().next().unwrap_or("");
        out.push_str(&format!(
            "{open}>\n{properties}      <{tag} message=\"{}\" type=\"{kind}\">{}</{tag}>\n    </testcase>\n",
            xml_escape(first),
            xml_escape(msg)
        ));
    }
    out.push_str("  </testsuite>\n");
}

pub fn junit(r: &Report) -> String {
    let timestamp = time::rfc3339(r.start);
    // JUnit timestamps carry no zone; the time is UTC.
    let timestamp = timestamp.trim_end_matches('Z').to_owned();
    let mut suites = String::new();
    let mut all: Vec<Case> = Vec::new();
    let classname = format!("clearfleet.{}", r.command);
    if r.kind == RunKind::Playbook {
        for play in &r.plays {
            let cases: Vec<Case> = play
                .hosts
                .iter()
                .filter_map(|name| r.hosts.iter().find(|h| &h.host == name))
                .map(|h| play_case(h, &play.name))
                .collect();
            suite(&mut suites, &play.name, &play.name, &timestamp, &cases);
            all.extend(cases);
        }
    } else {
        let cases: Vec<Case> = r.hosts.iter().map(host_case).collect();
        suite(&mut suites, &r.command, &classname, &timestamp, &cases);
        all.extend(cases);
    }
    let count = |f: fn(&Outcome) -> bool| all.iter().filter(|c| f(&c.outcome)).count();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"clearfleet {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n{suites}</testsuites>\n",
        xml_escape(&r.command),
        all.len(),
        count(|o| matches!(o, Outcome::Failed(_))),
        count(|o| matches!(o, Outcome::Error(_))),
        count(|o| matches!(o, Outcome::Skipped(_))),
        secs(r.duration_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{1b}[0m\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}[0m\n"
        );
    }
}

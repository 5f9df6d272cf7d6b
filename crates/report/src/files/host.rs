//! `hosts/<host>.md`: one host's page, readable as plain text and rendered by any Markdown viewer.

use std::time::Duration;

use super::{HostRecord, Step};
use crate::{human_duration, labels};

/// A fenced block that no backtick run inside `text` can close early.
fn fenced(lang: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// A table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `+1.23s`: a step's start from the host's.
fn offset(ms: u64) -> String {
    format!("+{}", human_duration(Duration::from_millis(ms)))
}

pub fn markdown(h: &HostRecord) -> String {
    let status = h.label.map_or_else(|| h.status_word(), labels::words);
    let mut s = format!("# {}: {status}\n\n", h.host);
    s.push_str(&format!("- status: {}\n", h.status_word()));
    if let Some(l) = h.label {
        s.push_str(&format!(
            "- label: {} (`{}`)\n",
            labels::words(l),
            l.as_str()
        ));
    }
    s.push_str(&format!("- duration: {} ms\n", h.duration_ms));
    if h.label.is_some() {
        s.push_str(&match &h.downtime {
            None => "- downtime: none (the server was never stopped)\n".to_owned(),
            Some(d) => format!(
                "- downtime: {} ms{}\n",
                d.duration_ms,
                if d.still_down {
                    " (still down at the end of its run)"
                } else {
                    ""
                }
            ),
        });
    }
    if let Some(rc) = h.rc {
        s.push_str(&format!("- rc: {rc}\n"));
    }
    if h.version_before.is_some() || h.version_after.is_some() {
        let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "?".to_owned());
        s.push_str(&format!(
            "- version: {} → {}\n",
            v(&h.version_before),
            v(&h.version_after)
        ));
    }
    if !h.hops_done.is_empty() {
        s.push_str(&format!("- hops done: {}\n", h.hops_done.join(" → ")));
    }
    if let Some(r) = &h.result {
        s.push_str(&format!("- result: {}\n", cell(r)));
    }
    if let Some(b) = &h.backup {
        s.push_str(&format!("- backup: {b}\n"));
    }
    if let Some(v) = &h.verdict {
        s.push_str(&format!("- verdict: {v}\n"));
    }
    if let Some(f) = &h.failure {
        s.push_str(&format!("- failure: {}\n", cell(f)));
    }
    if let Some(r) = &h.recap {
        s.push_str(&format!(
            "- recap: ok={} changed={} unreachable={} failed={} skipped={} rescued={} ignored={}\n",
            r.ok, r.changed, r.unreachable, r.failed, r.skipped, r.rescued, r.ignored
        ));
    }
    s.push_str("\n[Back to the fleet](../index.html)\n");
    if !h.hops_planned.is_empty() {
        let from = h.version_before.as_deref().unwrap_or("?");
        s.push_str(&format!(
            "\n## Plan\n\n{from} → {}\n",
            h.hops_planned.join(" → ")
        ));
    }
    if let Some(b) = &h.backup {
        s.push_str(&format!("\n## Backup\n\n- directory: `{b}`\n"));
        for m in &h.backup_manifests {
            s.push_str(&format!("- manifest: `{m}`\n"));
        }
        if let Some(state) = &h.backup_state {
            s.push_str(&format!("- state: {state}\n"));
        }
    }
    let host_start = h.start_ms.unwrap_or(0);
    if !h.steps.is_empty() {
        s.push_str("\n## Steps\n\n| # | step | status | start | duration | rc |\n|---|---|---|---|---|---|\n");
        for (i, st) in h.steps.iter().enumerate() {
            let name = match &st.item {
                Some(item) => format!("{} (item={item})", st.name),
                None => st.name.clone(),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} ms | {} |\n",
                i + 1,
                cell(&name),
                st.status,
                offset(st.start_ms.saturating_sub(host_start)),
                st.duration_ms,
                st.rc.map(|r| r.to_string()).unwrap_or_default()
            ));
        }
        let failed = |st: &Step| st.status == "failed" || st.status == "unreachable";
        if h.steps.iter().any(failed) {
            s.push_str("\n## Failed commands\n");
            for (i, st) in h.steps.iter().enumerate().filter(|(_, st)| failed(st)) {
                details(&mut s, i, st);
            }
        }
        let shown = |st: &Step| {
            st.msg.as_ref().is_some_and(|m| !m.trim().is_empty())
                || !st.stdout_tail.is_empty()
                || !st.stderr_tail.is_empty()
                || st.diff.is_some()
        };
        if h.steps.iter().any(|st| !failed(st) && shown(st)) {
            s.push_str("\n## Output of the other steps\n");
            for (i, st) in h.steps.iter().enumerate() {
                if !failed(st) && shown(st) {
                    details(&mut s, i, st);
                }
            }
        }
    }
    if !h.next.is_empty() {
        s.push_str("\n## What to do next\n\n");
        for line in &h.next {
            s.push_str(&format!("{line}\n\n"));
        }
    }
    for (title, value) in [("Detected state", &h.detected), ("Plan (JSON)", &h.plan)] {
        if let Some(v) = value {
            let text = serde_json::to_string_pretty(v).unwrap_or_default();
            s.push_str(&format!("\n## {title}\n\n{}", fenced("json", &text)));
        }
    }
    s
}

/// A step's message, output tails and diff, under its own heading.
fn details(s: &mut String, i: usize, st: &Step) {
    s.push_str(&format!(
        "\n### {}. {} ({})\n\n",
        i + 1,
        cell(&st.name),
        st.status,
    ));
    if let Some(loc) = &st.location {
        s.push_str(&format!("at `{loc}`\n\n"));
    }
    if let Some(m) = st.msg.as_ref().filter(|m| !m.trim().is_empty()) {
        s.push_str(&format!("message:\n\n{}\n", fenced("", m)));
    }
    for (name, text) in [("stdout", &st.stdout_tail), ("stderr", &st.stderr_tail)] {
        if !text.is_empty() {
            s.push_str(&format!("{name} (last lines):\n\n{}\n", fenced("", text)));
        }
    }
    if let Some(d) = &st.diff {
        s.push_str(&format!("diff:\n\n{}\n", fenced("diff", d)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fenced("", "a ``` b\n"), "````\na ``` b\n````\n");
        assert_eq!(fenced("json", "{}"), "```json\n{}\n```\n");
    }
}

//! `index.html`: one self-contained page (inline CSS and JS; nothing fetched). At the top the
//! fleet at a glance: one compact row per host on a shared time axis (its phases as segments,
//! the failing step marked, the downtime under them), failures first, with the counts by
//! status and by version; below it a section per host (open for the hosts that need a look).

use super::junit::xml_escape as esc;
use super::timeline::{self, duration, failed};
use super::{HostRecord, PENDING, Report};
use crate::labels;
use clearfleet_base::time;
use clearfleet_events::{HostStatus, UpgradeLabel};

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1em 1.5em;color:#222}\
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .4em}.muted{color:#666}\
#fleet{border-collapse:collapse;width:100%;table-layout:fixed;margin:.5em 0}\
#fleet th{position:sticky;top:0;z-index:2;background:#f3f3f3;cursor:pointer;user-select:none;text-align:left;vertical-align:bottom}\
#fleet td,#fleet th{padding:1px 6px;border-bottom:1px solid #e6e6e6;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-size:12.5px}\
#fleet th.tl{cursor:default}col.c-host{width:10em}col.c-status{width:13em}col.c-version{width:9em}col.c-num{width:5.5em}\
.axis{position:relative;height:15px;font-weight:normal;color:#555}.tick{position:absolute;top:0;padding-left:2px;border-left:1px solid #999;font-size:11px}\
.track{position:relative;height:17px;background:#fafafa}\
.seg{position:absolute;top:0;height:13px;box-sizing:border-box;border-right:1px solid #fff;font-size:10px;line-height:13px;padding-left:2px;overflow:hidden;white-space:nowrap;color:#1b3d1f}\
.o-ok{background:#a5d6a7}.seg.p-hop.o-ok{background:#66bb6a}.seg.p-detect.o-ok,.seg.p-other.o-ok{background:#c8e6c9}\
.o-failed{background:repeating-linear-gradient(45deg,#c62828 0 4px,#e57373 4px 8px);color:#fff;font-weight:bold}\
.o-unreachable{background:repeating-linear-gradient(90deg,#6a1b9a 0 2px,#ce93d8 2px 5px);color:#fff}\
.o-rollback{background:repeating-linear-gradient(-45deg,#ffb300 0 4px,#ffe082 4px 8px);color:#4e342e}\
.failmark{position:absolute;top:-1px;height:17px;width:0;border-left:3px solid #000;margin-left:-2px}\
.down{position:absolute;bottom:0;height:3px;background:repeating-linear-gradient(90deg,#222 0 4px,transparent 4px 6px)}\
.legend span{display:inline-block;margin-right:1em}.legend .sw{position:static;display:inline-block;width:3em;height:12px;vertical-align:middle;margin-right:.3em}\
.lbl{font-weight:bold}.s-ok{color:#1b5e20}.s-failed{color:#b71c1c}.s-unreachable{color:#6a1b9a}.s-interrupted,.s-pending{color:#8a5300}.s-refused{color:#0d47a1}\
details{border-top:1px solid #ddd;padding:.2em 0}summary{cursor:pointer}details>div{margin:.3em 0 .6em 1.2em}\
.steps{border-collapse:collapse;font-size:12px}.steps td,.steps th{padding:0 .6em 0 0;text-align:left;vertical-align:top}\
pre{background:#f6f6f6;padding:.4em;overflow:auto;max-height:20em;font-size:12px;margin:.2em 0}#counts{margin:.3em 0}";

const SCRIPT: &str = r#"(function () {
  var table = document.getElementById('fleet');
  var filter = document.getElementById('filter');
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  function counts() {
    var c = {hosts: rows.length, shown: 0, ok: 0, failed: 0, unreachable: 0, interrupted: 0, refused: 0, pending: 0};
    rows.forEach(function (r) {
      var s = r.getAttribute('data-status');
      if (Object.prototype.hasOwnProperty.call(c, s)) { c[s] += 1; }
      if (r.style.display !== 'none') { c.shown += 1; }
    });
    var el = document.getElementById('counts');
    var text = [];
    Object.keys(c).forEach(function (k) {
      el.setAttribute('data-' + k, String(c[k]));
      text.push(k + '=' + c[k]);
    });
    el.textContent = text.join(' ');
  }
  function apply() {
    rows.forEach(function (r) {
      var keep = filter.value === 'all' || r.getAttribute('data-status') === filter.value;
      r.style.display = keep ? '' : 'none';
    });
    counts();
  }
  filter.addEventListener('change', function () {
    history.replaceState(null, '', filter.value === 'all' ? '#' : '#status=' + filter.value);
    apply();
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    if (th.className === 'tl') { return; }
    th.addEventListener('click', function () {
      var asc = th.getAttribute('data-asc') !== 'true';
      th.setAttribute('data-asc', String(asc));
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute('data-key') || a.cells[col].textContent;
        var y = b.cells[col].getAttribute('data-key') || b.cells[col].textContent;
        var nx = Number(x), ny = Number(y);
        var d = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? d : -d;
      });
      rows.forEach(function (r) { table.tBodies[0].appendChild(r); });
    });
  });
  // `index.html#status=failed` opens filtered.
  var m = /^#status=(\w+)$/.exec(location.hash);
  if (m && filter.querySelector('option[value="' + m[1] + '"]')) { filter.value = m[1]; }
  apply();
  // How long the page took, for measurements (docs/performance.md): at the end of this
  // script (the whole document parsed and laid out once) and at the load event.
  var root = document.documentElement;
  root.setAttribute('data-script-ms', performance.now().toFixed(1));
  root.getBoundingClientRect();
  window.addEventListener('load', function () {
    root.setAttribute('data-load-ms', performance.now().toFixed(1));
  });
})();"#;

/// The words of a host's status on the page: its upgrade label (`failed (rolled back)`,
/// `up to date`...), else its status (`ok`, `failed`, `pending`...).
fn label(h: &HostRecord) -> &'static str {
    h.label.map_or_else(|| h.status_word(), labels::words)
}

/// How soon a host is listed: failures first (the labels' own order, worst first), hosts that
/// ended well last.
fn rank(h: &HostRecord) -> usize {
    if let Some(l) = h.label {
        return UpgradeLabel::ALL
            .iter()
            .position(|x| *x == l)
            .unwrap_or(UpgradeLabel::ALL.len());
    }
    let worst = |l: UpgradeLabel| UpgradeLabel::ALL.iter().position(|x| *x == l).unwrap_or(0);
    match h.status {
        Some(HostStatus::Failed) => worst(UpgradeLabel::Failed),
        Some(HostStatus::Unreachable) => worst(UpgradeLabel::Unreachable),
        Some(HostStatus::Interrupted) => worst(UpgradeLabel::Interrupted),
        Some(HostStatus::Refused) => worst(UpgradeLabel::Refused),
        None => worst(UpgradeLabel::Refused) + 1,
        Some(HostStatus::Ok) => UpgradeLabel::ALL.len(),
    }
}

/// A mark beside the words, so a status reads without its colour.
fn glyph(label: &str) -> &'static str {
    match label {
        "upgraded" => "▲",
        "ok" | "up to date" | "would upgrade" | "newer than known" | "no server" => "✔",
        "refused" => "⊘",
        "unreachable" => "⚠",
        "interrupted" => "‖",
        "not attempted" => "–",
        PENDING => "…",
        "rollback failed" => "‼",
        "would roll back" => "↺",
        _ => "✖",
    }
}

/// The span of the host's downtime on the axis, when known.
fn down_span(h: &HostRecord) -> Option<(u64, u64)> {
    h.downtime.map(|d| (d.from_ms, d.to_ms))
}

/// Text with `code` in backticks (the next-step lines) as HTML.
fn with_code(text: &str) -> String {
    esc(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_owned()
            }
        })
        .collect()
}

/// Versions sorted as versions (`1.9.0` before `1.12.1`), anything else after them.
fn version_key(v: &str) -> (Vec<u64>, String) {
    let nums = v
        .split(['.', '-', '–'])
        .map_while(|p| p.parse::<u64>().ok())
        .collect();
    (nums, v.to_owned())
}

/// `1.12.1 ×3 · 2.0.0 ×1`: how many hosts run each version.
fn version_counts<'a>(versions: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for v in versions {
        let v = v.unwrap_or("unknown");
        match counts.iter_mut().find(|(x, _)| x == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v.to_owned(), 1)),
        }
    }
    counts.sort_by_key(|(v, _)| (v == "unknown", version_key(v)));
    counts
        .iter()
        .map(|(v, n)| format!("<span class=\"ver\">{} ×{n}</span>", esc(v)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `3 upgraded · 1 refused`: how many hosts have each status, in the order of the rows.
fn label_counts(hosts: &[&HostRecord]) -> String {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for h in hosts {
        let l = label(h);
        match counts.iter_mut().find(|(x, _)| *x == l) {
            Some((_, n)) => *n += 1,
            None => counts.push((l, 1)),
        }
    }
    counts
        .iter()
        .map(|(l, n)| {
            format!(
                "<span class=\"count\" data-label=\"{l}\">{n} <span class=\"lbl\">{} {l}</span></span>",
                glyph(l),
                l = esc(l)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The end of the shared axis: the run, or its last step if the clock says less.
fn axis_end(r: &Report) -> u64 {
    let steps = r.hosts.iter().flat_map(|h| {
        h.steps
            .iter()
            .map(|s| s.start_ms.saturating_add(s.duration_ms))
            .chain(h.end_ms)
    });
    steps.fold(r.duration_ms, u64::max).max(1)
}

fn row(h: &HostRecord, r: &Report, total_ms: u64) -> String {
    let v = |x: &Option<String>| x.as_deref().map(esc).unwrap_or_else(|| "-".to_owned());
    let l = label(h);
    let down = down_span(h);
    let down_ms = h.downtime.map(|d| d.duration_ms);
    let still = if h.downtime.is_some_and(|d| d.still_down) {
        "+"
    } else {
        ""
    };
    format!(
        "<tr class=\"host\" data-status=\"{st}\" data-label=\"{le}\"><td><a href=\"#host-{stem}\">{host}</a></td><td class=\"lbl s-{st}\" data-key=\"{rank}\">{g} {le}</td><td>{} → {}</td><td data-key=\"{d}\">{}</td><td data-key=\"{dk}\">{}</td><td>{}</td></tr>\n",
        v(&h.version_before),
        v(&h.version_after),
        duration(h.duration_ms),
        down_ms
            .map(|d| format!("{}{still}", duration(d)))
            .unwrap_or_else(|| "-".to_owned()),
        timeline::track(h, r.kind, total_ms, down),
        st = h.status_word(),
        le = esc(l),
        g = glyph(l),
        rank = rank(h),
        stem = esc(&h.file_stem()),
        host = esc(&h.host),
        d = h.duration_ms,
        dk = down_ms.unwrap_or(0),
    )
}

/// The plan in words: `upgrade: set-fcv, then 1.17.1 → 2.0.0 → 2.3.0`.
fn plan_words(plan: &serde_json::Value) -> String {
    let kind = plan["kind"].as_str().unwrap_or("?");
    let list = |key: &str, f: &dyn Fn(&serde_json::Value) -> Option<String>| -> Vec<String> {
        plan[key]
            .as_array()
            .map(|a| a.iter().filter_map(f).collect())
            .unwrap_or_default()
    };
    let hops = list("hops", &|v| v.as_str().map(str::to_owned));
    let migrations = list("migrations", &|m| {
        let step = m["step"].as_str()?;
        Some(match m["version"].as_str() {
            Some(v) => format!("{step} ({v})"),
            None => step.to_owned(),
        })
    });
    let mut s = kind.to_owned();
    if !migrations.is_empty() {
        s.push_str(&format!(": migrate {}", migrations.join(", ")));
    }
    if !hops.is_empty() {
        s.push_str(if migrations.is_empty() {
            ": "
        } else {
            ", then "
        });
        s.push_str(&hops.join(" → "));
    }
    for key in ["reason", "version", "backup", "step"] {
        if let Some(x) = plan[key].as_str() {
            s.push_str(&format!(" ({key}: {x})"));
        }
    }
    s
}

fn section(h: &HostRecord, r: &Report) -> String {
    let l = label(h);
    let open = if h.status == Some(HostStatus::Ok) {
        ""
    } else {
        " open"
    };
    let stem = esc(&h.file_stem());
    let v = |x: &Option<String>| x.as_deref().map(esc).unwrap_or_else(|| "?".to_owned());
    let mut s = format!(
        "<details id=\"host-{stem}\" class=\"hostsec\" data-status=\"{st}\"{open}><summary><b>{}</b> <span class=\"lbl s-{st}\">{} {}</span> · {} → {} · {}</summary>\n<div>\n",
        esc(&h.host),
        glyph(l),
        esc(l),
        v(&h.version_before),
        v(&h.version_after),
        duration(h.duration_ms),
        st = h.status_word(),
    );
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(p) = &h.plan {
        facts.push(("plan", esc(&plan_words(p))));
    } else if let Some(v) = &h.verdict {
        facts.push(("plan", esc(v)));
    }
    if let Some(x) = &h.result {
        facts.push(("result", esc(x)));
    }
    if let Some(f) = &h.failure
        && h.result.as_deref() != Some(f)
    {
        facts.push(("failure", esc(f)));
    }
    if let Some(b) = &h.backup {
        facts.push(("backup", format!("<code>{}</code>", esc(b))));
    }
    if !h.backup_manifests.is_empty() {
        let list: Vec<String> = h
            .backup_manifests
            .iter()
            .map(|m| format!("<code>{}</code>", esc(m)))
            .collect();
        facts.push(("manifests", list.join("<br>")));
    }
    if let Some(b) = &h.backup_state {
        facts.push(("backup state", esc(b)));
    }
    if let Some(d) = &h.downtime {
        facts.push((
            "downtime",
            format!(
                "{} (at {} to {}{})",
                duration(d.duration_ms),
                duration(d.from_ms),
                duration(d.to_ms),
                if d.still_down {
                    ", no server answered by the end"
                } else {
                    ""
                }
            ),
        ));
    }
    facts.push((
        "pages",
        format!("<a href=\"hosts/{stem}.md\">{}</a> · <a href=\"hosts/{stem}.json\">hosts/{stem}.json</a>", esc(&h.host)),
    ));
    s.push_str("<table class=\"steps facts\">");
    for (k, v) in facts {
        s.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    }
    s.push_str("</table>\n");
    let shown = h.steps.iter().filter(|st| st.status != "skipping").count();
    let skipped = h.steps.len() - shown;
    if shown > 0 && h.status == Some(HostStatus::Ok) {
        // A host that ended well: its phases (each task is on its own page).
        s.push_str(&format!(
            "<p class=\"muted\">{} steps ({skipped} skipped) in these phases, times since the run started; every step is on <a href=\"hosts/{stem}.md\">its page</a>:</p>\n<table class=\"steps\"><tr><th>phase</th><th>at</th><th>took</th><th>steps</th></tr>\n",
            h.steps.len()
        ));
        for seg in timeline::segments(h, r.kind) {
            s.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                esc(&seg.phase.label()),
                duration(seg.start_ms),
                duration(seg.end_ms.saturating_sub(seg.start_ms)),
                seg.steps.len()
            ));
        }
        s.push_str("</table>\n");
    } else if shown > 0 {
        // A host that needs a look: every step.
        s.push_str(&format!(
            "<p class=\"muted\">{} steps ({skipped} skipped, not listed); times since the run started:</p>\n<table class=\"steps\"><tr><th>phase</th><th>step</th><th>status</th><th>at</th><th>took</th></tr>\n",
            h.steps.len()
        ));
        for seg in timeline::segments(h, r.kind) {
            let phase = esc(&seg.phase.label());
            for st in seg.steps.iter().filter(|st| st.status != "skipping") {
                let name = match &st.item {
                    Some(item) => format!("{} (item={item})", st.name),
                    None => st.name.clone(),
                };
                let status = if failed(&st.status) {
                    format!("<b class=\"s-failed\">✖ {}</b>", esc(&st.status))
                } else {
                    esc(&st.status)
                };
                s.push_str(&format!(
                    "<tr><td>{phase}</td><td>{}</td><td>{status}</td><td>{}</td><td>{}</td></tr>\n",
                    esc(&name),
                    duration(st.start_ms),
                    duration(st.duration_ms)
                ));
            }
        }
        s.push_str("</table>\n");
    }
    for st in h
        .steps
        .iter()
        .filter(|st| failed(&st.status) || st.status == "ignored")
    {
        s.push_str(&format!(
            "<p class=\"failed-step\"><b>✖ {}</b> ({}{}){}</p>\n",
            esc(&st.name),
            esc(&st.status),
            st.rc.map(|rc| format!(", rc {rc}")).unwrap_or_default(),
            st.location
                .as_deref()
                .map(|l| format!(" at <code>{}</code>", esc(l)))
                .unwrap_or_default()
        ));
        if let Some(m) = st.msg.as_deref().filter(|m| !m.trim().is_empty()) {
            s.push_str(&format!("<pre class=\"msg\">{}</pre>\n", esc(m)));
        }
        for (name, text) in [("stdout", &st.stdout_tail), ("stderr", &st.stderr_tail)] {
            if !text.is_empty() {
                s.push_str(&format!(
                    "<div class=\"muted\">{name} (last lines)</div><pre>{}</pre>\n",
                    esc(text)
                ));
            }
        }
    }
    if !h.next.is_empty() {
        s.push_str("<p><b>Next</b></p>\n<ul class=\"next\">\n");
        for line in &h.next {
            s.push_str(&format!("<li>{}</li>\n", with_code(line)));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</div>\n</details>\n");
    s
}

const LEGEND: &str = "<p class=\"legend\"><span><span class=\"seg sw o-ok\"></span>done</span><span><span class=\"seg sw p-hop o-ok\"></span>hop (its version)</span><span><span class=\"seg sw o-failed\"></span>✖ failed phase, ▌ its failing step (hover: the task)</span><span><span class=\"seg sw o-rollback\"></span>rollback</span><span><span class=\"seg sw o-unreachable\"></span>unreachable</span><span><span class=\"sw down\" style=\"position:static;display:inline-block\"></span>server down</span></p>\n";

pub fn page(r: &Report) -> String {
    let title = format!("clearfleet {} · {}", r.command, r.run_id);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    s.push_str(&format!(
        "<p class=\"muted\">{} → {} · <code>{}</code></p>\n",
        time::rfc3339(r.start),
        time::rfc3339(r.end),
        esc(&r.command_line.join(" "))
    ));
    let mut hosts: Vec<&HostRecord> = r.hosts.iter().collect();
    hosts.sort_by_key(|h| rank(h));
    s.push_str(&format!(
        "<p id=\"totals\" data-hosts=\"{}\">{} hosts: {}</p>\n",
        hosts.len(),
        hosts.len(),
        label_counts(&hosts)
    ));
    let downs: Vec<(&HostRecord, u64)> = hosts
        .iter()
        .filter_map(|h| Some((*h, h.downtime?.duration_ms)))
        .collect();
    if let Some((worst, worst_ms)) = downs.iter().max_by_key(|(_, d)| *d) {
        s.push_str(&format!(
            "<p id=\"downtime\">downtime: {} in total over {} hosts, the worst {} ({})</p>\n",
            duration(downs.iter().map(|(_, d)| d).sum()),
            downs.len(),
            duration(*worst_ms),
            esc(&worst.host)
        ));
    }
    if hosts
        .iter()
        .any(|h| h.version_before.is_some() || h.version_after.is_some())
    {
        s.push_str(&format!(
            "<p id=\"versions\">versions before: {} → after: {}</p>\n",
            version_counts(hosts.iter().map(|h| h.version_before.as_deref())),
            version_counts(hosts.iter().map(|h| h.version_after.as_deref()))
        ));
    }
    s.push_str("<label>Status <select id=\"filter\"><option value=\"all\">all</option>");
    for st in [
        HostStatus::Ok.as_str(),
        HostStatus::Failed.as_str(),
        HostStatus::Unreachable.as_str(),
        HostStatus::Interrupted.as_str(),
        HostStatus::Refused.as_str(),
        PENDING,
    ] {
        s.push_str(&format!("<option value=\"{st}\">{st}</option>"));
    }
    s.push_str("</select></label>\n<div id=\"counts\"></div>\n");
    s.push_str(LEGEND);
    let total = axis_end(r);
    s.push_str(&format!(
        "<table id=\"fleet\" data-axis-ms=\"{total}\">\n<colgroup><col class=\"c-host\"><col class=\"c-status\"><col class=\"c-version\"><col class=\"c-num\"><col class=\"c-num\"><col></colgroup>\n<thead><tr><th>host</th><th>status</th><th>version</th><th title=\"from its first step to its last\">took</th><th title=\"its server down: from the stop to the health check that answered again; + no server answered by the end\">down</th><th class=\"tl\">{}</th></tr></thead>\n<tbody>\n",
        timeline::axis(total)
    ));
    for h in &hosts {
        s.push_str(&row(h, r, total));
    }
    s.push_str("</tbody>\n</table>\n<h2>Hosts</h2>\n");
    for h in &hosts {
        s.push_str(&section(h, r));
    }
    s.push_str(&format!(
        "<script>\n{SCRIPT}\n</script>\n</body>\n</html>\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_counted_in_version_order() {
        let v = ["2.3.0", "1.12.1", "1.9.0", "2.3.0"];
        let text = version_counts(v.iter().map(|s| Some(*s)).chain([None]));
        assert_eq!(
            text,
            "<span class=\"ver\">1.9.0 ×1</span> · <span class=\"ver\">1.12.1 ×1</span> · <span class=\"ver\">2.3.0 ×2</span> · <span class=\"ver\">unknown ×1</span>"
        );
    }

    #[test]
    fn plans_read_as_words() {
        let p = serde_json::json!({"kind": "upgrade", "migrations": [{"step": "set-fcv", "version": "5.0"}], "hops": ["1.17.1", "2.0.0"]});
        assert_eq!(
            plan_words(&p),
            "upgrade: migrate set-fcv (5.0), then 1.17.1 → 2.0.0"
        );
        let p = serde_json::json!({"kind": "up-to-date", "version": "2.3.0"});
        assert_eq!(plan_words(&p), "up-to-date (version: 2.3.0)");
    }

    #[test]
    fn failures_are_ranked_first() {
        let host = |label: Option<UpgradeLabel>, status: HostStatus| {
            let mut h = HostRecord::new("h");
            h.label = label;
            h.status = Some(status);
            h
        };
        let mut hosts = [
            host(Some(UpgradeLabel::Upgraded), HostStatus::Ok),
            host(Some(UpgradeLabel::Refused), HostStatus::Refused),
            host(Some(UpgradeLabel::RolledBack), HostStatus::Failed),
            host(Some(UpgradeLabel::RollbackFailed), HostStatus::Failed),
            host(None, HostStatus::Ok),
            host(Some(UpgradeLabel::Unreachable), HostStatus::Unreachable),
            host(None, HostStatus::Unreachable),
        ];
        hosts.sort_by_key(rank);
        let words: Vec<&str> = hosts.iter().map(label).collect();
        assert_eq!(
            words,
            [
                "rollback failed",
                "failed (rolled back)",
                "unreachable",
                "unreachable",
                "refused",
                "upgraded",
                "ok"
            ]
        );
    }

    #[test]
    fn a_command_run_has_a_row_and_a_section_per_host_failures_first_and_open() {
        let host = |name: &str, status: HostStatus| {
            let mut h = HostRecord::new(name);
            h.status = Some(status);
            h
        };
        let mut bad = host("web<2>", HostStatus::Failed);
        bad.failure = Some("command exited with status 3".to_owned());
        let r = Report {
            run_id: "run".to_owned(),
            command: "exec".to_owned(),
            command_line: vec!["clearfleet".to_owned(), "exec".to_owned()],
            kind: super::super::RunKind::Commands,
            start: std::time::SystemTime::UNIX_EPOCH,
            end: std::time::SystemTime::UNIX_EPOCH,
            duration_ms: 10,
            plays: Vec::new(),
            hosts: vec![host("web1", HostStatus::Ok), bad],
            exit_code: Some(2),
        };
        let html = page(&r);
        let rows: Vec<&str> = html.split("<tr class=\"host\"").skip(1).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with(" data-status=\"failed\" data-label=\"failed\"><td><a href=\"#host-web_2_\">web&lt;2&gt;</a>"), "{}", rows[0]);
        assert!(html.contains(
            "<details id=\"host-web_2_\" class=\"hostsec\" data-status=\"failed\" open>"
        ));
        assert!(html.contains("<details id=\"host-web1\" class=\"hostsec\" data-status=\"ok\">"));
        assert!(html.contains("<tr><th>failure</th><td>command exited with status 3</td></tr>"));
        assert!(!html.contains("<svg"), "no chart per host");
        assert!(
            !html.contains("id=\"versions\""),
            "no versions in a command run"
        );
    }

    #[test]
    fn next_steps_keep_their_commands_as_code() {
        assert_eq!(
            with_code("Then: `clearfleet upgrade --rerun failed` <now>"),
            "Then: <code>clearfleet upgrade --rerun failed</code> &lt;now&gt;"
        );
    }
}

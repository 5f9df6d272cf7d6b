//! `index.html`: one self-contained page (inline CSS, JS and SVG; nothing fetched) with the
//! fleet table, sortable and filterable by status, and a timeline of each host's steps.

use super::junit::xml_escape as esc;
use super::{HostRecord, PENDING, Report};
use clearfleet_base::time;
use clearfleet_events::HostStatus;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3;cursor:pointer;user-select:none}\
.ok{color:#17803d}.failed{color:#c62828}.unreachable{color:#8e24aa}.interrupted,.pending{color:#b26a00}.refused{color:#1565c0}\
.status{font-weight:bold}.timeline{margin:.2em 0 1em}.muted{color:#777}#counts{margin:.5em 0}";

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
})();"#;

fn color(status: &str) -> &'static str {
    match status {
        "ok" => "#43a047",
        "changed" => "#f9a825",
        "skipping" => "#90caf9",
        "failed" => "#e53935",
        "unreachable" => "#8e24aa",
        "ignored" => "#ffb74d",
        _ => "#9e9e9e",
    }
}

/// The host's steps over the run's time as bars, one row per step.
fn timeline(h: &HostRecord, total_ms: u64) -> String {
    const WIDTH: u64 = 800;
    const ROW: u64 = 14;
    let total = total_ms.max(1);
    let height = ROW * (h.steps.len() as u64).max(1) + 4;
    let mut s = format!(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"timeline of {}\">\n<rect x=\"0\" y=\"0\" width=\"{WIDTH}\" height=\"{height}\" fill=\"#fafafa\" stroke=\"#ddd\"/>\n",
        esc(&h.host)
    );
    for (i, st) in h.steps.iter().enumerate() {
        let x = st.start_ms.min(total).saturating_mul(WIDTH) / total;
        let w =
            (st.duration_ms.saturating_mul(WIDTH) / total).clamp(2, WIDTH.saturating_sub(x).max(2));
        let y = 2 + ROW * i as u64;
        s.push_str(&format!(
            "<rect class=\"step\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{} ({}, {} ms)</title></rect>\n",
            ROW - 3,
            color(&st.status),
            esc(&st.name),
            esc(&st.status),
            st.duration_ms
        ));
    }
    s.push_str("</svg>\n");
    s
}

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
    s.push_str(&format!(
        "<p>{} hosts: {} ok, {} failed, {} unreachable, {} interrupted, {} refused</p>\n",
        r.hosts.len(),
        r.count(HostStatus::Ok),
        r.count(HostStatus::Failed),
        r.count(HostStatus::Unreachable),
        r.count(HostStatus::Interrupted),
        r.count(HostStatus::Refused)
    ));
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
    s.push_str("<table id=\"fleet\">\n<thead><tr><th>host</th><th>status</th><th>version before → after</th><th>hops done</th><th>duration (ms)</th><th>failure</th></tr></thead>\n<tbody>\n");
    for h in &r.hosts {
        let v = |x: &Option<String>| x.as_deref().map(esc).unwrap_or_else(|| "-".to_owned());
        s.push_str(&format!(
            "<tr data-status=\"{st}\"><td><a href=\"hosts/{stem}.md\">{host}</a></td><td class=\"status {st}\">{st}</td><td>{} → {}</td><td>{}</td><td data-key=\"{d}\">{d}</td><td>{}</td></tr>\n",
            v(&h.version_before),
            v(&h.version_after),
            esc(&h.hops_done.join(" → ")),
            esc(h.failure.as_deref().unwrap_or("")),
            st = h.status_word(),
            stem = esc(&h.file_stem()),
            host = esc(&h.host),
            d = h.duration_ms,
        ));
    }
    s.push_str("</tbody>\n</table>\n<h2>Timelines</h2>\n");
    for h in &r.hosts {
        s.push_str(&format!(
            "<h3 id=\"host-{stem}\"><a href=\"hosts/{stem}.md\">{}</a> <span class=\"status {st}\">{st}</span></h3>\n",
            esc(&h.host),
            stem = esc(&h.file_stem()),
            st = h.status_word(),
        ));
        s.push_str(&timeline(h, r.duration_ms));
    }
    s.push_str(&format!(
        "<script>\n{SCRIPT}\n</script>\n</body>\n</html>\n"
    ));
    s
}

//! The `clearfleet detect` table: one row per host, in inventory order.

use super::text::{pad, width};
use clearfleet_clearml::plan::{Migration, Plan};
use clearfleet_clearml::state::Compose;
use clearfleet_events::{HostOutcome, HostStatus, RunSummary};

const HEADERS: [&str; 8] = [
    "HOST",
    "VERSION",
    "ELASTIC",
    "MONGO (FCV)",
    "REDIS",
    "ROOT",
    "COMPOSE",
    "VERDICT",
];

fn row(o: &HostOutcome) -> [String; 8] {
    let dash = || "-".to_owned();
    let Some(d) = &o.detected else {
        let verdict = match o.status {
            HostStatus::Unreachable => "unreachable".to_owned(),
            HostStatus::Interrupted => "interrupted".to_owned(),
            _ => format!(
                "error: {}",
                o.error
                    .as_deref()
                    .and_then(|e| e.lines().next())
                    .unwrap_or("?")
            ),
        };
        return [
            o.host.clone(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            verdict,
        ];
    };
    let s = &d.state;
    let version = match (s.version, s.version_range, s.version_probe) {
        (Some(v), _, Some(p)) => format!("{v} ({})", p.as_str()),
        (None, Some((lo, hi)), Some(p)) if lo == hi => format!("{lo} ({})", p.as_str()),
        (None, Some((lo, hi)), Some(p)) => format!("{lo}–{hi} ({})", p.as_str()),
        _ => dash(),
    };
    let mongo = match (&s.mongo, &s.mongo_fcv) {
        (Some(m), Some(f)) => format!("{m} ({f})"),
        (Some(m), None) => m.clone(),
        _ => dash(),
    };
    let compose = match s.compose {
        Some(Compose::V2) => "v2".to_owned(),
        Some(Compose::V1) => "v1".to_owned(),
        None => dash(),
    };
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(dash);
    [
        o.host.clone(),
        version,
        or_dash(&s.elasticsearch),
        mongo,
        or_dash(&s.redis),
        or_dash(&s.root),
        compose,
        d.verdict.clone(),
    ]
}

/// The table, with a blank line before it.
pub fn table(summary: &RunSummary) -> String {
    let rows: Vec<[String; 8]> = summary.outcomes.iter().map(row).collect();
    let mut widths = HEADERS.map(width);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&pad(cell, w + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = String::from("\n");
    out.push_str(&line(&HEADERS.map(str::to_owned)));
    for r in &rows {
        out.push_str(&line(r));
    }
    out
}

/// `clearfleet plan`: per host, where it stands and each step to the target.
pub fn plans(summary: &RunSummary) -> String {
    let host_width = summary
        .outcomes
        .iter()
        .map(|o| width(&o.host))
        .max()
        .unwrap_or(0);
    let mut out = String::from("\n");
    for o in &summary.outcomes {
        let host = pad(&o.host, host_width);
        let Some(d) = &o.detected else {
            let [.., verdict] = row(o);
            out.push_str(&format!("{host}  {verdict}\n"));
            continue;
        };
        let from = match (d.state.version, d.state.version_range) {
            (Some(v), _) => v.release().to_string(),
            (None, Some((lo, hi))) => format!("{lo}–{hi}"),
            _ => "?".to_owned(),
        };
        let line = match &d.plan {
            Plan::UpToDate { version } => format!("{} (up to date)", version.release()),
            Plan::Upgrade { migrations, hops } => {
                let mut steps = vec![from];
                for m in migrations {
                    steps.push(match m {
                        Migration::Es7 => "[Elasticsearch 5→7 migration]".to_owned(),
                        Migration::RenameRoot => "[mv /opt/trains /opt/clearml]".to_owned(),
                        Migration::Mongo44 => "[MongoDB 3.6→4.4 migration]".to_owned(),
                        Migration::SetFcv { version } => format!("[set MongoDB FCV {version}]"),
                    });
                }
                steps.extend(hops.iter().map(ToString::to_string));
                steps.join(" → ")
            }
            Plan::Resume { from, hops, backup } => {
                let hops: Vec<String> = hops.iter().map(ToString::to_string).collect();
                format!(
                    "{from} → [finish the interrupted upgrade] → {} (way back: {backup})",
                    hops.join(" → ")
                )
            }
            Plan::Recover { from, step, backup } => format!(
                "[roll back the upgrade interrupted in its {step} step] → {from} (from {backup})"
            ),
            Plan::Refused { reason } => format!("{from}: refused: {reason}"),
            Plan::Unknown { reason } => format!("{from}: cannot plan: {reason}"),
            Plan::NoServer => "no ClearML server".to_owned(),
            Plan::NewerThanKnown { version } => {
                format!("{version} (newer than known: left alone)")
            }
        };
        out.push_str(&format!("{host}  {line}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cjk_host_name_keeps_the_columns_aligned() {
        let summary = RunSummary {
            outcomes: vec![
                HostOutcome::new("服务器-1", HostStatus::Unreachable),
                HostOutcome::new("web01", HostStatus::Interrupted),
            ],
            ..RunSummary::default()
        };
        assert_eq!(
            table(&summary),
            "\nHOST      VERSION  ELASTIC  MONGO (FCV)  REDIS  ROOT  COMPOSE  VERDICT\n\
             服务器-1  -        -        -            -      -     -        unreachable\n\
             web01     -        -        -            -      -     -        interrupted\n"
        );
        assert_eq!(
            plans(&summary),
            "\n服务器-1  unreachable\nweb01     interrupted\n"
        );
    }
}

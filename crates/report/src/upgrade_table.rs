//! The closing table of `clearfleet upgrade`: one line per host saying what happened to it. The
//! one place an [`UpgradeOutcome`] becomes words (the table, the JSON Lines record and the
//! report directory all use [`UpgradeRow`]'s).

use anstyle::{AnsiColor, Style};
use serde::{Serialize, Serializer};

use super::downtime::Downtime;
use super::text::{pad, width};
use clearfleet_events::{BackupProgress, HostStatus, UpgradeLabel, UpgradeOutcome};

/// What the upgrade did to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRow {
    pub host: String,
    pub outcome: UpgradeOutcome,
    /// The backup directory, when one exists (see [`UpgradeOutcome::backup_exists`]).
    pub backup: Option<String>,
    /// How long its server did not answer ([`crate::downtime`]); `None` if it never stopped.
    pub downtime: Option<Downtime>,
}

/// A row as the JSON Lines record and the report directory spell it.
#[derive(Serialize)]
struct Words<'a> {
    host: &'a str,
    status: HostStatus,
    label: UpgradeLabel,
    result: String,
    backup: &'a Option<String>,
    downtime: &'a Option<Downtime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup_state: Option<String>,
}

impl Serialize for UpgradeRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Words {
            host: &self.host,
            status: self.status(),
            label: self.outcome.label(),
            result: self.result(),
            backup: &self.backup,
            downtime: &self.downtime,
            step: self.step(),
            backup_state: self.backup_state(),
        }
        .serialize(s)
    }
}

impl UpgradeRow {
    /// A row without a backup directory.
    pub fn new(host: &str, outcome: UpgradeOutcome) -> UpgradeRow {
        UpgradeRow {
            host: host.to_owned(),
            outcome,
            backup: None,
            downtime: None,
        }
    }

    pub fn status(&self) -> HostStatus {
        self.outcome.status()
    }

    /// What happened: `upgraded 1.12.1 → 2.3.0`, `up to date (2.3.0)`, `rolled back to ...`.
    pub fn result(&self) -> String {
        use UpgradeOutcome as O;
        match &self.outcome {
            O::Unreachable => "unreachable".to_owned(),
            O::DetectionFailed { error } => format!("detection failed: {error}"),
            O::UpToDate { version } => format!("up to date ({version})"),
            O::NewerThanKnown { version } => format!("newer than known ({version}): left alone"),
            O::NoServer => "no ClearML server: nothing to do".to_owned(),
            O::Refused { reason } => format!("refused: {reason}"),
            O::WouldUpgrade { from, hops } => format!(
                "would upgrade {from} → {} (preflight passed; check: nothing changed)",
                hops.join(" → ")
            ),
            O::WouldRollBack { from, reason } => {
                format!("would roll back to {from}: {reason} (check: nothing changed)")
            }
            O::Upgraded {
                from,
                to,
                resumed,
                compose_v1_recreations,
            } => {
                let mut notes = Vec::new();
                if *resumed {
                    notes.push("finished an interrupted upgrade".to_owned());
                }
                // What compose v1 costs: it cannot recreate on a recent engine, so every hop
                // after the first removed all containers (data stores too) first.
                if *compose_v1_recreations > 0 {
                    notes.push(format!(
                        "compose v1: all containers were removed and created again at each of \
                         the {compose_v1_recreations} hops after the first, data stores included"
                    ));
                }
                if notes.is_empty() {
                    format!("upgraded {from} → {to}")
                } else {
                    format!("upgraded {from} → {to} ({})", notes.join("; "))
                }
            }
            O::NotAttempted => {
                "not attempted: an earlier batch spent the failure budget".to_owned()
            }
            O::RolledBack { report } | O::Restarted { report } | O::RollbackFailed { report } => {
                report.clone()
            }
            O::RollbackTaskFailed {
                task,
                message,
                cause,
            } => format!(
                "ROLLBACK FAILED at {task}: {message} (after {cause}); restore the backup by hand"
            ),
            O::NotChanged { task, message } => format!("not changed: {task}: {message}"),
            O::Failed => "failed".to_owned(),
            O::UnreachableDuringUpgrade => "unreachable during the upgrade".to_owned(),
            O::Interrupted { step, .. } => format!("interrupted: {step}"),
        }
    }

    /// Where Ctrl-C left an interrupted host: `cancelled during `Start 2.0.0``.
    pub fn step(&self) -> Option<&str> {
        match &self.outcome {
            UpgradeOutcome::Interrupted { step, .. } => Some(step),
            _ => None,
        }
    }

    /// Whether an interrupted host's backup exists: `verified at ...`, `none: ...`.
    pub fn backup_state(&self) -> Option<String> {
        let UpgradeOutcome::Interrupted { backup, .. } = &self.outcome else {
            return None;
        };
        let at = self.backup.as_deref().unwrap_or("?");
        Some(match backup {
            BackupProgress::NotStarted => "none: the server was not yet backed up".to_owned(),
            BackupProgress::Writing => format!("incomplete: cancelled while being written at {at}"),
            BackupProgress::Taken => format!("taken at {at}, not verified"),
            BackupProgress::Verified => format!("verified at {at}"),
        })
    }
}

pub fn table(rows: &[UpgradeRow]) -> String {
    let host_width = rows.iter().map(|r| width(&r.host)).max().unwrap_or(0);
    let bold = Style::new().bold();
    let mut s = format!("\n{bold}UPGRADE RESULT{bold:#}\n");
    for r in rows {
        let color = match r.status() {
            HostStatus::Ok => AnsiColor::Green,
            HostStatus::Failed => AnsiColor::Red,
            HostStatus::Unreachable => AnsiColor::Magenta,
            HostStatus::Interrupted | HostStatus::Refused => AnsiColor::Yellow,
        };
        let st = Style::new().fg_color(Some(color.into()));
        s.push_str(&format!(
            "{}  {st}{}{st:#}\n",
            pad(&r.host, host_width),
            r.result()
        ));
        let indent = " ".repeat(host_width);
        if let Some(d) = &r.downtime {
            s.push_str(&format!("{indent}  {}\n", downtime_words(d)));
        }
        match (r.backup_state(), &r.backup) {
            (Some(state), _) => s.push_str(&format!("{indent}  backup: {state}\n")),
            (None, Some(b)) => s.push_str(&format!("{indent}  backup: {b}\n")),
            (None, None) => {}
        }
    }
    s.push_str(&summary_line(rows));
    s
}

/// `down 12.30s`, or `down 1m05s, still down at the end of the run`.
pub fn downtime_words(d: &Downtime) -> String {
    let t = super::human_duration(std::time::Duration::from_millis(d.duration_ms));
    if d.still_down {
        format!("down {t}, still down at the end of its run")
    } else {
        format!("down {t}")
    }
}

/// The closing line: the hosts by label, then the total and the worst downtime:
/// `5 hosts: 3 upgraded, 1 up to date, 1 refused · downtime: total 36.90s, worst 12.30s (clearml-b)`.
pub fn summary_line(rows: &[UpgradeRow]) -> String {
    let mut parts = Vec::new();
    for label in UpgradeLabel::ALL {
        let n = rows.iter().filter(|r| r.outcome.label() == label).count();
        if n > 0 {
            parts.push(format!("{n} {}", super::labels::words(label)));
        }
    }
    let n = rows.len();
    let mut s = format!(
        "\n{n} host{}: {}",
        if n == 1 { "" } else { "s" },
        parts.join(", ")
    );
    let total: u64 = rows
        .iter()
        .filter_map(|r| r.downtime.map(|d| d.duration_ms))
        .fold(0, u64::saturating_add);
    let worst = rows
        .iter()
        .filter_map(|r| Some((r.downtime?.duration_ms, &r.host)))
        .max_by_key(|(ms, _)| *ms);
    if let Some((ms, host)) = worst {
        let t = |ms| super::human_duration(std::time::Duration::from_millis(ms));
        s.push_str(&format!(
            " · downtime: total {}, worst {} ({host})",
            t(total),
            t(ms)
        ));
        let still = rows
            .iter()
            .filter(|r| r.downtime.is_some_and(|d| d.still_down))
            .count();
        if still > 0 {
            s.push_str(&format!(", {still} still down"));
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> String {
        anstream::adapter::strip_str(s).to_string()
    }

    #[test]
    fn each_outcome_has_its_words() {
        let row = |outcome| UpgradeRow::new("h", outcome).result();
        assert_eq!(
            row(UpgradeOutcome::Upgraded {
                from: "1.12.1".into(),
                to: "2.3.0".into(),
                resumed: true,
                compose_v1_recreations: 2,
            }),
            "upgraded 1.12.1 → 2.3.0 (finished an interrupted upgrade; compose v1: all containers \
             were removed and created again at each of the 2 hops after the first, data stores \
             included)"
        );
        assert_eq!(
            row(UpgradeOutcome::WouldUpgrade {
                from: "1.12.1".into(),
                hops: vec!["2.0.0".into(), "2.3.0".into()],
            }),
            "would upgrade 1.12.1 → 2.0.0 → 2.3.0 (preflight passed; check: nothing changed)"
        );
        assert_eq!(
            row(UpgradeOutcome::RollbackTaskFailed {
                task: "Restore".into(),
                message: "disk full".into(),
                cause: "Start 2.0.0: boom".into(),
            }),
            "ROLLBACK FAILED at Restore: disk full (after Start 2.0.0: boom); restore the backup by hand"
        );
        let interrupted = UpgradeRow {
            backup: Some("/b".into()),
            downtime: Some(Downtime {
                from_ms: 10,
                to_ms: 70,
                duration_ms: 60,
                still_down: true,
            }),
            ..UpgradeRow::new(
                "h",
                UpgradeOutcome::Interrupted {
                    step: "cancelled during `Start 2.0.0`".into(),
                    backup: BackupProgress::Taken,
                },
            )
        };
        let json = serde_json::to_string(&interrupted).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"host":"h","status":"interrupted","label":"interrupted","result":"interrupted: cancelled during `Start 2.0.0`","backup":"/b","downtime":{"from_ms":10,"to_ms":70,"duration_ms":60,"still_down":true},"step":"cancelled during `Start 2.0.0`","backup_state":"taken at /b, not verified"}"#
        );
        let json = serde_json::to_string(&UpgradeRow::new("h", UpgradeOutcome::NoServer));
        assert_eq!(
            json.unwrap_or_default(),
            r#"{"host":"h","status":"ok","label":"no_server","result":"no ClearML server: nothing to do","backup":null,"downtime":null}"#
        );
    }

    #[test]
    fn a_cjk_host_name_keeps_the_results_in_one_column() {
        let rows = [
            UpgradeRow {
                backup: Some("/b/1".into()),
                ..UpgradeRow::new(
                    "服务器-1",
                    UpgradeOutcome::UpToDate {
                        version: "2.3.0".into(),
                    },
                )
            },
            UpgradeRow::new("web01", UpgradeOutcome::NoServer),
        ];
        assert_eq!(
            plain(&table(&rows)),
            "\nUPGRADE RESULT\n\
             服务器-1  up to date (2.3.0)\n\
             \x20         backup: /b/1\n\
             web01     no ClearML server: nothing to do\n\
             \n\
             2 hosts: 1 up to date, 1 no server\n"
        );
    }

    #[test]
    fn the_summary_line_counts_labels_and_names_the_worst_downtime() {
        let down = |ms, still_down| {
            Some(Downtime {
                from_ms: 0,
                to_ms: ms,
                duration_ms: ms,
                still_down,
            })
        };
        let upgraded = UpgradeOutcome::Upgraded {
            from: "1.0.0".into(),
            to: "2.0.0".into(),
            resumed: false,
            compose_v1_recreations: 0,
        };
        let rows = [
            UpgradeRow {
                downtime: down(58_000, false),
                ..UpgradeRow::new("clearml-b", upgraded.clone())
            },
            UpgradeRow {
                downtime: down(72_000, false),
                ..UpgradeRow::new("clearml-a", upgraded)
            },
            UpgradeRow {
                downtime: down(3_000, true),
                ..UpgradeRow::new(
                    "broken",
                    UpgradeOutcome::RollbackFailed {
                        report: "ROLLBACK FAILED at x".into(),
                    },
                )
            },
            UpgradeRow::new(
                "rb",
                UpgradeOutcome::RolledBack {
                    report: "rolled back to 1.0.0: boom".into(),
                },
            ),
            UpgradeRow::new("old", UpgradeOutcome::Refused { reason: "x".into() }),
            UpgradeRow::new(
                "d",
                UpgradeOutcome::UpToDate {
                    version: "2.0.0".into(),
                },
            ),
        ];
        assert_eq!(
            summary_line(&rows),
            "\n6 hosts: 1 rollback failed, 1 failed (rolled back), 1 refused, 2 upgraded, \
             1 up to date · downtime: total 2m13s, worst 1m12s (clearml-a), 1 still down\n"
        );
        let text = plain(&table(&rows));
        assert!(
            text.contains("clearml-b  upgraded 1.0.0 → 2.0.0\n           down 58.00s\n"),
            "{text}"
        );
        assert!(
            text.contains("           down 3.00s, still down at the end of its run\n"),
            "{text}"
        );
        assert!(!summary_line(&rows[3..]).contains("downtime"));
    }
}

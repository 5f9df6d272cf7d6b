//! The closing table of `clearfleet upgrade`: one line per host saying what happened to it. The
//! one place an [`UpgradeOutcome`] becomes words (the table, the JSON Lines record and the
//! report directory all use [`UpgradeRow`]'s).

use anstyle::{AnsiColor, Style};
use serde::{Serialize, Serializer};

use super::text::{pad, width};
use clearfleet_events::{BackupProgress, HostStatus, UpgradeOutcome};

/// What the upgrade did to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRow {
    pub host: String,
    pub outcome: UpgradeOutcome,
    /// The backup directory, when one exists (see [`UpgradeOutcome::backup_exists`]).
    pub backup: Option<String>,
}

/// A row as the JSON Lines record and the report directory spell it.
#[derive(Serialize)]
struct Words<'a> {
    host: &'a str,
    status: HostStatus,
    result: String,
    backup: &'a Option<String>,
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
            result: self.result(),
            backup: &self.backup,
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
        match (r.backup_state(), &r.backup) {
            (Some(state), _) => s.push_str(&format!("{indent}  backup: {state}\n")),
            (None, Some(b)) => s.push_str(&format!("{indent}  backup: {b}\n")),
            (None, None) => {}
        }
    }
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
            r#"{"host":"h","status":"interrupted","result":"interrupted: cancelled during `Start 2.0.0`","backup":"/b","step":"cancelled during `Start 2.0.0`","backup_state":"taken at /b, not verified"}"#
        );
        let json = serde_json::to_string(&UpgradeRow::new("h", UpgradeOutcome::NoServer));
        assert_eq!(
            json.unwrap_or_default(),
            r#"{"host":"h","status":"ok","result":"no ClearML server: nothing to do","backup":null}"#
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
             web01     no ClearML server: nothing to do\n"
        );
    }
}

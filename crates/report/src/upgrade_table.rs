//! The closing table of `clearfleet upgrade`: one line per host saying what happened to it.

use anstyle::{AnsiColor, Style};
use serde::Serialize;

use super::text::{pad, width};
use clearfleet_events::HostStatus;

/// What the upgrade did to one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeRow {
    pub host: String,
    pub status: HostStatus,
    /// `upgraded 1.12.1 → 2.3.0`, `up to date (2.3.0)`, `rolled back to 1.12.1: ...`.
    pub result: String,
    /// The backup directory, when one was made.
    pub backup: Option<String>,
    /// Where Ctrl-C left an interrupted host: `cancelled during `Start 2.0.0``.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Whether an interrupted host's backup exists: `verified at ...`, `none: ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<String>,
}

impl UpgradeRow {
    /// A row with no backup: a host left alone, refused or unreachable.
    pub fn untouched(host: &str, status: HostStatus, result: String) -> UpgradeRow {
        UpgradeRow {
            host: host.to_owned(),
            status,
            result,
            backup: None,
            step: None,
            backup_state: None,
        }
    }
}

pub fn table(rows: &[UpgradeRow]) -> String {
    let host_width = rows.iter().map(|r| width(&r.host)).max().unwrap_or(0);
    let bold = Style::new().bold();
    let mut s = format!("\n{bold}UPGRADE RESULT{bold:#}\n");
    for r in rows {
        let color = match r.status {
            HostStatus::Ok => AnsiColor::Green,
            HostStatus::Failed => AnsiColor::Red,
            HostStatus::Unreachable => AnsiColor::Magenta,
            HostStatus::Interrupted | HostStatus::Refused => AnsiColor::Yellow,
        };
        let st = Style::new().fg_color(Some(color.into()));
        s.push_str(&format!(
            "{}  {st}{}{st:#}\n",
            pad(&r.host, host_width),
            r.result
        ));
        match (&r.backup_state, &r.backup) {
            (Some(state), _) => {
                s.push_str(&format!("{}  backup: {state}\n", " ".repeat(host_width)))
            }
            (None, Some(b)) => s.push_str(&format!("{}  backup: {b}\n", " ".repeat(host_width))),
            (None, None) => {}
        }
    }
    s
}

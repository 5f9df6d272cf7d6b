//! What to do next about a host that did not end ok: the lines its page ends with (the exact
//! `--rerun` command, where the backup is and how to restore it, the manual step of a refusal).

use std::path::Path;

use super::HostRecord;
use crate::rerun;
use clearfleet_base::shell::quote;
use clearfleet_events::UpgradeLabel;

/// `h`'s next steps after an upgrade; `command_line` is the run's (secrets masked), `dir` its
/// report directory.
pub fn upgrade(h: &HostRecord, command_line: &[String], dir: &Path) -> Vec<String> {
    use UpgradeLabel as L;
    let Some(label) = h.label else {
        return Vec::new();
    };
    let again = |status: &str| format!("`{}`", rerun::line(command_line, status, dir));
    let detected = |key: &str| {
        h.detected
            .as_ref()
            .and_then(|d| d.get(key)?.as_str().map(str::to_owned))
    };
    match label {
        L::Upgraded
        | L::UpToDate
        | L::WouldUpgrade
        | L::WouldRollBack
        | L::NewerThanKnown
        | L::NoServer => Vec::new(),
        L::RolledBack | L::Restarted | L::NotChanged | L::Failed => vec![
            "The server runs the release it ran before. Fix the cause (the failed commands above), then upgrade it again:".to_owned(),
            again("failed"),
        ],
        L::NotAttempted => vec![
            "Never started: an earlier batch spent the failure budget. Once the failed hosts are dealt with:".to_owned(),
            again("failed"),
        ],
        L::Unreachable => vec![
            "clearfleet could not reach it (or lost it). Once it answers over SSH:".to_owned(),
            again("unreachable"),
        ],
        L::Interrupted => {
            let mut lines = vec![
                "Stopped by Ctrl-C. Run it again: an upgrade that stopped after its backup is finished from its marker, or rolled back to that backup:".to_owned(),
                again("interrupted"),
            ];
            if let Some(state) = &h.backup_state {
                lines.push(format!("Backup: {state}."));
            }
            lines
        }
        L::RollbackFailed => {
            let backup = h.backup.clone().unwrap_or_else(|| "BACKUP".to_owned());
            let root = detected("root").unwrap_or_else(|| "ROOT".to_owned());
            let compose = detected("compose_file").unwrap_or_else(|| "COMPOSE_FILE".to_owned());
            let mut lines = vec![
                "The server may be down and its data half restored: it needs a person now.".to_owned(),
                format!("The backup (verified before anything changed) is at `{backup}`."),
            ];
            if !h.backup_manifests.is_empty() {
                lines.push(format!(
                    "Its manifests: {}.",
                    h.backup_manifests
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            lines.push("Fix the cause; the host keeps its upgrade marker, so `clearfleet plan` shows the rollback and this restores that backup:".to_owned());
            lines.push(again("failed"));
            lines.push(format!(
                "Or by hand on the host, with the built-in playbook's `clearml/backup.sh` (`clearfleet` ships it in `playbooks/clearml/`; it checks what it restored against the manifests): `sh backup.sh restore {} {} {}`, then `chown -R 1000:1000 {}` and start the old release with its compose file.",
                quote(&backup),
                quote(&root),
                quote(&compose),
                quote(&root),
            ));
            lines
        }
        L::Refused => vec![
            format!(
                "Refused: {}",
                h.plan
                    .as_ref()
                    .and_then(|p| p.get("reason")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| h.result.clone().unwrap_or_default())
            ),
            "Nothing on the host was changed. Take the manual step above by hand (clearfleet does not take it), then upgrade it again:".to_owned(),
            format!("`{}`", rerun::limit_line(command_line, &h.host)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn host(label: UpgradeLabel) -> HostRecord {
        let mut h = HostRecord::new("web 1");
        h.label = Some(label);
        h
    }

    const ARGV: [&str; 4] = ["clearfleet", "upgrade", "-i", "inv.yml"];

    fn next(h: &HostRecord) -> String {
        let argv: Vec<String> = ARGV.map(str::to_owned).into();
        upgrade(h, &argv, Path::new("reports/X")).join("\n")
    }

    #[test]
    fn each_label_says_what_to_do_next() {
        assert_eq!(next(&host(UpgradeLabel::Upgraded)), "");
        assert!(
            next(&host(UpgradeLabel::RolledBack)).ends_with(
                "\n`clearfleet upgrade -i inv.yml --rerun failed --from-report reports/X`"
            )
        );
        assert!(
            next(&host(UpgradeLabel::Unreachable))
                .ends_with("--rerun unreachable --from-report reports/X`")
        );
        let mut broken = host(UpgradeLabel::RollbackFailed);
        broken.backup = Some("/opt/clearml-backup-1".into());
        broken.backup_manifests = vec!["/opt/clearml-backup-1/manifest.data".into()];
        broken.detected = Some(
            json!({"root": "/opt/clearml", "compose_file": "/opt/clearml/docker-compose.yml"}),
        );
        let text = next(&broken);
        for part in [
            "The backup (verified before anything changed) is at `/opt/clearml-backup-1`.",
            "Its manifests: `/opt/clearml-backup-1/manifest.data`.",
            "`clearfleet upgrade -i inv.yml --rerun failed --from-report reports/X`",
            "`sh backup.sh restore /opt/clearml-backup-1 /opt/clearml /opt/clearml/docker-compose.yml`",
        ] {
            assert!(text.contains(part), "{part} missing:\n{text}");
        }
        let mut refused = host(UpgradeLabel::Refused);
        refused.plan = Some(json!({"kind": "refused", "reason": "ES 5 data: migrate it first"}));
        let text = next(&refused);
        assert!(
            text.starts_with("Refused: ES 5 data: migrate it first\n"),
            "{text}"
        );
        assert!(
            text.ends_with("`clearfleet upgrade -i inv.yml --limit 'web 1'`"),
            "{text}"
        );
        let mut interrupted = host(UpgradeLabel::Interrupted);
        interrupted.backup_state = Some("verified at /b".into());
        assert!(
            next(&interrupted)
                .ends_with("--rerun interrupted --from-report reports/X`\nBackup: verified at /b.")
        );
    }
}

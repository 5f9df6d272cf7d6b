//! What `clearfleet upgrade` did to one host, as data: the binary decides it, the reporters
//! (`clearfleet-report`) alone put it into words.

use crate::HostStatus;

/// How far an interrupted host's backup got (from the backup tasks' events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupProgress {
    #[default]
    NotStarted,
    /// The backup task began and did not finish: a partial backup.
    Writing,
    Taken,
    Verified,
}

/// What the upgrade did to one host, from detection to the end of its playbook run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpgradeOutcome {
    /// Detection could not reach the host.
    Unreachable,
    /// Detection reached the host and failed.
    DetectionFailed { error: String },
    /// Already runs the target (its release).
    UpToDate { version: String },
    /// Runs a release newer than the release data knows: left alone.
    NewerThanKnown { version: String },
    /// No ClearML server on the host: nothing to do.
    NoServer,
    /// The planner refused the host (left untouched).
    Refused { reason: String },
    /// `--check`: the preflight passed; these hops would be taken.
    WouldUpgrade { from: String, hops: Vec<String> },
    /// `--check`: an interrupted upgrade would be rolled back, for `reason`.
    WouldRollBack { from: String, reason: String },
    /// Upgraded `from` → `to`.
    Upgraded {
        from: String,
        to: String,
        /// It finished an interrupted upgrade.
        resumed: bool,
        /// With compose v1, how many hops removed and created every container again (each
        /// hop after the first); 0 otherwise.
        compose_v1_recreations: usize,
    },
    /// An earlier batch spent the failure budget: the host was never started.
    NotAttempted,
    /// The playbook rolled the host back; `report` is its message (`rolled back to 1.12.1: ...`).
    RolledBack { report: String },
    /// The playbook restarted the old release without a verified backup to restore
    /// (`restarted 1.12.1 (data untouched, ...): ...`).
    Restarted { report: String },
    /// The playbook says its rollback failed (`ROLLBACK FAILED at ...`).
    RollbackFailed { report: String },
    /// A rescued task failed after the first failure: the way back broke at `task`.
    RollbackTaskFailed {
        task: String,
        message: String,
        /// The first failure, `task: message`.
        cause: String,
    },
    /// A task failed before anything was changed.
    NotChanged { task: String, message: String },
    /// Failed, with no failed task to name.
    Failed,
    /// The host became unreachable during the upgrade.
    UnreachableDuringUpgrade,
    /// Ctrl-C stopped the host at `step` (`cancelled during `Start 2.0.0``).
    Interrupted {
        step: String,
        backup: BackupProgress,
    },
}

/// Which of the upgrade's distinct results a host had: one label per kind of
/// [`UpgradeOutcome`], finer than [`HostStatus`] (a refused host is not a failed one, a host
/// rolled back is not one whose rollback failed). Reporters put it into words
/// (`clearfleet_report::labels`); [`UpgradeLabel::as_str`] is its stable name in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpgradeLabel {
    Upgraded,
    UpToDate,
    /// `--check`: would be upgraded.
    WouldUpgrade,
    /// `--check`: an interrupted upgrade would be rolled back.
    WouldRollBack,
    /// Runs a release newer than the release data knows.
    NewerThanKnown,
    NoServer,
    Refused,
    /// Failed, and the rollback restored the backup.
    RolledBack,
    /// Failed before a verified backup existed: the old release was started again, data
    /// untouched.
    Restarted,
    /// Failed, and so did the way back: the host needs a person.
    RollbackFailed,
    /// A task failed before anything was changed (the preflight, a pull).
    NotChanged,
    /// Failed otherwise (detection failed, no failed task to name).
    Failed,
    Unreachable,
    Interrupted,
    NotAttempted,
}

impl UpgradeLabel {
    /// Every label, in the order reports list them (worst first).
    pub const ALL: [UpgradeLabel; 15] = [
        UpgradeLabel::RollbackFailed,
        UpgradeLabel::Failed,
        UpgradeLabel::RolledBack,
        UpgradeLabel::Restarted,
        UpgradeLabel::NotChanged,
        UpgradeLabel::Unreachable,
        UpgradeLabel::Interrupted,
        UpgradeLabel::NotAttempted,
        UpgradeLabel::Refused,
        UpgradeLabel::Upgraded,
        UpgradeLabel::WouldUpgrade,
        UpgradeLabel::WouldRollBack,
        UpgradeLabel::UpToDate,
        UpgradeLabel::NewerThanKnown,
        UpgradeLabel::NoServer,
    ];

    /// The label's stable name in JSON, HTML attributes and JUnit (`rolled_back`).
    pub fn as_str(self) -> &'static str {
        use UpgradeLabel as L;
        match self {
            L::Upgraded => "upgraded",
            L::UpToDate => "up_to_date",
            L::WouldUpgrade => "would_upgrade",
            L::WouldRollBack => "would_roll_back",
            L::NewerThanKnown => "newer_than_known",
            L::NoServer => "no_server",
            L::Refused => "refused",
            L::RolledBack => "rolled_back",
            L::Restarted => "restarted",
            L::RollbackFailed => "rollback_failed",
            L::NotChanged => "not_changed",
            L::Failed => "failed",
            L::Unreachable => "unreachable",
            L::Interrupted => "interrupted",
            L::NotAttempted => "not_attempted",
        }
    }

    /// The status the label belongs to (colours, counts, `--rerun`, the exit code).
    pub fn status(self) -> HostStatus {
        use UpgradeLabel as L;
        match self {
            L::Upgraded
            | L::UpToDate
            | L::WouldUpgrade
            | L::WouldRollBack
            | L::NewerThanKnown
            | L::NoServer => HostStatus::Ok,
            L::Refused => HostStatus::Refused,
            L::Unreachable => HostStatus::Unreachable,
            L::Interrupted => HostStatus::Interrupted,
            L::RolledBack
            | L::Restarted
            | L::RollbackFailed
            | L::NotChanged
            | L::Failed
            | L::NotAttempted => HostStatus::Failed,
        }
    }
}

impl serde::Serialize for UpgradeLabel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl UpgradeOutcome {
    /// The outcome's label: every variant has exactly one.
    pub fn label(&self) -> UpgradeLabel {
        use UpgradeLabel as L;
        use UpgradeOutcome as O;
        match self {
            O::Unreachable | O::UnreachableDuringUpgrade => L::Unreachable,
            O::DetectionFailed { .. } | O::Failed => L::Failed,
            O::UpToDate { .. } => L::UpToDate,
            O::NewerThanKnown { .. } => L::NewerThanKnown,
            O::NoServer => L::NoServer,
            O::Refused { .. } => L::Refused,
            O::WouldUpgrade { .. } => L::WouldUpgrade,
            O::WouldRollBack { .. } => L::WouldRollBack,
            O::Upgraded { .. } => L::Upgraded,
            O::NotAttempted => L::NotAttempted,
            O::RolledBack { .. } => L::RolledBack,
            O::Restarted { .. } => L::Restarted,
            O::RollbackFailed { .. } | O::RollbackTaskFailed { .. } => L::RollbackFailed,
            O::NotChanged { .. } => L::NotChanged,
            O::Interrupted { .. } => L::Interrupted,
        }
    }

    /// How the host ended, for colours, counts and the exit code.
    pub fn status(&self) -> HostStatus {
        self.label().status()
    }

    /// Whether the host's backup directory exists: it got past the backup (upgraded, or rolled
    /// back or failing to), or was interrupted once the backup had begun.
    pub fn backup_exists(&self) -> bool {
        use UpgradeOutcome as O;
        match self {
            O::Upgraded { .. }
            | O::RolledBack { .. }
            | O::RollbackFailed { .. }
            | O::RollbackTaskFailed { .. } => true,
            O::Interrupted { backup, .. } => *backup != BackupProgress::NotStarted,
            _ => false,
        }
    }

    /// Whether a host that did not end ok still runs the release it ran before: false when
    /// that is not known (a failed rollback, a lost connection, an interruption).
    pub fn left_as_it_was(&self) -> bool {
        use UpgradeOutcome as O;
        matches!(
            self,
            O::RolledBack { .. }
                | O::Restarted { .. }
                | O::NotChanged { .. }
                | O::Refused { .. }
                | O::NotAttempted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_exists_once_the_host_got_past_it() {
        let upgraded = UpgradeOutcome::Upgraded {
            from: "1.0.0".into(),
            to: "2.0.0".into(),
            resumed: false,
            compose_v1_recreations: 0,
        };
        assert!(upgraded.backup_exists());
        assert_eq!(upgraded.status(), HostStatus::Ok);
        let restarted = UpgradeOutcome::Restarted { report: "x".into() };
        assert!(!restarted.backup_exists());
        assert_eq!(restarted.status(), HostStatus::Failed);
        let interrupted = |backup| UpgradeOutcome::Interrupted {
            step: "interrupted".into(),
            backup,
        };
        assert!(!interrupted(BackupProgress::NotStarted).backup_exists());
        assert!(interrupted(BackupProgress::Writing).backup_exists());
        assert_eq!(
            interrupted(BackupProgress::Verified).status(),
            HostStatus::Interrupted
        );
    }
}

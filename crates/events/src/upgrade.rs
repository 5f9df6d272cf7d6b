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

impl UpgradeOutcome {
    /// How the host ended, for colours, counts and the exit code.
    pub fn status(&self) -> HostStatus {
        use UpgradeOutcome as O;
        match self {
            O::UpToDate { .. }
            | O::NewerThanKnown { .. }
            | O::NoServer
            | O::WouldUpgrade { .. }
            | O::WouldRollBack { .. }
            | O::Upgraded { .. } => HostStatus::Ok,
            O::Refused { .. } => HostStatus::Refused,
            O::Unreachable | O::UnreachableDuringUpgrade => HostStatus::Unreachable,
            O::Interrupted { .. } => HostStatus::Interrupted,
            O::DetectionFailed { .. }
            | O::NotAttempted
            | O::RolledBack { .. }
            | O::Restarted { .. }
            | O::RollbackFailed { .. }
            | O::RollbackTaskFailed { .. }
            | O::NotChanged { .. }
            | O::Failed => HostStatus::Failed,
        }
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

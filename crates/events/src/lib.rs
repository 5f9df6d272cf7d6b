//! The only interface between the runner and the reporters: typed events, in the order they happen.

pub mod exit;
mod reporter;
mod span;
mod upgrade;

use std::time::Duration;

use serde::Serialize;

pub use reporter::Reporter;
pub use span::{EVENTS_TARGET, host_span};
pub use upgrade::{BackupProgress, UpgradeLabel, UpgradeOutcome};

/// Something that happened during a run, stamped with the time since the run started.
#[derive(Debug, Clone)]
pub struct Event {
    pub elapsed: Duration,
    pub kind: EventKind,
}

#[derive(Debug, Clone)]
pub enum EventKind {
    /// The run is about to contact `hosts` (inventory order), at most `forks` at once.
    RunStarted {
        command: String,
        hosts: Vec<String>,
        forks: usize,
    },
    /// Work on a host began (connection attempt included).
    HostStarted { host: String },
    /// A host is done, whatever the outcome.
    HostFinished(HostOutcome),
    /// Something the operator should know that is not a host result.
    Warning { message: String },
    /// Ctrl-C was pressed: `stage` 1 stops new hosts, stage 2 cancels running ones.
    Interrupted { stage: u8 },
    /// A play begins on these hosts (after `--limit`).
    PlayStarted { name: String, hosts: Vec<String> },
    /// A task (or handler) begins on the play's active hosts.
    TaskStarted {
        name: String,
        location: String,
        handler: bool,
    },
    /// A host begins a task (its rendered name): what the live view shows for the host.
    HostTask { host: String, task: String },
    /// One host's result for a task, or for one item of a looped task.
    TaskResult(Box<TaskResult>),
    /// The run is over; no event follows.
    RunFinished(RunSummary),
}

/// How a task ended on a host (Ansible's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
    /// Failed, with `ignore_errors`.
    Ignored,
    /// Unreachable, with `ignore_unreachable`: the host stays in the play (Ansible's default
    /// callback prints the result, then `...ignoring`).
    #[serde(rename = "unreachable_ignored")]
    UnreachableIgnored,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Ok => "ok",
            TaskStatus::Changed => "changed",
            TaskStatus::Skipped => "skipping",
            TaskStatus::Failed => "failed",
            TaskStatus::Unreachable => "unreachable",
            TaskStatus::Ignored => "ignored",
            TaskStatus::UnreachableIgnored => "unreachable_ignored",
        }
    }
}

/// One host's result for one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskResult {
    pub host: String,
    pub task: String,
    /// `file:line:col` of the task.
    pub location: String,
    pub status: TaskStatus,
    /// The host a delegated task ran on, as Ansible's `host_label` shows it: its name, then its
    /// address in parentheses when that differs (`web02(10.0.0.2)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
    /// The loop item's label, for looped tasks.
    pub item: Option<String>,
    pub msg: Option<String>,
    pub rc: Option<i64>,
    pub stdout: String,
    pub stderr: String,
    /// A unified diff (`--diff`).
    pub diff: Option<String>,
    #[serde(serialize_with = "ser_ms")]
    pub duration: Duration,
}

fn ser_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The PLAY RECAP counts of one host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Recap {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// How a host ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Ok,
    Failed,
    Unreachable,
    /// Never started or cancelled because the run was interrupted.
    Interrupted,
    /// Left alone on purpose: the upgrade planner refused it (it needs a step clearfleet does
    /// not take, e.g. a manual data migration). Nothing on the host was changed.
    Refused,
}

impl HostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Ok => "ok",
            HostStatus::Failed => "failed",
            HostStatus::Unreachable => "unreachable",
            HostStatus::Interrupted => "interrupted",
            HostStatus::Refused => "refused",
        }
    }
}

/// One host's result: what the reporters print and the recap counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOutcome {
    pub host: String,
    pub status: HostStatus,
    /// The remote command's exit status, when it ran to completion.
    pub rc: Option<i64>,
    /// The command's output, within the output limit per stream.
    pub stdout: String,
    pub stderr: String,
    /// Bytes the output limit dropped from the middle of stdout and of stderr.
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    pub duration: Duration,
    /// Why the host failed or was unreachable, when it was not just a non-zero exit status.
    pub error: Option<String>,
    /// What `detect` found on the host.
    pub detected: Option<Box<clearfleet_clearml::Detected>>,
    /// A playbook run's counts for the host.
    pub recap: Option<Recap>,
    /// A playbook run's failures on the host: (task, `file:line:col`, message).
    pub failures: Vec<(String, String, String)>,
}

impl HostOutcome {
    /// An outcome with no output yet.
    pub fn new(host: impl Into<String>, status: HostStatus) -> Self {
        HostOutcome {
            host: host.into(),
            status,
            rc: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_dropped: 0,
            stderr_dropped: 0,
            duration: Duration::ZERO,
            error: None,
            detected: None,
            recap: None,
            failures: Vec::new(),
        }
    }
}

/// The totals of a run, owned and counted by the dispatcher.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Every finished host, in inventory order, without the output of its command (`stdout`
    /// and `stderr` come with its `HostFinished` event only).
    pub outcomes: Vec<HostOutcome>,
    pub ok: usize,
    pub failed: usize,
    pub unreachable: usize,
    pub interrupted: usize,
    /// Hosts the upgrade planner refused (only `upgrade` has them).
    pub refused: usize,
    pub was_interrupted: bool,
    pub duration: Duration,
}

impl RunSummary {
    pub fn hosts(&self) -> usize {
        self.ok + self.failed + self.unreachable + self.interrupted + self.refused
    }

    /// How many hosts ended with `status`.
    pub fn count(&self, status: HostStatus) -> usize {
        match status {
            HostStatus::Ok => self.ok,
            HostStatus::Failed => self.failed,
            HostStatus::Unreachable => self.unreachable,
            HostStatus::Interrupted => self.interrupted,
            HostStatus::Refused => self.refused,
        }
    }

    /// The documented exit code for this run (README, "Exit codes").
    pub fn exit_code(&self) -> u8 {
        crate::exit::code(self.was_interrupted, |s| self.count(s) > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_follows_the_documented_table() {
        let mut s = RunSummary {
            ok: 3,
            ..Default::default()
        };
        assert_eq!(s.exit_code(), 0);
        s.refused = 1;
        assert_eq!(s.exit_code(), 5);
        s.unreachable = 1;
        assert_eq!(s.exit_code(), 3);
        s.failed = 1;
        assert_eq!(s.exit_code(), 2);
        s.was_interrupted = true;
        assert_eq!(s.exit_code(), 130);
    }
}

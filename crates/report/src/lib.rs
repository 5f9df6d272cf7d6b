//! Reporters: the only writers of run output. Each turns the runner's events into one format.

mod detect_table;
pub mod digest;
pub mod downtime;
pub mod files;
mod human;
mod json;
pub mod labels;
pub mod live;
mod playbook;
mod releases;
pub mod rerun;
mod text;
pub mod upgrade_table;

pub use human::{HumanReporter, View};
pub use json::JsonReporter;
pub use releases::releases_table;

pub use clearfleet_events::Reporter;

/// Keeps the first I/O error of a reporter so a run never stops because output failed.
#[derive(Debug, Default)]
pub(crate) struct FirstError(Option<std::io::Error>);

impl FirstError {
    pub fn keep(&mut self, r: std::io::Result<()>) {
        if let (Err(e), None) = (r, &self.0) {
            self.0 = Some(e);
        }
    }

    pub fn take(&mut self) -> std::io::Result<()> {
        self.0.take().map_or(Ok(()), Err)
    }
}

/// A duration in whole milliseconds, as the JSON and report files write it.
pub(crate) fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A duration as people read it: `83ms`, `1.24s`, `2m05s`.
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = d.as_secs();
        format!("{}h{:02}m{:02}s", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Events for the reporters' unit tests.
#[cfg(test)]
pub(crate) mod test_events {
    use clearfleet_events::{EventKind, TaskResult, TaskStatus};
    use std::time::Duration;

    /// A task's result with no item, message or output.
    pub fn task_result(
        host: &str,
        task: &str,
        location: &str,
        status: TaskStatus,
        duration: Duration,
    ) -> EventKind {
        EventKind::TaskResult(Box::new(TaskResult {
            host: host.into(),
            delegated_to: None,
            task: task.into(),
            location: location.into(),
            status,
            item: None,
            msg: None,
            rc: None,
            stdout: String::new(),
            stderr: String::new(),
            diff: None,
            duration,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(83)), "83ms");
        assert_eq!(human_duration(Duration::from_millis(1240)), "1.24s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(human_duration(Duration::from_secs(3599)), "59m59s");
        // A fleet's total downtime: hours, not `878m30s`.
        assert_eq!(human_duration(Duration::from_secs(52_710)), "14h38m30s");
    }
}

//! A host's downtime during an upgrade, decided from the task results of the steps of the
//! built-in playbook that stop its server and that see a server answer again (named below,
//! checked against the playbook's files by a test, so a renamed task cannot silently zero it).

use indexmap::IndexMap;
use serde::Serialize;

use super::{Reporter, ms};
use clearfleet_events::{Event, EventKind, TaskStatus};

/// The tasks after whose start the server no longer answers: (task name, playbook file).
pub const DOWN_TASKS: [(&str, &str); 2] = [
    // `compose down` before the backup.
    ("Stop the server", "clearml/backup.yml"),
    // The rollback stops whatever runs before it restores.
    ("Stop whatever runs now", "clearml/rollback.yml"),
];

/// The tasks whose success means a server answers again: the last health check of the final
/// version, or the rollback's check of the restarted previous version.
pub const UP_TASKS: [(&str, &str); 2] = [
    ("The file server answers", "clearml/postcheck.yml"),
    ("The previous version answers", "clearml/rollback.yml"),
];

/// How long a host's server did not answer. Times are milliseconds on the clock of whoever
/// measured them (the report's: since the report started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Downtime {
    /// When the stop task began.
    pub from_ms: u64,
    /// When a server answered its health check again, or the end of the host's run if none
    /// did (`still_down`).
    pub to_ms: u64,
    pub duration_ms: u64,
    /// No server answered by the end of the host's run (interrupted, rollback failed).
    pub still_down: bool,
}

/// One task result of a host, as the downtime needs it.
#[derive(Debug, Clone, Copy)]
pub struct TaskSpan<'a> {
    pub task: &'a str,
    /// `file:line:col`.
    pub location: &'a str,
    pub status: TaskStatus,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Whether `location` (`clearml/backup.yml:29:3`, or an absolute path of a playbook on disk)
/// is in `file`.
fn in_file(location: &str, file: &str) -> bool {
    let path = location.split(':').next().unwrap_or("");
    path == file || path.ends_with(&format!("/{file}"))
}

fn is_one_of(t: &TaskSpan<'_>, tasks: &[(&str, &str)]) -> bool {
    tasks
        .iter()
        .any(|(name, file)| t.task == *name && in_file(t.location, file))
}

/// The downtime so far, fed one task result at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracker {
    from: Option<u64>,
    up: Option<u64>,
}

impl Tracker {
    pub fn see(&mut self, t: &TaskSpan<'_>) {
        match t.status {
            TaskStatus::Skipped => {}
            // A stop that ran, even one that failed, may have stopped the server.
            _ if is_one_of(t, &DOWN_TASKS) => {
                self.from.get_or_insert(t.start_ms);
                self.up = None;
            }
            TaskStatus::Ok | TaskStatus::Changed
                if self.from.is_some() && is_one_of(t, &UP_TASKS) =>
            {
                self.up = Some(t.end_ms);
            }
            _ => {}
        }
    }

    /// The downtime of a host whose run ended at `end_ms`; `None` if it never went down.
    pub fn downtime(&self, end_ms: u64) -> Option<Downtime> {
        let from = self.from?;
        let to = self.up.unwrap_or(end_ms.max(from));
        Some(Downtime {
            from_ms: from,
            to_ms: to,
            duration_ms: to.saturating_sub(from),
            still_down: self.up.is_none(),
        })
    }
}

/// The downtime of a host from its task results in order; its run ended at `end_ms`.
pub fn downtime<'a>(
    tasks: impl IntoIterator<Item = TaskSpan<'a>>,
    end_ms: u64,
) -> Option<Downtime> {
    let mut tracker = Tracker::default();
    for t in tasks {
        tracker.see(&t);
    }
    tracker.downtime(end_ms)
}

/// Follows every host's downtime through a run's events (times: the run's elapsed time);
/// writes nothing. `upgrade` uses it for its table, with or without a report directory.
#[derive(Debug, Default)]
pub struct DowntimeWatch {
    hosts: IndexMap<String, (Tracker, u64)>,
}

impl DowntimeWatch {
    /// The downtime of `host` (its run's end: its `HostFinished` event).
    pub fn get(&self, host: &str) -> Option<Downtime> {
        let (tracker, end) = self.hosts.get(host)?;
        tracker.downtime(*end)
    }
}

impl Reporter for DowntimeWatch {
    fn report(&mut self, event: &Event) {
        let at = ms(event.elapsed);
        match &event.kind {
            EventKind::TaskResult(r) => {
                let (tracker, end) = self.hosts.entry(r.host.clone()).or_default();
                tracker.see(&TaskSpan {
                    task: &r.task,
                    location: &r.location,
                    status: r.status,
                    start_ms: at.saturating_sub(ms(r.duration)),
                    end_ms: at,
                });
                *end = at;
            }
            EventKind::HostFinished(o) => {
                self.hosts.entry(o.host.clone()).or_default().1 = at;
            }
            _ => {}
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_clearml::playbook_vars::PLAYBOOK_FILES;

    fn t(
        task: &'static str,
        file: &str,
        status: TaskStatus,
        start: u64,
        end: u64,
    ) -> TaskSpan<'static> {
        TaskSpan {
            task,
            location: Box::leak(format!("{file}:1:3").into_boxed_str()),
            status,
            start_ms: start,
            end_ms: end,
        }
    }

    use TaskStatus::{Changed, Failed, Ok, Skipped};

    #[test]
    fn downtime_runs_from_the_stop_to_the_last_health_check() {
        let run = [
            t("Pull", "clearml/prepare_hop.yml", Changed, 0, 50),
            t("Stop the server", "clearml/backup.yml", Changed, 100, 180),
            t(
                "Back up data and config",
                "clearml/backup.yml",
                Changed,
                180,
                400,
            ),
            t("Start 2.0.0", "clearml/hop.yml", Changed, 400, 500),
            t(
                "The web server answers",
                "clearml/postcheck.yml",
                Ok,
                900,
                950,
            ),
            t(
                "The file server answers",
                "clearml/postcheck.yml",
                Ok,
                950,
                1_000,
            ),
            t(
                "The upgrade is complete",
                "clearml/postcheck.yml",
                Changed,
                1_000,
                1_010,
            ),
        ];
        assert_eq!(
            downtime(run, 1_100),
            Some(Downtime {
                from_ms: 100,
                to_ms: 1_000,
                duration_ms: 900,
                still_down: false
            })
        );
    }

    #[test]
    fn a_host_never_stopped_has_none_and_a_skipped_stop_does_not_count() {
        let refused_in_preflight = [
            t("Docker answers", "clearml/preflight.yml", Ok, 0, 10),
            t(
                "Enough disk for the backup",
                "clearml/preflight.yml",
                Failed,
                10,
                20,
            ),
            t("Stop the server", "clearml/backup.yml", Skipped, 20, 20),
            // The rollback's check of a server that never stopped is no downtime.
            t(
                "The previous version answers",
                "clearml/rollback.yml",
                Ok,
                30,
                40,
            ),
        ];
        assert_eq!(downtime(refused_in_preflight, 50), None);
        assert_eq!(downtime([], 50), None);
    }

    #[test]
    fn the_rollback_restart_ends_it_and_a_failed_rollback_stays_down() {
        let rolled_back = [
            t("Stop the server", "clearml/backup.yml", Changed, 100, 200),
            t(
                "Wait for the apiserver",
                "clearml/hop.yml",
                Failed,
                300,
                800,
            ),
            t(
                "Stop whatever runs now",
                "clearml/rollback.yml",
                Changed,
                800,
                850,
            ),
            t(
                "The previous version answers",
                "clearml/rollback.yml",
                Ok,
                900,
                1_200,
            ),
        ];
        let d = downtime(rolled_back, 1_300);
        assert_eq!(
            d.map(|d| (d.from_ms, d.to_ms, d.still_down)),
            Some((100, 1_200, false))
        );
        let broken = [
            t("Stop the server", "clearml/backup.yml", Changed, 100, 200),
            t(
                "Wait for the apiserver",
                "clearml/hop.yml",
                Failed,
                300,
                800,
            ),
            t(
                "Stop whatever runs now",
                "clearml/rollback.yml",
                Changed,
                800,
                850,
            ),
            t(
                "The previous version answers",
                "clearml/rollback.yml",
                Failed,
                900,
                1_200,
            ),
        ];
        assert_eq!(
            downtime(broken, 1_300),
            Some(Downtime {
                from_ms: 100,
                to_ms: 1_300,
                duration_ms: 1_200,
                still_down: true
            })
        );
        // Up after the hops, then down again for a rollback that never answered.
        let again = [
            t("Stop the server", "clearml/backup.yml", Changed, 100, 200),
            t(
                "The file server answers",
                "clearml/postcheck.yml",
                Ok,
                500,
                600,
            ),
            t(
                "Stop whatever runs now",
                "clearml/rollback.yml",
                Changed,
                700,
                750,
            ),
        ];
        assert_eq!(
            downtime(again, 900).map(|d| (d.to_ms, d.still_down)),
            Some((900, true))
        );
    }

    #[test]
    fn only_the_named_tasks_of_the_named_files_count() {
        let elsewhere = [
            t("Stop the server", "site/other.yml", Changed, 100, 200),
            t(
                "The file server answers",
                "clearml/postcheck.yml",
                Ok,
                500,
                600,
            ),
        ];
        assert_eq!(downtime(elsewhere, 900), None);
        let on_disk = [
            t(
                "Stop the server",
                "/srv/playbooks/clearml/backup.yml",
                Changed,
                100,
                200,
            ),
            t(
                "The file server answers",
                "/srv/playbooks/clearml/postcheck.yml",
                Ok,
                500,
                600,
            ),
        ];
        assert_eq!(downtime(on_disk, 900).map(|d| d.duration_ms), Some(500));
    }

    /// The link to the built-in playbook: each named task is in its named file, once.
    #[test]
    fn the_named_tasks_are_in_the_built_in_playbook() {
        for (task, file) in DOWN_TASKS.iter().chain(&UP_TASKS) {
            let text = PLAYBOOK_FILES
                .iter()
                .find(|(name, _)| name == file)
                .map(|(_, text)| *text)
                .unwrap_or_else(|| panic!("{file} is not a file of the built-in playbook"));
            let named = text
                .lines()
                .filter(|l| l.trim_start().trim_start_matches("- ") == format!("name: {task}"))
                .count();
            assert_eq!(named, 1, "`{task}` in {file}");
        }
    }
}

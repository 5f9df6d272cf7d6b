//! `--start-at-task NAME`, checked before any host is contacted: the name must be a task's.
//!
//! (Undefined variables are not checked before the run: as in Ansible, a variable is an
//! error only when a task that runs uses it; see docs/playbooks.md, "Undefined variables".)

use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_playbook::{Playbook, Task, TaskBody};

/// `--start-at-task NAME` must name a task of the playbook (in a block or a static import;
/// Ansible cannot start inside a dynamic include either): else the error Ansible gives.
pub fn check_start_at(playbook: &Playbook, name: &str) -> Option<Diagnostic> {
    fn has(tasks: &[Task], name: &str) -> bool {
        tasks.iter().any(|t| {
            t.name.as_deref() == Some(name)
                || match &t.body {
                    TaskBody::Block {
                        block,
                        rescue,
                        always,
                    } => has(block, name) || has(rescue, name) || has(always, name),
                    TaskBody::IncludeTasks {
                        static_tasks: Some(inner),
                        ..
                    } => has(inner, name),
                    _ => false,
                }
        })
    }
    let found = playbook
        .plays
        .iter()
        .any(|p| has(&p.pre_tasks, name) || has(&p.tasks, name) || has(&p.post_tasks, name));
    (!found).then(|| {
        Diagnostic::new(format!("--start-at-task: no task named `{name}`")).with_hint(
            "--start-at-task can only find tasks of the playbook, its blocks and import_tasks files, not dynamic includes",
        )
    })
}

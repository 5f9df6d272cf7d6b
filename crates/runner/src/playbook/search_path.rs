//! `ansible_search_path`: the directories a task's lookups (and its `template` source) are
//! looked for in, as Ansible's `Task.get_search_path` plus the basedir. One small function so
//! that roles add their directories here (a role's task: the role's path first).

use std::path::{Path, PathBuf};

use clearfleet_playbook::Task;

/// The task's role's directory (a role's task), the directory of the file the task is written
/// in, then the playbook's directory.
pub(crate) fn search_path(playbook_dir: &Path, t: &Task) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = t.role.iter().map(|r| r.path.clone()).collect();
    if let Some(dir) = t.location.path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_path_buf());
        }
    }
    if !dirs.iter().any(|d| d == playbook_dir) {
        dirs.push(playbook_dir.to_path_buf());
    }
    dirs
}

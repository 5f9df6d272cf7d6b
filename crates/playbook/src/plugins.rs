//! The playbook's own plugins: modules in `library/` and action plugins in `action_plugins/`
//! beside a playbook or in a role. Ansible adds those directories to its search paths
//! (ansible-core 2.19.14 `plugins/loader.py` `add_all_plugin_dirs`, called for each playbook's
//! directory by `playbook/__init__.py` `Playbook._load_playbook_data` and for each role by
//! `playbook/role/__init__.py` `Role._load_role_data`), for every task loaded after them.
//! clearfleet runs no Python plugin: a task that calls one loads with a warning and fails when
//! it runs, as a builtin module clearfleet lacks does (`clearfleet_modules::not_run`).

use clearfleet_base::controller_files::ControllerFiles;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The plugin directories a directory can hold that name a task's module
/// (`module_loader` and `action_loader`'s `subdir`).
const SUBDIRS: &[&str] = &["library", "action_plugins"];

/// The module and action plugins found so far, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plugins {
    found: BTreeMap<String, PathBuf>,
}

impl Plugins {
    /// Adds the plugins of `dir` (a playbook's directory or a role's): each file of its
    /// `library/` and `action_plugins/`, named by its file name without the extension. The
    /// first file found for a name is kept, as Ansible searches its paths in the order they
    /// were added.
    pub fn add_dir(&mut self, source: &ControllerFiles, dir: &Path) {
        for sub in SUBDIRS {
            for file in source.files_in(&dir.join(sub)) {
                let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                if stem.is_empty() || stem.starts_with(['.', '_']) {
                    continue;
                }
                self.found.entry(stem.to_owned()).or_insert(file);
            }
        }
    }

    /// The plugin a task's module key names: a short name or an `ansible.legacy.` one (which
    /// Ansible resolves through these directories before its builtin modules, so a plugin
    /// named `copy` is the one a task's `copy:` calls); never an `ansible.builtin.` name.
    /// Returns the plugin's name and file.
    pub fn find(&self, key: &str) -> Option<(&str, &Path)> {
        let short = key.strip_prefix("ansible.legacy.").unwrap_or(key);
        if short.contains('.') {
            return None;
        }
        self.found
            .get_key_value(short)
            .map(|(k, v)| (k.as_str(), v.as_path()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_modules_and_action_plugins_by_short_and_legacy_names() {
        let source = ControllerFiles::memory([
            ("p/library/my_mod.py", ""),
            ("p/action_plugins/copy.py", ""),
            ("p/action_plugins/__init__.py", ""),
            ("p/library/.hidden", ""),
            ("r/library/my_mod.sh", ""),
        ]);
        let mut p = Plugins::default();
        p.add_dir(&source, Path::new("p"));
        p.add_dir(&source, Path::new("r"));
        p.add_dir(&source, Path::new("none"));
        assert_eq!(
            p.find("my_mod"),
            Some(("my_mod", Path::new("p/library/my_mod.py")))
        );
        assert_eq!(
            p.find("ansible.legacy.copy"),
            Some(("copy", Path::new("p/action_plugins/copy.py")))
        );
        assert_eq!(p.find("ansible.builtin.copy"), None);
        assert_eq!(p.find("other.coll.my_mod"), None);
        assert_eq!(p.find("__init__"), None);
        assert_eq!(p.find(".hidden"), None);
        assert_eq!(p.find("file"), None);
    }
}

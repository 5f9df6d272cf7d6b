//! What a module run knows besides its arguments: the host, the run's modes, the controller dir
//! and where the playbook's files are read from.

use std::path::{Path, PathBuf};

use super::remote::Remote;
use clearfleet_base::controller_files::ControllerFiles;

/// Everything a module needs from the engine for one host.
pub struct ModuleContext<'a, R: Remote> {
    pub remote: &'a R,
    /// `--check`: find out, report, change nothing.
    pub check_mode: bool,
    /// `--diff`: fill [`super::Diff`] where the module can.
    pub diff: bool,
    /// Informational: the engine applies become in its `Remote`.
    pub become_: bool,
    /// The playbook directory: relative controller paths (`src:`, fetch `dest:`) resolve here.
    pub controller_dir: &'a Path,
    /// The directory of the role the task comes from: its `files/` or `templates/`, then the
    /// role directory itself, are searched before the playbook's.
    pub role_dir: Option<&'a Path>,
    /// Where controller sources (`src:`) are read: the disk, or the built-in playbook's files in
    /// memory (then a relative `src:` names one of those, an absolute one a file on disk).
    pub files: &'a ControllerFiles,
}

impl<R: Remote> ModuleContext<'_, R> {
    /// Finds a controller-side source file (in [`Self::files`]): absolute as is; else the
    /// role's `files/` or `templates/` (for `sub`) and the role dir, then the same under the
    /// controller dir, as Ansible's `path_dwim_relative_stack` searches.
    pub fn find_source(&self, src: &str, sub: &str) -> Option<PathBuf> {
        let p = Path::new(src);
        if p.is_absolute() {
            return self.files.exists(p).then(|| p.to_path_buf());
        }
        let role = self
            .role_dir
            .into_iter()
            .flat_map(|r| [r.join(sub).join(p), r.join(p)]);
        role.chain([
            self.controller_dir.join(sub).join(p),
            self.controller_dir.join(p),
        ])
        .find(|c| self.files.exists(c))
    }
}

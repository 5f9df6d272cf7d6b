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
    /// Where controller sources (`src:`) are read: the disk, or the built-in playbook's files in
    /// memory (then a relative `src:` names one of those, an absolute one a file on disk).
    pub files: &'a ControllerFiles,
}

impl<R: Remote> ModuleContext<'_, R> {
    /// Finds a controller-side source file (in [`Self::files`]): absolute as is; else `files/`,
    /// `templates/` (for `sub`), then the controller dir itself, as Ansible's
    /// `path_dwim_relative` searches.
    pub fn find_source(&self, src: &str, sub: &str) -> Option<PathBuf> {
        let p = Path::new(src);
        if p.is_absolute() {
            return self.files.exists(p).then(|| p.to_path_buf());
        }
        [
            self.controller_dir.join(sub).join(p),
            self.controller_dir.join(p),
        ]
        .into_iter()
        .find(|c| self.files.exists(c))
    }
}

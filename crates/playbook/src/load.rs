//! The public entry points: a playbook (from a file or a string) or a tasks file loaded, with
//! everything found turned into one [`PlaybookError`]; where a path written in a file points.
//! The files themselves are read in `files` (from the disk or from memory, as the
//! [`ControllerFiles`] given say), playbook files in `play`, tasks files in `task`.

use super::cx::{Cx, File};
use super::error::PlaybookError;
use super::files::{empty_playbook, parse};
use super::inherit::Inherited;
use super::model::{DeferredRole, Play, Playbook, RoleFrom, SourceFile, Task};
use super::play::{self, playbook_file};
use super::plugins::Plugins;
use super::role::LoadedRole;
use super::task::tasks_file;
use super::template::TemplateCheck;
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::diagnostic::Location;
use std::path::{Path, PathBuf};

/// Loads the playbook at `path` and everything it imports, checking every template with
/// `hook`. Touches only the local filesystem.
pub fn load_playbook(path: &Path, hook: &mut dyn TemplateCheck) -> Result<Playbook, PlaybookError> {
    load_playbook_from(&ControllerFiles::Disk, path, hook)
}

/// Loads the playbook at `path` of `source` and everything it imports from there: with
/// [`ControllerFiles::Memory`] (the built-in upgrade playbook) nothing is read from disk but
/// what an absolute path names, and diagnostics name the files by their relative paths.
pub fn load_playbook_from(
    source: &ControllerFiles,
    path: &Path,
    hook: &mut dyn TemplateCheck,
) -> Result<Playbook, PlaybookError> {
    load_playbook_with(source, path, &[], hook)
}

/// [`load_playbook_from`] with roles searched in `roles_path` too (after `roles/` beside the
/// playbook, before the playbook's directory: ansible.cfg's `roles_path`).
pub fn load_playbook_with(
    source: &ControllerFiles,
    path: &Path,
    roles_path: &[PathBuf],
    hook: &mut dyn TemplateCheck,
) -> Result<Playbook, PlaybookError> {
    let mut cx = Cx::new(hook, source);
    cx.roles.roles_path = roles_path.to_vec();
    let plays = playbook_file(&mut cx, None, path, 0);
    finish(cx, plays)
}

/// Loads a playbook from `text`, as if read from `path` (includes resolve next to `path`).
pub fn load_playbook_str(
    path: &Path,
    text: &str,
    hook: &mut dyn TemplateCheck,
) -> Result<Playbook, PlaybookError> {
    let mut cx = Cx::new(hook, &ControllerFiles::Disk);
    cx.plugins
        .add_dir(&cx.source, path.parent().unwrap_or(Path::new("")));
    let file = File {
        path: path.to_path_buf(),
        text: text.to_owned(),
    };
    cx.files.push(SourceFile {
        path: file.path.clone(),
        text: file.text.clone(),
    });
    cx.stack
        .push((cx.source.canonical(path), path.to_path_buf()));
    let plays = match parse(&mut cx, &file) {
        Ok(Some(root)) => play::plays(&mut cx, &file, &root, 0),
        Ok(None) => {
            cx.diags.push(empty_playbook(&file));
            Vec::new()
        }
        Err(()) => Vec::new(),
    };
    finish(cx, plays)
}

/// Loads a tasks file of `source` for a dynamic `include_tasks` reached at run time. `parent`
/// is [`Inherited::for_include`] of the include task; `plugins` the playbook's
/// ([`Playbook::plugins`]).
pub fn load_tasks_file(
    source: &ControllerFiles,
    path: &Path,
    parent: &Inherited,
    handlers: bool,
    plugins: &Plugins,
    hook: &mut dyn TemplateCheck,
) -> Result<(Vec<Task>, Vec<SourceFile>), PlaybookError> {
    let mut cx = Cx::new(hook, source);
    cx.plugins = plugins.clone();
    let tasks = tasks_file(
        &mut cx,
        &File {
            path: PathBuf::new(),
            text: String::new(),
        },
        None,
        path,
        parent,
        handlers,
        true,
        0,
    )
    .unwrap_or_default();
    if cx.diags.is_empty() {
        Ok((tasks, cx.files))
    } else {
        Err(PlaybookError::new(cx.diags))
    }
}

/// Loads the role of an `include_role` whose `name` or `*_from` is a template
/// ([`DeferredRole`]), with `name` and `from` rendered for the hosts that reach it; `at` is
/// where the include is written; `plugins` the playbook's ([`Playbook::plugins`]).
/// ansible-core 2.19.14 loads such a role then
/// (`IncludedFile.process_include_results`, `IncludeRole.get_block_list`).
pub fn load_role(
    source: &ControllerFiles,
    deferred: &DeferredRole,
    name: &str,
    from: RoleFrom,
    at: &Location,
    plugins: &Plugins,
    hook: &mut dyn TemplateCheck,
) -> Result<LoadedRole, PlaybookError> {
    let mut cx = Cx::new(hook, source);
    cx.plugins = plugins.clone();
    let loaded = super::role::load_deferred(&mut cx, deferred, name, from, at);
    if cx.diags.is_empty() {
        Ok(loaded)
    } else {
        Err(PlaybookError::new(cx.diags))
    }
}

/// Where a path written in a playbook file points: relative paths are taken from the
/// directory of the file that names them (`at` is where it is written), as Ansible does for
/// `vars_files`, `include_tasks` and `import_*`.
pub fn resolve_path(at: &Location, written: &str) -> PathBuf {
    at.path
        .parent()
        .unwrap_or(Path::new(""))
        .join(written.trim())
}

/// The tasks file an `include_tasks`/`import_tasks` written in a file of directory `dir` names.
/// Outside a role, `written` taken from `dir` (as [`resolve_path`]). In the role at `role`, the first that exists of: that path, then the
/// role's `tasks/` and the role itself, as Ansible's `DataLoader.path_dwim_relative(role,
/// 'tasks'|'handlers', file, is_role=True)` searches (a role's handler that includes
/// `cleanup.yml` gets `tasks/cleanup.yml`); when none exists, the first (for the error).
pub fn include_path(
    source: &ControllerFiles,
    dir: &Path,
    written: &str,
    role: Option<&Path>,
) -> PathBuf {
    let first = dir.join(written.trim());
    let Some(role) = role else { return first };
    let written = Path::new(written.trim());
    if written.is_absolute() || source.is_file(&first) {
        return first;
    }
    [role.join("tasks").join(written), role.join(written)]
        .into_iter()
        .find(|p| source.is_file(p))
        .unwrap_or(first)
}

fn finish(cx: Cx, plays: Vec<Play>) -> Result<Playbook, PlaybookError> {
    if cx.diags.is_empty() {
        Ok(Playbook {
            plays,
            files: cx.files,
            source: cx.source,
            warnings: cx.warnings,
            plugins: cx.plugins,
        })
    } else {
        Err(PlaybookError::new(cx.diags))
    }
}

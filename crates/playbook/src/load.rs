//! Reading files: the playbook, `import_playbook`/`import_tasks`/`include_tasks` targets
//! (resolved relative to the including file) and `vars_files`; include cycles; and the public
//! entry points that turn everything found into one [`PlaybookError`].

use super::cx::{Cx, File};
use super::error::PlaybookError;
use super::inherit::Inherited;
use super::model::{Play, Playbook, SourceFile, Task};
use super::play;
use super::task::task_list;
use super::template::TemplateCheck;
use clearfleet_base::diagnostic::{Diagnostic, Location};
use clearfleet_yaml::syntax::{Kind, Node, parse_yaml};
use std::path::{Path, PathBuf};

/// Includes nested deeper than this are reported (a guard against runaway recursion).
const MAX_INCLUDE_DEPTH: usize = 64;

/// Loads the playbook at `path` and everything it imports, checking every template with
/// `hook`. Touches only the local filesystem.
pub fn load_playbook(path: &Path, hook: &mut dyn TemplateCheck) -> Result<Playbook, PlaybookError> {
    let mut cx = Cx::new(hook);
    let plays = playbook_file(&mut cx, None, path, 0);
    finish(cx, plays)
}

/// Loads a playbook from `text`, as if read from `path` (includes resolve next to `path`).
pub fn load_playbook_str(
    path: &Path,
    text: &str,
    hook: &mut dyn TemplateCheck,
) -> Result<Playbook, PlaybookError> {
    let mut cx = Cx::new(hook);
    let file = File {
        path: path.to_path_buf(),
        text: text.to_owned(),
    };
    cx.files.push(SourceFile {
        path: file.path.clone(),
        text: file.text.clone(),
    });
    cx.stack.push((canonical(path), path.to_path_buf()));
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

/// Loads a tasks file for a dynamic `include_tasks` reached at run time. `parent` is
/// [`Inherited::for_include`] of the include task.
pub fn load_tasks_file(
    path: &Path,
    parent: &Inherited,
    handlers: bool,
    hook: &mut dyn TemplateCheck,
) -> Result<(Vec<Task>, Vec<SourceFile>), PlaybookError> {
    let mut cx = Cx::new(hook);
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

/// Where a path written in a playbook file points: relative paths are taken from the
/// directory of the file that names them (`at` is where it is written), as Ansible does for
/// `vars_files`, `include_tasks` and `import_*`.
pub fn resolve_path(at: &Location, written: &str) -> PathBuf {
    at.path
        .parent()
        .unwrap_or(Path::new(""))
        .join(written.trim())
}

fn finish(cx: Cx, plays: Vec<Play>) -> Result<Playbook, PlaybookError> {
    if cx.diags.is_empty() {
        Ok(Playbook {
            plays,
            files: cx.files,
        })
    } else {
        Err(PlaybookError::new(cx.diags))
    }
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

/// Reads `path`, reporting a missing file at `from` (the scalar that named it).
fn read(cx: &mut Cx, from: Option<(&File, &Node)>, path: &Path, what: &str) -> Option<File> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            if !cx.files.iter().any(|s| s.path == path) {
                cx.files.push(SourceFile {
                    path: path.to_path_buf(),
                    text: text.clone(),
                });
            }
            Some(File {
                path: path.to_path_buf(),
                text,
            })
        }
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                format!("{what} `{}` not found", path.display())
            } else {
                format!("cannot read {what} `{}`: {e}", path.display())
            };
            cx.diags.push(match from {
                Some((f, n)) => Cx::diag(f, n, msg),
                None => Diagnostic::new(msg),
            });
            None
        }
    }
}

/// Parses a file's YAML, reporting a syntax error at its place (`Err`); `Ok(None)` for a
/// file with no document.
fn parse(cx: &mut Cx, f: &File) -> Result<Option<Node>, ()> {
    parse_yaml(&f.text).map_err(|e| {
        cx.diags.push(Diagnostic::at(
            format!("invalid YAML: {}", e.message),
            &f.path,
            &f.text,
            e.line,
            e.column,
        ));
    })
}

/// Ansible's "Empty playbook, nothing to do", at the top of the file.
fn empty_playbook(f: &File) -> Diagnostic {
    Diagnostic::at("empty playbook, nothing to do", &f.path, &f.text, 1, 1)
}

/// Why a file cannot be entered; `what` is `import` or `include`.
#[derive(Debug, thiserror::Error)]
enum EnterError {
    /// The file is already on the stack: `a.yml -> b.yml -> a.yml`.
    #[error("{what} cycle: {chain}")]
    Cycle { what: &'static str, chain: String },
    #[error("more than {MAX_INCLUDE_DEPTH} nested {what}s")]
    TooDeep { what: &'static str },
}

/// Pushes `path` on the include stack; `Err` when it is already there (a cycle) or the stack is
/// full. `what`: `import` or `include`, for the message.
fn enter(cx: &mut Cx, path: &Path, what: &'static str) -> Result<(), EnterError> {
    let c = canonical(path);
    if let Some(i) = cx.stack.iter().position(|(p, _)| *p == c) {
        let mut chain: Vec<String> = cx.stack[i..]
            .iter()
            .map(|(_, shown)| shown.display().to_string())
            .collect();
        chain.push(path.display().to_string());
        return Err(EnterError::Cycle {
            what,
            chain: chain.join(" -> "),
        });
    }
    if cx.stack.len() >= MAX_INCLUDE_DEPTH {
        return Err(EnterError::TooDeep { what });
    }
    cx.stack.push((c, path.to_path_buf()));
    Ok(())
}

/// The plays of the playbook file at `path` (`from`: the `import_playbook` that named it).
pub fn playbook_file(
    cx: &mut Cx,
    from: Option<(&File, &Node)>,
    path: &Path,
    depth: usize,
) -> Vec<Play> {
    if let Err(e) = enter(cx, path, "import") {
        if let Some((f, n)) = from {
            cx.error(f, n, e.to_string());
        }
        return Vec::new();
    }
    let plays = match read(cx, from, path, "playbook") {
        Some(file) => match parse(cx, &file) {
            Ok(Some(root)) => play::plays(cx, &file, &root, depth),
            Ok(None) => {
                cx.diags.push(empty_playbook(&file));
                Vec::new()
            }
            Err(()) => Vec::new(),
        },
        None => Vec::new(),
    };
    cx.stack.pop();
    plays
}

/// The tasks of the tasks file at `path`, named by `at` in `f`. With `strict` (imports)
/// a cycle is an error; for a dynamic include (which may recurse under a condition) the
/// recursion is simply not followed at load time.
#[expect(
    clippy::too_many_arguments,
    reason = "internal; mirrors the task walk's state"
)]
pub fn tasks_file(
    cx: &mut Cx,
    f: &File,
    at: Option<&Node>,
    path: &Path,
    parent: &Inherited,
    handlers: bool,
    strict: bool,
    depth: usize,
) -> Option<Vec<Task>> {
    let from = at.map(|n| (f, n));
    if let Err(e) = enter(cx, path, "include") {
        if strict {
            match from {
                Some((f, n)) => cx.error(f, n, e.to_string()),
                None => cx.diags.push(Diagnostic::new(e.to_string())),
            }
        }
        return None;
    }
    let out = read(cx, from, path, "tasks file").map(|file| match parse(cx, &file) {
        Ok(Some(root)) => match &root.kind {
            Kind::Seq(_) => task_list(cx, &file, &root, "tasks", handlers, parent, depth + 1),
            _ => {
                cx.error(
                    &file,
                    &root,
                    format!(
                        "a tasks file must be a list of tasks, got {}",
                        root.type_name()
                    ),
                );
                Vec::new()
            }
        },
        Ok(None) | Err(()) => Vec::new(),
    });
    cx.stack.pop();
    out
}

/// Checks that a `vars_files` entry exists and holds a mapping (the runner reads it).
pub fn vars_file(cx: &mut Cx, f: &File, at: &Node, path: &Path) {
    let Some(file) = read(cx, Some((f, at)), path, "vars file") else {
        return;
    };
    if let Ok(Some(root)) = parse(cx, &file)
        && root.as_map().is_none()
    {
        cx.error(
            &file,
            &root,
            format!(
                "a vars file must be a mapping of variables, got {}",
                root.type_name()
            ),
        );
    }
}

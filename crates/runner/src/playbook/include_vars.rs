//! `include_vars`, on the controller as ansible-core's action plugin does it: one file (`file`
//! or free form, looked for in the role's and the playbook's `vars/` like a `template` source)
//! or the files of a directory (`dir`, `depth`, `files_matching`, `ignore_files`,
//! `extensions`, `ignore_unknown_extensions`), optionally under one variable (`name`) and
//! merged with the existing values (`hash_behaviour: merge`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Engine;
use clearfleet_modules::actions::INCLUDE_VARS_ARGS;
use clearfleet_playbook::{Task, VarsFileError, load_vars_file};

/// What the files gave: the variables (`ansible_facts`), the files read in order
/// (`ansible_included_var_files`), whether one was vault-encrypted, and the failure that
/// stopped the reading (the variables are returned but not set then, as in Ansible).
pub(crate) struct Included {
    pub facts: Map<String, Value>,
    pub files: Vec<String>,
    pub vaulted: bool,
    pub error: Option<IncludeVarsError>,
}

/// Why `include_vars` failed; Ansible's words where it has them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IncludeVarsError {
    #[error("{0} is not a valid option in include_vars")]
    Option(String),
    #[error("You are mixing file only and dir only arguments, these are incompatible")]
    Mixed,
    #[error("Invalid type for \"extensions\" option, it must be a list")]
    Extensions,
    #[error("Invalid regular expression: {0}")]
    Regex(String),
    #[error("`{0}` must be {1}")]
    Type(&'static str, &'static str),
    /// Ansible's `AnsibleFileNotFound` text.
    #[error(
        "{0} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
    )]
    NotFound(String),
    #[error("{0} directory does not exist")]
    NoDir(String),
    #[error("{0} is not a directory")]
    NotDir(String),
    #[error("{} does not have a valid extension: {}", .0.display(), .1.join(", "))]
    Extension(PathBuf, Vec<String>),
    #[error(transparent)]
    File(#[from] VarsFileError),
}

const FILE_ARGS: &[&str] = &["file", "_raw_params"];
/// The arguments of a file and of a directory alike; the others are a directory's.
const BOTH_ARGS: &[&str] = &["name", "hash_behaviour"];

/// Reads the files `args` (rendered) name; `existing` (the task's variables) is what
/// `hash_behaviour: merge` merges into. `Err` for bad arguments; a file that cannot be found
/// or read is [`Included::error`], with what was read before it (a directory's files count
/// only when all of them were read, as Ansible's plugin counts them).
pub(crate) fn include_vars(
    e: &Engine,
    t: &Task,
    args: &Value,
    existing: &Map<String, Value>,
) -> Result<Included, IncludeVarsError> {
    let empty = Map::new();
    let args = args.as_object().unwrap_or(&empty);
    let (mut dirs, mut files) = (0, 0);
    for k in args.keys().map(String::as_str) {
        if !INCLUDE_VARS_ARGS.contains(&k) {
            return Err(IncludeVarsError::Option(k.to_owned()));
        } else if FILE_ARGS.contains(&k) {
            files += 1;
        } else if !BOTH_ARGS.contains(&k) {
            dirs += 1;
        }
    }
    if dirs > 0 && files > 0 {
        return Err(IncludeVarsError::Mixed);
    }
    let mut out = Included {
        facts: Map::new(),
        files: Vec::new(),
        vaulted: false,
        error: None,
    };
    let read = match text(args, "dir")? {
        Some(dir) => from_dir(e, t, &dir, args, &mut out),
        None => {
            let file = match text(args, "file")? {
                Some(f) => f,
                None => text(args, "_raw_params")?
                    .map(|f| f.trim_end_matches('\n').to_owned())
                    .unwrap_or_default(),
            };
            find_file(e, t, &file).and_then(|path| {
                let mut vars = Map::new();
                load(e, &path, None, &mut out, &mut vars)?;
                out.facts = vars;
                Ok(())
            })
        }
    };
    out.error = read.err();
    if let Some(name) = text(args, "name")?.filter(|n| !n.is_empty()) {
        out.facts = Map::from_iter([(name, Value::Object(std::mem::take(&mut out.facts)))]);
    }
    match text(args, "hash_behaviour")?.as_deref() {
        _ if out.error.is_some() => {}
        None | Some("replace") => {}
        Some(how) => {
            let lower: Map<String, Value> = existing
                .iter()
                .filter(|(k, _)| out.facts.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let merged = clearfleet_template::merge_hash(
                &Value::Object(lower),
                &Value::Object(std::mem::take(&mut out.facts)),
                how == "merge",
                "replace",
            );
            if let Value::Object(m) = merged {
                out.facts = m;
            }
        }
    }
    Ok(out)
}

/// A string argument (numbers and booleans as Python's `str` would show them are refused:
/// Ansible takes them as given, which is no path).
fn text(args: &Map<String, Value>, key: &'static str) -> Result<Option<String>, IncludeVarsError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(IncludeVarsError::Type(key, "a string")),
    }
}

/// `_find_needle('vars', file)`: the role's and the task file's and the playbook's `vars/`
/// then the directories themselves.
fn find_file(e: &Engine, t: &Task, file: &str) -> Result<PathBuf, IncludeVarsError> {
    let search = super::search_path::search_path(&e.playbook_dir, t);
    let candidates = clearfleet_template::lookup::search::candidates(&search, Some("vars"), file);
    if let Some(found) = candidates.iter().find(|p| e.files.is_file(p)) {
        return Ok(found.clone());
    }
    let searched: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    let what = match file {
        "" => "Could not find file".to_owned(),
        _ => format!("Could not find or access '{file}'"),
    };
    Err(IncludeVarsError::NotFound(format!(
        "{what}\nSearched in:\n\t{}",
        searched.join("\n\t")
    )))
}

/// Reads one file into `vars` (noted in `out`); with `extensions`, a file whose extension is
/// not listed fails.
fn load(
    e: &Engine,
    path: &Path,
    extensions: Option<&[String]>,
    out: &mut Included,
    vars: &mut Map<String, Value>,
) -> Result<(), IncludeVarsError> {
    if let Some(exts) = extensions
        && !valid_extension(path, exts)
    {
        return Err(IncludeVarsError::Extension(
            path.to_path_buf(),
            exts.to_vec(),
        ));
    }
    let file = load_vars_file(&e.files, path)?;
    out.vaulted |= file.vaulted;
    out.files.push(path.display().to_string());
    vars.extend(file.vars);
    Ok(())
}

/// Python's `splitext`: a name without a dot (or only a leading one) has the extension `''`,
/// which `extensions: ['']` accepts.
fn valid_extension(path: &Path, exts: &[String]) -> bool {
    let ext = path
        .extension()
        .map(|x| x.to_string_lossy())
        .unwrap_or_default();
    exts.iter().any(|e| *e == ext)
}

/// `dir`: relative to the role's `vars/` (a role's task) or to the task's file; every file of
/// every directory down to `depth` (0: all), directories and files in name order.
fn from_dir(
    e: &Engine,
    t: &Task,
    dir: &str,
    args: &Map<String, Value>,
    out: &mut Included,
) -> Result<(), IncludeVarsError> {
    let root = match &t.role {
        Some(role) if dir.split('/').next() == Some("vars") => {
            let p = role.path.join(dir);
            if e.files.exists(&p) {
                p
            } else {
                PathBuf::from(dir)
            }
        }
        Some(role) => role.path.join("vars").join(dir),
        None => t
            .location
            .path
            .parent()
            .map_or_else(|| PathBuf::from(dir), |d| d.join(dir)),
    };
    if !root.exists() {
        return Err(IncludeVarsError::NoDir(root.display().to_string()));
    }
    if !root.is_dir() {
        return Err(IncludeVarsError::NotDir(root.display().to_string()));
    }
    let depth = match args.get("depth") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .ok_or(IncludeVarsError::Type("depth", "a number"))? as usize,
    };
    let matcher = match text(args, "files_matching")?.filter(|s| !s.is_empty()) {
        Some(re) => Some(regex::Regex::new(&re).map_err(|_| IncludeVarsError::Regex(re))?),
        None => None,
    };
    let ignore: Vec<regex::Regex> = match args.get("ignore_files") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(_) => return Err(IncludeVarsError::Type("ignore_files", "a list")),
    }
    .into_iter()
    .map(|p| regex::Regex::new(&format!("(?:{p})$")).map_err(|_| IncludeVarsError::Regex(p)))
    .collect::<Result<_, _>>()?;
    // A string is taken letter by letter, as Python's `list("yml")`.
    let extensions: Vec<String> = match args.get("extensions") {
        None | Some(Value::Null) => vec!["yaml".into(), "yml".into(), "json".into()],
        Some(Value::String(s)) => s.chars().map(String::from).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        Some(_) => return Err(IncludeVarsError::Extensions),
    };
    let skip_unknown = args
        .get("ignore_unknown_extensions")
        .and_then(clearfleet_base::boolean::ansible_bool)
        .unwrap_or(false);
    for (dir, names) in walk(&root, depth) {
        let mut vars = Map::new();
        for name in names {
            if matcher.as_ref().is_some_and(|m| !m.is_match(&name))
                || ignore.iter().any(|r| r.is_match(&name))
            {
                continue;
            }
            let path = dir.join(&name);
            if skip_unknown && !valid_extension(&path, &extensions) {
                continue;
            }
            load(e, &path, Some(&extensions), out, &mut vars)?;
        }
        out.facts.extend(vars);
    }
    Ok(())
}

/// `os.walk` sorted as Ansible sorts it: each directory (links followed) by its path's text,
/// with the names of the files in it sorted; directories deeper than `depth` (the root is 1,
/// 0: no limit) are left out.
fn walk(root: &Path, depth: usize) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut todo = vec![(root.to_path_buf(), 1usize)];
    while let Some((dir, level)) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // A link back up would loop: Python's walk stops at the OS's depth limit.
                if level < 64 {
                    todo.push((path, level + 1));
                }
            } else {
                files.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        files.sort();
        if depth == 0 || level <= depth {
            out.push((dir, files));
        }
    }
    out.sort_by(|a, b| a.0.to_string_lossy().cmp(&b.0.to_string_lossy()));
    out
}

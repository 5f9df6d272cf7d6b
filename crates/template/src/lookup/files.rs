//! The lookups that read the playbook's files on the controller: `file`, `fileglob` and
//! `first_found`, each searching as Ansible does (see [`super::search`]); `template` has a
//! file of its own.

use std::path::{Path, PathBuf};

use minijinja::Error;
use minijinja::value::{Value, ValueKind};

use super::search::candidates;
use super::{Call, fail, term_str};

/// The first existing file among the candidates for `name`.
pub(super) fn find(call: &Call, subdir: Option<&str>, name: &str) -> Option<PathBuf> {
    candidates(&call.search_path(), subdir, name)
        .into_iter()
        .find(|p| call.files.is_file(p))
}

pub(super) fn flag(call: &Call, name: &str, default: bool) -> Result<bool, Error> {
    Ok(match call.kwarg(name)? {
        None => default,
        Some(v) => crate::filters::to_j(&v)
            .ok()
            .and_then(|j| clearfleet_base::boolean::ansible_bool(&j))
            .unwrap_or_else(|| v.is_true()),
    })
}

/// `file`: each file's text (searched under `files/`), trailing whitespace removed unless
/// `rstrip=False`, leading whitespace with `lstrip=True`.
pub(crate) fn file(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let (lstrip, rstrip) = (flag(call, "lstrip", false)?, flag(call, "rstrip", true)?);
    terms
        .iter()
        .map(|t| {
            let name = term_str(t)?;
            let not_found = || {
                fail(format!(
                    "Unable to access the file '{name}': File not found."
                ))
            };
            let path = find(call, Some("files"), &name).ok_or_else(not_found)?;
            let mut text = call
                .files
                .read_to_string(&path)
                .map_err(|e| fail(format!("Unable to access the file '{name}': {e}")))?;
            if rstrip {
                text.truncate(text.trim_end().len());
            }
            if lstrip {
                text = text.trim_start().to_owned();
            }
            Ok(Value::from(text))
        })
        .collect()
}

/// Shell-style wildcard match of a file name (`*`, `?`, `[...]`, `[!...]`), as Python's
/// `glob` (a leading `.` is matched only by a pattern that starts with `.`).
fn wildcard(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let class: String = chars.by_ref().take_while(|&c| c != ']').collect();
                // Ranges (`0-9`) stay ranges; everything else is literal.
                let literal = |s: &str| -> String {
                    s.chars()
                        .map(|c| match c {
                            '-' => "-".to_owned(),
                            c => regex::escape(&c.to_string()),
                        })
                        .collect()
                };
                let class = match class.strip_prefix('!') {
                    Some(rest) => format!("^{}", literal(rest)),
                    None => literal(&class),
                };
                re.push_str(&format!("[{class}]"));
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(name))
}

/// `fileglob`: the files matching each pattern, in the first directory of the search path
/// (its `files/` first) that has any; a pattern with a directory part looks in that
/// directory as found by the search.
pub(crate) fn fileglob(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let term = term_str(t)?;
        let path = Path::new(&term);
        let pattern = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dirs: Vec<PathBuf> = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => candidates(&call.search_path(), Some("files"), &dir.to_string_lossy())
                .into_iter()
                .find(|d| call.files.is_dir(d))
                .into_iter()
                .collect(),
            None => call
                .search_path()
                .into_iter()
                .flat_map(|p| [p.join("files"), p])
                .collect(),
        };
        for dir in dirs {
            let found: Vec<Value> = call
                .files
                .files_in(&dir)
                .into_iter()
                .filter(|f| {
                    f.file_name()
                        .is_some_and(|n| wildcard(&pattern, &n.to_string_lossy()))
                })
                .map(|f| Value::from(f.display().to_string()))
                .collect();
            if !found.is_empty() {
                out.extend(found);
                break;
            }
        }
    }
    Ok(out)
}

/// Splits a `files`/`paths` option on any of `seps` (a list is taken as it is).
fn split_on(v: &Value, seps: &[char]) -> Vec<String> {
    match v.kind() {
        ValueKind::Seq => v
            .try_iter()
            .map(|i| i.filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        _ => v
            .as_str()
            .map(|s| {
                s.split(|c| seps.contains(&c))
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The candidate names of `first_found` terms: strings, lists of them, or mappings with
/// `files` and `paths` (every path joined with every file).
fn first_found_names(call: &Call, terms: &[Value], out: &mut Vec<String>) -> Result<(), Error> {
    for t in terms {
        match t.kind() {
            ValueKind::String => out.push(term_str(t)?),
            ValueKind::Seq => first_found_names(call, &t.try_iter()?.collect::<Vec<_>>(), out)?,
            ValueKind::Map => {
                let get = |k: &str| t.get_attr(k).ok().filter(|v| !v.is_undefined());
                let files = get("files")
                    .or(call.kwarg("files")?)
                    .map(|v| split_on(&v, &[',', ';']))
                    .unwrap_or_default();
                let paths = get("paths")
                    .or(call.kwarg("paths")?)
                    .map(|v| split_on(&v, &[',', ':', ';']))
                    .unwrap_or_default();
                if paths.is_empty() {
                    out.extend(files);
                } else {
                    for p in &paths {
                        for f in &files {
                            out.push(Path::new(p).join(f).display().to_string());
                        }
                    }
                }
            }
            ValueKind::Undefined => {}
            _ => {
                return Err(fail(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}').",
                    crate::filters::type_name(t)
                )));
            }
        }
    }
    Ok(())
}

/// `first_found`: the path of the first file that exists among the terms (searched without
/// a subdirectory as `lookup('first_found', ...)`, in the module's as `with_first_found`);
/// `skip=True` gives no item instead of the error.
pub(crate) fn first_found(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut names = Vec::new();
    first_found_names(call, terms, &mut names)?;
    if names.is_empty()
        && let Some(files) = call.kwarg("files")?
    {
        let paths = call.kwarg("paths")?.map(|p| split_on(&p, &[',', ':', ';']));
        for f in split_on(&files, &[',', ';']) {
            match &paths {
                Some(ps) if !ps.is_empty() => {
                    names.extend(
                        ps.iter()
                            .map(|p| Path::new(p).join(&f).display().to_string()),
                    );
                }
                _ => names.push(f),
            }
        }
    }
    let subdir = call
        .kwarg(super::WITH_SUBDIR)?
        .and_then(|v| v.as_str().map(str::to_owned));
    for name in &names {
        if let Some(p) = find(call, subdir.as_deref(), name) {
            return Ok(vec![Value::from(p.display().to_string())]);
        }
    }
    let skip = terms
        .iter()
        .find_map(|t| t.get_attr("skip").ok().filter(|v| !v.is_undefined()))
        .or(call.kwarg("skip")?)
        .is_some_and(|v| v.is_true());
    if skip {
        return Ok(Vec::new());
    }
    Err(fail("No file was found when using first_found."))
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards_as_python_glob() {
        assert!(wildcard("*.txt", "a.txt"));
        assert!(!wildcard("*.txt", "a.txt.bak"));
        assert!(!wildcard("*.txt", ".hidden.txt"));
        assert!(wildcard("a?[0-9].conf", "ab7.conf"));
        assert!(wildcard("[!x]*", "y1"));
        assert!(!wildcard("[!x]*", "x1"));
        assert!(wildcard("a+b(c).txt", "a+b(c).txt"));
    }
}

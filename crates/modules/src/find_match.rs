//! `find`'s matching, ported from ansible-core 2.19.14's lib/ansible/modules/find.py `main()`:
//! `os.walk` (top-down, each directory's files then its directories, `del dirs[:]` past
//! `depth`, no descent without `recurse`), the filters `pfilter`, `agefilter`, `sizefilter`,
//! `contentfilter` and `mode_filter` in find.py's order for each `file_type`, `limit`, and the
//! `statinfo()` dictionary of each match; run over the [`Tree`]s of the host's walk.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::find::FindArgs;
use super::find_content::content_matches;
use super::find_walk::{Entry, Lstat, Tree};

/// File contents and checksums fetched for the walk (`collect`: not yet, note what is asked).
#[derive(Debug, Default)]
pub struct Fetched {
    pub collect: bool,
    /// Content by path; a file absent here could not be read (`open` fails: no match).
    pub contents: HashMap<String, Vec<u8>>,
    /// Checksum by path; absent: the file could not be read.
    pub checksums: HashMap<String, String>,
    pub want_content: Vec<String>,
    pub want_checksum: Vec<String>,
}

/// find.py's results: `files`, `msg`, `examined`, `skipped_paths`, its warnings.
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<Value>,
    pub skipped: Map<String, Value>,
    pub examined: u64,
    pub msg: String,
    pub warnings: Vec<String>,
}

/// Python's `repr()` of a string, as `str(OSError)` shows a file name.
pub use clearfleet_base::python_json::repr_str as py_repr;

/// `posixpath.join(a, b)` for a relative `b`.
fn join(a: &str, b: &str) -> String {
    if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `posixpath.normpath`.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let lead = p.len() - p.trim_start_matches('/').len();
    let prefix = match lead {
        0 => "",
        2 => "//",
        _ => "/",
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if !prefix.is_empty() && parts.is_empty() => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let out = format!("{prefix}{}", parts.join("/"));
    if out.is_empty() { ".".into() } else { out }
}

/// find.py's `statinfo()` after `{'path': fsname}`, in its key order.
fn statinfo(path: &str, st: &Lstat) -> Map<String, Value> {
    let m = st.mode;
    let fmt = m & 0o170000;
    let mut d = Map::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.to_owned(), v);
    };
    put("path", json!(path));
    put("mode", json!(format!("{:04o}", m & 0o7777)));
    put("isdir", json!(fmt == 0o040000));
    put("ischr", json!(fmt == 0o020000));
    put("isblk", json!(fmt == 0o060000));
    put("isreg", json!(fmt == 0o100000));
    put("isfifo", json!(fmt == 0o010000));
    put("islnk", json!(fmt == 0o120000));
    put("issock", json!(fmt == 0o140000));
    put("uid", json!(st.uid));
    put("gid", json!(st.gid));
    put("size", json!(st.size));
    put("inode", json!(st.inode));
    put("dev", json!(st.dev));
    put("nlink", json!(st.nlink));
    put("atime", json!(st.atime));
    put("mtime", json!(st.mtime));
    put("ctime", json!(st.ctime));
    put("gr_name", json!(st.group));
    put("pw_name", json!(st.owner));
    for (k, bit) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        put(k, json!(m & bit != 0));
    }
    d
}

/// find.py's `pfilter()`: the name matches a pattern and no exclude.
fn pfilter(a: &FindArgs, name: &str) -> bool {
    let hit = |p: &super::find::NamePattern| p.matches(name);
    match a.patterns.iter().find(|p| hit(p)) {
        None => false,
        Some(_) => !a.excludes.iter().any(hit),
    }
}

/// `agefilter()`: `now - st_<age_stamp>` at least `age` (at most `-age` for a negative one).
fn agefilter(a: &FindArgs, st: &Lstat, now: f64) -> bool {
    let Some(age) = a.age else { return true };
    let t = match a.age_stamp.as_str() {
        "atime" => st.atime,
        "ctime" => st.ctime,
        _ => st.mtime,
    };
    let d = now - t;
    if age >= 0 {
        d >= age as f64
    } else {
        d <= age.unsigned_abs() as f64
    }
}

/// `sizefilter()`.
fn sizefilter(a: &FindArgs, st: &Lstat) -> bool {
    match a.size {
        None => true,
        Some(s) if s >= 0 => st.size as i128 >= s as i128,
        Some(s) => st.size as i128 <= -(s as i128),
    }
}

/// `mode_filter()`: the permission bits equal `mode` (`exact_mode`), or share one with it.
fn mode_filter(a: &FindArgs, st: &Lstat) -> bool {
    let Some(mode) = a.mode else { return true };
    let have = st.mode & 0o7777;
    if a.exact_mode {
        have == mode
    } else {
        have & mode != 0
    }
}

/// The walk of one path; `Err`: the exception find.py's `main()` catches for the whole path
/// (its message), the matches so far kept.
fn walk_one(
    a: &FindArgs,
    tree: &Tree,
    now: f64,
    fetched: &mut Fetched,
    found: &mut Found,
) -> Result<(), String> {
    let npath = tree.path.as_str();
    if !tree.is_dir {
        return Err(format!("'{npath}' is not a directory"));
    }
    let limit = if fetched.collect && a.contains.is_some() {
        None
    } else {
        a.limit.map(|l| l as usize)
    };
    let wpath = format!("{}/", npath.trim_end_matches('/'));
    let wdepth = wpath.matches('/').count() as i64;
    let no_entries = Vec::new();
    // (root as os.walk joins it, path relative to npath, readable)
    let mut stack: Vec<(String, String, bool)> =
        vec![(npath.to_owned(), String::new(), tree.readable)];
    while let Some((root, rel, readable)) = stack.pop() {
        if !readable {
            // `handle_walk_errors`: scandir's PermissionError.
            found.skipped.insert(
                root.clone(),
                json!(format!("[Errno 13] Permission denied: {}", py_repr(&root))),
            );
            continue;
        }
        let entries = tree.children.get(&rel).unwrap_or(&no_entries);
        let (dirs, files): (Vec<&Entry>, Vec<&Entry>) = entries.iter().partition(|e| e.is_dir);
        found.examined += entries.len() as u64;
        let mut descend = dirs.clone();
        for e in files.iter().chain(dirs.iter()) {
            let fsname = normpath(&join(&root, &e.name));
            if let Some(max) = a.depth.filter(|d| *d != 0) {
                let depth = fsname.matches('/').count() as i64 - wdepth + 1;
                if depth > max {
                    descend.clear();
                    continue;
                }
            }
            if e.name.starts_with('.') && !a.hidden {
                continue;
            }
            consider(a, e, &fsname, now, fetched, found)?;
            if limit == Some(found.files.len()) {
                found.msg = "Limit of matches reached".into();
                break;
            }
        }
        if !a.recurse || limit == Some(found.files.len()) {
            break;
        }
        for d in descend.iter().rev() {
            if a.follow || d.st.mode & 0o170000 != 0o120000 {
                let sub = if rel.is_empty() {
                    d.name.clone()
                } else {
                    format!("{rel}/{}", d.name)
                };
                stack.push((join(&root, &d.name), sub, d.readable));
            }
        }
    }
    Ok(())
}

/// One entry through find.py's filters for `file_type`; a match goes to `found.files`.
fn consider(
    a: &FindArgs,
    e: &Entry,
    fsname: &str,
    now: f64,
    fetched: &mut Fetched,
    found: &mut Found,
) -> Result<(), String> {
    let st = &e.st;
    let fmt = st.mode & 0o170000;
    let is_reg = fmt == 0o100000;
    let common = |a: &FindArgs| pfilter(a, &e.name) && agefilter(a, st, now);
    let matched = match a.file_type.as_str() {
        "any" => {
            if !(common(a) && mode_filter(a, st)) {
                return Ok(());
            }
            let mut r = statinfo(fsname, st);
            if is_reg && a.get_checksum {
                r.insert("checksum".into(), json!(checksum(fetched, fsname)?));
            }
            (!is_reg || sizefilter(a, st)).then_some(r)
        }
        "directory" if fmt == 0o040000 => {
            (common(a) && mode_filter(a, st)).then(|| statinfo(fsname, st))
        }
        "link" if fmt == 0o120000 => {
            (common(a) && mode_filter(a, st)).then(|| statinfo(fsname, st))
        }
        "file" if is_reg => {
            if !(common(a)
                && sizefilter(a, st)
                && contentfilter(a, fsname, fetched)?
                && mode_filter(a, st))
            {
                return Ok(());
            }
            let mut r = statinfo(fsname, st);
            if a.get_checksum {
                r.insert("checksum".into(), json!(checksum(fetched, fsname)?));
            }
            Some(r)
        }
        _ => None,
    };
    if let Some(r) = matched {
        found.files.push(Value::Object(r));
    }
    Ok(())
}

/// `contentfilter()` on the fetched content.
fn contentfilter(a: &FindArgs, fsname: &str, fetched: &mut Fetched) -> Result<bool, String> {
    let Some(re) = &a.contains else {
        return Ok(true);
    };
    if fetched.collect {
        fetched.want_content.push(fsname.to_owned());
        return Ok(true);
    }
    match fetched.contents.get(fsname) {
        None => Ok(false),
        Some(bytes) => content_matches(re, bytes, a.encoding.as_deref(), a.read_whole_file)
            .map_err(|e| e.message(fsname, a.encoding.as_deref())),
    }
}

/// `module.digest_from_file()`: the fetched checksum; an unreadable file is the
/// `PermissionError` that ends the path.
fn checksum(fetched: &mut Fetched, fsname: &str) -> Result<String, String> {
    if fetched.collect {
        fetched.want_checksum.push(fsname.to_owned());
        return Ok(String::new());
    }
    fetched
        .checksums
        .get(fsname)
        .cloned()
        .ok_or_else(|| format!("[Errno 13] Permission denied: {}", py_repr(fsname)))
}

/// find.py's `main()` loop over `paths`: the matches, what was skipped and why, `msg`.
pub fn walk(a: &FindArgs, trees: &[Tree], now: f64, fetched: &mut Fetched) -> Found {
    let mut found = Found {
        msg: "All paths examined".into(),
        ..Found::default()
    };
    let mut has_warnings = false;
    for tree in trees {
        if let Err(e) = walk_one(a, tree, now, fetched, &mut found) {
            found.warnings.push(format!(
                "Skipped '{}' path due to this access issue: {e}\n",
                tree.path
            ));
            found.skipped.insert(tree.path.clone(), json!(e));
            has_warnings = true;
        }
    }
    if has_warnings {
        found.msg = "Not all paths examined, check warnings for details".into();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_as_posixpath() {
        assert_eq!(normpath("/a/b/../c/./d/"), "/a/c/d");
        assert_eq!(normpath("//a"), "//a");
        assert_eq!(normpath("///a//b"), "/a/b");
        assert_eq!(normpath("../x/.."), "..");
        assert_eq!(normpath("/.."), "/");
        assert_eq!(normpath("a/."), "a");
        assert_eq!(normpath(""), ".");
    }

    #[test]
    fn repr_as_python() {
        assert_eq!(py_repr("/a b"), "'/a b'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\nb\\"), "'a\\nb\\\\'");
    }
}

//! Ansible's Jinja tests (`is version(...)`, `is match(...)`, `is succeeded`, ...).

use std::path::Path;

use clearfleet_base::boolean::{ansible_bool_number, ansible_bool_text};
use clearfleet_base::python_json::str_of;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, State};

use super::filters::{
    check_defined, compile_regex, dollar_fallback, fail, kwarg_flag, py_str, to_j, truthy,
    version_compare,
};

/// Registers the Ansible tests on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    env.add_test("match", is_match);
    env.add_test("search", is_search);
    env.add_test("regex", is_regex);
    env.add_test("succeeded", succeeded);
    env.add_test("success", succeeded);
    env.add_test("successful", succeeded);
    env.add_test("failed", failed);
    env.add_test("failure", failed);
    env.add_test("changed", changed);
    env.add_test("change", changed);
    env.add_test("skipped", skipped);
    env.add_test("skip", skipped);
    env.add_test("reachable", reachable);
    env.add_test("started", started);
    env.add_test("finished", finished);
    env.add_test("unreachable", unreachable);
    env.add_test("contains", contains);
    env.add_test("truthy", is_truthy);
    env.add_test("falsy", is_falsy);
    env.add_test("subset", subset);
    env.add_test("issubset", subset);
    env.add_test("superset", superset);
    env.add_test("issuperset", superset);
    env.add_test("sequence", is_sequence);
    env.add_test("exists", exists);
    env.add_test("file", is_file);
    env.add_test("directory", is_dir);
    env.add_test("link", is_link);
    // ansible-core 2.19.14 plugins/test/files.py: the `is_` aliases and the path tests.
    env.add_test("is_file", is_file);
    env.add_test("is_dir", is_dir);
    env.add_test("is_link", is_link);
    env.add_test("link_exists", link_exists);
    env.add_test("abs", is_abs);
    env.add_test("is_abs", is_abs);
    env.add_test("same_file", same_file);
    env.add_test("is_same_file", same_file);
    env.add_test("mount", is_mount);
    env.add_test("is_mount", is_mount);
    // `ansible._protomatter.` (preprocess renames the prefix): 2.19's tag tests, for the one tag
    // clearfleet can tell, `TrustedAsTemplate` (`clearfleet_base::trust`).
    env.add_test("protomatter_tagged_with", tagged_with);
    env.add_test("protomatter_tagged", tagged);
}

/// `ansible._protomatter.tagged_with(tag)`: only `TrustedAsTemplate` is known (a string an
/// author wrote); asking for another tag is an error rather than a guess.
fn tagged_with(value: &Value, tag: String) -> Result<bool, Error> {
    if tag != "TrustedAsTemplate" {
        return Err(fail(format!(
            "clearfleet knows only the tag TrustedAsTemplate, not {tag}"
        )));
    }
    Ok(value
        .as_str()
        .is_some_and(clearfleet_base::trust::is_trusted))
}

/// `ansible._protomatter.tagged`: whether the value carries a tag clearfleet knows.
fn tagged(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(clearfleet_base::trust::is_trusted)
}

fn version_test(
    state: &State,
    value: &Value,
    version: &Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    version_compare(state, value, version, operator, kwargs)
}

/// Ansible's `regex` test: `match_type` is `search` (default), `match` or `fullmatch`.
fn is_regex(
    state: &State,
    value: &Value,
    pattern: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let match_type = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| "search".into());
    regex_test(state, value, pattern, kwargs, &match_type)
}

fn is_match(
    state: &State,
    value: &Value,
    pattern: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    regex_test(state, value, pattern, kwargs, "match")
}

fn is_search(
    state: &State,
    value: &Value,
    pattern: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    regex_test(state, value, pattern, kwargs, "search")
}

fn regex_test(
    state: &State,
    value: &Value,
    pattern: Option<String>,
    kwargs: Kwargs,
    match_type: &str,
) -> Result<bool, Error> {
    check_defined(state, value)?;
    let ignorecase = kwarg_flag(&kwargs, "ignorecase")?;
    let multiline = kwarg_flag(&kwargs, "multiline")?;
    kwargs.assert_all_used()?;
    // Ansible's `regex` test (plugins/test/core.py) takes `to_text(value)`: Python's `str()`
    // of a list, a dict or a number (`['a']`, `{'k': 1}`, `5`), which it searches.
    let text = match value.kind() {
        ValueKind::String => py_str(value),
        _ => str_of(&to_j(value)?),
    };
    let pattern = pattern.unwrap_or_default();
    // `re.match` anchors at the start of the string only, even with `multiline`.
    let pattern = match match_type {
        "match" => format!("\\A(?:{pattern})"),
        "fullmatch" => format!("\\A(?:{pattern})\\z"),
        _ => pattern,
    };
    let re = compile_regex(&pattern, ignorecase, multiline)?;
    Ok(re.is_match(&text)
        || dollar_fallback(&pattern, multiline, &text).is_some_and(|t| re.is_match(t)))
}

fn result_map<'a>(value: &'a Value, test: &str) -> Result<&'a Value, Error> {
    if value.kind() != ValueKind::Map {
        return Err(fail(format!("The '{test}' test expects a dictionary")));
    }
    Ok(value)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get_attr(key).is_ok_and(|v| truthy(&v))
}

fn failed(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    Ok(flag(result_map(value, "failed")?, "failed"))
}

fn succeeded(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    Ok(!flag(result_map(value, "failed")?, "failed"))
}

fn unreachable(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    Ok(flag(result_map(value, "unreachable")?, "unreachable"))
}

fn reachable(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(!unreachable(state, value)?)
}

fn skipped(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    Ok(flag(result_map(value, "skipped")?, "skipped"))
}

/// `started` (async): the `started` key; a result without one (no async task) has started.
fn started(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    async_flag(result_map(value, "started")?, "started")
}

/// `finished` (async): the `finished` key; a result without one (no async task) has finished.
fn finished(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    async_flag(result_map(value, "finished")?, "finished")
}

fn async_flag(map: &Value, key: &str) -> Result<bool, Error> {
    let v = map.get_attr(key)?;
    Ok(v.is_undefined() || truthy(&v))
}

/// `changed`: the `changed` key, or, without it, whether any item of `results` changed.
fn changed(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    let map = result_map(value, "changed")?;
    let changed_key = map.get_attr("changed")?;
    if !changed_key.is_undefined() {
        return Ok(truthy(&changed_key));
    }
    let results = map.get_attr("results")?;
    if results.kind() == ValueKind::Seq
        && results
            .get_item_by_index(0)
            .is_ok_and(|first| first.kind() == ValueKind::Map)
    {
        for res in results.try_iter()? {
            if flag(&res, "changed") {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// `contains(seq, value)`: `value in seq`.
fn contains(state: &State, seq: &Value, value: &Value) -> Result<bool, Error> {
    check_defined(state, seq)?;
    check_defined(state, value)?;
    if let (Some(hay), Some(needle)) = (seq.as_str(), value.as_str()) {
        return Ok(hay.contains(needle));
    }
    Ok(seq.try_iter()?.any(|item| &item == value))
}

/// `truthy(value, convert_bool=False)`.
fn is_truthy(state: &State, value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    check_defined(state, value)?;
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert {
        // Ansible: `value = boolean(value)`, and a value that is no boolean stays as it is.
        let converted = match value.kind() {
            ValueKind::String => value.as_str().and_then(ansible_bool_text),
            ValueKind::Bool => Some(value.is_true()),
            ValueKind::Number => f64::try_from(value.clone())
                .ok()
                .and_then(ansible_bool_number),
            _ => None,
        };
        if let Some(b) = converted {
            return Ok(b);
        }
    }
    Ok(truthy(value))
}

fn is_falsy(state: &State, value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    Ok(!is_truthy(state, value, kwargs)?)
}

fn all_in(state: &State, small: &Value, big: &Value) -> Result<bool, Error> {
    check_defined(state, small)?;
    check_defined(state, big)?;
    let big: Vec<Value> = big.try_iter()?.collect();
    for item in small.try_iter()? {
        if !big.contains(&item) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `a is subset(b)`: every item of `a` is in `b`.
fn subset(state: &State, a: &Value, b: &Value) -> Result<bool, Error> {
    all_in(state, a, b)
}

/// `a is superset(b)`: every item of `b` is in `a`.
fn superset(state: &State, a: &Value, b: &Value) -> Result<bool, Error> {
    all_in(state, b, a)
}

/// Jinja's `sequence`: anything with a length and items, strings and dicts included.
fn is_sequence(value: &Value) -> bool {
    matches!(
        value.kind(),
        ValueKind::String | ValueKind::Seq | ValueKind::Map | ValueKind::Bytes
    )
}

fn path_arg(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    Ok(py_str(value))
}

/// `exists` (on the controller, like Ansible): follows symlinks; `~` is expanded.
fn exists(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(Path::new(&expand_user(&path_arg(state, value)?)).exists())
}

fn is_file(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(Path::new(&path_arg(state, value)?).is_file())
}

fn is_dir(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(Path::new(&path_arg(state, value)?).is_dir())
}

fn is_link(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(Path::new(&path_arg(state, value)?).is_symlink())
}

/// `link_exists`: `os.path.lexists` of the path, `~` expanded.
fn link_exists(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(std::fs::symlink_metadata(expand_user(&path_arg(state, value)?)).is_ok())
}

/// `abs`: `os.path.isabs`.
fn is_abs(state: &State, value: &Value) -> Result<bool, Error> {
    Ok(path_arg(state, value)?.starts_with('/'))
}

/// `same_file`: `os.path.samefile`, the same device and inode; a missing path fails, as
/// Python's `os.stat` raises.
fn same_file(state: &State, a: &Value, b: &Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let stat = |v: &Value| -> Result<(u64, u64), Error> {
        let p = path_arg(state, v)?;
        let m = std::fs::metadata(&p).map_err(|e| {
            Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("[Errno {}] {}: '{p}'", e.raw_os_error().unwrap_or(0), e),
            )
        })?;
        Ok((m.dev(), m.ino()))
    };
    Ok(stat(a)? == stat(b)?)
}

/// `mount`: `os.path.ismount`, a directory on another device than its parent, or the root.
fn is_mount(state: &State, value: &Value) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let p = path_arg(state, value)?;
    let Ok(m) = std::fs::symlink_metadata(&p) else {
        return Ok(false);
    };
    if m.file_type().is_symlink() {
        return Ok(false);
    }
    let Ok(parent) = std::fs::symlink_metadata(Path::new(&p).join("..")) else {
        return Ok(false);
    };
    Ok(m.dev() != parent.dev() || m.ino() == parent.ino())
}

fn expand_user(p: &str) -> String {
    match (p.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{home}{rest}")
        }
        _ => p.to_owned(),
    }
}

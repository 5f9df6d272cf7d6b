//! JSON and YAML filters: `to_json`, `to_nice_json`, `from_json`, `to_yaml`, `to_nice_yaml`, `from_yaml`.

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, State};
use serde_json::Value as J;

use super::{check_defined, fail, from_j, to_j, truthy};
use crate::{yaml, yaml_load};
use clearfleet_base::python_json::{self as pyjson, DumpOptions};

/// `to_json(a, **kwargs)`: Python's `json.dumps` (`indent`, `sort_keys`, `ensure_ascii`).
pub(super) fn to_json(state: &State, value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    check_defined(state, value)?;
    let opts = DumpOptions {
        indent: kwargs.get::<Option<usize>>("indent")?,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(pyjson::dumps(&to_j(value)?, opts))
}

/// `to_nice_json(a, indent=4, sort_keys=True)`.
pub(super) fn to_nice_json(
    state: &State,
    value: &Value,
    indent: Option<usize>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let opts = DumpOptions {
        indent: Some(match indent {
            Some(i) => i,
            None => kwargs.get::<Option<usize>>("indent")?.unwrap_or(4),
        }),
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(pyjson::dumps(&to_j(value)?, opts))
}

/// `from_json(a)`.
pub(super) fn from_json(state: &State, value: &Value) -> Result<Value, Error> {
    check_defined(state, value)?;
    let text = value
        .as_str()
        .ok_or_else(|| fail("the JSON object must be str, bytes or bytearray"))?;
    let parsed: J = serde_json::from_str(text).map_err(|e| fail(format!("from_json: {e}")))?;
    Ok(from_j(parsed))
}

/// Reads `yaml.dump` keyword arguments (`indent`, `width`, `default_flow_style`, `sort_keys`,
/// `explicit_start`) on top of `opts`.
fn yaml_options(mut opts: yaml::DumpOptions, kwargs: &Kwargs) -> Result<yaml::DumpOptions, Error> {
    if let Some(i) = kwargs.get::<Option<usize>>("indent")? {
        opts.indent = i;
    }
    if let Some(w) = kwargs.get::<Option<usize>>("width")? {
        opts.width = w;
    }
    if kwargs.has("default_flow_style") {
        let v = kwargs.get::<Value>("default_flow_style")?;
        opts.default_flow_style = if v.is_none() { None } else { Some(truthy(&v)) };
    }
    if let Some(s) = kwargs.get::<Option<bool>>("sort_keys")? {
        opts.sort_keys = s;
    }
    if let Some(e) = kwargs.get::<Option<bool>>("explicit_start")? {
        opts.explicit_start = e;
    }
    let _ = kwargs.get::<Option<Value>>("allow_unicode")?;
    kwargs.assert_all_used()?;
    Ok(opts)
}

/// `to_yaml(a, **kwargs)`: `yaml.dump(a, allow_unicode=True, default_flow_style=None)`.
pub(super) fn to_yaml(state: &State, value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    check_defined(state, value)?;
    let opts = yaml_options(yaml::DumpOptions::default(), &kwargs)?;
    Ok(yaml::dump(&to_j(value)?, opts))
}

/// `to_nice_yaml(a, indent=4, **kwargs)`: block style everywhere.
pub(super) fn to_nice_yaml(
    state: &State,
    value: &Value,
    indent: Option<usize>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let base = yaml::DumpOptions {
        indent: indent.unwrap_or(4),
        default_flow_style: Some(false),
        ..yaml::DumpOptions::default()
    };
    let opts = yaml_options(base, &kwargs)?;
    Ok(yaml::dump(&to_j(value)?, opts))
}

/// `from_yaml(data)`: PyYAML's YAML 1.1 reading; None stays None, other non-strings pass through.
pub(super) fn from_yaml(state: &State, value: &Value) -> Result<Value, Error> {
    check_defined(state, value)?;
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    yaml_load::load(text)
        .map(from_j)
        .map_err(|e| fail(format!("from_yaml: {e}")))
}

/// `from_yaml_all(data)`: every document, as a list.
pub(super) fn from_yaml_all(state: &State, value: &Value) -> Result<Value, Error> {
    check_defined(state, value)?;
    if value.is_none() {
        return Ok(Value::from(Vec::<Value>::new()));
    }
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    yaml_load::load_all(text)
        .map(|docs| from_j(J::Array(docs)))
        .map_err(|e| fail(format!("from_yaml_all: {e}")))
}

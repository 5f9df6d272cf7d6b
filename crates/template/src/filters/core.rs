//! Scalars and text: `default`, `bool`, `int`, `float`, `string`, `join`, `split`, `ternary`, `mandatory`, `dict`, `version_compare`.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};

use super::{check_defined, fail, py_str, truthy, type_name};
use crate::version;

/// `default(value, default_value='', boolean=False)`; `boolean` also as a keyword.
pub(super) fn default(
    value: &Value,
    default_value: Option<Value>,
    boolean: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default_value = match default_value {
        Some(v) => v,
        None => kwargs
            .get::<Option<Value>>("default_value")?
            .unwrap_or_else(|| Value::from("")),
    };
    let boolean = match boolean {
        Some(b) => truthy(&b),
        None => kwargs.get::<Option<bool>>("boolean")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (boolean && !truthy(value)) {
        Ok(default_value)
    } else {
        Ok(value.clone())
    }
}

/// Ansible's `bool`: 'yes'/'on'/'true'/'1' (any case) and 1/True are true; 'no'/'off'/'false'/'0'
/// and 0/False are false; anything else is `value == 1` (ansible-core 2.19 deprecates that).
pub(super) fn to_bool(state: &State, value: &Value) -> Result<bool, Error> {
    check_defined(state, value)?;
    let text = match value.kind() {
        ValueKind::String => value.as_str().map(str::to_lowercase),
        ValueKind::Bool => Some(if value.is_true() { "true" } else { "false" }.into()),
        ValueKind::Number if value.is_integer() => Some(value.to_string()),
        _ => None,
    };
    Ok(match text.as_deref() {
        Some("yes" | "on" | "true" | "1") => true,
        Some("no" | "off" | "false" | "0") => false,
        Some(_) => false,
        None => {
            value.kind() == ValueKind::Number
                && f64::try_from(value.clone()).is_ok_and(|f| f == 1.0)
        }
    })
}

/// Python's `int(text, base)`: surrounding whitespace, a sign, underscores between digits and
/// a matching `0x`/`0o`/`0b` prefix are allowed.
fn py_int(text: &str, base: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let lower = t.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &t[2..]),
        (0 | 8, Some("0o")) => (8, &t[2..]),
        (0 | 2, Some("0b")) => (2, &t[2..]),
        (0, _) => (10, t),
        (b, _) => (b, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let n = i64::from_str_radix(&digits.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(text)`.
fn py_float(text: &str) -> Option<f64> {
    let t = text.trim().replace('_', "");
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return lower.parse::<f64>().ok().or_else(|| {
            let v = if body == "nan" {
                f64::NAN
            } else {
                f64::INFINITY
            };
            Some(if lower.starts_with('-') { -v } else { v })
        });
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

fn number_of(value: &Value) -> Option<f64> {
    match value.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(value.clone()).ok(),
        ValueKind::String => value.as_str().and_then(py_float),
        _ => None,
    }
}

/// The `default` argument, given by position or keyword, else `zero`.
fn default_arg(default: Option<Value>, kwargs: &Kwargs, zero: Value) -> Result<Value, Error> {
    match default {
        Some(d) => Ok(d),
        None => Ok(kwargs.get::<Option<Value>>("default")?.unwrap_or(zero)),
    }
}

/// Jinja's `int(default=0, base=10)`: `'42.7'` gives 42; anything unparsable gives `default`.
pub(super) fn int(
    state: &State,
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    let default = default_arg(default, &kwargs, Value::from(0))?;
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    if base == 1 || base > 36 {
        return Ok(default);
    }
    if value.is_integer() {
        return Ok(value.clone());
    }
    if value.kind() == ValueKind::Bool {
        return Ok(Value::from(i64::from(value.is_true())));
    }
    if let Some(n) = value.as_str().and_then(|s| py_int(s, base)) {
        return Ok(Value::from(n));
    }
    match number_of(value) {
        Some(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(Value::from(f.trunc() as i64)),
        _ => Ok(default),
    }
}

/// Jinja's `float(default=0.0)`.
pub(super) fn float(
    state: &State,
    value: &Value,
    default: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    let default = default_arg(default, &kwargs, Value::from(0.0))?;
    kwargs.assert_all_used()?;
    Ok(number_of(value).map_or(default, Value::from))
}

/// Jinja's `string`, with Python's spelling of values (`True`, `None`).
pub(super) fn string(state: &State, value: &Value) -> Result<Value, Error> {
    check_defined(state, value)?;
    Ok(match value.as_str() {
        Some(_) => value.clone(),
        None => Value::from(py_str(value)),
    })
}

/// Jinja's `join(d='', attribute=None)`, turning items into text as Python does.
pub(super) fn join(
    state: &State,
    value: &Value,
    d: Option<String>,
    attribute: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let d = match d {
        Some(d) => Some(d),
        None => kwargs.get::<Option<String>>("d")?,
    };
    let attribute = match attribute {
        Some(a) => Some(a),
        None => kwargs.get::<Option<String>>("attribute")?,
    };
    kwargs.assert_all_used()?;
    if let Some(s) = value.as_str() {
        // Joining a string joins its characters.
        let d = d.unwrap_or_default();
        return Ok(s.chars().map(String::from).collect::<Vec<_>>().join(&d));
    }
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(path) => get_path(&item, path)?,
            None => item,
        };
        parts.push(py_str(&item));
    }
    Ok(parts.join(&d.unwrap_or_default()))
}

/// Looks up a dotted attribute path (`a.b.0`) as Jinja's `attribute=` arguments do.
fn get_path(item: &Value, path: &str) -> Result<Value, Error> {
    let mut v = item.clone();
    for part in path.split('.') {
        let next = match part.parse::<usize>() {
            Ok(i) if v.kind() == ValueKind::Seq => v.get_item_by_index(i)?,
            _ => v.get_attr(part)?,
        };
        v = next;
    }
    Ok(v)
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
pub(super) fn split(
    state: &State,
    value: &Value,
    sep: Option<Value>,
    maxsplit: Option<i64>,
) -> Result<Vec<String>, Error> {
    check_defined(state, value)?;
    let s = py_str(value);
    let max = maxsplit.filter(|m| *m >= 0).map(|m| m as usize);
    let sep = sep.filter(|v| !v.is_none()).map(|v| py_str(&v));
    match sep {
        Some(sep) if sep.is_empty() => Err(fail("empty separator")),
        Some(sep) => Ok(match max {
            Some(m) => s.splitn(m + 1, sep.as_str()).map(str::to_owned).collect(),
            None => s.split(sep.as_str()).map(str::to_owned).collect(),
        }),
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if max.is_some_and(|m| out.len() == m) {
                    out.push(rest.trim_end().to_owned());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(rest[..end].to_owned());
                rest = rest[end..].trim_start();
            }
            Ok(out)
        }
    }
}

pub(super) fn type_debug(value: &Value) -> &'static str {
    type_name(value)
}

/// `ternary(value, true_val, false_val, none_val=None)`.
pub(super) fn ternary(
    state: &State,
    value: &Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    if value.is_none()
        && let Some(n) = none_val.filter(|n| !n.is_none())
    {
        return Ok(n);
    }
    Ok(if truthy(value) { true_val } else { false_val })
}

/// `mandatory(a, msg=None)`.
pub(super) fn mandatory(state: &State, value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        if let Some(msg) = msg {
            return Err(fail(msg));
        }
        check_defined(state, value)?;
        return Err(fail("Mandatory variable not defined."));
    }
    Ok(value.clone())
}

/// `version_compare`/`version` as a filter (the pre-2.5 spelling of the `version` test).
pub(crate) fn version_compare(
    state: &State,
    value: &Value,
    version_arg: &Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    check_defined(state, value)?;
    check_defined(state, version_arg)?;
    let operator = match operator {
        Some(op) => op,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let strict = kwargs.get::<Option<Value>>("strict")?;
    let version_type = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    if strict.as_ref().is_some_and(|s| !s.is_none()) && version_type.is_some() {
        return Err(fail("Cannot specify both 'strict' and 'version_type'"));
    }
    let strict = strict.is_some_and(|s| truthy(&s));
    if !truthy(value) {
        return Err(fail("Input version value cannot be empty"));
    }
    version::version_test(
        &py_str(value),
        &py_str(version_arg),
        &operator,
        strict,
        version_type.as_deref(),
    )
    .map_err(|e| fail(e.to_string()))
}

/// `dict()` as Python's: from a mapping or an iterable of pairs, updated with keyword arguments.
pub(super) fn dict(value: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    if let Some(v) = value.filter(|v| !v.is_undefined()) {
        if v.kind() == ValueKind::Map {
            for k in v.try_iter()? {
                let item = v.get_item(&k)?;
                pairs.push((k, item));
            }
        } else {
            for pair in v.try_iter()? {
                let kv: Vec<Value> = pair.try_iter()?.collect();
                if kv.len() != 2 {
                    return Err(fail(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        kv.len()
                    )));
                }
                pairs.push((kv[0].clone(), kv[1].clone()));
            }
        }
    }
    for key in kwargs.args() {
        let item: Value = kwargs.get(key)?;
        pairs.push((Value::from(key), item));
    }
    Ok(Value::from_pairs(pairs))
}

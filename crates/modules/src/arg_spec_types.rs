//! The type checkers of an argument spec's `type:` and `elements:` (`str`, `list`, `dict`,
//! `bool`, `int`, `float`, `path`, `raw`, `json`/`jsonarg`, `bytes`, `bits`), as ansible-core
//! 2.19.14's `module_utils/common/validation.py` (`check_type_*`) converts and words them, and
//! Python's `==` between the values they give, for `choices` ([`crate::arg_spec`]).

use clearfleet_base::boolean::ansible_bool;
use clearfleet_base::python_json::{DumpOptions, dumps, str_of, type_name};
use serde_json::{Map, Number, Value};

/// Why a value could not be converted: the text of Python's `TypeError`/`ValueError`.
pub type TypeFailure = String;

/// Converts `value` to the type named `wanted` (`None`: `str`, as `_get_type_validator`
/// defaults it). An unknown name fails as Python calls the `None` it finds in
/// `DEFAULT_TYPE_VALIDATORS`.
pub fn check_type(wanted: Option<&str>, value: &Value) -> Result<Value, TypeFailure> {
    match wanted.unwrap_or("str") {
        "str" => Ok(Value::String(check_str(value))),
        "list" => check_list(value),
        "dict" => check_dict(value),
        "bool" => check_bool(value),
        "int" => check_int(value),
        "float" => check_float(value),
        "path" => Ok(Value::String(check_path(value))),
        "raw" => Ok(value.clone()),
        "jsonarg" | "json" => check_jsonarg(value),
        "bytes" => human_to_bytes(value, false)
            .map_err(|_| format!("{} cannot be converted to a Byte value", class(value))),
        "bits" => human_to_bytes(value, true)
            .map_err(|_| format!("{} cannot be converted to a Bit value", class(value))),
        _ => Err("'NoneType' object is not callable".to_owned()),
    }
}

/// Python's `type(value)` as `%s` prints it: `<class 'str'>`.
fn class(value: &Value) -> String {
    format!("<class '{}'>", type_name(value))
}

/// `check_type_str`: a string as it is, `None` as `''`, anything else as Python's `str()`.
fn check_str(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => str_of(other),
    }
}

/// `check_type_list`: a list as it is, a string split on `,`, a number as a one-item list of
/// its text.
fn check_list(value: &Value) -> Result<Value, TypeFailure> {
    match value {
        Value::Array(_) => Ok(value.clone()),
        Value::String(s) => Ok(Value::Array(
            s.split(',').map(|p| Value::String(p.to_owned())).collect(),
        )),
        Value::Number(_) | Value::Bool(_) => Ok(Value::Array(vec![Value::String(str_of(value))])),
        _ => Err(format!("{} cannot be converted to a list", class(value))),
    }
}

/// `check_type_dict`: a mapping as it is; a string starting with `{` read as JSON; a string
/// with `=` read as `k=v` words (quotes and `\` escapes kept together, `,` or space between).
/// Python's `literal_eval` fallback for `{...}` is not followed: such a text fails.
fn check_dict(value: &Value) -> Result<Value, TypeFailure> {
    let s = match value {
        Value::Object(_) => return Ok(value.clone()),
        Value::String(s) => s,
        _ => return Err(format!("{} cannot be converted to a dict", class(value))),
    };
    if s.starts_with('{') {
        return match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err("unable to evaluate string as dictionary".to_owned()),
        };
    }
    if !s.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".to_owned());
    }
    let mut fields = Vec::new();
    let mut buffer = String::new();
    let mut quote: Option<char> = None;
    let mut escape = false;
    for c in s.trim().chars() {
        if escape {
            buffer.push(c);
            escape = false;
        } else if c == '\\' {
            escape = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !buffer.is_empty() {
                fields.push(std::mem::take(&mut buffer));
            }
        } else {
            buffer.push(c);
        }
    }
    if !buffer.is_empty() {
        fields.push(buffer);
    }
    let mut out = Map::new();
    for field in fields {
        let Some((k, v)) = field.split_once('=') else {
            return Err(
                "unable to evaluate string in the \"key=value\" format as dictionary".to_owned(),
            );
        };
        out.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    Ok(Value::Object(out))
}

/// The members of `BOOLEANS` as `boolean()`'s message lists them (a frozenset's order is
/// Python's hashing: the strings' order changes from run to run).
const BOOLEANS_SHOWN: &str = "'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False";

/// `check_type_bool`: `boolean()` of a string or a number.
fn check_bool(value: &Value) -> Result<Value, TypeFailure> {
    match value {
        Value::Bool(_) => Ok(value.clone()),
        Value::String(_) | Value::Number(_) => ansible_bool(value).map(Value::Bool).ok_or_else(|| {
            format!(
                "The value '{}' is not a valid boolean. Valid booleans include: {BOOLEANS_SHOWN}",
                str_of(value)
            )
        }),
        _ => Err(format!("{} cannot be converted to a bool", class(value))),
    }
}

/// `check_type_int`: an int (a boolean is one in Python) as it is; anything `Decimal()` reads
/// without a fractional part as that integer.
fn check_int(value: &Value) -> Result<Value, TypeFailure> {
    let bad = || {
        format!(
            "\"{}\" cannot be converted to an int",
            clearfleet_base::python_json::repr(value)
        )
    };
    match value {
        Value::Bool(_) => Ok(value.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Value::from(f as i64)),
            _ => Err(bad()),
        },
        Value::String(s) => decimal_int(s).map(Value::from).ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// An integer `Decimal(s)` reads with no fractional part (`" 42 "`, `"1e3"`, `"5.0"`).
fn decimal_int(s: &str) -> Option<i64> {
    let t = s.trim().replace('_', "");
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    if t.chars()
        .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return None;
    }
    let f: f64 = t.parse().ok()?;
    (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64)
}

/// `check_type_float`: Python's `float()` of a number, a boolean or a string.
fn check_float(value: &Value) -> Result<Value, TypeFailure> {
    let bad = || format!("{} cannot be converted to a float", class(value));
    let f = match value {
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => python_float(s).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    Number::from_f64(f).map(Value::Number).ok_or_else(bad)
}

/// Python's `float(text)`: surrounding space, `_` between digits, `inf`/`nan` spelt any case.
fn python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if ["inf", "infinity", "nan"].contains(&unsigned) {
        return lower.parse().ok();
    }
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// `check_type_path`: the string with `$VAR`/`${VAR}` and a leading `~` expanded on the
/// controller (`os.path.expanduser(os.path.expandvars(value))`).
fn check_path(value: &Value) -> String {
    let expanded = expand_vars(&check_str(value));
    let home = clearfleet_base::home::home_dir();
    clearfleet_base::home::expand_tilde(&expanded, home.as_deref())
        .to_string_lossy()
        .into_owned()
}

/// `posixpath.expandvars`: `$name` and `${name}` of variables that are set; others as written.
fn expand_vars(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match std::env::var(name) {
            Ok(v) if !name.is_empty() => {
                out.push_str(&v);
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `check_type_jsonarg`: a string stripped, a list or mapping as `json.dumps` writes it.
fn check_jsonarg(value: &Value) -> Result<Value, TypeFailure> {
    match value {
        Value::String(s) => Ok(Value::String(s.trim().to_owned())),
        Value::Array(_) | Value::Object(_) => Ok(Value::String(dumps(
            value,
            DumpOptions {
                indent: None,
                sort_keys: false,
                ensure_ascii: true,
            },
        ))),
        _ => Err(format!(
            "{} cannot be converted to a json string",
            class(value)
        )),
    }
}

/// `human_to_bytes(value, isbits=...)` (`module_utils/common/text/formatters.py`): a number
/// with an optional unit whose first letter is `B K M G T P E Z Y`, spelt `KB`/`K`/`kilobyte`
/// for bytes, `Kb`/`K`/`kilobit` for bits.
fn human_to_bytes(value: &Value, bits: bool) -> Result<Value, ()> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) | Value::Null => str_of(value),
        _ => return Err(()),
    };
    let t = text.trim_end();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit = unit.trim_start();
    let well_formed = !number.is_empty()
        && number.matches('.').count() <= 1
        && !number.ends_with('.')
        && unit.chars().all(|c| c.is_ascii_alphabetic());
    if !well_formed {
        return Err(());
    }
    let num: f64 = number.parse().map_err(|_| ())?;
    if unit.is_empty() {
        return Ok(Value::from(num.round() as i64));
    }
    const RANGES: &[(char, u32, &str, &str)] = &[
        ('B', 0, "byte", "bit"),
        ('K', 10, "kilobyte", "kilobit"),
        ('M', 20, "megabyte", "megabit"),
        ('G', 30, "gigabyte", "gigabit"),
        ('T', 40, "terabyte", "terabit"),
        ('P', 50, "petabyte", "petabit"),
        ('E', 60, "exabyte", "exabit"),
        ('Z', 70, "zetabyte", "zetabit"),
        ('Y', 80, "yottabyte", "yottabit"),
    ];
    let first = unit.chars().next().map(|c| c.to_ascii_uppercase());
    let (key, shift, byte_word, bit_word) = RANGES
        .iter()
        .find(|r| Some(r.0) == first)
        .copied()
        .ok_or(())?;
    if unit.len() > 1 {
        let (word, short) = match bits {
            false => (byte_word, format!("{key}B")),
            true => (bit_word, format!("{key}b")),
        };
        let short = if key == 'B' {
            if bits { "b".to_owned() } else { "B".to_owned() }
        } else {
            short
        };
        if unit.to_lowercase() != word && unit != short {
            return Err(());
        }
    }
    Ok(Value::from((num * 2f64.powi(shift as i32)).round() as i64))
}

/// The texts `boolean()` reads as false or true (`BOOLEANS_FALSE`, `BOOLEANS_TRUE`), for
/// `choices` that YAML turned into booleans (`_validate_argument_values`).
pub fn boolean_word(value: &Value) -> Option<bool> {
    match value {
        Value::String(s) => match s.as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n
            .as_f64()
            .and_then(clearfleet_base::boolean::ansible_bool_number),
        _ => None,
    }
}

/// Python's `a == b` between values decoded from JSON: numbers by value, a boolean equal to
/// `1`/`0`, lists and mappings member by member.
pub fn py_eq(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

//! The lookups that only reshape their terms: `items`, `flattened`, `indexed_items`, `dict`,
//! `together`, `sequence`, `subelements` (ansible-core 2.19's plugins, message for message).

use minijinja::Error;
use minijinja::value::{Value, ValueKind};

use super::{Call, fail, term_str};

fn is_list(v: &Value) -> bool {
    v.kind() == ValueKind::Seq
}

fn items_of(v: &Value) -> Vec<Value> {
    v.try_iter().map(Iterator::collect).unwrap_or_default()
}

/// `items` (Ansible's `_flatten`): lists among the terms are spliced in, one level.
pub(crate) fn flatten_once(terms: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if is_list(&t) {
            out.extend(items_of(&t));
        } else {
            out.push(t);
        }
    }
    out
}

/// `flattened`: every level of lists spliced in.
pub(crate) fn flatten_all(terms: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if is_list(&t) {
            out.extend(flatten_all(items_of(&t)));
        } else {
            out.push(t);
        }
    }
    out
}

/// `indexed_items`: `[index, item]` pairs of the flattened terms.
pub(crate) fn indexed(terms: Vec<Value>) -> Vec<Value> {
    flatten_once(terms)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Value::from(vec![Value::from(i), v]))
        .collect()
}

/// `dict`: `{key, value}` for every entry of every mapping term.
pub(crate) fn dict(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() != ValueKind::Map {
            return Err(fail(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type {}",
                crate::filters::py_str(t),
                crate::filters::type_name(t)
            )));
        }
        for k in t.try_iter()? {
            let v = t.get_item(&k)?;
            out.push(Value::from(std::collections::BTreeMap::from([
                ("key".to_owned(), k),
                ("value".to_owned(), v),
            ])));
        }
    }
    Ok(out)
}

/// `together`: the terms zipped, shorter lists padded with None, each tuple flattened once.
pub(crate) fn together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Err(fail(
            "with_together requires at least one element in each list",
        ));
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(items_of).collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            let row = lists
                .iter()
                .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                .collect();
            Value::from(flatten_once(row))
        })
        .collect())
}

/// `subelements`: `[element, sub-item]` for each item of the list at `key` (dotted) of each
/// element; a third term `{skip_missing: true}` skips elements without it.
pub(crate) fn subelements(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let err = |m: &str| {
        fail(format!(
            "subelements lookup expects a list of two or three items, {m}"
        ))
    };
    if !(2..=3).contains(&terms.len()) {
        return Err(err(""));
    }
    let (elements, key) = (&terms[0], &terms[1]);
    let Some(key) = key.as_str() else {
        return Err(err(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let list: Vec<Value> = match elements.kind() {
        ValueKind::Seq => items_of(elements),
        ValueKind::Map => {
            if elements.get_attr("skipped").is_ok_and(|v| v.is_true()) {
                return Ok(Vec::new());
            }
            elements
                .try_iter()?
                .filter_map(|k| elements.get_item(&k).ok())
                .collect()
        }
        _ => {
            return Err(err(
                "first a dict or a list, second a string pointing to the subkey",
            ));
        }
    };
    // A third term that is not a mapping must name only flags (ansible-core iterates it);
    // a string's characters never do.
    if let Some(flags) = terms.get(2).filter(|f| f.kind() != ValueKind::Map) {
        let known = flags.kind() == ValueKind::Seq
            && flags
                .try_iter()
                .is_ok_and(|mut i| i.all(|k| k.as_str() == Some("skip_missing")));
        if !known {
            return Err(err(
                "the optional third item must be a dict with flags skip_missing",
            ));
        }
    }
    let skip_missing = terms
        .get(2)
        .and_then(|f| f.get_attr("skip_missing").ok())
        .and_then(|v| crate::filters::to_j(&v).ok())
        .is_some_and(|v| clearfleet_base::boolean::ansible_bool(&v) == Some(true));
    let parts: Vec<&str> = key.split('.').collect();
    let mut out = Vec::new();
    'elements: for el in list {
        if el.kind() != ValueKind::Map {
            return Err(fail(format!(
                "subelements lookup expects a dictionary, got '{}'",
                crate::filters::py_str(&el)
            )));
        }
        if el.get_attr("skipped").is_ok_and(|v| v.is_true()) {
            continue;
        }
        let mut sub = el.clone();
        for (i, part) in parts.iter().enumerate() {
            let next = sub.get_attr(part).ok().filter(|v| !v.is_undefined());
            let Some(next) = next else {
                if skip_missing {
                    continue 'elements;
                }
                return Err(fail(format!(
                    "could not find '{part}' key in iterated item '{}'",
                    crate::filters::py_str(&sub)
                )));
            };
            let last = i + 1 == parts.len();
            if last && !is_list(&next) {
                return Err(fail(format!(
                    "the key {part} should point to a list, got '{}'",
                    crate::filters::py_str(&next)
                )));
            }
            if !last && next.kind() != ValueKind::Map {
                if skip_missing {
                    continue 'elements;
                }
                return Err(fail(format!(
                    "the key {part} should point to a dictionary, got '{}'",
                    crate::filters::py_str(&next)
                )));
            }
            sub = next;
        }
        // Ansible pops the sub-list out of the element it returns.
        let shown = without(&el, &parts);
        for item in items_of(&sub) {
            out.push(Value::from(vec![shown.clone(), item]));
        }
    }
    Ok(out)
}

/// `el` without the key at `path` (Ansible's `subvalue.pop(subkey)`).
fn without(el: &Value, path: &[&str]) -> Value {
    let Ok(mut j) = crate::filters::to_j(el) else {
        return el.clone();
    };
    let mut cur = &mut j;
    for (i, p) in path.iter().enumerate() {
        let Some(m) = cur.as_object_mut() else { break };
        if i + 1 == path.len() {
            m.remove(*p);
            break;
        }
        match m.get_mut(*p) {
            Some(next) => cur = next,
            None => break,
        }
    }
    crate::filters::from_j(j)
}

/// The fields of one `sequence` term.
struct Seq {
    start: i64,
    end: Option<i64>,
    count: Option<i64>,
    stride: i64,
    format: String,
}

/// A number option of `sequence` as ansible-core 2.19.14 converts an `integer` option
/// (`config/manager.py` `ensure_type`: `decimal.Decimal(value)`, whose integral part it must
/// be). So `0x10` is no number and `010` is ten, whatever the plugin's documentation says.
fn seq_number(key: &str, s: &str) -> Result<i64, Error> {
    let t = s.trim().replace('_', "");
    let lower = t.to_ascii_lowercase();
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    let digits = mantissa.trim_start_matches(['+', '-']);
    let well_formed = mantissa.len() - digits.len() <= 1
        && !digits.is_empty()
        && digits != "."
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && exponent.is_none_or(|e| {
            let d = e.trim_start_matches(['+', '-']);
            e.len() - d.len() <= 1 && !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
        });
    let invalid = || {
        fail(format!(
            "Config '{key}' for 'sequence' lookup plugin from 'Direct' has an invalid value: \
             Invalid value provided for 'integer': '{s}'"
        ))
    };
    if !well_formed {
        return Err(invalid());
    }
    if let Ok(n) = t.parse::<i64>() {
        return Ok(n);
    }
    match lower.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(invalid()),
    }
}

/// `sequence`: the shortcut form `[start-]end[/stride][:format]` or `start= end= count=
/// stride= format=` (also as keyword arguments); every number formatted with `format`
/// (default `%d`) as a string.
pub(crate) fn sequence(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut terms: Vec<String> = terms.iter().map(term_str).collect::<Result<_, _>>()?;
    // Options given only as keywords still need a term to loop over; no term and no option
    // is an empty list.
    let mut options = Vec::new();
    for key in ["start", "end", "count", "stride", "format"] {
        if let Some(v) = call.kwarg(key)? {
            options.push((key, term_str(&v)?));
        }
    }
    if terms.is_empty() && !options.is_empty() {
        terms.push(String::new());
    }
    let mut out = Vec::new();
    for term in terms {
        let mut s = Seq {
            start: 1,
            end: None,
            count: None,
            stride: 1,
            format: "%d".to_owned(),
        };
        for (key, v) in &options {
            set_field(&mut s, key, v)?;
        }
        if !shortcut(&mut s, &term)? {
            for word in term.split_whitespace() {
                let Some((k, v)) = word.split_once('=') else {
                    return Err(fail(
                        "unrecognized arguments to with_sequence: ['_raw_params']",
                    ));
                };
                set_field(&mut s, k, v)?;
            }
        }
        out.extend(generate(s)?);
    }
    Ok(out)
}

fn set_field(s: &mut Seq, key: &str, v: &str) -> Result<(), Error> {
    match key {
        "start" => s.start = seq_number(key, v)?,
        "end" => s.end = Some(seq_number(key, v)?),
        "count" => s.count = Some(seq_number(key, v)?),
        "stride" => s.stride = seq_number(key, v)?,
        "format" => s.format = v.to_owned(),
        other => {
            return Err(fail(format!(
                "unrecognized arguments to with_sequence: ['{other}']"
            )));
        }
    }
    Ok(())
}

/// `[start-]end[/stride][:format]`; false when `term` is not in that form.
fn shortcut(s: &mut Seq, term: &str) -> Result<bool, Error> {
    // ansible-core 2.19.14's SHORTCUT (NUM is `0?x?[0-9a-f]+`, case-insensitive).
    let re = regex::Regex::new(
        r"(?i)^(?:(0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(?:/(0?x?[0-9a-f]+))?(?::(.+))?$",
    )
    .map_err(|e| fail(e.to_string()))?;
    let Some(c) = re.captures(term) else {
        return Ok(false);
    };
    if let Some(m) = c.get(1) {
        s.start = seq_number("start", m.as_str())?;
    }
    if let Some(m) = c.get(2) {
        s.end = Some(seq_number("end", m.as_str())?);
    }
    if let Some(m) = c.get(3) {
        s.stride = seq_number("stride", m.as_str())?;
    }
    if let Some(m) = c.get(4) {
        s.format = m.as_str().to_owned();
    }
    Ok(true)
}

fn generate(mut s: Seq) -> Result<Vec<Value>, Error> {
    let end = match (s.count, s.end) {
        (None, None) => return Err(fail("must specify count or end in with_sequence")),
        (Some(_), Some(_)) => {
            return Err(fail("can't specify both count and end in with_sequence"));
        }
        (Some(0), None) => return Ok(Vec::new()),
        (Some(c), None) => s.start + c * s.stride - 1,
        (None, Some(e)) => e,
    };
    s.end = Some(end);
    if s.stride > 0 && end < s.start {
        return Err(fail("to count backwards make stride negative"));
    }
    if s.stride < 0 && end > s.start {
        return Err(fail("to count forward don't make stride negative"));
    }
    if s.stride == 0 {
        return Ok(Vec::new());
    }
    if s.format.matches('%').count() != 1 {
        return Err(fail(format!("bad formatting string: {}", s.format)));
    }
    let mut out = Vec::new();
    let mut i = s.start;
    while (s.stride > 0 && i <= end) || (s.stride < 0 && i >= end) {
        let formatted = crate::filters::printf::format_one(&s.format, &Value::from(i))
            .map_err(|_| fail(format!("problem formatting {i} with '{}'", s.format)))?;
        out.push(Value::from(formatted));
        i += s.stride;
    }
    Ok(out)
}

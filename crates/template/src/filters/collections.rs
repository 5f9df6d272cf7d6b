//! Dictionaries and lists: `combine`, `dict2items`, `items2dict`, `flatten`, `zip`, set operations.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, State};
use serde_json::Value as J;

use super::{check_defined, fail, from_j, to_j, type_name};

/// Ansible's `merge_hash`: `y` over `x`, mappings merged key by key (recursively when
/// `recursive`), lists as `list_merge` says (`replace`, `append`, `prepend`...).
pub fn merge_hash(x: &J, y: &J, recursive: bool, list_merge: &str) -> J {
    let (J::Object(xm), J::Object(ym)) = (x, y) else {
        return y.clone();
    };
    if xm.is_empty() || x == y {
        return y.clone();
    }
    if ym.is_empty() {
        return x.clone();
    }
    let mut out = xm.clone();
    for (key, y_value) in ym {
        let Some(x_value) = out.get(key) else {
            out.insert(key.clone(), y_value.clone());
            continue;
        };
        let merged = match (x_value, y_value) {
            (J::Object(_), J::Object(_)) if recursive => {
                merge_hash(x_value, y_value, recursive, list_merge)
            }
            (J::Array(xs), J::Array(ys)) => match list_merge {
                "append" => J::Array(xs.iter().chain(ys).cloned().collect()),
                "prepend" => J::Array(ys.iter().chain(xs).cloned().collect()),
                "append_rp" => J::Array(
                    xs.iter()
                        .filter(|z| !ys.contains(z))
                        .chain(ys)
                        .cloned()
                        .collect(),
                ),
                "prepend_rp" => J::Array(
                    ys.iter()
                        .chain(xs.iter().filter(|z| !ys.contains(z)))
                        .cloned()
                        .collect(),
                ),
                "keep" => x_value.clone(),
                _ => y_value.clone(),
            },
            _ => y_value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    J::Object(out)
}

/// `combine(*dicts, recursive=False, list_merge='replace')`; lists of dicts are flattened.
pub(super) fn combine(
    state: &State,
    first: &Value,
    rest: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, first)?;
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs
        .assert_all_used()
        .map_err(|_| fail("'recursive' and 'list_merge' are the only valid keyword arguments"))?;
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(fail(format!(
            "combine: invalid list_merge value {list_merge:?}"
        )));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(first).chain(rest.iter()) {
        check_defined(state, term)?;
        match to_j(term)? {
            J::Array(items) => dicts.extend(items.into_iter().filter(|v| !v.is_null())),
            J::Null => {}
            other => dicts.push(other),
        }
    }
    for d in &dicts {
        if !d.is_object() {
            return Err(fail(format!(
                "failed to combine variables, expected dicts but got a '{}'",
                clearfleet_base::python_json::type_name(d)
            )));
        }
    }
    let mut iter = dicts.into_iter().rev();
    let Some(mut result) = iter.next() else {
        return Ok(from_j(J::Object(Default::default())));
    };
    for lower in iter {
        result = merge_hash(&lower, &result, recursive, &list_merge);
    }
    Ok(from_j(result))
}

/// The `key_name` and `value_name` arguments of `dict2items`/`items2dict` (the only ones).
fn key_value_names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key_name, value_name))
}

/// `dict2items(mydict, key_name='key', value_name='value')`.
pub(super) fn dict2items(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    check_defined(state, value)?;
    let (key_name, value_name) = key_value_names(&kwargs)?;
    if value.kind() != ValueKind::Map {
        return Err(fail(format!(
            "dict2items requires a dictionary, got {} instead.",
            type_name(value)
        )));
    }
    let mut out = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        out.push(Value::from_pairs([
            (Value::from(key_name.as_str()), key),
            (Value::from(value_name.as_str()), item),
        ]));
    }
    Ok(Value::from(out))
}

/// `items2dict(mylist, key_name='key', value_name='value')`.
pub(super) fn items2dict(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    check_defined(state, value)?;
    let (key_name, value_name) = key_value_names(&kwargs)?;
    if value.kind() != ValueKind::Seq {
        return Err(fail(format!(
            "items2dict requires a list, got {} instead.",
            type_name(value)
        )));
    }
    let mut pairs = Vec::new();
    for item in value.try_iter()? {
        if item.kind() != ValueKind::Map {
            return Err(fail(format!(
                "items2dict requires a list of dictionaries, got {} instead.",
                type_name(&item)
            )));
        }
        let k = item.get_attr(&key_name)?;
        let v = item.get_attr(&value_name)?;
        if k.is_undefined() || v.is_undefined() {
            return Err(fail(format!(
                "items2dict requires each dictionary to have keys '{key_name}' and '{value_name}'"
            )));
        }
        pairs.push((k, v));
    }
    Ok(Value::from_pairs(pairs))
}

fn is_null_like(v: &Value) -> bool {
    v.is_none() || matches!(v.as_str(), Some("None" | "null"))
}

fn flatten_into(
    out: &mut Vec<Value>,
    list: &Value,
    levels: Option<i64>,
    skip_nulls: bool,
) -> Result<(), Error> {
    for element in list.try_iter()? {
        if skip_nulls && is_null_like(&element) {
            continue;
        }
        if element.kind() == ValueKind::Seq {
            match levels {
                None => flatten_into(out, &element, None, skip_nulls)?,
                Some(l) if l >= 1 => flatten_into(out, &element, Some(l - 1), skip_nulls)?,
                Some(_) => out.push(element),
            }
        } else {
            out.push(element);
        }
    }
    Ok(())
}

/// `flatten(mylist, levels=None, skip_nulls=True)`.
pub(super) fn flatten(
    state: &State,
    value: &Value,
    levels: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<i64>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, value, levels, skip_nulls)?;
    Ok(Value::from(out))
}

/// `zip(*lists)`: a list of lists, as long as the shortest input.
pub(super) fn zip(state: &State, first: &Value, rest: Rest<Value>) -> Result<Value, Error> {
    check_defined(state, first)?;
    let mut columns = Vec::new();
    for v in std::iter::once(first).chain(rest.iter()) {
        check_defined(state, v)?;
        columns.push(v.try_iter()?.collect::<Vec<_>>());
    }
    let len = columns.iter().map(Vec::len).min().unwrap_or(0);
    Ok(Value::from(
        (0..len)
            .map(|i| Value::from(columns.iter().map(|c| c[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

fn items(state: &State, v: &Value) -> Result<Vec<Value>, Error> {
    check_defined(state, v)?;
    Ok(v.try_iter()?.collect())
}

fn unique_keep_order(values: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// `difference(a, b)`: items of `a` not in `b`, first occurrences, in order.
pub(super) fn difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (items(state, a)?, items(state, b)?);
    Ok(Value::from(unique_keep_order(
        a.into_iter().filter(|x| !b.contains(x)).collect(),
    )))
}

/// `intersect(a, b)`.
pub(super) fn intersect(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (items(state, a)?, items(state, b)?);
    Ok(Value::from(unique_keep_order(
        a.into_iter().filter(|x| b.contains(x)).collect(),
    )))
}

/// `union(a, b)`.
pub(super) fn union(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (mut a, b) = (items(state, a)?, items(state, b)?);
    a.extend(b);
    Ok(Value::from(unique_keep_order(a)))
}

/// `symmetric_difference(a, b)`.
pub(super) fn symmetric_difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (items(state, a)?, items(state, b)?);
    let isect: Vec<Value> = a.iter().filter(|x| b.contains(x)).cloned().collect();
    let mut all = a;
    all.extend(b);
    Ok(Value::from(unique_keep_order(
        all.into_iter().filter(|x| !isect.contains(x)).collect(),
    )))
}

/// `extract(item, container, morekeys=None)`: `container[item][morekey]...`; a missing key
/// gives undefined (so `default` still applies).
pub(super) fn extract(
    state: &State,
    item: &Value,
    container: &Value,
    morekeys: Option<Value>,
) -> Result<Value, Error> {
    check_defined(state, item)?;
    check_defined(state, container)?;
    let mut keys = vec![item.clone()];
    match morekeys {
        Some(k) if k.kind() == ValueKind::Seq => keys.extend(k.try_iter()?),
        Some(k) if !k.is_none() => keys.push(k),
        _ => {}
    }
    let mut value = container.clone();
    for key in keys {
        value = value.get_item(&key).unwrap_or(Value::UNDEFINED);
        if value.is_undefined() {
            break;
        }
    }
    Ok(value)
}

/// `subelements(obj, subelements, skip_missing=False)`: `(element, value)` pairs for each value
/// of the list found at the dotted path in each element.
pub(super) fn subelements(
    state: &State,
    obj: &Value,
    path: &Value,
    skip_missing: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, obj)?;
    check_defined(state, path)?;
    let skip_missing = match skip_missing {
        Some(s) => s,
        None => kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let elements: Vec<Value> = match obj.kind() {
        ValueKind::Map => obj
            .try_iter()?
            .map(|k| obj.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq => obj.try_iter()?.collect(),
        _ => return Err(fail("obj must be a list of dicts or a nested dict")),
    };
    let keys: Vec<Value> = match path.kind() {
        ValueKind::Seq => path.try_iter()?.collect(),
        ValueKind::String => path
            .as_str()
            .unwrap_or_default()
            .split('.')
            .map(Value::from)
            .collect(),
        _ => return Err(fail("subelements must be a list or a string")),
    };
    let mut results = Vec::new();
    for element in elements {
        let mut values = element.clone();
        for key in &keys {
            if values.kind() != ValueKind::Map {
                return Err(fail(format!(
                    "the key {key} should point to a dictionary, got '{values}'"
                )));
            }
            let next = values.get_item(key).unwrap_or(Value::UNDEFINED);
            if next.is_undefined() {
                if skip_missing {
                    values = Value::from(Vec::<Value>::new());
                    break;
                }
                return Err(fail(format!(
                    "could not find '{key}' key in iterated item {values}"
                )));
            }
            values = next;
        }
        if values.kind() != ValueKind::Seq {
            return Err(fail(format!(
                "the key should point to a list, got {values}"
            )));
        }
        for value in values.try_iter()? {
            results.push(Value::from(vec![element.clone(), value]));
        }
    }
    Ok(Value::from(results))
}

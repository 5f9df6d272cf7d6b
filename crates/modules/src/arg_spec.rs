//! An argument spec checked against the values given for it, as ansible-core 2.19.14's
//! `ArgumentSpecValidator.validate` (`module_utils/common/arg_spec.py`, with
//! `module_utils/common/parameters.py` and `validation.py`) checks and words it: aliases,
//! unsupported names, `required`, `default`, `type`, `elements`, `choices`, and for nested
//! `options` their `mutually_exclusive`, `required_together`, `required_one_of`, `required_if`
//! and `required_by`. Roles' `meta/argument_specs.yml` and the `validate_argument_spec` action
//! use it; the validator is built from the spec alone, so those checks written at the top
//! level of a spec are not made (as in Ansible).

use crate::arg_spec_types::{TypeFailure, boolean_word, check_type, py_eq};
use clearfleet_base::python_json::{str_of, type_name};
use serde_json::{Map, Value};

/// The outcome of one validation: the values converted, defaults added, and every error
/// message in Ansible's order and words (`ValidationResult.error_messages`).
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    pub validated: Map<String, Value>,
    pub errors: Vec<String>,
}

/// A spec Ansible cannot even read (an option that is not a mapping): the text of the Python
/// error it raises instead of validating.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(pub String);

/// Validates `params` against `spec` (option name → its mapping).
pub fn validate(
    spec: &Map<String, Value>,
    params: &Map<String, Value>,
) -> Result<Validation, SpecError> {
    readable(spec)?;
    let mut p = params.clone();
    let mut errors = Vec::new();
    let mut unsupported = Unsupported::default();
    let aliases = match handle_aliases(spec, &mut p) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            Map::new()
        }
    };
    if let Err(e) = no_log_values(spec, &p) {
        errors.push(e);
    }
    if let Err(e) = unsupported.find(spec, &p, &aliases, &[]) {
        errors.push(e);
    }
    set_defaults(spec, &mut p, false);
    if let Err(e) = check_required_arguments(spec, &p, &[]) {
        errors.push(e);
    }
    validate_types(spec, &mut p, &[], &mut errors);
    validate_values(spec, &mut p, &[], &mut errors);
    set_defaults(spec, &mut p, true);
    let mut ctx = Vec::new();
    validate_sub_spec(spec, &mut p, &mut ctx, &mut errors, &mut unsupported);
    if let Some(e) = unsupported.message() {
        errors.push(e);
    }
    Ok(Validation {
        validated: p,
        errors,
    })
}

/// Every option (nested ones too) is a mapping, as `ArgumentSpecValidator.__init__` and the
/// checks read each with `.get()`.
fn readable(spec: &Map<String, Value>) -> Result<(), SpecError> {
    for opt in spec.values() {
        let Value::Object(o) = opt else {
            return Err(SpecError(format!(
                "'{}' object has no attribute 'get'",
                type_name(opt)
            )));
        };
        if let Some(Value::Object(sub)) = o.get("options") {
            readable(sub)?;
        }
    }
    Ok(())
}

/// An option's attribute, `None` when absent or null (Python's `.get()` of a YAML `~`).
fn attr<'a>(opt: &'a Value, name: &str) -> Option<&'a Value> {
    opt.get(name).filter(|v| !v.is_null())
}

/// Python's truth of a value (`required: yes` and `required: "no"` are both true).
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    }
}

/// `msg found in a -> b` for a nested option.
fn in_ctx(msg: String, ctx: &[String]) -> String {
    match ctx.is_empty() {
        true => msg,
        false => format!("{msg} found in {}", ctx.join(" -> ")),
    }
}

/// `_handle_aliases`: each alias given sets its option; alias → option. A `required` option
/// with a `default` is Ansible's internal error (the aliases met before it are still applied).
fn handle_aliases(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (k, opt) in spec {
        if attr(opt, "default").is_some() && truthy(opt.get("required")) {
            return Err(format!(
                "internal error: required and default are mutually exclusive for {k}"
            ));
        }
        let Some(aliases) = attr(opt, "aliases") else {
            continue;
        };
        let Value::Array(aliases) = aliases else {
            return Err("internal error: aliases must be a list or tuple".to_owned());
        };
        for alias in aliases {
            let alias = str_of(alias);
            out.insert(alias.clone(), Value::String(k.clone()));
            if let Some(v) = params.get(&alias).cloned() {
                params.insert(k.clone(), v);
            }
        }
    }
    Ok(out)
}

/// What `_list_no_log_values` fails on while it walks the nested options for `no_log` values
/// (clearfleet masks none of them here): an item of a `dict` option that is neither a mapping
/// nor a text `check_type_dict` reads as one.
fn no_log_values(spec: &Map<String, Value>, params: &Map<String, Value>) -> Result<(), String> {
    for (k, opt) in spec {
        let Some(Value::Object(sub)) = attr(opt, "options") else {
            continue;
        };
        let wanted = wanted(opt);
        let Some(given) = params.get(k).filter(|v| !v.is_null()) else {
            continue;
        };
        let elements_dict = attr(opt, "elements").map(str_of).as_deref() == Some("dict");
        let wanted_name = wanted.clone().unwrap_or_else(|| "None".to_owned());
        if !(wanted.as_deref() == Some("dict")
            || (wanted.as_deref() == Some("list") && elements_dict))
        {
            continue;
        }
        let items: Vec<&Value> = match given {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        for item in items {
            let item = match item {
                Value::String(_) => check_type(Some("dict"), item)?,
                other => other.clone(),
            };
            let Value::Object(sub_params) = &item else {
                return Err(format!(
                    "Value '{}' in the sub parameter field '{k}' must be a {wanted_name}, not '{}'",
                    str_of(&item),
                    type_name(&item)
                ));
            };
            no_log_values(sub, sub_params)?;
        }
    }
    Ok(())
}

/// Unsupported names met so far (`name` or `a.b.name` when nested), with what was supported
/// where each was met, for the one message `validate` ends with.
#[derive(Default)]
struct Unsupported {
    found: Vec<(String, Vec<String>, Vec<String>)>,
}

impl Unsupported {
    /// `_get_unsupported_parameters`: names of `params` neither an option nor an alias.
    fn find(
        &mut self,
        spec: &Map<String, Value>,
        params: &Map<String, Value>,
        aliases: &Map<String, Value>,
        ctx: &[String],
    ) -> Result<(), String> {
        for k in params.keys() {
            if spec.contains_key(k) || aliases.contains_key(k) {
                continue;
            }
            // Ansible reads the aliases again here, and fails again as `handle_aliases` did.
            let mut scratch = params.clone();
            let supported_aliases = handle_aliases(spec, &mut scratch)?;
            let name = ctx
                .iter()
                .cloned()
                .chain(std::iter::once(k.clone()))
                .collect::<Vec<_>>()
                .join(".");
            let mut names: Vec<String> = spec.keys().cloned().collect();
            names.sort();
            let mut alias_names: Vec<String> = supported_aliases.keys().cloned().collect();
            alias_names.sort();
            if !self.found.iter().any(|(n, _, _)| *n == name) {
                self.found.push((name, names, alias_names));
            }
        }
        Ok(())
    }

    /// `name, other. Supported parameters include: a, b (alias).`
    fn message(&self) -> Option<String> {
        let (_, names, aliases) = self.found.last()?;
        let mut flattened: Vec<&str> = self.found.iter().map(|(n, _, _)| n.as_str()).collect();
        flattened.sort_unstable();
        let mut supported = names.join(", ");
        if !aliases.is_empty() {
            supported.push_str(&format!(" ({})", aliases.join(", ")));
        }
        Some(format!(
            "{}. Supported parameters include: {supported}.",
            flattened.join(", ")
        ))
    }
}

/// `_set_defaults`: options not given get their `default` (with `all`, even a missing one, as
/// `None`).
fn set_defaults(spec: &Map<String, Value>, params: &mut Map<String, Value>, all: bool) {
    for (k, opt) in spec {
        let default = attr(opt, "default");
        if !params.contains_key(k) && (default.is_some() || all) {
            params.insert(k.clone(), default.cloned().unwrap_or(Value::Null));
        }
    }
}

/// `check_required_arguments`.
fn check_required_arguments(
    spec: &Map<String, Value>,
    params: &Map<String, Value>,
    ctx: &[String],
) -> Result<(), String> {
    let mut missing: Vec<&str> = spec
        .iter()
        .filter(|(k, opt)| truthy(opt.get("required")) && !params.contains_key(*k))
        .map(|(k, _)| k.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    Err(in_ctx(
        format!("missing required arguments: {}", missing.join(", ")),
        ctx,
    ))
}

/// The type name an option asks for (`str` when it names none).
fn wanted(opt: &Value) -> Option<String> {
    attr(opt, "type").map(str_of)
}

/// `_validate_argument_types`: each option given converted to its `type`, then its items to
/// `elements`.
fn validate_types(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
    ctx: &[String],
    errors: &mut Vec<String>,
) {
    for (k, opt) in spec {
        let Some(value) = params.get(k).cloned() else {
            continue;
        };
        if value.is_null() && !truthy(opt.get("required")) && attr(opt, "default").is_none() {
            continue;
        }
        let wanted = wanted(opt);
        let name = wanted.clone().unwrap_or_else(|| "str".to_owned());
        let converted = check_type(wanted.as_deref(), &value).and_then(|v| {
            let Some(elements) = attr(opt, "elements") else {
                return Ok(v);
            };
            if !v.is_array() {
                let mut msg = format!("Invalid type {name} for option '{}'", str_of(&v));
                if !ctx.is_empty() {
                    msg.push_str(&format!(" found in '{}'.", ctx.join(" -> ")));
                }
                msg.push_str(", elements value check is supported only with 'list' type");
                errors.push(msg);
            }
            validate_elements(&str_of(elements), k, &v, ctx, errors)
        });
        match converted {
            Ok(v) => {
                params.insert(k.clone(), v);
            }
            Err(e) => {
                let mut msg = format!("argument '{k}' is of type {}", type_name(&value));
                if !ctx.is_empty() {
                    msg.push_str(&format!(" found in '{}'.", ctx.join(" -> ")));
                }
                msg.push_str(&format!(" and we were unable to convert to {name}: {e}"));
                errors.push(msg);
            }
        }
    }
}

/// `_validate_elements`: the items that convert (a string's characters, a mapping's keys, as
/// Python iterates them); an error for each that does not.
fn validate_elements(
    wanted: &str,
    option: &str,
    values: &Value,
    ctx: &[String],
    errors: &mut Vec<String>,
) -> Result<Value, TypeFailure> {
    let items: Vec<Value> = match values {
        Value::Array(a) => a.clone(),
        Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
        Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
        other => return Err(format!("'{}' object is not iterable", type_name(other))),
    };
    let mut out = Vec::new();
    for item in items {
        match check_type(Some(wanted), &item) {
            Ok(v) => out.push(v),
            Err(e) => {
                let mut msg = format!("Elements value for option '{option}'");
                if !ctx.is_empty() {
                    msg.push_str(&format!(" found in '{}'", ctx.join(" -> ")));
                }
                msg.push_str(&format!(
                    " is of type {} and we were unable to convert to {wanted}: {e}",
                    type_name(&item)
                ));
                errors.push(msg);
            }
        }
    }
    Ok(Value::Array(out))
}

/// `_validate_argument_values`: `choices`, one or more of them for a list; the text `'True'`
/// or `'False'` matched to the one boolean-like choice (YAML's `yes`/`no`).
fn validate_values(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
    ctx: &[String],
    errors: &mut Vec<String>,
) {
    for (k, opt) in spec {
        let Some(choices) = attr(opt, "choices") else {
            continue;
        };
        let Value::Array(choices) = choices else {
            errors.push(in_ctx(
                format!(
                    "internal error: choices for argument {k} are not iterable: {}",
                    str_of(choices)
                ),
                ctx,
            ));
            continue;
        };
        let listed = || choices.iter().map(str_of).collect::<Vec<_>>().join(", ");
        let Some(value) = params.get(k).cloned() else {
            continue;
        };
        let is_choice = |v: &Value| choices.iter().any(|c| py_eq(c, v));
        if let Value::Array(items) = &value {
            let diff: Vec<String> = items.iter().filter(|i| !is_choice(i)).map(str_of).collect();
            if !diff.is_empty() {
                errors.push(in_ctx(
                    format!(
                        "value of {k} must be one or more of: {}. Got no match for: {}",
                        listed(),
                        diff.join(", ")
                    ),
                    ctx,
                ));
            }
            continue;
        }
        if is_choice(&value) {
            continue;
        }
        let mut value = value;
        for (text, truth) in [("False", false), ("True", true)] {
            if value != Value::String(text.to_owned()) {
                continue;
            }
            let mut overlap: Vec<&Value> = Vec::new();
            for c in choices.iter().filter(|c| boolean_word(c) == Some(truth)) {
                if !overlap.iter().any(|o| py_eq(o, c)) {
                    overlap.push(c);
                }
            }
            if let [only] = overlap.as_slice() {
                value = (*only).clone();
                params.insert(k.clone(), value.clone());
            }
        }
        if !is_choice(&value) {
            errors.push(in_ctx(
                format!(
                    "value of {k} must be one of: {}, got: {}",
                    listed(),
                    str_of(&value)
                ),
                ctx,
            ));
        }
    }
}

/// `count_terms`: how many of `terms` (one name, or a list of names) are given.
fn count_terms(terms: &Value, params: &Map<String, Value>) -> usize {
    let mut names: Vec<String> = match terms {
        Value::Array(a) => a.iter().map(str_of).collect(),
        other => vec![str_of(other)],
    };
    names.sort();
    names.dedup();
    names.iter().filter(|n| params.contains_key(*n)).count()
}

/// A list's items as texts (`', '.join(term)`).
fn joined(term: &Value, sep: &str) -> String {
    match term {
        Value::Array(a) => a.iter().map(str_of).collect::<Vec<_>>().join(sep),
        Value::String(s) => s.chars().map(String::from).collect::<Vec<_>>().join(sep),
        other => str_of(other),
    }
}

/// The lists of a check's attribute (`None` when absent).
fn lists(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// `check_mutually_exclusive`.
fn check_mutually_exclusive(
    terms: Option<&Value>,
    params: &Map<String, Value>,
    ctx: &[String],
) -> Result<(), String> {
    let hits: Vec<String> = lists(terms)
        .iter()
        .filter(|t| count_terms(t, params) > 1)
        .map(|t| joined(t, "|"))
        .collect();
    match hits.is_empty() {
        true => Ok(()),
        false => Err(in_ctx(
            format!("parameters are mutually exclusive: {}", hits.join(", ")),
            ctx,
        )),
    }
}

/// `check_required_together`, `check_required_one_of`, `check_required_if`,
/// `check_required_by` (`_ADDITIONAL_CHECKS`, in that order), each stopping at its first
/// failure.
fn additional_checks(opt: &Value, params: &Map<String, Value>, ctx: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = lists(attr(opt, "required_together")).iter().find(|term| {
        let counts: Vec<usize> = lists(Some(term))
            .iter()
            .map(|f| count_terms(f, params))
            .collect();
        counts.iter().any(|c| *c > 0) && counts.contains(&0)
    }) {
        out.push(in_ctx(
            format!("parameters are required together: {}", joined(t, ", ")),
            ctx,
        ));
    }
    if let Some(t) = lists(attr(opt, "required_one_of"))
        .iter()
        .find(|t| count_terms(t, params) == 0)
    {
        out.push(in_ctx(
            format!("one of the following is required: {}", joined(t, ", ")),
            ctx,
        ));
    }
    for req in lists(attr(opt, "required_if")) {
        let parts = lists(Some(req));
        let (Some(key), Some(val), Some(reqs)) = (parts.first(), parts.get(1), parts.get(2)) else {
            continue;
        };
        let one_of = parts.get(3).is_some_and(|v| truthy(Some(v)));
        let key = str_of(key);
        if !params.get(&key).is_some_and(|v| py_eq(v, val)) {
            continue;
        }
        let missing: Vec<String> = lists(Some(reqs))
            .iter()
            .filter(|c| count_terms(c, params) == 0)
            .map(str_of)
            .collect();
        let needed = if one_of { lists(Some(reqs)).len() } else { 0 };
        if !missing.is_empty() && missing.len() >= needed {
            out.push(in_ctx(
                format!(
                    "{key} is {} but {} of the following are missing: {}",
                    str_of(val),
                    if one_of { "any" } else { "all" },
                    missing.join(", ")
                ),
                ctx,
            ));
            break;
        }
    }
    if let Some(Value::Object(by)) = attr(opt, "required_by") {
        for (key, value) in by {
            if params.get(key).is_none_or(Value::is_null) {
                continue;
            }
            let wanted: Vec<String> = match value {
                Value::Array(a) => a.iter().map(str_of).collect(),
                other => vec![str_of(other)],
            };
            let missing: Vec<String> = wanted
                .into_iter()
                .filter(|r| params.get(r).is_none_or(Value::is_null))
                .collect();
            if !missing.is_empty() {
                out.push(in_ctx(
                    format!(
                        "missing parameter(s) required by '{key}': {}",
                        missing.join(", ")
                    ),
                    ctx,
                ));
                break;
            }
        }
    }
    out
}

/// `_validate_sub_spec`: the `options` of each `dict` option (or each item of a `list` of
/// `dict`s), checked as the top level is, then their own `options`.
fn validate_sub_spec(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
    ctx: &mut Vec<String>,
    errors: &mut Vec<String>,
    unsupported: &mut Unsupported,
) {
    for (k, opt) in spec {
        let wanted = wanted(opt);
        let is_list = wanted.as_deref() == Some("list");
        let elements_dict = attr(opt, "elements").map(str_of).as_deref() == Some("dict");
        if !(wanted.as_deref() == Some("dict") || (is_list && elements_dict)) {
            continue;
        }
        let sub = match attr(opt, "options") {
            Some(Value::Object(sub)) => Some(sub),
            _ => None,
        };
        if truthy(opt.get("apply_defaults")) {
            if sub.is_none() {
                continue;
            }
            if params.get(k).is_none_or(Value::is_null) {
                params.insert(k.clone(), Value::Object(Map::new()));
            }
        } else if sub.is_none() || params.get(k).is_none_or(Value::is_null) {
            continue;
        }
        let Some(sub) = sub else { continue };
        let Some(value) = params.get_mut(k) else {
            continue;
        };
        ctx.push(k.clone());
        let items: Vec<&mut Value> = match value {
            Value::Array(a) => a.iter_mut().collect(),
            other => vec![other],
        };
        for item in items {
            let Value::Object(sub_params) = item else {
                errors.push(format!(
                    "value of '{k}' must be of type dict or list of dicts"
                ));
                continue;
            };
            let aliases = match handle_aliases(sub, sub_params) {
                Ok(a) => a,
                Err(e) => {
                    errors.push(e);
                    Map::new()
                }
            };
            if let Err(e) = no_log_values(sub, sub_params) {
                errors.push(e);
            }
            if let Err(e) = unsupported.find(sub, sub_params, &aliases, ctx) {
                errors.push(e);
            }
            if let Err(e) =
                check_mutually_exclusive(attr(opt, "mutually_exclusive"), sub_params, ctx)
            {
                errors.push(e);
            }
            set_defaults(sub, sub_params, false);
            if let Err(e) = check_required_arguments(sub, sub_params, ctx) {
                errors.push(e);
            }
            validate_types(sub, sub_params, ctx, errors);
            validate_values(sub, sub_params, ctx, errors);
            errors.extend(additional_checks(opt, sub_params, ctx));
            set_defaults(sub, sub_params, true);
            validate_sub_spec(sub, sub_params, ctx, errors, unsupported);
        }
        ctx.pop();
    }
}

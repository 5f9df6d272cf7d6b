//! Ansible's filters, written to match ansible-core 2.19 where minijinja's built-ins differ.

mod collections;
pub use collections::merge_hash;
mod compose;
mod core;
mod data;
mod encode;
mod math;
mod now;
mod password_hash;
pub(crate) mod printf;
pub(crate) mod random;
mod regex;

use std::borrow::Cow;

use minijinja::value::{ArgType, Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as J;

use clearfleet_base::python_json as pyjson;

pub(crate) use self::core::version_compare;
pub(crate) use self::regex::{compile_regex, dollar_fallback};
use self::{collections::*, compose::*, core::*, data::*, encode::*, math::*, random::*, regex::*};

/// Registers every Ansible filter on `env`, replacing minijinja's versions where they differ.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("bool", to_bool);
    env.add_filter("string", string);
    env.add_filter("join", join);
    env.add_filter("split", split);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("splitext", splitext);
    env.add_filter("expanduser", expanduser);
    env.add_filter("realpath", realpath);
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("quote", quote);
    env.add_filter("hash", hash);
    env.add_filter("checksum", checksum);
    env.add_filter("password_hash", password_hash::password_hash);
    env.add_filter("zip", zip);
    env.add_filter("difference", difference);
    env.add_filter("intersect", intersect);
    env.add_filter("union", union);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("type_debug", type_debug);
    env.add_filter("dict", dict);
    env.add_filter("extract", extract);
    env.add_filter("subelements", subelements);
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
    env.add_filter("center", center);
    env.add_filter("wordcount", wordcount);
    env.add_filter("urlencode", urlencode);
    env.add_filter("pow", pow);
    env.add_filter("log", log);
    env.add_filter("root", root);
    env.add_filter("product", product);
    // clearfleet's own (not Ansible's): see compose.rs.
    env.add_filter("compose_rebase", compose_rebase);
    env.add_filter("zip_longest", zip_longest);
    env.add_function("dict", dict);
    env.add_function("now", now::now);
    env.add_function(super::preprocess::PYFORMAT_FN, printf::pyformat);
}

/// An `InvalidOperation` error with `msg`, the kind Ansible's `AnsibleFilterError` maps to.
pub(crate) fn fail(msg: impl Into<Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Fails the way minijinja's strict mode does (naming the undefined expression) when `v` is an
/// undefined value; filters taking `&Value` would otherwise accept it silently.
pub(crate) fn check_defined(state: &State, v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        // `Cow<str>` conversion is what makes minijinja attach the undefined value's origin.
        <Cow<'_, str> as ArgType>::from_state_and_value(Some(state), Some(v))?;
    }
    Ok(())
}

/// Converts a template value to JSON (undefined becomes null).
pub(crate) fn to_j(v: &Value) -> Result<J, Error> {
    serde_json::to_value(v).map_err(|e| fail(format!("cannot convert value: {e}")))
}

/// Converts JSON back to a template value.
pub(crate) fn from_j(v: J) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// Python's `str()` of a value (`True`, `None`, `[1, 'a']`, `1.0`).
pub(crate) fn py_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number if !v.is_integer() => match f64::try_from(v.clone()) {
            Ok(f) => pyjson::float_repr(f, false),
            Err(_) => v.to_string(),
        },
        _ => match v.as_str() {
            Some(s) => s.to_owned(),
            None => v.to_string(),
        },
    }
}

/// Python truthiness.
pub(crate) fn truthy(v: &Value) -> bool {
    v.is_true()
}

/// A boolean keyword argument (`ignorecase=True`), by Python truthiness; absent is false.
pub(crate) fn kwarg_flag(kwargs: &Kwargs, name: &str) -> Result<bool, Error> {
    Ok(kwargs
        .get::<Option<Value>>(name)?
        .is_some_and(|v| truthy(&v)))
}

/// Python's type name of a value, as Ansible error messages and `type_debug` show it.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

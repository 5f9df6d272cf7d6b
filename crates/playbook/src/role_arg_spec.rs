//! A role's argument specs (`meta/argument_specs.yml`, else `argument_specs:` of
//! `meta/main.yml`) and the task ansible-core 2.19.14 puts before the role's own tasks to check
//! them (`Role._get_role_argspecs`, `_prepend_validation_task`, `_create_validation_task` in
//! `playbook/role/__init__.py`): the `validate_argument_spec` action with the entry point's
//! `options`, the role's parameters and what it validates, named after the entry point and
//! tagged `always`.

use super::cx::{Cx, File};
use super::files::{parse, read};
use super::inherit::{self, Inherited, Own};
use super::model::{Task, TaskBody};
use super::role::Spec;
use super::task::new_task;
use clearfleet_base::python_json::str_of;
use clearfleet_yaml::syntax::{Kind, Node};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The role's argument specs by entry point: `argument_specs` of the first of
/// `meta/argument_specs.yml`, `.yaml`, `.json` (nothing when that file holds no mapping), else
/// of `meta/main.yml` (`main`, written there).
pub(crate) fn role_argspecs(cx: &mut Cx, path: &Path, main: Option<&(File, Node)>) -> Value {
    let meta = path.join("meta");
    let found = [".yml", ".yaml", ".json"]
        .iter()
        .map(|ext| meta.join(format!("argument_specs{ext}")))
        .find(|p| cx.source.is_file(p));
    if let Some(p) = found {
        let Some(file) = read(cx, None, &p, "role argument specs file") else {
            return Value::Null;
        };
        return match parse(cx, &file) {
            Ok(Some(root)) => match &root.kind {
                Kind::Map(_) => specs_of(cx, &file, &root, "argument_specs"),
                _ => Value::Null,
            },
            _ => Value::Null,
        };
    }
    match main {
        Some((file, node)) => specs_value(cx, file, node),
        None => Value::Null,
    }
}

/// `argument_specs` of the mapping `root`.
fn specs_of(cx: &mut Cx, f: &File, root: &Node, key: &str) -> Value {
    let found = root.as_map().and_then(|entries| {
        entries
            .iter()
            .find(|(k, _)| clearfleet_yaml::syntax::key_text(k) == key)
    });
    match found {
        Some((_, v)) => specs_value(cx, f, v),
        None => Value::Null,
    }
}

/// The specs as data: a mapping of entry points (an error otherwise, as the role metadata's
/// `argument_specs` attribute is a `dict`).
fn specs_value(cx: &mut Cx, f: &File, n: &Node) -> Value {
    match &n.kind {
        Kind::Null => Value::Null,
        Kind::Map(_) => n.to_template_value(),
        _ => {
            cx.error(
                f,
                n,
                format!(
                    "`argument_specs` must be a mapping of entry points, got {}",
                    n.type_name()
                ),
            );
            Value::Null
        }
    }
}

/// Python's truth of a spec entry.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Bool(true) => true,
    }
}

/// The validation task of the role `spec` (found as `name` at `path`) for its entry point
/// (`tasks_from`, else `main`), when `specs` has one; it inherits what the role's tasks do.
pub(crate) fn validation_task(
    cx: &mut Cx,
    f: &File,
    spec: &Spec,
    name: &str,
    path: &Path,
    specs: &Value,
    inherited: &Inherited,
) -> Option<Task> {
    let entry = spec.from.tasks.as_deref().unwrap_or("main");
    let entry_spec = specs.get(entry).filter(|v| truthy(v))?;
    let Value::Object(entry_spec) = entry_spec else {
        cx.error(
            f,
            spec.at,
            format!(
                "the argument spec `{entry}` of role `{name}` must be a mapping, got {entry_spec}"
            ),
        );
        return None;
    };
    let mut title = format!("Validating arguments against arg spec '{entry}'");
    if let Some(short) = entry_spec.get("short_description") {
        title.push_str(" - ");
        title.push_str(&str_of(short));
    }
    let role_path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let params: Map<String, Value> = spec
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let args = json!({
        "argument_spec": entry_spec.get("options").cloned().unwrap_or_else(|| json!({})),
        "provided_arguments": params,
        "validate_args_context": {
            "type": "role",
            "name": name,
            "argument_spec_name": entry,
            "path": role_path.display().to_string(),
        },
    });
    let mut task = new_task(Cx::loc(f, spec.at));
    let own = Own {
        tags: vec!["always".to_owned()],
        ..Own::default()
    };
    inherit::apply(inherited, own, &mut task);
    task.name = Some(title);
    task.body = TaskBody::Module {
        module: "validate_argument_spec".to_owned(),
        args,
        plugin: None,
    };
    Some(task)
}

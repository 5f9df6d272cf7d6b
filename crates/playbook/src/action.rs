//! Which module a task calls and with what arguments: Ansible's `ModuleArgsParser` rules
//! (`action:`/`local_action:`, free-form `k=v` text, `args:` merged underneath), then the
//! registry's argument check.

use super::cx::{Cx, File, shown};
use super::kv::{join_args, parse_kv, split_args};
use super::model::TemplateSite;
use super::template::{is_possibly_all_template, is_template};
use clearfleet_base::suggest::did_you_mean;
use clearfleet_modules::MODULES;
use clearfleet_modules::not_run::{NOT_RUN, is_not_run, plugin_refusal, refusal};
use clearfleet_yaml::syntax::{Kind, Node, key_text, unsafe_template};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::path::PathBuf;

/// Modules whose free-form text keeps non-option `k=v` words in `_raw_params`.
const FREE_FORM: &[&str] = &["command", "shell", "raw", "script"];

/// The canonical short name of a module key (`ansible.builtin.copy` → `copy`), if known: one
/// clearfleet runs, or an `ansible.builtin` module it does not run ([`NOT_RUN`]: such a task
/// loads with a warning and fails when it runs, as Ansible fails a module only when it runs).
pub fn canonical_module(key: &str) -> Option<&'static str> {
    let short = key
        .strip_prefix("ansible.builtin.")
        .or_else(|| key.strip_prefix("ansible.legacy."))
        .unwrap_or(key);
    MODULES.iter().chain(NOT_RUN).copied().find(|m| *m == short)
}

/// The key that names the module (or `action`/`local_action`) and its value.
pub struct Action<'a> {
    /// The key as written (`copy`, `ansible.builtin.copy`, `action`).
    pub written: String,
    pub key: &'a Node,
    pub value: &'a Node,
}

/// A task's module call as the loader resolved it.
pub struct Call {
    /// The canonical short name, the plugin's name, or a template naming the module.
    pub module: Cow<'static, str>,
    pub args: Value,
    /// The playbook's own plugin the task calls ([`crate::plugins`]): it fails when it runs.
    pub plugin: Option<PathBuf>,
}

impl Call {
    fn known(module: Cow<'static, str>, args: Value) -> Call {
        Call {
            module,
            args,
            plugin: None,
        }
    }
}

/// What a module key names: a module clearfleet knows (it may not run it), or the playbook's
/// own plugin, which Ansible finds first for a short or `ansible.legacy.` name.
enum Named {
    Known(&'static str),
    Plugin(String, PathBuf),
}

impl Named {
    fn name(&self) -> &str {
        match self {
            Named::Known(m) => m,
            Named::Plugin(name, _) => name,
        }
    }
}

/// The module or plugin `name` (written at `n`) names; an error when it is neither.
fn named(cx: &mut Cx, f: &File, n: &Node, name: &str) -> Option<Named> {
    if let Some((plugin, path)) = cx.plugins.find(name) {
        return Some(Named::Plugin(plugin.to_owned(), path.to_owned()));
    }
    known_module(cx, f, n, name).map(Named::Known)
}

/// Resolves the module and its arguments (free-form text, `action:`, `args:`), validating
/// argument names.
pub fn module_call(
    cx: &mut Cx,
    f: &File,
    action: &Action,
    args_kw: Option<&Node>,
    sites: &mut Vec<TemplateSite>,
) -> Option<Call> {
    let v = action.value;
    let (named, mut args, arg_node) = if action.written == "action"
        || action.written == "local_action"
    {
        match &v.kind {
            Kind::Str(s) => {
                let words = match split_args(s) {
                    Ok(w) => w,
                    Err(e) => {
                        cx.error(f, v, e.to_string());
                        return None;
                    }
                };
                let name = words
                    .first()
                    .map(|w| w.trim().to_owned())
                    .unwrap_or_default();
                let rest = join_args(words.get(1..).unwrap_or(&[]));
                if is_template(&name) {
                    let args = kv(cx, f, v, &rest, false)?;
                    return templated_call(cx, f, v, name, args, args_kw, sites);
                }
                let module = named(cx, f, v, &name)?;
                let args = kv(cx, f, v, &rest, FREE_FORM.contains(&module.name()))?;
                (module, args, None)
            }
            Kind::Map(entries) => {
                let Some((_, name_node)) = entries.iter().find(|(k, _)| key_text(k) == "module")
                else {
                    cx.error(f, v, format!("`{}` needs a `module:` key", action.written));
                    return None;
                };
                let name = name_node.as_text().unwrap_or_default();
                let mut args = Map::new();
                for (k, val) in entries {
                    let key = key_text(k);
                    if key != "module" {
                        args.insert(key, val.to_template_value());
                    }
                }
                if is_template(&name) {
                    return templated_call(cx, f, v, name, args, args_kw, sites);
                }
                let module = named(cx, f, name_node, &name)?;
                (module, args, Some(v))
            }
            _ => {
                cx.error(
                    f,
                    v,
                    format!(
                        "`{}` must be a string or a mapping, got {}",
                        action.written,
                        v.type_name()
                    ),
                );
                return None;
            }
        }
    } else {
        let module = match cx.plugins.find(&action.written) {
            Some((name, path)) => Named::Plugin(name.to_owned(), path.to_owned()),
            None => Named::Known(canonical_module(&action.written)?),
        };
        let args = match &v.kind {
            Kind::Null => Map::new(),
            Kind::Str(s) => {
                let args = kv(cx, f, v, s, FREE_FORM.contains(&module.name()))?;
                // `command: !unsafe echo {{ x }}`: every argument of it is unsafe.
                if v.tag.as_deref() == Some("!unsafe") {
                    args.into_iter()
                        .map(|(k, a)| match a {
                            Value::String(t) => (k, Value::String(unsafe_template(&t))),
                            other => (k, other),
                        })
                        .collect()
                } else {
                    args
                }
            }
            Kind::Map(entries) => entries
                .iter()
                .map(|(k, val)| (key_text(k), val.to_template_value()))
                .collect(),
            _ => {
                cx.error(
                    f,
                    v,
                    format!(
                        "arguments of `{}` must be a mapping or `key=value` text, got {}",
                        action.written,
                        shown(v)
                    ),
                );
                return None;
            }
        };
        (module, args, v.as_map().map(|_| v))
    };
    cx.templates(f, v, "args", sites);
    merge_args_keyword(
        cx,
        f,
        args_kw,
        FREE_FORM.contains(&named.name()),
        &mut args,
        sites,
    )?;
    let args = Value::Object(args);
    let module = match named {
        Named::Known(module) => module,
        Named::Plugin(name, path) => {
            // Its arguments are not checked: clearfleet does not know them.
            cx.warnings.push(Cx::diag(
                f,
                action.key,
                format!(
                    "{}; the task fails if it runs",
                    plugin_refusal(&name, &path.display().to_string())
                ),
            ));
            return Some(Call {
                module: Cow::Owned(name),
                args,
                plugin: Some(path),
            });
        }
    };
    if is_not_run(module) {
        // Its arguments are not checked: clearfleet does not know them.
        cx.warnings.push(Cx::diag(
            f,
            action.key,
            format!("{}; the task fails if it runs", refusal(module)),
        ));
        return Some(Call::known(module.into(), args));
    }
    // An args splat (`assert: "{{ item }}"`, `args: "{{ x }}"`) is checked with the rest when
    // the task runs; only the arguments written out are checked now.
    let written = match splat_keys(module, &args) {
        [] => Cow::Borrowed(&args),
        keys => {
            let mut m = args.as_object().cloned().unwrap_or_default();
            for k in keys {
                m.remove(*k);
            }
            Cow::Owned(Value::Object(m))
        }
    };
    if let Err(e) = clearfleet_modules::validate_args(module, &written) {
        let key_node = e.field.as_deref().and_then(|field| {
            [arg_node, args_kw]
                .into_iter()
                .flatten()
                .filter_map(Node::as_map)
                .flatten()
                .find(|(k, _)| key_text(k) == field)
                .map(|(k, _)| k)
        });
        let d = Cx::diag(f, key_node.unwrap_or(v), e.message);
        if !e.at_run_time {
            cx.diags.push(d);
            return None;
        }
        // Ansible fails the task only when it runs; so does the runner.
        cx.warnings.push(d);
    }
    Some(Call::known(module.into(), args))
}

/// The key of `args: "{{ x }}"` in a task's arguments (Ansible's `_variable_params`).
pub const VARIABLE_PARAMS: &str = "_variable_params";

/// The keys of `args` that are an args splat, rendered into the arguments when the task runs:
/// `_variable_params`, and a `_raw_params` that is one template for a module that takes no
/// free-form text (ansible-core 2.19's `Task._post_validate_args`).
pub fn splat_keys(module: &str, args: &Value) -> &'static [&'static str] {
    let raw = args
        .get("_raw_params")
        .and_then(Value::as_str)
        .is_some_and(|s| {
            is_possibly_all_template(s)
                && clearfleet_modules::validate_args(
                    module,
                    &Value::Object(Map::from_iter([(
                        "_raw_params".to_owned(),
                        Value::String(s.to_owned()),
                    )])),
                )
                .is_err()
        });
    match (raw, args.get(VARIABLE_PARAMS).is_some()) {
        (true, true) => &["_raw_params", VARIABLE_PARAMS],
        (true, false) => &["_raw_params"],
        (false, true) => &[VARIABLE_PARAMS],
        (false, false) => &[],
    }
}

/// `args:` merged under the module's own arguments, which win, as in Ansible.
fn merge_args_keyword(
    cx: &mut Cx,
    f: &File,
    args_kw: Option<&Node>,
    free_form: bool,
    args: &mut Map<String, Value>,
    sites: &mut Vec<TemplateSite>,
) -> Option<()> {
    let Some(a) = args_kw else {
        return Some(());
    };
    let extra = match &a.kind {
        Kind::Null => Map::new(),
        Kind::Map(entries) => entries
            .iter()
            .map(|(k, val)| (key_text(k), val.to_template_value()))
            .collect(),
        Kind::Str(s) if !is_template(s) => kv(cx, f, a, s, free_form)?,
        // `args: "{{ x }}"`: rendered into the arguments when the task runs (under them).
        Kind::Str(s) if is_possibly_all_template(s) => {
            Map::from_iter([(VARIABLE_PARAMS.to_owned(), Value::String(s.clone()))])
        }
        _ => {
            cx.error(f, a, format!("`args` must be a mapping, got {}", shown(a)));
            return None;
        }
    };
    cx.templates(f, a, "args", sites);
    for (k, val) in extra {
        args.entry(k).or_insert(val);
    }
    Some(())
}

/// A module named by a template (`action: "{{ ansible_facts.pkg_mgr }}"`): as ansible-core
/// 2.19's `Task._post_validate_args`, the name is rendered when the task runs on a host, and
/// only then are the module and its arguments checked (the runner's
/// `resolve_templated_module`). The name is kept as written.
fn templated_call(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    name: String,
    mut args: Map<String, Value>,
    args_kw: Option<&Node>,
    sites: &mut Vec<TemplateSite>,
) -> Option<Call> {
    cx.templates(f, v, "args", sites);
    merge_args_keyword(cx, f, args_kw, false, &mut args, sites)?;
    Some(Call::known(Cow::Owned(name), Value::Object(args)))
}

fn known_module(cx: &mut Cx, f: &File, n: &Node, name: &str) -> Option<&'static str> {
    let m = canonical_module(name);
    if m.is_none() {
        let short = name.rsplit('.').next().unwrap_or(name);
        cx.error_hint(
            f,
            n,
            format!("unknown module `{name}`"),
            did_you_mean(short, MODULES.iter().copied()),
        );
    }
    m
}

fn kv(cx: &mut Cx, f: &File, n: &Node, text: &str, check_raw: bool) -> Option<Map<String, Value>> {
    match parse_kv(text, check_raw) {
        Ok(m) => Some(m),
        Err(e) => {
            cx.error(f, n, e.to_string());
            None
        }
    }
}

//! A task's arguments as they are when it runs on a host, from the layers ansible-core
//! 2.19.14's `Task._post_validate_args` and `_internal/_task.py`'s `TaskArgsFinalizer` stack:
//! `module_defaults` at the bottom, then the arguments given as a template (the "args splat":
//! `args: "{{ x }}"`, then `assert: "{{ item }}"`), each of which must render to a mapping, then
//! the arguments written out; the whole is then checked as the loader checks written arguments.

use std::borrow::Cow;

use serde_json::Value;

use super::Engine;
use clearfleet_playbook::Task;
use clearfleet_playbook::action::{VARIABLE_PARAMS, splat_keys};
use clearfleet_template::Value as Ctx;

/// The warning 2.19 gives, in the task's result, for each args splat (with its default
/// `INJECT_FACTS_AS_VARS`).
pub(crate) const SPLAT_WARNING: &str = "Using a template for task args is unsafe in some situations (see https://docs.ansible.com/ansible/devel/reference_appendices/faq.html#argsplat-unsafe).";

/// `args` with its splat layers rendered and merged (borrowed when there are none), and how
/// many layers there were (each gives [`SPLAT_WARNING`]); `Err`: the task fails with that
/// message.
pub(crate) fn resolve<'a>(
    e: &Engine,
    t: &Task,
    module: &str,
    args: &'a Value,
    vars: &Ctx,
) -> Result<(Cow<'a, Value>, usize), String> {
    let keys = splat_keys(module, args);
    let defaults = t.module_defaults.get(module);
    if keys.is_empty() && defaults.is_none() {
        return Ok((Cow::Borrowed(args), 0));
    }
    let mut written = args.as_object().cloned().unwrap_or_default();
    // `module_defaults` lie under everything (`_get_action_arg_defaults`, the first layer).
    let mut merged = defaults.cloned().unwrap_or_default();
    // Lowest first: `args:`, then the module's own text.
    for key in [VARIABLE_PARAMS, "_raw_params"] {
        if !keys.contains(&key) {
            continue;
        }
        let Some(layer) = written.remove(key) else {
            continue;
        };
        let rendered = e
            .templates
            .render_value(&layer, vars, &t.location, "task args")
            .map_err(|err| err.to_string())?;
        match rendered {
            Value::Object(m) => merged.extend(m),
            // `value_for_omit={}`: an omitted layer adds nothing.
            Value::String(s) if s.is_empty() => {}
            other => {
                return Err(format!(
                    "Task args must resolve to a 'dict' not '{}'.",
                    clearfleet_base::python_json::type_name(&other)
                ));
            }
        }
    }
    merged.extend(written);
    let merged = Value::Object(merged);
    clearfleet_modules::validate_args(module, &merged).map_err(|err| err.to_string())?;
    Ok((Cow::Owned(merged), keys.len()))
}

//! `validate_argument_spec` as ansible-core 2.19.14's action
//! (`plugins/action/validate_argument_spec.py`, `ActionModule.run`): the task's variables named
//! by the spec (`get_args_from_task_vars`), under its `provided_arguments`
//! (`combine_vars`), validated against `argument_spec` ([`clearfleet_modules::arg_spec`]).
//! A role's implicit first task is this action ([`clearfleet_playbook`] prepends it).

use clearfleet_base::python_json::{repr, type_name};
use clearfleet_modules::ModuleResult;
use clearfleet_modules::arg_spec::validate;
use serde_json::{Map, Value};

/// Runs the action with its rendered arguments `args`, the task's variables `task_vars`.
pub(super) fn validate_argument_spec(args: &Value, task_vars: &Map<String, Value>) -> ModuleResult {
    let context = args
        .get("validate_args_context")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let failed = |msg: String| {
        let mut r = ModuleResult::fail(msg);
        r.data
            .insert("validate_args_context".into(), context.clone());
        r
    };
    let Some(spec) = args.get("argument_spec") else {
        return failed(format!(
            "\"argument_spec\" arg is required in args: {}",
            repr(args)
        ));
    };
    let Value::Object(spec_map) = spec else {
        return failed(format!(
            "Incorrect type for argument_spec, expected dict and got <class '{}'>",
            type_name(spec)
        ));
    };
    let provided = match args.get("provided_arguments") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return failed(format!(
                "Incorrect type for provided_arguments, expected dict and got <class '{}'>",
                type_name(other)
            ));
        }
    };
    let mut params: Map<String, Value> = spec_map
        .keys()
        .filter_map(|k| task_vars.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    params.extend(provided);
    let validation = match validate(spec_map, &params) {
        Ok(v) => v,
        Err(e) => return failed(e.to_string()),
    };
    if !validation.errors.is_empty() {
        let mut r = failed(format!(
            "Validation of arguments failed:\n{}",
            validation.errors.join("\n")
        ));
        r.data.insert("argument_spec_data".into(), spec.clone());
        r.data
            .insert("argument_errors".into(), Value::from(validation.errors));
        return r;
    }
    let mut r = ModuleResult::ok();
    r.msg = Some("The arg spec validation passed".to_owned());
    r.data.insert("validate_args_context".into(), context);
    r
}

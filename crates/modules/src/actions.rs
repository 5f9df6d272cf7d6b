//! The actions the playbook engine carries out itself, with no module run on the host
//! (`debug`, `assert`, `set_fact`...): their names and accepted arguments, for the loader's
//! checks. The engine (`runner::playbook`) implements them.

use serde_json::Value;

use super::args::ArgError;

/// Engine actions, by short name.
pub const ACTIONS: &[&str] = &[
    "debug",
    "assert",
    "fail",
    "set_fact",
    "group_by",
    "add_host",
    "include_vars",
    "pause",
    "package",
    "setup",
    "gather_facts",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "import_playbook",
    "meta",
    "validate_argument_spec",
];

/// `include_vars`'s arguments: a file's (`file`, free form), a directory's, and both's.
pub const INCLUDE_VARS_ARGS: &[&str] = &[
    "_raw_params",
    "file",
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
    "name",
    "hash_behaviour",
];

fn keys(action: &str) -> Option<&'static [&'static str]> {
    Some(match action {
        "debug" => &["msg", "var", "verbosity"],
        "assert" => &["fail_msg", "msg", "quiet", "success_msg", "that"],
        "fail" => &["msg"],
        "group_by" => &["key", "parents"],
        "setup" => &["fact_path", "filter", "gather_subset", "gather_timeout"],
        // Ansible's `gather_facts` action runs the fact modules (here: `setup`) with its
        // arguments.
        "gather_facts" => &[
            "fact_path",
            "filter",
            "gather_subset",
            "gather_timeout",
            "parallel",
        ],
        "pause" => &["echo", "minutes", "prompt", "seconds"],
        "include_tasks" => &["_raw_params", "file", "apply"],
        "import_tasks" => &["_raw_params", "file"],
        "include_vars" => INCLUDE_VARS_ARGS,
        "include_role" | "import_role" => &[
            "name",
            "role",
            "tasks_from",
            "vars_from",
            "defaults_from",
            "handlers_from",
            "apply",
            "public",
            "allow_duplicates",
            "rolespec_validate",
        ],
        "import_playbook" | "meta" => &["_raw_params"],
        _ => return None,
    })
}

/// Checks an action's argument names; `set_fact` takes any variable name, `add_host` any
/// variable of the new host.
pub fn validate(action: &str, args: &Value) -> Result<(), ArgError> {
    let Value::Object(map) = args else {
        return Err(ArgError::general(format!(
            "arguments of `{action}` must be a mapping"
        )));
    };
    if action == "set_fact" {
        return match map.contains_key("_raw_params") {
            true => Err(ArgError::field(
                "_raw_params",
                "`set_fact` takes `name: value` pairs, not free-form text",
            )),
            false => Ok(()),
        };
    }
    // `package` hands every argument but `use` to the module it picks on the host;
    // `validate_argument_spec` reads `argument_spec`, `provided_arguments` and
    // `validate_args_context` and ignores any other (its action checks none).
    if matches!(action, "add_host" | "package" | "validate_argument_spec") {
        return Ok(());
    }
    let allowed =
        keys(action).ok_or_else(|| ArgError::general(format!("unknown action `{action}`")))?;
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ArgError::field(
            k.as_str(),
            format!(
                "unsupported argument `{k}` for module `{action}` (supported: {})",
                allowed
                    .iter()
                    .filter(|a| !a.starts_with('_'))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => Ok(()),
    }
}

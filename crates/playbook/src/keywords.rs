//! Ansible's keyword lists (ansible-core 2.19 `Play`/`Task`/`Block`/`Handler` field
//! attributes), split into what clearfleet supports and what it rejects by name (the "did you
//! mean" check over them is `clearfleet_base::suggest`).

/// Play keywords clearfleet implements.
pub const PLAY: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "gather_facts",
    "gather_subset",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "force_handlers",
    "order",
    "strategy",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "vars_prompt",
    "fact_path",
    "gather_timeout",
    "collections",
    "debugger",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "roles",
    "tags",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "run_once",
    "throttle",
    "timeout",
    "remote_user",
    "connection",
    "port",
    "check_mode",
    "diff",
    "module_defaults",
];

/// Play keywords Ansible has and clearfleet does not (an error naming the keyword).
pub const PLAY_UNSUPPORTED: &[&str] = &[];

/// Task keywords clearfleet implements (besides the module key).
pub const TASK: &[&str] = &[
    "name",
    "when",
    "register",
    "loop",
    "loop_control",
    "with_items",
    "with_list",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "throttle",
    "retries",
    "until",
    "delay",
    "no_log",
    "tags",
    "notify",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "collections",
    "debugger",
    "environment",
    "timeout",
    "run_once",
    "check_mode",
    "diff",
    "delegate_to",
    "delegate_facts",
    "vars",
    "args",
    "action",
    "local_action",
    "async",
    "poll",
    "remote_user",
    "connection",
    "port",
    "module_defaults",
];

/// Task keywords whose value may be a template on a task (Ansible's non-static field
/// attributes, `task.py`/`base.py`): rendered per host when the task runs. `until`, `when` and
/// friends are expressions already; strings (`become_user`, ...) are rendered as they are.
pub const TEMPLATED: &[&str] = &[
    "retries",
    "delay",
    "ignore_errors",
    "no_log",
    "timeout",
    "become",
    "check_mode",
    "async",
    "poll",
];

/// Task keywords Ansible has and clearfleet does not.
pub const TASK_UNSUPPORTED: &[&str] = &["any_errors_fatal"];

/// Keywords a `block` accepts (Ansible's `Block` attributes that clearfleet implements).
pub const BLOCK: &[&str] = &[
    "block",
    "rescue",
    "always",
    "name",
    "when",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "collections",
    "debugger",
    "environment",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "run_once",
    "tags",
    "throttle",
    "timeout",
    "delegate_to",
    "delegate_facts",
    "remote_user",
    "connection",
    "port",
    "notify",
    "vars",
    "diff",
    "check_mode",
    "module_defaults",
];

/// `loop_control` keys clearfleet implements, and the ones it rejects by name.
pub const LOOP_CONTROL: &[&str] = &[
    "label",
    "loop_var",
    "index_var",
    "pause",
    "extended",
    "extended_allitems",
];
pub const LOOP_CONTROL_UNSUPPORTED: &[&str] = &["break_when"];

/// Keys an `import_playbook` entry accepts.
pub const IMPORT_PLAYBOOK: &[&str] = &["name", "vars", "tags", "when"];

#[cfg(test)]
mod tests {
    use super::*;
    use clearfleet_base::suggest::closest;

    #[test]
    fn suggestions() {
        assert_eq!(closest("becom", TASK.iter().copied()), Some("become"));
        assert_eq!(closest("hots", PLAY.iter().copied()), Some("hosts"));
        assert_eq!(closest("whne", TASK.iter().copied()), Some("when"));
        assert_eq!(closest("xyz", PLAY.iter().copied()), None);
    }
}

//! Keyword inheritance, applied once at load time so the runner never walks parents.
//!
//! Rules (Ansible's, for the keywords clearfleet supports):
//! - play → every task and handler: `tags` (added), `become*` (field by field, the task
//!   wins), `environment` (key by key, the task wins), `ignore_errors`, `no_log`,
//!   `ignore_unreachable`, `run_once`, `timeout`, `throttle`, `remote_user`, `connection`, `port`, `check_mode`, `diff` (the task's own value wins),
//!   `module_defaults`.
//! - block → each task of `block`, `rescue` and `always`: the above, plus `check_mode`, `when` (the block's
//!   conditions come first, ANDed), `notify` (added), `delegate_to` and `vars` (the task's
//!   own win), `module_defaults` (module by module, argument by argument, the inner wins).
//! - `import_tasks` → each imported task: as a block.
//! - `include_tasks` → each included task (loaded by the runner): as a block, except `when`
//!   and `tags`, which in Ansible apply to the include itself only ([`Inherited::for_include`]);
//!   with `apply:`, its keywords as a block's over that (`Task::include_apply`).

use super::model::{BecomeSpec, ModuleDefaults, RoleScope, Spanned, Task};
use indexmap::IndexMap;
use serde_json::Value;
use std::sync::Arc;

/// What a task inherits from its enclosing play, blocks and imports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inherited {
    pub when: Vec<Spanned<String>>,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    pub become_: Option<BecomeSpec>,
    pub environment: IndexMap<String, String>,
    pub ignore_errors: Option<bool>,
    pub ignore_unreachable: Option<bool>,
    pub no_log: Option<bool>,
    pub run_once: Option<bool>,
    pub timeout: Option<u64>,
    pub throttle: Option<u64>,
    pub delegate_to: Option<String>,
    pub delegate_facts: Option<bool>,
    /// `remote_user`: the login the host's connection uses (a template, rendered per host).
    pub remote_user: Option<String>,
    /// `connection`: the connection plugin (a template, rendered per host).
    pub connection: Option<String>,
    /// `port`: the SSH port (a template, rendered per host).
    pub port: Option<String>,
    pub vars: IndexMap<String, Value>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub module_defaults: ModuleDefaults,
    /// The role whose tasks these are.
    pub role: Option<Arc<RoleScope>>,
}

impl Inherited {
    /// What the tasks inside a block (or an `import_tasks`) whose effective keywords are
    /// those of `task` inherit.
    pub fn from_parent(task: &Task) -> Self {
        Inherited {
            when: task.when.clone(),
            tags: task.tags.clone(),
            notify: task.notify.clone(),
            become_: task.become_.clone(),
            environment: task.environment.clone(),
            ignore_errors: Some(task.ignore_errors),
            ignore_unreachable: Some(task.ignore_unreachable),
            no_log: Some(task.no_log),
            run_once: Some(task.run_once),
            timeout: task.timeout,
            throttle: Some(task.throttle),
            delegate_to: task.delegate_to.clone(),
            delegate_facts: Some(task.delegate_facts),
            remote_user: task.remote_user.clone(),
            connection: task.connection.clone(),
            port: task.port.clone(),
            vars: task.vars.clone(),
            check_mode: task.check_mode,
            diff: task.diff,
            module_defaults: task.module_defaults.clone(),
            role: task.role.clone(),
        }
    }

    /// What the tasks of a dynamic `include_tasks` inherit: as a block, minus `when`/`tags`.
    pub fn for_include(task: &Task) -> Self {
        Inherited {
            when: Vec::new(),
            tags: Vec::new(),
            ..Self::from_parent(task)
        }
    }
}

/// A task's own keyword values before inheritance (`None`: not written).
#[derive(Debug, Default)]
pub struct Own {
    pub when: Vec<Spanned<String>>,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    pub become_: Option<BecomeSpec>,
    pub environment: IndexMap<String, String>,
    pub ignore_errors: Option<bool>,
    pub ignore_unreachable: Option<bool>,
    pub no_log: Option<bool>,
    pub run_once: Option<bool>,
    pub timeout: Option<u64>,
    pub throttle: Option<u64>,
    pub delegate_to: Option<String>,
    pub delegate_facts: Option<bool>,
    pub remote_user: Option<String>,
    pub connection: Option<String>,
    pub port: Option<String>,
    pub vars: IndexMap<String, Value>,
    pub check_mode: Option<bool>,
    pub diff: Option<bool>,
    pub module_defaults: ModuleDefaults,
}

/// The effective keywords of a task: `own` over `parent`.
pub fn apply(parent: &Inherited, own: Own, task: &mut Task) {
    task.when = parent.when.iter().cloned().chain(own.when).collect();
    task.tags = union(&parent.tags, own.tags);
    task.notify = union(&parent.notify, own.notify);
    task.become_ = match (&parent.become_, own.become_) {
        (Some(p), Some(c)) => Some(p.overridden_by(&c)),
        (p, c) => c.or_else(|| p.clone()),
    };
    let mut env = parent.environment.clone();
    env.extend(own.environment);
    task.environment = env;
    task.ignore_errors = own.ignore_errors.or(parent.ignore_errors).unwrap_or(false);
    task.ignore_unreachable = own
        .ignore_unreachable
        .or(parent.ignore_unreachable)
        .unwrap_or(false);
    task.no_log = own.no_log.or(parent.no_log).unwrap_or(false);
    task.run_once = own.run_once.or(parent.run_once).unwrap_or(false);
    task.timeout = own.timeout.or(parent.timeout);
    task.throttle = own.throttle.or(parent.throttle).unwrap_or(0);
    task.check_mode = own.check_mode.or(parent.check_mode);
    task.diff = own.diff.or(parent.diff);
    task.delegate_to = own.delegate_to.or_else(|| parent.delegate_to.clone());
    task.delegate_facts = own
        .delegate_facts
        .or(parent.delegate_facts)
        .unwrap_or(false);
    task.remote_user = own.remote_user.or_else(|| parent.remote_user.clone());
    task.connection = own.connection.or_else(|| parent.connection.clone());
    task.port = own.port.or_else(|| parent.port.clone());
    let mut vars = parent.vars.clone();
    vars.extend(own.vars);
    task.vars = vars;
    let mut defaults = parent.module_defaults.clone();
    for (module, args) in own.module_defaults {
        defaults.entry(module).or_default().extend(args);
    }
    task.module_defaults = defaults;
    task.role = parent.role.clone();
}

fn union(parent: &[String], own: Vec<String>) -> Vec<String> {
    let mut out = parent.to_vec();
    for t in own {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

//! The become a task runs its module with, decided as ansible-core 2.19.14 does for each task:
//! the become variables first, wherever they are set (inventory, play `vars`, `vars_files`,
//! role vars and defaults, block and task `vars`, `include_vars`, `set_fact`, `-e`), then the
//! `become*` keywords of the task, its blocks, role and play, then the command line
//! (`-b`, `--become-user`, `-K`) and `ansible.cfg`, which are the keywords' defaults.
//!
//! - `ansible_become` over `become`, and `ansible_become_method` (when not empty) over
//!   `become_method`: lib/ansible/executor/task_executor.py `_set_become_plugin`;
//! - `ansible_become_user` / `ansible_sudo_user` over `become_user`, the password variables
//!   over `-K`, `ansible_become_exe` over `become_exe` and the flags variables over
//!   `become_flags`: the sudo plugin's options (lib/ansible/plugins/become/sudo.py), whose
//!   variables beat its keywords
//!   (lib/ansible/config/manager.py `get_config_value_and_origin`), `-K` arriving as a keyword
//!   (`_set_connection_options`).
//!
//! The variables are the task's own, already rendered like every variable the task reads (a
//! `{{ }}` in them is resolved before the task starts; what a template produced is not
//! rendered again), or, for a task delegated to another host, that host's
//! (`ansible_delegated_vars`, see [`super::delegated_vars`]). The keywords are rendered with
//! the task's variables.

use serde_json::{Map, Value};

use super::Engine;
use clearfleet_base::boolean::ansible_bool;
use clearfleet_base::secret::Secret;
use clearfleet_playbook::Task;
use clearfleet_ssh::Become;
use clearfleet_template::{TemplateError, Value as Ctx};

use crate::become_vars::{self, ENABLED, EXE, FLAGS, METHOD, PASSWORD, USER, last_set};

/// Why a task's become cannot be decided: the task fails with it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BecomeError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("`{var}`: expected a boolean, found {value}")]
    NotBoolean { var: &'static str, value: Value },
    #[error("`{var}`: expected a string, found {value}")]
    NotString { var: &'static str, value: Value },
    #[error(
        "become method `{method}` (from {from}) is not supported: clearfleet becomes another user with sudo, or su without a password"
    )]
    Unsupported { method: String, from: &'static str },
    #[error(
        "become method `su` (from {from}) with a password is not supported: su reads the password from a terminal; use sudo"
    )]
    SuPassword { from: &'static str },
    #[error("`{var}`: {reason}")]
    Flags { var: &'static str, reason: String },
}

/// The become of task `t` (its keywords rendered with `vars`), given the variables of the host
/// its connection goes to (`conn_vars`); `None`: the module runs as the login user. A password
/// read from the variables is masked in all output from now on.
pub(crate) fn become_of(
    e: &Engine,
    t: &Task,
    vars: &Ctx,
    conn_vars: &Map<String, Value>,
) -> Result<Option<Become>, BecomeError> {
    let spec = t.become_.as_ref();
    let defaults = &e.config.become_defaults;
    let variable = |names: &[&'static str]| -> Result<Option<(&'static str, String)>, BecomeError> {
        match last_set(names, |n| conn_vars.get(n)) {
            None => Ok(None),
            Some((var, v)) => text(var, v).map(|s| Some((var, s))),
        }
    };
    // Masked from now on, become or not: a later task may show it.
    let password = variable(PASSWORD).map(|found| found.map(|(_, p)| Secret::new(p)));
    if let Ok(Some(p)) = &password {
        e.config.redactor.learn(p.clone());
    }
    let enabled = match conn_vars.get(ENABLED) {
        None | Some(Value::Null) => spec.and_then(|s| s.enabled).unwrap_or(defaults.enabled),
        Some(v) => ansible_bool(v).ok_or_else(|| BecomeError::NotBoolean {
            var: ENABLED,
            value: v.clone(),
        })?,
    };
    if !enabled {
        return Ok(None);
    }
    let password = password?.or_else(|| defaults.password.clone());
    let keyword = |value: Option<&String>, name: &str| {
        value
            .map(|v| e.templates.render_string(v, vars, &t.location, name))
            .transpose()
    };
    let (method, from) = match variable(&[METHOD])? {
        Some((_, m)) if !m.is_empty() => (m, METHOD),
        _ => match keyword(spec.and_then(|s| s.method.as_ref()), "become_method")? {
            Some(m) => (m, "the `become_method` keyword"),
            None => ("sudo".to_owned(), "the default"),
        },
    };
    match method.as_str() {
        "sudo" => {}
        "su" if password.is_none() => {}
        "su" => return Err(BecomeError::SuPassword { from }),
        _ => return Err(BecomeError::Unsupported { method, from }),
    }
    let user = match variable(USER)? {
        Some((_, u)) => u,
        None => keyword(spec.and_then(|s| s.user.as_ref()), "become_user")?
            .or_else(|| defaults.user.clone())
            .unwrap_or_else(|| "root".to_owned()),
    };
    let flags = match variable(FLAGS)? {
        Some((var, text)) => Some((var, text)),
        None => keyword(spec.and_then(|s| s.flags.as_ref()), "become_flags")?
            .map(|text| ("become_flags", text)),
    };
    let flags = flags
        .map(|(var, text)| {
            become_vars::sudo_flags(&text, password.is_some()).map_err(|err| BecomeError::Flags {
                var,
                reason: err.to_string(),
            })
        })
        .transpose()?;
    Ok(Some(Become {
        user,
        method,
        password,
        timeout: defaults.timeout,
        exe: match variable(EXE)? {
            Some((_, exe)) => Some(exe),
            None => keyword(spec.and_then(|s| s.exe.as_ref()), "become_exe")?,
        },
        flags,
    }))
}

/// A become variable's value as the string option it sets (a number or boolean as its text).
fn text(var: &'static str, v: &Value) -> Result<String, BecomeError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "True" } else { "False" }.to_owned()),
        other => Err(BecomeError::NotString {
            var,
            value: other.clone(),
        }),
    }
}

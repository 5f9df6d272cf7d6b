//! How a host's task (or its play's fact gathering) reaches it: the connection plugin and the
//! SSH port, from the `ansible_connection` / `ansible_port` variables and the `connection` /
//! `port` keywords, in ansible-core 2.19.14's order. `local` runs on the controller, with no
//! SSH connection; the SSH plugins go through the host's one SSH connection per login and port.

use clearfleet_base::diagnostic::Location;
use clearfleet_playbook::connection::{is_local_plugin, parse_port, unsupported_plugin};
use clearfleet_ssh::Target;
use clearfleet_template::Value as Ctx;

use super::Engine;

/// The way to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// clearfleet's SSH connection (`ssh`, `smart`, `paramiko`).
    Ssh,
    /// The controller itself (`local`).
    Local,
}

/// A variable of `vars` as text, `None` when it is unset or null.
fn var_text(vars: &Ctx, name: &str) -> Option<String> {
    let v = vars.get_attr(name).ok()?;
    if v.is_undefined() || v.is_none() {
        return None;
    }
    Some(match v.as_str() {
        Some(s) => s.to_owned(),
        None => v.to_string(),
    })
}

/// The transport of a host whose variables are `vars`: its `ansible_connection` variable
/// (rendered) beats the `connection` keyword of the task, its blocks, role and play
/// (`keyword`, rendered), as `TaskExecutor._execute` picks `current_connection`; neither:
/// SSH (Ansible's default `smart`). A plugin clearfleet lacks is the reason, naming where the
/// name came from.
pub(crate) fn transport(
    e: &Engine,
    keyword: Option<&str>,
    at: &Location,
    vars: &Ctx,
) -> Result<Transport, String> {
    // A task's variables hold the magic `ansible_connection` (its keyword, else `ssh`) unless
    // a variable set one; fact gathering's hold only what variables set.
    let Some(var) = var_text(vars, "ansible_connection") else {
        return Ok(keyword_transport(e, keyword, at, vars)?.unwrap_or(Transport::Ssh));
    };
    let name = render(e, &var, at, vars, "ansible_connection")?;
    of_plugin(&name).ok_or_else(|| {
        // The magic variable is the keyword's value: then the keyword is to blame.
        let from_keyword = keyword
            .and_then(|k| render(e, k, at, vars, "connection").ok())
            .is_some_and(|k| k == name);
        let from = if from_keyword {
            "the keyword `connection`"
        } else {
            "the variable `ansible_connection`"
        };
        format!("{at}: {}", unsupported_plugin(&name, from))
    })
}

/// The `connection` keyword alone, rendered: `None` without one.
pub(crate) fn keyword_transport(
    e: &Engine,
    keyword: Option<&str>,
    at: &Location,
    vars: &Ctx,
) -> Result<Option<Transport>, String> {
    let Some(k) = keyword else {
        return Ok(None);
    };
    let name = render(e, k, at, vars, "connection")?;
    of_plugin(&name).map(Some).ok_or_else(|| {
        format!(
            "{at}: {}",
            unsupported_plugin(&name, "the keyword `connection`")
        )
    })
}

/// The transport of a connection plugin clearfleet has.
fn of_plugin(name: &str) -> Option<Transport> {
    is_local_plugin(name).map(|local| {
        if local {
            Transport::Local
        } else {
            Transport::Ssh
        }
    })
}

/// The SSH port of a host whose variables are `vars`, when a variable or keyword says: its
/// `ansible_port` (or `ansible_ssh_port`) variable beats the `port` keyword (the ssh plugin's
/// `port` option: `vars` before `keyword` in `ConfigManager.get_config_value_and_origin`).
/// `None`: the host's planned port (inventory, ssh_config, 22).
pub(crate) fn port(
    e: &Engine,
    keyword: Option<&str>,
    at: &Location,
    vars: &Ctx,
) -> Result<Option<u16>, String> {
    for name in ["ansible_port", "ansible_ssh_port"] {
        if let Some(v) = var_text(vars, name) {
            let text = render(e, &v, at, vars, name)?;
            return parse_port(&text)
                .map(Some)
                .ok_or_else(|| format!("{at}: `{name}` is not a TCP port: `{text}`"));
        }
    }
    keyword_port(e, keyword, at, vars)
}

/// The `port` keyword alone, rendered (for a host delegated to whose own variables set no
/// port: Ansible leaves its `ansible_port` unset, so the keyword applies).
pub(crate) fn keyword_port(
    e: &Engine,
    keyword: Option<&str>,
    at: &Location,
    vars: &Ctx,
) -> Result<Option<u16>, String> {
    let Some(k) = keyword else {
        return Ok(None);
    };
    let text = render(e, k, at, vars, "port")?;
    parse_port(&text)
        .map(Some)
        .ok_or_else(|| format!("{at}: the keyword `port` is not a TCP port: `{text}`"))
}

/// `target` reached at `port` instead of its own (a clone only when it differs); the run's
/// connections are kept per host, address, port and login, so another port is another
/// connection.
pub(crate) fn at_port(target: &Target, port: Option<u16>) -> std::borrow::Cow<'_, Target> {
    match port {
        Some(p) if p != target.port => {
            let mut t = target.clone();
            t.port = p;
            std::borrow::Cow::Owned(t)
        }
        _ => std::borrow::Cow::Borrowed(target),
    }
}

fn render(
    e: &Engine,
    source: &str,
    at: &Location,
    vars: &Ctx,
    what: &str,
) -> Result<String, String> {
    e.templates
        .render_string(source, vars, at, what)
        .map(|s| s.trim().to_owned())
        .map_err(|err| err.to_string())
}

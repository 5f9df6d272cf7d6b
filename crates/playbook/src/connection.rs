//! The `connection` and `port` keywords (ansible-core 2.19.14 `playbook/base.py`:
//! `connection = ConnectionFieldAttribute(isa='string')`, `port = FieldAttribute(isa='int')`,
//! both templated per host): which connection plugin a host's tasks go through, and the SSH
//! port. clearfleet has two transports, its SSH connection and the controller itself.

use super::cx::{Cx, File, shown};
use super::model::TemplateSite;
use super::template::is_template;
use clearfleet_yaml::syntax::{Kind, Node};

/// The connection plugins that are clearfleet's SSH connection (ansible-core's `ssh`, `smart`
/// — which picks `ssh` — and `paramiko`, also by its old name `paramiko_ssh`).
pub const SSH_PLUGINS: &[&str] = &["ssh", "smart", "paramiko", "paramiko_ssh"];

/// The connection plugin that runs a host's tasks on the controller (`plugins/connection/local.py`).
pub const LOCAL_PLUGIN: &str = "local";

/// What a connection plugin name means to clearfleet, accepting Ansible's fully qualified
/// names (`ansible.builtin.local`): `Some(true)` local, `Some(false)` SSH, `None` a plugin
/// clearfleet does not have.
pub fn is_local_plugin(name: &str) -> Option<bool> {
    let name = name.trim();
    let short = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    if short == LOCAL_PLUGIN {
        Some(true)
    } else if SSH_PLUGINS.contains(&short) {
        Some(false)
    } else {
        None
    }
}

/// Why a connection plugin cannot be used; `from` says where its name came from (`the
/// keyword \`connection\``, `the variable \`ansible_connection\``).
pub fn unsupported_plugin(name: &str, from: &str) -> String {
    format!(
        "the connection plugin `{name}` ({from}) is not supported by clearfleet: it has `local` \
         and `ssh` (also as `smart` and `paramiko`)"
    )
}

/// `connection:` a plugin name clearfleet has, or a template rendered per host when the task
/// runs (checked then).
pub(crate) fn connection(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<TemplateSite>,
) -> Option<String> {
    let s = cx.string(f, "connection", v)?;
    cx.templates(f, v, "connection", sites);
    if is_template(&s) {
        return Some(s);
    }
    if s.trim().is_empty() {
        cx.error(f, v, "`connection` needs a connection plugin name");
        return None;
    }
    if is_local_plugin(&s).is_none() {
        cx.error(
            f,
            v,
            unsupported_plugin(s.trim(), "the keyword `connection`"),
        );
        return None;
    }
    Some(s.trim().to_owned())
}

/// `port:` a TCP port (1-65535), or a template rendered per host when the task runs (checked
/// then). Kept as written.
pub(crate) fn port(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<TemplateSite>,
) -> Option<String> {
    if let Kind::Str(s) = &v.kind
        && is_template(s)
    {
        cx.templates(f, v, "port", sites);
        return Some(s.clone());
    }
    let n = cx.uint(f, "port", v, u64::from(u16::MAX))?;
    if n == 0 {
        cx.error(
            f,
            v,
            format!("`port` must be a TCP port (1-65535), got {}", shown(v)),
        );
        return None;
    }
    Some(n.to_string())
}

/// A `port` value (the keyword rendered, or an `ansible_port` variable) as a TCP port.
pub fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

//! The keywords that steer Ansible's controller rather than a host: `debugger` (its interactive
//! task debugger, which clearfleet does not have) and `collections` (where short module names
//! are looked up), checked and kept for the hints they make possible.

use super::cx::{Cx, File, shown};
use super::template::is_template;
use clearfleet_yaml::syntax::{Kind, Node};

/// The values ansible-core accepts for `debugger` (lib/ansible/playbook/base.py
/// `_post_validate_debugger`).
const DEBUGGER_VALUES: &str = "always, on_failed, on_unreachable, on_skipped, never";

/// `debugger:` on a play, block or task. `never` (no debugger, Ansible's default) is accepted;
/// the values that start ansible-core's interactive debugger (`Debugger(cmd.Cmd)` in
/// lib/ansible/plugins/strategy/__init__.py, which reads commands from the terminal) are
/// refused, as clearfleet has no debugger to start; any other value gets Ansible's own error.
pub fn debugger(cx: &mut Cx, f: &File, v: &Node) {
    let value = match &v.kind {
        Kind::Null => return,
        Kind::Str(s) => s.trim().to_owned(),
        _ => {
            cx.error(
                f,
                v,
                format!("`debugger` must be a string, got {}", shown(v)),
            );
            return;
        }
    };
    match value.as_str() {
        "never" => {}
        "always" | "on_failed" | "on_unreachable" | "on_skipped" => cx.error_hint(
            f,
            v,
            format!("`debugger: {value}` is not supported: clearfleet has no interactive task debugger"),
            Some("remove `debugger` (or write `debugger: never`); register the result and show it with `debug` instead".to_owned()),
        ),
        _ if is_template(&value) => cx.error(
            f,
            v,
            "`debugger` must be written out, not templated",
        ),
        _ => cx.error(
            f,
            v,
            format!("'{value}' is not a valid value for debugger. Must be one of {DEBUGGER_VALUES}"),
        ),
    }
}

/// `collections:` on a play, block or task: the collection names, as written. Ansible searches
/// them for short module names, then `ansible.legacy` (lib/ansible/playbook/collectionsearch.py);
/// clearfleet has `ansible.builtin` alone, so a short name always means its own module and the
/// list serves the hint of an unknown module.
pub fn collections(cx: &mut Cx, f: &File, v: &Node) -> Vec<String> {
    let names = cx.strings(f, "collections", v, false);
    if names.iter().any(|n| is_template(n)) {
        cx.error(f, v, "`collections` must be written out, not templated");
    }
    names
}

/// The hint for an unknown short module name when `collections` (the task's, its blocks' and
/// play's) names collections other than Ansible's own: clearfleet cannot run their modules.
pub fn collections_hint(listed: &[String]) -> Option<String> {
    let foreign: Vec<String> = listed
        .iter()
        .filter(|c| !matches!(c.as_str(), "ansible.builtin" | "ansible.legacy"))
        .map(|c| format!("`{c}`"))
        .collect();
    if foreign.is_empty() {
        return None;
    }
    Some(format!(
        "clearfleet has no collection besides `ansible.builtin`: it cannot look for this module in {} (see docs/playbooks.md)",
        foreign.join(", ")
    ))
}

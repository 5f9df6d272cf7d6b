//! Ansible's `ansible_delegated_vars`: the variables a task delegated to another host has on
//! that host, which its connection's settings (become) are read from instead of the delegating
//! host's (lib/ansible/vars/manager.py `get_delegated_vars_and_hostname`, read as `cvars` by
//! lib/ansible/executor/task_executor.py `_execute`): the play's, role's, task's and extra
//! variables over the delegated host's own inventory variables, facts, `include_vars` results
//! and `set_fact` values, with `inventory_hostname` the delegating host's.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{Engine, HostLayers, HostRun, PlayCtx, Task, delegate_name, is_controller};
use clearfleet_template::Value as Ctx;

/// The variable holding them, by delegated host name, as in Ansible.
const KEY: &str = "ansible_delegated_vars";

/// `var_map` with `ansible_delegated_vars` added when `t` is delegated to another host reached
/// over SSH (not the controller); `var_map` itself otherwise, or when `delegate_to` cannot be
/// rendered (the task then fails on that).
pub(super) fn with_delegated<'m>(
    e: &Engine,
    h: &HostRun,
    ctx: &PlayCtx<'_>,
    t: &Task,
    (vars, var_map): (&Ctx, &'m Map<String, Value>),
    loop_vars: &Map<String, Value>,
) -> Cow<'m, Map<String, Value>> {
    let Ok(Some(name)) = delegate_name(e, h, t, vars) else {
        return Cow::Borrowed(var_map);
    };
    if is_controller(&name, e.inventory.host_vars_of(&name).as_ref()) {
        return Cow::Borrowed(var_map);
    }
    let empty = Map::new();
    let published = e.hostvars.layers(&name);
    let layers = match &published {
        Some([a, b, c, d]) => [&**a, &**b, &**c, &**d],
        None => [&empty; 4],
    };
    let mut theirs = super::var_map_with(
        e,
        HostLayers {
            name: &name,
            layers,
        },
        ctx,
        t,
        loop_vars,
    );
    theirs.extend(loop_vars.clone());
    theirs.insert("inventory_hostname".to_owned(), json!(h.name));
    let mut map = var_map.clone();
    let by_name = Map::from_iter([(name, Value::Object(theirs))]);
    map.insert(KEY.to_owned(), Value::Object(by_name));
    Cow::Owned(map)
}

/// The variables of the host named `name` in `var_map`'s `ansible_delegated_vars`.
pub(super) fn of<'m>(
    var_map: &'m Map<String, Value>,
    name: &str,
) -> Option<&'m Map<String, Value>> {
    var_map.get(KEY)?.get(name)?.as_object()
}

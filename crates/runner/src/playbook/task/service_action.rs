//! `service` as ansible-core 2.19.14's action (`plugins/action/service.py`): `use` (default
//! `auto`: the `service_mgr` fact, of the delegated host with `delegate_to`, else one fact
//! gathering for it, on that host) names the module (`systemd`, `sysvinit`); a name that is no module (PID
//! 1's own, such as `sshd`) gives `service`. For `systemd` the arguments it does not take are
//! dropped with Ansible's warning (in the result, as 2.19 gives it); the chosen module's
//! `module_defaults` apply.

use serde_json::Value;

use super::{
    Delegation, Engine, HostRun, Outcome, apply_module_defaults, delegation, run_host_module,
    task_facts,
};
use clearfleet_base::python_json::str_of;
use clearfleet_modules::{HOST_MODULES, not_run};
use clearfleet_playbook::Task;
use clearfleet_template::Value as Ctx;
use serde_json::Map;

/// `UNUSED_PARAMS['systemd']`.
const NOT_FOR_SYSTEMD: &[&str] = &["pattern", "runlevel", "sleep", "arguments", "args"];

/// A fact an action reads to pick its module (`service_mgr`, `pkg_mgr`):
/// `ansible_facts.<fact>`, or `hostvars[delegate_to].ansible_facts.<fact>`.
pub(super) fn host_fact(
    delegated: &Delegation,
    vars: &Ctx,
    var_map: &Map<String, Value>,
    fact: &str,
) -> Option<String> {
    let name = match delegated {
        Delegation::Own => {
            return Some(str_of(var_map.get("ansible_facts")?.get(fact)?));
        }
        Delegation::Controller(name) => name.as_str(),
        Delegation::Host(plan) => plan.name.as_str(),
    };
    let fact = vars
        .get_attr("hostvars")
        .and_then(|hv| hv.get_item(&Ctx::from(name)))
        .and_then(|h| h.get_attr("ansible_facts"))
        .and_then(|f| f.get_attr(fact))
        .ok()?;
    fact.as_str().map(str::to_owned)
}

pub(super) async fn service(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    mut rendered: Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    let given = rendered.as_object_mut().and_then(|m| m.remove("use"));
    let mut module = given.map_or_else(|| "auto".to_owned(), |v| str_of(&v).to_lowercase());
    let delegated = match delegation(e, h, t, vars) {
        Ok(d) => d,
        Err(err) => return Outcome::fail(err),
    };
    if module == "auto"
        && let Some(m) = host_fact(&delegated, vars, var_map, "service_mgr")
    {
        module = m;
    }
    // Without the fact, one fact gathering on the host the module runs on (the one delegated
    // to, with `delegate_to`), as the action's `_execute_module('setup')` does.
    if module == "auto" {
        let facts = task_facts(e, h, t, (vars, var_map), &delegated).await.ok();
        if let Some(m) = facts.and_then(|f| f.get("service_mgr").map(str_of)) {
            module = m;
        }
    }
    let canon = match clearfleet_playbook::action::canonical_module(&module) {
        Some(m) if !module.is_empty() && module != "auto" => m,
        _ => "service",
    };
    if not_run::is_not_run(canon) {
        return Outcome::fail(not_run::refusal(canon));
    }
    if !HOST_MODULES.contains(&canon) {
        return Outcome::fail(format!(
            "clearfleet cannot run `{canon}` as the service manager's module (`use`)"
        ));
    }
    // 2.19 gives the action's warnings to the task's result.
    let mut warnings = Vec::new();
    if module == "systemd"
        && let Value::Object(args) = &mut rendered
    {
        for unused in NOT_FOR_SYSTEMD {
            if args.remove(*unused).is_some() {
                warnings.push(format!(
                    "Ignoring \"{unused}\" as it is not used in \"{module}\""
                ));
            }
        }
    }
    if let Err(err) = apply_module_defaults(e, t, canon, &mut rendered, vars) {
        return Outcome::fail(err);
    }
    let mut r = run_host_module(e, h, t, canon, rendered, vars, var_map).await;
    r.warnings.splice(0..0, warnings);
    Outcome::of(r)
}

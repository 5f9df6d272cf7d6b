//! `dnf` as ansible-core 2.19.14's action (`plugins/action/dnf.py`): `use` or `use_backend`
//! (not both; default `auto`) names the backend; `auto` and `yum` read the `pkg_mgr` fact (of
//! the delegated host with `delegate_to`), else one fact gathering on the host the module runs
//! on gives it (and the result carries it as `ansible_facts.pkg_mgr` unless delegated without
//! `delegate_facts`). `dnf`, `dnf4`, `yum` and `yum4` run the `dnf` module; `dnf5` is a module
//! clearfleet does not run; anything else (`apt` on Debian) fails with the action's words.

use serde_json::{Map, Value, json};

use super::host_fact;
use super::{Delegation, Engine, HostRun, Outcome, delegation, run_host_module, task_facts};
use clearfleet_base::python_json::str_of;
use clearfleet_modules::{ModuleResult, not_run};
use clearfleet_playbook::Task;
use clearfleet_template::Value as Ctx;

/// `VALID_BACKENDS`.
const VALID_BACKENDS: &[&str] = &["yum", "yum4", "dnf", "dnf4", "dnf5"];

pub(super) async fn dnf(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    mut rendered: Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    let (given_use, given_backend) = match rendered.as_object_mut() {
        Some(m) => (m.remove("use"), m.remove("use_backend")),
        None => (None, None),
    };
    if given_use.is_some() && given_backend.is_some() {
        return Outcome::fail("parameters are mutually exclusive: ('use', 'use_backend')");
    }
    let mut module = given_use
        .or(given_backend)
        .map_or_else(|| "auto".to_owned(), |v| str_of(&v));
    let delegated = match delegation(e, h, t, vars) {
        Ok(d) => d,
        Err(err) => return Outcome::fail(err),
    };
    if module == "auto" || module == "yum" {
        // The template of `ansible_facts.pkg_mgr` (an undefined one leaves the name as it is).
        if let Some(m) = host_fact(&delegated, vars, var_map, "pkg_mgr") {
            module = m;
        }
    }
    let mut facts = None;
    if !VALID_BACKENDS.contains(&module.as_str()) {
        module = match task_facts(e, h, t, (vars, var_map), &delegated).await {
            Ok(f) => f.get("pkg_mgr").map_or_else(|| "auto".to_owned(), str_of),
            Err((_, msg)) => {
                return Outcome::fail(format!(
                    "Failed to fetch ansible_pkg_mgr to determine the dnf action backend: {msg}"
                ));
            }
        };
        let own = matches!(delegated, Delegation::Own | Delegation::Local) || t.delegate_facts;
        if own && module != "auto" {
            facts = Some(json!({"pkg_mgr": module}));
        }
    }
    let with_facts = |mut r: ModuleResult| {
        if let Some(f) = &facts {
            r.data.insert("ansible_facts".to_owned(), f.clone());
        }
        r
    };
    if !VALID_BACKENDS.contains(&module.as_str()) {
        // The action's message is a tuple: a list in the result.
        let r = ModuleResult::fail("").with(
            "msg",
            json!([
                "Could not detect which major revision of dnf is in use, which is required to determine module backend.",
                "You should manually specify use_backend to tell the module whether to use the dnf4 or dnf5 backend})"
            ]),
        );
        let mut r = with_facts(r);
        r.msg = None;
        return Outcome::of(r);
    }
    if module == "dnf5" {
        return Outcome::of(with_facts(ModuleResult::fail(not_run::refusal("dnf5"))));
    }
    Outcome::of(with_facts(
        run_host_module(e, h, t, "dnf", rendered, vars, var_map).await,
    ))
}

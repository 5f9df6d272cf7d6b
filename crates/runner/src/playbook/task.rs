//! One task on one host: variables, `when`, `loop`, templated arguments, the module (or an
//! engine-level action such as `debug` or `set_fact`), `until`/`retries`, `changed_when`,
//! `failed_when`, `register`, `notify` and `ignore_errors`; then the result as an event.

mod arg_spec_action;
mod become_settings;
mod delegated_vars;
mod dnf_action;
mod service_action;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::host::HostRun;
use super::hostvars::Delivered;
use super::remote::{ControllerRemote, SshRemote, TaskRemote};
use super::transport::{self, Transport, at_port};
use super::{Engine, PlayCtx};
use crate::config::HostPlan;
use clearfleet_base::capture::{MAX_OUTPUT_VAR, MaxOutput};
use clearfleet_base::python_json::str_of;
use clearfleet_events::{EventKind, TaskResult, TaskStatus};
use clearfleet_modules::{ModuleCall, ModuleContext, ModuleResult, Remote, async_job, not_run};
use clearfleet_playbook::{Task, TaskBody};
use clearfleet_ssh::SshSettings;
use clearfleet_template::{TemplateError, Templates, Value as Ctx};

const NO_LOG: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

pub(crate) fn display_name(t: &Task) -> String {
    let own = match (&t.name, &t.body) {
        (Some(n), _) => n.clone(),
        (None, TaskBody::Module { module, .. }) => module.clone(),
        (None, TaskBody::IncludeRole { name, .. }) => format!("include_role : {name}"),
        (None, _) => "block".to_owned(),
    };
    // As Ansible prints a role's task: `web : install nginx`.
    match &t.role {
        Some(role) => format!("{} : {own}", role.name),
        None => own,
    }
}

/// The task's name with its templates rendered for a host (the raw name if they cannot be).
pub(crate) fn rendered_name(e: &Engine, t: &Task, vars: &Ctx) -> String {
    let name = display_name(t);
    if !Templates::is_template(&name) {
        return name;
    }
    // A name may show a secret (a value decrypted from the vault): masked like output.
    let shown = match e.templates.render(&name, vars, &t.location, "task name") {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => name,
    };
    e.config.redactor.redact_owned(shown)
}

/// The variables a task sees on a host, lowest precedence first: inventory, play vars, facts,
/// registered and set_fact values, task vars, extra vars.
pub(crate) fn vars_for(e: &Engine, h: &HostRun, ctx: &PlayCtx<'_>, t: &Task) -> Ctx {
    e.context(&var_map(e, h, ctx, t))
}

fn var_map(e: &Engine, h: &HostRun, ctx: &PlayCtx<'_>, t: &Task) -> Map<String, Value> {
    var_map_with(e, HostLayers::of(h), ctx, t, &Map::new())
}

/// The layers of a task's variables that belong to the host: its inventory variables, facts,
/// `include_vars` results and registered or `set_fact` values, lowest first.
pub(crate) struct HostLayers<'a> {
    pub(crate) name: &'a str,
    pub(crate) layers: [&'a Map<String, Value>; 4],
}

impl<'a> HostLayers<'a> {
    fn of(h: &'a HostRun) -> Self {
        HostLayers {
            name: &h.name,
            layers: [&h.inventory_vars, &h.facts, &h.included_vars, &h.vars],
        }
    }
}

/// [`var_map`] with the loop variables of one item (`item`, `index_var`), which variables
/// written by the user may refer to (`vars: {path: "/x/{{ item }}"}`), for the host whose
/// layers `h` holds (the task's own, or the one it is delegated to).
fn var_map_with(
    e: &Engine,
    h: HostLayers<'_>,
    ctx: &PlayCtx<'_>,
    t: &Task,
    loop_vars: &Map<String, Value>,
) -> Map<String, Value> {
    let (mut vars, lazy) = layered_vars(e, h, ctx, t, loop_vars);
    let roots = super::lazy_vars::Resolver::of(e, &t.location).resolve(&mut vars, lazy);
    if !roots.is_empty() {
        vars.insert(
            super::templating::UNDEFINED_ROOTS.to_owned(),
            Value::Object(roots),
        );
    }
    vars
}

/// The task's variables as written, layered as [`var_map_with`] layers them, before any is
/// rendered; and the names of those that are templates to render.
fn layered_vars(
    e: &Engine,
    h: HostLayers<'_>,
    ctx: &PlayCtx<'_>,
    t: &Task,
    loop_vars: &Map<String, Value>,
) -> (Map<String, Value>, Vec<String>) {
    let [inventory_vars, facts, included_vars, host_vars] = h.layers;
    // Variables written by the user (inventory, play vars, vars_files, task vars) may refer to
    // any other variable, whatever its layer: Ansible templates them when they are used. Here
    // they are layered raw, then rendered in the full context until nothing changes (chains
    // of references resolve in a few passes). Registered results, facts and extra vars are
    // data, never templated again (a registered stdout containing `{{` stays text).
    // Role defaults are the lowest layer: the play's public roles', then the task's own role's.
    let mut vars = Map::new();
    vars.insert(
        "ansible_search_path".to_owned(),
        json!(super::search_path::search_path(&e.playbook_dir, t)),
    );
    // The connection's magic variable, as `PlayContext.update_vars` adds it to a task's
    // variables when nothing set it: the task's `connection` keyword (a template is rendered
    // with the others), else SSH. A variable of a higher layer (the inventory's) replaces it,
    // as `ansible_connection` beats the keyword (see `transport::transport`).
    let mut lazy: Vec<String> = Vec::new();
    let connection = t.connection.as_deref().unwrap_or("ssh");
    vars.insert("ansible_connection".to_owned(), json!(connection));
    if super::lazy_vars::has_template(&json!(connection)) {
        lazy.push("ansible_connection".to_owned());
    }
    let defaults = ctx
        .play
        .role_defaults
        .iter()
        .chain(t.role.iter().flat_map(|r| r.defaults.iter()))
        .chain(inventory_vars.iter());
    for (k, v) in defaults {
        vars.insert(k.clone(), v.clone());
        lazy.retain(|x| x != k);
        if super::lazy_vars::has_template(v) {
            lazy.push(k.clone());
        }
    }
    let layer = |m: &Map<String, Value>,
                 vars: &mut Map<String, Value>,
                 lazy: &mut Vec<String>,
                 templated: bool| {
        for (k, v) in m {
            vars.insert(k.clone(), v.clone());
            lazy.retain(|x| x != k);
            if templated && super::lazy_vars::has_template(v) {
                lazy.push(k.clone());
            }
        }
    };
    let map = |m: &indexmap::IndexMap<String, Value>| -> Map<String, Value> {
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    // Ansible's order (ansible-core 2.19.14 lib/ansible/vars/manager.py `get_vars`): facts
    // above the inventory and below play vars; task vars below `include_vars`, `set_fact` and
    // registered values.
    // As in Ansible, `ansible_facts` is `{}` until facts are gathered (`when: ansible_facts ==
    // {}` guards a `setup`); gathered facts replace it.
    vars.insert("ansible_facts".to_owned(), json!({}));
    lazy.retain(|k| k != "ansible_facts");
    layer(facts, &mut vars, &mut lazy, false);
    layer(&ctx.vars, &mut vars, &mut lazy, true);
    // Role vars: the play's public roles', then the task's own role's (its dependency chain
    // and the role entry's `vars:`), above play vars and `vars_files`.
    layer(&map(&ctx.play.role_exports), &mut vars, &mut lazy, true);
    if let Some(role) = &t.role {
        layer(&map(&role.vars), &mut vars, &mut lazy, true);
    }
    layer(&map(&t.vars), &mut vars, &mut lazy, true);
    // `include_vars` values are templates like any variables written by the user.
    layer(included_vars, &mut vars, &mut lazy, true);
    layer(host_vars, &mut vars, &mut lazy, false);
    // Role parameters (`- {role: web, port: 80}`) are above everything but extra vars.
    if let Some(role) = &t.role {
        layer(&map(&role.params), &mut vars, &mut lazy, true);
    }
    // Include parameters: the roles that include this one.
    layer(
        &super::role_names::parent_roles(e, t),
        &mut vars,
        &mut lazy,
        false,
    );
    layer(loop_vars, &mut vars, &mut lazy, false);
    // The caller's per-host values (clearfleet upgrade's detected state and plan): data, never
    // templates.
    if let Some(hv) = e.options.host_vars.get(h.name) {
        layer(hv, &mut vars, &mut lazy, false);
    }
    layer(&e.options.extra_vars, &mut vars, &mut lazy, false);
    // Magic variables come last (`VariableManager.get_vars`).
    layer(&ctx.roles.magic(e, t), &mut vars, &mut lazy, false);
    (vars, lazy)
}

/// Reports an `include_tasks` that loaded on a host (`ok`, as Ansible counts it).
pub(crate) fn included(e: &Engine, h: &mut HostRun, t: &Task, path: &str) {
    h.recap.ok += 1;
    emit_engine_result(e, h, t, TaskStatus::Ok, format!("included: {path}"));
}

/// Counts an include whose condition is false on `h` as skipped.
pub(crate) fn skipped(e: &Engine, h: &mut HostRun, t: &Task) {
    h.recap.skipped += 1;
    emit_engine_result(
        e,
        h,
        t,
        TaskStatus::Skipped,
        "Conditional result was False".to_owned(),
    );
}

/// A `meta` task's condition skipped `h`: reported, not counted (as Ansible's
/// `_execute_meta` sends `v2_runner_on_skipped` without touching the stats).
pub(crate) fn meta_skipped(e: &Engine, h: &HostRun, t: &Task, reason: String) {
    emit_engine_result(e, h, t, TaskStatus::Skipped, reason);
}

/// Marks a host failed by something outside a module (an include that does not load).
pub(crate) fn fail_host(e: &Engine, h: &mut HostRun, t: &Task, msg: &str) {
    h.failed = true;
    let msg = e.config.redactor.redact(msg);
    h.count_failure(display_name(t), t.location.to_string(), msg.clone());
    emit_engine_result(e, h, t, TaskStatus::Failed, msg);
}

/// Emits the result of a step the engine took itself (no module, no output, no time).
fn emit_engine_result(e: &Engine, h: &HostRun, t: &Task, status: TaskStatus, msg: String) {
    e.emit(EventKind::TaskResult(Box::new(TaskResult {
        host: h.name.clone(),
        delegated_to: None,
        task: display_name(t),
        location: t.location.to_string(),
        status,
        item: None,
        msg: Some(msg),
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        diff: None,
        duration: Duration::ZERO,
    })));
}

/// What one fact gathering gives: the facts (names without `ansible_`) and setup's warnings.
pub(crate) type Gathered = (Map<String, Value>, Vec<String>);

/// How a fact gathering reads: setup's `fact_path` and `gather_timeout`, and the become it
/// runs with (the task's, or for the play's gathering the play's: ansible-core's implicit
/// `gather_facts` task belongs to a block of the play, lib/ansible/executor/play_iterator.py).
#[derive(Default)]
pub(crate) struct GatherHow {
    pub(crate) options: super::facts::Options,
    pub(crate) become_: Option<clearfleet_ssh::Become>,
}

/// Every fact of `h`, read by one command on its connection; `Err((unreachable, message))`.
async fn facts_of(
    e: &Engine,
    h: &HostRun,
    ssh: &SshSettings,
    login: Option<&str>,
    port: Option<u16>,
    how: &GatherHow,
) -> Result<Gathered, (bool, String)> {
    match h.connection_as(&e.connections, ssh, login, port).await {
        Err(err) => Err((true, err.to_string())),
        Ok(conn) => {
            let remote = SshRemote {
                host: &h.name,
                connection: &conn,
                become_: how.become_.clone(),
                max_output: h.plan.max_output,
            };
            facts_through(&remote, &h.inventory_vars, &how.options).await
        }
    }
}

/// Every fact read by one command through `remote`, from a host whose variables are `vars`.
async fn facts_through(
    remote: &impl Remote,
    vars: &Map<String, Value>,
    options: &super::facts::Options,
) -> Result<Gathered, (bool, String)> {
    // A literal `ansible_python_interpreter` is the Python `ansible_python` describes.
    let interpreter = vars
        .get("ansible_python_interpreter")
        .and_then(Value::as_str)
        .filter(|p| !p.contains("{{") && !p.starts_with("auto"));
    let script = super::facts::script(interpreter, options);
    match remote
        .run(
            &format!("sh -c {}", clearfleet_base::shell::quote(&script)),
            None,
            None,
        )
        .await
    {
        Ok(out) => match out.truncation.message() {
            None => Ok(super::facts::parse_warned(&out.stdout_text())),
            Some(why) => Err((false, format!("the facts cannot be read whole: {why}"))),
        },
        Err(err) => Err((
            matches!(err, clearfleet_modules::RemoteError::Unreachable(_)),
            err.to_string(),
        )),
    }
}

/// The facts of the host a task's module runs on (the `service` and package actions' own
/// gathering): the task's own host, logged in as the task says, or the one it is delegated to.
async fn task_facts(
    e: &Engine,
    h: &HostRun,
    t: &Task,
    vars: (&Ctx, &Map<String, Value>),
    delegated: &Delegation,
) -> Result<Map<String, Value>, (bool, String)> {
    task_facts_with(e, h, t, vars, delegated, &GatherHow::default())
        .await
        .map(|(facts, _)| facts)
}

/// [`task_facts`] read as `how` says (`setup`'s arguments and become).
async fn task_facts_with(
    e: &Engine,
    h: &HostRun,
    t: &Task,
    (vars, var_map): (&Ctx, &Map<String, Value>),
    delegated: &Delegation,
    how: &GatherHow,
) -> Result<Gathered, (bool, String)> {
    match delegated {
        Delegation::Own => {
            let login = login(e, t, vars, var_map).map_err(|err| (false, err.to_string()))?;
            let port = task_port(e, t, vars, delegated).map_err(|err| (false, err))?;
            facts_of(e, h, &e.config.ssh, login.as_deref(), port, how).await
        }
        Delegation::Host(plan) => {
            let login = delegated_login(e, plan, t, vars).map_err(|e| (false, e.to_string()))?;
            let port = task_port(e, t, vars, delegated).map_err(|err| (false, err))?;
            let conn = e
                .connections
                .get_as(
                    &at_port(&plan.target, port),
                    login.as_deref(),
                    &e.config.ssh,
                )
                .await
                .map_err(|err| (true, err.to_string()))?;
            let remote = SshRemote {
                host: &plan.name,
                connection: &conn,
                become_: how.become_.clone(),
                max_output: plan.max_output,
            };
            let host_vars = e.inventory.host_vars_of(&plan.name).unwrap_or_default();
            facts_through(&remote, &host_vars, &how.options).await
        }
        Delegation::Controller(name) => {
            let remote = ControllerRemote::new(&h.name, how.become_.clone(), h.plan.max_output);
            facts_through(&remote, &e.inventory.host_vars(name), &how.options).await
        }
        Delegation::Local => {
            let remote = ControllerRemote::new(&h.name, how.become_.clone(), h.plan.max_output);
            facts_through(&remote, &h.inventory_vars, &how.options).await
        }
    }
}

/// How a play's fact gathering reaches a host: its transport (`local`: the controller), and
/// over SSH the login and port the variables or the play's keywords give (`None`: the host's
/// own).
pub(crate) struct Reach {
    pub(crate) transport: Transport,
    pub(crate) login: Option<String>,
    pub(crate) port: Option<u16>,
}

/// How the play's fact gathering reads on `h`: with the implicit task's become
/// (`gather_task`, the play's `become*` keywords) and the play's `fact_path` (rendered) and
/// `gather_timeout`, with the host's variables for the play.
pub(crate) fn gather_how(
    e: &Engine,
    h: &HostRun,
    ctx: &PlayCtx<'_>,
    gather_task: &Task,
) -> Result<GatherHow, String> {
    let var_map = var_map(e, h, ctx, gather_task);
    let vars = e.context(&var_map);
    let become_ = become_settings::become_of(e, gather_task, &vars, &var_map)
        .map_err(|err| err.to_string())?;
    let fact_path = ctx
        .play
        .fact_path
        .as_ref()
        .map(|p| {
            e.templates
                .render_string(p, &vars, &ctx.play.location, "fact_path")
        })
        .transpose()
        .map_err(|err| err.to_string())?;
    Ok(GatherHow {
        options: super::facts::Options {
            fact_path,
            gather_timeout: ctx.play.gather_timeout,
        },
        become_,
    })
}

/// Gathers facts on one host (one round trip), reached as `reach` says (the play's
/// `connection`, `remote_user` and `port`, rendered; `Err`: they could not be), with the
/// play's become, `fact_path` and `gather_timeout` (`how`; `Err`: they could not be decided);
/// keeps the play's `gather_subset` (empty: all). Under the play's `ignore_unreachable` an
/// unreachable host counts `ok` and `ignored` and stays in the play.
pub(crate) async fn gather(
    e: &Engine,
    h: &mut HostRun,
    ssh: &SshSettings,
    reach: Result<Reach, String>,
    how: Result<GatherHow, String>,
    play: &clearfleet_playbook::Play,
) {
    let subset = &play.gather_subset;
    let started = Instant::now();
    let result = match (reach, how) {
        (
            Ok(Reach {
                transport: Transport::Local,
                ..
            }),
            Ok(how),
        ) => {
            let remote = ControllerRemote::new(&h.name, how.become_.clone(), h.plan.max_output);
            facts_through(&remote, &h.inventory_vars, &how.options).await
        }
        (Ok(Reach { login, port, .. }), Ok(how)) => {
            facts_of(e, h, ssh, login.as_deref(), port, &how).await
        }
        (Err(msg), _) | (_, Err(msg)) => Err((false, msg)),
    };
    let (status, msg) = match result {
        Ok((facts, warnings)) => {
            for message in warnings {
                e.emit(EventKind::Warning { message });
            }
            h.facts = Arc::new(super::facts::vars(
                &h.facts,
                super::facts::select(&facts, &json!({ "gather_subset": subset })),
            ));
            h.recap.ok += 1;
            (TaskStatus::Ok, None)
        }
        Err((true, msg)) if play.ignore_unreachable => {
            h.recap.ok += 1;
            h.recap.ignored += 1;
            (TaskStatus::UnreachableIgnored, Some(msg))
        }
        Err((unreachable, msg)) => {
            if unreachable {
                h.unreachable = true;
                h.recap.unreachable += 1;
            } else {
                h.failed = true;
                h.recap.failed += 1;
            }
            h.failures
                .push(("Gathering Facts".to_owned(), String::new(), msg.clone()));
            let status = if unreachable {
                TaskStatus::Unreachable
            } else {
                TaskStatus::Failed
            };
            (status, Some(msg))
        }
    };
    e.emit(EventKind::TaskResult(Box::new(TaskResult {
        host: h.name.clone(),
        delegated_to: None,
        task: "Gathering Facts".to_owned(),
        location: String::new(),
        status,
        item: None,
        msg,
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        diff: None,
        duration: started.elapsed(),
    })));
}

/// Who a task logs in to its host as, when a variable or keyword says: Ansible's connection
/// variables `ansible_user` / `ansible_ssh_user` (which beat the keyword, as in
/// `PlayContext.set_task_and_variable_override`), else the `remote_user` keyword of the task,
/// its blocks or its play, rendered. `None`: the host's own login (inventory, `-u`,
/// `ansible.cfg`, ssh_config, in that order).
pub(crate) fn login(
    e: &Engine,
    t: &Task,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Result<Option<String>, TemplateError> {
    for name in ["ansible_user", "ansible_ssh_user"] {
        if let Some(Value::String(user)) = var_map.get(name) {
            return e
                .templates
                .render_string(user, vars, &t.location, name)
                .map(Some);
        }
    }
    match &t.remote_user {
        Some(user) => e
            .templates
            .render_string(user, vars, &t.location, "remote_user")
            .map(Some),
        None => Ok(None),
    }
}

/// One run of the task's action (one loop item), before `changed_when`/`failed_when`.
struct Outcome {
    result: ModuleResult,
    registered: Value,
    /// What the output shows instead of the result's `msg` (`debug`'s `var: value`).
    shown: Option<String>,
    /// The task failed before its action ran: its arguments did not render, or clearfleet
    /// does not run the action. Ansible raises there, out of `TaskExecutor._execute`, so
    /// `changed_when`, `failed_when` and `until` never see the result (a `failed_when` that
    /// holds false must not turn a task that never ran into `ok`).
    raised: bool,
}

impl Outcome {
    fn of(result: ModuleResult) -> Self {
        let registered = result.to_registered();
        Outcome {
            result,
            registered,
            shown: None,
            raised: false,
        }
    }

    fn fail(msg: impl Into<String>) -> Self {
        Outcome::of(ModuleResult::fail(msg))
    }

    /// A failure before the action ran (see [`Outcome::raised`]).
    fn raise(msg: impl Into<String>) -> Self {
        Outcome {
            raised: true,
            ..Outcome::fail(msg)
        }
    }
}

/// Runs the task's action once: its arguments rendered, then an engine-level action (`debug`,
/// `fail`, `assert`, `set_fact`, `pause`) or a module on the host.
#[allow(clippy::too_many_arguments)]
async fn action(
    e: &Engine,
    h: &mut HostRun,
    ctx: &PlayCtx<'_>,
    t: &Task,
    module: &str,
    args: &Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    if not_run::is_not_run(module) {
        return Outcome::raise(not_run::refusal(module));
    }
    if let TaskBody::Module {
        plugin: Some(path), ..
    } = &t.body
    {
        return Outcome::raise(not_run::plugin_refusal(module, &path.display().to_string()));
    }
    let (args, splats) = match super::task_args::resolve(e, t, module, args, vars) {
        Ok(a) => a,
        Err(msg) => return Outcome::raise(msg),
    };
    let mut o = run_action(e, h, ctx, t, module, args.as_ref(), vars, var_map).await;
    if splats > 0 {
        let warnings = std::iter::repeat_n(super::task_args::SPLAT_WARNING.to_owned(), splats);
        o.result.warnings.splice(0..0, warnings);
        o.registered = o.result.to_registered();
    }
    o
}

/// A task whose arguments do not render fails as 2.19.14's `Task._post_validate_args` words
/// it (`Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while
/// resolving value for 'msg': 'x' is undefined`): the argument named is the first, in sorted
/// order, that fails (`ChainTemplar.items`). The output shows the same words after the
/// template's place (`file:line:col`), which Ansible prints as the error's origin.
fn args_failure(
    e: &Engine,
    t: &Task,
    module: &str,
    args: &Value,
    vars: &Ctx,
    what: &str,
    err: &TemplateError,
) -> Outcome {
    let fqcn = match module.contains('.') {
        true => module.to_owned(),
        false => format!("ansible.builtin.{module}"),
    };
    let mut keys: Vec<&String> = args
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    keys.sort();
    let failed_key = keys.into_iter().find_map(|k| {
        let one = args.get(k.as_str())?;
        let at = t
            .templates
            .iter()
            .find(|s| s.key_path.ends_with(&format!(".{k}")))
            .map_or(&t.location, |s| &s.location);
        e.templates
            .render_value(one, vars, at, what)
            .err()
            .map(|err| (k, err))
    });
    let (cause, err) = match &failed_key {
        Some((k, err)) => (
            format!(
                "Error while resolving value for '{k}': {}",
                err.bare_message()
            ),
            err,
        ),
        None => (err.bare_message(), err),
    };
    let msg = format!("Task failed: Finalization of task args for '{fqcn}' failed: {cause}");
    let shown = match err.location() {
        Some(at) => format!("{at}: {msg}"),
        None => msg.clone(),
    };
    let mut o = Outcome::raise(msg);
    o.shown = Some(shown);
    o
}

/// [`action`] once its arguments are known.
#[allow(clippy::too_many_arguments)]
async fn run_action(
    e: &Engine,
    h: &mut HostRun,
    ctx: &PlayCtx<'_>,
    t: &Task,
    module: &str,
    args: &Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    // `assert`'s `that` is conditions, never rendered as an argument (its action's
    // `finalize_task_arg` in ansible-core 2.19.14): `assert` reads it from `args`.
    let unrendered;
    let to_render = match (module, args) {
        ("assert", Value::Object(m)) if m.contains_key("that") => {
            let mut m = m.clone();
            m.remove("that");
            unrendered = Value::Object(m);
            &unrendered
        }
        _ => args,
    };
    let what = format!("task `{}`", display_name(t));
    let rendered = match e
        .templates
        .render_value(to_render, vars, &t.location, &what)
    {
        Ok(v) => v,
        Err(err) => return args_failure(e, t, module, to_render, vars, &what, &err),
    };
    if t.async_ > 0
        && let Some(why) = async_job::refusal(module)
    {
        return Outcome::fail(why);
    }
    match module {
        "debug" => debug(e, t, &rendered, vars),
        "fail" => Outcome::fail(
            rendered
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("Failed as requested from task"),
        ),
        "assert" => assert(e, h, ctx, t, args, &rendered, vars),
        "set_fact" => set_fact(e, t, h, rendered, vars),
        "include_vars" => include_vars(e, h, t, &rendered, vars, var_map),
        "group_by" => group_by(e, h, &rendered),
        "add_host" => add_host(e, rendered),
        "setup" | "gather_facts" => setup(e, h, t, &rendered, vars, var_map).await,
        "pause" => pause(&rendered).await,
        "package" => package(e, h, t, rendered, vars, var_map).await,
        "service" => service_action::service(e, h, t, rendered, vars, var_map).await,
        "dnf" => dnf_action::dnf(e, h, t, rendered, vars, var_map).await,
        "validate_argument_spec" => {
            Outcome::of(arg_spec_action::validate_argument_spec(&rendered, var_map))
        }
        _ => {
            let r = run_host_module(e, h, t, module, rendered, vars, var_map).await;
            // A module's `ansible_facts` (getent's) become the host's facts, as Ansible's
            // strategy gives them to the host.
            if let Some(Value::Object(returned)) = r.data.get("ansible_facts")
                && !r.failed
            {
                match facts_receiver(e, h, t, vars) {
                    Ok(Some(owner)) => {
                        e.hostvars
                            .deliver(&owner, Delivered::Returned(returned.clone()));
                    }
                    _ => h.facts = Arc::new(super::facts::returned_by_module(&h.facts, returned)),
                }
            }
            Outcome::of(r)
        }
    }
}

/// A fact of the host a task's module runs on, as an action that picks a module reads it
/// (`service`, `package`): `ansible_facts.<name>`, or with `delegate_to`
/// `hostvars[delegate_to].ansible_facts.<name>`. `None` where it was not gathered (or is
/// empty).
fn host_fact(
    delegated: &Delegation,
    vars: &Ctx,
    var_map: &Map<String, Value>,
    name: &str,
) -> Option<String> {
    let host = match delegated {
        Delegation::Own | Delegation::Local => {
            let fact = str_of(var_map.get("ansible_facts")?.get(name)?);
            return (!fact.is_empty()).then_some(fact);
        }
        Delegation::Controller(host) => host.as_str(),
        Delegation::Host(plan) => plan.name.as_str(),
    };
    let fact = vars
        .get_attr("hostvars")
        .and_then(|hv| hv.get_item(&Ctx::from(host)))
        .and_then(|h| h.get_attr("ansible_facts"))
        .and_then(|f| f.get_attr(name))
        .ok()?;
    fact.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `package` as ansible-core 2.19.14's action (`plugins/action/package.py`): `use` (default
/// `auto`: `ansible_package_use`, else the `pkg_mgr` fact, else one fact gathering for it)
/// names the module, which runs with the other arguments.
async fn package(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    mut rendered: Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    let given = rendered.as_object_mut().and_then(|m| m.remove("use"));
    let mut module = match given {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => "auto".to_owned(),
    };
    if module == "auto" {
        let delegated = match delegation(e, h, t, vars) {
            Ok(d) => d,
            Err(err) => return Outcome::fail(err),
        };
        // With `delegate_to`, the delegated host's `ansible_package_use` and facts.
        let configured = match &delegated {
            Delegation::Own | Delegation::Local => var_map.get("ansible_package_use").map(str_of),
            Delegation::Controller(name) => e
                .inventory
                .host_vars_of(name)
                .and_then(|v| v.get("ansible_package_use").map(str_of)),
            Delegation::Host(plan) => e
                .inventory
                .host_vars_of(&plan.name)
                .and_then(|v| v.get("ansible_package_use").map(str_of)),
        }
        .filter(|s| !s.is_empty());
        let fact = host_fact(&delegated, vars, var_map, "pkg_mgr");
        module = match configured.or(fact) {
            Some(m) => m,
            None => match task_facts(e, h, t, (vars, var_map), &delegated).await {
                Ok(facts) => match facts.get("pkg_mgr").and_then(Value::as_str) {
                    Some(m) => m.to_owned(),
                    None => {
                        return Outcome::fail(
                            "Could not detect a package manager. Try using the \"use\" option.",
                        );
                    }
                },
                Err((_, msg)) => {
                    return Outcome::fail(format!(
                        "Failed to fetch ansible_pkg_mgr to determine the package action \
                             backend: {msg}"
                    ));
                }
            },
        };
    }
    let Some(canon) = clearfleet_playbook::action::canonical_module(&module) else {
        return Outcome::fail(format!(
            "Could not find a matching action for the \"{module}\" package manager."
        ));
    };
    if not_run::is_not_run(canon) {
        return Outcome::fail(not_run::refusal(canon));
    }
    if let Err(err) = apply_module_defaults(e, t, canon, &mut rendered, vars) {
        return Outcome::fail(err);
    }
    Outcome::of(run_host_module(e, h, t, canon, rendered, vars, var_map).await)
}

/// The chosen module's own `module_defaults` under the arguments, as an action that picks a
/// module applies them (`_apply_action_arg_defaults`): `package`, `service`.
fn apply_module_defaults(
    e: &Engine,
    t: &Task,
    canon: &str,
    rendered: &mut Value,
    vars: &Ctx,
) -> Result<(), String> {
    if let (Some(defaults), Value::Object(args)) = (t.module_defaults.get(canon), rendered) {
        let defaults = Value::Object(defaults.clone());
        match e
            .templates
            .render_value(&defaults, vars, &t.location, "module_defaults")
        {
            Ok(Value::Object(d)) => {
                for (k, v) in d {
                    args.entry(k).or_insert(v);
                }
            }
            Ok(_) => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(())
}

/// `debug` as ansible-core 2.19's action: `var` evaluated as an expression and registered
/// under its own text (an undefined variable gives Ansible's `<< error 1 - 'x' is undefined >>`
/// and a warning, not a failure), else `msg` as it is (a list stays a list, default `Hello
/// world!`); `verbosity` above the run's (clearfleet has none: 0) skips it.
fn debug(e: &Engine, t: &Task, rendered: &Value, vars: &Ctx) -> Outcome {
    let verbosity = rendered.get("verbosity").map_or(Some(0), |v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    let Some(verbosity) = verbosity else {
        return Outcome::fail("debug: `verbosity` must be an integer");
    };
    if verbosity > 0 {
        let skipped = ModuleResult {
            skipped_check_mode: true,
            ..ModuleResult::ok()
        };
        return Outcome::of(skipped.with("skipped_reason", "Verbosity threshold not met."));
    }
    let mut r = ModuleResult::ok();
    let shown = if let Some(var) = rendered.get("var").and_then(Value::as_str) {
        let expr = format!("{{{{ {var} }}}}");
        let value = match e.templates.render(&expr, vars, &t.location, "debug var") {
            Ok(v) => v,
            Err(err) => match err.undefined_name() {
                Some(name) => {
                    let error = format!("error 1 - '{name}' is undefined");
                    r.warnings
                        .push(format!("Encountered 1 template error.\n{error}"));
                    json!(format!("<< {error} >>"))
                }
                None => return Outcome::fail(err.to_string()),
            },
        };
        let shown = format!("{var}: {value}");
        r.data.insert(var.to_owned(), value);
        shown
    } else {
        match rendered.get("msg") {
            Some(Value::String(s)) => {
                r.msg = Some(s.clone());
                s.clone()
            }
            Some(other) => {
                r.data.insert("msg".into(), other.clone());
                other.to_string()
            }
            None => {
                r.msg = Some("Hello world!".to_owned());
                "Hello world!".to_owned()
            }
        }
    };
    let mut o = Outcome::of(r);
    o.shown = Some(shown);
    o
}

/// `assert` as ansible-core 2.19.14's action (`plugins/action/assert.py`): each `that` (as
/// written, not rendered) must hold. A `that` that is one template rendering to a list is that
/// list (its `finalize_task_arg`); a boolean is its own result; an empty one is an error, as
/// `_strip_conditional_handle_empty` says; a condition wrapped in `{{ }}` that renders to a
/// non-string is used as it is, with 2.19's deprecation in the result.
///
/// 2.19 resolves such a `that` with `resolve_to_container`, which leaves the list's items
/// unrendered (they are lazy): `that: "{{ thats }}"` over `thats: ["{{ 1 == 1 }}"]` evaluates
/// the condition `{{ 1 == 1 }}` (and deprecates its braces). clearfleet renders variables
/// before a task runs, so for a `that` naming one variable the list is taken as written
/// ([`layered_vars`]); any other template's list comes rendered.
fn assert(
    e: &Engine,
    h: &HostRun,
    ctx: &PlayCtx<'_>,
    t: &Task,
    args: &Value,
    rendered: &Value,
    vars: &Ctx,
) -> Outcome {
    let Some(given) = args.get("that") else {
        return Outcome::fail("missing required arguments: that");
    };
    let that: Vec<Value> = match given {
        Value::String(s) if clearfleet_playbook::template::is_possibly_all_template(s) => {
            let written = named_variable(s).and_then(|name| {
                layered_vars(e, HostLayers::of(h), ctx, t, &Map::new())
                    .0
                    .remove(name)
            });
            match (
                written,
                e.templates.render_value(given, vars, &t.location, "assert"),
            ) {
                (Some(Value::Array(a)), Ok(Value::Array(_))) => a,
                (_, Ok(Value::Array(a))) => a,
                _ => vec![given.clone()],
            }
        }
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    let mut deprecations = Vec::new();
    for cond in &that {
        let held = match cond {
            Value::Bool(b) => Ok(*b),
            Value::Null => Err("Empty conditional expressions are not allowed.".to_owned()),
            Value::String(s) if s.trim().is_empty() => {
                Err("Empty conditional expressions are not allowed.".to_owned())
            }
            // A condition an args splat or a template gave must be one an author wrote.
            Value::String(s) if !clearfleet_base::trust::is_trusted_condition(s) => {
                Err(clearfleet_base::trust::UNTRUSTED.to_owned())
            }
            Value::String(s) => {
                if clearfleet_playbook::template::is_possibly_all_template(s)
                    && e.templates
                        .render_value(cond, vars, &t.location, "assert")
                        .is_ok_and(|v| !v.is_string())
                {
                    deprecations.push(json!({
                        "msg": "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.",
                        "version": "2.23",
                    }));
                }
                e.templates
                    .condition(s, vars, &t.location, "assert")
                    .map_err(|err| match err.undefined_name() {
                        Some(_) => condition_error(&err),
                        None => err.bare_message(),
                    })
            }
            _ => Err("Conditional expressions must be strings.".to_owned()),
        };
        let cond = match cond {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match held {
            Ok(true) => {}
            Ok(false) => {
                let msg = rendered
                    .get("fail_msg")
                    .or_else(|| rendered.get("msg"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| "Assertion failed".to_owned());
                // The output names the assertion that failed, as Ansible's result shows it
                // (`"assertion": "x == 2"`); the registered `msg` stays as written.
                let shown = format!("{msg} (assertion: {cond})");
                let mut r = ModuleResult::fail(msg);
                r.data.insert("assertion".into(), json!(cond));
                r.data.insert("evaluated_to".into(), json!(false));
                let mut o = Outcome::of(with_deprecations(r, deprecations));
                o.shown = Some(shown);
                return o;
            }
            // 2.19 reports what the action raised as `Task failed: <message>`.
            Err(err) => return Outcome::fail(format!("Task failed: {err}")),
        }
    }
    let msg = rendered
        .get("success_msg")
        .and_then(Value::as_str)
        .unwrap_or("All assertions passed");
    let mut out = Outcome::of(with_deprecations(
        ModuleResult::ok().with_msg(msg),
        deprecations,
    ));
    // `quiet`: the message is registered, not shown (assert.py sets `_ansible_verbose_always`
    // only without it).
    if rendered
        .get("quiet")
        .and_then(clearfleet_base::boolean::ansible_bool)
        == Some(true)
    {
        out.shown = Some(String::new());
    }
    out
}

/// The variable a template names and nothing else (`thats` of `{{ thats }}`).
fn named_variable(template: &str) -> Option<&str> {
    let inner = template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    let ident = inner
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && inner.chars().all(|c| c.is_alphanumeric() || c == '_');
    ident.then_some(inner)
}

/// 2.19's `deprecations` of a result, when there are any.
fn with_deprecations(r: ModuleResult, deprecations: Vec<Value>) -> ModuleResult {
    match deprecations.is_empty() {
        true => r,
        false => r.with("deprecations", deprecations),
    }
}

/// `include_vars`: the files' variables given to the host (below `set_fact`), returned as
/// Ansible returns them (`ansible_facts` rendered, as Ansible renders them when the result is
/// read; `ansible_included_var_files`); a file that cannot be read fails the task with
/// Ansible's `message` and sets nothing.
fn include_vars(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    rendered: &Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    let inc = match super::include_vars::include_vars(e, t, rendered, var_map) {
        Ok(inc) => inc,
        Err(err) => return Outcome::fail(err.to_string()),
    };
    let facts = Value::Object(inc.facts);
    let shown = e
        .templates
        .render_value(&facts, vars, &t.location, "include_vars")
        .unwrap_or_else(|_| facts.clone());
    let mut r = match &inc.error {
        None => {
            if let Value::Object(m) = facts {
                // With `delegate_facts`, the host delegated to gets them (Ansible's strategy
                // sets them on `get_delegated_hosts`).
                match facts_receiver(e, h, t, vars) {
                    Err(err) => return Outcome::fail(err),
                    Ok(Some(owner)) => e.hostvars.deliver(&owner, Delivered::Included(m)),
                    Ok(None) => Arc::make_mut(&mut h.included_vars).extend(m),
                }
            }
            ModuleResult::ok()
        }
        Some(err) => {
            let mut r = ModuleResult::fail(err.to_string());
            r.data.insert("message".into(), json!(err.to_string()));
            r
        }
    };
    r.data
        .insert("ansible_included_var_files".into(), json!(inc.files));
    r.data.insert("ansible_facts".into(), shown);
    Outcome::of(r)
}

/// `set_fact`: the host's variables (all but `cacheable`), for the rest of the run. Names are
/// templates too (`"path_{{ idx }}": ...`), and must be identifiers, as in Ansible.
fn set_fact(e: &Engine, t: &Task, h: &mut HostRun, rendered: Value, vars: &Ctx) -> Outcome {
    let mut facts = Map::new();
    if let Value::Object(m) = rendered {
        for (k, v) in m {
            let name = if Templates::is_template(&k) {
                match e
                    .templates
                    .render(&k, vars, &t.location, "set_fact's variable name")
                {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(err) => return Outcome::fail(err.to_string()),
                }
            } else {
                k
            };
            if !clearfleet_playbook::cx::is_identifier(&name) {
                return Outcome::fail(format!(
                    "Invalid variable name '{name}'. Variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores."
                ));
            }
            facts.insert(name, v);
        }
    }
    let set: Map<String, Value> = facts
        .iter()
        .filter(|(k, _)| *k != "cacheable")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match facts_receiver(e, h, t, vars) {
        Err(err) => return Outcome::fail(err),
        Ok(Some(owner)) => e.hostvars.deliver(&owner, Delivered::Set(set)),
        Ok(None) => Arc::make_mut(&mut h.vars).extend(set),
    }
    let mut r = ModuleResult::ok();
    r.data.insert("ansible_facts".into(), Value::Object(facts));
    Outcome::of(r)
}

/// `group_by`: the host put in group `key` (spaces become dashes), the group made a child of
/// `parents` (default `all`). `changed` when the host or a parent is new to it, as in Ansible.
fn group_by(e: &Engine, h: &HostRun, rendered: &Value) -> Outcome {
    let Some(key) = rendered.get("key") else {
        return Outcome::fail("the 'key' param is required when using group_by");
    };
    let dashed = |v: &Value| match v {
        Value::String(s) => s.replace(' ', "-"),
        other => other.to_string().replace(' ', "-"),
    };
    let group = dashed(key);
    let parents: Vec<String> = match rendered.get("parents") {
        None | Some(Value::Null) => vec!["all".to_owned()],
        Some(Value::Array(a)) => a.iter().map(dashed).collect(),
        Some(one) => vec![dashed(one)],
    };
    match e.inventory.add_group(&h.name, &group, &parents) {
        Ok(changed) => {
            let mut r = ModuleResult::ok();
            r.changed = changed;
            r.data.insert("add_group".into(), json!(group));
            r.data.insert("parent_groups".into(), json!(parents));
            Outcome::of(r)
        }
        Err(err) => Outcome::fail(err.to_string()),
    }
}

/// `add_host`: host `name` (or `hostname`, `host`; `name:port` sets `ansible_ssh_port`) in
/// `groups` (or `groupname`, `group`: a list or a comma-separated string), every other argument
/// one of its variables, as Ansible's action (which keeps `host` and `group` as variables too).
/// `changed` when the inventory changed.
fn add_host(e: &Engine, rendered: Value) -> Outcome {
    let Value::Object(mut args) = rendered else {
        return Outcome::fail("add_host: the arguments must be a mapping");
    };
    match args.remove("_raw_params") {
        None => {}
        Some(Value::Object(raw)) => {
            for (k, v) in raw {
                args.entry(k).or_insert(v);
            }
        }
        Some(other) => {
            return Outcome::fail(format!(
                "Invalid raw parameters passed, requires a dictionary/mapping got a  {}",
                clearfleet_base::python_json::type_name(&other)
            ));
        }
    }
    let Some(given) = ["name", "hostname", "host"]
        .iter()
        .find_map(|k| args.get(*k).filter(|v| !v.is_null()))
    else {
        return Outcome::fail("name, host or hostname needs to be provided");
    };
    let given = match given {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let name = match clearfleet_inventory::range::parse_address(&given) {
        Ok((name, port)) => {
            if let Some(port) = port {
                args.insert("ansible_ssh_port".into(), json!(port));
            }
            name
        }
        // Not an address Ansible can parse, but maybe a usable name all the same.
        Err(_) => given,
    };
    let mut groups: Vec<String> = Vec::new();
    let listed = ["groupname", "groups", "group"]
        .iter()
        .find_map(|k| args.get(*k))
        .cloned()
        .unwrap_or(Value::Null);
    let names: Vec<String> = match listed {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        Value::Array(a) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        other => {
            return Outcome::fail(format!("Groups must be specified as a list. (got {other})"));
        }
    };
    for g in names {
        let g = g.trim().to_owned();
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let host_vars: clearfleet_inventory::Vars = args
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "name" | "hostname" | "groupname" | "groups"))
        .collect();
    match e.inventory.add_host(&name, &groups, &host_vars) {
        Ok(changed) => {
            let mut r = ModuleResult::ok();
            r.changed = changed;
            r.data.insert(
                "add_host".into(),
                json!({"host_name": name, "groups": groups, "host_vars": host_vars}),
            );
            Outcome::of(r)
        }
        Err(err) => Outcome::fail(err.to_string()),
    }
}

/// `setup`: the facts `gather_facts` reads (one command), narrowed by `gather_subset` and
/// `filter`, given to the host and returned as Ansible's setup returns them (`ansible_facts`
/// with the `ansible_` names).
async fn setup(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    rendered: &Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    if let Some(message) = super::facts::bad_subset(rendered) {
        return Outcome::fail(message);
    }
    let delegated = match delegation(e, h, t, vars) {
        Ok(d) => d,
        Err(err) => return Outcome::fail(err),
    };
    // The become of the host the module runs on, as for any module (setup runs as one).
    let empty = Map::new();
    let conn_vars = match &delegated {
        Delegation::Host(plan) => delegated_vars::of(var_map, &plan.name).unwrap_or(&empty),
        _ => var_map,
    };
    let become_ = match &delegated {
        Delegation::Controller(_) => None,
        _ => match become_settings::become_of(e, t, vars, conn_vars) {
            Ok(b) => b,
            Err(err) => return Outcome::fail(err.to_string()),
        },
    };
    let how = GatherHow {
        options: super::facts::Options {
            fact_path: rendered
                .get("fact_path")
                .and_then(Value::as_str)
                .map(str::to_owned),
            gather_timeout: rendered
                .get("gather_timeout")
                .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())),
        },
        become_,
    };
    match task_facts_with(e, h, t, (vars, var_map), &delegated, &how).await {
        Ok((facts, warnings)) => {
            let kept = super::facts::select(&facts, rendered);
            let returned = super::facts::returned(&kept);
            match facts_owner(t, &delegated) {
                Some(owner) => e.hostvars.deliver(owner, Delivered::Gathered(kept)),
                None => h.facts = Arc::new(super::facts::vars(&h.facts, kept)),
            }
            let mut r = ModuleResult::ok();
            r.data.insert("ansible_facts".into(), returned);
            r.warnings = warnings;
            Outcome::of(r)
        }
        Err((true, msg)) => Outcome::of(ModuleResult::from_remote_error(
            &clearfleet_modules::RemoteError::Unreachable(msg),
        )),
        Err((false, msg)) => Outcome::fail(msg),
    }
}

/// [`facts_owner`] for a task that has not resolved its delegation: `None` (the task's own
/// host) unless it has `delegate_facts`.
fn facts_receiver(e: &Engine, h: &HostRun, t: &Task, vars: &Ctx) -> Result<Option<String>, String> {
    if !t.delegate_facts {
        return Ok(None);
    }
    let delegated = delegation(e, h, t, vars)?;
    Ok(facts_owner(t, &delegated).map(str::to_owned))
}

/// The host the facts a task sets go to instead of its own: the one it is delegated to, with
/// `delegate_facts` (Ansible's strategy, `get_delegated_hosts`).
fn facts_owner<'d>(t: &Task, delegated: &'d Delegation) -> Option<&'d str> {
    if !t.delegate_facts {
        return None;
    }
    match delegated {
        Delegation::Own | Delegation::Local => None,
        Delegation::Controller(name) => Some(name),
        Delegation::Host(plan) => Some(&plan.name),
    }
}

/// `pause`: `seconds` plus `minutes`; interactive prompts are refused.
async fn pause(rendered: &Value) -> Outcome {
    let secs = rendered.get("seconds").and_then(num).unwrap_or(0.0)
        + 60.0 * rendered.get("minutes").and_then(num).unwrap_or(0.0);
    if rendered.get("prompt").is_some() && secs == 0.0 {
        return Outcome::fail(
            "pause: interactive prompts are not supported; give seconds or minutes",
        );
    }
    tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
    Outcome::of(ModuleResult::ok().with("delta", json!(secs)))
}

/// A module run on the host (or on the controller with `delegate_to`), with the task's
/// `environment`, timeout and become; `template` gets its file rendered first.
async fn run_host_module(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    module: &str,
    mut rendered: Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> ModuleResult {
    if module == "template" {
        match super::template_file::render(e, t, &rendered, var_map) {
            Ok(content) => {
                if let Some(m) = rendered.as_object_mut() {
                    m.insert("_rendered".into(), json!(content));
                }
            }
            Err(err) => return ModuleResult::fail(err.to_string()),
        }
    }
    let call = match ModuleCall::parse(module, &rendered) {
        Ok(c) => c,
        Err(err) if err.at_run_time => return ModuleResult::fail(err.message),
        Err(err) => return ModuleResult::fail(format!("{module}: {}", err.message)),
    };
    let env = match environment(e, t, vars) {
        Ok(env) => env,
        Err(err) => return ModuleResult::fail(err.to_string()),
    };
    let timeout = t
        .timeout
        .map(Duration::from_secs)
        .or(e.config.command_timeout);
    let max_output = match max_output(e, var_map) {
        Ok(m) => m,
        Err(err) => return ModuleResult::fail(err),
    };
    let delegated = match delegation(e, h, t, vars) {
        Ok(d) => d,
        Err(err) => return ModuleResult::fail(err),
    };
    // The become variables of the host the connection goes to: the task's own, or those of
    // the host it is delegated to (Ansible's `cvars`).
    let empty = Map::new();
    let conn_vars = match &delegated {
        // The controller by another name (`delegate_to: localhost`): the task's variables,
        // as `with_delegated` publishes no delegated variables for it.
        Delegation::Own | Delegation::Local | Delegation::Controller(_) => var_map,
        Delegation::Host(plan) => delegated_vars::of(var_map, &plan.name).unwrap_or(&empty),
    };
    let become_ = match become_settings::become_of(e, t, vars, conn_vars) {
        Ok(b) => b,
        Err(err) => return ModuleResult::fail(err.to_string()),
    };
    let plan = match delegated {
        Delegation::Own => &h.plan,
        Delegation::Host(ref plan) => plan,
        Delegation::Controller(_) | Delegation::Local => {
            // A `local` connection becomes as the ssh one does (local.py runs the become
            // plugin's command): sudo or su on the controller.
            let has_become = become_.is_some();
            let remote = TaskRemote {
                inner: ControllerRemote::new(&h.name, become_, max_output),
                environment: &env,
                timeout,
            };
            return run_module(e, t, (module, &rendered, &call), &remote, has_become).await;
        }
    };
    let login = match &delegated {
        Delegation::Own => login(e, t, vars, var_map),
        _ => delegated_login(e, plan, t, vars),
    };
    let login = match login {
        Ok(login) => login,
        Err(err) => return ModuleResult::fail(err.to_string()),
    };
    let port = match task_port(e, t, vars, &delegated) {
        Ok(port) => port,
        Err(err) => return ModuleResult::fail(err),
    };
    match e
        .connections
        .get_as(
            &at_port(&plan.target, port),
            login.as_deref(),
            &e.config.ssh,
        )
        .await
    {
        Err(err) => {
            let mut r = ModuleResult::fail(err.to_string());
            r.unreachable = true;
            r
        }
        Ok(conn) => {
            let remote = TaskRemote {
                inner: SshRemote {
                    host: &plan.name,
                    connection: &conn,
                    become_: become_.clone(),
                    max_output,
                },
                environment: &env,
                timeout,
            };
            run_module(e, t, (module, &rendered, &call), &remote, become_.is_some()).await
        }
    }
}

/// Where a task's module runs: on its own host (over SSH, or on the controller when its
/// connection is `local`), on the controller for a delegated task, or on another host.
enum Delegation {
    Own,
    /// The task's own host, whose connection is `local`: the controller.
    Local,
    /// The controller, by the name the task gave.
    Controller(String),
    Host(Box<HostPlan>),
}

/// The task's `delegate_to`, rendered with the host's variables: the implicit localhost (or an
/// inventory host with `ansible_connection: local`) is the controller; any other name is
/// reached as the inventory plans it (its address, port, user, keys, become settings), and a
/// name the inventory lacks as an address with the run's defaults, as Ansible does. Without
/// `delegate_to`, the host's own transport (`ansible_connection`, else the `connection`
/// keyword). A host delegated to whose inventory sets no `ansible_connection` takes the
/// task's `connection` keyword, as `TaskExecutor._execute` reads the delegated host's
/// variables and then the task's keyword (`connection: local` runs it on the controller).
fn delegation(e: &Engine, h: &HostRun, t: &Task, vars: &Ctx) -> Result<Delegation, String> {
    let Some(name) = delegate_name(e, h, t, vars)? else {
        return Ok(
            match transport::transport(e, t.connection.as_deref(), &t.location, vars)? {
                Transport::Local => Delegation::Local,
                Transport::Ssh => Delegation::Own,
            },
        );
    };
    let name = name.as_str();
    let host_vars = e.inventory.host_vars_of(name);
    if is_controller(name, host_vars.as_ref()) {
        return Ok(Delegation::Controller(name.to_owned()));
    }
    let own_connection = host_vars
        .as_ref()
        .is_some_and(|v| v.get("ansible_connection").is_some_and(|c| !c.is_null()));
    if !own_connection
        && transport::keyword_transport(e, t.connection.as_deref(), &t.location, vars)?
            == Some(Transport::Local)
    {
        return Ok(Delegation::Controller(name.to_owned()));
    }
    if let Some(plan) = e.config.hosts.iter().find(|p| p.name == name) {
        return Ok(Delegation::Host(Box::new(plan.clone())));
    }
    let Some(new_host) = &e.config.new_host else {
        return Err(format!(
            "cannot delegate to `{name}`: no way to plan a host"
        ));
    };
    new_host(name, &host_vars.unwrap_or_default())
        .map(|plan| Delegation::Host(Box::new(plan)))
        .map_err(|err| format!("cannot delegate to `{name}`: {err}"))
}

/// How a result names the host its task was delegated to (Ansible's
/// `CallbackBase.host_label`, lib/ansible/plugins/callback/__init__.py): the rendered
/// `delegate_to`, then the address it resolves to in parentheses when that differs (an
/// inventory host's `ansible_host`; `127.0.0.1` for the implicit localhost). `None` when the
/// task is not delegated, is delegated to its own host, or the name cannot be rendered.
fn delegated_label(e: &Engine, h: &HostRun, t: &Task, vars: &Ctx) -> Option<String> {
    let name = delegate_name(e, h, t, vars).ok()??;
    let name = name.as_str();
    let address = match e.inventory.host_vars_of(name) {
        Some(v) => v
            .get("ansible_host")
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_owned(),
        None if name == "localhost" => "127.0.0.1".to_owned(),
        None => name.to_owned(),
    };
    Some(if address == name {
        name.to_owned()
    } else {
        format!("{name}({address})")
    })
}

/// The host a task is delegated to, its `delegate_to` rendered with the host's variables;
/// `None` without one, or when it names the task's own host.
fn delegate_name(e: &Engine, h: &HostRun, t: &Task, vars: &Ctx) -> Result<Option<String>, String> {
    let Some(spec) = &t.delegate_to else {
        return Ok(None);
    };
    let name = e
        .templates
        .render_string(spec, vars, &t.location, "delegate_to")
        .map_err(|err| err.to_string())?;
    let name = name.trim();
    Ok((name != h.name).then(|| name.to_owned()))
}

/// Whether a task delegated to `name` (whose inventory variables are `host_vars`, `None` for
/// a name the inventory lacks) runs on the controller: the implicit localhost, or a host with
/// `ansible_connection: local`.
fn is_controller(name: &str, host_vars: Option<&Map<String, Value>>) -> bool {
    match host_vars {
        None => matches!(name, "localhost" | "127.0.0.1" | "::1"),
        Some(v) => v.get("ansible_connection").and_then(Value::as_str) == Some("local"),
    }
}

/// The SSH port a task reaches its host through, when a variable or keyword says
/// ([`transport::port`]); for a host delegated to, the task's `port` keyword unless that
/// host's inventory sets its own port (Ansible resets the delegated host's `ansible_port`,
/// which leaves the keyword in force). `None`: the planned port.
fn task_port(
    e: &Engine,
    t: &Task,
    vars: &Ctx,
    delegated: &Delegation,
) -> Result<Option<u16>, String> {
    match delegated {
        Delegation::Own => transport::port(e, t.port.as_deref(), &t.location, vars),
        Delegation::Host(plan) => {
            let own = e.inventory.host_vars_of(&plan.name).is_some_and(|v| {
                v.contains_key("ansible_port") || v.contains_key("ansible_ssh_port")
            });
            if own {
                Ok(None)
            } else {
                transport::keyword_port(e, t.port.as_deref(), &t.location, vars)
            }
        }
        Delegation::Local | Delegation::Controller(_) => Ok(None),
    }
}

/// Who a task delegated to another host logs in as: that host's own `ansible_user` when its
/// inventory sets one (it is in its plan), else the task's `remote_user` keyword, else the
/// plan's login.
fn delegated_login(
    e: &Engine,
    plan: &HostPlan,
    t: &Task,
    vars: &Ctx,
) -> Result<Option<String>, TemplateError> {
    let own = e
        .inventory
        .host_vars_of(&plan.name)
        .is_some_and(|v| v.contains_key("ansible_user") || v.contains_key("ansible_ssh_user"));
    match &t.remote_user {
        Some(user) if !own => e
            .templates
            .render_string(user, vars, &t.location, "remote_user")
            .map(Some),
        _ => Ok(None),
    }
}

/// The task's output limit: its `clearfleet_max_output` variable, the most specific one
/// (task, play, host or group vars, `-e`), else `--max-output`. A value that is not a size
/// fails the task.
fn max_output(e: &Engine, vars: &Map<String, Value>) -> Result<MaxOutput, String> {
    match vars.get(MAX_OUTPUT_VAR) {
        None | Some(Value::Null) => Ok(e.config.max_output),
        Some(v) => MaxOutput::from_var(v).map_err(|err| format!("{MAX_OUTPUT_VAR}: {err}")),
    }
}

/// The task's `environment`, each value rendered (non-strings as JSON).
fn environment(
    e: &Engine,
    t: &Task,
    vars: &Ctx,
) -> Result<indexmap::IndexMap<String, String>, TemplateError> {
    let mut env = indexmap::IndexMap::new();
    for (k, v) in &t.environment {
        let v = match e
            .templates
            .render_value(&json!(v), vars, &t.location, "environment")?
        {
            Value::String(s) => s,
            other => other.to_string(),
        };
        env.insert(k.clone(), v);
    }
    Ok(env)
}

/// A failed command's reason for the digest and the upgrade result: "non-zero return code"
/// alone says nothing, so the last line of its stderr (redacted) is added. `register` keeps
/// Ansible's bare message.
fn with_stderr_reason(e: &Engine, msg: Option<String>, r: &ModuleResult) -> Option<String> {
    let last = r
        .stderr
        .as_deref()
        .and_then(|s| s.lines().rev().map(str::trim).find(|l| !l.is_empty()));
    match (msg.as_deref(), last) {
        (Some(m @ "non-zero return code"), Some(line)) => {
            Some(format!("{m}: {}", e.config.redactor.redact(line)))
        }
        _ => msg,
    }
}

/// Counts a task's final status on a host in its PLAY RECAP.
fn count(
    h: &mut HostRun,
    t: &Task,
    name: &str,
    status: TaskStatus,
    changed: bool,
    failure: Option<String>,
) {
    match status {
        TaskStatus::Ok => h.recap.ok += 1,
        TaskStatus::Changed => {
            h.recap.ok += 1;
            h.recap.changed += 1;
        }
        TaskStatus::Skipped => h.recap.skipped += 1,
        TaskStatus::Failed => h.count_failure(
            name.to_owned(),
            t.location.to_string(),
            failure.unwrap_or_default(),
        ),
        TaskStatus::Unreachable => h.recap.unreachable += 1,
        TaskStatus::Ignored | TaskStatus::UnreachableIgnored => {
            // Ansible: an ignored failure is `ok` and `ignored`, and `changed` if it changed.
            h.recap.ok += 1;
            h.recap.ignored += 1;
            if changed {
                h.recap.changed += 1;
            }
        }
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Runs `call` (`module` with its `rendered` arguments, parsed) through `remote`; a path
/// argument starting with `~` is expanded on the host first (`clearfleet_modules::home`).
async fn run_module<R: Remote>(
    e: &Engine,
    t: &Task,
    (module, rendered, call): (&str, &Value, &ModuleCall),
    remote: &R,
    become_: bool,
) -> ModuleResult {
    let ctx = ModuleContext {
        remote,
        // The task's `check_mode:` wins over `--check`, as in Ansible.
        check_mode: t.check_mode.unwrap_or(e.options.check),
        // So does its `diff:` over `--diff`.
        diff: t.diff.unwrap_or(e.options.diff),
        become_,
        controller_dir: &e.playbook_dir,
        role_dir: t.role.as_ref().map(|r| r.path.as_path()),
        files: &e.files,
    };
    let expanded;
    let call = if clearfleet_modules::home::needs_expanding(module, rendered) {
        let args = match clearfleet_modules::home::expand(&ctx, module, rendered).await {
            Ok(args) => args,
            Err(r) => return r,
        };
        expanded = match ModuleCall::parse(module, &args) {
            Ok(c) => c,
            Err(err) => return ModuleResult::fail(err.message),
        };
        &expanded
    } else {
        call
    };
    // Boxed: a module's future nests the SSH layer's (exec, the persistent shell, the output
    // collection) inside every module's; inlined into the engine's, the whole is too deep
    // for the compiler's layout queries (its recursion limit) in a clean build.
    if t.async_ > 0 {
        return Box::pin(call.run_async(t.async_, t.poll, &ctx)).await;
    }
    Box::pin(call.run(&ctx)).await
}

fn status_of(r: &ModuleResult, ignore_errors: bool) -> TaskStatus {
    if r.unreachable {
        TaskStatus::Unreachable
    } else if is_failed(r) {
        if ignore_errors {
            TaskStatus::Ignored
        } else {
            TaskStatus::Failed
        }
    } else if r.skipped_check_mode {
        TaskStatus::Skipped
    } else if r.changed {
        TaskStatus::Changed
    } else {
        TaskStatus::Ok
    }
}

/// Whether a result counts as failed, as Ansible's `TaskResult.is_failed`: by its
/// `failed_when_result` when `failed_when` set one (even over a `failed` that ran out of
/// `until` attempts), else by `failed`.
fn is_failed(r: &ModuleResult) -> bool {
    match r.data.get("failed_when_result") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Null) => false,
        Some(_) => true,
        None => r.failed,
    }
}

fn diff_text(r: &ModuleResult) -> Option<String> {
    let d = r.diff.as_ref()?;
    let header = d.before_header.clone().unwrap_or_default();
    let mut s = format!(
        "--- before: {header}\n+++ after: {}\n",
        d.after_header.clone().unwrap_or(header.clone())
    );
    let before: Vec<&str> = d.before.lines().collect();
    let after: Vec<&str> = d.after.lines().collect();
    // A simple line diff: common prefix and suffix kept out, the middle shown as -/+.
    let prefix = before
        .iter()
        .zip(&after)
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = before[prefix..]
        .iter()
        .rev()
        .zip(after[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    for l in &before[prefix..before.len() - suffix] {
        s.push_str(&format!("-{l}\n"));
    }
    for l in &after[prefix..after.len() - suffix] {
        s.push_str(&format!("+{l}\n"));
    }
    Some(s)
}

/// Runs `t` on host `h` and reports it. The host's failure and recap are updated here.
pub(crate) async fn run_on_host(e: &Engine, t: &Task, h: &mut HostRun, ctx: &PlayCtx<'_>) {
    let started = Instant::now();
    let TaskBody::Module { module, args, .. } = &t.body else {
        return;
    };
    let mut var_map = var_map(e, h, ctx, t);
    let vars = e.context(&var_map);
    // A looped task's keywords but the loop's own are rendered per item (`run_item`).
    let pick = if t.loop_.is_some() {
        super::keywords::for_the_loop
    } else {
        |_: &str| true
    };
    let resolved = super::keywords::resolve(e, t, &vars, pick);
    let (t, mut keyword_error) = match &resolved {
        Ok(task) => (task.as_ref(), None),
        Err(err) => (t, Some(err.to_string())),
    };
    let module = match resolve_module(e, t, module, args, &vars) {
        Ok(m) => m,
        Err(msg) => {
            keyword_error.get_or_insert(msg);
            Cow::Borrowed(module.as_str())
        }
    };
    let mut run = TaskRun::start(e, t, h, ctx, &module, args, &vars);
    if let Some(err) = keyword_error {
        return run.fail_loop(h, LoopError::Keyword(err), started);
    }
    let items = match loop_items(e, t, &vars) {
        Ok(items) => items,
        // As Ansible's `TaskExecutor.run`: a loop over something undefined fails the task only
        // when its `when` holds (evaluated without the loop variable); else it is skipped.
        Err(LoopError::Template(err @ TemplateError::Undefined { .. })) => {
            match first_false(e, &vars, &t.when, "when") {
                Ok(Some(c)) => {
                    let mut tally = Tally::new();
                    run.skip_item(h, None, Some(c), &Map::new(), started, &mut tally);
                    return run.finish(h, false, tally);
                }
                _ => return run.fail_loop(h, LoopError::Template(err), started),
            }
        }
        Err(err) => return run.fail_loop(h, err, started),
    };
    let looped = items.is_some();
    if t.loop_extended {
        run.items = items.clone().unwrap_or_default();
    }
    let runs: Vec<Option<(usize, Value)>> = match items {
        None => vec![None],
        Some(items) => items.into_iter().enumerate().map(Some).collect(),
    };
    let mut tally = Tally::new();
    for (n, item) in runs.into_iter().enumerate() {
        // `loop_control.pause`: between items, not before the first.
        if let (Some(p), true) = (t.loop_pause, n > 0)
            && p > 0.0
            && !e.stopping()
        {
            tokio::time::sleep(Duration::from_secs_f64(p)).await;
        }
        run.run_item(h, &mut var_map, &vars, item, &mut tally).await;
        if h.unreachable {
            break;
        }
    }
    run.finish(h, looped, tally);
}

/// The module a task calls: as written, or, named by a template (`action: "{{
/// ansible_facts.pkg_mgr }}"`), rendered for the host and then checked as the loader checks a
/// literal name, as ansible-core 2.19's `Task._post_validate_args` resolves it when the task
/// runs. `Err`: the task fails with that message.
fn resolve_module<'m>(
    e: &Engine,
    t: &Task,
    module: &'m str,
    args: &Value,
    vars: &Ctx,
) -> Result<Cow<'m, str>, String> {
    if !Templates::is_template(module) {
        return Ok(Cow::Borrowed(module));
    }
    let name = match e.templates.render(module, vars, &t.location, "action") {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(err) => return Err(err.to_string()),
    };
    let Some(canon) = clearfleet_playbook::action::canonical_module(name.trim()) else {
        return Err(format!("Cannot resolve '{name}' to an action or module."));
    };
    if matches!(
        canon,
        "include_tasks"
            | "import_tasks"
            | "include_role"
            | "import_role"
            | "import_playbook"
            | "meta"
    ) {
        return Err(format!(
            "clearfleet cannot run `{canon}` under a templated action name; name it as written"
        ));
    }
    if !not_run::is_not_run(canon) {
        clearfleet_modules::validate_args(canon, args).map_err(|e| e.to_string())?;
    }
    Ok(Cow::Owned(canon.to_owned()))
}

/// Where the loader found the task's template under `key_path` (`loop`), for errors.
fn site<'t>(t: &'t Task, key_path: &str) -> Option<&'t clearfleet_base::diagnostic::Location> {
    t.templates
        .iter()
        .find(|s| s.key_path == key_path)
        .map(|s| &s.location)
}

/// The task's `loop` rendered for the host (through the lookup with `with_<lookup>`, `items`
/// flattening one level); `None` for a task without a loop.
pub(crate) fn loop_items(
    e: &Engine,
    t: &Task,
    vars: &Ctx,
) -> Result<Option<Vec<Value>>, LoopError> {
    let Some(l) = &t.loop_ else {
        return Ok(None);
    };
    let at = site(t, "loop").unwrap_or(&t.location);
    // Ansible strips a `with_` string before templating it.
    let stripped;
    let l = match l {
        Value::String(s) if t.loop_with.is_some() => {
            stripped = json!(s.trim());
            &stripped
        }
        _ => l,
    };
    let rendered = match t.loop_with.as_deref() {
        // `with_first_found` drops the terms that are undefined, at any depth (first_found.py's
        // `_recurse_terms(terms, omit_undefined=True)` when `invoked_as_with`).
        Some("first_found") => {
            defined_terms(e, l, vars, at)?.unwrap_or_else(|| Value::Array(Vec::new()))
        }
        _ => e.templates.render_value(l, vars, at, "loop")?,
    };
    if let Some(lookup) = &t.loop_with {
        // As Ansible's `_get_loop_items`: terms that are not a list are one term.
        let terms = match rendered {
            Value::Array(a) => Value::Array(a),
            other => Value::Array(vec![other]),
        };
        let module = match &t.body {
            TaskBody::Module { module, .. } => module.as_str(),
            _ => "include_tasks",
        };
        return match e
            .templates
            .lookup_items(lookup, terms, module, vars, &t.location)?
        {
            Value::Array(a) => Ok(Some(a)),
            other => Err(LoopError::NotAList(other)),
        };
    }
    match rendered {
        Value::Array(a) => Ok(Some(a)),
        other => Err(LoopError::NotAList(other)),
    }
}

/// `terms` rendered, leaving out every string (in lists and mappings too) whose template is
/// undefined; `None` when `terms` itself is.
fn defined_terms(
    e: &Engine,
    terms: &Value,
    vars: &Ctx,
    at: &clearfleet_base::diagnostic::Location,
) -> Result<Option<Value>, TemplateError> {
    Ok(Some(match terms {
        Value::String(s) => match e.templates.render_value(terms, vars, at, "loop") {
            // A variable holding undefined values (`files: ["{{ missing }}x", "y"]`) is
            // undefined as a whole here; Ansible's holds them as markers, which the lookup
            // drops. Its value as written is rendered the same way instead.
            Err(TemplateError::Undefined { .. }) => {
                match lone_variable(s).and_then(|name| super::templating::dropped_raw(vars, name)) {
                    Some(raw) if !raw.is_string() => return defined_terms(e, &raw, vars, at),
                    _ => return Ok(None),
                }
            }
            other => other?,
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter_map(|v| defined_terms(e, v, vars, at).transpose())
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter_map(|(k, v)| {
                    defined_terms(e, v, vars, at)
                        .transpose()
                        .map(|v| v.map(|v| (k.clone(), v)))
                })
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    }))
}

/// The variable a template that is only `{{ name }}` names.
fn lone_variable(template: &str) -> Option<&str> {
    let inner = template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    let mut chars = inner.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some(inner)
}

/// Why a task's `loop` gives no items.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoopError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("loop: expected a list, got {0}")]
    NotAList(Value),
    /// A templated keyword (`retries: "{{ n }}"`) has no usable value.
    #[error("{0}")]
    Keyword(String),
}

/// Whether every condition holds (`when`, `changed_when`, `failed_when`, `until`: a list is
/// an `and`), evaluated in `vars`.
fn conditions(
    e: &Engine,
    vars: &Ctx,
    conds: &[clearfleet_playbook::Spanned<String>],
    what: &str,
) -> Result<bool, TemplateError> {
    Ok(first_false(e, vars, conds, what)?.is_none())
}

/// The first condition that does not hold, evaluated in order in `vars` (none: all hold).
fn first_false<'c>(
    e: &Engine,
    vars: &Ctx,
    conds: &'c [clearfleet_playbook::Spanned<String>],
    what: &str,
) -> Result<Option<&'c str>, TemplateError> {
    for c in conds {
        if !e.templates.condition(&c.value, vars, &c.location, what)? {
            return Ok(Some(&c.value));
        }
    }
    Ok(None)
}

/// A skipped result as Ansible 2.19 registers it: `false_condition` is the condition that
/// was false, as written (a YAML boolean stays one).
fn skipped_result(false_condition: Option<&str>) -> Value {
    let mut r =
        json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"});
    if let (Some(c), Some(m)) = (false_condition, r.as_object_mut()) {
        let written = match c {
            "true" | "True" => json!(true),
            "false" | "False" => json!(false),
            _ => json!(c),
        };
        m.insert("false_condition".into(), written);
    }
    r
}

/// What the items of a task add up to on a host.
struct Tally {
    /// Each item's registered result (for `register`'s `results`).
    results: Vec<Value>,
    any_changed: bool,
    /// An item counts as failed (Ansible's `is_failed`: the task's status).
    any_failed: bool,
    /// An item's result says `failed` (the registered loop result's `failed` and `msg`).
    any_failed_key: bool,
    /// An item was unreachable under `ignore_unreachable`: the task counts `ok` and `ignored`.
    unreachable_ignored: bool,
    all_skipped: bool,
    /// The message of the last failed item, for the digest.
    failure: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            results: Vec::new(),
            any_changed: false,
            any_failed: false,
            any_failed_key: false,
            unreachable_ignored: false,
            all_skipped: true,
            failure: None,
        }
    }
}

/// What loop item `item` (number `i`) adds to the variables and to its registered result, as
/// Ansible's `_run_loop`: the loop variable `loop_var`, `ansible_loop_var`, `index_var` with
/// `ansible_index_var`, and `ansible_loop` under `loop_control.extended` (over `items`).
pub(crate) fn loop_vars(
    t: &Task,
    loop_var: &str,
    items: &[Value],
    i: usize,
    item: &Value,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(loop_var.to_owned(), item.clone());
    m.insert("ansible_loop_var".into(), json!(loop_var));
    if let Some(iv) = &t.index_var {
        m.insert(iv.clone(), json!(i));
        m.insert("ansible_index_var".into(), json!(iv));
    }
    if t.loop_extended {
        let len = items.len();
        let mut l = json!({
            "index": i + 1,
            "index0": i,
            "first": i == 0,
            "last": i + 1 == len,
            "length": len,
            "revindex": len.saturating_sub(i),
            "revindex0": len.saturating_sub(i + 1),
        });
        if let Some(o) = l.as_object_mut() {
            if t.loop_allitems {
                o.insert("allitems".into(), json!(items));
            }
            if let Some(next) = items.get(i + 1) {
                o.insert("nextitem".into(), next.clone());
            }
            if let Some(prev) = i.checked_sub(1).and_then(|p| items.get(p)) {
                o.insert("previtem".into(), prev.clone());
            }
        }
        m.insert("ansible_loop".into(), l);
    }
    m
}

/// One task on one host while it runs: what each step needs to run and report an item.
struct TaskRun<'a> {
    e: &'a Engine,
    t: &'a Task,
    ctx: &'a PlayCtx<'a>,
    module: &'a str,
    args: &'a Value,
    /// The task's name rendered for the host, as every event of it says.
    name: String,
    /// `loop_control.loop_var` (default `item`).
    loop_var: String,
    /// Every item, for `loop_control.extended` (empty without it).
    items: Vec<Value>,
    /// The host the current item is delegated to, as its results show it ([`delegated_label`]).
    delegated: std::cell::RefCell<Option<String>>,
}

impl<'a> TaskRun<'a> {
    /// Names the task for the host and announces it (`HostTask`).
    fn start(
        e: &'a Engine,
        t: &'a Task,
        h: &mut HostRun,
        ctx: &'a PlayCtx<'a>,
        module: &'a str,
        args: &'a Value,
        vars: &Ctx,
    ) -> Self {
        let name = rendered_name(e, t, vars);
        h.current = Some(name.clone());
        e.emit(EventKind::HostTask {
            host: h.name.clone(),
            task: name.clone(),
        });
        TaskRun {
            e,
            t,
            ctx,
            module,
            args,
            name,
            loop_var: t.loop_var.clone().unwrap_or_else(|| "item".to_owned()),
            items: Vec::new(),
            delegated: std::cell::RefCell::new(delegated_label(e, h, t, vars)),
        }
    }

    /// `failed`, or `ignored` under `ignore_errors`.
    fn failed_status(&self) -> TaskStatus {
        if self.t.ignore_errors {
            TaskStatus::Ignored
        } else {
            TaskStatus::Failed
        }
    }

    /// Reports one item (every item is reported; the recap counts the task once, see
    /// [`count`]); returns the message as reported (redacted, or hidden by `no_log`).
    fn report(
        &self,
        h: &mut HostRun,
        status: TaskStatus,
        item: Option<String>,
        r: Option<&ModuleResult>,
        msg: Option<String>,
        dur: Duration,
    ) -> Option<String> {
        let (e, t) = (self.e, self.t);
        let hide = t.no_log;
        let text = |s: Option<&String>| {
            if hide {
                String::new()
            } else {
                e.config
                    .redactor
                    .redact(s.map(String::as_str).unwrap_or(""))
            }
        };
        // Ansible prints `(item=None)` for a hidden item.
        let item = if hide {
            item.map(|_| "None".to_owned())
        } else {
            item.map(|i| e.config.redactor.redact_owned(i))
        };
        let msg = msg.or_else(|| r.and_then(shown_msg));
        let msg = if hide && msg.is_some() {
            Some(NO_LOG.to_owned())
        } else {
            msg.map(|m| e.config.redactor.redact(&m))
        };
        // An ignored unreachable result (`ignore_unreachable`) is no failure of the run.
        if status == TaskStatus::Unreachable {
            h.failures.push((
                self.name.clone(),
                t.location.to_string(),
                msg.clone().unwrap_or_default(),
            ));
        }
        e.emit(EventKind::TaskResult(Box::new(TaskResult {
            host: h.name.clone(),
            delegated_to: self.delegated.borrow().clone(),
            task: self.name.clone(),
            location: t.location.to_string(),
            status,
            item,
            msg: msg.clone(),
            rc: r.and_then(|r| r.rc).map(i64::from),
            stdout: text(r.and_then(|r| r.stdout.as_ref())),
            stderr: text(r.and_then(|r| r.stderr.as_ref())),
            diff: if hide {
                None
            } else {
                r.and_then(diff_text)
                    .map(|d| e.config.redactor.redact_owned(d))
            },
            duration: dur,
        })));
        for w in r.map(|r| r.warnings.as_slice()).unwrap_or_default() {
            e.emit(EventKind::Warning {
                message: e.config.redactor.redact(w),
            });
        }
        msg
    }

    /// The task fails (or is ignored) as a whole because its `loop` gives no items (or a
    /// templated keyword no value).
    fn fail_loop(&self, h: &mut HostRun, err: LoopError, started: Instant) {
        h.failed = !self.t.ignore_errors;
        let status = self.failed_status();
        // The output shows where the template is; the result says what 2.19 says
        // (`TaskExecutor._get_loop_items`): `Task failed: 'x' is undefined`, `Error rendering
        // template: division by zero`.
        let registered = match &err {
            LoopError::Template(t @ TemplateError::Undefined { .. }) => {
                format!("Task failed: {}", t.bare_message())
            }
            LoopError::Template(t) => t.bare_message(),
            other => other.to_string(),
        };
        let msg = self.report(
            h,
            status,
            None,
            None,
            Some(err.to_string()),
            started.elapsed(),
        );
        // Registered as Ansible registers a failed lookup (`with_dict` over a list): `failed`
        // and `msg`, no `changed`.
        let result = json!({"failed": true, "msg": registered});
        if let Some(reg) = &self.t.register {
            Arc::make_mut(&mut h.vars).insert(reg.clone(), result.clone());
        }
        if status == TaskStatus::Failed {
            self.set_failed_task(h, result);
        }
        count(h, self.t, &self.name, status, false, msg);
    }

    /// One loop item, or the one run of a task without a loop: its variables and label, `when`,
    /// the action with its retries, the report. After `set_fact`, `var_map` is built anew.
    async fn run_item(
        &self,
        h: &mut HostRun,
        var_map: &mut Map<String, Value>,
        vars: &Ctx,
        run: Option<(usize, Value)>,
        tally: &mut Tally,
    ) {
        let item_started = Instant::now();
        // Without a loop the task's variables are used as they are (no copy per task).
        let looped = run.as_ref().map(|(i, item)| self.item_var_map(h, *i, item));
        let item_map: &Map<String, Value> = looped.as_ref().unwrap_or(&*var_map);
        let item_vars = match &looped {
            Some(m) => self.e.context(m),
            None => vars.clone(),
        };
        if run.is_some() {
            // `delegate_to` is rendered per item, before `when` (TaskExecutor._execute_internal).
            self.delegated
                .replace(delegated_label(self.e, h, self.t, &item_vars));
        }
        match first_false(self.e, &item_vars, &self.t.when, "when") {
            Ok(None) => {}
            Ok(Some(c)) => {
                return self.skip_item(h, run.as_ref(), Some(c), item_map, item_started, tally);
            }
            Err(err) => {
                return self.fail_item(h, &err, run.as_ref(), item_map, item_started, tally);
            }
        }
        // The keywords left templated (a looped task's) are rendered with the item's variables.
        let resolved = match super::keywords::resolve(self.e, self.t, &item_vars, |_| true) {
            Ok(t) => t,
            Err(err) => {
                tally.all_skipped = false;
                return self.fail_item(h, &err, run.as_ref(), item_map, item_started, tally);
            }
        };
        let per_item;
        let this = match &resolved {
            Cow::Borrowed(_) => self,
            Cow::Owned(t) => {
                per_item = TaskRun {
                    e: self.e,
                    t,
                    ctx: self.ctx,
                    module: self.module,
                    args: self.args,
                    name: self.name.clone(),
                    loop_var: self.loop_var.clone(),
                    items: self.items.clone(),
                    delegated: self.delegated.clone(),
                };
                &per_item
            }
        };
        let loop_vars = run.as_ref().map(|(i, item)| self.loop_vars(*i, item));
        // A delegated task's action also sees the variables of the host it is delegated to.
        let action_map = delegated_vars::with_delegated(
            self.e,
            h,
            self.ctx,
            this.t,
            (&item_vars, item_map),
            loop_vars.as_ref().unwrap_or(&Map::new()),
        );
        let outcome = this.attempt_until(h, &item_vars, &action_map).await;
        // A module that skipped itself (check mode) leaves the task skipped, as in Ansible.
        if !outcome.result.skipped_check_mode {
            tally.all_skipped = false;
        }
        this.record(h, run.as_ref(), item_map, &outcome, item_started, tally);
        if self.module == "set_fact" || self.module == "include_vars" {
            *var_map = self::var_map(self.e, h, self.ctx, self.t);
        }
    }

    /// The variables of loop item `item` (number `i`): the task's, with the loop variable and
    /// `index_var`, which the task's own variables may refer to.
    fn item_var_map(&self, h: &HostRun, i: usize, item: &Value) -> Map<String, Value> {
        let loop_vars = self.loop_vars(i, item);
        let mut m = var_map_with(self.e, HostLayers::of(h), self.ctx, self.t, &loop_vars);
        m.extend(loop_vars);
        m
    }

    /// What loop item `i` adds to the variables and to its registered result ([`loop_vars`]).
    fn loop_vars(&self, i: usize, item: &Value) -> Map<String, Value> {
        loop_vars(self.t, &self.loop_var, &self.items, i, item)
    }

    /// After loop item `run` gave its result (the last of `tally.results`), as ansible-core
    /// 2.19.14's `_run_loop` goes on: the registered variable holds that item's result for what
    /// follows (the label, the next items' conditions), then `loop_control.label` is rendered
    /// with it, else the item itself names the item. A label that cannot be rendered fails the
    /// item (`failed`, and `msg` "Failed to template loop_control.label: ..." in its result):
    /// the second value. Nothing for a task without a loop.
    fn after_item(
        &self,
        h: &mut HostRun,
        item_map: &Map<String, Value>,
        run: Option<&(usize, Value)>,
        tally: &mut Tally,
    ) -> (Option<String>, Option<String>) {
        let Some((_, item)) = run else {
            return (None, None);
        };
        let last = tally.results.last().cloned().unwrap_or(Value::Null);
        if let Some(reg) = &self.t.register {
            Arc::make_mut(&mut h.vars).insert(reg.clone(), last.clone());
        }
        let Some(label) = &self.t.loop_label else {
            return (
                Some(match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                None,
            );
        };
        let c = match &self.t.register {
            Some(reg) => {
                let mut m = item_map.clone();
                m.insert(reg.clone(), last);
                self.e.context(&m)
            }
            None => self.e.context(item_map),
        };
        match self.e.templates.render_value(
            &json!(label),
            &c,
            &self.t.location,
            "loop_control.label",
        ) {
            Ok(Value::String(s)) => (Some(s), None),
            Ok(v) => (Some(v.to_string()), None),
            Err(err) => {
                let msg = format!(
                    "Failed to template loop_control.label: {}",
                    err.bare_message()
                );
                if let Some(Value::Object(m)) = tally.results.last_mut() {
                    m.insert("failed".into(), json!(true));
                    m.insert("msg".into(), json!(msg));
                }
                if let (Some(reg), Some(last)) = (&self.t.register, tally.results.last()) {
                    Arc::make_mut(&mut h.vars).insert(reg.clone(), last.clone());
                }
                tally.any_failed = true;
                tally.any_failed_key = true;
                tally.all_skipped = false;
                (Some(label.clone()), Some(msg))
            }
        }
    }

    /// Reports an item that failed before or after its action (its `when`, its keywords, its
    /// label) with `msg`.
    fn report_item_failure(
        &self,
        h: &mut HostRun,
        label: Option<String>,
        msg: String,
        item_started: Instant,
        tally: &mut Tally,
    ) {
        let r = ModuleResult::fail(msg);
        tally.failure = self.report(
            h,
            self.failed_status(),
            label,
            Some(&r),
            None,
            item_started.elapsed(),
        );
    }

    /// `when` is false: the item is skipped.
    fn skip_item(
        &self,
        h: &mut HostRun,
        run: Option<&(usize, Value)>,
        false_condition: Option<&str>,
        item_map: &Map<String, Value>,
        item_started: Instant,
        tally: &mut Tally,
    ) {
        let mut skipped = skipped_result(false_condition);
        if let (Some((i, item)), Some(m)) = (run, skipped.as_object_mut()) {
            m.extend(self.loop_vars(*i, item));
        }
        tally.results.push(skipped);
        let (label, label_error) = self.after_item(h, item_map, run, tally);
        if let Some(msg) = label_error {
            return self.report_item_failure(h, label, msg, item_started, tally);
        }
        self.report(
            h,
            TaskStatus::Skipped,
            label,
            None,
            None,
            item_started.elapsed(),
        );
    }

    /// `when` cannot be evaluated: the item fails (or is ignored).
    fn fail_item(
        &self,
        h: &mut HostRun,
        err: &dyn std::fmt::Display,
        run: Option<&(usize, Value)>,
        item_map: &Map<String, Value>,
        item_started: Instant,
        tally: &mut Tally,
    ) {
        tally.any_failed = true;
        tally.any_failed_key = true;
        tally.all_skipped = false;
        let msg = err.to_string();
        tally
            .results
            .push(ModuleResult::fail(msg.clone()).to_registered());
        let (label, _) = self.after_item(h, item_map, run, tally);
        self.report_item_failure(h, label, msg, item_started, tally);
    }

    /// The action, with `changed_when` and `failed_when` applied to its result, run again
    /// while `until` is false (`retries` times more, `delay` seconds apart), as Ansible's
    /// `TaskExecutor._execute`: `retries` without `until` retries until the result has not
    /// failed; `attempts` is in the result before `changed_when`/`failed_when` see it, and
    /// `until` sees the result they changed; out of attempts, the result fails with
    /// `attempts` one less than the runs made (Ansible's `retries - 1`).
    async fn attempt_until(
        &self,
        h: &mut HostRun,
        item_vars: &Ctx,
        item_map: &Map<String, Value>,
    ) -> Outcome {
        let t = self.t;
        let runs = match (t.retries, &t.until) {
            (Some(r), _) => r.saturating_add(1),
            (None, Some(_)) => 4,
            (None, None) => 1,
        };
        let checks = !t.changed_when.is_empty() || !t.failed_when.is_empty() || runs > 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut o = action(
                self.e,
                h,
                self.ctx,
                t,
                self.module,
                self.args,
                item_vars,
                item_map,
            )
            .await;
            if !checks || o.result.unreachable || o.raised {
                return o;
            }
            if runs > 1 {
                o.result.data.insert("attempts".into(), json!(attempt));
            }
            // Ansible evaluates them only on a result without `skipped`.
            let skipped = o.result.skipped_check_mode
                || o.result
                    .data
                    .get("skipped")
                    .is_some_and(|v| v == &json!(true));
            if !skipped {
                let check_vars = result_vars(t, item_vars, item_map, &o.result.to_registered());
                self.apply_checks(&mut o.result, &check_vars);
            }
            o.registered = o.result.to_registered();
            if runs == 1 {
                return o;
            }
            let check_vars = result_vars(t, item_vars, item_map, &o.registered);
            let done = match &t.until {
                Some(until) => {
                    conditions(self.e, &check_vars, std::slice::from_ref(until), "until")
                        .unwrap_or(false)
                }
                None => !o.result.failed,
            };
            if done {
                return o;
            }
            if attempt < runs && !self.e.stopping() {
                tokio::time::sleep(Duration::from_secs_f64(t.delay.unwrap_or(5.0))).await;
                continue;
            }
            o.result.failed = true;
            o.result
                .data
                .insert("attempts".into(), json!(runs.saturating_sub(1)));
            o.registered = o.result.to_registered();
            return o;
        }
    }

    /// `changed_when` and `failed_when` over a result, as Ansible's `TaskExecutor._execute`: a
    /// condition that cannot be evaluated fails the task, the module's result kept, the error
    /// in `changed_when_result` or `failed_when_result` (`failed_when` is not evaluated after
    /// a `changed_when` error). A failure `failed_when` turns off keeps its `exception` as
    /// `failed_when_suppressed_exception`.
    fn apply_checks(&self, r: &mut ModuleResult, check_vars: &Ctx) {
        let t = self.t;
        if !t.changed_when.is_empty() {
            match conditions(self.e, check_vars, &t.changed_when, "changed_when") {
                Ok(c) => r.changed = c,
                Err(err) => {
                    r.failed = true;
                    r.data
                        .insert("changed_when_result".into(), json!(condition_error(&err)));
                    return;
                }
            }
        }
        if !t.failed_when.is_empty() {
            match conditions(self.e, check_vars, &t.failed_when, "failed_when") {
                Ok(f) => {
                    if r.failed && !f {
                        r.data.insert(
                            "failed_when_suppressed_exception".into(),
                            json!(clearfleet_modules::result::NO_TRACEBACK),
                        );
                    }
                    r.failed = f;
                    // Ansible registers what the condition gave.
                    r.data.insert("failed_when_result".into(), json!(f));
                    if f && r.msg.is_none() {
                        r.msg = Some("failed_when condition was true".to_owned());
                    }
                }
                Err(err) => {
                    r.failed = true;
                    r.data
                        .insert("failed_when_result".into(), json!(condition_error(&err)));
                }
            }
        }
    }

    /// Adds an item's outcome to the tally and reports it.
    fn record(
        &self,
        h: &mut HostRun,
        run: Option<&(usize, Value)>,
        item_map: &Map<String, Value>,
        outcome: &Outcome,
        item_started: Instant,
        tally: &mut Tally,
    ) {
        // ansible-core `_process_pending_results`: an unreachable result under
        // `ignore_unreachable` leaves the host in the play, counted `ok` and `ignored`.
        let ignored = outcome.result.unreachable && self.t.ignore_unreachable;
        let status = match ignored {
            true => TaskStatus::UnreachableIgnored,
            false => status_of(&outcome.result, self.t.ignore_errors),
        };
        tally.any_changed |= outcome.result.changed;
        tally.unreachable_ignored |= ignored;
        let failed = is_failed(&outcome.result) && !ignored;
        tally.any_failed |= failed || (outcome.result.unreachable && !ignored);
        tally.any_failed_key |= outcome.result.failed && !ignored;
        let mut reg = outcome.registered.clone();
        if let (Some((i, item)), Some(m)) = (run, reg.as_object_mut()) {
            m.extend(self.loop_vars(*i, item));
        }
        tally.results.push(reg);
        if outcome.result.unreachable && !ignored {
            h.unreachable = true;
        }
        let (label, label_error) = self.after_item(h, item_map, run, tally);
        if let (Some(msg), false) = (label_error, failed || outcome.result.unreachable) {
            return self.report_item_failure(h, label, msg, item_started, tally);
        }
        let msg = self.report(
            h,
            status,
            label,
            Some(&outcome.result),
            outcome.shown.clone(),
            item_started.elapsed(),
        );
        if failed {
            tally.failure = with_stderr_reason(self.e, msg, &outcome.result);
        }
    }

    /// After the last item: `register`, the task's status on the host (failing it), the
    /// failed task's variables for `rescue`, the recap, `notify`.
    fn finish(&self, h: &mut HostRun, looped: bool, mut tally: Tally) {
        self.register(h, looped, &mut tally);
        if tally.any_failed && !self.t.ignore_errors {
            h.failed = true;
        }
        let status = if h.unreachable {
            TaskStatus::Unreachable
        } else if tally.any_failed {
            self.failed_status()
        } else if tally.unreachable_ignored {
            TaskStatus::UnreachableIgnored
        } else if tally.all_skipped {
            TaskStatus::Skipped
        } else if tally.any_changed {
            TaskStatus::Changed
        } else {
            TaskStatus::Ok
        };
        if status == TaskStatus::Failed {
            self.note_failed_task(h, looped, &tally);
        }
        count(
            h,
            self.t,
            &self.name,
            status,
            tally.any_changed,
            tally.failure,
        );
        if tally.any_changed {
            for n in &self.t.notify {
                if !h.notified.contains(n) {
                    h.notified.push(n.clone());
                }
            }
        }
    }

    /// `register`: the items' results under `results` for a loop, else the one result (taken
    /// out of the tally).
    fn register(&self, h: &mut HostRun, looped: bool, tally: &mut Tally) {
        let Some(reg) = &self.t.register else {
            return;
        };
        let value = if looped {
            // As Ansible's `TaskExecutor.run`: `failed` only when an item failed.
            let mut v = json!({
                "results": tally.results,
                "changed": tally.any_changed,
                "skipped": tally.all_skipped,
                "msg": if tally.any_failed_key {
                    "One or more items failed"
                } else if tally.all_skipped {
                    "All items skipped"
                } else {
                    "All items completed"
                },
            });
            if let (true, Some(m)) = (tally.any_failed_key, v.as_object_mut()) {
                m.insert("failed".into(), json!(true));
            }
            v
        } else {
            tally
                .results
                .pop()
                .unwrap_or_else(|| json!({"skipped": true}))
        };
        Arc::make_mut(&mut h.vars).insert(reg.clone(), value);
    }

    /// For `rescue` and `always`, as Ansible's `ansible_failed_task`/`_result`: the task's
    /// whole result (its `stderr` too) whether registered or not, except under `no_log`.
    fn note_failed_task(&self, h: &mut HostRun, looped: bool, tally: &Tally) {
        let t = self.t;
        let result = t
            .register
            .as_ref()
            .and_then(|r| h.vars.get(r).cloned())
            .or_else(|| match (looped, tally.results.last()) {
                (false, Some(r)) if !t.no_log => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| json!({"failed": true, "msg": tally.failure.clone()}));
        self.set_failed_task(h, result);
    }

    /// `ansible_failed_task` is the task as Ansible serializes it: its own `name` (no role
    /// prefix, `''` when it has none) and `action`.
    fn set_failed_task(&self, h: &mut HostRun, result: Value) {
        Arc::make_mut(&mut h.vars).insert(
            "ansible_failed_task".to_owned(),
            json!({"name": self.t.name.clone().unwrap_or_default(), "action": self.module}),
        );
        Arc::make_mut(&mut h.vars).insert("ansible_failed_result".to_owned(), result);
    }
}

/// A condition that cannot be evaluated, in the words of Ansible's `*_when_result`.
fn condition_error(err: &TemplateError) -> String {
    format!("Error while evaluating conditional: {}", err.bare_message())
}

/// The message a result shows: its `msg`, or for a failure without one, the error of the
/// `changed_when`/`failed_when` condition that could not be evaluated.
fn shown_msg(r: &ModuleResult) -> Option<String> {
    let condition_error = || {
        ["changed_when_result", "failed_when_result"]
            .iter()
            .find_map(|k| r.data.get(*k).and_then(Value::as_str).map(str::to_owned))
    };
    match &r.msg {
        Some(m) if !m.is_empty() => Some(m.clone()),
        _ if r.failed => condition_error().or_else(|| r.msg.clone()),
        _ => r.msg.clone(),
    }
}

/// What `changed_when`, `failed_when` and `until` see: the result under the `register` name
/// and its fields as bare names, layered over the task's variables (only the result is new).
fn result_vars(
    t: &Task,
    item_vars: &Ctx,
    item_map: &Map<String, Value>,
    registered: &Value,
) -> Ctx {
    let mut result_vars = Map::new();
    for (k, v) in registered.as_object().into_iter().flatten() {
        if !item_map.contains_key(k) {
            result_vars.insert(k.clone(), v.clone());
        }
    }
    if let Some(reg) = &t.register {
        result_vars.insert(reg.clone(), registered.clone());
    }
    Templates::layered([item_vars.clone(), Templates::context_map(&result_vars)])
}

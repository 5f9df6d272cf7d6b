//! One task on one host: variables, `when`, `loop`, templated arguments, the module (or an
//! engine-level action such as `debug` or `set_fact`), `until`/`retries`, `changed_when`,
//! `failed_when`, `register`, `notify` and `ignore_errors`; then the result as an event.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::host::HostRun;
use super::remote::SshRemote;
use super::{Engine, PlayCtx};
use clearfleet_events::{EventKind, TaskResult, TaskStatus};
use clearfleet_modules::{LocalRemote, ModuleCall, ModuleContext, ModuleResult, Remote};
use clearfleet_playbook::{Task, TaskBody};
use clearfleet_ssh::{Become, SshSettings};
use clearfleet_template::{Templates, Value as Ctx};

const NO_LOG: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

pub(crate) fn display_name(t: &Task) -> String {
    match (&t.name, &t.body) {
        (Some(n), _) => n.clone(),
        (None, TaskBody::Module { module, .. }) => module.clone(),
        (None, _) => "block".to_owned(),
    }
}

/// The task's name with its templates rendered for a host (the raw name if they cannot be).
pub(crate) fn rendered_name(e: &Engine, t: &Task, vars: &Ctx) -> String {
    let name = display_name(t);
    if !Templates::is_template(&name) {
        return name;
    }
    match e.templates.render(&name, vars, &t.location, "task name") {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => name,
    }
}

/// The variables a task sees on a host, lowest precedence first: inventory, play vars, facts,
/// registered and set_fact values, task vars, extra vars.
pub(crate) fn vars_for(e: &Engine, h: &HostRun, ctx: &PlayCtx<'_>, t: &Task) -> Ctx {
    e.context(&var_map(e, h, ctx, t))
}

fn var_map(e: &Engine, h: &HostRun, ctx: &PlayCtx<'_>, t: &Task) -> Map<String, Value> {
    var_map_with(e, h, ctx, t, &Map::new())
}

/// [`var_map`] with the loop variables of one item (`item`, `index_var`), which variables
/// written by the user may refer to (`vars: {path: "/x/{{ item }}"}`).
fn var_map_with(
    e: &Engine,
    h: &HostRun,
    ctx: &PlayCtx<'_>,
    t: &Task,
    loop_vars: &Map<String, Value>,
) -> Map<String, Value> {
    // Variables written by the user (inventory, play vars, vars_files, task vars) may refer to
    // any other variable, whatever its layer: Ansible templates them when they are used. Here
    // they are layered raw, then rendered in the full context until nothing changes (chains
    // of references resolve in a few passes). Registered results, facts and extra vars are
    // data, never templated again (a registered stdout containing `{{` stays text).
    let mut vars = h.inventory_vars.clone();
    let mut lazy: Vec<String> = h
        .inventory_vars
        .iter()
        .filter(|(_, v)| has_template(v))
        .map(|(k, _)| k.clone())
        .collect();
    let layer = |m: &Map<String, Value>,
                 vars: &mut Map<String, Value>,
                 lazy: &mut Vec<String>,
                 templated: bool| {
        for (k, v) in m {
            vars.insert(k.clone(), v.clone());
            lazy.retain(|x| x != k);
            if templated && has_template(v) {
                lazy.push(k.clone());
            }
        }
    };
    layer(&ctx.vars, &mut vars, &mut lazy, true);
    layer(&h.facts, &mut vars, &mut lazy, false);
    layer(&h.vars, &mut vars, &mut lazy, false);
    let task_vars: Map<String, Value> = t.vars.clone().into_iter().collect();
    layer(&task_vars, &mut vars, &mut lazy, true);
    layer(loop_vars, &mut vars, &mut lazy, false);
    // The caller's per-host values (clearfleet upgrade's detected state and plan): data, never
    // templates.
    if let Some(hv) = e.options.host_vars.get(&h.name) {
        layer(hv, &mut vars, &mut lazy, false);
    }
    layer(&e.options.extra_vars, &mut vars, &mut lazy, false);
    for _ in 0..8 {
        if lazy.is_empty() {
            break;
        }
        let c = e.context(&vars);
        let mut progress = false;
        let mut still = Vec::new();
        for k in lazy {
            let Some(v) = vars.get(&k) else { continue };
            match e
                .templates
                .render_value(v, &c, &t.location, &format!("variable `{k}`"))
            {
                Ok(new) => {
                    if has_template(&new) && new != *v {
                        still.push(k.clone());
                    }
                    if new != *v {
                        progress = true;
                        vars.insert(k, new);
                    }
                }
                // It may need a variable that is itself not rendered yet: try again.
                Err(_) => still.push(k),
            }
        }
        lazy = still;
        if !progress {
            break;
        }
    }
    // What still cannot render refers to something undefined: the variable is undefined too
    // (a use reports it; `| default(...)` still works), never its raw template text.
    for k in lazy {
        let c = e.context(&vars);
        if let Some(v) = vars.get(&k)
            && e.templates
                .render_value(v, &c, &t.location, &format!("variable `{k}`"))
                .is_err()
        {
            vars.remove(&k);
        }
    }
    vars
}

/// Whether a variable's value holds a template anywhere inside.
fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => Templates::is_template(s),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

/// Reports an `include_tasks` that loaded on a host (`ok`, as Ansible counts it).
pub(crate) fn included(e: &Engine, h: &mut HostRun, t: &Task, path: &str) {
    h.recap.ok += 1;
    e.emit(EventKind::TaskResult(Box::new(TaskResult {
        host: h.name.clone(),
        task: display_name(t),
        location: t.location.to_string(),
        status: TaskStatus::Ok,
        item: None,
        msg: Some(format!("included: {path}")),
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        diff: None,
        duration: Duration::ZERO,
    })));
}

/// Marks a host failed by something outside a module (an include that does not load).
pub(crate) fn fail_host(e: &Engine, h: &mut HostRun, t: &Task, msg: &str) {
    h.failed = true;
    h.count_failure(display_name(t), t.location.to_string(), msg.to_owned());
    e.emit(EventKind::TaskResult(Box::new(TaskResult {
        host: h.name.clone(),
        task: display_name(t),
        location: t.location.to_string(),
        status: TaskStatus::Failed,
        item: None,
        msg: Some(msg.to_owned()),
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        diff: None,
        duration: Duration::ZERO,
    })));
}

/// Gathers facts on one host (one round trip).
pub(crate) async fn gather(e: &Engine, h: &mut HostRun, ssh: &SshSettings) {
    let started = Instant::now();
    let name = h.name.clone();
    let result = match h.connection(ssh).await {
        Err(msg) => Err((true, msg)),
        Ok(conn) => {
            let remote = SshRemote {
                host: &name,
                connection: conn,
                become_: None,
                environment: &Default::default(),
                timeout: None,
            };
            match remote
                .run(
                    &format!(
                        "sh -c {}",
                        clearfleet_base::shell::quote(super::facts::SCRIPT)
                    ),
                    None,
                    None,
                )
                .await
            {
                Ok(out) => Ok(super::facts::parse(&out.stdout_text())),
                Err(err) => Err((
                    matches!(err, clearfleet_modules::RemoteError::Unreachable(_)),
                    err.to_string(),
                )),
            }
        }
    };
    let (status, msg) = match result {
        Ok(facts) => {
            h.facts = facts;
            h.recap.ok += 1;
            (TaskStatus::Ok, None)
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

/// The effective become for a task on a host: the task's keywords over the host's defaults.
fn become_of(h: &HostRun, t: &Task) -> Option<Become> {
    let spec = t.become_.as_ref();
    let enabled = spec
        .and_then(|s| s.enabled)
        .unwrap_or(h.plan.become_.is_some());
    if !enabled {
        return None;
    }
    let mut b = h.plan.become_settings.clone();
    if let Some(user) = spec.and_then(|s| s.user.clone()) {
        b.user = user;
    }
    Some(b)
}

/// One run of the task's action (one loop item), before `changed_when`/`failed_when`.
struct Outcome {
    result: ModuleResult,
    registered: Value,
}

async fn action(
    e: &Engine,
    h: &mut HostRun,
    t: &Task,
    module: &str,
    args: &Value,
    vars: &Ctx,
    var_map: &Map<String, Value>,
) -> Outcome {
    let fail = |msg: String| {
        let r = ModuleResult::fail(msg);
        let registered = r.to_registered();
        Outcome {
            result: r,
            registered,
        }
    };
    let rendered = match e.templates.render_value(
        args,
        vars,
        &t.location,
        &format!("task `{}`", display_name(t)),
    ) {
        Ok(v) => v,
        Err(err) => return fail(err.to_string()),
    };
    match module {
        "debug" => {
            let msg = if let Some(var) = rendered.get("var").and_then(Value::as_str) {
                let expr = format!("{{{{ {var} }}}}");
                match e.templates.render(&expr, vars, &t.location, "debug var") {
                    Ok(v) => format!("{var}: {}", v),
                    Err(err) => return fail(err.to_string()),
                }
            } else {
                match rendered.get("msg") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => "Hello world!".to_owned(),
                }
            };
            let r = ModuleResult::ok().with_msg(msg);
            let registered = r.to_registered();
            Outcome {
                result: r,
                registered,
            }
        }
        "fail" => fail(
            rendered
                .get("msg")
                .and_then(Value::as_str)
                .unwrap_or("Failed as requested from task")
                .to_owned(),
        ),
        "assert" => {
            let that: Vec<String> = match args.get("that") {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => return fail("assert: `that` is required".to_owned()),
            };
            for cond in &that {
                match e.templates.condition(cond, vars, &t.location, "assert") {
                    Ok(true) => {}
                    Ok(false) => {
                        let msg = rendered
                            .get("fail_msg")
                            .or_else(|| rendered.get("msg"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .unwrap_or_else(|| "Assertion failed".to_owned());
                        let mut r = ModuleResult::fail(msg);
                        r.data.insert("assertion".into(), json!(cond));
                        r.data.insert("evaluated_to".into(), json!(false));
                        let registered = r.to_registered();
                        return Outcome {
                            result: r,
                            registered,
                        };
                    }
                    Err(err) => return fail(err.to_string()),
                }
            }
            let msg = rendered
                .get("success_msg")
                .and_then(Value::as_str)
                .unwrap_or("All assertions passed");
            let r = ModuleResult::ok().with_msg(msg);
            let registered = r.to_registered();
            Outcome {
                result: r,
                registered,
            }
        }
        "set_fact" => {
            if let Value::Object(m) = &rendered {
                for (k, v) in m {
                    if k != "cacheable" {
                        h.vars.insert(k.clone(), v.clone());
                    }
                }
            }
            let mut r = ModuleResult::ok();
            r.data.insert("ansible_facts".into(), rendered.clone());
            let registered = r.to_registered();
            Outcome {
                result: r,
                registered,
            }
        }
        "pause" => {
            let secs = rendered.get("seconds").and_then(num).unwrap_or(0.0)
                + 60.0 * rendered.get("minutes").and_then(num).unwrap_or(0.0);
            if rendered.get("prompt").is_some() && secs == 0.0 {
                return fail(
                    "pause: interactive prompts are not supported; give seconds or minutes"
                        .to_owned(),
                );
            }
            tokio::time::sleep(Duration::from_secs_f64(secs.max(0.0))).await;
            let r = ModuleResult::ok().with("delta", json!(secs));
            let registered = r.to_registered();
            Outcome {
                result: r,
                registered,
            }
        }
        _ => {
            let mut rendered = rendered;
            if module == "template" {
                match render_template_file(e, &rendered, var_map) {
                    Ok(content) => {
                        if let Some(m) = rendered.as_object_mut() {
                            m.insert("_rendered".into(), json!(content));
                        }
                    }
                    Err(msg) => return fail(msg),
                }
            }
            let call = match ModuleCall::parse(module, &rendered) {
                Ok(c) => c,
                Err(err) => return fail(format!("{module}: {}", err.message)),
            };
            let mut env: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
            for (k, v) in &t.environment {
                let v = match e
                    .templates
                    .render_value(&json!(v), vars, &t.location, "environment")
                {
                    Ok(Value::String(s)) => s,
                    Ok(other) => other.to_string(),
                    Err(err) => return fail(err.to_string()),
                };
                env.insert(k.clone(), v);
            }
            let timeout = t
                .timeout
                .map(Duration::from_secs)
                .or(e.config.command_timeout);
            let result = if t.delegate_to.is_some() {
                let remote = super::remote::DelegatedRemote {
                    local: LocalRemote::new(h.name.clone()),
                    environment: &env,
                    timeout,
                };
                run_module(e, t, &call, &remote, false).await
            } else {
                let become_ = become_of(h, t);
                let ssh = e.config.ssh.clone();
                let name = h.name.clone();
                match h.connection(&ssh).await {
                    Err(msg) => {
                        let mut r = ModuleResult::fail(msg);
                        r.unreachable = true;
                        r
                    }
                    Ok(conn) => {
                        let remote = SshRemote {
                            host: &name,
                            connection: conn,
                            become_: become_.clone(),
                            environment: &env,
                            timeout,
                        };
                        run_module(e, t, &call, &remote, become_.is_some()).await
                    }
                }
            };
            let registered = result.to_registered();
            Outcome { result, registered }
        }
    }
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
        TaskStatus::Ignored => {
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

fn render_template_file(
    e: &Engine,
    args: &Value,
    vars: &Map<String, Value>,
) -> Result<String, String> {
    let src = args
        .get("src")
        .and_then(Value::as_str)
        .ok_or_else(|| "template: `src` is required".to_owned())?;
    let candidates = [
        e.playbook_dir.join("templates").join(src),
        e.playbook_dir.join(src),
        std::path::PathBuf::from(src),
    ];
    let path = candidates.iter().find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "template: could not find `{src}` (looked in templates/ and the playbook directory)"
        )
    })?;
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("template: {}: {err}", path.display()))?;
    e.templates
        .render_file(&path.display().to_string(), &text, &e.context(vars))
        .map_err(|err| err.to_string())
}

async fn run_module<R: Remote>(
    e: &Engine,
    t: &Task,
    call: &ModuleCall,
    remote: &R,
    become_: bool,
) -> ModuleResult {
    let ctx = ModuleContext {
        remote,
        // The task's `check_mode:` wins over `--check`, as in Ansible.
        check_mode: t.check_mode.unwrap_or(e.options.check),
        diff: e.options.diff,
        become_,
        controller_dir: &e.playbook_dir,
    };
    call.run(&ctx).await
}

fn status_of(r: &ModuleResult, ignore_errors: bool) -> TaskStatus {
    if r.unreachable {
        TaskStatus::Unreachable
    } else if r.failed {
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
    let TaskBody::Module { module, args } = &t.body else {
        return;
    };
    let mut var_map = var_map(e, h, ctx, t);
    let vars = e.context(&var_map);
    let name = rendered_name(e, t, &vars);
    h.current = Some(name.clone());
    e.emit(EventKind::HostTask {
        host: h.name.clone(),
        task: name.clone(),
    });
    // Every item is reported; the recap counts the task once (see `count` below).
    let report = |h: &mut HostRun,
                  status: TaskStatus,
                  item: Option<String>,
                  r: Option<&ModuleResult>,
                  msg: Option<String>,
                  dur: Duration| {
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
            item
        };
        let msg = msg.or_else(|| r.and_then(|r| r.msg.clone()));
        let msg = if hide && msg.is_some() {
            Some(NO_LOG.to_owned())
        } else {
            msg.map(|m| e.config.redactor.redact(&m))
        };
        if status == TaskStatus::Unreachable {
            h.failures.push((
                name.clone(),
                t.location.to_string(),
                msg.clone().unwrap_or_default(),
            ));
        }
        e.emit(EventKind::TaskResult(Box::new(TaskResult {
            host: h.name.clone(),
            task: name.clone(),
            location: t.location.to_string(),
            status,
            item,
            msg: msg.clone(),
            rc: r.and_then(|r| r.rc).map(i64::from),
            stdout: text(r.and_then(|r| r.stdout.as_ref())),
            stderr: text(r.and_then(|r| r.stderr.as_ref())),
            diff: if hide { None } else { r.and_then(diff_text) },
            duration: dur,
        })));
        msg
    };
    let condition = |vars: &Ctx,
                     conds: &[clearfleet_playbook::Spanned<String>],
                     what: &str|
     -> Result<bool, String> {
        for c in conds {
            match e.templates.condition(&c.value, vars, &c.location, what) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(err) => return Err(err.to_string()),
            }
        }
        Ok(true)
    };

    // Items: `loop`, else one run without an item.
    let items: Option<Vec<Value>> = match &t.loop_ {
        None => None,
        Some(l) => match e.templates.render_value(l, &vars, &t.location, "loop") {
            Ok(Value::Array(a)) if t.loop_flatten => Some(
                a.into_iter()
                    .flat_map(|v| match v {
                        Value::Array(inner) => inner,
                        other => vec![other],
                    })
                    .collect(),
            ),
            Ok(Value::Array(a)) => Some(a),
            Ok(other) => {
                let msg = format!("loop: expected a list, got {other}");
                h.failed = !t.ignore_errors;
                let status = if t.ignore_errors {
                    TaskStatus::Ignored
                } else {
                    TaskStatus::Failed
                };
                let msg = report(h, status, None, None, Some(msg), started.elapsed());
                count(h, t, &name, status, false, msg);
                return;
            }
            Err(err) => {
                h.failed = !t.ignore_errors;
                let status = if t.ignore_errors {
                    TaskStatus::Ignored
                } else {
                    TaskStatus::Failed
                };
                let msg = report(
                    h,
                    status,
                    None,
                    None,
                    Some(err.to_string()),
                    started.elapsed(),
                );
                count(h, t, &name, status, false, msg);
                return;
            }
        },
    };
    let loop_var = t.loop_var.clone().unwrap_or_else(|| "item".to_owned());
    let runs: Vec<Option<(usize, Value)>> = match &items {
        None => vec![None],
        Some(items) => items.iter().cloned().enumerate().map(Some).collect(),
    };
    let mut results = Vec::new();
    let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
    // The message of the last failed item, for the digest.
    let mut failure: Option<String> = None;
    for run in runs {
        let item_started = Instant::now();
        // Without a loop the task's variables are used as they are (no copy per task).
        let looped: Option<Map<String, Value>> = run.as_ref().map(|(i, item)| {
            let mut loop_vars = Map::new();
            loop_vars.insert(loop_var.clone(), item.clone());
            if let Some(iv) = &t.index_var {
                loop_vars.insert(iv.clone(), json!(i));
            }
            let mut m = var_map_with(e, h, ctx, t, &loop_vars);
            m.insert(loop_var.clone(), item.clone());
            if let Some(iv) = &t.index_var {
                m.insert(iv.clone(), json!(i));
            }
            m
        });
        let item_map: &Map<String, Value> = looped.as_ref().unwrap_or(&var_map);
        let label = run.as_ref().map(|(_, item)| match &t.loop_label {
            Some(l) => {
                let c = e.context(item_map);
                match e
                    .templates
                    .render_value(&json!(l), &c, &t.location, "loop_control.label")
                {
                    Ok(Value::String(s)) => s,
                    Ok(v) => v.to_string(),
                    Err(_) => l.clone(),
                }
            }
            None => match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        });
        let item_vars = match &looped {
            Some(m) => e.context(m),
            None => vars.clone(),
        };
        match condition(&item_vars, &t.when, "when") {
            Ok(true) => {}
            Ok(false) => {
                let mut skipped = json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"});
                if let (Some((_, item)), Some(m)) = (&run, skipped.as_object_mut()) {
                    m.insert(loop_var.clone(), item.clone());
                }
                results.push(skipped);
                report(
                    h,
                    TaskStatus::Skipped,
                    label,
                    None,
                    None,
                    item_started.elapsed(),
                );
                continue;
            }
            Err(msg) => {
                any_failed = true;
                all_skipped = false;
                let r = ModuleResult::fail(msg);
                results.push(r.to_registered());
                failure = report(
                    h,
                    if t.ignore_errors {
                        TaskStatus::Ignored
                    } else {
                        TaskStatus::Failed
                    },
                    label,
                    Some(&r),
                    None,
                    item_started.elapsed(),
                );
                continue;
            }
        }
        all_skipped = false;
        // until / retries
        let attempts_max = if t.until.is_some() {
            t.retries.unwrap_or(3) + 1
        } else {
            1
        };
        let mut attempt = 0;
        let checks = !t.changed_when.is_empty() || !t.failed_when.is_empty() || t.until.is_some();
        let outcome = loop {
            attempt += 1;
            let mut o = action(e, h, t, module, args, &item_vars, item_map).await;
            if !checks {
                break o;
            }
            // changed_when / failed_when see the result under the register name and its
            // fields as bare names: only the result is layered over the task's variables.
            let mut result_vars = Map::new();
            for (k, v) in o.registered.as_object().into_iter().flatten() {
                if !item_map.contains_key(k) {
                    result_vars.insert(k.clone(), v.clone());
                }
            }
            if let Some(reg) = &t.register {
                result_vars.insert(reg.clone(), o.registered.clone());
            }
            let check_vars =
                Templates::layered([item_vars.clone(), Templates::context_map(&result_vars)]);
            if !o.result.unreachable {
                if !t.changed_when.is_empty() {
                    match condition(&check_vars, &t.changed_when, "changed_when") {
                        Ok(c) => o.result.changed = c,
                        Err(msg) => o.result = ModuleResult::fail(msg),
                    }
                }
                if !t.failed_when.is_empty() {
                    match condition(&check_vars, &t.failed_when, "failed_when") {
                        Ok(f) => {
                            o.result.failed = f;
                            if f && o.result.msg.is_none() {
                                o.result.msg = Some("failed_when condition was true".to_owned());
                            }
                        }
                        Err(msg) => o.result = ModuleResult::fail(msg),
                    }
                }
            }
            o.registered = o.result.to_registered();
            if let (Some(until), false) = (&t.until, o.result.unreachable) {
                let ok =
                    condition(&check_vars, std::slice::from_ref(until), "until").unwrap_or(false);
                if let Some(m) = o.registered.as_object_mut() {
                    m.insert("attempts".into(), json!(attempt));
                }
                if !ok && attempt < attempts_max && !e.stopping() {
                    tokio::time::sleep(Duration::from_secs_f64(t.delay.unwrap_or(5.0))).await;
                    continue;
                }
                if !ok {
                    o.result.failed = true;
                    o.result
                        .msg
                        .get_or_insert_with(|| "Retries exhausted".to_owned());
                    o.registered = o.result.to_registered();
                    if let Some(m) = o.registered.as_object_mut() {
                        m.insert("attempts".into(), json!(attempt));
                    }
                }
            }
            break o;
        };
        let status = status_of(&outcome.result, t.ignore_errors);
        any_changed |= outcome.result.changed;
        any_failed |= outcome.result.failed || outcome.result.unreachable;
        let mut reg = outcome.registered.clone();
        if let (Some((_, item)), Some(m)) = (&run, reg.as_object_mut()) {
            m.insert(loop_var.clone(), item.clone());
            m.insert("ansible_loop_var".into(), json!(loop_var));
        }
        results.push(reg);
        if outcome.result.unreachable {
            h.unreachable = true;
        }
        let msg = report(
            h,
            status,
            label,
            Some(&outcome.result),
            None,
            item_started.elapsed(),
        );
        if outcome.result.failed {
            failure = with_stderr_reason(e, msg, &outcome.result);
        }
        if let TaskBody::Module { module, .. } = &t.body
            && module == "set_fact"
        {
            var_map = self::var_map(e, h, ctx, t);
        }
        if h.unreachable {
            break;
        }
    }

    // register
    if let Some(reg) = &t.register {
        let value = match (&items, results.len()) {
            (Some(_), _) => json!({
                "results": results,
                "changed": any_changed,
                "failed": any_failed,
                "skipped": all_skipped,
                "msg": if any_failed { "One or more items failed" } else { "All items completed" },
            }),
            (None, _) => results.pop().unwrap_or_else(|| json!({"skipped": true})),
        };
        h.vars.insert(reg.clone(), value);
    }
    let failed = any_failed && !t.ignore_errors;
    if failed {
        h.failed = true;
    }
    let status = if h.unreachable {
        TaskStatus::Unreachable
    } else if any_failed {
        if t.ignore_errors {
            TaskStatus::Ignored
        } else {
            TaskStatus::Failed
        }
    } else if all_skipped {
        TaskStatus::Skipped
    } else if any_changed {
        TaskStatus::Changed
    } else {
        TaskStatus::Ok
    };
    if status == TaskStatus::Failed {
        // For `rescue` and `always`, as Ansible's `ansible_failed_task`/`_result`: the task's
        // whole result (its `stderr` too) whether registered or not, except under `no_log`.
        let result = t
            .register
            .as_ref()
            .and_then(|r| h.vars.get(r).cloned())
            .or_else(|| match (&items, results.last()) {
                (None, Some(r)) if !t.no_log => Some(r.clone()),
                _ => None,
            })
            .unwrap_or_else(|| json!({"failed": true, "msg": failure.clone()}));
        h.vars.insert(
            "ansible_failed_task".to_owned(),
            json!({"name": name, "action": module}),
        );
        h.vars.insert("ansible_failed_result".to_owned(), result);
    }
    count(h, t, &name, status, any_changed, failure);
    if any_changed && !t.notify.is_empty() {
        for n in &t.notify {
            if !h.notified.contains(n) {
                h.notified.push(n.clone());
            }
        }
    }
}

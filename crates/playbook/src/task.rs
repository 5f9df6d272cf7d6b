//! Tasks, handlers and blocks: every task keyword typed and checked, loops, includes and
//! imports, with inheritance applied (the module call itself is resolved in `action`).

use super::action::{Action, canonical_module, module_call};
use super::connection;
use super::controller_keywords;
use super::cx::{Cx, File, is_identifier, shown};
use super::files::{enter, parse, read};
use super::inherit::{self, Inherited, Own};
use super::keywords::{
    BLOCK, LOOP_CONTROL, LOOP_CONTROL_UNSUPPORTED, TASK, TASK_UNSUPPORTED, TEMPLATED,
};
use super::model::{BecomeSpec, Spanned, Task, TaskBody, TemplateSite};
use super::template::is_template;
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::suggest::did_you_mean;
use clearfleet_modules::MODULES;
use clearfleet_template::lookup::LOOKUPS;
use clearfleet_yaml::syntax::{Kind, MAX_DEPTH, Node, key_text};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::Path;

/// Ansible's `poll:` default (`DEFAULT_POLL_INTERVAL`), in seconds.
pub const DEFAULT_POLL: u64 = 15;

/// One `become*` keyword of a play or task, into `become_` (string values may be templates).
pub(crate) fn become_keyword(
    cx: &mut Cx,
    f: &File,
    key: &str,
    v: &Node,
    become_: &mut BecomeSpec,
    sites: &mut Vec<TemplateSite>,
) {
    if key == "become" {
        become_.enabled = cx.bool(f, "become", v);
        return;
    }
    let s = cx.string(f, key, v);
    cx.templates(f, v, key, sites);
    match key {
        "become_user" => become_.user = s,
        "become_method" => become_.method = s,
        "become_exe" => become_.exe = s,
        _ => become_.flags = s,
    }
}

/// A list of tasks under `key` (`tasks`, `block`, …).
pub fn task_list(
    cx: &mut Cx,
    f: &File,
    n: &Node,
    key: &str,
    handlers: bool,
    parent: &Inherited,
    depth: usize,
) -> Vec<Task> {
    match &n.kind {
        Kind::Null => Vec::new(),
        Kind::Seq(items) => items
            .iter()
            .filter_map(|item| task(cx, f, item, handlers, parent, depth))
            .collect(),
        _ => {
            cx.error(
                f,
                n,
                format!("`{key}` must be a list of tasks, got {}", n.type_name()),
            );
            Vec::new()
        }
    }
}

pub(crate) fn new_task(location: clearfleet_base::diagnostic::Location) -> Task {
    Task {
        name: None,
        body: TaskBody::Module {
            module: String::new(),
            args: Value::Object(Map::new()),
            plugin: None,
        },
        when: Vec::new(),
        register: None,
        loop_: None,
        loop_with: None,
        loop_label: None,
        loop_pause: None,
        loop_extended: false,
        loop_allitems: true,
        loop_var: None,
        index_var: None,
        changed_when: Vec::new(),
        failed_when: Vec::new(),
        ignore_errors: false,
        ignore_unreachable: false,
        throttle: 0,
        retries: None,
        until: None,
        delay: None,
        no_log: false,
        check_mode: None,
        diff: None,
        module_defaults: IndexMap::new(),
        tags: Vec::new(),
        notify: Vec::new(),
        become_: None,
        environment: IndexMap::new(),
        timeout: None,
        async_: 0,
        poll: DEFAULT_POLL,
        run_once: false,
        delegate_to: None,
        delegate_facts: false,
        remote_user: None,
        connection: None,
        port: None,
        listen: Vec::new(),
        location,
        vars: IndexMap::new(),
        templates: Vec::new(),
        templated: Vec::new(),
        role: None,
        include_apply: None,
    }
}

/// One task, handler or block; `None` when it is too broken to keep (already reported).
pub fn task(
    cx: &mut Cx,
    f: &File,
    n: &Node,
    handlers: bool,
    parent: &Inherited,
    depth: usize,
) -> Option<Task> {
    if depth > MAX_DEPTH {
        cx.error(f, n, "blocks are nested too deeply");
        return None;
    }
    let what = if handlers { "a handler" } else { "a task" };
    let Some(entries) = n.as_map() else {
        cx.error(
            f,
            n,
            format!("{what} must be a mapping of keywords, got {}", shown(n)),
        );
        return None;
    };
    let Some((first, _)) = entries.first() else {
        cx.error(
            f,
            n,
            "no module/action detected in task (the mapping is empty)",
        );
        return None;
    };
    let mut task = new_task(Cx::loc(f, first));
    let is_block = entries
        .iter()
        .any(|(k, _)| matches!(key_text(k).as_str(), "block" | "rescue" | "always"));
    let mut own = Own::default();
    let mut become_ = BecomeSpec::default();
    let mut has_become = false;
    let mut sites: Vec<TemplateSite> = Vec::new();
    let mut actions: Vec<Action> = Vec::new();
    let mut unknown: Vec<(&Node, String)> = Vec::new();
    let mut args_kw: Option<&Node> = None;
    let mut loops: Vec<(String, &Node, &Node)> = Vec::new();
    let mut sections: [Option<&Node>; 3] = [None, None, None];
    let mut collections: Vec<String> = Vec::new();
    for (k, v) in entries {
        let key = key_text(k);
        if is_block && !BLOCK.contains(&key.as_str()) {
            let hint = if canonical_module(&key).is_some() {
                Some("a block cannot call a module itself: put the task under `block:`".to_owned())
            } else {
                did_you_mean(&key, BLOCK.iter().copied())
            };
            cx.error_hint(
                f,
                k,
                format!("`{key}` is not a valid keyword for a block"),
                hint,
            );
            continue;
        }
        // Ansible templates these per host; a task's own may be a template (a block's or a
        // play's must be literal: they are inherited at load time).
        if !is_block
            && TEMPLATED.contains(&key.as_str())
            && matches!(&v.kind, Kind::Str(s) if is_template(s))
        {
            if let Kind::Str(s) = &v.kind {
                cx.templates(f, v, &key, &mut sites);
                task.templated
                    .push((key.clone(), Spanned::new(s.clone(), Cx::loc(f, v))));
            }
            continue;
        }
        match key.as_str() {
            "name" => {
                task.name = cx.string(f, "name", v);
                cx.templates(f, v, "name", &mut sites);
            }
            "when" => own.when = cx.conditions(f, "when", v),
            "changed_when" => task.changed_when = cx.conditions(f, "changed_when", v),
            "failed_when" => task.failed_when = cx.conditions(f, "failed_when", v),
            "until" => task.until = until(cx, f, v),
            "register" => {
                if let Some(r) = cx.string(f, "register", v) {
                    if is_identifier(&r) {
                        task.register = Some(r);
                    } else {
                        cx.error(f, v, format!("invalid variable name in `register`: `{r}`"));
                    }
                }
            }
            "loop" | "with_items" | "with_list" => loops.push((key.clone(), k, v)),
            _ if key
                .strip_prefix("with_")
                .is_some_and(|l| LOOKUPS.contains(&l)) =>
            {
                loops.push((key.clone(), k, v));
            }
            "loop_control" => loop_control(cx, f, v, &mut task, &mut sites),
            "ignore_errors" => own.ignore_errors = cx.bool(f, "ignore_errors", v),
            "ignore_unreachable" => {
                own.ignore_unreachable = cx.bool(f, "ignore_unreachable", v);
            }
            "no_log" => own.no_log = cx.bool(f, "no_log", v),
            "check_mode" => own.check_mode = cx.bool(f, "check_mode", v),
            "diff" => own.diff = cx.bool(f, "diff", v),
            "module_defaults" => own.module_defaults = cx.module_defaults(f, v, &mut sites),
            "run_once" => own.run_once = cx.bool(f, "run_once", v),
            "delegate_facts" => own.delegate_facts = cx.bool(f, "delegate_facts", v),
            "retries" => {
                task.retries = cx
                    .uint(f, "retries", v, u64::from(u32::MAX))
                    .and_then(|r| u32::try_from(r).ok());
            }
            "delay" => task.delay = cx.number(f, "delay", v),
            "timeout" => own.timeout = cx.uint(f, "timeout", v, u64::MAX),
            "throttle" => own.throttle = cx.uint(f, "throttle", v, u64::from(u32::MAX)),
            "async" => task.async_ = cx.uint(f, "async", v, u64::MAX).unwrap_or(0),
            "poll" => task.poll = cx.uint(f, "poll", v, u64::MAX).unwrap_or(DEFAULT_POLL),
            "tags" => own.tags = cx.strings(f, "tags", v, true),
            "notify" => own.notify = cx.strings(f, "notify", v, false),
            "listen" if handlers => task.listen = cx.strings(f, "listen", v, false),
            "listen" => cx.error(f, k, "`listen` is only valid on handlers"),
            "become" | "become_user" | "become_method" | "become_flags" | "become_exe" => {
                has_become = true;
                become_keyword(cx, f, &key, v, &mut become_, &mut sites);
            }
            "environment" => own.environment = cx.environment(f, v, &mut sites),
            "vars" => own.vars = cx.vars(f, v, &mut sites),
            "delegate_to" => own.delegate_to = delegate_to(cx, f, v, &mut sites),
            "remote_user" => own.remote_user = remote_user(cx, f, v, &mut sites),
            "connection" => own.connection = connection::connection(cx, f, v, &mut sites),
            "port" => own.port = connection::port(cx, f, v, &mut sites),
            "args" => args_kw = Some(v),
            "debugger" => controller_keywords::debugger(cx, f, v),
            "collections" => collections = controller_keywords::collections(cx, f, v),
            "block" => sections[0] = Some(v),
            "rescue" => sections[1] = Some(v),
            "always" => sections[2] = Some(v),
            "action" | "local_action" => actions.push(Action {
                written: key.clone(),
                key: k,
                value: v,
            }),
            _ if TASK_UNSUPPORTED.contains(&key.as_str()) => cx.error(
                f,
                k,
                format!("the task keyword `{key}` is not supported by clearfleet"),
            ),
            _ if key.starts_with("with_") => cx.error_hint(
                f,
                k,
                format!("`{key}` loops are not supported by clearfleet"),
                Some(format!("clearfleet has the lookups {}", LOOKUPS.join(", "))),
            ),
            _ if canonical_module(&key).is_some() || cx.plugins.find(&key).is_some() => actions
                .push(Action {
                    written: key.clone(),
                    key: k,
                    value: v,
                }),
            _ => unknown.push((k, key.clone())),
        }
    }
    if has_become {
        own.become_ = Some(become_);
    }
    if !is_block && let Some(a) = actions.iter().find(|a| a.written == "local_action") {
        if own.delegate_to.is_some() {
            cx.error(
                f,
                a.key,
                "`local_action` and `delegate_to` cannot be used together",
            );
        }
        own.delegate_to = Some("localhost".to_owned());
    }
    inherit::apply(parent, own, &mut task);

    if is_block {
        let inherited = Inherited::from_parent(&task);
        let names = ["block", "rescue", "always"];
        let mut lists: [Vec<Task>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let outer = cx.collections.len();
        cx.collections.extend(collections);
        for (i, section) in sections.iter().enumerate() {
            if let Some(s) = section {
                lists[i] = task_list(cx, f, s, names[i], handlers, &inherited, depth + 1);
            }
        }
        cx.collections.truncate(outer);
        let [block, rescue, always] = lists;
        task.body = TaskBody::Block {
            block,
            rescue,
            always,
        };
        task.templates = sites;
        return Some(task);
    }

    for (k, key) in &unknown {
        let message = if actions.is_empty() && unknown.len() == 1 {
            format!("unknown module `{key}`")
        } else {
            format!("unknown task keyword or module `{key}`")
        };
        let short = key.rsplit('.').next().unwrap_or(key);
        let mut candidates: Vec<&str> = TASK.iter().chain(MODULES.iter()).copied().collect();
        if handlers {
            candidates.push("listen");
        }
        candidates.extend(["block", "rescue", "always"]);
        let foreign = key.contains('.')
            && !key.starts_with("ansible.builtin.")
            && !key.starts_with("ansible.legacy.");
        let listed: Vec<String> = cx.collections.iter().chain(&collections).cloned().collect();
        let hint = if foreign {
            Some(
                "clearfleet runs only its own `ansible.builtin` modules (see docs/playbooks.md)"
                    .to_owned(),
            )
        } else {
            let typo = did_you_mean(short, candidates);
            match controller_keywords::collections_hint(&listed) {
                Some(h) => Some(typo.map_or(h.clone(), |t| format!("{h}; or {t}"))),
                None => typo,
            }
        };
        cx.error_hint(f, k, message, hint);
    }
    if actions.len() > 1 {
        let names: Vec<&str> = actions.iter().map(|a| a.written.as_str()).collect();
        cx.error(
            f,
            actions[1].key,
            format!("conflicting action statements: {}", names.join(", ")),
        );
        return None;
    }
    let Some(action) = actions.first() else {
        if unknown.is_empty() {
            cx.error(f, first, "no module/action detected in task");
        }
        return None;
    };
    let call = module_call(cx, f, action, args_kw, &mut sites)?;
    let (module, args) = (call.module, call.args);
    if loops.len() > 1 {
        cx.error(
            f,
            loops[1].1,
            format!(
                "`{}` and `{}` cannot be used together",
                loops[0].0, loops[1].0
            ),
        );
    } else if let Some((kind, k, v)) = loops.first() {
        match kind.strip_prefix("with_") {
            Some(_) if matches!(v.kind, Kind::Null) => {
                cx.error(f, k, format!("you must specify a value when using {kind}"));
            }
            // `with_<lookup>`: the terms as written; the runner renders them and runs the lookup.
            Some(lookup) => {
                task.loop_ = Some(v.to_template_value());
                task.loop_with = Some(lookup.to_owned());
            }
            None => task.loop_ = loop_value(cx, f, v),
        }
        cx.templates(f, v, "loop", &mut sites);
    }
    let apply = match (module.as_ref(), &action.value.kind) {
        ("include_tasks" | "include_role", Kind::Map(entries)) => entries
            .iter()
            .find(|(k, _)| key_text(k) == "apply")
            .map(|(_, v)| v),
        _ => None,
    };
    if let Some(apply) = apply {
        task.include_apply = include_apply(cx, f, &task, apply, handlers, depth);
    }
    task.body = match call.plugin {
        Some(plugin) => TaskBody::Module {
            module: module.into_owned(),
            args,
            plugin: Some(plugin),
        },
        None => body(cx, f, &task, action, &module, args, &loops, handlers, depth)?,
    };
    task.templates = sites;
    Some(task)
}

/// `include_tasks`/`include_role: {apply: {...}}`: the keywords of `apply` read as a block's,
/// over what the include's tasks inherit anyway (Ansible loads `apply` as the included tasks'
/// parent block: ansible-core 2.19.14 `TaskInclude.build_parent_block`).
fn include_apply(
    cx: &mut Cx,
    f: &File,
    include: &Task,
    apply: &Node,
    handlers: bool,
    depth: usize,
) -> Option<Box<Inherited>> {
    let Kind::Map(entries) = &apply.kind else {
        cx.error(
            f,
            apply,
            format!(
                "`apply` must be a mapping of keywords, got {}",
                shown(apply)
            ),
        );
        return None;
    };
    let mut entries = entries.clone();
    entries.push((
        Node {
            kind: Kind::Str("block".to_owned()),
            ..apply.clone()
        },
        Node {
            kind: Kind::Seq(Vec::new()),
            ..apply.clone()
        },
    ));
    let block = Node {
        kind: Kind::Map(entries),
        ..apply.clone()
    };
    let parent = Inherited::for_include(include);
    let block = task(cx, f, &block, handlers, &parent, depth + 1)?;
    Some(Box::new(Inherited::from_parent(&block)))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn body(
    cx: &mut Cx,
    f: &File,
    task: &Task,
    action: &Action,
    module: &str,
    args: Value,
    loops: &[(String, &Node, &Node)],
    handlers: bool,
    depth: usize,
) -> Option<TaskBody> {
    match module {
        "import_playbook" => {
            cx.error(
                f,
                action.key,
                "`import_playbook` is only valid at the play level, not as a task",
            );
            None
        }
        "meta" => {
            let what = args
                .get("_raw_params")
                .and_then(Value::as_str)
                .unwrap_or("");
            // ansible-core 2.19.14 lib/ansible/modules/meta.py's choices.
            const METAS: [&str; 10] = [
                "flush_handlers",
                "noop",
                "end_host",
                "end_play",
                "end_batch",
                "end_role",
                "clear_facts",
                "clear_host_errors",
                "reset_connection",
                "refresh_inventory",
            ];
            if !METAS.contains(&what) {
                let hint = format!("`meta` takes one of {}", METAS.join(", "));
                cx.error_hint(
                    f,
                    action.value,
                    format!("`meta: {what}` is not supported"),
                    Some(hint),
                );
                return None;
            }
            // lib/ansible/playbook/helpers.py (load_list_of_tasks) refuses these at load.
            if what == "end_role" && handlers {
                cx.error(f, action.value, "Cannot execute 'end_role' from a handler");
                return None;
            }
            if what == "end_role" && task.role.is_none() {
                cx.error(
                    f,
                    action.value,
                    "Cannot execute 'end_role' from outside of a role",
                );
                return None;
            }
            if what == "flush_handlers" && handlers {
                cx.error(
                    f,
                    action.value,
                    "flush_handlers cannot be used as a handler",
                );
                return None;
            }
            Some(TaskBody::Module {
                module: module.to_owned(),
                args,
                plugin: None,
            })
        }
        "include_role" | "import_role" => {
            super::role::task_body(cx, f, task, action, module, &args, loops, depth)
        }
        "include_tasks" | "import_tasks" => {
            let file = args
                .get("file")
                .or_else(|| args.get("_raw_params"))
                .and_then(Value::as_str);
            let Some(file) = file.filter(|s| !s.trim().is_empty()) else {
                let at = match action.value.kind {
                    Kind::Null => action.key,
                    _ => action.value,
                };
                cx.error(f, at, format!("`{module}` needs a file name"));
                return None;
            };
            let at = file_node(action.value);
            let role = task.role.as_ref().map(|r| r.path.as_path());
            let path = super::load::include_path(&cx.source, f.dir(), file, role);
            let written = file.trim().to_owned();
            if module == "include_tasks" {
                if !is_template(file) {
                    // Checked now so a missing or broken file is reported before the run: as
                    // a warning, since Ansible reads the file only when a host reaches the
                    // include (the run fails those hosts with the same error).
                    let before = cx.diags.len();
                    let parent = task
                        .include_apply
                        .as_deref()
                        .cloned()
                        .unwrap_or_else(|| Inherited::for_include(task));
                    tasks_file(cx, f, Some(at), &path, &parent, handlers, false, depth);
                    let found: Vec<Diagnostic> = cx.diags.drain(before..).collect();
                    cx.warnings.extend(found);
                }
                return Some(TaskBody::IncludeTasks {
                    file: written.clone(),
                    static_tasks: None,
                });
            }
            if let Some((kind, k, _)) = loops.first() {
                cx.error_hint(
                    f,
                    k,
                    format!("`import_tasks` cannot be used with `{kind}`"),
                    Some("use `include_tasks` to loop over a file of tasks".to_owned()),
                );
                return None;
            }
            if is_template(file) {
                cx.error_hint(
                    f,
                    at,
                    "`import_tasks` is read before the run, so its file name cannot be templated",
                    Some("use `include_tasks` for a file chosen at run time".to_owned()),
                );
                return None;
            }
            let tasks = tasks_file(
                cx,
                f,
                Some(at),
                &path,
                &Inherited::from_parent(task),
                handlers,
                true,
                depth,
            )?;
            Some(TaskBody::IncludeTasks {
                file: written.clone(),
                static_tasks: Some(tasks),
            })
        }
        _ => Some(TaskBody::Module {
            module: module.to_owned(),
            args,
            plugin: None,
        }),
    }
}

/// The node that holds an include's file name (the `file:` value, or the free-form text).
fn file_node(v: &Node) -> &Node {
    v.as_map()
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| key_text(k) == "file")
                .map(|(_, v)| v)
        })
        .unwrap_or(v)
}

fn until(cx: &mut Cx, f: &File, v: &Node) -> Option<super::model::Spanned<String>> {
    let mut all = cx.conditions(f, "until", v);
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => {
            let location = all[0].location.clone();
            let text = all
                .iter()
                .map(|c| format!("({})", c.value))
                .collect::<Vec<_>>()
                .join(" and ");
            Some(super::model::Spanned::new(text, location))
        }
    }
}

/// `delegate_to:` the host a task runs on instead of its own (an inventory host, reached with
/// its connection settings, or the controller), or a template rendered per host when the task
/// runs. `127.0.0.1` is normalised to `localhost`.
pub(crate) fn delegate_to(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<TemplateSite>,
) -> Option<String> {
    let s = cx.string(f, "delegate_to", v)?;
    cx.templates(f, v, "delegate_to", sites);
    match s.trim() {
        "" => {
            cx.error(f, v, "`delegate_to` needs a host name");
            None
        }
        "localhost" | "127.0.0.1" => Some("localhost".to_owned()),
        name => Some(name.to_owned()),
    }
}

/// `remote_user:` a login name, or a template rendered per host when the task runs.
pub(crate) fn remote_user(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<TemplateSite>,
) -> Option<String> {
    let s = cx.string(f, "remote_user", v)?;
    cx.templates(f, v, "remote_user", sites);
    if s.trim().is_empty() {
        cx.error(f, v, "`remote_user` needs a user name");
        return None;
    }
    Some(s)
}

fn loop_value(cx: &mut Cx, f: &File, v: &Node) -> Option<Value> {
    match &v.kind {
        Kind::Seq(_) => Some(v.to_template_value()),
        Kind::Str(s) if is_template(s) => Some(Value::String(s.clone())),
        _ => {
            cx.error(
                f,
                v,
                format!(
                    "`loop` must be a list or a template that gives one, got {}",
                    shown(v)
                ),
            );
            None
        }
    }
}

fn loop_control(cx: &mut Cx, f: &File, v: &Node, task: &mut Task, sites: &mut Vec<TemplateSite>) {
    let Some(entries) = v.as_map() else {
        cx.error(
            f,
            v,
            format!("`loop_control` must be a mapping, got {}", v.type_name()),
        );
        return;
    };
    for (k, val) in entries {
        let key = key_text(k);
        match key.as_str() {
            "label" => {
                task.loop_label = cx.string(f, "loop_control.label", val);
                cx.templates(f, val, "loop_control.label", sites);
            }
            // A template is rendered per host when the task runs (as Ansible's
            // `post_validate`), and checked then; a literal value is checked here.
            "loop_var" | "index_var" | "pause" | "extended"
                if let Kind::Str(s) = &val.kind
                    && is_template(s) =>
            {
                let name = format!("loop_control.{key}");
                cx.templates(f, val, &name, sites);
                task.templated
                    .push((name, Spanned::new(s.clone(), Cx::loc(f, val))));
            }
            "loop_var" | "index_var" => {
                let name = cx.string(f, &format!("loop_control.{key}"), val);
                match name {
                    Some(n) if is_identifier(&n) => {
                        if key == "loop_var" {
                            task.loop_var = Some(n);
                        } else {
                            task.index_var = Some(n);
                        }
                    }
                    Some(n) => cx.error(
                        f,
                        val,
                        format!("invalid variable name in `loop_control.{key}`: `{n}`"),
                    ),
                    None => {}
                }
            }
            "pause" => task.loop_pause = cx.number(f, "loop_control.pause", val),
            "extended" => {
                task.loop_extended = cx.bool(f, "loop_control.extended", val) == Some(true)
            }
            "extended_allitems" => {
                task.loop_allitems =
                    cx.bool(f, "loop_control.extended_allitems", val) != Some(false);
            }
            _ if LOOP_CONTROL_UNSUPPORTED.contains(&key.as_str()) => {
                cx.error(
                    f,
                    k,
                    format!("`loop_control.{key}` is not supported by clearfleet"),
                );
            }
            _ => cx.error_hint(
                f,
                k,
                format!("unknown `loop_control` keyword `{key}`"),
                did_you_mean(&key, LOOP_CONTROL.iter().copied()),
            ),
        }
    }
}

/// The tasks of the tasks file at `path`, named by `at` in `f`. With `strict` (imports)
/// a cycle is an error; for a dynamic include (which may recurse under a condition) the
/// recursion is simply not followed at load time.
#[expect(
    clippy::too_many_arguments,
    reason = "internal; mirrors the task walk's state"
)]
pub(crate) fn tasks_file(
    cx: &mut Cx,
    f: &File,
    at: Option<&Node>,
    path: &Path,
    parent: &Inherited,
    handlers: bool,
    strict: bool,
    depth: usize,
) -> Option<Vec<Task>> {
    let from = at.map(|n| (f, n));
    if let Err(e) = enter(cx, path, "include") {
        if strict {
            match from {
                Some((f, n)) => cx.error(f, n, e.to_string()),
                None => cx.diags.push(Diagnostic::new(e.to_string())),
            }
        }
        return None;
    }
    let out = read(cx, from, path, "tasks file").map(|file| match parse(cx, &file) {
        Ok(Some(root)) => match &root.kind {
            Kind::Seq(_) => task_list(cx, &file, &root, "tasks", handlers, parent, depth + 1),
            _ => {
                cx.error(
                    &file,
                    &root,
                    format!(
                        "a tasks file must be a list of tasks, got {}",
                        root.type_name()
                    ),
                );
                Vec::new()
            }
        },
        Ok(None) | Err(()) => Vec::new(),
    });
    cx.stack.pop();
    out
}

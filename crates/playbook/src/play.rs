//! Plays and `import_playbook` entries: every play keyword typed and checked, the task
//! sections loaded with the play's keywords inherited.

use super::action::canonical_module;
use super::connection;
use super::cx::{Cx, File, shown};
use super::files::{self, empty_playbook, enter, parse, read};
use super::inherit::Inherited;
use super::keywords::{IMPORT_PLAYBOOK, PLAY, PLAY_UNSUPPORTED};
use super::model::{
    BecomeSpec, HostOrder, Play, Serial, SerialStep, Spanned, Strategy, Task, TaskBody,
};
use super::task::{become_keyword, remote_user, task_list};
use super::template::is_template;
use clearfleet_base::suggest::did_you_mean;
use clearfleet_yaml::syntax::{Kind, Node, key_text};
use indexmap::IndexMap;
use std::path::Path;

/// The plays of a playbook document (`root` must be a list), imports expanded in place.
pub fn plays(cx: &mut Cx, f: &File, root: &Node, depth: usize) -> Vec<Play> {
    let Kind::Seq(items) = &root.kind else {
        cx.error(
            f,
            root,
            format!(
                "a playbook must be a list of plays, got {}",
                root.type_name()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some(entries) = item.as_map() else {
            cx.error(
                f,
                item,
                format!(
                    "a play must be a mapping of play keywords, got {}",
                    shown(item)
                ),
            );
            continue;
        };
        let import = entries
            .iter()
            .find(|(k, _)| canonical_module(&key_text(k)) == Some("import_playbook"));
        match import {
            Some((_, v)) => out.extend(import_playbook(cx, f, item, v, depth)),
            None => out.extend(play(cx, f, item)),
        }
    }
    out
}

fn import_playbook(cx: &mut Cx, f: &File, item: &Node, target: &Node, depth: usize) -> Vec<Play> {
    let mut tags = Vec::new();
    let mut when = Vec::new();
    let mut vars = IndexMap::new();
    let mut sites = Vec::new();
    for (k, v) in item.as_map().unwrap_or_default() {
        let key = key_text(k);
        match key.as_str() {
            "name" => {
                cx.string(f, "name", v);
            }
            "tags" => tags = cx.strings(f, "tags", v, true),
            "when" => when = cx.conditions(f, "when", v),
            "vars" => vars = cx.vars(f, v, &mut sites),
            _ if canonical_module(&key) == Some("import_playbook") => {}
            _ => cx.error_hint(
                f,
                k,
                format!("`{key}` is not valid on `import_playbook`"),
                did_you_mean(&key, IMPORT_PLAYBOOK.iter().copied()),
            ),
        }
    }
    let Some(file) = target.as_str().filter(|s| !s.trim().is_empty()) else {
        cx.error(f, target, "`import_playbook` needs a playbook file name");
        return Vec::new();
    };
    if is_template(file) {
        cx.error(
            f,
            target,
            "`import_playbook` is read before the run, so its file name cannot be templated",
        );
        return Vec::new();
    }
    let path = f.dir().join(file.trim());
    let mut plays = playbook_file(cx, Some((f, target)), &path, depth + 1);
    for play in &mut plays {
        for t in &tags {
            if !play.tags.contains(t) {
                play.tags.push(t.clone());
            }
        }
        // The import's vars override the play's own, as in Ansible.
        play.vars.extend(vars.clone());
        play.templates.extend(sites.clone());
        for section in [
            &mut play.pre_tasks,
            &mut play.tasks,
            &mut play.post_tasks,
            &mut play.handlers,
        ] {
            for_each_task(section, &mut |t| {
                for tag in &tags {
                    if !t.tags.contains(tag) {
                        t.tags.push(tag.clone());
                    }
                }
                t.when.splice(0..0, when.iter().cloned());
            });
        }
    }
    plays
}

/// Calls `visit` on every task, block and imported task, depth first.
pub fn for_each_task(tasks: &mut [Task], visit: &mut dyn FnMut(&mut Task)) {
    for t in tasks {
        visit(t);
        match &mut t.body {
            TaskBody::Block {
                block,
                rescue,
                always,
            } => {
                for_each_task(block, visit);
                for_each_task(rescue, visit);
                for_each_task(always, visit);
            }
            TaskBody::IncludeTasks {
                static_tasks: Some(tasks),
                ..
            }
            | TaskBody::IncludeRole { tasks, .. } => for_each_task(tasks, visit),
            _ => {}
        }
    }
}

impl Play {
    /// ansible-core's implicit `Gathering Facts` task (`PlayIterator.__init__`,
    /// lib/ansible/executor/play_iterator.py): in a block of the play, so with the play's
    /// `become*` keywords and `remote_user`.
    pub fn gather_task(&self) -> Task {
        let mut t = super::task::new_task(self.location.clone());
        t.name = Some("Gathering Facts".to_owned());
        t.become_ = self.become_.clone();
        t.remote_user = self.remote_user.as_ref().map(|u| u.value.clone());
        t
    }
}

fn play(cx: &mut Cx, f: &File, n: &Node) -> Option<Play> {
    let entries = n.as_map()?;
    let first = entries.first().map_or(n, |(k, _)| k);
    let mut play = Play {
        name: None,
        hosts: String::new(),
        vars: IndexMap::new(),
        vars_files: Vec::new(),
        gather_facts: None,
        gather_subset: Vec::new(),
        fact_path: None,
        gather_timeout: None,
        vars_prompt: Vec::new(),
        serial: None,
        max_fail_percentage: None,
        any_errors_fatal: false,
        force_handlers: None,
        ignore_unreachable: false,
        order: HostOrder::Inventory,
        strategy: Strategy::Linear,
        remote_user: None,
        connection: None,
        port: None,
        become_: None,
        pre_tasks: Vec::new(),
        tasks: Vec::new(),
        post_tasks: Vec::new(),
        handlers: Vec::new(),
        tags: Vec::new(),
        environment: IndexMap::new(),
        templates: Vec::new(),
        role_defaults: IndexMap::new(),
        role_exports: IndexMap::new(),
        role_names: Vec::new(),
        dependent_role_names: Vec::new(),
        location: Cx::loc(f, first),
    };
    cx.roles = cx.roles.for_play(f.dir());
    let mut roles: Option<&Node> = None;
    let mut inherited = Inherited::default();
    let mut become_ = BecomeSpec::default();
    let mut has_become = false;
    let mut has_hosts = false;
    // A misspelt `hosts` already says what is wrong; do not also report it missing.
    let mut hosts_typo = false;
    let mut sections: Vec<(String, &Node)> = Vec::new();
    let mut sites = Vec::new();
    let mut collections = Vec::new();
    for (k, v) in entries {
        let key = key_text(k);
        match key.as_str() {
            "name" => {
                play.name = cx.string(f, "name", v);
                cx.templates(f, v, "name", &mut sites);
            }
            "hosts" => {
                has_hosts = true;
                play.hosts = hosts(cx, f, v);
                cx.templates(f, v, "hosts", &mut sites);
            }
            "vars" => play.vars = cx.vars(f, v, &mut sites),
            "vars_files" => play.vars_files = vars_files(cx, f, v, &mut sites),
            "gather_facts" => play.gather_facts = cx.bool(f, "gather_facts", v),
            "gather_subset" => {
                play.gather_subset = cx.strings(f, "gather_subset", v, true);
                if play.gather_subset.iter().any(|s| s.contains("{{")) {
                    cx.error(f, v, "`gather_subset` must be written out, not templated");
                }
            }
            "fact_path" => {
                play.fact_path = cx.string(f, "fact_path", v);
                cx.templates(f, v, "fact_path", &mut sites);
            }
            "gather_timeout" => play.gather_timeout = cx.uint(f, "gather_timeout", v, u64::MAX),
            "vars_prompt" => {
                play.vars_prompt = super::vars_prompt::vars_prompt(cx, f, v, &mut sites)
            }
            "collections" => collections = super::controller_keywords::collections(cx, f, v),
            "debugger" => super::controller_keywords::debugger(cx, f, v),
            "serial" => play.serial = serial(cx, f, v),
            "max_fail_percentage" => {
                play.max_fail_percentage = cx.number(f, "max_fail_percentage", v);
                if play.max_fail_percentage.is_some_and(|p| p > 100.0) {
                    cx.error(f, v, "`max_fail_percentage` must be between 0 and 100");
                }
            }
            "any_errors_fatal" => {
                play.any_errors_fatal = cx.bool(f, "any_errors_fatal", v).unwrap_or(false)
            }
            "force_handlers" => play.force_handlers = cx.bool(f, "force_handlers", v),
            "order" => play.order = order(cx, f, v),
            "strategy" => play.strategy = strategy(cx, f, v),
            "become" | "become_user" | "become_method" | "become_flags" | "become_exe" => {
                has_become = true;
                become_keyword(cx, f, &key, v, &mut become_, &mut sites);
            }
            "tags" => play.tags = cx.strings(f, "tags", v, true),
            "environment" => play.environment = cx.environment(f, v, &mut sites),
            "ignore_errors" => inherited.ignore_errors = cx.bool(f, "ignore_errors", v),
            "ignore_unreachable" => {
                inherited.ignore_unreachable = cx.bool(f, "ignore_unreachable", v);
                play.ignore_unreachable = inherited.ignore_unreachable.unwrap_or(false);
            }
            "no_log" => inherited.no_log = cx.bool(f, "no_log", v),
            "run_once" => inherited.run_once = cx.bool(f, "run_once", v),
            "throttle" => inherited.throttle = cx.uint(f, "throttle", v, u64::from(u32::MAX)),
            "timeout" => inherited.timeout = cx.uint(f, "timeout", v, u64::MAX),
            "check_mode" => inherited.check_mode = cx.bool(f, "check_mode", v),
            "diff" => inherited.diff = cx.bool(f, "diff", v),
            "module_defaults" => {
                inherited.module_defaults = cx.module_defaults(f, v, &mut sites);
            }
            "remote_user" => {
                inherited.remote_user = remote_user(cx, f, v, &mut sites);
                play.remote_user = inherited
                    .remote_user
                    .clone()
                    .map(|u| Spanned::new(u, Cx::loc(f, v)));
            }
            "connection" => {
                inherited.connection = connection::connection(cx, f, v, &mut sites);
                play.connection = inherited
                    .connection
                    .clone()
                    .map(|c| Spanned::new(c, Cx::loc(f, v)));
            }
            "port" => {
                inherited.port = connection::port(cx, f, v, &mut sites);
                play.port = inherited
                    .port
                    .clone()
                    .map(|p| Spanned::new(p, Cx::loc(f, v)));
            }
            "pre_tasks" | "tasks" | "post_tasks" | "handlers" => sections.push((key.clone(), v)),
            "roles" => roles = Some(v),
            _ if PLAY_UNSUPPORTED.contains(&key.as_str()) => cx.error(
                f,
                k,
                format!("the play keyword `{key}` is not supported by clearfleet"),
            ),
            _ => {
                let hint = did_you_mean(&key, PLAY.iter().copied());
                hosts_typo |= hint.as_deref() == Some("did you mean `hosts`?");
                let hint = hint.or_else(|| {
                    canonical_module(&key).map(|_| {
                        "this looks like a task: put it in a play's `tasks:` list".to_owned()
                    })
                });
                cx.error_hint(f, k, format!("unknown play keyword `{key}`"), hint);
            }
        }
    }
    if !has_hosts && !hosts_typo {
        cx.error_hint(
            f,
            first,
            "this play has no `hosts`",
            Some("every play needs `hosts:`, for example `hosts: all`".to_owned()),
        );
    }
    if has_become {
        play.become_ = Some(become_);
    }
    inherited.tags = play.tags.clone();
    inherited.become_ = play.become_.clone();
    inherited.environment = play.environment.clone();
    cx.collections = collections;
    // Ansible runs the roles after `pre_tasks` and before `tasks`, in the same section.
    let role_tasks = match roles {
        Some(v) => super::role::play_roles(cx, f, v, &inherited, &mut sites),
        None => Vec::new(),
    };
    for (key, v) in sections {
        let tasks = task_list(cx, f, v, &key, key == "handlers", &inherited, 0);
        match key.as_str() {
            "pre_tasks" => play.pre_tasks = tasks,
            "tasks" => play.tasks = tasks,
            "post_tasks" => play.post_tasks = tasks,
            _ => play.handlers = tasks,
        }
    }
    play.tasks.splice(0..0, role_tasks);
    cx.collections.clear();
    let roles = std::mem::take(&mut cx.roles);
    cx.roles.roles_path = roles.roles_path;
    // Handlers of `roles:` and `import_role` come before the play's own, `include_role`'s after.
    play.handlers.splice(0..0, roles.handlers);
    play.handlers.extend(roles.late_handlers);
    play.role_defaults = roles.defaults;
    play.role_exports = roles.exports;
    play.role_names = roles.play_names.into_iter().chain(roles.names).collect();
    play.dependent_role_names = roles.dependent_names;
    play.templates = sites;
    Some(play)
}

fn hosts(cx: &mut Cx, f: &File, v: &Node) -> String {
    let patterns = match &v.kind {
        Kind::Seq(items) => items
            .iter()
            .filter_map(|i| cx.string(f, "hosts", i))
            .collect(),
        Kind::Map(_) => {
            cx.error(
                f,
                v,
                "`hosts` must be a host pattern or a list of them, got a mapping",
            );
            return String::new();
        }
        _ => cx.string(f, "hosts", v).into_iter().collect::<Vec<_>>(),
    };
    let joined = patterns.join(",");
    if joined.trim().is_empty() {
        cx.error(f, v, "`hosts` is empty: name a host, a group or `all`");
    }
    joined
}

fn vars_files(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<super::model::TemplateSite>,
) -> Vec<Spanned<String>> {
    let items: Vec<&Node> = match &v.kind {
        Kind::Null => return Vec::new(),
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    for item in items {
        if let Kind::Seq(_) = item.kind {
            cx.error(
                f,
                item,
                "lists of alternative `vars_files` (first found) are not supported",
            );
            continue;
        }
        let Some(p) = cx.string(f, "vars_files", item) else {
            continue;
        };
        cx.templates(f, item, "vars_files", sites);
        if !is_template(&p) {
            files::vars_file(cx, f, item, &f.dir().join(&p));
        }
        out.push(Spanned::new(p, Cx::loc(f, item)));
    }
    out
}

fn serial_step(cx: &mut Cx, f: &File, v: &Node) -> Option<SerialStep> {
    let step = match &v.kind {
        Kind::Int(i) => u32::try_from(*i).ok().map(SerialStep::Number),
        Kind::Str(s) => {
            let s = s.trim();
            match s.strip_suffix('%') {
                Some(p) => p
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= 100)
                    .map(SerialStep::Percent),
                None => s.parse::<u32>().ok().map(SerialStep::Number),
            }
        }
        _ => None,
    };
    if step.is_none() {
        cx.error_hint(
            f,
            v,
            format!(
                "`serial` must be a number, a percentage or a list of them, got {}",
                shown(v)
            ),
            Some(
                "for example `serial: 2`, `serial: \"30%\"` or `serial: [1, 5, \"50%\"]`"
                    .to_owned(),
            ),
        );
    }
    step
}

fn serial(cx: &mut Cx, f: &File, v: &Node) -> Option<Serial> {
    match &v.kind {
        Kind::Null => None,
        Kind::Seq(items) => {
            let steps: Vec<SerialStep> =
                items.iter().filter_map(|i| serial_step(cx, f, i)).collect();
            Some(Serial::List(steps))
        }
        _ => serial_step(cx, f, v).map(|s| match s {
            SerialStep::Number(n) => Serial::Number(n),
            SerialStep::Percent(p) => Serial::Percent(p),
        }),
    }
}

/// `order:`, the values ansible-core's `InventoryManager.get_hosts` knows (any other is its
/// "Invalid 'order' specified for inventory hosts").
fn order(cx: &mut Cx, f: &File, v: &Node) -> HostOrder {
    const ORDERS: [&str; 5] = [
        "inventory",
        "reverse_inventory",
        "sorted",
        "reverse_sorted",
        "shuffle",
    ];
    match cx.string(f, "order", v).as_deref() {
        Some("inventory") | None => HostOrder::Inventory,
        Some("reverse_inventory") => HostOrder::ReverseInventory,
        Some("sorted") => HostOrder::Sorted,
        Some("reverse_sorted") => HostOrder::ReverseSorted,
        Some("shuffle") => HostOrder::Shuffle,
        Some(other) => {
            cx.error_hint(
                f,
                v,
                format!(
                    "unknown host `order` `{other}`: it is one of {}",
                    ORDERS.join(", ")
                ),
                did_you_mean(other, ORDERS),
            );
            HostOrder::Inventory
        }
    }
}

fn strategy(cx: &mut Cx, f: &File, v: &Node) -> Strategy {
    match cx.string(f, "strategy", v).as_deref() {
        Some("linear") | None => Strategy::Linear,
        Some("free") => Strategy::Free,
        Some(other) => {
            cx.error_hint(
                f,
                v,
                format!("unknown strategy `{other}`: clearfleet has `linear` and `free`"),
                did_you_mean(other, ["linear", "free"]),
            );
            Strategy::Linear
        }
    }
}

/// The plays of the playbook file at `path` (`from`: the `import_playbook` that named it).
pub(crate) fn playbook_file(
    cx: &mut Cx,
    from: Option<(&File, &Node)>,
    path: &Path,
    depth: usize,
) -> Vec<Play> {
    if let Err(e) = enter(cx, path, "import") {
        if let Some((f, n)) = from {
            cx.error(f, n, e.to_string());
        }
        return Vec::new();
    }
    cx.plugins
        .add_dir(&cx.source, path.parent().unwrap_or(Path::new("")));
    let plays = match read(cx, from, path, "playbook") {
        Some(file) => match parse(cx, &file) {
            Ok(Some(root)) => plays(cx, &file, &root, depth),
            Ok(None) => {
                cx.diags.push(empty_playbook(&file));
                Vec::new()
            }
            Err(()) => Vec::new(),
        },
        None => Vec::new(),
    };
    cx.stack.pop();
    plays
}

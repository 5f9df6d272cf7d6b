//! Roles as Ansible defines them: where a role is found (`roles/` beside the playbook, the
//! `roles_path`, the playbook's directory), what it holds (`tasks/`, `handlers/`,
//! `defaults/`, `vars/`, `meta/` dependencies) and the tasks it gives a play (`roles:`,
//! `import_role`, `include_role`), each task carrying the [`RoleScope`] it sees variables
//! through.

use super::action::Action;
use super::connection;
use super::cx::{Cx, File, shown};
use super::files::{parse, read};
use super::inherit::{self, Inherited, Own};
use super::model::{BecomeSpec, DeferredRole, RoleFrom, RoleScope, Task, TaskBody, TemplateSite};
use super::task::{become_keyword, delegate_to, new_task, remote_user, tasks_file};
use super::template::is_template;
use clearfleet_yaml::syntax::{Kind, Node, key_text};
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

type Vars = IndexMap<String, Value>;

/// Role state of one load: where roles are searched, and what the play being loaded has
/// gathered from its roles so far.
#[derive(Default)]
pub struct RoleCx {
    /// Searched after `roles/` beside the playbook (ansible.cfg `roles_path`,
    /// `ANSIBLE_ROLES_PATH`).
    pub roles_path: Vec<PathBuf>,
    /// The directory of the playbook file the current play is written in.
    pub play_dir: PathBuf,
    /// Roles already given to the play by `roles:` or as a dependency (their path, parameters
    /// and keywords): Ansible runs such a role once per play unless `allow_duplicates`.
    seen: Vec<String>,
    /// Handlers of the play's `roles:` and `import_role` roles: before the play's own.
    pub handlers: Vec<Task>,
    /// Handlers of `include_role` roles: after the play's own.
    pub late_handlers: Vec<Task>,
    /// Defaults and exported vars of the play's public roles.
    pub defaults: Vars,
    pub exports: Vars,
    /// The names of the play's `roles:` roles, then of its `import_role` roles (each after
    /// the roles it imports, as `IncludeRole.get_block_list` loads them before adding itself
    /// to `Play.roles`), and of their dependencies (`Role.get_all_dependencies`, each as
    /// often as met).
    pub play_names: Vec<String>,
    pub names: Vec<String>,
    pub dependent_names: Vec<String>,
    /// Roles being loaded, outermost first: a dependency cycle is reported.
    loading: Vec<PathBuf>,
}

impl RoleCx {
    /// A fresh state for a play written in a file in `dir`.
    pub fn for_play(&self, dir: &Path) -> RoleCx {
        RoleCx {
            roles_path: self.roles_path.clone(),
            play_dir: dir.to_path_buf(),
            ..RoleCx::default()
        }
    }
}

/// How a role comes into the play: it decides deduplication, publicity and handler order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A play's `roles:` entry.
    Play,
    /// A `meta/main.yml` dependency.
    Dependency,
    /// `import_role`.
    Import,
    /// `include_role`.
    Include,
}

/// A role as written: its name, the keywords that apply to its tasks, its `vars:` and its
/// parameters.
pub(crate) struct Spec<'n> {
    pub name: String,
    /// The node naming the role (errors point here).
    pub at: &'n Node,
    pub own: Own,
    pub vars: Vars,
    pub params: Vars,
    pub from: RoleFrom,
    /// The roles that `import_role`/`include_role` this one, innermost first
    /// ([`RoleScope::parents`]).
    pub parents: Vec<(String, PathBuf)>,
    /// Whether the role's argument spec is checked by an implicit first task
    /// (`rolespec_validate` of `import_role`/`include_role`; always for `roles:` and
    /// dependencies, as `Role.load` defaults `validate`).
    pub validate: bool,
}

/// Role keywords clearfleet implements (Ansible's `Role` attributes); any other key of a
/// role entry is a role parameter.
const ROLE_KEYWORDS: &[&str] = &[
    "when",
    "tags",
    "vars",
    "environment",
    "no_log",
    "run_once",
    "ignore_errors",
    "ignore_unreachable",
    "throttle",
    "check_mode",
    "timeout",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "delegate_to",
    "delegate_facts",
    "remote_user",
    "connection",
    "port",
    "diff",
    "module_defaults",
    "debugger",
    "collections",
];

/// Role keywords Ansible has and clearfleet does not: an error, never a parameter.
const ROLE_UNSUPPORTED: &[&str] = &["any_errors_fatal"];

/// A role entry of `roles:` or `dependencies:`: a name, or a mapping with `role:` (or
/// `name:`), keywords and parameters.
pub(crate) fn spec<'n>(
    cx: &mut Cx,
    f: &File,
    n: &'n Node,
    sites: &mut Vec<TemplateSite>,
) -> Option<Spec<'n>> {
    let mut out = Spec {
        name: String::new(),
        at: n,
        own: Own::default(),
        vars: Vars::new(),
        params: Vars::new(),
        from: RoleFrom::default(),
        parents: Vec::new(),
        validate: true,
    };
    let entries = match &n.kind {
        Kind::Str(s) => {
            out.name = s.trim().to_owned();
            if out.name.is_empty() {
                cx.error(f, n, "a role needs a name");
                return None;
            }
            return Some(out);
        }
        Kind::Map(entries) => entries,
        _ => {
            cx.error(
                f,
                n,
                format!(
                    "a role must be a name or a mapping with `role:`, got {}",
                    shown(n)
                ),
            );
            return None;
        }
    };
    let mut become_ = BecomeSpec::default();
    let mut has_become = false;
    let mut named = false;
    for (k, v) in entries {
        let key = key_text(k);
        match key.as_str() {
            "role" | "name" if !named => {
                named = true;
                out.at = v;
                out.name = cx.string(f, &key, v).unwrap_or_default().trim().to_owned();
            }
            "when" => out.own.when = cx.conditions(f, "when", v),
            "tags" => out.own.tags = cx.strings(f, "tags", v, true),
            "vars" => out.vars = cx.vars(f, v, sites),
            "environment" => out.own.environment = cx.environment(f, v, sites),
            "no_log" => out.own.no_log = cx.bool(f, "no_log", v),
            "run_once" => out.own.run_once = cx.bool(f, "run_once", v),
            "delegate_facts" => out.own.delegate_facts = cx.bool(f, "delegate_facts", v),
            "ignore_errors" => out.own.ignore_errors = cx.bool(f, "ignore_errors", v),
            "ignore_unreachable" => {
                out.own.ignore_unreachable = cx.bool(f, "ignore_unreachable", v);
            }
            "check_mode" => out.own.check_mode = cx.bool(f, "check_mode", v),
            "timeout" => out.own.timeout = cx.uint(f, "timeout", v, u64::MAX),
            "throttle" => out.own.throttle = cx.uint(f, "throttle", v, u64::from(u32::MAX)),
            "delegate_to" => out.own.delegate_to = delegate_to(cx, f, v, sites),
            "remote_user" => out.own.remote_user = remote_user(cx, f, v, sites),
            "connection" => out.own.connection = connection::connection(cx, f, v, sites),
            "port" => out.own.port = connection::port(cx, f, v, sites),
            "diff" => out.own.diff = cx.bool(f, "diff", v),
            "module_defaults" => out.own.module_defaults = cx.module_defaults(f, v, sites),
            "become" | "become_user" | "become_method" | "become_flags" | "become_exe" => {
                has_become = true;
                become_keyword(cx, f, &key, v, &mut become_, sites);
            }
            "debugger" => super::controller_keywords::debugger(cx, f, v),
            "collections" => {
                super::controller_keywords::collections(cx, f, v);
            }
            _ if ROLE_UNSUPPORTED.contains(&key.as_str()) => cx.error(
                f,
                k,
                format!("the role keyword `{key}` is not supported by clearfleet"),
            ),
            _ => {
                cx.templates(f, v, &format!("roles.{key}"), sites);
                out.params.insert(key, v.to_template_value());
            }
        }
    }
    if has_become {
        out.own.become_ = Some(become_);
    }
    if out.name.is_empty() {
        cx.error_hint(
            f,
            n,
            "a role entry needs `role:` (or `name:`)",
            Some("for example `- role: web` or `- {role: web, port: 80}`".to_owned()),
        );
        return None;
    }
    debug_assert!(ROLE_KEYWORDS.iter().all(|k| !ROLE_UNSUPPORTED.contains(k)));
    Some(out)
}

/// What one role holds besides its tasks and handlers (Ansible's `Role` attributes).
struct RoleData {
    name: String,
    path: PathBuf,
    defaults: Vars,
    role_vars: Vars,
    /// The `vars:` written on the role entry.
    vars: Vars,
    params: Vars,
    parents: Vec<(String, PathBuf)>,
}

/// A role with its dependencies, for the variables they export.
struct Compiled {
    data: Rc<RoleData>,
    deps: Vec<Rc<Compiled>>,
}

impl Compiled {
    /// The dependencies' `part` (recursively) under the role's own: `default_vars` is
    /// `Role.get_default_vars()`, `exports` is `Role.get_vars(only_exports=True)`.
    fn folded(&self, part: fn(&RoleData) -> &Vars) -> Vars {
        let mut out = Vars::new();
        for d in &self.deps {
            out.extend(d.folded(part));
        }
        out.extend(part(&self.data).clone());
        out
    }

    /// The names of every dependency, all levels (`Role.get_all_dependencies`), each once.
    fn all_dependencies(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for d in &self.deps {
            for n in d.all_dependencies() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            if !out.contains(&d.data.name) {
                out.push(d.data.name.clone());
            }
        }
        out
    }

    fn default_vars(&self) -> Vars {
        self.folded(|r| &r.defaults)
    }

    fn exports(&self) -> Vars {
        self.folded(|r| &r.role_vars)
    }

    /// What a task of this role sees, given the roles that depend on it (`chain`, outermost
    /// first), as Ansible's `get_default_vars`/`get_vars`/`get_role_params` with a dep chain.
    fn scope(&self, chain: &[Rc<RoleData>]) -> RoleScope {
        let mut defaults = Vars::new();
        for d in &self.deps {
            defaults.extend(d.default_vars());
        }
        let mut vars = Vars::new();
        let mut params = Vars::new();
        for p in chain {
            defaults.extend(p.defaults.clone());
            vars.extend(p.vars.clone());
            vars.extend(p.role_vars.clone());
            params.extend(p.params.clone());
        }
        defaults.extend(self.data.defaults.clone());
        for d in &self.deps {
            vars.extend(d.exports());
        }
        vars.extend(self.data.role_vars.clone());
        vars.extend(self.data.vars.clone());
        params.extend(self.data.params.clone());
        RoleScope {
            name: self.data.name.clone(),
            path: self.data.path.clone(),
            defaults,
            vars,
            params,
            parents: self.data.parents.clone(),
        }
    }
}

/// The tasks of the role `spec` (written in `f`), its dependencies' first, each carrying its
/// scope; its handlers go to [`RoleCx`]. `parent` is what the role's tasks inherit besides the
/// role entry's own keywords. For an `include_role`, also what joins `Play.roles` when it
/// runs: the names of the roles it brings (those its tasks import, then its own) and of their
/// dependencies.
pub(crate) fn role_tasks(
    cx: &mut Cx,
    f: &File,
    spec: Spec,
    parent: &Inherited,
    entry: Entry,
    public: bool,
    depth: usize,
) -> (Vec<Task>, RoleNames) {
    let mut tasks = Vec::new();
    let marks = (cx.roles.names.len(), cx.roles.dependent_names.len());
    let compiled = compile(cx, f, spec, parent, &[], entry, depth, &mut tasks);
    let mut joined = RoleNames::default();
    if entry == Entry::Include {
        // An include loads its role (and what the role imports) when it runs.
        joined.names = cx.roles.names.drain(marks.0..).collect();
        joined.dependencies = cx.roles.dependent_names.drain(marks.1..).collect();
    }
    let Some(c) = compiled else {
        return (tasks, joined);
    };
    if public {
        cx.roles.defaults.extend(c.default_vars());
        cx.roles.exports.extend(c.exports());
    }
    let deps = c.all_dependencies();
    let name = c.data.name.clone();
    match entry {
        Entry::Play => cx.roles.play_names.push(name),
        Entry::Import => cx.roles.names.push(name),
        Entry::Include => joined.names.push(name),
        Entry::Dependency => return (tasks, joined),
    }
    match entry {
        Entry::Include => joined.dependencies.extend(deps),
        _ => cx.roles.dependent_names.extend(deps),
    }
    (tasks, joined)
}

/// What an `include_role` adds to the play's roles when it runs.
#[derive(Default)]
pub(crate) struct RoleNames {
    pub names: Vec<String>,
    pub dependencies: Vec<String>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "internal recursion over the dependency tree"
)]
fn compile(
    cx: &mut Cx,
    f: &File,
    mut spec: Spec,
    parent: &Inherited,
    chain: &[Rc<RoleData>],
    entry: Entry,
    depth: usize,
    out: &mut Vec<Task>,
) -> Option<Rc<Compiled>> {
    let (name, path) = find(cx, f, &spec, chain)?;
    cx.plugins.add_dir(&cx.source, &path);
    let canonical = cx.source.canonical(&path);
    if let Some(i) = cx.roles.loading.iter().position(|p| *p == canonical) {
        let mut names: Vec<String> = cx.roles.loading[i..].iter().map(|p| role_name(p)).collect();
        names.push(name.clone());
        cx.error(
            f,
            spec.at,
            format!("role dependency cycle: {}", names.join(" -> ")),
        );
        return None;
    }
    let defaults = vars_file(
        cx,
        f,
        &spec,
        &path,
        "defaults",
        spec.from.defaults.as_deref(),
    );
    let role_vars = vars_file(cx, f, &spec, &path, "vars", spec.from.vars.as_deref());
    let data = Rc::new(RoleData {
        name: name.clone(),
        path: path.clone(),
        defaults,
        role_vars,
        vars: spec.vars.clone(),
        params: spec.params.clone(),
        parents: spec.parents.clone(),
    });
    let meta = meta(cx, &path);
    let key = serde_json::json!([
        canonical,
        spec.params,
        spec.vars,
        [
            &spec.from.tasks,
            &spec.from.vars,
            &spec.from.defaults,
            &spec.from.handlers
        ],
        spec.own.tags,
        spec.own.when.iter().map(|w| &w.value).collect::<Vec<_>>(),
    ])
    .to_string();
    let dedup = matches!(entry, Entry::Play | Entry::Dependency);
    let run = !(dedup && !meta.allow_duplicates && cx.roles.seen.contains(&key));
    if dedup && run {
        cx.roles.seen.push(key);
    }

    // What the role's tasks inherit: the parent's keywords under the entry's own.
    let mut holder = new_task(Cx::loc(f, spec.at));
    inherit::apply(parent, std::mem::take(&mut spec.own), &mut holder);
    let mut inherited = Inherited::from_parent(&holder);

    cx.roles.loading.push(canonical);
    let mut deps = Vec::new();
    let mut dep_chain = chain.to_vec();
    dep_chain.push(data.clone());
    for (file, node) in &meta.dependencies {
        let Some(node) = node.as_ref() else { continue };
        let mut sites = Vec::new();
        let Some(mut dep) = self::spec(cx, file, node, &mut sites) else {
            continue;
        };
        // A dependency's tasks sit under the same include as the role's.
        dep.parents = spec.parents.clone();
        let mut dep_tasks = Vec::new();
        if let Some(c) = compile(
            cx,
            file,
            dep,
            &inherited,
            &dep_chain,
            Entry::Dependency,
            depth + 1,
            &mut dep_tasks,
        ) {
            deps.push(c);
        }
        if run {
            out.extend(dep_tasks);
        }
    }
    cx.roles.loading.pop();

    let compiled = Rc::new(Compiled { data, deps });
    if !run {
        return Some(compiled);
    }
    let scope = Arc::new(compiled.scope(chain));
    inherited.role = Some(scope);
    if spec.validate {
        let specs = super::role_arg_spec::role_argspecs(cx, &path, meta.argument_specs.as_ref());
        out.extend(super::role_arg_spec::validation_task(
            cx, f, &spec, &name, &path, &specs, &inherited,
        ));
    }
    let main = spec.from.tasks.as_deref();
    if let Some(file) = role_file(cx, f, &spec, &path, "tasks", main) {
        out.extend(
            tasks_file(cx, f, Some(spec.at), &file, &inherited, false, true, depth)
                .unwrap_or_default(),
        );
    }
    let main = spec.from.handlers.as_deref();
    if let Some(file) = role_file(cx, f, &spec, &path, "handlers", main) {
        let handlers = Inherited {
            when: Vec::new(),
            ..inherited.clone()
        };
        let list = tasks_file(cx, f, Some(spec.at), &file, &handlers, true, true, depth)
            .unwrap_or_default();
        match entry {
            Entry::Include => cx.roles.late_handlers.extend(list),
            _ => cx.roles.handlers.extend(list),
        }
    }
    Some(compiled)
}

/// The role's name as printed: the last component of what was written.
fn role_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Where the role named by `spec` is: `roles/` beside the playbook, the `roles_path`, the
/// directory of the role that depends on it, the playbook's directory, then the name as a
/// path (Ansible's `RoleDefinition._load_role_path`).
fn find(cx: &mut Cx, f: &File, spec: &Spec, chain: &[Rc<RoleData>]) -> Option<(String, PathBuf)> {
    let mut search = vec![cx.roles.play_dir.join("roles")];
    search.extend(cx.roles.roles_path.iter().cloned());
    if let Some(parent) = chain.last().and_then(|p| p.path.parent()) {
        search.push(parent.to_path_buf());
    }
    search.push(cx.roles.play_dir.clone());
    for dir in &search {
        let p = dir.join(&spec.name);
        if cx.source.is_dir(&p) {
            return Some((role_name(Path::new(&spec.name)), p));
        }
    }
    let p = PathBuf::from(&spec.name);
    if cx.source.is_dir(&p) {
        return Some((role_name(&p), p));
    }
    let shown: Vec<String> = search
        .iter()
        .map(|p| match p.as_os_str().is_empty() {
            true => ".".to_owned(),
            false => p.display().to_string(),
        })
        .collect();
    cx.error(
        f,
        spec.at,
        format!(
            "the role `{}` was not found in {}",
            spec.name,
            shown.join(":")
        ),
    );
    None
}

/// The file of `sub/` to read: `main.yml`, `main.yaml`, `main.json` or `main` when `from` is
/// `None` (none is fine: the role has no such part); else `from` as written or with one of
/// those extensions (none is an error, as in Ansible).
fn role_file(
    cx: &mut Cx,
    f: &File,
    spec: &Spec,
    path: &Path,
    sub: &str,
    from: Option<&str>,
) -> Option<PathBuf> {
    let dir = path.join(sub);
    let candidates: Vec<String> = match from {
        None => ["main.yml", "main.yaml", "main.json", "main"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        Some(name) => [
            name.to_owned(),
            format!("{name}.yml"),
            format!("{name}.yaml"),
            format!("{name}.json"),
        ]
        .into(),
    };
    let found = candidates
        .iter()
        .map(|c| dir.join(c))
        .find(|p| cx.source.is_file(p));
    if found.is_none()
        && let Some(name) = from
    {
        cx.error(
            f,
            spec.at,
            format!(
                "could not find `{sub}/{name}` in role `{}` ({})",
                spec.name,
                path.display()
            ),
        );
    }
    found
}

/// The files `defaults/` or `vars/` of the role are read from, in order: `main.yml`,
/// `main.yaml`, `main.json`, `main` (or, with `from`, the name as written first), a directory
/// of that name standing for every file under it (ansible-core 2.19.14
/// `Role._load_role_yaml` with `allow_dir=True`, `DataLoader.find_vars_files`).
fn vars_paths(cx: &Cx, dir: &Path, from: Option<&str>) -> Vec<PathBuf> {
    if !cx.source.is_dir(dir) {
        return Vec::new();
    }
    let (main, exts): (&str, [&str; 4]) = match from {
        None => ("main", [".yml", ".yaml", ".json", ""]),
        Some(name) => (name, ["", ".yml", ".yaml", ".json"]),
    };
    for ext in exts {
        let full = dir.join(format!("{main}{ext}"));
        if cx.source.is_dir(&full) {
            let mut out = Vec::new();
            dir_vars_paths(cx, &full, &mut out, 0);
            return out;
        }
        if cx.source.is_file(&full) {
            return vec![full];
        }
    }
    Vec::new()
}

/// The files under `dir`, by name, subdirectories (without an extension) walked in place,
/// hidden files and backups (`~`) left out, only `.yml`, `.yaml`, `.json` or no extension
/// (`DataLoader._get_dir_vars_files`).
fn dir_vars_paths(cx: &Cx, dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > clearfleet_yaml::syntax::MAX_DEPTH {
        return;
    }
    for p in cx.source.entries_in(dir) {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let ext = Path::new(&name).extension().map(|e| e.to_string_lossy());
        if cx.source.is_dir(&p) && ext.is_none() {
            dir_vars_paths(cx, &p, out, depth + 1);
        } else if cx.source.is_file(&p)
            && ext.is_none_or(|e| ["yml", "yaml", "json"].contains(&e.as_ref()))
        {
            out.push(p);
        }
    }
}

/// `defaults/` or `vars/` of the role: a mapping of variables (empty when there is none), the
/// files of a directory merged in order, later ones winning (`combine_vars`).
fn vars_file(
    cx: &mut Cx,
    f: &File,
    spec: &Spec,
    path: &Path,
    sub: &str,
    from: Option<&str>,
) -> Vars {
    let mut out = Vars::new();
    let dir = path.join(sub);
    let found = vars_paths(cx, &dir, from);
    if found.is_empty()
        && let Some(name) = from
    {
        cx.error(
            f,
            spec.at,
            format!(
                "could not find `{sub}/{name}` in role `{}` ({})",
                spec.name,
                path.display()
            ),
        );
    }
    for p in found {
        if !cx
            .source
            .canonical(&p)
            .starts_with(cx.source.canonical(&dir))
        {
            cx.error(
                f,
                spec.at,
                format!(
                    "`{}` is not inside the role's `{sub}/` ({})",
                    p.display(),
                    dir.display()
                ),
            );
            continue;
        }
        let Some(file) = read(cx, Some((f, spec.at)), &p, "role vars file") else {
            continue;
        };
        let root = match parse(cx, &file) {
            Ok(Some(root)) => root,
            _ => continue,
        };
        match &root.kind {
            Kind::Null => {}
            Kind::Map(_) => {
                let mut sites = Vec::new();
                out.extend(cx.vars(&file, &root, &mut sites));
            }
            _ => cx.error(
                &file,
                &root,
                format!(
                    "`{sub}/` of a role must hold a mapping of variables, got {}",
                    root.type_name()
                ),
            ),
        }
    }
    out
}

/// What `meta/main.yml` says: the dependencies (each with the file it is written in) and
/// `allow_duplicates`.
struct Meta {
    dependencies: Vec<(File, Option<Node>)>,
    allow_duplicates: bool,
    /// `argument_specs` of `meta/main.yml`, with the file it is written in.
    argument_specs: Option<(File, Node)>,
}

fn meta(cx: &mut Cx, path: &Path) -> Meta {
    let mut out = Meta {
        dependencies: Vec::new(),
        allow_duplicates: false,
        argument_specs: None,
    };
    let dir = path.join("meta");
    let Some(p) = ["main.yml", "main.yaml", "main.json", "main"]
        .iter()
        .map(|c| dir.join(c))
        .find(|p| cx.source.is_file(p))
    else {
        return out;
    };
    let Some(file) = read(cx, None, &p, "role meta file") else {
        return out;
    };
    let root = match parse(cx, &file) {
        Ok(Some(root)) => root,
        _ => return out,
    };
    let entries = match &root.kind {
        Kind::Null => return out,
        Kind::Map(entries) => entries,
        _ => {
            cx.error(
                &file,
                &root,
                format!(
                    "`meta/main.yml` must be a mapping, got {}",
                    root.type_name()
                ),
            );
            return out;
        }
    };
    let mut deps = Vec::new();
    for (k, v) in entries {
        match key_text(k).as_str() {
            "allow_duplicates" => {
                out.allow_duplicates = cx.bool(&file, "allow_duplicates", v).unwrap_or(false);
            }
            "dependencies" => match &v.kind {
                Kind::Null => {}
                Kind::Seq(items) => deps.extend(items.iter().cloned()),
                _ => cx.error(
                    &file,
                    v,
                    format!(
                        "`dependencies` must be a list of roles, got {}",
                        v.type_name()
                    ),
                ),
            },
            "argument_specs" => {
                out.argument_specs = Some((
                    File {
                        path: file.path.clone(),
                        text: file.text.clone(),
                    },
                    v.clone(),
                ));
            }
            // `galaxy_info`, `collections`…: not about running the role.
            _ => {}
        }
    }
    for d in deps {
        out.dependencies.push((
            File {
                path: file.path.clone(),
                text: file.text.clone(),
            },
            Some(d),
        ));
    }
    out
}

/// `import_role` (its tasks loaded now, the task's keywords given to each, as `import_tasks`)
/// or `include_role` (loaded now as well; its `when`, `tags` and `loop` apply to the include
/// when the runner reaches it, as `include_tasks`).
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, the task walk's state"
)]
pub(crate) fn task_body(
    cx: &mut Cx,
    f: &File,
    task: &Task,
    action: &Action,
    module: &str,
    args: &Value,
    loops: &[(String, &Node, &Node)],
    depth: usize,
) -> Option<TaskBody> {
    let arg_node = |name: &str| -> &Node {
        action
            .value
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| key_text(k) == name).map(|(_, v)| v))
            .unwrap_or(match action.value.kind {
                Kind::Null => action.key,
                _ => action.value,
            })
    };
    let include = module == "include_role";
    let name = args
        .get("name")
        .or_else(|| args.get("role"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let at = arg_node(if args.get("name").is_some() {
        "name"
    } else {
        "role"
    });
    let Some(name) = name else {
        cx.error(f, at, format!("`{module}` needs the role's `name`"));
        return None;
    };
    // A templated name or `*_from` is rendered when the include runs (`include_role`), or now
    // from the play's variables (`import_role`, which clearfleet cannot render at load).
    let mut templated = is_template(name);
    if templated && !include {
        cx.error_hint(
            f,
            at,
            format!("`{module}` is read before the run, so its role name cannot be templated"),
            Some("use `include_role`, which renders its role name when it runs".to_owned()),
        );
        return None;
    }
    let mut from = RoleFrom::default();
    for (key, slot) in [
        ("tasks_from", &mut from.tasks),
        ("vars_from", &mut from.vars),
        ("defaults_from", &mut from.defaults),
        ("handlers_from", &mut from.handlers),
    ] {
        match args.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if !is_template(s) => *slot = Some(s.trim().to_owned()),
            Some(Value::String(s)) if include => {
                templated = true;
                *slot = Some(s.clone());
            }
            Some(Value::String(_)) => {
                cx.error_hint(
                    f,
                    arg_node(key),
                    format!("`{module}` is read before the run, so `{key}` cannot be templated"),
                    Some("use `include_role`, which renders it when it runs".to_owned()),
                );
                return None;
            }
            Some(other) => {
                cx.error(
                    f,
                    arg_node(key),
                    format!("`{key}` must be a file name, got {other}"),
                );
                return None;
            }
        }
    }
    let validate = match args.get("rolespec_validate") {
        None | Some(Value::Null) => true,
        Some(v) => match clearfleet_base::boolean::ansible_bool(v) {
            Some(b) => b,
            None => {
                cx.error(
                    f,
                    arg_node("rolespec_validate"),
                    format!("`rolespec_validate` must be a boolean, got {v}"),
                );
                return None;
            }
        },
    };
    let public = match args.get("public") {
        None | Some(Value::Null) => !include,
        Some(v) => match clearfleet_base::boolean::ansible_bool(v) {
            Some(b) => b,
            None => {
                cx.error(
                    f,
                    arg_node("public"),
                    format!("`public` must be a boolean, got {v}"),
                );
                return None;
            }
        },
    };
    // `apply` of `include_role` is read with the task (`Task::include_apply`), as
    // `include_tasks`'; an import inherits the task's keywords directly (`IncludeRole.load`).
    if !include && args.get("apply").is_some() {
        cx.error(
            f,
            arg_node("apply"),
            "`apply` is only valid on `include_role`, not on `import_role`",
        );
        return None;
    }
    if !include && let Some((kind, k, _)) = loops.first() {
        cx.error_hint(
            f,
            k,
            format!("`import_role` cannot be used with `{kind}`"),
            Some("use `include_role` to loop over a role".to_owned()),
        );
        return None;
    }
    if templated {
        if public {
            cx.error(
                f,
                arg_node("public"),
                "`public: true` with a templated role name or `*_from` is not supported by clearfleet",
            );
            return None;
        }
        let parent = task
            .include_apply
            .as_deref()
            .cloned()
            .unwrap_or_else(|| Inherited::for_include(task));
        return Some(TaskBody::IncludeRole {
            name: name.to_owned(),
            tasks: Vec::new(),
            role_names: Vec::new(),
            dependencies: Vec::new(),
            deferred: Some(Box::new(DeferredRole {
                name: name.to_owned(),
                from,
                parent,
                play_dir: cx.roles.play_dir.clone(),
                roles_path: cx.roles.roles_path.clone(),
                validate,
            })),
        });
    }
    let spec = Spec {
        name: name.to_owned(),
        at,
        own: Own::default(),
        vars: Vars::new(),
        params: Vars::new(),
        from,
        parents: parents_of(task.role.as_deref()),
        validate,
    };
    if include {
        let parent = task
            .include_apply
            .as_deref()
            .cloned()
            .unwrap_or_else(|| Inherited::for_include(task));
        let (tasks, joined) = role_tasks(cx, f, spec, &parent, Entry::Include, public, depth);
        Some(TaskBody::IncludeRole {
            name: name.to_owned(),
            tasks,
            role_names: joined.names,
            dependencies: joined.dependencies,
            deferred: None,
        })
    } else {
        let parent = Inherited::from_parent(task);
        let (tasks, _) = role_tasks(cx, f, spec, &parent, Entry::Import, public, depth);
        Some(TaskBody::IncludeTasks {
            file: name.to_owned(),
            static_tasks: Some(tasks),
        })
    }
}

/// The parents of a role an include in a task of `role` brings: `role`, then its own parents
/// (`IncludeRole.get_include_params`).
fn parents_of(role: Option<&RoleScope>) -> Vec<(String, PathBuf)> {
    role.iter()
        .flat_map(|r| {
            std::iter::once((r.name.clone(), r.path.clone())).chain(r.parents.iter().cloned())
        })
        .collect()
}

/// A role an `include_role` with a templated `name` or `*_from` brings, loaded when it runs.
#[derive(Debug)]
pub struct LoadedRole {
    pub tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    /// What joins the play's roles ([`TaskBody::IncludeRole`]'s `role_names`,
    /// `dependencies`).
    pub role_names: Vec<String>,
    pub dependencies: Vec<String>,
}

/// Loads the role `name` (rendered) with the files `from` (rendered) for `deferred`'s include,
/// written at `at`, as the include would have been loaded with the playbook.
pub(crate) fn load_deferred(
    cx: &mut Cx,
    deferred: &DeferredRole,
    name: &str,
    from: RoleFrom,
    at: &clearfleet_base::diagnostic::Location,
) -> LoadedRole {
    cx.roles.play_dir = deferred.play_dir.clone();
    cx.roles.roles_path = deferred.roles_path.clone();
    let text = cx.source.read_to_string(&at.path).unwrap_or_default();
    let f = File {
        path: at.path.clone(),
        text,
    };
    let node = Node {
        kind: Kind::Str(name.to_owned()),
        line: at.line,
        column: at.column,
        span: None,
        tag: None,
    };
    let spec = Spec {
        name: name.trim().to_owned(),
        at: &node,
        own: Own::default(),
        vars: Vars::new(),
        params: Vars::new(),
        from,
        parents: parents_of(deferred.parent.role.as_deref()),
        validate: deferred.validate,
    };
    let (tasks, joined) = role_tasks(cx, &f, spec, &deferred.parent, Entry::Include, false, 0);
    LoadedRole {
        tasks,
        handlers: std::mem::take(&mut cx.roles.late_handlers),
        role_names: joined.names,
        dependencies: joined.dependencies,
    }
}

/// A play's `roles:`: the tasks of every role, in order (a role already given to the play
/// with the same parameters is not given again).
pub(crate) fn play_roles(
    cx: &mut Cx,
    f: &File,
    n: &Node,
    parent: &Inherited,
    sites: &mut Vec<TemplateSite>,
) -> Vec<Task> {
    let items: Vec<&Node> = match &n.kind {
        Kind::Null => return Vec::new(),
        Kind::Seq(items) => items.iter().collect(),
        _ => {
            cx.error(
                f,
                n,
                format!("`roles` must be a list of roles, got {}", n.type_name()),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for item in items {
        if let Some(s) = spec(cx, f, item, sites) {
            out.extend(role_tasks(cx, f, s, parent, Entry::Play, true, 0).0);
        }
    }
    out
}

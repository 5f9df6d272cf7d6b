//! The validated playbook the runner executes: every keyword typed, every module name
//! canonical, every task carrying the file:line:col it came from.
//!
//! Keyword inheritance is applied by the loader (see the module docs of `playbook`): a leaf
//! task's `when`, `tags`, `become_`, `environment`, `ignore_errors`, `no_log`, `run_once`,
//! `timeout`, `delegate_to` and `vars` already include what its enclosing blocks (and, for
//! `become_`/`environment`/`tags`/`ignore_errors`/`no_log`/`run_once`/`timeout`, its play)
//! set. The runner evaluates leaf tasks only and never re-applies a parent's keywords.

use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_base::diagnostic::{Diagnostic, Location};
use indexmap::IndexMap;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// A value together with where it was written, so later errors can point at it.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub location: Location,
}

impl<T> Spanned<T> {
    pub fn new(value: T, location: Location) -> Self {
        Spanned { value, location }
    }
}

/// A file that was read while loading, kept so diagnostics found later can quote it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A loaded playbook: its plays (with `import_playbook` expanded in place), every file read,
/// and where they were read from (the runner reads `include_tasks`, `vars_files` and `template`
/// sources from there too).
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub plays: Vec<Play>,
    pub files: Vec<SourceFile>,
    pub source: ControllerFiles,
    /// What the up-front check found in the file of a literal `include_tasks`: Ansible reads a
    /// dynamic include only when a host reaches it, so these are warnings now and fail the
    /// hosts that reach the include at run time (a Windows-only handler on Linux never does).
    /// Also the arguments Ansible's action refuses only when the task runs (`shell` with
    /// `expand_argument_vars`): the task fails then, in Ansible's words.
    pub warnings: Vec<Diagnostic>,
    /// The module and action plugins of the playbook's and its roles' directories: a
    /// dynamic `include_tasks` file loaded at run time may call them too.
    pub plugins: crate::plugins::Plugins,
}

/// One play.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    pub name: Option<String>,
    /// A host pattern (a YAML list of patterns is joined with `,`); may be templated.
    pub hosts: String,
    pub vars: IndexMap<String, Value>,
    /// Paths as written (may be templated). The runner renders them, then resolves them
    /// with [`crate::resolve_path`] against the file the play is written in.
    pub vars_files: Vec<Spanned<String>>,
    /// `None` when not written: ansible.cfg's `gathering` decides.
    pub gather_facts: Option<bool>,
    /// `gather_subset`: what the play's fact gathering keeps (setup's `gather_subset`; empty:
    /// everything).
    pub gather_subset: Vec<String>,
    /// `fact_path`: the directory of local facts (`*.fact`, `ansible_local`) the play's fact
    /// gathering reads (setup's `fact_path`; `None`: setup's default `/etc/ansible/facts.d`);
    /// may be a template, rendered per host with the play's variables.
    pub fact_path: Option<String>,
    /// `gather_timeout`: seconds the play's fact gathering may take (setup's
    /// `gather_timeout`; `None`: setup's default, 10 per collector).
    pub gather_timeout: Option<u64>,
    /// `vars_prompt`: the variables asked on the controller before the play runs (they become
    /// play vars), unless `-e` gives them.
    pub vars_prompt: Vec<VarPrompt>,
    pub serial: Option<Serial>,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    /// `force_handlers:` (`None`: unset, the run's `--force-handlers` decides): notified
    /// handlers also run on hosts that failed in the play (ansible-core `Play.force_handlers`).
    pub force_handlers: Option<bool>,
    /// The play's own `ignore_unreachable` (its tasks inherit it): its fact gathering too
    /// ignores an unreachable host, as ansible-core's implicit `setup` task is the play's.
    pub ignore_unreachable: bool,
    /// `order:`: the order the play takes its hosts in (ansible-core
    /// `InventoryManager.get_hosts(order=...)`).
    pub order: HostOrder,
    pub strategy: Strategy,
    /// `remote_user:` (may be templated): who facts are gathered as; its tasks inherit it.
    pub remote_user: Option<Spanned<String>>,
    /// `connection:` (may be templated): how facts are gathered (`local`: on the controller);
    /// its tasks inherit it.
    pub connection: Option<Spanned<String>>,
    /// `port:` (may be templated): the SSH port facts are gathered through, unless an
    /// `ansible_port` variable says; its tasks inherit it.
    pub port: Option<Spanned<String>>,
    /// The play's own `become*` keywords (already inherited by its tasks).
    pub become_: Option<BecomeSpec>,
    pub pre_tasks: Vec<Task>,
    pub tasks: Vec<Task>,
    pub post_tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    /// The play's own tags (already added to every task's tags).
    pub tags: Vec<String>,
    /// The play's own environment (already merged into every task's environment).
    pub environment: IndexMap<String, String>,
    /// Every templated string of the play's own keywords (`hosts`, `name`, `vars`…).
    pub templates: Vec<TemplateSite>,
    /// The defaults of the play's public roles (`roles:`, `import_role`), which every task of
    /// the play sees at the lowest precedence (Ansible's "role defaults").
    pub role_defaults: IndexMap<String, Value>,
    /// The `vars/` of the play's public roles and their dependencies, which every task of
    /// the play sees above `vars_files` (Ansible's exported role vars).
    pub role_exports: IndexMap<String, Value>,
    /// The names of the roles the play names, in order: its `roles:` (a role named twice
    /// twice) then its `import_role`s, each after those it imports (ansible-core 2.19.14
    /// `Play.roles`; `include_role`s join when they run): `ansible_play_role_names`,
    /// `role_names`.
    pub role_names: Vec<String>,
    /// The names of those roles' dependencies, all levels, as often as met:
    /// `ansible_dependent_role_names` (each once).
    pub dependent_role_names: Vec<String>,
    /// Where the play's mapping starts (its first key).
    pub location: Location,
}

/// One `vars_prompt` entry (ansible-core `Play._load_vars_prompt`, asked by
/// `PlaybookExecutor.run` through `Display.do_var_prompt`).
#[derive(Debug, Clone, PartialEq)]
pub struct VarPrompt {
    pub name: String,
    /// The question (may be a template, rendered with the play's variables); `None`: Ansible's
    /// `input for NAME: `.
    pub prompt: Option<String>,
    /// The answer when none is given (may be a template); `None`: no default.
    pub default: Option<String>,
    /// Not echoed (the default); a private answer is a secret in clearfleet's output.
    pub private: bool,
    /// Asked twice, until both answers agree.
    pub confirm: bool,
    /// `unsafe: true`: the answer is never rendered as a template.
    pub unsafe_: bool,
    /// `encrypt`: the passlib algorithm the answer is hashed with (may be a template).
    pub encrypt: Option<String>,
    /// `salt` for `encrypt` (may be a template).
    pub salt: Option<String>,
    /// `salt_size` for `encrypt`: `Ok` for a YAML integer, `Err` with the text of anything else
    /// (a template rendered when asked; other text is not the integer `do_encrypt` wants).
    pub salt_size: Option<Result<i64, String>>,
    pub location: Location,
}

/// A play's `order:` keyword (ansible-core `Play.order`, applied by
/// `InventoryManager.get_hosts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostOrder {
    /// As the inventory lists them (the default).
    #[default]
    Inventory,
    ReverseInventory,
    /// By name.
    Sorted,
    ReverseSorted,
    /// A random order, new for each play.
    Shuffle,
}

/// The role a task belongs to, with the variables it sees through it (its dependency chain
/// already folded in, as Ansible's `Role.get_default_vars`/`get_vars`/`get_role_params` do).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleScope {
    /// The role's name as Ansible prints it (`web : install`): the last part of its path.
    pub name: String,
    /// The role's directory: `files/` and `templates/` there are searched first for a
    /// relative `src:`.
    pub path: PathBuf,
    /// `defaults/` of the role, its dependencies and the roles that depend on it: the lowest
    /// precedence of all.
    pub defaults: IndexMap<String, Value>,
    /// `vars/` of the role and its dependency chain, and the role's own `vars:`: above play
    /// vars and `vars_files`, below block and task vars.
    pub vars: IndexMap<String, Value>,
    /// Role parameters (`- {role: web, port: 80}`): above everything but extra vars.
    pub params: IndexMap<String, Value>,
    /// The roles whose tasks `import_role`/`include_role` this role, innermost first, each
    /// with its directory: `ansible_parent_role_names`/`ansible_parent_role_paths`
    /// (ansible-core 2.19.14 `IncludeRole.get_include_params`); empty for a role the play
    /// names.
    pub parents: Vec<(String, PathBuf)>,
}

/// `serial:` — a batch size, or a list of batch sizes whose last one repeats.
#[derive(Debug, Clone, PartialEq)]
pub enum Serial {
    Number(u32),
    Percent(u8),
    List(Vec<SerialStep>),
}

/// One step of a `serial:` list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SerialStep {
    Number(u32),
    Percent(u8),
}

/// `strategy:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Linear,
    Free,
}

/// The `become`, `become_user`, `become_method`, `become_flags` and `become_exe` keywords; `None` fields
/// were not set anywhere in the chain (the runner's defaults apply: `sudo`, `root`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BecomeSpec {
    pub enabled: Option<bool>,
    pub user: Option<String>,
    pub method: Option<String>,
    pub flags: Option<String>,
    /// `become_exe`: the become program (`sudo`, `su`) to run, by name or path.
    pub exe: Option<String>,
}

impl BecomeSpec {
    /// `self` with every field that `child` sets taken from `child` (Ansible's override).
    pub fn overridden_by(&self, child: &BecomeSpec) -> BecomeSpec {
        BecomeSpec {
            enabled: child.enabled.or(self.enabled),
            user: child.user.clone().or_else(|| self.user.clone()),
            method: child.method.clone().or_else(|| self.method.clone()),
            flags: child.flags.clone().or_else(|| self.flags.clone()),
            exe: child.exe.clone().or_else(|| self.exe.clone()),
        }
    }
}

/// `module_defaults`: per module (canonical name), the arguments a task of it gets unless it
/// gives them (values may be templates, rendered when the task runs).
pub type ModuleDefaults = IndexMap<String, serde_json::Map<String, Value>>;

/// What a task does.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskBody {
    /// A module call.
    Module {
        /// The canonical short name (`ansible.builtin.` and `ansible.legacy.` stripped).
        module: String,
        /// The arguments: a mapping. Free-form text (`command: ls -l chdir=/tmp`) becomes
        /// `{"_raw_params": "ls -l", "chdir": "/tmp"}` as Ansible's `parse_kv` does, and the
        /// `args:` keyword is merged underneath (the module's own arguments win).
        args: Value,
        /// The playbook's own module or action plugin the task calls (its file): clearfleet
        /// runs no Python plugin, so the task fails when it runs ([`crate::plugins`]).
        plugin: Option<PathBuf>,
    },
    /// `block` with its `rescue` and `always` sections.
    Block {
        block: Vec<Task>,
        rescue: Vec<Task>,
        always: Vec<Task>,
    },
    /// `include_role` with its role's tasks loaded up front; the include's own `when`,
    /// `tags` and `loop` apply to the include (evaluated when the runner reaches it), the
    /// tasks run as an `include_tasks` file's would.
    IncludeRole {
        name: String,
        tasks: Vec<Task>,
        /// The roles that join the play's (`ansible_play_role_names`) each time the include
        /// runs: those the role's tasks import, then the role itself.
        role_names: Vec<String>,
        /// The names of their dependencies, all levels (`ansible_dependent_role_names`).
        dependencies: Vec<String>,
        /// Set when the role's `name` or a `*_from` is a template: the role is loaded when the
        /// include runs, per host ([`crate::load_role`]), and `tasks` is empty.
        deferred: Option<Box<DeferredRole>>,
    },
    /// `include_tasks` (dynamic: `static_tasks` is `None`, the runner loads `file` with
    /// [`crate::load_tasks_file`] when it reaches the task) or `import_tasks`
    /// (static: loaded now, keywords of the import already applied to each task).
    IncludeTasks {
        /// The path as written (may be templated). The runner renders it, then resolves it
        /// with [`crate::resolve_path`] against the task's `location`.
        file: String,
        static_tasks: Option<Vec<Task>>,
    },
}

/// An `include_role` whose `name` or `*_from` is a template (ansible-core 2.19.14 templates
/// them when the include runs: `IncludedFile.process_include_results`): what the runner needs
/// to load the role then.
#[derive(Debug, Clone, PartialEq)]
pub struct DeferredRole {
    /// The role's name and the `tasks_from`, `vars_from`, `defaults_from`, `handlers_from`
    /// file names as written (templates, rendered per host).
    pub name: String,
    pub from: RoleFrom,
    /// What the role's tasks inherit (the include's keywords, `apply`'s over them).
    pub parent: crate::inherit::Inherited,
    /// Where roles are searched: the directory of the play's file and the `roles_path`.
    pub play_dir: PathBuf,
    pub roles_path: Vec<PathBuf>,
    /// `rolespec_validate` of the include.
    pub validate: bool,
}

/// Which files of a role to read (`tasks_from`, …); `None`: `main`.
#[derive(Debug, Clone, PartialEq, Default, Eq, Hash)]
pub struct RoleFrom {
    pub tasks: Option<String>,
    pub vars: Option<String>,
    pub defaults: Option<String>,
    pub handlers: Option<String>,
}

/// One task, handler or block.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub name: Option<String>,
    pub body: TaskBody,
    /// Conditions, ANDed; the enclosing blocks' conditions come first.
    pub when: Vec<Spanned<String>>,
    pub register: Option<String>,
    /// `loop:` (a list or a template string), or the terms of `with_<lookup>` as written.
    pub loop_: Option<Value>,
    /// `with_<lookup>`: the lookup whose result over the rendered `loop_` terms gives the
    /// items (`with_dict` → `dict`; `with_items` → `items`, which flattens one level;
    /// `with_list` → `list`). Terms that are not a list are one term, as in Ansible.
    pub loop_with: Option<String>,
    pub loop_label: Option<String>,
    /// `loop_control.pause`: seconds between items.
    pub loop_pause: Option<f64>,
    /// `loop_control.extended`: `ansible_loop` for each item.
    pub loop_extended: bool,
    /// `loop_control.extended_allitems` (default true): `ansible_loop.allitems`.
    pub loop_allitems: bool,
    /// `loop_control.loop_var` (default `item`).
    pub loop_var: Option<String>,
    /// `loop_control.index_var`.
    pub index_var: Option<String>,
    pub changed_when: Vec<Spanned<String>>,
    pub failed_when: Vec<Spanned<String>>,
    pub ignore_errors: bool,
    /// `ignore_unreachable`: an unreachable result counts `ok` and `ignored` and the host
    /// stays in the play (ansible-core `StrategyBase._process_pending_results`).
    pub ignore_unreachable: bool,
    /// `throttle`: at most this many hosts run the task at once (0: `--forks` alone), as
    /// ansible-core's `StrategyBase._queue_task` caps its worker slots.
    pub throttle: u64,
    /// `None` with `until` set means Ansible's default of 3.
    pub retries: Option<u32>,
    pub until: Option<Spanned<String>>,
    pub delay: Option<f64>,
    pub no_log: bool,
    /// `check_mode: false` runs the task for real under `--check` (read-only probes);
    /// `true` always runs it in check mode. `None`: as the run says.
    pub check_mode: Option<bool>,
    /// `diff: true` shows the task's changes as with `--diff`, `false` hides them. `None`: as
    /// the run says.
    pub diff: Option<bool>,
    pub tags: Vec<String>,
    pub notify: Vec<String>,
    pub become_: Option<BecomeSpec>,
    pub environment: IndexMap<String, String>,
    pub timeout: Option<u64>,
    /// `async:` seconds the task may run in the background on the host (`0`: not async).
    pub async_: u64,
    /// `poll:` seconds between status checks of an async task (`0`: fire and forget);
    /// Ansible's default is 15.
    pub poll: u64,
    pub run_once: bool,
    /// The host the task runs on instead (`127.0.0.1` is normalised to `localhost`); may be a
    /// template, rendered per host when the task runs.
    pub delegate_to: Option<String>,
    /// `delegate_facts`: facts the task sets (`setup`, `set_fact`, a module's `ansible_facts`)
    /// go to the host delegated to, not the task's own.
    pub delegate_facts: bool,
    /// `remote_user`: who the host's connection logs in as, unless an `ansible_user` (or
    /// `ansible_ssh_user`) variable says (Ansible's variables beat its keywords). May be a
    /// template, rendered per host when the task runs.
    pub remote_user: Option<String>,
    /// `connection`: the connection plugin (`local` runs the task on the controller, `ssh`,
    /// `smart`, `paramiko` through the host's SSH connection), unless an `ansible_connection`
    /// variable says (Ansible's `TaskExecutor._execute`). May be a template.
    pub connection: Option<String>,
    /// `port`: the SSH port, unless an `ansible_port` (or `ansible_ssh_port`) variable says
    /// (the ssh plugin's option precedence: variables, then keywords). May be a template.
    pub port: Option<String>,
    /// Handler topics (`listen:`); empty for tasks.
    pub listen: Vec<String>,
    /// The task's first key.
    pub location: Location,
    pub vars: IndexMap<String, Value>,
    /// Every templated string of this task (module arguments, name, loop, vars…), with the
    /// exact place of its YAML scalar.
    pub templates: Vec<TemplateSite>,
    /// Keywords written as templates (`retries: "{{ n }}"`; one of `keywords::TEMPLATED`, or
    /// `loop_control.pause`/`extended`/`loop_var`/`index_var`): the runner renders each per host and
    /// sets the typed field above from it before the task runs.
    pub templated: Vec<(String, Spanned<String>)>,
    /// The role this task comes from (`roles:`, `import_role`, `include_role`, a dependency).
    pub role: Option<Arc<RoleScope>>,
    /// `module_defaults`, the play's, blocks' and task's merged (the innermost wins per
    /// argument).
    pub module_defaults: ModuleDefaults,
    /// `include_tasks`' or `include_role`'s `apply:`: what the included tasks inherit (the include's inheritance
    /// with `apply`'s keywords over it, as a block's); `None` without `apply`.
    pub include_apply: Option<Box<crate::inherit::Inherited>>,
}

/// A string that contains `{{` or `{%`, where it was written, and the key path that leads
/// to it from the task or play (`args.dest`, `loop[1]`, `vars.url`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSite {
    pub key_path: String,
    pub location: Location,
}

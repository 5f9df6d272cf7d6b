//! Ansible playbooks, read into a typed, validated model before any host is contacted.
//!
//! [`load_playbook`] reads a playbook and everything it imports, checks every keyword,
//! module, module argument, type, include and template (through a [`TemplateCheck`] hook),
//! and returns either a [`Playbook`] or a [`PlaybookError`] listing **every** mistake with
//! `file:line:col`, the line, a caret and a hint.
//!
//! Layers: [`syntax`] (YAML → positioned nodes) → [`play`]/[`task`]/[`action`] (Ansible's
//! rules; [`kv`] splits free-form text, [`inherit`] applies block and play keywords to each
//! task, [`cx`] collects diagnostics) → [`model`] (what the runner executes). [`load`] reads
//! files and follows includes; [`keywords`] lists what is supported.
//!
//! The runner's side: render a dynamic `include_tasks` file name, resolve it with
//! [`resolve_path`] against the include task's location, and load it with
//! [`load_tasks_file`] and [`Inherited::for_include`].
//!
//! Files are read through [`ControllerFiles`]: the disk, or a set of files in memory
//! ([`load_playbook_from`]; the built-in upgrade playbook, which is never written to disk).
//!
//! Keyword inheritance is resolved here, not in the runner: see [`inherit`] for the rules.

pub mod action;
pub mod connection;
pub mod controller_keywords;
pub mod cx;
pub mod error;
mod files;
pub mod inherit;
pub mod keywords;
pub mod kv;
pub mod load;
pub mod model;
pub mod play;
pub mod plugins;
pub mod role;
mod role_arg_spec;
pub mod task;
pub mod template;
pub mod vars_prompt;

pub use clearfleet_base::controller_files::ControllerFiles;
pub use error::PlaybookError;
pub use files::{VarsFile, VarsFileError, load_vars_file, read_vars_file, remember_strings};
pub use inherit::Inherited;
pub use load::{
    include_path, load_playbook, load_playbook_from, load_playbook_str, load_playbook_with,
    load_role, load_tasks_file, resolve_path,
};
pub use model::{
    BecomeSpec, DeferredRole, HostOrder, ModuleDefaults, Play, Playbook, RoleFrom, RoleScope,
    Serial, SerialStep, SourceFile, Spanned, Strategy, Task, TaskBody, TemplateSite, VarPrompt,
};
pub use role::LoadedRole;
pub use template::{NoCheck, TemplateCheck, TemplateKind, TemplateRejected};

//! The role name variables a task sees: the play's roles (`ansible_play_role_names`,
//! `role_names`, `ansible_role_names`, `ansible_dependent_role_names`), its own role
//! (`role_name`, `ansible_role_name`, `role_path`) and the roles that include it
//! (`ansible_parent_role_names`, `ansible_parent_role_paths`), with ansible-core 2.19.14's
//! values (lib/ansible/vars/manager.py `_get_magic_variables`, role_include.py
//! `IncludeRole.get_include_params`).

use super::Engine;
use clearfleet_playbook::{Play, Task};
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::Mutex;

/// The play's roles so far: those it names and imports, then each `include_role` once it ran
/// (`Play.roles`, which `IncludeRole.get_block_list` appends to), and their dependencies.
pub(crate) struct PlayRoles(Mutex<(Vec<String>, Vec<String>)>, Mutex<Vec<Task>>);

impl PlayRoles {
    pub(crate) fn of(play: &Play) -> Self {
        let roles = PlayRoles(
            Mutex::new((play.role_names.clone(), Vec::new())),
            Mutex::new(Vec::new()),
        );
        roles.included(&[], &play.dependent_role_names);
        roles
    }

    /// An `include_role` ran, bringing the roles `names` (whose dependencies are `deps`).
    pub(crate) fn included(&self, names: &[String], deps: &[String]) {
        let mut roles = self.0.lock().unwrap_or_else(|p| p.into_inner());
        roles.0.extend(names.iter().cloned());
        for d in deps {
            if !roles.1.contains(d) {
                roles.1.push(d.clone());
            }
        }
    }

    /// The handlers of a role loaded at run time join the play's, after them
    /// (`myplay.handlers + handlers` in `IncludeRole.get_block_list`).
    pub(crate) fn add_handlers(&self, handlers: &[Task]) {
        let mut late = self.1.lock().unwrap_or_else(|p| p.into_inner());
        late.extend(handlers.iter().cloned());
    }

    /// `play`'s handlers, then those of roles loaded at run time.
    pub(crate) fn handlers<'a>(&self, play: &'a [Task]) -> Cow<'a, [Task]> {
        let late = self.1.lock().unwrap_or_else(|p| p.into_inner());
        if late.is_empty() {
            return Cow::Borrowed(play);
        }
        Cow::Owned(play.iter().chain(late.iter()).cloned().collect())
    }

    /// The magic variables of the play and of `t`'s role, above every other variable (Ansible
    /// combines them last). Ansible builds `ansible_role_names` and
    /// `ansible_dependent_role_names` from a Python set, in no fixed order: here each name
    /// once, in the order met.
    pub(crate) fn magic(&self, e: &Engine, t: &Task) -> Map<String, Value> {
        let roles = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (play, deps) = (&roles.0, &roles.1);
        let mut all: Vec<&String> = Vec::new();
        for n in deps.iter().chain(play.iter()) {
            if !all.contains(&n) {
                all.push(n);
            }
        }
        let mut out = Map::from_iter([
            ("ansible_role_names".to_owned(), json!(all)),
            ("ansible_play_role_names".to_owned(), json!(play)),
            ("ansible_dependent_role_names".to_owned(), json!(deps)),
            ("role_names".to_owned(), json!(play)),
        ]);
        if let Some(role) = &t.role {
            out.insert("role_name".to_owned(), json!(role.name));
            out.insert("ansible_role_name".to_owned(), json!(role.name));
            out.insert(
                "role_path".to_owned(),
                json!(e.files.canonical(&role.path).display().to_string()),
            );
        }
        out
    }
}

/// `ansible_parent_role_names` and `ansible_parent_role_paths` of a task whose role an
/// `import_role` or `include_role` inside another role brought in (include parameters: above
/// role parameters, below extra vars); none otherwise.
pub(crate) fn parent_roles(e: &Engine, t: &Task) -> Map<String, Value> {
    let Some(role) = t.role.as_ref().filter(|r| !r.parents.is_empty()) else {
        return Map::new();
    };
    let names: Vec<&String> = role.parents.iter().map(|(n, _)| n).collect();
    let paths: Vec<String> = role
        .parents
        .iter()
        .map(|(_, p)| e.files.canonical(p).display().to_string())
        .collect();
    Map::from_iter([
        ("ansible_parent_role_names".to_owned(), json!(names)),
        ("ansible_parent_role_paths".to_owned(), json!(paths)),
    ])
}

//! `include_role` with a templated `name` or `*_from`: rendered per host when the include
//! runs, the role loaded then (ansible-core 2.19.14 `IncludedFile.process_include_results`
//! templates the include's arguments with the host's variables, loop item included;
//! `IncludeRole.get_block_list` loads the role).

use super::Engine;
use clearfleet_playbook::{DeferredRole, LoadedRole, RoleFrom, Task, TaskBody};
use clearfleet_template::Value as Ctx;
use serde_json::{Value, json};

/// The deferred role of an `include_role` task, if its role is loaded at run time.
pub(super) fn deferred_role(t: &Task) -> Option<&DeferredRole> {
    match &t.body {
        TaskBody::IncludeRole {
            deferred: Some(d), ..
        } => Some(d),
        _ => None,
    }
}

/// The role name of a key of [`Engine::render_role`] (empty for a role loaded with the
/// playbook).
pub(super) fn rendered_name(key: &str) -> String {
    serde_json::from_str::<Vec<Option<String>>>(key)
        .ok()
        .and_then(|parts| parts.into_iter().next().flatten())
        .unwrap_or_default()
}

impl Engine {
    /// The role's name and files rendered with a host's `vars`, as one key; `Err` is the
    /// host's failure message.
    pub(super) fn render_role(
        &self,
        t: &Task,
        d: &DeferredRole,
        vars: &Ctx,
    ) -> Result<String, String> {
        let render = |written: &str, what: &str| -> Result<String, String> {
            match self
                .templates
                .render_value(&json!(written), vars, &t.location, what)
            {
                Ok(Value::String(s)) => Ok(s.trim().to_owned()),
                Ok(other) => Err(format!("`{what}` must be a string, got {other}")),
                Err(e) => Err(e.to_string()),
            }
        };
        let name = render(&d.name, "name")?;
        let mut parts = vec![Some(name)];
        for (what, from) in [
            ("tasks_from", &d.from.tasks),
            ("vars_from", &d.from.vars),
            ("defaults_from", &d.from.defaults),
            ("handlers_from", &d.from.handlers),
        ] {
            parts.push(match from {
                Some(f) => Some(render(f, what)?),
                None => None,
            });
        }
        Ok(json!(parts).to_string())
    }

    /// Loads the role a key of [`Engine::render_role`] names; its name (as printed by
    /// `included:`) with it. `Err` is the failure of every host that reached it.
    pub(super) fn load_deferred_role(
        &self,
        t: &Task,
        d: &DeferredRole,
        key: &str,
    ) -> Result<(String, LoadedRole), String> {
        let parts: Vec<Option<String>> = serde_json::from_str(key).map_err(|e| e.to_string())?;
        let part = |i: usize| parts.get(i).cloned().flatten();
        let name = part(0).unwrap_or_default();
        let from = RoleFrom {
            tasks: part(1),
            vars: part(2),
            defaults: part(3),
            handlers: part(4),
        };
        let mut check = |src: &str,
                         kind: clearfleet_playbook::TemplateKind,
                         at: &clearfleet_base::diagnostic::Location| {
            self.templates.check(src, kind, at)
        };
        let loaded = clearfleet_playbook::load_role(
            &self.files,
            d,
            &name,
            from,
            &t.location,
            &self.plugins,
            &mut check,
        )
        .map_err(|e| e.to_string())?;
        let shown = std::path::Path::new(&name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.clone());
        Ok((shown, loaded))
    }
}

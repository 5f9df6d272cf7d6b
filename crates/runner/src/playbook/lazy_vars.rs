//! Variables written by the user are templates rendered when a task runs, each once, after the
//! variables it refers to, as Ansible renders a variable when it is used: for a task's
//! variables, and for another host's read through `hostvars`.

use serde_json::{Map, Value};

use clearfleet_base::diagnostic::Location;
use clearfleet_template::{Templates, Value as Ctx};

use super::Engine;
use super::templating::TemplateCache;

/// What rendering variables needs: the templates, the context under the variables (`groups`,
/// `hostvars`) and where the task is, for errors.
pub(crate) struct Resolver<'a> {
    templates: &'a TemplateCache,
    below: Ctx,
    at: &'a Location,
}

impl<'a> Resolver<'a> {
    /// For a task at `at`: the engine's templates and its run-wide layers.
    pub(crate) fn of(e: &'a Engine, at: &'a Location) -> Self {
        Resolver {
            templates: &e.templates,
            below: e.shared_context(),
            at,
        }
    }

    pub(crate) fn new(templates: &'a TemplateCache, below: Ctx, at: &'a Location) -> Self {
        Resolver {
            templates,
            below,
            at,
        }
    }

    fn context(&self, vars: &Map<String, Value>) -> Ctx {
        Templates::layered([self.below.clone(), Templates::context_map(vars)])
    }

    /// Renders the `lazy` variables of `vars`, each once, after the variables it refers to: Ansible
    /// templates a variable when it is used and never templates what a template produced, so an
    /// `!unsafe` value, a lookup's text or a registered output holding `{{` stays text. A variable
    /// that reaches others by a name in a string (`vars['x']`, `hostvars`, `lookup('vars', …)`)
    /// cannot say which, so it, and every variable that refers to it, renders last, again until
    /// nothing changes ([`Resolver::resolve_fixpoint`]). A variable that cannot render (it refers to
    /// something undefined, or to itself through others) is dropped: undefined, never its text.
    /// Returns, for each dropped variable, its value as written and the undefined variable it
    /// came to (see [`super::templating::UNDEFINED_ROOTS`]).
    pub(crate) fn resolve(
        &self,
        vars: &mut Map<String, Value>,
        lazy: Vec<String>,
    ) -> Map<String, Value> {
        let mut roots = Map::new();
        let mut refers: Vec<(String, Vec<String>)> = Vec::new();
        let mut by_name: Vec<String> = Vec::new();
        for k in lazy {
            let Some(v) = vars.get(&k) else { continue };
            let mut names = Vec::new();
            let mut hidden = false;
            for s in template_strings(v) {
                hidden |= s.contains("vars");
                if let Ok(n) = self.templates.names(s, self.at, &format!("variable `{k}`")) {
                    names.extend(n);
                }
            }
            if hidden {
                by_name.push(k);
            } else {
                refers.push((k, names));
            }
        }
        // Whatever refers to a variable reached by name waits with it.
        loop {
            let (join, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut refers)
                .into_iter()
                .partition(|(_, names)| names.iter().any(|n| by_name.contains(n)));
            refers = keep;
            if join.is_empty() {
                break;
            }
            by_name.extend(join.into_iter().map(|(k, _)| k));
        }
        loop {
            let pending: Vec<String> = refers.iter().map(|(k, _)| k.clone()).collect();
            let (ready, blocked): (Vec<_>, Vec<_>) = std::mem::take(&mut refers)
                .into_iter()
                .partition(|(k, names)| names.iter().all(|n| n == k || !pending.contains(n)));
            refers = blocked;
            if ready.is_empty() {
                break;
            }
            let c = self.context(vars);
            for (k, _) in ready {
                let Some(v) = vars.get(&k) else { continue };
                match self
                    .templates
                    .render_value(v, &c, self.at, &format!("variable `{k}`"))
                {
                    Ok(new) => {
                        vars.insert(k, new);
                    }
                    Err(err) => {
                        dropped(vars, &mut roots, k, &err);
                    }
                };
            }
        }
        // A cycle: each waits for another.
        for (k, _) in refers {
            vars.remove(&k);
        }
        self.resolve_fixpoint(vars, by_name, &mut roots);
        roots
    }

    /// Renders the `lazy` variables of `vars` in the full context until nothing changes; drops
    /// those that still cannot render. For the variables that reach others by a name in a string
    /// (see [`Resolver::resolve`]).
    fn resolve_fixpoint(
        &self,
        vars: &mut Map<String, Value>,
        mut lazy: Vec<String>,
        roots: &mut Map<String, Value>,
    ) {
        for _ in 0..8 {
            if lazy.is_empty() {
                break;
            }
            let c = self.context(vars);
            let mut progress = false;
            let mut still = Vec::new();
            for k in lazy {
                let Some(v) = vars.get(&k) else { continue };
                match self
                    .templates
                    .render_value(v, &c, self.at, &format!("variable `{k}`"))
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
            let c = self.context(vars);
            if let Some(v) = vars.get(&k)
                && let Err(err) =
                    self.templates
                        .render_value(v, &c, self.at, &format!("variable `{k}`"))
            {
                dropped(vars, roots, k, &err);
            }
        }
    }
}

/// Drops the variable `k`, which failed to render with `err`, noting in `roots` its value as
/// written (`raw`) and the undefined variable it came to (`root`): the one `err` names, or,
/// when that is itself a dropped variable, the one that one came to.
fn dropped(
    vars: &mut Map<String, Value>,
    roots: &mut Map<String, Value>,
    k: String,
    err: &clearfleet_template::TemplateError,
) {
    let Some(raw) = vars.remove(&k) else { return };
    let mut entry = Map::from_iter([("raw".to_owned(), raw)]);
    if let Some(name) = err.undefined_name() {
        let root = roots
            .get(super::templating::variable_of(name))
            .and_then(|r| r.get("root"))
            .cloned()
            .unwrap_or_else(|| Value::from(name));
        entry.insert("root".to_owned(), root);
    }
    roots.insert(k, Value::Object(entry));
}

/// Whether a variable's value holds a template anywhere inside.
/// The strings of `v` that are templates.
pub(crate) fn template_strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) if Templates::is_template(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().flat_map(template_strings).collect(),
        Value::Object(m) => m.values().flat_map(template_strings).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => Templates::is_template(s),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

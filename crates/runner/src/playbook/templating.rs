//! Templates compiled once per run and rendered per host: a cache keyed by source text, shared
//! by every host task of the run.

use std::collections::HashMap;
use std::sync::RwLock;

use serde_json::Value;

use clearfleet_base::diagnostic::Location;
use clearfleet_template::{ExprId, Origin, TemplateError, TemplateId, Templates, Truth};

#[derive(Default)]
struct Inner {
    templates: Templates,
    /// Each text's template and where it was compiled first (its errors point there).
    texts: HashMap<String, (TemplateId, Location)>,
    exprs: HashMap<String, (ExprId, Location)>,
    /// Every place the loader found each text, for errors.
    places: HashMap<String, Vec<Location>>,
}

/// The run's templates. Compiling takes the write lock once per distinct string; rendering
/// only reads.
#[derive(Default)]
pub struct TemplateCache {
    inner: RwLock<Inner>,
}

/// The key of a task's variables under which each variable dropped for want of an undefined
/// one maps to `{"root": its name, "raw": the dropped value as written}` (`lazy_vars`). Ansible's undefined marker travels through a chain of
/// templates, so its error names the variable the chain ends at (`'sorry_not_defined' is
/// undefined`, where `x: "{{ sorry_not_defined }}"` is what the task used): a render failing
/// on a dropped variable is reworded so ([`rooted`]). Not a variable: no template reads it.
pub(crate) const UNDEFINED_ROOTS: &str = "__clearfleet_undefined_roots";

/// The variable an undefined expression starts from: `user` of `user.name` or `user['x']`.
pub(crate) fn variable_of(expression: &str) -> &str {
    expression
        .split(['.', '['])
        .next()
        .unwrap_or(expression)
        .trim()
}

/// The value as written of `name`, a variable dropped for want of an undefined one.
pub(crate) fn dropped_raw(ctx: &clearfleet_template::Value, name: &str) -> Option<Value> {
    let raw = ctx
        .get_attr(UNDEFINED_ROOTS)
        .and_then(|roots| roots.get_attr(name))
        .and_then(|dropped| dropped.get_attr("raw"))
        .ok()?;
    (!raw.is_undefined())
        .then(|| serde_json::to_value(&raw).ok())
        .flatten()
}

/// `err` naming, in place of a dropped variable, the undefined variable it came to.
fn rooted(err: TemplateError, ctx: &clearfleet_template::Value) -> TemplateError {
    let root = err.undefined_name().and_then(|name| {
        ctx.get_attr(UNDEFINED_ROOTS)
            .and_then(|roots| roots.get_attr(variable_of(name)))
            .and_then(|dropped| dropped.get_attr("root"))
            .ok()
            .and_then(|root| root.as_str().map(str::to_owned))
    });
    match root {
        Some(root) => err.renamed(root),
        None => err,
    }
}

fn origin(at: &Location, what: &str) -> Origin {
    Origin::new(&at.path, at.line, at.column, what)
}

impl TemplateCache {
    /// Compiles a text template (once), for the loader's syntax check and for rendering.
    pub fn compile_text(
        &self,
        source: &str,
        at: &Location,
        what: &str,
    ) -> Result<TemplateId, TemplateError> {
        self.compiled_text(source, at, what).map(|(id, _)| id)
    }

    /// [`TemplateCache::compile_text`], with where the text was compiled first.
    fn compiled_text(
        &self,
        source: &str,
        at: &Location,
        what: &str,
    ) -> Result<(TemplateId, Location), TemplateError> {
        if let Some(found) = self.read(|i| i.texts.get(source).cloned()) {
            return Ok(found);
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = inner.texts.get(source) {
            return Ok(found.clone());
        }
        let id = inner.templates.compile(source, origin(at, what))?;
        inner.texts.insert(source.to_owned(), (id, at.clone()));
        Ok((id, at.clone()))
    }

    /// The loader's syntax check (`playbook::TemplateCheck`): compiles what it is given, so the
    /// run later renders without compiling again.
    pub fn check(
        &self,
        source: &str,
        kind: clearfleet_playbook::TemplateKind,
        at: &Location,
    ) -> Result<(), TemplateError> {
        {
            let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
            let places = inner.places.entry(source.to_owned()).or_default();
            if !places.contains(at) {
                places.push(at.clone());
            }
        }
        match kind {
            clearfleet_playbook::TemplateKind::Text => {
                self.compile_text(source, at, "template").map(|_| ())
            }
            clearfleet_playbook::TemplateKind::Expression => {
                self.compile_expr(source, at, "condition").map(|_| ())
            }
        }
    }

    /// The variables `source` reads by name ([`Templates::names`]), compiling it once.
    pub fn names(
        &self,
        source: &str,
        at: &Location,
        what: &str,
    ) -> Result<Vec<String>, TemplateError> {
        let id = self.compile_text(source, at, what)?;
        Ok(self.read(|i| i.templates.names(id).to_vec()))
    }

    /// Compiles a bare expression (`when:` and friends) once.
    pub fn compile_expr(
        &self,
        source: &str,
        at: &Location,
        what: &str,
    ) -> Result<ExprId, TemplateError> {
        self.compiled_expr(source, at, what).map(|(id, _)| id)
    }

    /// [`TemplateCache::compile_expr`], with where the expression was compiled first.
    fn compiled_expr(
        &self,
        source: &str,
        at: &Location,
        what: &str,
    ) -> Result<(ExprId, Location), TemplateError> {
        if let Some(found) = self.read(|i| i.exprs.get(source).cloned()) {
            return Ok(found);
        }
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = inner.exprs.get(source) {
            return Ok(found.clone());
        }
        let id = inner.templates.compile_expr(source, origin(at, what))?;
        inner.exprs.insert(source.to_owned(), (id, at.clone()));
        Ok((id, at.clone()))
    }

    /// Where the lookups read the playbook's files (the built-in playbook's are in memory).
    pub fn set_controller_files(&self, files: clearfleet_base::controller_files::ControllerFiles) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.templates.set_controller_files(files);
    }

    /// `with_<lookup>`: the lookup `name` (one of `clearfleet_template::lookup::LOOKUPS`, as the
    /// loader checked) over `terms`, as a list (`query`), for a task running `module`.
    pub fn lookup_items(
        &self,
        name: &str,
        terms: Value,
        module: &str,
        ctx: &clearfleet_template::Value,
        at: &Location,
    ) -> Result<Value, TemplateError> {
        const TERMS: &str = "__clearfleet_terms";
        // `with_first_found` searches the directory its module's files live in (Ansible looks
        // for `template`, `var`, `file` in the action's name; `files` when none is there).
        let subdir = ["template", "var", "file"]
            .into_iter()
            .find(|s| module.contains(s))
            .unwrap_or("file");
        let source = format!(
            "{{{{ query({name:?}, *{TERMS}, {}='{subdir}s') }}}}",
            clearfleet_template::lookup::WITH_SUBDIR
        );
        let terms =
            Templates::context_map(&serde_json::Map::from_iter([(TERMS.to_owned(), terms)]));
        let ctx = Templates::layered([ctx.clone(), terms]);
        self.render(&source, &ctx, at, &format!("with_{name}"))
    }

    fn read<T>(&self, f: impl FnOnce(&Inner) -> T) -> T {
        f(&self.inner.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Renders `source` with Ansible's native types (a lone `{{ x }}` keeps x's type).
    pub fn render(
        &self,
        source: &str,
        ctx: &clearfleet_template::Value,
        at: &Location,
        what: &str,
    ) -> Result<Value, TemplateError> {
        let (id, first) = self.compiled_text(source, at, what)?;
        self.read(|i| i.templates.render_ctx(id, ctx))
            .map_err(|err| rooted(self.placed(err, source, &first, at), ctx))
    }

    /// `err`, from the text `source` compiled first at `first`, pointing at `at` when the
    /// loader found the text there too (a cache shares one compiled template between places;
    /// a caller that knows only the task's place keeps the first).
    fn placed(
        &self,
        err: TemplateError,
        source: &str,
        first: &Location,
        at: &Location,
    ) -> TemplateError {
        let known = self.read(|i| i.places.get(source).is_some_and(|p| p.contains(at)));
        match known {
            true => err.moved(first, at),
            false => err,
        }
    }

    /// Renders a keyword's string (`remote_user`, `become_user`): text as it is, a template
    /// rendered, a non-string result as its JSON text.
    pub fn render_string(
        &self,
        source: &str,
        ctx: &clearfleet_template::Value,
        at: &Location,
        what: &str,
    ) -> Result<String, TemplateError> {
        if !Templates::is_template(source) {
            return Ok(source.to_owned());
        }
        Ok(match self.render(source, ctx, at, what)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Renders every string inside `value` (objects and arrays walked).
    pub fn render_value(
        &self,
        value: &Value,
        ctx: &clearfleet_template::Value,
        at: &Location,
        what: &str,
    ) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) if Templates::is_template(s) => self.render(s, ctx, at, what)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_value(v, ctx, at, what))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let v = self.render_value(v, ctx, at, what)?;
                    // Ansible's `omit`: the argument is left out.
                    if v.as_str() != Some(clearfleet_template::OMIT) {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates a condition to a boolean, as Ansible 2.19 does.
    pub fn condition(
        &self,
        expr: &str,
        ctx: &clearfleet_template::Value,
        at: &Location,
        what: &str,
    ) -> Result<bool, TemplateError> {
        let (id, first) = self.compiled_expr(expr, at, what)?;
        let truth = self
            .read(|i| i.templates.eval_condition_ctx(id, ctx))
            .map_err(|err| rooted(self.placed(err, expr, &first, at), ctx))?;
        match truth {
            Truth::Bool(b) => Ok(b),
            // One step of indirection, as 2.19 takes: the expression itself must be boolean.
            Truth::Indirect(expression) => {
                let (id, first) = self.compiled_expr(&expression, at, what)?;
                self.read(|i| i.templates.eval_bool_ctx(id, ctx))
                    .map_err(|err| rooted(self.placed(err, &expression, &first, at), ctx))
            }
        }
    }

    /// Renders a whole template file (the `template` module) with the action's `syntax`, its
    /// includes and imports found under `search`, read through `files`.
    pub fn render_file_searching(
        &self,
        name: &str,
        source: &str,
        ctx: &clearfleet_template::Value,
        syntax: &clearfleet_template::FileSyntax,
        search: Vec<std::path::PathBuf>,
        files: clearfleet_base::controller_files::ControllerFiles,
    ) -> Result<String, TemplateError> {
        self.read(|i| {
            i.templates
                .render_file_searching(name, source, ctx, syntax, search, files)
        })
        .map_err(|err| rooted(err, ctx))
    }
}

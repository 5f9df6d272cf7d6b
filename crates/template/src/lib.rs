//! Jinja templating that behaves like Ansible's (ansible-core 2.19) on top of minijinja 3.1.
//!
//! # Use
//! Compile every templated string of a playbook once with [`Templates::compile`] (string
//! fields) or [`Templates::compile_expr`] (`when:`, `changed_when:`, `failed_when:`, `until:`),
//! then render per host. Rendering never re-parses. Variables are passed as JSON; converting a
//! large variable set costs one walk over it per call, so a caller rendering many templates for
//! one host should convert once with [`Templates::context`] and use the `*_ctx` methods.
//!
//! # Ansible semantics kept (checked against ansible-core 2.19.14, see tests/template_ansible_diff.rs)
//! - Native types: a template that outputs exactly one node yields that node's value (list,
//!   dict, int, bool, None): `"{{ [1] }}"`, `"{% if c %}{{ [1] }}{% endif %}"`; no node yields
//!   None; several nodes join into a string (`"x{{ 3 }}"` is `"x3"`).
//! - In string context None prints as nothing, booleans as `True`/`False`, floats as Python's
//!   `repr`, lists and dicts as Python's `repr`.
//! - Undefined variables: printing, testing (`{% if x %}`), iterating, comparing, concatenating
//!   or filtering an undefined value is an error naming it (`'missing' is undefined`);
//!   `x | default(..)`, `x is defined`, `x is undefined` work, also on chains whose root is
//!   missing (`missing.a.b | default(1)`, `missing.a is defined`) through a small source
//!   rewrite (`preprocess`).
//! - String literals inside `{{ }}` of fields keep their backslashes (Ansible's
//!   `escape_backslashes`): `regex_replace('(a)', '\1')` works as in Ansible.
//! - Python `%` formatting with a literal on the left (`'%s:%d' % (h, p)`), and
//!   `ansible.builtin.`/`ansible.legacy.` filter and test names.
//! - No auto-escaping for any template name.
//! - `trim_blocks` on, trailing newlines of the source kept (Ansible's `preserve_trailing_newlines`).
//! - Conditionals must evaluate to a boolean (ansible-core 2.19's default); a conditional
//!   written as `{{ expr }}` is accepted (2.19 accepts it with a deprecation warning).
//! - String constants that look like templates are rendered: all of a bare conditional's,
//!   only a lookup's terms elsewhere (`preprocess::Consts`).
//! - `password_hash` (and the `password` lookup's `encrypt`) give passlib 1.7's hashes byte for
//!   byte for a given salt and rounds, with Ansible's default rounds (656000 for sha512,
//!   535000 for sha256, 12 for bcrypt), passlib's random salt sizes and its error messages
//!   (the `encrypt` module).
//! - `to_yaml`/`to_nice_yaml` are byte-for-byte PyYAML+libyaml output; `from_yaml` resolves
//!   scalars like PyYAML (YAML 1.1: `yes`/`on` are booleans, `y`/`n` are not, `0755` is octal).
//!
//! # Known differences from Ansible
//! - Regular expressions use the `regex` crate: lookaround and backreferences in patterns are
//!   an error. Python's `$` also matches before a final newline: `search`/`match`/`regex` and
//!   `regex_search` emulate that, `regex_replace`/`regex_findall` do not.
//! - `%` formatting only with a string literal on the left (`fmt_var % x` fails), and a list on
//!   the right is spread over the conversions (Python would format it as one value).
//! - The undefined-chain rewrite only covers a chain written directly before `| default`,
//!   `| d`, `is [not] defined`, `is [not] undefined`: `(missing.a) | default(1)` still fails.
//! - The native-type rule counts formatter calls, so output printed inside `{% set %}` blocks or
//!   macros also counts as a node (the joined string is then returned; same text).
//! - Lookups (`lookup()`, `query()`, `q()`): the set in [`lookup::LOOKUPS`], run on the
//!   controller as in Ansible (see the `lookup` module).
//! - Not available: `version_type='pep440'`,
//!   `to_datetime`, `strftime`, `ipaddr` and other less common filters.
//! - `password_hash` and the `password` lookup's `encrypt` hash with md5_crypt, sha256_crypt,
//!   sha512_crypt and bcrypt only (passlib, which Ansible uses, has more: `pbkdf2_sha256`, ...).
//!   `random`/`shuffle` with a `seed` give CPython's numbers; without one, any numbers.
//! - `now()` reads a UTC clock whatever `utc` says (Ansible's default is local time).
//! - `from_yaml` returns timestamps as strings (PyYAML builds dates); `!vault` is an error.
//! - Error messages are minijinja's, reworded where Ansible's are well known
//!   (`'x' is undefined`, `Conditionals must have a boolean result`).

#[cfg(test)]
mod const_templates_tests;
mod encrypt;
mod env;
mod error;
mod file_syntax;
mod filters;
mod lazy_map;
pub mod lookup;
mod methods;
mod preprocess;
mod tests;
pub mod version;
mod yaml;
mod yaml_load;

pub use encrypt::{EncryptError, Settings as EncryptSettings, do_encrypt};
pub use env::OMIT;
pub use error::{Origin, TemplateError};
pub use file_syntax::{FileSyntax, Setting};
pub use filters::merge_hash;
pub use lazy_map::lazy_map;
pub use minijinja::Value;
pub use preprocess::Delimiters;

use minijinja::Environment;
use preprocess::Processed;

/// A compiled string template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TemplateId(usize);

/// A compiled expression (`when:` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExprId(usize);

/// The variable holding an expression's value in the wrapper template.
const RESULT_VAR: &str = "__clearfleet_result";
const EXPR_PREFIX: &str = "{% set __clearfleet_result = (";
const EXPR_SUFFIX: &str = "\n) %}";

struct CompiledTemplate {
    /// Name of the template in the environment (renders the string).
    name: String,
    /// For a single `{{ expr }}`: the expression wrapper that yields its native value.
    native: Option<String>,
    source: String,
    /// Maps offsets of the compiled (rewritten) text back to `source`.
    map: Processed,
    origin: Origin,
    /// The variables it reads by name (see [`Templates::names`]).
    names: Vec<String>,
}

struct CompiledExpr {
    name: String,
    /// The expression the user wrote (inside any `{{ }}`), as rewritten by `preprocess`.
    map: Processed,
    /// Bytes between the start of the compiled wrapper and the start of `source` in the origin.
    prefix_len: usize,
    /// Byte offset of `source` inside the original field (after a stripped `{{`).
    field_offset: usize,
    field: String,
    origin: Origin,
    /// Written inside `{{ }}` (or as any other whole template): 2.19 renders it as a template,
    /// and a string result is an expression to evaluate in its place ([`Truth::Indirect`]).
    wrapped: bool,
    /// A whole template that is not one `{{ expr }}` (`{{ a }} == {{ b }}`): `name` renders it.
    template: bool,
}

/// What a condition evaluated to ([`Templates::eval_condition_ctx`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    Bool(bool),
    /// A trusted expression a `{{ }}` condition led to: evaluate it in its place.
    Indirect(String),
}

/// The templating engine: owns one minijinja environment and every compiled template.
/// `Send + Sync`; compile once, render many times from any thread.
pub struct Templates {
    env: Environment<'static>,
    /// The same settings without the compiled fields: what a template file's render copies
    /// (see [`Templates::render_file_searching`]), so the copy does not grow with the playbook.
    file_env: Environment<'static>,
    templates: Vec<CompiledTemplate>,
    exprs: Vec<CompiledExpr>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("templates", &self.templates.len())
            .field("exprs", &self.exprs.len())
            .finish()
    }
}

impl Templates {
    pub fn new() -> Templates {
        Templates {
            env: env::build(),
            file_env: env::build(),
            templates: Vec::new(),
            exprs: Vec::new(),
        }
    }

    /// Where the lookups (`lookup('file', ...)`) read the playbook's files: the disk unless
    /// set (the built-in playbook's files are in memory).
    pub fn set_controller_files(
        &mut self,
        files: clearfleet_base::controller_files::ControllerFiles,
    ) {
        lookup::register(&mut self.file_env, files.clone());
        lookup::register(&mut self.env, files);
    }

    /// True when `s` contains `{{`, `{%` or `{#`.
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Whether `s` may be one template and nothing else (ansible-core 2.19.14's
    /// `_jinja_bits.is_possibly_all_template`: the `#jinja2:` header first, or a start
    /// delimiter (`{{`, `{%`, `{#`) first and an end delimiter last), surrounding whitespace
    /// aside.
    pub fn is_possibly_all_template(s: &str) -> bool {
        let t = s.trim();
        t.starts_with("#jinja2:")
            || (["{{", "{%", "{#"].iter().any(|d| t.starts_with(d))
                && ["}}", "%}", "#}"].iter().any(|d| t.ends_with(d)))
    }

    /// Converts variables once, for the `*_ctx` methods.
    pub fn context(vars: &serde_json::Value) -> Value {
        Value::from(minijinja::value::Serde(vars))
    }

    /// [`Templates::context`] of a variable map, without building a `serde_json::Value` first.
    pub fn context_map(vars: &serde_json::Map<String, serde_json::Value>) -> Value {
        Value::from(minijinja::value::Serde(vars))
    }

    /// Layers contexts: a name is looked up in `layers` from last to first, lazily (nothing is
    /// copied), so run-wide variables can sit under every host's without a copy per host.
    pub fn layered(layers: impl IntoIterator<Item = Value>) -> Value {
        minijinja::value::merge_maps(layers)
    }

    /// Compiles a string field once, remembering where it came from for errors.
    pub fn compile(&mut self, source: &str, origin: Origin) -> Result<TemplateId, TemplateError> {
        let id = self.templates.len();
        let name = format!("t{id}");
        let map = preprocess::template(source, true);
        self.env
            .add_template_owned(name.clone(), map.text.clone())
            .map_err(|e| TemplateError::from_minijinja(&e, &origin, source, 0, 0, &map))?;
        let native = match single_expression(&map.text) {
            Some((inner, _)) if self.env.compile_expression(inner).is_ok() => {
                let native_name = format!("t{id}n");
                let wrapper = format!("{EXPR_PREFIX}{inner}{EXPR_SUFFIX}");
                // It parsed as an expression, so the wrapper parses too; if not, stay a string.
                self.env
                    .add_template_owned(native_name.clone(), wrapper)
                    .ok()
                    .map(|()| native_name)
            }
            _ => None,
        };
        let names = self.names_read(&name, &map);
        self.templates.push(CompiledTemplate {
            name,
            native,
            source: source.to_owned(),
            map,
            origin,
            names,
        });
        Ok(TemplateId(id))
    }

    /// The names template `name` (compiled from `map`) reads: see [`Templates::names`].
    fn names_read(&self, name: &str, map: &Processed) -> Vec<String> {
        let mut names: Vec<String> = self
            .env
            .get_template(name)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default();
        names.extend(preprocess::chained_roots(&map.text));
        // The constants it renders (`lookup('pipe', 'echo {{ x }}')` reads `x`).
        for (from, to) in &map.consts {
            let constant = map
                .text
                .get(*from..*to)
                .and_then(|lit| self.env.compile_expression(lit).ok())
                .and_then(|e| e.eval(()).ok());
            let Some(text) = constant.as_ref().and_then(Value::as_str) else {
                continue;
            };
            let inner = preprocess::template(text, true);
            if let Ok(t) = self.env.template_from_str(&inner.text) {
                names.extend(t.undeclared_variables(false));
            }
            names.extend(preprocess::chained_roots(&inner.text));
        }
        names.sort();
        names.dedup();
        names
    }

    /// The variables template `id` reads by name: those it uses that it does not set itself
    /// (minijinja's `undeclared_variables`, globals and functions such as `lookup` included),
    /// the roots of its guarded chains (`missing.attr | default(x)`) and those the template
    /// constants it renders read (`lookup('pipe', 'echo {{ x }}')`). Not those it reaches at
    /// run time by a name in a string (`vars['x']`, `lookup('vars', 'x')`).
    pub fn names(&self, id: TemplateId) -> &[String] {
        self.templates.get(id.0).map_or(&[], |t| &t.names)
    }

    /// Compiles a `when:`/`changed_when:`/`failed_when:`/`until:` expression (no braces; a
    /// single `{{ expr }}` is accepted too, as Ansible does).
    ///
    /// As ansible-core 2.19.14's `_normalize_and_evaluate_conditional`
    /// (`_internal/_templating/_engine.py`): surrounding whitespace is stripped; a condition that
    /// is a whole template (`is_possibly_all_template`) is rendered as a template, whose string
    /// constants are left alone but for a lookup's terms; a bare expression renders every
    /// template-looking string constant in it first (`"dude" == "du{{ 'de' }}"` holds), as
    /// 2.19's `_render_jinja_const_template` does (see `preprocess::Consts`). A whole template
    /// that is not one `{{ expr }}` (`{{ a }} == {{ b }}`) renders to text, which
    /// [`Templates::eval_condition_ctx`] then treats as 2.19 treats a template's string.
    pub fn compile_expr(&mut self, expr: &str, origin: Origin) -> Result<ExprId, TemplateError> {
        let id = self.exprs.len();
        let name = format!("e{id}");
        let lead = expr.len() - expr.trim_start().len();
        let trimmed = expr.trim();
        let wrapped = Self::is_possibly_all_template(trimmed);
        let single = single_expression(trimmed).filter(|(inner, _)| {
            let map = preprocess::expression(inner, preprocess::Consts::LookupTerms);
            self.env.compile_expression(&map.text).is_ok()
        });
        if wrapped && single.is_none() {
            let map = preprocess::template(trimmed, true);
            self.env
                .add_template_owned(name.clone(), map.text.clone())
                .map_err(|e| TemplateError::from_minijinja(&e, &origin, expr, lead, 0, &map))?;
            self.exprs.push(CompiledExpr {
                name,
                map,
                prefix_len: 0,
                field_offset: lead,
                field: expr.to_owned(),
                origin,
                wrapped,
                template: true,
            });
            return Ok(ExprId(id));
        }
        let (source, field_offset, consts) = match single {
            Some((inner, offset)) => (inner, lead + offset, preprocess::Consts::LookupTerms),
            None => (trimmed, lead, preprocess::Consts::All),
        };
        let map = preprocess::expression(source, consts);
        let located = |e: &minijinja::Error, prefix: usize| {
            TemplateError::from_minijinja(e, &origin, expr, field_offset, prefix, &map)
        };
        // Parse the bare expression first so that errors point into what the user wrote.
        self.env
            .compile_expression(&map.text)
            .map_err(|e| located(&e, 0))?;
        let wrapper = format!("{EXPR_PREFIX}{}{EXPR_SUFFIX}", map.text);
        self.env
            .add_template_owned(name.clone(), wrapper)
            .map_err(|e| located(&e, EXPR_PREFIX.len()))?;
        self.exprs.push(CompiledExpr {
            name,
            map,
            prefix_len: EXPR_PREFIX.len(),
            field_offset,
            field: expr.to_owned(),
            origin,
            wrapped: single.is_some(),
            template: false,
        });
        Ok(ExprId(id))
    }

    /// Renders with Ansible's native types (see the module docs).
    pub fn render(
        &self,
        id: TemplateId,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        self.render_ctx(id, &Self::context(vars))
    }

    /// [`Templates::render`] with pre-converted variables.
    pub fn render_ctx(
        &self,
        id: TemplateId,
        ctx: &Value,
    ) -> Result<serde_json::Value, TemplateError> {
        let t = self
            .templates
            .get(id.0)
            .ok_or(TemplateError::UnknownId(id.0))?;
        if let Some(native) = &t.native {
            let value = self.eval_wrapper(native, ctx, |e| {
                TemplateError::from_minijinja(e, &t.origin, &t.source, 0, 0, &t.map)
            });
            match value {
                // An undefined result, or an error: render as a string to get the error with
                // the right name and column.
                Ok(v) if !v.is_undefined() => return to_json(&v, &t.origin, &t.source),
                _ => {}
            }
        }
        if !Self::is_template(&t.source) {
            return Ok(serde_json::Value::String(t.source.clone()));
        }
        let located = |e: &minijinja::Error| {
            TemplateError::from_minijinja(e, &t.origin, &t.source, 0, 0, &t.map)
        };
        let template = self.env.get_template(&t.name).map_err(|e| located(&e))?;
        let value = native_output(&template, ctx, &t.source)
            .map_err(|e| self.explain_undefined(located(&e), ctx))?;
        to_json(&value, &t.origin, &t.source)
    }

    /// ansible-core 2.19 says why a chain whose last key a mapping lacks is undefined ("object
    /// of type 'dict' has no attribute 'stdout'"): the undefined error of `r.stdout` or
    /// `r['stdout']` says so too when `r` is a mapping, still naming the chain.
    fn explain_undefined(&self, err: TemplateError, ctx: &Value) -> TemplateError {
        let TemplateError::Undefined {
            location,
            what,
            name,
            message,
        } = err
        else {
            return err;
        };
        let parent_is_map = |parent: &str| {
            self.env
                .compile_expression(parent)
                .ok()
                .and_then(|e| e.eval(ctx).ok())
                .is_some_and(|v| v.kind() == minijinja::value::ValueKind::Map)
        };
        let message = match last_link(&name) {
            Some((parent, key)) if parent_is_map(parent) => {
                format!("object of type 'dict' has no attribute '{key}'")
            }
            _ => message,
        };
        TemplateError::Undefined {
            location,
            what,
            name,
            message,
        }
    }

    /// Renders to a string, whatever the expression's type.
    pub fn render_str(
        &self,
        id: TemplateId,
        vars: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.render_str_ctx(id, &Self::context(vars))
    }

    /// [`Templates::render_str`] with pre-converted variables.
    pub fn render_str_ctx(&self, id: TemplateId, ctx: &Value) -> Result<String, TemplateError> {
        let t = self
            .templates
            .get(id.0)
            .ok_or(TemplateError::UnknownId(id.0))?;
        let located = |e: &minijinja::Error| {
            TemplateError::from_minijinja(e, &t.origin, &t.source, 0, 0, &t.map)
        };
        let template = self.env.get_template(&t.name).map_err(|e| located(&e))?;
        let out = template.render(ctx).map_err(|e| located(&e))?;
        Ok(restore_trailing_newlines(&t.source, out))
    }

    /// Evaluates an expression to its value.
    pub fn eval(
        &self,
        id: ExprId,
        vars: &serde_json::Value,
    ) -> Result<serde_json::Value, TemplateError> {
        self.eval_ctx(id, &Self::context(vars))
    }

    /// [`Templates::eval`] with pre-converted variables.
    pub fn eval_ctx(&self, id: ExprId, ctx: &Value) -> Result<serde_json::Value, TemplateError> {
        let (e, v) = self.eval_value(id, ctx)?;
        to_json(&v, &e.origin, &e.field)
    }

    /// Evaluates a conditional. As in ansible-core 2.19, the result must be a boolean: any
    /// other type is an error ("Conditionals must have a boolean result").
    pub fn eval_bool(&self, id: ExprId, vars: &serde_json::Value) -> Result<bool, TemplateError> {
        self.eval_bool_ctx(id, &Self::context(vars))
    }

    /// [`Templates::eval_bool`] with pre-converted variables.
    /// A condition's result, as ansible-core 2.19's `_normalize_and_evaluate_conditional`
    /// gives it: a boolean, or, for a condition wrapped in `{{ }}` whose value is a string an
    /// author wrote ([`clearfleet_base::trust`]), that string, to be evaluated as the
    /// expression (`when: "{{ item }}"` over a list of expressions). A string no author wrote
    /// is refused there, as 2.19 refuses an untrusted one.
    pub fn eval_condition_ctx(&self, id: ExprId, ctx: &Value) -> Result<Truth, TemplateError> {
        let (e, v) = self.eval_value(id, ctx)?;
        if let (Some(s), true) = (v.as_str(), e.wrapped) {
            if !clearfleet_base::trust::is_trusted_condition(s) {
                return Err(TemplateError::Render {
                    location: e.origin.locate(&e.field, e.field_offset),
                    what: e.origin.what.clone(),
                    message: clearfleet_base::trust::UNTRUSTED.into(),
                });
            }
            return Ok(Truth::Indirect(s.trim().to_owned()));
        }
        self.eval_bool_ctx(id, ctx).map(Truth::Bool)
    }

    pub fn eval_bool_ctx(&self, id: ExprId, ctx: &Value) -> Result<bool, TemplateError> {
        let (e, v) = self.eval_value(id, ctx)?;
        if v.kind() == minijinja::value::ValueKind::Bool {
            return Ok(v.is_true());
        }
        Err(TemplateError::Render {
            location: e.origin.locate(&e.field, e.field_offset),
            what: e.origin.what.clone(),
            message: format!(
                "Conditional result ({}) was derived from value of type '{}'. Conditionals must have a boolean result.",
                if v.is_true() { "True" } else { "False" },
                filters::type_name(&v)
            ),
        })
    }

    /// Renders a whole template file once (the `template` module); `name` appears in errors.
    pub fn render_file(
        &self,
        name: &str,
        source: &str,
        vars: &serde_json::Value,
    ) -> Result<String, TemplateError> {
        self.render_file_ctx(name, source, &Self::context(vars))
    }

    /// [`Templates::render_file`] with variables converted by [`Templates::context`].
    pub fn render_file_ctx(
        &self,
        name: &str,
        source: &str,
        ctx: &Value,
    ) -> Result<String, TemplateError> {
        Self::render_file_in(&self.env, name, source, ctx, &Delimiters::default(), 1)
    }

    /// [`Templates::render_file_ctx`] with the `template` action's `syntax` (overridden by
    /// the file's `#jinja2:` first line), whose `{% include %}`, `{% import %}`, `{% from %}`
    /// and `{% extends %}` find the templates they name as the action's Jinja2
    /// `FileSystemLoader` does (plugins/action/template.py of ansible-core 2.19.14): under each
    /// directory of `search` in turn, read through `files`; a name with a `..` component is
    /// not found (Jinja2's `split_template_path`). The environment is copied for the render,
    /// so what one task's search path found is never another's.
    pub fn render_file_searching(
        &self,
        name: &str,
        source: &str,
        ctx: &Value,
        syntax: &FileSyntax,
        search: Vec<std::path::PathBuf>,
        files: clearfleet_base::controller_files::ControllerFiles,
    ) -> Result<String, TemplateError> {
        let origin = Origin::new(name, 1, 1, format!("template `{name}`"));
        let fail = |message: String| TemplateError::Render {
            location: origin.locate(source, 0),
            what: origin.what.clone(),
            message,
        };
        let (syntax, body) = syntax.with_header(source).map_err(fail)?;
        let first_line = if body.len() < source.len() { 2 } else { 1 };
        let body = syntax.newlines(body);
        let env = searching_env(self.file_env.clone(), &syntax, search, files)
            .map_err(|e| fail(e.to_string()))?;
        Self::render_file_in(&env, name, &body, ctx, &syntax.delimiters, first_line)
    }

    /// Renders `source`, whose first line is line `first_line` of the file `name`.
    fn render_file_in(
        env: &Environment<'static>,
        name: &str,
        source: &str,
        ctx: &Value,
        delims: &Delimiters,
        first_line: usize,
    ) -> Result<String, TemplateError> {
        let origin = Origin::new(name, first_line, 1, format!("template `{name}`"));
        // The template module does not escape backslashes (ansible-core passes
        // escape_backslashes=False), but undefined chains are rewritten as for fields.
        let map = preprocess::template_with(source, false, delims);
        let located =
            |e: &minijinja::Error| TemplateError::from_minijinja(e, &origin, source, 0, 0, &map);
        let out = env
            .render_named_str(name, &map.text, ctx.clone())
            .map_err(|e| located(&e))?;
        Ok(restore_trailing_newlines(source, out))
    }

    fn eval_value(&self, id: ExprId, ctx: &Value) -> Result<(&CompiledExpr, Value), TemplateError> {
        let e = self.exprs.get(id.0).ok_or(TemplateError::UnknownId(id.0))?;
        let located = |err: &minijinja::Error| {
            TemplateError::from_minijinja(
                err,
                &e.origin,
                &e.field,
                e.field_offset,
                e.prefix_len,
                &e.map,
            )
        };
        if e.template {
            let template = self
                .env
                .get_template(&e.name)
                .map_err(|err| located(&err))?;
            let v = native_output(&template, ctx, e.field.trim()).map_err(|err| located(&err))?;
            return Ok((e, v));
        }
        let v = self.eval_wrapper(&e.name, ctx, located)?;
        if v.is_undefined() {
            // `{% set %}` accepts an undefined value; evaluate it in a way that fails and names it.
            let probe = format!("{{{{ {} }}}}", e.map.text);
            let err = self.env.render_str(&probe, ctx).err().map(|err| {
                TemplateError::from_minijinja(&err, &e.origin, &e.field, e.field_offset, 3, &e.map)
            });
            return Err(err.unwrap_or_else(|| TemplateError::Render {
                location: e.origin.locate(&e.field, e.field_offset),
                what: e.origin.what.clone(),
                message: "the expression is undefined".into(),
            }));
        }
        Ok((e, v))
    }

    fn eval_wrapper(
        &self,
        name: &str,
        ctx: &Value,
        located: impl Fn(&minijinja::Error) -> TemplateError,
    ) -> Result<Value, TemplateError> {
        let template = self.env.get_template(name).map_err(|e| located(&e))?;
        let captured = template.render_captured(ctx).map_err(|e| located(&e))?;
        Ok(captured.state().lookup(RESULT_VAR).unwrap_or_default())
    }
}

/// If `source` is exactly one `{{ expr }}` (whitespace control allowed), the expression text
/// and its byte offset in `source`. The caller confirms that it parses as one expression.
fn single_expression(source: &str) -> Option<(&str, usize)> {
    let rest = source.strip_prefix("{{")?;
    let mut start = 2;
    let rest = match rest.strip_prefix(['-', '+']) {
        Some(r) => {
            start += 1;
            r
        }
        None => rest,
    };
    let inner = rest.strip_suffix("}}")?;
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if inner.trim().is_empty() {
        return None;
    }
    Some((inner, start))
}

/// Ansible appends the trailing newlines of the source that rendering dropped.
/// The value `ansible_managed` has unless the variables set it (ansible-core 2.19.14's
/// `DEFAULT_MANAGED_STR`).
pub const ANSIBLE_MANAGED: &str = "Ansible managed";

/// The variables Ansible adds for a template file (`generate_ansible_template_vars` of
/// ansible-core 2.19.14, `_internal/_templating/_template_vars.py`): `template_path` (the name
/// as given), `template_fullpath` (where it was found) and `template_destpath`; and
/// `ansible_managed` when the variables do not set it. Not added: `template_host`,
/// `template_uid`, `template_mtime`, `template_run_date`.
pub fn template_vars(
    src: &str,
    fullpath: &std::path::Path,
    dest: Option<serde_json::Value>,
) -> [(&'static str, serde_json::Value); 3] {
    [
        ("template_path", serde_json::Value::from(src)),
        (
            "template_fullpath",
            serde_json::Value::from(fullpath.display().to_string()),
        ),
        ("template_destpath", dest.unwrap_or(serde_json::Value::Null)),
    ]
}

/// `env` set up for a template file of `syntax` whose `{% include %}`, `{% import %}` and
/// `{% extends %}` find the templates they name as Jinja2's `FileSystemLoader` does: under each
/// directory of `search` in turn, read through `files`; a name with a `..` component is not
/// found (Jinja2's `split_template_path`).
pub(crate) fn searching_env(
    mut env: Environment<'static>,
    syntax: &FileSyntax,
    search: Vec<std::path::PathBuf>,
    files: clearfleet_base::controller_files::ControllerFiles,
) -> Result<Environment<'static>, minijinja::Error> {
    if *syntax != FileSyntax::default() {
        env.set_syntax(syntax.syntax_config()?);
    }
    let loaded = syntax.clone();
    env.set_loader(move |wanted: &str| {
        let rel = std::path::Path::new(wanted);
        if rel.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        }) {
            return Ok(None);
        }
        for dir in &search {
            let path = dir.join(rel);
            if files.is_file(&path) {
                let text = files.read_to_string(&path).map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::TemplateNotFound,
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let text = loaded.newlines(&text);
                return Ok(Some(
                    preprocess::template_with(&text, false, &loaded.delimiters).text,
                ));
            }
        }
        Ok(None)
    });
    Ok(env)
}

/// `r.stdout` and `r['stdout']` as `("r", "stdout")`: an undefined chain's parent and the
/// string key its last link asked for.
fn last_link(name: &str) -> Option<(&str, &str)> {
    let ident = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some(inner) = name.strip_suffix(']') {
        let open = inner.rfind('[')?;
        let key = inner[open + 1..].trim();
        let key = key
            .strip_prefix('\'')
            .and_then(|k| k.strip_suffix('\''))
            .or_else(|| key.strip_prefix('"').and_then(|k| k.strip_suffix('"')))?;
        return Some((inner[..open].trim_end(), key)).filter(|(p, _)| !p.is_empty());
    }
    let (parent, key) = name.rsplit_once('.')?;
    (ident(key) && !parent.is_empty()).then_some((parent, key))
}

/// Renders `template` as Ansible's native concatenation does (ansible-core 2.19.14,
/// `AnsibleEnvironment.concat`): no output node gives None, exactly one node and no text gives
/// that node's value, more give the joined text, its trailing newlines (those of `source`)
/// restored as Ansible's `preserve_trailing_newlines` does for a string result.
pub(crate) fn native_output(
    template: &minijinja::Template<'_, '_>,
    ctx: &Value,
    source: &str,
) -> Result<Value, minijinja::Error> {
    let captured = template.render_captured(ctx)?;
    let (count, written, last) = match captured.state().get_extension::<env::Emits>() {
        Some(e) => (e.count, e.written, Some(e.last.clone())),
        None => (0, 0, None),
    };
    let output = captured.into_output();
    let raw_text = output.len() != written;
    let value = match (count, raw_text, last) {
        (0, false, _) => return Ok(Value::from(())),
        (1, false, Some(last)) if last.as_str().is_none() => return Ok(last),
        (1, false, Some(last)) => last.as_str().unwrap_or_default().to_owned(),
        _ => output,
    };
    Ok(Value::from(restore_trailing_newlines(source, value)))
}

pub(crate) fn restore_trailing_newlines(source: &str, mut out: String) -> String {
    // The newlines (`\r\n`, `\n` or `\r`) that end `s`, last first.
    let trailing = |mut s: &str| {
        let mut found = Vec::new();
        while let Some(nl) = ["\r\n", "\n", "\r"].into_iter().find(|nl| s.ends_with(nl)) {
            found.push(nl);
            s = &s[..s.len() - nl.len()];
        }
        found
    };
    let had = trailing(source);
    let missing = had.len().saturating_sub(trailing(&out).len());
    for nl in had[..missing].iter().rev() {
        out.push_str(nl);
    }
    out
}

fn to_json(v: &Value, origin: &Origin, source: &str) -> Result<serde_json::Value, TemplateError> {
    serde_json::to_value(v).map_err(|e| TemplateError::Render {
        location: origin.locate(source, 0),
        what: origin.what.clone(),
        message: format!("the result cannot be represented as data: {e}"),
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    fn rendered(src: &str, vars: serde_json::Value) -> Result<serde_json::Value, String> {
        let mut t = Templates::new();
        let id = t
            .compile(src, Origin::new("pb.yml", 1, 1, "field".to_owned()))
            .map_err(|e| e.bare_message())?;
        t.render(id, &vars).map_err(|e| e.bare_message())
    }

    #[test]
    fn a_key_a_mapping_lacks_is_explained_as_ansible_does() {
        let vars = serde_json::json!({"r": {"a": {"b": 1}}, "l": [1]});
        for src in ["{{ r.stdout }}", "x{{ r.stdout }}", "{{ r['stdout'] }}"] {
            let err = rendered(src, vars.clone()).err().unwrap_or_default();
            assert!(
                err.ends_with("is undefined (object of type 'dict' has no attribute 'stdout')"),
                "{src}: {err}"
            );
        }
        let err = rendered("{{ r.a.c }}", vars.clone())
            .err()
            .unwrap_or_default();
        assert!(err.contains("has no attribute 'c'"), "{err}");
        // A missing variable, or a key of something that is no mapping: no such words.
        for src in ["{{ nope }}", "{{ nope.x }}", "{{ l.x }}"] {
            let err = rendered(src, vars.clone()).err().unwrap_or_default();
            assert!(!err.contains("has no attribute"), "{src}: {err}");
        }
    }

    #[test]
    fn last_links() {
        assert_eq!(last_link("r.stdout"), Some(("r", "stdout")));
        assert_eq!(last_link("r.a.b"), Some(("r.a", "b")));
        assert_eq!(last_link("r['x y']"), Some(("r", "x y")));
        assert_eq!(last_link("r[0]"), None);
        assert_eq!(last_link("r"), None);
    }
}

//! The hook through which the loader has every template and condition syntax-checked before
//! anything runs. The real checker (minijinja) lives elsewhere; the loader only decides
//! which strings to hand it and turns its complaints into diagnostics at the right place.

use clearfleet_base::diagnostic::Location;

/// What kind of text the checker is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A string with `{{ }}`/`{% %}` in it (module arguments, names, vars, loop, …).
    Text,
    /// A bare Jinja expression: `when`, `changed_when`, `failed_when`, `until`.
    Expression,
}

/// The checker's complaint about one template or expression: its message is reported at the
/// template's place. The checker's own error is kept as the cause.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateRejected(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Checks the syntax of one template or expression; `Err` is reported at `at`.
pub trait TemplateCheck {
    fn check(
        &mut self,
        source: &str,
        kind: TemplateKind,
        at: &Location,
    ) -> Result<(), TemplateRejected>;
}

/// Any closure is a checker, whatever its error (a template engine's, or a message).
impl<F, E> TemplateCheck for F
where
    F: FnMut(&str, TemplateKind, &Location) -> Result<(), E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn check(
        &mut self,
        source: &str,
        kind: TemplateKind,
        at: &Location,
    ) -> Result<(), TemplateRejected> {
        self(source, kind, at).map_err(|e| TemplateRejected(e.into()))
    }
}

/// A checker that accepts everything (for callers with no template engine at hand).
pub struct NoCheck;

impl TemplateCheck for NoCheck {
    fn check(&mut self, _: &str, _: TemplateKind, _: &Location) -> Result<(), TemplateRejected> {
        Ok(())
    }
}

/// Whether `s` is templated, as Ansible decides it (`{{` or `{%` anywhere).
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Whether `s` may be one template and nothing else
/// ([`clearfleet_template::Templates::is_possibly_all_template`]): a task's whole arguments
/// given so are rendered into its arguments when it runs (the "args splat").
pub fn is_possibly_all_template(s: &str) -> bool {
    clearfleet_template::Templates::is_possibly_all_template(s)
}

//! The `template` lookup: a file of the playbook rendered on the controller with the task's
//! variables, as ansible-core 2.19.14's `plugins/lookup/template.py` renders it (its options,
//! its includes' search path, its native result).

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::Error;
use minijinja::value::Value;

use super::files::find;
use super::{Call, fail, term_str};
use crate::file_syntax::{FileSyntax, Setting};

/// The lookup's options that set the template's syntax (their defaults are Jinja2's, and
/// `trim_blocks` on).
const SYNTAX_OPTIONS: &[&str] = &[
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
];

/// The syntax the lookup's options ask for.
fn syntax(call: &Call) -> Result<FileSyntax, Error> {
    let mut syntax = FileSyntax::default();
    for &key in SYNTAX_OPTIONS {
        if let Some(v) = call.kwarg(key)?.filter(|v| !v.is_none()) {
            let text = v
                .as_str()
                .ok_or_else(|| fail(format!("{key} must be a string, not {v}")))?;
            syntax
                .set(key, Setting::Text(text.to_owned()))
                .map_err(fail)?;
        }
    }
    syntax.trim_blocks = super::files::flag(call, "trim_blocks", true)?;
    Ok(syntax)
}

/// `template`: each file (searched under `templates/`) rendered with the task's variables,
/// the template variables (`template_path`, `template_fullpath`, `ansible_managed`, ...) and
/// `template_vars`, without backslash escaping. Its `{% include %}`s are searched in the file's
/// directory, then in each directory of the task's search path (its `templates/` first). The
/// result is native, as the lookup's `_engine.template` gives it: a file that renders to one
/// value and no text is that value (`{{ {'a': 1} }}` a dict, a macro's one value too), a file
/// that renders nothing is None, anything else is text with its trailing newlines kept.
pub(crate) fn template(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let extra = call.kwarg("template_vars")?;
    let wanted = syntax(call)?;
    terms
        .iter()
        .map(|t| {
            let name = term_str(t)?;
            let path = find(call, Some("templates"), &name).ok_or_else(|| {
                fail(format!(
                    "the template file {name} could not be found for the lookup"
                ))
            })?;
            let text = call
                .files
                .read_to_string(&path)
                .map_err(|e| fail(format!("{}: {e}", path.display())))?;
            let mut vars: BTreeMap<String, Value> = crate::env::variables(call.state);
            for (k, v) in crate::template_vars(&name, &path, None) {
                vars.insert(k.to_owned(), Value::from(minijinja::value::Serde(&v)));
            }
            vars.entry("ansible_managed".to_owned())
                .or_insert_with(|| Value::from(crate::ANSIBLE_MANAGED));
            if let Some(extra) = &extra {
                for k in extra.try_iter()? {
                    let v = extra.get_item(&k)?;
                    vars.insert(crate::filters::py_str(&k), v);
                }
            }
            let shown = path.display().to_string();
            let failed = |e: Error| {
                fail(format!(
                    "{shown}: {}",
                    e.detail()
                        .map_or_else(|| e.kind().to_string(), str::to_owned)
                ))
            };
            let (syntax, body) = wanted.with_header(&text).map_err(fail)?;
            let body = syntax.newlines(body);
            let mut search: Vec<PathBuf> = path.parent().map(PathBuf::from).into_iter().collect();
            for dir in call.search_path() {
                search.push(dir.join("templates"));
                search.push(dir);
            }
            let mut env = crate::env::build();
            super::register(&mut env, call.files.clone());
            let env =
                crate::searching_env(env, &syntax, search, call.files.clone()).map_err(failed)?;
            let map = crate::preprocess::template_with(&body, false, &syntax.delimiters);
            let compiled = env
                .template_from_named_str(shown.as_str(), &map.text)
                .map_err(failed)?;
            crate::native_output(&compiled, &Value::from(vars), &body).map_err(failed)
        })
        .collect()
}

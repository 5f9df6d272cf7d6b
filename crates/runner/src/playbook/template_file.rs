//! The `template` module's source rendered on the controller: found on the task's search
//! path, rendered with the action's options (`trim_blocks`, delimiters, `newline_sequence`)
//! and variables (`template_path`, `ansible_managed`, ...), its includes found as the
//! action's Jinja2 loader finds them.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

use super::Engine;
use clearfleet_base::boolean::ansible_bool;
use clearfleet_modules::template::RENDER_OPTIONS;
use clearfleet_playbook::Task;
use clearfleet_template::{FileSyntax, Setting, TemplateError};

/// Why the `template` module's source cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub(super) enum TemplateFileError {
    #[error("template: `src` is required")]
    NoSrc,
    #[error(
        "template: could not find `{0}` (looked in templates/ and the directory itself of the role, the task's file's directory and the playbook's)"
    )]
    NotFound(String),
    #[error("template: {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A rendering option the action refuses (`newline_sequence: x`, a delimiter not a string).
    #[error("template: {0}")]
    Option(String),
    #[error(transparent)]
    Render(#[from] TemplateError),
}

/// The `template` module's `src` (under the role's `templates/` and directory, the playbook's
/// `templates/` and directory, or as given) rendered with the task's variables.
pub(super) fn render(
    e: &Engine,
    t: &Task,
    args: &Value,
    vars: &Map<String, Value>,
) -> Result<String, TemplateFileError> {
    let src = args
        .get("src")
        .and_then(Value::as_str)
        .ok_or(TemplateFileError::NoSrc)?;
    let search = super::search_path::search_path(&e.playbook_dir, t);
    let mut candidates =
        clearfleet_template::lookup::search::candidates(&search, Some("templates"), src);
    candidates.push(PathBuf::from(src));
    let path = candidates
        .iter()
        .find(|p| e.files.is_file(p))
        .ok_or_else(|| TemplateFileError::NotFound(src.to_owned()))?;
    let text = e
        .files
        .read_to_string(path)
        .map_err(|source| TemplateFileError::Read {
            path: path.clone(),
            source,
        })?;
    let syntax = file_syntax(args).map_err(TemplateFileError::Option)?;
    let vars = with_template_vars(vars, src, path, args.get("dest"));
    // What `{% include %}` and `{% import %}` find: the task's search path and the template's
    // own directory, each directory's `templates/` first (the template action's searchpath).
    let mut dirs = search;
    if let Some(own) = path.parent() {
        dirs.push(own.to_path_buf());
    }
    let includes = dirs
        .iter()
        .flat_map(|d| [d.join("templates"), d.clone()])
        .collect();
    Ok(e.templates.render_file_searching(
        &path.display().to_string(),
        &text,
        &e.context(&vars),
        &syntax,
        includes,
        e.files.clone(),
    )?)
}

/// The variables Ansible's `template` action adds for the template: `template_path` (`src` as
/// given), `template_fullpath` (where it was found), `template_destpath`, and `ansible_managed`
/// (its default, `Ansible managed`) unless the task's variables set it.
fn with_template_vars(
    vars: &Map<String, Value>,
    src: &str,
    fullpath: &std::path::Path,
    dest: Option<&Value>,
) -> Map<String, Value> {
    let mut vars = vars.clone();
    for (k, v) in clearfleet_template::template_vars(src, fullpath, dest.cloned()) {
        vars.insert(k.into(), v);
    }
    vars.entry("ansible_managed")
        .or_insert_with(|| json!(clearfleet_template::ANSIBLE_MANAGED));
    vars
}

/// The action's options (plugins/action/template.py of ansible-core 2.19.14): `trim_blocks`
/// on unless set (`boolean(..., strict=False)`: anything not true is false), `lstrip_blocks`
/// off, Jinja2's delimiters, `newline_sequence` `\n` (its escaped spellings `"\\n"` too).
fn file_syntax(args: &Value) -> Result<FileSyntax, String> {
    let mut syntax = FileSyntax::default();
    // `output_encoding` is the module's: it encodes the rendered text.
    for &key in RENDER_OPTIONS.iter().filter(|k| **k != "output_encoding") {
        let Some(v) = args.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let setting = match key {
            "trim_blocks" | "lstrip_blocks" => Setting::Flag(ansible_bool(v).unwrap_or(false)),
            _ => match v {
                Value::String(s) => Setting::Text(match (key, s.as_str()) {
                    ("newline_sequence", "\\n") => "\n".to_owned(),
                    ("newline_sequence", "\\r") => "\r".to_owned(),
                    ("newline_sequence", "\\r\\n") => "\r\n".to_owned(),
                    _ => s.clone(),
                }),
                other => Setting::Text(other.to_string()),
            },
        };
        syntax.set(key, setting)?;
    }
    Ok(syntax)
}

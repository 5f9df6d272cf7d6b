//! Helpers: a stand-in template checker and short ways to load a playbook.

use clearfleet_base::diagnostic::Location;
use clearfleet_playbook::{
    Playbook, PlaybookError, Task, TaskBody, TemplateKind, load_playbook, load_playbook_str,
};
use std::path::Path;

/// Rejects an unbalanced `{{` in any template and unbalanced parentheses in expressions,
/// which is all these tests need from the real (minijinja) checker.
pub fn check(s: &str, kind: TemplateKind, _: &Location) -> Result<(), String> {
    if s.matches("{{").count() != s.matches("}}").count() {
        return Err("unbalanced `{{`".to_owned());
    }
    if kind == TemplateKind::Expression && s.matches('(').count() != s.matches(')').count() {
        return Err("unbalanced parentheses".to_owned());
    }
    Ok(())
}

/// Loads `text` as `site.yml`.
pub fn load(text: &str) -> Result<Playbook, PlaybookError> {
    load_playbook_str(Path::new("site.yml"), text, &mut check)
}

/// Loads `text` as `site.yml`, failing the test on any diagnostic.
pub fn ok(text: &str) -> Playbook {
    match load(text) {
        Ok(p) => p,
        Err(e) => panic!("expected a clean load, got:\n{e}"),
    }
}

/// Loads a file, failing the test on any diagnostic.
pub fn ok_file(path: &str) -> Playbook {
    match load_playbook(Path::new(path), &mut check) {
        Ok(p) => p,
        Err(e) => panic!("expected a clean load of {path}, got:\n{e}"),
    }
}

/// The rendered diagnostics of loading `text` as `site.yml`.
pub fn errors(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("expected diagnostics for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The rendered diagnostics of loading the file at `path`.
pub fn file_errors(path: &str) -> String {
    match load_playbook(Path::new(path), &mut check) {
        Ok(_) => panic!("expected diagnostics for {path}"),
        Err(e) => e.to_string(),
    }
}

/// Compares whole outputs, printing both in full when they differ.
#[track_caller]
pub fn assert_text(actual: &str, expected: &str) {
    if actual != expected {
        panic!("\n--- expected\n{expected}\n--- actual\n{actual}\n---");
    }
}

/// The `block`, `rescue` and `always` tasks of a block (panics on any other task).
pub fn block_parts(task: &Task) -> (&[Task], &[Task], &[Task]) {
    let TaskBody::Block {
        block,
        rescue,
        always,
    } = &task.body
    else {
        panic!("not a block: {task:?}")
    };
    (block, rescue, always)
}

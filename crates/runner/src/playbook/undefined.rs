//! Undefined variables that are knowable before any host is contacted (issue 3, item 6): a
//! template that reads a variable defined nowhere in the run is reported with its place.
//!
//! "Defined somewhere" is deliberately generous, so that a report is always a real mistake:
//! the inventory variables of every host, extra vars, play vars, `vars_files` keys, role
//! defaults, vars and parameters, task and
//! block `vars`, `register` names, `set_fact` keys, loop variables (`item`, `loop_var`,
//! `index_var`), every `ansible_*` name (facts, connection variables) and the magic variables.
//! Names are collected from the model and from every file the loader read (so a literal
//! `include_tasks` file counts). A name guarded in the same template by `| default`, `| d`,
//! `is defined` or `is undefined` is never reported. When a dynamic include's file name is
//! templated (its names cannot be known up front), the check is skipped.

use std::collections::HashSet;
use std::path::PathBuf;

use serde_json::Value;

use super::TemplateCache;
use clearfleet_base::diagnostic::{Diagnostic, Location};
use clearfleet_playbook::{Playbook, Task, TaskBody, TemplateKind};
use clearfleet_template::Templates;

/// Names Ansible provides without any definition in the playbook.
const MAGIC: &[&str] = &[
    "inventory_hostname",
    "inventory_hostname_short",
    "inventory_dir",
    "inventory_file",
    "group_names",
    "groups",
    "hostvars",
    "vars",
    "playbook_dir",
    "play_hosts",
    "omit",
    "item",
    "loop",
    "environment",
    "role_name",
    "role_path",
    "lookup",
    "query",
    "q",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
];

/// One template string the loader saw, and where.
pub struct Site {
    pub source: String,
    pub kind: TemplateKind,
    pub location: Location,
}

/// Every use of a variable defined nowhere, as diagnostics (empty when all is well).
/// `known` holds the inventory and extra-vars names.
pub fn check(
    playbook: &Playbook,
    sites: &[Site],
    known: &HashSet<String>,
    templates: &TemplateCache,
) -> Vec<Diagnostic> {
    let mut defined: HashSet<String> = known.clone();
    defined.extend(MAGIC.iter().map(|s| (*s).to_owned()));
    let mut dynamic = false;
    for play in &playbook.plays {
        defined.extend(play.vars.keys().cloned());
        defined.extend(play.role_defaults.keys().cloned());
        defined.extend(play.role_exports.keys().cloned());
        for f in &play.vars_files {
            if Templates::is_template(&f.value) {
                dynamic = true;
                continue;
            }
            let path = clearfleet_playbook::resolve_path(&f.location, &f.value);
            if let Ok(text) = playbook.source.read_to_string(&path)
                && let Ok(Value::Object(m)) = serde_saphyr::from_str::<Value>(&text)
            {
                defined.extend(m.keys().cloned());
            }
        }
        for t in play
            .pre_tasks
            .iter()
            .chain(&play.tasks)
            .chain(&play.post_tasks)
            .chain(&play.handlers)
        {
            task_names(t, &mut defined, &mut dynamic);
        }
    }
    if dynamic {
        return Vec::new();
    }
    for file in &playbook.files {
        if let Ok(v) = serde_saphyr::from_str::<Value>(&file.text) {
            yaml_names(&v, &mut defined);
        }
    }
    let texts: Vec<(PathBuf, &str)> = playbook
        .files
        .iter()
        .map(|f| (f.path.clone(), f.text.as_str()))
        .collect();
    let mut out = Vec::new();
    for site in sites {
        let names = templates.undeclared(&site.source, site.kind);
        for name in names {
            if defined.contains(&name)
                || name.starts_with("ansible_")
                || guarded(&site.source, &name)
            {
                continue;
            }
            let message = format!(
                "undefined variable `{name}`: it is defined nowhere (inventory, play vars, vars_files, register, set_fact, loop, facts, extra vars)"
            );
            let at = &site.location;
            let mut d = match texts.iter().find(|(p, _)| *p == at.path) {
                Some((_, text)) => {
                    let column = name_column(text, at, &site.source, &name);
                    Diagnostic::at(message, &at.path, text, at.line, column)
                }
                None => {
                    let mut d = Diagnostic::new(message);
                    d.location = Some(at.clone());
                    d
                }
            };
            let hint =
                clearfleet_base::suggest::did_you_mean(&name, defined.iter().map(String::as_str))
                    .unwrap_or_else(|| {
                        "define it (vars, -e) or guard it with `| default(...)` / `is defined`"
                            .to_owned()
                    });
            d = d.with_hint(hint);
            out.push(d);
        }
    }
    out
}

/// `--start-at-task NAME` must name a task of the playbook (in a block or a static import;
/// Ansible cannot start inside a dynamic include either): else the error Ansible gives.
pub fn check_start_at(playbook: &Playbook, name: &str) -> Option<Diagnostic> {
    fn has(tasks: &[Task], name: &str) -> bool {
        tasks.iter().any(|t| {
            t.name.as_deref() == Some(name)
                || match &t.body {
                    TaskBody::Block {
                        block,
                        rescue,
                        always,
                    } => has(block, name) || has(rescue, name) || has(always, name),
                    TaskBody::IncludeTasks {
                        static_tasks: Some(inner),
                        ..
                    } => has(inner, name),
                    _ => false,
                }
        })
    }
    let found = playbook
        .plays
        .iter()
        .any(|p| has(&p.pre_tasks, name) || has(&p.tasks, name) || has(&p.post_tasks, name));
    (!found).then(|| {
        Diagnostic::new(format!("--start-at-task: no task named `{name}`")).with_hint(
            "--start-at-task can only find tasks of the playbook, its blocks and import_tasks files, not dynamic includes",
        )
    })
}

/// The column of `name` itself when the template is written on one line at `at` (plain or
/// quoted); else the column of the template.
fn name_column(text: &str, at: &Location, source: &str, name: &str) -> usize {
    let found = (|| {
        let line = text.lines().nth(at.line.checked_sub(1)?)?;
        let rest: String = line.chars().skip(at.column.checked_sub(1)?).collect();
        let quote = if rest.starts_with(source) {
            0
        } else if rest.chars().skip(1).collect::<String>().starts_with(source) {
            1
        } else {
            return None;
        };
        let re = regex::Regex::new(&format!(r"\b{}\b", regex::escape(name))).ok()?;
        let m = re.find(source)?;
        Some(at.column + quote + source.get(..m.start())?.chars().count())
    })();
    found.unwrap_or(at.column)
}

/// Whether `source` guards `name` (`name | default`, `name.x | d(`, `name is defined`...).
fn guarded(source: &str, name: &str) -> bool {
    let pattern = format!(
        r"\b{}(\.\w+|\[[^\]]*\])*\s*(\|\s*(default|d)\b|is\s+(not\s+)?(defined|undefined)\b)",
        regex::escape(name)
    );
    regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(source))
}

fn task_names(t: &Task, defined: &mut HashSet<String>, dynamic: &mut bool) {
    defined.extend(t.vars.keys().cloned());
    defined.extend(t.register.iter().cloned());
    defined.extend(t.loop_var.iter().cloned());
    defined.extend(t.index_var.iter().cloned());
    if let Some(role) = &t.role {
        for m in [&role.defaults, &role.vars, &role.params] {
            defined.extend(m.keys().cloned());
        }
    }
    match &t.body {
        TaskBody::Module { module, args } => {
            if module == "set_fact"
                && let Some(m) = args.as_object()
            {
                defined.extend(m.keys().cloned());
            }
        }
        TaskBody::Block {
            block,
            rescue,
            always,
        } => {
            for c in block.iter().chain(rescue).chain(always) {
                task_names(c, defined, dynamic);
            }
        }
        TaskBody::IncludeTasks {
            static_tasks: Some(inner),
            ..
        }
        | TaskBody::IncludeRole { tasks: inner, .. } => {
            for c in inner {
                task_names(c, defined, dynamic);
            }
        }
        TaskBody::IncludeTasks {
            file,
            static_tasks: None,
        } => {
            if Templates::is_template(file) {
                *dynamic = true;
            }
        }
    }
}

/// Names a YAML file defines, whatever its shape: `register:` values, `set_fact` keys (mapping
/// or `k=v`), `vars:` keys and `loop_control` variables.
fn yaml_names(v: &Value, defined: &mut HashSet<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| yaml_names(i, defined)),
        Value::Object(m) => {
            for (k, val) in m {
                let short = k
                    .trim_start_matches("ansible.builtin.")
                    .trim_start_matches("ansible.legacy.");
                match (short, val) {
                    ("register", Value::String(s)) => {
                        defined.insert(s.clone());
                    }
                    ("set_fact" | "vars", Value::Object(keys)) => {
                        defined.extend(keys.keys().cloned());
                    }
                    ("set_fact", Value::String(s)) => {
                        defined.extend(
                            s.split_whitespace()
                                .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_owned())),
                        );
                    }
                    ("loop_control", Value::Object(c)) => {
                        for key in ["loop_var", "index_var"] {
                            if let Some(Value::String(s)) = c.get(key) {
                                defined.insert(s.clone());
                            }
                        }
                    }
                    _ => {}
                }
                yaml_names(val, defined);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_are_recognised() {
        assert!(guarded("{{ x | default('a') }}", "x"));
        assert!(guarded("{{ x.y['z']|d(1) }}", "x"));
        assert!(guarded("x is defined and x > 1", "x"));
        assert!(guarded("x is not defined", "x"));
        assert!(!guarded("{{ x }}", "x"));
        assert!(!guarded("{{ xx | default(1) }} {{ x }}", "x"));
    }

    #[test]
    fn names_from_yaml() {
        let v: Value = serde_json::json!([
            {"register": "r", "set_fact": {"a": 1}, "vars": {"b": 2}},
            {"ansible.builtin.set_fact": "c=1 d={{ x }}", "loop_control": {"loop_var": "e"}},
            {"block": [{"register": "f"}]}
        ]);
        let mut d = HashSet::new();
        yaml_names(&v, &mut d);
        let mut got: Vec<_> = d.into_iter().collect();
        got.sort();
        assert_eq!(got, ["a", "b", "c", "d", "e", "f", "r"]);
    }
}

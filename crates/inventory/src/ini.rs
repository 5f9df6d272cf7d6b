//! The INI inventory format (`[group]`, `[group:children]`, `[group:vars]`, host lines with
//! `key=value` pairs), parsed like Ansible's `ini` plugin, with file:line:col errors.

use super::error::InventoryError;
use super::literal::parse_value;
use super::model::{Data, ModelError, UNGROUPED};
use super::range;
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::shlex;
use indexmap::IndexMap;
use regex::Regex;
use std::path::Path;
use std::sync::OnceLock;

fn section_re() -> Option<&'static Regex> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").ok())
        .as_ref()
}

fn groupname_re() -> Option<&'static Regex> {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").ok())
        .as_ref()
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

struct Pending {
    line: usize,
    column: usize,
    state: State,
    parents: Vec<(String, usize, usize)>,
}

/// Parses an INI inventory into `data`.
pub fn parse_ini(path: &Path, text: &str, data: &mut Data) -> Result<(), InventoryError> {
    let err = |line: usize, col: usize, msg: String| {
        InventoryError::parse(Diagnostic::at(msg, path, text, line, col.max(1)))
    };
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = UNGROUPED;
    let mut group_name = "ungrouped".to_owned();
    let mut state = State::Hosts;
    for (n, raw) in text.lines().enumerate() {
        let lineno = n + 1;
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        // Column (1-based, in characters) of byte offset `off` within the trimmed line.
        let col = |off: usize| {
            raw.get(..indent + off)
                .map_or(indent + off + 1, |s| s.chars().count() + 1)
        };
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(caps) = section_re().and_then(|r| r.captures(line)) {
            let name = caps.get(1).map_or("", |m| m.as_str()).to_owned();
            let kind = caps.get(2).map(|m| m.as_str());
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(err(
                        lineno,
                        col(name.len() + 2),
                        format!(
                            "section [{name}:{other}] has unknown type `{other}`: use hosts, children or vars"
                        ),
                    ));
                }
            };
            if !data.groups.contains_key(&name) {
                if state == State::Vars && !pending.contains_key(&name) {
                    pending.insert(
                        name.clone(),
                        Pending {
                            line: lineno,
                            column: col(0),
                            state,
                            parents: Vec::new(),
                        },
                    );
                }
                data.add_group(&name);
            }
            if state != State::Vars
                && let Some(p) = pending.get(&name)
            {
                if p.state == State::Children {
                    add_pending_children(data, &name, &mut pending)
                        .map_err(|m| err(lineno, col(1), m.to_string()))?;
                } else {
                    pending.shift_remove(&name);
                }
            }
            group = data.add_group(&name);
            group_name = name;
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(
                lineno,
                col(0),
                format!(
                    "invalid section entry `{line}`: a section is [name], [name:vars] or [name:children], with no spaces"
                ),
            ));
        }
        if line.starts_with('[') && !line.contains(']') {
            return Err(err(
                lineno,
                col(line.len()),
                format!("unclosed section header `{line}`: expected `]`"),
            ));
        }
        match state {
            State::Hosts => {
                // Ansible's ini plugin: `shlex.split(line, comments=True)`.
                let tokens = shlex::split_with_offsets(line, true)
                    .map_err(|m| err(lineno, col(0), format!("cannot parse host line: {m}")))?;
                let Some((first, first_off)) = tokens.first() else {
                    continue;
                };
                let (host, port) = range::parse_address(first)
                    .map_err(|m| err(lineno, col(*first_off), m.to_string()))?;
                if first.trim_end().ends_with(':') && port.is_none() {
                    return Err(err(
                        lineno,
                        col(*first_off),
                        format!(
                            "invalid host `{first}`: a trailing `:` must be followed by a port"
                        ),
                    ));
                }
                let names = range::expand(&host)
                    .map_err(|m| err(lineno, col(*first_off), m.to_string()))?;
                if names.iter().any(|n| n == "---") {
                    return Err(err(
                        lineno,
                        col(*first_off),
                        "`---` is not a host name: is this a YAML file?".into(),
                    ));
                }
                let mut vars = Vec::new();
                for (t, off) in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(err(
                            lineno,
                            col(*off),
                            format!("expected key=value host variable assignment, got `{t}`"),
                        ));
                    };
                    vars.push((k.to_owned(), parse_value(v)));
                }
                for name in names {
                    let h = data.add_host(&name, Some(group), port);
                    for (k, v) in &vars {
                        data.set_host_var(h, k, v.clone());
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(
                        lineno,
                        col(0),
                        format!("expected key=value in [{group_name}:vars], got `{line}`"),
                    ));
                };
                let value = parse_value(v.trim());
                data.set_group_var(group, k.trim(), value)
                    .map_err(|m| err(lineno, col(0), m.to_string()))?;
            }
            State::Children => {
                let Some(child) = groupname_re()
                    .and_then(|r| r.captures(line))
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_owned())
                else {
                    return Err(err(
                        lineno,
                        col(0),
                        format!("expected a group name, got `{line}`"),
                    ));
                };
                if let Some(c) = data.groups.get_index_of(&child) {
                    data.add_child(group, c)
                        .map_err(|m| err(lineno, col(0), m.to_string()))?;
                } else if let Some(p) = pending.get_mut(&child) {
                    p.parents.push((group_name.clone(), lineno, col(0)));
                } else {
                    pending.insert(
                        child,
                        Pending {
                            line: lineno,
                            column: col(0),
                            state: State::Children,
                            parents: vec![(group_name.clone(), lineno, col(0))],
                        },
                    );
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let msg = match p.state {
            State::Vars => {
                format!("section [{name}:vars] is not valid for undefined group `{name}`")
            }
            _ => {
                let parent = p.parents.last().map_or("", |x| x.0.as_str());
                format!("section [{parent}:children] includes undefined group `{name}`")
            }
        };
        let (line, column) = match p.state {
            State::Vars => (p.line, p.column),
            _ => p.parents.last().map_or((p.line, p.column), |x| (x.1, x.2)),
        };
        return Err(err(line, column, msg));
    }
    Ok(())
}

fn add_pending_children(
    data: &mut Data,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), ModelError> {
    let Some(p) = pending.shift_remove(group) else {
        return Ok(());
    };
    let g = data.add_group(group);
    for (parent, _, _) in p.parents {
        let pg = data.add_group(&parent);
        data.add_child(pg, g)?;
        if pending
            .get(&parent)
            .is_some_and(|x| x.state == State::Children)
        {
            add_pending_children(data, &parent, pending)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ALL;
    use serde_json::json;

    fn load(text: &str) -> Result<Data, InventoryError> {
        let mut d = Data::new();
        parse_ini(Path::new("hosts.ini"), text, &mut d)?;
        d.reconcile().map_err(InventoryError::Other)?;
        Ok(d)
    }

    fn err_at(text: &str) -> (usize, usize, String) {
        match load(text) {
            Err(InventoryError::Parse(d)) => {
                let loc = d.location.clone().map_or((0, 0), |l| (l.line, l.column));
                (loc.0, loc.1, d.message)
            }
            other => (0, 0, format!("not a parse error: {other:?}")),
        }
    }

    #[test]
    fn sections_hosts_vars_children_and_ports() {
        let d = load(
            "# comment\n; other\nlone ansible_host=10.0.0.1 n=5 t=True l=\"[1, 'a']\" s='a b' o=0755\n\n[web]\nweb[01:03] http=80\nw4:2222\n\n[web:vars]\nproxy = http://p:3128\nport=8080 # not a comment\n\n[prod:children]\nweb\ndb\n\n[db]\ndb[a:b]\n",
        )
        .unwrap_or_default();
        let names: Vec<&str> = d.hosts.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["lone", "web01", "web02", "web03", "w4", "dba", "dbb"]
        );
        let lone = &d.hosts["lone"].vars;
        assert_eq!(lone["n"], json!(5));
        assert_eq!(lone["t"], json!(true));
        assert_eq!(lone["l"], json!([1, "a"]));
        assert_eq!(lone["s"], json!("a b"));
        assert_eq!(lone["o"], json!("0755"));
        assert_eq!(d.hosts["w4"].vars["ansible_port"], json!(2222));
        assert_eq!(d.groups["web"].vars["proxy"], json!("http://p:3128"));
        assert_eq!(d.groups["web"].vars["port"], json!("8080 # not a comment"));
        assert_eq!(d.groups["prod"].children.len(), 2);
        assert_eq!(d.groups[ALL].children, [1, 3]);
        assert_eq!(d.groups["ungrouped"].hosts, [0]);
    }

    #[test]
    fn strides_and_group_priority() {
        let d = load("[odd]\nn[1:9:4]\n[odd:vars]\nansible_group_priority=7\n").unwrap_or_default();
        let names: Vec<&str> = d.hosts.keys().map(String::as_str).collect();
        assert_eq!(names, ["n1", "n5", "n9"]);
        assert_eq!(d.groups["odd"].priority, 7);
        assert!(d.groups["odd"].vars.is_empty());
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(err_at("[web:hostz]\nh\n").0, 1);
        let (l, c, m) = err_at("[web]\nh1\n[bad group]\n");
        assert_eq!((l, c), (3, 1), "{m}");
        let (l, c, m) = err_at("[web]\n  h[3:1]\n");
        assert_eq!((l, c), (2, 3), "{m}");
        let (l, c, m) = err_at("[web]\nh1 a=1 oops\n");
        assert_eq!((l, c), (2, 8), "{m}");
        let (l, c, m) = err_at("[web:vars]\nnovalue\n[web]\n");
        assert_eq!((l, c), (2, 1), "{m}");
        let (l, _, m) = err_at("[a:children]\na\n");
        assert_eq!(l, 2, "{m}");
        let (l, _, m) = err_at("[a]\n[b]\n[a:children]\nb\n[b:children]\na\n");
        assert_eq!(l, 6, "{m}");
        assert!(m.contains("loop"), "{m}");
        let (l, _, m) = err_at("[a:children]\nmissing\n");
        assert_eq!(l, 2, "{m}");
        assert!(m.contains("undefined group"), "{m}");
        let (l, _, m) = err_at("[x:vars]\na=1\n");
        assert_eq!(l, 1, "{m}");
        let (l, c, m) = err_at("[web]\nh1 a='x\n");
        assert_eq!((l, c), (2, 1), "{m}");
        assert_eq!(err_at("h:\n").0, 1);
    }

    #[test]
    fn all_as_a_child_is_a_located_loop() {
        // Found probing what tests/fuzz_parsers.rs should cover: this used to fail in
        // `reconcile`, with no location.
        let (line, col, msg) = err_at("[x:children]\nall\n");
        assert_eq!((line, col), (2, 1), "{msg}");
        assert!(msg.contains("dependency loop"), "{msg}");
    }
}

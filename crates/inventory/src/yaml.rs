//! The YAML inventory format (`all:`/`hosts:`/`children:`/`vars:`), read with spans so that
//! mistakes point at file:line:col. Also the YAML reader used for group_vars/host_vars files.

use super::error::InventoryError;
use super::model::{Data, Vars};
use super::range;
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::suggest;
use std::path::Path;

use clearfleet_yaml::syntax::key_text;
pub use clearfleet_yaml::syntax::{Kind, Node};

/// A scalar as Python's `str()` spells it, as Ansible names hosts, groups and variables
/// (`~` becomes `None`).
fn scalar_text(n: &Node) -> Option<String> {
    match n.kind {
        Kind::Null => Some("None".to_owned()),
        _ => n.as_text(),
    }
}

/// Parses YAML text (first document) into a [`Node`] tree; `Ok(None)` for an empty document.
/// YAML 1.1 like PyYAML: `yes`/`no` booleans, `0755` octal, last duplicate key wins (the
/// playbook loader's parser, with the inventory's error type).
/// Its strings count as written by an author (`clearfleet_base::trust`), as 2.19 trusts an
/// inventory's and its vars files' strings.
pub fn parse_yaml(path: &Path, text: &str) -> Result<Option<Node>, InventoryError> {
    let root = clearfleet_yaml::syntax::parse_yaml(text).map_err(|e| {
        InventoryError::parse(Diagnostic::at(
            format!("invalid YAML: {}", e.message),
            path,
            text,
            e.line.max(1),
            e.column.max(1),
        ))
    })?;
    if let Some(n) = &root {
        clearfleet_base::trust::trust(clearfleet_yaml::vault::trusted_strings(n));
    }
    Ok(root)
}

/// Populates `data` from a YAML inventory document (Ansible's `yaml` inventory plugin).
pub struct YamlInventory<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl YamlInventory<'_> {
    fn err(&self, node: &Node, msg: impl Into<String>) -> InventoryError {
        InventoryError::parse(Diagnostic::at(
            msg,
            self.path,
            self.text,
            node.line.max(1),
            node.column.max(1),
        ))
    }

    /// Adds the groups and hosts of `root` (a top-level mapping of groups) to `data`.
    pub fn populate(&self, data: &mut Data, root: &Node) -> Result<(), InventoryError> {
        let Kind::Map(entries) = &root.kind else {
            return Err(self.err(root, "a YAML inventory must be a mapping of group names"));
        };
        for (k, v) in entries {
            self.group(data, k, v)?;
        }
        Ok(())
    }

    fn group(&self, data: &mut Data, key: &Node, body: &Node) -> Result<usize, InventoryError> {
        let name = scalar_text(key)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| self.err(key, "a group name must be a non-empty string"))?;
        let g = data.add_group(&name);
        let entries = match &body.kind {
            Kind::Null => return Ok(g),
            Kind::Map(e) => e,
            _ => {
                return Err(self.err(
                    body,
                    format!("group `{name}` must be a mapping with hosts, children or vars"),
                ));
            }
        };
        for (k, v) in entries {
            let section = scalar_text(k).unwrap_or_default();
            if !matches!(section.as_str(), "hosts" | "children" | "vars") {
                let mut e = Diagnostic::at(
                    format!(
                        "unknown key `{section}` in group `{name}`: only `hosts`, `children` and `vars` are allowed"
                    ),
                    self.path,
                    self.text,
                    k.line.max(1),
                    k.column.max(1),
                );
                if let Some(near) = ["hosts", "children", "vars"]
                    .into_iter()
                    .find(|w| suggest::distance(w, &section) <= 2)
                {
                    e = e.with_hint(format!("did you mean `{near}`?"));
                }
                return Err(InventoryError::parse(e));
            }
            // A bare string is allowed as a one-entry mapping, as in Ansible.
            let single;
            let items: &[(Node, Node)] = match &v.kind {
                Kind::Null => &[],
                Kind::Map(e) => e,
                Kind::Str(_) => {
                    single = [(
                        v.clone(),
                        Node {
                            kind: Kind::Null,
                            line: v.line,
                            column: v.column,
                            span: None,
                            tag: None,
                        },
                    )];
                    &single
                }
                _ => {
                    return Err(self.err(
                        v,
                        format!("`{section}` of group `{name}` must be a mapping"),
                    ));
                }
            };
            for (ik, iv) in items {
                match section.as_str() {
                    "vars" => {
                        let var = scalar_text(ik)
                            .ok_or_else(|| self.err(ik, "a variable name must be a string"))?;
                        data.set_group_var(g, &var, iv.to_value())
                            .map_err(|m| self.err(iv, m.to_string()))?;
                    }
                    "children" => {
                        let c = self.group(data, ik, iv)?;
                        data.add_child(g, c)
                            .map_err(|m| self.err(ik, m.to_string()))?;
                    }
                    _ => {
                        let pattern = scalar_text(ik)
                            .ok_or_else(|| self.err(ik, "a host name must be a string"))?;
                        let (host, port) = range::parse_address(&pattern)
                            .map_err(|m| self.err(ik, m.to_string()))?;
                        let names =
                            range::expand(&host).map_err(|m| self.err(ik, m.to_string()))?;
                        let vars: Vars = match &iv.kind {
                            Kind::Null => Vars::new(),
                            Kind::Map(e) => {
                                e.iter().map(|(a, b)| (key_text(a), b.to_value())).collect()
                            }
                            _ => {
                                return Err(self.err(
                                    iv,
                                    format!("variables of host `{pattern}` must be a mapping"),
                                ));
                            }
                        };
                        for n in names {
                            let h = data.add_host(&n, Some(g), port);
                            for (vk, vv) in &vars {
                                data.set_host_var(h, vk, vv.clone());
                            }
                        }
                    }
                }
            }
        }
        Ok(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ALL, UNGROUPED};

    fn load(text: &str) -> Result<Data, InventoryError> {
        let path = Path::new("inv.yml");
        let mut d = Data::new();
        if let Some(root) = parse_yaml(path, text)? {
            YamlInventory { path, text }.populate(&mut d, &root)?;
        }
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
    fn nested_groups_hosts_vars_and_ranges() {
        let d = load(
            "all:\n  vars:\n    a: 1\n  hosts:\n    lone:\n  children:\n    web:\n      hosts:\n        web[01:03].example.com:\n          http: yes\n        w4:2222:\n      vars:\n        port: 0755\n    db:\n      children:\n        pg: {hosts: {pg1: null}}\n",
        )
        .unwrap_or_default();
        let hosts: Vec<&str> = d.hosts.keys().map(String::as_str).collect();
        assert_eq!(
            hosts,
            [
                "lone",
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "w4",
                "pg1"
            ]
        );
        assert_eq!(d.hosts["web02.example.com"].vars["http"], true);
        assert_eq!(d.hosts["w4"].vars["ansible_port"], 2222);
        assert_eq!(d.groups["web"].vars["port"], 493);
        assert_eq!(d.groups["all"].vars["a"], 1);
        assert_eq!(d.groups[UNGROUPED].hosts, [0]);
        assert_eq!(d.groups["pg"].depth, 2);
        assert!(d.groups[ALL].children.contains(&UNGROUPED));
    }

    #[test]
    fn scalars_resolve_like_pyyaml() {
        let d = load("all:\n  vars:\n    y: n\n    a: yes\n    b: Off\n    c: yEs\n    e: 1e3\n    f: 1.5e3\n    g: 0o17\n    h: 0x1F\n    i: ~\n    j: 1_000\n    k: '1'\n").unwrap_or_default();
        let v = &d.groups["all"].vars;
        assert_eq!(v["y"], "n");
        assert_eq!(v["a"], true);
        assert_eq!(v["b"], false);
        assert_eq!(v["c"], "yEs");
        assert_eq!(v["e"], "1e3");
        assert_eq!(v["f"], "1.5e3");
        assert_eq!(v["g"], "0o17");
        assert_eq!(v["h"], 31);
        assert_eq!(v["i"], serde_json::Value::Null);
        assert_eq!(v["j"], 1000);
        assert_eq!(v["k"], "1");
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let d = load("all:\n  vars:\n    x: 1\n    x: 2\n").unwrap_or_default();
        assert_eq!(d.groups["all"].vars["x"], 2);
    }

    #[test]
    fn unknown_key_is_an_error_with_location() {
        let (l, c, m) = err_at("all:\n  children:\n    web:\n      hots:\n        a:\n");
        assert_eq!((l, c), (4, 7), "{m}");
        assert!(m.contains("unknown key `hots`"), "{m}");
        let e = load("all:\n  hots:\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.ends_with("= hint: did you mean `hosts`?"), "{e}");
    }

    #[test]
    fn structural_errors_have_locations() {
        assert_eq!(err_at("all:\n  hosts: [a, b]\n").0, 2);
        assert_eq!(err_at("web:\n  hosts:\n    a: 5\n").0, 3);
        assert_eq!(err_at("web: 3\n").0, 1);
        let (l, _, m) = err_at("a:\n  children:\n    a:\n");
        assert_eq!(l, 3, "{m}");
        let (l, c, m) = err_at("web:\n  hosts:\n    h[5:1]:\n");
        assert_eq!((l, c), (3, 5), "{m}");
        let (l, _, m) = err_at("all:\n  hosts: {a: 1\n");
        assert!(l >= 2, "{m}");
        assert!(m.starts_with("invalid YAML"), "{m}");
    }

    #[test]
    fn all_as_a_child_is_a_located_loop() {
        // Found probing what tests/fuzz_parsers.rs should cover: this used to fail in
        // `reconcile`, with no location.
        let (line, col, msg) = err_at("x:\n  children:\n    all:\n");
        assert_eq!((line, col), (3, 5), "{msg}");
        assert!(msg.contains("dependency loop"), "{msg}");
    }

    #[test]
    fn lone_carriage_returns_do_not_push_an_error_past_the_last_line() {
        // Found by tests/fuzz_parsers.rs: YAML breaks lines at a lone `\r`, so the parser said
        // 3:1 for a file of one (`\n`) line, and the diagnostic could not quote it.
        let (line, col, msg) = err_at("A\rA\r\0");
        assert_eq!((line, col), (1, 5), "{msg}");
    }

    #[test]
    fn lone_carriage_returns_keep_node_positions_on_newline_lines() {
        let (line, col, msg) = err_at("all:\r  bogus: 1\r");
        assert_eq!((line, col), (1, 8), "{msg}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Found by tests/fuzz_parsers.rs: 50 nested flow mappings overflowed a 2 MiB stack.
        let text = format!("all:\n  vars:\n    x: {}", "{a: ".repeat(400));
        let (line, _, msg) = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || err_at(&text))
            .map(|h| h.join().unwrap_or_else(|_| (0, 0, "panicked".to_owned())))
            .unwrap_or_else(|e| (0, 0, e.to_string()));
        assert_eq!(line, 3, "{msg}");
    }
}

//! The YAML inventory format (`all:`/`hosts:`/`children:`/`vars:`), read with spans so that
//! mistakes point at file:line:col. Also the YAML reader used for group_vars/host_vars files.

use super::error::InventoryError;
use super::model::{Data, Vars};
use super::range;
use crate::diagnostic::Diagnostic;
use crate::playbook::syntax::{NewlinePositions, on_parser_stack};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// A YAML node with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub line: usize,
    pub column: usize,
    /// Byte offset and length of the node's text, when the parser reports it.
    pub span: Option<(usize, usize)>,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<Kind>::deserialize(d)?;
        let span = s.referenced.span();
        let span = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?)));
        Ok(Node {
            kind: s.value,
            line: usize::try_from(s.referenced.line()).unwrap_or(0),
            column: usize::try_from(s.referenced.column()).unwrap_or(0),
            span,
        })
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::UInt(v), Kind::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Str(v.to_string()), Kind::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Kind, E> {
        Ok(i64::try_from(v).map_or(Kind::Str(v.to_string()), Kind::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            out.push(n);
        }
        Ok(Kind::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut out: Vec<(Node, Node)> = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            // Last wins, like PyYAML, whatever the parser's own policy does.
            if let Some(slot) = out.iter_mut().find(|(ok, _)| ok.kind == k.kind) {
                *slot = (k, v);
            } else {
                out.push((k, v));
            }
        }
        Ok(Kind::Map(out))
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

impl Node {
    /// The node as text when it is a scalar (keys, host and group names).
    pub fn as_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::UInt(u) => Some(u.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
            Kind::Null => Some("None".to_owned()),
            Kind::Seq(_) | Kind::Map(_) => None,
        }
    }

    /// The node as a JSON value (map keys become text).
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::UInt(u) => Value::from(*u),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(f.to_string()), Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_value()))
                    .collect(),
            ),
        }
    }
}

fn key_text(k: &Node) -> String {
    match &k.kind {
        Kind::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Kind::Null => "null".to_owned(),
        _ => k.as_text().unwrap_or_else(|| k.to_value().to_string()),
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Parses YAML text (first document) into a [`Node`] tree; `Ok(None)` for an empty document.
/// YAML 1.1 like PyYAML: `yes`/`no` booleans, `0755` octal, last duplicate key wins.
pub fn parse_yaml(path: &Path, text: &str) -> Result<Option<Node>, InventoryError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Ok(None);
    }
    // Deeply nested input must not overflow the caller's stack (see `on_parser_stack`).
    let parsed = on_parser_stack(|| {
        let mut opts = serde_saphyr::options::Options::default();
        opts.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
        opts.legacy_octal_numbers = true;
        opts.strict_booleans = false;
        opts.with_snippet = false;
        serde_saphyr::from_str_with_options::<Node>(text, opts).map_err(|e| {
            let loc = e.location().map(|l| (l.line(), l.column()));
            (loc, e.to_string())
        })
    });
    match parsed {
        None => Err(InventoryError::parse(Diagnostic::at(
            "invalid YAML: the YAML parser failed on this file",
            path,
            text,
            1,
            1,
        ))),
        Some(Ok(n)) if n.kind == Kind::Null => Ok(None),
        Some(Ok(mut n)) => {
            let positions = NewlinePositions::new(text);
            fix_positions(&positions, &mut n, 0);
            pyyaml_scalars(&mut n, text, 0);
            Ok(Some(n))
        }
        Some(Err((loc, msg))) => {
            let (line, col) = loc.map_or((1, 1), |(l, c)| {
                (
                    usize::try_from(l).unwrap_or(1),
                    usize::try_from(c).unwrap_or(1),
                )
            });
            let (line, col) =
                crate::playbook::syntax::newline_position(text, line.max(1), col.max(1));
            let msg = msg.lines().next().unwrap_or("invalid YAML");
            // The location is shown by the diagnostic; drop the parser's own copy of it.
            let msg = msg.split(" at line ").next().unwrap_or(msg).to_owned();
            Err(InventoryError::parse(Diagnostic::at(
                format!("invalid YAML: {msg}"),
                path,
                text,
                line.max(1),
                col.max(1),
            )))
        }
    }
}

/// Node positions after a lone `\r` counted as the `\n` lines diagnostics show.
fn fix_positions(p: &NewlinePositions, node: &mut Node, depth: usize) {
    if depth > 256 || !p.has_lone_cr() {
        return;
    }
    (node.line, node.column) = p.map(node.line.max(1), node.column.max(1));
    match &mut node.kind {
        Kind::Seq(items) => items
            .iter_mut()
            .for_each(|i| fix_positions(p, i, depth + 1)),
        Kind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            fix_positions(p, k, depth + 1);
            fix_positions(p, v, depth + 1);
        }),
        _ => {}
    }
}

/// Brings scalars in line with PyYAML's YAML 1.1 resolver where serde-saphyr is more liberal:
/// only `yes/Yes/YES/no/.../on/off/true/false` in those three spellings are booleans (`y`, `n`,
/// `yEs` stay strings), only `~`/`null`/`Null`/`NULL` are null, a float needs a `.` (`1e3` is
/// a string) and `0o17` is a string.
fn pyyaml_scalars(node: &mut Node, text: &str, depth: usize) {
    if depth > 256 {
        return;
    }
    let src = node
        .span
        .and_then(|(o, l)| text.get(o..o.saturating_add(l)))
        .map(str::trim);
    match (&mut node.kind, src) {
        (Kind::Seq(items), _) => {
            for i in items {
                pyyaml_scalars(i, text, depth + 1);
            }
        }
        (Kind::Map(entries), _) => {
            for (k, v) in entries {
                pyyaml_scalars(k, text, depth + 1);
                pyyaml_scalars(v, text, depth + 1);
            }
        }
        (Kind::Bool(_), Some(s)) if !s.is_empty() && !s.starts_with('!') => {
            const BOOLS: [&str; 18] = [
                "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
                "FALSE", "on", "On", "ON", "off", "Off", "OFF",
            ];
            if !BOOLS.contains(&s) {
                node.kind = Kind::Str(s.to_owned());
            }
        }
        (Kind::Null, Some(s))
            if !s.is_empty()
                && !s.starts_with('!')
                && !["~", "null", "Null", "NULL"].contains(&s) =>
        {
            node.kind = Kind::Str(s.to_owned());
        }
        (Kind::Float(_), Some(s)) if !s.is_empty() && !s.starts_with('!') => {
            let special = s.to_ascii_lowercase();
            if !s.contains('.') && !special.ends_with("inf") && !special.ends_with("nan") {
                node.kind = Kind::Str(s.to_owned());
            }
        }
        (Kind::Int(_), Some(s)) if s.starts_with("0o") || s.starts_with("0O") => {
            node.kind = Kind::Str(s.to_owned());
        }
        _ => {}
    }
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
        let name = key
            .as_text()
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
            let section = k.as_text().unwrap_or_default();
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
                    .find(|w| edit_distance(w, &section) <= 2)
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
                        let var = ik
                            .as_text()
                            .ok_or_else(|| self.err(ik, "a variable name must be a string"))?;
                        data.set_group_var(g, &var, iv.to_value())
                            .map_err(|m| self.err(iv, m))?;
                    }
                    "children" => {
                        let c = self.group(data, ik, iv)?;
                        data.add_child(g, c).map_err(|m| self.err(ik, m))?;
                    }
                    _ => {
                        let pattern = ik
                            .as_text()
                            .ok_or_else(|| self.err(ik, "a host name must be a string"))?;
                        let (host, port) =
                            range::parse_address(&pattern).map_err(|m| self.err(ik, m))?;
                        let names = range::expand(&host).map_err(|m| self.err(ik, m))?;
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
    use crate::inventory::model::{ALL, UNGROUPED};

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
        assert_eq!(v["f"], 1500.0);
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

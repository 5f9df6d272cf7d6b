//! The serde-facing layer: a playbook file becomes a tree of [`Node`]s that keep their
//! file position, so every later check can point at the exact key or scalar.
//!
//! Plays and tasks are not deserialized straight into structs: Ansible's task shape (one
//! free key naming the module) does not fit a derive, and walking a positioned tree lets the
//! loader report every mistake of a file instead of stopping at the first.

use crate::resolve::{Number, Resolved, bool_value, float_value, int_value, resolve};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Nesting deeper than this is reported instead of walked (no stack overflow on hostile input).
pub const MAX_DEPTH: usize = 200;

/// Stack for the parser thread (see [`parse_yaml`]).
const PARSER_STACK: usize = 64 << 20;

/// A YAML node with its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub line: usize,
    pub column: usize,
    /// Byte offset and length of the node's text, when the parser reports it.
    pub span: Option<(usize, usize)>,
    /// A local tag such as `!unsafe` or `!vault`; serde-saphyr drops tags, so the loader
    /// reads them back from the source text.
    pub tag: Option<String>,
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
        // The text as written where the value is defined: an alias (`*name`) replays its
        // anchor's nodes, whose text is the anchor's, not the alias's.
        let span = s.defined.span();
        let span = span
            .byte_offset()
            .zip(span.byte_len())
            .and_then(|(o, l)| Some((usize::try_from(o).ok()?, usize::try_from(l).ok()?)));
        Ok(Node {
            kind: s.value,
            line: usize::try_from(s.referenced.line()).unwrap_or(0),
            column: usize::try_from(s.referenced.column()).unwrap_or(0),
            span,
            tag: None,
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
            // Last wins, like PyYAML (and so Ansible), whatever the parser's own policy does.
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

/// A YAML syntax error: message and 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Parses the first YAML document of `text`; `Ok(None)` for an empty document.
/// YAML 1.1 like PyYAML: `yes`/`no` booleans, `0755` octal, the last duplicate key wins.
pub fn parse_yaml(text: &str) -> Result<Option<Node>, SyntaxError> {
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Ok(None);
    }
    match on_parser_stack(|| parse_here(text)) {
        Some(Ok(n)) if n.kind == Kind::Null => Ok(None),
        Some(Ok(mut n)) => {
            NewlinePositions::new(text).fix(&mut n, 0);
            pyyaml_scalars(&mut n, text, 0);
            Ok(Some(n))
        }
        Some(Err(e)) => Err(e),
        None => Err(SyntaxError {
            message: "the YAML parser failed on this file".to_owned(),
            line: 1,
            column: 1,
        }),
    }
}

/// Runs `f` (a YAML parse of untrusted text) on a thread with a large stack: serde-saphyr
/// recurses once per nesting level (up to its budget's 64) with large frames in debug builds,
/// which overflows a 2 MiB thread stack (tokio's workers, test threads) on hostile input.
/// `None` when the thread could not be started or `f` panicked.
pub fn on_parser_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("yaml-parse".to_owned())
            .stack_size(PARSER_STACK)
            .spawn_scoped(s, f)
            .ok()
            .and_then(|h| h.join().ok())
    })
}

/// Converts YAML parser positions (lines broken by `\n`, `\r\n` or a lone `\r`, 1-based line
/// and character column) to the `\n`-based line and column that diagnostics quote. They differ
/// only when the text has lone `\r`s: the parser counts a line there, editors, `grep` and
/// `clearfleet_base::diagnostic::Diagnostic::at` do not.
pub struct NewlinePositions<'a> {
    text: &'a str,
    /// Byte offset where each YAML line starts; empty when the text has no `\r`.
    yaml_lines: Vec<usize>,
    /// Byte offset where each `\n` line starts.
    lines: Vec<usize>,
}

impl<'a> NewlinePositions<'a> {
    pub fn new(text: &'a str) -> Self {
        if !text.contains('\r') {
            return NewlinePositions {
                text,
                yaml_lines: Vec::new(),
                lines: Vec::new(),
            };
        }
        let bytes = text.as_bytes();
        let mut yaml_lines = vec![0];
        let mut lines = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                lines.push(i + 1);
                yaml_lines.push(i + 1);
            } else if b == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                yaml_lines.push(i + 1);
            }
        }
        if yaml_lines.len() == lines.len() {
            // Only `\r\n`: both count the same lines.
            yaml_lines.clear();
        }
        NewlinePositions {
            text,
            yaml_lines,
            lines,
        }
    }

    /// Whether positions need mapping at all.
    pub fn has_lone_cr(&self) -> bool {
        !self.yaml_lines.is_empty()
    }

    /// The `\n`-based (line, column) of the parser's (line, column).
    pub fn map(&self, line: usize, column: usize) -> (usize, usize) {
        if self.yaml_lines.is_empty() {
            return (line, column);
        }
        let start = self
            .yaml_lines
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .yaml_lines
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let rest = self.text.get(start..end).unwrap_or("");
        let offset = start
            + rest
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(rest.trim_end_matches(['\r', '\n']).len(), |(i, _)| i);
        let n = self.lines.partition_point(|&l| l <= offset).max(1);
        let line_start = self.lines.get(n - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(line_start..offset)
            .map_or(1, |t| t.chars().count() + 1);
        (n, col)
    }

    /// Rewrites the positions of `node` and everything under it.
    pub fn fix(&self, node: &mut Node, depth: usize) {
        if self.yaml_lines.is_empty() || depth > MAX_DEPTH {
            return;
        }
        (node.line, node.column) = self.map(node.line.max(1), node.column.max(1));
        match &mut node.kind {
            Kind::Seq(items) => items.iter_mut().for_each(|i| self.fix(i, depth + 1)),
            Kind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                self.fix(k, depth + 1);
                self.fix(v, depth + 1);
            }),
            _ => {}
        }
    }
}

/// [`NewlinePositions::map`] for one position.
pub fn newline_position(text: &str, line: usize, column: usize) -> (usize, usize) {
    NewlinePositions::new(text).map(line, column)
}

fn parse_here(text: &str) -> Result<Node, SyntaxError> {
    let mut opts = serde_saphyr::options::Options::default();
    opts.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
    opts.legacy_octal_numbers = true;
    opts.strict_booleans = false;
    opts.with_snippet = false;
    // `.inf` and `.nan` are floats to PyYAML (and so Ansible), not errors.
    opts.non_finite_float_policy = serde_saphyr::options::NonFiniteFloatPolicy::PassThrough;
    serde_saphyr::from_str_with_options::<Node>(text, opts).map_err(|e| {
        let (line, column) = e.location().map_or((1, 1), |l| {
            (
                usize::try_from(l.line()).unwrap_or(1),
                usize::try_from(l.column()).unwrap_or(1),
            )
        });
        let msg = e.to_string();
        let msg = msg.lines().next().unwrap_or("invalid YAML");
        // The diagnostic shows the location; drop the parser's own copy of it.
        let msg = msg.split(" at line ").next().unwrap_or(msg);
        let msg = msg.strip_prefix("error: ").unwrap_or(msg).to_owned();
        let (line, column) = newline_position(text, line.max(1), column.max(1));
        SyntaxError {
            message: msg,
            line,
            column,
        }
    })
}

/// Brings scalars in line with PyYAML's YAML 1.1 resolver ([`resolve`]), and so Ansible's,
/// where serde-saphyr reads YAML 1.2: a plain (unquoted, untagged, not block) scalar gets the
/// type and value PyYAML constructs (`y` and `0o17` are strings, `1.5e3` and `+.5` too, `1:30`
/// is 90, `1_000.5` 1000.5, `.inf` infinite), and reads back local tags.
fn pyyaml_scalars(node: &mut Node, text: &str, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let src = node
        .span
        .and_then(|(o, l)| text.get(o..o.saturating_add(l)))
        .map(str::trim);
    node.tag = node.span.and_then(|(o, _)| tag_of(text, o, src));
    let tagged = node.tag.is_some();
    // What PyYAML makes of the text of an untagged scalar (a tag decides its own type).
    // `!unsafe` marks a value, it does not type it: ansible-core 2.19 resolves `!unsafe 12` to
    // the int 12, as if plain. Other local tags (`!vault`) hold strings.
    let unsafe_tag = node.tag.as_deref() == Some("!unsafe");
    let plain = src
        .map(|s| s.strip_prefix("!unsafe").map_or(s, str::trim_start))
        .filter(|s| {
            (!tagged || unsafe_tag)
                && !s.starts_with(['"', '\''])
                && !node.span.is_some_and(|(o, _)| in_block(text, o))
        });
    let kind = match (&mut node.kind, plain) {
        (Kind::Seq(items), _) => {
            for i in items {
                pyyaml_scalars(i, text, depth + 1);
            }
            return;
        }
        (Kind::Map(entries), _) => {
            for (k, v) in entries {
                pyyaml_scalars(k, text, depth + 1);
                pyyaml_scalars(v, text, depth + 1);
            }
            return;
        }
        (_, None) => return,
        (_, Some(s)) => plain_scalar(s),
    };
    if let Some(kind) = kind {
        node.kind = kind;
    } else if !matches!(node.kind, Kind::Str(_))
        && let Some(s) = plain
    {
        // A string to PyYAML that saphyr typed (`y`, `0o17`, `1e3`): its text.
        node.kind = Kind::Str(s.to_owned());
    }
}

/// The value PyYAML constructs for the plain scalar `s`, or `None` for a string (saphyr's
/// string is kept: for a plain scalar over several lines it is the folded text).
fn plain_scalar(s: &str) -> Option<Kind> {
    match resolve(s) {
        Resolved::Bool => bool_value(s).map(Kind::Bool),
        Resolved::Null => Some(Kind::Null),
        Resolved::Int => int_value(s).map(|n| match n {
            Number::Int(i) => Kind::Int(i),
            Number::UInt(u) => Kind::UInt(u),
            Number::Float(f) => Kind::Float(f),
        }),
        Resolved::Float => float_value(s).map(Kind::Float),
        Resolved::Merge
        | Resolved::Timestamp
        | Resolved::Value
        | Resolved::Yaml
        | Resolved::Str => None,
    }
}

/// Whether the text at byte `offset` is the content of a block scalar (`|` or `>` ends the
/// line above, and only indentation precedes it on its own line).
fn in_block(text: &str, offset: usize) -> bool {
    block_header(text, offset).is_some()
}

/// The block scalar header line (`key: !tag |-`, trimmed) above the content starting at
/// `offset`, if that content is a block scalar's.
fn block_header(text: &str, offset: usize) -> Option<&str> {
    let head = text.get(..offset)?;
    let line_start = head.rfind('\n').map_or(0, |i| i + 1);
    if line_start == 0 || !head.get(line_start..)?.trim().is_empty() {
        return None;
    }
    let prev = head.get(..line_start - 1)?;
    let prev = prev
        .get(prev.rfind('\n').map_or(0, |i| i + 1)..)?
        .trim_end();
    prev.rsplit(char::is_whitespace)
        .next()
        .is_some_and(|w| w.starts_with('|') || w.starts_with('>'))
        .then_some(prev)
}

/// The `!tag` of the node whose text starts at byte `offset` (`src`: that text). A tag
/// is written before the node on its line, or, for a block scalar (whose span starts at its
/// content), before the `|`/`>` indicator on the line above.
fn tag_of(text: &str, offset: usize, src: Option<&str>) -> Option<String> {
    if let Some(header) = block_header(text, offset) {
        let tag = header.rsplit(char::is_whitespace).nth(1)?;
        return tag.starts_with('!').then(|| tag.to_owned());
    }
    if let Some(s) = src.filter(|s| s.starts_with('!')) {
        return Some(s.chars().take_while(|c| !c.is_whitespace()).collect());
    }
    let head = text.get(..offset)?;
    let before = head
        .get(head.rfind('\n').map_or(0, |i| i + 1)..)?
        .trim_end();
    let last = before.rsplit(char::is_whitespace).next()?;
    last.starts_with('!').then(|| last.to_owned())
}

impl Node {
    /// The node as text when it is a scalar, spelled as Python's `str()` would.
    pub fn as_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::UInt(u) => Some(u.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
            Kind::Null => None,
            Kind::Seq(_) | Kind::Map(_) => None,
        }
    }

    /// The string, when the node is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The map entries, when the node is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(e) => Some(e),
            _ => None,
        }
    }

    /// The node as a JSON value (map keys become text).
    pub fn to_value(&self) -> Value {
        self.to_value_at(0, false)
    }

    /// [`Node::to_value`] for a playbook's values, which are templated: an `!unsafe` string
    /// becomes a template that renders to exactly its text ([`unsafe_template`]), since Ansible
    /// never templates an unsafe value.
    pub fn to_template_value(&self) -> Value {
        self.to_value_at(0, true)
    }

    fn to_value_at(&self, depth: usize, guard_unsafe: bool) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        match &self.kind {
            Kind::Str(s) if guard_unsafe && self.tag.as_deref() == Some("!unsafe") => {
                Value::String(unsafe_template(s))
            }
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::UInt(u) => Value::from(*u),
            // JSON has no infinity or NaN: Python's spelling of them (`str(float('nan'))`).
            Kind::Float(f) if f.is_nan() => Value::String("nan".to_owned()),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Value::String(f.to_string()), Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|n| n.to_value_at(depth + 1, guard_unsafe))
                    .collect(),
            ),
            Kind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (key_text(k), v.to_value_at(depth + 1, guard_unsafe)))
                    .collect(),
            ),
        }
    }

    /// A short name of the node's YAML type, for "expected X, got Y" messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::UInt(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// A mapping key as text (`true`, `null` and numbers spelled as YAML wrote them).
/// `text` as a template that renders to exactly `text`: unchanged without a `{{`, `{%` or
/// `{#`; else each run of it without `{%` inside `{% raw +%}…{% endraw +%}` (`+`: the newline
/// after a tag stays, whatever `trim_blocks` says) and each `{%` as `{{ '{%' }}`, so that no
/// part of it is ever read as Jinja.
pub fn unsafe_template(text: &str) -> String {
    if !["{{", "{%", "{#"].iter().any(|m| text.contains(m)) {
        return text.to_owned();
    }
    text.split("{%")
        .map(|piece| {
            if piece.is_empty() {
                String::new()
            } else {
                format!("{{% raw +%}}{piece}{{% endraw +%}}")
            }
        })
        .collect::<Vec<_>>()
        .join("{{ '{%' }}")
}

pub fn key_text(k: &Node) -> String {
    match &k.kind {
        Kind::Bool(b) => if *b { "true" } else { "false" }.to_owned(),
        Kind::Null => "null".to_owned(),
        Kind::Seq(_) | Kind::Map(_) => k.to_value().to_string(),
        _ => k.as_text().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        match parse_yaml(text) {
            Ok(Some(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    /// Each run without `{%` in a raw block, each `{%` as an expression; plain text as it is.
    #[test]
    fn unsafe_text_becomes_a_template_of_itself() {
        assert_eq!(unsafe_template("plain"), "plain");
        assert_eq!(unsafe_template("a{{b}}"), "{% raw +%}a{{b}}{% endraw +%}");
        assert_eq!(
            unsafe_template("{%x%}{% endraw %}"),
            "{{ '{%' }}{% raw +%}x%}{% endraw +%}{{ '{%' }}{% raw +%} endraw %}{% endraw +%}"
        );
        let n = parse(
            "a: !unsafe '{{ x }}'
b: '{{ y }}'
",
        );
        assert_eq!(
            n.to_template_value(),
            serde_json::json!({"a": "{% raw +%}{{ x }}{% endraw +%}", "b": "{{ y }}"})
        );
        assert_eq!(n.to_value()["a"], "{{ x }}");
    }

    #[test]
    fn positions_booleans_and_tags() {
        let n = parse("- hosts: all\n  become: yes\n  x: !unsafe '{{ a }}'\n  y: \"q\"\n");
        let Kind::Seq(plays) = &n.kind else {
            panic!("{n:?}")
        };
        let Some(m) = plays[0].as_map() else {
            panic!("not a map")
        };
        assert_eq!((m[0].0.line, m[0].0.column), (1, 3));
        assert_eq!(m[1].1.kind, Kind::Bool(true));
        assert_eq!(m[2].1.tag.as_deref(), Some("!unsafe"));
        assert_eq!(m[2].1.as_str(), Some("{{ a }}"));
        assert_eq!((m[3].1.line, m[3].1.column), (4, 6));
    }

    /// An alias is its anchor's value, read as PyYAML reads the anchor's text (the slurp
    /// target's `vars: *test_user_become`), not the alias's `*name`.
    #[test]
    fn aliases_are_their_anchors_values() {
        let n = parse(
            "- vars: &b\n    k: yes\n    n: 0o17\n    s: '3'\n- vars: *b\n- [&x 1.5e3, *x]\n",
        );
        let want = serde_json::json!({"k": true, "n": "0o17", "s": "3"});
        assert_eq!(n.to_value()[0]["vars"], want);
        assert_eq!(n.to_value()[1]["vars"], want);
        assert_eq!(n.to_value()[2], serde_json::json!(["1.5e3", "1.5e3"]));
    }

    /// Expected values: PyYAML 6's `yaml.safe_load` of the same documents (`.inf` is a string
    /// here because JSON has none).
    #[test]
    fn scalars_resolve_like_pyyaml() {
        let n = parse(
            "a: [yes, y, On, oN, ~, nULL, 1.5, 1., .5, 1.5e+3, 1e3, 0o17, 0755, 0x1F]\nb: !unsafe 0o17\nc: !unsafe yes\nNull: k\n",
        );
        assert_eq!(
            n.to_value(),
            serde_json::json!({
                "a": [true, "y", true, "oN", null, "nULL", 1.5, 1.0, 0.5, 1500.0, "1e3", "0o17", 493, 31],
                "b": "0o17",
                "c": true,
                "null": "k",
            })
        );
        let n = parse(
            "[1.5e3, 1.e3, +.5, .inf, -.Inf, .NaN, 1:30, 1_000.5, 1:30.5, 190:20:30, 0b101, -0x1F, 2024-01-01, '1:30', \"0755\"]",
        );
        assert_eq!(
            n.to_value(),
            serde_json::json!([
                "1.5e3",
                "1.e3",
                "+.5",
                "inf",
                "-inf",
                "nan",
                90,
                1000.5,
                90.5,
                685230,
                5,
                -31,
                "2024-01-01",
                "1:30",
                "0755"
            ])
        );
        // Block scalars and multi-line plain scalars are strings, whatever their text.
        let n = parse("a: |\n  1:30\nb: >-\n  0755\nc: 1\n  2\n");
        assert_eq!(
            n.to_value(),
            serde_json::json!({"a": "1:30\n", "b": "0755", "c": "1 2"})
        );
    }

    #[test]
    fn tags_of_block_scalars() {
        let n = parse("a: !vault |\n  xx\nb: |\n  !notatag\nc: !unsafe >-\n  zz\n");
        let tags: Vec<Option<&str>> = n
            .as_map()
            .unwrap_or_default()
            .iter()
            .map(|(_, v)| v.tag.as_deref())
            .collect();
        assert_eq!(tags, [Some("!vault"), None, Some("!unsafe")]);
    }

    #[test]
    fn syntax_error_has_position() {
        let Err(e) = parse_yaml("- hosts: all\n  tasks: [\n") else {
            panic!("parsed")
        };
        assert!(e.line >= 2, "{e:?}");
    }

    #[test]
    fn positions_after_lone_carriage_returns_use_newline_lines() {
        assert_eq!(newline_position("a\nb", 2, 1), (2, 1));
        assert_eq!(newline_position("A\rA\r\0", 3, 1), (1, 5));
        assert_eq!(newline_position("a\r\nb\rc\nd", 3, 1), (2, 3));
        assert_eq!(newline_position("ab\rc", 1, 9), (1, 3));
        assert_eq!(newline_position("a\rb", 7, 1), (1, 4));
        // Found by tests/fuzz_parsers.rs (inventory side): the playbook parser does the same.
        let e = parse_yaml("- a\r- b\r\0").err().map(|e| (e.line, e.column));
        assert_eq!(e, Some((1, 9)));
        // Node positions too: `bogus` is on the first (and only) `\n` line, column 16.
        let n = parse_yaml("- hosts: all\r  bogus: 1\r").ok().flatten();
        let key = n.as_ref().and_then(|n| match &n.kind {
            Kind::Seq(plays) => match &plays.first()?.kind {
                Kind::Map(entries) => entries.get(1).map(|(k, _)| (k.line, k.column)),
                _ => None,
            },
            _ => None,
        });
        assert_eq!(key, Some((1, 16)));
    }
}

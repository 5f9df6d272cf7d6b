//! `to_yaml`/`to_nice_yaml` output byte-for-byte like Ansible's (PyYAML `yaml.dump` with the
//! libyaml `CSafeDumper`).
//!
//! A port of the parts of PyYAML's emitter (`yaml/emitter.py`) and implicit resolver that
//! plain data (JSON values) reaches: block and flow collections, plain/single/double-quoted
//! scalars, line folding at `width`, sorted keys, `allow_unicode=True`; with libyaml's
//! differences (no `...` after a plain root scalar, no `---` for an empty one, keys up to 128
//! bytes stay simple).

use clearfleet_yaml::resolve::{Resolved, resolve};
use serde_json::Value as J;

/// Options of `yaml.dump` that Ansible's filters pass.
#[derive(Debug, Clone, Copy)]
pub struct DumpOptions {
    pub indent: usize,
    pub width: usize,
    /// `None`: flow style for collections of scalars only (PyYAML's default); `Some(false)`:
    /// block style everywhere (`to_nice_yaml`); `Some(true)`: flow style everywhere.
    pub default_flow_style: Option<bool>,
    pub sort_keys: bool,
    pub explicit_start: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions {
            indent: 2,
            width: 80,
            default_flow_style: None,
            sort_keys: true,
            explicit_start: false,
        }
    }
}

enum Node {
    Scalar {
        value: String,
        /// Would the plain spelling read back as the same type? (PyYAML's `implicit[0]`)
        plain_ok: bool,
    },
    Seq(Vec<Node>, bool),
    Map(Vec<(Node, Node)>, bool),
}

/// True when a plain scalar `s` reads back as a string.
fn resolves_to_str(s: &str) -> bool {
    resolve(s) == Resolved::Str
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let v = clearfleet_base::python_json::float_repr(f, false).to_lowercase();
    if !v.contains('.') && v.contains('e') {
        v.replacen('e', ".0e", 1)
    } else {
        v
    }
}

fn scalar(value: String, plain_ok: bool) -> Node {
    Node::Scalar { value, plain_ok }
}

fn represent(v: &J, opts: &DumpOptions) -> Node {
    match v {
        J::Null => scalar("null".into(), true),
        J::Bool(b) => scalar(if *b { "true" } else { "false" }.into(), true),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => scalar(i.to_string(), true),
            (None, Some(u), _) => scalar(u.to_string(), true),
            (_, _, Some(f)) => scalar(float_text(f), true),
            _ => scalar("null".into(), true),
        },
        J::String(s) => scalar(s.clone(), resolves_to_str(s)),
        J::Array(items) => {
            let nodes: Vec<Node> = items.iter().map(|i| represent(i, opts)).collect();
            let best = nodes.iter().all(|n| matches!(n, Node::Scalar { .. }));
            Node::Seq(nodes, opts.default_flow_style.unwrap_or(best))
        }
        J::Object(map) => {
            let mut entries: Vec<(&String, &J)> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            let nodes: Vec<(Node, Node)> = entries
                .into_iter()
                .map(|(k, v)| (represent(&J::String(k.clone()), opts), represent(v, opts)))
                .collect();
            let best = nodes
                .iter()
                .all(|(k, v)| matches!(k, Node::Scalar { .. }) && matches!(v, Node::Scalar { .. }));
            Node::Map(nodes, opts.default_flow_style.unwrap_or(best))
        }
    }
}

/// Serializes `v` as `yaml.dump(v, Dumper=AnsibleDumper, allow_unicode=True, ...)` does.
pub fn dump(v: &J, opts: DumpOptions) -> String {
    let node = represent(v, &opts);
    let mut e = Emitter {
        out: String::new(),
        indents: Vec::new(),
        indent: None,
        flow_level: 0,
        mapping_context: false,
        simple_key_context: false,
        column: 0,
        whitespace: true,
        indention: true,
        best_indent: if (2..10).contains(&opts.indent) {
            opts.indent
        } else {
            2
        },
        best_width: 80,
    };
    if opts.width > e.best_indent * 2 {
        e.best_width = opts.width;
    }
    if opts.explicit_start {
        e.write_indent();
        e.write_indicator("---", true, false, false);
    }
    e.expect_node(&node, false, false);
    // Document end (libyaml writes no `...` after a plain root scalar).
    e.write_indent();
    e.out
}

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_space_or_break(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

/// libyaml's `IS_BREAK`, used by the analysis: `\r` counts as a line break there.
fn is_lib_break(c: char) -> bool {
    c == '\r' || is_break(c)
}

fn analyze(chars: &[char]) -> Analysis {
    if chars.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let starts = |p: &str| chars.iter().take(3).copied().eq(p.chars());
    if starts("---") || starts("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_ws = true;
    let mut followed_by_ws = chars.len() == 1 || is_space_or_break(chars[1]);
    let (mut previous_space, mut previous_break) = (false, false);
    let last = chars.len() - 1;
    for (index, &ch) in chars.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_indicators = true;
                block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                if followed_by_ws {
                    block_indicators = true;
                }
            }
            if ch == '-' && followed_by_ws {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                if followed_by_ws {
                    block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_ws {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        if is_lib_break(ch) {
            line_breaks = true;
        }
        if !printable(ch) {
            special = true;
        }
        if ch == ' ' {
            leading_space |= index == 0;
            trailing_space |= index == last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_lib_break(ch) {
            leading_break |= index == 0;
            trailing_break |= index == last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_space_or_break(ch);
        followed_by_ws = index + 2 >= chars.len() || is_space_or_break(chars[index + 2]);
    }
    let mut allow_flow_plain = true;
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_flow_plain = false;
        allow_block_plain = false;
    }
    if break_space {
        allow_flow_plain = false;
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_flow_plain = false;
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if line_breaks {
        allow_flow_plain = false;
        allow_block_plain = false;
    }
    if flow_indicators {
        allow_flow_plain = false;
    }
    if block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain,
        allow_block_plain,
        allow_single_quoted,
    }
}

/// libyaml's `IS_PRINTABLE` (narrower than PyYAML's pure-Python emitter: no NEL, nothing
/// outside the Basic Multilingual Plane).
fn printable(ch: char) -> bool {
    ch == '\n'
        || (' '..='~').contains(&ch)
        || ('\u{A0}'..='\u{D7FF}').contains(&ch)
        || (('\u{E000}'..='\u{FFFD}').contains(&ch) && ch != '\u{FEFF}')
}

struct Emitter {
    out: String,
    indents: Vec<Option<usize>>,
    indent: Option<usize>,
    flow_level: usize,
    mapping_context: bool,
    simple_key_context: bool,
    column: usize,
    whitespace: bool,
    indention: bool,
    best_indent: usize,
    best_width: usize,
}

impl Emitter {
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(i) if !indentless => Some(i + self.best_indent),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn expect_node(&mut self, node: &Node, mapping: bool, simple_key: bool) {
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match node {
            Node::Scalar {
                value, plain_ok, ..
            } => {
                self.increase_indent(true, false);
                self.process_scalar(value, *plain_ok);
                self.pop_indent();
            }
            Node::Seq(items, flow) => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items);
                }
            }
            Node::Map(pairs, flow) => {
                if self.flow_level > 0 || *flow || pairs.is_empty() {
                    self.flow_mapping(pairs);
                } else {
                    self.block_mapping(pairs);
                }
            }
        }
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.expect_node(item, false, false);
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            if check_simple_key(k) {
                self.expect_node(k, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.expect_node(k, true, false);
                if self.column > self.best_width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.expect_node(v, true, false);
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node]) {
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.expect_node(item, false, false);
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        for (k, v) in pairs {
            self.write_indent();
            if check_simple_key(k) {
                self.expect_node(k, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.expect_node(k, true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.expect_node(v, true, false);
        }
        self.pop_indent();
    }

    fn process_scalar(&mut self, value: &str, plain_ok: bool) {
        let chars: Vec<char> = value.chars().collect();
        let a = analyze(&chars);
        let flow = self.flow_level > 0;
        let plain = plain_ok
            && !(self.simple_key_context && (a.empty || a.multiline))
            && ((flow && a.allow_flow_plain) || (!flow && a.allow_block_plain));
        let split = !self.simple_key_context;
        if plain {
            self.write_plain(&chars, split);
        } else if a.allow_single_quoted && !(self.simple_key_context && a.multiline) {
            self.write_single_quoted(&chars, split);
        } else {
            self.write_double_quoted(&chars, split);
        }
    }

    fn write(&mut self, s: &str) {
        self.column += s.chars().count();
        self.out.push_str(s);
    }

    fn write_chars(&mut self, chars: &[char]) {
        self.column += chars.len();
        self.out.extend(chars);
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, whitespace: bool, indention: bool) {
        if !self.whitespace && need_ws {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(ind);
        self.column += ind.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            self.out
                .extend(std::iter::repeat_n(' ', indent - self.column));
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, br: Option<char>) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push(br.unwrap_or('\n'));
    }

    fn write_breaks(&mut self, text: &[char]) {
        if text.first() == Some(&'\n') {
            self.write_line_break(None);
        }
        for &br in text {
            self.write_line_break(if br == '\n' { None } else { Some(br) });
        }
        self.write_indent();
    }

    fn write_plain(&mut self, text: &[char], split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || is_break(c)) {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0, 0);
        while end <= text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    self.write_breaks(&text[start..end]);
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    /// libyaml's double-quoted writer: escapes, and folds only at single spaces.
    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut spaces = false;
        for (i, &c) in text.iter().enumerate() {
            if !printable(c) || is_break(c) || matches!(c, '"' | '\\' | '\u{FEFF}') {
                let data = match c {
                    '\0' => "\\0".to_owned(),
                    '\u{7}' => "\\a".to_owned(),
                    '\u{8}' => "\\b".to_owned(),
                    '\t' => "\\t".to_owned(),
                    '\n' => "\\n".to_owned(),
                    '\u{b}' => "\\v".to_owned(),
                    '\u{c}' => "\\f".to_owned(),
                    '\r' => "\\r".to_owned(),
                    '\u{1b}' => "\\e".to_owned(),
                    '"' => "\\\"".to_owned(),
                    '\\' => "\\\\".to_owned(),
                    '\u{85}' => "\\N".to_owned(),
                    '\u{a0}' => "\\_".to_owned(),
                    '\u{2028}' => "\\L".to_owned(),
                    '\u{2029}' => "\\P".to_owned(),
                    c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
                    c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
                    c => format!("\\U{:08X}", c as u32),
                };
                self.write(&data);
                spaces = false;
            } else if c == ' ' {
                if split
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i + 1 != text.len()
                {
                    self.write_indent();
                    if text.get(i + 1) == Some(&' ') {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                spaces = true;
            } else {
                self.write_chars(&[c]);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}

fn check_simple_key(node: &Node) -> bool {
    match node {
        // libyaml: not multiline and at most 128 bytes (implicit tags are not counted).
        Node::Scalar { value, .. } => !value.chars().any(is_lib_break) && value.len() <= 128,
        Node::Seq(items, _) => items.is_empty(),
        Node::Map(pairs, _) => pairs.is_empty(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn flow_leaves_and_block_nice() {
        let v = json!({"b": [1, 2], "a": {"c": "x y"}});
        assert_eq!(dump(&v, DumpOptions::default()), "a: {c: x y}\nb: [1, 2]\n");
        let nice = DumpOptions {
            indent: 4,
            default_flow_style: Some(false),
            ..DumpOptions::default()
        };
        assert_eq!(dump(&v, nice), "a:\n    c: x y\nb:\n- 1\n- 2\n");
        assert_eq!(dump(&json!("x"), nice), "x\n");
        assert_eq!(dump(&json!(""), nice), "''\n");
        assert_eq!(dump(&json!("yes"), nice), "'yes'\n");
    }
}

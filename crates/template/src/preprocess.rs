//! Source rewrites that give minijinja two Ansible behaviours, with a map back to the source.
//!
//! 1. Backslash escaping (Ansible's `escape_backslashes`): ansible-core doubles backslashes in
//!    string literals inside `{{ }}` (not `{% %}`) of top-level templates, so only YAML's
//!    escaping applies: `regex_replace('(a)', '\1')` from a double-quoted YAML string passes
//!    `\1` to the filter. minijinja unescapes literals, so they are pre-escaped here.
//! 2. Chained undefined lookups: Ansible lets `missing.attr | default(x)` and
//!    `missing.attr is defined` work; minijinja's strict mode fails on `missing.attr`. An
//!    attribute/item chain written directly before `| default`, `| d`, `is defined` or
//!    `is undefined` becomes `__clearfleet_get('missing', 'attr')`, which yields undefined when
//!    any link is missing. Everywhere else strict mode is kept.
//! 3. Python's `%` formatting with a string literal on the left (`'%s:%s' % (h, p)`) becomes
//!    `__clearfleet_pyformat('%s:%s', (h, p))`; minijinja has no `%` on strings.
//! 4. `ansible.builtin.` / `ansible.legacy.` prefixes of filter and test names are dropped.
//! 5. String constants that look like templates (ansible-core 2.19.14's `visit_Const` and
//!    `AnsibleEnvironment._access_const`, `_internal/_templating/_jinja_bits.py`) become
//!    `__clearfleet_const_template('…')`, which renders them with the template's variables
//!    (see [`Consts`]): every one in a bare conditional expression, and in any other template
//!    only the terms of a lookup (`lookup('pipe', 'echo {{ x }}')`), as 2.19's
//!    `_invoke_lookup` trusts and renders those (`_trust_jinja_constants`).

/// Name of the lookup helper the chain rewrite calls.
pub(crate) const GET_FN: &str = "__clearfleet_get";
/// Name of the helper `'literal' % args` becomes.
pub(crate) const PYFORMAT_FN: &str = "__clearfleet_pyformat";
/// Name of the helper that renders a template-looking string constant (see [`Consts`]).
pub(crate) const CONST_TEMPLATE_FN: &str = "__clearfleet_const_template";

/// Which string constants that look like templates are rendered where they stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consts {
    /// Only a lookup's terms: a constant that is a whole positional argument of `lookup()`,
    /// `query()` or `q()` after the plugin's name, or a whole element of a list, tuple or
    /// dict value written there (2.19's `_trust_jinja_constants` walks those). What a
    /// constant becomes after an operator or a filter (`'a' ~ '{{ x }}'`) is no constant.
    LookupTerms,
    /// Every one: a conditional expression (2.19's `_render_jinja_const_template`, set by
    /// `_normalize_and_evaluate_conditional` for the expression, not for a `{{ }}` condition).
    All,
}

/// Whether a constant's text may be a template (2.19's `is_possibly_template`: a start
/// delimiter anywhere, or the `#jinja2:` overrides header first).
fn possibly_template(text: &str) -> bool {
    text.starts_with("#jinja2:")
        || text.contains("{{")
        || text.contains("{%")
        || text.contains("{#")
}

/// The lookup functions whose terms 2.19 trusts (`_lookup`, `_query`).
const LOOKUP_FNS: &[&str] = &["lookup", "query", "q"];

/// How a constant is rendered ([`CONST_TEMPLATE_FN`]'s second argument).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Render {
    /// A lookup's term: an undefined variable in it fails, naming it, as the lookup would
    /// (`lookup` refuses an undefined term).
    Term,
    /// Elsewhere (a condition): an undefined variable makes the constant undefined, as 2.19's
    /// marker (`'{{ x }}' is undefined` holds).
    Value,
}

/// What an open bracket of an expression is, for [`Consts::LookupTerms`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum Frame {
    /// The arguments of a lookup call; `usize`: which argument (0 is the plugin's name).
    Lookup(usize),
    /// A list or tuple (or parentheses) written as a lookup's term, or inside one.
    TermSeq,
    /// A dict written as a lookup's term, or inside one.
    TermDict,
    Other,
}

/// Rewritten text plus a map from its byte offsets back to the original's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Processed {
    pub text: String,
    /// (offset in `text`, offset in the original) at every point where they stop advancing
    /// together; sorted by the first item.
    anchors: Vec<(usize, usize)>,
    /// Where the string literals `text` renders as templates are in it ([`Consts`]).
    pub consts: Vec<(usize, usize)>,
}

impl Processed {
    /// The original offset of byte `offset` of the rewritten text.
    pub fn original(&self, offset: usize) -> usize {
        let idx = self.anchors.partition_point(|&(new, _)| new <= offset);
        match idx.checked_sub(1).and_then(|i| self.anchors.get(i)) {
            Some(&(new, old)) => {
                let limit = self
                    .anchors
                    .get(idx)
                    .map_or(usize::MAX, |&(_, next_old)| next_old);
                (old + (offset - new)).min(limit.max(old))
            }
            None => offset,
        }
    }
}

/// Rewrites a whole template (`escape`: Ansible's escape_backslashes for `{{ }}` literals).
pub(crate) fn template(source: &str, escape: bool) -> Processed {
    template_with(source, escape, &Delimiters::default())
}

/// [`template`] for a template whose tags start and end with `delims`.
pub(crate) fn template_with(source: &str, escape: bool, delims: &Delimiters) -> Processed {
    let mut s = Scanner::new(source, escape, Consts::LookupTerms);
    s.delims = delims.clone();
    s.template();
    s.finish()
}

/// The strings that open and close a template's blocks, expressions and comments (Jinja2's
/// `block_start_string` and the rest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delimiters {
    pub block: (String, String),
    pub variable: (String, String),
    pub comment: (String, String),
}

impl Default for Delimiters {
    fn default() -> Self {
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        Delimiters {
            block: pair("{%", "%}"),
            variable: pair("{{", "}}"),
            comment: pair("{#", "#}"),
        }
    }
}

/// Which tag a start delimiter opens.
#[derive(Clone, Copy, PartialEq)]
enum Tag {
    Block,
    Variable,
    Comment,
}

/// The variable names a rewritten text's guarded chains start from (`__clearfleet_get('a', …)`).
pub(crate) fn chained_roots(text: &str) -> Vec<String> {
    let head = format!("{GET_FN}('");
    text.match_indices(&head)
        .filter_map(|(at, _)| {
            let rest = &text[at + head.len()..];
            rest.find('\'').map(|end| rest[..end].to_owned())
        })
        .collect()
}

/// Rewrites a bare expression (a `when:` condition); literals are not escaped there.
/// `consts`: [`Consts::All`] for a conditional expression, [`Consts::LookupTerms`] for the
/// inside of a `{{ }}` condition (2.19 renders that as a template).
pub(crate) fn expression(source: &str, consts: Consts) -> Processed {
    let mut s = Scanner::new(source, false, consts);
    let end = s.expr(0, Stop::Eof, false);
    s.copy(end, source.len());
    s.finish()
}

#[derive(Clone, Copy, PartialEq)]
enum Stop {
    /// `}}` at bracket depth 0.
    Var,
    /// `%}` at bracket depth 0.
    Block,
    /// `]` at depth 0 (a subscript).
    Bracket,
    /// A fixed offset.
    At(usize),
    Eof,
}

enum Access {
    Attr(String),
    Index(String),
    /// Byte range of a subscript's inner expression.
    Item(usize, usize),
}

struct Scanner<'a> {
    src: &'a str,
    out: Processed,
    escape: bool,
    delims: Delimiters,
    consts: Consts,
}

/// The prefix of 2.19's internal tag tests, renamed `protomatter_` (see `tests.rs`).
const PROTOMATTER: &str = "ansible._protomatter.";

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
];

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str, escape: bool, consts: Consts) -> Self {
        Scanner {
            src,
            out: Processed {
                text: String::with_capacity(src.len() + 16),
                anchors: vec![(0, 0)],
                consts: Vec::new(),
            },
            escape,
            delims: Delimiters::default(),
            consts,
        }
    }

    /// The first tag opening at or after `from`: where, which, and its start delimiter's
    /// length (the longer delimiter where two start at the same place).
    fn next_tag(&self, from: usize) -> Option<(usize, Tag, usize)> {
        [
            (&self.delims.variable.0, Tag::Variable),
            (&self.delims.block.0, Tag::Block),
            (&self.delims.comment.0, Tag::Comment),
        ]
        .into_iter()
        .filter(|(d, _)| !d.is_empty())
        .filter_map(|(d, tag)| self.find(from, d).map(|p| (p, tag, d.len())))
        .min_by_key(|&(p, _, len)| (p, std::cmp::Reverse(len)))
    }

    fn finish(self) -> Processed {
        self.out
    }

    fn char_at(&self, i: usize) -> Option<char> {
        self.src.get(i..).and_then(|s| s.chars().next())
    }

    fn copy(&mut self, from: usize, to: usize) {
        if let Some(s) = self.src.get(from..to) {
            self.out.text.push_str(s);
        }
    }

    /// Emits generated text standing for `src[old_from..old_to]`.
    fn emit_replacement(&mut self, old_from: usize, text: &str, old_to: usize) {
        self.out.anchors.push((self.out.text.len(), old_from));
        self.out.text.push_str(text);
        self.out.anchors.push((self.out.text.len(), old_to));
    }

    fn find(&self, from: usize, pat: &str) -> Option<usize> {
        self.src.get(from..)?.find(pat).map(|p| p + from)
    }

    fn template(&mut self) {
        let src = self.src;
        let mut i = 0;
        let mut text_start = 0;
        while let Some((p, tag, len)) = self.next_tag(i) {
            match tag {
                Tag::Comment => {
                    let close = &self.delims.comment.1;
                    i = self
                        .find(p + len, close)
                        .map_or(src.len(), |e| e + close.len());
                }
                Tag::Variable => {
                    self.copy(text_start, p + len);
                    let end = self.expr(p + len, Stop::Var, self.escape);
                    text_start = end;
                    i = end;
                }
                Tag::Block => {
                    self.copy(text_start, p + len);
                    let end = self.expr(p + len, Stop::Block, false);
                    let tag = src
                        .get(p..end.saturating_add(self.delims.block.1.len()).min(src.len()))
                        .unwrap_or("");
                    text_start = end;
                    i = end;
                    if self.tag_name(tag) == "raw" {
                        let stop = self.find_endraw(end);
                        self.copy(text_start, stop);
                        text_start = stop;
                        i = stop;
                    }
                }
            }
        }
        self.copy(text_start, src.len());
    }

    fn find_endraw(&self, from: usize) -> usize {
        let (open, close) = &self.delims.block;
        let mut at = from;
        while let Some(p) = self.find(at, open) {
            let end = self
                .find(p + open.len(), close)
                .map_or(self.src.len(), |e| e + close.len());
            if self.tag_name(self.src.get(p..end).unwrap_or("")) == "endraw" {
                return p;
            }
            at = p + open.len().max(1);
        }
        self.src.len()
    }

    /// The name of the block tag `tag` (`raw` of `{%- raw %}`).
    fn tag_name<'t>(&self, tag: &'t str) -> &'t str {
        let (open, close) = &self.delims.block;
        let tag = tag.strip_prefix(open.as_str()).unwrap_or(tag);
        let tag = tag.strip_suffix(close.as_str()).unwrap_or(tag);
        tag.trim_matches(['-', '+']).trim()
    }

    /// Scans an expression body from `i`, emitting it, until `stop` (not consumed). Returns
    /// the offset of the stop delimiter (or the end).
    fn expr(&mut self, mut i: usize, stop: Stop, escape: bool) -> usize {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut depth = 0usize;
        let mut frames: Vec<Frame> = Vec::new();
        let mut copied = i;
        let mut prev: Option<char> = None;
        while let Some(c) = self.char_at(i) {
            if depth == 0 {
                let rest = &bytes[i..];
                let at_stop = match stop {
                    Stop::Var => rest.starts_with(self.delims.variable.1.as_bytes()),
                    Stop::Block => rest.starts_with(self.delims.block.1.as_bytes()),
                    Stop::Bracket => c == ']',
                    Stop::At(end) => i >= end,
                    Stop::Eof => false,
                };
                if at_stop {
                    break;
                }
            }
            match c {
                '\'' | '"' => {
                    let end = self.string_end(i, c);
                    let render = self.renders_const(i, end, frames.last().copied());
                    if let Some((operand, operand_end)) = self.percent_operand(end) {
                        self.copy(copied, i);
                        self.emit_replacement(i, &format!("{PYFORMAT_FN}("), i);
                        self.const_literal(i, end, c, escape, render);
                        self.emit_replacement(end, ", ", operand);
                        let stop = self.expr(operand, Stop::At(operand_end), escape);
                        self.emit_replacement(stop, ")", stop);
                        copied = stop;
                        i = stop;
                        prev = Some(')');
                        continue;
                    }
                    if escape || render.is_some() {
                        self.copy(copied, i);
                        self.const_literal(i, end, c, escape, render);
                        copied = end;
                    }
                    i = end;
                    prev = Some(c);
                    continue;
                }
                '(' | '[' | '{' => {
                    frames.push(self.frame_at(i, c, frames.last().copied()));
                    depth += 1;
                }
                ')' | ']' | '}' => {
                    frames.pop();
                    depth = depth.saturating_sub(1);
                }
                ',' => {
                    if let Some(Frame::Lookup(n)) = frames.last_mut() {
                        *n += 1;
                    }
                }
                c if is_ident_start(c) && prev != Some('.') && !prev.is_some_and(is_ident_char) => {
                    if let Some(prefix) = ["ansible.builtin.", "ansible.legacy."]
                        .into_iter()
                        .find(|p| src[i..].starts_with(p))
                    {
                        self.copy(copied, i);
                        self.emit_replacement(i, "", i + prefix.len());
                        i += prefix.len();
                        copied = i;
                        continue;
                    }
                    if src[i..].starts_with(PROTOMATTER) {
                        self.copy(copied, i);
                        self.emit_replacement(i, "protomatter_", i + PROTOMATTER.len());
                        i += PROTOMATTER.len();
                        copied = i;
                        continue;
                    }
                    let name_end = self.ident_end(i);
                    let name = &src[i..name_end];
                    if !KEYWORDS.contains(&name)
                        && let Some((accesses, chain_end)) = self.chain(name_end)
                        && self.feeds_default_or_defined(chain_end)
                    {
                        self.copy(copied, i);
                        self.emit_chain(i, name, &accesses, chain_end, escape);
                        copied = chain_end;
                        i = chain_end;
                        prev = Some(')');
                        continue;
                    }
                    i = name_end;
                    prev = Some('a');
                    continue;
                }
                _ => {}
            }
            prev = Some(if c.is_whitespace() { ' ' } else { c });
            i += c.len_utf8();
        }
        self.copy(copied, i);
        i
    }

    /// Emits a string literal (escaped or as written), inside a call of
    /// [`CONST_TEMPLATE_FN`] when it is rendered.
    fn const_literal(
        &mut self,
        start: usize,
        end: usize,
        q: char,
        escape: bool,
        render: Option<Render>,
    ) {
        let Some(render) = render else {
            return self.literal(start, end, q, escape);
        };
        self.emit_replacement(start, &format!("{CONST_TEMPLATE_FN}("), start);
        let at = self.out.text.len();
        self.literal(start, end, q, escape);
        self.out.consts.push((at, self.out.text.len()));
        let close = match render {
            Render::Term => ", true)",
            Render::Value => ")",
        };
        self.emit_replacement(end, close, end);
    }

    /// Whether the string literal `src[start..end]`, inside bracket `top`, is a constant
    /// rendered where it stands (see [`Consts`]), and how.
    fn renders_const(&self, start: usize, end: usize, top: Option<Frame>) -> Option<Render> {
        let text = self.src.get(start + 1..end.saturating_sub(1)).unwrap_or("");
        if !possibly_template(text) {
            return None;
        }
        let before = self.before(start);
        let after = self
            .src
            .get(end..)
            .and_then(|s| s.trim_start().chars().next());
        let term = match top {
            Some(Frame::Lookup(n)) => {
                n >= 1 && before == Some(',') && matches!(after, Some(',' | ')'))
            }
            Some(Frame::TermSeq) => {
                matches!(before, Some('(' | '[' | ',')) && matches!(after, Some(',' | ')' | ']'))
            }
            Some(Frame::TermDict) => before == Some(':') && matches!(after, Some(',' | '}')),
            Some(Frame::Other) | None => false,
        };
        match (term, self.consts) {
            (true, _) => Some(Render::Term),
            (false, Consts::All) => Some(Render::Value),
            (false, Consts::LookupTerms) => None,
        }
    }

    /// What the bracket `open` opening at `i` inside bracket `top` is.
    fn frame_at(&self, i: usize, open: char, top: Option<Frame>) -> Frame {
        let head = self.src.get(..i).unwrap_or("").trim_end();
        let name_start = head
            .char_indices()
            .rev()
            .take_while(|&(_, c)| is_ident_char(c))
            .last()
            .map_or(head.len(), |(at, _)| at);
        let name = &head[name_start..];
        let called = head[..name_start]
            .chars()
            .next_back()
            .is_none_or(|c| c != '.' && !is_ident_char(c));
        if open == '(' && called && LOOKUP_FNS.contains(&name) {
            return Frame::Lookup(0);
        }
        let before = self.before(i);
        let a_term = match top {
            Some(Frame::Lookup(n)) => n >= 1 && before == Some(','),
            Some(Frame::TermSeq) => matches!(before, Some('(' | '[' | ',')),
            Some(Frame::TermDict) => before == Some(':'),
            Some(Frame::Other) | None => false,
        };
        match (a_term, open) {
            (true, '{') => Frame::TermDict,
            (true, _) => Frame::TermSeq,
            (false, _) => Frame::Other,
        }
    }

    /// The last character before `i` that is not whitespace.
    fn before(&self, i: usize) -> Option<char> {
        self.src.get(..i)?.trim_end().chars().next_back()
    }

    /// Emits a string literal, escaped or as written.
    fn literal(&mut self, start: usize, end: usize, q: char, escape: bool) {
        if escape {
            self.escaped_literal(start, end, q);
        } else {
            self.copy(start, end);
        }
    }

    /// After a string literal ending at `i`: if a `%` operator follows, the start and end of its
    /// right operand (a primary with its accessors and filters).
    fn percent_operand(&self, i: usize) -> Option<(usize, usize)> {
        let p = self.skip_ws(i);
        if self.char_at(p) != Some('%') || matches!(self.char_at(p + 1), Some('}' | '=' | '%')) {
            return None;
        }
        let start = self.skip_ws(p + 1);
        let mut j = match self.char_at(start)? {
            '(' | '[' | '{' => self.closing(start)? + 1,
            q @ ('\'' | '"') => self.string_end(start, q),
            c if c.is_ascii_digit() || c == '-' => {
                let mut k = start + 1;
                while let Some(c) = self
                    .char_at(k)
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
                {
                    k += c.len_utf8();
                }
                k
            }
            c if is_ident_start(c) => self.ident_end(start),
            _ => return None,
        };
        // Accessors and calls: `.name`, `[...]`, `(...)`.
        loop {
            match self.char_at(j) {
                Some('.') if self.char_at(j + 1).is_some_and(is_ident_char) => {
                    j = self.ident_end(j + 1)
                }
                Some('[' | '(') => j = self.closing(j)? + 1,
                _ => break,
            }
        }
        // Filters bind tighter than `%`: `'%s' % x | int` formats `x | int`.
        loop {
            let k = self.skip_ws(j);
            if self.char_at(k) != Some('|') {
                break;
            }
            let mut n = self.skip_ws(k + 1);
            if !self.char_at(n).is_some_and(is_ident_start) {
                break;
            }
            while self
                .char_at(n)
                .is_some_and(|c| is_ident_char(c) || c == '.')
            {
                n = self.ident_end(n);
                if self.char_at(n) == Some('.') {
                    n += 1;
                }
            }
            j = n;
            if self.char_at(j) == Some('(') {
                j = self.closing(j)? + 1;
            }
        }
        Some((start, j))
    }

    /// The offset of the bracket closing the one at `open`.
    fn closing(&self, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = open;
        while let Some(c) = self.char_at(i) {
            match c {
                '\'' | '"' => {
                    i = self.string_end(i, c);
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
            i += c.len_utf8();
        }
        None
    }

    fn ident_end(&self, mut i: usize) -> usize {
        while let Some(c) = self.char_at(i).filter(|&c| is_ident_char(c)) {
            i += c.len_utf8();
        }
        i
    }

    /// The end (exclusive) of the string literal opening at `start`.
    fn string_end(&self, start: usize, q: char) -> usize {
        let rest = self.src.get(start + 1..).unwrap_or("");
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                chars.next();
            } else if c == q {
                return start + 1 + i + 1;
            }
        }
        self.src.len()
    }

    /// Emits a literal so that minijinja's unescaping yields its characters as written.
    fn escaped_literal(&mut self, start: usize, end: usize, q: char) {
        let literal = self.src.get(start..end).unwrap_or("");
        let mut chars = literal.char_indices().peekable();
        while let Some((off, c)) = chars.next() {
            if c != '\\' {
                self.out.text.push(c);
                continue;
            }
            let mut text = String::from("\\\\");
            let mut consumed = 1;
            if let Some(&(_, n)) = chars.peek() {
                chars.next();
                consumed += n.len_utf8();
                if n == q || n == '\\' {
                    text.push('\\');
                }
                text.push(n);
            }
            self.emit_replacement(start + off, &text, start + off + consumed);
        }
    }

    /// Parses `.name`, `.0` and `[expr]` accessors after an identifier; None if there are none.
    fn chain(&self, mut j: usize) -> Option<(Vec<Access>, usize)> {
        let mut accesses = Vec::new();
        loop {
            match self.char_at(j) {
                Some('.') => {
                    let k = j + 1;
                    match self.char_at(k) {
                        Some(c) if is_ident_start(c) => {
                            let end = self.ident_end(k);
                            accesses.push(Access::Attr(self.src[k..end].to_owned()));
                            j = end;
                        }
                        Some(c) if c.is_ascii_digit() => {
                            let end = self.ident_end(k);
                            let digits = &self.src[k..end];
                            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                                return None;
                            }
                            accesses.push(Access::Index(digits.to_owned()));
                            j = end;
                        }
                        _ => break,
                    }
                }
                Some('[') => {
                    let end = self.bracket_end(j + 1)?;
                    accesses.push(Access::Item(j + 1, end));
                    j = end + 1;
                }
                _ => break,
            }
        }
        (!accesses.is_empty()).then_some((accesses, j))
    }

    /// The offset of the `]` closing a subscript whose body starts at `i`.
    fn bracket_end(&self, mut i: usize) -> Option<usize> {
        let mut depth = 0usize;
        while let Some(c) = self.char_at(i) {
            match c {
                '\'' | '"' => {
                    i = self.string_end(i, c);
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ']' if depth == 0 => return Some(i),
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += c.len_utf8();
        }
        None
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while let Some(c) = self.char_at(i).filter(|c| c.is_whitespace()) {
            i += c.len_utf8();
        }
        i
    }

    fn word_at(&self, i: usize) -> &str {
        match self.char_at(i) {
            Some(c) if is_ident_start(c) => &self.src[i..self.ident_end(i)],
            _ => "",
        }
    }

    /// True when the text at `i` is `| default`, `| d`, `is [not] defined` or `is [not] undefined`.
    fn feeds_default_or_defined(&self, i: usize) -> bool {
        let i = self.skip_ws(i);
        if self.char_at(i) == Some('|') {
            let k = self.skip_ws(i + 1);
            return matches!(self.word_at(k), "default" | "d");
        }
        if self.word_at(i) == "is" {
            let mut k = self.skip_ws(i + 2);
            if self.word_at(k) == "not" {
                k = self.skip_ws(k + 3);
            }
            return matches!(self.word_at(k), "defined" | "undefined");
        }
        false
    }

    fn emit_chain(
        &mut self,
        start: usize,
        name: &str,
        accesses: &[Access],
        end: usize,
        escape: bool,
    ) {
        // The root goes in by name: strict mode rejects an undefined value as a call argument.
        let head = format!("{GET_FN}('{name}'");
        self.emit_replacement(start, &head, start + name.len());
        for access in accesses {
            match access {
                Access::Attr(a) => {
                    let text = format!(", '{a}'");
                    let at = self.out.anchors.last().map_or(start, |a| a.1);
                    self.emit_replacement(at, &text, at + a.len() + 1);
                }
                Access::Index(d) => {
                    let text = format!(", {d}");
                    let at = self.out.anchors.last().map_or(start, |a| a.1);
                    self.emit_replacement(at, &text, at + d.len() + 1);
                }
                Access::Item(from, to) => {
                    self.emit_replacement(from - 1, ", ", *from);
                    let stop = self.expr(*from, Stop::Bracket, escape);
                    self.out.anchors.push((self.out.text.len(), stop.min(*to)));
                    self.emit_replacement(*to, "", to + 1);
                }
            }
        }
        self.emit_replacement(end, ")", end);
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn t(src: &str) -> String {
        template(src, true).text
    }

    #[test]
    fn escapes_backslashes_in_expression_literals_only() {
        assert_eq!(
            t(r"a\1 {{ 'x\1' }} {% set y = '\1' %}{# '\1' #}"),
            r"a\1 {{ 'x\\1' }} {% set y = '\1' %}{# '\1' #}"
        );
        assert_eq!(t(r#"{{ 'it\'s' ~ "\\" }}"#), r#"{{ 'it\\\'s' ~ "\\\\" }}"#);
        assert_eq!(
            t(r"{% raw %}{{ '\1' }}{% endraw %}"),
            r"{% raw %}{{ '\1' }}{% endraw %}"
        );
        assert_eq!(template(r"{{ '\1' }}", false).text, r"{{ '\1' }}");
    }

    #[test]
    fn rewrites_chains_before_default_and_defined() {
        assert_eq!(
            t("{{ a.b | default(1) }}"),
            "{{ __clearfleet_get('a', 'b') | default(1) }}"
        );
        assert_eq!(
            t("{{ a.b[c.d].0|d(1) }}"),
            "{{ __clearfleet_get('a', 'b', c.d, 0)|d(1) }}"
        );
        assert_eq!(
            expression(
                "a['x'].y is not defined and z.w is undefined",
                Consts::LookupTerms
            )
            .text,
            "__clearfleet_get('a', 'x', 'y') is not defined and __clearfleet_get('z', 'w') is undefined"
        );
        assert_eq!(
            t("{% if a.b is defined %}{{ a.b }}{% endif %}"),
            "{% if __clearfleet_get('a', 'b') is defined %}{{ a.b }}{% endif %}"
        );
        // Untouched: no default/defined after the chain, method calls, filters on the chain.
        for same in [
            "{{ a.b }}",
            "{{ a.b() | default(1) }}",
            "{{ a.b | lower | default(1) }}",
            "{{ a | default(1) }}",
            "{{ f(x).y | default(1) }}",
            "{% set ns.x = 1 %}",
            "{{ 'a.b' | default(1) }}",
        ] {
            assert_eq!(t(same), same);
        }
    }

    #[test]
    fn rewrites_percent_formatting_and_namespaces() {
        assert_eq!(
            t("{{ '%s:%s' % (h, p) }}"),
            "{{ __clearfleet_pyformat('%s:%s', (h, p)) }}"
        );
        assert_eq!(
            t("{{ 'v=%d' % x.y | int ~ '!' }}"),
            "{{ __clearfleet_pyformat('v=%d', x.y | int) ~ '!' }}"
        );
        assert_eq!(t("{% if 'a' %}{% endif %}"), "{% if 'a' %}{% endif %}");
        assert_eq!(
            t("{{ x | ansible.builtin.to_json }}{{ x is ansible.legacy.defined }}"),
            "{{ x | to_json }}{{ x is defined }}"
        );
        assert_eq!(t("{{ 10 % 3 }}"), "{{ 10 % 3 }}");
    }

    #[test]
    fn wraps_template_constants_of_lookup_terms_only_in_templates() {
        let f = CONST_TEMPLATE_FN;
        assert_eq!(
            t("{{ lookup('pipe', 'echo {{ x }}') }}"),
            format!("{{{{ lookup('pipe', {f}('echo {{{{ x }}}}', true)) }}}}")
        );
        assert_eq!(
            t("{% set y = q('list', ['{{ a }}', 'b'], {'k': '{{ a }}'}) %}"),
            format!(
                "{{% set y = q('list', [{f}('{{{{ a }}}}', true), 'b'], {{'k': {f}('{{{{ a }}}}', true)}}) %}}"
            )
        );
        // Not: the plugin's name, keyword arguments, what an operator or filter makes of a
        // constant, another function's arguments, a method called `lookup`.
        for same in [
            "{{ lookup('{{ p }}') }}",
            "{{ lookup('env', 'X', default='{{ a }}') }}",
            "{{ lookup('list', 'a' ~ '{{ b }}', '{{ c }}' | upper) }}",
            "{{ joiner('{{ a }}') }}",
            "{{ x.lookup('a', '{{ b }}') }}",
            "{{ 'a{{ b }}' }}",
        ] {
            assert_eq!(t(same), same);
        }
        // Backslashes escaped inside, as for any literal of a field's `{{ }}`.
        assert_eq!(
            t(r"{{ lookup('pipe', '{{ a }}\1') }}"),
            format!(r"{{{{ lookup('pipe', {f}('{{{{ a }}}}\\1', true)) }}}}")
        );
    }

    #[test]
    fn wraps_every_template_constant_of_a_conditional_expression() {
        let f = CONST_TEMPLATE_FN;
        let all = |src: &str| expression(src, Consts::All).text;
        assert_eq!(
            all(r#""dude" == "du{{'de'}}""#),
            format!(r#""dude" == {f}("du{{{{'de'}}}}")"#)
        );
        assert_eq!(
            all("dict({'k': '{{ a }}'}) and joiner('{% if b %}')"),
            format!("dict({{'k': {f}('{{{{ a }}}}')}}) and joiner({f}('{{% if b %}}'))")
        );
        assert_eq!(
            all("'#jinja2:x' == 'a{#'"),
            format!("{f}('#jinja2:x') == {f}('a{{#')")
        );
        assert_eq!(all("'{ {' == 'x'"), "'{ {' == 'x'");
        // A lookup's term in a condition fails on an undefined variable, as the lookup would.
        assert_eq!(
            all("lookup('list', '{{ a }}')"),
            format!("lookup('list', {f}('{{{{ a }}}}', true))")
        );
        // The inside of a `{{ }}` condition is a template's: only a lookup's terms.
        assert_eq!(
            expression(
                "'{{ a }}' == lookup('pipe', '{{ a }}')",
                Consts::LookupTerms
            )
            .text,
            format!("'{{{{ a }}}}' == lookup('pipe', {f}('{{{{ a }}}}', true))")
        );
        let p = expression("x and 'a{{ b }}'", Consts::All);
        let (from, to) = p.consts.first().copied().unwrap_or_default();
        assert_eq!(p.text.get(from..to), Some("'a{{ b }}'"));
    }

    #[test]
    fn maps_offsets_back() {
        let src = r"{{ '\d' }} {{ a.b | d(1) }} {{ x +* }}";
        let p = template(src, true);
        let star = p.text.find('*').unwrap_or(0);
        assert_eq!(p.original(star), src.find('*').unwrap_or(0));
        let x = p.text.find("x +").unwrap_or(0);
        assert_eq!(p.original(x), src.find("x +").unwrap_or(0));
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            "{{ '\\é' }}",
            "{{ 'é",
            "{% 'é",
            "{{ \"\\",
            "{#",
            "{",
            "{{",
            "é{{é}}é",
            "{% raw %}é",
            "{{ a[ }}",
            "{{ a[é] | d }}",
            "{{ a.é.0 is defined }}",
            "{{ a. }}",
            "{{ a.1x | d }}",
            "{{ {'a': {'b': 1}} }}",
            "{%é%}",
            "{{ a['x\\'y'].b|d }}",
        ] {
            let p = template(src, true);
            for i in 0..=p.text.len() {
                assert!(p.original(i) <= src.len() + 1, "{src}");
            }
            let _ = expression(src, Consts::All);
        }
    }
}

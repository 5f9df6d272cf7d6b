//! The Jinja2 settings a template file renders with: the `template` action's options
//! (`trim_blocks`, the delimiters, `newline_sequence`, ...) and a `#jinja2:` first line, which
//! wins over them, as ansible-core 2.19.14 reads both (plugins/action/template.py and
//! `TemplateOverrides._extract_template_overrides` in _internal/_templating/_jinja_bits.py).

use minijinja::syntax::SyntaxConfig;

use crate::preprocess::Delimiters;

/// How a template file is read and what its newlines become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSyntax {
    pub delimiters: Delimiters,
    pub line_statement_prefix: Option<String>,
    pub line_comment_prefix: Option<String>,
    /// The template action's default is on.
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    /// What every newline of the template's text becomes: `\n`, `\r` or `\r\n`.
    pub newline_sequence: String,
}

impl Default for FileSyntax {
    fn default() -> Self {
        FileSyntax {
            delimiters: Delimiters::default(),
            line_statement_prefix: None,
            line_comment_prefix: None,
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".to_owned(),
        }
    }
}

/// One setting's value: a string or a boolean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Text(String),
    Flag(bool),
}

/// The keys a `#jinja2:` line may set (`_TEMPLATE_OVERRIDE_FIELD_NAMES`).
const KEYS: &[&str] = &[
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
];

const HEADER: &str = "#jinja2:";

impl FileSyntax {
    /// Sets `key` (one of the `#jinja2:` keys) to `value`. `Err`: why not.
    pub fn set(&mut self, key: &str, value: Setting) -> Result<(), String> {
        let text = |v: Setting| match v {
            Setting::Text(s) => Ok(s),
            Setting::Flag(b) => Err(format!("{key} must be a string, not {b}")),
        };
        let flag = |v: Setting| match v {
            Setting::Flag(b) => Ok(b),
            Setting::Text(s) => Err(format!("{key} must be a boolean, not {s:?}")),
        };
        let d = &mut self.delimiters;
        match key {
            "block_start_string" => d.block.0 = text(value)?,
            "block_end_string" => d.block.1 = text(value)?,
            "variable_start_string" => d.variable.0 = text(value)?,
            "variable_end_string" => d.variable.1 = text(value)?,
            "comment_start_string" => d.comment.0 = text(value)?,
            "comment_end_string" => d.comment.1 = text(value)?,
            "line_statement_prefix" => self.line_statement_prefix = Some(text(value)?),
            "line_comment_prefix" => self.line_comment_prefix = Some(text(value)?),
            "trim_blocks" => self.trim_blocks = flag(value)?,
            "lstrip_blocks" => self.lstrip_blocks = flag(value)?,
            "newline_sequence" => {
                let seq = text(value)?;
                if !["\n", "\r", "\r\n"].contains(&seq.as_str()) {
                    return Err("newline_sequence needs to be one of: \n, \r or \r\n".into());
                }
                self.newline_sequence = seq;
            }
            // Trailing newlines are always kept (Ansible's default); turning that off is not
            // supported.
            "keep_trailing_newline" => {
                if !flag(value)? {
                    return Err(
                        "keep_trailing_newline: false is not supported by clearfleet".into(),
                    );
                }
            }
            _ => return Err(format!("Invalid '{HEADER}' override key '{key}'.")),
        }
        Ok(())
    }

    /// `source` without its `#jinja2:` first line, and the settings that line gives over
    /// `self`. `Err`: Ansible's message for a malformed line.
    pub fn with_header<'s>(&self, source: &'s str) -> Result<(FileSyntax, &'s str), String> {
        let Some(rest) = source.strip_prefix(HEADER) else {
            return Ok((self.clone(), source));
        };
        let Some(eol) = rest.find('\n') else {
            return Err(format!("Missing newline after '{HEADER}' override."));
        };
        let mut syntax = self.clone();
        for pair in rest[..eol].split(',') {
            if pair.trim().is_empty() {
                return Err(format!("Empty '{HEADER}' override pair not allowed."));
            }
            let Some((key, value)) = pair.split_once(':') else {
                return Err(format!(
                    "Missing key-value separator `:` in '{HEADER}' override pair '{pair}'."
                ));
            };
            let key = key.trim();
            if !KEYS.contains(&key) {
                return Err(format!("Invalid '{HEADER}' override key '{key}'."));
            }
            let value = literal(value.trim())
                .ok_or_else(|| format!("'{HEADER}' override {key}: not a literal: {value}"))?;
            syntax.set(key, value)?;
        }
        Ok((syntax, &rest[eol + 1..]))
    }

    /// minijinja's syntax for these settings.
    pub(crate) fn syntax_config(&self) -> Result<SyntaxConfig, minijinja::Error> {
        let d = &self.delimiters;
        let mut b = SyntaxConfig::builder();
        b.block_delimiters(d.block.0.clone(), d.block.1.clone())
            .variable_delimiters(d.variable.0.clone(), d.variable.1.clone())
            .comment_delimiters(d.comment.0.clone(), d.comment.1.clone())
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks);
        if let Some(p) = &self.line_statement_prefix {
            b.line_statement_prefix(p.clone());
        }
        if let Some(p) = &self.line_comment_prefix {
            b.line_comment_prefix(p.clone());
        }
        b.build()
    }

    /// `text` with every newline (`\r\n`, `\r`, `\n`) as [`FileSyntax::newline_sequence`].
    pub(crate) fn newlines<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.newline_sequence == "\n" && !text.contains('\r') {
            return text.into();
        }
        let mut out = String::with_capacity(text.len() + text.len() / 16);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    out.push_str(&self.newline_sequence);
                }
                '\n' => out.push_str(&self.newline_sequence),
                c => out.push(c),
            }
        }
        out.into()
    }
}

/// A Python literal as `ast.literal_eval` reads the ones a `#jinja2:` line holds: a quoted
/// string (with `\n`, `\r`, `\t`, `\\` and quote escapes) or `True`/`False`.
fn literal(v: &str) -> Option<Setting> {
    match v {
        "True" => return Some(Setting::Flag(true)),
        "False" => return Some(Setting::Flag(false)),
        _ => {}
    }
    let quote = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = v.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            c @ ('\\' | '\'' | '"') => out.push(c),
            c => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    Some(Setting::Text(out))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_header_line_overrides_and_is_removed() {
        let base = FileSyntax::default();
        let (s, rest) = base
            .with_header("#jinja2: line_statement_prefix:\":\", lstrip_blocks: True\n: if x\n")
            .expect("header");
        assert_eq!(rest, ": if x\n");
        assert_eq!(s.line_statement_prefix.as_deref(), Some(":"));
        assert!(s.lstrip_blocks && s.trim_blocks);
        assert_eq!(
            base.with_header("#jinja2: lstrip_blocks=True\nx")
                .err()
                .as_deref(),
            Some(
                "Missing key-value separator `:` in '#jinja2:' override pair ' lstrip_blocks=True'."
            )
        );
        assert!(base.with_header("#jinja2: trim_blocks: False").is_err());
        assert!(base.with_header("#jinja2: nope: True\n").is_err());
        assert!(base.with_header("#jinja2: a: True,,\n").is_err());
        assert_eq!(
            base.with_header("no header\n").map(|(_, r)| r),
            Ok("no header\n")
        );
    }

    #[test]
    fn newlines_become_the_sequence() {
        let dos = FileSyntax {
            newline_sequence: "\r\n".into(),
            ..FileSyntax::default()
        };
        assert_eq!(dos.newlines("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(FileSyntax::default().newlines("a\r\nb\n"), "a\nb\n");
    }
}

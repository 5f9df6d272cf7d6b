//! Python's `re` where the modules that port Ansible's Python need it (`lineinfile`,
//! `blockinfile`, `replace`): patterns, `match.expand()` templates, `re.subn`'s way of finding
//! matches, `readlines()`. One copy, so the three modules agree.
//!
//! A pattern goes to the `regex` crate (bytes, any text); one it refuses for what only
//! Python's engine has (backreferences in the pattern, look-around: `^(REF) .* \1$`) goes to
//! `fancy-regex`, which matches UTF-8 text only: on text that is not UTF-8 such a pattern
//! matches nothing. `\Z` is mapped to `\z`.

use std::ops::Range;

use regex::bytes::Regex;

use super::args::ArgError;

/// A compiled Python pattern.
#[derive(Debug, Clone)]
pub enum Pattern {
    Plain(Regex),
    /// Backreferences or look-around: `fancy-regex`.
    Fancy(Box<fancy_regex::Regex>),
}

/// One match's groups, whichever engine found them.
pub enum Groups<'t> {
    Plain(regex::bytes::Captures<'t>),
    Fancy(fancy_regex::Captures<'t, [u8]>),
}

impl Groups<'_> {
    /// Where group `i` matched (0: the whole match).
    pub fn range(&self, i: usize) -> Option<Range<usize>> {
        match self {
            Groups::Plain(c) => c.get(i).map(|m| m.range()),
            Groups::Fancy(c) => c.get(i).map(|m| m.range()),
        }
    }

    /// Where the named group matched.
    pub fn name_range(&self, name: &str) -> Option<Range<usize>> {
        match self {
            Groups::Plain(c) => c.name(name).map(|m| m.range()),
            Groups::Fancy(c) => c.name(name).map(|m| m.range()),
        }
    }

    /// Appends `template` (the `regex` crate's `$` syntax, see [`python_template`]) with the
    /// groups put in.
    pub fn expand(&self, template: &str, out: &mut Vec<u8>) {
        match self {
            Groups::Plain(c) => c.expand(template.as_bytes(), out),
            Groups::Fancy(c) => expand_groups(template, out, |group| {
                match group.parse::<usize>() {
                    Ok(i) => c.get(i),
                    Err(_) => c.name(group),
                }
                .map(|m| m.as_bytes())
            }),
        }
    }
}

impl Pattern {
    /// Whether the pattern matches somewhere in `text` (Python's `re.search`).
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.captures_at(text, 0).is_some()
    }

    /// Whether the pattern matches at the start of `text` (Python's `re.match`): a search
    /// finds the leftmost match, which starts at 0 when one does.
    pub fn matches_at_start(&self, text: &[u8]) -> bool {
        self.captures_at(text, 0)
            .and_then(|g| g.range(0))
            .is_some_and(|m| m.start == 0)
    }

    /// Where the first match is.
    pub fn find(&self, text: &[u8]) -> Option<Range<usize>> {
        match self {
            Pattern::Plain(re) => re.find(text).map(|m| m.range()),
            Pattern::Fancy(_) => self.captures_at(text, 0).and_then(|g| g.range(0)),
        }
    }

    /// The first match at or after byte `pos`, with its groups.
    pub fn captures_at<'t>(&self, text: &'t [u8], pos: usize) -> Option<Groups<'t>> {
        match self {
            Pattern::Plain(re) => re.captures_at(text, pos).map(Groups::Plain),
            Pattern::Fancy(re) => re
                .captures_from_pos(text, pos)
                .ok()
                .flatten()
                .map(Groups::Fancy),
        }
    }
}

/// The `regex` crate's expansion of `template` (`$$`, `${group}`, `$group` with the longest
/// name), with `group` giving what a group matched (nothing for one that did not take part).
fn expand_groups<'t>(template: &str, out: &mut Vec<u8>, group: impl Fn(&str) -> Option<&'t [u8]>) {
    let t = template.as_bytes();
    let mut i = 0;
    while i < t.len() {
        if t[i] != b'$' {
            out.push(t[i]);
            i += 1;
            continue;
        }
        let rest = &template[i + 1..];
        if rest.starts_with('$') {
            out.push(b'$');
            i += 2;
        } else if let Some(braced) = rest.strip_prefix('{')
            && let Some(end) = braced.find('}')
        {
            out.extend_from_slice(group(&braced[..end]).unwrap_or_default());
            i += end + 3;
        } else {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len == 0 {
                out.push(b'$');
                i += 1;
            } else {
                out.extend_from_slice(group(&rest[..len]).unwrap_or_default());
                i += 1 + len;
            }
        }
    }
}

/// Python `re` to a [`Pattern`]: `\Z` is `\z`; the `regex` crate unless the pattern needs
/// `fancy-regex`.
pub fn compile(field: &str, pattern: &str) -> Result<Pattern, ArgError> {
    let pattern = pattern.replace(r"\Z", r"\z");
    match Regex::new(&pattern) {
        Ok(re) => Ok(Pattern::Plain(re)),
        Err(plain) => match fancy_regex::Regex::new(&pattern) {
            Ok(re) => Ok(Pattern::Fancy(Box::new(re))),
            Err(_) => Err(ArgError::field(
                field,
                format!("invalid regular expression: {plain}"),
            )),
        },
    }
}

/// Whether the pattern turns on `re.MULTILINE` itself (a leading `(?m)`, `(?im)`, ...), as
/// Python's `pattern.flags & re.MULTILINE` tells.
pub fn inline_multiline(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            flags.contains('m') && flags.chars().all(|c| "aiLmsux".contains(c))
        })
}

/// Splits like Python's `readlines()`: each line keeps its `\n`.
pub fn readlines(b: &[u8]) -> Vec<Vec<u8>> {
    b.split_inclusive(|&c| c == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The line without its `\n`, for `re.search` (Python's `$` also matches before it).
pub fn search_text(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}

/// Python's `match.expand(template)` as a `regex` replacement string; an unknown escape of
/// an ASCII letter is Python's error (`bad escape \q at position 0`).
pub fn python_template(t: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut cs = t.char_indices().peekable();
    while let Some((at, c)) = cs.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match cs.peek().map(|&(_, d)| d) {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(&(_, d)) = cs.peek() {
                        if d.is_ascii_digit() && n.len() < 2 {
                            n.push(d);
                            cs.next();
                        } else {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    cs.next();
                    if cs.peek().map(|&(_, d)| d) == Some('<') {
                        cs.next();
                        let name: String = cs
                            .by_ref()
                            .map(|(_, c)| c)
                            .take_while(|&c| c != '>')
                            .collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        return Err(format!("missing < at position {}", at + 2));
                    }
                }
                Some(e @ ('n' | 't' | 'r' | 'f' | 'v' | 'a' | 'b' | '\\')) => {
                    cs.next();
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'f' => '\x0c',
                        'v' => '\x0b',
                        'a' => '\x07',
                        'b' => '\x08',
                        _ => '\\',
                    });
                }
                Some(e) if e.is_ascii_alphabetic() => {
                    return Err(format!("bad escape \\{e} at position {at}"));
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Python's `re.subn(re, template, text)`: the new text and the count. Matches are found as
/// Python 3.7+ finds them: an empty match right after a non-empty one counts too
/// (`re.sub('x*', '-', 'abxd')` is `-a-b--d-`); after an empty match the search moves on one
/// character.
pub fn subn(re: &Pattern, template: &str, text: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    let mut copied = 0;
    let mut must_advance = false;
    let mut n = 0;
    while pos <= text.len() {
        let Some(mut caps) = re.captures_at(text, pos) else {
            break;
        };
        let mut m = caps.range(0).unwrap_or(pos..pos);
        if must_advance && m.is_empty() && m.start == pos {
            let next = next_char(text, pos);
            if next > text.len() {
                break;
            }
            match re.captures_at(text, next) {
                Some(c) => {
                    caps = c;
                    m = caps.range(0).unwrap_or(next..next);
                }
                None => break,
            }
        }
        out.extend_from_slice(&text[copied..m.start]);
        caps.expand(template, &mut out);
        copied = m.end;
        n += 1;
        must_advance = m.is_empty();
        pos = m.end;
    }
    out.extend_from_slice(&text[copied..]);
    (out, n)
}

/// The position after the (UTF-8) character at `pos` (one byte for invalid UTF-8 or the end).
fn next_char(text: &[u8], pos: usize) -> usize {
    let len = match text.get(pos) {
        Some(b) if *b >= 0xf0 => 4,
        Some(b) if *b >= 0xe0 => 3,
        Some(b) if *b >= 0xc0 => 2,
        _ => 1,
    };
    (pos + len).min(text.len() + 1).max(pos + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(p: &str, t: &str, text: &str) -> (String, usize) {
        let re = compile("regexp", p).unwrap_or_else(|e| panic!("{e}"));
        let tpl = python_template(t).unwrap_or_else(|e| panic!("{e}"));
        let (out, n) = subn(&re, &tpl, text.as_bytes());
        (String::from_utf8_lossy(&out).into_owned(), n)
    }

    #[test]
    fn subn_finds_matches_as_python_does() {
        // Each expected value is CPython 3's re.subn.
        assert_eq!(sub("x*", "-", "abxd"), ("-a-b--d-".into(), 5));
        assert_eq!(sub("(?m)^", ">", "a\nb\n"), (">a\n>b\n>".into(), 3));
        assert_eq!(
            sub("(?m)^(.+)$", "\"\\1\"", "ab\ncd"),
            ("\"ab\"\n\"cd\"".into(), 2)
        );
        assert_eq!(sub(" ", "", "a b c"), ("abc".into(), 2));
        assert_eq!(sub("é*", "-", "aé"), ("-a--".into(), 3));
        assert_eq!(
            sub(r"(?P<k>\w+)=(\w+)", r"\2=\g<k> $1 \\ \g<0>", "a=b"),
            ("b=a $1 \\ a=b".into(), 1)
        );
    }

    #[test]
    fn backreferences_and_look_around_as_python() {
        // Each expected value is CPython 3's re.subn.
        assert_eq!(
            sub(r"^(REF) .* \1$", r"[\1]", "REF x REF"),
            ("[REF]".into(), 1)
        );
        assert_eq!(
            sub(r"^(REF) .* \1$", "-", "REF x FER"),
            ("REF x FER".into(), 0)
        );
        assert_eq!(sub(r"a(?=b)", "X", "ab ac"), ("Xb ac".into(), 1));
        assert_eq!(sub(r"(?<!x)y", "Z", "xy ay"), ("xy aZ".into(), 1));
        assert_eq!(
            sub(r"(?P<w>\w)(?P=w)", r"<\g<w>> $ \g<0>", "aab"),
            ("<a> $ aab".into(), 1)
        );
        // Text that is not UTF-8: fancy-regex finds no match there (Python does: a known
        // difference, in the module docs); the `regex` crate's patterns still match.
        let re = compile("regexp", r"(x)\1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(subn(&re, "${1}", b"\xff-xx-\xfe").1, 0);
        assert_eq!(subn(&re, "${1}", b"-xx-").0, b"-x-".to_vec());
        let plain = compile("regexp", r"(x)x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            subn(&plain, "${1}", b"\xff-xx-\xfe").0,
            b"\xff-x-\xfe".to_vec()
        );
        assert!(compile("regexp", r"(x").is_err());
    }

    #[test]
    fn templates_escape_like_python() {
        assert_eq!(python_template(r"a\tb\n").as_deref(), Ok("a\tb\n"));
        assert_eq!(python_template(r"\.").as_deref(), Ok("\\."));
        assert_eq!(
            python_template(r"x\q"),
            Err("bad escape \\q at position 1".to_owned())
        );
    }

    #[test]
    fn multiline_flag_from_the_pattern() {
        assert!(inline_multiline("(?m)^x"));
        assert!(inline_multiline("(?im)^x"));
        assert!(!inline_multiline("^x(?m)"));
        assert!(!inline_multiline("(?P<m>x)"));
    }
}

//! Python's `re` where the modules that port Ansible's Python need it (`lineinfile`,
//! `blockinfile`, `replace`): patterns through the `regex` crate, `match.expand()` templates,
//! `re.subn`'s way of finding matches, `readlines()`. One copy, so the three modules agree.
//!
//! Patterns are Python's as far as the `regex` crate agrees: no look-around, no
//! backreferences in patterns; `\Z` is mapped to `\z`.

use regex::bytes::Regex;

use super::args::ArgError;

/// Python `re` to the `regex` crate: `\Z` is `\z`.
pub fn compile(field: &str, pattern: &str) -> Result<Regex, ArgError> {
    Regex::new(&pattern.replace(r"\Z", r"\z"))
        .map_err(|e| ArgError::field(field, format!("invalid regular expression: {e}")))
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
pub fn subn(re: &Regex, template: &str, text: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut pos = 0;
    let mut copied = 0;
    let mut must_advance = false;
    let mut n = 0;
    while pos <= text.len() {
        let Some(mut caps) = re.captures_at(text, pos) else {
            break;
        };
        let mut m = caps.get(0).map_or(pos..pos, |m| m.range());
        if must_advance && m.is_empty() && m.start == pos {
            let next = next_char(text, pos);
            if next > text.len() {
                break;
            }
            match re.captures_at(text, next) {
                Some(c) => {
                    caps = c;
                    m = caps.get(0).map_or(next..next, |m| m.range());
                }
                None => break,
            }
        }
        out.extend_from_slice(&text[copied..m.start]);
        caps.expand(template.as_bytes(), &mut out);
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

//! Regular-expression filters with Python `re` semantics on top of the `regex` crate.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::{Captures, Regex, RegexBuilder};

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, State};

use super::{check_defined, fail, kwarg_flag, py_str, truthy};

type RegexKey = (String, bool, bool);
static REGEX_CACHE: LazyLock<Mutex<HashMap<RegexKey, Regex>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Python's `$` (without `multiline`) also matches just before a final newline; the `regex`
/// crate's does not. When the pattern has a `$` and the text ends in a newline, searches retry
/// on the text without it.
pub(crate) fn dollar_fallback<'t>(
    pattern: &str,
    multiline: bool,
    text: &'t str,
) -> Option<&'t str> {
    (!multiline && pattern.contains('$'))
        .then(|| text.strip_suffix('\n'))
        .flatten()
}

/// Compiles a Python pattern (cached); `\Z` becomes `\z`. Lookarounds and backreferences,
/// which the `regex` crate lacks, are reported as errors.
pub(crate) fn compile_regex(
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
) -> Result<Regex, Error> {
    let key = (pattern.to_owned(), ignorecase, multiline);
    if let Ok(cache) = REGEX_CACHE.lock()
        && let Some(re) = cache.get(&key)
    {
        return Ok(re.clone());
    }
    let translated = translate_pattern(pattern);
    let re = RegexBuilder::new(&translated)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression {pattern:?}: {e}")))?;
    if let Ok(mut cache) = REGEX_CACHE.lock() {
        if cache.len() > 1024 {
            cache.clear();
        }
        cache.insert(key, re.clone());
    }
    Ok(re)
}

fn translate_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push_str("\\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One piece of a Python `re.sub` replacement template.
enum ReplPart {
    Text(String),
    Group(GroupRef),
}

enum GroupRef {
    Index(usize),
    Name(String),
}

/// Parses Python's replacement syntax: `\1`..`\99`, `\g<1>`, `\g<name>`, and the escapes
/// `\n`, `\t`, `\r`, `\f`, `\v`, `\a`, `\b`, `\\`; other backslashes are kept as written.
fn parse_replacement(repl: &str) -> Result<Vec<ReplPart>, Error> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        let Some(n) = chars.next() else {
            return Err(fail("bad escape (end of pattern)"));
        };
        let group = match n {
            '0'..='9' => {
                let mut num = n.to_string();
                if let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    num.push(d);
                    chars.next();
                }
                Some(GroupRef::Index(num.parse().unwrap_or(0)))
            }
            'g' => {
                if chars.next() != Some('<') {
                    return Err(fail("missing < in group reference"));
                }
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('>') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(fail("missing >, unterminated name")),
                    }
                }
                Some(match name.parse::<usize>() {
                    Ok(i) => GroupRef::Index(i),
                    Err(_) => GroupRef::Name(name),
                })
            }
            _ => {
                match n {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    'f' => text.push('\u{c}'),
                    'v' => text.push('\u{b}'),
                    'a' => text.push('\u{7}'),
                    'b' => text.push('\u{8}'),
                    '\\' => text.push('\\'),
                    c if c.is_ascii_alphabetic() => {
                        return Err(fail(format!("bad escape \\{c} in replacement")));
                    }
                    c => {
                        text.push('\\');
                        text.push(c);
                    }
                }
                None
            }
        };
        if let Some(g) = group {
            if !text.is_empty() {
                parts.push(ReplPart::Text(std::mem::take(&mut text)));
            }
            parts.push(ReplPart::Group(g));
        }
    }
    if !text.is_empty() {
        parts.push(ReplPart::Text(text));
    }
    Ok(parts)
}

fn group_text<'h>(caps: &Captures<'h>, g: &GroupRef) -> Option<&'h str> {
    match g {
        GroupRef::Index(i) => caps.get(*i).map(|m| m.as_str()),
        GroupRef::Name(n) => caps.name(n).map(|m| m.as_str()),
    }
}

fn check_group(re: &Regex, g: &GroupRef) -> Result<(), Error> {
    let ok = match g {
        GroupRef::Index(i) => *i < re.captures_len(),
        GroupRef::Name(n) => re.capture_names().any(|x| x == Some(n.as_str())),
    };
    if ok {
        Ok(())
    } else {
        Err(fail(match g {
            GroupRef::Index(i) => format!("invalid group reference {i}"),
            GroupRef::Name(n) => format!("unknown group name '{n}'"),
        }))
    }
}

/// `regex_replace(value='', pattern='', replacement='', ignorecase=False, multiline=False,
/// count=0, mandatory_count=0)`.
pub(super) fn regex_replace(
    state: &State,
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let mandatory_count = kwargs.get::<Option<usize>>("mandatory_count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let text = py_str(value);
    let pattern = pattern.unwrap_or_default();
    let re = compile_regex(&pattern, ignorecase, multiline)?;
    let parts = parse_replacement(&replacement.unwrap_or_default())?;
    for part in &parts {
        if let ReplPart::Group(g) = part {
            check_group(&re, g)?;
        }
    }
    let mut subs = 0usize;
    let out = re.replacen(&text, count, |caps: &Captures<'_>| {
        subs += 1;
        let mut s = String::new();
        for part in &parts {
            match part {
                ReplPart::Text(t) => s.push_str(t),
                ReplPart::Group(g) => s.push_str(group_text(caps, g).unwrap_or("")),
            }
        }
        s
    });
    if mandatory_count != 0 && mandatory_count != subs {
        return Err(fail(format!(
            "'{pattern}' should match {mandatory_count} times, but matches {count} times in '{text}'"
        )));
    }
    Ok(out.into_owned())
}

/// `regex_search(value, regex, *groups, ignorecase=False, multiline=False)`: the match, or the
/// list of the named groups (`'\\1'`, `'\\g<name>'`), or None when nothing matches.
pub(super) fn regex_search(
    state: &State,
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    let ignorecase = kwarg_flag(&kwargs, "ignorecase")?;
    let multiline = kwarg_flag(&kwargs, "multiline")?;
    let mut refs = Vec::new();
    for arg in groups.iter() {
        if let Some(rest) = arg.strip_prefix("\\g") {
            let name = rest
                .strip_prefix('<')
                .and_then(|r| r.split_once('>'))
                .map(|(n, _)| n)
                .filter(|n| !n.is_empty() && !n.contains(char::is_whitespace))
                .ok_or_else(|| fail(format!("bad group reference {arg:?}")))?;
            refs.push(match name.parse::<usize>() {
                Ok(i) => GroupRef::Index(i),
                Err(_) => GroupRef::Name(name.to_owned()),
            });
        } else if let Some(rest) = arg.strip_prefix('\\') {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let i = digits
                .parse::<usize>()
                .map_err(|_| fail(format!("bad group reference {arg:?}")))?;
            refs.push(GroupRef::Index(i));
        } else {
            return Err(fail("Unknown argument"));
        }
    }
    let text = py_str(value);
    let re = compile_regex(&pattern, ignorecase, multiline)?;
    for g in &refs {
        check_group(&re, g)?;
    }
    let Some(caps) = re
        .captures(&text)
        .or_else(|| dollar_fallback(&pattern, multiline, &text).and_then(|t| re.captures(t)))
    else {
        return Ok(Value::from(()));
    };
    if refs.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    Ok(Value::from(
        refs.iter()
            .map(|g| group_text(&caps, g).map_or(Value::from(()), Value::from))
            .collect::<Vec<_>>(),
    ))
}

/// `regex_findall(value, regex, multiline=False, ignorecase=False)`: Python's `re.findall`.
pub(super) fn regex_findall(
    state: &State,
    value: &Value,
    pattern: String,
    multiline: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, value)?;
    let multiline = multiline.is_some_and(|m| truthy(&m)) || kwarg_flag(&kwargs, "multiline")?;
    let ignorecase = kwarg_flag(&kwargs, "ignorecase")?;
    kwargs.assert_all_used()?;
    let text = py_str(value);
    let re = compile_regex(&pattern, ignorecase, multiline)?;
    let groups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let get = |i: usize| Value::from(caps.get(i).map_or("", |m| m.as_str()));
        out.push(match groups {
            0 => get(0),
            1 => get(1),
            n => Value::from((1..=n).map(get).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// `regex_escape(string, re_type='python')`: Python's `re.escape`, or POSIX BRE escaping.
pub(super) fn regex_escape(
    state: &State,
    value: &Value,
    re_type: Option<String>,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let text = py_str(value);
    let special: &str = match re_type.as_deref().unwrap_or("python") {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "].[^$*\\",
        "posix_extended" => return Err(fail("Regex type (posix_extended) not yet implemented")),
        other => return Err(fail(format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

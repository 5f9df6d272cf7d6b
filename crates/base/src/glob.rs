//! The wildcard matches: `*`/`?` only (known_hosts patterns, the `setup` module's `filter`),
//! and Python's `fnmatch.fnmatchcase` with `[...]` classes (the `find` module's `patterns`).

/// `*` (any run) and `?` (one character) glob, iterative with backtracking to the last `*`.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// One piece of an `fnmatch` pattern.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Star,
    Any,
    Char(char),
    /// `[...]`: negated (`[!...]`), and its characters and ranges (`a-z`).
    Class(bool, Vec<(char, char)>),
}

/// The pieces of `pattern` as Python's `fnmatch.translate` (3.x) reads them: a `[` without a
/// closing `]` is a plain `[`; `]` first in a class (after `[` or `[!`) is a member; `-`
/// between two characters is a range (an empty one, `z-a`, matches nothing); a `-` first or
/// last is a member; `\` is a plain character.
fn tokens(pattern: &str) -> Vec<Token> {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        i += 1;
        match c {
            '*' => {
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '?' => out.push(Token::Any),
            '[' => {
                let mut j = i;
                if p.get(j) == Some(&'!') {
                    j += 1;
                }
                if p.get(j) == Some(&']') {
                    j += 1;
                }
                while j < p.len() && p[j] != ']' {
                    j += 1;
                }
                if j >= p.len() {
                    out.push(Token::Char('['));
                    continue;
                }
                let mut body = &p[i..j];
                i = j + 1;
                let negated = body.first() == Some(&'!');
                if negated {
                    body = &body[1..];
                }
                let mut items = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        items.push((body[k], body[k + 2]));
                        k += 3;
                    } else {
                        items.push((body[k], body[k]));
                        k += 1;
                    }
                }
                out.push(Token::Class(negated, items));
            }
            c => out.push(Token::Char(c)),
        }
    }
    out
}

/// Whether one token (not `*`) takes `c`.
fn takes(t: &Token, c: char) -> bool {
    match t {
        Token::Star | Token::Any => true,
        Token::Char(x) => *x == c,
        Token::Class(negated, items) => {
            items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Python's `fnmatch.fnmatch(name, pattern)` on a POSIX host (case-sensitive, as
/// `fnmatchcase`): `*`, `?`, `[abc]`, `[a-z]`, `[!x]`; the whole name must match.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let toks = tokens(pattern);
    let text: Vec<char> = name.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < toks.len() && toks[p] == Token::Star {
            star = Some((p, t));
            p += 1;
        } else if p < toks.len() && takes(&toks[p], text[t]) {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    toks[p..].iter().all(|t| *t == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn fnmatch_as_python() {
        assert!(fnmatch("*.txt", "a.txt"));
        assert!(!fnmatch("*.txt", "a.txt.bak"));
        assert!(fnmatch("?.log", "a.log"));
        assert!(fnmatch("[ab]*", "b1"));
        assert!(!fnmatch("[ab]*", "c1"));
        assert!(fnmatch("[!ab]*", "c1"));
        assert!(fnmatch("file[0-9]", "file7"));
        assert!(!fnmatch("file[0-9]", "filex"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("[!]]", "x"));
        assert!(fnmatch("[a-]", "-"));
        assert!(fnmatch("a[", "a["));
        assert!(!fnmatch("[z-a]", "m"));
        assert!(fnmatch("[\\]", "\\"));
        assert!(fnmatch("*", ".hidden"));
        assert!(fnmatch("A*", "Abc"));
        assert!(!fnmatch("a*", "Abc"));
        assert!(fnmatch("**x", "abx"));
        assert!(!fnmatch("", "a"));
        assert!(fnmatch("", ""));
    }
}

//! Python's `shlex.split` (POSIX mode), one copy for module arguments and INI inventories, so
//! both split words exactly as Ansible does (it calls Python's `shlex` for both).
//!
//! Python's rules, which this follows state for state (`Lib/shlex.py`, `read_token` with
//! `posix=True`, `whitespace_split=True`):
//! - whitespace is only space, tab, `\r` and `\n` (not every Unicode space);
//! - outside quotes a backslash takes the next character literally, a newline included
//!   (`a\<newline>b` is the one word `a<newline>b`);
//! - inside `'…'` nothing is special; inside `"…"` a backslash escapes only `"` and `\`, and is
//!   kept before anything else (`"a \$HOME"` is `a \$HOME`);
//! - with `comments`, a `#` that is not inside quotes or escaped starts a comment to the end of
//!   its line, also in the middle of a word (`a#b` is `a`);
//! - `''` is a word (an empty one); a missing closing quote or a trailing backslash is an error.

/// Why a line cannot be split; the messages are Python's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    /// A `'` or `"` was opened and never closed.
    #[error("No closing quotation")]
    NoClosingQuotation,
    /// The text ends with a backslash (inside `"…"` too).
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// A word of [`split_with_offsets`] and the byte offset in the input where it starts (its first
/// character, a quote or backslash included).
pub type Word = (String, usize);

/// `shlex.split(s, comments=comments)`.
pub fn split(s: &str, comments: bool) -> Result<Vec<String>, ShlexError> {
    Ok(split_with_offsets(s, comments)?
        .into_iter()
        .map(|(w, _)| w)
        .collect())
}

/// [`split`], each word with the byte offset where it starts (for diagnostics that point at it).
pub fn split_with_offsets(s: &str, comments: bool) -> Result<Vec<Word>, ShlexError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    // Inside a word, even an empty one (`''`): Python's `token or quoted`.
    let mut in_word = false;
    let mut start = 0;
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    out.push((std::mem::take(&mut cur), start));
                    in_word = false;
                }
            }
            '#' if comments => {
                if in_word {
                    out.push((std::mem::take(&mut cur), start));
                    in_word = false;
                }
                // Python's `readline()`: the rest of the line, its newline included.
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '\'' | '"' => {
                if !in_word {
                    in_word = true;
                    start = i;
                }
                loop {
                    let Some((_, d)) = chars.next() else {
                        return Err(ShlexError::NoClosingQuotation);
                    };
                    if d == c {
                        break;
                    }
                    if c == '"' && d == '\\' {
                        let Some((_, e)) = chars.next() else {
                            return Err(ShlexError::NoEscapedCharacter);
                        };
                        if e != '"' && e != '\\' {
                            cur.push('\\');
                        }
                        cur.push(e);
                        continue;
                    }
                    cur.push(d);
                }
            }
            '\\' => {
                if !in_word {
                    in_word = true;
                    start = i;
                }
                let Some((_, e)) = chars.next() else {
                    return Err(ShlexError::NoEscapedCharacter);
                };
                cur.push(e);
            }
            c => {
                if !in_word {
                    in_word = true;
                    start = i;
                }
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push((cur, start));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each expected value was printed by Python 3.11's `shlex.split(s, comments=…)`.
    #[test]
    fn splits_like_python() {
        type Case = (
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
        );
        // (input, comments=False, comments=True)
        const CASES: &[Case] = &[
            (r#""a \$HOME""#, &[r"a \$HOME"], &[r"a \$HOME"]),
            ("a\\\nb", &["a\nb"], &["a\nb"]),
            ("\"a\\\nb\"", &["a\\\nb"], &["a\\\nb"]),
            ("x # c", &["x", "#", "c"], &["x"]),
            ("a#b c", &["a#b", "c"], &["a"]),
            ("a # c\nd", &["a", "#", "c", "d"], &["a", "d"]),
            ("a \"#b\" c", &["a", "#b", "c"], &["a", "#b", "c"]),
            ("\\#x", &["#x"], &["#x"]),
            ("#all", &["#all"], &[]),
            (
                r#"echo 'a b' "c \"d\" \q" e\ f"#,
                &["echo", "a b", r#"c "d" \q"#, "e f"],
                &["echo", "a b", r#"c "d" \q"#, "e f"],
            ),
            ("''", &[""], &[""]),
            ("  ", &[], &[]),
            ("a\"\"b", &["ab"], &["ab"]),
            ("\"a\"'b'c", &["abc"], &["abc"]),
            (r#""\\""#, &["\\"], &["\\"]),
            (r"'\\'", &[r"\\"], &[r"\\"]),
            ("\t a \r\n b ", &["a", "b"], &["a", "b"]),
            ("a\u{b}b", &["a\u{b}b"], &["a\u{b}b"]),
            ("a\u{a0}b", &["a\u{a0}b"], &["a\u{a0}b"]),
        ];
        let owned = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        for (input, plain, commented) in CASES {
            assert_eq!(split(input, false), Ok(owned(plain)), "{input:?}");
            assert_eq!(split(input, true), Ok(owned(commented)), "{input:?} #");
        }
    }

    #[test]
    fn errors_like_python() {
        for comments in [false, true] {
            for (input, err) in [
                ("echo 'oops", ShlexError::NoClosingQuotation),
                ("echo \"oops", ShlexError::NoClosingQuotation),
                ("a\\", ShlexError::NoEscapedCharacter),
                ("\"a\\", ShlexError::NoEscapedCharacter),
            ] {
                assert_eq!(split(input, comments), Err(err), "{input:?}");
            }
        }
        assert_eq!(
            ShlexError::NoClosingQuotation.to_string(),
            "No closing quotation"
        );
    }

    #[test]
    fn offsets_point_at_word_starts() {
        assert_eq!(
            split_with_offsets("h  a='x y' \\b é=1 # c", true),
            Ok(vec![
                ("h".to_owned(), 0),
                ("a=x y".to_owned(), 3),
                ("b".to_owned(), 11),
                ("é=1".to_owned(), 14),
            ])
        );
    }
}

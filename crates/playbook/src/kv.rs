//! Ansible's free-form argument splitting (`parsing/splitter.py`: `split_args`, `join_args`,
//! `parse_kv`), ported line for line so `command: ls -l chdir=/tmp` means the same here.

use serde_json::{Map, Value};

/// The options that `command`/`shell`/`raw`/`script` take as `k=v` inside free-form text;
/// any other `k=v` stays part of the command line.
const RAW_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

fn jinja_depth(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let (o, c) = (token.matches(open).count(), token.matches(close).count());
    (depth + o).saturating_sub(c)
}

/// An unbalanced quote or Jinja block, with Ansible's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed at splitting arguments, either an unbalanced jinja2 block or quotes")]
pub struct SplitError;

/// Splits on spaces, keeping quoted strings and Jinja blocks together (Ansible's
/// `split_args`). Errors on an unbalanced quote or Jinja block, with Ansible's message.
pub fn split_args(args: &str) -> Result<Vec<String>, SplitError> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0usize, 0usize, 0usize);
    let lines: Vec<&str> = args.split('\n').collect();
    for (line_idx, line) in lines.iter().enumerate() {
        let mut continuation = false;
        for (idx, token) in line.split(' ').enumerate() {
            if token.is_empty() && idx != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                if let Some(last) = params.last_mut() {
                    last.push(' ');
                }
                continue;
            }
            if token == "\\" && quote.is_none() {
                continuation = true;
                continue;
            }
            let was_inside = quote.is_some();
            quote = quote_state(token, quote);
            let inside = quote.is_some();
            let in_jinja = print > 0 || block > 0 || comment > 0;
            let mut appended = false;
            if inside && !was_inside && !in_jinja {
                params.push(token.to_owned());
                appended = true;
            } else if in_jinja || inside || was_inside {
                if params.is_empty() {
                    params.push(String::new());
                }
                if let Some(last) = params.last_mut() {
                    if idx > 0 {
                        last.push(' ');
                    }
                    last.push_str(token);
                }
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = jinja_depth(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_owned());
                    appended = true;
                }
            }
            if print == 0 && block == 0 && comment == 0 && !inside && !appended && !token.is_empty()
            {
                params.push(token.to_owned());
            }
        }
        if lines.len() > 1 && line_idx != lines.len() - 1 && !continuation {
            if params.is_empty() {
                params.push(String::new());
            }
            if let Some(last) = params.last_mut() {
                last.push('\n');
            }
        }
    }
    if print > 0 || block > 0 || comment > 0 || quote.is_some() {
        return Err(SplitError);
    }
    Ok(params)
}

/// Joins what [`split_args`] split, keeping newlines (Ansible's `join_args`).
pub fn join_args(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[0] == b[b.len() - 1] {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Python's `unicode-escape` decoding of the sequences Ansible's `_decode_escapes` matches:
/// `\\ \' \" \a \b \f \n \r \t \v`, `\xHH`, `\uHHHH`, `\UHHHHHHHH` (`\N{name}` is kept).
fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let next = chars[i + 1];
        let simple = match next {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(d) = simple {
            out.push(d);
            i += 2;
            continue;
        }
        let width = match next {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        let hex: String = chars.iter().skip(i + 2).take(width).collect();
        let decoded =
            (width > 0 && hex.len() == width && hex.chars().all(|h| h.is_ascii_hexdigit()))
                .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
                .flatten();
        match decoded {
            Some(d) => {
                out.push(d);
                i += 2 + width;
            }
            None => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Ansible's `parse_kv`: `k=v` pairs become options and everything else `_raw_params`.
/// With `check_raw` (the free-form modules) only `chdir`, `creates`, `removes` and the like are taken as options.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<Map<String, Value>, SplitError> {
    let mut options = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        // Ansible looks for `k=v` in the token with its escapes (`\n`, `\t`, `\xHH`...)
        // decoded; a free-form part keeps the token as written.
        let token = decode_escapes(&orig);
        // The first `=` not preceded by a backslash (and not at position 0).
        let eq = token
            .char_indices()
            .skip(1)
            .find(|&(i, c)| c == '=' && !token[..i].ends_with('\\'))
            .map(|(i, _)| i);
        match eq {
            None if token.contains('=') => raw.push(token.replace("\\=", "=")),
            None => raw.push(orig),
            Some(pos) => {
                let (k, v) = (&token[..pos], &token[pos + 1..]);
                if check_raw && !RAW_OPTIONS.contains(&k) {
                    raw.push(orig.clone());
                } else {
                    options.insert(
                        k.trim().to_owned(),
                        Value::String(unquote(v.trim()).to_owned()),
                    );
                }
            }
        }
    }
    if !raw.is_empty() {
        options.insert("_raw_params".to_owned(), Value::String(join_args(&raw)));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(s: &str, raw: bool) -> Value {
        Value::Object(parse_kv(s, raw).unwrap_or_default())
    }

    #[test]
    fn free_form_command_with_options() {
        assert_eq!(
            kv("ls -l chdir=/tmp creates=\"/x y\"", true),
            json!({"chdir": "/tmp", "creates": "/x y", "_raw_params": "ls -l"})
        );
        assert_eq!(
            kv("echo a=b {{ x | default('a b') }}", true),
            json!({"_raw_params": "echo a=b {{ x | default('a b') }}"})
        );
        assert_eq!(
            kv("echo 'a  b'", true),
            json!({"_raw_params": "echo 'a  b'"})
        );
        assert_eq!(
            kv("src=a.txt dest=/tmp/a.txt mode=0644", false),
            json!({"src": "a.txt", "dest": "/tmp/a.txt", "mode": "0644"})
        );
    }

    #[test]
    fn escapes_are_decoded_in_options_as_ansible_does() {
        assert_eq!(
            kv(r#"content="yes\n" dest=/x"#, false),
            json!({"content": "yes\n", "dest": "/x"})
        );
        assert_eq!(
            kv(r"content=a\tb\x41\u00e9\\ dest=/x", false),
            json!({"content": "a\tbA\u{e9}\\", "dest": "/x"})
        );
        // Free-form text is kept as written.
        assert_eq!(
            kv(r"printf 'a\nb'", true),
            json!({"_raw_params": r"printf 'a\nb'"})
        );
    }

    #[test]
    fn multi_line_keeps_newlines() {
        assert_eq!(
            kv("set -e\necho hi\n", true),
            json!({"_raw_params": "set -e\necho hi\n"})
        );
    }

    #[test]
    fn unbalanced_is_an_error() {
        assert!(parse_kv("echo {{ x", true).is_err());
        assert!(parse_kv("echo 'x", true).is_err());
    }
}

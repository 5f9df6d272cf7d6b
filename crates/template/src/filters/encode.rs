//! Encodings, paths, quoting and hashes: `b64encode`, `basename`, `expanduser`, `quote`, `hash`,
//! ...

use base64::Engine as _;

use minijinja::value::Value;
use minijinja::{Error, State};

use super::{check_defined, fail, py_str};

pub(super) fn b64encode(
    state: &State,
    value: &Value,
    encoding: Option<String>,
) -> Result<String, Error> {
    let text = b64_input(state, value, encoding)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

pub(super) fn b64decode(
    state: &State,
    value: &Value,
    encoding: Option<String>,
) -> Result<String, Error> {
    // Python's b64decode drops characters outside the alphabet before decoding.
    let cleaned: String = b64_input(state, value, encoding)?
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| fail(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| fail("b64decode: the decoded bytes are not valid UTF-8"))
}

/// The text of a `b64encode`/`b64decode` input, once the value and `encoding` are checked.
fn b64_input(state: &State, value: &Value, encoding: Option<String>) -> Result<String, Error> {
    check_defined(state, value)?;
    check_encoding(encoding.as_deref())?;
    Ok(py_str(value))
}

fn check_encoding(encoding: Option<&str>) -> Result<(), Error> {
    match encoding.map(|e| e.to_lowercase().replace('_', "-")) {
        None => Ok(()),
        Some(e) if e == "utf-8" || e == "utf8" => Ok(()),
        Some(e) => Err(fail(format!(
            "encoding {e:?} is not supported (only utf-8)"
        ))),
    }
}

/// Python's `posixpath.basename`.
pub(super) fn basename(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    let p = py_str(value);
    Ok(p.rfind('/').map_or(p.clone(), |i| p[i + 1..].to_owned()))
}

/// Python's `posixpath.dirname`.
pub(super) fn dirname(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    let p = py_str(value);
    let head = p.rfind('/').map_or("", |i| &p[..=i]);
    if !head.is_empty() && !head.chars().all(|c| c == '/') {
        Ok(head.trim_end_matches('/').to_owned())
    } else {
        Ok(head.to_owned())
    }
}

/// Python's `posixpath.expanduser`, on the controller (where filters run): `~` is `$HOME` (the
/// passwd entry of the controller's user without it), `~name` that user's home from
/// `/etc/passwd`; an unknown user, or no leading `~`, leaves the path as it is.
pub(super) fn expanduser(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    let p = py_str(value);
    if !p.starts_with('~') {
        return Ok(p);
    }
    let end = p[1..].find('/').map_or(p.len(), |i| i + 1);
    let home = if end == 1 {
        std::env::var("HOME").ok().or_else(|| {
            use std::os::unix::fs::MetadataExt as _;
            let uid = std::fs::metadata("/proc/self").ok()?.uid();
            passwd_home(|fields| fields.get(2) == Some(&uid.to_string().as_str()))
        })
    } else {
        passwd_home(|fields| fields.first() == Some(&&p[1..end]))
    };
    let Some(home) = home else {
        return Ok(p);
    };
    let joined = format!("{}{}", home.trim_end_matches('/'), &p[end..]);
    Ok(if joined.is_empty() {
        "/".into()
    } else {
        joined
    })
}

/// The home directory (6th field) of the first `/etc/passwd` entry whose fields match.
fn passwd_home(matches: impl Fn(&[&str]) -> bool) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && matches(f))
        .map(|f| f[5].to_owned())
}

/// Python's `os.path.realpath` (not strict), on the controller: relative to the working
/// directory, symbolic links resolved component by component, `.` and `..` folded; what does
/// not exist is kept as written; a link loop (40 links) stops resolving.
pub(super) fn realpath(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    let p = py_str(value);
    let abs = if p.starts_with('/') {
        p
    } else {
        let cwd = std::env::current_dir().map_err(|e| fail(format!("realpath: {e}")))?;
        format!("{}/{p}", cwd.display())
    };
    let mut todo: Vec<String> = abs.split('/').rev().map(str::to_owned).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let mut candidate = String::new();
        for d in done.iter().chain([&part]) {
            candidate.push('/');
            candidate.push_str(d);
        }
        match std::fs::read_link(&candidate) {
            Ok(target) if links < 40 => {
                links += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(target.split('/').rev().map(str::to_owned));
            }
            _ => done.push(part),
        }
    }
    Ok(format!("/{}", done.join("/")))
}

/// Python's `posixpath.splitext`, as a two-item list.
pub(super) fn splitext(state: &State, value: &Value) -> Result<Vec<String>, Error> {
    check_defined(state, value)?;
    let p = py_str(value);
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[name_start..];
    // Leading dots of the file name do not start an extension.
    let lead = name.len() - name.trim_start_matches('.').len();
    match name.rfind('.') {
        Some(dot) if dot > lead => {
            let at = name_start + dot;
            Ok(vec![p[..at].to_owned(), p[at..].to_owned()])
        }
        _ => Ok(vec![p.clone(), String::new()]),
    }
}

/// `quote(a)`: Python's `shlex.quote`, byte for byte; None quotes as `''`.
pub(super) fn quote(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    if value.is_none() {
        return Ok(clearfleet_base::shell::quote(""));
    }
    Ok(clearfleet_base::shell::quote(&py_str(value)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `hash(data, hashtype='sha1')` with md5, sha1, sha224, sha256, sha384 and sha512.
pub(super) fn hash(
    state: &State,
    value: &Value,
    hashtype: Option<String>,
) -> Result<String, Error> {
    use sha2::Digest as _;
    check_defined(state, value)?;
    let data = py_str(value);
    let data = data.as_bytes();
    Ok(match hashtype.as_deref().unwrap_or("sha1") {
        "md5" => format!("{:x}", md5::compute(data)),
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => return Err(fail(format!("unsupported hash type {other}"))),
    })
}

/// `checksum(data)`: sha1 of the text.
pub(super) fn checksum(state: &State, value: &Value) -> Result<String, Error> {
    hash(state, value, None)
}

/// Jinja's `center(width=80)`: Python's `str.center`.
pub(super) fn center(state: &State, value: &Value, width: Option<usize>) -> Result<String, Error> {
    check_defined(state, value)?;
    let s = py_str(value);
    let width = width.unwrap_or(80).min(100_000);
    let len = s.chars().count();
    if len >= width {
        return Ok(s);
    }
    let total = width - len;
    // Python puts the odd space on the right unless both the string length and padding are odd.
    let left = total / 2 + (total & width & 1);
    Ok(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(total - left)
    ))
}

/// Jinja's `wordcount`: the number of `\w+` runs.
pub(super) fn wordcount(state: &State, value: &Value) -> Result<usize, Error> {
    check_defined(state, value)?;
    let s = py_str(value);
    let mut count = 0;
    let mut in_word = false;
    for c in s.chars() {
        let word = c.is_alphanumeric() || c == '_';
        if word && !in_word {
            count += 1;
        }
        in_word = word;
    }
    Ok(count)
}

fn url_quote(s: &str, safe: &str, plus: bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' if plus => out.push('+'),
            b if b.is_ascii_alphanumeric()
                || b"_.-~".contains(&b)
                || safe.as_bytes().contains(&b) =>
            {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Jinja's `urlencode`: a string is quoted keeping `/`; a dict or list of pairs becomes a query.
pub(super) fn urlencode(state: &State, value: &Value) -> Result<String, Error> {
    check_defined(state, value)?;
    if let Some(s) = value.as_str() {
        return Ok(url_quote(s, "/", false));
    }
    let pairs: Vec<(Value, Value)> = if value.kind() == minijinja::value::ValueKind::Map {
        value
            .try_iter()?
            .map(|k| {
                let v = value.get_item(&k).unwrap_or_default();
                (k, v)
            })
            .collect()
    } else if value.kind() == minijinja::value::ValueKind::Seq {
        let mut out = Vec::new();
        for pair in value.try_iter()? {
            out.push((pair.get_item_by_index(0)?, pair.get_item_by_index(1)?));
        }
        out
    } else {
        return Ok(url_quote(&py_str(value), "/", false));
    };
    Ok(pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                url_quote(&py_str(k), "", true),
                url_quote(&py_str(v), "", true)
            )
        })
        .collect::<Vec<_>>()
        .join("&"))
}

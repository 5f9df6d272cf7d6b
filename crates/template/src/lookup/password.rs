//! The `password` lookup with its file semantics (ansible-core 2.19's `password.py`): the
//! file named by the term (relative to the playbook's directory) holds the password; when it
//! does not exist one is generated and written there (directory 0700, file 0600, with a
//! trailing newline), so later runs read the same password. `/dev/null` always gives a new
//! one and writes nothing. Options: `length` (20), `chars` (`ascii_letters,digits,.,:-_`
//! style: names of Python's `string` constants or literal characters, `,,` for a comma),
//! `seed` (the same password as Ansible's `random.Random(seed)`). `encrypt`, `ident` and
//! `salt` are refused.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use minijinja::Error;
use minijinja::value::Value;

use super::{Call, fail, term_str};

const ASCII_LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const ASCII_UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// Python's `string` module constant `name`, if it is one.
fn string_constant(name: &str) -> Option<String> {
    Some(match name {
        "ascii_letters" => format!("{ASCII_LOWER}{ASCII_UPPER}"),
        "ascii_lowercase" => ASCII_LOWER.to_owned(),
        "ascii_uppercase" => ASCII_UPPER.to_owned(),
        "digits" => DIGITS.to_owned(),
        "hexdigits" => "0123456789abcdefABCDEF".to_owned(),
        "octdigits" => "01234567".to_owned(),
        "punctuation" => PUNCTUATION.to_owned(),
        "whitespace" => " \t\n\r\x0b\x0c".to_owned(),
        "printable" => format!("{DIGITS}{ASCII_LOWER}{ASCII_UPPER}{PUNCTUATION} \t\n\r\x0b\x0c"),
        _ => return None,
    })
}

/// Ansible's `_gen_candidate_chars`: each spec expanded, quotes removed.
fn candidate_chars(specs: &[String]) -> String {
    specs
        .iter()
        .map(|s| string_constant(s).unwrap_or_else(|| s.clone()))
        .collect::<String>()
        .replace(['"', '\''], "")
}

/// A `chars` option: a list as it is; a string split on `,` (`,,` is a comma).
fn chars_specs(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    if v.contains(",,") {
        out.push(",".to_owned());
    }
    out.extend(
        v.replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    );
    out
}

struct Params {
    path: String,
    length: usize,
    chars: Vec<String>,
    seed: Option<Value>,
}

fn params(call: &Call, term: &str) -> Result<Params, Error> {
    let mut p = Params {
        path: String::new(),
        length: 20,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
    };
    let mut set = |k: &str, v: Value| -> Result<(), Error> {
        match k {
            "length" => {
                p.length = crate::filters::py_str(&v)
                    .trim()
                    .parse()
                    .map_err(|_| fail(format!("Invalid value for password length: {v}")))?;
            }
            "chars" => {
                p.chars = match v.as_str() {
                    Some(s) => chars_specs(s),
                    None => v.try_iter()?.map(|c| crate::filters::py_str(&c)).collect(),
                };
            }
            "seed" => p.seed = Some(v),
            "encrypt" | "ident" | "salt" => {
                return Err(fail(format!(
                    "the password lookup's `{k}` is not supported by clearfleet"
                )));
            }
            other => {
                return Err(fail(format!(
                    "Unrecognized parameter(s) given to password lookup: {other}"
                )));
            }
        }
        Ok(())
    };
    for k in ["length", "chars", "seed", "encrypt", "ident", "salt"] {
        if let Some(v) = call.kwarg(k)? {
            set(k, v)?;
        }
    }
    let mut words = term.splitn(2, ' ');
    p.path = words.next().unwrap_or_default().to_owned();
    for w in words.next().unwrap_or_default().split_whitespace() {
        match w.split_once('=') {
            Some((k, v)) => set(k, Value::from(v))?,
            None => {
                return Err(fail(
                    "Unrecognized value after key=value parameters given to password lookup",
                ));
            }
        }
    }
    Ok(p)
}

/// Ansible's `_parse_content`: the password is what comes before ` salt=`.
fn stored_password(content: &str) -> &str {
    content.rfind(" salt=").map_or(content, |i| &content[..i])
}

fn generate(p: &Params) -> Result<String, Error> {
    let pool: Vec<char> = candidate_chars(&p.chars).chars().collect();
    if pool.is_empty() {
        return Err(fail("the password lookup has no characters to choose from"));
    }
    match &p.seed {
        Some(seed) => {
            let mut mt = crate::filters::random::seeded(seed);
            Ok((0..p.length)
                .map(|_| {
                    let i = usize::try_from(mt.below(pool.len() as u64)).unwrap_or(0);
                    pool.get(i).copied().unwrap_or_default()
                })
                .collect())
        }
        None => clearfleet_base::random::chars_from(&pool, p.length)
            .map_err(|e| fail(format!("no random source: {e}"))),
    }
}

/// Writes a new password file: its directory created 0700, the file 0600.
fn write_file(path: &Path, password: &str) -> Result<(), Error> {
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let err = |e: std::io::Error| fail(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.write_all(format!("{password}\n").as_bytes()).map_err(err)
}

pub(crate) fn password(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    terms
        .iter()
        .map(|t| {
            let p = params(call, &term_str(t)?)?;
            let path = {
                let raw = PathBuf::from(&p.path);
                if raw.is_absolute() {
                    raw
                } else {
                    call.basedir().join(raw)
                }
            };
            if path == Path::new("/dev/null") {
                return generate(&p).map(Value::from);
            }
            match std::fs::read_to_string(&path) {
                Ok(content) => Ok(Value::from(stored_password(content.trim_end()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let pw = generate(&p)?;
                    write_file(&path, &pw)?;
                    Ok(Value::from(pw))
                }
                Err(e) => Err(fail(format!("{}: {e}", path.display()))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_as_ansible_expands_them() {
        assert_eq!(candidate_chars(&chars_specs("digits,ab")), "0123456789ab");
        assert_eq!(candidate_chars(&chars_specs(",,,x")), ",x");
        assert_eq!(stored_password("s3cret salt=abc"), "s3cret");
        assert_eq!(stored_password("plain"), "plain");
    }
}

//! The `password` lookup with its file semantics (ansible-core 2.19's `password.py`): the
//! file named by the term (relative to the playbook's directory) holds the password; when it
//! does not exist one is generated and written there (directory 0700, file 0600, with a
//! trailing newline), so later runs read the same password. `/dev/null` always gives a new
//! one and writes nothing. Options: `length` (20), `chars` (`ascii_letters,digits,.,:-_`
//! style: names of Python's `string` constants or literal characters, `,,` for a comma),
//! `seed` (the same password as Ansible's `random.Random(seed)`), `encrypt` (a passlib name:
//! the file keeps `<password> salt=<salt>[ ident=<ident>]` and the lookup gives the password
//! hashed with that salt, `LookupModule.run`, `_parse_content`, `_format_content`), `ident`.

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
    /// A passlib algorithm name; empty is none.
    encrypt: String,
    ident: String,
}

fn params(call: &Call, term: &str) -> Result<Params, Error> {
    let mut p = Params {
        path: String::new(),
        length: 20,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
        encrypt: String::new(),
        ident: String::new(),
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
            "encrypt" => p.encrypt = option_text(&v),
            "ident" => p.ident = option_text(&v),
            other => {
                return Err(fail(format!(
                    "Unrecognized parameter(s) given to password lookup: {other}"
                )));
            }
        }
        Ok(())
    };
    for k in ["length", "chars", "seed", "encrypt", "ident"] {
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

/// A string option's text; `None` is empty (as Python's falsy checks read it).
fn option_text(v: &Value) -> String {
    match v.is_none() || v.is_undefined() {
        true => String::new(),
        false => crate::filters::py_str(v),
    }
}

/// What a password file holds (Ansible's `_parse_content`): the password, then after the last
/// ` salt=` the salt, then after the last ` ident=` in that the ident.
#[derive(Debug, PartialEq, Eq)]
struct Stored<'a> {
    password: &'a str,
    salt: &'a str,
    ident: &'a str,
}

fn parse_content(content: &str) -> Stored<'_> {
    let (password, rem) = match content.rfind(" salt=") {
        Some(i) => (&content[..i], &content[i + " salt=".len()..]),
        None => (content, ""),
    };
    let (salt, ident) = match rem.rfind(" ident=") {
        Some(i) => (&rem[..i], &rem[i + " ident=".len()..]),
        None => (rem, ""),
    };
    Stored {
        password,
        salt,
        ident,
    }
}

/// Ansible's `_format_content`: the password alone, or with its salt (and ident) when it is to
/// be hashed.
fn format_content(password: &str, salt: &str, ident: &str) -> String {
    match (salt.is_empty(), ident.is_empty()) {
        (true, _) => password.to_owned(),
        (false, true) => format!("{password} salt={salt}"),
        (false, false) => format!("{password} salt={salt} ident={ident}"),
    }
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

/// One term: the file's password (generated and written when there is none), hashed when
/// `encrypt` is given (Ansible's `LookupModule.run`).
fn one(call: &Call, term: &Value) -> Result<Value, Error> {
    let p = params(call, &term_str(term)?)?;
    let path = {
        let raw = PathBuf::from(&p.path);
        if raw.is_absolute() {
            raw
        } else {
            call.basedir().join(raw)
        }
    };
    let dev_null = path == Path::new("/dev/null");
    let content = match std::fs::read_to_string(&path) {
        Ok(content) => Some(content.trim_end().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(fail(format!("{}: {e}", path.display()))),
    };
    let (password, mut salt, mut ident, mut changed) = match content.as_deref() {
        Some(c) if !dev_null => {
            let s = parse_content(c);
            (
                s.password.to_owned(),
                s.salt.to_owned(),
                s.ident.to_owned(),
                false,
            )
        }
        _ => (generate(&p)?, String::new(), String::new(), true),
    };
    let algorithm = crate::encrypt::Algorithm::passlib(&p.encrypt).ok();
    let hash_err = |e: crate::encrypt::EncryptError| fail(e.to_string());
    if !p.encrypt.is_empty() && salt.is_empty() {
        changed = true;
        salt = crate::encrypt::random_salt(algorithm.map_or(8, |a| a.salt_size()))
            .map_err(hash_err)?;
    }
    if ident.is_empty() {
        ident.clone_from(&p.ident);
    } else if !p.ident.is_empty() && ident != p.ident {
        // Ansible's message names the stored ident first, then the parameter.
        return Err(fail(format!(
            "The ident parameter provided ({ident}) does not match the stored one ({}).",
            p.ident
        )));
    }
    if !p.encrypt.is_empty()
        && ident.is_empty()
        && let Some(implicit) = algorithm.and_then(|a| a.implicit_ident())
    {
        implicit.clone_into(&mut ident);
        changed = true;
    }
    if changed && !dev_null {
        write_file(&path, &format_content(&password, &salt, &ident))?;
    }
    if p.encrypt.is_empty() {
        return Ok(Value::from(password));
    }
    let settings = crate::encrypt::Settings {
        salt: Some(salt),
        ident: Some(ident),
        ..Default::default()
    };
    crate::encrypt::do_encrypt(&password, &p.encrypt, &settings)
        .map(Value::from)
        .map_err(hash_err)
}

pub(crate) fn password(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    terms.iter().map(|t| one(call, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_as_ansible_expands_them() {
        assert_eq!(candidate_chars(&chars_specs("digits,ab")), "0123456789ab");
        assert_eq!(candidate_chars(&chars_specs(",,,x")), ",x");
    }

    #[test]
    fn content_as_ansible_parses_and_formats_it() {
        let c = parse_content("s3cret salt=abc ident=2b");
        assert_eq!((c.password, c.salt, c.ident), ("s3cret", "abc", "2b"));
        let c = parse_content("a salt=b salt=c");
        assert_eq!((c.password, c.salt, c.ident), ("a salt=b", "c", ""));
        assert_eq!(parse_content("plain").password, "plain");
        assert_eq!(format_content("pw", "", "2b"), "pw");
        assert_eq!(format_content("pw", "s", ""), "pw salt=s");
        assert_eq!(format_content("pw", "s", "2b"), "pw salt=s ident=2b");
    }
}

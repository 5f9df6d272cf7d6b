//! Shared argument handling: key checks with Ansible's aliases, and Ansible's coercions
//! (booleans, modes, lists, free-form `k=v` extraction, shlex splitting).

use std::fmt;

use clearfleet_base::boolean::ansible_bool;
use clearfleet_base::shlex;
use serde_json::{Map, Value};

/// A bad task argument, found before any host is contacted when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// The argument at fault (canonical name), if one is.
    pub field: Option<String>,
    pub message: String,
    /// Ansible reports this only when the task runs (its action plugin checks it, as `shell`
    /// does `expand_argument_vars`): the up-front check warns, the task fails with `message`
    /// as Ansible words it.
    pub at_run_time: bool,
}

impl ArgError {
    /// An error about one argument.
    pub fn field(field: &str, message: impl Into<String>) -> ArgError {
        ArgError {
            field: Some(field.to_owned()),
            message: message.into(),
            at_run_time: false,
        }
    }

    /// An error about the arguments as a whole.
    pub fn general(message: impl Into<String>) -> ArgError {
        ArgError {
            field: None,
            message: message.into(),
            at_run_time: false,
        }
    }

    /// An error Ansible reports only when the task runs, in Ansible's words (see
    /// [`ArgError::at_run_time`]), about `field` or the arguments as a whole.
    pub fn at_run_time(field: Option<&str>, message: impl Into<String>) -> ArgError {
        ArgError {
            field: field.map(str::to_owned),
            message: message.into(),
            at_run_time: true,
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(k) => write!(f, "argument `{k}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ArgError {}

/// A no_log value: kept for the request, shown as `********` by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"********\"")
    }
}

/// One accepted argument: its canonical name and its aliases.
pub type Key = (&'static str, &'static [&'static str]);

/// A task's arguments under their canonical names; typed getters consume them.
#[derive(Debug, Clone)]
pub struct Args {
    module: &'static str,
    map: Map<String, Value>,
}

impl Args {
    /// Checks `args` against `keys`: an object, no unknown key, no key given twice (by alias).
    /// `null` values count as absent, as in Ansible.
    pub fn new(module: &'static str, keys: &[Key], args: &Value) -> Result<Args, ArgError> {
        let obj = match args {
            Value::Object(o) => o,
            Value::Null => &Map::new(),
            Value::String(s) => {
                return Args::new(module, keys, &free_form(s));
            }
            _ => {
                return Err(ArgError::general(format!(
                    "{module}: arguments must be a mapping"
                )));
            }
        };
        let mut map = Map::new();
        for (given, value) in obj {
            let Some((canon, _)) = keys
                .iter()
                .find(|(k, aliases)| k == given || aliases.contains(&given.as_str()))
            else {
                let mut names: Vec<&str> = keys
                    .iter()
                    .map(|(k, _)| *k)
                    .filter(|k| !k.starts_with('_'))
                    .collect();
                names.sort_unstable();
                if given == "_raw_params" {
                    return Err(ArgError::field(
                        given,
                        format!(
                            "`{module}` does not take free-form text; use `name: value` arguments"
                        ),
                    ));
                }
                return Err(ArgError::field(
                    given,
                    format!(
                        "unsupported argument `{given}` for module `{module}` (supported: {})",
                        names.join(", ")
                    ),
                ));
            };
            if value.is_null() {
                continue;
            }
            if map.insert((*canon).to_owned(), value.clone()).is_some() {
                return Err(ArgError::field(
                    canon,
                    "given more than once (through an alias)",
                ));
            }
        }
        Ok(Args { module, map })
    }

    /// The module these arguments are for.
    pub fn module(&self) -> &'static str {
        self.module
    }

    /// Whether `key` was given.
    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The raw value, if given.
    pub fn value(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// A string; anything else converted as Ansible's `check_type_str` converts it for
    /// `type='str'` and `type='path'` (Python's `str()`: `True`, `1.5`, a mapping's `repr()`).
    pub fn str(&mut self, key: &str) -> Result<Option<String>, ArgError> {
        Ok(self
            .map
            .remove(key)
            .map(|v| clearfleet_base::python_json::str_of(&v)))
    }

    /// A required string.
    pub fn req_str(&mut self, key: &str) -> Result<String, ArgError> {
        self.str(key)?
            .ok_or_else(|| ArgError::field(key, "missing required argument"))
    }

    /// A boolean with Ansible's coercion (`yes`, `no`, `on`, `1`, ...).
    pub fn bool(&mut self, key: &str, default: bool) -> Result<bool, ArgError> {
        match self.map.remove(key) {
            None => Ok(default),
            Some(v) => ansible_bool(&v).ok_or_else(|| {
                ArgError::field(key, format!("the value {v} is not a valid boolean"))
            }),
        }
    }

    /// An integer (a numeric string is accepted, as Ansible does).
    pub fn int(&mut self, key: &str) -> Result<Option<i64>, ArgError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
                    _ => Err(ArgError::field(key, format!("{n} is not an integer"))),
                },
            },
            Some(Value::String(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ArgError::field(key, format!("'{s}' is not an integer"))),
            Some(other) => Err(ArgError::field(
                key,
                format!("expected an integer, got {}", kind(&other)),
            )),
        }
    }

    /// A non-negative number of seconds (integer or float).
    pub fn seconds(&mut self, key: &str) -> Result<Option<f64>, ArgError> {
        let v = match self.map.remove(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(f) if f >= 0.0 && f.is_finite() => Ok(Some(f)),
            _ => Err(ArgError::field(key, "expected a non-negative number")),
        }
    }

    /// A list of strings; a comma-separated string is split, as Ansible's `type='list'`.
    pub fn list_str(&mut self, key: &str) -> Result<Option<Vec<String>>, ArgError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    Value::Number(n) => Ok(n.to_string()),
                    Value::Bool(b) => Ok(if b { "True" } else { "False" }.to_owned()),
                    other => Err(ArgError::field(
                        key,
                        format!("list items must be strings, got {}", kind(&other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(s.split(',').map(|x| x.trim().to_owned()).collect())),
            Some(Value::Number(n)) => Ok(Some(vec![n.to_string()])),
            Some(other) => Err(ArgError::field(
                key,
                format!("expected a list, got {}", kind(&other)),
            )),
        }
    }

    /// A string mapping (`headers`).
    pub fn str_map(&mut self, key: &str) -> Result<Vec<(String, String)>, ArgError> {
        match self.map.remove(key) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    Value::Number(n) => Ok((k, n.to_string())),
                    Value::Bool(b) => Ok((k, b.to_string())),
                    other => Err(ArgError::field(
                        key,
                        format!("value of `{k}` must be a string, got {}", kind(&other)),
                    )),
                })
                .collect(),
            Some(other) => Err(ArgError::field(
                key,
                format!("expected a mapping, got {}", kind(&other)),
            )),
        }
    }

    /// `state: present|absent` (default present): whether it is `present`.
    pub fn present(&mut self) -> Result<bool, ArgError> {
        Ok(self
            .choice("state", &["present", "absent"], Some("present"))?
            .as_deref()
            == Some("present"))
    }

    /// One of `choices` (or `default`).
    pub fn choice(
        &mut self,
        key: &str,
        choices: &[&str],
        default: Option<&str>,
    ) -> Result<Option<String>, ArgError> {
        match self.str(key)? {
            None => Ok(default.map(str::to_owned)),
            Some(s) if choices.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ArgError::field(
                key,
                format!("value must be one of: {}, got: {s}", choices.join(", ")),
            )),
        }
    }

    /// A file mode (`0644`, `'0644'`, `u=rw,g=r`, and `preserve` where allowed).
    pub fn mode(&mut self, key: &str, allow_preserve: bool) -> Result<Option<Mode>, ArgError> {
        match self.map.remove(key) {
            None => Ok(None),
            Some(v) => Mode::parse(&v, allow_preserve)
                .map(Some)
                .map_err(|m| ArgError::field(key, m.to_string())),
        }
    }

    /// Fails if a key was given but not consumed (a module forgot to read it).
    pub fn finish(self) -> Result<(), ArgError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(ArgError::field(
                k,
                format!("not supported by {} in clearfleet", self.module),
            )),
        }
    }
}

/// `key=value key2='v 2'` as a mapping (Ansible's free-form module arguments).
fn free_form(s: &str) -> Value {
    let mut map = Map::new();
    for tok in shlex::split(s, false).unwrap_or_default() {
        match tok.split_once('=') {
            Some((k, v)) => {
                map.insert(k.to_owned(), Value::String(v.to_owned()));
            }
            None => {
                map.insert("_raw_params".to_owned(), Value::String(tok));
            }
        }
    }
    Value::Object(map)
}

/// Ansible's check of a `validate` command: it must name the file as `%s`.
pub fn check_validate(v: Option<&str>) -> Result<(), ArgError> {
    match v {
        Some(v) if !v.contains("%s") => Err(ArgError::field(
            "validate",
            format!("validate must contain %s: {v}"),
        )),
        _ => Ok(()),
    }
}

/// A JSON type name for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Why a mode value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    /// A YAML number above 0o7777 (or negative, or not an integer).
    #[error("{0} is not a valid mode")]
    BadNumber(String),
    /// A string of octal digits above 0o7777.
    #[error("'{0}' is not a valid mode")]
    BadOctal(String),
    /// A string that is neither octal nor a valid symbolic mode.
    #[error("'{mode}' is not a valid mode: {reason}")]
    BadSymbolic {
        mode: String,
        reason: SymbolicModeError,
    },
    /// Neither a number nor a string (the JSON type name, see [`kind`]).
    #[error("expected a mode, got {0}")]
    WrongType(&'static str),
}

/// Why a symbolic mode (`u=rw,g=r`) could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolicModeError {
    /// A clause without `=`, `+` or `-`.
    #[error("missing operator in '{0}'")]
    MissingOperator(String),
    /// Users other than `u`, `g`, `o`, `a`.
    #[error("bad user class '{0}'")]
    BadUserClass(String),
    /// A permission letter chmod does not know.
    #[error("bad permission '{0}'")]
    BadPermission(char),
}

/// A requested file mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Permission bits. A YAML integer is taken as is (`0644` in YAML 1.1 is 420 = 0o644;
    /// `644` is decimal 644 = 0o1204, Ansible's well-known trap); a string of digits is octal.
    Bits(u32),
    /// `u=rw,g=r,o=`: applied to the current mode.
    Symbolic(String),
    /// copy/template: keep the source file's mode.
    Preserve,
}

impl Mode {
    /// Parses a mode value.
    pub fn parse(v: &Value, allow_preserve: bool) -> Result<Mode, ModeError> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(b) if b <= 0o7777 => Ok(Mode::Bits(b as u32)),
                _ => Err(ModeError::BadNumber(n.to_string())),
            },
            Value::String(s) => {
                let s = s.trim();
                if s == "preserve" && allow_preserve {
                    return Ok(Mode::Preserve);
                }
                if !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                    return match u32::from_str_radix(s, 8) {
                        Ok(b) if b <= 0o7777 => Ok(Mode::Bits(b)),
                        _ => Err(ModeError::BadOctal(s.to_owned())),
                    };
                }
                symbolic(s, 0, false)
                    .map(|_| Mode::Symbolic(s.to_owned()))
                    .map_err(|reason| ModeError::BadSymbolic {
                        mode: s.to_owned(),
                        reason,
                    })
            }
            other => Err(ModeError::WrongType(kind(other))),
        }
    }

    /// The bits to set, given the current ones (`None`: the path does not exist yet; new files
    /// start from 0644, directories from 0755). `Preserve` resolves to `current`.
    pub fn resolve(&self, current: Option<u32>, is_dir: bool) -> Result<u32, SymbolicModeError> {
        let base = current.unwrap_or(if is_dir { 0o755 } else { 0o644 });
        match self {
            Mode::Bits(b) => Ok(*b),
            Mode::Preserve => Ok(base),
            Mode::Symbolic(s) => symbolic(s, base, is_dir),
        }
    }
}

/// Applies a symbolic mode (`chmod` syntax, as Ansible's `_symbolic_mode_to_octal`).
fn symbolic(spec: &str, mut mode: u32, is_dir: bool) -> Result<u32, SymbolicModeError> {
    for clause in spec.split(',') {
        let op_at = clause
            .find(['=', '+', '-'])
            .ok_or_else(|| SymbolicModeError::MissingOperator(clause.to_owned()))?;
        let (who, rest) = clause.split_at(op_at);
        if !who.chars().all(|c| "ugoa".contains(c)) {
            return Err(SymbolicModeError::BadUserClass(who.to_owned()));
        }
        let who = if who.is_empty() { "a" } else { who };
        let mut users = 0u32; // bitmask u=4 g=2 o=1
        for c in who.chars() {
            users |= match c {
                'u' => 4,
                'g' => 2,
                'o' => 1,
                _ => 7,
            };
        }
        // A clause may chain operators: `u+r-w`.
        let mut chars = rest.chars().peekable();
        while let Some(op) = chars.next() {
            let mut perms = String::new();
            while let Some(&c) = chars.peek() {
                if "=+-".contains(c) {
                    break;
                }
                perms.push(c);
                chars.next();
            }
            let mut bits = 0u32;
            for p in perms.chars() {
                bits |= match p {
                    'r' => spread(users, 0o4),
                    'w' => spread(users, 0o2),
                    'x' => spread(users, 0o1),
                    'X' if is_dir || mode & 0o111 != 0 => spread(users, 0o1),
                    'X' => 0,
                    's' => {
                        (if users & 4 != 0 { 0o4000 } else { 0 })
                            | (if users & 2 != 0 { 0o2000 } else { 0 })
                    }
                    't' => {
                        if users & 1 != 0 {
                            0o1000
                        } else {
                            0
                        }
                    }
                    'u' => spread(users, (mode >> 6) & 7),
                    'g' => spread(users, (mode >> 3) & 7),
                    'o' => spread(users, mode & 7),
                    other => return Err(SymbolicModeError::BadPermission(other)),
                };
            }
            match op {
                '=' => {
                    let mut clear = spread(users, 0o7);
                    if users & 4 != 0 {
                        clear |= 0o4000;
                    }
                    if users & 2 != 0 {
                        clear |= 0o2000;
                    }
                    if users & 1 != 0 {
                        clear |= 0o1000;
                    }
                    mode = (mode & !clear) | bits;
                }
                '+' => mode |= bits,
                _ => mode &= !bits,
            }
        }
    }
    Ok(mode)
}

/// Places a 3-bit permission at each selected user class.
fn spread(users: u32, perm: u32) -> u32 {
    let mut out = 0;
    if users & 4 != 0 {
        out |= perm << 6;
    }
    if users & 2 != 0 {
        out |= perm << 3;
    }
    if users & 1 != 0 {
        out |= perm;
    }
    out
}

/// Takes `key=value` tokens for `keys` out of a free-form command line (Ansible's
/// `parse_kv(check_raw=True)`), leaving the rest of the text byte for byte.
pub fn extract_kv(raw: &str, keys: &[&str]) -> (String, Vec<(String, String)>) {
    let mut found = Vec::new();
    let mut rest = String::new();
    let mut last = 0;
    for (start, end) in token_spans(raw) {
        let tok = &raw[start..end];
        let Some((k, v)) = tok.split_once('=') else {
            continue;
        };
        if !keys.contains(&k) {
            continue;
        }
        let value = shlex::split(v, false)
            .ok()
            .and_then(|mut w| if w.len() == 1 { w.pop() } else { None })
            .unwrap_or_else(|| v.to_owned());
        found.push((k.to_owned(), value));
        rest.push_str(&raw[last..start]);
        last = end;
    }
    if found.is_empty() {
        return (raw.to_owned(), found);
    }
    rest.push_str(&raw[last..]);
    (rest.trim().to_owned(), found)
}

/// Byte spans of whitespace-separated tokens, honouring quotes and backslashes.
fn token_spans(s: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') if quote != Some('\'') => {
                escaped = true;
                start.get_or_insert(i);
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => {
                quote = Some(c);
                start.get_or_insert(i);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(st) = start.take() {
                    spans.push((st, i));
                }
            }
            (None, _) => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(st) = start {
        spans.push((st, s.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_like_ansible() {
        assert_eq!(Mode::parse(&json!(420), false), Ok(Mode::Bits(0o644)));
        assert_eq!(Mode::parse(&json!("0644"), false), Ok(Mode::Bits(0o644)));
        assert_eq!(Mode::parse(&json!("644"), false), Ok(Mode::Bits(0o644)));
        assert_eq!(Mode::parse(&json!("01777"), false), Ok(Mode::Bits(0o1777)));
        assert!(Mode::parse(&json!("preserve"), false).is_err());
        assert_eq!(Mode::parse(&json!("preserve"), true), Ok(Mode::Preserve));
        assert!(Mode::parse(&json!("0999"), false).is_err());
        assert!(Mode::parse(&json!("u=rwz"), false).is_err());
        let m = Mode::parse(&json!("u=rw,g=r,o="), false).unwrap_or(Mode::Bits(0));
        assert_eq!(m.resolve(Some(0o777), false), Ok(0o640));
        let m = Mode::Symbolic("u+x,g-w".into());
        assert_eq!(m.resolve(Some(0o664), false), Ok(0o744));
        let m = Mode::Symbolic("a+X".into());
        assert_eq!(m.resolve(Some(0o644), true), Ok(0o755));
        assert_eq!(m.resolve(Some(0o644), false), Ok(0o644));
        let m = Mode::Symbolic("u=rwx,g=u-w,o=".into());
        assert_eq!(m.resolve(Some(0), false), Ok(0o750));
        let m = Mode::Symbolic("+t".into());
        assert_eq!(m.resolve(Some(0o777), true), Ok(0o1777));
    }

    #[test]
    fn kv_extraction_keeps_the_rest() {
        let (rest, kv) = extract_kv("touch /x creates=/x chdir='/a b'", &["creates", "chdir"]);
        assert_eq!(rest, "touch /x");
        assert_eq!(
            kv,
            vec![
                ("creates".into(), "/x".into()),
                ("chdir".into(), "/a b".into())
            ]
        );
        let script = "echo a=b\n  echo  'creates=no'";
        assert_eq!(extract_kv(script, &["creates"]).0, script);
    }

    #[test]
    fn unknown_and_aliased_keys() {
        const KEYS: &[Key] = &[("path", &["dest", "name"]), ("state", &[])];
        assert!(Args::new("file", KEYS, &json!({"dest": "/x"})).is_ok());
        let e = Args::new("file", KEYS, &json!({"bogus": 1})).err();
        assert_eq!(e.and_then(|e| e.field), Some("bogus".into()));
        assert!(Args::new("file", KEYS, &json!({"dest": "/x", "path": "/y"})).is_err());
        assert!(Args::new("file", KEYS, &json!([1])).is_err());
    }
}

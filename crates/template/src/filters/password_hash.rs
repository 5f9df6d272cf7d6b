//! The `password_hash` filter (ansible-core 2.19's lib/ansible/plugins/filter/core.py
//! `get_encrypted_password`): Ansible's hash type names mapped to passlib's, then
//! `do_encrypt` (crate::encrypt).

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Error, State};

use super::{check_defined, fail, py_str, type_name};
use crate::encrypt::{Settings, do_encrypt};

/// `get_encrypted_password`'s parameters after the password, in order.
const PARAMS: [&str; 5] = ["hashtype", "salt", "salt_size", "rounds", "ident"];

/// `passlib_mapping`: Ansible's names for passlib's algorithms.
const MAPPING: [(&str, &str); 4] = [
    ("md5", "md5_crypt"),
    ("blowfish", "bcrypt"),
    ("sha256", "sha256_crypt"),
    ("sha512", "sha512_crypt"),
];

/// The arguments by name: positional ones first, then keywords (Python's binding).
fn bind(args: Rest<Value>, kwargs: &Kwargs) -> Result<[Option<Value>; 5], Error> {
    if args.len() > PARAMS.len() {
        return Err(fail(format!(
            "get_encrypted_password() takes from 1 to 6 positional arguments but {} were given",
            args.len() + 1
        )));
    }
    let mut out: [Option<Value>; 5] = Default::default();
    for (slot, v) in out.iter_mut().zip(args.0) {
        *slot = Some(v);
    }
    for (slot, name) in out.iter_mut().zip(PARAMS) {
        if let Some(v) = kwargs.get::<Option<Value>>(name)? {
            if slot.is_some() {
                return Err(fail(format!(
                    "get_encrypted_password() got multiple values for argument '{name}'"
                )));
            }
            *slot = Some(v);
        }
    }
    if let Some(extra) = kwargs.args().find(|k| !PARAMS.contains(k)) {
        return Err(fail(format!(
            "get_encrypted_password() got an unexpected keyword argument '{extra}'"
        )));
    }
    // Python's None is "not given".
    Ok(out.map(|v| v.filter(|v| !v.is_none() && !v.is_undefined())))
}

/// `password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None, ident=None)`.
pub(super) fn password_hash(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    check_defined(state, value)?;
    let [hashtype, salt, salt_size, rounds, ident] = bind(args, &kwargs)?;
    let hashtype = hashtype.map_or_else(|| "sha512".to_owned(), |h| py_str(&h));
    let algorithm = MAPPING
        .iter()
        .find(|(short, _)| *short == hashtype)
        .map_or(hashtype.as_str(), |(_, passlib)| passlib);
    if !MAPPING.iter().any(|(_, passlib)| *passlib == algorithm) {
        let names: Vec<&str> = MAPPING.iter().map(|(short, _)| *short).collect();
        return Err(fail(format!(
            "{algorithm} is not in the list of supported passlib algorithms: {}",
            names.join(", ")
        )));
    }
    let Some(secret) = value.as_str() else {
        return Err(fail(format!(
            "secret must be unicode or bytes, not {}",
            type_name(value)
        )));
    };
    let settings = Settings {
        salt: salt.map(|s| py_str(&s)),
        salt_size: salt_size.map(|n| match n.kind() {
            ValueKind::Number if n.is_integer() => i64::try_from(n).map_err(|_| ()),
            _ => Err(()),
        }),
        rounds: rounds.map(|r| py_str(&r)),
        ident: ident.map(|i| py_str(&i)),
    };
    do_encrypt(secret, algorithm, &settings).map_err(|e| fail(e.to_string()))
}

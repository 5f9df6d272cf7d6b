//! PyYAML's YAML 1.1 implicit resolver, one copy for the positioned parser ([`crate::syntax`])
//! and the template filters (`from_yaml` resolves plain scalars by it, `to_yaml` quotes a string
//! that it would not read back as a string).
//!
//! The patterns are PyYAML's (`yaml/resolver.py`, `Resolver.add_implicit_resolver`), and so
//! Ansible's: `yes`/`no`/`on`/`off` are booleans but `y`/`n` are not, `0755` is an octal int,
//! `1:30` a sexagesimal int, `1e3` (no dot, no exponent sign) a string, `~` and the empty
//! scalar null. PyYAML first picks the patterns by the scalar's first character; that index is
//! kept here as a fast path (every pattern only matches text starting with its characters).

use regex::Regex;
use std::sync::LazyLock;

/// The type a plain (unquoted, untagged) scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// `tag:yaml.org,2002:bool`: `yes`, `No`, `TRUE`, `off`, …
    Bool,
    /// `tag:yaml.org,2002:int`: `12`, `-0x1F`, `0b101`, `0755`, `1_000`, `1:30`.
    Int,
    /// `tag:yaml.org,2002:float`: `1.5`, `1.`, `.5`, `1.0e+3`, `1:30.5`, `.inf`, `.NaN`.
    Float,
    /// `tag:yaml.org,2002:null`: `~`, `null`, `Null`, `NULL` and the empty scalar.
    Null,
    /// `tag:yaml.org,2002:merge`: `<<`.
    Merge,
    /// `tag:yaml.org,2002:timestamp`: `2024-01-01`, `2024-01-01 12:00:00.5 +01:00`.
    Timestamp,
    /// `tag:yaml.org,2002:value`: `=`.
    Value,
    /// `tag:yaml.org,2002:yaml`: a lone `!`, `&` or `*`.
    Yaml,
    /// Anything else: a string.
    Str,
}

/// PyYAML's resolvers in its order of registration: the first characters each one is
/// indexed under, and its pattern.
const RESOLVERS: [(Resolved, &str, &str); 8] = [
    (
        Resolved::Bool,
        "yYnNtTfFoO",
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    ),
    (
        Resolved::Float,
        "-+0123456789.",
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    ),
    (
        Resolved::Int,
        "-+0123456789",
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
    ),
    (Resolved::Merge, "<", r"^(?:<<)$"),
    (Resolved::Null, "~nN", r"^(?:~|null|Null|NULL|)$"),
    (
        Resolved::Timestamp,
        "0123456789",
        r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
    ),
    (Resolved::Value, "=", r"^(?:=)$"),
    (Resolved::Yaml, "!&*", r"^(?:!|&|\*)$"),
];

/// The compiled patterns, in [`RESOLVERS`] order (a pattern that failed to compile, which the
/// unit tests rule out, matches nothing).
static COMPILED: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    RESOLVERS
        .iter()
        .map(|(_, _, pattern)| Regex::new(pattern).ok())
        .collect()
});

/// What the plain scalar `text` resolves to, as PyYAML's `Resolver.resolve` decides it.
pub fn resolve(text: &str) -> Resolved {
    let Some(first) = text.chars().next() else {
        return Resolved::Null;
    };
    for ((kind, firsts, _), re) in RESOLVERS.iter().zip(COMPILED.iter()) {
        if firsts.contains(first) && re.as_ref().is_some_and(|re| re.is_match(text)) {
            return *kind;
        }
    }
    Resolved::Str
}

/// The value of a YAML 1.1 boolean (PyYAML's `construct_yaml_bool`: `yes`/`true`/`on` in any
/// case are true, `no`/`false`/`off` false); `None` for any other text.
pub fn bool_value(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// A YAML 1.1 number as PyYAML constructs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    /// Above `i64::MAX`, up to `u64::MAX`.
    UInt(u64),
    Float(f64),
}

/// Python's int from a YAML 1.1 int literal (PyYAML's `construct_yaml_int`: `_` ignored,
/// `0b`, `0x`, a leading `0` for octal, `:` for base 60). Beyond `u64` the value becomes a
/// float (Python keeps a big int); `None` when the digits do not parse (PyYAML raises).
pub fn int_value(text: &str) -> Option<Number> {
    let v = text.replace('_', "");
    let (neg, v) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(&v)),
    };
    let magnitude: i128 = if v == "0" {
        0
    } else if let Some(b) = v.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()?
    } else if let Some(h) = v.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()?
    } else if let Some(o) = v.strip_prefix('0') {
        i128::from_str_radix(o, 8).ok()?
    } else if v.contains(':') {
        v.split(':').try_fold(0i128, |acc, part| {
            part.parse::<i128>()
                .ok()
                .and_then(|d| acc.checked_mul(60)?.checked_add(d))
        })?
    } else {
        v.parse::<i128>().ok()?
    };
    let n = if neg { -magnitude } else { magnitude };
    Some(if let Ok(i) = i64::try_from(n) {
        Number::Int(i)
    } else if let Ok(u) = u64::try_from(n) {
        Number::UInt(u)
    } else {
        Number::Float(n as f64)
    })
}

/// Python's float from a YAML 1.1 float literal (PyYAML's `construct_yaml_float`: `_`
/// ignored, `.inf`, `.nan`, `:` for base 60); `None` when the text does not parse.
pub fn float_value(text: &str) -> Option<f64> {
    let v = text.replace('_', "").to_lowercase();
    let (neg, v) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(&v)),
    };
    let f = if v == ".inf" {
        f64::INFINITY
    } else if v == ".nan" {
        f64::NAN
    } else if v.contains(':') {
        v.split(':').try_fold(0.0, |acc, part| {
            part.parse::<f64>().ok().map(|d| acc * 60.0 + d)
        })?
    } else {
        v.parse::<f64>().ok()?
    };
    Some(if neg { -f } else { f })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile() {
        assert!(COMPILED.iter().all(Option::is_some));
    }

    /// Expected values: PyYAML 6's `yaml.resolver.Resolver().resolve(ScalarNode, s, (True, False))`.
    #[test]
    fn resolves_like_pyyaml() {
        use Resolved::*;
        let cases: &[(&str, Resolved)] = &[
            ("yes", Bool),
            ("No", Bool),
            ("TRUE", Bool),
            ("off", Bool),
            ("y", Str),
            ("n", Str),
            ("yEs", Str),
            ("0", Int),
            ("-12", Int),
            ("+0x1F", Int),
            ("0X1F", Str),
            ("0b101", Int),
            ("0755", Int),
            ("0o17", Str),
            ("0999", Str),
            ("1_000", Int),
            ("1:30", Int),
            ("1:60", Str),
            ("1.5", Float),
            ("1.", Float),
            (".5", Float),
            ("+.5", Str),
            ("1.5e3", Str),
            ("1.5e+3", Float),
            ("1e3", Str),
            ("1:30.5", Float),
            (".inf", Float),
            ("-.Inf", Float),
            (".NaN", Float),
            ("-.nan", Str),
            ("inf", Str),
            ("~", Null),
            ("", Null),
            ("null", Null),
            ("nULL", Str),
            ("<<", Merge),
            ("2024-01-01", Timestamp),
            ("2024-1-1 12:00:00.5 +01:00", Timestamp),
            ("2024-1-1", Str),
            ("=", Value),
            ("!", Yaml),
            ("*", Yaml),
            ("hello", Str),
        ];
        for (text, want) in cases {
            assert_eq!(resolve(text), *want, "{text:?}");
        }
    }

    /// Expected values: PyYAML 6's `yaml.safe_load` of each literal.
    #[test]
    fn numbers_construct_like_pyyaml() {
        use Number::*;
        let ints: &[(&str, Number)] = &[
            ("0", Int(0)),
            ("-12", Int(-12)),
            ("+0x1F", Int(31)),
            ("0b101", Int(5)),
            ("0755", Int(493)),
            ("1_000", Int(1000)),
            ("1:30", Int(90)),
            ("190:20:30", Int(685230)),
            ("-1:30", Int(-90)),
            ("18446744073709551615", UInt(u64::MAX)),
            ("99999999999999999999", Float(1e20)),
        ];
        for (text, want) in ints {
            assert_eq!(int_value(text), Some(*want), "{text:?}");
        }
        let floats: &[(&str, f64)] = &[
            ("1.5", 1.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("1.0e+3", 1000.0),
            ("1_000.5", 1000.5),
            ("1:30.5", 90.5),
            ("-.Inf", f64::NEG_INFINITY),
            (".inf", f64::INFINITY),
        ];
        for (text, want) in floats {
            assert_eq!(float_value(text), Some(*want), "{text:?}");
        }
        assert!(float_value(".NaN").is_some_and(f64::is_nan));
        assert_eq!(float_value("abc"), None);
        assert_eq!(int_value("0b"), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(bool_value("ON"), Some(true));
        assert_eq!(bool_value("No"), Some(false));
        assert_eq!(bool_value("y"), None);
    }
}

//! Version ordering for the `version` test: Ansible's LooseVersion (the default), StrictVersion and semver.

use std::cmp::Ordering;

/// Why two versions cannot be compared, in the words of Ansible's (Python's) messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// LooseVersion: an int meets a string at the same position (Python 3 refuses).
    #[error("'<' not supported between instances of '{left}' and '{right}'")]
    Unorderable {
        left: &'static str,
        right: &'static str,
    },
    #[error("invalid version number '{0}'")]
    InvalidStrict(String),
    #[error("invalid semantic version '{0}'")]
    InvalidSemver(String),
    #[error("Input version value cannot be empty")]
    EmptyValue,
    #[error("Version parameter to compare against cannot be empty")]
    EmptyVersion,
    #[error("version_type 'pep440' is not supported by clearfleet")]
    Pep440,
    #[error(
        "Invalid version type ({0}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
    )]
    UnknownType(String),
    /// The comparison itself failed (one of the errors above, from the chosen ordering).
    #[error("Version comparison failed: {0}")]
    Comparison(Box<VersionError>),
    #[error(
        "Invalid operator type ({0}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
    )]
    UnknownOperator(String),
}

/// One piece of a LooseVersion: Python keeps digit runs as ints and everything else as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Num(u128),
    Text(String),
}

/// Splits like Python's `re.compile(r'(\d+ | [a-z]+ | \.)', re.VERBOSE).split(v)`, keeping
/// the text between matches too, then drops empty pieces and dots.
fn loose_pieces(v: &str) -> Vec<Piece> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Lower,
        Dot,
        Other,
    }
    let class = |c: char| {
        if c.is_ascii_digit() {
            Class::Digit
        } else if c.is_ascii_lowercase() {
            Class::Lower
        } else if c == '.' {
            Class::Dot
        } else {
            Class::Other
        }
    };
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut current_class = None;
    let flush = |current: &mut String, class: Option<Class>, pieces: &mut Vec<Piece>| {
        if current.is_empty() || class == Some(Class::Dot) {
            current.clear();
            return;
        }
        let text = std::mem::take(current);
        match (class, text.parse::<u128>()) {
            (Some(Class::Digit), Ok(n)) => pieces.push(Piece::Num(n)),
            _ => pieces.push(Piece::Text(text)),
        }
    };
    for c in v.chars() {
        let k = class(c);
        // Every dot is its own match; other classes extend their run.
        if current_class != Some(k) || k == Class::Dot {
            flush(&mut current, current_class, &mut pieces);
            current_class = Some(k);
        }
        current.push(c);
    }
    flush(&mut current, current_class, &mut pieces);
    pieces
}

/// Compares two versions the way Python's `LooseVersion` does; an int meeting a string at the
/// same position is an error, as in Python 3.
pub fn compare_loose(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (pa, pb) = (loose_pieces(a), loose_pieces(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let ord = match (x, y) {
            (Piece::Num(x), Piece::Num(y)) => x.cmp(y),
            (Piece::Text(x), Piece::Text(y)) => x.cmp(y),
            (Piece::Num(_), Piece::Text(_)) => {
                return Err(VersionError::Unorderable {
                    left: "int",
                    right: "str",
                });
            }
            (Piece::Text(_), Piece::Num(_)) => {
                return Err(VersionError::Unorderable {
                    left: "str",
                    right: "int",
                });
            }
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(pa.len().cmp(&pb.len()))
}

/// A parsed `StrictVersion`: major, minor, patch and an optional `a`/`b` pre-release.
type Strict = (u64, u64, u64, Option<(char, u64)>);

/// Python's `StrictVersion`: `N.N[.N][(a|b)N]`.
fn parse_strict(v: &str) -> Result<Strict, VersionError> {
    let invalid = || VersionError::InvalidStrict(v.to_owned());
    let (main, pre) = match v.find(['a', 'b']) {
        Some(i) => {
            let tag = v[i..].chars().next().ok_or_else(invalid)?;
            let num = &v[i + 1..];
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            (&v[..i], Some((tag, num.parse().map_err(|_| invalid())?)))
        }
        None => (v, None),
    };
    let parts: Vec<&str> = main.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid());
    }
    let num = |s: &str| s.parse::<u64>().map_err(|_| invalid());
    let patch = match parts.get(2) {
        Some(p) => num(p)?,
        None => 0,
    };
    Ok((num(parts[0])?, num(parts[1])?, patch, pre))
}

/// Compares two versions as Python's `StrictVersion`.
pub fn compare_strict(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (parse_strict(a)?, parse_strict(b)?);
    let main = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
    if main != Ordering::Equal {
        return Ok(main);
    }
    // A release sorts after any pre-release of the same version.
    Ok(match (a.3, b.3) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    })
}

/// Compares two versions as Ansible's `SemanticVersion`: semver 2.0 precedence, build ignored.
pub fn compare_semver(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let parse =
        |v: &str| semver::Version::parse(v).map_err(|_| VersionError::InvalidSemver(v.to_owned()));
    let (a, b) = (parse(a)?, parse(b)?);
    Ok((a.major, a.minor, a.patch, &a.pre).cmp(&(b.major, b.minor, b.patch, &b.pre)))
}

/// Ansible's `version` test: compares `value` with `version` using `operator` and the version type.
pub fn version_test(
    value: &str,
    version: &str,
    operator: &str,
    strict: bool,
    version_type: Option<&str>,
) -> Result<bool, VersionError> {
    if value.is_empty() {
        return Err(VersionError::EmptyValue);
    }
    if version.is_empty() {
        return Err(VersionError::EmptyVersion);
    }
    let compare: fn(&str, &str) -> Result<Ordering, VersionError> = if strict {
        compare_strict
    } else {
        match version_type {
            None | Some("loose") => compare_loose,
            Some("strict") => compare_strict,
            Some("semver" | "semantic") => compare_semver,
            Some("pep440") => return Err(VersionError::Pep440),
            Some(other) => return Err(VersionError::UnknownType(other.to_owned())),
        }
    };
    let ord = compare(value, version).map_err(|e| VersionError::Comparison(Box::new(e)))?;
    let result = match operator {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(VersionError::UnknownOperator(other.to_owned())),
    };
    Ok(result)
}

#[cfg(test)]
mod unit {
    use super::*;
    use Ordering::*;

    #[test]
    fn loose_matches_the_measured_table() {
        assert_eq!(compare_loose("2.0.0-613", "2.0.0"), Ok(Greater));
        assert_eq!(compare_loose("1.16.2", "1.9.0"), Ok(Greater));
        assert_eq!(compare_loose("2.0.0-rc1", "2.0.0"), Ok(Greater));
        assert_eq!(compare_loose("1.2", "1.2.0"), Ok(Less));
        assert_eq!(compare_loose("1.0.0.5", "1.0.0"), Ok(Greater));
        assert_eq!(compare_loose("1.2.3", "1.2.3"), Ok(Equal));
        assert_eq!(compare_loose("1.0RC1", "1.0RC2"), Ok(Less));
        assert!(compare_loose("1.0a", "1.0.1").is_err());
    }

    #[test]
    fn strict_and_semver() {
        assert_eq!(compare_strict("1.0", "1.0.0"), Ok(Equal));
        assert_eq!(compare_strict("1.0a1", "1.0"), Ok(Less));
        assert!(compare_strict("1.0.0-1", "1.0").is_err());
        assert_eq!(compare_semver("1.0.0-rc.1", "1.0.0"), Ok(Less));
        assert_eq!(compare_semver("1.0.0+build", "1.0.0"), Ok(Equal));
        assert!(compare_semver("1.2", "1.2.0").is_err());
    }

    #[test]
    fn operators() {
        assert_eq!(version_test("1.2", "1.1", ">", false, None), Ok(true));
        assert_eq!(version_test("1.2", "1.2", "<>", false, None), Ok(false));
        assert_eq!(version_test("1.2", "1.2", "=", false, None), Ok(true));
        assert!(version_test("1.2", "1.2", "~", false, None).is_err());
        assert!(version_test("", "1.2", "eq", false, None).is_err());
    }
}

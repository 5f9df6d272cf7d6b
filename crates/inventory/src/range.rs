//! Host ranges (`web[01:03]`, `db[a:f]`, `n[1:10:2]`) and `host[:port]` splitting, expanded as Ansible does.

use regex::Regex;
use std::sync::OnceLock;

/// Whether a host name contains a range to expand (Ansible's `detect_range`).
pub fn has_range(name: &str) -> bool {
    name.contains('[')
}

/// Why a host range could not be expanded. `range` is the text between the brackets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// No `[` in a name that was taken for a range.
    #[error("missing `[`")]
    MissingOpen,
    /// A `[` without its `]` (the whole host name).
    #[error("unclosed host range in `{0}`")]
    Unclosed(String),
    /// Not `begin:end` nor `begin:end:step`.
    #[error("host range `[{0}]` must be begin:end or begin:end:step")]
    Arity(String),
    /// `begin:` with nothing after the colon.
    #[error("host range `[{0}]` must specify an end value")]
    NoEnd(String),
    /// A step that is not a positive integer.
    #[error("host range `[{range}]` has an invalid step `{step}`")]
    BadStep { range: String, step: String },
    /// `begin` after `end`.
    #[error("host range `[{0}]` must have begin <= end")]
    Reversed(String),
    /// Bounds that are neither two numbers nor two letters.
    #[error("host range `[{0}]` must be two numbers or two letters")]
    Mixed(String),
    /// A zero-padded begin whose width differs from end's.
    #[error("host range `[{0}]` must use equal-length begin and end when zero-padded")]
    UnequalPadding(String),
    /// More than 100,000 names.
    #[error("host range `[{0}]` is too large")]
    TooLarge(String),
}

/// Why a `host[:port]` string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The port does not fit in 16 bits.
    #[error("port `{port}` in `{address}` is out of range")]
    PortOutOfRange { port: String, address: String },
    /// The host part is neither a host name nor an IPv4/IPv6 address.
    #[error("not a valid host name or address: `{0}`")]
    NotAHost(String),
}

/// Expands every `[begin:end(:step)]` range in `name`, left to right, like Ansible's
/// `expand_hostname_range`. Numeric bounds with a leading zero keep their width; letter
/// bounds walk `a..zA..Z`. Errors on malformed, empty or reversed ranges.
pub fn expand(name: &str) -> Result<Vec<String>, RangeError> {
    if !has_range(name) {
        return Ok(vec![name.to_owned()]);
    }
    let open = name.find('[').ok_or(RangeError::MissingOpen)?;
    let close = name[open..]
        .find(']')
        .map(|i| i + open)
        .ok_or_else(|| RangeError::Unclosed(name.to_owned()))?;
    let head = &name[..open];
    let inner = &name[open + 1..close];
    let tail = &name[close + 1..];
    let bounds: Vec<&str> = inner.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(RangeError::Arity(inner.to_owned()));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(RangeError::NoEnd(inner.to_owned()));
    }
    let step: usize = match bounds.get(2) {
        None => 1,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(RangeError::BadStep {
                    range: inner.to_owned(),
                    step: (*s).to_owned(),
                });
            }
        },
    };
    let items: Vec<String> = if let (Some(b), Some(e)) = (letter_index(beg), letter_index(end)) {
        if b > e {
            return Err(RangeError::Reversed(inner.to_owned()));
        }
        (b..=e)
            .step_by(step)
            .filter_map(|i| LETTERS.get(i..=i).map(str::to_owned))
            .collect()
    } else {
        let (Ok(b), Ok(e)) = (beg.parse::<u64>(), end.parse::<u64>()) else {
            return Err(RangeError::Mixed(inner.to_owned()));
        };
        let width = if beg.len() > 1 && beg.starts_with('0') {
            if beg.len() != end.len() {
                return Err(RangeError::UnequalPadding(inner.to_owned()));
            }
            beg.len()
        } else {
            0
        };
        if b > e {
            return Err(RangeError::Reversed(inner.to_owned()));
        }
        if (e - b) / step as u64 > 100_000 {
            return Err(RangeError::TooLarge(inner.to_owned()));
        }
        (b..=e)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    };
    let mut out = Vec::new();
    for item in items {
        out.extend(expand(&format!("{head}{item}{tail}"))?);
    }
    Ok(out)
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn letter_index(s: &str) -> Option<usize> {
    if s.len() == 1 { LETTERS.find(s) } else { None }
}

fn re(cell: &'static OnceLock<Option<Regex>>, src: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(src).ok()).as_ref()
}

/// Splits `host[:port]` (or `[v6]:port`) like Ansible's `parse_address(allow_ranges=True)`
/// and checks the host is a host name, IPv4 or IPv6 address (ranges allowed).
pub fn parse_address(address: &str) -> Result<(String, Option<u16>), AddressError> {
    static BRACKETED: OnceLock<Option<Regex>> = OnceLock::new();
    static HOSTPORT: OnceLock<Option<Regex>> = OnceLock::new();
    static LABEL: OnceLock<Option<Regex>> = OnceLock::new();
    static IPV6: OnceLock<Option<Regex>> = OnceLock::new();
    let mut host = address.to_owned();
    let mut port = None;
    for (cell, src) in [
        (&BRACKETED, r"^\[(.+)\]:([0-9]+)$"),
        (&HOSTPORT, r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$"),
    ] {
        if let Some(caps) = re(cell, src).and_then(|r| r.captures(&host)) {
            let h = caps.get(1).map_or("", |m| m.as_str()).to_owned();
            let p = caps.get(2).map_or("", |m| m.as_str());
            port = Some(p.parse::<u16>().map_err(|_| AddressError::PortOutOfRange {
                port: p.to_owned(),
                address: address.to_owned(),
            })?);
            host = h;
        }
    }
    let range = r"\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
    let label_src = format!(r"^(?:\w|{range})(?:[\w-]|{range})*$");
    let is_hostname = !host.is_empty()
        && host.split('.').all(|label| {
            re(&LABEL, &label_src).is_some_and(|r| r.is_match(label))
                && !label.ends_with('-')
                && !label.ends_with('_')
        });
    let is_ipv6 = host.matches(':').count() >= 2
        && re(&IPV6, r"^[0-9a-fA-F:.\[\]]+$").is_some_and(|r| r.is_match(&host));
    if !is_hostname && !is_ipv6 {
        return Err(AddressError::NotAHost(host));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_with_leading_zeros() {
        assert_eq!(
            expand("web[01:03].example.com").unwrap_or_default(),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(expand("h[8:10]").unwrap_or_default(), ["h8", "h9", "h10"]);
        assert_eq!(expand("h[:2]").unwrap_or_default(), ["h0", "h1", "h2"]);
    }

    #[test]
    fn letters_strides_and_multiple_ranges() {
        assert_eq!(expand("db[a:c]").unwrap_or_default(), ["dba", "dbb", "dbc"]);
        assert_eq!(expand("n[1:10:4]").unwrap_or_default(), ["n1", "n5", "n9"]);
        assert_eq!(
            expand("x[y:B]").unwrap_or_default(),
            ["xy", "xz", "xA", "xB"]
        );
        assert_eq!(
            expand("r[1:2]-[a:b]").unwrap_or_default(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
    }

    #[test]
    fn bad_ranges_are_errors() {
        for bad in [
            "h[1]",
            "h[1:]",
            "h[01:100]",
            "h[5:1]",
            "h[1:3:0]",
            "h[1:3:x]",
            "h[a:5]",
            "h[1:2",
            "h[c:a]",
            "h[1:2:3:4]",
        ] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_and_ports() {
        assert_eq!(parse_address("h1:2222"), Ok(("h1".into(), Some(2222))));
        assert_eq!(parse_address("web[01:03]"), Ok(("web[01:03]".into(), None)));
        assert_eq!(parse_address("w[1:3]:22"), Ok(("w[1:3]".into(), Some(22))));
        assert_eq!(
            parse_address("10.0.0.1:22"),
            Ok(("10.0.0.1".into(), Some(22)))
        );
        assert_eq!(parse_address("[::1]:22"), Ok(("::1".into(), Some(22))));
        assert_eq!(parse_address("fe80::1"), Ok(("fe80::1".into(), None)));
        assert!(parse_address("bad host").is_err());
        assert!(parse_address("h:").is_err());
        assert!(parse_address("h-").is_err());
        assert!(parse_address("h:99999").is_err());
    }
}

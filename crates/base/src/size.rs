//! Byte sizes as people write them on a command line or in a variable (`4MiB`, `512KiB`,
//! `1000000`), and back into text for messages: one reading for every size option.

/// A text that is not a size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a size ({reason}): write a whole number of bytes, with a unit if you like, \
     e.g. 4MiB, 512KiB, 1000000 (KiB, MiB, GiB, TiB or K, M, G, T count in 1024s; KB, MB, GB, TB \
     in 1000s)"
)]
pub struct SizeError {
    pub text: String,
    pub reason: &'static str,
}

const KIB: u64 = 1024;
const MIB: u64 = KIB * 1024;
const GIB: u64 = MIB * 1024;
const TIB: u64 = GIB * 1024;

/// The multiplier of a unit (any case), `None` for an unknown one.
fn unit(u: &str) -> Option<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("", 1),
        ("b", 1),
        ("k", KIB),
        ("kib", KIB),
        ("kb", 1000),
        ("m", MIB),
        ("mib", MIB),
        ("mb", 1000 * 1000),
        ("g", GIB),
        ("gib", GIB),
        ("gb", 1000 * 1000 * 1000),
        ("t", TIB),
        ("tib", TIB),
        ("tb", 1000 * 1000 * 1000 * 1000),
    ];
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(u))
        .map(|(_, m)| *m)
}

/// Reads a size: digits, then optional spaces and a unit (see [`SizeError`]'s message).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let bad = |reason| SizeError {
        text: text.to_owned(),
        reason,
    };
    let t = text.trim();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return Err(bad(if t.is_empty() { "empty" } else { "no number" }));
    }
    let (number, rest) = t.split_at(digits);
    let multiplier = unit(rest.trim_start()).ok_or_else(|| bad("unknown unit"))?;
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| bad("too large"))
}

/// A size in the shortest form [`parse_size`] reads back exactly: `4MiB`, `1000000`.
pub fn format_size(n: u64) -> String {
    for (name, m) in [("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)] {
        if n >= m && n.is_multiple_of(m) {
            return format!("{}{name}", n / m);
        }
    }
    n.to_string()
}

/// A byte count for people: `900 bytes`, `1500000000 bytes (1.4 GiB)`.
pub fn describe_bytes(n: u64) -> String {
    let approx = [("GiB", GIB), ("MiB", MIB), ("KiB", KIB)]
        .into_iter()
        .find(|(_, m)| n >= *m)
        .map(|(name, m)| format!(" ({:.1} {name})", n as f64 / m as f64));
    format!("{n} bytes{}", approx.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_and_without_units() {
        for (text, n) in [
            ("1000000", 1_000_000),
            ("4MiB", 4 * MIB),
            ("4 MiB", 4 * MIB),
            (" 512KiB ", 512 * KIB),
            ("512kib", 512 * KIB),
            ("2K", 2048),
            ("3M", 3 * MIB),
            ("1G", GIB),
            ("1GB", 1_000_000_000),
            ("5kb", 5000),
            ("7B", 7),
            ("1TiB", TIB),
            ("0", 0),
        ] {
            assert_eq!(parse_size(text), Ok(n), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_size_says_why() {
        for (text, reason) in [
            ("", "empty"),
            ("MiB", "no number"),
            ("-1", "no number"),
            ("4XB", "unknown unit"),
            ("1.5MiB", "unknown unit"),
            ("4 MiB s", "unknown unit"),
            ("99999999999999999999", "too large"),
            ("99999999TiB", "too large"),
        ] {
            let err = parse_size(text).expect_err(text);
            assert_eq!(err.reason, reason, "{text}");
            assert!(err.to_string().contains("e.g. 4MiB"), "{err}");
        }
    }

    #[test]
    fn formatted_sizes_read_back() {
        for n in [0, 1, 1000, 1024, 4 * MIB, 4 * MIB + 1, 3 * GIB, 2 * TIB] {
            assert_eq!(parse_size(&format_size(n)), Ok(n));
        }
        assert_eq!(format_size(4 * MIB), "4MiB");
        assert_eq!(format_size(1_000_000), "1000000");
        assert_eq!(describe_bytes(900), "900 bytes");
        assert_eq!(describe_bytes(1_500_000_000), "1500000000 bytes (1.4 GiB)");
    }
}

//! RPM's version order (`rpmvercmp` of rpm's `rpmio/rpmvercmp.c`, and epoch, then version,
//! then release as `rpmVersionCompare` compares them): `dnf` decides with it whether an
//! installed package is newer than the one a spec names (dnf.py's `_is_newer_version_installed`
//! through hawkey's `evr_gt`), and orders the packages of its `list` results.

use std::cmp::Ordering;

/// `rpmvercmp`: segments of digits compare as numbers (and beat letters), segments of letters
/// as strings; `~` sorts before anything (even the end), `^` after the end but before anything
/// else; other characters only separate segments.
pub fn vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while x.first().is_some_and(|c| sep(*c)) {
            x = &x[1..];
        }
        while y.first().is_some_and(|c| sep(*c)) {
            y = &y[1..];
        }
        match (x.first(), y.first()) {
            (Some(b'~'), Some(b'~')) => {
                x = &x[1..];
                y = &y[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (Some(b'^'), Some(b'^')) => {
                x = &x[1..];
                y = &y[1..];
                continue;
            }
            (Some(b'^'), None) => return Ordering::Greater,
            (None, Some(b'^')) => return Ordering::Less,
            (Some(b'^'), _) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            (None, _) | (_, None) => break,
            _ => {}
        }
        let numeric = x[0].is_ascii_digit();
        let take = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (n, m) = (take(x), take(y));
        if m == 0 {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (sx, sy) = (&x[..n], &y[..m]);
        let order = if numeric {
            let trim = |s: &[u8]| -> usize { s.iter().take_while(|c| **c == b'0').count() };
            let (tx, ty) = (&sx[trim(sx)..], &sy[trim(sy)..]);
            tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
        } else {
            sx.cmp(sy)
        };
        if order != Ordering::Equal {
            return order;
        }
        x = &x[n..];
        y = &y[m..];
    }
    match (x.is_empty(), y.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// Epoch (a missing one is 0), then version, then release.
pub fn evr_cmp(a: (&str, &str, &str), b: (&str, &str, &str)) -> Ordering {
    let epoch = |e: &str| e.trim().parse::<u64>().unwrap_or(0);
    epoch(a.0)
        .cmp(&epoch(b.0))
        .then_with(|| vercmp(a.1, b.1))
        .then_with(|| vercmp(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpmvercmp_orders_as_rpm_does() {
        // Cases from rpm's own tests (tests/rpmvercmp.at).
        for (a, b, want) in [
            ("1.0", "1.0", Ordering::Equal),
            ("1.0", "2.0", Ordering::Less),
            ("2.0.1", "2.0", Ordering::Greater),
            ("2.0", "2.0.1", Ordering::Less),
            ("5.5p1", "5.5p2", Ordering::Less),
            ("5.5p10", "5.5p1", Ordering::Greater),
            ("10xyz", "10.1xyz", Ordering::Less),
            ("xyz10", "xyz10.1", Ordering::Less),
            ("1.0aa", "1.0a", Ordering::Greater),
            ("10", "9", Ordering::Greater),
            ("010", "10", Ordering::Equal),
            ("a", "1", Ordering::Less),
            ("1", "a", Ordering::Greater),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0~rc1", "1.0~rc2", Ordering::Less),
            ("1.0^", "1.0", Ordering::Greater),
            ("1.0^git1", "1.0.1", Ordering::Less),
            ("1.0^git1", "1.0^git2", Ordering::Less),
            ("1.0^", "1.0^git1", Ordering::Less),
            ("1.0~rc1^git1", "1.0~rc1", Ordering::Greater),
            ("2_0", "2_0", Ordering::Equal),
            ("2.0", "2_0", Ordering::Equal),
        ] {
            assert_eq!(vercmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn the_epoch_comes_first_then_the_release() {
        assert_eq!(
            evr_cmp(("1", "1.0", "1"), ("0", "9.0", "1")),
            Ordering::Greater
        );
        assert_eq!(
            evr_cmp(("", "1.0", "2"), ("0", "1.0", "10")),
            Ordering::Less
        );
        assert_eq!(
            evr_cmp(("0", "2.0", "1"), ("", "2.0", "1")),
            Ordering::Equal
        );
    }
}

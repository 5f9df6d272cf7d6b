//! POSIX shell quoting, byte-for-byte Python's `shlex.quote`, so values never become commands.

/// Quotes `s` for a POSIX shell exactly as Python's `shlex.quote` does.
pub fn quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn matches_python_shlex_quote() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("abc-1.2/x@y%z+=:,_"), "abc-1.2/x@y%z+=:,_");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("x; touch /tmp/canary"), "'x; touch /tmp/canary'");
        assert_eq!(quote("it's"), "'it'\"'\"'s'");
        assert_eq!(quote("é"), "'é'");
    }
}

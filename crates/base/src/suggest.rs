//! "Did you mean …?" hints, one copy for the playbook loader, the inventory reader and the
//! runner's undefined-variable messages, on `strsim`'s Levenshtein distance.

/// Levenshtein distance between `a` and `b`, counted in characters.
pub fn distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// The closest of `candidates` to `word`, if it is close enough to be a typo
/// (at most 2 edits; never for one- or two-letter words, nor for `word` itself).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    // Long words are no typos of a keyword, and would cost len² per candidate.
    if len > 64 {
        return None;
    }
    let limit = if len <= 2 { 0 } else { 2 };
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d > 0 && *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean `x`?` for the closest candidate, if any.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("héllo", "hello"), 1);
        assert_eq!(distance("same", "same"), 0);
    }

    #[test]
    fn suggestions() {
        let words = ["become", "hosts", "when", "vars"];
        assert_eq!(closest("becom", words), Some("become"));
        assert_eq!(closest("hots", words), Some("hosts"));
        assert_eq!(closest("whne", words), Some("when"));
        assert_eq!(closest("xyz", words), None);
        assert_eq!(closest("when", words), None);
        assert_eq!(closest("a", ["b"]), None);
        assert_eq!(closest("ab", ["abc"]), None);
        assert_eq!(closest(&"x".repeat(65), ["x"]), None);
        assert_eq!(
            did_you_mean("varz", words).as_deref(),
            Some("did you mean `vars`?")
        );
    }
}

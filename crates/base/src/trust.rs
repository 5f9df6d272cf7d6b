//! The strings this process's playbooks, task files and vars files hold as their authors wrote
//! them: ansible-core 2.19's `TrustedAsTemplate` tag, approximated. 2.19 evaluates a condition
//! reached through a template (`that: "{{ item }}"`, an args splat's `that`) only when the
//! string is trusted, and refuses one a template or a module produced ("Encountered untrusted
//! template or expression."). clearfleet's values carry no tags, so a string counts as trusted
//! when some file the loader read holds exactly it (never under `!unsafe`): what a template or a
//! host produced is refused unless it equals what an author wrote, which evaluates nothing the
//! author did not write. Process-wide, as the files a run reads are.

use std::collections::HashSet;
use std::sync::{OnceLock, RwLock};

fn set() -> &'static RwLock<HashSet<String>> {
    static TRUSTED: OnceLock<RwLock<HashSet<String>>> = OnceLock::new();
    TRUSTED.get_or_init(|| RwLock::new(HashSet::new()))
}

/// Records strings an author wrote in a file the loader read.
pub fn trust(strings: impl IntoIterator<Item = String>) {
    let mut s = set().write().unwrap_or_else(|p| p.into_inner());
    s.extend(strings);
}

/// Whether `s` is a string an author wrote (see the module's note).
pub fn is_trusted(s: &str) -> bool {
    set().read().unwrap_or_else(|p| p.into_inner()).contains(s)
}

/// Whether the condition `s` is trusted: as written, or with the surrounding whitespace 2.19
/// strips from every condition (a YAML block scalar's trailing newline).
pub fn is_trusted_condition(s: &str) -> bool {
    is_trusted(s) || is_trusted(s.trim())
}

/// 2.19's message for an untrusted condition (`TemplateTrustCheckFailedError`).
pub const UNTRUSTED: &str = "Encountered untrusted template or expression.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_recorded_is_trusted() {
        assert!(!is_trusted("cf-trust-test == 1"));
        trust(["cf-trust-test == 1".to_owned()]);
        assert!(is_trusted("cf-trust-test == 1"));
        assert!(!is_trusted("cf-trust-test == 2"));
    }
}

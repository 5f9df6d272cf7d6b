//! The words of each upgrade label ([`UpgradeLabel`]): the one place a label becomes words,
//! for the table, the summary line, the host pages and the HTML page.

use clearfleet_events::UpgradeLabel;

/// The label as a reader sees it: `failed (rolled back)`, `up to date`, `refused`.
pub fn words(label: UpgradeLabel) -> &'static str {
    use UpgradeLabel as L;
    match label {
        L::Upgraded => "upgraded",
        L::UpToDate => "up to date",
        L::WouldUpgrade => "would upgrade",
        L::WouldRollBack => "would roll back",
        L::NewerThanKnown => "newer than known",
        L::NoServer => "no server",
        L::Refused => "refused",
        L::RolledBack => "failed (rolled back)",
        L::Restarted => "failed (restarted, data untouched)",
        L::RollbackFailed => "rollback failed",
        L::NotChanged => "failed (not changed)",
        L::Failed => "failed",
        L::Unreachable => "unreachable",
        L::Interrupted => "interrupted",
        L::NotAttempted => "not attempted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_its_own_words_and_name() {
        let mut words_seen = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for l in UpgradeLabel::ALL {
            assert!(words_seen.insert(words(l)), "{l:?}");
            assert!(names.insert(l.as_str()), "{l:?}");
        }
        assert_eq!(words(UpgradeLabel::Refused), "refused");
        assert_ne!(
            UpgradeLabel::Refused.status(),
            clearfleet_events::HostStatus::Failed
        );
    }
}

//! ansible.cfg's `[defaults] gathering` (`ANSIBLE_GATHERING`): which plays gather facts and
//! whether a host whose facts are known gathers again, as ansible-core 2.19.14's
//! `PlayIterator` decides it (lib/ansible/executor/play_iterator.py, `get_next_task_for_host`;
//! the choices in lib/ansible/config/base.yml `DEFAULT_GATHERING`).

/// The gathering policy of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Gathering {
    /// Every play gathers unless it says `gather_facts: false` (Ansible's default).
    #[default]
    Implicit,
    /// Only plays that say `gather_facts: true` gather.
    Explicit,
    /// As `Implicit`, but a host whose facts are already known is not contacted again.
    Smart,
}

impl Gathering {
    /// The policy a setting's value names (`None`: not one of Ansible's choices).
    pub fn parse(value: &str) -> Option<Gathering> {
        match value.trim() {
            "implicit" => Some(Gathering::Implicit),
            "explicit" => Some(Gathering::Explicit),
            "smart" => Some(Gathering::Smart),
            _ => None,
        }
    }

    /// Whether a play whose `gather_facts` is `written` (`None`: not written) gathers.
    pub fn play_gathers(self, written: Option<bool>) -> bool {
        match self {
            Gathering::Implicit | Gathering::Smart => written != Some(false),
            Gathering::Explicit => written == Some(true),
        }
    }

    /// Whether a host that has facts (`known`) gathers again in a play that gathers.
    pub fn host_gathers(self, known: bool) -> bool {
        self != Gathering::Smart || !known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_the_play_iterator_decides() {
        use Gathering::*;
        for (policy, written, gathers) in [
            (Implicit, None, true),
            (Implicit, Some(true), true),
            (Implicit, Some(false), false),
            (Explicit, None, false),
            (Explicit, Some(true), true),
            (Explicit, Some(false), false),
            (Smart, None, true),
            (Smart, Some(false), false),
        ] {
            assert_eq!(
                policy.play_gathers(written),
                gathers,
                "{policy:?} {written:?}"
            );
        }
        assert!(Implicit.host_gathers(true));
        assert!(Explicit.host_gathers(true));
        assert!(!Smart.host_gathers(true));
        assert!(Smart.host_gathers(false));
        assert_eq!(Gathering::parse("smart"), Some(Smart));
        assert_eq!(Gathering::parse("sometimes"), None);
    }
}

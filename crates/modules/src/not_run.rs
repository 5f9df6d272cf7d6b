//! The `ansible.builtin` modules clearfleet does not run. A playbook naming one still loads
//! (with a warning naming the task): Ansible users keep such tasks under conditions that are
//! false on their hosts (`dnf5` on a Fedora-only
//! branch), and Ansible only fails a module when it runs. A typo of a module stays an error.

/// Every module of ansible-core 2.19.14 (`lib/ansible/modules/*.py` of its source package)
/// that is neither a host module here ([`crate::HOST_MODULES`]) nor an engine action
/// ([`crate::actions::ACTIONS`]). `async_wrapper` is left out: it is Ansible's internal
/// helper for `async`, never a task's module.
pub const NOT_RUN: &[&str] = &[
    "apt_key",
    "apt_repository",
    "assemble",
    "cron",
    "deb822_repository",
    "debconf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "git",
    "hostname",
    "iptables",
    "known_hosts",
    "mount_facts",
    "package_facts",
    "reboot",
    "rpm_key",
    "service_facts",
    "set_stats",
    "subversion",
    "wait_for_connection",
    "yum_repository",
];

/// Whether `module` (a short name) is an `ansible.builtin` module clearfleet does not run.
pub fn is_not_run(module: &str) -> bool {
    NOT_RUN.contains(&module)
}

/// Why a task naming such a module fails when it runs.
pub fn refusal(module: &str) -> String {
    format!(
        "clearfleet does not run the module `ansible.builtin.{module}` (docs/playbooks.md lists the modules it runs)"
    )
}

/// Why a task calling the playbook's own module or action plugin `name` (the file `path`, in
/// a `library/` or `action_plugins/` directory beside the playbook or in a role) fails when it
/// runs: clearfleet runs no Python plugin.
pub fn plugin_refusal(name: &str, path: &str) -> String {
    format!(
        "clearfleet does not run the playbook's own plugin `{name}` ({path}): it runs no Python plugins"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_module_is_both_run_and_not_run() {
        for m in NOT_RUN {
            assert!(!crate::MODULES.contains(m), "{m} is in MODULES too");
        }
        let mut sorted = NOT_RUN.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, NOT_RUN, "sorted, no duplicates");
    }
}

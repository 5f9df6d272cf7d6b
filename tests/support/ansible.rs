//! The reference `ansible-playbook` of the differential tests: where it is, and a command for it
//! isolated from the machine's Ansible settings.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory of scripts/install-ansible.sh's venv binaries: `$CLEARFLEET_ANSIBLE_BIN_DIR`,
/// else `.venv-ansible/bin` in the repository.
pub fn bin_dir() -> PathBuf {
    std::env::var_os("CLEARFLEET_ANSIBLE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ansible/bin"))
}

/// `ansible-playbook` of the venv; `None` (the test is skipped, with a message) when it is not
/// installed, a failure when `CI` is set.
pub fn ansible_playbook() -> Option<PathBuf> {
    let bin = bin_dir().join("ansible-playbook");
    if bin.exists() {
        return Some(bin);
    }
    let why = format!(
        "{} not found (set CLEARFLEET_ANSIBLE_BIN_DIR)",
        bin.display()
    );
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{why}; required because CI is set (run scripts/install-ansible.sh)");
    }
    eprintln!("SKIPPED: {why}");
    None
}

/// `program` (a binary of the venv) with a clean environment: the venv first on `PATH`, `home` as
/// HOME, its temporary directories under `home`, no colour, no retry files, host keys checked
/// (no `ANSIBLE_FORKS`: an ansible.cfg under test may set forks).
pub fn command(program: &Path, home: &Path) -> Command {
    let dir = program
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let tmp = home.join("ansible-tmp");
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            format!("{dir}:{}", std::env::var("PATH").unwrap_or_default()),
        )
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.join("remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_SSH_CONTROL_PATH", control_path());
    cmd
}

/// Where Ansible's OpenSSH keeps its ControlMaster sockets: the system's temporary directory and
/// ssh's `%C` (a hash of the local host, the remote host, its port and the user). Ansible's own
/// default, `~/.ansible/cp/<hash>` under `home`, breaks in a deep work directory: a socket's path
/// (with the master's 17-character suffix while it starts) must fit in 107 bytes, and past that
/// ssh exits 255, which ansible-playbook reports as "Data could not be sent to remote host"
/// (CI's clone at stop 19 failed the targets whose names are 11 characters or more).
/// `%%`: ansible formats the setting with Python's `%` before ssh reads it.
pub fn control_path() -> String {
    format!("{}/cf-ansible-%%C", std::env::temp_dir().display())
}

/// The inventory of `fleet` that both tools read: the venv's Python on the host, and Ansible's
/// OpenSSH checking the fleet's host keys.
pub fn inventory(fleet: &super::sshd::Fleet) -> super::sshd::Inventory {
    fleet
        .inventory()
        .var("ansible_python_interpreter", "/usr/bin/python3")
        .var(
            "ansible_ssh_common_args",
            format!(
                "'-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'",
                fleet.known_hosts_path().display()
            ),
        )
}

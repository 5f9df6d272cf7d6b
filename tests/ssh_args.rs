//! A host's `ansible_ssh_common_args` (or `_extra_args`, `ansible_ssh_args`) choose its
//! known_hosts file (`-o UserKnownHostsFile`) and its host key checking
//! (`-o StrictHostKeyChecking`), as they do for the `ssh` Ansible runs: an inventory written
//! for Ansible needs no `--known-hosts` flag. A bad value stops the run naming host and variable.

use crate::support;

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

fn args(known_hosts: &std::path::Path, checking: &str) -> String {
    format!(
        "'-C -o ControlMaster=auto -o UserKnownHostsFile={} -o StrictHostKeyChecking={checking}'",
        known_hosts.display()
    )
}

#[test]
fn ssh_common_args_choose_the_known_hosts_file_and_the_checking() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let empty = home.path().join("empty_known_hosts");
    write(home.path(), "empty_known_hosts", "");
    let exec = |h02_checking: &str| {
        let inv = fleet
            .inventory()
            .host_var(
                "h01",
                "ansible_ssh_common_args",
                args(fleet.known_hosts_path(), "yes"),
            )
            .host_var("h02", "ansible_ssh_extra_args", args(&empty, h02_checking))
            .write(home.path(), "inv.yml");
        clearfleet(home.path())
            .arg("exec")
            .arg("-i")
            .arg(inv)
            .args(["--output", "json", "--", "echo hello"])
            .run()
    };

    // h01 is checked against the fleet's file, h02 strictly against an empty one: refused.
    let run = exec("yes");
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.host_json("h01")["status"], "ok", "{run:?}");
    let h02 = run.host_json("h02");
    assert_eq!(h02["status"], "unreachable", "{h02}");
    let error = h02["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("is not known") && error.contains(&empty.display().to_string()),
        "{error}"
    );
    // Nothing went to HOME's known_hosts (the default file, accept-new by default).
    assert!(!home.path().join(".ssh/known_hosts").exists());
    assert_eq!(std::fs::read_to_string(&empty).unwrap_or_default(), "");

    // accept-new through the variable writes h02's key to its own file.
    let run = exec("accept-new");
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(&empty).unwrap_or_default();
    assert!(
        written.contains(&fleet.host(1).public_key_line()),
        "{written}"
    );
    assert!(!home.path().join(".ssh/known_hosts").exists());

    // no: accepted without a look, and said so.
    std::fs::write(&empty, "").unwrap_or_else(|e| panic!("{e}"));
    let run = exec("no");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr.contains("host key checking is off for h02"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&empty).unwrap_or_default(), "");

    // A value ssh would refuse: nothing contacted, the host and the variable named.
    let accepted = fleet.host(0).accepted_connections();
    let run = exec("maybe");
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("h02")
            && run.stderr.contains("ansible_ssh_extra_args")
            && run.stderr.contains("StrictHostKeyChecking=maybe"),
        "{}",
        run.stderr
    );
    assert_eq!(fleet.host(0).accepted_connections(), accepted);
}

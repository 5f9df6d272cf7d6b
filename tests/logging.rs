//! `--log-file`: one span per host, and no secret (SSH password, become password, the output
//! of a `no_log` task) in the log file, on stdout, on stderr or in the report, even at `-vv`.

use crate::support;

use support::cli::{clearfleet, temp_home, write};
use support::sshd::{CF_PASS_PASSWORD, Fleet};

#[test]
fn secrets_never_reach_the_log_file_the_output_or_the_report() {
    let Some(fleet) = Fleet::with_test_users(2) else {
        return;
    };
    let home = temp_home();
    let [h1, h2] = [&fleet.hosts()[0], &fleet.hosts()[1]];
    let become_password = "cf-sudo-secret-2";
    let hidden = "nolog-value-7f3e";
    // h01 logs in as cf-pass with its password, h02 as cf-sudo with the key and becomes root.
    let inv = fleet
        .inventory()
        .var("blob", hidden)
        .unset_var("ansible_ssh_private_key_file")
        .host_var(h1.name(), "ansible_user", "cf-pass")
        .host_var(h1.name(), "ansible_password", CF_PASS_PASSWORD)
        .host_var(h2.name(), "ansible_user", "cf-sudo")
        .host_var(
            h2.name(),
            "ansible_ssh_private_key_file",
            fleet.client_key().display(),
        )
        .host_var(h2.name(), "ansible_become", true)
        .host_var(h2.name(), "ansible_become_password", become_password)
        .write(home.path(), "inv.yml");
    let pb = write(
        home.path(),
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - name: Who\n      command: id -un\n\
         \x20   - name: Hidden\n      command: echo {{ blob }}\n      no_log: true\n\
         \x20   - name: Hidden failure\n      shell: echo {{ blob }} >&2; exit 3\n      no_log: true\n      ignore_errors: true\n",
    );
    let run = clearfleet(home.path())
        .args(["run", "-vv", "--log-file", "run.log", "--report-dir", "rep"])
        .fleet(&inv, fleet.known_hosts_path())
        .arg(&pb)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("\ncf-pass\n") || run.stdout.contains("cf-pass"),
        "{run:?}"
    );
    let log = std::fs::read_to_string(home.path().join("run.log")).unwrap_or_default();
    // One span per host, with the task results inside it.
    for h in [h1.name(), h2.name()] {
        assert!(
            log.lines().any(|l| l.contains(&format!("host{{host={h}}}"))
                && l.contains("task result")
                && l.contains("task=Who")),
            "no span for {h}:\n{log}"
        );
    }
    assert!(log.contains("run finished"), "{log}");
    let secrets = [CF_PASS_PASSWORD, become_password, hidden];
    support::secrets::assert_nowhere(&secrets, &run, &[&home.path().join("rep")]);
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} in run.log:\n{log}");
    }
}

#[test]
fn an_unwritable_log_file_is_an_input_error() {
    let home = temp_home();
    let inv = write(home.path(), "inv.yml", "all:\n  hosts:\n    a:\n");
    let run = clearfleet(home.path())
        .args(["exec", "--log-file", "no/such/dir/x.log", "-i"])
        .arg(&inv)
        .args(["--", "true"])
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: cannot open the log file no/such/dir/x.log"),
        "{}",
        run.stderr
    );
}

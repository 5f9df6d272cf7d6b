//! The same Ansible playbook (tests/fixtures/run/ansible_compat.yml) under `ansible-playbook`
//! and `clearfleet run`, against the same real sshd hosts: the PLAY RECAP of every host and the
//! values each run dumped must be equal.
//!
//! `ansible-playbook` comes from `$CLEARFLEET_ANSIBLE_BIN_DIR` (scripts/install-ansible.sh's
//! venv); without it the test is skipped with a message, or fails when `CI` is set.
//!
//! Accepted differences (see docs/playbooks.md, "Differences from Ansible"): none in the recap
//! counts or the dumped values of this playbook. Values that differ by nature (timings, the
//! exact `cmd` form, fact sets) are not dumped.

use crate::support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::cli::{Recap, clearfleet, temp_home};
use support::sshd::Fleet;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

fn ansible_playbook() -> Option<PathBuf> {
    let dir = std::env::var_os("CLEARFLEET_ANSIBLE_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ansible/bin"));
    let bin = dir.join("ansible-playbook");
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

/// `host -> [ok, changed, unreachable, failed, skipped, rescued, ignored]` from a PLAY RECAP.
fn recaps(stdout: &str, hosts: &[&str]) -> Vec<(String, [u32; 7])> {
    hosts
        .iter()
        .map(|h| ((*h).to_owned(), Recap::of(stdout, h).counts()))
        .collect()
}

fn dumped(dir: &Path, name: &str) -> serde_json::Value {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} ({e}): {text}"))
}

/// An inventory of `fleet` that both tools read (Ansible's SSH checks the same known_hosts).
fn inventory(fleet: &Fleet, home: &Path) -> PathBuf {
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
        .write(home, "inv.yml")
}

/// `ansible-playbook -i inv -e work_dir=... playbook` with `env` added: (exit code, stdout,
/// stderr).
fn run_ansible(
    ansible: &Path,
    home: &Path,
    inv: &Path,
    work_dir: &Path,
    playbook: &Path,
    env: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    let tmp = home.join("ansible-tmp");
    let mut cmd = Command::new(ansible);
    cmd.arg("-i")
        .arg(inv)
        .arg("-e")
        .arg(format!("work_dir={}", work_dir.display()))
        .arg(playbook)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                ansible
                    .parent()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", home)
        .env("LANG", "C.UTF-8")
        .env("ANSIBLE_LOCAL_TEMP", tmp.join("local"))
        .env("ANSIBLE_REMOTE_TEMP", tmp.join("remote"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("ANSIBLE_HOST_KEY_CHECKING", "True")
        .env("ANSIBLE_FORKS", "5");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One fixture run by both tools against the same two sshd hosts (`h01`, `h02`), each with
/// its own `work_dir` and `env` added; both must succeed with the same PLAY RECAP.
struct Both {
    /// Holds both work directories.
    _home: tempfile::TempDir,
    ours_dir: PathBuf,
    theirs_dir: PathBuf,
    ours_stdout: String,
    theirs_stdout: String,
}

const HOSTS: [&str; 2] = ["h01", "h02"];

fn run_both(fixture_name: &str, env: &[(&str, &str)]) -> Option<Both> {
    let ansible = ansible_playbook()?;
    let fleet = Fleet::start(2)?;
    let home = temp_home();
    let inv = inventory(&fleet, home.path());
    let ours_dir = home.path().join("clearfleet");
    let theirs_dir = home.path().join("ansible");
    for d in [&ours_dir, &theirs_dir] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{d:?}: {e}"));
    }
    let playbook = fixture(fixture_name);
    let mut ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .arg("-e")
        .arg(format!("work_dir={}", ours_dir.display()))
        .arg(&playbook);
    for (k, v) in env {
        ours = ours.env(k, v);
    }
    let ours = ours.run();
    let (code, theirs_stdout, theirs_stderr) =
        run_ansible(&ansible, home.path(), &inv, &theirs_dir, &playbook, env);
    assert_eq!(
        code,
        Some(0),
        "ansible-playbook:\n{theirs_stdout}\n{theirs_stderr}"
    );
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}");
    assert_eq!(
        recaps(&ours.stdout, &HOSTS),
        recaps(&theirs_stdout, &HOSTS),
        "PLAY RECAP differs\n--- clearfleet:\n{}\n--- ansible:\n{theirs_stdout}",
        ours.stdout
    );
    Some(Both {
        _home: home,
        ours_dir,
        theirs_dir,
        ours_stdout: ours.stdout,
        theirs_stdout,
    })
}

#[test]
fn ansible_and_clearfleet_agree_on_the_compat_playbook() {
    let Some(Both {
        ours_dir,
        theirs_dir,
        ours_stdout,
        theirs_stdout,
        ..
    }) = run_both("ansible_compat.yml", &[])
    else {
        return;
    };
    let hosts = HOSTS;
    for name in hosts
        .iter()
        .flat_map(|h| [format!("{h}-result.json"), format!("{h}-free.json")])
    {
        assert_eq!(
            dumped(&ours_dir, &name),
            dumped(&theirs_dir, &name),
            "registered values differ in {name}\n--- clearfleet:\n{ours_stdout}\n--- ansible:\n{theirs_stdout}",
        );
    }
    // Both left the same files on the hosts.
    for h in hosts {
        for f in [
            "app.conf",
            "hosts.txt",
            "alpha.txt",
            "beta.txt",
            "count",
            "config-changed",
            "peers.txt",
        ] {
            let a = std::fs::read(ours_dir.join(h).join(f)).ok();
            let b = std::fs::read(theirs_dir.join(h).join(f)).ok();
            assert!(a.is_some(), "{h}/{f} missing under clearfleet");
            assert_eq!(a, b, "{h}/{f}");
        }
        assert!(!ours_dir.join(h).join("gamma.txt").exists());
    }
}

/// Lookups (`lookup`/`query` of file, template, vars, env, pipe, first_found, fileglob,
/// items, dict, together, sequence, indexed_items, password with a seed and with its file),
/// `with_<lookup>` loops, `loop_control` `extended`/`pause`/`index_var`, templated `retries`,
/// `delay`, `ignore_errors` and `loop_control.pause`, and variables left undefined on a path
/// that never runs (tests/fixtures/run/lookups/): the same recap and values under both.
#[test]
fn ansible_and_clearfleet_agree_on_lookups_and_loops() {
    let Some(Both {
        ours_dir,
        theirs_dir,
        ..
    }) = run_both(
        "lookups/lookups.yml",
        &[("CLEARFLEET_LOOKUP_TEST", "from-env")],
    )
    else {
        return;
    };
    let hosts = HOSTS;
    for h in hosts {
        let name = format!("{h}-lookups.json");
        let (a, b) = (dumped(&ours_dir, &name), dumped(&theirs_dir, &name));
        assert_eq!(
            a, b,
            "values differ in {name}\n--- clearfleet:\n{a:#}\n--- ansible:\n{b:#}"
        );
        // Not two empty dumps agreeing: the values are there.
        assert_eq!(a["looked_up"]["file"], "message of the day", "{a:#}");
        assert_eq!(a["w_seq"], serde_json::json!(["n1", "n2", "n3"]), "{a:#}");
        assert_eq!(a["w_seq_loop"][1]["previtem"], "n1", "{a:#}");
        // The password file holds what the lookup returned, and a newline; 0600, as Ansible's.
        let file = ours_dir.join("pw").join(h);
        let pw = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(pw.len(), 13, "{pw:?}");
        let mode = std::fs::metadata(&file).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
    }
}

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

use support::ansible;
use support::cli::{Recap, clearfleet, temp_home};
use support::sshd::Fleet;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

/// `host -> [ok, changed, unreachable, failed, skipped, rescued, ignored]` from a PLAY RECAP.
pub(crate) fn recaps(stdout: &str, hosts: &[&str]) -> Vec<(String, [u32; 7])> {
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

/// An inventory of `fleet` that both tools read: Ansible's OpenSSH checks the fleet's host keys.
fn shared_inventory(fleet: &Fleet, dir: &Path) -> PathBuf {
    ansible::inventory(fleet).write(dir, "inv.yml")
}

/// Both runs of one fixture: clearfleet's (its `work_dir` is `home/clearfleet`) and
/// ansible-playbook's (`home/ansible`), against the same two sshd hosts.
struct Both {
    home: tempfile::TempDir,
    ours: support::cli::Run,
    theirs: String,
}

impl Both {
    fn ours_dir(&self) -> PathBuf {
        self.home.path().join("clearfleet")
    }

    fn theirs_dir(&self) -> PathBuf {
        self.home.path().join("ansible")
    }
}

/// Runs the fixture `playbook` under both tools; both must succeed with the same PLAY RECAP
/// of `hosts`. `None` when ansible-playbook or sshd is not available (skipped).
fn run_both(playbook: &str, hosts: &[&str]) -> Option<Both> {
    let ansible = ansible::ansible_playbook()?;
    let fleet = Fleet::start(hosts.len())?;
    let home = temp_home();
    let inv = shared_inventory(&fleet, home.path());
    let playbook = fixture(playbook);
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .arg("-e")
        .arg(format!(
            "work_dir={}",
            home.path().join("clearfleet").display()
        ))
        .arg(&playbook)
        .run();
    let out = ansible::command(&ansible, home.path())
        .arg("-i")
        .arg(&inv)
        .arg("-e")
        .arg(format!(
            "work_dir={}",
            home.path().join("ansible").display()
        ))
        .arg(&playbook)
        .env("ANSIBLE_FORKS", "5")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ansible-playbook:\n{theirs}\n{stderr}"
    );
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}\n--- ansible:\n{theirs}");
    assert_eq!(
        recaps(&ours.stdout, hosts),
        recaps(&theirs, hosts),
        "PLAY RECAP differs\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
        ours.stdout
    );
    Some(Both { home, ours, theirs })
}

#[test]
fn ansible_and_clearfleet_agree_on_the_compat_playbook() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both("ansible_compat.yml", &hosts) else {
        return;
    };
    let (ours, theirs_stdout) = (&both.ours, &both.theirs);
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    for name in hosts
        .iter()
        .flat_map(|h| [format!("{h}-result.json"), format!("{h}-free.json")])
    {
        assert_eq!(
            dumped(&ours_dir, &name),
            dumped(&theirs_dir, &name),
            "registered values differ in {name}\n--- clearfleet:\n{}\n--- ansible:\n{theirs_stdout}",
            ours.stdout
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

/// The role-based playbook (tests/fixtures/run/roles_compat: `roles:` with a parameter and a
/// duplicate, `meta/main.yml` dependencies run once, defaults, vars, `files/`, `templates/`,
/// a role handler, `include_role` with `tasks_from`, `import_role`) under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_roles() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both("roles_compat/site.yml", &hosts) else {
        return;
    };
    let (ours, theirs) = (&both.ours, &both.theirs);
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    for h in hosts {
        for f in ["result.json", "runs", "index.html", "site.conf"] {
            let a = std::fs::read_to_string(ours_dir.join(h).join(f)).ok();
            let b = std::fs::read_to_string(theirs_dir.join(h).join(f)).ok();
            assert!(
                a.is_some(),
                "{h}/{f} missing under clearfleet:\n{}",
                ours.stdout
            );
            assert_eq!(
                a, b,
                "{h}/{f}\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
                ours.stdout
            );
        }
    }
    // Task names as Ansible prints them.
    for name in [
        "TASK [web : Copy the index from files/]",
        "TASK [common : Make the host's directory]",
    ] {
        assert!(theirs.contains(name), "{theirs}");
        assert!(ours.stdout.contains(name), "{}", ours.stdout);
    }
}

/// An `ansible.cfg` in the current directory gives the inventory, `remote_user`,
/// `private_key_file`, `forks` and `roles_path`; the inventory sets none of the connection
/// variables and the command lines name no inventory. Both tools must reach the hosts, find
/// the role only through `roles_path`, and run one host at a time (`forks = 1`).
#[test]
fn ansible_and_clearfleet_agree_on_ansible_cfg() {
    let Some(ansible) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let dir = home.path();
    ansible::inventory(&fleet)
        .unset_var("ansible_user")
        .unset_var("ansible_ssh_private_key_file")
        .write(dir, "fleet.yml");
    support::cli::write(
        dir,
        "ansible.cfg",
        &format!(
            "[defaults]\ninventory = fleet.yml\nremote_user = root\nprivate_key_file = {}\nforks = 1\nroles_path = ./shelf\n",
            fleet.client_key().display()
        ),
    );
    support::cli::write(
        dir,
        "shelf/timed/tasks/main.yml",
        "- name: Time the host's turn\n  ansible.builtin.shell: \"mkdir -p {{ out }} && date +%s%N > {{ out }}/start && sleep 0.5 && date +%s%N > {{ out }}/end && whoami > {{ out }}/user\"\n  vars:\n    out: \"{{ work_dir }}/{{ inventory_hostname }}\"\n",
    );
    let playbook = support::cli::write(
        dir,
        "play/site.yml",
        "- hosts: all\n  gather_facts: false\n  roles:\n    - timed\n",
    );
    let ours_dir = dir.join("clearfleet");
    let theirs_dir = dir.join("ansible");
    let ours = clearfleet(dir)
        .arg("run")
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .arg("-e")
        .arg(format!("work_dir={}", ours_dir.display()))
        .arg(&playbook)
        .run();
    let out = ansible::command(&ansible, dir)
        .current_dir(dir)
        .arg("-e")
        .arg(format!("work_dir={}", theirs_dir.display()))
        .arg(&playbook)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "ansible-playbook:\n{theirs}");
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}");
    let hosts = ["h01", "h02"];
    assert_eq!(recaps(&ours.stdout, &hosts), recaps(&theirs, &hosts));
    for root in [&ours_dir, &theirs_dir] {
        let read = |h: &str, f: &str| -> u128 {
            let path = root.join(h).join(f);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            text.trim()
                .parse()
                .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        };
        let (a, b) = (
            (read("h01", "start"), read("h01", "end")),
            (read("h02", "start"), read("h02", "end")),
        );
        assert!(
            a.1 <= b.0 || b.1 <= a.0,
            "{}: with forks = 1 the hosts' turns overlap: {a:?} {b:?}",
            root.display()
        );
        for h in hosts {
            let user = std::fs::read_to_string(root.join(h).join("user")).unwrap_or_default();
            assert_eq!(user.trim(), "root", "{}", root.display());
        }
    }
}

/// Lookups (`lookup`/`query` of file, template, vars, env, pipe, first_found, fileglob,
/// items, dict, together, sequence, indexed_items, password with a seed and with its file),
/// `with_<lookup>` loops, `loop_control` `extended`/`pause`/`index_var`, templated `retries`,
/// `delay`, `ignore_errors` and `loop_control.pause`, and variables left undefined on a path
/// that never runs (tests/fixtures/run/lookups/): the same recap and values under both.
#[test]
fn ansible_and_clearfleet_agree_on_lookups_and_loops() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both("lookups/lookups.yml", &hosts) else {
        return;
    };
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
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

/// `include_vars` (tests/fixtures/run/include_vars/): free form and `file`, `name`, `dir` with
/// `depth`, `files_matching`, `ignore_files`, `extensions`, `ignore_unknown_extensions`,
/// `hash_behaviour: merge`, a loop with `when`, precedence (above play vars, below
/// `set_fact`), a missing file and a bad extension failing, a role's `vars/`: the same recap
/// and values under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_include_vars() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both("include_vars/site.yml", &hosts) else {
        return;
    };
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    for h in hosts {
        let name = format!("{h}-include_vars.json");
        let (a, b) = (dumped(&ours_dir, &name), dumped(&theirs_dir, &name));
        assert_eq!(
            a, b,
            "values differ in {name}\n--- clearfleet:\n{a:#}\n--- ansible:\n{b:#}"
        );
        // Not two empty dumps agreeing: the values are there.
        assert_eq!(a["vars"][0], "included", "{a:#}");
        assert_eq!(a["vars"][9], "fact", "{a:#}");
    }
}

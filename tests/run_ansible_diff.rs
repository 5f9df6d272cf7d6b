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
use support::cli::{Recap, clearfleet, temp_home, write};
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

pub(crate) fn dumped(dir: &Path, name: &str) -> serde_json::Value {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} ({e}): {text}"))
}

/// The reference reaches the test hosts from a work directory as deep as CI's clones make them:
/// its ControlMaster sockets do not live under `HOME` (see [`ansible::control_path`]).
#[test]
fn ansible_reaches_the_hosts_from_a_deep_home() {
    let Some(ansible) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let top = temp_home();
    // Deeper than a Unix socket's 107 bytes, whatever the temporary directory's own path.
    let home = top.path().join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&home).expect("deep home");
    let inv = ansible::inventory(&fleet).write(&home, "inv.yml");
    let playbook = write(
        &home,
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n",
    );
    let out = ansible::command(&ansible, &home)
        .arg("-i")
        .arg(&inv)
        .arg(&playbook)
        // As the targets' inventory has it: CI's failure said "Data could not be sent".
        .env("ANSIBLE_PIPELINING", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        recaps(&stdout, &["h01"]),
        vec![("h01".to_owned(), [1, 1, 0, 0, 0, 0, 0])]
    );
}

/// Both runs of one fixture: clearfleet's (its `work_dir` is `home/clearfleet`) and
/// ansible-playbook's (`home/ansible`), against the same two sshd hosts.
pub(crate) struct Both {
    home: tempfile::TempDir,
    pub(crate) ours: support::cli::Run,
    pub(crate) theirs: String,
}

impl Both {
    pub(crate) fn ours_dir(&self) -> PathBuf {
        self.home.path().join("clearfleet")
    }

    pub(crate) fn theirs_dir(&self) -> PathBuf {
        self.home.path().join("ansible")
    }

    /// The file `name` each run dumped into its `work_dir`, as pretty JSON (so that a
    /// difference reads as lines) with that `work_dir` shown as `WORK`: asserted the same under
    /// both tools, and clearfleet's returned.
    pub(crate) fn same_dump(&self, name: &str) -> String {
        let pretty = |dir: PathBuf| {
            serde_json::to_string_pretty(&dumped(&dir, name))
                .unwrap_or_default()
                .replace(&dir.display().to_string(), "WORK")
        };
        let ours = pretty(self.ours_dir());
        assert_eq!(
            ours,
            pretty(self.theirs_dir()),
            "{name}\n--- clearfleet:\n{}\n--- ansible:\n{}",
            self.ours.stdout,
            self.theirs
        );
        ours
    }
}

/// Runs the fixture `playbook` under both tools; both must succeed with the same PLAY RECAP
/// of `hosts`. `None` when ansible-playbook or sshd is not available (skipped).
pub(crate) fn run_both(playbook: &str, hosts: &[&str]) -> Option<Both> {
    run_both_with(playbook, hosts, &[], |_, inv| inv)
}

/// [`run_both`] with the shared inventory (Ansible's OpenSSH checks the fleet's host keys)
/// adjusted by `inventory`, for a playbook that adds hosts (`add_host`): `added` are in the
/// PLAY RECAPs compared, not in the inventory.
pub(crate) fn run_both_with(
    playbook: &str,
    hosts: &[&str],
    added: &[&str],
    inventory: impl FnOnce(&Fleet, support::sshd::Inventory) -> support::sshd::Inventory,
) -> Option<Both> {
    run_both_full(
        playbook,
        hosts,
        added,
        &[],
        inventory,
        true,
        Fleet::start,
        &|_| {},
    )
}

/// [`run_both_with`], both command lines ending with `args` before the playbook (`-e ...`);
/// `{work_dir}` in an argument is each tool's own work directory (for a file each run changes,
/// such as an inventory source that `meta: refresh_inventory` reads again).
pub(crate) fn run_both_args(
    playbook: &str,
    hosts: &[&str],
    added: &[&str],
    args: &[&str],
    inventory: impl FnOnce(&Fleet, support::sshd::Inventory) -> support::sshd::Inventory,
) -> Option<Both> {
    run_both_full(
        playbook,
        hosts,
        added,
        args,
        inventory,
        true,
        Fleet::start,
        &|_| {},
    )
}

/// [`run_both_with`] for a playbook in which some host fails: both tools must exit non-zero
/// (ansible-playbook's 2 for a failed host), with the same PLAY RECAP.
pub(crate) fn run_both_failing(playbook: &str, hosts: &[&str]) -> Option<Both> {
    run_both_full(
        playbook,
        hosts,
        &[],
        &[],
        |_, inv| inv,
        false,
        Fleet::start,
        &|_| {},
    )
}

/// [`run_both`] on hosts that each have their own copy of the machine's `/etc` (taken when the
/// host starts), for the account modules: nothing they change reaches the machine.
pub(crate) fn run_both_private_etc(playbook: &str, hosts: &[&str]) -> Option<Both> {
    run_both_full(
        playbook,
        hosts,
        &[],
        &[],
        |_, inv| inv,
        true,
        |n| Fleet::builder().hosts(n).private_etc(true).build(),
        &|_| {},
    )
}

/// `args` with `{work_dir}` made `work_dir`.
fn own(args: &[&str], work_dir: &Path) -> Vec<String> {
    let dir = work_dir.display().to_string();
    args.iter().map(|a| a.replace("{work_dir}", &dir)).collect()
}

/// The one runner of both tools; `prepare` writes what the runs need in their home first.
#[expect(
    clippy::too_many_arguments,
    reason = "the wrappers above name the common cases"
)]
fn run_both_full(
    playbook: &str,
    hosts: &[&str],
    added: &[&str],
    args: &[&str],
    inventory: impl FnOnce(&Fleet, support::sshd::Inventory) -> support::sshd::Inventory,
    succeed: bool,
    fleet: impl FnOnce(usize) -> Option<Fleet>,
    prepare: &dyn Fn(&Path),
) -> Option<Both> {
    let ansible = ansible::ansible_playbook()?;
    let fleet = fleet(hosts.len())?;
    let home = temp_home();
    prepare(home.path());
    let inv = inventory(&fleet, ansible::inventory(&fleet)).write(home.path(), "inv.yml");
    let playbook = fixture(playbook);
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .arg("-e")
        .arg(format!(
            "work_dir={}",
            home.path().join("clearfleet").display()
        ))
        .args(own(args, &home.path().join("clearfleet")))
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
        .args(own(args, &home.path().join("ansible")))
        .arg(&playbook)
        .env("ANSIBLE_FORKS", "5")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if succeed {
        assert_eq!(
            out.status.code(),
            Some(0),
            "ansible-playbook:\n{theirs}\n{stderr}"
        );
        assert_eq!(ours.code, 0, "clearfleet: {ours:?}\n--- ansible:\n{theirs}");
    } else {
        assert_eq!(
            out.status.code(),
            Some(2),
            "ansible-playbook:\n{theirs}\n{stderr}"
        );
        assert_ne!(ours.code, 0, "clearfleet: {ours:?}\n--- ansible:\n{theirs}");
    }
    let hosts: Vec<&str> = hosts.iter().chain(added).copied().collect();
    assert_eq!(
        recaps(&ours.stdout, &hosts),
        recaps(&theirs, &hosts),
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

/// Role argument specs (tests/fixtures/run/roles_arg_spec, after ansible-core 2.19.14's
/// roles_arg_spec target): the implicit validation task of `roles:`, `include_role` and
/// `import_role` (entry points by `tasks_from`, one without a spec, the role's defaults, a spec
/// in `meta/main.yml` with nested options), its failures as `rescue` sees them,
/// `rolespec_validate: false`, the `validate_argument_spec` action itself; then the task's
/// `always` tag under `--tags bar`.
#[test]
fn ansible_and_clearfleet_agree_on_role_argument_specs() {
    let Some(both) = run_both("roles_arg_spec/site.yml", &["h01"]) else {
        return;
    };
    both.same_dump("h01-argspec.json");
    let d = dumped(&both.ours_dir(), "h01-argspec.json");
    // Not two empty dumps agreeing: the values are there.
    assert_eq!(
        d["b_failed"]["task"],
        "Validating arguments against arg spec 'main' - Main entry point for role B.",
        "{d:#}"
    );
    assert_eq!(
        d["b_failed"]["errors"][0], "missing required arguments: b_int, b_str",
        "{d:#}"
    );
    assert_eq!(d["c_failed"][0], false, "{d:#}");
    assert!(
        d["d_failed"].as_array().is_some_and(|e| e.len() > 5),
        "{d:#}"
    );
    for out in [&both.ours.stdout, &both.theirs] {
        assert!(
            out.contains("TASK [a : Validating arguments against arg spec 'main' - Main entry point for role A.]"),
            "{out}"
        );
    }
    let Some(tags) = run_both_args(
        "roles_arg_spec/tags.yml",
        &["h01"],
        &[],
        &["--tags", "bar"],
        |_, inv| inv,
    ) else {
        return;
    };
    for out in [&tags.ours.stdout, &tags.theirs] {
        assert!(
            out.contains(
                "a : Validating arguments against arg spec 'main' - Main entry point for role A."
            ),
            "{out}"
        );
    }
}

/// `meta: refresh_inventory` (tests/fixtures/run/refresh_inventory): a second inventory source,
/// each tool's own copy, rewritten by a task and read again mid-play, twice; a host new to the
/// inventory runs the next play, the `add_host` and `group_by` of the run survive, a host
/// taken out of the play's group takes no more of its tasks (the recaps say so).
#[test]
fn ansible_and_clearfleet_agree_on_refresh_inventory() {
    let hosts = ["h01", "h02"];
    let first = "all:\n  children:\n    web:\n      hosts:\n        h01:\n          colour: blue\n";
    let Some(both) = run_both_full(
        "refresh_inventory/site.yml",
        &hosts,
        &[],
        &["-i", "{work_dir}.inv.yml"],
        |fleet, inv| {
            inv.without_hosts()
                .host("h01", fleet.host(0).port())
                .var("h02_port", fleet.host(1).port())
        },
        true,
        Fleet::start,
        &|home| {
            for tool in ["clearfleet", "ansible"] {
                write(home, &format!("{tool}.inv.yml"), first);
            }
        },
    ) else {
        return;
    };
    for h in hosts {
        both.same_dump(&format!("{h}-refresh.json"));
    }
    let d = dumped(&both.ours_dir(), "h01-refresh.json");
    // Not two empty dumps agreeing: the values are there.
    assert_eq!(d["after"]["colour"], "red", "{d:#}");
    assert_eq!(d["after"]["dyn"], serde_json::json!(["dyn1"]), "{d:#}");
    assert_eq!(d["still_in_web"], true, "{d:#}");
    let d2 = dumped(&both.ours_dir(), "h02-refresh.json");
    assert_eq!(d2["ran_in_web"], "green", "{d2:#}");
    assert_eq!(d2["still_in_web"], false, "{d2:#}");
}

/// More of roles (tests/fixtures/run/roles_more): `include_role: apply` (its `vars`, `when`
/// and `ignore_errors` given to the role's tasks), the role name variables before and after
/// `include_role`s ran (in a role, a dependency, an include and an import inside roles), and
/// `vars/`/`defaults/` given as directories of files, also through `vars_from` and
/// `defaults_from`, `include_role` with a templated `name` and `tasks_from` (per host and per
/// loop item; hosts whose name renders alike take the first one's `tasks_from`, as Ansible
/// does with one fork)
/// whose role has a handler: the same recap and values under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_more_roles() {
    let hosts = ["h01", "h02"];
    // One host at a time: which host's `tasks_from` Ansible takes is the first result in, a
    // race with two forks (see the fixture).
    let Some(both) = run_both_args(
        "roles_more/site.yml",
        &hosts,
        &[],
        &["--forks", "1"],
        |_, inv| inv,
    ) else {
        return;
    };
    for h in hosts {
        both.same_dump(&format!("{h}-roles.json"));
    }
    let d = dumped(&both.ours_dir(), "h01-roles.json");
    // Not two empty dumps agreeing: the values are there.
    assert_eq!(
        d["leaf"]["parents"],
        serde_json::json!(["inner", "outer"]),
        "{d:#}"
    );
    assert_eq!(d["applied"], "from apply", "{d:#}");
    assert_eq!(d["dirvars"][0]["shared_d"], "b", "{d:#}");
    assert_eq!(d["handled"], true, "{d:#}");
    let d2 = dumped(&both.ours_dir(), "h02-roles.json");
    assert_eq!(d2["applied"], "skipped", "{d2:#}");
    // The hosts' `tasks_from` differ, their role names do not: Ansible loads the role once for
    // both, with the first host's file.
    assert_eq!(
        d2["picked"],
        serde_json::json!(["one:picked", "other:other", "main:picked"]),
        "{d2:#}"
    );
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
        let t = &a["looked_up"];
        assert_eq!(
            t["template_macro"],
            serde_json::json!({"foo": "bar"}),
            "{a:#}"
        );
        assert_eq!(t["template_include"], "Hello world!\n", "{a:#}");
        assert_eq!(t["template_untrimmed"], "\nin\n\nout\n", "{a:#}");
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

/// The `password_hash` filter and the `password` lookup's `encrypt`/`ident`
/// (tests/fixtures/run/password_hash.yml): passlib's hashes byte for byte for the salts given
/// or kept in the lookup's files, random salts of passlib's sizes kept as Ansible keeps them,
/// and the same failures, under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_password_hashes() {
    let Some(both) = run_both("password_hash.yml", &["h01"]) else {
        return;
    };
    let dump = both.same_dump("h01-password_hash.json");
    let v: serde_json::Value = serde_json::from_str(&dump).unwrap_or_default();
    // Not two empty dumps agreeing: the hashes and checks are there.
    let hash = |k: &str, prefix: &str| {
        v["looked_up"][k]
            .as_str()
            .is_some_and(|h| h.starts_with(prefix))
    };
    assert!(hash("sha512", "$6$rounds=656000$saltsalt$"), "{dump}");
    assert!(hash("bcrypt", "$2a$12$abcdefghijklmnopqrstuu"), "{dump}");
    assert_eq!(v["looked_up"]["plain_text"], "fixture-pw", "{dump}");
    assert_eq!(v["filtered"]["sha512"], v["looked_up"]["sha512"], "{dump}");
    assert_eq!(
        v["salted_sha256"],
        serde_json::json!([true, true, 16, true]),
        "{dump}"
    );
    assert_eq!(
        v["salted_bcrypt"],
        serde_json::json!([true, "$2b$12$", true]),
        "{dump}"
    );
    assert_eq!(v["new_md5"], serde_json::json!([true, true]), "{dump}");
    assert_eq!(v["unknown"], true, "{dump}");
    assert_eq!(v["other_ident"], true, "{dump}");
}

/// Templated `loop_control.loop_var`/`index_var` on a module task and on an `include_tasks`
/// loop (whose included tasks see the loop variables, `ansible_loop` too), `command`'s
/// `expand_argument_vars` (true and false, free-form and `argv`; `${UNSET}` kept as written),
/// `command`'s warning for `executable`, and `shell` refusing `expand_argument_vars` when the
/// task runs (tests/fixtures/run/loop_command/): the same recap and values under both.
#[test]
fn ansible_and_clearfleet_agree_on_templated_loop_control_and_expand_argument_vars() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both("loop_command/loop_command.yml", &hosts) else {
        return;
    };
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    for h in hosts {
        let name = format!("{h}-loop_command.json");
        let (a, b) = (dumped(&ours_dir, &name), dumped(&theirs_dir, &name));
        assert_eq!(
            a, b,
            "values differ in {name}\n--- clearfleet:\n{a:#}\n--- ansible:\n{b:#}"
        );
        // Not two empty dumps agreeing: the values are there.
        assert_eq!(a["templated"][1], "pear at 1", "{a:#}");
        assert_eq!(
            a["per_item"],
            serde_json::json!([
                ["changed", "-", "third", "fourth"],
                [false, true, false, false],
                [false, true, false, false],
                true,
                true
            ]),
            "{a:#}"
        );
        assert_eq!(a["included"][1][0], "y", "{a:#}");
        assert_eq!(a["literal"][0], "$HOME ~ ${CLEARFLEET_UNSET_VAR}", "{a:#}");
        assert_eq!(
            a["refused"][1], "Unsupported parameters for (shell) module: expand_argument_vars",
            "{a:#}"
        );
    }
    // `command`'s warning is reported too.
    assert!(
        both.ours.stderr.contains(
            "warning: As of Ansible 2.4, the parameter 'executable' is no longer supported"
        ),
        "{}",
        both.ours.stderr
    );
    // The up-front check warned about the task that fails only when it runs.
    assert!(
        both.ours.stderr.contains("warning:") && both.ours.stderr.contains("loop_command.yml:78:"),
        "{}",
        both.ours.stderr
    );
}

/// `blockinfile` and `replace` (tests/fixtures/run/textedit/textedit.yml): check mode,
/// `--diff`, backups, markers, `insertafter`/`insertbefore` (with `(?m)`), blank lines
/// around a block, `create`, mode-only changes, `after`/`before`, Python templates and
/// `re.subn`'s empty matches, and the failures (missing file, directory, bad template), and
/// a new file whose `mode` differs from the umask's ("... and ownership, perms or SE linux
/// context changed", lineinfile too): the same recap, files and results under both.
#[test]
fn ansible_and_clearfleet_agree_on_blockinfile_and_replace() {
    let hosts = ["h01"];
    let Some(both) = run_both("textedit/textedit.yml", &hosts) else {
        return;
    };
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    for h in hosts {
        let name = format!("{h}-textedit.jsonl");
        let (a, b) = (read(ours_dir.join(&name)), read(theirs_dir.join(&name)));
        for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
            assert_eq!(
                x, y,
                "result {i} differs\n--- clearfleet:\n{a}\n--- ansible:\n{b}"
            );
        }
        assert_eq!(a.lines().count(), b.lines().count(), "{a}\n{b}");
        // Not two empty dumps agreeing: the results are there.
        assert_eq!(a.lines().count(), 29, "{a}");
        assert!(
            a.contains("Block inserted") && a.contains("replacements made"),
            "{a}"
        );
        for f in [
            "sshd_config",
            "no_newline",
            "listener",
            "pangrams",
            "kv",
            "lines",
            "empty",
            "new/dir/conf",
            "new/li",
        ] {
            let (x, y) = (
                read(ours_dir.join(h).join(f)),
                read(theirs_dir.join(h).join(f)),
            );
            assert_eq!(x, y, "{h}/{f}");
            let mode = |p: PathBuf| {
                std::fs::metadata(p)
                    .map(|m| m.permissions().mode() & 0o7777)
                    .ok()
            };
            assert_eq!(
                mode(ours_dir.join(h).join(f)),
                mode(theirs_dir.join(h).join(f)),
                "{h}/{f}"
            );
        }
        // One backup each of the files edited with `backup: true`, under both.
        let backups = |dir: PathBuf| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with('~'))
                        .map(|n| n.split('.').next().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        };
        assert_eq!(backups(ours_dir.join(h)), ["pangrams", "sshd_config"]);
        assert_eq!(backups(theirs_dir.join(h)), ["pangrams", "sshd_config"]);
    }
}

/// `group_by` and `add_host` (tests/fixtures/run/dynamic_inventory.yml): the groups they make
/// in `groups`, `group_names` and later plays' patterns, their registered results (`changed`
/// as Ansible decides it, in a loop too), and a host added with its own connection variables
/// reached by a later play, under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_group_by_and_add_host() {
    let Some(both) = run_both_with(
        "dynamic_inventory.yml",
        &["h01", "h02"],
        &["again"],
        |_, inv| inv,
    ) else {
        return;
    };
    let (ours, theirs) = (&both.ours, &both.theirs);
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    for name in [
        "h01-made.json",
        "h02-made.json",
        "again-reached.json",
        "h02-tier.json",
    ] {
        // ansible-playbook adds a host to a `group_by` group as its worker's result comes
        // back, so the members' order varies from run to run: the members are compared as sets.
        let members_sorted = |mut v: serde_json::Value| {
            if let Some(groups) = v.get_mut("groups").and_then(|g| g.as_object_mut()) {
                for members in groups.values_mut().filter_map(|m| m.as_array_mut()) {
                    members.sort_by_key(|m| m.to_string());
                }
            }
            v
        };
        assert_eq!(
            members_sorted(dumped(&ours_dir, name)),
            members_sorted(dumped(&theirs_dir, name)),
            "{name}\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
            ours.stdout
        );
    }
    assert!(!ours_dir.join("h01-tier.json").exists());
}

/// What copy and template register (tests/fixtures/run/file_results.yml): a new file, the same
/// again, a mode change, check mode, `force: false`, a backup, a source into a directory, a
/// template, field for field under both tools; then the play keywords `check_mode` and `diff`,
/// `~` in path arguments, and the `file` module's results (links, touch, a missing file, times).
#[test]
fn ansible_and_clearfleet_agree_on_copy_and_template_results() {
    let Some(both) = run_both("file_results.yml", &["h01"]) else {
        return;
    };
    // The second play: `check_mode` and `diff` on the play; the third: `~` in paths.
    for name in [
        "h01-files.json",
        "h01-play-keywords.json",
        "h01-home.json",
        "h01-file-module.json",
    ] {
        both.same_dump(name);
    }
    let keywords = dumped(&both.ours_dir(), "h01-play-keywords.json");
    assert_eq!(keywords["exist"], serde_json::json!([false, true]));
    let home = dumped(&both.ours_dir(), "h01-home.json");
    assert_eq!(home["stat"], serde_json::json!(["HOME/tilde-TOOL.txt", 5]));
    assert_eq!(home["root"], serde_json::json!(["/root/tilde-TOOL.txt", 5]));
}

/// What `copy` registers for directories (tests/fixtures/run/copy_dirs.yml): a controller
/// directory with and without a trailing slash, `local_follow: false`, `remote_src` of a file
/// and of a directory, each twice; and what the copies hold, under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_directory_copies() {
    let Some(both) = run_both("copy_dirs.yml", &["h01"]) else {
        return;
    };
    both.same_dump("h01-dirs.json");
    let dumped = dumped(&both.ours_dir(), "h01-dirs.json");
    let changed: Vec<bool> = (0..10)
        .map(|i| dumped["results"][i]["changed"] == true)
        .collect();
    assert_eq!(
        changed,
        [
            true, false, true, false, true, false, true, false, true, false
        ]
    );
    // A `dest` ending in `/` that does not exist: made, each new directory 0750.
    let new_dir: Vec<bool> = (0..3)
        .map(|i| dumped["new_dir"][i]["changed"] == true)
        .collect();
    assert_eq!(new_dir, [true, true, false], "{dumped:#}");
    assert_eq!(dumped["new_held"][0]["mode"], "0750", "{dumped:#}");
    assert_eq!(dumped["new_held"][1]["mode"], "0750", "{dumped:#}");
    assert_eq!(dumped["new_held"][2]["exists"], true, "{dumped:#}");
    // A `remote_src` copy with `owner`: the copy is nobody's, its source still root's.
    assert_eq!(
        dumped["owned_held"],
        serde_json::json!(["nobody", "nobody", "root", "root"]),
        "{dumped:#}"
    );
}

/// `!unsafe` values (tests/fixtures/run/unsafe_values.yml) are never templated: in vars, through
/// another variable, in a fact, in a command, as a whole argument; nor is what a template
/// produced (a registered output, a lookup's text) when a variable refers to it; under both
/// tools.
#[test]
fn ansible_and_clearfleet_agree_on_unsafe_values() {
    let Some(both) = run_both("unsafe_values.yml", &["h01"]) else {
        return;
    };
    let ours = dumped(&both.ours_dir(), "h01-unsafe.json");
    assert_eq!(
        ours,
        dumped(&both.theirs_dir(), "h01-unsafe.json"),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    assert_eq!(ours["secret"], "p@ss{{word}}{%x%}{#");
}

/// What a task registers when `changed_when`/`failed_when` decide or cannot be evaluated (the
/// module's result kept, the error in `*_when_result`), the `exception` of a failure and its
/// `failed_when_suppressed_exception`, and a loop's `failed`/`msg`
/// (tests/fixtures/run/condition_results.yml), under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_condition_results() {
    let Some(both) = run_both("condition_results.yml", &["h01"]) else {
        return;
    };
    let (ours, theirs) = (&both.ours, &both.theirs);
    assert_eq!(
        dumped(&both.ours_dir(), "h01-conditions.json"),
        dumped(&both.theirs_dir(), "h01-conditions.json"),
        "--- clearfleet:\n{}\n--- ansible:\n{theirs}",
        ours.stdout
    );
    // Both show `All assertions passed` for the same asserts: not for a `quiet` one.
    let shown =
        |out: &str, line: &str| out.lines().filter(|l| l.trim_end().ends_with(line)).count();
    assert_eq!(
        shown(&ours.stdout, ": All assertions passed"),
        shown(theirs, "\"msg\": \"All assertions passed\""),
        "--- clearfleet:\n{}\n--- ansible:\n{theirs}",
        ours.stdout
    );
}

/// The variables the `template` action adds (`ansible_managed` unless set, `template_path`,
/// `template_fullpath`, `template_destpath`) render as ansible-playbook renders them.
#[test]
fn ansible_and_clearfleet_agree_on_the_template_actions_variables() {
    let Some(ansible) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let dir = home.path().join("pb");
    write(
        &dir,
        "templates/vars.j2",
        "{{ ansible_managed }}|{{ template_path }}|{{ template_fullpath }}|\
         {{ template_destpath | basename }}\n",
    );
    let pb = write(
        &dir,
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - template: {src: vars.j2, dest: '{{ work_dir }}/default.txt'}\n\
         \x20   - template: {src: vars.j2, dest: '{{ work_dir }}/set.txt'}\n\
         \x20     vars: {ansible_managed: '{{ \"a \" ~ \"dynamic\" }}'}\n",
    );
    let inv = ansible::inventory(&fleet).write(home.path(), "inv.yml");
    for tool in ["ansible", "clearfleet"] {
        std::fs::create_dir_all(home.path().join(tool)).expect("work dir");
    }
    let work = |tool: &str| format!("work_dir={}", home.path().join(tool).display());
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .args(["-e", &work("clearfleet")])
        .arg(&pb)
        .run();
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}");
    let out = ansible::command(&ansible, home.path())
        .arg("-i")
        .arg(&inv)
        .args(["-e", &work("ansible")])
        .arg(&pb)
        .output()
        .expect("run ansible-playbook");
    assert!(
        out.status.success(),
        "ansible-playbook: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for file in ["default.txt", "set.txt"] {
        let read = |tool: &str| std::fs::read_to_string(home.path().join(tool).join(file));
        let theirs = read("ansible").expect("ansible's file");
        assert_eq!(read("clearfleet").ok().as_ref(), Some(&theirs), "{file}");
    }
}

/// The facts clearfleet gathers (tests/fixtures/run/facts.yml) equal ansible-playbook's on the
/// same sshd host, fact for fact; values that move between the two runs (free memory and
/// blocks, the clock, the connection's environment) are compared by their stable parts.
#[test]
fn ansible_and_clearfleet_gather_the_same_facts() {
    let hosts = ["h01"];
    let Some(both) = run_both("facts.yml", &hosts) else {
        return;
    };
    let (ours_dir, theirs_dir) = (both.ours_dir(), both.theirs_dir());
    // The play's `gather_subset: "!all"` kept the minimal facts only.
    let narrowed = both.same_dump("h01-play-subset.json");
    let subset = dumped(&ours_dir, "h01-play-subset.json");
    assert!(
        subset["gathered"]
            .as_array()
            .is_some_and(|a| a.contains(&"distribution".into())),
        "{narrowed}"
    );
    assert!(
        subset["left"]
            .as_array()
            .is_some_and(|a| a.contains(&"memtotal_mb".into())),
        "{narrowed}"
    );
    let ours = dumped(&ours_dir, "h01-facts.json");
    let theirs = dumped(&theirs_dir, "h01-facts.json");
    let out = &both.ours.stdout;
    for name in [
        "python",
        "python_version",
        "default_ipv4",
        "default_ipv6",
        "hostname",
        "fqdn",
        "domain",
        "nodename",
        "distribution",
        "distribution_version",
        "distribution_major_version",
        "distribution_minor_version",
        "distribution_release",
        "os_family",
        "system",
        "kernel",
        "kernel_version",
        "architecture",
        "machine",
        "processor",
        "processor_count",
        "processor_cores",
        "processor_threads_per_core",
        "processor_vcpus",
        "processor_nproc",
        "memtotal_mb",
        "swaptotal_mb",
        "user_id",
        "user_uid",
        "user_gid",
        "user_dir",
        "user_shell",
        "user_gecos",
        "pkg_mgr",
        "service_mgr",
        "lsb",
    ] {
        assert!(ours.get(name).is_some(), "clearfleet lacks {name}:\n{out}");
        assert_eq!(ours[name], theirs[name], "fact {name}");
    }
    // Other tests on the machine add and remove interfaces (network namespaces' veth pairs)
    // between the two runs: the addresses both saw must agree, in order, and hold the default
    // route's and no loopback one.
    for (name, default) in [
        ("all_ipv4_addresses", "default_ipv4"),
        ("all_ipv6_addresses", "default_ipv6"),
    ] {
        let list = |f: &serde_json::Value| -> Vec<String> {
            serde_json::from_value(f[name].clone()).unwrap_or_default()
        };
        let (a, b) = (list(&ours), list(&theirs));
        let both = |x: &Vec<String>, y: &Vec<String>| -> Vec<String> {
            x.iter().filter(|v| y.contains(v)).cloned().collect()
        };
        assert_eq!(both(&a, &b), both(&b, &a), "{name}: {a:?} vs {b:?}");
        if let Some(address) = ours[default]["address"].as_str() {
            assert!(a.iter().any(|v| v == address), "{name}: {a:?}");
        }
        assert!(
            !a.iter().any(|v| v.starts_with("127.") || v == "::1"),
            "{name}: {a:?}"
        );
    }
    for key in ["HOME", "USER", "LOGNAME", "SHELL"] {
        assert_eq!(ours["env"][key], theirs["env"][key], "env.{key}");
    }
    let dt = |f: &serde_json::Value| {
        let d = &f["date_time"];
        let mut keys: Vec<String> = d
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        (
            keys,
            d["tz"].clone(),
            d["tz_offset"].clone(),
            d["tz_dst"].clone(),
        )
    };
    assert_eq!(dt(&ours), dt(&theirs), "date_time's fields and zone");
    let epoch = |f: &serde_json::Value| {
        f["date_time"]["epoch"]
            .as_str()
            .and_then(|e| e.parse::<i64>().ok())
            .unwrap_or(0)
    };
    assert!(
        (epoch(&ours) - epoch(&theirs)).abs() < 600,
        "date_time.epoch"
    );
    // Mounts: the same file systems, with the same fixed attributes.
    let mounts = |f: &serde_json::Value| {
        let mut m: Vec<String> = f["mounts"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|m| {
                format!(
                    "{} {} {} {} {} {} {} {} {}",
                    m["mount"],
                    m["device"],
                    m["fstype"],
                    m["options"],
                    m["uuid"],
                    m["block_size"],
                    m["block_total"],
                    m["inode_total"],
                    m["size_total"]
                )
            })
            .collect();
        m.sort();
        m
    };
    assert!(!mounts(&ours).is_empty(), "no mounts:\n{out}");
    assert_eq!(mounts(&ours), mounts(&theirs), "mounts");
    // The injected `ansible_*` variables are the same values.
    assert_eq!(
        dumped(&ours_dir, "h01-vars.json"),
        dumped(&theirs_dir, "h01-vars.json"),
        "ansible_* variables"
    );
    // `gather_subset` and `filter`: of the names clearfleet knows, the same ones are returned.
    let names = |dir: &Path, f: &str| -> Vec<String> {
        serde_json::from_value(dumped(dir, f)).unwrap_or_default()
    };
    let known: Vec<String> = ours
        .as_object()
        .map(|m| m.keys().map(|k| format!("ansible_{k}")).collect())
        .unwrap_or_default();
    for f in ["h01-setup.json", "h01-network.json"] {
        let mine = names(&ours_dir, f);
        let theirs: Vec<String> = names(&theirs_dir, f)
            .into_iter()
            .filter(|n| known.contains(n) || n == "gather_subset" || n == "module_setup")
            .collect();
        assert_eq!(mine, theirs, "{f}");
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

/// What `apt` and `package` register (tests/fixtures/run/apt_results.yml): installed already,
/// unknown, no candidate for a version, absent already, check-mode install and removal, a
/// cache young enough, no argument that does anything; field for field under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_apt_results() {
    let Some(both) = run_both("apt_results.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-apt.json");
    let dumped = dumped(&both.ours_dir(), "h01-apt.json");
    assert_eq!(dumped[0]["changed"], false, "{ours}");
    assert_eq!(dumped[1]["failed"], true, "{ours}");
}

/// [`Both::same_dump`] for modules that fetch a URL as urls.py's `fetch_file` does: the
/// temporary directory (Ansible's `ansible-tmp-…/ansible-moduletmp-…`, clearfleet's
/// `clearfleet-<module>.…`) shown as `TMP`, the random part `fetch_file` adds to the file
/// named `stem` (a regex) and `ext` as `RANDOM`, the web server's port as `PORT`.
fn same_fetched_dump(both: &Both, name: &str, stem: &str, ext: &str) -> String {
    let tmp = regex::Regex::new(
        r#"[^"\s]*/(ansible-tmp-[0-9.]+-[0-9]+-[0-9]+|ansible-moduletmp-[0-9.]+-[A-Za-z0-9_]+|clearfleet-[a-z]+\.[A-Za-z0-9]{8})"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let random = regex::Regex::new(&format!(r"({stem})[A-Za-z0-9_]{{8}}{}", regex::escape(ext)))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = regex::Regex::new(r"127\.0\.0\.1:[0-9]+").unwrap_or_else(|e| panic!("{e}"));
    let normal = |dir: PathBuf| {
        let text = serde_json::to_string_pretty(&dumped(&dir, name))
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK");
        let text = tmp.replace_all(&text, "TMP");
        let text = random.replace_all(&text, format!("${{1}}RANDOM{ext}"));
        port.replace_all(&text, "127.0.0.1:PORT").into_owned()
    };
    let ours = normal(both.ours_dir());
    assert_eq!(
        ours,
        normal(both.theirs_dir()),
        "{name}\n--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    ours
}

/// What `apt` registers for `deb` and name patterns (tests/fixtures/run/apt_deb.yml): `.deb`
/// files dpkg-deb builds, installed on the host (the machine itself; every cf-deb-* package is
/// purged before and after), in check mode, again, from a URL (a web server on the controller),
/// two at once, upgraded, an older one with and without `allow_downgrade`, a dependency nothing
/// satisfies with and without `force`, one apt-get installs first, dpkg failing; `[...]` classes
/// in names and versions. The download's temporary directory (Ansible's `ansible-tmp-…`,
/// clearfleet's `clearfleet-apt.…`) is shown as `TMP`, its random name and the server's port
/// evened out.
#[test]
fn ansible_and_clearfleet_agree_on_apt_deb_results() {
    let Some(both) = run_both("apt_deb.yml", &["h01"]) else {
        return;
    };
    let ours = same_fetched_dump(&both, "h01-apt-deb.json", "cf-deb-tiny_2\\.0_all", ".deb");
    for want in [
        "Unable to install package: E:Could not open file",
        "deb only supports state=present",
        "A later version is already installed",
        "Dependency is not satisfiable: cf-nothing-provides ( )|cf-never (>= 1)\\n",
        "Failure downloading http://****:****@127.0.0.1:PORT/cf-no-such.deb",
        "No package(s) matching 'cf-deb-t[!i]ny' available",
        "cf-deb-tiny 1.0 installed",
        "cf-deb-other 1.0 installed",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
    let dumped = dumped(&both.ours_dir(), "h01-apt-deb.json");
    for (name, changed) in [
        ("check", true),
        ("installed", true),
        ("again", false),
        ("url_again", false),
        ("url_check", true),
        ("two", true),
        ("downgraded", true),
        ("pattern_class", false),
        ("pattern_version", false),
        ("pattern_absent", true),
    ] {
        assert_eq!(dumped[name]["changed"], changed, "{name}: {ours}");
    }
}

/// Arguments given as a template and modules named by a template
/// (tests/fixtures/run/args_splat.yml), rendered when the task runs; conditions reached through
/// a template (2.19's trust); `module_defaults` on a play, a block and a task; under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_args_splat_and_templated_modules() {
    let Some(both) = run_both("args_splat.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-splat.json");
    let dumped = dumped(&both.ours_dir(), "h01-splat.json");
    assert_eq!(dumped["moded"], serde_json::json!(["0640", true]), "{ours}");
    assert_eq!(dumped["named"], "named", "{ours}");
    assert_eq!(dumped["listed"], serde_json::json!([true, true]), "{ours}");
    assert_eq!(
        dumped["indirect"],
        serde_json::json!([false, true]),
        "{ours}"
    );
    assert_eq!(
        dumped["untrusted"],
        serde_json::json!([true, true]),
        "{ours}"
    );
    assert_eq!(dumped["tags"], serde_json::json!([true, false]), "{ours}");
    // The second play: `module_defaults` on the play, a block and a task.
    let ours = both.same_dump("h01-defaults.json");
    assert!(
        ours.contains("\"0640\"") && ours.contains("from the task"),
        "{ours}"
    );
}

/// find (tests/fixtures/run/find.yml) registers what find.py does, field for field, for a tree
/// made on the host: patterns, regexes, excludes, contains, file_type, recurse/depth, hidden,
/// follow, size, age, mode, checksums, limit, a missing path. Files are compared sorted by
/// path, without `atime`, `ctime` and `inode` (each tool has its own tree) and with the fresh
/// file's `mtime` as `recent`.
#[test]
fn ansible_and_clearfleet_agree_on_find_results() {
    let Some(both) = run_both("find.yml", &["h01"]) else {
        return;
    };
    let names = [
        "default",
        "any",
        "globs",
        "regex",
        "contains",
        "whole",
        "undecodable",
        "dirs",
        "links",
        "follow",
        "large",
        "small",
        "old",
        "young",
        "sum",
        "mode",
        "mode_any",
        "limit",
    ];
    let normal = |dir: PathBuf| {
        let mut v = dumped(&dir, "h01-find.json");
        let Some(results) = v.as_array_mut() else {
            panic!("not a list: {v}");
        };
        let mut out = serde_json::Map::new();
        for (name, r) in names.iter().zip(results.iter_mut()) {
            if let Some(files) = r.get_mut("files").and_then(|f| f.as_array_mut()) {
                for f in files.iter_mut() {
                    if let Some(m) = f.as_object_mut() {
                        for k in ["atime", "ctime", "inode"] {
                            m.remove(k);
                        }
                        if m.get("mtime").and_then(|t| t.as_f64()) != Some(1577880000.0) {
                            m.insert("mtime".into(), "recent".into());
                        }
                    }
                }
                files.sort_by_key(|f| f["path"].as_str().unwrap_or_default().to_owned());
            }
            out.insert((*name).to_owned(), r.clone());
        }
        serde_json::to_string_pretty(&out)
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK")
    };
    let ours = normal(both.ours_dir());
    assert_eq!(
        ours,
        normal(both.theirs_dir()),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    for want in [
        "\"matched\": 2",
        "Limit of matches reached",
        "WORK/h01/tree/missing",
        "due to an encoding error",
        "\"checksum\":",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
}

/// `delegate_to` another inventory host (tests/fixtures/run/delegate.yml): each delegated
/// command ran on the host named (the sshd port it saw is that host's), with the delegating
/// host's variables, the same under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_delegation_to_other_hosts() {
    let Some(both) = run_both_with("delegate.yml", &["h01", "h02"], &[], |_, inv| {
        inv.host_var("h01", "ansible_package_use", "no-such-manager")
    }) else {
        return;
    };
    let h01 = dumped(&both.ours_dir(), "h01-delegate.json");
    let h02 = dumped(&both.ours_dir(), "h02-delegate.json");
    both.same_dump("h01-delegate.json");
    both.same_dump("h02-delegate.json");
    let (p1, p2) = (&h01["port"], &h02["port"]);
    assert_ne!(p1, p2);
    assert_eq!(h01["own"], *p1, "{h01}");
    assert_eq!(h02["own"], *p2, "{h02}");
    for dump in [&h01, &h02] {
        assert_eq!(dump["on_h02"], *p2, "{dump}");
        assert_eq!(dump["looped"], serde_json::json!([p1, p2]), "{dump}");
        assert_eq!(dump["rescued"], *p1, "{dump}");
    }
    assert_eq!(h01["package"], serde_json::json!([false, false]), "{h01}");
    assert_eq!(h01["on_other"], *p2);
    assert_eq!(h02["on_other"], *p1);
    assert_eq!(
        h01["names"],
        format!("h01 {}", p1.as_str().unwrap_or_default())
    );
    assert_eq!(
        h02["names"],
        format!("h02 {}", p2.as_str().unwrap_or_default())
    );
    // `delegate_facts`: h02's facts went to h02, and without it to h01.
    both.same_dump("h01-delegate-facts.json");
    both.same_dump("h02-delegate-facts.json");
    let facts1 = dumped(&both.ours_dir(), "h01-delegate-facts.json");
    let facts2 = dumped(&both.ours_dir(), "h02-delegate-facts.json");
    assert_eq!(facts1["kept_empty"], true, "{facts1}");
    assert_eq!(facts1["facts_port"], *p2, "{facts1}");
    assert_eq!(facts1["h02_facts_port"], *p2, "{facts1}");
    assert_eq!(facts1["h02_given"], "from h01", "{facts1}");
    assert_eq!(facts2["given"], "from h01", "{facts2}");
    assert_eq!(facts1["included"], false, "{facts1}");
    assert_eq!(facts1["h02_included"], "from the file", "{facts1}");
    assert_eq!(
        facts1["kept_included"]["delegated_included"], "from the file",
        "{facts1}"
    );
    assert_eq!(facts1["h02_kept_included"], false, "{facts1}");
    assert_eq!(facts2["included"], "from the file", "{facts2}");
    assert_eq!(facts2["facts_port"], *p2, "{facts2}");
    // Each result names the host it ran on as Ansible's `host_label` does
    // (`ok: [h01 -> h02(127.0.0.1)]`), item by item.
    let labels = |out: &str| {
        let mut v: Vec<String> = out
            .lines()
            .filter_map(|l| {
                let (status, rest) = l.split_once(": [")?;
                let (label, _) = rest.split_once(']')?;
                // Ansible prints an ignored failure as `fatal: ... ...ignoring`.
                let status = match status.trim() {
                    "failed (ignored)" => "fatal",
                    other => other,
                };
                label
                    .contains(" -> ")
                    .then(|| format!("{status}: [{label}]"))
            })
            .collect();
        v.sort();
        v
    };
    let ours = labels(&both.ours.stdout);
    assert!(
        ours.iter().any(|l| l.contains("[h01 -> h02(127.0.0.1)]")),
        "{ours:?}"
    );
    assert_eq!(ours, labels(&both.theirs), "{}", both.ours.stdout);
}

/// `hostvars` (tests/fixtures/run/hostvars.yml): another host's variables as its last task left
/// them, and an inventory host outside the play, field for field under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_hostvars() {
    let Some(both) = run_both_with("hostvars.yml", &["h01", "h02"], &[], |fleet, inv| {
        inv.host("h03", fleet.host(1).port())
            .host_var(
                "h03",
                "greeting",
                "'hi {{ inventory_hostname }} in {{ group_names | join(\",\") }}'",
            )
            .group("db", &["h03"])
    }) else {
        return;
    };
    let h01 = both.same_dump("h01-hostvars.json");
    both.same_dump("h02-hostvars.json");
    for expected in [
        r#""other_fact": "h02-fact""#,
        r#""other_said": "said by h02""#,
        r#""h03_greeting": "hi h03 in db""#,
        r#""play_var": false"#,
    ] {
        assert!(h01.contains(expected), "{expected}\n{h01}");
    }
    // h03 took part in no play: neither PLAY RECAP lists it.
    for out in [&both.ours.stdout, &both.theirs] {
        let recap = out.split("PLAY RECAP").nth(1).unwrap_or_default();
        assert!(!recap.lines().any(|l| l.starts_with("h03")), "{out}");
    }
}

/// `service` on a host without a running systemd (tests/fixtures/run/service_results.yml):
/// the SysV path of service.py (`/usr/sbin/service`, `update-rc.d`) for an LSB script the
/// play installs, started, stopped, restarted, reloaded, enabled, disabled, in check mode, by
/// pattern, missing; then `sysvinit` (the module `service` runs where the `service_mgr` fact is
/// sysvinit) on the same script; the results field for field and the actions the script was
/// run with, in order, the same under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_service_results() {
    if !std::path::Path::new("/usr/sbin/update-rc.d").exists() {
        eprintln!("skipped: no update-rc.d (init-system-helpers) on this machine");
        return;
    }
    let Some(both) = run_both("service_results.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-service.json");
    let dumped = dumped(&both.ours_dir(), "h01-service.json");
    assert_eq!(dumped["started"]["changed"], true, "{ours}");
    assert_eq!(dumped["started_already"]["changed"], false, "{ours}");
    assert_eq!(
        dumped["check_start"]["msg"], "service state changed",
        "{ours}"
    );
    assert_eq!(dumped["enabled"]["enabled"], true, "{ours}");
    assert_eq!(
        dumped["missing"]["msg"], "Could not find the requested service SVC-missing: host",
        "{ours}"
    );
    // service.py restarts by stop then start, each with the arguments.
    let log = dumped["log"].as_array().cloned().unwrap_or_default();
    for want in [
        "stop --verbose two words",
        "start --verbose two words",
        "reload",
    ] {
        assert!(log.iter().any(|x| x == want), "{want}: {ours}");
    }
}

/// `systemd` where systemd is installed but not running (tests/fixtures/run/systemd_results.yml):
/// enable, disable, mask and unmask of unit files the play installs (systemctl works on unit
/// files offline), a state and daemon-reload failing or warning (SYSTEMD_OFFLINE=1), a unit
/// systemctl does not know, the argument checks, `service` with `use: systemd`; field for
/// field under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_systemd_results() {
    if !std::path::Path::new("/usr/lib/systemd/system").is_dir() {
        eprintln!("skipped: no systemd unit directory on this machine");
        return;
    }
    let Some(both) = run_both("systemd_results.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-systemd.json");
    let dumped = dumped(&both.ours_dir(), "h01-systemd.json");
    assert_eq!(dumped["enabled"]["changed"], true, "{ours}");
    assert_eq!(dumped["enabled_already"]["changed"], false, "{ours}");
    assert_eq!(dumped["masked"]["changed"], true, "{ours}");
    assert_eq!(
        dumped["state_unknown"]["msg"], "Service is in unknown state",
        "{ours}"
    );
    assert_eq!(dumped["state_offline"]["failed"], false, "{ours}");
    assert!(
        dumped["missing"]["cmd"]
            .as_str()
            .is_some_and(|c| c.ends_with("/systemctl")),
        "{ours}"
    );
    assert_eq!(
        dumped["via_service"]["warnings"][0],
        "Ignoring \"pattern\" as it is not used in \"systemd\"",
        "{ours}"
    );
    assert_eq!(
        dumped["by_fact"]["warnings"][0], "Ignoring \"runlevel\" as it is not used in \"systemd\"",
        "{ours}"
    );
}

/// unarchive (tests/fixtures/run/unarchive.yml) registers what unarchive.py and its action do,
/// field for field: tar.gz, tar.bz2, tar.xz, plain tar and zip archives from the controller
/// and on the host, second runs, check mode, list_files, exclude/include, creates,
/// keep_newer, mode/owner/group, a missing dest and source, a non-archive, a URL (a web server
/// on the controller, a 404, credentials masked). Differences by
/// nature only are evened out: `invocation` is dropped, the temporary directory the
/// controller's archive is sent to or a download is kept in (Ansible's `ansible-tmp-…` and
/// `ansible-moduletmp-…`, clearfleet's `clearfleet-unarchive.…`) is shown as `TMP`, the
/// download's random name and the web server's port are evened out, and the lines of the no-handler message are
/// sorted (ansible-core joins the handlers' reasons from a Python `set`, in the order of
/// the process's string hashing).
#[test]
fn ansible_and_clearfleet_agree_on_unarchive_results() {
    let Some(both) = run_both("unarchive.yml", &["h01"]) else {
        return;
    };
    let tmp = regex::Regex::new(
        r#"[^"\s]*/(ansible-tmp-[0-9.]+-[0-9]+-[0-9]+|ansible-moduletmp-[0-9.]+-[A-Za-z0-9_]+|clearfleet-unarchive\.[A-Za-z0-9]{8})"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The download's temporary file (8 random characters and `.tar.gz`: `_split_multiext`
    // strips `a.tar.gz` to nothing) and the web server's port.
    let download =
        regex::Regex::new(r"TMP/[A-Za-z0-9_]{8}\.tar\.gz").unwrap_or_else(|e| panic!("{e}"));
    let port = regex::Regex::new(r"127\.0\.0\.1:[0-9]+").unwrap_or_else(|e| panic!("{e}"));
    let normal = |dir: PathBuf| {
        let mut v = dumped(&dir, "h01-unarchive.json");
        if let Some(all) = v.as_object_mut() {
            for r in all.values_mut().filter_map(|r| r.as_object_mut()) {
                r.remove("invocation");
                if let Some(serde_json::Value::String(msg)) = r.get_mut("msg")
                    && msg.starts_with("Failed to find handler")
                {
                    let mut lines: Vec<&str> = msg.lines().collect();
                    lines.sort_unstable();
                    *msg = lines.join("\n");
                }
            }
        }
        let text = serde_json::to_string_pretty(&v)
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK");
        let text = tmp.replace_all(&text, "TMP");
        let text = download.replace_all(&text, "TMP/RANDOM.tar.gz");
        port.replace_all(&text, "127.0.0.1:PORT").into_owned()
    };
    let ours = normal(both.ours_dir());
    assert_eq!(
        ours,
        normal(both.theirs_dir()),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    for want in [
        "\"handler\": \"TgzArchive\"",
        "\"handler\": \"TarArchive\"",
        "\"handler\": \"ZipArchive\"",
        "\"prepared\":",
        "Failed to find handler",
        "must be an existing dir",
        "skipped, since WORK/h01/gz/d exists",
        "does not support check mode when using gtar",
        "bad symbolic permission for mode: ao=r",
        "TMP/RANDOM.tar.gz",
        "Failure downloading http://****:****@127.0.0.1:PORT/missing.tar.gz, HTTP Error 404",
        "an URI src (http://****:****@127.0.0.1:PORT/a.tar.gz) is only supported",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
}

/// pip (tests/fixtures/run/pip.yml) registers what pip.py does, field for field, offline:
/// wheels made on the controller installed into virtualenvs `python3 -m venv` makes (new,
/// again, check mode, latest, forcereinstall, a requirements file, names split at commas,
/// absent, executable, site packages) and pip.py's failures. Only `invocation` is dropped, and
/// each tool's work directory is `WORK` where pip names it relative to the temporary
/// directory it runs in.
/// `user` with `local: true` (tests/fixtures/run/user_local.yml): libuser's tools, run by both
/// tools in turn on one host with a private `/etc`; the results (without `invocation`, which
/// clearfleet does not return; keys in any order) and the account's lines after each step are
/// the same.
#[test]
fn ansible_and_clearfleet_agree_on_user_local_results() {
    let Some(both) = run_both_private_etc("user_local.yml", &["h01"]) else {
        return;
    };
    let results = |dir: &Path| {
        let mut v = dumped(dir, "h01-user-local.json");
        for r in v
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
            .filter_map(|r| r.as_object_mut())
        {
            r.remove("invocation");
        }
        v
    };
    // Compared as values: the keys of a result in any order.
    let value = |dir: PathBuf| {
        let text = serde_json::to_string(&results(&dir))
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK");
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()
    };
    let (ours_v, theirs_v) = (value(both.ours_dir()), value(both.theirs_dir()));
    assert!(
        ours_v == theirs_v,
        "--- clearfleet:\n{ours_v:#}\n--- ansible:\n{theirs_v:#}\n--- clearfleet's run:\n{}",
        both.ours.stdout
    );
    // The run did what its tasks say: the account made, changed and removed, the options
    // `local` refuses refused.
    let ours = results(&both.ours_dir());
    for (key, changed, failed) in [
        ("u_root", false, false),
        ("u_new", true, false),
        ("u_again", false, false),
        ("u_mod", true, false),
        ("u_groups", true, false),
        ("u_append", true, false),
        ("u_append_again", false, false),
        ("u_unexpire", true, false),
        ("u_unexpire_again", false, false),
        ("u_expire", true, false),
        ("u_umask", false, true),
        ("u_uid_min", false, true),
        ("u_del", true, false),
        ("u_del_again", false, false),
    ] {
        let r = &ours[key];
        assert_eq!(r["changed"], changed, "{key}: {r}");
        assert_eq!(r["failed"].as_bool().unwrap_or(false), failed, "{key}: {r}");
    }
}

#[test]
fn ansible_and_clearfleet_agree_on_pip_results() {
    let Some(both) = run_both("pip.yml", &["h01"]) else {
        return;
    };
    let normal = |dir: PathBuf| {
        let mut v = dumped(&dir, "h01-pip.json");
        if let Some(all) = v.as_object_mut() {
            for r in all.values_mut().filter_map(|r| r.as_object_mut()) {
                r.remove("invocation");
            }
        }
        // pip names paths under its working directory (chdir's default, the temporary
        // directory) relative to it.
        let relative = dir
            .strip_prefix(std::env::temp_dir())
            .map(|r| format!("./{}", r.display()))
            .unwrap_or_default();
        let text = serde_json::to_string_pretty(&v)
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK");
        match relative.len() > 2 {
            true => text.replace(&relative, "WORK"),
            false => text,
        }
    };
    let ours = normal(both.ours_dir());
    assert_eq!(
        ours,
        normal(both.theirs_dir()),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    for want in [
        "Successfully installed tinypkg-1.0",
        "Successfully installed tinypkg-2.0",
        "\"otherpkg<2,>=1.0\"",
        "WORK/h01/venv/bin/pip3 list --format=freeze",
        "Successfully uninstalled otherpkg-1.0",
        "WORK/h01/site/bin/pip3",
        "Failed to find required executable",
        "umask must be an octal integer",
        "version is incompatible with state=latest",
        "Unable to find pip in the virtualenv",
        "Requirement already satisfied: otherpkg==1.0 in ./venv/lib",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
}

/// `meta` (tests/fixtures/run/meta): `end_host`, `noop`, `flush_handlers` with a condition,
/// `clear_host_errors` after a failure, `end_role` in a looped `include_role`, in a block and
/// in an `import_role`, `clear_facts`, `reset_connection`, `end_batch` under `serial` and
/// `end_play`, `end_host` under `strategy: free`: each host's trace of what ran and the PLAY RECAP under both tools (h03's
/// failure is counted, and yet the run succeeds: its error was cleared).
#[test]
fn ansible_and_clearfleet_agree_on_meta() {
    let hosts = ["h01", "h02", "h03"];
    let Some(both) = run_both("meta/site.yml", &hosts) else {
        return;
    };
    let h01 = both.same_dump("h01-meta.json");
    let h02 = both.same_dump("h02-meta.json");
    let h03 = both.same_dump("h03-meta.json");
    // What each action did, beyond the two tools agreeing.
    let trace = |text: &str| -> Vec<String> {
        serde_json::from_str::<serde_json::Value>(text).expect("the dump is JSON")["trace"]
            .as_array()
            .expect("a trace")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (t1, t2, t3) = (trace(&h01), trace(&h02), trace(&h03));
    assert_eq!(
        t1[..3],
        ["after end_host", "handler", "after flush"],
        "{t1:?}"
    );
    assert!(!t2.contains(&"after end_host".to_owned()), "{t2:?}");
    assert!(!t3.contains(&"after clear".to_owned()), "{t3:?}");
    assert!(t3.contains(&"role 1".to_owned()), "h03 is back: {t3:?}");
    assert!(!t1.contains(&"role after end_role 1".to_owned()), "{t1:?}");
    assert!(t1.contains(&"role 2".to_owned()), "{t1:?}");
    assert!(!t2.contains(&"role block 1".to_owned()), "{t2:?}");
    assert!(t2.contains(&"role after end_role 1".to_owned()), "{t2:?}");
    assert!(!t1.contains(&"after end_batch".to_owned()), "{t1:?}");
    assert!(t3.contains(&"after end_batch".to_owned()), "{t3:?}");
    assert!(t1.contains(&"end_play".to_owned()), "{t1:?}");
    assert!(t3.contains(&"free after end_host".to_owned()), "{t3:?}");
    assert!(!t2.contains(&"free after end_host".to_owned()), "{t2:?}");
    for t in [&t1, &t2, &t3] {
        assert!(
            !t.iter()
                .any(|s| s.contains("after end_play") || s == "post_tasks")
        );
    }
    assert_eq!(
        dumped(&both.ours_dir(), "h01-meta.json")["facts_after"],
        0,
        "{h01}"
    );
}

/// `script` (tests/fixtures/run/script): a run, and the action's own skips (`creates`,
/// `removes`, check mode) registered field for field, with no `failed` key, under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_script_results() {
    let Some(both) = run_both("script/site.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-script.json");
    let dumped = dumped(&both.ours_dir(), "h01-script.json");
    assert_eq!(dumped["ran"]["rc"], 0, "{ours}");
    assert_eq!(dumped["would_run"]["changed"], true, "{ours}");
    assert_eq!(dumped["failing"]["msg"], "non-zero return code", "{ours}");
    for skip in ["created", "removed", "checked"] {
        assert_eq!(dumped[skip]["skipped"], true, "{ours}");
        assert!(dumped[skip].get("failed").is_none(), "{skip}: {ours}");
    }
}

/// dnf (tests/fixtures/run/dnf.yml) registers what ansible-core's dnf.py does (through the
/// python3-dnf bindings on the host), field for field: noarch RPMs built on the host, a
/// createrepo_c repository and a scratch installroot; versions, check mode, latest, a
/// downgrade, update_only, missing packages, absent, every `list`, update_cache,
/// download_only, conf_file, disablerepo, exclude, local files with and without the GPG check,
/// a dependency problem, globs, `*`, the action's use_backend, `package` with `use: dnf`, and
/// autoremove; and both leave the same packages installed.
#[test]
fn ansible_and_clearfleet_agree_on_dnf_results() {
    let Some(both) = run_both("dnf.yml", &["h01"]) else {
        return;
    };
    let ours = same_fetched_dump(&both, "h01-dnf.json", "loose-1\\.0-1\\.noarch", ".rpm");
    for want in [
        "\"Installed: tiny-1.0-1.noarch\"",
        "\"Removed: tiny-2.0-1.noarch\"",
        "\"Installed: dep-1.0-1.noarch\"",
        "\"Downloaded: app-1.0-1.noarch\"",
        "\"No package cf-no-such-package available.\"",
        "\"No match for argument: cf-no-such-package\"",
        "Check mode: No changes made, but would have if not in check mode",
        "\"yumstate\": \"available\"",
        "\"repoid\": \"local\"",
        "Cache updated",
        "cannot read configuration file",
        "Failed to validate GPG signature for loose-1.0-1.noarch",
        "\"Installed WORK/h01/loose-1.0-1.noarch.rpm\"",
        "Depsolve Error occurred: \\n Problem: conflicting requests",
        "Unable to detect release version",
        "Could not detect which major revision of dnf is in use",
        "Packages providing broken not installed due to update_only specified",
        "\"Installed TMP/loose-1.0-1.noarchRANDOM.rpm\"",
        "Failure downloading http://****:****@127.0.0.1:PORT/cf-no-such.rpm",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
}

/// Become set by variables wherever Ansible reads them (tests/fixtures/run/become_vars/site.yml):
/// the inventory (h02's `ansible_become: true`), `vars_files`, play vars, task and block vars,
/// role vars, `include_vars`, `set_fact`, templated, sudo's aliases, and for a task delegated
/// to the other host that host's; each beats the `become*` keywords. `id -un` says who each
/// command ran as, the same under both tools; the play's become password is masked in
/// clearfleet's output once a task has read it (Ansible prints it).
#[test]
fn ansible_and_clearfleet_agree_on_become_variables() {
    let hosts = ["h01", "h02"];
    let Some(both) = run_both_args("become_vars/site.yml", &hosts, &[], &[], |_, inv| {
        inv.host_var("h02", "ansible_become", "true")
    }) else {
        return;
    };
    let h01 = both.same_dump("h01-become.json");
    let h02 = both.same_dump("h02-become.json");
    let got = |text: &str| -> serde_json::Value { serde_json::from_str(text).unwrap_or_default() };
    assert_eq!(
        got(&h01),
        serde_json::json!({"plain": "root", "play_user": "nobody",
            "var_beats_keyword": "nobody", "task_enabled": "nobody", "task_disabled": "root",
            "templated": "daemon", "aliases": "daemon", "block_user": "daemon",
            "role_user": "daemon", "files_user": "daemon", "delegated": "nobody",
            "included": "daemon", "fact_enabled": "daemon", "keyword_again": "daemon"}),
        "{}",
        both.ours.stdout
    );
    assert_eq!(got(&h02)["plain"], "nobody", "{h02}");
    assert_eq!(got(&h02)["delegated"], "root", "{h02}");
    assert!(
        both.theirs.contains("password pw-from-play-vars"),
        "{}",
        both.theirs
    );
    assert!(
        !both.ours.all_output().contains("pw-from-play-vars"),
        "{}",
        both.ours.all_output()
    );
    assert!(
        both.ours.stdout.contains("password ********"),
        "{}",
        both.ours.stdout
    );
}

/// Become variables given with `-e` (tests/fixtures/run/become_vars/extra_vars.yml) beat the
/// keywords, task vars and `set_fact`; the password given so is masked in clearfleet's output.
#[test]
fn ansible_and_clearfleet_agree_on_become_extra_vars() {
    let extra = [
        "-e",
        "ansible_become_user=daemon",
        "-e",
        "ansible_become_password=pw-from-extra-vars",
    ];
    let Some(both) = run_both_args(
        "become_vars/extra_vars.yml",
        &["h01"],
        &[],
        &extra,
        |_, inv| inv,
    ) else {
        return;
    };
    let dump = both.same_dump("h01-extra.json");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&dump).unwrap_or_default(),
        serde_json::json!({"plain": "root", "keyword": "daemon", "task_var": "daemon",
            "fact": "daemon"})
    );
    assert!(
        both.theirs.contains("password pw-from-extra-vars"),
        "{}",
        both.theirs
    );
    assert!(
        !both.ours.all_output().contains("pw-from-extra-vars"),
        "{}",
        both.ours.all_output()
    );
}

/// Variable precedence (tests/fixtures/run/precedence.yml) as ansible-core 2.19.14's
/// `VariableManager.get_vars` layers it: a play variable beats a gathered fact's top-level name,
/// and a task's `vars:` beat play vars but lose to `set_fact` and registered values.
#[test]
fn ansible_and_clearfleet_agree_on_variable_precedence() {
    let Some(both) = run_both("precedence.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-precedence.json");
    let dumped = dumped(&both.ours_dir(), "h01-precedence.json");
    assert_eq!(dumped["play_vs_fact"], "from-play", "{ours}");
    assert_ne!(dumped["fact"], "from-play", "{ours}");
    assert_eq!(dumped["task_vs_set_fact"], "from-set-fact", "{ours}");
    assert_eq!(dumped["task_vs_registered"], "registered", "{ours}");
    assert_eq!(dumped["task_vs_play"], "from-task", "{ours}");
}

/// `force_handlers` (tests/fixtures/run/keywords/force_handlers.yml): a host that failed after
/// notifying a handler still runs it when the play forces handlers, and does not otherwise;
/// the same handler files and PLAY RECAP under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_force_handlers() {
    let Some(both) = run_both_failing("keywords/force_handlers.yml", &["h01", "h02", "h03"]) else {
        return;
    };
    let files = |dir: PathBuf| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    let ours = files(both.ours_dir());
    assert_eq!(
        ours,
        files(both.theirs_dir()),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    assert_eq!(
        ours,
        ["h01-forced", "h01-plain", "h02-forced"],
        "{}",
        both.ours.stdout
    );
}

/// `ignore_unreachable` (tests/fixtures/run/keywords/ignore_unreachable.yml): `dead` (a closed
/// port) stays in the play after unreachable results it ignores (a task's, a block's, and a
/// play's, its fact gathering included), counted `ok` and `ignored`;
/// its registered result and PLAY RECAP are the same under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_ignore_unreachable() {
    let Some(both) = run_both_with(
        "keywords/ignore_unreachable.yml",
        &["h01"],
        &["dead"],
        |_, inv| inv.host("dead", 1),
    ) else {
        return;
    };
    both.same_dump("h01-unreachable.json");
    let dead = both.same_dump("dead-unreachable.json");
    let v = dumped(&both.ours_dir(), "dead-unreachable.json");
    assert_eq!(v["reached"]["is_unreachable"], true, "{dead}");
    assert_eq!(v["again"], true, "{dead}");
    assert_eq!(
        Recap::of(&both.ours.stdout, "dead").counts(),
        [7, 1, 0, 0, 0, 0, 4],
        "{}",
        both.ours.stdout
    );
    assert!(
        !both.ours.stdout.contains("FAILURES"),
        "ignored results are no failure: {}",
        both.ours.stdout
    );
    // Ansible prints each ignored unreachable result, then `...ignoring`; clearfleet labels
    // the same results `unreachable (ignored)`.
    let ignoring = both.theirs.matches("...ignoring").count();
    assert!(ignoring > 0, "{}", both.theirs);
    assert_eq!(
        both.ours
            .stdout
            .matches("unreachable (ignored): [dead]")
            .count(),
        ignoring,
        "{}\n{}",
        both.ours.stdout,
        both.theirs
    );
}

/// `order` (tests/fixtures/run/keywords/order.yml): under `serial: 1` the hosts take their
/// turns in the play's order; `a02` (an alias of h02) comes last in the inventory and first
/// by name. The same turns under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_order() {
    let Some(both) = run_both_with(
        "keywords/order.yml",
        &["h01", "h02", "h03"],
        &["a02"],
        |fleet, inv| inv.host("a02", fleet.host(1).port()),
    ) else {
        return;
    };
    for (name, want) in [
        ("reverse_inventory", "a02 h03 h02 h01"),
        ("reverse_sorted", "h03 h02 h01 a02"),
        ("sorted", "a02 h01 h02 h03"),
    ] {
        let read = |dir: PathBuf| {
            std::fs::read_to_string(dir.join(name))
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let ours = read(both.ours_dir());
        assert_eq!(ours, read(both.theirs_dir()), "{name}\n{}", both.theirs);
        assert_eq!(ours, want, "{name}\n{}", both.ours.stdout);
    }
}

/// `throttle` (tests/fixtures/run/keywords/throttle.yml): a block's `throttle: 1` runs its
/// task on one host at a time though the forks allow more, and a task's under `strategy:
/// free`; the hosts' turns do not overlap under either tool.
#[test]
fn ansible_and_clearfleet_agree_on_throttle() {
    let hosts = ["h01", "h02", "h03"];
    let Some(both) = run_both("keywords/throttle.yml", &hosts) else {
        return;
    };
    for root in [both.ours_dir(), both.theirs_dir()] {
        let read = |h: &str, f: &str| -> u128 {
            let path = root.join(h).join(f);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            text.trim()
                .parse()
                .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        };
        for prefix in ["", "free-"] {
            let mut turns: Vec<(u128, u128)> = hosts
                .iter()
                .map(|h| {
                    (
                        read(h, &format!("{prefix}start")),
                        read(h, &format!("{prefix}end")),
                    )
                })
                .collect();
            turns.sort_unstable();
            for pair in turns.windows(2) {
                assert!(
                    pair[0].1 <= pair[1].0,
                    "{} ({prefix}): with throttle: 1 the hosts' turns overlap: {turns:?}",
                    root.display()
                );
            }
        }
    }
}

/// Local hosts and the `connection` and `port` keywords (tests/fixtures/run/connection/site.yml):
/// the implicit localhost, an inventory host with `ansible_connection: local` among sshd hosts,
/// `connection: local` on a play, block, role and task (literal and templated) and `ssh`/`smart`
/// back, and `port` on a play and a task of a host without `ansible_port` (and beaten by one).
/// Each command's dumped `SSH_CONNECTION` port says where it ran: a fleet port over SSH, empty
/// on the controller. Dumps and recaps the same under both tools.
#[test]
fn ansible_and_clearfleet_agree_on_local_connections_and_ports() {
    let hosts = ["h01", "h02"];
    let added = ["ctl", "p01", "c01", "localhost"];
    let mut ports = (0, 0);
    let Some(both) = run_both_with("connection/site.yml", &hosts, &added, |fleet, inv| {
        ports = (fleet.host(0).port(), fleet.host(1).port());
        inv.var("h01_port", ports.0)
            .var("h02_port", ports.1)
            .host("c01", ports.0)
            .host("ctl", 1)
            .host_var("ctl", "ansible_connection", "local")
            .host("p01", 1)
            .unset_host_var("p01", "ansible_port")
            .host_var("p01", "ansible_host", "127.0.0.1")
    }) else {
        return;
    };
    let (p1, p2) = (ports.0.to_string(), ports.1.to_string());
    let local = both.same_dump("localhost.json");
    let local: serde_json::Value = serde_json::from_str(&local).unwrap_or_default();
    assert_eq!(local["seen"], "", "{local}");
    assert_eq!(local["facts_port"], "", "{local}");
    assert_eq!(local["connection"], "local", "{local}");
    assert_eq!(local["content"], "written by localhost", "{local}");
    let mixed = |h: &str| -> serde_json::Value {
        let text = both.same_dump(&format!("{h}-mixed.json"));
        serde_json::from_str(&text).unwrap_or_default()
    };
    for (h, port) in [("h01", &p1), ("h02", &p2), ("ctl", &String::new())] {
        let d = mixed(h);
        assert_eq!(d["own"], *port, "{h}: {d}");
        assert_eq!(d["facts_port"], *port, "{h}: {d}");
        assert_eq!(d["block_ssh"], *port, "{h}: {d}");
        assert_eq!(d["delegated_ssh"], p2, "{h}: {d}");
        for local in ["local_task", "templated", "block_local", "delegated_local"] {
            assert_eq!(d[local], "", "{h} {local}: {d}");
        }
    }
    let play = both.same_dump("c01-play.json");
    let play: serde_json::Value = serde_json::from_str(&play).unwrap_or_default();
    assert_eq!(play["role"], "", "{play}");
    assert_eq!(play["play_local"], "", "{play}");
    assert_eq!(play["facts_port"], "", "{play}");
    assert_eq!(play["play_ssh"], p1, "{play}");
    let role = both.same_dump("h02-role.json");
    let role: serde_json::Value = serde_json::from_str(&role).unwrap_or_default();
    assert_eq!(role["role"], "", "{role}");
    assert_eq!(role["after_role"], p2, "{role}");
    let port = both.same_dump("p01-port.json");
    let port: serde_json::Value = serde_json::from_str(&port).unwrap_or_default();
    assert_eq!(port["play_port"], p2, "{port}");
    assert_eq!(port["facts_port"], p2, "{port}");
    assert_eq!(port["task_port"], p1, "{port}");
    let var_wins = both.same_dump("h01-port.json");
    assert!(
        var_wins.contains(&format!("\"var_wins\": \"{p1}\"")),
        "{var_wins}"
    );
}

/// Fact gathering under the play's keywords (tests/fixtures/run/play_keywords/gather.yml): the
/// play's `become` (as nobody, so `ansible_user_id` and `ansible_env` are nobody's) through its
/// `become_exe`, its `fact_path` (`ansible_local` from JSON, INI, scripts run as nobody, and
/// local.py's messages for a failing script, unreadable text, a bad INI reference and a broken
/// link), `gather_timeout`, `collections` and `debugger: never`; then setup's own `fact_path`.
#[test]
fn ansible_and_clearfleet_agree_on_fact_gathering_keywords() {
    let Some(both) = run_both("play_keywords/gather.yml", &["h01"]) else {
        return;
    };
    let gathered = both.same_dump("h01-gather.json");
    let got: serde_json::Value = serde_json::from_str(&gathered).unwrap_or_default();
    assert_eq!(got["user_id"], "nobody", "{gathered}");
    assert_eq!(got["exe_used"], true, "{gathered}");
    assert_eq!(got["local"]["run"]["ran_as"], "nobody", "{gathered}");
    assert_eq!(
        got["local"]["ini"]["first"]["ref"], "value and %",
        "{gathered}"
    );
    both.same_dump("h01-setup.json");
}

/// become on `local` connections (tests/fixtures/run/become_local.yml): a `connection: local`
/// play (its fact gathering too), a task with `ansible_connection: local` and one delegated to
/// localhost run as `become_user` on the controller with sudo and su, as ansible-core's local
/// connection runs the become plugin's command; the files they write are the user's.
#[test]
fn ansible_and_clearfleet_agree_on_become_on_local_connections() {
    let Some(both) = run_both("become_local.yml", &["h01"]) else {
        return;
    };
    let dump = both.same_dump("h01-become-local.json");
    let got: serde_json::Value = serde_json::from_str(&dump).unwrap_or_default();
    assert_eq!(
        got,
        serde_json::json!({"play_sudo": "cfbecome", "play_su": "cfbecome", "play_plain": "root",
            "gathered_user": "cfbecome", "delegated": "cfbecome", "by_variable": "cfbecome",
            "owners": ["by-delegation cfbecome 640", "by-play cfbecome 644"]}),
        "{dump}"
    );
}

/// `vars_prompt` without a terminal (tests/fixtures/run/play_keywords/prompt.yml): both tools
/// read nothing, warn, and take the defaults (rendered), else `None`; `-e` beats a prompt (it
/// is not asked) and `vars_files` beats the answer; a later play does not see them; `encrypt`
/// hashes the answer.
#[test]
fn ansible_and_clearfleet_agree_on_vars_prompt_without_a_terminal() {
    let Some(both) = run_both_args(
        "play_keywords/prompt.yml",
        &["h01"],
        &[],
        &["-e", "given=from-extra-vars"],
        |_, inv| inv,
    ) else {
        return;
    };
    let prompted = both.same_dump("h01-prompt.json");
    let got: serde_json::Value = serde_json::from_str(&prompted).unwrap_or_default();
    assert_eq!(got["given"], "from-extra-vars", "{prompted}");
    assert_eq!(got["no_default"], "None", "{prompted}");
    assert_eq!(
        got["templated_default"], "from play vars, defaulted",
        "{prompted}"
    );
    // `encrypt`: passlib's hash of the default with the rendered salt; a random salt of
    // `salt_size` characters.
    assert_eq!(
        got["hashed_sha512"],
        "$6$rounds=656000$saltysalt$O7zmXU/B44cXj5llZvnregjvRH6Kz0sWLwcQczhr3vP2SRivpy1GVj8zdyLQ9lL5Iu7sUroPxo1PQTjYhpUwu1",
        "{prompted}"
    );
    assert_eq!(got["hashed_sized_salt"], 8, "{prompted}");
    both.same_dump("h01-later.json");
    assert!(
        both.ours
            .all_output()
            .contains("Not prompting as we are not in interactive mode"),
        "{}",
        both.ours.all_output()
    );
}

/// `cmd` run on a pseudo-terminal by tests/fixtures/run/play_keywords/answer.py, which types
/// each of `answers` (prompt, answer) when its prompt shows: the exit code and what the
/// terminal showed.
fn on_terminal(cmd: &std::process::Command, answers: &[(&str, &str)]) -> (i32, String) {
    let mut wrapped = std::process::Command::new("python3");
    wrapped
        .arg(fixture("play_keywords/answer.py"))
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .env("ANSWERS", serde_json::json!(answers).to_string());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let out = wrapped
        .output()
        .unwrap_or_else(|e| panic!("cannot run answer.py: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `vars_prompt` on a terminal (tests/fixtures/run/play_keywords/prompt_tty.yml), the answers
/// typed at the prompts: both tools ask the same questions, take the same answers (a default
/// for an empty one, a confirmation asked again after a mismatch, `unsafe` text kept as typed)
/// and clearfleet masks the private answer in its output; an `encrypt` answer is passlib's
/// sha256_crypt of what was typed, with the rendered `salt`.
#[test]
fn ansible_and_clearfleet_agree_on_vars_prompt_on_a_terminal() {
    let Some(ansible) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let inv = ansible::inventory(&fleet).write(home.path(), "inv.yml");
    let playbook = fixture("play_keywords/prompt_tty.yml");
    let answers = [
        ("Secret word: ", "hunter2-secret"),
        ("Visible word [from play vars]: ", ""),
        ("Say it twice: ", "one"),
        ("confirm Say it twice: ", "two"),
        ("Say it twice: ", "same"),
        ("confirm Say it twice: ", "same"),
        ("Raw text: ", "{{ base }}"),
        ("Rendered text: ", "{{ base }}"),
        ("Hashed word: ", "typed-to-hash"),
    ];
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .arg("-e")
        .arg(format!(
            "work_dir={}",
            home.path().join("clearfleet").display()
        ))
        .arg(&playbook)
        .command();
    let (ours_code, ours_out) = on_terminal(&ours, &answers);
    let mut theirs = ansible::command(&ansible, home.path());
    theirs
        .arg("-i")
        .arg(&inv)
        .arg("-e")
        .arg(format!(
            "work_dir={}",
            home.path().join("ansible").display()
        ))
        .arg(&playbook);
    let (theirs_code, theirs_out) = on_terminal(&theirs, &answers);
    assert_eq!(theirs_code, 0, "ansible-playbook:\n{theirs_out}");
    assert_eq!(
        ours_code, 0,
        "clearfleet:\n{ours_out}\n--- ansible:\n{theirs_out}"
    );
    assert_eq!(
        recaps(&ours_out, &["h01"]),
        recaps(&theirs_out, &["h01"]),
        "PLAY RECAP differs\n--- clearfleet:\n{ours_out}\n--- ansible:\n{theirs_out}"
    );
    let both = Both {
        home,
        ours: support::cli::Run {
            code: ours_code,
            stdout: ours_out.clone(),
            stderr: String::new(),
        },
        theirs: theirs_out.clone(),
    };
    let dump = both.same_dump("h01-prompt-tty.json");
    let got: serde_json::Value = serde_json::from_str(&dump).unwrap_or_default();
    assert_eq!(
        got,
        serde_json::json!({"secret": "hunter2-secret", "visible": "from play vars",
            "twice": "same", "kept_raw": "{{ base }}", "rendered": "from play vars",
            "hashed": "$5$rounds=535000$saltysalt$3ZHGWopzegrJmk.xr3na3ZCNUxcqw/05txGUixFLWD3"}),
        "{dump}"
    );
    for out in [&ours_out, &theirs_out] {
        assert!(
            out.contains("***** VALUES ENTERED DO NOT MATCH ****"),
            "{out}"
        );
    }
    assert!(
        theirs_out.contains("the secret is hunter2-secret"),
        "{theirs_out}"
    );
    assert!(!ours_out.contains("hunter2-secret"), "{ours_out}");
}

/// Fact gathering per play (tests/fixtures/run/gathering.yml): under the default `gathering:
/// implicit` every play that gathers contacts the host again and counts `ok` (ansible-core's
/// `PlayIterator`); a play with `gather_facts: false` does not. The same recap and facts under
/// both tools.
#[test]
fn ansible_and_clearfleet_agree_on_gathering_per_play() {
    let Some(both) = run_both("gathering.yml", &["h01"]) else {
        return;
    };
    both.same_dump("h01-gathering.json");
    // Two gatherings, the directory, two copies, one debug.
    assert_eq!(
        Recap::of(&both.ours.stdout, "h01").count("ok"),
        6,
        "{}",
        both.ours.stdout
    );
    assert_eq!(
        both.ours.stdout.matches("TASK [Gathering Facts]").count(),
        2,
        "{}",
        both.ours.stdout
    );
}

/// get_url and uri (tests/fixtures/run/urls/site.yml, a web server of its own on the
/// controller) register what get_url.py and uri.py do for the urls.py arguments: a gzip body
/// decoded or not (`decompress`), netrc credentials replacing an Authorization header and
/// `use_netrc: false`, `file://` URLs, `tmp_dest`, `unredirected_headers` over a redirect, and
/// uri's `dest` (with `mode`/`owner`/`group`), cookies, `src` and `remote_src`, and
/// `form-multipart` bodies (the server reports each part's name, file name, type, transfer
/// encoding and content, not the boundary) and their errors; get_url again on an existing file
/// (`If-Modified-Since` and a 304, `force`'s `cache-control: no-cache`, a matching checksum,
/// check mode's HEAD request), a refused connection; get_url into a directory, the file named
/// by Content-Disposition or the URL after redirects. Evened out: `invocation`, the `Date`
/// header, the staged download's path (`src`), the work directory and the server's port.
#[test]
fn ansible_and_clearfleet_agree_on_get_url_and_uri_arguments() {
    let Some(both) = run_both("urls/site.yml", &["h01"]) else {
        return;
    };
    let port = regex::Regex::new(r"127\.0\.0\.1:[0-9]+").unwrap_or_else(|e| panic!("{e}"));
    let normal = |dir: PathBuf| {
        let mut v = dumped(&dir, "h01-urls.json");
        if let Some(all) = v.as_object_mut() {
            for r in all.values_mut().filter_map(|r| r.as_object_mut()) {
                for k in ["invocation", "date", "src"] {
                    r.remove(k);
                }
            }
        }
        let text = serde_json::to_string_pretty(&v)
            .unwrap_or_default()
            .replace(&dir.display().to_string(), "WORK");
        port.replace_all(&text, "127.0.0.1:PORT").into_owned()
    };
    let ours = normal(both.ours_dir());
    assert_eq!(
        ours,
        normal(both.theirs_dir()),
        "--- clearfleet:\n{}\n--- ansible:\n{}",
        both.ours.stdout,
        both.theirs
    );
    for want in [
        "\"gzipped\": true",
        "\"status_code\": 401",
        "\"response\": \"HTTP Error 401: Unauthorized\"",
        "No such file or directory: 'WORK/h01/nothere.txt'",
        "directory does not exist.",
        "is a file but should be a directory.",
        "\"path\": \"WORK/h01/out/from-header.txt\"",
        "\"user\": \"foo\"",
        "\"msg\": \"HTTP Error 304: Not Modified\"",
        "file already exists but file attributes changed",
        "\"cookies_string\": \"a=1; b=two\"",
        "\"posted\": \"from the controller\\n\"",
        "\"type\": \"text/plain\"",
        "Unable to open source file WORK/h01/nothere.txt",
        "Request failed: <urlopen error [Errno 111] Connection refused>",
        "\"dest\": \"WORK/h01/dl/from-header.txt\"",
        "\"dest\": \"WORK/h01/dl/x;y.txt\"",
        "\"dest\": \"WORK/h01/dl/named\"",
        "\"dest\": \"WORK/h01/dl/static\"",
        "\"dest\": \"WORK/h01/dl/checked.txt\"",
        "from-header.txt 600 named",
        "\"filename\": \"notes.json\"",
        "\"type\": \"text/x-raw\"",
        "\"content\": \"no extension\\r\\n\"",
        "failed to parse body as form-multipart: value must be a string, or mapping, cannot be type int",
        "body must be mapping, cannot be type _AnsibleTaggedList",
        "moded.txt 640  n a m e d",
    ] {
        assert!(ours.contains(want), "{want} in {ours}");
    }
}

/// Templates that fail (tests/fixtures/run/template_failures.yml): the registered messages in
/// 2.19.14's words (`Task failed: Finalization of task args for 'ansible.builtin.debug' failed:
/// Error while resolving value for 'msg': 'sorry_not_defined' is undefined`), naming the
/// undefined variable a chain of variables ends at, the first failing argument in sorted
/// order, Python's division-by-zero text; a lookup's undefined keyword argument;
/// `with_first_found` leaving out undefined terms.
#[test]
fn ansible_and_clearfleet_agree_on_template_failure_messages() {
    let Some(both) = run_both("template_failures.yml", &["h01"]) else {
        return;
    };
    let ours = both.same_dump("h01-failures.json");
    assert!(ours.contains("'sorry_not_defined' is undefined"), "{ours}");
    assert!(ours.contains("division by zero"), "{ours}");
    assert!(ours.contains("\"template_failures.yml\""), "{ours}");
}

//! The `group`, `user` and `getent` modules against ansible-playbook's: the same playbook on twin sshd
//! hosts, each with its own copy of `/etc` (nothing on the machine changes), must register
//! the same results and leave the same `/etc/passwd`, `/etc/group` and `/etc/shadow` lines.

use crate::support;

use std::path::Path;

use support::ansible;
use support::cli::{clearfleet, temp_home, write};
use support::sshd::{Fleet, SshdHost};

/// A SHA-512 crypt hash (of `cf-password`): what playbooks pass as `password`.
const HASH: &str = "$6$cfsalt$4cEWgxmKXutZABXBQOTJBNjL5ivs.9pSBWws7qjZS1OV3E.t2dvAqj7CgHdmmvP5McC.659EMO3trhtvH4auP0";

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - group: {name: cf-g1}
      check_mode: true
      register: g1_check
    - group: {name: cf-g1, gid: 23456}
      register: g1
    - group: {name: cf-g1, gid: 23456}
      register: g1_again
    - group: {name: cf-g1, gid: 23457}
      check_mode: true
      register: g1_mod_check
    - group: {name: cf-g1, gid: 23457}
      register: g1_mod
    - group: {name: cf-g2, system: true}
      register: g2
    - group: {name: cf-g3}
    - user: {name: cf-u1, group: cf-g1}
      check_mode: true
      register: u1_check
    - user:
        name: cf-u1
        group: cf-g1
        groups: [cf-g2]
        comment: Test U1
        shell: /bin/sh
        home: "{{ u1_home }}"
        password: "{{ hash }}"
        expires: 1900000000
      register: u1
    - user:
        name: cf-u1
        group: cf-g1
        groups: cf-g2
        comment: Test U1
        shell: /bin/sh
        home: "{{ u1_home }}"
        password: "{{ hash }}"
      register: u1_again
    - user: {name: cf-u1, groups: [cf-g3], append: true}
      register: u1_append
    - user: {name: cf-u1, password_lock: true}
      register: u1_lock
    - user: {name: cf-u1, password_lock: true, expires: -1}
      register: u1_lock_again
    - user: {name: cf-u1, shell: /bin/bash}
      check_mode: true
      register: u1_shell_check
    - user: {name: cf-u1, groups: [cf-g2]}
      register: u1_groups
    - getent: {database: passwd, key: cf-u1}
      register: ge_u1
    - getent: {database: group, split: ","}
      register: ge_split
    - getent: {database: passwd, key: cf-nosuch}
      register: ge_fail
      ignore_errors: true
    - getent: {database: passwd, key: cf-nosuch, fail_key: false}
      register: ge_missing
    - user: {name: cf-u2, system: true, create_home: false, uid: 23999}
      register: u2
    - user: {name: cf-u2, state: absent}
      check_mode: true
      register: u2_del_check
    - user: {name: cf-u2, state: absent, force: true}
      register: u2_del
    - user: {name: cf-u2, state: absent}
      register: u2_del_again
    - user: {name: cf-u3, group: cf-nosuch, create_home: false}
      register: u3
      ignore_errors: true
    - group: {name: cf-g3, state: absent}
      register: g3_del
    - group: {name: cf-g3, state: absent}
      register: g3_del_again
    - copy:
        dest: "{{ out }}"
        content: "{{ {'g1_check': g1_check, 'g1': g1, 'g1_again': g1_again, 'g1_mod_check': g1_mod_check, 'g1_mod': g1_mod, 'g2': g2, 'u1_check': u1_check, 'u1': u1, 'u1_again': u1_again, 'u1_append': u1_append, 'u1_lock': u1_lock, 'u1_lock_again': u1_lock_again, 'u1_shell_check': u1_shell_check, 'u1_groups': u1_groups, 'u2': u2, 'u2_del_check': u2_del_check, 'u2_del': u2_del, 'u2_del_again': u2_del_again, 'u3': u3, 'g3_del': g3_del, 'g3_del_again': g3_del_again, 'ge_u1': ge_u1, 'ge_split_has_g1': ge_split.ansible_facts.getent_group | select('match', 'cf-g1:') | list | length, 'ge_fail': ge_fail, 'ge_missing': ge_missing, 'ge_fact': ansible_facts.getent_passwd, 'ge_var': getent_passwd} | to_json }}"
      delegate_to: localhost
"#;

/// The lines of `file` in `host`'s private /etc for our accounts (`cf-*`).
pub(crate) fn account_lines(host: &SshdHost, file: &str) -> Vec<String> {
    let path = host.etc().join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .lines()
        .filter(|l| l.starts_with("cf-"))
        .map(str::to_owned)
        .collect()
}

/// The registered results with what is not the module's own removed (`invocation`, which
/// clearfleet does not return; `warnings` and `deprecations`; ansible-core 2.19's
/// `exception: (traceback unavailable)` on every failure).
pub(crate) fn results(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} ({e}): {text}"));
    for r in v.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
        if let Some(m) = r.as_object_mut() {
            for k in ["invocation", "warnings", "deprecations", "exception"] {
                m.remove(k);
            }
        }
    }
    v
}

#[test]
fn group_and_user_agree_with_ansible_on_twin_hosts() {
    let Some(playbook_bin) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::builder().hosts(2).private_etc(true).build() else {
        return;
    };
    let home = temp_home();
    let inv = ansible::inventory(&fleet).write(home.path(), "inv.yml");
    let pb = write(home.path(), "pb.yml", PLAYBOOK);
    // The same home path under both tools (it is in the results), made by each in turn.
    let u1_home = fleet.dir().join("cf-u1-home");
    let vars = |out: &str| {
        [
            "-e".to_owned(),
            format!("u1_home={}", u1_home.display()),
            "-e".to_owned(),
            format!("hash={HASH}"),
            "-e".to_owned(),
            format!("out={}", home.path().join(out).display()),
        ]
    };
    let out = ansible::command(&playbook_bin, home.path())
        .arg("-i")
        .arg(&inv)
        .args(["--limit", "h01"])
        .args(vars("ansible.json"))
        .arg(&pb)
        .output()
        .expect("run ansible-playbook");
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ansible-playbook:\n{theirs}");
    let made_by_ansible = std::fs::metadata(&u1_home).map(|m| m.is_dir());
    std::fs::remove_dir_all(&u1_home).expect("remove ansible's home of cf-u1");
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--limit", "h02"])
        .args(vars("clearfleet.json"))
        .arg(&pb)
        .run();
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}\n--- ansible:\n{theirs}");
    assert_eq!(
        std::fs::metadata(&u1_home).map(|m| m.is_dir()).ok(),
        made_by_ansible.ok(),
        "cf-u1's home"
    );
    let (a, c) = (
        results(&home.path().join("ansible.json")),
        results(&home.path().join("clearfleet.json")),
    );
    assert_eq!(
        a.as_object().map(|m| m.len()),
        Some(27),
        "ansible's results: {a}"
    );
    for (name, theirs_r) in a.as_object().expect("results") {
        assert_eq!(
            c.get(name),
            Some(theirs_r),
            "{name} differs\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
            ours.stdout
        );
    }
    assert!(
        !ours.all_output().contains(HASH),
        "the hash was printed: {ours:?}"
    );
    for file in ["passwd", "group", "shadow", "gshadow"] {
        let (theirs_lines, ours_lines) = (
            account_lines(fleet.host(0), file),
            account_lines(fleet.host(1), file),
        );
        assert!(!theirs_lines.is_empty(), "no cf-* line in {file}");
        assert_eq!(ours_lines, theirs_lines, "/etc/{file}");
    }
    // The machine's own /etc never saw them.
    let machine = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    assert!(!machine.contains("cf-u1:"), "cf-u1 reached the machine");
}

//! `user`'s `generate_ssh_key` against ansible-playbook's: the same playbook on twin sshd hosts
//! (each with its own `/etc`) must register the same results (the keys themselves are random:
//! their base64 and fingerprint hashes are masked; Ansible's check mode deletes a public key
//! that clearfleet's leaves) and the same warnings, and leave the key
//! files owned by the account, the passphrase working and never printed.

use crate::support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde_json::Value;
use support::ansible;
use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

use crate::accounts::{account_lines, results};

const PASSPHRASE: &str = "cfKeyPhrase7731";

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - user: {name: cf-k1, generate_ssh_key: true}
      check_mode: true
      register: new_check
    - user:
        name: cf-k1
        home: "{{ k1_home }}"
        generate_ssh_key: true
        ssh_key_bits: 2048
      register: made
    - user: {name: cf-k1, generate_ssh_key: true, ssh_key_bits: 2048}
      register: again
    - user:
        name: cf-k1
        generate_ssh_key: true
        force: true
        ssh_key_type: ed25519
        ssh_key_comment: "it's a key; $(id)"
        ssh_key_passphrase: "{{ passphrase }}"
      register: forced
    - command: ssh-keygen -y -f {{ forced.ssh_key_file | quote }} -P {{ passphrase | quote }}
      register: unlocked
      changed_when: false
    - command: ssh-keygen -y -f {{ forced.ssh_key_file | quote }} -P ''
      register: locked
      changed_when: false
      failed_when: false
    - user: {name: cf-k1, generate_ssh_key: true, ssh_key_file: .ssh/other}
      check_mode: true
      register: other_check
    - user: {name: cf-k1, generate_ssh_key: true, ssh_key_file: "{{ k1_home }}/keys/abs"}
      register: no_dir
      ignore_errors: true
    - user: {name: cf-k2, create_home: false, home: "{{ k2_home }}", generate_ssh_key: true}
      register: no_home
      ignore_errors: true
    - user: {name: cf-k1, generate_ssh_key: true, force: true}
      check_mode: true
      register: force_check
    - copy:
        dest: "{{ out }}"
        content: "{{ {'new_check': new_check, 'made': made, 'again': again, 'force_check': force_check, 'forced': forced, 'other_check': other_check, 'no_dir': no_dir, 'no_home': no_home, 'unlocked_rc': unlocked.rc, 'locked_rc': locked.rc} | to_json }}"
      delegate_to: localhost
"#;

/// A result with the random parts of its key masked: the base64 of `ssh_public_key`, the hash
/// of `ssh_fingerprint`.
fn masked(mut r: Value) -> Value {
    if let Some(Value::String(k)) = r.get("ssh_public_key") {
        let words: Vec<&str> = k.splitn(3, ' ').collect();
        let masked = match words.as_slice() {
            [kind, _, rest @ ..] => [&[*kind, "KEY"], rest].concat().join(" "),
            _ => k.clone(),
        };
        r["ssh_public_key"] = Value::String(masked);
    }
    if let Some(Value::String(f)) = r.get("ssh_fingerprint") {
        let masked: Vec<&str> = f
            .split(' ')
            .map(|w| {
                if w.starts_with("SHA256:") {
                    "SHA256:X"
                } else {
                    w
                }
            })
            .collect();
        r["ssh_fingerprint"] = Value::String(masked.join(" "));
    }
    r
}

/// Each result's warnings (which [`results`] drops).
fn warnings(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} ({e})"));
    let mut out = serde_json::Map::new();
    for (name, r) in v.as_object().into_iter().flatten() {
        out.insert(
            name.clone(),
            r.get("warnings").cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

#[test]
fn ssh_keys_of_user_agree_with_ansible_on_twin_hosts() {
    let Some(playbook_bin) = ansible::ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::builder().hosts(2).private_etc(true).build() else {
        return;
    };
    let home = temp_home();
    let inv = ansible::inventory(&fleet).write(home.path(), "inv.yml");
    let pb = write(home.path(), "pb.yml", PLAYBOOK);
    // The same home paths under both tools (they are in the results), made by each in turn.
    let k1_home = fleet.dir().join("cf-k1-home");
    let k2_home = fleet.dir().join("cf-k2-home");
    let vars = |out: &str| {
        [
            format!("k1_home={}", k1_home.display()),
            format!("k2_home={}", k2_home.display()),
            format!("passphrase={PASSPHRASE}"),
            format!("out={}", home.path().join(out).display()),
        ]
        .into_iter()
        .flat_map(|v| ["-e".to_owned(), v])
        .collect::<Vec<_>>()
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
    std::fs::remove_dir_all(&k1_home).expect("remove ansible's home of cf-k1");
    let ours = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--limit", "h02"])
        .args(vars("clearfleet.json"))
        .arg(&pb)
        .run();
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}\n--- ansible:\n{theirs}");
    let (a, c) = (
        results(&home.path().join("ansible.json")),
        results(&home.path().join("clearfleet.json")),
    );
    assert_eq!(
        a.as_object().map(|m| m.len()),
        Some(10),
        "ansible's results: {a}"
    );
    // ansible-core 2.19.14's user.py deletes the public key in check mode with `force`
    // (`ssh_key_gen` unlinks it before its check-mode return): clearfleet changes nothing.
    assert_eq!(a["force_check"]["ssh_public_key"], Value::Null, "{a}");
    assert!(c["force_check"]["ssh_public_key"].is_string(), "{c}");
    let mut a = a;
    a["force_check"]["ssh_public_key"] = c["force_check"]["ssh_public_key"].clone();
    for (name, theirs_r) in a.as_object().expect("results") {
        assert_eq!(
            c.get(name).cloned().map(masked),
            Some(masked(theirs_r.clone())),
            "{name} differs\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
            ours.stdout
        );
    }
    assert_eq!(
        warnings(&home.path().join("clearfleet.json")),
        warnings(&home.path().join("ansible.json")),
        "warnings"
    );
    // What the results must say, whatever both tools say.
    assert_eq!(c["made"]["changed"], true, "{c}");
    assert_eq!(c["again"]["changed"], false, "{c}");
    assert_eq!(c["force_check"]["changed"], true, "{c}");
    assert_eq!(
        c["unlocked_rc"], 0,
        "the passphrase does not open the key: {c}"
    );
    assert_ne!(c["locked_rc"], 0, "the key has no passphrase: {c}");
    let fingerprint = c["forced"]["ssh_fingerprint"].as_str().unwrap_or("");
    assert!(
        fingerprint.ends_with("it's a key; $(id) (ED25519)"),
        "{fingerprint}"
    );
    assert_ne!(
        c["made"]["ssh_public_key"], c["forced"]["ssh_public_key"],
        "force made no new key"
    );
    assert!(
        !ours.all_output().contains(PASSPHRASE),
        "the passphrase was printed: {ours:?}"
    );
    // Files owned by the account (its uid in host 2's /etc), private ones private.
    let uid: u32 = account_lines(fleet.host(1), "passwd")
        .iter()
        .find_map(|l| l.strip_prefix("cf-k1:"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|u| u.parse().ok())
        .expect("cf-k1 in host 2's passwd");
    for (file, mode) in [
        (".ssh", 0o700),
        (".ssh/id_rsa", 0o600),
        (".ssh/id_rsa.pub", 0o644),
    ] {
        let meta = std::fs::metadata(k1_home.join(file)).expect(file);
        assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, mode), "{file}");
    }
}

//! Ansible Vault: data encrypted by the venv's real `ansible-vault` (encrypt_string, encrypt,
//! with and without `--vault-id`) decrypts in clearfleet, and a playbook with vault-encrypted
//! group_vars, a vaulted vars file, an inline `!vault` value and vaulted `copy`/`template`
//! sources runs under `ansible-playbook` and `clearfleet run` against the same sshd hosts
//! with the same recap and the same files written. No decrypted value appears in anything
//! clearfleet prints, logs or reports; a wrong password, a tampered HMAC or a missing
//! password stops the run before any host is contacted, naming the file.

use crate::run_ansible_diff::recaps;
use crate::support;
use crate::support::ansible::{ansible_playbook, command as ansible_command};

use std::path::{Path, PathBuf};

use support::cli::{clearfleet, temp_home, write};
use support::secrets::assert_nowhere;
use support::sshd::Fleet;

const PASSWORD: &str = "correct horse battery";
const PROD_PASSWORD: &str = "prod-vault-pw-42";
/// The secrets of the fixture: each must reach the hosts and appear nowhere in our output.
const DB_PASSWORD: &str = "db-pw-Zq81xv";
const API_TOKEN: &str = "tok-7f3a9c0b";
const INLINE: &str = "inline-s3cr3t-77";
const FILE_SECRET: &str = "file-secret-line-5150";

const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  vars_files:
    - vars/secrets.yml
  vars:
    inline_secret: !vault |
INLINE_CIPHERTEXT
  tasks:
    - name: the host's directory
      file:
        path: "{{ work_dir }}/{{ inventory_hostname }}"
        state: directory
    - name: vaulted values reach the host
      copy:
        dest: "{{ work_dir }}/{{ inventory_hostname }}/values.txt"
        content: "{{ db_password }}|{{ api_token }}|{{ inline_secret }}\n"
    - name: a vault-encrypted copy source is decrypted
      copy:
        src: files/secret.conf
        dest: "{{ work_dir }}/{{ inventory_hostname }}/secret.conf"
    - name: a vault-encrypted template is decrypted and rendered
      template:
        src: app.conf.j2
        dest: "{{ work_dir }}/{{ inventory_hostname }}/app.conf"
    - name: a command sees the value
      command: echo {{ db_password }}
      register: echoed
      changed_when: false
    - name: registered output keeps it
      copy:
        dest: "{{ work_dir }}/{{ inventory_hostname }}/echoed.txt"
        content: "{{ echoed.stdout }}\n"
    - name: include_vars decrypts a vault-encrypted file
      include_vars:
        file: secrets.yml
        name: included
      register: included_r
    - name: its values reach the host
      copy:
        dest: "{{ work_dir }}/{{ inventory_hostname }}/included.txt"
        content: "{{ included.api_token }}|{{ included_r.ansible_included_var_files | map('basename') | list }}\n"
"#;

/// `ansible-vault` beside `ansible-playbook`, run in `dir`.
fn vault_tool(ansible: &Path, home: &Path, dir: &Path, args: &[&str]) -> String {
    let bin = ansible.with_file_name("ansible-vault");
    let out = ansible_command(&bin, home)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin:?}: {e}"));
    assert!(
        out.status.success(),
        "ansible-vault {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The project: group_vars/all.yml with an `encrypt_string` value (label `default`), a vars
/// file and a copy source encrypted whole with `--vault-id prod@…`, a template encrypted whole
/// without a label, and the playbook with an inline `!vault` value. Returns the playbook.
fn project(ansible: &Path, home: &Path) -> PathBuf {
    let dir = home.join("project");
    for sub in ["group_vars", "vars", "files", "templates"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"));
    }
    write(&dir, "pw", &format!("{PASSWORD}\n"));
    write(&dir, "prod-pw", PROD_PASSWORD);
    let db = vault_tool(
        ansible,
        home,
        &dir,
        &[
            "encrypt_string",
            "--vault-password-file",
            "pw",
            DB_PASSWORD,
            "--name",
            "db_password",
        ],
    );
    write(&dir, "group_vars/all.yml", &format!("---\n{db}"));
    write(
        &dir,
        "vars/secrets.yml",
        &format!("api_token: {API_TOKEN}\nport: 8080\n"),
    );
    write(
        &dir,
        "files/secret.conf",
        &format!("[auth]\nkey = {FILE_SECRET}\n"),
    );
    write(
        &dir,
        "templates/app.conf.j2",
        "db={{ db_password }}\nport={{ port }}\n",
    );
    for f in ["vars/secrets.yml", "files/secret.conf"] {
        vault_tool(
            ansible,
            home,
            &dir,
            &["encrypt", "--vault-id", "prod@prod-pw", f],
        );
    }
    vault_tool(
        ansible,
        home,
        &dir,
        &[
            "encrypt",
            "--vault-password-file",
            "pw",
            "templates/app.conf.j2",
        ],
    );
    let inline = vault_tool(
        ansible,
        home,
        &dir,
        &["encrypt_string", "--vault-password-file", "pw", INLINE],
    );
    write(
        &dir,
        "site.yml",
        &PLAYBOOK.replace("INLINE_CIPHERTEXT\n", &block(&inline)),
    )
}

/// The envelope lines of `encrypt_string`'s output, indented six spaces (the body of a
/// `key: !vault |` block four spaces in).
fn block(encrypt_string: &str) -> String {
    encrypt_string
        .lines()
        .filter(|l| !l.contains("!vault"))
        .map(|l| format!("      {}\n", l.trim()))
        .collect()
}

#[test]
fn a_vaulted_project_runs_the_same_under_ansible_and_clearfleet_and_leaks_nothing() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let playbook = project(&ansible, home.path());
    let dir = home.path().join("project");
    let inv = support::ansible::inventory(&fleet).write(&dir, "inv.yml");
    let ours_dir = home.path().join("clearfleet");
    let theirs_dir = home.path().join("ansible");
    let report = home.path().join("report");
    let log = home.path().join("run.log");

    // The default password from a script, the labelled one from a file.
    write(&dir, "pw.sh", &format!("#!/bin/sh\necho '{PASSWORD}'\n"));
    let mut perms = std::fs::metadata(dir.join("pw.sh"))
        .map(|m| m.permissions())
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o700);
    std::fs::set_permissions(dir.join("pw.sh"), perms).unwrap_or_else(|e| panic!("{e}"));
    // HOME and the current directory: the project (relative vault sources resolve there).
    let ours = clearfleet(&dir)
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .args([
            "--vault-password-file",
            "pw.sh",
            "--vault-id",
            "prod@prod-pw",
        ])
        .args(["--diff", "-vv", "--report-dir"])
        .arg(&report)
        .arg("--log-file")
        .arg(&log)
        .arg("-e")
        .arg(format!("work_dir={}", ours_dir.display()))
        .arg(&playbook)
        .run();
    assert_eq!(ours.code, 0, "clearfleet: {ours:?}");

    let out = ansible_command(&ansible, home.path())
        .current_dir(&dir)
        .args(["-i", "inv.yml", "--diff"])
        .args([
            "--vault-password-file",
            "pw.sh",
            "--vault-id",
            "prod@prod-pw",
        ])
        .arg("-e")
        .arg(format!("work_dir={}", theirs_dir.display()))
        .arg(&playbook)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
    let theirs = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "ansible-playbook:\n{theirs}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hosts = ["h01", "h02"];
    assert_eq!(
        recaps(&ours.stdout, &hosts),
        recaps(&theirs, &hosts),
        "PLAY RECAP differs\n--- clearfleet:\n{}\n--- ansible:\n{theirs}",
        ours.stdout
    );
    for h in hosts {
        for f in [
            "values.txt",
            "secret.conf",
            "app.conf",
            "echoed.txt",
            "included.txt",
        ] {
            let a = std::fs::read_to_string(ours_dir.join(h).join(f)).ok();
            let b = std::fs::read_to_string(theirs_dir.join(h).join(f)).ok();
            assert!(a.is_some(), "{h}/{f} missing under clearfleet");
            assert_eq!(a, b, "{h}/{f}");
        }
        let values = std::fs::read_to_string(ours_dir.join(h).join("values.txt"));
        assert_eq!(
            values.ok().as_deref(),
            Some(format!("{DB_PASSWORD}|{API_TOKEN}|{INLINE}\n").as_str())
        );
        let included = std::fs::read_to_string(ours_dir.join(h).join("included.txt"));
        assert_eq!(
            included.ok().as_deref(),
            Some(format!("{API_TOKEN}|['secrets.yml']\n").as_str())
        );
    }
    // Ansible shows the values in its --diff; clearfleet shows them nowhere.
    assert!(theirs.contains(DB_PASSWORD), "{theirs}");
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log_text.is_empty(), "no log written");
    assert!(
        !log_text.contains(DB_PASSWORD) && !log_text.contains(FILE_SECRET),
        "{log_text}"
    );
    let searched = assert_nowhere(
        &[
            DB_PASSWORD,
            API_TOKEN,
            INLINE,
            FILE_SECRET,
            PASSWORD,
            PROD_PASSWORD,
        ],
        &ours,
        &[&report],
    );
    assert!(searched >= 3, "the report held {searched} files");
    assert!(ours.stdout.contains("********"), "{}", ours.stdout);
}

#[test]
fn wrong_missing_and_tampered_vaults_stop_before_any_host_naming_the_file() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let home = temp_home();
    let playbook = project(&ansible, home.path());
    let dir = home.path().join("project");
    // Nothing listens here: a run that got as far as connecting would fail differently.
    write(
        &dir,
        "inv.yml",
        "all:\n  hosts:\n    h01:\n      ansible_host: 127.0.0.1\n      ansible_port: 9\n",
    );
    write(&dir, "wrong", "not the password\n");
    let run = |args: &[&str]| {
        clearfleet(&dir)
            .args(["run", "-i", "inv.yml"])
            .args(args)
            .arg(&playbook)
            .run()
    };

    let r = run(&["--vault-password-file", "wrong"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("group_vars/all.yml")
            && r.stderr
                .contains("Decryption failed (no vault secrets were found that could decrypt)"),
        "{}",
        r.stderr
    );

    let r = run(&[]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr
            .contains("Attempting to decrypt but no vault secrets found"),
        "{}",
        r.stderr
    );

    // The default password decrypts group_vars, but the vars file needs `prod`'s.
    let r = run(&["--vault-password-file", "pw"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("vars/secrets.yml")
            && r.stderr.contains("for vault id `prod`")
            && r.stderr.contains("site.yml:4:7"),
        "{}",
        r.stderr
    );

    // One hex digit of the vars file's HMAC changed: the right password no longer decrypts.
    let path = dir.join("vars/secrets.yml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let first = lines.get(1).cloned().unwrap_or_default();
    // The second line of the envelope holds the hexlified HMAC after the salt's `0a`.
    let at = first.find("0a").map_or(0, |i| i + 2);
    let digit = &first[at..at + 2];
    let swapped = if digit == "30" { "31" } else { "30" };
    lines[1] = format!("{}{swapped}{}", &first[..at], &first[at + 2..]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    let r = run(&["--vault-password-file", "pw", "--vault-id", "prod@prod-pw"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("vars/secrets.yml") && r.stderr.contains("Decryption failed"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn ansible_cfg_and_the_environment_give_vault_passwords_as_in_ansible() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let home = temp_home();
    project(&ansible, home.path());
    let dir = home.path().join("project");
    let cipher = vault_tool(
        &ansible,
        home.path(),
        &dir,
        &[
            "encrypt_string",
            "--vault-id",
            "prod@prod-pw",
            "inv-secret-9",
        ],
    );
    write(
        &dir,
        "inv.yml",
        &format!(
            "all:\n  hosts:\n    h01:\n  vars:\n    extra: !vault |\n{}",
            block(&cipher)
        ),
    );
    let host = |cfg: Option<&str>, env: &[(&str, &str)], args: &[&str]| {
        match cfg {
            Some(text) => {
                write(&dir, "ansible.cfg", text);
            }
            None => {
                let _ = std::fs::remove_file(dir.join("ansible.cfg"));
            }
        }
        let mut c = clearfleet(&dir).args(["inventory", "-i", "inv.yml", "--host", "h01"]);
        for (k, v) in env {
            c = c.env(k, v);
        }
        c.args(args).run()
    };
    // Both passwords from ansible.cfg: the group_vars value (default) and the inventory's
    // (prod); masked unless --show-secrets.
    let cfg = "[defaults]\nvault_password_file = pw\nvault_identity_list = prod@prod-pw\n";
    let r = host(Some(cfg), &[], &["--show-secrets"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(DB_PASSWORD) && r.stdout.contains("inv-secret-9"),
        "{}",
        r.stdout
    );
    let r = host(Some(cfg), &[], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        !r.stdout.contains(DB_PASSWORD) && !r.stdout.contains("inv-secret-9"),
        "{}",
        r.stdout
    );
    // The same from the environment, and from the command line.
    let r = host(
        None,
        &[
            ("ANSIBLE_VAULT_PASSWORD_FILE", "pw"),
            ("ANSIBLE_VAULT_IDENTITY_LIST", "prod@prod-pw"),
        ],
        &["--show-secrets"],
    );
    assert!(r.stdout.contains("inv-secret-9"), "{r:?}");
    let r = host(
        None,
        &[],
        &[
            "--vault-password-file",
            "pw",
            "--vault-id",
            "prod@prod-pw",
            "--show-secrets",
        ],
    );
    assert!(r.stdout.contains("inv-secret-9"), "{r:?}");
    // Typed on the terminal with `--ask-vault-pass`, not echoed (an unlabelled file beside it).
    let (code, out) = clearfleet(&dir)
        .terminal(24, 80)
        .args([
            "inventory",
            "-i",
            "inv.yml",
            "--host",
            "h01",
            "--show-secrets",
        ])
        .args(["--vault-id", "prod-pw", "--ask-vault-pass"])
        .run_on_terminal(&format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Vault password: "), "{out}");
    assert!(!out.contains(PASSWORD), "typed password echoed: {out}");
    assert!(
        out.contains("inv-secret-9") && out.contains(DB_PASSWORD),
        "{out}"
    );
    // Without the labelled one: an error naming the inventory file and place.
    let r = host(None, &[], &["--vault-password-file", "pw"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("inv.yml:6:7")
            && r.stderr.contains("Decryption failed")
            && !r.stderr.contains(DB_PASSWORD),
        "{}",
        r.stderr
    );
}

//! The project an Ansible user already has: `ansible.cfg` (inventory, roles_path, remote_user,
//! private_key_file, vault_password_file, forks), an inventory directory whose `group_vars/all/`
//! holds a vault-encrypted file beside the plain one that refers to it, and a playbook of roles
//! (defaults, vars, files, templates, handlers, a meta dependency, role parameters,
//! `import_role`, `include_role` with `tasks_from`, `import_tasks` inside a role). Both
//! `ansible-playbook site.yml` and `clearfleet run site.yml`, with nothing else on the command
//! line, run it twice against the same sshd hosts: the same recap each time (changes, then
//! none), the same files on the hosts, and no secret in anything clearfleet prints.

use crate::run_ansible_diff::recaps;
use crate::support;
use crate::support::ansible::{ansible_playbook, command as ansible_command};

use std::path::{Path, PathBuf};

use support::cli::{Run, clearfleet, temp_home, write};
use support::secrets::assert_nowhere;
use support::sshd::Fleet;

const VAULT_PASSWORD: &str = "project-vault-pw-314";
const DB_PASSWORD: &str = "db-Secret-9vQ2";
const API_TOKEN: &str = "api-Token-x7Kp";

/// (path, text) of the project's plain files; `ROOT` is the project, `KEY` the client key,
/// `KNOWN` the fleet's known_hosts, `P1`/`P2` the hosts' ports.
const FILES: &[(&str, &str)] = &[
    (
        "ansible.cfg",
        "[defaults]\n\
         inventory = inventory\n\
         roles_path = roles\n\
         remote_user = root\n\
         private_key_file = KEY\n\
         vault_password_file = .vault_pass\n\
         forks = 5\n\
         retry_files_enabled = False\n",
    ),
    (
        "inventory/hosts.yml",
        "all:\n  children:\n    web:\n      hosts:\n        h01:\n          ansible_host: 127.0.0.1\n          ansible_port: P1\n\
         \x20   db:\n      hosts:\n        h02:\n          ansible_host: 127.0.0.1\n          ansible_port: P2\n",
    ),
    (
        "inventory/group_vars/all/main.yml",
        "---\n\
         ansible_python_interpreter: /usr/bin/python3\n\
         ansible_ssh_common_args: '-o UserKnownHostsFile=KNOWN -o StrictHostKeyChecking=yes'\n\
         work_dir: ROOT/out\n\
         db_password: \"{{ vault_db_password }}\"\n\
         api_token: \"{{ vault_api_token }}\"\n",
    ),
    ("inventory/group_vars/db.yml", "db_port: 5433\n"),
    (
        "site.yml",
        "---\n\
         - name: every host gets the basics\n  hosts: all\n  gather_facts: false\n  roles:\n    - common\n\
         \n\
         - name: web servers\n  hosts: web\n  gather_facts: false\n  roles:\n    - role: app\n      app_port: 8080\n\
         \n\
         - name: databases\n  hosts: db\n  gather_facts: false\n  tasks:\n\
         \x20   - import_role:\n        name: db\n\
         \x20   - name: the token for the backup job\n      include_role:\n        name: app\n        tasks_from: token\n",
    ),
    (
        "roles/common/defaults/main.yml",
        "motd_text: managed by the fleet\n",
    ),
    (
        "roles/common/tasks/main.yml",
        "- name: the host's directory\n  file:\n    path: \"{{ work_dir }}/{{ inventory_hostname }}\"\n    state: directory\n    mode: \"0750\"\n\
         - name: the banner\n  copy:\n    src: banner.txt\n    dest: \"{{ work_dir }}/{{ inventory_hostname }}/banner.txt\"\n\
         - name: the motd\n  template:\n    src: motd.j2\n    dest: \"{{ work_dir }}/{{ inventory_hostname }}/motd\"\n  notify: motd changed\n",
    ),
    (
        "roles/common/handlers/main.yml",
        "- name: motd changed\n  lineinfile:\n    path: \"{{ work_dir }}/{{ inventory_hostname }}/handlers.log\"\n    line: \"motd ({{ role_name }})\"\n    create: true\n",
    ),
    ("roles/common/files/banner.txt", "Authorized use only.\n"),
    (
        "roles/common/templates/motd.j2",
        "{{ motd_text }}: {{ inventory_hostname }} ({{ group_names | join(',') }})\n",
    ),
    (
        "roles/app/meta/main.yml",
        "dependencies:\n  - role: common\n",
    ),
    (
        "roles/app/defaults/main.yml",
        "app_port: 80\napp_name: shop\n",
    ),
    (
        "roles/app/vars/main.yml",
        "app_conf: \"{{ work_dir }}/{{ inventory_hostname }}/{{ app_name }}.conf\"\n",
    ),
    (
        "roles/app/tasks/main.yml",
        "- name: the app's configuration\n  template:\n    src: app.conf.j2\n    dest: \"{{ app_conf }}\"\n    mode: \"0600\"\n  notify: restart app\n\
         - import_tasks: check.yml\n",
    ),
    (
        "roles/app/tasks/check.yml",
        "- name: read the configuration back\n  command: cat {{ app_conf }}\n  register: conf\n  changed_when: false\n  no_log: true\n\
         - name: it listens where asked\n  assert:\n    that:\n      - \"'port=' ~ app_port in conf.stdout\"\n    quiet: true\n",
    ),
    (
        "roles/app/tasks/token.yml",
        "- name: the API token\n  copy:\n    content: \"{{ api_token }}\\n\"\n    dest: \"{{ work_dir }}/{{ inventory_hostname }}/token\"\n    mode: \"0600\"\n",
    ),
    (
        "roles/app/handlers/main.yml",
        "- name: restart app\n  lineinfile:\n    path: \"{{ work_dir }}/{{ inventory_hostname }}/handlers.log\"\n    line: \"restarted {{ app_name }} on {{ app_port }}\"\n    create: true\n",
    ),
    (
        "roles/app/templates/app.conf.j2",
        "[{{ app_name }}]\nport={{ app_port }}\ndb_password={{ db_password }}\n",
    ),
    (
        "roles/db/tasks/main.yml",
        "- name: the database's configuration\n  copy:\n    content: \"port={{ db_port }}\\npassword={{ db_password }}\\n\"\n    dest: \"{{ work_dir }}/{{ inventory_hostname }}/db.conf\"\n    mode: \"0600\"\n",
    ),
];

/// The files each host ends with.
const HOST_FILES: &[(&str, &[&str])] = &[
    ("h01", &["banner.txt", "motd", "handlers.log", "shop.conf"]),
    (
        "h02",
        &["banner.txt", "motd", "handlers.log", "db.conf", "token"],
    ),
];

/// Writes the project under `root`, its vault file encrypted by the venv's `ansible-vault`.
fn project(root: &Path, fleet: &Fleet, ansible: &Path, home: &Path) {
    for (path, text) in FILES {
        let text = text
            .replace("ROOT", &root.display().to_string())
            .replace("KEY", &fleet.client_key().display().to_string())
            .replace("KNOWN", &fleet.known_hosts_path().display().to_string())
            .replace("P1", &fleet.host(0).port().to_string())
            .replace("P2", &fleet.host(1).port().to_string());
        write(root, path, &text);
    }
    write(root, ".vault_pass", &format!("{VAULT_PASSWORD}\n"));
    write(
        root,
        "inventory/group_vars/all/vault.yml",
        &format!("vault_db_password: {DB_PASSWORD}\nvault_api_token: {API_TOKEN}\n"),
    );
    let vault = ansible.with_file_name("ansible-vault");
    let out = ansible_command(&vault, home)
        .current_dir(root)
        .args(["encrypt", "inventory/group_vars/all/vault.yml"])
        .env("ANSIBLE_CONFIG", root.join("ansible.cfg"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {vault:?}: {e}"));
    assert!(
        out.status.success(),
        "ansible-vault: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The files under `out/<host>`, by host.
fn host_files(out: &Path) -> Vec<(String, String, Option<String>)> {
    let mut files = Vec::new();
    for (host, names) in HOST_FILES {
        for name in *names {
            let text = std::fs::read_to_string(out.join(host).join(name)).ok();
            files.push(((*host).to_owned(), (*name).to_owned(), text));
        }
    }
    files
}

/// Moves the hosts' files away, for the other tool to start from nothing.
fn take_files(root: &Path, to: &str) -> PathBuf {
    let to = root.join(to);
    std::fs::rename(root.join("out"), &to).unwrap_or_else(|e| panic!("{to:?}: {e}"));
    to
}

#[test]
fn a_role_project_with_a_vault_and_ansible_cfg_runs_unchanged_under_both_tools() {
    let Some(ansible) = ansible_playbook() else {
        return;
    };
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let root = home.path().join("project");
    project(&root, &fleet, &ansible, home.path());
    let hosts = ["h01", "h02"];

    let run_ansible = || {
        let out = ansible_command(&ansible, &root)
            .current_dir(&root)
            .arg("site.yml")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {ansible:?}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "ansible-playbook:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let run_ours = || -> Run {
        // HOME and the current directory: the project.
        let run = clearfleet(&root).arg("run").arg("site.yml").run();
        assert_eq!(run.code, 0, "clearfleet: {run:?}");
        run
    };

    let theirs = [run_ansible(), run_ansible()];
    let their_files = host_files(&take_files(&root, "out-ansible"));
    let ours = [run_ours(), run_ours()];
    let our_files = host_files(&root.join("out"));

    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            recaps(&o.stdout, &hosts),
            recaps(t, &hosts),
            "run {}: PLAY RECAP differs\n--- clearfleet:\n{}\n--- ansible:\n{t}",
            i + 1,
            o.stdout
        );
    }
    // The first run changed things, the second nothing.
    let changed = |r: &[(String, [u32; 7])]| r.iter().map(|(_, c)| c[1]).sum::<u32>();
    assert!(changed(&recaps(&theirs[0], &hosts)) >= 10, "{}", theirs[0]);
    assert_eq!(changed(&recaps(&theirs[1], &hosts)), 0, "{}", theirs[1]);
    for (theirs, ours) in their_files.iter().zip(&our_files) {
        assert!(
            ours.2.is_some(),
            "{}/{} missing under clearfleet",
            ours.0,
            ours.1
        );
        assert_eq!(ours, theirs);
    }
    let conf = &our_files[3].2;
    assert_eq!(
        conf.as_deref(),
        Some(format!("[shop]\nport=8080\ndb_password={DB_PASSWORD}\n").as_str())
    );
    for run in &ours {
        assert_nowhere(&[DB_PASSWORD, API_TOKEN, VAULT_PASSWORD], run, &[]);
    }
    // The host keys were checked against the file the inventory names, none accepted blindly
    // into HOME's known_hosts.
    assert!(!root.join(".ssh/known_hosts").exists());
}

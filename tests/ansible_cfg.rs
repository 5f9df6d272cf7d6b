//! `ansible.cfg` as Ansible finds it (`$ANSIBLE_CONFIG`, `./ansible.cfg` unless the directory
//! is world-writable, `~/.ansible.cfg`), below `ANSIBLE_*` variables and command-line flags,
//! and its mistakes reported as invalid input. (Both tools reading the same file against sshd
//! hosts: `run_ansible_diff::ansible_and_clearfleet_agree_on_ansible_cfg`.)

use crate::support;

use std::os::unix::fs::PermissionsExt;

use support::cli::{clearfleet, temp_home, write};

/// Two one-host inventories, `a.yml` (host `a1`) and `b.yml` (host `b1`), in `dir`.
fn inventories(dir: &std::path::Path) {
    write(dir, "a.yml", "all:\n  hosts:\n    a1:\n");
    write(dir, "b.yml", "all:\n  hosts:\n    b1:\n");
}

#[test]
fn the_inventory_comes_from_ansible_cfg_below_variables_and_flags() {
    let home = temp_home();
    let dir = home.path();
    inventories(dir);
    write(dir, "ansible.cfg", "[defaults]\ninventory = a.yml\n");
    let from_cfg = clearfleet(dir).args(["inventory", "--list"]).run();
    assert_eq!(from_cfg.code, 0, "{from_cfg:?}");
    assert!(from_cfg.stdout.contains("a1"), "{from_cfg:?}");
    let from_env = clearfleet(dir)
        .env("ANSIBLE_INVENTORY", dir.join("b.yml"))
        .args(["inventory", "--list"])
        .run();
    assert!(
        from_env.stdout.contains("b1") && !from_env.stdout.contains("a1"),
        "{from_env:?}"
    );
    let from_flag = clearfleet(dir)
        .args(["inventory", "--list", "-i", "b.yml"])
        .run();
    assert!(
        from_flag.stdout.contains("b1") && !from_flag.stdout.contains("a1"),
        "{from_flag:?}"
    );
}

#[test]
fn ansible_config_names_the_file_and_relative_paths_start_beside_it() {
    let home = temp_home();
    let dir = home.path();
    inventories(&dir.join("conf"));
    write(dir, "conf/site.cfg", "[defaults]\ninventory = b.yml\n");
    let run = clearfleet(dir)
        .env("ANSIBLE_CONFIG", dir.join("conf/site.cfg"))
        .args(["inventory", "--list"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("b1"), "{run:?}");
}

#[test]
fn a_world_writable_directory_s_ansible_cfg_is_ignored_with_a_warning() {
    let home = temp_home();
    let dir = home.path().join("shared");
    inventories(&dir);
    write(&dir, "ansible.cfg", "[defaults]\ninventory = a.yml\n");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
        .unwrap_or_else(|e| panic!("{e}"));
    let run = clearfleet(&dir).args(["inventory", "--list"]).run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("world writable directory") && run.stderr.contains("no inventory"),
        "{run:?}"
    );
}

#[test]
fn a_bad_value_is_invalid_input_naming_the_file_section_and_key() {
    let home = temp_home();
    let dir = home.path();
    inventories(dir);
    write(
        dir,
        "ansible.cfg",
        "[defaults]\ninventory = a.yml\nforks = many\n",
    );
    let run = clearfleet(dir).args(["ping"]).run();
    assert_eq!(run.code, 4, "{run:?}");
    let expected = format!(
        "error: invalid `forks` in {} [defaults] forks: `many` is not a whole number",
        dir.join("ansible.cfg").display()
    );
    assert!(run.stderr.contains(&expected), "{run:?}");
    write(dir, "ansible.cfg", "forks = 3\n");
    let run = clearfleet(dir).args(["ping"]).run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("ansible.cfg:1: a setting before any `[section]` header"),
        "{run:?}"
    );
}

//! Roles that cannot be loaded: each an error naming file:line:col before any host is
//! contacted (exit 4). (Roles that work, under both tools: `run_ansible_diff`.)

use crate::support;

use support::cli::{clearfleet, temp_home, write};

/// `clearfleet run` of `site.yml` in `dir` against a one-host inventory nobody can reach:
/// a load error stops it before any connection.
fn load_error(dir: &std::path::Path) -> String {
    write(
        dir,
        "inv.yml",
        "all:\n  hosts:\n    h1:\n      ansible_port: 1\n",
    );
    let run = clearfleet(dir)
        .args(["run", "-i", "inv.yml", "site.yml"])
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    run.stderr
}

#[test]
fn a_missing_role_names_where_it_was_looked_for() {
    let home = temp_home();
    let dir = home.path();
    write(dir, "ansible.cfg", "[defaults]\nroles_path = shelf\n");
    write(
        dir,
        "site.yml",
        "- hosts: all\n  roles:\n    - role: nosuch\n",
    );
    let err = load_error(dir);
    let expected = format!(
        "site.yml:3:13: the role `nosuch` was not found in roles:{}:.",
        dir.join("shelf").display()
    );
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn bad_meta_is_reported_in_the_meta_file() {
    let home = temp_home();
    let dir = home.path();
    write(dir, "roles/web/meta/main.yml", "dependencies: common\n");
    write(dir, "site.yml", "- hosts: all\n  roles: [web]\n");
    let err = load_error(dir);
    assert!(
        err.contains(
            "roles/web/meta/main.yml:1:15: `dependencies` must be a list of roles, got a string"
        ),
        "{err}"
    );
}

#[test]
fn a_dependency_cycle_is_reported() {
    let home = temp_home();
    let dir = home.path();
    write(dir, "roles/a/meta/main.yml", "dependencies: [b]\n");
    write(dir, "roles/b/meta/main.yml", "dependencies: [a]\n");
    write(dir, "site.yml", "- hosts: all\n  roles: [a]\n");
    let err = load_error(dir);
    assert!(
        err.contains("roles/b/meta/main.yml:1:16: role dependency cycle: a -> b -> a"),
        "{err}"
    );
}

#[test]
fn a_missing_tasks_from_file_is_reported_at_the_include() {
    let home = temp_home();
    let dir = home.path();
    write(
        dir,
        "roles/web/tasks/main.yml",
        "- ansible.builtin.debug: msg=hi\n",
    );
    write(
        dir,
        "site.yml",
        "- hosts: all\n  tasks:\n    - ansible.builtin.include_role:\n        name: web\n        tasks_from: nosuch\n",
    );
    let err = load_error(dir);
    assert!(
        err.contains("site.yml:4:15: could not find `tasks/nosuch` in role `web`"),
        "{err}"
    );
}

/// `import_role` is read with the playbook: its name cannot be a template (`include_role`'s
/// can); `public: true` with a templated `include_role` is refused; `apply` is for includes.
#[test]
fn templated_role_names_are_for_include_role() {
    let home = temp_home();
    let dir = home.path();
    write(dir, "roles/web/tasks/main.yml", "- debug: msg=hi\n");
    write(
        dir,
        "site.yml",
        "- hosts: all\n  vars: {r: web}\n  tasks:\n    - import_role: {name: \"{{ r }}\"}\n    - include_role: {name: \"{{ r }}\", public: true}\n    - import_role: {name: web, apply: {tags: [x]}}\n    - include_role: {name: web, tasks_from: \"{{ r }}\"}\n",
    );
    let err = load_error(dir);
    for expected in [
        "site.yml:4:27: `import_role` is read before the run, so its role name cannot be templated",
        "site.yml:5:47: `public: true` with a templated role name or `*_from` is not supported",
        "site.yml:6:39: `apply` is only valid on `include_role`, not on `import_role`",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    // The templated `tasks_from` of an `include_role` is no load error.
    assert!(!err.contains("site.yml:7"), "{err}");
}

//! Example playbooks an Ansible user would write load cleanly; one is checked field by field.

use super::support::{block_parts, ok_file};
use clearfleet_base::diagnostic::Location;
use clearfleet_playbook::{Spanned, Strategy, TaskBody};
use serde_json::json;

/// Every top-level example playbook: the test fixtures and the shipped examples.
pub const EXAMPLES: &[&str] = &[
    "tests/fixtures/playbooks/basic.yml",
    "tests/fixtures/playbooks/blocks.yml",
    "tests/fixtures/playbooks/includes.yml",
    "tests/fixtures/playbooks/legacy.yml",
    "tests/fixtures/playbooks/loops.yml",
    "playbooks/examples/site.yml",
    "playbooks/examples/rolling_upgrade.yml",
];

#[test]
fn every_example_loads_cleanly() {
    for path in EXAMPLES {
        let pb = ok_file(path);
        assert!(!pb.plays.is_empty(), "{path}");
    }
}

#[test]
fn basic_field_by_field() {
    let pb = ok_file("tests/fixtures/playbooks/basic.yml");
    let file = "tests/fixtures/playbooks/basic.yml";
    assert_eq!(pb.plays.len(), 1);
    assert_eq!(pb.files.len(), 1);
    assert_eq!(pb.files[0].path, std::path::Path::new(file));
    let play = &pb.plays[0];
    assert_eq!(play.name.as_deref(), Some("Configure web servers"));
    assert_eq!(play.hosts, "webservers");
    assert_eq!(play.gather_facts, Some(false));
    assert_eq!(
        serde_json::to_value(&play.vars).unwrap_or_default(),
        json!({"app_dir": "/opt/app", "app_port": 8080, "packages": ["curl", "git"]})
    );
    assert!(play.vars_files.is_empty());
    assert_eq!(play.serial, None);
    assert_eq!(play.max_fail_percentage, None);
    assert!(!play.any_errors_fatal);
    assert_eq!(play.strategy, Strategy::Linear);
    assert_eq!(play.become_, None);
    assert!(play.pre_tasks.is_empty() && play.post_tasks.is_empty());
    assert!(play.tags.is_empty() && play.environment.is_empty());
    assert_eq!(play.location, Location::new(file, 3, 3));
    assert_eq!(play.tasks.len(), 5);
    assert_eq!(play.handlers.len(), 1);

    let t = &play.tasks[0];
    assert_eq!(t.name.as_deref(), Some("Create the app directory"));
    assert_eq!(
        t.body,
        TaskBody::Module {
            module: "file".to_owned(),
            args: json!({"path": "{{ app_dir }}", "state": "directory", "mode": "0755"}),
            plugin: None,
        }
    );
    assert_eq!(t.location, Location::new(file, 11, 7));
    assert_eq!(t.templates.len(), 1);
    assert_eq!(t.templates[0].key_path, "args.path");
    assert_eq!(t.templates[0].location, Location::new(file, 13, 15));

    let t = &play.tasks[1];
    assert_eq!(t.notify, ["restart app"]);
    assert_eq!(
        t.body,
        TaskBody::Module {
            module: "copy".to_owned(),
            args: json!({"content": "port={{ app_port }}\n", "dest": "{{ app_dir }}/app.conf", "mode": "0644"}),
            plugin: None,
        }
    );

    let t = &play.tasks[2];
    assert_eq!(
        t.body,
        TaskBody::Module {
            module: "command".to_owned(),
            args: json!({"_raw_params": "uptime"}),
            plugin: None,
        }
    );
    assert_eq!(t.register.as_deref(), Some("up"));
    assert_eq!(
        t.changed_when,
        [Spanned::new(
            "False".to_owned(),
            Location::new(file, 27, 21)
        )]
    );
    assert!(t.when.is_empty() && t.failed_when.is_empty());

    let t = &play.tasks[3];
    assert_eq!(
        t.when,
        [Spanned::new(
            "up.rc == 0".to_owned(),
            Location::new(file, 32, 13)
        )]
    );

    let t = &play.tasks[4];
    assert_eq!(t.loop_, Some(json!("{{ packages }}")));
    assert_eq!(t.loop_with, None);
    assert_eq!(t.loop_label, None);
    // Everything else at its default.
    assert!(!t.ignore_errors && !t.no_log && !t.run_once);
    assert_eq!((t.retries, t.delay, t.timeout), (None, None, None));
    assert_eq!(t.until, None);
    assert!(t.tags.is_empty() && t.notify.is_empty() && t.listen.is_empty());
    assert_eq!(t.become_, None);
    assert_eq!(t.delegate_to, None);
    assert!(t.environment.is_empty() && t.vars.is_empty());

    let h = &play.handlers[0];
    assert_eq!(h.name.as_deref(), Some("restart app"));
    assert_eq!(
        h.body,
        TaskBody::Module {
            module: "shell".to_owned(),
            args: json!({"_raw_params": "pkill -HUP app || true"}),
            plugin: None,
        }
    );
}

#[test]
fn rolling_upgrade_shape() {
    let pb = ok_file("playbooks/examples/rolling_upgrade.yml");
    let play = &pb.plays[0];
    assert_eq!(play.serial, Some(clearfleet_playbook::Serial::Number(1)));
    assert_eq!(play.max_fail_percentage, Some(0.0));
    assert_eq!(play.vars_files[0].value, "vars/clearml.yml");
    let (block, rescue, always) = block_parts(&play.tasks[0]);
    assert_eq!((block.len(), rescue.len(), always.len()), (4, 3, 1));
    assert_eq!(block[3].retries, Some(30));
    assert_eq!(block[3].delay, Some(10.0));
    // Play-level `become: yes` reaches the tasks inside the block.
    assert_eq!(
        block[0].become_.as_ref().and_then(|b| b.enabled),
        Some(true)
    );
    assert_eq!(play.post_tasks[0].delegate_to.as_deref(), Some("localhost"));
    assert!(play.post_tasks[0].run_once);
    assert_eq!(play.pre_tasks[0].tags, ["always"]);
}

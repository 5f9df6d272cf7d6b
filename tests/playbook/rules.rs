//! Ansible's rules, one test each: what the model holds for a given task or play.

use super::support::{assert_text, block_parts, check, errors, file_errors, ok, ok_file};
use clearfleet_base::diagnostic::Location;
use clearfleet_playbook::{
    BecomeSpec, ControllerFiles, Inherited, Serial, SerialStep, Strategy, Task, TaskBody,
    TemplateKind, load_playbook_str, load_tasks_file, resolve_path,
};
use serde_json::{Value, json};
use std::path::Path;

fn tasks(yaml_tasks: &str) -> Vec<Task> {
    let text = format!("- hosts: all\n  tasks:\n{yaml_tasks}");
    ok(&text).plays.remove(0).tasks
}

fn one(yaml_task: &str) -> Task {
    tasks(yaml_task).remove(0)
}

fn module(t: &Task) -> (&str, &Value) {
    match &t.body {
        TaskBody::Module { module, args, .. } => (module.as_str(), args),
        other => panic!("not a module call: {other:?}"),
    }
}

fn conditions(c: &[clearfleet_playbook::Spanned<String>]) -> Vec<&str> {
    c.iter().map(|s| s.value.as_str()).collect()
}

#[test]
fn builtin_prefix_is_stripped() {
    let t = one("    - ansible.builtin.debug: {msg: hi}\n    - ansible.legacy.debug: msg=hi\n");
    assert_eq!(module(&t), ("debug", &json!({"msg": "hi"})));
    let all = tasks("    - ansible.builtin.debug: {msg: hi}\n    - ansible.legacy.debug: msg=hi\n");
    assert_eq!(module(&all[1]), ("debug", &json!({"msg": "hi"})));
}

#[test]
fn free_form_command_splits_options_like_parse_kv() {
    let t = one("    - command: ls -l chdir=/tmp creates=/tmp/x foo=bar\n");
    assert_eq!(
        module(&t),
        (
            "command",
            &json!({"chdir": "/tmp", "creates": "/tmp/x", "_raw_params": "ls -l foo=bar"})
        )
    );
    let t = one("    - shell: |\n        set -e\n        echo {{ x }} > /tmp/out\n");
    assert_eq!(
        module(&t).1,
        &json!({"_raw_params": "set -e\necho {{ x }} > /tmp/out\n"})
    );
}

#[test]
fn key_value_text_for_other_modules() {
    let t = one("    - copy: src=a.txt dest=/tmp/a.txt mode=0644\n");
    assert_eq!(
        module(&t).1,
        &json!({"src": "a.txt", "dest": "/tmp/a.txt", "mode": "0644"})
    );
}

#[test]
fn args_keyword_is_merged_and_module_args_win() {
    let t = one(
        "    - shell: ./configure chdir=/src\n      args:\n        chdir: /ignored\n        creates: /src/Makefile\n",
    );
    assert_eq!(
        module(&t).1,
        &json!({"chdir": "/src", "_raw_params": "./configure", "creates": "/src/Makefile"})
    );
}

#[test]
fn action_and_local_action_forms() {
    let all = tasks(
        "    - action: command echo hi chdir=/tmp\n    - action:\n        module: ansible.builtin.copy\n        src: a\n        dest: /b\n    - local_action: command hostname\n",
    );
    assert_eq!(
        module(&all[0]),
        (
            "command",
            &json!({"chdir": "/tmp", "_raw_params": "echo hi"})
        )
    );
    assert_eq!(
        module(&all[1]),
        ("copy", &json!({"src": "a", "dest": "/b"}))
    );
    assert_eq!(module(&all[2]).0, "command");
    assert_eq!(all[2].delegate_to.as_deref(), Some("localhost"));
    assert_eq!(all[0].delegate_to, None);
}

#[test]
fn with_items_and_with_list_become_loop() {
    let all = tasks(
        "    - debug: var=item\n      with_items: [a, [b, c]]\n    - debug: var=item\n      with_list: \"{{ xs }}\"\n    - debug: var=item\n      with_items: single\n    - debug: var=item\n      loop: [1, 2]\n      loop_control: {label: \"{{ item }}\", loop_var: it, index_var: i}\n",
    );
    // The terms as written; the runner renders them and runs the `items` or `list` lookup.
    assert_eq!(all[0].loop_, Some(json!(["a", ["b", "c"]])));
    assert_eq!(all[0].loop_with.as_deref(), Some("items"));
    assert_eq!(all[1].loop_, Some(json!("{{ xs }}")));
    assert_eq!(all[1].loop_with.as_deref(), Some("list"));
    assert_eq!(all[2].loop_, Some(json!("single")));
    assert_eq!(all[3].loop_with, None);
    // As ansible-playbook: `with_items:` with nothing is an error; `loop:` takes only a list.
    let e = errors("- hosts: all\n  tasks:\n    - debug: var=item\n      with_items:\n");
    assert!(
        e.contains("site.yml:4:7: you must specify a value when using with_items"),
        "{e}"
    );
    let e = errors("- hosts: all\n  tasks:\n    - debug: var=item\n      loop: {a: 1}\n");
    assert!(e.contains("`loop` must be a list or a template"), "{e}");
    assert_eq!(all[3].loop_, Some(json!([1, 2])));
    assert_eq!(all[3].loop_label.as_deref(), Some("{{ item }}"));
    assert_eq!(all[3].loop_var.as_deref(), Some("it"));
    assert_eq!(all[3].index_var.as_deref(), Some("i"));
}

#[test]
fn loop_and_with_items_together_is_an_error() {
    let e = errors(
        "- hosts: all\n  tasks:\n    - debug: var=item\n      loop: [1]\n      with_items: [2]\n",
    );
    assert!(
        e.starts_with("site.yml:5:7: `loop` and `with_items` cannot be used together"),
        "{e}"
    );
}

#[test]
fn yaml_1_1_booleans() {
    let pb = ok(
        "- hosts: all\n  gather_facts: no\n  become: yes\n  any_errors_fatal: on\n  tasks:\n    - command: \"true\"\n      ignore_errors: \"yes\"\n      no_log: True\n      run_once: 1\n",
    );
    let play = &pb.plays[0];
    assert_eq!(play.gather_facts, Some(false));
    assert!(play.any_errors_fatal);
    assert_eq!(play.become_.as_ref().and_then(|b| b.enabled), Some(true));
    let t = &play.tasks[0];
    assert!(t.ignore_errors && t.no_log && t.run_once);
}

#[test]
fn when_as_string_bool_or_list() {
    let all = tasks(
        "    - debug: msg=a\n      when: x == 1\n    - debug: msg=b\n      when: false\n    - debug: msg=c\n      when:\n        - a\n        - b is defined\n",
    );
    assert_eq!(conditions(&all[0].when), ["x == 1"]);
    assert_eq!(conditions(&all[1].when), ["False"]);
    assert_eq!(conditions(&all[2].when), ["a", "b is defined"]);
    assert_eq!(all[2].when[1].location, Location::new("site.yml", 10, 11));
}

#[test]
fn tags_as_comma_string_or_list_and_play_tags_inherit() {
    let pb = ok(
        "- hosts: all\n  tags: play\n  tasks:\n    - debug: msg=a\n      tags: one, two ,three\n    - debug: msg=b\n      tags: [x, 7]\n",
    );
    let play = &pb.plays[0];
    assert_eq!(play.tags, ["play"]);
    assert_eq!(play.tasks[0].tags, ["play", "one", "two", "three"]);
    assert_eq!(play.tasks[1].tags, ["play", "x", "7"]);
}

#[test]
fn notify_and_listen() {
    let pb = ok(
        "- hosts: all\n  tasks:\n    - command: \"true\"\n      notify: restart\n  handlers:\n    - name: restart\n      listen: [web changed, restart all]\n      command: \"true\"\n",
    );
    assert_eq!(pb.plays[0].tasks[0].notify, ["restart"]);
    assert_eq!(
        pb.plays[0].handlers[0].listen,
        ["web changed", "restart all"]
    );
}

#[test]
fn retries_until_delay_timeout() {
    let t = one(
        "    - command: \"true\"\n      register: r\n      until: r.rc == 0\n      retries: \"5\"\n      delay: 1.5\n      timeout: 30\n",
    );
    assert_eq!(t.register.as_deref(), Some("r"));
    assert_eq!(
        t.until.as_ref().map(|u| u.value.as_str()),
        Some("r.rc == 0")
    );
    assert_eq!(t.retries, Some(5));
    assert_eq!(t.delay, Some(1.5));
    assert_eq!(t.timeout, Some(30));
}

#[test]
fn delegate_to_a_host_or_a_template() {
    let t = one("    - command: \"true\"\n      delegate_to: 127.0.0.1\n");
    assert_eq!(t.delegate_to.as_deref(), Some("localhost"));
    let t = one("    - command: \"true\"\n      delegate_to: db1\n");
    assert_eq!(t.delegate_to.as_deref(), Some("db1"));
    let t = one("    - command: \"true\"\n      delegate_to: \"{{ groups.db[0] }}\"\n");
    assert_eq!(t.delegate_to.as_deref(), Some("{{ groups.db[0] }}"));
    let e =
        errors("- hosts: all\n  tasks:\n    - command: \"true\"\n      delegate_to: \"{{ x\"\n");
    assert!(e.starts_with("site.yml:4:20: "), "{e}");
    let e = errors(
        "- hosts: all\n  tasks:\n    - local_action: command hostname\n      delegate_to: localhost\n",
    );
    assert!(
        e.contains("`local_action` and `delegate_to` cannot be used together"),
        "{e}"
    );
}

#[test]
fn serial_forms_strategy_and_max_fail() {
    let pb = ok(
        "- hosts: a\n  serial: 2\n- hosts: b\n  serial: \"30%\"\n- hosts: c\n  serial: [1, \"5\", \"50%\"]\n  strategy: free\n  max_fail_percentage: 25\n",
    );
    assert_eq!(pb.plays[0].serial, Some(Serial::Number(2)));
    assert_eq!(pb.plays[1].serial, Some(Serial::Percent(30)));
    assert_eq!(
        pb.plays[2].serial,
        Some(Serial::List(vec![
            SerialStep::Number(1),
            SerialStep::Number(5),
            SerialStep::Percent(50)
        ]))
    );
    assert_eq!(pb.plays[0].strategy, Strategy::Linear);
    assert_eq!(pb.plays[2].strategy, Strategy::Free);
    assert_eq!(pb.plays[2].max_fail_percentage, Some(25.0));
    let e = errors("- hosts: a\n  serial: \"150%\"\n  max_fail_percentage: 101\n");
    assert!(e.contains("site.yml:2:11: `serial` must be"), "{e}");
    assert!(
        e.contains("site.yml:3:24: `max_fail_percentage` must be between 0 and 100"),
        "{e}"
    );
}

#[test]
fn hosts_list_is_joined() {
    let pb = ok("- hosts: [web, db]\n");
    assert_eq!(pb.plays[0].hosts, "web,db");
}

#[test]
fn block_keywords_inherit_to_children() {
    let pb = ok(
        "- hosts: all\n  become: yes\n  become_user: app\n  environment: {A: \"1\"}\n  tasks:\n    - when: outer\n      tags: t1\n      become_user: root\n      ignore_errors: yes\n      environment: {B: 2}\n      vars: {v: 1}\n      block:\n        - command: \"true\"\n          when: inner\n          environment: {A: x}\n          ignore_errors: no\n      rescue:\n        - debug: msg=r\n      always:\n        - debug: msg=a\n          tags: [t2]\n",
    );
    let play = &pb.plays[0];
    let (block, rescue, always) = block_parts(&play.tasks[0]);
    let child = &block[0];
    assert_eq!(conditions(&child.when), ["outer", "inner"]);
    assert_eq!(child.tags, ["t1"]);
    assert_eq!(
        child.become_,
        Some(BecomeSpec {
            exe: None,
            enabled: Some(true),
            user: Some("root".to_owned()),
            method: None,
            flags: None
        })
    );
    assert_eq!(
        child
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("A", "x"), ("B", "2")]
    );
    assert!(!child.ignore_errors);
    assert_eq!(child.vars.get("v"), Some(&json!(1)));
    assert!(rescue[0].ignore_errors);
    assert_eq!(conditions(&rescue[0].when), ["outer"]);
    assert_eq!(always[0].tags, ["t1", "t2"]);
    // The block keeps its own effective values too (informational for the runner).
    assert_eq!(conditions(&play.tasks[0].when), ["outer"]);
}

#[test]
fn import_tasks_is_loaded_now_with_keywords_applied() {
    let pb = ok_file("tests/fixtures/playbooks/includes.yml");
    let play = &pb.plays[1];
    let TaskBody::IncludeTasks {
        file,
        static_tasks: Some(imported),
    } = &play.tasks[0].body
    else {
        panic!("not an import: {:?}", play.tasks[0].body)
    };
    assert_eq!(file, "tasks/common.yml");
    assert_eq!(imported[0].name.as_deref(), Some("Common ping"));
    assert_eq!(imported[0].tags, ["common"]);
    assert_eq!(
        imported[0].location,
        Location::new("tests/fixtures/playbooks/tasks/common.yml", 1, 3)
    );
    // Nested import, relative to the including file.
    let TaskBody::IncludeTasks {
        static_tasks: Some(nested),
        file,
    } = &imported[1].body
    else {
        panic!("not a nested import")
    };
    assert_eq!(file, "nested.yml");
    assert_eq!(nested[0].tags, ["common"]);
}

#[test]
fn include_tasks_is_left_for_run_time() {
    let pb = ok_file("tests/fixtures/playbooks/includes.yml");
    let t = &pb.plays[1].tasks;
    assert_eq!(
        t[1].body,
        TaskBody::IncludeTasks {
            file: "tasks/setup.yml".to_owned(),
            static_tasks: None
        }
    );
    assert_eq!(
        t[2].body,
        TaskBody::IncludeTasks {
            file: "tasks/{{ flavour }}.yml".to_owned(),
            static_tasks: None
        }
    );
    assert_eq!(t[3].loop_, Some(json!([1, 2])));
    // The runner loads it later with the include's inheritable keywords.
    let path = resolve_path(&t[1].location, "tasks/setup.yml");
    assert_eq!(path, Path::new("tests/fixtures/playbooks/tasks/setup.yml"));
    let loaded = load_tasks_file(
        &ControllerFiles::Disk,
        &path,
        &Inherited::for_include(&t[1]),
        false,
        &Default::default(),
        &mut check,
    );
    let Ok((tasks, files)) = loaded else {
        panic!("{loaded:?}")
    };
    assert_eq!(tasks.len(), 2);
    assert_eq!(module(&tasks[0]).0, "set_fact");
    assert_eq!(files.len(), 1);
}

#[test]
fn import_playbook_expands_in_place() {
    let pb = ok_file("tests/fixtures/playbooks/includes.yml");
    assert_eq!(pb.plays.len(), 2);
    assert_eq!(pb.plays[0].name.as_deref(), Some("Configure web servers"));
    assert_eq!(
        pb.plays[0].location.path,
        Path::new("tests/fixtures/playbooks/basic.yml")
    );
    let paths: Vec<_> = pb
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert!(
        paths.contains(&"tests/fixtures/playbooks/basic.yml".to_owned()),
        "{paths:?}"
    );
}

#[test]
fn import_playbook_keywords() {
    let dir = std::env::temp_dir().join(format!("clearfleet-pb-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let inner = dir.join("inner.yml");
    let _ = std::fs::write(
        &inner,
        "- hosts: all\n  vars: {a: 1, b: 1}\n  tasks:\n    - debug: msg=x\n",
    );
    let site = dir.join("site.yml");
    let text = "- import_playbook: inner.yml\n  tags: imported\n  when: go\n  vars: {b: 2}\n";
    let pb = load_playbook_str(&site, text, &mut check);
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(pb) = pb else { panic!("{pb:?}") };
    let play = &pb.plays[0];
    assert_eq!(play.tags, ["imported"]);
    assert_eq!(play.vars.get("b"), Some(&json!(2)));
    assert_eq!(play.tasks[0].tags, ["imported"]);
    assert_eq!(conditions(&play.tasks[0].when), ["go"]);
}

#[test]
fn missing_files_are_reported_where_they_are_named() {
    let expected = r#"tests/fixtures/playbook_errors/missing_include.yml:3:21: tasks file `tests/fixtures/playbook_errors/tasks/nope.yml` not found
  |
3 |     - import_tasks: tasks/nope.yml
  |                     ^

error: tests/fixtures/playbook_errors/missing_include.yml:7:7: vars file `tests/fixtures/playbook_errors/vars/missing.yml` not found
  |
7 |     - vars/missing.yml
  |       ^"#;
    assert_text(
        &file_errors("tests/fixtures/playbook_errors/missing_include.yml"),
        expected,
    );
}

#[test]
fn import_cycles_are_errors() {
    let expected = r#"tests/fixtures/playbook_errors/tasks/b.yml:2:17: include cycle: tests/fixtures/playbook_errors/tasks/a.yml -> tests/fixtures/playbook_errors/tasks/b.yml -> tests/fixtures/playbook_errors/tasks/a.yml
  |
2 | - import_tasks: a.yml
  |                 ^"#;
    assert_text(
        &file_errors("tests/fixtures/playbook_errors/import_cycle.yml"),
        expected,
    );
    let e = file_errors("tests/fixtures/playbook_errors/playbook_cycle.yml");
    assert!(
        e.starts_with("tests/fixtures/playbook_errors/playbook_cycle_2.yml:3:20: import cycle: tests/fixtures/playbook_errors/playbook_cycle.yml -> tests/fixtures/playbook_errors/playbook_cycle_2.yml -> tests/fixtures/playbook_errors/playbook_cycle.yml"),
        "{e}"
    );
}

#[test]
fn recursive_include_tasks_is_allowed() {
    // Ansible allows a guarded recursive include; the loader just does not follow it twice.
    let pb = ok_file("tests/fixtures/playbook_errors/recursive_include.yml");
    assert_eq!(pb.plays[0].tasks.len(), 1);
}

#[test]
fn errors_of_every_file_are_reported_together_sorted() {
    let expected = r#"tests/fixtures/playbook_errors/errors_in_included.yml:6:16: `retries` must be a whole number, got `lots`
  |
6 |       retries: lots
  |                ^

error: tests/fixtures/playbook_errors/tasks/broken.yml:2:3: unknown module `comand`
  |
2 |   comand: ls
  |   ^
  = hint: did you mean `command`?"#;
    assert_text(
        &file_errors("tests/fixtures/playbook_errors/errors_in_included.yml"),
        expected,
    );
    let e = file_errors("tests/fixtures/playbook_errors/not_a_task_list.yml");
    assert!(e.starts_with("tests/fixtures/playbook_errors/tasks/mapping.yml:1:1: a tasks file must be a list of tasks, got a mapping"), "{e}");
}

#[test]
fn template_hook_sees_every_template_and_expression() {
    let mut seen: Vec<(String, TemplateKind, String)> = Vec::new();
    let mut hook = |s: &str, k: TemplateKind, at: &Location| -> Result<(), String> {
        seen.push((s.to_owned(), k, at.to_string()));
        Ok(())
    };
    let text = "- hosts: \"{{ target }}\"\n  vars:\n    url: \"http://{{ host }}\"\n    plain: text\n  tasks:\n    - name: \"Get {{ url }}\"\n      uri:\n        url: \"{{ url }}\"\n        headers: {X: \"{{ h }}\"}\n      when: ok\n      changed_when: false\n      failed_when: [a, b]\n      until: done\n      loop: \"{{ items }}\"\n";
    let pb = load_playbook_str(Path::new("site.yml"), text, &mut hook);
    let Ok(pb) = pb else { panic!("{pb:?}") };
    let expected: Vec<(String, TemplateKind, String)> = [
        ("{{ target }}", TemplateKind::Text, "site.yml:1:10"),
        ("http://{{ host }}", TemplateKind::Text, "site.yml:3:10"),
        ("Get {{ url }}", TemplateKind::Text, "site.yml:6:13"),
        ("ok", TemplateKind::Expression, "site.yml:10:13"),
        ("False", TemplateKind::Expression, "site.yml:11:21"),
        ("a", TemplateKind::Expression, "site.yml:12:21"),
        ("b", TemplateKind::Expression, "site.yml:12:24"),
        ("done", TemplateKind::Expression, "site.yml:13:14"),
        ("{{ url }}", TemplateKind::Text, "site.yml:8:14"),
        ("{{ h }}", TemplateKind::Text, "site.yml:9:22"),
        ("{{ items }}", TemplateKind::Text, "site.yml:14:13"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_owned(), b, c.to_owned()))
    .collect();
    assert_eq!(seen, expected);
    let task = &pb.plays[0].tasks[0];
    let sites: Vec<(String, String)> = task
        .templates
        .iter()
        .map(|s| (s.key_path.clone(), s.location.to_string()))
        .collect();
    assert_eq!(
        sites,
        [
            ("name".to_owned(), "site.yml:6:13".to_owned()),
            ("args.url".to_owned(), "site.yml:8:14".to_owned()),
            ("args.headers.X".to_owned(), "site.yml:9:22".to_owned()),
            ("loop".to_owned(), "site.yml:14:13".to_owned()),
        ]
    );
    let play_sites: Vec<&str> = pb.plays[0]
        .templates
        .iter()
        .map(|s| s.key_path.as_str())
        .collect();
    assert_eq!(play_sites, ["hosts", "vars.url"]);
}

#[test]
fn unsafe_values_are_not_template_checked() {
    // Not checked, and kept as a template that renders to exactly the text.
    let pb = ok("- hosts: all\n  vars:\n    raw: !unsafe \"{{ not a template\"\n");
    assert_eq!(
        pb.plays[0].vars.get("raw"),
        Some(&json!("{% raw +%}{{ not a template{% endraw +%}"))
    );
}

#[test]
fn meta_flush_handlers_and_include_free_form() {
    let all = tasks("    - meta: flush_handlers\n");
    assert_eq!(
        module(&all[0]),
        ("meta", &json!({"_raw_params": "flush_handlers"}))
    );
}

#[test]
fn set_fact_takes_any_name_and_key_value_text() {
    let t = one("    - set_fact: a=1 b=\"two words\"\n");
    assert_eq!(module(&t).1, &json!({"a": "1", "b": "two words"}));
}

#[test]
fn duplicate_keys_last_wins_like_pyyaml() {
    let t = one("    - debug: msg=first\n      name: a\n      name: b\n");
    assert_eq!(t.name.as_deref(), Some("b"));
}

#[test]
fn task_location_is_its_first_key() {
    let all = tasks("    - name: first\n      debug: msg=x\n\n    -   debug: msg=y\n");
    assert_eq!(all[0].location, Location::new("site.yml", 3, 7));
    assert_eq!(all[1].location, Location::new("site.yml", 6, 9));
}

#[test]
fn several_mistakes_in_one_file_are_reported_together() {
    let text = "- hosts: all\n  becom: yes\n  tasks:\n    - shell: echo hi\n      retries: many\n    - copy:\n        dest: /tmp/x\n        mdoe: \"0644\"\n    - debug:\n        msg: \"{{ oops\"\n";
    let e = errors(text);
    let expected = r#"site.yml:2:3: unknown play keyword `becom`
  |
2 |   becom: yes
  |   ^
  = hint: did you mean `become`?

error: site.yml:5:16: `retries` must be a whole number, got `many`
  |
5 |       retries: many
  |                ^

error: site.yml:8:9: unsupported argument `mdoe` for module `copy` (supported: backup, content, decrypt, dest, directory_mode, follow, force, group, local_follow, mode, owner, remote_src, src, unsafe_writes, validate)
  |
8 |         mdoe: "0644"
  |         ^

error: site.yml:10:14: invalid template in `args.msg`: unbalanced `{{`
   |
10 |         msg: "{{ oops"
   |              ^"#;
    assert_text(&e, expected);
    // Each once, in order.
    assert_eq!(e.matches("\n\nerror: ").count(), 3);
}

#[test]
fn become_fields_override_one_by_one() {
    let pb = ok(
        "- hosts: all\n  become: true\n  become_method: su\n  tasks:\n    - command: \"true\"\n      become_user: \"{{ app_user }}\"\n      become_flags: -H\n    - command: \"true\"\n      become: no\n",
    );
    let t = &pb.plays[0].tasks;
    assert_eq!(
        t[0].become_,
        Some(BecomeSpec {
            exe: None,
            enabled: Some(true),
            user: Some("{{ app_user }}".to_owned()),
            method: Some("su".to_owned()),
            flags: Some("-H".to_owned())
        })
    );
    assert_eq!(t[1].become_.as_ref().and_then(|b| b.enabled), Some(false));
    assert_eq!(t[0].templates[0].key_path, "become_user");
}

#[test]
fn environment_values_become_strings() {
    let t = one(
        "    - command: env\n      environment:\n        A: 1\n        B: yes\n        C: \"{{ c }}\"\n        D:\n",
    );
    let env: Vec<(&str, &str)> = t
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [("A", "1"), ("B", "True"), ("C", "{{ c }}"), ("D", "")]
    );
    let e = errors(
        "- hosts: all\n  tasks:\n    - command: env\n      environment: \"{{ proxy_env }}\"\n",
    );
    assert!(
        e.starts_with("site.yml:4:20: `environment` must be a mapping here"),
        "{e}"
    );
}

#[test]
fn vars_files_are_resolved_and_checked() {
    let pb = ok_file("tests/fixtures/playbooks/legacy.yml");
    let vf = &pb.plays[0].vars_files;
    assert_eq!(vf[0].value, "vars/common.yml");
    assert_eq!(
        resolve_path(&vf[0].location, &vf[0].value),
        Path::new("tests/fixtures/playbooks/vars/common.yml")
    );
    assert_eq!(
        vf[0].location,
        Location::new("tests/fixtures/playbooks/legacy.yml", 9, 7)
    );
    // A templated path is left for run time.
    let pb = ok("- hosts: all\n  vars_files: [\"vars/{{ env }}.yml\"]\n");
    assert_eq!(pb.plays[0].vars_files[0].value, "vars/{{ env }}.yml");
}

/// `with_<lookup>` keeps its terms for the runner; keywords Ansible templates may be
/// templates on a task (rendered per host); loop_control's pause/extended are typed.
#[test]
fn lookup_loops_and_templated_keywords() {
    let all = tasks(
        "    - debug: var=item\n      with_dict: \"{{ d }}\"\n      retries: \"{{ n }}\"\n      until: true\n      ignore_errors: \"{{ quiet }}\"\n    - debug: var=item\n      with_sequence: start=1 end=3\n      loop_control: {pause: 0.5, extended: true, extended_allitems: false}\n",
    );
    assert_eq!(all[0].loop_with.as_deref(), Some("dict"));
    assert_eq!(all[0].loop_, Some(json!("{{ d }}")));
    let templated: Vec<(&str, &str)> = all[0]
        .templated
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        templated,
        [("retries", "{{ n }}"), ("ignore_errors", "{{ quiet }}")]
    );
    assert_eq!(all[0].retries, None);
    assert_eq!(all[1].loop_with.as_deref(), Some("sequence"));
    assert_eq!(all[1].loop_, Some(json!("start=1 end=3")));
    assert_eq!(all[1].loop_pause, Some(0.5));
    assert!(all[1].loop_extended && !all[1].loop_allitems);
    // On a block they stay literal (inherited at load time).
    let e = errors(
        "- hosts: all\n  tasks:\n    - block: [{debug: msg=x}]\n      ignore_errors: \"{{ q }}\"\n",
    );
    assert!(
        e.contains("site.yml:4:22: `ignore_errors` must be a literal boolean here"),
        "{e}"
    );
}

#[test]
fn loop_control_rejects_what_it_does_not_support() {
    let e = errors(
        "- hosts: all\n  tasks:\n    - debug: var=item\n      loop: [1]\n      loop_control:\n        break_when: [true]\n        lable: x\n",
    );
    assert!(
        e.contains("site.yml:6:9: `loop_control.break_when` is not supported by clearfleet"),
        "{e}"
    );
    assert!(
        e.contains("site.yml:7:9: unknown `loop_control` keyword `lable`"),
        "{e}"
    );
    assert!(e.contains("did you mean `label`?"), "{e}");
}

#[test]
fn handlers_can_be_blocks_and_include_tasks() {
    let pb = ok(
        "- hosts: all\n  handlers:\n    - name: restart\n      block:\n        - command: \"true\"\n          listen: restart all\n",
    );
    let (block, _, _) = block_parts(&pb.plays[0].handlers[0]);
    assert_eq!(block[0].listen, ["restart all"]);
}

#[test]
fn until_as_a_list_is_anded() {
    let t = one("    - command: \"true\"\n      register: r\n      until: [r.rc == 0, r.stdout]\n");
    assert_eq!(
        t.until.map(|u| u.value),
        Some("(r.rc == 0) and (r.stdout)".to_owned())
    );
}

#[test]
fn empty_and_missing_playbooks() {
    assert_text(
        &errors("---\n# nothing\n"),
        "site.yml:1:1: empty playbook, nothing to do\n  |\n1 | ---\n  | ^",
    );
    let e = file_errors("tests/fixtures/nope.yml");
    assert_eq!(e, "playbook `tests/fixtures/nope.yml` not found");
}

#[test]
fn import_tasks_with_a_loop_is_an_error() {
    let e = errors("- hosts: all\n  tasks:\n    - import_tasks: x.yml\n      loop: [1]\n");
    assert!(
        e.starts_with("site.yml:4:7: `import_tasks` cannot be used with `loop`"),
        "{e}"
    );
}

#[test]
fn include_tasks_needs_a_file_and_rejects_other_arguments() {
    let e = errors("- hosts: all\n  tasks:\n    - include_tasks:\n        public: true\n");
    assert!(
        e.starts_with("site.yml:4:9: unsupported argument `public` for module `include_tasks`"),
        "{e}"
    );
    // `apply` is read as a block's keywords: a bad one is named at its place.
    let e = errors(
        "- hosts: all\n  tasks:\n    - include_tasks:\n        file: x.yml\n        apply: {tgas: x}\n",
    );
    assert!(
        e.contains("site.yml:5:17: `tgas` is not a valid keyword for a block"),
        "{e}"
    );
    let e = errors("- hosts: all\n  tasks:\n    - include_tasks:\n");
    assert!(
        e.starts_with("site.yml:3:7: `include_tasks` needs a file name"),
        "{e}"
    );
}

#[test]
fn import_playbook_as_a_task_is_an_error() {
    let e = errors("- hosts: all\n  tasks:\n    - import_playbook: other.yml\n");
    assert!(
        e.starts_with("site.yml:3:7: `import_playbook` is only valid at the play level"),
        "{e}"
    );
}

#[test]
fn block_keywords_that_belong_to_tasks_are_rejected() {
    let e = errors(
        "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=x\n      register: r\n      loop: [1]\n",
    );
    assert!(
        e.contains("site.yml:5:7: `register` is not a valid keyword for a block"),
        "{e}"
    );
    assert!(
        e.contains("site.yml:6:7: `loop` is not a valid keyword for a block"),
        "{e}"
    );
}

#[test]
fn a_dynamic_includes_file_is_checked_up_front_as_a_warning() {
    // Ansible reads an `include_tasks` file only when a host reaches it (ansible-core's
    // setup_remote_tmp_dir names a Windows cleanup file full of `win_*` modules as a handler):
    // what the up-front check finds there is a warning, and the playbook loads.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    write(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_tasks: windows.yml\n      when: false\n    - include_tasks: gone.yml\n      when: false\n    - import_tasks: fine.yml\n",
    );
    write("windows.yml", "- win_file: {path: x, state: absent}\n");
    write("fine.yml", "- debug: msg=hi\n");
    let mut check = |_: &str, _: TemplateKind, _: &Location| -> Result<(), String> { Ok(()) };
    let pb = clearfleet_playbook::load_playbook_with(
        &ControllerFiles::Disk,
        &dir.path().join("site.yml"),
        &[],
        &mut check,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = pb.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("windows.yml:1:3: unknown module `win_file`"),
        "{warnings:#?}"
    );
    assert!(warnings[1].contains("gone.yml` not found"), "{warnings:#?}");
    // An imported file is read now: its errors stay errors.
    write("fine.yml", "- win_file: {path: x}\n");
    let e = clearfleet_playbook::load_playbook_with(
        &ControllerFiles::Disk,
        &dir.path().join("site.yml"),
        &[],
        &mut check,
    );
    assert!(
        e.as_ref()
            .is_err_and(|e| e.to_string().contains("unknown module `win_file`")),
        "{e:?}"
    );
}

#[test]
fn a_templated_loop_var_is_rendered_when_the_task_runs() {
    // Ansible templates `loop_control.loop_var`/`index_var` per task (post_validate): a
    // template is kept for the runner; a literal name is still checked now.
    let t = one(
        "    - debug: var=x\n      loop: [1]\n      loop_control: {loop_var: \"{{ name }}\", index_var: \"{{ idx }}\"}\n",
    );
    assert_eq!(t.loop_var, None);
    assert_eq!(t.index_var, None);
    let templated: Vec<(&str, &str)> = t
        .templated
        .iter()
        .map(|(k, s)| (k.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        templated,
        [
            ("loop_control.loop_var", "{{ name }}"),
            ("loop_control.index_var", "{{ idx }}")
        ]
    );
    let e = errors(
        "- hosts: all\n  tasks:\n    - debug: var=x\n      loop: [1]\n      loop_control: {index_var: my-idx}\n",
    );
    assert!(
        e.contains("site.yml:5:33: invalid variable name in `loop_control.index_var`: `my-idx`"),
        "{e}"
    );
}

#[test]
fn shell_with_expand_argument_vars_is_a_warning_and_fails_when_it_runs() {
    // Ansible's `shell` action refuses `command`'s `expand_argument_vars` only when the task
    // runs: the playbook loads with a warning; an unknown argument is still an error.
    let pb = ok(
        "- hosts: all\n  tasks:\n    - shell: echo hi\n      args: {expand_argument_vars: false}\n    - command: echo $HOME expand_argument_vars=false\n",
    );
    let warnings: Vec<String> = pb.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains(
            "site.yml:4:14: Unsupported parameters for (shell) module: expand_argument_vars"
        ),
        "{warnings:#?}"
    );
    let e = errors(
        "- hosts: all\n  tasks:\n    - shell: echo hi\n      args: {expand_argument_var: false}\n",
    );
    assert!(
        e.contains("unsupported argument `expand_argument_var` for module `shell`"),
        "{e}"
    );
}

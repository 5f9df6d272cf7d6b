//! `clearfleet run` end to end, one test per group of task keywords and modules, on real sshd
//! hosts (tests/support/sshd.rs). Each test writes its playbook beside a fresh inventory and
//! checks what happened on the hosts, in the output and in the PLAY RECAP.

use crate::support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use support::cli::{Recap, Run};
use support::setup::Setup;
use support::sshd::Fleet;

#[test]
fn register_when_loops_changed_when_failed_when_and_ignore_errors() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: say hello
      command: echo hello
      register: out
      changed_when: false
    - name: runs on a registered value
      copy: { content: "yes\n", dest: "{{ work_dir }}/when_yes" }
      when: out.stdout == 'hello'
    - name: skipped on a registered value
      copy: { content: "no\n", dest: "{{ work_dir }}/when_no" }
      when: out.stdout != 'hello' and out is succeeded
    - name: loop with label and index
      shell: echo "{{ idx }}:{{ item.name }}" >> {{ work_dir }}/loop.txt
      loop:
        - { name: a, token: hidden-token-1 }
        - { name: b, token: hidden-token-2 }
      loop_control:
        label: "{{ item.name }}"
        index_var: idx
      register: looped
    - name: with_items flattens one level
      shell: echo {{ item }} >> {{ work_dir }}/items.txt
      with_items:
        - [x, y]
        - z
    - name: failed_when and changed_when on the rc
      command: sh -c 'exit 3'
      register: rc3
      failed_when: rc3.rc != 3
      changed_when: rc3.rc == 3
    - name: a failure that is ignored
      command: /bin/false
      ignore_errors: true
      register: ign
    - name: failed_when false never fails
      command: /bin/false
      failed_when: false
      register: nf
    - name: k=v escapes are decoded as Ansible does
      copy: content="tab\there\n" dest={{ work_dir }}/escaped
    - name: dump
      copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'names': looped.results | map(attribute='item.name') | list,
                      'idx': looped.results | map(attribute='ansible_loop_var') | list,
                      'n': looped.results | length, 'looped_changed': looped.changed,
                      'rc3': rc3.rc, 'rc3_failed': rc3.failed, 'rc3_changed': rc3.changed,
                      'ign_failed': ign.failed, 'ign_rc': ign.rc, 'nf_failed': nf.failed,
                      'nf_rc': nf.rc, 'rc3_fwr': rc3.failed_when_result,
                      'nf_fwr': nf.failed_when_result,
                      'ign_fwr': ign.failed_when_result is defined} | to_nice_json }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(s.read("when_yes"), "yes\n");
    assert!(!s.exists("when_no"));
    assert_eq!(s.read("loop.txt"), "0:a\n1:b\n");
    assert_eq!(s.read("items.txt"), "x\ny\nz\n");
    assert_eq!(
        s.json("dump.json"),
        serde_json::json!({
            "names": ["a", "b"], "idx": ["item", "item"], "n": 2, "looped_changed": true,
            "rc3": 3, "rc3_failed": false, "rc3_changed": true,
            "ign_failed": true, "ign_rc": 1, "nf_failed": false, "nf_rc": 1,
            "rc3_fwr": false, "nf_fwr": false, "ign_fwr": false
        })
    );
    assert!(
        run.stdout.contains("changed: [h01] => (item=a)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("hidden-token"), "{}", run.stdout);
    assert!(run.stdout.contains("skipping: [h01]"), "{}", run.stdout);
    // ok: hello, when_yes, loop, with_items, rc3, ignored, failed_when false, escaped, dump; a command
    // is always `changed`, even when its failure is ignored (Ansible counts it).
    assert_eq!(
        Recap::of(&run.stdout, "h01").counts(),
        [9, 8, 0, 0, 1, 0, 1],
        "{}",
        run.stdout
    );
    assert_eq!(s.read("escaped"), "tab\there\n");
}

#[test]
fn until_retries_and_delay_count_attempts() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: succeeds on the third attempt
      shell: n=$(cat {{ work_dir }}/count 2>/dev/null || echo 0); n=$((n+1)); echo $n > {{ work_dir }}/count; echo $n
      register: r
      until: r.stdout | int >= 3
      retries: 5
      delay: 1
    - name: never succeeds
      command: /bin/false
      register: never
      until: never.rc == 0
      retries: 2
      delay: 0
      ignore_errors: true
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'r': r.attempts, 'r_out': r.stdout, 'never': never.attempts, 'never_failed': never.failed} | to_json }}"
"#,
    );
    let started = Instant::now();
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two delays of 1 s"
    );
    assert_eq!(s.read("count"), "3\n");
    // `never` ran three times; out of attempts, Ansible registers `retries - 1` of its own
    // count (1 + retries), so 2.
    assert_eq!(
        s.json("dump.json"),
        serde_json::json!({"r": 3, "r_out": "3", "never": 2, "never_failed": true})
    );
    assert_eq!(
        Recap::of(&run.stdout, "h01").count("ignored"),
        1,
        "{}",
        run.stdout
    );
}

/// A looped task's templated `retries`/`delay` are rendered per item with the loop variables
/// (`index_var`, the loop variable), as Ansible renders task keywords per item; the loop's own
/// `loop_control` keywords once (ansible-core's loop-until target).
#[test]
fn templated_retries_see_each_items_loop_variables() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: never succeeds, each item retried its own number of times
      command: /bin/false
      register: r
      until: r.rc == 0
      retries: "{{ idx + tries }}"
      delay: "{{ 0 * idx }}"
      ignore_errors: true
      loop: [1, 2]
      loop_control:
        index_var: idx
        loop_var: tries
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ r.results | map(attribute='attempts') | list | to_json }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    // Item 0: retries 0 + 1 = 1, two runs; item 1: retries 1 + 2 = 3, four runs. Out of
    // attempts, Ansible registers one less than the runs (its `retries - 1`).
    assert_eq!(s.json("dump.json"), serde_json::json!([1, 3]), "{run:?}");
}

/// `set_fact`'s variable names are templates too (ansible-core's loop-until target names one
/// per loop item); a name that is not an identifier once rendered fails the task.
#[test]
fn set_fact_renders_its_variable_names() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - set_fact:
        "path_{{ idx }}": "{{ item }}"
      loop: [a, b]
      loop_control:
        index_var: idx
    - set_fact:
        "{{ 'not valid' }}": 1
      ignore_errors: true
      register: bad
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'p0': path_0, 'p1': lookup('vars', 'path_1'), 'bad': bad.msg} | to_json }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let dump = s.json("dump.json");
    assert_eq!(dump["p0"], "a");
    assert_eq!(dump["p1"], "b");
    assert!(
        dump["bad"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid variable name 'not valid'.")),
        "{dump}"
    );
}

#[test]
fn no_log_hides_secrets_from_every_output() {
    let Some(s) = Setup::with(1, |inv| inv.var("api_secret", "s3cr3t-Value-42")) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: prints the secret and fails
      shell: echo {{ api_secret }}; echo {{ api_secret }} >&2; exit 1
      no_log: true
      ignore_errors: true
    - name: debug of the secret
      debug:
        msg: "the secret is {{ api_secret }}"
      no_log: true
    - name: loop over secrets
      command: echo {{ item }}
      loop: ["{{ api_secret }}", "other-{{ api_secret }}"]
      no_log: true
    - name: fails with the secret
      fail:
        msg: "bad {{ api_secret }}"
      no_log: true
"#,
    );
    let rep = s.home.path().join("rep");
    let rep = rep.display().to_string();
    for args in [
        &["-vv", "--report-dir", &rep][..],
        &["--output", "json", "--report-dir", &rep],
        &["--diff", "-vv", "--report-dir", &rep],
    ] {
        let run = s.run(&pb, args);
        assert_eq!(run.code, 2, "{run:?}");
        support::secrets::assert_nowhere(&["s3cr3t"], &run, &[s.home.path().join("rep").as_path()]);
        assert!(
            run.all_output().contains("no_log: true"),
            "{}",
            run.all_output()
        );
    }
}

#[test]
fn tags_skip_tags_always_never_and_start_at_task() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - { name: t-plain, debug: { msg: plain } }
    - { name: t-a, debug: { msg: a }, tags: a }
    - { name: t-b, debug: { msg: b }, tags: [b, shared] }
    - { name: t-always, debug: { msg: always }, tags: always }
    - { name: t-never, debug: { msg: never }, tags: never }
    - { name: t-never-a, debug: { msg: never-a }, tags: [never, a] }
    - name: t-block
      tags: shared
      block:
        - { name: t-in-block, debug: { msg: in-block } }
    - { name: t-include, include_tasks: inc.yml, tags: inc }
"#,
    );
    s.write(
        "inc.yml",
        "- { name: t-included, debug: { msg: included } }\n",
    );
    let ran = |args: &[&str]| s.tasks_run(&pb, args);
    assert_eq!(
        ran(&[]),
        [
            "t-plain",
            "t-a",
            "t-b",
            "t-always",
            "t-in-block",
            "t-include",
            "t-included"
        ]
    );
    // The include's tags select the include, not the included tasks (Ansible).
    assert_eq!(
        ran(&["--skip-tags", "inc"]),
        ["t-plain", "t-a", "t-b", "t-always", "t-in-block"]
    );
    assert_eq!(ran(&["--tags", "inc"]), ["t-always", "t-include"]);
    // As Ansible: a task only reachable through a dynamic include cannot be started at.
    let run = s.run(&pb, &["--start-at-task", "t-included"]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("--start-at-task: no task named `t-included`"),
        "{}",
        run.stderr
    );
    assert_eq!(s.fleet.hosts()[0].accepted_connections(), 0);
    assert_eq!(ran(&["--tags", "a"]), ["t-a", "t-always", "t-never-a"]);
    assert_eq!(
        ran(&["--tags", "shared"]),
        ["t-b", "t-always", "t-in-block"]
    );
    assert_eq!(
        ran(&["--skip-tags", "a,always,inc"]),
        ["t-plain", "t-b", "t-in-block"]
    );
    assert_eq!(
        ran(&["--tags", "never"]),
        ["t-always", "t-never", "t-never-a"]
    );
    assert_eq!(ran(&["--tags", "untagged"]), ["t-plain", "t-always"]);
    assert_eq!(
        ran(&["--start-at-task", "t-b"]),
        ["t-b", "t-always", "t-in-block", "t-include", "t-included"]
    );
}

#[test]
fn handlers_listen_and_flush_handlers() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: changes, notifies a topic
      command: echo 1
      notify: restart things
    - name: flush
      meta: flush_handlers
    - name: sees the handlers' work
      shell: test -f {{ work_dir }}/{{ inventory_hostname }}.h1 && test -f {{ work_dir }}/{{ inventory_hostname }}.h2 && touch {{ work_dir }}/{{ inventory_hostname }}.after
    - name: unchanged, notifies nothing
      command: echo 2
      changed_when: false
      notify: named handler
    - name: changes on h02 only
      command: echo 3
      changed_when: inventory_hostname == 'h02'
      notify: [named handler, named handler, once handler]
    - meta: flush_handlers
    - name: changes everywhere
      command: echo 4
      notify: once handler
  handlers:
    - name: once handler
      shell: echo {{ inventory_hostname }} >> {{ work_dir }}/once.txt
      run_once: true
    - name: h one
      shell: echo h1 >> {{ work_dir }}/{{ inventory_hostname }}.h1
      listen: restart things
    - name: h two
      shell: echo h2 >> {{ work_dir }}/{{ inventory_hostname }}.h2
      listen: [restart things]
    - name: named handler
      shell: echo h3 >> {{ work_dir }}/{{ inventory_hostname }}.h3
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    for h in ["h01", "h02"] {
        assert_eq!(s.read(&format!("{h}.h1")), "h1\n", "{}", run.stdout);
        assert_eq!(s.read(&format!("{h}.h2")), "h2\n");
        assert!(
            s.exists(&format!("{h}.after")),
            "flushed before the next task"
        );
    }
    assert!(!s.exists("h01.h3"), "{}", run.stdout);
    assert_eq!(s.read("h02.h3"), "h3\n", "a handler runs once per flush");
    // A run_once handler runs once per flush: on h02 (the only host notifying), then on h01.
    assert_eq!(s.read("once.txt"), "h02\nh01\n", "{}", run.stdout);
}

#[test]
fn become_per_task_with_the_inventory_password() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let s = Setup::on(fleet, |inv| {
        inv.var("ansible_user", "cf-sudo")
            .var("ansible_become_password", "cf-sudo-secret-2")
    });
    let dump = s.home.path().join("become.json");
    let pb = s.play(
        &format!(
            r#"
    - command: whoami
      register: plain
    - command: whoami
      become: true
      register: root
    - name: a block becomes
      become: yes
      block:
        - command: id -u
          register: uid
    - command: whoami
      become: true
      become_user: cf-pass
      register: other
      ignore_errors: true
    - copy:
        dest: {}
        content: "{{{{ {{'plain': plain.stdout, 'root': root.stdout, 'uid': uid.stdout}} | to_json }}}}"
      delegate_to: localhost
"#,
            dump.display()
        ),
    );
    let run = s.run(&pb, &["-v"]);
    assert_eq!(run.code, 0, "{run:?}");
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dump).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(
        got,
        serde_json::json!({"plain": "cf-sudo", "root": "root", "uid": "0"})
    );
    assert!(
        !run.all_output().contains("cf-sudo-secret-2"),
        "{}",
        run.all_output()
    );
}

/// The sudo password from the play's `vars` and from `-e` (no inventory password), the
/// variable beating `-K`'s absence and the keyword; masked in the output, the `-vv` log and
/// the report. A become method other than sudo named by a variable fails the task.
#[test]
fn become_password_and_method_from_play_and_extra_vars() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let s = Setup::on(fleet, |inv| inv.var("ansible_user", "cf-sudo"));
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    ansible_become_password: "{{ pw }}"
  tasks:
    - command: whoami
      become: true
      register: root
    - command: whoami
      vars:
        ansible_become: true
        ansible_become_method: su
      register: su
      ignore_errors: true
    - command: whoami
      become: true
      become_method: su
      register: su_keyword
      ignore_errors: true
    - copy:
        dest: "{{ work_dir }}/{{ inventory_hostname }}.json"
        content: "{{ {'root': root.stdout, 'su': su.msg, 'su_keyword': su_keyword.msg} | to_json }}"
      delegate_to: localhost
    - debug:
        msg: "pw is {{ ansible_become_password }}"
"#,
    );
    let secret = support::sshd::CF_SUDO_PASSWORD;
    for (n, args) in [
        vec!["-e".to_owned(), format!("pw={secret}")],
        vec![
            "-e".to_owned(),
            "pw=wrong-password".to_owned(),
            "-e".to_owned(),
            format!("ansible_become_password={secret}"),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let rep = s.home().join(format!("rep{n}"));
        let mut all: Vec<String> = vec!["-vv".into(), "--report-dir".into()];
        all.push(rep.display().to_string());
        all.extend(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let run = s.run(&pb, &all);
        assert_eq!(run.code, 0, "{run:?}");
        let got = s.json(&format!("{}.json", s.fleet.host(0).name()));
        assert_eq!(got["root"], "root", "{run:?}");
        for (key, from) in [
            ("su", "ansible_become_method"),
            ("su_keyword", "the `become_method` keyword"),
        ] {
            assert_eq!(
                got[key],
                format!(
                    "become method `su` (from {from}) with a password is not supported: su reads the password from a terminal; use sudo"
                ),
                "{run:?}"
            );
        }
        assert!(run.stdout.contains("pw is ********"), "{}", run.stdout);
        support::secrets::assert_nowhere(&[secret], &run, &[&rep]);
    }
}

/// `remote_user` on a play, a block and a task (templated), under `ansible_user` when that is
/// set (Ansible's variables beat its keywords), and a templated `become_user`.
#[test]
fn remote_user_logs_in_as_another_user_unless_ansible_user_says() {
    let Some(fleet) = Fleet::builder().test_users(true).build() else {
        return;
    };
    let s = Setup::on(fleet, |inv| inv.unset_var("ansible_user"));
    let dump = s.home.path().join("users.json");
    let pb = s.write(
        "pb.yml",
        &format!(
            r#"
- hosts: all
  remote_user: cf-sudo
  vars:
    other: cf-nopw
    target: cf-docker
  tasks:
    - command: whoami
      register: play_user
    - command: whoami
      remote_user: "{{{{ other }}}}"
      register: task_user
    - remote_user: root
      block:
        - command: whoami
          register: block_user
    - command: whoami
      remote_user: cf-nopw
      become: true
      become_user: "{{{{ target }}}}"
      register: became
    - command: whoami
      remote_user: cf-nopw
      vars:
        ansible_user: root
      register: var_wins
    - copy:
        dest: {}
        content: "{{{{ {{'facts': ansible_user_id, 'play': play_user.stdout, 'task': task_user.stdout, 'block': block_user.stdout, 'became': became.stdout, 'var_wins': var_wins.stdout}} | to_json }}}}"
      delegate_to: localhost
"#,
            dump.display()
        ),
    );
    let run = s.run(&pb, &["-u", "root"]);
    assert_eq!(run.code, 0, "{run:?}");
    let got: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dump).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(
        got,
        serde_json::json!({"facts": "cf-sudo", "play": "cf-sudo", "task": "cf-nopw",
            "block": "root", "became": "cf-docker", "var_wins": "root"}),
        "{run:?}"
    );

    // The inventory's `ansible_user` beats the play's `remote_user`.
    let s = Setup::on(s.fleet, |inv| inv.var("ansible_user", "cf-nopw"));
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  remote_user: cf-sudo
  gather_facts: false
  tasks:
    - command: whoami
      register: who
    - assert:
        that: who.stdout == 'cf-nopw'
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn environment_and_timeout_kill_the_remote_command() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let marker = format!("{}/slow-marker", s.work.display());
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  environment:
    FROM_PLAY: play
  tasks:
    - shell: echo "$GREETING|$FROM_PLAY|$OTHER"
      environment:
        GREETING: "hi there; $(touch {{ work_dir }}/injected)"
        OTHER: "{{ inventory_hostname }}"
      register: env
    - name: too slow
      shell: sleep 30; touch {{ work_dir }}/slow-marker
      timeout: 2
      register: slow
      ignore_errors: true
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'env': env.stdout, 'slow_failed': slow.failed, 'msg': slow.msg} | to_json }}"
"#,
    );
    let started = Instant::now();
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "{run:?}");
    let dump = s.json("dump.json");
    assert_eq!(
        dump["env"],
        format!("hi there; $(touch {}/injected)|play|h01", s.work.display())
    );
    assert!(!s.exists("injected"));
    assert_eq!(dump["slow_failed"], true);
    assert!(
        dump["msg"].as_str().unwrap_or("").contains("time"),
        "{dump}"
    );
    // The remote shell and its sleep are gone, not left running.
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !support::process_running("sleep 30; touch")
    });
    assert!(gone, "the timed-out command still runs");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!Path::new(&marker).exists());
}

#[test]
fn run_once_shares_its_result_and_delegate_to_runs_on_the_controller() {
    let Some(s) = Setup::new(3) else {
        return;
    };
    let pb = s.play(
        r#"
    - command: echo {{ inventory_hostname }}
      run_once: true
      register: once
    - set_fact:
        picked: "{{ inventory_hostname }}"
      run_once: true
    - shell: echo "conn=${SSH_CONNECTION:-none}"
      register: remote
    - shell: echo "conn=${SSH_CONNECTION:-none} $DELEGATED"
      delegate_to: localhost
      environment:
        DELEGATED: "env-{{ inventory_hostname }}"
      register: local
    - shell: sleep 20
      delegate_to: localhost
      timeout: 1
      ignore_errors: true
      register: local_slow
    - copy:
        dest: "{{ work_dir }}/{{ inventory_hostname }}.json"
        content: "{{ {'once': once.stdout, 'picked': picked, 'remote': remote.stdout is match('conn=127'),
                      'local': local.stdout, 'local_slow': local_slow.failed} | to_json }}"
"#,
    );
    let run = s.run(&pb, &["--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    for h in ["h01", "h02", "h03"] {
        assert_eq!(
            s.json(&format!("{h}.json")),
            serde_json::json!({"once": "h01", "picked": "h01", "remote": true,
                               "local": format!("conn=none env-{h}"), "local_slow": true}),
            "{h}"
        );
    }
    let once_results = run
        .json_lines()
        .into_iter()
        .filter(|v| {
            v["type"] == "result"
                && v["location"]
                    .as_str()
                    .is_some_and(|l| l.ends_with("pb.yml:5:7"))
        })
        .count();
    assert_eq!(once_results, 1, "{}", run.stdout);
}

/// A host `add_host` creates with the port of an sshd host the inventory does not list is
/// reached over SSH by a later play (its own connection, its own variables); `group_by`'s group
/// selects hosts in a later play's pattern; a host whose variables cannot be read is
/// unreachable in the play that selects it, and only there.
#[test]
fn add_host_and_group_by_feed_later_plays() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let hidden = fleet.host(1).port();
    let first = fleet.host(0).port();
    let s = Setup::on(fleet, |inv| inv.without_hosts().host("h01", first));
    let pb = s.write(
        "pb.yml",
        &format!(
            r#"
- hosts: all
  gather_facts: false
  tasks:
    - add_host:
        name: late
        groups: [newcomers]
        ansible_port: {hidden}
        colour: blue
      register: added
    - add_host: name=broken groups=broken ansible_port=not-a-port
    - group_by: key=by_{{{{ inventory_hostname }}}}
- hosts: newcomers
  gather_facts: false
  tasks:
    - shell: echo "$SSH_CONNECTION" | cut -d' ' -f4
      register: port
    - copy:
        dest: "{{{{ work_dir }}}}/late.json"
        content: "{{{{ {{'port': port.stdout, 'colour': colour, 'names': group_names,
                       'all': groups['all']}} | to_json }}}}"
- hosts: by_h01
  gather_facts: false
  tasks:
    - copy: {{ dest: "{{{{ work_dir }}}}/by.txt", content: "{{{{ inventory_hostname }}}}" }}
- hosts: broken
  gather_facts: false
  tasks:
    - command: "true"
"#
        ),
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        s.json("late.json"),
        serde_json::json!({"port": hidden.to_string(), "colour": "blue", "names": ["newcomers"],
                           "all": ["h01", "late", "broken"]}),
        "{run:?}"
    );
    assert_eq!(s.read("by.txt"), "h01");
    assert_eq!(
        Recap::of(&run.stdout, "late").counts(),
        [2, 2, 0, 0, 0, 0, 0]
    );
    assert_eq!(Recap::of(&run.stdout, "broken").counts()[2], 1, "{run:?}");
}

#[test]
fn nested_blocks_rescue_and_always_run_in_order() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    log: "{{ work_dir }}/log.txt"
  tasks:
    - name: outer
      block:
        - name: inner
          block:
            - command: /bin/false
            - shell: echo inner-not-reached >> {{ log }}
          rescue:
            - shell: echo inner-rescue {{ ansible_failed_task.name | default('?') }} >> {{ log }}
            - command: /bin/false
          always:
            - shell: echo inner-always >> {{ log }}
        - shell: echo outer-not-reached >> {{ log }}
      rescue:
        - shell: echo outer-rescue >> {{ log }}
      always:
        - shell: echo outer-always >> {{ log }}
    - shell: echo after >> {{ log }}
    - name: a block without rescue fails the host, always still runs
      block:
        - command: /bin/false
      always:
        - shell: echo last-always >> {{ log }}
    - shell: echo never >> {{ log }}
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let log = s.read("log.txt");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines.first().map(|l| l.starts_with("inner-rescue")),
        Some(true),
        "{log}"
    );
    assert_eq!(
        &lines[1..],
        [
            "inner-always",
            "outer-rescue",
            "outer-always",
            "after",
            "last-always"
        ],
        "{log}"
    );
    // Ansible counts a failure inside any block that has a rescue as `rescued` when it
    // happens (both /bin/false of the inner block), and the last one as `failed`.
    assert_eq!(
        Recap::of(&run.stdout, "h01").count("failed"),
        1,
        "{}",
        run.stdout
    );
    assert_eq!(
        Recap::of(&run.stdout, "h01").count("rescued"),
        2,
        "{}",
        run.stdout
    );
}

#[test]
fn includes_imports_vars_files_extra_vars_and_facts() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    s.write(
        "other.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - file: path={{ work_dir }}/from_imported_playbook state=touch\n",
    );
    s.write(
        "vars/common.yml",
        "from_file: file-value\nprec: from-vars-file\n",
    );
    s.write(
        "tasks/imported.yml",
        "- file: path={{ work_dir }}/imported state=touch\n- name: imported second\n  shell: echo {{ which }} > {{ work_dir }}/imported2\n",
    );
    s.write(
        "tasks/inc_a.yml",
        "- file: path={{ work_dir }}/inc_a state=touch\n",
    );
    s.write(
        "tasks/inc_b.yml",
        "- file: path={{ work_dir }}/inc_b state=touch\n- include_tasks: nested.yml\n",
    );
    s.write(
        "tasks/nested.yml",
        "- file: path={{ work_dir }}/nested state=touch\n",
    );
    s.write("extra.yml", "which: b\nfrom_extra_file: yes\n");
    let pb = s.write(
        "main.yml",
        r#"
- import_playbook: other.yml
- hosts: all
  vars:
    which: a
    prec: play
  vars_files:
    - vars/common.yml
  tasks:
    - import_tasks: tasks/imported.yml
    - include_tasks: "tasks/inc_{{ which }}.yml"
    - copy:
        dest: "{{ work_dir }}/dump.json"
        content: "{{ {'prec': prec, 'from_file': from_file, 'which': which, 'extra': from_extra_file,
                      'system': ansible_facts.system, 'kernel_ok': ansible_kernel == ansible_facts.kernel,
                      'host': ansible_hostname | length > 0, 'family': ansible_os_family} | to_json }}"
"#,
    );
    let extra = format!("@{}", s.home.path().join("extra.yml").display());
    let run = s.run(&pb, &["-e", "prec=cli", "-e", &extra]);
    assert_eq!(run.code, 0, "{run:?}");
    for f in ["from_imported_playbook", "imported", "inc_b", "nested"] {
        assert!(s.exists(f), "{f}: {}", run.stdout);
    }
    assert!(!s.exists("inc_a"));
    assert_eq!(s.read("imported2"), "b\n");
    let dump = s.json("dump.json");
    assert_eq!(dump["prec"], "cli");
    assert_eq!(dump["from_file"], "file-value");
    assert_eq!(dump["which"], "b");
    assert_eq!(dump["extra"], true);
    assert_eq!(dump["system"], "Linux");
    assert_eq!(dump["kernel_ok"], true);
    assert_eq!(dump["host"], true);
    assert_eq!(dump["family"], "Debian");

    // Without -e, the vars file beats the play's vars (Ansible's precedence).
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(s.json("dump.json")["prec"], "from-vars-file");
    assert!(s.exists("inc_a"));
}

/// Task results of `task_name`, as host names in the order they were reported.
fn result_hosts(run: &Run, task_name: &str) -> Vec<Vec<String>> {
    // Groups consecutive results of the task (one group per TASK header).
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut current: Option<bool> = None;
    for v in run.json_lines() {
        if v["type"] == "task" {
            current = Some(v["name"] == task_name);
            if current == Some(true) {
                groups.push(Vec::new());
            }
        } else if v["type"] == "result"
            && current == Some(true)
            && let (Some(g), Some(h)) = (groups.last_mut(), v["host"].as_str())
        {
            g.push(h.to_owned());
        }
    }
    for g in &mut groups {
        g.sort();
    }
    groups
}

#[test]
fn serial_percentages_and_lists_make_batches() {
    let Some(s) = Setup::new(5) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  serial: ["20%", 2]
  tasks:
    - name: mark
      command: "true"
- hosts: all
  gather_facts: false
  serial: "40%"
  tasks:
    - name: second
      command: "true"
"#,
    );
    let run = s.run(&pb, &["--output", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        result_hosts(&run, "mark"),
        [vec!["h01"], vec!["h02", "h03"], vec!["h04", "h05"]]
    );
    assert_eq!(
        result_hosts(&run, "second"),
        [vec!["h01", "h02"], vec!["h03", "h04"], vec!["h05"]]
    );
}

/// Under `free`, hosts still running a task finish it, but start no other.
#[test]
fn any_errors_fatal_stops_every_host() {
    let Some(s) = Setup::new(3) else {
        return;
    };
    for strategy in ["linear", "free"] {
        let pb = s.write(
            "pb.yml",
            &format!(
                r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  strategy: {strategy}
  tasks:
    - shell: "{{{{ 'exit 1' if inventory_hostname == 'h02' else 'sleep 2' }}}}"
    - shell: touch {{{{ work_dir }}}}/{strategy}-{{{{ inventory_hostname }}}}
- hosts: all
  gather_facts: false
  tasks:
    - file: path={{{{ work_dir }}}}/{strategy}-next-play state=touch
"#
            ),
        );
        let run = s.run(&pb, &[]);
        assert_eq!(run.code, 2, "{run:?}");
        for h in ["h01", "h02", "h03"] {
            assert!(
                !s.exists(&format!("{strategy}-{h}")),
                "{strategy}: {h} went on: {}",
                run.stdout
            );
        }
        assert!(
            !s.exists(&format!("{strategy}-next-play")),
            "{}",
            run.stdout
        );
    }
}

fn nanos(s: &Setup, name: &str) -> u128 {
    s.read(name).trim().parse().unwrap_or(0)
}

#[test]
fn strategy_free_lets_fast_hosts_go_ahead() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    for strategy in ["linear", "free"] {
        let pb = s.write(
            "pb.yml",
            &format!(
                r#"
- hosts: all
  gather_facts: false
  strategy: {strategy}
  tasks:
    - shell: "{{{{ 'sleep 3;' if inventory_hostname == 'h01' else '' }}}} date +%s%N > {{{{ work_dir }}}}/{strategy}-{{{{ inventory_hostname }}}}.t1"
    - shell: date +%s%N > {{{{ work_dir }}}}/{strategy}-{{{{ inventory_hostname }}}}.t2
      notify: h
    - command: echo {{{{ inventory_hostname }}}}
      run_once: true
      register: once
    - copy: content={{{{ once.stdout }}}} dest={{{{ work_dir }}}}/{strategy}-{{{{ inventory_hostname }}}}.once
  handlers:
    - name: h
      file: path={{{{ work_dir }}}}/{strategy}-{{{{ inventory_hostname }}}}.handler state=touch
"#
            ),
        );
        let run = s.run(&pb, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        let fast_second = nanos(&s, &format!("{strategy}-h02.t2"));
        let slow_first = nanos(&s, &format!("{strategy}-h01.t1"));
        assert!(fast_second > 0 && slow_first > 0, "{}", run.stdout);
        if strategy == "free" {
            assert!(fast_second < slow_first, "h02 waited for h01 under free");
        } else {
            assert!(fast_second > slow_first, "h02 ran ahead under linear");
        }
        let once: Vec<String> = ["h01", "h02"]
            .iter()
            .map(|h| s.read(&format!("{strategy}-{h}.once")))
            .collect();
        assert_eq!(once[0], once[1], "{strategy}: run_once ran on each host");
        assert!(s.exists(&format!("{strategy}-h01.handler")));
        assert!(s.exists(&format!("{strategy}-h02.handler")));
        // run_once counts on the host that ran it only (under free: the first to get there)
        assert_eq!(
            Recap::of(&run.stdout, "h01").count("ok") + Recap::of(&run.stdout, "h02").count("ok"),
            9,
            "{}",
            run.stdout
        );
    }
}

/// A tiny HTTP/1.0 server on 127.0.0.1 for `get_url` and `uri`; returns its port.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut auth = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("authorization:") {
                    auth = v.trim().to_owned();
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/file.txt" => ("200 OK", "text/plain", "downloaded\n".to_owned()),
                "/api" => (
                    "200 OK",
                    "application/json",
                    r#"{"ok": true, "items": [1, 2]}"#.to_owned(),
                ),
                // user:pass
                "/private" if auth == "basic dxnlcjpwyxnz" => (
                    "200 OK",
                    "application/json",
                    r#"{"who": "user"}"#.to_owned(),
                ),
                "/private" => ("401 Unauthorized", "text/plain", "no\n".to_owned()),
                _ => ("404 Not Found", "text/plain", "missing\n".to_owned()),
            };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nX-Test: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn modules_script_slurp_fetch_get_url_uri_wait_for_pause_fail_assert_set_fact() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let port = http_server();
    s.write(
        "files/hello.sh",
        "#!/bin/sh\necho \"script args: $1 $2\"\necho \"$(id -un)\" > \"$3\"\n",
    );
    let fetched = s.home.path().join("fetched");
    let pb = s.write(
        "pb.yml",
        &format!(
            r#"
- hosts: all
  gather_facts: false
  vars:
    base: "http://127.0.0.1:{port}"
    fetched: {fetched_dir}
  tasks:
    - script: hello.sh "one two" three {{{{ work_dir }}}}/script-user
      register: sc
    - copy: {{ content: "slurp me\n", dest: "{{{{ work_dir }}}}/data.txt" }}
    - slurp: src={{{{ work_dir }}}}/data.txt
      register: sl
    - fetch: src={{{{ work_dir }}}}/data.txt dest={{{{ fetched }}}}/
      register: fe
    - get_url: url={{{{ base }}}}/file.txt dest={{{{ work_dir }}}}/dl.txt
      register: gu
    - get_url:
        url: "{{{{ base }}}}/file.txt"
        dest: "{{{{ work_dir }}}}/dl-sum.txt"
        checksum: "sha256:{{{{ 'downloaded\n' | hash('sha256') }}}}"
    - uri: url={{{{ base }}}}/api return_content=true
      register: api
    - uri:
        url: "{{{{ base }}}}/private"
        url_username: user
        url_password: pass
        force_basic_auth: true
      register: priv
    - uri: url={{{{ base }}}}/private status_code=401
      register: denied
    - wait_for: port={{{{ port }}}} host=127.0.0.1 timeout=5
      vars:
        port: {port}
    - wait_for: path={{{{ work_dir }}}}/data.txt search_regex=slurp timeout=5
    - wait_for: path={{{{ work_dir }}}}/never timeout=1
      register: wf
      ignore_errors: true
    - pause: seconds=1
    - set_fact:
        computed: "{{{{ api.json['items'] | sum }}}}"
        as_list: [1, "{{{{ 2 + 1 }}}}"]
    - assert:
        that:
          - computed | int == 3
          - as_list[1] == 3
          - sl.content | b64decode == 'slurp me\n'
        success_msg: all good
    - name: intended failure
      fail: msg="failing on {{{{ inventory_hostname }}}}"
      register: fl
      ignore_errors: true
    - assert:
        that: computed == '4'
        fail_msg: computed is {{{{ computed }}}}
      register: as_failed
      ignore_errors: true
    - copy:
        dest: "{{{{ work_dir }}}}/dump.json"
        content: "{{{{ {{'sc': sc.stdout_lines, 'sc_changed': sc.changed, 'sl': sl.content | b64decode,
                      'sl_enc': sl.encoding, 'fe_changed': fe.changed, 'gu_changed': gu.changed,
                      'api_status': api.status, 'api_json': api.json, 'priv': priv.json,
                      'denied': denied.status, 'wf_failed': wf.failed, 'fl': fl.msg,
                      'computed': computed, 'as_list': as_list, 'as_failed': as_failed.msg,
                      'header': api.x_test | default('none')}} | to_json }}}}"
"#,
            fetched_dir = fetched.display()
        ),
    );
    let started = Instant::now();
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "pause + wait_for"
    );
    assert_eq!(s.read("script-user"), "root\n");
    assert_eq!(s.read("dl.txt"), "downloaded\n");
    assert_eq!(s.read("dl-sum.txt"), "downloaded\n");
    let local = fetched
        .join("h01")
        .join(s.work.strip_prefix("/").unwrap_or(&s.work))
        .join("data.txt");
    assert_eq!(
        std::fs::read_to_string(&local).unwrap_or_default(),
        "slurp me\n",
        "{local:?}"
    );
    let dump = s.json("dump.json");
    assert_eq!(
        dump,
        serde_json::json!({
            "sc": ["script args: one two three"], "sc_changed": true, "sl": "slurp me\n",
            "sl_enc": "base64", "fe_changed": true, "gu_changed": true, "api_status": 200,
            "api_json": {"ok": true, "items": [1, 2]}, "priv": {"who": "user"}, "denied": 401,
            "wf_failed": true, "fl": "failing on h01", "computed": 3, "as_list": [1, 3],
            "as_failed": "computed is 3", "header": "yes"
        })
    );
    assert!(run.stdout.contains("all good"), "{}", run.stdout);
    // A failed assertion is named in the output, after its message; the registered `msg`
    // (above) is the message alone.
    assert!(
        run.stdout
            .contains("computed is 3 (assertion: computed == '4')"),
        "{}",
        run.stdout
    );

    // Second run: nothing but script (which always runs) and pause-free tasks change.
    let again = s.run(&pb, &[]);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(
        Recap::of(&again.stdout, "h01").count("changed"),
        2,
        "script and the final dump (fe/gu flags differ): {}",
        again.stdout
    );
}

#[test]
fn max_fail_percentage_lets_failures_within_the_budget_pass() {
    let Some(s) = Setup::new(4) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  serial: 2
  max_fail_percentage: 50
  tasks:
    - command: "{{ 'false' if inventory_hostname == 'h02' else 'true' }}"
    - file: path={{ work_dir }}/{{ inventory_hostname }} state=touch
- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ work_dir }}/{{ inventory_hostname }}-play2 state=touch
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    for h in ["h01", "h03", "h04"] {
        assert!(s.exists(h), "{h}: {}", run.stdout);
        assert!(s.exists(&format!("{h}-play2")), "{h}: {}", run.stdout);
    }
    assert!(
        !s.exists("h02") && !s.exists("h02-play2"),
        "a failed host stays out"
    );
}

/// As in Ansible, a variable defined nowhere is no error until a task that runs uses it
/// (the loader's check before the run rejected this playbook, exit 4, without contacting a
/// host); then that task fails, naming the variable and where it was used.
#[test]
fn undefined_variables_fail_only_the_tasks_that_use_them() {
    let Some(s) = Setup::with(1, |inv| inv.var("port", 80)) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    unused: "{{ defined_nowhere }}"
  tasks:
    - debug: msg="{{ defined_nowhere }} {{ unused }}"
      when: false
    - debug: msg="{{ later | default('fine') }}"
    - block:
        - command: echo {{ prot }}
      rescue:
        - debug: msg="{{ nowhere.attr }}"
          ignore_errors: true
        - debug: var=missing_too
          ignore_errors: true
        - debug: msg=x
          when: still_missing == 1
          ignore_errors: true
        - debug: msg="{{ item }}"
          loop: "{{ no_list }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.all_output();
    for (what, at) in [
        ("'prot' is undefined", "pb.yml:11:28"),
        ("'nowhere' is undefined", "pb.yml:13:14"),
        ("'still_missing' is undefined", "pb.yml:18:17"),
        ("'no_list' is undefined", "pb.yml:21:20"),
    ] {
        assert!(
            out.lines().any(|l| l.contains(what) && l.contains(at)),
            "{what} at {at}:\n{out}"
        );
    }
    // ansible-core 2.19's `debug: var=` of an undefined variable does not fail: the value
    // is its error marker, and a warning says so.
    assert!(
        out.contains("missing_too: \"<< error 1 - 'missing_too' is undefined >>\""),
        "{out}"
    );
    assert!(
        out.contains("error 1 - 'missing_too' is undefined"),
        "{out}"
    );
    assert!(!out.contains("undefined value"), "{out}");
    let recap = Recap::of(&run.stdout, "h01");
    assert_eq!(
        (
            recap.count("skipped"),
            recap.count("rescued"),
            recap.count("failed")
        ),
        (1, 1, 1),
        "{out}"
    );
}

/// The same failing text written in two tasks: each failure points at its own place (the run
/// compiles a text once, where the loader found it first), for an argument, a condition and a
/// loop.
#[test]
fn a_failing_template_written_twice_is_reported_where_each_one_is() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ nope.x }}"
      ignore_errors: true
    - debug:
        msg: "{{ nope.x }}"
      ignore_errors: true
    - debug: msg=a
      when: nope.y
      ignore_errors: true
    - debug: msg=a
      when: nope.y
      ignore_errors: true
    - debug: msg=a
      loop: "{{ nope.z }}"
      ignore_errors: true
    - debug: msg=a
      loop: "{{ nope.z }}"
      ignore_errors: true
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let out = run.all_output();
    let lines: Vec<String> = out
        .lines()
        .filter(|l| l.contains("'nope' is undefined"))
        .filter_map(|l| {
            let rest = l.split("pb.yml:").nth(1)?;
            let mut parts = rest.splitn(3, ':');
            Some(format!("{}:{}", parts.next()?, parts.next()?))
        })
        .collect();
    assert_eq!(
        lines,
        ["6:17", "9:17", "12:13", "15:13", "18:16", "21:16"],
        "{out}"
    );
}

/// A failing lookup and a templated keyword of the wrong type fail their task on the host,
/// saying which lookup or keyword and where; `errors='ignore'` turns the failure into None.
#[test]
fn lookup_and_templated_keyword_errors_name_what_failed() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    n: many
  tasks:
    - debug: msg="{{ lookup('file', 'nope.txt', errors='ignore') is none }}"
    - debug: msg="{{ lookup('file', 'nope.txt') }}"
      ignore_errors: true
    - debug: msg="{{ lookup('pipe', 'echo why >&2; exit 3') }}"
      ignore_errors: true
    - command: "true"
      retries: "{{ n }}"
      until: true
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.all_output();
    for want in [
        "ok: [h01]: true",
        "pb.yml:8:10: Task failed: Finalization of task args for 'ansible.builtin.debug' failed: \
         Error while resolving value for 'msg': The lookup plugin 'file' failed: Unable to access \
         the file 'nope.txt': File not found.",
        "The lookup plugin 'pipe' failed: lookup_plugin.pipe(echo why >&2; exit 3) returned 3: why",
        "pb.yml:13:16: `retries`: \"many\" is not a number of retries",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
}

/// A templated `loop_control.loop_var`/`index_var` that renders to no valid variable name fails
/// its task on the host (a module task and an `include_tasks` loop alike), naming the task, the
/// keyword and its place, and `register` keeps the failure; the play goes on with the hosts
/// that did not fail.
#[test]
fn a_templated_loop_var_that_renders_invalid_fails_the_task() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    bad: my-item
  tasks:
    - name: loop over a bad name
      debug: msg=hi
      loop: [1]
      loop_control: {loop_var: "{{ bad }}"}
      ignore_errors: true
      register: failed_loop
    - name: the failure is registered, as Ansible registers it
      assert:
        that:
          - failed_loop is failed
          - failed_loop is not changed
          - "'is not a valid variable name' in failed_loop.msg"
    - name: include over a bad index name
      include_tasks: inc.yml
      loop: [1]
      loop_control: {index_var: "{{ 'a b' }}"}
"#,
    );
    s.write(
        "inc.yml",
        "- debug: msg=never
",
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let out = run.all_output();
    for want in [
        "loop over a bad name",
        "pb.yml:10:32: `loop_control.loop_var`: \"my-item\" is not a valid variable name",
        "include over a bad index name",
        "pb.yml:22:33: `loop_control.index_var`: \"a b\" is not a valid variable name",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    assert!(!out.contains("never"), "{out}");
}

/// In a role's task, lookups search the role's `files/`/`templates/` before the playbook's,
/// as Ansible's search path puts the role first.
#[test]
fn lookups_in_a_role_search_the_role_first() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    s.write("files/which.txt", "playbook\n");
    s.write("roles/r/files/which.txt", "role\n");
    s.write(
        "roles/r/templates/t.j2",
        "role template {{ inventory_hostname }}\n",
    );
    s.write(
        "roles/r/tasks/main.yml",
        "- debug: msg=\"{{ lookup('file', 'which.txt') }}|{{ lookup('template', 't.j2') | trim }}|{{ q('fileglob', '*.txt') | map('basename') | list }}\"\n",
    );
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  roles: [r]\n  tasks:\n    - debug: msg=\"{{ lookup('file', 'which.txt') }}\"\n",
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .contains("ok: [h01]: role|role template h01|['which.txt']"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ok: [h01]: playbook"), "{}", run.stdout);
}

#[test]
fn a_rescued_failure_does_not_trigger_any_errors_fatal() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  any_errors_fatal: true
  tasks:
    - block:
        - command: "{{ 'false' if inventory_hostname == 'h02' else 'true' }}"
      rescue:
        - file: path={{ work_dir }}/{{ inventory_hostname }}-rescued state=touch
    - file: path={{ work_dir }}/{{ inventory_hostname }}-after state=touch
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(s.exists("h02-rescued") && !s.exists("h01-rescued"));
    assert!(
        s.exists("h01-after") && s.exists("h02-after"),
        "{}",
        run.stdout
    );
    assert_eq!(
        Recap::of(&run.stdout, "h02").count("rescued"),
        1,
        "{}",
        run.stdout
    );
}

#[test]
fn variables_referring_to_other_layers_and_loop_items_render_when_used() {
    let Some(s) = Setup::with(1, |inv| {
        inv.var("inv_path", "\"{{ work_dir }}/{{ name_from_cli }}\"")
    }) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  vars:
    greeting: "hello {{ who }}"
    who: "{{ inventory_hostname }}"
  tasks:
    - command: echo '{{ "{{ not templated again }}" }}'
      register: braces
    - copy:
        content: "{{ line }}|{{ greeting }}|{{ braces.stdout }}\n"
        dest: "{{ inv_path }}-{{ item }}"
      vars:
        line: "item {{ item }} at {{ idx }}"
      loop: [p, q]
      loop_control:
        index_var: idx
"#,
    );
    let run = s.run(&pb, &["-e", "name_from_cli=out"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        s.read("out-p"),
        "item p at 0|hello h01|{{ not templated again }}\n"
    );
    assert_eq!(
        s.read("out-q"),
        "item q at 1|hello h01|{{ not templated again }}\n"
    );
}

/// `gather_facts` as a task (ansible-core's `setup_test_user` role gathers the distribution
/// facts so) gathers the facts as `setup` does.
#[test]
fn the_gather_facts_action_gathers_facts_as_setup_does() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: gather
      gather_facts:
        gather_subset: distribution
      when: ansible_distribution is not defined
    - copy:
        dest: "{{ work_dir }}/facts.json"
        content: "{{ {'system': ansible_system, 'same': ansible_facts.system == ansible_system} | to_json }}"
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        s.json("facts.json"),
        serde_json::json!({"system": "Linux", "same": true})
    );
}

#[test]
fn include_tasks_apply_gives_its_keywords_to_every_included_task() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    s.write(
        "applied.yml",
        "- { name: t-applied, debug: { msg: \"{{ from_apply }}\" } }\n- name: t-applied-2\n  copy: { dest: \"{{ work_dir }}/applied\", content: \"{{ from_apply }}\" }\n",
    );
    s.write(
        "skipped.yml",
        "- { name: t-skipped, copy: { dest: \"{{ work_dir }}/skipped\", content: x } }\n",
    );
    let pb = s.play(
        r#"
    - { name: t-plain, debug: { msg: plain } }
    - name: t-inc
      include_tasks:
        file: applied.yml
        apply:
          tags: [app]
          vars: { from_apply: applied }
      tags: [app]
    - name: t-when
      include_tasks:
        file: skipped.yml
        apply:
          when: false
"#,
    );
    let ran = |args: &[&str]| s.tasks_run(&pb, args);
    // `apply: {tags}` selects the included tasks with the include (Ansible's idiom).
    assert_eq!(
        ran(&["--tags", "app"]),
        ["t-inc", "t-applied", "t-applied-2"]
    );
    // `apply: {vars}` reached them.
    assert_eq!(s.read("applied"), "applied");
    // `apply: {when: false}` skips each included task, not the include.
    assert_eq!(
        ran(&[]),
        [
            "t-plain",
            "t-inc",
            "t-applied",
            "t-applied-2",
            "t-when",
            "t-skipped"
        ]
    );
    assert!(!s.exists("skipped"));
}

#[test]
fn a_builtin_module_clearfleet_lacks_loads_with_a_warning_and_fails_only_if_it_runs() {
    // Playbooks keep tasks for other systems under conditions (ansible-core's wait_for target
    // installs psutil only `when: ansible_system != 'Linux'`): Ansible runs such a playbook on
    // Linux, and so does clearfleet. A task that
    // does reach such a module fails there (its arguments unrendered and unchecked), and the
    // rescue runs; a typo of a module stays a load error (tests/playbook/diagnostics.rs).
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.play(
        r#"
    - name: t-git
      git: { repo: "https://example.com/psutil.git", dest: /opt/psutil }
      when: ansible_system | default('Linux') != 'Linux'
    - name: t-after
      copy: { content: "after\n", dest: "{{ work_dir }}/after" }
    - block:
        - name: t-dnf5
          ansible.builtin.dnf5: { name: "{{ never_defined }}", state: present }
      rescue:
        - name: t-rescued
          copy: { content: "{{ ansible_failed_result.msg }}", dest: "{{ work_dir }}/why" }
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    for want in [
        "pb.yml:6:7: clearfleet does not run the module `ansible.builtin.git`",
        "pb.yml:12:11: clearfleet does not run the module `ansible.builtin.dnf5`",
        "the task fails if it runs",
    ] {
        assert!(run.stderr.contains(want), "{want}: {}", run.stderr);
    }
    assert_eq!(s.read("after"), "after\n");
    assert_eq!(
        s.read("why"),
        "clearfleet does not run the module `ansible.builtin.dnf5` (docs/playbooks.md lists the modules it runs)"
    );
    // ok: t-after, t-rescued; skipped: t-git; failed then rescued: t-dnf5.
    assert_eq!(
        Recap::of(&run.stdout, "h01").counts(),
        [2, 2, 0, 0, 1, 1, 0],
        "{}",
        run.stdout
    );
}

#[test]
fn the_playbooks_own_plugins_load_with_a_warning_and_fail_only_if_they_run() {
    // Ansible adds `library/` and `action_plugins/` beside the playbook and in each role to its
    // search paths (ansible-core's own integration targets ship such plugins). clearfleet runs
    // no Python plugin: a task calling one loads with a warning naming the file and fails
    // only when it runs, and a plugin named like a builtin (`copy`) is the plugin for a short
    // name, as Ansible's `ansible.legacy` search finds it first: never silently the builtin.
    let Some(s) = Setup::new(1) else {
        return;
    };
    s.write("library/my_mod.py", "# a module\n");
    s.write("action_plugins/copy.py", "# an action plugin\n");
    s.write("roles/r1/library/role_mod.sh", "#!/bin/sh\n");
    s.write(
        "roles/r1/tasks/main.yml",
        "- name: t-role-mod\n  role_mod: { x: 1 }\n  when: false\n",
    );
    s.write(
        "inc.yml",
        r#"- block:
    - name: t-included
      ansible.legacy.my_mod: { any: thing }
  rescue:
    - name: t-rescued-included
      ansible.builtin.copy: { content: "{{ ansible_failed_result.msg }}", dest: "{{ work_dir }}/why-included" }
"#,
    );
    let pb = s.write(
        "pb.yml",
        r#"- hosts: all
  gather_facts: false
  roles: [r1]
  tasks:
    - name: t-skipped
      my_mod: { name: x }
      when: false
    - name: t-builtin
      ansible.builtin.copy: { content: "builtin\n", dest: "{{ work_dir }}/builtin" }
    - block:
        - name: t-shadowed
          copy: { content: "shadowed\n", dest: "{{ work_dir }}/shadowed" }
      rescue:
        - name: t-rescued
          ansible.builtin.copy: { content: "{{ ansible_failed_result.msg }}", dest: "{{ work_dir }}/why" }
    - name: t-action-form
      action: my_mod name=y
      ignore_errors: true
    - include_tasks: "{{ 'inc.yml' }}"
    - name: t-failed-when
      my_mod: { name: z }
      failed_when: false
      ignore_errors: true
"#,
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let home = s.home().display().to_string();
    for want in [
        format!(
            "pb.yml:6:7: clearfleet does not run the playbook's own plugin `my_mod` ({home}/library/my_mod.py)"
        ),
        format!(
            "pb.yml:12:11: clearfleet does not run the playbook's own plugin `copy` ({home}/action_plugins/copy.py)"
        ),
        format!("{home}/roles/r1/library/role_mod.sh"),
        "the task fails if it runs".to_owned(),
    ] {
        assert!(run.stderr.contains(&want), "{want}: {}", run.stderr);
    }
    assert_eq!(s.read("builtin"), "builtin\n");
    assert!(
        !s.exists("shadowed"),
        "the builtin copy ran for a shadowed name"
    );
    assert_eq!(
        s.read("why"),
        format!(
            "clearfleet does not run the playbook's own plugin `copy` ({home}/action_plugins/copy.py): it runs no Python plugins"
        )
    );
    assert!(
        s.read("why-included")
            .starts_with("clearfleet does not run the playbook's own plugin `my_mod`"),
        "{}",
        s.read("why-included")
    );
    // ok: t-builtin, t-rescued, the include, t-rescued-included and the ignored
    // t-action-form and t-failed-when (Ansible counts them as ok too: a `failed_when` never
    // sees a task that did not run); skipped: t-role-mod, t-skipped; rescued: t-shadowed,
    // t-included.
    assert_eq!(
        Recap::of(&run.stdout, "h01").counts(),
        [6, 3, 0, 0, 2, 2, 2],
        "{}",
        run.stdout
    );
}

/// ansible.cfg's `gathering` (here `ANSIBLE_GATHERING`): `smart` gathers a host once per run,
/// `explicit` only in plays that say `gather_facts: true`, `implicit` (the default) in every
/// play that does not say `false`; a value Ansible does not know is a configuration error.
#[test]
fn the_gathering_setting_decides_which_plays_gather() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  tasks: [{debug: {msg: one}}]\n\
         - hosts: all\n  tasks: [{debug: {msg: two}}]\n\
         - hosts: all\n  gather_facts: true\n  tasks: [{debug: {msg: three}}]\n",
    );
    let gatherings = |policy: Option<&str>| {
        let mut c = s.clearfleet("run");
        if let Some(p) = policy {
            c = c.env("ANSIBLE_GATHERING", p);
        }
        let run = c.arg(&pb).run();
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout.matches("TASK [Gathering Facts]").count()
    };
    assert_eq!(gatherings(None), 3);
    assert_eq!(gatherings(Some("implicit")), 3);
    assert_eq!(gatherings(Some("smart")), 1);
    assert_eq!(gatherings(Some("explicit")), 1);
    let bad = s
        .clearfleet("run")
        .env("ANSIBLE_GATHERING", "sometimes")
        .arg(&pb)
        .run();
    assert_ne!(bad.code, 0, "{bad:?}");
    assert!(
        bad.stderr
            .contains("invalid `gathering` in $ANSIBLE_GATHERING: `sometimes` is not one of implicit, explicit, smart"),
        "{}",
        bad.stderr
    );
}

/// `--force-handlers` (ansible-playbook's flag, the default of the plays' `force_handlers`):
/// a host that failed after notifying a handler runs it with the flag, and not without; a
/// play's `force_handlers: false` wins over the flag.
#[test]
fn force_handlers_flag() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "force.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - { name: notify, command: "true", changed_when: true, notify: record }
    - { name: fail, fail: { msg: boom } }
  handlers:
    - { name: record, copy: { content: "ran\n", dest: "{{ work_dir }}/handled" } }
"#,
    );
    let run = s.run(&pb, &[]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!s.exists("handled"), "{}", run.stdout);
    let run = s.run(&pb, &["--force-handlers"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert_eq!(s.read("handled"), "ran\n", "{}", run.stdout);
    let off = s.write(
        "off.yml",
        &std::fs::read_to_string(&pb)
            .unwrap_or_default()
            .replace(
                "gather_facts: false",
                "gather_facts: false\n  force_handlers: false",
            )
            .replace("/handled", "/handled-off"),
    );
    let run = s.run(&off, &["--force-handlers"]);
    assert!(!s.exists("handled-off"), "{}", run.stdout);
}

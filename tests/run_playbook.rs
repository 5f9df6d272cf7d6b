//! `clearfleet run` end to end: playbooks on real sshd hosts, idempotence, check mode,
//! serial with a failure budget, shell safety and diagnostics.

use crate::support;

use std::path::{Path, PathBuf};

use support::cli::{Recap, clearfleet, temp_home, write};
use support::setup::Setup;
use support::sshd::Fleet;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

#[test]
fn a_playbook_runs_changes_once_and_check_mode_changes_nothing() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let work = home.path().join("work");
    let inv = fleet
        .inventory()
        .work_dir(&work)
        .write(home.path(), "inv.yml");
    let run = |extra: &[&str]| {
        clearfleet(home.path())
            .arg("run")
            .args(extra)
            .fleet(&inv, fleet.known_hosts_path())
            .arg(fixture("site.yml"))
            .run()
    };

    // Check mode first: predicts changes, touches nothing.
    let check = run(&["--check"]);
    assert!(!work.exists(), "check mode created {work:?}: {check:?}");
    assert!(check.stdout.contains("PLAY RECAP"), "{check:?}");

    let first = run(&[]);
    assert_eq!(first.code, 0, "{first:?}");
    for h in fleet.hosts() {
        let line = Recap::of(&first.stdout, h.name());
        // facts, dir, template, lineinfile, copy loop, cat, set_fact, assert, stat, (block
        // failure rescued), rescue debug, always copy, handler
        assert_eq!(line.count("failed"), 0, "{line}");
        assert_eq!(line.count("rescued"), 1, "{line}");
        assert_eq!(line.count("changed"), 6, "{line}");
        assert_eq!(line.count("unreachable"), 0, "{line}");
        let dir = work.join(h.name());
        let conf = std::fs::read_to_string(dir.join("app.conf")).unwrap_or_default();
        assert_eq!(
            conf,
            format!(
                "# Managed by clearfleet\nname={}\nport=8080\npackage=alpha\npackage=beta\npackage=gamma\n",
                h.name()
            )
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("alpha.txt")).unwrap_or_default(),
            "ALPHA\n"
        );
        assert!(!dir.join("gamma.txt").exists(), "when: skipped gamma");
        assert!(dir.join("reloaded.txt").exists(), "handler ran");
        let always = std::fs::read_to_string(dir.join("always.txt")).unwrap_or_default();
        assert_eq!(always, format!("size={}\n", conf.len()));
        assert_eq!(
            h.accepted_connections(),
            2,
            "one connection per run (the check run, then this one)"
        );
    }
    assert!(
        first.stdout.contains("changed: [h01] => (item=alpha)"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("skipping: [h01] => (item=gamma)"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains("RUNNING HANDLER [reload app]"),
        "{}",
        first.stdout
    );

    // Second run: nothing changes, the handler does not run.
    let second = run(&[]);
    assert_eq!(second.code, 0, "{second:?}");
    for h in fleet.hosts() {
        let line = Recap::of(&second.stdout, h.name());
        assert_eq!(
            line.count("changed"),
            0,
            "second run changed something: {line}"
        );
    }
    assert!(
        !second.stdout.contains("RUNNING HANDLER"),
        "{}",
        second.stdout
    );

    // A check run now predicts no change either.
    let check = run(&["--check", "--diff"]);
    for h in fleet.hosts() {
        assert_eq!(
            Recap::of(&check.stdout, h.name()).count("changed"),
            0,
            "{}",
            check.stdout
        );
    }
}

#[test]
fn check_mode_with_diff_shows_the_change_and_leaves_the_file() {
    let Some(s) = Setup::with(1, |inv| inv.var("app_port", 9000)) else {
        return;
    };
    std::fs::create_dir_all(s.work.join("h01")).unwrap_or_default();
    std::fs::write(s.work.join("h01/app.conf"), "port=1\n").unwrap_or_default();
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - lineinfile:\n        path: \"{{ work_dir }}/h01/app.conf\"\n        regexp: '^port='\n        line: port={{ app_port }}\n",
    );
    let run = s.run(&pb, &["--check", "--diff"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("-port=1\n+port=9000\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(s.work.join("h01/app.conf")).unwrap_or_default(),
        "port=1\n"
    );
}

#[test]
fn the_diff_keyword_shows_or_hides_a_tasks_diff_whatever_the_command_line() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - copy:\n        dest: \"{{ work_dir }}/shown\"\n        content: \"shown-line\\n\"\n      diff: true\n    - block:\n        - copy:\n            dest: \"{{ work_dir }}/hidden\"\n            content: \"hidden-line\\n\"\n      diff: false\n",
    );
    // `diff: false` hides a diff `--diff` asks for (check mode: nothing is written).
    let run = s.run(&pb, &["--diff", "--check"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("+shown-line"), "{}", run.stdout);
    assert!(!run.stdout.contains("+hidden-line"), "{}", run.stdout);
    // `diff: true` shows one without `--diff`.
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("+shown-line"), "{}", run.stdout);
    assert!(!run.stdout.contains("+hidden-line"), "{}", run.stdout);
}

#[test]
fn serial_batches_stop_when_the_failure_budget_is_spent() {
    let Some(s) = Setup::new(4) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  serial: 2\n  max_fail_percentage: 0\n  tasks:\n    - name: fail on h02\n      command: \"{{ 'false' if inventory_hostname == 'h02' else 'true' }}\"\n    - name: touch\n      file:\n        path: \"{{ work_dir }}-{{ inventory_hostname }}\"\n        state: touch\n",
    );
    let run = s.run(&pb, &["--output", "json"]);
    assert_eq!(run.code, 2, "{run:?}");
    let touched = |h: &str| PathBuf::from(format!("{}-{h}", s.work.display())).exists();
    assert!(
        !touched("h01"),
        "over the budget after the first task, the whole batch stops (Ansible's linear strategy)"
    );
    assert!(!touched("h02"), "the failed host stopped");
    assert!(
        !touched("h03") && !touched("h04"),
        "the second batch was never started"
    );
    assert_eq!(s.fleet.hosts()[2].accepted_connections(), 0);
    let failed = run.host_json("h02");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["recap"]["failed"], 1);
    let results: Vec<_> = run
        .json_lines()
        .into_iter()
        .filter(|v| v["type"] == "result")
        .collect();
    assert!(
        results.iter().any(|r| r["host"] == "h02"
            && r["status"] == "failed"
            && r["location"]
                .as_str()
                .is_some_and(|l| l.ends_with("pb.yml:6:7"))),
        "{results:?}"
    );
}

#[test]
fn quoted_values_never_become_commands() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let canary = home.path().join("canary");
    let evil = format!("x; touch {}", canary.display());
    let inv = fleet
        .inventory()
        .work_dir(home.path())
        .var("evil", format!("\"{evil}\""))
        .write(home.path(), "inv.yml");
    let pb = write(
        home.path(),
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - shell: echo {{ evil | quote }}\n      register: out\n    - command: echo {{ evil }}\n    - assert:\n        that: out.stdout == evil\n",
    );
    let run = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .arg(&pb)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!canary.exists(), "a templated value ran as a command");
}

#[test]
fn mistakes_are_reported_before_any_host_is_contacted() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  tasks:\n    - name: typo\n      copy:\n        dest: /tmp/x\n        contnet: hi\n    - debug:\n        msg: \"{{ unclosed \"\n",
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("pb.yml:6:9: unsupported argument `contnet` for module `copy`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pb.yml:8:"), "{}", run.stderr);
    assert_eq!(s.fleet.hosts()[0].accepted_connections(), 0);
}

#[test]
fn an_unreachable_host_is_reported_and_the_others_finish() {
    let Some(s) = Setup::with(1, |inv| inv.host("down", 1)) else {
        return;
    };
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  tasks:\n    - command: \"true\"\n",
    );
    let run = s.run(&pb, &["--connect-retries", "0"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(
        Recap::of(&run.stdout, "down").count("unreachable"),
        1,
        "{}",
        run.stdout
    );
    assert_eq!(
        Recap::of(&run.stdout, "h01").count("ok"),
        2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("FAILURES (1 cause)"), "{}", run.stdout);
}

/// Every task result of a run, as `location status msg`.
#[derive(Default)]
struct Results(Vec<String>);

impl clearfleet_events::Reporter for Results {
    fn report(&mut self, event: &clearfleet_events::Event) {
        if let clearfleet_events::EventKind::TaskResult(r) = &event.kind {
            self.0.push(format!(
                "{} {} {}",
                r.location,
                r.status.as_str(),
                r.msg.as_deref().unwrap_or("")
            ));
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_playbook_in_memory_reads_its_includes_vars_and_sources_from_memory() {
    use clearfleet_playbook::{ControllerFiles, load_playbook_from};
    use clearfleet_runner::config::{HostPlan, RunConfig};
    use clearfleet_runner::playbook::{PlaybookOptions, TemplateCache};
    use std::sync::Arc;
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let work = home.path().join("work");
    let dest = |name: &str| work.join(name).display().to_string();
    // What the run reads at run time: a `vars_files` file, a dynamic `include_tasks` (its name
    // templated), a `template` source under templates/ and a `copy` source under files/.
    let files = ControllerFiles::memory([
        (
            "site.yml",
            "- hosts: all\n  gather_facts: false\n  vars_files: [vars/main.yml]\n  tasks:\n\
             \x20   - include_tasks: \"{{ 'tasks/' ~ part }}.yml\"\n"
                .to_owned(),
        ),
        (
            "vars/main.yml",
            "part: dyn\ngreeting: hello from memory\n".to_owned(),
        ),
        (
            "tasks/dyn.yml",
            format!(
                "- file: {{ path: {work}, state: directory }}\n\
                 - template: {{ src: greet.j2, dest: {t} }}\n\
                 - copy: {{ src: data.txt, dest: {c} }}\n",
                work = work.display(),
                t = dest("t.txt"),
                c = dest("c.txt"),
            ),
        ),
        ("templates/greet.j2", "{{ greeting }}\n".to_owned()),
        ("files/data.txt", "copied from memory\n".to_owned()),
    ]);
    let templates = Arc::new(TemplateCache::default());
    let mut check =
        |src: &str,
         kind: clearfleet_playbook::TemplateKind,
         at: &clearfleet_base::diagnostic::Location| { templates.check(src, kind, at) };
    let playbook = load_playbook_from(&files, Path::new("site.yml"), &mut check)
        .unwrap_or_else(|e| panic!("{e}"));
    let inv = fleet.inventory().write(home.path(), "inv.yml");
    let inventory = clearfleet_inventory::Inventory::load(&[inv]).unwrap_or_else(|e| panic!("{e}"));
    let host = fleet.host(0).name().to_owned();
    let config = RunConfig {
        hosts: vec![HostPlan {
            name: host.clone(),
            target: fleet.target(0, "root"),
            become_: None,
            max_output: Default::default(),
        }],
        ssh: Arc::new(fleet.settings()),
        forks: 1,
        max_connections: 8,
        command_timeout: None,
        redactor: Default::default(),
        warnings: Vec::new(),
        max_output: Default::default(),
        new_host: None,
        reload_inventory: None,
        become_defaults: Default::default(),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let mut results = Results::default();
    let summary = runtime.block_on(clearfleet_runner::playbook::run(
        playbook,
        inventory,
        config,
        templates,
        PlaybookOptions::default(),
        PathBuf::new(),
        &mut results,
    ));
    runtime.shutdown_background();
    assert_eq!(summary.ok, 1, "{:#?}", results.0);
    let read = |name: &str| std::fs::read_to_string(work.join(name)).unwrap_or_default();
    assert_eq!(read("t.txt"), "hello from memory\n", "{:#?}", results.0);
    assert_eq!(read("c.txt"), "copied from memory\n", "{:#?}", results.0);
    // The include and the included tasks name the in-memory file as written, never a path on
    // disk (the upgrade's `included: clearml/hop.yml`).
    assert!(
        results
            .0
            .iter()
            .any(|r| r.ends_with(" ok included: tasks/dyn.yml")),
        "{:#?}",
        results.0
    );
    assert!(
        results
            .0
            .iter()
            .any(|r| r.starts_with("tasks/dyn.yml:2:3 ")),
        "{:#?}",
        results.0
    );
}

#[test]
fn output_past_the_limit_fails_a_task_unless_the_task_says_otherwise() {
    // h01's limit is its host variable; h02's comes from --max-output.
    let Some(s) = Setup::with(2, |inv| {
        inv.host_var("h01", "clearfleet_max_output", "16KiB")
    }) else {
        return;
    };
    let loud = "printf HEAD; head -c 100000 /dev/zero | tr '\\0' o; printf TAIL";
    let pb = s.play(&format!(
        "    - name: loud\n      shell: {loud}\n      register: loud\n      ignore_errors: true\n\
         \x20   - name: allowed\n      shell: {loud}\n      register: allowed\n      failed_when: false\n\
         \x20   - name: raised\n      shell: {loud}\n      register: raised\n      vars:\n        clearfleet_max_output: 1MiB\n\
         \x20   - name: bad limit\n      command: \"true\"\n      ignore_errors: true\n      vars:\n        clearfleet_max_output: lots\n\
         \x20   - name: report\n      debug:\n        msg: \"{{{{ loud.stdout_dropped }}}} {{{{ allowed.stdout_dropped }}}} {{{{ raised.stdout_dropped | default('none') }}}} {{{{ allowed.stdout_lines[1] }}}}\"\n"
    ));
    let run = s.run(&pb, &["--output", "json", "--max-output", "32KiB"]);
    assert_eq!(
        run.code, 0,
        "every failure was ignored or judged by hand: {run:?}"
    );
    let results: Vec<serde_json::Value> = run
        .json_lines()
        .into_iter()
        .filter(|v| v["type"] == "result")
        .collect();
    let result = |host: &str, task: &str| {
        results
            .iter()
            .find(|r| r["host"] == host && r["task"] == task)
            .cloned()
            .unwrap_or_else(|| panic!("no result of {task} on {host}: {results:?}"))
    };
    for (host, limit, shown) in [("h01", 16384, "16KiB"), ("h02", 32768, "32KiB")] {
        let dropped = 100_008 - limit;
        let loud = result(host, "loud");
        assert_eq!(loud["status"], "ignored", "{loud}");
        let msg = loud["msg"].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(&format!(
                "stdout was 100008 bytes (97.7 KiB), more than the output limit of {shown} per stream"
            )) && msg.contains("--max-output SIZE or the clearfleet_max_output variable"),
            "{host}: {msg}"
        );
        let stdout = loud["stdout"].as_str().unwrap_or_default();
        assert!(
            stdout.starts_with("HEADooo") && stdout.ends_with("oooTAIL"),
            "{host}"
        );
        assert_eq!(
            result(host, "allowed")["status"],
            "changed",
            "failed_when: false"
        );
        assert_eq!(
            result(host, "raised")["status"],
            "changed",
            "a task variable raised it"
        );
        let bad = result(host, "bad limit");
        assert_eq!(bad["status"], "ignored");
        assert!(
            bad["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("clearfleet_max_output: `lots` is not a size")),
            "{bad}"
        );
        assert_eq!(
            result(host, "report")["msg"],
            format!(
                "{dropped} {dropped} none [... clearfleet dropped {dropped} bytes of stdout ...]"
            ),
            "{host}"
        );
    }

    // Extra variables win over every other: nothing is cut (so `report` finds no
    // `stdout_dropped`), and the task's bad value is overridden.
    let run = s.run(
        &pb,
        &["--output", "json", "-e", "clearfleet_max_output=2MiB"],
    );
    let lines = run.json_lines();
    let status = |host: &str, task: &str| {
        lines
            .iter()
            .find(|r| r["type"] == "result" && r["host"] == host && r["task"] == task)
            .map(|r| r["status"].clone())
            .unwrap_or_default()
    };
    for host in ["h01", "h02"] {
        assert_eq!(status(host, "loud"), "changed", "{host}");
        assert_eq!(status(host, "bad limit"), "changed", "{host}");
        assert_eq!(status(host, "report"), "failed", "{host}");
    }
    assert!(
        lines
            .iter()
            .filter(|r| r["task"] == "loud")
            .all(|r| r["stdout"].as_str().map(str::len) == Some(100_008)),
        "{}",
        run.stderr
    );
}

#[test]
fn setup_gathers_the_facts_a_play_without_gather_facts_lacks() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    // ansible-core's setup_remote_tmp_dir role starts this way.
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - ansible.builtin.setup:\n        gather_subset: distribution\n      when: ansible_facts == {}\n      register: r\n    - ansible.builtin.setup:\n      when: ansible_facts == {}\n      register: again\n    - copy:\n        dest: \"{{ work_dir }}/facts\"\n        content: \"{{ ansible_os_family }}|{{ r.ansible_facts.ansible_os_family }}|{{ ansible_facts.system }}|{{ again is skipped }}\\n\"\n",
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let facts = s.read("facts");
    let parts: Vec<&str> = facts.trim_end().split('|').collect();
    assert_eq!(parts.len(), 4, "{facts:?}");
    assert!(!parts[0].is_empty(), "{facts:?}");
    assert_eq!(parts[0], parts[1], "{facts:?}");
    assert_eq!(parts[2], "Linux", "{facts:?}");
    // Facts gathered once: the second setup's `when` sees them.
    assert_eq!(parts[3], "True", "{facts:?}");
}

#[test]
fn a_broken_include_fails_only_the_hosts_that_reach_it() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    s.write("broken.yml", "- comand: ls\n");
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - include_tasks: broken.yml\n      when: inventory_hostname == 'h01'\n    - copy:\n        dest: \"{{ work_dir }}/{{ inventory_hostname }}.done\"\n        content: done\n",
    );
    let run = s.run(&pb, &[]);
    // Warned about before the run, as Ansible would not (it reads the file when h01 gets there).
    assert!(
        run.stderr.contains("warning: ") && run.stderr.contains("unknown module `comand`"),
        "{run:?}"
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        Recap::of(&run.stdout, "h01").counts()[3],
        1,
        "{}",
        run.stdout
    );
    assert_eq!(
        Recap::of(&run.stdout, "h02").counts()[3],
        0,
        "{}",
        run.stdout
    );
    assert!(
        !s.exists("h01.done") && s.exists("h02.done"),
        "{}",
        run.stdout
    );
}

#[test]
fn include_vars_of_bad_yaml_fails_the_host_naming_file_line_and_column() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    s.write("vars/bad.yml", "ok: 1\nbroken: [unclosed\n");
    let pb = s.write(
        "pb.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - include_vars: bad.yml\n    - debug: msg=never\n",
    );
    let run = s.run(&pb, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        Recap::of(&run.stdout, "h01").counts()[3],
        1,
        "{}",
        run.stdout
    );
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("vars/bad.yml:3:1: invalid YAML") || all.contains("vars/bad.yml:2:"),
        "{all}"
    );
    assert!(!all.contains("never"), "{all}");
}

/// An inventory without hosts still runs a play on the implicit localhost, on the controller
/// with no SSH connection (as ansible-playbook does); a `--limit` matching nothing stays an
/// error.
#[test]
fn an_empty_inventory_runs_plays_on_the_implicit_localhost() {
    let home = temp_home();
    let inv = write(home.path(), "inv.yml", "all:\n  hosts: {}\n");
    let out = home.path().join("out");
    let pb = write(
        home.path(),
        "pb.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: true\n  tasks:\n    - copy: {{dest: '{}', content: \"{{{{ ansible_connection }}}} {{{{ group_names }}}}\"}}\n",
            out.display()
        ),
    );
    let run = clearfleet(home.path())
        .arg("run")
        .arg("-i")
        .arg(&inv)
        .arg(&pb)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        Recap::of(&run.stdout, "localhost").counts(),
        [2, 1, 0, 0, 0, 0, 0],
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&out).ok().as_deref(),
        Some("local []")
    );
    let limited = clearfleet(home.path())
        .arg("run")
        .arg("-i")
        .arg(&inv)
        .arg("--limit")
        .arg("nothere")
        .arg(&pb)
        .run();
    assert_eq!(limited.code, 4, "{limited:?}");
}

/// A connection plugin clearfleet lacks, given by a templated keyword or a play variable, fails
/// the task when it runs, naming where it came from (a literal one is a load error, see
/// tests/playbook/diagnostics.rs); `connection: local` runs on the controller without
/// contacting the host (its port is closed).
#[test]
fn an_unsupported_connection_plugin_fails_the_task_naming_its_source() {
    let home = temp_home();
    let inv = write(
        home.path(),
        "inv.yml",
        "all:\n  hosts:\n    x: {ansible_host: 127.0.0.1, ansible_port: 1}\n",
    );
    let pb = write(
        home.path(),
        "pb.yml",
        "- hosts: x\n  gather_facts: false\n  vars: {plugin: docker}\n  tasks:\n    - command: echo one\n      connection: \"{{ plugin }}\"\n      ignore_errors: true\n    - command: echo two\n      connection: local\n    - command: echo three\n      vars: {ansible_connection: winrm}\n",
    );
    let run = clearfleet(home.path())
        .arg("run")
        .arg("-i")
        .arg(&inv)
        .arg(&pb)
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    for want in [
        "pb.yml:5:7: the connection plugin `docker` (the keyword `connection`) is not supported by clearfleet",
        "pb.yml:10:7: the connection plugin `winrm` (the variable `ansible_connection`) is not supported by clearfleet",
    ] {
        assert!(run.stdout.contains(want), "{want}\n{}", run.stdout);
    }
    assert_eq!(
        Recap::of(&run.stdout, "x").counts(),
        [2, 1, 0, 1, 0, 0, 1],
        "{}",
        run.stdout
    );
}

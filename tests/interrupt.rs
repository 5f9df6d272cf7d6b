//! Ctrl-C: the first stops new hosts and tasks and lets running ones finish; the second cancels
//! the running commands (killed on their hosts); exit 130 either way, with the reports written.
//! For `exec`, `run` and `upgrade`.

use crate::support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::{clearfleet, temp_home, write};
use support::docker_host::DockerFleet;
use support::sshd::Fleet;

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
}

/// What the first Ctrl-C prints.
const FIRST_CTRL_C: &str = "interrupted: no new host or task will start";

/// One Ctrl-C, then the run's end, which must be exit 130: (stdout, stderr).
fn ctrl_c(child: Child) -> (String, String) {
    sigint(&child);
    let (code, stdout, stderr, _) = finish(child);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Two Ctrl-C `gap` apart, then the run's end, which must be exit 130: (stdout, stderr, how
/// long the end took after the second).
fn ctrl_c_twice(child: Child, gap: Duration) -> (String, String, Duration) {
    sigint(&child);
    std::thread::sleep(gap);
    sigint(&child);
    let (code, stdout, stderr, waited) = finish(child);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    (stdout, stderr, waited)
}

fn finish(mut child: Child) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    (
        status.code().unwrap_or(-1),
        stdout,
        stderr,
        started.elapsed(),
    )
}

/// `exec --forks 1 -- command` on the fleet, spawned.
fn start(fleet: &Fleet, home: &std::path::Path, command: &str) -> Child {
    let inv = fleet.inventory().write(home, "inv.yml");
    spawn(
        clearfleet(home)
            .args(["exec", "--forks", "1", "--report-dir", "rep"])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", command]),
    )
}

/// The processes on this machine (where the test hosts' sshd run) whose command line
/// contains `marker`, clearfleet itself left out.
fn remote_processes(marker: &str) -> Vec<String> {
    let out = Command::new("ps")
        .args(["-eo", "pid,args"])
        .output()
        .unwrap_or_else(|e| panic!("ps: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // Not clearfleet itself, whose own command line may hold the marker (`exec -- CMD`).
        .filter(|l| l.contains(marker) && !l.contains("ps -eo") && !l.contains("clearfleet"))
        .map(str::to_owned)
        .collect()
}

/// A sleep duration that starts with `base` and ends with this test process's id, so that
/// process-list checks never see another suite's sleeps (two checkouts may test at once).
fn unique(base: &str) -> String {
    format!("{base}{:05}", std::process::id() % 100_000)
}

/// Waits up to `max` for `marker` to show up in (`true`) or vanish from (`false`) the
/// process list.
fn wait_processes(marker: &str, present: bool, max: Duration) -> Vec<String> {
    let until = Instant::now() + max;
    loop {
        let found = remote_processes(marker);
        if found.is_empty() != present || Instant::now() > until {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Spawns `cmd` with its stdout and stderr piped.
fn spawn(cmd: support::cli::Clearfleet) -> Child {
    cmd.command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn first_ctrl_c_lets_running_hosts_finish_and_starts_no_new_one() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let child = start(&fleet, home.path(), "sleep 2; echo finished");
    std::thread::sleep(Duration::from_millis(800));
    let (stdout, stderr) = ctrl_c(child);
    assert!(stderr.contains(FIRST_CTRL_C), "{stderr}");
    assert!(
        stdout.contains("h01 | ok | rc=0"),
        "running host finished: {stdout}"
    );
    assert!(stdout.contains("finished"), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("h02 ")
            && l.ends_with("interrupted  not started: the run was interrupted")),
        "{stdout}"
    );
    assert_eq!(fleet.hosts()[1].accepted_connections(), 0);

    // The report is written too, with the host that never started.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("rep/summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("summary.json: {e}"));
    assert_eq!(summary["exit_code"], 130, "{summary}");
    assert_eq!(summary["hosts"][0]["status"], "ok", "{summary}");
    assert_eq!(summary["hosts"][1]["status"], "interrupted", "{summary}");
    let junit = std::fs::read_to_string(home.path().join("rep/junit.xml")).unwrap_or_default();
    assert!(
        junit.contains(r#"tests="2" failures="0" errors="0" skipped="1""#),
        "{junit}"
    );
}

#[test]
fn second_ctrl_c_cancels_running_hosts() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let sleep = format!("sleep {}", unique("4606"));
    let child = start(&fleet, home.path(), &sleep);
    // Cancelled once the command runs (a login shell killed in its rc files can leave their
    // locks behind, e.g. pyenv's rehash lock).
    let running = wait_processes(&sleep, true, Duration::from_secs(90));
    assert!(!running.is_empty(), "the command never started");
    let (stdout, stderr, waited) = ctrl_c_twice(child, Duration::from_millis(200));
    assert!(
        waited < Duration::from_secs(10),
        "cancelled promptly: {waited:?}"
    );
    assert!(stderr.contains("cancelling running commands"), "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("h01 ") && l.ends_with("interrupted  cancelled by Ctrl-C")),
        "{stdout}"
    );
    assert!(
        !stdout.contains("INTERRUPTED | 0ms"),
        "the time spent is kept: {stdout}"
    );
}

#[test]
fn second_ctrl_c_kills_the_remote_command_of_exec() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let sleep = format!("sleep {}", unique("4101"));
    let child = start(&fleet, home.path(), &format!("{sleep}; echo never"));
    let running = wait_processes(&sleep, true, Duration::from_secs(90));
    assert!(!running.is_empty(), "the command never started");
    ctrl_c_twice(child, Duration::from_millis(200));
    let left = wait_processes(&sleep, false, Duration::from_secs(3));
    assert!(left.is_empty(), "still running on the host: {left:?}");
}

fn playbook_run(fleet: &Fleet, home: &std::path::Path, tasks: &str) -> Child {
    let inv = fleet.inventory().write(home, "inv.yml");
    let pb = write(
        home,
        "pb.yml",
        &format!("- name: Work\n  hosts: all\n  gather_facts: false\n  tasks:\n{tasks}"),
    );
    spawn(
        clearfleet(home)
            .args(["run", "--report-dir", "rep"])
            .fleet(&inv, fleet.known_hosts_path())
            .arg(&pb),
    )
}

#[test]
fn run_first_ctrl_c_finishes_the_running_task_and_starts_no_other() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let sleep = format!("sleep {}", unique("2.5"));
    let child = playbook_run(
        &fleet,
        home.path(),
        &format!(
            "    - name: Quick\n      command: \"true\"\n    - name: Slow\n      shell: {sleep}; echo slept-4202\n    - name: After\n      command: touch /tmp/cf-interrupt-after-{{{{ inventory_hostname }}}}\n"
        ),
    );
    let running = wait_processes(&sleep, true, Duration::from_secs(90));
    assert!(!running.is_empty(), "the slow task never started");
    let (stdout, stderr) = ctrl_c(child);
    assert!(stderr.contains(FIRST_CTRL_C), "{stderr}");
    assert_eq!(
        stdout.matches("changed: [h0").count(),
        4,
        "Quick and Slow ran: {stdout}"
    );
    assert!(!stdout.contains("TASK [After]"), "{stdout}");
    for h in ["h01", "h02"] {
        assert!(
            stdout.contains(&format!("  {h}: stopped after `Slow`, before `After`")),
            "{stdout}"
        );
        assert!(!std::path::Path::new(&format!("/tmp/cf-interrupt-after-{h}")).exists());
    }
    assert!(stdout.contains("INTERRUPTED (2 hosts)"), "{stdout}");
    let summary = json(&home.path().join("rep/summary.json"));
    assert_eq!(summary["exit_code"], 130, "{summary}");
    assert_eq!(summary["totals"]["interrupted"], 2, "{summary}");
    assert_eq!(
        summary["hosts"][0]["step"], "stopped after `Slow`, before `After`",
        "{summary}"
    );
    let page = json(&home.path().join("rep/hosts/h01.json"));
    assert_eq!(page["status"], "interrupted", "{page}");
    assert_eq!(
        page["step"], "stopped after `Slow`, before `After`",
        "{page}"
    );
    assert_eq!(page["steps"].as_array().map(Vec::len), Some(2), "{page}");
}

#[test]
fn run_second_ctrl_c_cancels_the_running_task_and_kills_it_on_the_host() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let secs = unique("4303");
    let sleep = format!("sleep {secs}");
    let child = playbook_run(
        &fleet,
        home.path(),
        &format!(
            "    - name: Long\n      shell: {sleep}; echo never\n    - name: After\n      command: \"true\"\n"
        ),
    );
    let running = wait_processes(&sleep, true, Duration::from_secs(90));
    assert!(!running.is_empty(), "the long task never started");
    // Both hosts' commands run before the first Ctrl-C.
    let both = Instant::now() + Duration::from_secs(90);
    let sleeps = || {
        remote_processes(&sleep)
            .iter()
            .filter(|l| l.split_whitespace().skip(1).collect::<Vec<_>>() == ["sleep", &secs])
            .count()
    };
    while sleeps() < 2 && Instant::now() < both {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(sleeps(), 2, "{:?}", remote_processes(&sleep));
    let (stdout, stderr, waited) = ctrl_c_twice(child, Duration::from_millis(300));
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert!(stderr.contains("cancelling running commands"), "{stderr}");
    for h in ["h01", "h02"] {
        assert!(
            stdout.contains(&format!("  {h}: cancelled during `Long`")),
            "{stdout}"
        );
    }
    let left = wait_processes(&sleep, false, Duration::from_secs(3));
    assert!(left.is_empty(), "still running on the hosts: {left:?}");
    let page = json(&home.path().join("rep/hosts/h02.json"));
    assert_eq!(page["status"], "interrupted", "{page}");
    assert_eq!(page["step"], "cancelled during `Long`", "{page}");
}

/// `upgrade` with a stand-in playbook (the built-in step names, slow steps) on one 2.0 server
/// on a real-Docker host.
fn upgrade_run(
    home: &std::path::Path,
    fleet: &DockerFleet,
    backup_sleep: &str,
    hop: &str,
) -> Child {
    fleet.host(0).install(&["--era", "2.0"]);
    let inv = write(
        home,
        "inv.yml",
        &support::docker_inventory(fleet, [(fleet.host(0), "srv")]),
    );
    let pb = write(
        home,
        "upgrade.yml",
        &format!(
            "- name: Upgrade ClearML servers\n  hosts: all\n  gather_facts: false\n  tasks:\n\
             \x20   - name: Stop the server\n      command: \"true\"\n\
             \x20   - name: Back up data and config\n      shell: mkdir -p {{{{ clearml_backup_dir | quote }}}} && sleep {backup_sleep}\n\
             \x20   - name: Verify the backup\n      command: test -d {{{{ clearml_backup_dir }}}}\n\
             \x20   - name: Start 2.3.0\n      shell: {hop}\n"
        ),
    );
    spawn(
        clearfleet(home)
            .args(["upgrade", "--backup-dir", "/srv/bk", "--playbook"])
            .arg(&pb)
            .fleet(&inv, fleet.known_hosts_path()),
    )
}

/// The newest report under `home/reports/`.
fn newest_report(home: &std::path::Path) -> std::path::PathBuf {
    let mut dirs: Vec<_> = std::fs::read_dir(home.join("reports"))
        .unwrap_or_else(|e| panic!("no reports/: {e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.pop().unwrap_or_else(|| panic!("no report"))
}

#[test]
fn upgrade_first_ctrl_c_reports_the_step_and_a_backup_not_yet_verified() {
    let Some(fleet) = DockerFleet::start(&["v2"]) else {
        return;
    };
    let home = temp_home();
    let secs = unique("2.7");
    let child = upgrade_run(home.path(), &fleet, &secs, "echo hop");
    let running = wait_processes(&format!("sleep {secs}"), true, Duration::from_secs(90));
    if running.is_empty() {
        let (code, stdout, stderr, _) = finish(child);
        panic!("the backup step never started: {code}\n{stdout}\n{stderr}");
    }
    let (stdout, _) = ctrl_c(child);
    let step = "stopped after `Back up data and config`, before `Verify the backup`";
    assert!(
        stdout.contains(&format!(
            "srv  interrupted: {step}\n     backup: taken at /srv/bk/srv, not verified"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("TASK [Start 2.3.0]"), "{stdout}");
    let report = newest_report(home.path());
    let summary = json(&report.join("summary.json"));
    let host = &summary["hosts"][0];
    assert_eq!(host["status"], "interrupted", "{summary}");
    assert_eq!(host["step"], step, "{summary}");
    assert_eq!(
        host["backup_state"], "taken at /srv/bk/srv, not verified",
        "{summary}"
    );
    let page = json(&report.join("hosts/srv.json"));
    assert_eq!(page["step"], step, "{page}");
    assert_eq!(page["backup"], "/srv/bk/srv", "{page}");
}

#[test]
fn upgrade_second_ctrl_c_cancels_the_hop_and_leaves_nothing_running() {
    let Some(fleet) = DockerFleet::start(&["v2"]) else {
        return;
    };
    let home = temp_home();
    let sleep = format!("sleep {}", unique("4505"));
    let child = upgrade_run(home.path(), &fleet, "0", &format!("{sleep}; echo never"));
    let running = wait_processes(&sleep, true, Duration::from_secs(90));
    assert!(!running.is_empty(), "the hop never started");
    let (stdout, _, waited) = ctrl_c_twice(child, Duration::from_millis(300));
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert!(
        stdout.contains(
            "srv  interrupted: cancelled during `Start 2.3.0`\n     backup: verified at /srv/bk/srv"
        ),
        "{stdout}"
    );
    let left = wait_processes(&sleep, false, Duration::from_secs(3));
    assert!(left.is_empty(), "still running on the host: {left:?}");
    let summary = json(&newest_report(home.path()).join("summary.json"));
    assert_eq!(summary["exit_code"], 130, "{summary}");
    assert_eq!(
        summary["hosts"][0]["step"], "cancelled during `Start 2.3.0`",
        "{summary}"
    );
    assert_eq!(
        summary["hosts"][0]["backup_state"], "verified at /srv/bk/srv",
        "{summary}"
    );
}

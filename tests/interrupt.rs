//! Ctrl-C: the first stops new hosts and lets running ones finish; the second cancels; exit 130.

mod support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

fn sigint(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
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

fn inventory(fleet: &Fleet) -> String {
    let mut s = String::from("all:\n  hosts:\n");
    for h in fleet.hosts() {
        s.push_str(&format!(
            "    {}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n",
            h.name(),
            h.port(),
            fleet.client_key().display()
        ));
    }
    s
}

fn start(fleet: &Fleet, home: &std::path::Path, command: &str) -> Child {
    let inv = write(home, "inv.yml", &inventory(fleet));
    clearfleet(home)
        .args(["exec", "--forks", "1", "--report-dir", "rep", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .args(["--", command])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

#[test]
fn first_ctrl_c_lets_running_hosts_finish_and_starts_no_new_one() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let child = start(&fleet, home.path(), "sleep 2; echo finished");
    std::thread::sleep(Duration::from_millis(800));
    sigint(&child);
    let (code, stdout, stderr, _) = finish(child);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("interrupted: no new host will start"),
        "{stderr}"
    );
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
    let child = start(&fleet, home.path(), "sleep 30");
    std::thread::sleep(Duration::from_millis(800));
    sigint(&child);
    std::thread::sleep(Duration::from_millis(200));
    sigint(&child);
    let (code, stdout, stderr, waited) = finish(child);
    assert_eq!(code, 130, "{stdout}\n{stderr}");
    assert!(
        waited < Duration::from_secs(10),
        "cancelled promptly: {waited:?}"
    );
    assert!(stderr.contains("cancelling running hosts"), "{stderr}");
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

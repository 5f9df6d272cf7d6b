//! Fault injection against real sshd hosts (issue 7): hosts that die mid-run, network cuts
//! without a reset, hung commands and silent listeners, sshd `MaxStartups` throttling, changed
//! host keys, and 200 hosts at once. Each scenario asserts its exact outcome and a time bound.
//! Slow scenarios are skipped when `CLEARFLEET_QUICK=1` (CI runs them all).

mod support;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::cli::{Run, clearfleet, temp_home, write};
use support::sshd::Fleet;

/// An inventory of the fleet's hosts (h01…) with `work_dir` and per-host extra lines.
fn inventory(fleet: &Fleet, work: &Path, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n    work_dir: {}\n  hosts:\n",
        fleet.client_key().display(),
        work.display()
    );
    for h in fleet.hosts() {
        s.push_str(&format!(
            "    {}:\n      ansible_port: {}\n",
            h.name(),
            h.port()
        ));
        for (name, line) in extra {
            if *name == h.name() {
                s.push_str(&format!("      {line}\n"));
            }
        }
    }
    s
}

/// Waits for `child` at most `limit`; a run still going then is a hang (killed, then a panic).
fn finish_within(mut child: Child, limit: Duration) -> (Run, Duration) {
    let started = Instant::now();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = reader.join().unwrap_or_default();
            panic!("clearfleet still running after {limit:?} (a hang); output so far:\n{stdout}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    };
    (run, started.elapsed())
}

fn spawn(cmd: support::cli::Clearfleet) -> Child {
    cmd.command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn clearfleet: {e}"))
}

/// Polls for `path` to exist.
fn wait_for_file(path: &Path, limit: Duration) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < limit,
            "{} did not appear within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The recap line of `host` in `run`'s playbook output.
fn recap_line<'a>(stdout: &'a str, host: &str) -> &'a str {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with(&format!("{host} ")) && l.contains(" : ok="))
        .unwrap_or_else(|| panic!("no recap for {host}:\n{stdout}"))
}

/// `key=N` of a recap line.
fn count(line: &str, key: &str) -> u32 {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_host_dying_mid_step_is_unreachable_in_that_step_and_the_others_finish() {
    let Some(fleet) = Fleet::start(3) else {
        return;
    };
    let home = temp_home();
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let inv = write(
        home.path(),
        "inv.yml",
        &inventory(&fleet, &work, &[("h02", "nap: 60")]),
    );
    let pb = write(
        home.path(),
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: first step
      command: "true"
    - name: long step
      shell: touch {{ work_dir }}/started-{{ inventory_hostname }}; sleep {{ nap | default(2) }}
    - name: last step
      command: "true"
"#,
    );
    let child = spawn(
        clearfleet(home.path())
            .args(["run", "--forks", "3", "--report-dir", "rep", "-i"])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(fleet.known_hosts_path())
            .arg(&pb),
    );
    wait_for_file(&work.join("started-h02"), Duration::from_secs(20));
    let killed = Instant::now();
    fleet.host(1).kill();
    let (run, _) = finish_within(child, Duration::from_secs(30));
    let after_kill = killed.elapsed();
    eprintln!("{}\n{}", run.stdout, run.stderr);
    eprintln!("measured: run ended {after_kill:?} after the host died");
    assert_eq!(run.code, 3, "unreachable only: exit 3");
    // The others finished every step well before the 60 s sleep could have.
    assert!(after_kill < Duration::from_secs(10), "{after_kill:?}");
    for h in ["h01", "h03"] {
        let line = recap_line(&run.stdout, h);
        assert_eq!(count(line, "ok"), 3, "{line}");
        assert_eq!(count(line, "unreachable"), 0, "{line}");
        assert_eq!(count(line, "failed"), 0, "{line}");
    }
    let line = recap_line(&run.stdout, "h02");
    assert_eq!(count(line, "ok"), 1, "{line}");
    assert_eq!(count(line, "unreachable"), 1, "{line}");
    // The step it was in is named with the host.
    let long_step = run
        .stdout
        .split("TASK [long step]")
        .nth(1)
        .and_then(|s| s.split("TASK [").next())
        .unwrap_or_else(|| panic!("no long step:\n{}", run.stdout));
    assert!(
        long_step
            .lines()
            .any(|l| l == "unreachable: [h02]: host unreachable: connection lost"),
        "{long_step}"
    );
    assert!(
        run.stdout.contains(&format!(
            "  1 host: long step ({}:7:7): host unreachable: connection lost\n    h02\n",
            pb.display()
        )),
        "{}",
        run.stdout
    );
    let summary = json_file(&home.path().join("rep/summary.json"));
    assert_eq!(summary["exit_code"], 3, "{summary}");
    assert_eq!(summary["totals"]["unreachable"], 1, "{summary}");
    assert_eq!(summary["totals"]["ok"], 2, "{summary}");
    let h02 = json_file(&home.path().join("rep/hosts/h02.json"));
    assert_eq!(h02["status"], "unreachable", "{h02}");
    let steps = h02["steps"].as_array().cloned().unwrap_or_default();
    let last = steps.last().cloned().unwrap_or_default();
    assert_eq!(last["name"], "long step", "{h02}");
    assert_eq!(last["status"], "unreachable", "{h02}");
    assert_eq!(last["msg"], "host unreachable: connection lost", "{h02}");
    assert_eq!(steps.len(), 2, "no step after the host died: {h02}");
}

#[test]
fn a_network_cut_without_a_reset_is_noticed_by_the_keepalives() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let Some(cut) = support::netns::NetnsHost::start(&fleet) else {
        return;
    };
    let home = temp_home();
    let work = home.path().join("work");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    let mut inv = inventory(&fleet, &work, &[]);
    inv.push_str(&format!(
        "    cut:\n      ansible_host: {}\n      ansible_port: 22\n      nap: 120\n",
        cut.address()
    ));
    let inv = write(home.path(), "inv.yml", &inv);
    let pb = write(
        home.path(),
        "pb.yml",
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: long step
      shell: touch {{ work_dir }}/started-{{ inventory_hostname }}; sleep {{ nap | default(1) }}
    - name: last step
      command: "true"
"#,
    );
    let child = spawn(
        clearfleet(home.path())
            .args([
                "run",
                "--keepalive-interval",
                "1",
                "--keepalive-count",
                "3",
                "-i",
            ])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(fleet.known_hosts_path())
            .arg(&pb),
    );
    wait_for_file(&work.join("started-cut"), Duration::from_secs(20));
    let cut_at = Instant::now();
    cut.cut();
    let (run, _) = finish_within(child, Duration::from_secs(60));
    let noticed = cut_at.elapsed();
    eprintln!("{}\n{}", run.stdout, run.stderr);
    eprintln!("measured: the cut was noticed and the run ended {noticed:?} after it");
    assert_eq!(run.code, 3, "{run:?}");
    // 4 keepalive periods of 1 s (3 unanswered, the 4th period closes), plus slack; not a
    // reset (that would be immediate) and not TCP's 15-minute retransmission timeout.
    assert!(
        noticed >= Duration::from_millis(2500) && noticed < Duration::from_secs(9),
        "{noticed:?}"
    );
    let long_step = run
        .stdout
        .split("TASK [long step]")
        .nth(1)
        .and_then(|s| s.split("TASK [").next())
        .unwrap_or_else(|| panic!("no long step:\n{}", run.stdout));
    assert!(
        long_step
            .lines()
            .any(|l| l.starts_with("unreachable: [cut]: host unreachable: ")),
        "{long_step}"
    );
    let line = recap_line(&run.stdout, "cut");
    assert_eq!(count(line, "unreachable"), 1, "{line}");
    assert_eq!(count(line, "ok"), 0, "{line}");
    let line = recap_line(&run.stdout, "h01");
    assert_eq!(count(line, "ok"), 2, "{line}");
}

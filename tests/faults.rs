//! Fault injection against real sshd hosts (issue 7): hosts that die mid-run, network cuts
//! without a reset, hung commands and silent listeners, sshd `MaxStartups` throttling, changed
//! host keys, and 200 hosts at once. Each scenario asserts its exact outcome and a time bound.
//! Slow scenarios are skipped when `CLEARFLEET_QUICK=1` (CI runs them all).

use crate::support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use support::cli::{Clearfleet, Recap, Run, clearfleet, play, temp_home};
use support::setup::Setup;
use support::sshd::Fleet;

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

fn spawn(cmd: Clearfleet) -> Child {
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

/// What the playbook output of `stdout` shows under `TASK [name]`, up to the next task.
fn task_output<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .split(&format!("TASK [{name}]"))
        .nth(1)
        .and_then(|s| s.split("TASK [").next())
        .unwrap_or_else(|| panic!("no task {name}:\n{stdout}"))
}

/// `(start_ms, duration_ms)` of `host`'s step `name` in the report directory `rep`.
fn step_times(rep: &Path, host: &str, name: &str) -> (u64, u64) {
    let page = json_file(&rep.join(format!("hosts/{host}.json")));
    let step = page["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no step {name} for {host}: {page}"));
    (
        step["start_ms"].as_u64().unwrap_or_default(),
        step["duration_ms"].as_u64().unwrap_or_default(),
    )
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_host_dying_mid_step_is_unreachable_in_that_step_and_the_others_finish() {
    let Some(s) = Setup::with(3, |inv| inv.host_var("h02", "nap", 60)) else {
        return;
    };
    let pb = play(
        s.home(),
        r#"
    - name: first step
      command: "true"
    - name: long step
      shell: touch {{ work_dir }}/started-{{ inventory_hostname }}; sleep {{ nap | default(2) }}
    - name: last step
      command: "true"
"#,
    );
    let child = spawn(
        s.clearfleet("run")
            .args(["--forks", "3", "--report-dir", "rep"])
            .arg(&pb),
    );
    wait_for_file(&s.work.join("started-h02"), Duration::from_secs(20));
    let killed = Instant::now();
    s.fleet.host(1).kill();
    let (run, _) = finish_within(child, Duration::from_secs(90));
    let after_kill = killed.elapsed();
    eprintln!("{}\n{}", run.stdout, run.stderr);
    let (_, step_ms) = step_times(&s.home().join("rep"), "h02", "long step");
    eprintln!(
        "measured: run ended {after_kill:?} after the host died; its step lasted {step_ms} ms"
    );
    assert_eq!(run.code, 3, "unreachable only: exit 3");
    // The dead host's step ended with the death, not with its 60 s sleep.
    assert!(step_ms < 20_000, "{step_ms} ms");
    for h in ["h01", "h03"] {
        let line = Recap::of(&run.stdout, h);
        assert_eq!(line.count("ok"), 3, "{line}");
        assert_eq!(line.count("unreachable"), 0, "{line}");
        assert_eq!(line.count("failed"), 0, "{line}");
    }
    let line = Recap::of(&run.stdout, "h02");
    assert_eq!(line.count("ok"), 1, "{line}");
    assert_eq!(line.count("unreachable"), 1, "{line}");
    // The step it was in is named with the host.
    let long_step = task_output(&run.stdout, "long step");
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
    let summary = json_file(&s.home().join("rep/summary.json"));
    assert_eq!(summary["exit_code"], 3, "{summary}");
    assert_eq!(summary["totals"]["unreachable"], 1, "{summary}");
    assert_eq!(summary["totals"]["ok"], 2, "{summary}");
    let h02 = json_file(&s.home().join("rep/hosts/h02.json"));
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
    let s = Setup::on(fleet, |inv| {
        inv.host("cut", 22)
            .host_var("cut", "ansible_host", cut.address())
            .host_var("cut", "nap", 120)
    });
    let pb = play(
        s.home(),
        r#"
    - name: long step
      shell: touch {{ work_dir }}/started-{{ inventory_hostname }}; sleep {{ nap | default(1) }}
    - name: last step
      command: "true"
"#,
    );
    let spawned = Instant::now();
    let child = spawn(
        s.clearfleet("run")
            .args([
                "--report-dir",
                "rep",
                "--keepalive-interval",
                "1",
                "--keepalive-count",
                "3",
            ])
            .arg(&pb),
    );
    wait_for_file(&s.work.join("started-cut"), Duration::from_secs(20));
    let cut_at = Instant::now();
    cut.cut();
    let cut_ms = u64::try_from(cut_at.duration_since(spawned).as_millis()).unwrap_or(0);
    let (run, _) = finish_within(child, Duration::from_secs(90));
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 3, "{run:?}");
    // When the host's step ended, counted from the cut (the report's times start with the
    // run, a little after the spawn: this slightly underestimates).
    let (start, duration) = step_times(&s.home().join("rep"), "cut", "long step");
    let noticed = (start + duration).saturating_sub(cut_ms);
    eprintln!("measured: the cut was noticed {noticed} ms after it");
    // 4 keepalive periods of 1 s (3 unanswered, the 4th period closes), plus slack; not a
    // reset (that would be immediate) and not TCP's 15-minute retransmission timeout.
    assert!((2_000..9_000).contains(&noticed), "{noticed} ms");
    let long_step = task_output(&run.stdout, "long step");
    assert!(
        long_step
            .lines()
            .any(|l| l.starts_with("unreachable: [cut]: host unreachable: ")),
        "{long_step}"
    );
    let line = Recap::of(&run.stdout, "cut");
    assert_eq!(line.count("unreachable"), 1, "{line}");
    assert_eq!(line.count("ok"), 0, "{line}");
    let line = Recap::of(&run.stdout, "h01");
    assert_eq!(line.count("ok"), 2, "{line}");
}

#[test]
fn a_task_timeout_ends_a_hung_command_and_every_process_it_started() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    // Unique markers in the command lines, to find the processes on the host afterwards.
    let marker = format!("cf-hung-{}", std::process::id());
    let pb = play(
        s.home(),
        &format!(
            r#"
    - name: hung step
      shell: >-
        trap '' TERM HUP INT;
        sh -c 'sleep 301; echo {marker}-child' &
        sh -c 'sleep 302; echo {marker}-main';
        touch {{{{ work_dir }}}}/finished-{{{{ inventory_hostname }}}}
      timeout: 2
    - name: after
      command: "true"
"#
        ),
    );
    let child = spawn(s.clearfleet("run").args(["--report-dir", "rep"]).arg(&pb));
    let (run, took) = finish_within(child, Duration::from_secs(90));
    eprintln!("{}\n{}", run.stdout, run.stderr);
    eprintln!("measured: the run with a 2 s task timeout took {took:?}");
    assert_eq!(run.code, 2, "{run:?}");
    for h in ["h01", "h02"] {
        let (_, ms) = step_times(&s.home().join("rep"), h, "hung step");
        assert!((2_000..8_000).contains(&ms), "{h}: the step lasted {ms} ms");
    }
    for h in ["h01", "h02"] {
        let line = Recap::of(&run.stdout, h);
        assert_eq!(line.count("failed"), 1, "{line}");
        assert_eq!(line.count("ok"), 0, "{line}");
    }
    let hung = task_output(&run.stdout, "hung step");
    assert!(
        hung.lines()
            .filter(|l| l.starts_with("fatal: [h0") && l.ends_with(": command timed out after 2s"))
            .count()
            == 2,
        "{hung}"
    );
    // Nothing it started survives on the hosts: not the shell that ignores SIGTERM/SIGHUP,
    // nor its background child.
    let gone = (0..60).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        !support::process_running(&format!("{marker}-"))
    });
    let ps = std::process::Command::new("ps")
        .args(["-eo", "pid,pgid,args"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert!(
        gone,
        "processes of the timed-out task still run:\n{}",
        ps.lines()
            .filter(|l| l.contains(&marker))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!s.work.join("finished-h01").exists());
}

#[test]
fn a_listener_that_never_speaks_ssh_fails_by_the_connect_timeout() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    // Accepts every connection and holds it open, never sending a banner.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let s = Setup::on(fleet, |inv| inv.host("silent", port));
    let child = spawn(
        s.clearfleet("exec")
            .args(["--connect-timeout", "2", "--output", "json"])
            .args(["--", "echo hello"]),
    );
    let (run, took) = finish_within(child, Duration::from_secs(60));
    let silent = run.host_json("silent");
    let ms = silent["duration_ms"].as_u64().unwrap_or_default();
    eprintln!("measured: the silent host failed after {ms} ms (connect timeout 2 s), run {took:?}");
    assert_eq!(run.code, 3, "{run:?}");
    // One attempt: a timeout is never retried.
    assert!((2_000..4_000).contains(&ms), "{ms} ms");
    assert_eq!(silent["status"], "unreachable", "{silent}");
    assert!(
        silent["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("timed out after 2s")),
        "{silent}"
    );
    assert_eq!(run.host_json("h01")["status"], "ok");
}

#[test]
fn a_changed_host_key_refuses_that_host_only_and_off_warns() {
    let Some(s) = Setup::new(3) else {
        return;
    };
    let exec = |policy: &str| {
        s.clearfleet("exec")
            .args(["--output", "json", "--host-key-checking", policy])
            .args(["--", "echo hello"])
            .run()
    };
    assert_eq!(exec("strict").code, 0, "first run");
    let known_before = std::fs::read_to_string(s.fleet.known_hosts_path()).unwrap_or_default();
    s.fleet.host(1).regenerate_host_key_and_restart();
    let new_fp = s.fleet.host(1).host_key_fingerprint();
    let accepted_before = s.fleet.host(1).accepted_connections();
    for policy in ["strict", "accept-new"] {
        let run = exec(policy);
        assert_eq!(run.code, 3, "{policy}: {run:?}");
        let h02 = run.host_json("h02");
        assert_eq!(h02["status"], "unreachable", "{policy}: {h02}");
        let error = h02["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(&new_fp)
                && error.contains(&format!("{}:2", s.fleet.known_hosts_path().display())),
            "{policy}: {error}"
        );
        for h in ["h01", "h03"] {
            assert_eq!(run.host_json(h)["status"], "ok", "{policy}");
        }
        // Refused before authenticating, and known_hosts is left alone.
        assert_eq!(s.fleet.host(1).accepted_connections(), accepted_before);
        assert_eq!(
            std::fs::read_to_string(s.fleet.known_hosts_path()).unwrap_or_default(),
            known_before,
            "{policy}"
        );
    }
    let run = exec("off");
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("host key checking is off: any host can impersonate any other"),
        "{}",
        run.stderr
    );
    assert_eq!(run.host_json("h02")["status"], "ok");
    assert_eq!(
        std::fs::read_to_string(s.fleet.known_hosts_path()).unwrap_or_default(),
        known_before
    );
}

/// An inventory of `n` aliases (`a000`…) of the fleet's first sshd host, written to
/// `dir/inv.yml`.
fn aliases(fleet: &Fleet, n: usize, dir: &Path) -> PathBuf {
    let port = fleet.host(0).port();
    let mut inv = fleet.inventory().without_hosts();
    for i in 0..n {
        inv = inv.host(&format!("a{i:03}"), port);
    }
    inv.write(dir, "inv.yml")
}

/// (ok, unreachable, other) host counts of a JSON Lines run.
fn statuses(run: &Run) -> (usize, usize, usize) {
    let hosts: Vec<serde_json::Value> = run
        .json_lines()
        .into_iter()
        .filter(|v| v["type"] == "host")
        .collect();
    let ok = hosts.iter().filter(|h| h["status"] == "ok").count();
    let unreachable = hosts
        .iter()
        .filter(|h| h["status"] == "unreachable")
        .count();
    (ok, unreachable, hosts.len() - ok - unreachable)
}

/// Lines of an sshd log where `MaxStartups` dropped a connection.
fn drops(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("drop connection #"))
        .count()
}

#[test]
fn two_hundred_connections_to_one_sshd_all_get_through_max_startups() {
    if support::skip_slow("200 connections against sshd MaxStartups 10:30:60") {
        return;
    }
    // 200 inventory names for one sshd (as 200 hosts behind one bastion would be) at forks
    // 200: clearfleet keeps at most 8 handshakes in flight to one address, below the 10
    // where sshd starts dropping, so every host succeeds. sshd counts a connection as
    // unauthenticated until its pre-auth child has reported back, which on a loaded machine
    // lags behind the client: a rare drop can still happen, and the retries absorb it. 200
    // connections at once without the gate would be dropped by the dozen (30 % from 10
    // unauthenticated, 100 % from 60).
    let Some(fleet) = Fleet::builder().hosts(1).max_startups("10:30:60").build() else {
        return;
    };
    let home = temp_home();
    let inv = aliases(&fleet, 200, home.path());
    let started = Instant::now();
    let run = clearfleet(home.path())
        .args(["exec", "--forks", "200", "--output", "json"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "echo hello"])
        .run();
    let took = started.elapsed();
    let log = fleet.host(0).log();
    eprintln!(
        "measured: 200 hosts through one sshd (MaxStartups 10:30:60) in {took:?}, {} drops",
        drops(&log)
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(statuses(&run), (200, 0, 0));
    assert_eq!(fleet.host(0).accepted_connections(), 200);
    assert!(
        drops(&log) <= 10,
        "sshd dropped {} connections",
        drops(&log)
    );
}

#[test]
fn retries_with_backoff_get_through_a_stricter_max_startups_and_without_them_some_fail() {
    if support::skip_slow("MaxStartups 3 with and without retries") {
        return;
    }
    // An sshd that drops every unauthenticated connection beyond 3 (below clearfleet's 8 in
    // flight): only the retries with backoff get 40 hosts through.
    let Some(fleet) = Fleet::builder().hosts(1).max_startups("3").build() else {
        return;
    };
    let home = temp_home();
    let inv = aliases(&fleet, 40, home.path());
    let exec = |retries: &str| {
        clearfleet(home.path())
            .args(["exec", "--forks", "40", "--output", "json"])
            .args(["--connect-retries", retries])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", "echo hello"])
            .run()
    };
    let without = exec("0");
    let (ok, unreachable, other) = statuses(&without);
    eprintln!("measured: --connect-retries 0: {ok} ok, {unreachable} unreachable");
    assert_eq!(without.code, 3, "{}", without.stderr);
    assert!(unreachable > 0 && other == 0, "{ok} {unreachable} {other}");
    let closed = format!(
        "connection closed by 127.0.0.1:{} before the ssh handshake",
        fleet.host(0).port()
    );
    for v in without
        .json_lines()
        .iter()
        .filter(|v| v["status"] == "unreachable")
    {
        assert!(
            v["error"].as_str().is_some_and(|e| e.starts_with(&closed)),
            "{v}"
        );
    }
    let dropped_before = drops(&fleet.host(0).log());
    let started = Instant::now();
    let with = exec("8");
    let dropped = drops(&fleet.host(0).log()) - dropped_before;
    eprintln!(
        "measured: --connect-retries 8: {:?} (ok, unreachable, other) in {:?}; sshd dropped {dropped} attempts",
        statuses(&with),
        started.elapsed()
    );
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert_eq!(statuses(&with), (40, 0, 0));
    assert!(dropped > 0, "the retries were needed");
}

/// Runs `cmd`, sampling its open file descriptors every 20 ms: (run, the most seen at once,
/// wall time).
fn run_sampling_fds(cmd: Clearfleet) -> (Run, usize, Duration) {
    let child = spawn(cmd);
    let fd_dir = std::path::PathBuf::from(format!("/proc/{}/fd", child.id()));
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(d) = std::fs::read_dir(&fd_dir) {
                    peak.fetch_max(d.count(), std::sync::atomic::Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (run, took) = finish_within(child, Duration::from_secs(400));
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = sampler.join();
    (run, peak.load(std::sync::atomic::Ordering::SeqCst), took)
}

#[test]
fn two_hundred_hosts_at_forks_200_with_an_exact_recap_and_bounded_descriptors() {
    if support::skip_slow("200 hosts at --forks 200") {
        return;
    }
    // 20 sshd processes, 10 inventory names each: 200 hosts, 200 connections at once.
    let Some(fleet) = Fleet::start(20) else {
        return;
    };
    let home = temp_home();
    let mut inv = fleet.inventory().without_hosts();
    let mut names = Vec::new();
    for (i, h) in fleet.hosts().iter().enumerate() {
        for k in 0..10 {
            let name = format!("s{i:02}-{k}");
            inv = inv.host(&name, h.port());
            names.push(name);
        }
    }
    let inv = inv.write(home.path(), "inv.yml");
    let pb = play(
        home.path(),
        "    - command: echo {{ inventory_hostname }}\n      register: out\n    - command: \"true\"\n    - assert:\n        that: out.stdout == inventory_hostname\n",
    );
    // All 200 handshakes share this machine's CPUs with the 20 sshds (0.3–0.6 s of sshd CPU
    // each when the machine is busy): a generous connect timeout, so that the test measures
    // clearfleet, not the machine's load.
    let run_under = |fd_limit: u32, hosts: &str| {
        run_sampling_fds(
            clearfleet(home.path())
                .fd_limit(fd_limit)
                .args(["run", "--connect-timeout", "120", "--forks", "200"])
                .args(["--limit", hosts])
                .fleet(&inv, fleet.known_hosts_path())
                .arg(&pb),
        )
    };
    // 1024 descriptors: room for 200 forks (2 per host + 64), no lowering.
    let (run, peak, took) = run_under(1024, "all");
    eprintln!("measured: 200 hosts at --forks 200 in {took:?}, at most {peak} descriptors open");
    assert_eq!(
        run.code,
        0,
        "{}",
        run.stdout
            .lines()
            .filter(|l| l.contains("nreachable") || l.contains("fatal"))
            .take(10)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(!run.stderr.contains("lowered"), "{}", run.stderr);
    assert!(!run.all_output().contains("Too many open files"));
    for name in &names {
        assert_eq!(
            Recap::of(&run.stdout, name)
                .0
                .split_once(" : ")
                .map(|(_, counts)| counts.split_whitespace().collect::<Vec<_>>().join(" ")),
            Some("ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0".to_owned()),
            "{name}"
        );
    }
    assert!(run.stdout.contains("\n200 hosts in "), "{}", run.stdout);
    assert!(
        run.stdout.trim_end().ends_with(": 200 ok"),
        "{}",
        run.stdout
    );
    assert!(peak < 1024 && peak > 200, "{peak}");

    let accepted = || -> usize { fleet.hosts().iter().map(|h| h.accepted_connections()).sum() };
    assert_eq!(accepted(), 200, "one connection per host");

    // Under a low limit the forks are lowered, with a message, the hosts' connections are
    // reopened for each task instead of kept for the whole play, and every host succeeds.
    let (run, peak, took) = run_under(128, "s0*");
    eprintln!("measured: 100 hosts under ulimit -n 128 in {took:?}, at most {peak} descriptors");
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    for warning in [
        "warning: --forks lowered from 200 to 32: the open-file limit (ulimit -n) is 128",
        "warning: the open-file limit (ulimit -n) allows 32 connections at once for 100 hosts: \
         a playbook reopens each host's connection for every task",
    ] {
        assert!(run.stderr.contains(warning), "{}", run.stderr);
    }
    assert!(
        run.stdout.trim_end().ends_with(": 100 ok"),
        "{}",
        run.stdout
    );
    assert!(peak <= 128, "{peak}");
    // Two remote tasks (the assert runs on the controller): two connections per host.
    assert_eq!(
        accepted(),
        200 + 200,
        "one connection per host and remote task"
    );
}

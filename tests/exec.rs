//! `clearfleet exec` and `ping` end to end, against real OpenSSH sshd hosts on loopback.

use crate::support;

use support::cli::{clearfleet, temp_home, write};
use support::setup::Setup;
use support::sshd::{Fleet, free_port};

#[test]
fn exec_runs_on_every_host_with_one_connection_each() {
    let Some(s) = Setup::new(3) else {
        return;
    };
    let run = s
        .clearfleet("exec")
        .args(["--", "echo out-$((20+22)); echo err >&2"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    for host in s.fleet.hosts() {
        assert!(
            run.stdout
                .contains(&format!("{} | ok | rc=0 |", host.name())),
            "{}",
            run.stdout
        );
        assert_eq!(
            host.accepted_connections(),
            1,
            "one SSH connection per host"
        );
    }
    assert_eq!(
        run.stdout.matches("out-42\n[stderr]\nerr\n").count(),
        3,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 hosts in "), "{}", run.stdout);
    assert!(run.stdout.ends_with(": 3 ok\n"), "{}", run.stdout);
}

#[test]
fn a_failing_host_and_an_unreachable_host_do_not_stop_the_others() {
    // `down`: a port nothing listens on.
    let Some(s) = Setup::with(3, |inv| inv.host("down", free_port())) else {
        return;
    };
    let failing_port = s.fleet.hosts()[1].port();
    let cmd = format!("echo start; [ \"${{SSH_CONNECTION##* }}\" != {failing_port} ] || exit 7");
    let run = s
        .clearfleet("exec")
        .args(["--output", "json", "--connect-retries", "0"])
        .args(["--", &cmd])
        .run();
    assert_eq!(
        run.code, 2,
        "a failed host wins over an unreachable one: {run:?}"
    );
    let lines = run.json_lines();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    let failed = run.host_json("h02");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["rc"], 7);
    assert_eq!(failed["stdout"], "start\n");
    for ok in ["h01", "h03"] {
        let v = run.host_json(ok);
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["rc"], 0);
        assert!(v["duration_ms"].is_u64());
        assert!(v["error"].is_null());
    }
    let down = run.host_json("down");
    assert_eq!(down["status"], "unreachable");
    assert!(down["rc"].is_null());
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{down}"
    );
    let summary = &lines[4];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["hosts"], 4);
    assert_eq!(summary["ok"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["unreachable"], 1);
    assert_eq!(summary["exit_code"], 2);

    // Without the failing host, unreachable alone gives exit 3.
    let run = s
        .clearfleet("exec")
        .args(["--connect-retries", "0", "--limit", "all:!h02"])
        .args(["--", "true"])
        .run();
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout.contains("down | UNREACHABLE |"),
        "{}",
        run.stdout
    );
}

#[test]
fn ping_and_limit_patterns_select_hosts() {
    let Some(s) = Setup::with(4, |inv| inv.group("even", &["h02", "h04"])) else {
        return;
    };
    for (pattern, expected) in [
        ("even", vec!["h02", "h04"]),
        ("all:!even", vec!["h01", "h03"]),
        ("h0*:!even", vec!["h01", "h03"]),
        ("*3", vec!["h03"]),
        ("even[0]", vec!["h02"]),
        ("~h0[12]", vec!["h01", "h02"]),
        ("even:&h04", vec!["h04"]),
        ("h01,h04", vec!["h01", "h04"]),
    ] {
        let run = s
            .clearfleet("ping")
            .args(["--output", "json", "--limit", pattern])
            .run();
        assert_eq!(run.code, 0, "{pattern}: {run:?}");
        let hosts: Vec<String> = run
            .json_lines()
            .iter()
            .filter(|v| v["type"] == "host")
            .map(|v| v["host"].as_str().unwrap_or_default().to_owned())
            .collect();
        let mut sorted = hosts.clone();
        sorted.sort();
        assert_eq!(sorted, expected, "{pattern}");
    }
    let run = clearfleet(s.home())
        .args(["ping", "--limit", "nosuchhost", "-i"])
        .arg(&s.inv)
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("no host matched `nosuchhost`"),
        "{}",
        run.stderr
    );
    for host in s.fleet.hosts() {
        assert!(host.accepted_connections() <= 6);
    }
}

#[test]
fn bad_input_exits_4_and_contacts_no_host() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let inv = fleet
        .inventory()
        .var("ansible_ssh_private_key_file", "/nonexistent/key")
        .write(home.path(), "inv.yml");
    let run = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&inv)
        .args(["--", "true"])
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("/nonexistent/key"), "{}", run.stderr);

    let bad = write(
        home.path(),
        "bad.yml",
        "all:\n  hosts:\n    a:\n  hots:\n    b:\n",
    );
    let run = clearfleet(home.path())
        .args(["exec", "-i"])
        .arg(&bad)
        .args(["--", "true"])
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("bad.yml:4:3"), "{}", run.stderr);
    assert_eq!(
        fleet.hosts()[0].accepted_connections(),
        0,
        "nothing contacted"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn forks_are_lowered_to_what_the_open_file_limit_allows() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    let run = s
        .clearfleet("exec")
        .fd_limit(100)
        .args(["--forks", "500", "--", "true"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "warning: --forks lowered from 500 to 18: the open-file limit (ulimit -n) is 100"
        ),
        "{}",
        run.stderr
    );
}

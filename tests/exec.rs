//! `clearfleet exec` and `ping` end to end, against real OpenSSH sshd hosts on loopback.

use crate::support;

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

/// A YAML inventory for the fleet's hosts (h01…), with extra per-host YAML lines.
fn inventory(fleet: &Fleet, extra: &[(&str, &str)]) -> String {
    let mut s = String::from("all:\n  hosts:\n");
    for host in fleet.hosts() {
        s.push_str(&format!(
            "    {}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n",
            host.name(),
            host.port(),
            fleet.client_key().display()
        ));
        for (name, line) in extra {
            if *name == host.name() {
                s.push_str(&format!("      {line}\n"));
            }
        }
    }
    s
}

#[test]
fn exec_runs_on_every_host_with_one_connection_each() {
    let Some(fleet) = Fleet::start(3) else {
        return;
    };
    let home = temp_home();
    let inv = write(home.path(), "inv.yml", &inventory(&fleet, &[]));
    let run = clearfleet(home.path())
        .arg("exec")
        .arg("-i")
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .args(["--", "echo out-$((20+22)); echo err >&2"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    for host in fleet.hosts() {
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
    let Some(fleet) = Fleet::start(3) else {
        return;
    };
    let home = temp_home();
    let failing_port = fleet.hosts()[1].port();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(1);
    let mut inv = inventory(&fleet, &[]);
    inv.push_str(&format!(
        "    down:\n      ansible_host: 127.0.0.1\n      ansible_port: {closed}\n"
    ));
    let inv = write(home.path(), "inv.yml", &inv);
    let cmd = format!("echo start; [ \"${{SSH_CONNECTION##* }}\" != {failing_port} ] || exit 7");
    let run = clearfleet(home.path())
        .args(["exec", "--output", "json", "--connect-retries", "0", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
    let run = clearfleet(home.path())
        .args([
            "exec",
            "--connect-retries",
            "0",
            "--limit",
            "all:!h02",
            "-i",
        ])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
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
    let Some(fleet) = Fleet::start(4) else {
        return;
    };
    let home = temp_home();
    let inv = inventory(&fleet, &[]).replace(
        "all:\n  hosts:\n",
        "all:\n  children:\n    even:\n      hosts:\n        h02:\n        h04:\n  hosts:\n",
    );
    let inv = write(home.path(), "inv.yml", &inv);
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
        let run = clearfleet(home.path())
            .args(["ping", "--output", "json", "--limit", pattern, "-i"])
            .arg(&inv)
            .arg("--known-hosts")
            .arg(fleet.known_hosts_path())
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
    let run = clearfleet(home.path())
        .args(["ping", "--limit", "nosuchhost", "-i"])
        .arg(&inv)
        .run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("no host matched `nosuchhost`"),
        "{}",
        run.stderr
    );
    for host in fleet.hosts() {
        assert!(host.accepted_connections() <= 6);
    }
}

#[test]
fn bad_input_exits_4_and_contacts_no_host() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let inv = inventory(
        &fleet,
        &[("h01", "ansible_ssh_private_key_file: /nonexistent/key")],
    )
    .replace(
        &format!(
            "      ansible_ssh_private_key_file: {}\n",
            fleet.client_key().display()
        ),
        "",
    );
    let inv = write(home.path(), "inv.yml", &inv);
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
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = write(home.path(), "inv.yml", &inventory(&fleet, &[]));
    let bin = env!("CARGO_BIN_EXE_clearfleet");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 100 && exec {bin} exec --forks 500 -i {} --known-hosts {} -- true",
            inv.display(),
            fleet.known_hosts_path().display()
        ))
        .env("HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("sh: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "warning: --forks lowered from 500 to 18: the open-file limit (ulimit -n) is 100"
        ),
        "{stderr}"
    );
}

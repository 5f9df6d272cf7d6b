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

/// `printf HEAD`, `n` bytes of `o`, `printf TAIL`: a command whose output has a known head
/// and tail.
fn loud(n: u64) -> String {
    format!("printf HEAD; head -c {n} /dev/zero | tr '\\0' o; printf TAIL")
}

#[test]
fn output_past_the_limit_fails_the_host_with_its_head_tail_and_count() {
    // h01's own limit (a host variable) wins over --max-output.
    let Some(s) = Setup::with(2, |inv| {
        inv.host_var("h01", "clearfleet_max_output", "32KiB")
    }) else {
        return;
    };
    let cmd = loud(300_000);
    let run = s
        .clearfleet("exec")
        .args(["--output", "json", "--max-output", "64KiB", "--", &cmd])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    for (host, limit, shown) in [("h01", 32768, "32KiB"), ("h02", 65536, "64KiB")] {
        let v = run.host_json(host);
        assert_eq!(v["status"], "failed", "{v}");
        assert_eq!(v["rc"], 0, "the command itself succeeded: {v}");
        assert_eq!(v["stdout_dropped"], 300_008 - limit, "{host}");
        assert!(v.get("stderr_dropped").is_none(), "{v}");
        let stdout = v["stdout"].as_str().unwrap_or_default();
        let marker = format!(
            "\n[... clearfleet dropped {} bytes of stdout ...]\n",
            300_008 - limit
        );
        let (head, tail) = stdout
            .split_once(&marker)
            .unwrap_or_else(|| panic!("{host}: no marker"));
        assert_eq!(head, format!("HEAD{}", "o".repeat(limit as usize / 2 - 4)));
        assert_eq!(tail, format!("{}TAIL", "o".repeat(limit as usize / 2 - 4)));
        let error = v["error"].as_str().unwrap_or_default();
        for words in [
            "stdout was 300008 bytes (293.0 KiB)",
            &format!("more than the output limit of {shown} per stream"),
            "--max-output SIZE or the clearfleet_max_output variable",
        ] {
            assert!(error.contains(words), "{host}: {error}");
        }
    }

    // Within the limit nothing changes; the human view shows where bytes were dropped.
    let run = s
        .clearfleet("exec")
        .args(["--max-output", "1MiB", "--", &loud(300_000)])
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("h02 | ok | rc=0"), "{}", run.stdout);
    assert!(run.stdout.contains("h01 | FAILED | rc=0"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "o\n[... clearfleet dropped {} bytes of stdout ...]\no",
            300_008 - 32768
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn with_nothing_set_the_limit_is_4_mib() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let cmd = format!("{{ {}; }} >&2", loud(5_000_000));
    let run = s
        .clearfleet("exec")
        .args(["--output", "json", "--", &cmd])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    let v = run.host_json("h01");
    assert_eq!(
        v["stderr_dropped"],
        5_000_008 - 4 * 1024 * 1024,
        "{}",
        v["error"]
    );
    let marker = "\n[... clearfleet dropped 805704 bytes of stderr ...]\n";
    let stderr = v["stderr"].as_str().unwrap_or_default();
    assert!(stderr.contains(marker));
    assert_eq!(stderr.len(), 4 * 1024 * 1024 + marker.len());
    assert!(
        v["error"].as_str().is_some_and(|e| e
            .starts_with("stderr was 5000008 bytes (4.8 MiB), more than the output limit of 4MiB")),
        "{v}"
    );
}

#[test]
fn a_bad_max_output_is_invalid_input_and_contacts_no_host() {
    let Some(s) = Setup::with(1, |inv| {
        inv.host_var("h01", "clearfleet_max_output", "lots")
    }) else {
        return;
    };
    for (value, why) in [
        ("4XB", "unknown unit"),
        ("0", "at least one byte is kept"),
        ("lots", "no number"),
    ] {
        let run = clearfleet(s.home())
            .args(["exec", "-i"])
            .arg(&s.inv)
            .args(["--max-output", value, "--", "true"])
            .run();
        assert_eq!(run.code, 4, "{value}: {run:?}");
        assert!(
            run.stderr.contains(&format!(
                "invalid value '{value}' for '--max-output <SIZE>'"
            )),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(why) && run.stderr.contains("e.g. 4MiB"),
            "{}",
            run.stderr
        );
    }
    // The inventory's value is checked before any host is contacted too.
    let run = s.clearfleet("exec").args(["--", "true"]).run();
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("invalid `clearfleet_max_output` for host `h01`: `lots` is not a size"),
        "{}",
        run.stderr
    );
    assert_eq!(s.fleet.hosts()[0].accepted_connections(), 0);
    // --help still exits 0.
    let help = clearfleet(s.home()).args(["exec", "--help"]).run();
    assert_eq!(help.code, 0, "{help:?}");
    assert!(
        help.stdout.contains("--max-output <SIZE>"),
        "{}",
        help.stdout
    );
}

/// The controller's memory stays bounded whatever a host prints: a host printing 400 MB
/// leaves `clearfleet exec` under 64 MiB at its peak with the default limit, through the
/// persistent shell and on a channel of its own, measured by GNU time (the child's own peak,
/// from `wait4`). Before the limit it held all of it, several times over (1.5 GB of output
/// took it to 4.5 GB resident).
#[test]
fn a_host_printing_400_mb_leaves_the_controller_small() {
    if !std::path::Path::new(support::cli::GNU_TIME).exists() {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "{} is missing (package time, scripts/setup-test-env.sh)",
            support::cli::GNU_TIME
        );
        eprintln!(
            "SKIPPED: {} is missing (package time)",
            support::cli::GNU_TIME
        );
        return;
    }
    let Some(s) = Setup::new(1) else {
        return;
    };
    for way in [&[][..], &["--no-persistent-shell"][..]] {
        let rss = s.home().join("rss");
        let out = s.home().join("out.jsonl");
        let file = std::fs::File::create(&out).unwrap_or_else(|e| panic!("{out:?}: {e}"));
        let status = s
            .clearfleet("exec")
            .args(way)
            .args([
                "--output",
                "json",
                "--",
                "head -c 400000000 /dev/zero | tr '\\0' a",
            ])
            .max_rss(&rss)
            .command()
            .stdout(file)
            .status()
            .unwrap_or_else(|e| panic!("cannot run clearfleet: {e}"));
        let peak = support::cli::max_rss_kib(&rss);
        eprintln!("measured {way:?}: peak RSS {peak} KiB for 400 MB of output");
        assert!(peak < 64 * 1024, "{way:?}: peak RSS {peak} KiB");
        assert_eq!(status.code(), Some(2), "{way:?}");
        let line = std::fs::read_to_string(&out).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}: {}", &line[..line.len().min(300)]));
        assert_eq!(
            v["stdout_dropped"],
            400_000_000 - 4 * 1024 * 1024,
            "{way:?}"
        );
        assert!(line.len() < 5 * 1024 * 1024, "{} bytes printed", line.len());
    }
}

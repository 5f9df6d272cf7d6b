//! `--rerun failed|unreachable|ok` picks hosts from the last report (or `--from-report`), for
//! `exec`, `run` and `upgrade`; a reused report directory keeps no stale host pages.

use crate::support;

use support::cli::{clearfleet, temp_home, write};
use support::docker_host::DockerFleet;
use support::sshd::{Fleet, free_port};

fn hosts_of(dir: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            (
                h["host"].as_str().unwrap_or("").to_owned(),
                h["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn rerun_takes_the_hosts_of_the_last_report() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    // Two reachable hosts and one on a closed port.
    let inv = fleet
        .inventory()
        .host("down", free_port())
        .write(home.path(), "inv.yml");
    let exec = |extra: &[&str], cmd: &str| {
        clearfleet(home.path())
            .args(["exec", "--connect-retries", "0"])
            .fleet(&inv, fleet.known_hosts_path())
            .args(extra)
            .args(["--", cmd])
            .run()
    };

    // No report yet: a clear error, nothing contacted.
    let none = exec(&["--rerun", "failed"], "true");
    assert_eq!(none.code, 4, "{none:?}");
    assert!(
        none.stderr
            .starts_with("error: --rerun needs an earlier report: none under reports/"),
        "{}",
        none.stderr
    );

    // First: h01 and h02 ok, `down` unreachable. Second: h01 fails too (by its port).
    let first = exec(&["--report-dir", "reports/first"], "true");
    assert_eq!(first.code, 3, "{first:?}");
    let port1 = fleet.hosts()[0].port();
    let second = exec(
        &["--report-dir", "reports/second"],
        &format!("case \"$SSH_CONNECTION\" in *' {port1}') exit 5;; esac; true"),
    );
    assert_eq!(second.code, 2, "{second:?}");
    assert_eq!(
        hosts_of(&home.path().join("reports/second")),
        [
            ("h01".to_owned(), "failed".to_owned()),
            ("h02".to_owned(), "ok".to_owned()),
            ("down".to_owned(), "unreachable".to_owned())
        ]
    );

    // The newest report is `second`: only h01 failed there.
    let again = exec(&["--rerun", "failed", "--report-dir", "none"], "echo again");
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.contains("h01 | ok"), "{}", again.stdout);
    assert!(!again.stdout.contains("h02"), "{}", again.stdout);
    let both = exec(
        &["--rerun", "failed,unreachable", "--report-dir", "none"],
        "true",
    );
    assert_eq!(both.code, 3, "{both:?}");
    assert!(both.stdout.contains("h01 ") && both.stdout.contains("down "));
    assert!(!both.stdout.contains("h02"), "{}", both.stdout);

    // --from-report reads that one instead; --limit narrows further.
    let from_first = exec(
        &[
            "--rerun",
            "ok",
            "--from-report",
            "reports/first",
            "--limit",
            "h02",
            "--report-dir",
            "none",
        ],
        "true",
    );
    assert_eq!(from_first.code, 0, "{from_first:?}");
    assert!(
        from_first.stdout.contains("h02 | ok"),
        "{}",
        from_first.stdout
    );
    assert!(!from_first.stdout.contains("h01"), "{}", from_first.stdout);
    let empty = exec(
        &["--rerun", "failed", "--from-report", "reports/first"],
        "true",
    );
    assert_eq!(empty.code, 4, "{empty:?}");
    assert!(
        empty.stderr.contains("has no failed host"),
        "{}",
        empty.stderr
    );

    // `run` takes the same hosts.
    let pb = write(
        home.path(),
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: hostname\n",
    );
    let run = clearfleet(home.path())
        .args(["run", "--rerun", "failed"])
        .fleet(&inv, fleet.known_hosts_path())
        .arg(&pb)
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("changed: [h01]"), "{}", run.stdout);
    assert!(!run.stdout.contains("h02") && !run.stdout.contains("down"));
}

#[test]
fn a_reused_report_dir_drops_the_pages_of_hosts_no_longer_in_it() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = fleet
        .inventory()
        .host("down", free_port())
        .write(home.path(), "inv.yml");
    let exec = |limit: &str| {
        clearfleet(home.path())
            .args(["exec", "--report-dir", "rep", "--limit", limit])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", "true"])
            .run()
    };
    assert_eq!(exec("h01,h02").code, 0);
    write(home.path(), "rep/hosts/notes.txt", "mine");
    write(home.path(), "rep/notes.md", "mine");
    assert_eq!(exec("h02").code, 0);
    let mut left: Vec<String> = std::fs::read_dir(home.path().join("rep/hosts"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["h02.json", "h02.md", "notes.txt"]);
    assert!(home.path().join("rep/notes.md").exists());
}

#[test]
fn upgrade_reruns_only_the_hosts_of_the_report() {
    let Some(fleet) = DockerFleet::start(&["v2", "v2"]) else {
        return;
    };
    let home = temp_home();
    fleet.install(&[vec!["--era", "2.3"], vec!["--era", "2.3"]]);
    let names = fleet.hosts().iter().enumerate();
    let inv = support::docker_inventory(&fleet, names.map(|(i, h)| (h, format!("h{:02}", i + 1))));
    let inv = write(home.path(), "inv.yml", &inv);
    let upgrade = |extra: &[&str]| {
        clearfleet(home.path())
            .arg("upgrade")
            .args(extra)
            .fleet(&inv, fleet.known_hosts_path())
            .run()
    };
    let none = upgrade(&["--rerun", "failed"]);
    assert_eq!(none.code, 4, "{none:?}");
    assert!(
        none.stderr
            .starts_with("error: --rerun needs an earlier report"),
        "{}",
        none.stderr
    );
    assert!(
        !home.path().join("reports").exists(),
        "no report for a refused run"
    );
    // An earlier report where h02 failed.
    write(
        home.path(),
        "old/summary.json",
        r#"{"hosts": [{"host": "h01", "status": "ok"}, {"host": "h02", "status": "failed"}]}"#,
    );
    let run = upgrade(&["--rerun", "failed", "--from-report", "old"]);
    assert_eq!(run.code, 0, "{run:?}");
    let result: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.contains("UPGRADE RESULT"))
        .skip(1)
        .collect();
    assert_eq!(
        result,
        ["h02  up to date (2.3.0)", "", "1 host: 1 up to date"],
        "{}",
        run.stdout
    );
}

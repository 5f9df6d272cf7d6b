//! `--report-dir` end to end against real sshd hosts: the files, their exact text for a small
//! run (times redacted), JUnit through Python's parser, the HTML page in headless Chromium, and
//! no secret in any file.

use crate::support;

use std::path::Path;

use support::cli::{clearfleet, temp_home, write};
use support::report::{check_junit, chromium_dom, files};
use support::setup::Setup;
use support::sshd::{Fleet, free_port};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Times, durations and the run id replaced, so two runs give the same text.
fn redact_times(text: &str) -> String {
    let rules = [
        (r#""(duration|start|end)_ms": \d+"#, r#""${1}_ms": 0"#),
        (r#""(start|end)": "[0-9T:.-]+Z""#, r#""$1": "TIME""#),
        (r#""run_id": "[^"]+""#, r#""run_id": "RUN""#),
        (r"\b\d+ ms\b", "N ms"),
        (r"\| \+[0-9.]+m?s \|", "| +T |"),
        (r#"time="[0-9.]+""#, r#"time="T""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="TIME""#),
    ];
    let mut s = text.to_owned();
    for (re, with) in rules {
        let re = regex::Regex::new(re).unwrap_or_else(|e| panic!("{e}"));
        s = re.replace_all(&s, with).into_owned();
    }
    s
}

#[test]
fn a_small_exec_run_writes_exactly_these_files() {
    let Some(s) = Setup::new(2) else {
        return;
    };
    let run = s
        .clearfleet("exec")
        .args(["--report-dir", "rep", "--", "echo hello; echo warn >&2"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    let dir = s.home().join("rep");
    assert!(
        run.stderr.contains("report: rep/index.html"),
        "{}",
        run.stderr
    );
    let names: Vec<String> = files(&dir)
        .into_iter()
        .map(|(p, _)| {
            p.strip_prefix(&dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        names,
        [
            "events.jsonl",
            "hosts/h01.json",
            "hosts/h01.md",
            "hosts/h02.json",
            "hosts/h02.md",
            "index.html",
            "junit.xml",
            "summary.json"
        ]
    );
    let paths = |text: String| {
        text.replace(support::cli::bin(), "clearfleet")
            .replace(
                &s.fleet.known_hosts_path().display().to_string(),
                "KNOWN_HOSTS",
            )
            .replace(&s.home().display().to_string(), "HOME")
    };
    let summary = paths(redact_times(&read(&dir.join("summary.json"))));
    let host_summary = |h: &str| {
        format!(
            r#"    {{
      "host": "{h}",
      "status": "ok",
      "label": null,
      "version_before": null,
      "version_after": null,
      "hops_done": [],
      "start_ms": 0,
      "end_ms": 0,
      "duration_ms": 0,
      "downtime": null,
      "failure": null,
      "result": null,
      "backup": null,
      "page": "hosts/{h}.md"
    }}"#
        )
    };
    assert_eq!(
        summary,
        format!(
            r#"{{
  "run_id": "RUN",
  "command": "exec",
  "command_line": [
    "clearfleet",
    "exec",
    "-i",
    "HOME/inv.yml",
    "--known-hosts",
    "KNOWN_HOSTS",
    "--report-dir",
    "rep",
    "--",
    "echo hello; echo warn >&2"
  ],
  "start": "TIME",
  "end": "TIME",
  "duration_ms": 0,
  "exit_code": 0,
  "totals": {{
    "hosts": 2,
    "ok": 2,
    "failed": 0,
    "unreachable": 0,
    "interrupted": 0,
    "refused": 0
  }},
  "hosts": [
{},
{}
  ]
}}
"#,
            host_summary("h01"),
            host_summary("h02")
        )
    );
    assert_eq!(
        redact_times(&read(&dir.join("hosts/h01.md"))),
        "# h01: ok

- status: ok
- duration: N ms
- rc: 0

[Back to the fleet](../index.html)

## Steps

| # | step | status | start | duration | rc |
|---|---|---|---|---|---|
| 1 | exec -- echo hello; echo warn >&2 | ok | +T | N ms | 0 |

## Output of the other steps

### 1. exec -- echo hello; echo warn >&2 (ok)

stdout (last lines):

```
hello
```

stderr (last lines):

```
warn
```

"
    );
    assert_eq!(
        redact_times(&read(&dir.join("junit.xml"))),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="clearfleet exec" tests="2" failures="0" errors="0" skipped="0" time="T">
  <testsuite name="exec" tests="2" failures="0" errors="0" skipped="0" time="T" timestamp="TIME">
    <testcase name="h01" classname="clearfleet.exec" time="T"/>
    <testcase name="h02" classname="clearfleet.exec" time="T"/>
  </testsuite>
</testsuites>
"#
    );
    assert_eq!(
        redact_times(&read(&dir.join("hosts/h02.json"))),
        r#"{
  "host": "h02",
  "status": "ok",
  "label": null,
  "start_ms": 0,
  "end_ms": 0,
  "duration_ms": 0,
  "downtime": null,
  "rc": 0,
  "failure": null,
  "version_before": null,
  "version_after": null,
  "hops_done": [],
  "result": null,
  "backup": null,
  "backup_manifests": [],
  "hops_planned": [],
  "next": [],
  "recap": null,
  "detected": null,
  "plan": null,
  "verdict": null,
  "steps": [
    {
      "play": null,
      "name": "exec -- echo hello; echo warn >&2",
      "location": null,
      "status": "ok",
      "item": null,
      "msg": null,
      "rc": 0,
      "stdout_tail": "hello",
      "stderr_tail": "warn",
      "diff": null,
      "start_ms": 0,
      "duration_ms": 0
    }
  ]
}
"#
    );
    check_junit(&dir.join("junit.xml"), 2, 0, 0);

    // events.jsonl is the stream of --output json.
    let json = s
        .clearfleet("exec")
        .args([
            "--output",
            "json",
            "--report-dir",
            "rep2",
            "--",
            "echo hello",
        ])
        .run();
    assert_eq!(json.code, 0, "{json:?}");
    assert_eq!(read(&s.home().join("rep2/events.jsonl")), json.stdout);
}

#[test]
fn ping_writes_a_report_too() {
    let Some(s) = Setup::new(1) else {
        return;
    };
    let run = s.clearfleet("ping").args(["-q", "--report-dir", "p"]).run();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains("report:"), "-q: {}", run.stderr);
    let summary: serde_json::Value = serde_json::from_str(&read(&s.home().join("p/summary.json")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["command"], "ping");
    assert_eq!(summary["hosts"][0]["status"], "ok");
    check_junit(&s.home().join("p/junit.xml"), 1, 0, 0);
}

#[test]
fn failures_reach_junit_html_and_the_digest() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = fleet
        .inventory()
        .host("down1", free_port())
        .host("down2", free_port())
        .write(home.path(), "inv.yml");
    let bad = fleet.hosts()[1].port();
    let run = clearfleet(home.path())
        .args(["exec", "--connect-retries", "0"])
        .fleet(&inv, fleet.known_hosts_path())
        .arg("--report-dir")
        .arg(home.path().join("rep"))
        .arg("--")
        .arg(format!(
            "case \"$SSH_CONNECTION\" in *' {bad}') echo broken >&2; exit 3;; esac; echo fine"
        ))
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    // The digest groups the two unreachable hosts under one cause.
    let digest = run
        .stdout
        .split("FAILURES (2 causes)\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest:\n{}", run.stdout));
    assert!(
        digest.contains("  2 hosts: ") && digest.contains("\n    down1, down2\n"),
        "{digest}"
    );
    assert!(
        digest.contains("  1 host: command exited with status N\n    h02\n"),
        "{digest}"
    );

    let dir = home.path().join("rep");
    check_junit(&dir.join("junit.xml"), 4, 1, 2);
    let junit = read(&dir.join("junit.xml"));
    assert!(
        junit.contains(r#"<failure message="command exited with status 3" type="failed">"#),
        "{junit}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&read(&dir.join("summary.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["totals"]["failed"], 1, "{summary}");
    assert_eq!(summary["totals"]["unreachable"], 2, "{summary}");
    assert_eq!(summary["exit_code"], 2, "{summary}");

    let html = read(&dir.join("index.html"));
    for forbidden in ["http://", "https://", "<link", "src="] {
        let outside_svg_ns = html.replace("http://www.w3.org/2000/svg", "");
        assert!(
            !outside_svg_ns.contains(forbidden),
            "{forbidden} in a self-contained page"
        );
    }
    // One row per host at a glance (failures first), and a section per host.
    assert_eq!(html.matches("<tr class=\"host\"").count(), 4);
    assert_eq!(html.matches("<details id=\"host-").count(), 4);
    let first = html.split("<tr class=\"host\"").nth(1).unwrap_or_default();
    assert!(
        !first.starts_with(" data-status=\"ok\""),
        "failures first: {first}"
    );
    assert!(html.contains("<a href=\"hosts/h01.md\">h01</a>"));
    let Some((dom, log)) = chromium_dom(&dir.join("index.html"), "") else {
        return;
    };
    for count in [
        r#"data-hosts="4""#,
        r#"data-shown="4""#,
        r#"data-ok="1""#,
        r#"data-failed="1""#,
        r#"data-unreachable="2""#,
    ] {
        assert!(dom.contains(count), "{count} not in the DOM:\n{dom}");
    }
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // Filtered by status: the same counts, only the unreachable rows shown.
    let Some((dom, log)) = chromium_dom(&dir.join("index.html"), "#status=unreachable") else {
        return;
    };
    assert!(dom.contains(r#"data-shown="2""#), "{dom}");
    assert!(dom.contains(r#"data-hosts="4""#), "{dom}");
    assert_eq!(
        dom.matches(r#"style="display: none;""#).count(),
        2,
        "ok and failed rows hidden: {dom}"
    );
    assert!(!log.contains("CONSOLE"), "{log}");
}

#[test]
fn no_secret_reaches_any_report_file() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let password = "cf-report-pass-8c1";
    let token = "cf-report-token-5d2";
    let inv = fleet
        .inventory()
        .host_var("h01", "ansible_password", password)
        .host_var("h01", "clearml_api_token", token)
        .write(home.path(), "inv.yml");
    let run = clearfleet(home.path())
        .arg("exec")
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--report-dir", "rep", "--"])
        .arg(format!(
            "echo {password}; echo {token} >&2; echo {password} | tr a-z A-Z; exit 1"
        ))
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.all_output().contains(password), "{run:?}");
    let all = files(&home.path().join("rep"));
    assert_eq!(
        all.len(),
        6,
        "{:?}",
        all.iter().map(|(p, _)| p).collect::<Vec<_>>()
    );
    for (path, text) in &all {
        for secret in [password, token] {
            assert!(!text.contains(secret), "{secret} in {path:?}:\n{text}");
        }
    }
    let page = read(&home.path().join("rep/hosts/h01.md"));
    assert!(page.contains("********"), "{page}");
}

#[test]
fn secret_extra_vars_are_masked_in_the_recorded_command_line() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let inv = fleet.inventory().write(home.path(), "inv.yml");
    let pb = write(
        home.path(),
        "pb.yml",
        "- name: First\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Say\n      command: echo {{ greeting }}\n- name: Second\n  hosts: all\n  gather_facts: false\n  tasks:\n    - name: Fail\n      command: \"false\"\n",
    );
    let run = clearfleet(home.path())
        .arg("run")
        .fleet(&inv, fleet.known_hosts_path())
        .args([
            "--report-dir",
            "rep",
            "-e",
            "greeting=hi db_password=cf-ev-secret-3a",
        ])
        .arg(&pb)
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    let dir = home.path().join("rep");
    for (path, text) in files(&dir) {
        assert!(!text.contains("cf-ev-secret-3a"), "secret in {path:?}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&read(&dir.join("summary.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        summary["command_line"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a == "greeting=hi db_password=********"),
        "{summary}"
    );
    // One test case per host per play: Second failed.
    check_junit(&dir.join("junit.xml"), 2, 1, 0);
    let junit = read(&dir.join("junit.xml"));
    assert!(junit.contains(r#"<testsuite name="Second""#), "{junit}");
    let md = read(&dir.join("hosts/h01.md"));
    assert!(md.contains("| 1 | Say | changed |"), "{md}");
    assert!(md.contains("| 2 | Fail | failed |"), "{md}");
}

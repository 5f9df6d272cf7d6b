//! Each host's own numbers after a real upgrade of hosts of different eras (real Docker hosts,
//! tests/support/docker_host.rs): its duration and downtime, checked against the step
//! timestamps of `events.jsonl`; its distinct label in every output (table, summary.json,
//! host files, JUnit, index.html); and the sections of its `hosts/<h>.md` page.

use crate::support;

use std::path::Path;

use serde_json::Value;
use support::cli::{temp_home, write};
use support::docker_host::DockerFleet;
use support::upgrade::{upgrade_on, write_mirror};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// One `result` line of `events.jsonl`: the task ran from `elapsed_ms - duration_ms` to
/// `elapsed_ms` (its run's clock).
#[derive(Debug)]
struct Ran {
    task: String,
    location: String,
    start: u64,
    end: u64,
}

/// The playbook's results of `host` in `events.jsonl`, in order.
fn results(events: &str, host: &str) -> Vec<Ran> {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "result" && v["host"] == host)
        .map(|v| {
            let end = num(&v["elapsed_ms"]);
            Ran {
                task: v["task"].as_str().unwrap_or("").to_owned(),
                location: v["location"].as_str().unwrap_or("").to_owned(),
                start: end - num(&v["duration_ms"]),
                end,
            }
        })
        .collect()
}

/// When `host`'s detection ended: the `elapsed_ms` of its `host` line with `detected`.
fn detect_end_of(events: &str, host: &str) -> u64 {
    events
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "host" && v["host"] == host && !v["detected"].is_null())
        .map(|v| num(&v["elapsed_ms"]))
        .unwrap_or_else(|| panic!("no detection of {host} in events.jsonl"))
}

/// `a` and `b` agree to the millisecond rounding of two clocks.
fn close(a: u64, b: u64, what: &str) {
    assert!(a.abs_diff(b) <= 2, "{what}: {a} vs {b}");
}

#[test]
fn each_host_has_its_own_duration_downtime_label_and_page() {
    let Some(fleet) = DockerFleet::start(&["v2"; 5]) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let labels = [
        "old-1.12",
        "mid-2.0",
        "broken-2.0",
        "current-2.3",
        "trains-0.15",
    ];
    fleet.install(&[
        vec!["--era", "1.12"],
        vec!["--era", "2.0"],
        vec!["--era", "2.0"],
        vec!["--era", "2.3"],
        vec!["--era", "0.15"],
    ]);
    // The 2.3 server image fails to start here: this host is rolled back.
    fleet
        .host(2)
        .inject(&["--broken-tag", "clearml/server:2.3.0"]);
    let inv = support::docker_inventory(&fleet, fleet.hosts().iter().zip(labels));
    let inv = write(home.path(), "inv.yml", &inv);
    let run = upgrade_on(home.path(), &inv, &fleet, &mirror)
        .args(["--wait", "20", "--report-dir", "rep"])
        .run();
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "one host rolled back: {run:?}");
    let dir = home.path().join("rep");
    let events = read(&dir.join("events.jsonl"));
    let summary = json(&dir.join("summary.json"));
    let in_summary = |h: &str| {
        summary["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["host"] == h)
            .cloned()
            .unwrap_or_else(|| panic!("{h} not in {summary}"))
    };

    // Labels: distinct, and a refused host is nowhere `failed`.
    let want = [
        ("old-1.12", "ok", "upgraded"),
        ("mid-2.0", "ok", "upgraded"),
        ("broken-2.0", "failed", "rolled_back"),
        ("current-2.3", "ok", "up_to_date"),
        ("trains-0.15", "refused", "refused"),
    ];
    for (h, status, label) in want {
        let s = in_summary(h);
        assert_eq!(
            (s["status"].as_str(), s["label"].as_str()),
            (Some(status), Some(label)),
            "{s}"
        );
        let file = json(&dir.join(format!("hosts/{h}.json")));
        assert_eq!(
            (file["status"].as_str(), file["label"].as_str()),
            (Some(status), Some(label)),
            "{file}"
        );
        assert!(
            events.lines().any(|l| l.contains(r#""type":"upgrade""#)
                && l.contains(&format!(r#""host":"{h}""#))
                && l.contains(&format!(r#""label":"{label}""#))),
            "no upgrade line with {label} for {h}"
        );
    }
    let junit = read(&dir.join("junit.xml"));
    support::report::check_junit(&dir.join("junit.xml"), 5, 1, 0);
    let case = |h: &str| {
        let start = junit
            .find(&format!("<testcase name=\"{h}\""))
            .unwrap_or_else(|| panic!("no test case {h}:\n{junit}"));
        let end = junit[start..]
            .find("</testcase>")
            .map_or(junit.len(), |e| start + e);
        junit[start..end].to_owned()
    };
    assert!(
        case("trains-0.15").contains(r#"<skipped message="refused: Host runs Trains Server"#),
        "{junit}"
    );
    assert!(case("trains-0.15").contains(r#"type="refused""#), "{junit}");
    assert!(
        case("broken-2.0").contains(r#"type="rolled_back""#),
        "{junit}"
    );
    assert!(
        case("old-1.12").contains(r#"<property name="label" value="upgraded"/>"#),
        "{junit}"
    );
    assert!(
        case("old-1.12").contains(r#"<property name="downtime_ms" value=""#),
        "{junit}"
    );
    assert!(!case("current-2.3").contains("downtime_ms"), "{junit}");
    let closing = run
        .stdout
        .lines()
        .find(|l| l.starts_with("5 hosts: "))
        .unwrap_or_else(|| panic!("no summary line:\n{}", run.stdout));
    assert!(
        closing.starts_with(
            "5 hosts: 1 failed (rolled back), 1 refused, 2 upgraded, 1 up to date · downtime: total "
        ),
        "{closing}"
    );

    // Durations and downtimes against the step timestamps of events.jsonl.
    let mut downtimes = Vec::new();
    let mut detect_bases = Vec::new();
    for (h, _, label) in want {
        let file = json(&dir.join(format!("hosts/{h}.json")));
        let steps = file["steps"].as_array().cloned().unwrap_or_default();
        let (start, end) = (num(&file["start_ms"]), num(&file["end_ms"]));
        assert_eq!(num(&file["duration_ms"]), end - start, "{h}");
        assert_eq!(in_summary(h)["duration_ms"], file["duration_ms"], "{h}");
        let played: Vec<&Value> = steps.iter().filter(|s| !s["location"].is_null()).collect();
        match played.last() {
            // A host of the playbook ends with its own last task...
            Some(last) => close(end, num(&last["start_ms"]) + num(&last["duration_ms"]), h),
            // ... one left alone with its detection, on the detection run's clock.
            None => detect_bases.push((end - detect_end_of(&events, h), h)),
        }
        let ev = results(&events, h);
        assert_eq!(
            played.len(),
            ev.len(),
            "{h}: the host file's steps are the results"
        );
        // The playbook's steps follow the detection step on the report's clock.
        let detect_end = num(&steps[0]["start_ms"]) + num(&steps[0]["duration_ms"]);
        if let Some(first_step) = played.first() {
            assert!(num(&first_step["start_ms"]) >= detect_end, "{h}: {file}");
        }
        if let (Some(first_step), Some(first)) = (played.first(), ev.first()) {
            let base = num(&first_step["start_ms"]);
            for (s, r) in played.iter().zip(&ev) {
                assert_eq!(s["name"].as_str(), Some(r.task.as_str()), "{h}");
                close(
                    num(&s["start_ms"]) - base,
                    r.start - first.start,
                    &format!("{h}: {}", r.task),
                );
            }
        }
        let downtime = &file["downtime"];
        assert_eq!(&in_summary(h)["downtime"], downtime, "{h}");
        let stop = ev
            .iter()
            .find(|r| r.task == "Stop the server" && r.location.starts_with("clearml/backup.yml:"));
        let up_task = if label == "rolled_back" {
            "The previous version answers"
        } else {
            "The file server answers"
        };
        let up = ev.iter().rev().find(|r| r.task == up_task);
        match (label, stop, up) {
            ("upgraded" | "rolled_back", Some(stop), Some(up)) => {
                assert_eq!(downtime["still_down"], false, "{h}: {downtime}");
                close(num(&downtime["duration_ms"]), up.end - stop.start, h);
                assert!(num(&downtime["duration_ms"]) > 0, "{h}");
                downtimes.push((num(&downtime["duration_ms"]), h));
            }
            ("up_to_date" | "refused", None, None) => {
                assert!(downtime.is_null(), "{h}: never stopped: {downtime}");
            }
            other => panic!("{h}: {other:?}"),
        }
    }
    assert_eq!(detect_bases.len(), 2, "{detect_bases:?}");
    close(
        detect_bases[0].0,
        detect_bases[1].0,
        "the detection run's start",
    );
    // Each its own: the hosts left alone took only their detection, the others far longer.
    let took = |h: &str| num(&in_summary(h)["duration_ms"]);
    assert!(took("current-2.3") * 2 < took("old-1.12"), "{summary}");
    assert!(took("trains-0.15") * 2 < took("mid-2.0"), "{summary}");
    // Each host at its own pace (the built-in play's `strategy: free`): the one-hop 2.0 server
    // is down far shorter than the three-hop 1.12 one. In lock-step (`linear`) both were down
    // exactly as long (45.05 s and 45.05 s in the run docs/upgrade.md records).
    let down = |h: &str| num(&in_summary(h)["downtime"]["duration_ms"]);
    assert!(down("mid-2.0") * 5 < down("old-1.12") * 4, "{summary}");
    let worst = downtimes.iter().max().map(|(_, h)| *h).unwrap_or_default();
    assert!(
        closing.contains(&format!(" ({worst})")),
        "{closing} (worst: {worst})"
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("down ")),
        "{}",
        run.stdout
    );

    // The pages: plan, steps with their start, backup and manifests, failures, what next.
    let page = |h: &str| read(&dir.join(format!("hosts/{h}.md")));
    let old = page("old-1.12");
    for part in [
        "# old-1.12: upgraded\n",
        "## Plan\n\n1.12.1-400 → 1.17.1 → 2.0.0 → 2.3.0\n",
        "## Backup\n",
        "/manifest.data`\n",
        "| # | step | status | start | duration | rc |\n",
        "- downtime: ",
    ] {
        assert!(old.contains(part), "{part} missing:\n{old}");
    }
    let broken = page("broken-2.0");
    eprintln!("{broken}");
    for part in [
        "# broken-2.0: failed (rolled back)\n",
        "## Failed commands\n",
        "### ",
        "## What to do next\n",
        " --wait 20 --rerun failed --from-report rep`",
    ] {
        assert!(broken.contains(part), "{part} missing:\n{broken}");
    }
    let refused = page("trains-0.15");
    for part in [
        "# trains-0.15: refused\n",
        "- downtime: none (the server was never stopped)\n",
        "## What to do next\n\nRefused: Host runs Trains Server",
        "--limit trains-0.15`",
    ] {
        assert!(refused.contains(part), "{part} missing:\n{refused}");
    }
    assert!(!page("current-2.3").contains("## What to do next"));

    // index.html counts the refused host as refused.
    let html = read(&dir.join("index.html"));
    assert!(
        html.contains(r#"<tr class="host" data-status="refused" data-label="refused">"#),
        "{html}"
    );
    if let Some((dom, _)) = support::report::chromium_dom(&dir.join("index.html"), "") {
        for count in [
            r#"data-refused="1""#,
            r#"data-failed="1""#,
            r#"data-ok="3""#,
        ] {
            assert!(dom.contains(count), "{count} not in the DOM:\n{dom}");
        }
    }
}

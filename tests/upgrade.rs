//! `clearfleet upgrade` end to end on ClearML hosts that are real Docker Engines (each its own
//! sshd, dockerd, compose v1 or v2 and registry: tests/support/docker_host.rs) running stand-in
//! images of the real services under their real names (docs/simulator.md, "Real Docker hosts").

use crate::support;

use std::path::Path;
use std::process::Command;

use support::cli::{clearfleet, temp_home, write};
use support::docker_host::{DockerFleet, DockerHost};
use support::upgrade::write_mirror;

/// `clearfleet upgrade FLAGS` on the inventory, with the fleet's known_hosts and the test mirror.
fn upgrade(
    home: &tempfile::TempDir,
    inv: &Path,
    fleet: &DockerFleet,
    mirror: &Path,
    flags: &[&str],
) -> support::cli::Run {
    clearfleet(home.path())
        .arg("upgrade")
        .args(flags)
        .fleet(inv, fleet.known_hosts_path())
        .arg("--compose-mirror")
        .arg(mirror)
        .run()
}

/// A fleet of `n` real-Docker hosts (compose v2), a temporary HOME and the test's compose
/// mirror; `None` where they cannot run.
fn sim_fleet(n: usize) -> Option<(DockerFleet, tempfile::TempDir, std::path::PathBuf)> {
    let fleet = DockerFleet::start(&vec!["v2"; n])?;
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    Some((fleet, home, mirror))
}

/// One simulated host of `era` named `label` in an inventory of its own: the fleet, HOME,
/// the mirror and the inventory's path.
struct OneHost {
    fleet: DockerFleet,
    home: tempfile::TempDir,
    mirror: std::path::PathBuf,
    inv: std::path::PathBuf,
}

impl OneHost {
    fn new(era: &str, label: &str) -> Option<OneHost> {
        let (fleet, home, mirror) = sim_fleet(1)?;
        fleet.host(0).install(&["--era", era]);
        let inv = support::docker_inventory(&fleet, [(fleet.host(0), label)]);
        let inv = write(home.path(), "inv.yml", &inv);
        Some(OneHost {
            fleet,
            home,
            mirror,
            inv,
        })
    }

    fn host(&self) -> &DockerHost {
        self.fleet.host(0)
    }

    fn upgrade(&self, flags: &[&str]) -> support::cli::Run {
        upgrade(&self.home, &self.inv, &self.fleet, &self.mirror, flags)
    }

    fn detect(&self, label: &str) -> serde_json::Value {
        detect_json(&self.home, &self.inv, &self.fleet).host_json(label)["detected"].clone()
    }
}

/// The `UPGRADE RESULT` row of `label` ("" when there is none).
fn row(run: &support::cli::Run, label: &str) -> String {
    result_rows(&run.stdout)
        .into_iter()
        .find(|l| l.starts_with(&format!("{label} ")))
        .unwrap_or_default()
        .to_owned()
}

/// What the `UPGRADE RESULT` table says of `label` (panics when it has no row).
fn result(run: &support::cli::Run, label: &str) -> String {
    result_rows(&run.stdout)
        .into_iter()
        .find(|l| l.starts_with(&format!("{label} ")))
        .map(|l| l[label.len()..].trim().to_owned())
        .unwrap_or_else(|| panic!("no result for {label}:\n{}", run.stdout))
}

/// Asserts what `detect` (`after`) says of a server upgraded to the target: 2.3.0, answering
/// its services agent's credentials.
fn assert_serves_2_3(label: &str, after: &serde_json::Value) {
    assert_eq!(
        after["version"].as_str().map(|v| v.starts_with("2.3.0")),
        Some(true),
        "{label}: {after}"
    );
    assert_eq!(
        after["version_probe"], "server-info-authenticated",
        "{label}: {after}"
    );
}

/// The lines of the `UPGRADE RESULT` table (its title first).
fn result_rows(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.contains("UPGRADE RESULT"))
        .collect()
}

/// `clearfleet detect --output json` on the inventory.
fn detect_json(home: &tempfile::TempDir, inv: &Path, fleet: &DockerFleet) -> support::cli::Run {
    clearfleet(home.path())
        .args(["detect", "--output", "json"])
        .fleet(inv, fleet.known_hosts_path())
        .run()
}

/// Every file under `dir` with its bytes, for byte-identical comparisons.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    support::report::walk(dir)
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(dir)
                .map(|r| r.display().to_string())
                .unwrap_or_default();
            (rel, std::fs::read(&p).unwrap_or_default())
        })
        .collect()
}

#[test]
fn upgrades_rolls_back_and_leaves_up_to_date_hosts_alone() {
    let Some((fleet, home, mirror)) = sim_fleet(3) else {
        return;
    };
    let labels = ["clearml-1.12", "broken-2.0", "current-2.3"];
    fleet.install(&[
        vec![
            "--era",
            "1.12",
            "--agent-key",
            "AK1",
            "--agent-secret",
            "agent-secret-112",
        ],
        vec!["--era", "2.0"],
        vec!["--era", "2.3"],
    ]);
    let inv = support::docker_inventory(&fleet, fleet.hosts().iter().zip(labels));
    // The 2.3 server image fails to start on this host: its upgrade must roll back.
    fleet
        .host(1)
        .inject(&["--broken-tag", "clearml/server:2.3.0"]);
    let inv = write(home.path(), "inv.yml", &inv);
    let data_before = snapshot(&fleet.host(1).dir().join("opt/clearml/data"));
    let run = upgrade(&home, &inv, &fleet, &mirror, &["--wait", "20", "-vv"]);
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "one host rolled back: {run:?}");
    assert_eq!(result(&run, "clearml-1.12"), "upgraded 1.12.1 → 2.3.0");
    assert_eq!(
        result(&run, "broken-2.0"),
        "rolled back to 2.0.0: Wait for the apiserver: the apiserver did not answer /debug.ping in time"
    );
    assert_eq!(result(&run, "current-2.3"), "up to date (2.3.0)");
    let data_after = snapshot(&fleet.host(1).dir().join("opt/clearml/data"));
    assert_eq!(
        data_before, data_after,
        "rolled-back data is byte-identical"
    );

    // The report is on by default, under reports/<UTC time>/ of the current directory.
    let reports: Vec<_> = std::fs::read_dir(home.path().join("reports"))
        .unwrap_or_else(|e| panic!("no reports/: {e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("summary.json: {e}"));
    let host = |name: &str| {
        summary["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["host"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {summary}"))
    };
    let upgraded = host("clearml-1.12");
    assert_eq!(upgraded["status"], "ok", "{upgraded}");
    // The detected version, build number included.
    assert_eq!(upgraded["version_before"], "1.12.1-400", "{upgraded}");
    assert_eq!(upgraded["version_after"], "2.3.0", "{upgraded}");
    assert_eq!(
        upgraded["hops_done"].as_array().and_then(|h| h.last()),
        Some(&serde_json::json!("2.3.0")),
        "{upgraded}"
    );
    let rolled = host("broken-2.0");
    assert_eq!(rolled["status"], "failed", "{rolled}");
    assert_eq!(
        rolled["version_after"], rolled["version_before"],
        "{rolled}"
    );
    assert!(
        rolled["failure"]
            .as_str()
            .is_some_and(|f| f.starts_with("rolled back to 2.0.0")),
        "{rolled}"
    );
    let current = host("current-2.3");
    assert_eq!(
        current["version_after"], current["version_before"],
        "{current}"
    );
    let page = std::fs::read_to_string(report.join("hosts/clearml-1.12.md")).unwrap_or_default();
    for part in [
        "## Steps",
        "## Detected state",
        "## Plan",
        "- version: 1.12.1-400 → 2.3.0",
    ] {
        assert!(page.contains(part), "{part} missing:\n{page}");
    }
    support::secrets::assert_nowhere(&["agent-secret-112"], &run, &[report.as_path()]);
    support::report::check_junit(&report.join("junit.xml"), 3, 1, 0);

    // The second run changes nothing.
    let again = upgrade(
        &home,
        &inv,
        &fleet,
        &mirror,
        &["--wait", "30", "--limit", "clearml-1.12,current-2.3"],
    );
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains("clearml-1.12  up to date (2.3.0)"),
        "{}",
        again.stdout
    );
}

#[test]
fn every_era_in_one_parallel_run() {
    let eras = [
        "0.14", "0.15", "0.16", "1.1", "1.5", "1.12", "1.16", "1.17", "2.0", "2.2", "2.3",
    ];
    let compose = vec!["v2"; eras.len()];
    let Some(fleet) = DockerFleet::start(&compose) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let mut inv = fleet.inventory_head();
    let creds: Vec<(String, String)> = eras
        .iter()
        .map(|era| {
            (
                format!("AK{}", era.replace('.', "")),
                format!("agent-secret-{}", era.replace('.', "")),
            )
        })
        .collect();
    let mut inits = Vec::new();
    for (host, (era, (key, secret))) in fleet.hosts().iter().zip(eras.iter().zip(&creds)) {
        let mut init = vec!["--era", era, "--agent-key", key, "--agent-secret", secret];
        if *era == "0.14" {
            init.extend([
                "--host-ip",
                "10.0.0.14",
                "--git-user",
                "bot",
                "--git-pass",
                "git-secret-014",
            ]);
        }
        inits.push(init);
        inv.push_str(&host.inventory_entry(&format!("era-{era}")));
    }
    fleet.install(&inits);
    inv.push_str("    down:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n");
    let inv = write(home.path(), "inv.yml", &inv);
    let detect = |label: &str| {
        clearfleet(home.path())
            .args(["detect", "--output", "json", "--connect-retries", "0"])
            .fleet(&inv, fleet.known_hosts_path())
            .run()
            .host_json(label)["detected"]
            .clone()
    };
    let uid_before: Vec<serde_json::Value> = eras
        .iter()
        .map(|e| detect(&format!("era-{e}"))["uid"].clone())
        .collect();
    let files_before: Vec<_> = fleet
        .hosts()
        .iter()
        .zip(eras)
        .map(|(h, e)| {
            let root = if e.starts_with("0.1") && e != "0.17" {
                "opt/trains"
            } else {
                "opt/clearml"
            };
            snapshot(&h.dir().join(root).join("data/fileserver"))
        })
        .collect();

    let run = upgrade(
        &home,
        &inv,
        &fleet,
        &mirror,
        &[
            "--wait",
            "30",
            "--connect-retries",
            "0",
            "-vv",
            "--report-dir",
            "rep",
        ],
    );
    eprintln!(
        "{}",
        result_rows(&run.stdout)
            .into_iter()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Refused is not failed: the Trains ≤ 0.15 hosts are left alone with their reason, and the
    // one unreachable host decides the exit code (3), not the refusals (5) or a failure (2).
    assert_eq!(
        run.code, 3,
        "Trains ≤ 0.15 hosts are refused, one host is unreachable: {}",
        run.stderr
    );
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(home.path().join("rep/summary.json")).expect("summary.json"),
    )
    .expect("summary.json parses");
    assert_eq!(summary["totals"]["refused"], 2, "{summary}");
    assert_eq!(summary["totals"]["failed"], 0, "{summary}");
    for h in summary["hosts"].as_array().into_iter().flatten() {
        if matches!(h["host"].as_str(), Some("era-0.14" | "era-0.15")) {
            assert_eq!(h["status"], "refused", "{h}");
        }
    }
    support::secrets::assert_nowhere(
        &["agent-secret-116", "agent-secret-23", "git-secret-014"],
        &run,
        &[home.path().join("rep").as_path()],
    );
    for era in ["0.14", "0.15"] {
        assert!(
            result(&run, &format!("era-{era}")).starts_with("refused: Host runs Trains Server ≤0.15 (Elasticsearch 5 data at /opt/trains/data/elastic)"),
            "{}",
            result(&run, &format!("era-{era}"))
        );
    }
    assert_eq!(result(&run, "down"), "unreachable");
    assert_eq!(result(&run, "era-2.3"), "up to date (2.3.0)");
    for (i, era) in eras.iter().enumerate().skip(2).take(8) {
        let label = format!("era-{era}");
        let r = result(&run, &label);
        assert!(
            r.starts_with("upgraded ") && r.ends_with(" → 2.3.0"),
            "{label}: {r}"
        );
        // The same server, its data files, and working services-agent credentials: 2.3 answers
        // server.info only to them.
        let after = detect(&label);
        assert_serves_2_3(&label, &after);
        assert_eq!(after["uid"], uid_before[i], "{label}: uid changed");
        assert_eq!(after["root"], "/opt/clearml", "{label}");
        let agent = after["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == "clearml-agent-services")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            agent["status"], "running",
            "{label}: agent-services {agent}"
        );
        let files = snapshot(&fleet.hosts()[i].dir().join("opt/clearml/data/fileserver"));
        assert_eq!(files, files_before[i], "{label}: fileserver data changed");
    }

    // A second run changes nothing.
    let again = upgrade(
        &home,
        &inv,
        &fleet,
        &mirror,
        &["--wait", "30", "--connect-retries", "0"],
    );
    for era in &eras[2..] {
        assert!(
            again.stdout.contains(&format!("era-{era}  ")),
            "{}",
            again.stdout
        );
        let line = result_rows(&again.stdout)
            .into_iter()
            .find(|l| l.starts_with(&format!("era-{era} ")))
            .unwrap_or_default()
            .to_owned();
        assert!(line.ends_with("up to date (2.3.0)"), "{line}");
    }
}

#[test]
fn a_spent_failure_budget_stops_the_rollout() {
    let Some((fleet, home, mirror)) = sim_fleet(3) else {
        return;
    };
    fleet.install(&vec![vec!["--era", "2.0"]; 3]);
    let names = fleet
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| (h, format!("s{i}")));
    let inv = support::docker_inventory(&fleet, names);
    fleet.hosts()[0].inject(&["--broken-tag", "clearml/server:2.3.0"]);
    let inv = write(home.path(), "inv.yml", &inv);
    let run = upgrade(
        &home,
        &inv,
        &fleet,
        &mirror,
        &[
            "--wait",
            "20",
            "--serial",
            "1",
            "--max-fail-percentage",
            "0",
        ],
    );
    assert_eq!(run.code, 2, "{run:?}");
    let table = result_rows(&run.stdout);
    assert!(
        table
            .iter()
            .any(|l| l.starts_with("s0  rolled back to 2.0.0")),
        "{table:?}"
    );
    for h in ["s1", "s2"] {
        assert!(
            table.iter().any(|l| l.starts_with(&format!(
                "{h}  not attempted: an earlier batch spent the failure budget"
            ))),
            "{table:?}"
        );
    }
    // The hosts not attempted still run 2.0 and were never stopped.
    let detect = detect_json(&home, &inv, &fleet);
    for h in ["s1", "s2"] {
        let d = &detect.host_json(h)["detected"];
        assert_eq!(
            d["version"].as_str().map(|v| v.starts_with("2.0.0")),
            Some(true),
            "{d}"
        );
    }
}

#[test]
fn trap_b_mongo_6_left_at_fcv_5_is_raised_before_the_mongo_7_hop() {
    let Some((fleet, home, mirror)) = sim_fleet(1) else {
        return;
    };
    let host = &fleet.hosts()[0];
    host.install(&["--era", "2.2"]);
    let inv = write(
        home.path(),
        "inv.yml",
        &format!(
            "{}{}",
            fleet.inventory_head(),
            host.inventory_entry("trap-b")
        ),
    );
    let cli = |args: &[&str]| {
        clearfleet(home.path())
            .args(args)
            .fleet(&inv, fleet.known_hosts_path())
            .run()
    };
    // A 2.2 server on MongoDB 6 whose data was left at FCV 5.0 (Trap B: 2.2's compose file pins
    // MongoDB 6.0.19, but 2.2 raises the FCV only on MongoDB 7: docs/upstream.md Summary
    // fact 8 and §6.1).
    let lowered = clearfleet(home.path())
        .arg("exec")
        .fleet(&inv, fleet.known_hosts_path())
        .args([
            "--",
            "docker exec clearml-mongo mongosh --quiet --eval 'db.adminCommand({setFeatureCompatibilityVersion:\"5.0\"})'",
        ])
        .run();
    assert_eq!(lowered.code, 0, "{lowered:?}");
    let plan = cli(&["plan"]);
    assert!(
        plan.stdout
            .contains("trap-b  2.2.0 → [set MongoDB FCV 6.0] → 2.3.0"),
        "{}",
        plan.stdout
    );
    let run = cli(&[
        "upgrade",
        "--wait",
        "30",
        "--compose-mirror",
        &mirror.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("trap-b  upgraded 2.2.0 → 2.3.0"),
        "{}",
        run.stdout
    );
    let after = cli(&["detect", "--output", "json"]);
    assert_eq!(after.host_json("trap-b")["detected"]["mongo_fcv"], "7.0");
}

#[test]
fn check_runs_the_preflight_for_real_and_changes_nothing() {
    let Some((fleet, home, mirror)) = sim_fleet(9) else {
        return;
    };
    // c5 also needs a port that a process outside docker listens on (a real listener in the
    // host's network namespace).
    let held = 18999;
    let mut inv = fleet.inventory_head();
    // c3's server is down (stopped by its admin), so a site's own container got 8080.
    // c6 runs MongoDB 3.6 (1.1), so its upgrade starts with the 3.6 → 4.4 migration.
    // c7's server is down and ClearML Serving, installed beside it, publishes 8080
    // (clearml/clearml-serving c0ee96e, docker/docker-compose.yml).
    let mut inits = vec![vec!["--era", "1.16"]; 9];
    inits[3] = vec!["--era", "1.16", "--stopped"];
    inits[6] = vec!["--era", "1.1"];
    inits[7] = vec!["--era", "2.0", "--stopped", "--serving", "8080"];
    fleet.install(&inits);
    fleet.host(5).sh(&format!(
        "setsid python3 -m http.server {held} --bind 0.0.0.0 >/dev/null 2>&1 </dev/null &"
    ));
    for (i, host) in fleet.hosts().iter().enumerate() {
        inv.push_str(&host.inventory_entry(&format!("c{i}")));
        if i == 5 {
            inv.push_str(&format!(
                "      clearml_ports: [8008, 8080, 8081, {held}]\n"
            ));
        }
    }
    let h = fleet.hosts();
    // What the preflight must catch before anything stops: a kernel setting Elasticsearch
    // cannot live with, too little memory, a port taken by another container, and a CPU
    // without AVX for MongoDB 5+. c0 passes although its running server holds all three ports.
    h[1].inject(&["--max-map-count", "65530"]);
    h[2].inject(&["--memory-mb", "4096"]);
    h[3].sh("docker run -d --name portal -p 8080:80 nginx").ok();
    h[4].inject(&["--avx", "off"]);
    // c8: its data belongs to root (copied in by root, say), where Elasticsearch cannot write.
    h[8].inject(&["--chown-data", "0"]);
    // c6: its data on a small file system of its own (a real tmpfs in the host's namespace),
    // 20 MB of MongoDB data and less than 3× that free: the documented migration needs 3×.
    // The backup goes elsewhere (/opt), where there is room.
    h[6].sh("set -e; cp -a /opt/clearml/data /opt/.cf-data-copy; \
         mount -t tmpfs -o size=48m cf-data /opt/clearml/data; \
         cp -a /opt/.cf-data-copy/. /opt/clearml/data/; rm -rf /opt/.cf-data-copy; \
         head -c 20000000 /dev/zero > /opt/clearml/data/mongo/db/filler; \
         chown -R 1000:1000 /opt/clearml/data")
        .ok();
    let inv = write(home.path(), "inv.yml", &inv);
    let before: Vec<_> = fleet
        .hosts()
        .iter()
        .map(|h| snapshot(&h.dir().join("opt")))
        .collect();
    let run = upgrade(&home, &inv, &fleet, &mirror, &["--check"]);
    let table = result_rows(&run.stdout);
    assert!(
        table.iter().any(|l| l.starts_with(
            "c0  would upgrade 1.16.2 → 1.17.1 → 2.0.0 → 2.3.0 (preflight passed; check: nothing changed)"
        )),
        "{}",
        run.stdout
    );
    assert!(
        table.iter().any(
            |l| l.starts_with("c1  not changed: vm.max_map_count is at least 524288")
                && l.contains("vm.max_map_count is 65530")
        ),
        "{table:?}"
    );
    let row = |host: &str| {
        table
            .iter()
            .find(|l| l.starts_with(&format!("{host}  ")))
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    assert!(
        row("c2").contains("not changed: Enough memory for ClearML Server (8 GB)")
            && row("c2").contains("not enough memory: 4096 MiB"),
        "{table:?}"
    );
    assert!(
        row("c3").contains("port 8080 is held by container portal, not by this ClearML server"),
        "{table:?}"
    );
    assert!(
        row("c4").contains("not changed: The CPU has AVX (MongoDB 5 and later)"),
        "{table:?}"
    );
    assert!(
        row("c5").contains(&format!(
            "port {held} is in use by a process outside docker"
        )),
        "{table:?}"
    );
    assert!(
        row("c6").contains(
            "not changed: Enough disk for the MongoDB 4.4 migration (3× the MongoDB data)"
        ) && row("c6").contains("ClearML's docs ask for at least 3× the data"),
        "{table:?}"
    );
    assert!(
        row("c7").contains(
            "port 8080 is held by container clearml-serving-inference, not by this ClearML server"
        ),
        "{table:?}"
    );
    // The owner found, where, and the exact command that fixes it.
    assert!(
        row("c8").contains(
            "not changed: The data belongs to uid 1000 (Elasticsearch and MongoDB run as 1000): \
             /opt/clearml/data belongs to uid 0, not 1000 (Elasticsearch and MongoDB run as uid \
             1000): run `chown -R 1000:1000 /opt/clearml/data`"
        ),
        "{table:?}"
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        !run.stdout.contains("TASK [Stop the server]"),
        "{}",
        run.stdout
    );
    for (h, b) in fleet.hosts().iter().zip(before) {
        assert_eq!(
            snapshot(&h.dir().join("opt")),
            b,
            "check mode changed {}",
            h.address()
        );
    }
}

/// The Elasticsearch migration kit the tests serve from their mirror: a zip holding an
/// `elastic_upgrade.py` that migrates through the host's real docker as upstream's does
/// (clearml-docs docs/deploying_clearml/clearml_server_es7_migration.md: same arguments and
/// defaults, an ES 5.6.16 and an ES 7.6.2 container, every index reindexed, the source renamed
/// `<source>_migrated_<time>`, `upgrade_to_7_<time>.log` beside the script, "Upgrade
/// completed."). Upstream's script is in no repository we have; the stand-in Elasticsearch
/// answers the reindex from remote that this one asks of the ES 7 node.
fn write_es_migration_kit(mirror: &Path) {
    const SCRIPT: &str = r##""""Trains Server 0.16's Elasticsearch 5 -> 7 migration, `elastic_upgrade.py` of
trains-server-0.16.0-migration.zip, as the tests' compose mirror serves it.

Upstream's script is in no repository we have; this one does what clearml-docs
docs/deploying_clearml/clearml_server_es7_migration.md says it does, through the host's real
docker CLI: it "launches a pair of Elasticsearch 5 and Elasticsearch 7 migration containers",
"copies the Elasticsearch indices using the migration containers", "terminates the migration
containers" and "renames the original data directory". How the pair copies (the ES 7 node
reindexes every index from the ES 5 node, which its reindex.remote.whitelist names; its data
owned by uid 1000) is that of allegroai/clearml-server-k8s 9a768227 upgrade-elastic/base/
(elasticsearch-deployment.yaml, elasticsearch7-deployment.yaml: 7.6.2, `chown -R 1000:1000` of
the data, `reindex.remote.whitelist: elasticsearch-service:9200`; upgrade.yaml).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

# The images of upgrade-elastic/base/elasticsearch{,7}-deployment.yaml.
ES5 = "docker.elastic.co/elasticsearch/elasticsearch:5.6.16"
ES7 = "docker.elastic.co/elasticsearch/elasticsearch:7.6.2"
DATA = "/usr/share/elasticsearch/data"
ES5_NAME, ES7_NAME = "trains-es5-migration", "trains-es7-migration"
NETWORK = "trains-es-migration"
STAMP = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d_%H%M%S")
# The docs: "All console output during the execution of the migration script is saved to a
# log file in the directory where the migration script executes:
# <path_to_script>/upgrade_to_7_<date_time>.log".
HERE = os.path.dirname(os.path.abspath(__file__))
LOG = open(os.path.join(HERE, "upgrade_to_7_%s.log" % STAMP), "w")


class Failed(Exception):
    """The migration cannot go on: the message is printed and the script exits 1."""


def say(line, stream=sys.stdout):
    """A line to the console and the log."""
    print(line, file=stream, flush=True)
    LOG.write(line + "\n")
    LOG.flush()


def docker(*args):
    """`docker ARGS` as it ran (returncode, stdout, stderr)."""
    return subprocess.run(("docker",) + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


def must(*args):
    """The output of `docker ARGS`, which must succeed."""
    r = docker(*args)
    if r.returncode != 0:
        raise Failed("docker %s: %s" % (args[0], (r.stderr or r.stdout).strip()))
    return r.stdout


def pull(image):
    """`docker pull IMAGE` unless the host has it (the old server left its ES 5 image)."""
    if docker("image", "inspect", image).returncode == 0:
        return
    say("Pulling %s" % image)
    r = docker("pull", image)
    if r.returncode != 0:
        raise Failed("Failed pulling %s: %s" % (image, (r.stderr or r.stdout).strip()))


def in_use(paths):
    """The name of a running container that mounts one of `paths`, if any."""
    ids = must("ps", "-q").split()
    for c in json.loads(must("inspect", *ids)) if ids else []:
        if any(os.path.realpath(m.get("Source", "")) in paths for m in c.get("Mounts") or []):
            return c["Name"].lstrip("/")
    return None


def size_of(path):
    return sum(os.lstat(os.path.join(d, f)).st_size for d, _, fs in os.walk(path) for f in fs)


def free_bytes(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    s = os.statvfs(path)
    return s.f_bavail * s.f_frsize


def check(source, target):
    """What the docs ask before the migration: the server down, room for the copy."""
    busy = in_use({os.path.realpath(source), os.path.realpath(target)})
    if busy:
        raise Failed("Error: %s is in use by the running container %s (stop the server first)"
                     % (source, busy))
    # Elasticsearch 5 to 7 keep their data under nodes/ (8 leaves it a file).
    if not os.path.isdir(os.path.join(source, "nodes")):
        raise Failed("Error: %s does not contain Elasticsearch 5 data" % source)
    if os.path.isdir(target) and os.listdir(target):
        raise Failed("Error: target folder %s is not empty" % target)
    # "Minimum free disk space of at least 30% plus two times the size of the data."
    need, free = size_of(source) * 23 // 10, free_bytes(target)
    if free < need:
        raise Failed("Error: not enough free disk space: %d MB free, %d MB needed"
                      % (free >> 20, (need >> 20) + 1))


def call(url, body=None):
    """One request to a migration node; its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        raise Failed("Error: %s answered %d: %s" % (url, e.code, e.read().decode(errors="replace")))


def start(name, image, data, env):
    """`docker run -d` of one migration node with `data` as its data path; its URL."""
    args = ["run", "-d", "--name", name, "--network", NETWORK, "-v", "%s:%s" % (data, DATA)]
    for e in env:
        args += ["-e", e]
    must(*(args + [image]))
    ip = must("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
    return "http://%s:9200" % ip.strip()


def wait_up(name, url, limit=180):
    """Until the node answers; its logs when it exits or never answers."""
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            return call(url + "/")
        except (OSError, ValueError, Failed):
            pass
        if must("inspect", "-f", "{{.State.Running}}", name).strip() != "true":
            break
        time.sleep(1)
    logs = docker("logs", "--tail", "20", name)
    raise Failed("Error: %s did not start: %s" % (name, (logs.stdout + logs.stderr).strip()))


def indices(url):
    """Index name -> documents of a node (`_cat/indices`)."""
    return {i["index"]: int(i["docs.count"]) for i in call(url + "/_cat/indices?format=json")}


def reindex(es7, index):
    """The ES 7 node copies one index from the ES 5 node (reindex from remote)."""
    r = call(es7 + "/_reindex?refresh=true", {
        "source": {"remote": {"host": "http://%s:9200" % ES5_NAME}, "index": index, "size": 1000},
        "dest": {"index": index}})
    if r.get("failures"):
        raise Failed("Error: reindexing %s failed: %s" % (index, json.dumps(r["failures"])))
    say("Reindexed %s: %d documents" % (index, r.get("total", 0)))


def remove_nodes():
    docker("rm", "-f", ES5_NAME, ES7_NAME)
    docker("network", "rm", NETWORK)


def migrate(source, target, parallel):
    """Both nodes up, every index copied and counted, both nodes gone."""
    remove_nodes()
    must("network", "create", NETWORK)
    try:
        # Elasticsearch writes as uid 1000 (upgrade-elastic's set-dir-owner init containers:
        # `chown -R 1000:1000 /usr/share/elasticsearch/data`).
        os.makedirs(target, exist_ok=True)
        os.chown(target, 1000, 1000)
        es5 = start(ES5_NAME, ES5, source, ["cluster.name=trains", "xpack.security.enabled=false",
                                            "discovery.zen.minimum_master_nodes=1"])
        es7 = start(ES7_NAME, ES7, target, ["cluster.name=trains", "xpack.security.enabled=false",
                                            "discovery.type=single-node",
                                            "reindex.remote.whitelist=%s:9200" % ES5_NAME])
        wait_up(ES5_NAME, es5)
        wait_up(ES7_NAME, es7)
        todo = indices(es5)
        # "parallel - Copy several indices in parallel to utilize more CPU cores."
        with concurrent.futures.ThreadPoolExecutor(4 if parallel else 1) as pool:
            list(pool.map(lambda i: reindex(es7, i), sorted(todo)))
        done = indices(es7)
        for index, docs in sorted(todo.items()):
            if done.get(index) != docs:
                raise Failed("Error: %s holds %s documents in Elasticsearch 7, %d in 5"
                             % (index, done.get(index), docs))
    finally:
        remove_nodes()


def main():
    p = argparse.ArgumentParser(prog="elastic_upgrade.py")
    p.add_argument("-s", "--source", default="/opt/trains/data/elastic")
    p.add_argument("-t", "--target", default="/opt/trains/data/elastic_7")
    p.add_argument("-n", "--no-backup", action="store_true")
    p.add_argument("-p", "--parallel", action="store_true")
    a = p.parse_args()
    source, target = a.source.rstrip("/"), a.target.rstrip("/")
    try:
        # "If elevated privileges are used to run Docker ... use elevated privileges to run
        # the migration script."
        must("info")
        for image in (ES5, ES7):
            pull(image)
        check(source, target)
        migrate(source, target, a.parallel)
    except (Failed, OSError) as e:
        say(str(e), sys.stderr)
        return 1
    if not a.no_backup:
        renamed = "%s_migrated_%s" % (source, STAMP)
        say("Renaming the source directory %s to %s." % (source, renamed))
        os.rename(source, renamed)
    say("Upgrade completed.")
    return 0


sys.exit(main())
"##;
    let dir = mirror.join("0.16.0");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n    z.writestr('elastic_upgrade.py', sys.argv[2])\n",
        )
        .arg(dir.join("trains-server-0.16.0-migration.zip"))
        .arg(SCRIPT)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(out.status.success(), "{out:?}");
}

fn es_indices(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(".sim-es.json")).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&text).unwrap_or_default()["indices"].clone()
}

#[test]
fn allow_es_migration_brings_trains_0_14_and_0_15_to_the_latest_or_rolls_back() {
    let Some((fleet, home, mirror)) = sim_fleet(3) else {
        return;
    };
    write_es_migration_kit(&mirror);
    let labels = ["t14", "t15", "t15-bad"];
    let inits: Vec<Vec<&str>> = labels
        .iter()
        .map(|label| {
            let era = if *label == "t14" { "0.14" } else { "0.15" };
            let mut init = vec!["--era", era, "--agent-key", "AKTRAINS"];
            init.extend(["--agent-secret", "agent-secret-trains"]);
            if era == "0.14" {
                init.extend(["--host-ip", "10.0.0.14", "--git-user", "bot"]);
                init.extend(["--git-pass", "git-secret-014"]);
            }
            init
        })
        .collect();
    fleet.install(&inits);
    let mut inv = fleet.inventory_head();
    for (host, label) in fleet.hosts().iter().zip(labels) {
        inv.push_str(&host.inventory_entry(label));
    }
    // The migration script cannot get the Elasticsearch 7 image on this host (the registry
    // has no such tag): it fails after the backup, so the host must come back as it was.
    fleet.host(2).inject(&[
        "--missing-tag",
        "docker.elastic.co/elasticsearch/elasticsearch:7.6.2",
    ]);
    let inv = write(home.path(), "inv.yml", &inv);
    let es_before: Vec<_> = fleet
        .hosts()
        .iter()
        .map(|h| es_indices(&h.path("/opt/trains/data/elastic")))
        .collect();
    assert!(
        es_before
            .iter()
            .all(|i| i.as_object().is_some_and(|o| !o.is_empty()))
    );
    let data_before = snapshot(&fleet.host(2).path("/opt/trains/data"));
    let files_before: Vec<_> = fleet
        .hosts()
        .iter()
        .map(|h| snapshot(&h.path("/opt/trains/data/fileserver")))
        .collect();

    // Without the flag: refused, as the docs say.
    let plan = clearfleet(home.path())
        .args(["plan", "--allow-es-migration"])
        .fleet(&inv, fleet.known_hosts_path())
        .run();
    assert!(
        plan.stdout
            .contains("[Elasticsearch 5→7 migration] → [mv /opt/trains /opt/clearml]"),
        "{}",
        plan.stdout
    );

    let run = upgrade(
        &home,
        &inv,
        &fleet,
        &mirror,
        &["--allow-es-migration", "--wait", "30"],
    );
    let table = result_rows(&run.stdout);
    eprintln!("{}", table.join("\n"));
    let row = |label: &str| {
        table
            .iter()
            .find(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l[label.len()..].trim().to_owned())
            .unwrap_or_else(|| panic!("no row for {label}: {}", run.stdout))
    };
    assert!(
        row("t14").starts_with("upgraded 0.14.") && row("t14").ends_with(" → 2.3.0"),
        "{table:?}"
    );
    assert!(
        row("t15").starts_with("upgraded 0.15.") && row("t15").ends_with(" → 2.3.0"),
        "{table:?}"
    );
    assert!(
        row("t15-bad").starts_with("rolled back to 0.15.1: Migrate the Elasticsearch 5 data to Elasticsearch 7: Failed pulling"),
        "{table:?}"
    );
    assert_eq!(run.code, 2, "{run:?}");
    for secret in ["agent-secret-trains", "git-secret-014"] {
        assert!(!run.all_output().contains(secret), "{secret} leaked");
    }
    for (i, host) in fleet.hosts().iter().take(2).enumerate() {
        let root = host.path("/opt/clearml");
        // Every index with every document made it to Elasticsearch 8 through 7.
        assert_eq!(es_indices(&root.join("data/elastic_7")), es_before[i]);
        assert_eq!(
            snapshot(&root.join("data/fileserver")),
            files_before[i],
            "{}",
            labels[i]
        );
        let migrated = std::fs::read_dir(root.join("data"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("elastic_migrated_")
            });
        assert!(migrated, "the ES 5 source is kept as elastic_migrated_*");
        // The script's log beside it: every index reindexed, then the rename.
        let kit = root.join(".clearfleet/es7-migration");
        let log = std::fs::read_dir(&kit)
            .into_iter()
            .flatten()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("upgrade_to_7_"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .unwrap_or_else(|| panic!("no upgrade_to_7_*.log in {}", kit.display()));
        for index in es_before[i].as_object().into_iter().flatten() {
            assert!(
                log.contains(&format!("Reindexed {}: {} documents", index.0, index.1)),
                "{log}"
            );
        }
        assert!(log.ends_with("Upgrade completed.\n"), "{log}");
    }
    // The failed host: its Trains root and data byte-identical, the old server answering.
    let bad = fleet.host(2);
    assert_eq!(snapshot(&bad.path("/opt/trains/data")), data_before);
    assert!(!bad.path("/opt/clearml").exists());
    // The migration's own containers and network are gone.
    for host in fleet.hosts() {
        let left = host
            .sh("docker ps -a --format '{{.Names}}'; docker network ls --format '{{.Name}}'")
            .ok()
            .stdout;
        assert!(!left.contains("-migration"), "{left}");
    }
    let after = detect_json(&home, &inv, &fleet);
    assert!(
        after.host_json("t15-bad")["detected"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("0.15.")),
        "{}",
        after.stdout
    );
    assert!(
        after.host_json("t14")["detected"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.3.0")),
        "{}",
        after.stdout
    );
}

#[test]
fn a_failed_backup_restarts_the_old_server_and_touches_no_data() {
    let Some(t) = OneHost::new("1.16", "nobackup") else {
        return;
    };
    let host = t.host();
    // The backup directory is on a private file system mounted read-only: the preflight sees
    // its room, but `mkdir` fails once the server is down.
    host.sh("mkdir -m 700 /opt/ro && mount -t tmpfs -o size=1g,mode=0700,ro cf-ro /opt/ro")
        .ok();
    let before = snapshot(&host.dir().join("opt/clearml"));
    let run = t.upgrade(&["--backup-dir", "/opt/ro", "--wait", "30"]);
    assert!(
        row(&run, "nobackup").contains(
            "restarted 1.16.2 (data untouched, no verified backup): Back up data and config: \
             mkdir: cannot create directory '/opt/ro/nobackup': Read-only file system; \
             cannot make the backup directory /opt/ro/nobackup"
        ),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("backup: /opt"), "{}", run.stdout);
    assert_eq!(run.code, 2, "{run:?}");
    let after = snapshot(&host.dir().join("opt/clearml"));
    let changed: Vec<&String> = after
        .iter()
        .filter(|f| !before.contains(f) && !f.0.starts_with(".clearfleet/"))
        .map(|f| &f.0)
        .collect();
    assert!(changed.is_empty(), "changed: {changed:?}");
    assert_serving_version(&t.detect("nobackup"), "1.16.2");
}

/// The server answers with `version` (any build) and runs.
fn assert_serving_version(d: &serde_json::Value, version: &str) {
    assert_eq!(
        d["version"].as_str().map(|v| v.starts_with(version)),
        Some(true),
        "{d}"
    );
    assert_eq!(d["running"], true, "{d}");
}

#[test]
fn an_earlier_backup_in_the_backup_directory_is_never_overwritten() {
    let Some(t) = OneHost::new("1.16", "kept") else {
        return;
    };
    let earlier = t.host().dir().join("opt/backups/kept");
    std::fs::create_dir_all(&earlier).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(earlier.join("clearml_backup_data.tgz"), "the only copy")
        .unwrap_or_else(|e| panic!("{e}"));
    let run = t.upgrade(&["--backup-dir", "/opt/backups", "--wait", "30"]);
    assert!(
        row(&run, "kept").contains(
            "not changed: The backup directory holds no earlier backup: non-zero return code: \
             /opt/backups/kept already holds a backup (of an earlier run): choose another --backup-dir"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(earlier.join("clearml_backup_data.tgz")).unwrap_or_default(),
        "the only copy"
    );
    assert_serving_version(&t.detect("kept"), "1.16.2");
}

/// The way back broken for real: the 1.17.1 hop's server image exits at start, and as that
/// hop starts, another process deletes the image the server ran before (the one the rollback
/// points its names back at) while the registry's `latest` has become an image that exits at
/// start too.
#[test]
fn a_failed_rollback_is_reported_loudly_with_the_backup() {
    let Some(t) = OneHost::new("1.16", "doomed") else {
        return;
    };
    let host = t.host();
    host.inject(&[
        "--broken-tag",
        "allegroai/clearml:1.17.1-554",
        "--broken-tag",
        "allegroai/clearml:latest",
    ]);
    let ran = host
        .sh("docker inspect -f '{{.Image}}' clearml-apiserver")
        .ok()
        .stdout
        .trim()
        .to_owned();
    host.on_event(
        &["event=start"],
        "'start clearml-apiserver allegroai/clearml:1.17.1'*",
        &format!("docker rmi -f {ran}"),
    );
    let data = host.path("/opt/clearml/data");
    let before = snapshot(&data);
    let run = t.upgrade(&["--wait", "2"]);
    let hooks = host.hooks_log();
    assert!(
        hooks.contains("fired on start clearml-apiserver allegroai/clearml:1.17.1-554")
            && hooks.contains(&format!("Deleted: {ran}")),
        "{hooks}"
    );
    let table = result_rows(&run.stdout);
    assert!(
        table.iter().any(|l| l.starts_with(
            "doomed  ROLLBACK FAILED at The previous version answers: the apiserver did not answer in time (after "
        ) && l.ends_with("restore the backup by hand")),
        "{}",
        run.stdout
    );
    assert!(
        table
            .iter()
            .any(|l| l.trim().starts_with("backup: /opt/clearml-backup-")),
        "{table:?}"
    );
    assert_eq!(run.code, 2, "{run:?}");
    let marker = host.path("/opt/clearml/.clearfleet/upgrade-in-progress");
    assert!(marker.is_file(), "a failed rollback keeps its marker");

    // Once the cause is fixed (the registry's `latest` is the image that ran, and the host has
    // it again), the next run retries the rollback from the same backup (it does not take a
    // new backup of the half-restored data, nor upgrade from it).
    host.inject(&["--clear", "--latest", "allegroai/clearml=1.16.2"]);
    host.sh("docker pull -q allegroai/clearml:latest").ok();
    let plan = clearfleet(t.home.path())
        .arg("plan")
        .fleet(&t.inv, t.fleet.known_hosts_path())
        .run();
    assert!(
        plan.stdout
            .contains("[roll back the upgrade interrupted in its rollback step] → 1.16.2"),
        "{plan:?}"
    );
    let again = t.upgrade(&["--wait", "60"]);
    assert_eq!(
        row(&again, "doomed").trim_end(),
        "doomed  rolled back to 1.16.2: an earlier upgrade to 2.3.0 stopped in its rollback step",
        "{}",
        again.stdout
    );
    assert_eq!(again.code, 2, "{again:?}");
    assert!(!marker.exists(), "a finished rollback removes its marker");
    assert!(snapshot(&data) == before, "the data is not the backup's");
    assert_serving_version(&t.detect("doomed"), "1.16.2");

    // And the run after that upgrades as usual.
    host.inject(&["--clear"]);
    let last = t.upgrade(&["--wait", "60"]);
    assert_eq!(
        row(&last, "doomed").trim_end(),
        "doomed  upgraded 1.16.2 → 2.3.0",
        "{}",
        last.stdout
    );
    assert_eq!(last.code, 0, "{last:?}");
}

/// A site changed its compose file (another web port, a setting of its own): upstream's next
/// file would drop both, so the host is refused with the differences named (exit 5, nothing
/// touched) until the operator says the changes may go; then it upgrades, and the backup
/// keeps the site's file.
#[test]
fn a_compose_file_changed_by_the_site_is_refused_until_its_changes_may_go() {
    let Some(t) = OneHost::new("2.0", "site") else {
        return;
    };
    let file = t.host().dir().join("opt/clearml/docker-compose.yml");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("\"8080:80\""), "{text}");
    let changed = text.replace("\"8080:80\"", "\"18080:80\"");
    std::fs::write(&file, &changed).unwrap_or_else(|e| panic!("{e}"));
    let d = t.detect("site");
    assert_eq!(
        d["compose_drift"],
        serde_json::json!(["webserver ports: host [\"18080:80\"], upstream [\"8080:80\"]"]),
        "{d}"
    );
    assert!(
        d["compose_compared_with"]
            .as_str()
            .is_some_and(|s| s.starts_with("2.0.0 (clearml/clearml-server v2.0.0@")),
        "{d}"
    );
    let run = t.upgrade(&["--wait", "30"]);
    assert_eq!(run.code, 5, "{run:?}");
    assert!(
        row(&run, "site")
            .starts_with("site  refused: the compose file differs from upstream's 2.0.0")
            && row(&run, "site").contains("webserver ports: host [\"18080:80\"]")
            && row(&run, "site").contains("--discard-compose-changes"),
        "{}",
        run.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap_or_default(),
        changed,
        "refused means untouched"
    );
    let run = t.upgrade(&["--wait", "30", "--discard-compose-changes"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        row(&run, "site").starts_with("site  upgraded 2.0.0 → 2.3.0"),
        "{}",
        run.stdout
    );
    let backup = run
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("backup: "))
        .unwrap_or_else(|| panic!("no backup in {}", run.stdout))
        .to_owned();
    let kept = t
        .host()
        .dir()
        .join(backup.trim_start_matches('/'))
        .join("docker-compose.yml");
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap_or_default(),
        changed,
        "the site's file is in the backup"
    );
}

/// The way back runs the images that ran, by ID: here someone pulled `allegroai/clearml:latest`
/// after the 1.16 server started, so that name now means 2.0.0, an image that cannot run on
/// MongoDB 4.4 data. The upgrade fails in its first hop; the rollback points the old name at
/// the recorded image again, and 1.16 comes back (without that, `up` would start 2.0.0 and the
/// way back would fail).
#[test]
fn the_rollback_runs_the_recorded_images_even_after_latest_moved() {
    let Some(t) = OneHost::new("1.16", "moved") else {
        return;
    };
    let host = t.host();
    let id_of = |script: &str| host.sh(script).ok().stdout.trim().to_owned();
    let ran = id_of("docker inspect -f '{{.Image}}' clearml-apiserver");
    host.inject(&["--latest", "allegroai/clearml=2.0.0"]);
    host.sh("docker pull -q allegroai/clearml:latest").ok();
    let latest = id_of("docker image inspect -f '{{.Id}}' allegroai/clearml:latest");
    assert!(
        ran.starts_with("sha256:") && latest.starts_with("sha256:") && ran != latest,
        "{ran} {latest}"
    );
    host.inject(&["--broken-tag", "allegroai/clearml:1.17.1-554"]);
    let run = t.upgrade(&["--wait", "30"]);
    assert!(
        row(&run, "moved").starts_with("moved  rolled back to 1.16."),
        "{}",
        run.stdout
    );
    // The report names the images: the host's page holds what was recorded and re-tagged.
    let index = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report in {}", run.stderr));
    let page = t
        .home
        .path()
        .join(index.trim())
        .with_file_name("hosts")
        .join("moved.md");
    let page = std::fs::read_to_string(&page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    assert!(
        page.contains(&format!("clearml-apiserver allegroai/clearml:latest {ran}")),
        "{page}"
    );
    assert!(
        page.contains(&format!("allegroai/clearml:latest → {ran}")),
        "{page}"
    );
    assert_eq!(
        id_of("docker inspect -f '{{.Image}}' clearml-apiserver"),
        ran
    );
    assert_serving_version(&t.detect("moved"), "1.16.");
}

/// Issue #17's matrix, in one parallel run: compose v1, a custom root, a stopped server,
/// ClearML 0.17.0 (ClearML with a Trains agent), a server with ClearML Serving beside it, a
/// registry whose `latest` is already past the target, and a Trains server that needs the
/// manual Elasticsearch migration. Every upgradable host reaches exactly 2.3.0 with its uid,
/// agent credentials, site `.env` keys and data; Serving is never touched; the Trains host is
/// refused with its reason; a second run changes nothing.
#[test]
fn the_upstream_matrix_in_one_parallel_run() {
    // (label, era, compose flavour, extra init flags)
    let hosts: [(&str, &str, &str, &[&str]); 7] = [
        ("v1-1.12", "1.12", "v1", &[]),
        ("root-1.16", "1.16", "v2", &["--root", "/opt/srv/cml"]),
        ("stopped-2.0", "2.0", "v2", &["--stopped"]),
        ("clearml-0.17", "0.17", "v2", &[]),
        ("serving-2.0", "2.0", "v2", &["--serving", "18080"]),
        ("moved-2.2", "2.2", "v2", &[]),
        ("trains-0.14", "0.14", "v2", &[]),
    ];
    let flavours: Vec<&str> = hosts.iter().map(|h| h.2).collect();
    let Some(fleet) = DockerFleet::start(&flavours) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let mut inv = fleet.inventory_head();
    let root_of = |label: &str| match label {
        "root-1.16" => "opt/srv/cml",
        "trains-0.14" => "opt/trains",
        _ => "opt/clearml",
    };
    let creds: Vec<(String, String)> = hosts
        .iter()
        .map(|(label, ..)| (format!("AK-{label}"), format!("agent-secret-{label}")))
        .collect();
    let inits: Vec<Vec<&str>> = hosts
        .iter()
        .zip(&creds)
        .map(|((_, era, _, extra), (key, secret))| {
            let mut init = vec!["--era", era, "--agent-key", key, "--agent-secret", secret];
            init.extend(extra.iter());
            init
        })
        .collect();
    fleet.install(&inits);
    for (host, (label, ..)) in fleet.hosts().iter().zip(hosts) {
        // A site's own settings beside the agent's: every one must survive the upgrade.
        let env = host.dir().join(root_of(label)).join(".env");
        let mut text = std::fs::read_to_string(&env).unwrap_or_default();
        text.push_str(
            "CLEARML_FILES_HOST=http://files.example:8081\nAWS_ACCESS_KEY_ID=site-aws-key\n",
        );
        std::fs::write(&env, text).unwrap_or_else(|e| panic!("{e}"));
        inv.push_str(&host.inventory_entry(label));
    }
    // `latest` already means 2.4.0: a hop on `latest` would land past the target.
    fleet.hosts()[5].inject(&["--latest", "clearml/server=2.4.0"]);
    let inv = write(home.path(), "inv.yml", &inv);
    let detect =
        |label: &str| detect_json(&home, &inv, &fleet).host_json(label)["detected"].clone();
    let before: Vec<serde_json::Value> = hosts.iter().map(|h| detect(h.0)).collect();
    assert_eq!(before[0]["compose"], "v1", "{}", before[0]);
    let serving = |h: &DockerHost| {
        let mut v: Vec<String> = h
            .sh("docker ps -a --no-trunc --format '{{.Names}} {{.ID}} {{.State}}'")
            .ok()
            .stdout
            .lines()
            .filter(|l| l.starts_with("clearml-serving-"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    let serving_before = serving(&fleet.hosts()[4]);
    assert!(
        serving_before.len() >= 2 && serving_before.iter().all(|l| l.ends_with(" running")),
        "{serving_before:?}"
    );
    let files_before: Vec<_> = fleet
        .hosts()
        .iter()
        .zip(hosts)
        .map(|(h, (label, ..))| snapshot(&h.dir().join(root_of(label)).join("data/fileserver")))
        .collect();

    let run = upgrade(&home, &inv, &fleet, &mirror, &["--wait", "30"]);
    let table = result_rows(&run.stdout);
    eprintln!("{}", table.join("\n"));
    assert_eq!(
        run.code, 5,
        "only the Trains host is not ok (refused): {run:?}"
    );
    assert!(
        row(&run, "trains-0.14")
            .contains("refused: Host runs Trains Server ≤0.15 (Elasticsearch 5 data at /opt/trains/data/elastic)"),
        "{table:?}"
    );
    for (i, (label, ..)) in hosts.iter().enumerate().take(6) {
        let r = row(&run, label);
        assert!(
            r.starts_with(&format!("{label} "))
                && r[label.len()..].trim_start().starts_with("upgraded ")
                && if *label == "v1-1.12" {
                    // 1.12 → 1.17.1 → 2.0.0 → 2.3.0: what compose v1 cost is said.
                    r.ends_with(" → 2.3.0 (compose v1: all containers were removed and created again at each of the 2 hops after the first, data stores included)")
                } else {
                    r.ends_with(" → 2.3.0")
                },
            "{label}: {r}"
        );
        let after = detect(label);
        // Exactly the target (not the 2.4.0 `latest`), answering its agent's credentials.
        assert_serves_2_3(label, &after);
        if before[i]["uid"].is_string() {
            assert_eq!(after["uid"], before[i]["uid"], "{label}: uid changed");
        }
        let root = if *label == "root-1.16" {
            "/opt/srv/cml"
        } else {
            "/opt/clearml"
        };
        assert_eq!(after["root"], root, "{label}");
        assert_eq!(
            after["compose_drift"],
            serde_json::json!([]),
            "{label}: {after}"
        );
        let dir = fleet.hosts()[i].dir().join(root.trim_start_matches('/'));
        assert_eq!(
            snapshot(&dir.join("data/fileserver")),
            files_before[i],
            "{label}: fileserver data changed"
        );
        let env = std::fs::read_to_string(dir.join(".env")).unwrap_or_default();
        for kept in [
            "CLEARML_FILES_HOST=http://files.example:8081",
            "AWS_ACCESS_KEY_ID=site-aws-key",
            &format!("CLEARML_AGENT_ACCESS_KEY='AK-{label}'"),
        ] {
            assert!(
                env.lines().any(|l| l == kept),
                "{label}: {kept} lost:\n{env}"
            );
        }
        // Container-side paths stay upstream's under a custom root.
        let compose = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap_or_default();
        assert!(
            compose.contains("/opt/clearml/config"),
            "{label}: {compose}"
        );
    }
    assert!(
        !fleet.hosts()[3].dir().join("opt/trains").exists(),
        "0.17.0 is ClearML: nothing renamed"
    );
    assert_eq!(
        serving(&fleet.hosts()[4]),
        serving_before,
        "Serving was touched"
    );
    for secret in hosts.iter().map(|h| format!("agent-secret-{}", h.0)) {
        assert!(!run.all_output().contains(&secret), "{secret} leaked");
    }

    // A second run changes nothing.
    let compose_of = |i: usize, label: &str| {
        std::fs::read_to_string(
            fleet.hosts()[i]
                .dir()
                .join(if label == "root-1.16" {
                    "opt/srv/cml"
                } else {
                    "opt/clearml"
                })
                .join("docker-compose.yml"),
        )
        .unwrap_or_default()
    };
    let composes: Vec<String> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| compose_of(i, h.0))
        .collect();
    let again = upgrade(&home, &inv, &fleet, &mirror, &["--wait", "30"]);
    assert_eq!(again.code, 5, "{again:?}");
    for (i, (label, ..)) in hosts.iter().enumerate().take(6) {
        let r = row(&again, label);
        assert_eq!(
            r[label.len().min(r.len())..].trim(),
            "up to date (2.3.0)",
            "{label}: {}",
            again.stdout
        );
        assert_eq!(compose_of(i, label), composes[i], "{label}");
    }
}

/// Trains 0.10 has neither `server.info` nor `debug.ping` (clearml/clearml-server 0.10.0):
/// a rollback to it is checked by what it has (`auth.fixed_users_mode`) and reported as
/// rolled back, not as a failed rollback.
#[test]
fn a_rollback_to_trains_0_10_is_checked_by_what_0_10_has() {
    let Some(t) = OneHost::new("0.10", "t10") else {
        return;
    };
    write_es_migration_kit(&t.mirror);
    let host = t.host();
    // The migration fails after the backup (no Elasticsearch 7 image): the way back runs.
    host.inject(&[
        "--missing-tag",
        "docker.elastic.co/elasticsearch/elasticsearch:7.6.2",
    ]);
    let data_before = snapshot(&host.path("/opt/trains/data"));
    let run = t.upgrade(&["--allow-es-migration", "--wait", "30"]);
    eprintln!("{}", result_rows(&run.stdout).join("\n"));
    assert!(
        row(&run, "t10").starts_with("t10  rolled back to 0.10.")
            && row(&run, "t10")
                .contains(": Migrate the Elasticsearch 5 data to Elasticsearch 7: Failed pulling"),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        snapshot(&host.path("/opt/trains/data")),
        data_before,
        "restored byte for byte"
    );
    let answer = host
        .sh("curl -s http://localhost:8008/auth.fixed_users_mode")
        .stdout;
    assert!(answer.contains("\"result_code\":200"), "{answer}");
}

/// The release data in use is printed, and replaced from a file (flag or environment) after
/// the same validation: a broken file names itself, line and column, exit 4, no host contacted.
#[test]
fn release_data_is_printed_and_replaced_from_a_file() {
    let home = temp_home();
    let shown = clearfleet(home.path()).arg("releases").run();
    assert_eq!(shown.code, 0, "{shown:?}");
    for want in [
        "Release data: built in (playbooks/clearml/releases.yml)",
        "2.3.0    clearml/server:2.3.0",
        "1.2.0            allegroai/clearml                7.16.2         3.6.23",
        "ANNOUNCED 2.4.0: not a target.",
        "source: clearml/clearml-server v2.3.0 docker/docker-compose.yml",
    ] {
        assert!(shown.stdout.contains(want), "{want}\n{}", shown.stdout);
    }
    let builtin = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/playbooks/clearml/releases.yml"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mine = write(
        home.path(),
        "mine.yml",
        &builtin.replace("latest: 2.3.0", "latest: 2.0.0"),
    );
    let json = clearfleet(home.path())
        .args(["releases", "--output", "json"])
        .env("CLEARFLEET_RELEASES", &mine)
        .run();
    assert_eq!(json.code, 0, "{json:?}");
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap_or_default();
    assert_eq!(v["latest"], "2.0.0", "{}", json.stdout);
    let bad = write(home.path(), "bad.yml", "latest: [\n");
    let inv = write(
        home.path(),
        "inv.yml",
        "all:\n  hosts:\n    never:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
    );
    for args in [vec!["releases"], vec!["plan", "-i"], vec!["upgrade", "-i"]] {
        let mut cmd = clearfleet(home.path()).args(&args);
        if args.len() > 1 {
            cmd = cmd.arg(&inv);
        }
        let run = cmd.arg("--releases").arg(&bad).run();
        assert_eq!(run.code, 4, "{args:?}: {run:?}");
        assert!(
            run.stderr
                .contains(&format!("invalid release data in {}: ", bad.display()))
                && run.stderr.contains("line 1 column 9"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.all_output().contains("never"),
            "{args:?}: a host was contacted"
        );
    }
}

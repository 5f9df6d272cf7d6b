//! `clearfleet detect` against real-Docker hosts (tests/support/docker_host.rs): each host's
//! real dockerd, compose and curl answer the probes, one host per era.

use crate::support;

use std::path::Path;
use std::time::Duration;

use clearfleet_base::shell::quote;
use support::cli::{Run, clearfleet, temp_home, write};
use support::docker_host::{DockerFleet, DockerHost};

/// The versions of the machine's compose v2 plugin and compose v1 (scripts/install-docker.sh),
/// which the containers they create carry in their `com.docker.compose.version` label.
const COMPOSE_V2: &str = "2.26.1";
const COMPOSE_V1: &str = "1.29.2";

/// (host label, compose flavour, `clearml-sim init` arguments of the install; `--no-clearml`:
/// nothing is installed)
const HOSTS: &[(&str, &str, &[&str])] = &[
    (
        "trains-0.14",
        "both",
        &[
            "--era",
            "0.14",
            "--host-ip",
            "10.1.2.3",
            "--git-user",
            "bot",
            "--git-pass",
            "gitpw-0.14",
        ],
    ),
    ("trains-0.15", "both", &["--era", "0.15"]),
    ("trains-0.16", "both", &["--era", "0.16"]),
    ("clearml-0.17", "both", &["--era", "0.17"]),
    ("clearml-1.1", "both", &["--era", "1.1"]),
    ("clearml-1.5", "both", &["--era", "1.5"]),
    ("clearml-1.12", "both", &["--era", "1.12"]),
    (
        "clearml-1.16",
        "v2",
        &[
            "--era",
            "1.16",
            "--agent-key",
            "AK116",
            "--agent-secret",
            "agent-secret-116",
        ],
    ),
    ("clearml-1.17", "v2", &["--era", "1.17"]),
    ("clearml-2.0", "v2", &["--era", "2.0"]),
    ("clearml-2.2", "v2", &["--era", "2.2"]),
    (
        "clearml-2.3",
        "v2",
        &[
            "--era",
            "2.3",
            "--agent-key",
            "AK23",
            "--agent-secret",
            "agent-secret-23",
        ],
    ),
    ("stopped-1.16", "v2", &["--era", "1.16", "--stopped"]),
    (
        "custom-root",
        "v2",
        &["--era", "1.12", "--root", "/opt/srv/clearml"],
    ),
    ("v1-only", "v1", &["--era", "1.5"]),
    ("no-clearml", "v2", &["--era", "2.3", "--no-clearml"]),
];

/// `clearfleet detect --output json EXTRA` on the inventory `inv` of `fleet`.
fn detect_json(home: &Path, inv: &Path, fleet: &DockerFleet, extra: &[&str]) -> Run {
    clearfleet(home)
        .args(["detect", "--output", "json"])
        .args(extra)
        .fleet(inv, fleet.known_hosts_path())
        .run()
}

#[test]
fn detects_every_era_in_one_parallel_run() {
    let compose: Vec<&str> = HOSTS.iter().map(|(_, c, _)| *c).collect();
    let Some(fleet) = DockerFleet::start(&compose) else {
        return;
    };
    let home = temp_home();
    let mut inv = fleet.inventory_head();
    for (host, (label, _, _)) in fleet.hosts().iter().zip(HOSTS) {
        inv.push_str(&host.inventory_entry(label));
    }
    // A host without ClearML is a Docker host with nothing installed.
    let installed: Vec<(&DockerHost, Vec<&str>)> = fleet
        .hosts()
        .iter()
        .zip(HOSTS)
        .filter(|(_, (_, _, init))| !init.contains(&"--no-clearml"))
        .map(|(h, (_, _, init))| (h, init.to_vec()))
        .collect();
    install_all(&installed);
    inv.push_str("    unreachable:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n");
    let inv = write(home.path(), "inv.yml", &inv);
    let run = clearfleet(home.path())
        .args(["detect", "--connect-retries", "0"])
        .fleet(&inv, fleet.known_hosts_path())
        .run();
    // Shown with --nocapture: the README's sample comes from here.
    eprintln!("{}", run.stdout);
    assert_eq!(run.code, 3, "one host unreachable, none failed: {run:?}");
    let json = detect_json(home.path(), &inv, &fleet, &["--connect-retries", "0"]);
    assert_eq!(json.code, 3, "{json:?}");
    for secret in ["gitpw-0.14", "agent-secret-116", "agent-secret-23"] {
        assert!(
            !run.all_output().contains(secret),
            "{secret} leaked: {run:?}"
        );
        assert!(
            !json.all_output().contains(secret),
            "{secret} leaked: {json:?}"
        );
    }

    // label, version, probe, ES, Mongo, FCV, Redis, root, compose, verdict
    type Row<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    );
    let expected: &[Row] = &[
        (
            "trains-0.14",
            "0.14",
            "server-info",
            "5.6.16",
            "3.6.5",
            "3.6",
            "5.0",
            "/opt/trains",
            "v2",
            "manual migration required",
        ),
        (
            "trains-0.15",
            "0.15",
            "server-info",
            "5.6.16",
            "3.6.5",
            "3.6",
            "5.0",
            "/opt/trains",
            "v2",
            "manual migration required",
        ),
        (
            "trains-0.16",
            "0.16",
            "server-info",
            "7.6.2",
            "3.6.5",
            "3.6",
            "5.0",
            "/opt/trains",
            "v2",
            "upgrade: MongoDB 4.4 migration + 4 hops",
        ),
        (
            "clearml-0.17",
            "0.17",
            "server-info",
            "7.6.2",
            "3.6.5",
            "3.6",
            "5.0",
            "/opt/clearml",
            "v2",
            "upgrade: MongoDB 4.4 migration + 4 hops",
        ),
        (
            "clearml-1.1",
            "1.1",
            "server-info",
            "7.6.2",
            "3.6.5",
            "3.6",
            "5.0",
            "/opt/clearml",
            "v2",
            "upgrade: MongoDB 4.4 migration + 4 hops",
        ),
        (
            "clearml-1.5",
            "1.5",
            "server-info",
            "7.16.2",
            "4.4.9",
            "4.4",
            "5.0",
            "/opt/clearml",
            "v2",
            "upgrade: 4 hops",
        ),
        (
            "clearml-1.12",
            "1.12",
            "server-info",
            "7.17.7",
            "4.4.9",
            "4.4",
            "5.0",
            "/opt/clearml",
            "v2",
            "upgrade: 3 hops",
        ),
        (
            "clearml-1.16",
            "1.16",
            "server-info",
            "7.17.18",
            "4.4.29",
            "4.4",
            "6.2",
            "/opt/clearml",
            "v2",
            "upgrade: 3 hops",
        ),
        (
            "clearml-1.17",
            "1.17",
            "server-info",
            "8.15.3",
            "5.0.26",
            "5.0",
            "6.2",
            "/opt/clearml",
            "v2",
            "upgrade: 2 hops",
        ),
        (
            "clearml-2.0",
            "2.0",
            "server-info",
            "8.17.0",
            "6.0.19",
            "6.0",
            "7.4.1",
            "/opt/clearml",
            "v2",
            "upgrade: 1 hop",
        ),
        (
            "clearml-2.2",
            "2.2",
            "server-info",
            "8.17.0",
            "6.0.19",
            "6.0",
            "7.4.1",
            "/opt/clearml",
            "v2",
            "upgrade: 1 hop",
        ),
        (
            "clearml-2.3",
            "2.3",
            "server-info-authenticated",
            "8.17.0",
            "7.0.22",
            "7.0",
            "7.4.1",
            "/opt/clearml",
            "v2",
            "up to date",
        ),
        (
            "stopped-1.16",
            "",
            "compose-pins",
            "7.17.18",
            "4.4.29",
            "",
            "6.2",
            "/opt/clearml",
            "v2",
            "upgrade: 3 hops",
        ),
        (
            "custom-root",
            "1.12",
            "server-info",
            "7.17.7",
            "4.4.9",
            "4.4",
            "5.0",
            "/opt/srv/clearml",
            "v2",
            "upgrade: 3 hops",
        ),
        (
            "v1-only",
            "1.5",
            "server-info",
            "7.16.2",
            "4.4.9",
            "4.4",
            "5.0",
            "/opt/clearml",
            "v1",
            "upgrade: 4 hops",
        ),
    ];
    for (label, version, probe, es, mongo, fcv, redis, root, compose, verdict) in expected {
        let host = json.host_json(label);
        let d = &host["detected"];
        assert_eq!(host["status"], "ok", "{label}: {host}");
        let v = d["version"].as_str().unwrap_or("");
        assert!(
            v.starts_with(&format!("{version}.")) || (version.is_empty() && v.is_empty()),
            "{label}: version {v} is not {version}.x"
        );
        assert_eq!(d["version_probe"], *probe, "{label}");
        assert_eq!(d["elasticsearch"], *es, "{label}");
        assert_eq!(d["mongo"], *mongo, "{label}");
        assert_eq!(d["mongo_fcv"].as_str().unwrap_or(""), *fcv, "{label}");
        assert!(
            d["redis"].as_str().is_some_and(|r| r.starts_with(redis)),
            "{label}: {}",
            d["redis"]
        );
        assert_eq!(d["root"], *root, "{label}");
        assert_eq!(
            d["compose_file"],
            format!("{root}/docker-compose.yml"),
            "{label}"
        );
        assert_eq!(d["compose"], *compose, "{label}");
        assert_eq!(d["verdict"], *verdict, "{label}");
        assert_eq!(d["os"], "linux");
        assert_eq!(d["docker_access"], "root");
        let kind = if label.starts_with("trains") {
            "trains"
        } else {
            "clearml"
        };
        assert_eq!(d["kind"], kind, "{label}");
        assert_eq!(d["running"], !label.starts_with("stopped"), "{label}");
        assert_eq!(d["es_migration_required"], *es == "5.6.16", "{label}");
        assert_eq!(d["mongo_migration_required"], *mongo == "3.6.5", "{label}");
        // Every running server answers with its uid (API ≥ 2.8: from Trains 0.15 on).
        let has_uid = d["uid"].is_string();
        assert_eq!(
            has_uid,
            !matches!(*label, "trains-0.14" | "stopped-1.16"),
            "{label}: uid {}",
            d["uid"]
        );
        // The row in the human table says the same.
        let row = run
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("{label} ")))
            .unwrap_or_else(|| panic!("no row for {label}:\n{}", run.stdout));
        assert!(row.ends_with(verdict), "{row}");
        assert!(row.contains(root), "{row}");
    }
    let stopped = &json.host_json("stopped-1.16")["detected"];
    assert_eq!(
        stopped["version_range"],
        serde_json::json!(["1.15.0", "1.16.2"])
    );
    assert!(stopped["containers"].as_array().is_some_and(Vec::is_empty));

    let old = &json.host_json("trains-0.14")["detected"]["agent"];
    assert_eq!(old["host_ip"], "10.1.2.3");
    assert_eq!(old["git_user"], "bot");
    assert_eq!(old["git_pass"], "********");
    for label in ["clearml-1.16", "clearml-2.3"] {
        let agent = &json.host_json(label)["detected"]["agent"];
        assert!(
            agent["access_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("AK")),
            "{agent}"
        );
        assert_eq!(agent["secret_key"], "********");
    }
    let none = json.host_json("no-clearml");
    assert_eq!(none["status"], "ok");
    assert_eq!(none["detected"]["kind"], serde_json::Value::Null);
    assert_eq!(none["detected"]["verdict"], "no ClearML server");
    let down = json.host_json("unreachable");
    assert_eq!(down["status"], "unreachable");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("unreachable ") && l.ends_with(" unreachable"))
    );
    let summary = json.json_lines().pop().unwrap_or_default();
    assert_eq!(summary["ok"], 16);
    assert_eq!(summary["unreachable"], 1);

    let plan = clearfleet(home.path())
        .args(["plan", "--connect-retries", "0"])
        .fleet(&inv, fleet.known_hosts_path())
        .run();
    eprintln!("{}", plan.stdout);
    assert_eq!(plan.code, 3, "{plan:?}");
    let line = |label: &str| {
        // The last line for the host: a failed host's error block comes before the plans.
        plan.stdout
            .lines()
            .rev()
            .find(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l[label.len()..].trim().to_owned())
            .unwrap_or_else(|| panic!("no plan line for {label}:\n{}", plan.stdout))
    };
    assert_eq!(line("clearml-1.12"), "1.12.1 → 1.17.1 → 2.0.0 → 2.3.0");
    assert_eq!(
        line("clearml-1.5"),
        "1.5.0 → 1.16.2 → 1.17.1 → 2.0.0 → 2.3.0"
    );
    assert_eq!(
        line("trains-0.16"),
        "0.16.1 → [mv /opt/trains /opt/clearml] → [MongoDB 3.6→4.4 migration] → 1.16.2 → 1.17.1 → 2.0.0 → 2.3.0"
    );
    assert_eq!(line("clearml-2.3"), "2.3.0 (up to date)");
    assert_eq!(
        line("stopped-1.16"),
        "1.15.0–1.16.2 → [set MongoDB FCV 4.4] → 1.17.1 → 2.0.0 → 2.3.0"
    );
    assert!(line("trains-0.15").starts_with("0.15.1: refused: Host runs Trains Server ≤0.15"));
    assert_eq!(line("no-clearml"), "no ClearML server");
    assert_eq!(line("unreachable"), "unreachable");
    let to_2_0 = clearfleet(home.path())
        .args(["plan", "--target", "2.0.0", "--limit", "clearml-1.12"])
        .fleet(&inv, fleet.known_hosts_path())
        .run();
    assert_eq!(to_2_0.code, 0, "{to_2_0:?}");
    assert!(
        to_2_0
            .stdout
            .contains("clearml-1.12  1.12.1 → 1.17.1 → 2.0.0\n"),
        "{}",
        to_2_0.stdout
    );
    let bad = clearfleet(home.path())
        .args(["plan", "--target", "1.13.0", "-i"])
        .arg(&inv)
        .run();
    assert_eq!(bad.code, 4, "{bad:?}");
    assert!(
        bad.stderr
            .contains("no compose file is known for --target 1.13.0"),
        "{}",
        bad.stderr
    );
}

#[test]
fn tells_how_docker_can_be_used() {
    // One host, four logins: cf-docker is in the `docker` group that owns the host's
    // /run/docker.sock, cf-nopw may `sudo -n` anything, cf-sudo only with its password.
    let Some(fleet) = DockerFleet::start_with_test_users(&["v2"]) else {
        return;
    };
    let host = fleet.host(0);
    host.install(&["--era", "1.16"]);
    let home = temp_home();
    let mut inv = fleet.inventory_head();
    let logins = [
        ("as-root", "root"),
        ("docker-group", "cf-docker"),
        ("passwordless-sudo", "cf-nopw"),
        ("no-access", "cf-sudo"),
    ];
    for (label, user) in logins {
        inv.push_str(&host.inventory_entry(label));
        inv.push_str(&format!("      ansible_user: {user}\n"));
    }
    let inv = write(home.path(), "inv.yml", &inv);
    let run = detect_json(home.path(), &inv, &fleet, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    for (label, access) in [
        ("as-root", "root"),
        ("docker-group", "group"),
        ("passwordless-sudo", "sudo"),
        ("no-access", "denied"),
    ] {
        let d = &run.host_json(label)["detected"];
        assert_eq!(d["docker_access"], access, "{label}: {d}");
        if access == "denied" {
            assert!(
                d["verdict"]
                    .as_str()
                    .is_some_and(|v| v.contains("may not use docker")),
                "{label}: {d}"
            );
        } else {
            assert_eq!(d["verdict"], "upgrade: 3 hops", "{label}: {d}");
            assert_eq!(
                d["mongo_fcv"], "4.4",
                "{label}: probes ran through docker: {d}"
            );
        }
    }
}

#[test]
fn a_trains_server_upgraded_without_the_es_migration_is_flagged() {
    let Some(fleet) = DockerFleet::start(&["v2"]) else {
        return;
    };
    let host = fleet.host(0);
    host.install(&["--era", "0.15"]);
    // Upstream's 0.16 compose file, as the admin downloaded it.
    let compose_016 = host.sim(&["compose-file", "--era", "0.16", "--root", "/opt/trains"]);
    let compose_016 = compose_016.ok().stdout;
    std::fs::write(host.path("opt/trains/docker-compose-0.16.yml"), compose_016)
        .unwrap_or_else(|e| panic!("{e}"));
    let home = temp_home();
    let inv = support::docker_inventory(&fleet, [(host, "skipped-migration")]);
    let inv = write(home.path(), "inv.yml", &inv);
    // What an admin does who follows only the compose part of the docs: 0.16 on ES 5 data.
    let hop = clearfleet(home.path())
        .arg("exec")
        .fleet(&inv, fleet.known_hosts_path())
        .args([
            "--",
            "cd /opt/trains && docker compose down && mv docker-compose-0.16.yml docker-compose.yml && mkdir -p data/elastic_7 && chown -R 1000:1000 data && docker compose pull && docker compose up -d",
        ])
        .run();
    assert_eq!(hop.code, 0, "{hop:?}");
    host.wait_for_apiserver(Duration::from_secs(90));
    let run = detect_json(home.path(), &inv, &fleet, &["--report-dir", "rep"]);
    let d = &run.host_json("skipped-migration")["detected"];
    assert_eq!(
        d["version"].as_str().map(|v| v.starts_with("0.16.")),
        Some(true),
        "{d}"
    );
    assert_eq!(
        d["server_errors"],
        serde_json::json!(["missed_es_upgrade"]),
        "{d}"
    );
    assert_eq!(d["es_migration_required"], true);
    assert_eq!(d["verdict"], "manual migration required");

    // The report holds the detected state and the plan, and the same JSON stream.
    let rep = home.path().join("rep");
    let read = |p: &str| std::fs::read_to_string(rep.join(p)).unwrap_or_default();
    assert_eq!(read("events.jsonl"), run.stdout);
    let page = read("hosts/skipped-migration.md");
    for part in [
        "- version: 0.16.",
        "- verdict: manual migration required",
        "## Detected state",
        "\"missed_es_upgrade\"",
        "## Plan",
    ] {
        assert!(page.contains(part), "{part} missing:\n{page}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&read("summary.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summary["command"], "detect", "{summary}");
    assert_eq!(
        summary["hosts"][0]["version_before"]
            .as_str()
            .map(|v| v.starts_with("0.16.")),
        Some(true),
        "{summary}"
    );
}

/// The compose that created the server's containers (their `com.docker.compose.version` label)
/// is the one detected when the host has both; a v2 plugin installed only under root's
/// `~/.docker/cli-plugins` (the session's HOME is another directory) is found there; and when
/// neither mongosh nor mongo can run in a running MongoDB container, the note says so.
#[test]
fn compose_of_the_containers_plugin_under_root_and_mongo_shell_errors() {
    let Some(fleet) = DockerFleet::start(&["both", "both", "v1", "v2"]) else {
        return;
    };
    let h = fleet.hosts();
    // Pulled as the install pulls, then created by compose v1 (once more after dockerd 20.10's
    // occasional "error running hook", as DockerHost::compose_up does).
    let v1_up = |host: &DockerHost| {
        host.install(&["--era", "1.16", "--stopped"]);
        let up = "cd /opt/clearml && docker-compose up -d";
        let mut r = host.sh(up);
        if r.code != 0 && r.stderr.contains("error running hook") {
            r = host.sh(up);
        }
        r.ok();
        host.wait_for_apiserver(Duration::from_secs(90));
    };
    // The v2 plugin (from the machine's system directory, hidden in a v1 host) placed only in
    // root's ~/.docker/cli-plugins: a directory of the host's directory mounted on its /root.
    let plugin_in_root_home = |host: &DockerHost| {
        let plugins = host.dir().join("root-home/.docker/cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(
            "/usr/libexec/docker/cli-plugins/docker-compose",
            plugins.join("docker-compose"),
        )
        .unwrap_or_else(|e| panic!("the compose v2 plugin: {e}"));
        host.sh(&format!(
            "mount --bind {} /root",
            quote(&host.dir().join("root-home").display().to_string())
        ))
        .ok();
        host.install(&["--era", "1.16"]);
        // The SSH session's HOME is another directory (sshd_config SetEnv).
        let session = host.dir().join("session-home");
        std::fs::create_dir_all(&session).unwrap_or_else(|e| panic!("{e}"));
        host.set_session_home(&session.display().to_string());
    };
    // A MongoDB container that runs but has neither shell (a site's own image, say): the
    // container's `mongo` removed, so that the daemon answers for a missing executable.
    let no_mongo_shell = |host: &DockerHost| {
        host.install(&["--era", "1.16"]);
        host.sh("docker exec clearml-mongo rm -f /usr/bin/mongo /usr/bin/mongosh")
            .ok();
    };
    std::thread::scope(|s| {
        let jobs = [
            // Created by v2 (the host's compose up uses v2 where it has it), both installed.
            s.spawn(|| h[0].install(&["--era", "1.16"])),
            // Created by v1 on a host that has v2 beside it.
            s.spawn(|| v1_up(&h[1])),
            // Created by v2, whose plugin lives only in root's ~/.docker/cli-plugins.
            s.spawn(|| plugin_in_root_home(&h[2])),
            s.spawn(|| no_mongo_shell(&h[3])),
        ];
        for j in jobs {
            j.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
    let label = |i: usize| {
        h[i].sh(
            r#"docker inspect -f '{{ index .Config.Labels "com.docker.compose.version" }}' clearml-apiserver"#,
        )
        .ok()
        .stdout
    };
    assert_eq!(label(0).trim(), COMPOSE_V2);
    assert_eq!(label(1).trim(), COMPOSE_V1);
    assert_eq!(label(2).trim(), COMPOSE_V2);

    let home = temp_home();
    let labels = [
        "made-by-v2",
        "made-by-v1",
        "v2-in-root-home",
        "no-mongo-shell",
    ];
    let inv = support::docker_inventory(&fleet, h.iter().zip(labels));
    let inv = write(home.path(), "inv.yml", &inv);
    let run = detect_json(home.path(), &inv, &fleet, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let d = |label: &str| run.host_json(label)["detected"].clone();
    let notes = |label: &str| d(label)["notes"].to_string();

    assert_eq!(d("made-by-v2")["compose"], "v2", "{}", d("made-by-v2"));
    assert_eq!(d("made-by-v2")["compose_created_by"], COMPOSE_V2);
    assert_eq!(d("made-by-v1")["compose"], "v1", "{}", d("made-by-v1"));
    assert_eq!(d("made-by-v1")["compose_created_by"], COMPOSE_V1);
    assert!(
        !notes("made-by-v1").contains("compose"),
        "{}",
        notes("made-by-v1")
    );

    let root_home = d("v2-in-root-home");
    assert_eq!(root_home["compose"], "v2", "{root_home}");
    assert_eq!(
        root_home["compose_docker_config"], "/root/.docker",
        "{root_home}"
    );
    // The command the upgrade would use finds the plugin, and the session's own does not.
    let exec = |cmd: &str| {
        clearfleet(home.path())
            .args(["exec", "--limit", "v2-in-root-home"])
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", cmd])
            .run()
    };
    let found = exec(
        "env DOCKER_CONFIG=/root/.docker docker compose -f /opt/clearml/docker-compose.yml ps --services",
    );
    assert_eq!(found.code, 0, "{found:?}");
    assert!(found.stdout.contains("apiserver"), "{}", found.stdout);
    assert_eq!(exec("docker compose version").code, 2);

    // Docker Engine 20.10 says why on the exec's stdout and exits 126.
    let mongo = notes("no-mongo-shell");
    assert!(
        mongo.contains(
            "MongoDB feature compatibility version unknown: neither mongosh nor mongo answered in \
             clearml-mongo: mongosh (exit 126): OCI runtime exec failed: exec failed: unable to \
             start container process: exec: \\\"mongosh\\\": executable file not found in $PATH: \
             unknown; mongo (exit 126): OCI runtime exec failed"
        ),
        "{mongo}"
    );
    assert!(!mongo.contains("mongod not running"), "{mongo}");
}

/// Installs every host at once (see [`DockerHost::install`]).
fn install_all(hosts: &[(&DockerHost, Vec<&str>)]) {
    std::thread::scope(|s| {
        let jobs: Vec<_> = hosts
            .iter()
            .map(|(h, a)| s.spawn(move || h.install(a)))
            .collect();
        for j in jobs {
            j.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
    });
}

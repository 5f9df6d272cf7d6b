//! Upgrade faults on ClearML hosts that are real Docker Engines (tests/support/docker_host.rs)
//! (issue 7, made real in issue 15): a tag missing from the registry, a server image that
//! exits at start, a small disk that another process fills as the server stops, too little
//! disk before the backup, and Ctrl-C twice during a hop. Each asserts what the host runs
//! afterwards, its data (checksums before and after) and what the report says; every run is
//! swept for the secrets it handled.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::cli::{Run, clearfleet, temp_home, write};
use support::docker_host::DockerFleet;
use support::upgrade::{
    assert_serving, checksums, detect, init_args, install, report_dir, result, started_at,
    upgrade_on, write_mirror,
};

#[test]
fn upgrade_faults_leave_each_server_running_with_its_data() {
    let labels = [
        "missing-tag",
        "unhealthy",
        "disk-fills",
        "disk-short",
        "no-daemon",
    ];
    let Some(fleet) = DockerFleet::start(&["v2"; 5]) else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let args: Vec<Vec<String>> = labels.iter().map(|l| init_args("2.0", l)).collect();
    install(&fleet, &args);
    let inv = support::docker_inventory(&fleet, fleet.hosts().iter().zip(labels));
    let inv = write(home.path(), "inv.yml", &inv);
    let h = |i: usize| fleet.host(i);
    // The registry does not have the 2.3 MongoDB image: the pull fails in the preflight.
    h(0).inject(&["--missing-tag", "mongo:7.0.22"]);
    h(0).sh("mkdir -m 700 /opt/backups").ok();
    // The 2.3 server image exits at start: the health check after `up` fails.
    h(1).inject(&["--broken-tag", "clearml/server:2.3.0"]);
    h(1).sh("mkdir -m 700 /opt/backups").ok();
    // Enough disk for the preflight (a 600 MB file system), filled by another process as the
    // server stops, so the backup runs out of space.
    h(2).inject(&["--disk", "/opt/backups=600m"]);
    h(2).inject(&["--fill-disk-on-down", "/opt/backups"]);
    // Too little disk for a backup at all: refused before anything stops.
    h(3).inject(&["--disk", "/opt/backups=64m"]);
    let started_before = [started_at(h(0)), started_at(h(3))];
    let before: Vec<String> = fleet
        .hosts()
        .iter()
        .map(|h| checksums(&h.path("/opt/clearml/data")))
        .collect();
    // The Docker daemon killed: the server's containers keep running under their shims, and
    // answer on their own addresses (localhost's userland proxy died with the daemon), but
    // nothing can be done with docker.
    let apiserver_ip = h(4)
        .sh("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' clearml-apiserver")
        .ok()
        .stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    h(4).inject(&["--kill-dockerd"]);
    assert!(
        started_before.iter().all(|s| s.trim().len() > 10),
        "{started_before:?}"
    );

    let run = upgrade_on(home.path(), &inv, &fleet, &mirror)
        .args(["-vv", "--wait", "3", "--backup-dir", "/opt/backups"])
        .run();
    eprintln!(
        "{}",
        run.stdout
            .lines()
            .skip_while(|l| !l.contains("UPGRADE RESULT"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(run.code, 2, "{}", run.stderr);

    let missing = result(&run, "missing-tag");
    assert_eq!(
        missing,
        "not changed: Pull the 2.3.0 images before anything stops: non-zero return code: \
         Error response from daemon: manifest for mongo:7.0.22 not found: manifest unknown: \
         manifest unknown"
    );
    let unhealthy = result(&run, "unhealthy");
    assert_eq!(
        unhealthy,
        "rolled back to 2.0.0: Wait for the apiserver: the apiserver did not answer /debug.ping in time"
    );
    let fills = result(&run, "disk-fills");
    assert_eq!(
        fills,
        "restarted 2.0.0 (data untouched, no verified backup): Back up data and config: \
         find: 'standard output': No space left on device; find: write error; the manifest of \
         /opt/clearml/data could not be made"
    );
    let short = result(&run, "disk-short");
    assert!(
        short.starts_with("not changed: Enough disk for the backup: not enough disk for backup: "),
        "{short}"
    );
    // The disk was filled by the fault, for real, as the server stopped.
    let hooks = h(2).hooks_log();
    assert!(
        hooks.contains("fired on die clearml-apiserver") && hooks.contains("No space left"),
        "{hooks}"
    );

    let no_daemon = result(&run, "no-daemon");
    assert!(
        no_daemon.starts_with(
            "refused: the Docker daemon does not answer (`docker info`: cannot connect)"
        ),
        "{no_daemon}"
    );

    // Every server runs its old version again (or never stopped), with the same data; the one
    // without a daemon was never touched and still answers.
    let answer = h(4)
        .sh(&format!(
            "curl -s -m 5 http://{apiserver_ip}:8008/server.info"
        ))
        .stdout;
    assert!(answer.contains("\"version\":\"2.0.0\""), "{answer}");
    for (i, label) in labels.iter().enumerate() {
        if i < 4 {
            assert_serving(&detect(home.path(), &inv, &fleet, label), "2.0.0", label);
        }
        assert_eq!(
            checksums(&h(i).path("/opt/clearml/data")),
            before[i],
            "{label}: the data changed"
        );
    }
    // The servers refused in the preflight were never stopped (same start time), and nothing
    // was backed up.
    assert_eq!([started_at(h(0)), started_at(h(3))], started_before);
    for i in [0, 3] {
        let backup = h(i).path(&format!("/opt/backups/{}", labels[i]));
        assert!(!backup.exists(), "{}: {backup:?}", labels[i]);
    }
    let report = report_dir(home.path());
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("summary.json: {e}"));
    for label in labels {
        let host = summary["hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|h| h["host"] == label)
            .cloned()
            .unwrap_or_default();
        let status = if label == "no-daemon" {
            "refused"
        } else {
            "failed"
        };
        assert_eq!(host["status"], status, "{host}");
        assert_eq!(host["version_after"], host["version_before"], "{host}");
    }
    let secrets: Vec<String> = labels
        .iter()
        .flat_map(|l| [format!("agent-secret-{l}"), format!("git-pass-{l}")])
        .collect();
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let files = support::secrets::assert_nowhere(&secrets, &run, &[&report]);
    assert!(files >= 6, "{files} report files");
}

/// Runs `cmd`, sends SIGINT twice (1.5 s, then 0.3 s) once a line starting with `line` is
/// printed, and returns how it ended and its stderr (its output is echoed for the test log).
fn ctrl_c_twice_at(mut cmd: Command, line: &str) -> (std::process::ExitStatus, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let pid = child.id().to_string();
    let sigint = || {
        let ok = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -INT");
    };
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut seen = String::new();
    for l in lines.by_ref() {
        let l = l.unwrap_or_default();
        seen.push_str(&l);
        seen.push('\n');
        if l.starts_with(line) {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            sigint();
            std::thread::sleep(std::time::Duration::from_millis(300));
            sigint();
            break;
        }
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap_or_default()).collect();
    seen.push_str(&rest.join("\n"));
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    eprintln!("{seen}\n{stderr}");
    (status, stderr)
}

/// One simulated host of `era` named `label` whose `broken` image exits at start, in an
/// inventory of its own, with the test's compose mirror.
struct OneBroken {
    fleet: DockerFleet,
    home: tempfile::TempDir,
    mirror: PathBuf,
    inv: PathBuf,
}

impl OneBroken {
    fn new(era: &str, label: &str, broken: &str) -> Option<OneBroken> {
        let fleet = DockerFleet::start(&["v2"])?;
        let home = temp_home();
        let mirror = home.path().join("mirror");
        write_mirror(&mirror);
        install(&fleet, &[init_args(era, label)]);
        fleet.host(0).inject(&["--broken-tag", broken]);
        let inv = support::docker_inventory(&fleet, [(fleet.host(0), label)]);
        let inv = write(home.path(), "inv.yml", &inv);
        Some(OneBroken {
            fleet,
            home,
            mirror,
            inv,
        })
    }

    /// `clearfleet upgrade --wait WAIT --backup-dir BACKUPS FLAGS` on the host.
    fn upgrade(&self, wait: &str, backups: &str, flags: &[&str]) -> support::cli::Clearfleet {
        upgrade_on(self.home.path(), &self.inv, &self.fleet, &self.mirror)
            .args(["--wait", wait, "--backup-dir", backups])
            .args(flags)
    }
}

/// The upgrade stops in its health check (second Ctrl-C); the re-run finishes that hop.
#[test]
fn ctrl_c_twice_during_a_hop_reports_where_keeps_the_backup_and_a_rerun_recovers() {
    // The 2.3 server does not come up: the hop sits in its health check when Ctrl-C comes.
    let Some(t) = OneBroken::new("2.0", "hop", "clearml/server:2.3.0") else {
        return;
    };
    let (fleet, home, inv) = (&t.fleet, &t.home, &t.inv);
    let host = fleet.host(0);
    let data = host.path("/opt/clearml/data");
    let before = checksums(&data);
    let upgrade = |extra: &[&str]| t.upgrade("30", "/opt/backups", extra);
    let (status, stderr) = ctrl_c_twice_at(
        upgrade(&["--report-dir", "first"]).command(),
        "TASK [Wait for the apiserver]",
    );
    assert_eq!(status.code(), Some(130), "{stderr}");
    let backup = host.path("/opt/backups/hop");
    for f in ["clearml_backup_data.tgz", "docker-compose.yml"] {
        assert!(backup.join(f).is_file(), "{f} missing from the backup");
    }
    // Where it stopped: the host's status, the step it was in, and its backup.
    let report = home.path().join("first");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("summary.json: {e}"));
    let h = &summary["hosts"][0];
    assert_eq!(h["status"], "interrupted", "{summary}");
    assert!(
        h["failure"]
            .as_str()
            .is_some_and(|f| f.contains("Wait for the apiserver")),
        "{summary}"
    );
    assert_eq!(h["backup"], "/opt/backups/hop", "{summary}");

    // The backup holds exactly the data the 2.0 server had.
    let unpacked = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let untar = Command::new("tar")
        .arg("xzf")
        .arg(backup.join("clearml_backup_data.tgz"))
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(untar, "tar xzf of the backup");
    assert_eq!(
        checksums(unpacked.path()),
        before,
        "the backup is not the data"
    );

    // The hop left its marker: detection does not trust the half-written 2.3 deployment.
    let marker = host.path("/opt/clearml/.clearfleet/upgrade-in-progress");
    let text = std::fs::read_to_string(&marker).unwrap_or_default();
    let m: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("marker {text}: {e}"));
    assert_eq!(
        (&m["step"], &m["backup"], &m["from"]),
        (
            &"hop:2.3.0".into(),
            &"/opt/backups/hop".into(),
            &"2.0.0".into()
        ),
        "{text}"
    );

    // The fault is gone; the re-run finishes the hop it stopped in, with every check, and
    // keeps the first backup as the way back (no second backup of half-upgraded data).
    host.inject(&["--clear"]);
    let archive = std::fs::read(backup.join("clearml_backup_data.tgz")).unwrap_or_default();
    let again = upgrade(&["--report-dir", "second"]).run();
    let line = result(&again, "hop");
    let now = detect(home.path(), inv, fleet, "hop");
    eprintln!("re-run: {line}\n{now}");
    assert_eq!(
        line, "upgraded 2.0.0 → 2.3.0 (finished an interrupted upgrade)",
        "{}",
        again.stdout
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_serving(&now, "2.3.0", "hop");
    assert_eq!(now["mongo_fcv"], "7.0", "{now}");
    assert!(!marker.exists(), "the finished upgrade removes its marker");
    assert!(
        std::fs::read(backup.join("clearml_backup_data.tgz")).unwrap_or_default() == archive,
        "the first backup was replaced"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join("second/summary.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("summary.json: {e}"));
    assert_eq!(
        summary["hosts"][0]["backup"], "/opt/backups/hop",
        "{summary}"
    );
}

/// A Trains server (renamed to /opt/clearml, MongoDB migrated) stops in its first hop; the
/// re-run resumes that hop, which still fails: the way back is the first run's backup, to the
/// Trains root and version. The run after the fix upgrades from Trains as usual.
#[test]
fn a_resumed_hop_that_fails_rolls_a_renamed_trains_server_back() {
    if support::skip_slow("three upgrade runs of a Trains server") {
        return;
    }
    let Some(t) = OneBroken::new("0.16", "old", "allegroai/clearml:1.16.2-502") else {
        return;
    };
    let (fleet, home, inv) = (&t.fleet, &t.home, &t.inv);
    let host = fleet.host(0);
    let trains = host.path("/opt/trains");
    let clearml = host.path("/opt/clearml");
    let before = checksums(&trains.join("data"));
    let upgrade = || t.upgrade("10", "/opt/backups", &[]);
    let (status, stderr) = ctrl_c_twice_at(upgrade().command(), "TASK [Wait for the apiserver]");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        !trains.exists() && clearml.is_dir(),
        "renamed before the hop"
    );
    let marker = clearml.join(".clearfleet/upgrade-in-progress");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&marker).unwrap_or_default())
            .unwrap_or_else(|e| panic!("marker: {e}"));
    assert_eq!(
        (&m["step"], &m["root"], &m["from"]),
        (
            &"hop:1.16.2".into(),
            &"/opt/trains".into(),
            &"0.16.1".into()
        ),
        "{m}"
    );

    // The fault is still there: the resumed hop fails its check and rolls back.
    let again = upgrade().run();
    let line = result(&again, "old");
    assert!(
        line.starts_with("rolled back to 0.16.1: Wait for the apiserver:"),
        "{}",
        again.stdout
    );
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        trains.is_dir() && !clearml.exists(),
        "moved back to /opt/trains"
    );
    assert!(!trains.join(".clearfleet/upgrade-in-progress").exists());
    assert_eq!(checksums(&trains.join("data")), before, "the data changed");
    let now = detect(home.path(), inv, fleet, "old");
    assert_serving(&now, "0.16.1", "old");

    // Fixed: a fresh upgrade (a new backup beside the first) takes it all the way.
    host.inject(&["--clear"]);
    let last = t.upgrade("60", "/opt/backups-2", &[]).run();
    assert_eq!(
        result(&last, "old"),
        "upgraded 0.16.1 → 2.3.0",
        "{}",
        last.stdout
    );
    assert_serving(&detect(home.path(), inv, fleet, "old"), "2.3.0", "old");
}

/// Shell metacharacters, quotes, unicode and (where a value may hold one) newlines, each
/// trying to create its own canary file.
fn hostile(canaries: &Path, tag: &str, newline: bool) -> String {
    let c = |n: u32| canaries.join(format!("{tag}-{n}")).display().to_string();
    let mut v = format!(
        "x$(touch {})`touch {}`;touch {}|touch {}&&touch {} 'q\"\\ ñ✓ ${{IFS}}",
        c(1),
        c(2),
        c(3),
        c(4),
        c(5)
    );
    if newline {
        v.push_str(&format!("\ntouch {}\n", c(6)));
    }
    v
}

/// Canary files that appeared.
/// Asserts that no hostile value ran as a command: `canaries` holds no file.
fn assert_no_canary(canaries: &Path, run: &Run) {
    assert_eq!(
        canaries_found(canaries),
        Vec::<String>::new(),
        "{}",
        run.stdout
    );
}

fn canaries_found(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn hostile_facts_and_vars_through_the_shipped_playbooks_never_run() {
    let Some(fleet) = DockerFleet::start(&["v2", "v2"]) else {
        return;
    };
    let home = temp_home();
    let canaries = home.path().join("canaries");
    std::fs::create_dir_all(&canaries).unwrap_or_else(|e| panic!("{e}"));
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);

    // 1. Detected facts: the services agent's credentials and git account on the host, and the
    // backup directory, carry the hostile text through `clearfleet upgrade`.
    let host = fleet.host(0);
    let key = hostile(&canaries, "agent-key", false);
    let secret = hostile(&canaries, "agent-secret", false);
    let git_user = hostile(&canaries, "git-user", false);
    let git_pass = hostile(&canaries, "git-pass", false);
    let plain = fleet.host(1);
    fleet.install(&[
        vec![
            "--era",
            "2.0",
            "--agent-key",
            &key,
            "--agent-secret",
            &secret,
            "--git-user",
            &git_user,
            "--git-pass",
            &git_pass,
        ],
        vec!["--era", "2.0"],
    ]);
    let backup_dir = format!("/opt/b {}", hostile(&canaries, "backup-dir", false));
    let inv = support::docker_inventory(&fleet, [(host, "facts")]);
    let inv = write(home.path(), "inv.yml", &inv);
    // What the services agent was given: compose read the site's unquoted .env (its `${IFS}`
    // expanded to nothing), and that is what the upgrade must carry over, intact.
    let agent_env = || -> Vec<String> {
        let mut env: Vec<String> = host
            .sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' clearml-agent-services")
            .ok()
            .stdout
            .lines()
            .filter(|l| l.contains("/canaries/"))
            .map(str::to_owned)
            .collect();
        env.sort();
        env
    };
    let agent_before = agent_env();
    let given = |tag: &str| -> String {
        agent_before
            .iter()
            .find(|l| l.contains(&format!("/{tag}-1)")))
            .and_then(|l| l.split_once('='))
            .map(|(_, v)| v.to_owned())
            .unwrap_or_else(|| panic!("no {tag} in the agent's environment: {agent_before:?}"))
    };
    let (secret_given, git_pass_given) = (given("agent-secret"), given("git-pass"));
    let run = upgrade_on(home.path(), &inv, &fleet, &mirror)
        .args(["-vv", "--wait", "3", "--backup-dir", &backup_dir])
        .run();
    let line = result(&run, "facts");
    eprintln!("{line}");
    assert_no_canary(&canaries, &run);
    assert_eq!(line, "upgraded 2.0.0 → 2.3.0", "{}", run.stderr);
    assert_eq!(run.code, 0);
    // The hostile values arrived intact where they belong: the 2.3 services agent is given
    // exactly what the 2.0 one was (the upgrade's .env quotes them for compose).
    assert_eq!(
        agent_env(),
        agent_before,
        "the services agent's settings changed"
    );
    let report = report_dir(home.path());
    support::secrets::assert_nowhere(
        &[&secret, &git_pass, &secret_given, &git_pass_given],
        &run,
        &[&report],
    );
    let backups: Vec<String> = canaries_found(&host.path("/opt"));
    assert!(
        backups.iter().any(|b| b.starts_with("b x$(touch ")),
        "the backup went to the literal directory: {backups:?}"
    );

    // 2. Host and group variables: the shipped playbook run as a playbook, every value it
    // interpolates into a command hostile (newlines too), except `clearml_compose` and
    // `clearml_docker`, which are commands by design.
    let h = |tag: &str| serde_json::Value::String(hostile(&canaries, tag, true));
    // The hop's version names files (and a directory of the controller's compose mirror), so
    // it holds no `/`: its canaries are created in the working directory of whatever runs it.
    let bare = format!("cf-canary-{}", std::process::id());
    let version = format!(
        "2.3$(touch {bare}-1)`touch {bare}-2`;touch {bare}-3|touch {bare}-4&&touch {bare}-5 'q\"\\ ñ✓ ${{IFS}}\ntouch {bare}-6\n"
    );
    let bare_found = || -> Vec<std::path::PathBuf> {
        let dirs = [
            PathBuf::from("/"),
            PathBuf::from("/root"),
            PathBuf::from("/tmp"),
            home.path().to_path_buf(),
            plain.path("/"),
            plain.path("/opt/clearml"),
            plain.path("/opt/clearml/.clearfleet"),
        ];
        dirs.iter()
            .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&bare))
            })
            .collect()
    };
    let mirror2 = home.path().join("mirror2");
    std::fs::create_dir_all(mirror2.join(&version)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        mirror.join("2.3.0/docker-compose.yml"),
        mirror2.join(&version).join("docker-compose.yml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let group_vars = serde_json::json!({
        "clearml_root": "/opt/clearml",
        "clearml_new_root": "/opt/clearml",
        "clearml_migrations": [],
        "clearml_set_fcv": h("set-fcv"),
        "clearml_compose_file": "/opt/clearml/docker-compose.yml",
        "clearml_compose": "docker compose",
        "clearml_docker": "docker",
        "clearml_from": h("from"),
        "clearml_uid": h("uid"),
        "clearml_compose_mirror": mirror2.display().to_string(),
        "clearml_backup_dir": h("group-backup"),
        "clearml_env": h("env"),
        "clearml_os": "linux",
        "clearml_wait_retries": 1,
        "clearml_wait_delay": 1,
    });
    let host_vars = serde_json::json!({
        "clearml_agent_key": h("host-agent-key"),
        "clearml_agent_secret": h("host-agent-secret"),
        "clearml_hops": [{
            "version": version,
            "server_image": "clearml/server:latest",
            "compose_url": format!("http://127.0.0.1:1/{}", hostile(&canaries, "hop-url", true)),
            "mongo_fcv": h("hop-fcv"),
            "mongo": "7.0.22",
        }],
    });
    let inv2 = write(
        home.path(),
        "inv2.yml",
        &format!(
            "all:\n  vars: {}\n  hosts:\n    vars-host: {}\n",
            serde_json::json!({
                "ansible_host": plain.address(),
                "ansible_port": 22,
                "ansible_user": "root",
                "ansible_ssh_private_key_file": fleet.fleet().client_key().display().to_string(),
            })
            .as_object()
            .map(|m| {
                let mut all = m.clone();
                all.extend(group_vars.as_object().cloned().unwrap_or_default());
                serde_json::Value::Object(all)
            })
            .unwrap_or_default(),
            host_vars
        ),
    );
    let statuses = |d: &serde_json::Value| -> Vec<(String, String)> {
        let mut s: Vec<(String, String)> = d["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (c["name"].to_string(), c["status"].to_string()))
            .collect();
        s.sort();
        s
    };
    let statuses_before = statuses(&detect(home.path(), &inv2, &fleet, "vars-host"));
    assert!(statuses_before.len() >= 6, "{statuses_before:?}");
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/clearml-upgrade.yml");
    let run = clearfleet(home.path())
        .args(["run", "-vv"])
        .fleet(&inv2, fleet.known_hosts_path())
        .arg(&playbook)
        .run();
    eprintln!("{}", run.stdout);
    assert_no_canary(&canaries, &run);
    assert_eq!(bare_found(), Vec::<PathBuf>::new(), "{}", run.stdout);
    // The hop cannot pass its checks (the server does not report a hostile version): the
    // whole path ran with the values, preflight, backup, hop and rollback, which brought the
    // server back.
    assert_eq!(run.code, 2, "{}", run.stderr);
    for task in [
        "TASK [Back up data and config]",
        "TASK [Merge the services-agent settings into .env]",
        "TASK [Restore data, config, compose file and .env]",
        "TASK [Report the rollback]",
    ] {
        assert!(
            run.stdout.contains(task),
            "{task} did not run:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains(&format!(
            "fatal: [vars-host]: rolled back to {}",
            h("from").as_str().unwrap_or_default()
        )),
        "{}",
        run.stdout
    );
    let after = detect(home.path(), &inv2, &fleet, "vars-host");
    assert!(
        after["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.0.0")),
        "{after}"
    );
    assert_eq!(
        statuses(&after),
        statuses_before,
        "containers after the rollback"
    );
}

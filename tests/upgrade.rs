//! `clearfleet upgrade` end to end on simulated ClearML hosts over real sshd.

mod support;

use std::path::Path;
use std::process::Command;

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");

/// The compose mirror the tests write themselves: upstream-shaped files (server images on
/// `:latest`, except the 1.17.1 upgrade compose, which upstream pins).
fn write_mirror(dir: &Path) {
    for v in ["1.16.2", "1.17.1", "2.0.0", "2.3.0"] {
        let mut args = vec!["compose-file", "--era", v];
        if v == "1.17.1" {
            args.push("--pin");
        }
        let out = Command::new(SIM)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("clearml-sim: {e}"));
        assert!(out.status.success(), "{out:?}");
        write(
            dir,
            &format!("{v}/docker-compose.yml"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
}

/// Every file under `dir` with its bytes, for byte-identical comparisons.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .map(|r| r.display().to_string())
                    .unwrap_or_default();
                out.push((rel, std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn upgrades_rolls_back_and_leaves_up_to_date_hosts_alone() {
    let Some(fleet) = Fleet::builder().simulated(&["v2", "v2", "v2"]).build() else {
        return;
    };
    let home = temp_home();
    let mirror = home.path().join("mirror");
    write_mirror(&mirror);
    let hosts = [
        (
            "clearml-1.12",
            vec![
                "init",
                "--era",
                "1.12",
                "--agent-key",
                "AK1",
                "--agent-secret",
                "agent-secret-112",
            ],
        ),
        ("broken-2.0", vec!["init", "--era", "2.0"]),
        ("current-2.3", vec!["init", "--era", "2.3"]),
    ];
    let mut inv = format!(
        "all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n  hosts:\n",
        fleet.client_key().display()
    );
    for (host, (label, init)) in fleet.hosts().iter().zip(&hosts) {
        host.sim(init);
        inv.push_str(&format!(
            "    {label}:\n      ansible_port: {}\n",
            host.port()
        ));
    }
    // The 2.3 server image fails to start on this host: its upgrade must roll back.
    fleet.hosts()[1].sim(&["inject", "--broken-tag", "clearml/server:latest"]);
    let inv = write(home.path(), "inv.yml", &inv);
    let data_before = snapshot(&fleet.hosts()[1].sim_root().join("opt/clearml/data"));
    let run = clearfleet(home.path())
        .args(["upgrade", "--wait", "3", "-i"])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .arg("--compose-mirror")
        .arg(&mirror)
        .run();
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 2, "one host rolled back: {run:?}");
    assert!(
        !run.all_output().contains("agent-secret-112"),
        "secret leaked"
    );
    let result = |label: &str| {
        run.stdout
            .lines()
            .skip_while(|l| !l.contains("UPGRADE RESULT"))
            .find(|l| l.starts_with(&format!("{label} ")))
            .map(|l| l[label.len()..].trim().to_owned())
            .unwrap_or_else(|| panic!("no result for {label}:\n{}", run.stdout))
    };
    assert_eq!(result("clearml-1.12"), "upgraded 1.12.1 → 2.3.0");
    assert_eq!(
        result("broken-2.0"),
        "rolled back to 2.0.0: Wait for the apiserver: the apiserver did not answer /debug.ping in time"
    );
    assert_eq!(result("current-2.3"), "up to date (2.3.0)");
    let data_after = snapshot(&fleet.hosts()[1].sim_root().join("opt/clearml/data"));
    assert_eq!(
        data_before, data_after,
        "rolled-back data is byte-identical"
    );

    // The second run changes nothing.
    let again = clearfleet(home.path())
        .args([
            "upgrade",
            "--wait",
            "3",
            "--limit",
            "clearml-1.12,current-2.3",
            "-i",
        ])
        .arg(&inv)
        .arg("--known-hosts")
        .arg(fleet.known_hosts_path())
        .arg("--compose-mirror")
        .arg(&mirror)
        .run();
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        again.stdout.contains("clearml-1.12  up to date (2.3.0)"),
        "{}",
        again.stdout
    );
}

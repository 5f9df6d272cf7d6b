//! What the `clearfleet upgrade` tests share: the compose mirror they write themselves from the
//! simulator's release table, hosts installed with secrets, and what a test reads back (the
//! result table, detection, the data's checksums, the report).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::cli::{Run, clearfleet, write};
use super::docker_host::{DockerFleet, DockerHost};

/// The compose mirror: upstream-shaped files for the releases the hops use (server images on
/// `:latest`, except the 1.17.1 upgrade compose, which upstream pins).
pub fn write_mirror(dir: &Path) {
    for v in ["1.16.2", "1.17.1", "2.0.0", "2.3.0"] {
        let mut args = vec!["compose-file", "--era", v];
        if v == "1.17.1" {
            args.push("--pin");
        }
        let out = Command::new(super::sim())
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

/// `sha256sum` of every file under `dir` (relative paths, sorted): the data's checksums.
pub fn checksums(dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg("find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum")
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("sha256sum: {e}"));
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.lines().count() > 3, "no data under {dir:?}: {text}");
    text
}

/// The UPGRADE RESULT line of `label`, without the label.
pub fn result(run: &Run, label: &str) -> String {
    run.stdout
        .lines()
        .skip_while(|l| !l.contains("UPGRADE RESULT"))
        .find(|l| l.starts_with(&format!("{label} ")))
        .map(|l| l[label.len()..].trim().to_owned())
        .unwrap_or_else(|| panic!("no result for {label}:\n{}", run.stdout))
}

/// What `clearfleet detect` sees on `label` now.
pub fn detect(home: &Path, inv: &Path, fleet: &DockerFleet, label: &str) -> serde_json::Value {
    clearfleet(home)
        .args(["detect", "--output", "json"])
        .fleet(inv, fleet.known_hosts_path())
        .run()
        .host_json(label)["detected"]
        .clone()
}

/// Asserts that `label` runs `version` with every ClearML container running.
pub fn assert_serving(detected: &serde_json::Value, version: &str, label: &str) {
    assert!(
        detected["version"]
            .as_str()
            .is_some_and(|v| v.starts_with(version)),
        "{label}: {detected}"
    );
    let containers = detected["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(containers.len() >= 6, "{label}: {detected}");
    for c in &containers {
        assert_eq!(c["status"], "running", "{label}: {c}");
    }
}

/// The one report directory under `home/reports/`.
pub fn report_dir(home: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(home.join("reports"))
        .unwrap_or_else(|e| panic!("no reports/: {e}"))
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// `clearml-sim init` arguments of a server of `era` with services-agent credentials and a
/// git account of its own (`agent-secret-LABEL`, `git-pass-LABEL`).
pub fn init_args(era: &str, label: &str) -> Vec<String> {
    [
        "--era",
        era,
        "--agent-key",
        &format!("AK-{label}"),
        "--agent-secret",
        &format!("agent-secret-{label}"),
        "--git-user",
        "bot",
        "--git-pass",
        &format!("git-pass-{label}"),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Installs every host of the fleet at once, host i with `args[i]`.
pub fn install(fleet: &DockerFleet, args: &[Vec<String>]) {
    let args: Vec<Vec<&str>> = args
        .iter()
        .map(|a| a.iter().map(String::as_str).collect())
        .collect();
    fleet.install(&args);
}

/// When the host's apiserver container started.
pub fn started_at(host: &DockerHost) -> String {
    host.sh("docker inspect -f '{{.State.StartedAt}}' clearml-apiserver")
        .ok()
        .stdout
}

/// `clearfleet upgrade` on the fleet's inventory with the test's compose mirror; flags follow.
pub fn upgrade_on(
    home: &Path,
    inv: &Path,
    fleet: &DockerFleet,
    mirror: &Path,
) -> super::cli::Clearfleet {
    clearfleet(home)
        .arg("upgrade")
        .fleet(inv, fleet.known_hosts_path())
        .arg("--compose-mirror")
        .arg(mirror)
}

//! Real namespace-isolated simulated hosts (tests/support/sim-host.sh): each has its own /opt,
//! daemon state and docker/curl commands, with the simulator using the real absolute paths.

use std::path::Path;
use std::process::Command;

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");

fn in_host(dir: &Path, extra: &[&str], script: &str) -> (i32, String, String) {
    let sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sim-host.sh");
    let mut c = Command::new(sh);
    c.arg(dir)
        .arg(SIM)
        .args(extra)
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(script);
    c.env(
        "PATH",
        "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
    let o = c.output().expect("run sim-host.sh");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn two_namespaced_hosts_share_neither_opt_nor_state() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: mount namespaces need root");
        return;
    }
    let real_opt_before: Vec<String> = std::fs::read_dir("/opt")
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    let (code, out, err) = in_host(
        a.path(),
        &[],
        "clearml-sim init --era 1.17 >/dev/null && docker ps --format '{{.Names}}' && cat /opt/clearml/docker-compose.yml && curl -s http://localhost:8008/debug.ping && command -v docker-compose || true",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("clearml-apiserver\n")
            && out.contains("image: docker.elastic.co/elasticsearch/elasticsearch:8.15.3"),
        "{out}"
    );
    assert!(out.contains("\"msg\":\"ClearML server\""), "{out}");
    assert!(
        !out.contains("/usr/local/bin/docker-compose"),
        "v2-only host has no docker-compose: {out}"
    );
    let (code, out, err) = in_host(
        b.path(),
        &["--compose", "v1"],
        "clearml-sim init --era 0.15 --compose v1 >/dev/null && ls /opt && docker ps --format '{{.Names}}' && docker-compose version --short && docker compose version; cat /opt/trains/docker-compose.yml | grep -c trains-agent-services",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.starts_with("trains\n"), "{out}");
    assert!(
        out.contains("trains-apiserver") && !out.contains("clearml-apiserver"),
        "{out}"
    );
    assert!(
        out.contains("1.29.2\n") && err.contains("docker: 'compose' is not a docker command."),
        "{out}\n{err}"
    );
    // Host A still sees only its own state and files.
    let (code, out, err) = in_host(
        a.path(),
        &[],
        "ls /opt && docker ps -a --format '{{.Names}}' | sort | head -3 && curl -s localhost:8008/server.info",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("clearml\n") && !out.contains("trains"),
        "{out}"
    );
    assert!(out.contains("\"version\":\"1.17.1\""), "{out}");
    // The state lives in each host dir; the machine's own /opt is untouched.
    assert!(
        a.path().join("state/state.json").is_file() && b.path().join("state/state.json").is_file()
    );
    assert!(
        a.path()
            .join("opt/clearml/data/mongo_4/db/.sim-mongo.json")
            .is_file()
    );
    assert!(
        b.path()
            .join("opt/trains/data/elastic/.sim-es.json")
            .is_file()
    );
    let real_opt_after: Vec<String> = std::fs::read_dir("/opt")
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(real_opt_before, real_opt_after);
}

//! The real-Docker test hosts themselves (tests/support/docker_host.rs): each is a real Docker
//! Engine with the compose flavours its state says, pulling real stand-in images from its own
//! registry under their real names, with nothing of it visible on the machine.

use crate::support;

use support::docker_host::DockerFleet;

#[test]
fn a_host_is_a_real_docker_engine_with_its_compose_and_registry() {
    let Some(fleet) = DockerFleet::start(&["v2", "v1"]) else {
        return;
    };
    let (v2, v1) = (fleet.host(0), fleet.host(1));
    let info = v2.sh("docker version --format '{{.Server.Version}}'").ok();
    assert!(info.stdout.starts_with("20.10"), "{}", info.stdout);
    assert!(v2.sh("docker compose version").ok().stdout.contains("2.26"));
    let absent = v2.sh("command -v docker-compose");
    assert_ne!(absent.code, 0, "{}", absent.stdout);
    assert!(
        v1.sh("docker-compose version --short")
            .ok()
            .stdout
            .starts_with("1.29")
    );
    assert_ne!(v1.sh("docker compose version").code, 0);
    // Real pulls from the host's own registry, under Docker Hub's and Elastic's names.
    let pull = v2.sh("docker pull -q mongo:7.0.22 && docker pull -q docker.elastic.co/elasticsearch/elasticsearch:7.17.18");
    assert_eq!(
        pull.code,
        0,
        "{}{}\n{}",
        pull.stdout,
        pull.stderr,
        v2.logs()
    );
    let missing = v2.sh("docker pull mongo:7.0.99");
    assert_ne!(missing.code, 0);
    assert!(
        missing.stderr.contains("manifest unknown") || missing.stderr.contains("not found"),
        "{}",
        missing.stderr
    );
    // The upstream compose keys this machine cannot grant run through the clamped runtime.
    let run = v2.sh("docker run -d --name locked --ulimit memlock=-1:-1 --privileged -p 8008:8008 mongo:7.0.22 && sleep 1 && docker inspect -f '{{.State.Status}}' locked");
    assert_eq!(run.code, 0, "{}{}\n{}", run.stdout, run.stderr, v2.logs());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The result row of `label` in an upgrade's output, without the label.
fn result(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .skip_while(|l| !l.contains("UPGRADE RESULT"))
        .find(|l| l.starts_with(&format!("{label} ")))
        .map(|l| l[label.len()..].trim().to_owned())
        .unwrap_or_else(|| panic!("no result for {label}:\n{stdout}"))
}

#[test]
fn upgrades_through_real_docker_with_compose_v2_and_v1() {
    let Some(fleet) = DockerFleet::start(&["v2", "v1"]) else {
        return;
    };
    let (v2, v1) = (fleet.host(0), fleet.host(1));
    v2.install(&["--era", "2.0.0"]);
    v1.install(&["--era", "1.16.2"]);
    let model = "opt/clearml/data/fileserver/example/model.pkl";
    let bytes_before = std::fs::read(v2.path(model)).unwrap_or_default();
    assert!(!bytes_before.is_empty());
    let served = || {
        v2.sh("curl -sf -m 5 http://localhost:8081/example/model.pkl | sha256sum")
            .ok()
            .stdout
    };
    let digest = format!("{}  -\n", sha256_hex(&bytes_before));
    assert_eq!(served(), digest, "the file server serves the file's bytes");

    let home = support::cli::temp_home();
    let mirror = home.path().join("mirror");
    support::upgrade::write_mirror(&mirror);
    let inv = support::cli::write(
        home.path(),
        "inv.yml",
        &support::docker_inventory(&fleet, [(v2, "on-v2"), (v1, "on-v1")]),
    );
    let run = support::cli::clearfleet(home.path())
        .arg("upgrade")
        .fleet(&inv, fleet.known_hosts_path())
        .arg("--compose-mirror")
        .arg(&mirror)
        .run();
    let logs = format!(
        "{}\n{}\n{}\n{}",
        run.stdout,
        run.stderr,
        v2.logs(),
        v1.logs()
    );
    assert_eq!(run.code, 0, "{logs}");
    assert_eq!(
        result(&run.stdout, "on-v2"),
        "upgraded 2.0.0 → 2.3.0",
        "{logs}"
    );
    // 1.16.2 → 1.17.1 → 2.0.0 → 2.3.0 with compose v1, which recreates every container.
    assert_eq!(
        result(&run.stdout, "on-v1"),
        "upgraded 1.16.2 → 2.3.0 (compose v1: all containers were removed and created again at \
         each of the 2 hops after the first, data stores included)",
        "{logs}"
    );
    for h in [&v2, &v1] {
        let image = h
            .sh("docker inspect -f '{{.Config.Image}} {{.State.Status}}' clearml-apiserver")
            .ok();
        assert_eq!(image.stdout.trim(), "clearml/server:2.3.0 running");
        h.wait_for_apiserver(std::time::Duration::from_secs(30));
    }
    assert_eq!(
        served(),
        digest,
        "the file server's bytes after the upgrade"
    );
}

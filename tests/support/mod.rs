//! Shared integration-test support: real sshd hosts on loopback, and running the built binary
//! (`setup` puts the two together).
#![allow(dead_code)]

pub mod ansible;
pub mod ansible_source;
pub mod argv_watch;
pub mod cli;
pub mod docker_host;
pub mod netns;
pub mod registry;
pub mod report;
pub mod secrets;
pub mod setup;
pub mod sshd;
pub mod upgrade;

#[allow(unused_imports)]
pub use sshd::*;

use std::time::Duration;

/// The simulator's binary (its own package, `crates/clearml-sim`): `cargo test --workspace`
/// builds it beside `clearfleet` before any test runs. A lone `cargo test -p clearfleet` does
/// not, and would use whatever `clearml-sim` an earlier build left there.
pub fn sim() -> &'static str {
    static SIM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SIM.get_or_init(|| {
        let path = std::path::Path::new(cli::bin()).with_file_name("clearml-sim");
        assert!(
            path.exists(),
            "{} is missing: run the tests with `cargo test --workspace` (or `cargo build -p clearml-sim` first)",
            path.display()
        );
        path.display().to_string()
    })
}

/// The inventory of real-Docker hosts: the fleet's head, then each host's entry under its
/// inventory name.
pub fn docker_inventory<'a, N: AsRef<str>>(
    fleet: &docker_host::DockerFleet,
    hosts: impl IntoIterator<Item = (&'a docker_host::DockerHost, N)>,
) -> String {
    let mut inv = fleet.inventory_head();
    for (host, name) in hosts {
        inv.push_str(&host.inventory_entry(name.as_ref()));
    }
    inv
}

/// Whether a process whose command line contains `pattern` runs on this machine.
pub fn process_running(pattern: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Polls every 50 ms, `limit` at most, for a process whose command line contains `pattern` to
/// be running (`running`) or gone (`!running`); whether it came to that.
pub async fn process_comes_to(pattern: &str, running: bool, limit: Duration) -> bool {
    eventually(limit, || process_running(pattern) == running).await
}

/// Waits (5 s at most) for the command `task` runs, found by `marker` in its command line, to
/// start on the host, then aborts `task` and waits for it to end.
pub async fn abort_once_running<T>(task: tokio::task::JoinHandle<T>, marker: &str) {
    assert!(
        process_comes_to(marker, true, Duration::from_secs(5)).await,
        "command did not start"
    );
    task.abort();
    let _ = task.await;
}

/// Polls `cond` every 50 ms until it holds or `limit` passes.
pub async fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

/// Whether a slow scenario should be skipped: `CLEARFLEET_QUICK=1` asks for a quick local run
/// (CI never sets it and runs everything). Prints what is skipped.
pub fn skip_slow(what: &str) -> bool {
    let quick = std::env::var("CLEARFLEET_QUICK").is_ok_and(|v| v == "1");
    if quick {
        eprintln!("SKIPPED (CLEARFLEET_QUICK=1): {what}");
    }
    quick
}

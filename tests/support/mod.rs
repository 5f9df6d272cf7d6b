//! Shared integration-test support: real sshd hosts on loopback, and running the built binary.
#![allow(dead_code)]

pub mod cli;
pub mod docker_host;
pub mod netns;
pub mod registry;
pub mod report;
pub mod secrets;
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
        let path = std::path::Path::new(env!("CARGO_BIN_EXE_clearfleet")).with_file_name("clearml-sim");
        assert!(
            path.exists(),
            "{} is missing: run the tests with `cargo test --workspace` (or `cargo build -p clearml-sim` first)",
            path.display()
        );
        path.display().to_string()
    })
}

/// Whether a process whose command line contains `pattern` runs on this machine.
pub fn process_running(pattern: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
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

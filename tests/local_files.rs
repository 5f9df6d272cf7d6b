//! What clearfleet leaves on the controller (issue #16): the built-in upgrade playbook is never
//! written to disk. No host is needed: every inventory here names a port nothing listens on.

use crate::support;

use std::path::Path;

use support::cli::{Clearfleet, clearfleet, temp_home, write};

/// An inventory of one host nothing answers for (port 1 of loopback).
fn unreachable_inventory(home: &Path) -> std::path::PathBuf {
    write(
        home,
        "inv.yml",
        "all:\n  hosts:\n    down:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n",
    )
}

/// `clearfleet COMMAND -i inv.yml --connect-retries 0` in `home`.
fn on_unreachable(home: &Path, command: &str) -> Clearfleet {
    let inv = unreachable_inventory(home);
    clearfleet(home)
        .arg(command)
        .arg("-i")
        .arg(inv)
        .args(["--connect-retries", "0"])
}

#[test]
fn the_upgrade_loads_its_built_in_playbook_without_writing_it_anywhere() {
    let home = temp_home();
    // A temporary directory that cannot be made: writing the playbook there would fail the run.
    let tmp = home.path().join("no-such-tmp");
    let run = on_unreachable(home.path(), "upgrade")
        .args(["--report-dir", "none"])
        .env("TMPDIR", &tmp)
        .run();
    // Detection ran (the playbook was loaded and checked before it): the host is unreachable.
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("down"), "{run:?}");
    assert!(!tmp.exists());
    let left: Vec<String> = std::fs::read_dir(home.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["inv.yml"], "written in the current directory");
}

//! What clearfleet leaves on the controller (issue #16): the built-in upgrade playbook is never
//! written to disk; the report directory and `--log-file` are private (0700 directories, 0600
//! files, whatever the umask) and never written through a symbolic link someone planted.
//! No host is needed: every inventory here names a port nothing listens on.

use crate::support;

use std::os::unix::fs::{PermissionsExt, symlink};
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

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every path under `dir` (itself included) with its mode, directories with a trailing `/`.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut out = vec![(format!("{}/", dir.display()), mode(dir))];
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(modes(&p));
        } else {
            out.push((p.display().to_string(), mode(&p)));
        }
    }
    out
}

/// Every directory under `dir` (itself included) has mode 0700 and every file 0600; there is a
/// report in it (more than a directory and a file or two).
#[track_caller]
fn all_private(dir: &Path) {
    let found = modes(dir);
    assert!(found.len() > 5, "{found:?}");
    for (path, m) in &found {
        let want = if path.ends_with('/') { 0o700 } else { 0o600 };
        assert_eq!(*m, want, "{path} is {m:o}: {found:?}");
    }
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

#[test]
fn reports_and_the_log_file_are_private_whatever_the_umask() {
    let home = temp_home();
    std::fs::create_dir(home.path().join("logs")).unwrap_or_else(|e| panic!("{e}"));
    let run = on_unreachable(home.path(), "exec")
        .args(["--log-file", "logs/run.log", "--report-dir", "out/rep"])
        .args(["--", "true"])
        .umask(0o022)
        .run();
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(mode(&home.path().join("logs/run.log")), 0o600);
    all_private(&home.path().join("out"));

    // `upgrade`'s own reports/<time>/, and reports/ made for it.
    let run = on_unreachable(home.path(), "upgrade").umask(0o022).run();
    assert_eq!(run.code, 3, "{run:?}");
    all_private(&home.path().join("reports"));
}

/// A file of the test's own that a planted link points at, and what it holds.
fn victim(home: &Path) -> std::path::PathBuf {
    write(home, "mine.txt", "the operator's own file\n")
}

fn unchanged(victim: &Path) {
    assert_eq!(
        std::fs::read_to_string(victim).unwrap_or_default(),
        "the operator's own file\n",
        "written through the link"
    );
}

#[test]
fn a_link_planted_at_the_log_file_is_not_followed() {
    let home = temp_home();
    let target = victim(home.path());
    symlink(&target, home.path().join("run.log")).unwrap_or_else(|e| panic!("{e}"));
    let run = on_unreachable(home.path(), "exec")
        .args(["--log-file", "run.log", "--", "true"])
        .run();
    unchanged(&target);
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.starts_with(
            "error: cannot open the log file run.log: run.log is a symbolic link: clearfleet does not write through one"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_link_planted_in_or_at_the_report_directory_is_not_followed() {
    let home = temp_home();
    let target = victim(home.path());
    // A file of the report.
    let rep = home.path().join("rep");
    std::fs::create_dir(&rep).unwrap_or_else(|e| panic!("{e}"));
    symlink(&target, rep.join("summary.json")).unwrap_or_else(|e| panic!("{e}"));
    let run = on_unreachable(home.path(), "exec")
        .args(["--report-dir", "rep", "--", "true"])
        .run();
    unchanged(&target);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: failed to write the report in rep: rep/summary.json is a symbolic link: clearfleet does not write through one"
        ),
        "{}",
        run.stderr
    );

    // The report directory itself, and its hosts/: nothing is made or written in what they
    // point at.
    let elsewhere = home.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap_or_else(|e| panic!("{e}"));
    symlink(&elsewhere, home.path().join("linked")).unwrap_or_else(|e| panic!("{e}"));
    let rep2 = home.path().join("rep2");
    std::fs::create_dir(&rep2).unwrap_or_else(|e| panic!("{e}"));
    symlink(&elsewhere, rep2.join("hosts")).unwrap_or_else(|e| panic!("{e}"));
    for (dir, shown) in [("linked", "linked"), ("rep2", "rep2/hosts")] {
        let run = on_unreachable(home.path(), "exec")
            .args(["--report-dir", dir, "--", "true"])
            .run();
        assert_eq!(run.code, 1, "{run:?}");
        assert!(
            run.stderr.starts_with(&format!(
                "error: failed to write the report in {dir}: {shown} is a symbolic link"
            )),
            "{}",
            run.stderr
        );
        let inside: Vec<_> = std::fs::read_dir(&elsewhere)
            .unwrap_or_else(|e| panic!("{e}"))
            .collect();
        assert!(inside.is_empty(), "{dir}: {inside:?}");
    }
}

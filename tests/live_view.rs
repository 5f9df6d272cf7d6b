//! The live view on a terminal (through a pseudo-terminal: util-linux `script`), and the plain
//! output everywhere else (snapshots with times redacted).

use crate::support;

use std::path::{Path, PathBuf};

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

/// An inventory of `n` hosts (node01…) spread over the fleet's sshd hosts (several names per
/// sshd), written to `dir/inv.yml`.
fn nodes(fleet: &Fleet, n: usize, dir: &Path) -> PathBuf {
    let mut inv = fleet.inventory().without_hosts();
    for i in 0..n {
        let port = fleet.host(i % fleet.hosts().len()).port();
        inv = inv.host(&format!("node{:02}", i + 1), port);
    }
    inv.write(dir, "inv.yml")
}

/// The end of a long terminal capture, for failure messages.
fn tail(out: &str) -> String {
    let chars: Vec<char> = out.chars().collect();
    let from = chars.len().saturating_sub(3000);
    format!("…{:?}", chars[from..].iter().collect::<String>())
}

/// The view in one frame of the capture (what follows a clear): its lines from the overall
/// line on; the lines before it are output printed above the view.
fn view_of(frame: &str) -> Vec<&str> {
    let lines: Vec<&str> = frame.lines().collect();
    let start = lines
        .iter()
        .rposition(|l| l.contains("hosts done"))
        .unwrap_or(lines.len());
    lines[start..].to_vec()
}

/// The heights of every redraw of the view: the `ESC [ N A` cursor moves that clear it.
fn redraw_heights(text: &str) -> Vec<usize> {
    let re = regex::Regex::new(r"\x1b\[(\d+)A\r\x1b\[J").unwrap_or_else(|e| panic!("{e}"));
    re.captures_iter(text)
        .filter_map(|c| c[1].parse().ok())
        .collect()
}

#[test]
fn the_live_view_fits_the_terminal_with_many_hosts() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = nodes(&fleet, 30, home.path());
    let (code, out) = clearfleet(home.path())
        .terminal(12, 70)
        .env("TERM", "xterm")
        .args(["exec", "-f", "30"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "sleep", "2"])
        .run_on_terminal("");
    assert_eq!(code, 0, "{}", tail(&out));
    let heights = redraw_heights(&out);
    assert!(
        !heights.is_empty(),
        "the view was never drawn: {}",
        tail(&out)
    );
    assert!(
        heights.iter().all(|h| *h <= 11),
        "more lines than the 12-row terminal: {heights:?}"
    );
    assert!(heights.contains(&11), "a full view: {heights:?}");
    // What one full view looked like: the overall line, 9 hosts and the rest collapsed.
    let views: Vec<&str> = out.split("\x1b[J").collect();
    let full = views
        .iter()
        .find(|v| v.contains("+21 more running"))
        .unwrap_or_else(|| panic!("no collapsed view: {}", tail(&out)));
    let lines = view_of(full);
    assert!(
        lines[0].starts_with("0/30 hosts done · ok 0 · failed 0 · unreachable 0 · 0:0"),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("  node")).count(),
        9,
        "{lines:#?}"
    );
    assert_eq!(lines[10], "  +21 more running", "{lines:#?}");
    // No line of any view wraps: at most 69 characters on the 70-column terminal.
    for frame in &views[1..views.len() - 1] {
        for line in view_of(frame) {
            let visible = line.split("\x1b[").next().unwrap_or("");
            assert!(visible.chars().count() <= 69, "{line:?}");
        }
    }
    // No color with NO_COLOR (only cursor moves), and nothing of the view after the recap.
    let sgr = regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap_or_else(|e| panic!("{e}"));
    assert!(!sgr.is_match(&out), "a color or style with NO_COLOR");
    let tail = views.last().copied().unwrap_or("");
    assert!(tail.contains("30 hosts in"), "{tail}");
    assert!(!tail.contains("hosts done"), "{tail}");
}

#[test]
fn colors_on_a_terminal_unless_no_color_and_no_view_with_quiet() {
    let Some(fleet) = Fleet::start(1) else {
        return;
    };
    let home = temp_home();
    let inv = nodes(&fleet, 2, home.path());
    let on_terminal = |extra: &[&str]| {
        clearfleet(home.path())
            .terminal(24, 80)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR")
            .arg("exec")
            .args(extra)
            .fleet(&inv, fleet.known_hosts_path())
            .args(["--", "sleep", "1"])
            .run_on_terminal("")
    };
    let (code, out) = on_terminal(&[]);
    assert_eq!(code, 0, "{}", tail(&out));
    assert!(out.contains("\x1b[1m"), "bold overall line: {}", tail(&out));
    assert!(!redraw_heights(&out).is_empty(), "{}", tail(&out));
    let (code, out) = on_terminal(&["-q"]);
    assert_eq!(code, 0, "{}", tail(&out));
    assert!(
        redraw_heights(&out).is_empty(),
        "no view with -q: {}",
        tail(&out)
    );
    assert!(!out.contains("hosts done"), "{}", tail(&out));
    assert!(out.contains("2 hosts in"), "the recap: {}", tail(&out));
}

/// Times and durations replaced, so two runs print the same text.
fn redact_times(text: &str) -> String {
    let re = regex::Regex::new(r"\b\d+(\.\d+)?(ms|s)\b|\b\d+m\d{2}s\b")
        .unwrap_or_else(|e| panic!("{e}"));
    re.replace_all(text, "T").into_owned()
}

#[test]
fn off_a_terminal_the_output_is_plain_lines() {
    let Some(fleet) = Fleet::start(2) else {
        return;
    };
    let home = temp_home();
    let inv = nodes(&fleet, 2, home.path());
    let pb = write(
        home.path(),
        "pb.yml",
        "- name: Check\n  hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - name: Say\n      command: echo hi\n\
         \x20   - name: Only node01 passes\n      shell: test {{ inventory_hostname }} = node01\n",
    );
    let run = clearfleet(home.path())
        .args(["run", "-f", "1"])
        .fleet(&inv, fleet.known_hosts_path())
        .arg(&pb)
        .run();
    assert_eq!(run.code, 2, "{run:?}");
    assert!(!run.all_output().contains('\x1b'), "{run:?}");
    let stars = |title: &str| format!("{title} {}", "*".repeat(79 - title.len() - 1));
    let expected = format!(
        "\n{}\n\n{}\nchanged: [node01]\nchanged: [node02]\n\n{}\nchanged: [node01]\nfatal: [node02]: non-zero return code\n  rc: 1\n\n{}\nnode01 : ok=2    changed=2    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0\nnode02 : ok=1    changed=1    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0\n\nFAILURES (1 cause)\n  1 host: Only node01 passes (HOME/pb.yml:7:7): non-zero return code\n    node02\n2 hosts in T: 1 ok, 1 failed\n",
        stars("PLAY [Check]"),
        stars("TASK [Say]"),
        stars("TASK [Only node01 passes]"),
        stars("PLAY RECAP"),
    );
    let home_dir = home.path().display().to_string();
    assert_eq!(
        redact_times(&run.stdout).replace(&home_dir, "HOME"),
        expected
    );
    assert_eq!(run.stderr, "");

    let run = clearfleet(home.path())
        .args(["exec", "-f", "1"])
        .fleet(&inv, fleet.known_hosts_path())
        .args(["--", "echo out-$((6*7))"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        redact_times(&run.stdout),
        "node01 | ok | rc=0 | T\nout-42\nnode02 | ok | rc=0 | T\nout-42\n\nRECAP\nnode01  ok\nnode02  ok\n2 hosts in T: 2 ok\n"
    );
}

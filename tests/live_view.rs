//! The live view on a terminal (through a pseudo-terminal: util-linux `script`), and the plain
//! output everywhere else (snapshots with times redacted).

use crate::support;

use std::io::Read;
use std::process::{Command, Stdio};

use support::cli::{clearfleet, temp_home, write};
use support::sshd::Fleet;

/// `n` inventory hosts spread over the fleet's sshd hosts (several names per sshd).
fn inventory(fleet: &Fleet, n: usize) -> String {
    let mut s = format!(
        "all:\n  vars:\n    ansible_host: 127.0.0.1\n    ansible_user: root\n    ansible_ssh_private_key_file: {}\n  hosts:\n",
        fleet.client_key().display()
    );
    for i in 0..n {
        let h = &fleet.hosts()[i % fleet.hosts().len()];
        s.push_str(&format!(
            "    node{:02}:\n      ansible_port: {}\n",
            i + 1,
            h.port()
        ));
    }
    s
}

/// Runs clearfleet on a pseudo-terminal of `rows` x `cols`; returns the exit code and every
/// byte it wrote to the terminal.
fn on_terminal(
    home: &std::path::Path,
    rows: u16,
    cols: u16,
    args: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_clearfleet");
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("stty rows {rows} cols {cols}; exec {bin} {args}"),
        "/dev/null",
    ])
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", home)
    .env("TERM", "xterm")
    .current_dir(home)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("script: {e}"));
    // stdin stays open (script ends the session when it reads EOF) until the run is over.
    let stdin = child.stdin.take();
    let mut out = Vec::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut out);
    }
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    drop(stdin);
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out).replace("\r\n", "\n"),
    )
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
    let inv = write(home.path(), "inv.yml", &inventory(&fleet, 30));
    let known = fleet.known_hosts_path().display().to_string();
    let (code, out) = on_terminal(
        home.path(),
        12,
        70,
        &format!(
            "exec -f 30 -i {} --known-hosts {known} -- sleep 2",
            inv.display()
        ),
        &[("NO_COLOR", "1")],
    );
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
    let inv = write(home.path(), "inv.yml", &inventory(&fleet, 2));
    let known = fleet.known_hosts_path().display().to_string();
    let args = format!("exec -i {} --known-hosts {known} -- sleep 1", inv.display());
    let (code, out) = on_terminal(home.path(), 24, 80, &args, &[]);
    assert_eq!(code, 0, "{}", tail(&out));
    assert!(out.contains("\x1b[1m"), "bold overall line: {}", tail(&out));
    assert!(!redraw_heights(&out).is_empty(), "{}", tail(&out));
    let (code, out) = on_terminal(
        home.path(),
        24,
        80,
        &format!("-q {args}").replacen("-q exec", "exec -q", 1),
        &[],
    );
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
    let inv = write(home.path(), "inv.yml", &inventory(&fleet, 2));
    let pb = write(
        home.path(),
        "pb.yml",
        "- name: Check\n  hosts: all\n  gather_facts: false\n  tasks:\n\
         \x20   - name: Say\n      command: echo hi\n\
         \x20   - name: Only node01 passes\n      shell: test {{ inventory_hostname }} = node01\n",
    );
    let run = clearfleet(home.path())
        .args(["run", "-f", "1", "--known-hosts"])
        .arg(fleet.known_hosts_path())
        .arg("-i")
        .arg(&inv)
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
        .args(["exec", "-f", "1", "--known-hosts"])
        .arg(fleet.known_hosts_path())
        .arg("-i")
        .arg(&inv)
        .args(["--", "echo out-$((6*7))"])
        .run();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        redact_times(&run.stdout),
        "node01 | ok | rc=0 | T\nout-42\nnode02 | ok | rc=0 | T\nout-42\n\nRECAP\nnode01  ok\nnode02  ok\n2 hosts in T: 2 ok\n"
    );
}

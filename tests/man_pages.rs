//! `clearfleet man`: the pages generated from the command line's definitions render with the
//! real `man` (man-db, installed by scripts/setup-test-env.sh) and hold every command and
//! option that `--help` shows.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::cli::{clearfleet, temp_home, write};

/// Every command, each with its own page.
const COMMANDS: &[&str] = &[
    "inventory",
    "ping",
    "exec",
    "detect",
    "run",
    "upgrade",
    "plan",
    "releases",
    "completions",
    "man",
];

/// `roff` rendered by `man -l -`, wide and without hyphenation so that words stay whole.
fn render(roff: &[u8]) -> String {
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "250")
        .env("MANPAGER", "cat")
        .env("MANROFFOPT", "-rHY=0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("man: {e} (scripts/setup-test-env.sh installs man-db)"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(roff)
            .unwrap_or_else(|e| panic!("man stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("man: {e}"));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "man -l: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The long options `clearfleet ARGS --help` lists.
fn long_options(home: &Path, args: &[&str]) -> Vec<String> {
    let run = clearfleet(home).args(args).arg("--help").run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut opts: Vec<String> = run
        .stdout
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '<' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_owned()
        })
        .collect();
    opts.sort();
    opts.dedup();
    opts
}

fn version(home: &Path) -> String {
    let run = clearfleet(home).arg("--version").run();
    run.stdout
        .trim()
        .strip_prefix("clearfleet ")
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .to_owned()
}

#[test]
fn the_main_page_renders_with_every_command() {
    let home = temp_home();
    let run = clearfleet(home.path()).arg("man").run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let version = version(home.path());
    // Dated with the commit the binary was built from (none outside git).
    let date = version
        .rsplit_once(' ')
        .map(|(_, d)| d.trim_end_matches(')'))
        .filter(|d| d.len() == 10)
        .unwrap_or("");
    assert!(
        run.stdout.contains(&format!(".TH clearfleet 1 {date} ")),
        "{}",
        run.stdout
    );
    let text = render(run.stdout.as_bytes());
    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUBCOMMANDS",
        "VERSION",
    ] {
        assert!(
            text.lines().any(|l| l == heading),
            "no {heading} in\n{text}"
        );
    }
    assert!(
        text.contains("clearfleet - Upgrade fleets of self-hosted ClearML servers over SSH"),
        "{text}"
    );
    for cmd in COMMANDS {
        assert!(
            text.contains(&format!("       clearfleet-{cmd}(1)\n")),
            "clearfleet-{cmd}(1) not listed in\n{text}"
        );
    }
    assert!(text.contains(&format!("v{version}")), "{text}");
}

#[test]
fn dir_writes_one_page_per_command_with_every_option() {
    let home = temp_home();
    let dir = home.path().join("share/man/man1");
    let run = clearfleet(home.path())
        .args(["man", "--dir"])
        .arg(&dir)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("clearfleet-{c}.1"))
        .chain(["clearfleet.1".to_owned()])
        .collect();
    want.sort();
    assert_eq!(pages, want);
    // The main page is the one `clearfleet man` prints.
    let printed = clearfleet(home.path()).arg("man").run().stdout;
    let written = std::fs::read_to_string(dir.join("clearfleet.1")).unwrap_or_default();
    assert_eq!(written, printed);
    for cmd in COMMANDS {
        let roff = std::fs::read(dir.join(format!("clearfleet-{cmd}.1")))
            .unwrap_or_else(|e| panic!("clearfleet-{cmd}.1: {e}"));
        let text = render(&roff);
        assert!(
            text.starts_with(&format!("clearfleet-{cmd}(1)")),
            "{}",
            &text[..text.len().min(200)]
        );
        let options = long_options(home.path(), &[cmd]);
        assert!(options.iter().any(|o| o == "--help"), "{options:?}");
        for opt in options {
            assert!(
                text.contains(&opt),
                "{opt} of `clearfleet {cmd} --help` is not in clearfleet-{cmd}.1:\n{text}"
            );
        }
    }
    // An option's help follows it (justified: one space between words here).
    let upgrade = render(&std::fs::read(dir.join("clearfleet-upgrade.1")).unwrap_or_default());
    let words = upgrade.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(
            "--allow-es-migration Run Trains 0.16's Elasticsearch 5 → 7 migration script"
        ),
        "{upgrade}"
    );
}

#[test]
fn a_dir_that_cannot_be_made_is_an_error_naming_it() {
    let home = temp_home();
    let file = write(home.path(), "not-a-dir", "");
    let run = clearfleet(home.path())
        .args(["man", "--dir"])
        .arg(file.join("man1"))
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(&format!(
            "error: failed to write the man page {}: ",
            file.join("man1").display()
        )),
        "{}",
        run.stderr
    );
}

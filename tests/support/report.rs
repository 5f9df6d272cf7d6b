//! Reading `--report-dir` output in tests: every file, JUnit through Python's XML parser, the
//! HTML page through headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under `dir` (recursively), sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` (recursively) with its text, sorted by path.
pub fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    walk(dir)
        .into_iter()
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
            (p, text)
        })
        .collect()
}

/// Parses `junit.xml` with Python's xml.etree and checks the schema's shape and that the
/// counts agree with the test cases: `tests`, `failures` and `errors` in total.
pub fn check_junit(path: &Path, tests: usize, failures: usize, errors: usize) {
    const SCRIPT: &str = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites', root.tag
total = {'tests': 0, 'failures': 0, 'errors': 0, 'skipped': 0}
for suite in root:
    assert suite.tag == 'testsuite', suite.tag
    cases = list(suite)
    assert all(c.tag == 'testcase' for c in cases)
    assert all(c.get('name') and c.get('classname') and c.get('time') for c in cases)
    counts = {
        'tests': len(cases),
        'failures': sum(1 for c in cases if c.find('failure') is not None),
        'errors': sum(1 for c in cases if c.find('error') is not None),
        'skipped': sum(1 for c in cases if c.find('skipped') is not None),
    }
    for k, v in counts.items():
        assert int(suite.get(k)) == v, (suite.get('name'), k, suite.get(k), v)
        total[k] += v
    for c in cases:
        for f in list(c):
            if f.tag == 'properties':
                assert all(p.tag == 'property' and p.get('name') and p.get('value') is not None for p in f), f
                continue
            assert f.tag in ('failure', 'error', 'skipped'), f.tag
            assert f.get('message') is not None and f.get('type'), f.attrib
for k, v in total.items():
    assert int(root.get(k)) == v, (k, root.get(k), v)
float(root.get('time'))
print(total['tests'], total['failures'], total['errors'])
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        out.status.success(),
        "junit.xml rejected: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{tests} {failures} {errors}"),
        "{text}"
    );
}

/// The DOM of `page` (a path, with an optional `#fragment`) after its scripts ran, and Chromium's log, or `None` (with a message)
/// when Chromium is not installed and `CI` is not set. Under `CI` a missing browser fails.
pub fn chromium_dom(page: &Path, fragment: &str) -> Option<(String, String)> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(browser) = found else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is missing (scripts/setup-test-env.sh installs it) and CI is set"
        );
        eprintln!("skipped: chromium is not installed (run scripts/setup-test-env.sh)");
        return None;
    };
    let profile = tempfile::TempDir::new().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("file://{}{fragment}", page.display());
    let out = Command::new("timeout")
        .arg("120")
        .arg(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("{browser}: {e}"));
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{browser} failed: {log}");
    Some((dom, log))
}

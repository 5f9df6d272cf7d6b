//! `clearfleet_base::shlex::split` against Python's own `shlex.split`, with and without
//! comments, on a fixed corpus and on generated strings of the characters shlex treats
//! specially (skipped, with a note, where no `python3` is installed).

use clearfleet_base::shlex::split;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

/// Hand-picked lines: module command lines, INI host lines, and each rule of shlex.
const CORPUS: &[&str] = &[
    r#""a \$HOME""#,
    "a\\\nb",
    "\"a\\\nb\"",
    "x # c",
    "a#b c",
    "a # c\nd e",
    r#"echo 'a b' "c \"d\" \q" e\ f"#,
    "echo 'oops",
    "echo \"oops",
    "trailing\\",
    "\"inside\\",
    "''",
    "\"\"",
    "a''b",
    "   ",
    "",
    "\t a \r\n b ",
    "h a='x y' b=\"q\\\"z\" c=d#e f",
    "web01 ansible_host=10.0.0.1 ansible_port=2222 # the first",
    "db[a:b] http_port=80 'with space'=1",
    "touch /x creates=/x chdir='/a b'",
    "echo \"$(id)\" '$(id)' \\$(id)",
    r#"printf '%s\n' "a\\b" 'c\\d' e\\f"#,
    "a\u{b}b\u{c}c\u{a0}d",
    "é \"ü # ö\" 'ß'",
    "\\#not-a-comment # a comment",
    "'#' \"#\" #",
    "a\"b\"'c'd",
    "#only a comment\nnext line",
    "echo \"\\\\\" '\\\\' \\\\",
    "one\\ two\\\tthree",
];

/// Python's answer for each line: `[words with comments=False, words with comments=True]`, or
/// `{"error": message}` in place of a list.
const PYTHON: &str = r#"
import json, shlex, sys
out = []
for line in json.load(sys.stdin):
    pair = []
    for comments in (False, True):
        try:
            pair.append(shlex.split(line, comments=comments))
        except ValueError as e:
            pair.append({"error": str(e)})
    out.append(pair)
json.dump(out, sys.stdout)
"#;

/// Lines of up to 12 characters drawn from the ones shlex cares about, from a fixed seed.
fn generated(count: usize) -> Vec<String> {
    const ALPHABET: &[char] = &[
        'a', 'b', ' ', '\t', '\n', '\'', '"', '\\', '#', '$', 'é', '=',
    ];
    let mut state: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        // Knuth's MMIX linear congruential generator.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|_| {
            let len = next() % 13;
            (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect()
        })
        .collect()
}

fn ours(line: &str, comments: bool) -> Value {
    match split(line, comments) {
        Ok(words) => json!(words),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

#[test]
fn split_matches_python_shlex() {
    let mut lines: Vec<String> = CORPUS.iter().map(|s| (*s).to_owned()).collect();
    lines.extend(generated(2000));
    let child = Command::new("python3")
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: python3 is not installed; shlex_python compares nothing");
            return;
        }
        Err(e) => panic!("python3: {e}"),
    };
    let input = serde_json::to_vec(&lines).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&input)
            .unwrap_or_else(|e| panic!("python3 stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: Vec<[Value; 2]> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("python3 printed no answer list ({e})"));
    assert_eq!(python.len(), lines.len());
    let mut differences = Vec::new();
    for (line, [plain, commented]) in lines.iter().zip(&python) {
        for (comments, want) in [(false, plain), (true, commented)] {
            let got = ours(line, comments);
            if &got != want {
                differences.push(format!(
                    "{line:?} comments={comments}: python {want}, clearfleet {got}"
                ));
            }
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} splits differ from Python:\n{}",
        differences.len(),
        lines.len() * 2,
        differences.join("\n")
    );
}

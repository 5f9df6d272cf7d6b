//! scripts/release packs what it says: run on the test build of the binary (`--binary`, no
//! second fat-LTO build), its archive holds exactly the binary, the completions and man pages
//! that binary generates, README.md and LICENSE, under one directory named after the version
//! and target, owned by 0:0 with fixed times, and its .sha256 passes `sha256sum -c`.

use std::path::Path;
use std::process::Command;

use crate::support::cli::{bin, clearfleet, temp_home, write};

/// The SHA-256 of the canonical Apache-2.0 text (https://www.apache.org/licenses/LICENSE-2.0.txt,
/// 11358 bytes), the licence the workspace declares.
const APACHE_2_0_SHA256: &str = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `program ARGS` in `dir`: (exit code, stdout, stderr).
fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let (code, stdout, stderr) = run(dir, program, args, env);
    assert_eq!(code, 0, "{program} {args:?}: {stdout}{stderr}");
    stdout
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_repository_licence_is_the_canonical_apache_2_0_text() {
    assert_eq!(sha256(&repo().join("LICENSE")), APACHE_2_0_SHA256);
}

#[test]
fn the_archive_holds_the_binary_completions_man_pages_readme_and_licence() {
    let home = temp_home();
    let tmp = home.path();
    // The test build without its debug info: the same program, packed in seconds.
    let binary = tmp.join("clearfleet");
    std::fs::copy(bin(), &binary).unwrap_or_else(|e| panic!("copy: {e}"));
    ok(tmp, "strip", &[&binary.display().to_string()], &[]);
    let version_line = ok(tmp, &binary.display().to_string(), &["--version"], &[]);
    let version = version_line.split_whitespace().nth(1).unwrap_or_default();

    let out = tmp.join("out");
    let stdout = ok(
        repo(),
        "scripts/release",
        &[
            "--binary",
            &binary.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--allow-dirty",
        ],
        &[("SOURCE_DATE_EPOCH", "1780000000")],
    );
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("{out:?}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let archive = files[0].clone();
    let name = archive
        .strip_suffix(".tar.gz")
        .unwrap_or_else(|| panic!("{files:?}"))
        .to_owned();
    assert_eq!(files[1], format!("{archive}.sha256"));
    assert!(
        name.starts_with(&format!("clearfleet-{version}-{}-", std::env::consts::ARCH)),
        "{name}"
    );
    assert!(stdout.contains(&archive), "{stdout}");

    // sha256sum's own format and check.
    let sums = std::fs::read_to_string(out.join(&files[1])).unwrap_or_default();
    assert_eq!(
        sums,
        format!("{}  {archive}\n", sha256(&out.join(&archive)))
    );
    let checked = ok(&out, "sha256sum", &["-c", &files[1]], &[]);
    assert_eq!(checked, format!("{archive}: OK\n"));

    // Exactly these entries, sorted, owned by 0:0, the binary alone executable, every time
    // SOURCE_DATE_EPOCH (2026-05-28 20:26:40 UTC).
    let listing = ok(
        &out,
        "tar",
        &["-tzvf", &archive, "--utc", "--full-time"],
        &[],
    );
    let mut entries = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert_eq!(fields[1], "0/0", "{line}");
        assert_eq!((fields[3], fields[4]), ("2026-05-28", "20:26:40"), "{line}");
        let path = fields[5]
            .strip_prefix(&format!("{name}/"))
            .unwrap_or_else(|| {
                assert_eq!(fields[5], format!("{name}/"), "{line}");
                ""
            });
        let want_mode = if path.is_empty() || path.ends_with('/') {
            "drwxr-xr-x"
        } else if path == "clearfleet" {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(fields[0], want_mode, "{line}");
        entries.push(path.to_owned());
    }
    let commands = [
        "completions",
        "detect",
        "exec",
        "inventory",
        "man",
        "ping",
        "plan",
        "releases",
        "run",
        "upgrade",
    ];
    let mut want: Vec<String> = [
        "",
        "LICENSE",
        "README.md",
        "clearfleet",
        "completions/",
        "completions/_clearfleet",
        "completions/clearfleet.bash",
        "completions/clearfleet.fish",
        "man/",
        "man/man1/",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain(
        commands
            .iter()
            .map(|c| format!("man/man1/clearfleet-{c}.1")),
    )
    .chain(["man/man1/clearfleet.1".to_owned()])
    .collect();
    want.sort();
    assert_eq!(entries, want, "{listing}");

    // Unpacked: the very binary, README and LICENSE of this repository, and the completions
    // and man pages that binary prints.
    ok(&out, "tar", &["-xzf", &archive], &[]);
    let unpacked = out.join(&name);
    assert_eq!(sha256(&unpacked.join("clearfleet")), sha256(&binary));
    assert_eq!(
        sha256(&unpacked.join("README.md")),
        sha256(&repo().join("README.md"))
    );
    assert_eq!(sha256(&unpacked.join("LICENSE")), APACHE_2_0_SHA256);
    for (shell, file) in [
        ("bash", "clearfleet.bash"),
        ("zsh", "_clearfleet"),
        ("fish", "clearfleet.fish"),
    ] {
        let printed = clearfleet(tmp).args(["completions", shell]).run().stdout;
        let packed =
            std::fs::read_to_string(unpacked.join("completions").join(file)).unwrap_or_default();
        assert_eq!(packed, printed, "completions/{file}");
    }
    let pages = tmp.join("pages");
    let run = clearfleet(tmp).args(["man", "--dir"]).arg(&pages).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    for c in commands
        .iter()
        .map(|c| format!("clearfleet-{c}.1"))
        .chain(["clearfleet.1".into()])
    {
        assert_eq!(
            sha256(&unpacked.join("man/man1").join(&c)),
            sha256(&pages.join(&c)),
            "{c}"
        );
    }
    let packed_version = ok(
        tmp,
        &unpacked.join("clearfleet").display().to_string(),
        &["--version"],
        &[],
    );
    assert_eq!(packed_version, version_line);
}

#[test]
fn a_binary_built_from_changed_sources_is_refused_unless_allowed() {
    let home = temp_home();
    let tmp = home.path();
    // A stand-in that answers --version as a -dirty build does.
    let stub = write(
        tmp,
        "clearfleet",
        "#!/bin/sh\necho 'clearfleet 9.9.9 (abc1234-dirty 2026-01-02)'\n",
    );
    ok(tmp, "chmod", &["+x", &stub.display().to_string()], &[]);
    let out = tmp.join("out");
    let (code, _, stderr) = run(
        repo(),
        "scripts/release",
        &[
            "--binary",
            &stub.display().to_string(),
            "--out",
            &out.display().to_string(),
        ],
        &[],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("was built from sources that differ from its commit (clearfleet 9.9.9 (abc1234-dirty 2026-01-02)): commit first, or --allow-dirty"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is written");
}

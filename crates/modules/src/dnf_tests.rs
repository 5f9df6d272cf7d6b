//! Unit tests of `dnf`: its arguments, the look's parsing and decisions, and the reading of
//! `dnf shell`'s output, with texts as dnf 4.14 prints them.

use super::*;
use crate::dnf_look::{Look, Query, parse as parse_look};
use crate::dnf_output::parse as parse_output;

fn args(v: Value) -> DnfArgs {
    DnfArgs::parse(&v).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn names_are_stripped_and_split_at_commas_as_yumdnf_does() {
    let a = args(json!({"name": [" a,b ", "c"], "state": "removed"}));
    assert_eq!(a.names, ["c", "a", "b"]);
    assert_eq!(a.state, Some(DnfState::Absent));
    assert_eq!(args(json!({"name": ""})).names, Vec::<String>::new());
    assert_eq!(
        args(json!({"pkg": "x", "state": "installed"})).state,
        Some(DnfState::Present)
    );
}

#[test]
fn name_and_list_exclude_each_other() {
    let e = DnfArgs::parse(&json!({"name": "a", "list": "installed"}))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("parameters are mutually exclusive: name|list")
    );
    assert!(DnfArgs::parse(&json!({"best": true, "nobest": true})).is_err());
}

#[test]
fn options_follow_configure_base() {
    let a = args(
        json!({"name": "a", "installroot": "/r", "disable_gpg_check": true,
                        "disablerepo": "*", "enablerepo": "local", "autoremove": true,
                        "state": "absent", "nobest": true}),
    );
    let o = a.options();
    assert!(
        o.starts_with("$cf_conf --installroot=/r --releasever=/ --nogpgcheck"),
        "{o}"
    );
    assert!(o.contains("--setopt=best=False"), "{o}");
    assert!(
        o.contains("--setopt=clean_requirements_on_remove=True"),
        "{o}"
    );
    let dis = o.find("--disablerepo").unwrap_or(usize::MAX);
    let en = o.find("--enablerepo").unwrap_or(0);
    assert!(dis < en, "disabled first, then enabled: {o}");
    let plain = args(json!({"name": "a", "releasever": "9"})).options();
    assert!(
        plain.starts_with("--releasever=9 --setopt=gpgcheck=True"),
        "{plain}"
    );
}

const LOOK: &str = "U 0\nC 1\n\
Q tiny|0|2.0|1|noarch|@System|1700000000\n\
Q dep|0|1.0|1|noarch|@System|1700000000\n\
R 0\n\
S 0\n\
A tiny|0|1.0|1|noarch|local\n\
S 1\n\
I tiny|0|2.0|1|noarch|@System|1700000000\n\
S 2\n\
S 3\n\
V tiny|0|2.0|1|noarch|local\n\
S 4\n\
A Tiny2|0|1.0|1|noarch|local\n\
E VW5hYmxlIHRvIGRldGVjdCByZWxlYXNlIHZlcnNpb24K\n";

fn look() -> Look {
    let q = |s: &str| Query::Spec(s.to_owned());
    parse_look(
        LOOK,
        &[
            q("tiny-1.0"),
            q("tiny"),
            q("nope"),
            q("tinyish"),
            q("tiny2"),
        ],
    )
}

#[test]
fn the_look_decides_as_dnf_py_does() {
    let l = look();
    assert_eq!(l.uid, Some(0));
    assert!(l.no_releasever && l.repo_error.is_none());
    // tiny-1.0 is older than the installed tiny-2.0: not installed, newer installed.
    assert!(l.spec_newer_installed("tiny-1.0") && !l.installed("tiny-1.0"));
    assert!(l.installed("tiny") && !l.spec_newer_installed("tiny"));
    assert!(!l.installed("nope") && !l.available("nope"));
    // Only a provide matches: available, not installed.
    assert!(l.available("tinyish") && !l.installed("tinyish"));
    // repoquery matched a name of another case: hawkey's Subject would not.
    assert!(!l.available("tiny2"));
}

#[test]
fn marks_follow_mark_package_install() {
    let l = look();
    let names = |v: &[&str]| {
        v.iter()
            .map(|s| Name::Spec((*s).to_owned()))
            .collect::<Vec<_>>()
    };
    let a = args(json!({"name": "x"}));
    let m = mark(
        &a,
        DnfState::Latest,
        &names(&["tiny-1.0", "tiny", "nope", "ti*"]),
        false,
        &l,
    )
    .unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(m.lines, ["upgrade tiny", "upgrade 'ti*'", "install 'ti*'"]);
    assert_eq!(m.failures, ["No package nope available."]);
    let down = args(json!({"name": "x", "allow_downgrade": true}));
    let m = mark(&down, DnfState::Present, &names(&["tiny-1.0"]), false, &l)
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(m.lines, ["install tiny-1.0"]);
    let m = mark(&a, DnfState::Absent, &names(&["nope", "tiny"]), false, &l)
        .unwrap_or_else(|r| panic!("{r:?}"));
    assert_eq!(m.lines, ["remove tiny"]);
    assert_eq!(m.results, ["No match for argument: nope"]);
    assert!(m.allowerasing);
}

#[test]
fn a_failed_cache_is_dnfs_error_line() {
    let l = parse_look(
        "U 0\nR 1\nE RXJyb3I6IEZhaWxlZCB0byBkb3dubG9hZCBtZXRhZGF0YSBmb3IgcmVwbyAnbG9jYWwnCg==\n",
        &[],
    );
    assert_eq!(
        l.repo_error.as_deref(),
        Some("Failed to download metadata for repo 'local'")
    );
}

const UPGRADE: &str = "\
local                                           704 kB/s | 1.5 kB     00:00
================================================================================
 Package           Architecture       Version           Repository         Size
================================================================================
Installing:
 app               noarch             1.0-1             local             5.9 k
 a-package-name-longer-than-its-column
                   noarch             2:3.0-1           local             5.9 k
     replacing  old.noarch 1.0-1
Upgrading:
 tiny              noarch             2.0-1             local             5.9 k
Installing dependencies:
 dep               noarch             1.0-1             local             5.9 k
Removing:
 gone              noarch             1.0-1             @local              4
Skipping packages with broken dependencies:
 broken            noarch             1.0-1             local             5.9 k

Transaction Summary
================================================================================
Install  3 Packages
Downloading Packages:
Package a-package-name-longer-than-its-column-3.0-1.noarch.rpm is not signed
Error: GPG check FAILED
";

#[test]
fn the_table_gives_what_is_installed_and_removed() {
    let o = parse_output(UPGRADE, false);
    let nevras: Vec<(String, bool)> = o
        .install
        .iter()
        .map(|p| (p.pkg.nevra(), p.replaces))
        .collect();
    assert_eq!(
        nevras,
        [
            ("app-1.0-1.noarch".to_owned(), false),
            (
                "a-package-name-longer-than-its-column-2:3.0-1.noarch".to_owned(),
                false
            ),
            ("tiny-2.0-1.noarch".to_owned(), true),
            ("dep-1.0-1.noarch".to_owned(), false),
        ]
    );
    assert_eq!(o.remove, ["old-1.0-1.noarch", "gone-1.0-1.noarch"]);
    assert_eq!(
        o.gpg.as_deref(),
        Some("Package a-package-name-longer-than-its-column-3.0-1.noarch.rpm is not signed")
    );
    assert!(o.problem.is_none() && o.error.is_none());
}

#[test]
fn a_problem_and_an_aborted_check_are_read() {
    let out = "\n Problem: conflicting requests\n  - nothing provides x needed by b-1-1.noarch\n\
               ================================================================================\n \
               Package Architecture Version Repository Size\n\
               ================================================================================\n\
               Skipping packages with broken dependencies:\n b noarch 1-1 local 5.9 k\n\n\
               Transaction Summary\nError: Operation aborted.\n";
    let o = parse_output(out, true);
    assert_eq!(
        o.problem.as_deref(),
        Some("\n Problem: conflicting requests\n  - nothing provides x needed by b-1-1.noarch")
    );
    assert!(o.install.is_empty() && o.error.is_none());
    let failed = parse_output(
        "=====\n Package\n=====\nInstalling:\n a noarch 1-1 local 1 k\n\nError: Transaction test error:\n  file /x conflicts\n",
        false,
    );
    assert_eq!(
        failed.error.as_deref(),
        Some("Transaction test error:\n  file /x conflicts")
    );
}

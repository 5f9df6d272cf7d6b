//! Unit tests of [`super`]: relations parsed as `apt_pkg.parse_depends`, and python-apt's
//! `DebPackage.check` decisions.

use super::*;

fn deb(fields: &[(&str, &str)]) -> Deb {
    Deb {
        file: "/x.deb".to_owned(),
        unreadable: None,
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn installed(v: &str) -> Found {
    Found {
        installed_version: Some(v.to_owned()),
        versions: vec![v.to_owned()],
        candidate: Some(v.to_owned()),
        ..Found::default()
    }
}

#[test]
fn relations_parse_as_apt_pkg() {
    let d = parse_depends("a (>= 1.0), b | c (<< 2) [amd64], d:any (>> 3), e (< 4)");
    assert_eq!(d.len(), 4);
    assert_eq!(
        d[0],
        [Dep {
            name: "a".into(),
            op: ">=".into(),
            version: "1.0".into()
        }]
    );
    assert_eq!(d[1][0].name, "b");
    assert_eq!((d[1][1].op.as_str(), d[1][1].version.as_str()), ("<", "2"));
    assert_eq!((d[2][0].name.as_str(), d[2][0].op.as_str()), ("d:any", ">"));
    assert_eq!(d[3][0].op, "<=");
    assert!(parse_depends("").is_empty());
}

#[test]
fn check_as_debpackage_check() {
    let none = |_: &str| Found::default();
    let tiny = deb(&[
        ("Package", "tiny"),
        ("Version", "1.0"),
        ("Architecture", "all"),
    ]);
    assert_eq!(check(&tiny, "amd64", &none), Check::default());
    let newer = |n: &str| match n {
        "tiny" => installed("2.0"),
        _ => Found::default(),
    };
    assert_eq!(
        check(&tiny, "amd64", &newer).failure.as_deref(),
        Some("A later version is already installed")
    );
    let foreign = deb(&[
        ("Package", "x"),
        ("Version", "1"),
        ("Architecture", "arm64"),
    ]);
    assert!(
        check(&foreign, "amd64", &none)
            .failure
            .is_some_and(|f| f.starts_with("Wrong architecture 'arm64'"))
    );
    let app = deb(&[
        ("Package", "app"),
        ("Version", "1"),
        ("Architecture", "all"),
        ("Depends", "bash, hello (>= 2.0), nothing | never (>= 1)"),
    ]);
    let world = |n: &str| match n {
        "bash" => installed("5.2"),
        "hello" => Found {
            versions: vec!["2.10-3".into()],
            candidate: Some("2.10-3".into()),
            ..Found::default()
        },
        _ => Found::default(),
    };
    assert_eq!(
        check(&app, "amd64", &world),
        Check {
            failure: Some("Dependency is not satisfiable: nothing ( )|never (>= 1)\n".into()),
            missing: vec!["hello".into()],
        }
    );
    let conflicting = deb(&[
        ("Package", "c"),
        ("Version", "1"),
        ("Architecture", "all"),
        ("Conflicts", "bash (<< 9)"),
    ]);
    assert_eq!(
        check(&conflicting, "amd64", &world).failure.as_deref(),
        Some("Conflicts with the installed package 'bash'")
    );
}

#[test]
fn the_look_is_read_per_file() {
    let look = parse_look(
        "tmp /tmp/w\narch amd64\ndeb /a.deb\nfield Package a\nfield Version 1.0 \ndeb /b.deb\nmissing\n",
    );
    assert_eq!(look.tmp.as_deref(), Some("/tmp/w"));
    assert_eq!(look.native, "amd64");
    assert_eq!(look.debs[0].field("Version"), "1.0");
    assert_eq!(
        look.debs[1].unreadable.as_deref(),
        Some("E:Could not open file /b.deb - open (2: No such file or directory)")
    );
}

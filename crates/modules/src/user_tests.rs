//! Unit tests of `user`'s `local: true` (libuser): its argument checks, the command lines
//! `luseradd` and `lusermod` get, and what `lchage` and `lgroupmod` are left to do.

use super::*;
use serde_json::json;

fn args(v: Value) -> UserArgs {
    UserArgs::parse(&v).unwrap_or_else(|e| panic!("{e}"))
}

fn group(name: &str, gid: u32, members: &[&str]) -> Group {
    Group {
        name: name.to_owned(),
        gid,
        members: members.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn found(passwd: Option<Passwd>, expire: i64, groups: Vec<Group>) -> Found {
    Found {
        passwd,
        shadow: Some(Shadow {
            hash: "!".to_owned(),
            expire,
        }),
        groups,
        home_exists: true,
        key: None,
        expiry: ExpiryReport::parse("", "m"),
    }
}

fn text(cmd: &[Word]) -> Vec<String> {
    cmd.iter()
        .map(|w| match w {
            Word::Lit(s) => s.clone(),
            Word::Secret(p) => format!("{p}SECRET"),
        })
        .collect()
}

#[test]
fn umask_uid_min_and_uid_max_fail_with_local_when_the_task_runs() {
    for (key, value) in [
        ("umask", json!("077")),
        ("uid_min", json!(1)),
        ("uid_max", json!(2)),
    ] {
        let e = UserArgs::parse(&json!({"name": "u", "local": true, key: value}))
            .err()
            .unwrap_or_else(|| panic!("{key} accepted"));
        assert!(e.at_run_time, "{key}");
        assert_eq!(e.message, format!("'{key}' can not be used with 'local'"));
        assert!(UserArgs::parse(&json!({"name": "u", key: value})).is_ok());
    }
}

#[test]
fn luseradd_gets_no_g_e_or_m_and_n_for_an_existing_group_then_lchage_and_lgroupmod() {
    let a = args(json!({"name": "u", "local": true, "groups": ["g1", "g2"],
        "expires": 1900000000, "comment": "C", "password": "$6$x"}));
    let f = found(
        None,
        -1,
        vec![group("g1", 5, &[]), group("g2", 6, &[]), group("u", 7, &[])],
    );
    let commands = useradd(&a, &f).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Vec<String>> = commands.iter().map(|c| text(c)).collect();
    assert_eq!(
        lines,
        [
            vec!["luseradd", "-n", "-c", "C", "-p", "SECRET", "u"],
            vec!["lchage", "-E", "21990", "u"],
            vec!["lgroupmod", "-M", "u", "g1"],
            vec!["lgroupmod", "-M", "u", "g2"],
        ]
    );
    let plain = args(json!({"name": "u", "groups": ["g1"], "expires": -5}));
    let line = text(&useradd(&plain, &f).unwrap_or_default()[0]);
    assert_eq!(line, ["useradd", "-N", "-G", "g1", "-e", "", "-m", "u"]);
    let missing = args(json!({"name": "u", "local": true, "groups": ["nosuch"]}));
    assert_eq!(
        useradd(&missing, &f).err().as_deref(),
        Some("Group nosuch does not exist")
    );
}

#[test]
fn lusermod_is_left_groups_and_expiry_to_lgroupmod_and_lchage() {
    let info = Passwd::parse("u:x:1001:1001:C:/home/u:/bin/sh").unwrap_or_else(|| panic!());
    let groups = vec![
        group("g1", 5, &["u"]),
        group("g2", 6, &[]),
        group("g3", 7, &["u"]),
    ];
    let f = found(Some(info.clone()), 21990, groups);
    let a = args(json!({"name": "u", "local": true, "groups": ["g2", "g3"],
        "shell": "/bin/bash", "expires": -1}));
    let (options, steps) = usermod(&a, &info, &f).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&options), ["-s", "/bin/bash"]);
    assert_eq!(
        steps,
        LibuserSteps {
            expire_days: Some(-1),
            join: vec!["g2".to_owned()],
            leave: vec!["g1".to_owned()],
        }
    );
    // Appending: no `-a` (lusermod has none), nothing left.
    let a = args(json!({"name": "u", "local": true, "groups": ["g2"], "append": true}));
    let (options, steps) = usermod(&a, &info, &f).unwrap_or_else(|e| panic!("{e}"));
    assert!(options.is_empty());
    assert_eq!(steps.join, ["g2"]);
    assert!(steps.leave.is_empty());
    // The same expiry: nothing to do.
    let a = args(json!({"name": "u", "local": true, "expires": 1900000000}));
    let (options, steps) = usermod(&a, &info, &f).unwrap_or_else(|e| panic!("{e}"));
    assert!(options.is_empty() && steps.is_empty());
}

#[test]
fn local_reads_etc_passwd_for_the_account() {
    let a = args(json!({"name": "root", "local": true}));
    let out = |local: &str| format!("root:x:0:0:root:/root:/bin/bash\nm\n{local}m\nm\nm\nm\nm\n");
    let seen = |o: String| parse_found(&a, &o, "m").map(|f| f.passwd.is_some());
    assert_eq!(seen(out("local\n")), Ok(true));
    // NSS has it, /etc/passwd not: a new account for libuser.
    assert_eq!(seen(out("")), Ok(false));
    assert_eq!(
        seen(out("no-local-file\n")),
        Err(
            "'local: true' specified but unable to find local account file /etc/passwd to \
             parse."
                .to_owned()
        )
    );
}

#[test]
fn expire_days_floors_and_never_is_minus_one() {
    assert_eq!(expire_days(1900000000.0), 21990);
    assert_eq!(expire_days(86399.9), 0);
    assert_eq!(expire_days(-0.5), -1);
}

//! Runs the `clearfleet inventory` binary on the fixture inventories, and compares it with the
//! real `ansible-inventory`/`ansible` when available (differential test).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory")
}

fn fx(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

fn ours(sources: &[&str], args: &[&str]) -> Output {
    let mut cmd = match Command::cargo_bin("clearfleet") {
        Ok(c) => c,
        Err(e) => panic!("binary not built: {e}"),
    };
    cmd.arg("inventory");
    for s in sources {
        cmd.arg("-i").arg(fx(s));
    }
    match cmd.args(args).output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run clearfleet: {e}"),
    }
}

fn ours_ok(sources: &[&str], args: &[&str]) -> String {
    let o = ours(sources, args);
    assert!(
        o.status.success(),
        "clearfleet {args:?} on {sources:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ours_err(source: &str) -> String {
    let o = ours(&[source], &["--list"]);
    assert!(!o.status.success(), "{source} should fail");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn list_yaml_nested() {
    let v = json(&ours_ok(&["yaml_nested/hosts.yml"], &["--list"]));
    // web and db are listed under `all: children:` too, so they stay children of all.
    assert_eq!(
        v["all"]["children"],
        serde_json::json!(["ungrouped", "web", "db", "prod", "staging"])
    );
    assert_eq!(v["prod"]["children"], serde_json::json!(["web", "db"]));
    assert_eq!(v["db"]["children"], serde_json::json!(["pg", "mysql"]));
    assert_eq!(
        v["ungrouped"]["hosts"],
        serde_json::json!(["bastion.example.com"])
    );
    let hv = &v["_meta"]["hostvars"];
    assert_eq!(hv["web01.example.com"]["level"], "web");
    assert_eq!(hv["pga.example.com"]["level"], "pg");
    assert_eq!(hv["bastion.example.com"]["level"], "host");
    assert_eq!(hv["web04.example.com"]["ansible_port"], 2222);
    // staging has priority 10: it wins over prod at the same depth... but web is deeper.
    assert_eq!(hv["web02.example.com"]["env"], "staging");
    assert_eq!(hv["web01.example.com"]["env"], "production");
    assert_eq!(hv["web01.example.com"]["mode"], 493);
    assert_eq!(hv["web01.example.com"]["enabled"], true);
    assert_eq!(v["_meta"]["profile"], "inventory_legacy");
}

#[test]
fn list_is_python_json_layout() {
    let out = ours_ok(&["two/first.yml", "two/second.ini"], &["--list"]);
    assert!(
        out.starts_with("{\n    \"_meta\": {\n        \"hostvars\": {\n"),
        "{out}"
    );
    assert!(out.ends_with("\n}\n"), "{out}");
    let v = json(&out);
    assert_eq!(v["_meta"]["hostvars"]["app1"]["x"], "from-second");
    assert_eq!(
        v["app"]["hosts"],
        serde_json::json!(["app1", "app2", "app3"])
    );
}

#[test]
fn group_vars_and_host_vars_precedence() {
    let v = json(&ours_ok(&["with_vars/inventory.ini"], &["--list"]));
    let hv = &v["_meta"]["hostvars"];
    assert_eq!(hv["web01"]["level"], "hv-web01");
    assert_eq!(hv["web02"]["level"], "gv-web-b");
    assert_eq!(hv["web02"]["web_a"], 1);
    assert_eq!(hv["web02"]["from_all"], "overridden-by-later-file");
    assert_eq!(hv["db01"]["level"], "hv-db01");
    assert_eq!(hv["db01"]["prod_file"], true);
    assert_eq!(hv["db01"]["inline_only"], "prod");
    assert!(
        hv["db01"].get("db_json").is_none(),
        "db.yml wins over db.json"
    );
}

#[test]
fn literal_values_from_ini() {
    let v = json(&ours_ok(&["ini_literals/hosts"], &["--host", "h1"]));
    assert_eq!(v["int"], 42);
    assert_eq!(v["float"], 2.5);
    assert_eq!(v["t"], true);
    assert_eq!(v["none"], Value::Null);
    assert_eq!(v["str"], "quoted string");
    assert_eq!(v["octal"], "0755");
    assert_eq!(v["list"], serde_json::json!([1, "two", 3.0]));
    assert_eq!(v["dict"], serde_json::json!({"k": "v", "n": [1, 2]}));
}

#[test]
fn graph_output() {
    let out = ours_ok(&["dir_inventory"], &["--graph"]);
    assert_eq!(
        out,
        "@all:\n  |--@ungrouped:\n  |--@site:\n  |  |--@lb:\n  |  |  |--lb1\n  |  |  |--lb2\n  |  |  |--lb3\n  |  |--@workers:\n  |  |  |--w1\n  |  |  |--w2\n  |  |  |--w3\n  |  |  |--w4\n"
    );
    assert_eq!(
        ours_ok(&["dir_inventory"], &["--graph", "lb"]),
        "@lb:\n  |--lb1\n  |--lb2\n  |--lb3\n"
    );
    let o = ours(&["dir_inventory"], &["--graph", "nope"]);
    assert!(!o.status.success());
}

#[test]
fn list_hosts_with_limit() {
    let run = |pat: &str| ours_ok(&["ini_ranges/hosts.ini"], &["--list-hosts", "--limit", pat]);
    assert_eq!(run("db"), "db1\ndb2\n");
    assert_eq!(run("web[0:1]"), "web01\nweb02\n");
    assert_eq!(run("dc1:&backup"), "db2\n");
    assert_eq!(run("backup:!db2"), "lone.example.com\n");
    assert_eq!(run("nothing"), "");
    let limit = format!("@{}", fx("limit.txt"));
    assert_eq!(run(&limit), "db1\nweb01\n");
    let o = ours(
        &["ini_ranges/hosts.ini"],
        &["--list-hosts", "--limit", "~web("],
    );
    assert!(!o.status.success());
}

#[test]
fn errors_point_at_file_line_column() {
    let e = ours_err("errors/unknown_key.yml");
    assert!(e.contains("unknown_key.yml:4:7: unknown key `hots`"), "{e}");
    assert!(e.contains("4 |       hots:"), "{e}");
    assert!(e.contains("= hint: did you mean `hosts`?"), "{e}");
    let e = ours_err("errors/vars_without_eq.ini");
    assert!(
        e.contains("vars_without_eq.ini:4:1: expected key=value"),
        "{e}"
    );
    let e = ours_err("errors/bad_range.ini");
    assert!(e.contains("bad_range.ini:2:1: host range `[3:1]`"), "{e}");
    let e = ours_err("errors/cycle.ini");
    assert!(e.contains("cycle.ini:8:1:"), "{e}");
    assert!(e.contains("loop"), "{e}");
    let e = ours_err("errors/bad_section.ini");
    assert!(
        e.contains("bad_section.ini:1:5: unclosed section header"),
        "{e}"
    );
    let e = ours_err("does/not/exist.ini");
    assert!(e.contains("cannot read"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Differential test against ansible-core 2.19.

fn ansible_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLEARFLEET_ANSIBLE_BIN_DIR") {
        let dir = PathBuf::from(dir);
        return dir.join("ansible-inventory").is_file().then_some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .find(|d| d.join("ansible-inventory").is_file() && d.join("ansible").is_file())
}

fn ansible(bin: &Path, tool: &str, sources: &[&str], args: &[&str], home: &Path) -> Output {
    let mut cmd = std::process::Command::new(bin.join(tool));
    for s in sources {
        cmd.arg("-i").arg(fx(s));
    }
    cmd.args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("ANSIBLE_CONFIG", home.join("ansible.cfg"))
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "0")
        .env("ANSIBLE_LOCALHOST_WARNING", "0")
        .env(
            "PATH",
            std::env::join_paths([bin.to_path_buf()]).unwrap_or_default(),
        );
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run {tool}: {e}"),
    }
}

struct Case {
    sources: &'static [&'static str],
    patterns: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        sources: &["edge_ini/hosts.ini"],
        patterns: &[
            "all",
            "ungrouped",
            "g",
            "parent",
            "2001:db8::1",
            "10.1.2.3",
            "~10\\.",
            "g[0]",
            "g:&ungrouped",
            "*",
        ],
    },
    Case {
        sources: &["edge_yaml/hosts.yaml"],
        patterns: &[
            "all", "shared", "aaa", "deep:low", "10.9.8.7", "~^1", "*[0]",
        ],
    },
    Case {
        sources: &["yaml_nested/hosts.yml"],
        patterns: &[
            "all",
            "*",
            "ungrouped",
            "web",
            "db",
            "pg:mysql",
            "web*",
            "*.example.com",
            "~web0[12]",
            "~(pg|my)",
            "prod:&staging",
            "staging:!web",
            "!db",
            "&staging",
            "web[0]",
            "web[-1]",
            "web[1:2]",
            "web[2:]",
            "pg?.example.com",
            "nothing",
            "localhost",
            "web,db",
            "db:web",
            "all:!prod",
            "web[0]:db[-1]",
            "*[1:]",
            "!*",
            "&web:!db",
            "prod[0:0]",
            "pg[1-2]",
            "WEB",
            "127.0.0.1",
            "db:&pg:!pga.example.com",
        ],
    },
    Case {
        sources: &["ini_ranges/hosts.ini"],
        patterns: &[
            "all",
            "web",
            "dc1",
            "monitor",
            "web[0:3]",
            "edge*",
            "edge[a-b]",
            "db1:web01",
            "dc1:&backup",
            "monitor:!web",
            "*.example.com",
            "~jump|lone",
            "backup[-1]",
            "jump",
            "ungrouped",
            "web[100:200]",
        ],
    },
    Case {
        sources: &["ini_literals/hosts"],
        patterns: &["all", "g", "h*", "ungrouped", "!g"],
    },
    Case {
        sources: &["ini_literals/odd.ini"],
        patterns: &["all"],
    },
    Case {
        sources: &["with_vars/inventory.ini"],
        patterns: &["all", "prod", "web:db", "prod:!web01", "db[0]"],
    },
    Case {
        sources: &["two/first.yml", "two/second.ini"],
        patterns: &["all", "app", "cache:app", "app[1]", "app*:&app"],
    },
    Case {
        sources: &["dir_inventory"],
        patterns: &[
            "all",
            "site",
            "lb:workers",
            "workers[-2:]",
            "w?",
            "!lb",
            "lb[0]:workers[0]",
        ],
    },
];

fn parse_list_hosts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.trim_start().starts_with("hosts ("))
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn differential_against_ansible() {
    let Some(bin) = ansible_bin_dir() else {
        let msg = "ansible-inventory not found (set CLEARFLEET_ANSIBLE_BIN_DIR or PATH; see scripts/install-ansible.sh)";
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but {msg}");
        }
        eprintln!("SKIPPED differential_against_ansible: {msg}");
        return;
    };
    let home = match tempfile::tempdir() {
        Ok(h) => h,
        Err(e) => panic!("tempdir: {e}"),
    };
    let _ = std::fs::write(home.path().join("ansible.cfg"), "[defaults]\n");
    let mut failures: Vec<String> = Vec::new();
    let mut checks = 0usize;
    // Each worker takes whole cases; ansible's start-up dominates the run time.
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|w| {
                let bin = &bin;
                let home = home.path();
                s.spawn(move || {
                    let mut fails = Vec::new();
                    let mut n = 0;
                    for case in CASES.iter().skip(w).step_by(2) {
                        n += differential_case(bin, home, case, &mut fails);
                    }
                    (n, fails)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for (n, f) in results {
        checks += n;
        failures.extend(f);
    }
    eprintln!(
        "differential: {checks} comparisons, {} mismatches",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn differential_case(bin: &Path, home: &Path, case: &Case, fails: &mut Vec<String>) -> usize {
    let src = case.sources;
    let mut n = 0;
    // --list: parsed JSON equal, and the exact text too.
    let theirs = ansible(bin, "ansible-inventory", src, &["--list"], home);
    let theirs_text = String::from_utf8_lossy(&theirs.stdout).into_owned();
    let ours_text = ours_ok(src, &["--list"]);
    n += 1;
    if json(&ours_text) != json(&theirs_text) {
        fails.push(format!(
            "--list differs for {src:?}\nours:\n{ours_text}\ntheirs:\n{theirs_text}"
        ));
    } else if ours_text != theirs_text {
        fails.push(format!("--list text (not JSON) differs for {src:?}"));
    }
    // --graph
    let theirs =
        String::from_utf8_lossy(&ansible(bin, "ansible-inventory", src, &["--graph"], home).stdout)
            .into_owned();
    let mine = ours_ok(src, &["--graph"]);
    n += 1;
    if mine != theirs {
        fails.push(format!(
            "--graph differs for {src:?}\nours:\n{mine}\ntheirs:\n{theirs}"
        ));
    }
    // --host for the first host
    let listed = json(&ours_text);
    if let Some(first) = listed["_meta"]["hostvars"]
        .as_object()
        .and_then(|m| m.keys().next())
    {
        let theirs = String::from_utf8_lossy(
            &ansible(bin, "ansible-inventory", src, &["--host", first], home).stdout,
        )
        .into_owned();
        let mine = ours_ok(src, &["--host", first]);
        n += 1;
        if mine != theirs {
            fails.push(format!(
                "--host {first} differs for {src:?}\nours:\n{mine}\ntheirs:\n{theirs}"
            ));
        }
    }
    // --list-hosts for each pattern
    for pat in case.patterns {
        let o = ansible(bin, "ansible", src, &[pat, "--list-hosts"], home);
        let theirs = parse_list_hosts(&String::from_utf8_lossy(&o.stdout));
        let mine: Vec<String> = ours_ok(src, &["--list-hosts", "--limit", pat])
            .lines()
            .map(str::to_owned)
            .collect();
        n += 1;
        if mine != theirs {
            fails.push(format!(
                "--list-hosts {pat:?} differs for {src:?}: ours {mine:?}, theirs {theirs:?} (stderr: {})",
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    n
}

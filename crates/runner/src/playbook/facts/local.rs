//! `ansible_local`: the `*.fact` files of setup's `fact_path` as ansible-core's
//! `LocalFactCollector.collect` (lib/ansible/module_utils/facts/system/local.py) reads them:
//! an executable one is run and its output read, any other is read; the text is JSON, else
//! INI (Python's `configparser.ConfigParser`, see [`ini`]); what cannot be read is a message
//! in place of the fact and a warning.
//!
//! gather.sh lists, for each file (`file <hex path>`): `stat` (it cannot be stat'ed: a broken
//! link), or `rc <n>` (run) / `rc -` (read) followed by `out <hex>` and, when run, `err <hex>`.

mod ini;

use serde_json::{Map, Value, json};

/// One file as gather.sh reported it.
struct Listed {
    path: String,
    stat_failed: bool,
    rc: Option<i64>,
    out: Vec<u8>,
    err: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn listed(lines: &[&str]) -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    for line in lines {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        if tag == "file" {
            out.push(Listed {
                path: String::from_utf8_lossy(&unhex(rest)).into_owned(),
                stat_failed: false,
                rc: None,
                out: Vec::new(),
                err: Vec::new(),
            });
            continue;
        }
        let Some(f) = out.last_mut() else { continue };
        match tag {
            "stat" => f.stat_failed = true,
            "rc" => f.rc = rest.trim().parse().ok(),
            "out" => f.out = unhex(rest),
            "err" => f.err = unhex(rest),
            _ => {}
        }
    }
    // `sorted(glob.glob(...))`: by code point, which UTF-8 byte order follows.
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// `ansible_local` from the `local` section's lines, and the warnings setup would give.
pub(crate) fn facts(lines: &[&str]) -> (Value, Vec<String>) {
    let mut local = Map::new();
    let mut warnings = Vec::new();
    for f in listed(lines) {
        let file = f.path.rsplit('/').next().unwrap_or(&f.path);
        // `os.path.basename(fn).replace('.fact', '')`: every `.fact`, not only the suffix.
        let base = file.replace(".fact", "");
        let (fact, warning) = one(&f);
        if let Some(w) = warning {
            warnings.extend(w);
        }
        local.insert(base, fact);
    }
    (Value::Object(local), warnings)
}

fn one(f: &Listed) -> (Value, Option<Vec<String>>) {
    let path = &f.path;
    if f.stat_failed {
        let msg =
            format!("Could not stat fact ({path}): [Errno 2] No such file or directory: '{path}'");
        return (json!(msg), Some(vec![msg]));
    }
    if let Some(rc) = f.rc
        && rc != 0
    {
        let err = String::from_utf8_lossy(&f.err);
        let msg = format!("Failure executing fact script ({path}), rc: {rc}, err: {err}");
        return (json!(msg), Some(vec![msg]));
    }
    let Ok(text) = std::str::from_utf8(&f.out) else {
        let msg = format!("error loading fact - output of running \"{path}\" was not utf-8");
        return (json!(msg), Some(vec![msg]));
    };
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return (v, None);
    }
    match ini::read(text, path) {
        Ok((fact, warnings)) => (fact, (!warnings.is_empty()).then_some(warnings)),
        Err(()) => {
            let msg = format!("error loading facts as JSON or ini - please check content: {path}");
            (json!(msg), Some(vec![msg]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn reads_json_ini_scripts_and_reports_failures() {
        let lines = [
            format!("file {}", hex("/f/b.fact")),
            "rc -".to_owned(),
            format!("out {}", hex("[s]\nKey = v\n")),
            format!("file {}", hex("/f/a.fact")),
            "rc -".to_owned(),
            format!("out {}", hex("{\"x\": 1}")),
            format!("file {}", hex("/f/c.fact")),
            "rc 3".to_owned(),
            format!("out {}", hex("")),
            format!("err {}", hex("boom\n")),
            format!("file {}", hex("/f/d.fact")),
            "stat".to_owned(),
            format!("file {}", hex("/f/e.fact")),
            "rc -".to_owned(),
            format!("out {}", hex("no section\n")),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (local, warnings) = facts(&lines);
        assert_eq!(local["a"], json!({"x": 1}));
        assert_eq!(local["b"], json!({"s": {"key": "v"}}));
        assert_eq!(
            local["c"],
            "Failure executing fact script (/f/c.fact), rc: 3, err: boom\n"
        );
        assert_eq!(
            local["d"],
            "Could not stat fact (/f/d.fact): [Errno 2] No such file or directory: '/f/d.fact'"
        );
        assert_eq!(
            local["e"],
            "error loading facts as JSON or ini - please check content: /f/e.fact"
        );
        let keys: Vec<&String> = local
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);
        assert_eq!(warnings.len(), 3);
    }
}

//! MongoDB: the data marker kept in the db directory (`.sim-mongo.json`), mongod's startup rules
//! (FCV at most one series behind, AVX from 5.0) and the `mongo`/`mongosh --eval` probes.

use crate::releases::{self, prev_series, series, vnum};
use crate::state::{Out, SimError, load_json, write_file};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const MARKER: &str = ".sim-mongo.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creds {
    pub key: String,
    pub secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MongoData {
    /// Version of the mongod that last ran on this data.
    pub binary: String,
    pub fcv: String,
    pub server_uid: Option<String>,
    pub services_agent: Option<Creds>,
    /// `backend.versions` migration numbers.
    pub versions: Vec<String>,
    pub non_empty: bool,
    /// Document counts of a few collections, for before/after comparisons.
    pub collections: indexmap::IndexMap<String, u64>,
}

pub fn load(dir: &Path) -> Result<Option<MongoData>, SimError> {
    load_json(&dir.join(MARKER))
}

pub fn save(dir: &Path, d: &MongoData) -> Result<(), SimError> {
    let body = serde_json::to_string_pretty(d).map_err(|e| SimError::BadState {
        path: dir.display().to_string(),
        msg: e.to_string(),
    })?;
    write_file(&dir.join(MARKER), body.as_bytes())
}

/// Fresh data files as mongod would create them, with a few real bytes.
pub fn create_files(dir: &Path, binary: &str) -> Result<(), SimError> {
    write_file(
        &dir.join("WiredTiger"),
        format!("WiredTiger\nWiredTiger 3.3.0: (mongod {binary})\n").as_bytes(),
    )?;
    write_file(&dir.join("WiredTiger.lock"), b"WiredTiger lock file\n")?;
    let mut bytes = Vec::new();
    for i in 0u32..2048 {
        bytes.push(u8::try_from((i * 31 + 7) % 251).unwrap_or(0));
    }
    write_file(&dir.join("collection-0--4631415815069524413.wt"), &bytes)?;
    write_file(&dir.join("index-1--4631415815069524413.wt"), &bytes[..512])?;
    Ok(())
}

/// A new, empty database created by mongod `binary`.
pub fn fresh(binary: &str) -> MongoData {
    MongoData {
        binary: binary.to_string(),
        fcv: series(binary),
        ..MongoData::default()
    }
}

/// What happened when a container tried to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Running(Vec<String>),
    Exited(i32, Vec<String>),
}

fn jlog(sev: &str, comp: &str, id: u32, msg: &str, attr: serde_json::Value) -> String {
    serde_json::json!({"t":{"$date":"2025-01-01T00:00:00.000+00:00"},"s":sev,"c":comp,"id":id,"ctx":"initandlisten","msg":msg,"attr":attr}).to_string()
}

/// mongod `binary` starting on the db directory `dir`.
/// The `--setParameter` names of `args` this mongod refuses at option parsing (exit 2,
/// EXIT_BADOPTIONS): the blocking-sort memory limit is internalQueryExecMaxBlockingSortBytes up
/// to 4.2 and internalQueryMaxBlockingSortMemoryUsageBytes from 4.4, which is why
/// clearml/clearml-server changed its mongo `command` together with mongo 4.4.9 (v1.3.0,
/// docker/docker-compose.yml).
pub fn refused_parameter(binary: &str, args: &[String]) -> Option<String> {
    let new_name = vnum(binary) >= (4, 4, 0);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let p = match a.strip_prefix("--setParameter") {
            Some("") => it.next().map(String::as_str).unwrap_or(""),
            Some(rest) => rest.trim_start_matches('='),
            None => continue,
        };
        let name = p.split('=').next().unwrap_or("");
        let refused = match name {
            "internalQueryExecMaxBlockingSortBytes" => new_name,
            "internalQueryMaxBlockingSortMemoryUsageBytes" => !new_name,
            _ => false,
        };
        if refused {
            return Some(name.to_string());
        }
    }
    None
}

pub fn start(binary: &str, dir: &Path, avx: bool, args: &[String]) -> Result<Start, SimError> {
    let b = vnum(binary);
    if !avx && b >= (5, 0, 0) {
        return Ok(Start::Exited(
            132,
            vec![
                "WARNING: MongoDB 5.0+ requires a CPU with AVX support, and your current system does not appear to have that!".into(),
                "/usr/local/bin/docker-entrypoint.sh: line 416:    28 Illegal instruction     (core dumped) \"${mongodHackedArgs[@]}\" --fork".into(),
            ],
        ));
    }
    if let Some(name) = refused_parameter(binary, args) {
        let why = if b >= (4, 4, 0) {
            format!("BadValue: Unknown --setParameter '{name}'")
        } else {
            format!("BadValue: Illegal --setParameter parameter: \"{name}\"")
        };
        return Ok(Start::Exited(
            2,
            vec![why, "try 'mongod --help' for more information".into()],
        ));
    }
    let s = series(binary);
    let mut data = match load(dir)? {
        Some(d) => d,
        None => {
            create_files(dir, binary)?;
            fresh(binary)
        }
    };
    let ok = data.fcv == s || prev_series(&s) == Some(data.fcv.as_str());
    if !ok {
        let expected = match prev_series(&s) {
            Some(p) => format!("'{p}' or '{s}'"),
            None => format!("'{s}'"),
        };
        let err = format!(
            "UPGRADE PROBLEM: Found an invalid featureCompatibilityVersion document (ERROR: Location4926900: Invalid featureCompatibilityVersion document in admin.system.version: {{ _id: \"featureCompatibilityVersion\", version: \"{}\" }}. See https://docs.mongodb.com/master/release-notes/{s}-compatibility/#feature-compatibility. :: caused by :: Invalid feature compatibility version value, expected {expected}. See https://docs.mongodb.com/master/release-notes/{s}-compatibility/#feature-compatibility.). If the current featureCompatibilityVersion is below {s}, see the documentation on upgrading at https://docs.mongodb.com/master/release-notes/{s}/#upgrade-procedures.",
            data.fcv
        );
        let line = if b >= (4, 4, 0) {
            jlog(
                "F",
                "CONTROL",
                20573,
                "Wrong mongod version",
                serde_json::json!({"error": err}),
            )
        } else {
            format!("2025-01-01T00:00:00.000+0000 F CONTROL  [initandlisten] ** IMPORTANT: {err}")
        };
        return Ok(Start::Exited(62, vec![line]));
    }
    data.binary = binary.to_string();
    save(dir, &data)?;
    let ready = if b >= (4, 4, 0) {
        jlog(
            "I",
            "NETWORK",
            23016,
            "Waiting for connections",
            serde_json::json!({"port":27017,"ssl":"off"}),
        )
    } else {
        "2025-01-01T00:00:00.000+0000 I NETWORK  [initandlisten] waiting for connections on port 27017".into()
    };
    let mut logs = vec![format!(
        "MongoDB starting : pid=1 port=27017 dbpath=/data/db 64-bit host=mongo (version {binary})"
    )];
    logs.push(ready);
    Ok(Start::Running(logs))
}

/// Which shells an image ships: ≤4.4 only `mongo`, 5.0 both, ≥6 only `mongosh`.
pub fn has_shell(binary: &str, shell: &str) -> bool {
    let v = vnum(binary);
    match shell {
        "mongo" => v < (6, 0, 0),
        "mongosh" => v >= (5, 0, 0),
        _ => false,
    }
}

fn quoted_after(js: &str, key: &str) -> Option<String> {
    let i = js.find(key)? + key.len();
    let rest = js.get(i..)?;
    let start = rest.find(['"', '\''])?;
    let body = rest.get(start + 1..)?;
    let end = body.find(['"', '\'', '\\'])?;
    Some(body.get(..end)?.to_string())
}

/// `mongo`/`mongosh [--quiet] --eval JS` inside the mongo container whose data is `dir`.
pub fn shell(binary: &str, shell: &str, args: &[String], dir: &Path) -> Out {
    let mut quiet = false;
    let mut js: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quiet" => quiet = true,
            "--eval" => js = it.next().cloned(),
            _ => {}
        }
    }
    let legacy = shell == "mongo";
    let Some(js) = js else {
        return Out::fail(
            1,
            format!("clearml-sim: only `{shell} --eval JS` is simulated"),
        );
    };
    let mut out = Out::default();
    if !quiet {
        if legacy {
            out.line(&format!("MongoDB shell version v{binary}"));
            out.line("connecting to: mongodb://127.0.0.1:27017/?compressors=disabled&gssapiServiceName=mongodb");
            out.line(&format!("MongoDB server version: {binary}"));
        } else {
            out.line("Current Mongosh Log ID:\t6571a0b1c2d3e4f5a6b7c8d9");
            out.line("Connecting to:\t\tmongodb://127.0.0.1:27017/?directConnection=true&serverSelectionTimeoutMS=2000");
            out.line(&format!("Using MongoDB:\t\t{binary}"));
            out.line("Using Mongosh:\t\t2.3.1");
        }
    }
    let mut data = match load(dir) {
        Ok(Some(d)) => d,
        Ok(None) => fresh(binary),
        Err(e) => return Out::fail(1, e.to_string()),
    };
    let as_json = js.contains("JSON.stringify");
    let s = series(binary);
    let result: Result<serde_json::Value, (i64, String, String)> = if js
        .contains("setFeatureCompatibilityVersion")
    {
        let target = quoted_after(&js, "setFeatureCompatibilityVersion").unwrap_or_default();
        let confirm = js.contains("confirm") && js.contains("true");
        let allowed = target == s || prev_series(&s) == Some(target.as_str());
        if js.contains("confirm") && vnum(binary) < (7, 0, 0) {
            Err((
                40415,
                "Location40415".into(),
                "BSON field 'setFeatureCompatibilityVersion.confirm' is an unknown field.".into(),
            ))
        } else if !allowed {
            let exp = match prev_series(&s) {
                Some(p) => format!("'{p}' or '{s}'"),
                None => format!("'{s}'"),
            };
            Err((
                2,
                "BadValue".into(),
                format!(
                    "Invalid feature compatibility version value '{target}'; expected {exp}. See https://docs.mongodb.com/master/release-notes/{s}-compatibility/#feature-compatibility."
                ),
            ))
        } else if vnum(binary) >= (7, 0, 0) && !confirm {
            Err((
                7369100,
                "Location7369100".into(),
                format!(
                    "Once you have upgraded to {target}, you will not be able to downgrade FCV and binary version without support assistance. Please re-run this command with 'confirm: true' to acknowledge this and continue with the FCV upgrade."
                ),
            ))
        } else {
            data.fcv = target;
            match save(dir, &data) {
                Ok(()) => Ok(serde_json::json!({"ok": 1})),
                Err(e) => return Out::fail(1, e.to_string()),
            }
        }
    } else if js.contains("featureCompatibilityVersion") {
        Ok(serde_json::json!({"featureCompatibilityVersion": {"version": data.fcv}, "ok": 1}))
    } else if js.contains("db.version()") {
        Ok(serde_json::Value::String(binary.to_string()))
    } else if js.contains("ping") {
        Ok(serde_json::json!({"ok": 1}))
    } else if js.contains("versions") {
        let docs: Vec<serde_json::Value> = data
            .versions
            .iter()
            .enumerate()
            .map(|(i, n)| serde_json::json!({"_id": format!("{:024x}", i + 1), "num": n, "created": "2025-01-01T00:00:00.000Z", "desc": "Applied on server startup"}))
            .collect();
        Ok(serde_json::Value::Array(docs))
    } else {
        return Out::fail(
            1,
            format!("clearml-sim: unsupported {shell} --eval expression: {js}"),
        );
    };
    match result {
        Ok(v) => {
            let text = if let serde_json::Value::String(raw) = &v {
                raw.clone()
            } else if as_json {
                v.to_string()
            } else if legacy {
                legacy_fmt(&v)
            } else {
                mongosh_fmt(&v)
            };
            out.line(&text);
            out
        }
        Err((code, name, msg)) => {
            if legacy {
                let v = serde_json::json!({"ok": 0, "errmsg": msg, "code": code, "codeName": name});
                out.line(&legacy_fmt(&v));
                out
            } else {
                out.stderr
                    .push_str(&format!("MongoServerError[{name}]: {msg}\n"));
                out.code = 1;
                out
            }
        }
    }
}

/// Legacy shell style: `{ "ok" : 1 }`.
fn legacy_fmt(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("\"{k}\" : {}", legacy_fmt(x)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        serde_json::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(legacy_fmt).collect();
            format!("[ {} ]", parts.join(", "))
        }
        serde_json::Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// mongosh style: `{ featureCompatibilityVersion: { version: '5.0' }, ok: 1 }`.
fn mongosh_fmt(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, x)| format!("{k}: {}", mongosh_fmt(x)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        serde_json::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(mongosh_fmt).collect();
            format!("[ {} ]", parts.join(", "))
        }
        serde_json::Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}

/// Highest migration number recorded, "" when none.
pub fn max_version(d: &MongoData) -> String {
    d.versions
        .iter()
        .max_by_key(|v| releases::vnum(v))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(dir: &Path, binary: &str, fcv: &str) {
        let d = MongoData {
            binary: binary.into(),
            fcv: fcv.into(),
            non_empty: true,
            ..MongoData::default()
        };
        save(dir, &d).expect("save");
    }

    #[test]
    fn fcv_more_than_one_series_behind_exits_62() {
        let t = tempfile::tempdir().expect("tmp");
        data(t.path(), "4.4.29", "4.4");
        match start("6.0.19", t.path(), true, &[]).expect("start") {
            Start::Exited(62, logs) => {
                assert!(logs[0].contains("Wrong mongod version"), "{logs:?}")
            }
            other => panic!("{other:?}"),
        }
        data(t.path(), "6.0.19", "5.0");
        assert!(matches!(
            start("7.0.22", t.path(), true, &[]).expect("s"),
            Start::Exited(62, _)
        ));
        // 3.6 data on 4.4 (the documented migration is required).
        data(t.path(), "3.6.5", "3.6");
        assert!(matches!(
            start("4.4.9", t.path(), true, &[]).expect("s"),
            Start::Exited(62, _)
        ));
        // One series behind is fine, and the binary is recorded but never the FCV.
        data(t.path(), "4.4.29", "4.4");
        assert!(matches!(
            start("5.0.26", t.path(), true, &[]).expect("s"),
            Start::Running(_)
        ));
        let d = load(t.path()).expect("l").expect("some");
        assert_eq!((d.binary.as_str(), d.fcv.as_str()), ("5.0.26", "4.4"));
        // Downgrade: 4.4 on FCV 5.0 refuses too.
        data(t.path(), "5.0.26", "5.0");
        assert!(matches!(
            start("4.4.29", t.path(), true, &[]).expect("s"),
            Start::Exited(62, _)
        ));
    }

    #[test]
    fn the_sort_memory_parameter_has_one_name_per_series() {
        let t = tempfile::tempdir().expect("tmp");
        let cmd = |p: &str| vec!["--setParameter".to_string(), format!("{p}=196100200")];
        let old = cmd("internalQueryExecMaxBlockingSortBytes");
        let new = cmd("internalQueryMaxBlockingSortMemoryUsageBytes");
        match start("4.4.9", t.path(), true, &old).expect("s") {
            Start::Exited(2, logs) => assert_eq!(
                logs[0],
                "BadValue: Unknown --setParameter 'internalQueryExecMaxBlockingSortBytes'"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            start("3.6.23", t.path(), true, &new).expect("s"),
            Start::Exited(2, _)
        ));
        assert!(matches!(
            start("3.6.5", t.path(), true, &old).expect("s"),
            Start::Running(_)
        ));
        let t = tempfile::tempdir().expect("tmp");
        let joined =
            vec!["--setParameter=internalQueryMaxBlockingSortMemoryUsageBytes=1".to_string()];
        assert!(matches!(
            start("4.4.29", t.path(), true, &joined).expect("s"),
            Start::Running(_)
        ));
        assert_eq!(refused_parameter("7.0.22", &new), None);
    }

    #[test]
    fn mongo_5_needs_avx() {
        let t = tempfile::tempdir().expect("tmp");
        assert!(matches!(
            start("5.0.26", t.path(), false, &[]).expect("s"),
            Start::Exited(132, _)
        ));
        assert!(matches!(
            start("4.4.29", t.path(), false, &[]).expect("s"),
            Start::Running(_)
        ));
    }

    #[test]
    fn set_fcv_rules_and_output_shapes() {
        let t = tempfile::tempdir().expect("tmp");
        data(t.path(), "7.0.22", "6.0");
        let a = |s: &str| vec!["--quiet".to_string(), "--eval".to_string(), s.to_string()];
        let o = shell(
            "7.0.22",
            "mongosh",
            &a("db.adminCommand({setFeatureCompatibilityVersion:\"7.0\"})"),
            t.path(),
        );
        assert_eq!(o.code, 1);
        assert!(o.stderr.contains("confirm: true"));
        let o = shell(
            "7.0.22",
            "mongosh",
            &a("db.adminCommand({setFeatureCompatibilityVersion:'7.0', confirm:true})"),
            t.path(),
        );
        assert_eq!((o.code, o.stdout.as_str()), (0, "{ ok: 1 }\n"));
        let o = shell(
            "7.0.22",
            "mongosh",
            &a("db.adminCommand({getParameter:1, featureCompatibilityVersion:1})"),
            t.path(),
        );
        assert_eq!(
            o.stdout,
            "{ featureCompatibilityVersion: { version: '7.0' }, ok: 1 }\n"
        );
        data(t.path(), "4.4.29", "4.2");
        let o = shell(
            "4.4.29",
            "mongo",
            &a("db.adminCommand({setFeatureCompatibilityVersion:\"5.0\"})"),
            t.path(),
        );
        assert!(o.stdout.contains("\"ok\" : 0"), "{o:?}");
        let o = shell(
            "4.4.29",
            "mongo",
            &a("db.adminCommand({setFeatureCompatibilityVersion:\"4.4\"})"),
            t.path(),
        );
        assert_eq!(o.stdout, "{ \"ok\" : 1 }\n");
        let o = shell("4.4.29", "mongo", &a("db.version()"), t.path());
        assert_eq!(o.stdout, "4.4.29\n");
        assert!(has_shell("5.0.26", "mongo") && has_shell("5.0.26", "mongosh"));
        assert!(!has_shell("6.0.19", "mongo") && !has_shell("4.4.29", "mongosh"));
    }
}

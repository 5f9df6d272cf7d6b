//! The simulator's compose files against upstream's: for every release recorded in
//! tests/fixtures/upstream/clearml-server-compose.json (facts read from github.com/clearml/
//! clearml-server at each tag by scripts/upstream-facts.py), `clearml-sim compose-file --era R`
//! must state the same services, container names, images, environment, volumes, ports,
//! network mode, command, entrypoint, privileged flag and restart policy. Every mismatch of
//! every release is collected into one failure message.

use serde_json::{Map, Value};
use std::process::Command;

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");
const FACTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/upstream/clearml-server-compose.json"
);
/// The per-service facts the fixture records (scripts/upstream-facts.py, FIELDS).
const FIELDS: &[&str] = &[
    "container_name",
    "image",
    "environment",
    "volumes",
    "ports",
    "network_mode",
    "command",
    "entrypoint",
    "privileged",
    "restart",
];
/// Services whose image is the ClearML/Trains server image (the one `--pin` pins).
const SERVER_SERVICES: &[&str] = &["apiserver", "fileserver", "webserver", "async_delete"];

fn facts() -> Vec<Value> {
    let text = std::fs::read_to_string(FACTS).expect("read the upstream facts fixture");
    let v: Value = serde_json::from_str(&text).expect("fixture is JSON");
    let list = v.as_array().expect("fixture is a list").clone();
    // 48 tagged releases (0.10.0 … 2.3.0) and the untagged 1.17.1 upgrade compose file.
    assert!(
        list.len() >= 49,
        "the fixture holds only {} releases",
        list.len()
    );
    list
}

/// `clearml-sim compose-file ARGS`: Ok(YAML) or Err(the simulator's complaint).
fn compose_file(args: &[&str]) -> Result<String, String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = Command::new(SIM)
        .arg("compose-file")
        .args(args)
        .env("CLEARML_SIM_FSROOT", tmp.path())
        .env("CLEARML_SIM_STATE", tmp.path().join("state"))
        .output()
        .expect("run clearml-sim");
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!(
            "exit {:?}: {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

fn parse(yaml: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(yaml).map_err(|e| format!("YAML does not parse: {e}"))
}

/// A scalar as the text it stands for (`9200` → "9200", `true` → "true").
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn texts(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| text(x).map(Value::String).unwrap_or(Value::Null))
                .collect(),
        ),
        Value::Null => Value::Null,
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

fn norm_env(v: &Value) -> Value {
    let mut out = Map::new();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.insert(k.clone(), text(x).map(Value::String).unwrap_or(Value::Null));
            }
        }
        Value::Array(a) => {
            for item in a.iter().filter_map(text) {
                match item.split_once('=') {
                    Some((k, x)) => out.insert(k.to_string(), Value::String(x.to_string())),
                    None => out.insert(item, Value::Null),
                };
            }
        }
        _ => return Value::Null,
    }
    Value::Object(out)
}

fn norm_volume(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let target = m.get("target").and_then(text).unwrap_or_default();
            match m.get("source").and_then(text).filter(|s| !s.is_empty()) {
                None => Value::String(target),
                Some(src) => {
                    let ro = m.get("read_only").and_then(text).as_deref() == Some("true");
                    Value::String(format!("{src}:{target}{}", if ro { ":ro" } else { "" }))
                }
            }
        }
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

fn norm_port(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let f = |k: &str| m.get(k).and_then(text).unwrap_or_default();
            let proto = m.get("protocol").and_then(text);
            Value::String(format!(
                "{}:{}{}",
                f("published"),
                f("target"),
                proto.map(|p| format!("/{p}")).unwrap_or_default()
            ))
        }
        other => text(other).map(Value::String).unwrap_or(Value::Null),
    }
}

/// The facts of one service, normalised as scripts/upstream-facts.py does.
fn norm_service(svc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for f in FIELDS {
        let v = svc.get(*f).cloned().unwrap_or(Value::Null);
        let n = match (*f, &v) {
            (_, Value::Null) => Value::Null,
            ("environment", _) => norm_env(&v),
            ("volumes", Value::Array(a)) => Value::Array(a.iter().map(norm_volume).collect()),
            ("ports", Value::Array(a)) => Value::Array(a.iter().map(norm_port).collect()),
            ("command" | "entrypoint", _) => texts(&v),
            ("privileged", Value::Bool(_)) => v.clone(),
            ("privileged", _) => match text(&v).as_deref() {
                Some("true") => Value::Bool(true),
                Some("false") => Value::Bool(false),
                _ => v.clone(),
            },
            _ => texts(&v),
        };
        out.insert(f.to_string(), n);
    }
    out
}

fn norm_services(doc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(svcs)) = doc.get("services") {
        for (name, svc) in svcs {
            out.insert(name.clone(), Value::Object(norm_service(svc)));
        }
    }
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::Null) => "(none)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Every difference between the simulator's services and upstream's, one line each.
fn diff(
    release: &str,
    sim: &Map<String, Value>,
    up: &Map<String, Value>,
    image_ok: &dyn Fn(&str, &str, &str) -> bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for name in up.keys().filter(|n| !sim.contains_key(*n)) {
        out.push(format!(
            "{release} {name}: service missing from the simulator"
        ));
    }
    for name in sim.keys().filter(|n| !up.contains_key(*n)) {
        out.push(format!("{release} {name}: service upstream does not have"));
    }
    for (name, up_svc) in up {
        let Some(sim_svc) = sim.get(name) else {
            continue;
        };
        for f in FIELDS {
            let (s, u) = (sim_svc.get(*f), up_svc.get(*f));
            match (*f, s, u) {
                ("environment", Some(Value::Object(se)), Some(Value::Object(ue))) => {
                    for (k, uv) in ue {
                        if se.get(k) != Some(uv) {
                            out.push(format!(
                                "{release} {name} environment {k}: sim {}, upstream {}",
                                show(se.get(k)),
                                show(Some(uv))
                            ));
                        }
                    }
                    for k in se.keys().filter(|k| !ue.contains_key(*k)) {
                        out.push(format!(
                            "{release} {name} environment {k}: sim {}, upstream (absent)",
                            show(se.get(k))
                        ));
                    }
                }
                ("image", Some(Value::String(si)), Some(Value::String(ui))) => {
                    if !image_ok(name, si, ui) {
                        out.push(format!("{release} {name} image: sim {si}, upstream {ui}"));
                    }
                }
                _ => {
                    if s != u {
                        out.push(format!(
                            "{release} {name} {f}: sim {}, upstream {}",
                            show(s),
                            show(u)
                        ));
                    }
                }
            }
        }
    }
    out
}

fn field<'a>(entry: &'a Value, k: &str) -> &'a str {
    entry.get(k).and_then(Value::as_str).unwrap_or("?")
}

fn check_all(pin: bool, image_ok: &dyn Fn(&str, &str, &str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in facts() {
        let release = field(&entry, "release");
        let mut args = vec!["--era", release];
        if pin {
            args.push("--pin");
        }
        let doc = match compose_file(&args).and_then(|y| parse(&y)) {
            Ok(d) => d,
            Err(e) => {
                problems.push(format!(
                    "{release}: unknown to the simulator or broken: {e}"
                ));
                continue;
            }
        };
        let up = entry
            .get("services")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut d = diff(release, &norm_services(&doc), &up, image_ok);
        if !d.is_empty() {
            d.insert(
                0,
                format!(
                    "-- {release} (upstream {}@{} {}):",
                    field(&entry, "tag"),
                    field(&entry, "commit").get(..8).unwrap_or("?"),
                    field(&entry, "path")
                ),
            );
        }
        problems.extend(d);
    }
    problems
}

#[test]
fn every_release_compose_file_states_upstream_facts() {
    let problems = check_all(false, &|_, sim, up| sim == up);
    let n = problems.iter().filter(|l| !l.starts_with("-- ")).count();
    assert!(
        problems.is_empty(),
        "{n} differences from upstream:\n{}",
        problems.join("\n")
    );
}

fn split_image(r: &str) -> (&str, &str) {
    match r.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (r, "latest"),
    }
}

#[test]
fn pinned_compose_files_pin_only_where_upstream_says_latest() {
    let problems = check_all(true, &|svc, sim, up| {
        let ((sr, st), (ur, ut)) = (split_image(sim), split_image(up));
        if sr != ur {
            return false;
        }
        if ut != "latest" || !SERVER_SERVICES.contains(&svc) {
            return st == ut;
        }
        // `:latest` server images: the exact build tag, where the registry has one.
        true
    });
    assert!(problems.is_empty(), "with --pin:\n{}", problems.join("\n"));
    // And they do pin where a tag is known.
    let y = compose_file(&["--era", "1.16.2", "--pin"]).expect("1.16.2");
    assert!(y.contains("image: allegroai/clearml:1.16.2-502"), "{y}");
    let y = compose_file(&["--era", "2.3.0", "--pin"]).expect("2.3.0");
    assert!(y.contains("image: clearml/server:2.3.0"), "{y}");
}

/// "host:container[:mode]" → (host, rest); anonymous volumes have no host side.
fn host_side(v: &str) -> (Option<&str>, &str) {
    match v.split_once(':') {
        Some((h, rest)) => (Some(h), rest),
        None => (None, v),
    }
}

/// `host:rest` with `host` moved from under `from` to under `to` (anything else as it is).
fn rebase(v: &str, from: &str, to: &str) -> String {
    match host_side(v) {
        (Some(h), rest) => match h.strip_prefix(from) {
            Some(tail) if tail.is_empty() || tail.starts_with('/') => format!("{to}{tail}:{rest}"),
            _ => v.to_string(),
        },
        (None, _) => v.to_string(),
    }
}

/// JSON-pointer paths where `a` and `b` differ.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (va, vb) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                differences(va, vb, &format!("{at}/{k}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                differences(va, vb, &format!("{at}/{i}"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} vs {b}")),
        _ => {}
    }
}

#[test]
fn root_rewrites_only_the_host_side_of_bind_mounts() {
    const ROOT: &str = "/srv/cml";
    let mut problems = Vec::new();
    for entry in facts() {
        let release = field(&entry, "release");
        let plain = compose_file(&["--era", release]).and_then(|y| parse(&y));
        let rooted = compose_file(&["--era", release, "--root", ROOT]).and_then(|y| parse(&y));
        let (Ok(plain), Ok(rooted)) = (plain, rooted) else {
            problems.push(format!("{release}: no compose file"));
            continue;
        };
        // Upstream's root: /opt/trains up to 0.16.1, /opt/clearml from 0.17.0.
        let default_root = match plain.pointer("/services/apiserver/container_name") {
            Some(Value::String(n)) if n.starts_with("trains-") => "/opt/trains",
            _ => "/opt/clearml",
        };
        // The expected file: the plain one with the host side of every bind mount under the
        // default root moved to ROOT, in short or long syntax, and the host side of the bind
        // mount the services agent makes for its tasks (`*_AGENT_DOCKER_HOST_MOUNT`, a host path
        // too); container-side paths (/opt/clearml/config, PYTHONPATH, the pre-populate paths)
        // stay as they are.
        let mut want = plain.clone();
        if let Some(Value::Object(svcs)) = want.get_mut("services") {
            for svc in svcs.values_mut() {
                if let Some(Value::Array(vols)) = svc.get_mut("volumes") {
                    for v in vols.iter_mut() {
                        match v {
                            Value::String(s) => *s = rebase(s, default_root, ROOT),
                            Value::Object(m) => {
                                if let Some(Value::String(src)) = m.get_mut("source")
                                    && let Some(tail) = src.strip_prefix(default_root)
                                    && (tail.is_empty() || tail.starts_with('/'))
                                {
                                    *src = format!("{ROOT}{tail}");
                                }
                            }
                            _ => {}
                        }
                    }
                }
                if let Some(Value::Object(env)) = svc.get_mut("environment") {
                    for (k, v) in env.iter_mut() {
                        if k.ends_with("_AGENT_DOCKER_HOST_MOUNT")
                            && let Value::String(s) = v
                        {
                            *s = rebase(s, default_root, ROOT);
                        }
                    }
                }
            }
        }
        let mut d = Vec::new();
        differences(&want, &rooted, "", &mut d);
        for x in d {
            problems.push(format!("{release} --root {ROOT}: {x} (expected vs sim)"));
        }
        // And ROOT is really used: every host path under the default root moved.
        let text = rooted.to_string();
        if !text.contains(ROOT) {
            problems.push(format!("{release}: --root {ROOT} is not used"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

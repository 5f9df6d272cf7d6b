//! The simulator's compose files against upstream's: for every release recorded in
//! playbooks/clearml/upstream-compose.json (facts read from github.com/clearml/
//! clearml-server at each tag by scripts/upstream-facts.py), `clearml-sim compose-file --era R`
//! must state the same services, container names, images, environment, volumes, ports,
//! network mode, command, entrypoint, privileged flag and restart policy. Every mismatch of
//! every release is collected into one failure message.

use clearfleet_clearml::upstream::{
    ReleaseFacts, SERVER_SERVICES, diff, facts as all_facts, services, split_image,
};
use serde_json::Value;
use std::process::Command;

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");

fn facts() -> &'static [ReleaseFacts] {
    let list = all_facts();
    // 48 tagged releases (0.10.0 … 2.3.0) and the untagged 1.17.1 upgrade compose file.
    assert!(
        list.len() >= 49,
        "the recorded facts hold only {} releases",
        list.len()
    );
    list
}

fn parse(yaml: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(yaml).map_err(|e| format!("YAML does not parse: {e}"))
}
/// `clearml-sim compose-file ARGS`: Ok(YAML) or Err(the simulator's complaint).
fn compose_file(args: &[&str]) -> Result<String, String> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = Command::new(SIM)
        .arg("compose-file")
        .args(args)
        .env("CLEARML_SIM_FSROOT", tmp.path())
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

fn check_all(pin: bool, image_ok: &dyn Fn(&str, &str, &str) -> bool) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in facts() {
        let release = entry.release.as_str();
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
        let mut d: Vec<String> = diff("simulator", &services(&doc), &entry.services, image_ok)
            .into_iter()
            .map(|l| format!("{release} {l}"))
            .collect();
        if !d.is_empty() {
            d.insert(0, format!("-- {release} (upstream {}):", entry.source()));
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
        let release = entry.release.as_str();
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

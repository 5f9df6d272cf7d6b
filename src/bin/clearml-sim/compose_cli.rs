//! The compose command line shared by `docker compose` and `docker-compose`: global options and
//! the subcommands version, config, pull, up, down, ps, logs, stop, start, restart.

use crate::compose::{
    Opts, Project, UpOpts, V1_VERSION, V2_VERSION, down, err, load_project, print_warnings,
    pull_error, service_env, specs, up,
};
use crate::containers;
use crate::inspect::status_text;
use crate::interpolate::Flavour;
use crate::releases::normalize;
use crate::state::{Host, Out, State, Status, human_duration, now};
use serde_json::Value;
use std::collections::BTreeMap;

pub fn ps(st: &State, p: &Project, flavour: Flavour, args: &[String]) -> Out {
    let all = args.iter().any(|a| a == "-a" || a == "--all");
    let quiet = args.iter().any(|a| a == "-q" || a == "--quiet");
    let services = args.iter().any(|a| a == "--services");
    let json = args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json")
        || args.iter().any(|a| a == "--format=json");
    let t = now();
    let mine: Vec<&crate::state::Container> = st
        .containers
        .values()
        .filter(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
        .filter(|c| {
            flavour == Flavour::V1
                || all
                || c.status == Status::Running
                || c.status == Status::Restarting
        })
        .collect();
    let mut out = Out::default();
    if services {
        for c in &mine {
            out.line(c.label("com.docker.compose.service").unwrap_or(""));
        }
        return out;
    }
    if quiet {
        for c in &mine {
            out.line(&c.id);
        }
        return out;
    }
    if json {
        for c in &mine {
            let v = serde_json::json!({"ID": c.id.get(..12).unwrap_or_default(), "Name": c.name, "Image": c.image,
                "Command": crate::inspect::command_text(c), "Project": p.name, "Service": c.label("com.docker.compose.service").unwrap_or(""),
                "Created": c.created, "State": crate::inspect::state_word(c), "Status": status_text(c, t), "Health": "",
                "ExitCode": c.exit_code, "Publishers": []});
            out.line(&v.to_string());
        }
        return out;
    }
    match flavour {
        Flavour::V2 => {
            out.line("NAME                     IMAGE                                                  COMMAND                  SERVICE          CREATED          STATUS                    PORTS");
            for c in &mine {
                out.line(&format!(
                    "{:<24} {:<54} {:<24} {:<16} {:<16} {:<25} {}",
                    c.name,
                    c.image,
                    crate::inspect::command_text(c),
                    c.label("com.docker.compose.service").unwrap_or(""),
                    format!("{} ago", human_duration(t.saturating_sub(c.created))),
                    status_text(c, t),
                    c.published_ports()
                        .iter()
                        .map(|x| format!(
                            "0.0.0.0:{}->{}/tcp",
                            x.split(':').next().unwrap_or(""),
                            x.rsplit(':').next().unwrap_or("")
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Flavour::V1 => {
            out.line(
                "         Name                       Command               State           Ports",
            );
            out.line("-------------------------------------------------------------------------------------");
            for c in &mine {
                let state = match c.status {
                    Status::Running => "Up".to_string(),
                    Status::Exited => format!("Exit {}", c.exit_code),
                    Status::Restarting => "Restarting".to_string(),
                    Status::Created => "Created".to_string(),
                };
                out.line(&format!(
                    "{:<26} {:<26} {:<14} {}",
                    c.name,
                    crate::inspect::command_text(c),
                    state,
                    c.published_ports().join(", ")
                ));
            }
        }
    }
    out
}

fn config(p: &Project, flavour: Flavour, args: &[String]) -> Out {
    let mut out = Out::default();
    print_warnings(&mut out, p, flavour);
    if args.iter().any(|a| a == "--services") {
        if let Some(Value::Object(s)) = p.doc.get("services") {
            for k in s.keys() {
                out.line(k);
            }
        }
        return out;
    }
    if args.iter().any(|a| a == "-q" || a == "--quiet") {
        return out;
    }
    let mut doc = p.doc.clone();
    if let Some(Value::Object(svcs)) = doc.get_mut("services") {
        for (_, svc) in svcs.iter_mut() {
            let env = service_env(svc, &p.vars);
            if let Some(m) = svc.as_object_mut()
                && m.contains_key("environment")
            {
                let mut em = serde_json::Map::new();
                for kv in env {
                    let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
                    em.insert(k.to_string(), Value::String(v.to_string()));
                }
                m.insert("environment".into(), Value::Object(em));
            }
        }
    }
    if flavour == Flavour::V2
        && let Some(m) = doc.as_object_mut()
    {
        m.shift_remove("version");
        let mut with_name = serde_json::Map::new();
        with_name.insert("name".into(), Value::String(p.name.clone()));
        for (k, v) in m.iter() {
            with_name.insert(k.clone(), v.clone());
        }
        doc = Value::Object(with_name);
    }
    match serde_saphyr::to_string(&doc) {
        Ok(s) => out.stdout.push_str(&s),
        Err(e) => return Out::fail(1, format!("clearml-sim: cannot render YAML: {e}")),
    }
    out
}

fn logs(st: &State, p: &Project, args: &[String]) -> Out {
    let svcs: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut out = Out::default();
    for c in st
        .containers
        .values()
        .filter(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
    {
        let s = c.label("com.docker.compose.service").unwrap_or("");
        if !svcs.is_empty() && !svcs.iter().any(|x| x.as_str() == s) {
            continue;
        }
        for l in &c.logs {
            out.line(&format!("{}  | {l}", c.name));
        }
    }
    out
}

fn pull_cmd(st: &mut State, p: &Project, flavour: Flavour, args: &[String]) -> Out {
    let mut out = Out::default();
    print_warnings(&mut out, p, flavour);
    let ignore = args.iter().any(|a| a == "--ignore-pull-failures");
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let specs = match specs(p, flavour) {
        Ok(s) => s,
        Err(e) => return err(flavour, &e),
    };
    let mut done: Vec<String> = Vec::new();
    for (svc, spec) in specs {
        if !only.is_empty() && !only.iter().any(|o| **o == svc) {
            continue;
        }
        let r = normalize(&spec.image);
        if done.contains(&r) {
            continue;
        }
        match flavour {
            Flavour::V2 => out.eline(&format!(" {svc} Pulling")),
            Flavour::V1 => out.eline(&format!("Pulling {svc} ... ")),
        }
        match containers::pull(st, &r) {
            Ok(_) => {
                done.push(r);
                if flavour == Flavour::V2 {
                    out.eline(&format!(" {svc} Pulled"));
                }
            }
            Err(m) => {
                if ignore {
                    out.eline(&format!(" {svc} Error {m}"));
                    continue;
                }
                pull_error(&mut out, flavour, &svc, &m);
                return out;
            }
        }
    }
    out
}

/// Entry point; `args` follow `docker compose` / `docker-compose`.
pub fn main(host: &Host, args: &[String], flavour: Flavour) -> Out {
    let mut opts = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a, None),
        };
        let mut val = || -> String {
            inline.clone().unwrap_or_else(|| {
                i += 1;
                args.get(i).cloned().unwrap_or_default()
            })
        };
        match name {
            "-f" | "--file" => opts.files.push(val()),
            "--project-directory" => opts.project_dir = Some(val()),
            "--env-file" => opts.env_files.push(val()),
            "-p" | "--project-name" => opts.project_name = Some(val()),
            "--profile" | "--ansi" | "--progress" | "-c" | "--context" | "-H" | "--host" => {
                val();
            }
            "--no-ansi" | "--verbose" | "--compatibility" => {}
            _ if a.starts_with('-') && a != "-v" && a != "--version" => {
                return Out::fail(1, format!("unknown flag: {a}"));
            }
            _ => break,
        }
        i += 1;
    }
    let sub = args.get(i).map(String::as_str).unwrap_or("");
    let rest: Vec<String> = args
        .get(i + 1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if sub == "version" || sub == "-v" || sub == "--version" {
        let short = rest.iter().any(|a| a == "--short");
        return match (flavour, short) {
            (Flavour::V2, true) => Out::ok(format!("{V2_VERSION}\n")),
            (Flavour::V2, false) => Out::ok(format!("Docker Compose version v{V2_VERSION}\n")),
            (Flavour::V1, true) => Out::ok(format!("{V1_VERSION}\n")),
            (Flavour::V1, false) => Out::ok(format!(
                "docker-compose version {V1_VERSION}, build 5becea4c\ndocker-py version: 5.0.0\nCPython version: 3.7.10\nOpenSSL version: OpenSSL 1.1.0l  10 Sep 2019\n"
            )),
        };
    }
    if sub.is_empty() {
        return Out::fail(
            1,
            "Usage:  docker compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Docker",
        );
    }
    let p = match load_project(host, &opts, flavour, &BTreeMap::new()) {
        Ok(p) => p,
        Err(o) => return o,
    };
    if sub == "config" || sub == "convert" {
        return config(&p, flavour, &rest);
    }
    let known = [
        "up", "down", "ps", "pull", "logs", "stop", "start", "restart",
    ];
    if !known.contains(&sub) {
        return Out::fail(
            1,
            format!(
                "clearml-sim: compose subcommand {sub:?} is not simulated (supported: version, config, {})",
                known.join(", ")
            ),
        );
    }
    let r = host.with_state(|st| match sub {
        "up" => {
            let o = UpOpts {
                only: rest
                    .iter()
                    .filter(|a| !a.starts_with('-'))
                    .cloned()
                    .collect(),
                force_recreate: rest.iter().any(|a| a == "--force-recreate"),
                pull_always: rest
                    .windows(2)
                    .any(|w| w[0] == "--pull" && w[1] == "always")
                    || rest.iter().any(|a| a == "--pull=always"),
                remove_orphans: rest.iter().any(|a| a == "--remove-orphans"),
            };
            up(host, st, &p, flavour, &o)
        }
        "down" => {
            if let Some(dir) = st.inject.fill_disk_on_down.clone() {
                fill_disk(&host.path(&dir));
            }
            down(
                st,
                &p,
                flavour,
                rest.iter().any(|a| a == "--remove-orphans"),
            )
        }
        "ps" => ps(st, &p, flavour, &rest),
        "pull" => pull_cmd(st, &p, flavour, &rest),
        "logs" => logs(st, &p, &rest),
        "stop" => {
            let mut out = Out::default();
            let names: Vec<String> = st
                .containers
                .values()
                .filter(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
                .map(|c| c.name.clone())
                .collect();
            for n in names.iter().rev() {
                containers::stop(st, n);
                out.eline(&format!(" Container {n}  Stopped"));
            }
            out
        }
        _ => {
            let mut out = Out::default();
            let names: Vec<String> = st
                .containers
                .values()
                .filter(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
                .map(|c| c.name.clone())
                .collect();
            if sub == "restart" {
                for n in &names {
                    containers::stop(st, n);
                }
            }
            for n in containers::start_order(st, &names) {
                if let Err(e) = containers::start(host, st, &n) {
                    out.eline(&e.to_string());
                    out.code = 1;
                }
                out.eline(&format!(" Container {n}  Started"));
            }
            out
        }
    });
    match r {
        Ok(o) => o,
        Err(e) => e.into(),
    }
}

/// Writes `dir/.clearml-sim-fill` until its filesystem is full (at most 8 GiB).
fn fill_disk(dir: &std::path::Path) {
    use std::io::Write;
    let Ok(mut f) = std::fs::File::create(dir.join(".clearml-sim-fill")) else {
        return;
    };
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..8192 {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
}

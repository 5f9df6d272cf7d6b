//! `docker compose` (v2 plugin) and `docker-compose` (v1): project loading (files, project dir,
//! `.env`, interpolation), service → container specs, and `up`/`down` with each flavour's own
//! messages (the other subcommands and argument parsing are in compose_cli.rs).

use crate::containers::{self, Spec};
use crate::interpolate::{Flavour, interpolate, parse_dotenv};
use crate::releases::normalize;
use crate::state::{Host, Mount, Out, State, Status, hex_id};
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::BTreeMap;

pub const V2_VERSION: &str = "2.29.7";
pub const V1_VERSION: &str = "1.29.2";

#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub files: Vec<String>,
    pub project_dir: Option<String>,
    pub env_files: Vec<String>,
    pub project_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// Host path of the project directory.
    pub dir: String,
    /// Host paths of the compose files.
    pub files: Vec<String>,
    pub doc: Value,
    pub warnings: Vec<String>,
    pub vars: BTreeMap<String, String>,
}

fn dirname(p: &str) -> String {
    match p.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => p[..i].to_string(),
        None => ".".into(),
    }
}

fn host_abs(host: &Host, p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        host.unpath(&host.cwd.join(p))
    }
}

fn sanitize_name(s: &str, flavour: Flavour) -> String {
    let lower = s.to_lowercase();
    match flavour {
        Flavour::V2 => lower
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect(),
        Flavour::V1 => lower
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect(),
    }
}

pub(crate) fn err(flavour: Flavour, msg: &str) -> Out {
    match flavour {
        Flavour::V2 => Out::fail(1, msg.to_string()),
        Flavour::V1 => Out::fail(1, format!("ERROR: {msg}")),
    }
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

fn interp_value(
    v: &mut Value,
    look: &dyn Fn(&str) -> Option<String>,
    flavour: Flavour,
    w: &mut Vec<String>,
) -> Result<(), String> {
    match v {
        Value::String(s) => {
            *s = interpolate(s, look, flavour, w)?;
        }
        Value::Array(a) => {
            for x in a {
                interp_value(x, look, flavour, w)?;
            }
        }
        Value::Object(m) => {
            for (_, x) in m.iter_mut() {
                interp_value(x, look, flavour, w)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Load and interpolate the project. `extra_env` overrides the process env (used by `init`).
pub fn load_project(
    host: &Host,
    opts: &Opts,
    flavour: Flavour,
    extra_env: &BTreeMap<String, String>,
) -> Result<Project, Out> {
    let files: Vec<String> = if opts.files.is_empty() {
        let cands: &[&str] = match flavour {
            Flavour::V2 => &[
                "compose.yaml",
                "compose.yml",
                "docker-compose.yaml",
                "docker-compose.yml",
            ],
            Flavour::V1 => &["docker-compose.yml", "docker-compose.yaml"],
        };
        match cands.iter().find(|c| host.cwd.join(c).is_file()) {
            Some(c) => vec![host_abs(host, c)],
            None => {
                return Err(match flavour {
                    Flavour::V2 => Out::fail(1, "no configuration file provided: not found"),
                    Flavour::V1 => Out::fail(
                        1,
                        "ERROR: \n        Can't find a suitable configuration file in this directory or any\n        parent directories.\n\n        Are you in the right directory?\n\n        Supported filenames: docker-compose.yml, docker-compose.yaml, compose.yml, compose.yaml\n",
                    ),
                });
            }
        }
    } else {
        opts.files.iter().map(|f| host_abs(host, f)).collect()
    };
    let dir = match &opts.project_dir {
        Some(d) => host_abs(host, d),
        None => dirname(files.first().map(String::as_str).unwrap_or(".")),
    };
    // Variables: process env, then .env (v2: project dir; v1: CWD).
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let env_files: Vec<String> = if opts.env_files.is_empty() {
        let d = match flavour {
            Flavour::V2 => dir.clone(),
            Flavour::V1 => host.host_cwd(),
        };
        vec![format!("{}/.env", d.trim_end_matches('/'))]
    } else {
        opts.env_files.iter().map(|f| host_abs(host, f)).collect()
    };
    for ef in &env_files {
        match std::fs::read_to_string(host.path(ef)) {
            Ok(t) => {
                for (k, v) in parse_dotenv(&t) {
                    vars.insert(k, v);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && opts.env_files.is_empty() => {}
            Err(e) => return Err(err(flavour, &format!("Couldn't find env file: {ef}: {e}"))),
        }
    }
    for (k, v) in &host.env {
        vars.insert(k.clone(), v.clone());
    }
    for (k, v) in extra_env {
        vars.insert(k.clone(), v.clone());
    }
    let mut doc = Value::Object(serde_json::Map::new());
    for f in &files {
        let text = match std::fs::read_to_string(host.path(f)) {
            Ok(t) => t,
            Err(e) => {
                return Err(match flavour {
                    Flavour::V2 => Out::fail(
                        1,
                        format!(
                            "open {f}: {}",
                            if e.kind() == std::io::ErrorKind::NotFound {
                                "no such file or directory".to_string()
                            } else {
                                e.to_string()
                            }
                        ),
                    ),
                    Flavour::V1 => Out::fail(
                        1,
                        format!("ERROR: .IOError: [Errno 2] No such file or directory: '{f}'"),
                    ),
                });
            }
        };
        let v: Value = match serde_saphyr::from_str(&text) {
            Ok(v) => v,
            Err(e) => return Err(err(flavour, &format!("yaml: {f}: {e}"))),
        };
        merge(&mut doc, v);
    }
    let mut warnings = Vec::new();
    let look_vars = vars.clone();
    let look = move |k: &str| look_vars.get(k).cloned();
    if let Err(e) = interp_value(&mut doc, &look, flavour, &mut warnings) {
        return Err(err(flavour, &e));
    }
    if flavour == Flavour::V2 && doc.get("version").is_some() {
        for f in &files {
            warnings.insert(0, format!("{f}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"));
        }
    }
    let name_src = opts
        .project_name
        .clone()
        .or_else(|| {
            vars.get("COMPOSE_PROJECT_NAME")
                .cloned()
                .filter(|s| !s.is_empty())
        })
        .or_else(|| {
            if flavour == Flavour::V2 {
                doc.get("name").and_then(Value::as_str).map(str::to_string)
            } else {
                None
            }
        })
        .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or("default").to_string());
    let name = sanitize_name(&name_src, flavour);
    if !doc.get("services").is_some_and(Value::is_object) {
        return Err(err(flavour, "no service selected"));
    }
    Ok(Project {
        name,
        dir,
        files,
        doc,
        warnings,
        vars,
    })
}

fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => words(s),
        Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
        _ => vec![],
    }
}

/// The environment of a service as "K=V" strings.
pub fn service_env(svc: &Value, vars: &BTreeMap<String, String>) -> Vec<String> {
    match svc.get("environment") {
        Some(Value::Object(m)) => m
            .iter()
            .filter_map(|(k, v)| match scalar(v) {
                Some(s) => Some(format!("{k}={s}")),
                None => vars.get(k).map(|x| format!("{k}={x}")),
            })
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(scalar)
            .filter_map(|s| {
                if s.contains('=') {
                    Some(s)
                } else {
                    vars.get(&s).map(|x| format!("{s}={x}"))
                }
            })
            .collect(),
        _ => vec![],
    }
}

fn container_name(p: &Project, svc_name: &str, svc: &Value, flavour: Flavour) -> String {
    match svc.get("container_name").and_then(scalar) {
        Some(n) => n,
        None => match flavour {
            Flavour::V2 => format!("{}-{svc_name}-1", p.name),
            Flavour::V1 => format!("{}_{svc_name}_1", p.name),
        },
    }
}

fn mounts(p: &Project, svc: &Value) -> Vec<Mount> {
    let mut out = Vec::new();
    let Some(Value::Array(vols)) = svc.get("volumes") else {
        return out;
    };
    for v in vols {
        let (src, dst) = match v {
            Value::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [d] => (None, d.to_string()),
                    [s, d, ..] => (Some(s.to_string()), d.to_string()),
                    _ => continue,
                }
            }
            Value::Object(m) => (
                m.get("source").and_then(scalar),
                m.get("target").and_then(scalar).unwrap_or_default(),
            ),
            _ => continue,
        };
        let m = match src {
            None => Mount {
                kind: "volume".into(),
                source: format!(
                    "/var/lib/docker/volumes/{}/_data",
                    hex_id(&format!("{}{dst}", p.name))
                        .get(..64)
                        .unwrap_or_default()
                ),
                destination: dst,
            },
            Some(s) if s.starts_with('/') => Mount {
                kind: "bind".into(),
                source: s,
                destination: dst,
            },
            Some(s) if s.starts_with('.') || s.starts_with('~') => {
                let rel = s.trim_start_matches("./");
                let src = if rel == "." {
                    p.dir.clone()
                } else {
                    format!("{}/{}", p.dir.trim_end_matches('/'), rel)
                };
                Mount {
                    kind: "bind".into(),
                    source: src,
                    destination: dst,
                }
            }
            Some(s) => Mount {
                kind: "volume".into(),
                source: format!("/var/lib/docker/volumes/{}_{s}/_data", p.name),
                destination: dst,
            },
        };
        out.push(m);
    }
    out
}

/// The container specs of the project's services, in file order.
pub fn specs(p: &Project, flavour: Flavour) -> Result<Vec<(String, Spec)>, String> {
    let mut out = Vec::new();
    let Some(Value::Object(svcs)) = p.doc.get("services") else {
        return Ok(out);
    };
    for (sname, svc) in svcs {
        let Some(image) = svc.get("image").and_then(scalar) else {
            return Err(format!(
                "service \"{sname}\" has neither an image nor a build context specified: invalid compose project"
            ));
        };
        let name = container_name(p, sname, svc, flavour);
        let env = service_env(svc, &p.vars);
        let ports = match svc.get("ports") {
            Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
            _ => vec![],
        };
        let restart = match flavour {
            Flavour::V2 => svc
                .pointer("/deploy/restart_policy/condition")
                .and_then(scalar)
                .or_else(|| svc.get("restart").and_then(scalar))
                .unwrap_or_else(|| "no".into()),
            Flavour::V1 => svc
                .get("restart")
                .and_then(scalar)
                .unwrap_or_else(|| "no".into()),
        };
        let mut labels: IndexMap<String, String> = IndexMap::new();
        if let Some(Value::Object(l)) = svc.get("labels") {
            for (k, v) in l {
                labels.insert(k.clone(), scalar(v).unwrap_or_default());
            }
        }
        let spec = Spec {
            name,
            image: image.clone(),
            entrypoint: str_list(svc.get("entrypoint")),
            command: str_list(svc.get("command")),
            env,
            mounts: mounts(p, svc),
            ports,
            network_mode: svc.get("network_mode").and_then(scalar),
            restart_policy: restart,
            privileged: svc
                .get("privileged")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            labels,
        };
        let hash = hex_id(&format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{}{}",
            spec.image,
            spec.entrypoint,
            spec.command,
            spec.env,
            spec.mounts,
            spec.restart_policy,
            spec.network_mode
                .as_deref()
                .map(|n| format!("|{n}"))
                .unwrap_or_default()
        ));
        let mut l = IndexMap::new();
        l.insert("com.docker.compose.config-hash".to_string(), hash);
        l.insert(
            "com.docker.compose.container-number".to_string(),
            "1".to_string(),
        );
        l.insert("com.docker.compose.oneoff".to_string(), "False".to_string());
        l.insert("com.docker.compose.project".to_string(), p.name.clone());
        l.insert(
            "com.docker.compose.project.config_files".to_string(),
            p.files.join(","),
        );
        l.insert(
            "com.docker.compose.project.working_dir".to_string(),
            p.dir.clone(),
        );
        l.insert("com.docker.compose.service".to_string(), sname.clone());
        l.insert(
            "com.docker.compose.version".to_string(),
            match flavour {
                Flavour::V2 => V2_VERSION.to_string(),
                Flavour::V1 => V1_VERSION.to_string(),
            },
        );
        let mut spec = spec;
        for (k, v) in spec.labels.drain(..) {
            l.insert(k, v);
        }
        spec.labels = l;
        out.push((sname.clone(), spec));
    }
    Ok(out)
}

pub(crate) fn print_warnings(out: &mut Out, p: &Project, flavour: Flavour) {
    for w in &p.warnings {
        match flavour {
            Flavour::V2 => out.eline(&format!(
                "time=\"2025-01-01T00:00:00Z\" level=warning msg=\"{}\"",
                w.replace('"', "\\\"")
            )),
            Flavour::V1 => out.eline(&format!("WARNING: {w}")),
        }
    }
}

pub(crate) fn pull_error(out: &mut Out, flavour: Flavour, svc: &str, msg: &str) {
    match flavour {
        Flavour::V2 => {
            out.eline(&format!(" {svc} Error {msg}"));
            out.eline(&format!("Error response from daemon: {msg}"));
        }
        Flavour::V1 => {
            out.eline(&format!("Pulling {svc} ... error"));
            out.eline("");
            out.eline(&format!("ERROR: for {svc}  {msg}"));
            out.eline(&format!("ERROR: {msg}"));
        }
    }
    out.code = 1;
}

/// Options of `up`.
#[derive(Debug, Clone, Default)]
pub struct UpOpts {
    pub only: Vec<String>,
    pub force_recreate: bool,
    pub pull_always: bool,
    pub remove_orphans: bool,
}

/// `up -d` of a loaded project.
pub fn up(host: &Host, st: &mut State, p: &Project, flavour: Flavour, o: &UpOpts) -> Out {
    let mut out = Out::default();
    print_warnings(&mut out, p, flavour);
    let all = match specs(p, flavour) {
        Ok(s) => s,
        Err(e) => return err(flavour, &e),
    };
    let wanted: Vec<(String, Spec)> = all
        .iter()
        .filter(|(s, _)| o.only.is_empty() || o.only.contains(s))
        .cloned()
        .collect();
    // 1. Images (compose pulls what is missing) — nothing is touched when one is unavailable.
    let mut pulled: Vec<String> = Vec::new();
    for (svc, spec) in &wanted {
        let r = normalize(&spec.image);
        if pulled.contains(&r) || (!o.pull_always && st.resolve_image(&spec.image).is_some()) {
            continue;
        }
        if flavour == Flavour::V1 {
            out.eline(&format!("Pulling {svc} ({})...", spec.image));
        } else {
            out.eline(&format!(" {svc} Pulling"));
        }
        match containers::pull(st, &r) {
            Ok(_) => pulled.push(r),
            Err(m) => {
                pull_error(&mut out, flavour, svc, &m);
                return out;
            }
        }
    }
    // 2. Orphans.
    let names: Vec<String> = all.iter().map(|(_, s)| s.name.clone()).collect();
    let orphans: Vec<String> = st
        .containers
        .values()
        .filter(|c| {
            c.label("com.docker.compose.project") == Some(p.name.as_str())
                && !names.contains(&c.name)
        })
        .map(|c| c.name.clone())
        .collect();
    if !orphans.is_empty() {
        if o.remove_orphans {
            for n in &orphans {
                containers::stop(st, n);
                st.containers.shift_remove(n);
                out.eline(&format!(" Container {n}  Removed"));
            }
        } else if flavour == Flavour::V2 {
            out.eline(&format!("time=\"2025-01-01T00:00:00Z\" level=warning msg=\"Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\"", orphans.join(" ")));
        } else {
            out.eline(&format!("WARNING: Found orphan containers ({}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.", orphans.join(", ")));
        }
    }
    // 3. Create / recreate / keep.
    if flavour == Flavour::V2
        && !st
            .containers
            .values()
            .any(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
    {
        out.eline(&format!(" Network {}_backend  Created", p.name));
        out.eline(&format!(" Network {}_frontend  Created", p.name));
    }
    let mut to_start: Vec<String> = Vec::new();
    for (svc, spec) in &wanted {
        let hash = spec
            .labels
            .get("com.docker.compose.config-hash")
            .cloned()
            .unwrap_or_default();
        let image_id = st
            .resolve_image(&spec.image)
            .map(|i| i.id.clone())
            .unwrap_or_default();
        if let Some(c) = st.containers.get(&spec.name).cloned() {
            let same_project = c.label("com.docker.compose.project") == Some(p.name.as_str())
                && c.label("com.docker.compose.service") == Some(svc.as_str());
            if !same_project {
                let msg = containers::conflict_msg(&spec.name, &c.id);
                match flavour {
                    Flavour::V2 => out.eline(&format!("Error response from daemon: {msg}")),
                    Flavour::V1 => {
                        out.eline(&format!("Creating {} ... error", spec.name));
                        out.eline("");
                        out.eline(&format!(
                            "ERROR: for {}  Cannot create container for service {svc}: {msg}",
                            spec.name
                        ));
                        out.eline("ERROR: Encountered errors while bringing up the project.");
                    }
                }
                out.code = 1;
                return out;
            }
            let changed = o.force_recreate
                || c.label("com.docker.compose.config-hash") != Some(hash.as_str())
                || c.image_id != image_id;
            if !changed {
                if c.status == Status::Running || c.status == Status::Restarting {
                    match flavour {
                        Flavour::V2 => out.eline(&format!(" Container {}  Running", spec.name)),
                        Flavour::V1 => out.eline(&format!("{} is up-to-date", spec.name)),
                    }
                } else {
                    to_start.push(spec.name.clone());
                }
                continue;
            }
            if flavour == Flavour::V1 && st.settings.v1_recreate_bug {
                out.eline(&format!("Recreating {} ... error", spec.name));
                out.eline("");
                out.eline(&format!("ERROR: for {}  'ContainerConfig'", spec.name));
                out.eline("");
                out.eline(&format!("ERROR: for {svc}  'ContainerConfig'"));
                out.eline("Traceback (most recent call last):");
                out.eline(
                    "  File \"compose/service.py\", line 1579, in get_container_data_volumes",
                );
                out.eline("KeyError: 'ContainerConfig'");
                out.code = 1;
                return out;
            }
            containers::stop(st, &spec.name);
            st.containers.shift_remove(&spec.name);
            if flavour == Flavour::V2 {
                out.eline(&format!(" Container {}  Recreate", spec.name));
            } else {
                out.eline(&format!("Recreating {} ... done", spec.name));
            }
        } else if flavour == Flavour::V2 {
            out.eline(&format!(" Container {}  Creating", spec.name));
        } else {
            out.eline(&format!("Creating {} ... done", spec.name));
        }
        if let Err(m) = containers::create(host, st, spec.clone()) {
            out.eline(&format!("Error response from daemon: {m}"));
            out.code = 1;
            return out;
        }
        if flavour == Flavour::V2 {
            out.eline(&format!(" Container {}  Created", spec.name));
        }
        to_start.push(spec.name.clone());
    }
    // 4. Start in dependency order; the startup rules decide what runs.
    for n in containers::start_order(st, &to_start) {
        if let Some(msg) = containers::port_conflict(st, &n) {
            match flavour {
                Flavour::V2 => out.eline(&format!("Error response from daemon: {msg}")),
                Flavour::V1 => {
                    out.eline(&format!("ERROR: for {n}  Cannot start service: {msg}"));
                    out.eline("ERROR: Encountered errors while bringing up the project.");
                }
            }
            out.code = 1;
            return out;
        }
        if let Err(e) = containers::start(host, st, &n) {
            out.eline(&e.to_string());
            out.code = 1;
            return out;
        }
        if flavour == Flavour::V2 {
            out.eline(&format!(" Container {n}  Started"));
        }
    }
    out
}

pub fn down(st: &mut State, p: &Project, flavour: Flavour, remove_orphans: bool) -> Out {
    let mut out = Out::default();
    print_warnings(&mut out, p, flavour);
    let declared: Vec<String> = specs(p, flavour)
        .map(|v| v.into_iter().map(|(_, s)| s.name).collect())
        .unwrap_or_default();
    let mine: Vec<String> = st
        .containers
        .values()
        .filter(|c| c.label("com.docker.compose.project") == Some(p.name.as_str()))
        .filter(|c| {
            remove_orphans
                || declared.contains(&c.name)
                || c.label("com.docker.compose.service").is_some()
        })
        .map(|c| c.name.clone())
        .collect();
    for n in mine.iter().rev() {
        match flavour {
            Flavour::V2 => out.eline(&format!(" Container {n}  Stopping")),
            Flavour::V1 => out.eline(&format!("Stopping {n} ... done")),
        }
        containers::stop(st, n);
    }
    for n in mine.iter().rev() {
        st.containers.shift_remove(n);
        match flavour {
            Flavour::V2 => out.eline(&format!(" Container {n}  Removed")),
            Flavour::V1 => out.eline(&format!("Removing {n} ... done")),
        }
    }
    match flavour {
        Flavour::V2 => {
            out.eline(&format!(" Network {}_backend  Removed", p.name));
            out.eline(&format!(" Network {}_frontend  Removed", p.name));
        }
        Flavour::V1 => {
            out.eline(&format!("Removing network {}_backend", p.name));
            out.eline(&format!("Removing network {}_frontend", p.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            words("python3 -m jobs.async_urls_delete --fileserver-host http://fileserver:8081"),
            vec![
                "python3",
                "-m",
                "jobs.async_urls_delete",
                "--fileserver-host",
                "http://fileserver:8081"
            ]
        );
        assert_eq!(
            words("bash -c \"curl 'x' && y\""),
            vec!["bash", "-c", "curl 'x' && y"]
        );
    }

    #[test]
    fn project_names() {
        assert_eq!(
            sanitize_name("ClearML.Server", Flavour::V2),
            "clearmlserver"
        );
        assert_eq!(sanitize_name("clear_ml-1", Flavour::V1), "clearml1");
        assert_eq!(dirname("/opt/clearml/docker-compose.yml"), "/opt/clearml");
    }
}

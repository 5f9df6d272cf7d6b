//! Docker-shaped views of containers and images: `docker inspect` JSON, `docker ps` rows and
//! status words, and rendering of `--format` templates (Go subset, `json`, `table`).

use crate::gotemplate;
use crate::state::{Container, Out, Status, human_duration, rfc3339};
use serde_json::{Value, json};

pub fn command_text(c: &Container) -> String {
    let ep: Vec<String> = if c.entrypoint.is_empty() {
        default_entrypoint(c.kind)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        c.entrypoint.clone()
    };
    let full = ep
        .iter()
        .chain(c.command.iter())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let short: String = full.chars().take(20).collect();
    if full.chars().count() > 20 {
        format!("\"{short}…\"")
    } else {
        format!("\"{full}\"")
    }
}

/// The image's own ENTRYPOINT.
pub fn default_entrypoint(kind: crate::releases::ImageKind) -> &'static [&'static str] {
    use crate::releases::ImageKind as K;
    match kind {
        K::Server => &["/opt/clearml/wrapper.sh"],
        K::Elastic => &["/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"],
        K::Mongo | K::Redis => &["docker-entrypoint.sh"],
        K::AgentServices => &["/usr/agent/entrypoint.sh"],
        K::Other => &[],
    }
}

pub fn state_word(c: &Container) -> &'static str {
    match c.status {
        Status::Running => "running",
        Status::Exited => "exited",
        Status::Restarting => "restarting",
        Status::Created => "created",
    }
}

pub fn status_text(c: &Container, t: u64) -> String {
    match c.status {
        Status::Running => format!("Up {}", human_duration(t.saturating_sub(c.started_at))),
        Status::Exited => format!(
            "Exited ({}) {} ago",
            c.exit_code,
            human_duration(t.saturating_sub(c.finished_at))
        ),
        Status::Restarting => format!(
            "Restarting ({}) {} ago",
            c.exit_code,
            human_duration(t.saturating_sub(c.finished_at))
        ),
        Status::Created => "Created".into(),
    }
}

pub fn ports_text(c: &Container) -> String {
    if c.status != Status::Running {
        return String::new();
    }
    c.published_ports()
        .iter()
        .map(|p| {
            let parts: Vec<&str> = p.split(':').collect();
            let (h, ct) = match parts.as_slice() {
                [a] => (*a, *a),
                [a, b] | [_, a, b] => (*a, *b),
                _ => (p.as_str(), p.as_str()),
            };
            format!("0.0.0.0:{h}->{ct}/tcp")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `docker inspect` JSON of a container.
pub fn inspect_json(c: &Container, t: u64) -> Value {
    let mounts: Vec<Value> = c
        .mounts
        .iter()
        .map(|m| {
            let mut v = json!({"Type": m.kind, "Source": m.source, "Destination": m.destination, "Mode": if m.kind == "bind" {"rw"} else {"z"}, "RW": true, "Propagation": if m.kind == "bind" {"rprivate"} else {""}});
            if m.kind == "volume"
                && let Some(o) = v.as_object_mut()
            {
                let name = m.source.trim_start_matches("/var/lib/docker/volumes/").trim_end_matches("/_data");
                o.insert("Name".into(), Value::String(name.to_string()));
                o.insert("Driver".into(), Value::String("local".into()));
            }
            v
        })
        .collect();
    let mut port_map = serde_json::Map::new();
    for p in c.published_ports() {
        let parts: Vec<&str> = p.split(':').collect();
        let (h, ct) = match parts.as_slice() {
            [a] => (*a, *a),
            [a, b] | [_, a, b] => (*a, *b),
            _ => continue,
        };
        let v = if c.status == Status::Running {
            json!([{"HostIp": "0.0.0.0", "HostPort": h}])
        } else {
            Value::Null
        };
        port_map.insert(format!("{ct}/tcp"), v);
    }
    let ep: Vec<String> = if c.entrypoint.is_empty() {
        default_entrypoint(c.kind)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        c.entrypoint.clone()
    };
    let (path, args) = match ep.split_first() {
        Some((p, rest)) => (
            p.clone(),
            rest.iter()
                .chain(c.command.iter())
                .cloned()
                .collect::<Vec<_>>(),
        ),
        None => (
            c.command.first().cloned().unwrap_or_default(),
            c.command.iter().skip(1).cloned().collect(),
        ),
    };
    let project = c.label("com.docker.compose.project").unwrap_or("bridge");
    json!({
        "Id": c.id,
        "Created": rfc3339(c.created),
        "Path": path,
        "Args": args,
        "State": {
            "Status": state_word(c),
            "Running": c.status == Status::Running || c.status == Status::Restarting,
            "Paused": false,
            "Restarting": c.status == Status::Restarting,
            "OOMKilled": false,
            "Dead": false,
            "Pid": if c.status == Status::Running { 4000 + (c.created % 1000) } else { 0 },
            "ExitCode": c.exit_code,
            "Error": "",
            "StartedAt": if c.started_at > 0 { rfc3339(c.started_at) } else { "0001-01-01T00:00:00Z".to_string() },
            "FinishedAt": if c.finished_at > 0 { rfc3339(c.finished_at) } else { "0001-01-01T00:00:00Z".to_string() },
        },
        "Image": c.image_id,
        "Name": format!("/{}", c.name),
        "RestartCount": c.effective_restarts(t),
        "Driver": "overlay2",
        "Platform": "linux",
        "HostConfig": {
            "Binds": c.mounts.iter().filter(|m| m.kind == "bind").map(|m| format!("{}:{}:rw", m.source, m.destination)).collect::<Vec<_>>(),
            "NetworkMode": if c.host_network() { "host".to_string() } else { format!("{project}_backend") },
            "RestartPolicy": {"Name": c.restart_policy, "MaximumRetryCount": 0},
            "Privileged": c.privileged,
        },
        "Mounts": mounts,
        "Config": {
            "Hostname": c.id.get(..12).unwrap_or_default(),
            "Env": c.env,
            "Cmd": c.command,
            "Image": c.image,
            "Entrypoint": ep,
            "Labels": c.labels,
        },
        "NetworkSettings": {"Ports": port_map},
    })
}

/// `docker image inspect` JSON: every tag naming the image in `RepoTags` (none when dangling),
/// the registry digest under each repository it came from in `RepoDigests`.
pub fn image_json(i: &crate::state::Image, tags: &[String], digest: &str) -> Value {
    let mut repos: Vec<String> = tags
        .iter()
        .map(|t| crate::releases::split_ref(t).0)
        .collect();
    if repos.is_empty() {
        repos.push(crate::releases::split_ref(&i.reference).0);
    }
    repos.dedup();
    json!({
        "Id": i.id,
        "RepoTags": tags,
        "RepoDigests": repos.iter().map(|r| format!("{r}@{digest}")).collect::<Vec<_>>(),
        "Created": rfc3339(i.pulled_at),
        "Config": {"Env": i.env, "Labels": {}},
        "Architecture": "amd64",
        "Os": "linux",
    })
}

pub fn ps_row(c: &Container, t: u64) -> Value {
    json!({
        "Command": command_text(c),
        "CreatedAt": rfc3339(c.created).replace('T', " ").replace(".000000000Z", " +0000 UTC"),
        "ID": c.id.get(..12).unwrap_or_default(),
        "Image": c.image,
        "Labels": c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
        "LocalVolumes": c.mounts.iter().filter(|m| m.kind == "volume").count().to_string(),
        "Mounts": c.mounts.iter().map(|m| m.source.clone()).collect::<Vec<_>>().join(","),
        "Names": c.name,
        "Networks": if c.host_network() { "host".to_string() } else { format!("{}_backend", c.label("com.docker.compose.project").unwrap_or("bridge")) },
        "Ports": ports_text(c),
        "RunningFor": format!("{} ago", human_duration(t.saturating_sub(c.created))),
        "Size": "0B",
        "State": state_word(c),
        "Status": status_text(c, t),
    })
}

pub fn format_arg(args: &[String]) -> (Option<String>, Vec<String>) {
    let mut fmt = None;
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-f" || a == "--format" {
            i += 1;
            fmt = args.get(i).cloned();
        } else if let Some(v) = a.strip_prefix("--format=") {
            fmt = Some(v.to_string());
        } else {
            rest.push(a.clone());
        }
        i += 1;
    }
    (fmt, rest)
}

pub fn render_lines(fmt: &str, items: &[Value]) -> Out {
    let (tpl, header) = match fmt.strip_prefix("table") {
        Some(t) => (t.trim_start().to_string(), true),
        None => (fmt.to_string(), false),
    };
    if tpl == "json" {
        let mut out = Out::default();
        for v in items {
            out.line(&v.to_string());
        }
        return out;
    }
    if let Err(e) = gotemplate::check(&tpl) {
        return Out::fail(64, e);
    }
    let mut out = Out::default();
    if header {
        let h = tpl
            .replace("{{.", "")
            .replace("}}", "")
            .to_uppercase()
            .replace("\\T", "\t");
        out.line(&h);
    }
    for v in items {
        match gotemplate::render(&tpl.replace("\\t", "\t"), v) {
            Ok(s) => out.line(&s),
            Err(e) => return Out::fail(64, e),
        }
    }
    out
}

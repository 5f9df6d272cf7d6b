//! The `docker` CLI: daemon access check, version/info, ps, inspect, image inspect, images, logs,
//! rm, stop/start/restart, exec, pull, tag, run, and dispatch of `docker compose` to the v2 plugin
//! (the JSON and table shapes are in inspect.rs).

use crate::containers::{self, Spec};
use crate::gotemplate;
use crate::inspect::{format_arg, image_json, inspect_json, ps_row, render_lines, state_word};
use crate::interpolate::Flavour;
use crate::releases::normalize;
use crate::state::{Access, Container, Host, Mount, Out, State, Status, now};
use serde_json::{Value, json};

pub const ENGINE: &str = "27.3.1";
pub const API: &str = "1.47";

pub fn denied(path: &str) -> String {
    format!(
        "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get \"http://%2Fvar%2Frun%2Fdocker.sock/v{API}/{path}\": dial unix /var/run/docker.sock: connect: permission denied"
    )
}

/// Whether a caller with `uid` and group ids `gids` may use the daemon.
pub fn may_access(access: Access, uid: u32, gids: &[u32], docker_gid: Option<u32>) -> bool {
    match access {
        Access::None => false,
        Access::Root => uid == 0,
        Access::Group => uid == 0 || docker_gid.is_some_and(|g| gids.contains(&g)),
    }
}

fn docker_gid() -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some("docker"))
            .then(|| f.nth(1).and_then(|g| g.parse().ok()))
            .flatten()
    })
}

/// Whether the calling process may use the simulated daemon.
pub fn caller_may_use(st: &State) -> bool {
    caller_ok(st)
}

fn caller_ok(st: &State) -> bool {
    let uid = rustix::process::geteuid().as_raw();
    let mut gids: Vec<u32> = rustix::process::getgroups()
        .map(|g| g.into_iter().map(|x| x.as_raw()).collect())
        .unwrap_or_default();
    gids.push(rustix::process::getegid().as_raw());
    may_access(st.settings.docker_access, uid, &gids, docker_gid())
}

/// Where the docker CLI finds the compose v2 plugin, as Docker does: first
/// `${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/docker-compose` (any file there: a plugin
/// installed for one user), then the system directory of the host's plugin (when the host has
/// compose v2).
pub fn compose_plugin(host: &Host, st: &State) -> Option<String> {
    let config = std::env::var("DOCKER_CONFIG")
        .ok()
        .filter(|d| !d.is_empty())
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .filter(|h| !h.is_empty())
                .map(|h| format!("{}/.docker", h.trim_end_matches('/')))
        });
    if let Some(dir) = config {
        let user = format!("{dir}/cli-plugins/docker-compose");
        if host.path(&user).is_file() {
            return Some(user);
        }
    }
    st.settings
        .compose_v2
        .then(|| "/usr/libexec/docker/cli-plugins/docker-compose".to_owned())
}

/// `-f` is `--filter` for `ps` and `images` (it is `--format` only for `inspect`).
fn filter_flag(args: &[String]) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == "-f" {
                "--filter".to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

/// What `docker ps` shows as a container's image: the reference it was created from while that
/// still names the container's image, else the image's ID (truncated unless `--no-trunc`), as
/// the daemon and the CLI do once a pull or `docker tag` has moved the tag.
fn shown_image(st: &State, c: &Container, no_trunc: bool) -> String {
    let short = |id: &str| {
        id.trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or_default()
            .to_string()
    };
    let same = st
        .resolve_image(&c.image)
        .is_some_and(|i| i.id == c.image_id);
    if same && !c.image.starts_with("sha256:") {
        c.image.clone()
    } else if no_trunc {
        c.image_id.clone()
    } else {
        short(&c.image_id)
    }
}

fn ps(st: &State, args: &[String]) -> Out {
    let (fmt, rest) = format_arg(&filter_flag(args));
    let mut all = false;
    let mut quiet = false;
    let mut no_trunc = false;
    let mut filters: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        match a {
            "-a" | "--all" => all = true,
            "-q" | "--quiet" => quiet = true,
            "-aq" | "-qa" => {
                all = true;
                quiet = true;
            }
            "--no-trunc" => no_trunc = true,
            "--filter" => {
                i += 1;
                if let Some((k, v)) = rest.get(i).and_then(|f| f.split_once('=')) {
                    filters.push((k.to_string(), v.to_string()));
                }
            }
            _ => {
                if let Some(f) = a.strip_prefix("--filter=")
                    && let Some((k, v)) = f.split_once('=')
                {
                    filters.push((k.to_string(), v.to_string()));
                }
            }
        }
        i += 1;
    }
    let t = now();
    let matches = |c: &Container| -> bool {
        let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
        keys.dedup();
        keys.iter().all(|k| {
            filters
                .iter()
                .filter(|(fk, _)| fk == k)
                .any(|(_, v)| match *k {
                    "name" => c
                        .name
                        .contains(v.trim_start_matches('^').trim_end_matches('$')),
                    "status" => state_word(c) == v,
                    "id" => c.id.starts_with(v),
                    "label" => match v.split_once('=') {
                        Some((lk, lv)) => c.label(lk) == Some(lv),
                        None => c.label(v).is_some(),
                    },
                    // The image the filter names now, by ID (docker resolves it first).
                    "ancestor" => st.resolve_image(v).is_some_and(|i| i.id == c.image_id),
                    _ => false,
                })
        })
    };
    let list: Vec<&Container> = st
        .containers
        .values()
        .rev()
        .filter(|c| all || c.status == Status::Running || c.status == Status::Restarting)
        .filter(|c| matches(c))
        .collect();
    if quiet {
        let mut out = Out::default();
        for c in list {
            out.line(c.id.get(..12).unwrap_or_default());
        }
        return out;
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|c| {
            let mut row = ps_row(c, t);
            if let Some(o) = row.as_object_mut() {
                o.insert("Image".into(), Value::String(shown_image(st, c, no_trunc)));
            }
            row
        })
        .collect();
    match fmt {
        Some(f) => render_lines(&f, &rows),
        None => {
            let mut out = Out::default();
            out.line("CONTAINER ID   IMAGE                                                  COMMAND                  CREATED          STATUS                      PORTS                    NAMES");
            for r in &rows {
                let g = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                out.line(&format!(
                    "{:<14} {:<54} {:<24} {:<16} {:<27} {:<24} {}",
                    g("ID"),
                    g("Image"),
                    g("Command"),
                    g("RunningFor"),
                    g("Status"),
                    g("Ports"),
                    g("Names")
                ));
            }
            out
        }
    }
}

fn inspect(st: &State, args: &[String], only_images: bool) -> Out {
    let (fmt, rest) = format_arg(args);
    let mut names = Vec::new();
    let mut kind: Option<String> = if only_images {
        Some("image".into())
    } else {
        None
    };
    let mut i = 0;
    while i < rest.len() {
        match rest[i].as_str() {
            "--type" => {
                i += 1;
                kind = rest.get(i).cloned();
            }
            "-s" | "--size" => {}
            a => {
                if let Some(v) = a.strip_prefix("--type=") {
                    kind = Some(v.to_string());
                } else {
                    names.push(a.to_string());
                }
            }
        }
        i += 1;
    }
    if let Some(f) = &fmt
        && f != "json"
        && let Err(e) = gotemplate::check(f)
    {
        return Out::fail(64, e);
    }
    let t = now();
    let mut found: Vec<Value> = Vec::new();
    let mut out = Out::default();
    for n in &names {
        let c = if kind.as_deref() == Some("image") {
            None
        } else {
            st.find(n).and_then(|k| st.containers.get(k))
        };
        let v = match c {
            Some(c) => Some(inspect_json(c, t)),
            None if kind.as_deref() != Some("container") => st
                .resolve_image(n)
                .map(|i| image_json(i, &st.tags_of(&i.id), &containers::digest(i))),
            None => None,
        };
        match v {
            Some(v) => found.push(v),
            None => {
                if only_images || kind.as_deref() == Some("image") {
                    out.eline(&format!("Error response from daemon: No such image: {n}"));
                } else {
                    out.eline(&format!("Error: No such object: {n}"));
                }
                out.code = 1;
            }
        }
    }
    match fmt {
        None => {
            out.stdout =
                serde_json::to_string_pretty(&Value::Array(found)).unwrap_or_default() + "\n";
        }
        Some(f) => {
            let r = render_lines(&f, &found);
            if r.code != 0 {
                return r;
            }
            out.stdout = r.stdout;
        }
    }
    out
}

fn version(host: &Host, st: &State, args: &[String], ok: bool) -> Out {
    let (fmt, _) = format_arg(args);
    let client = json!({"Platform": {"Name": "Docker Engine - Community"}, "Version": ENGINE, "ApiVersion": API, "DefaultAPIVersion": API, "GitCommit": "ce12230", "GoVersion": "go1.22.7", "Os": "linux", "Arch": "amd64", "Context": "default"});
    let server = json!({"Platform": {"Name": "Docker Engine - Community"}, "Version": ENGINE, "ApiVersion": API, "MinAPIVersion": "1.24", "GitCommit": "41ca978", "GoVersion": "go1.22.7", "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1.0-26-amd64"});
    let _ = (host, st);
    let data = json!({"Client": client, "Server": if ok { server } else { Value::Null }});
    if let Some(f) = fmt {
        let mut out = render_lines(&f, &[data]);
        if !ok {
            out.eline(&denied("version"));
            out.code = 1;
        }
        return out;
    }
    let mut out = Out::default();
    out.stdout.push_str(&format!("Client: Docker Engine - Community\n Version:           {ENGINE}\n API version:       {API}\n Go version:        go1.22.7\n Git commit:        ce12230\n Built:             Fri Sep 20 11:41:00 2024\n OS/Arch:           linux/amd64\n Context:           default\n"));
    if ok {
        out.stdout.push_str(&format!("\nServer: Docker Engine - Community\n Engine:\n  Version:          {ENGINE}\n  API version:      {API} (minimum version 1.24)\n  Go version:       go1.22.7\n  Git commit:       41ca978\n  Built:            Fri Sep 20 11:41:00 2024\n  OS/Arch:          linux/amd64\n  Experimental:     false\n containerd:\n  Version:          1.7.22\n runc:\n  Version:          1.1.14\n"));
    } else {
        out.eline(&denied("version"));
        out.code = 1;
    }
    out
}

fn info(host: &Host, st: &State, args: &[String], ok: bool) -> Out {
    let (fmt, _) = format_arg(args);
    let running = st
        .containers
        .values()
        .filter(|c| c.status == Status::Running)
        .count();
    let stopped = st
        .containers
        .values()
        .filter(|c| c.status == Status::Exited || c.status == Status::Created)
        .count();
    let plugin = compose_plugin(host, st);
    let plugins: Vec<Value> = match &plugin {
        Some(path) => vec![
            json!({"Name": "compose", "Vendor": "Docker Inc.", "Version": format!("v{}", crate::compose::V2_VERSION), "ShortDescription": "Docker Compose", "Path": path}),
        ],
        None => vec![],
    };
    let os = if st.settings.os == "macos" {
        "Docker Desktop"
    } else {
        "Debian GNU/Linux 12 (bookworm)"
    };
    let data = json!({"ID": "4b6a5f7c-sim", "Containers": st.containers.len(), "ContainersRunning": running, "ContainersPaused": 0,
        "ContainersStopped": stopped, "Images": st.image_count(), "Driver": "overlay2", "DockerRootDir": "/var/lib/docker",
        "ServerVersion": ENGINE, "OperatingSystem": os, "OSType": "linux", "Architecture": "x86_64", "NCPU": 2, "MemTotal": 25_769_803_776u64,
        "ClientInfo": {"Version": ENGINE, "Context": "default", "Plugins": plugins}});
    if let Some(f) = fmt {
        if !ok {
            let mut o = Out::fail(1, denied("info"));
            o.stderr = denied("info") + "\n";
            return o;
        }
        return render_lines(&f, &[data]);
    }
    let mut out = Out::default();
    out.stdout.push_str("Client: Docker Engine - Community\n Version:    27.3.1\n Context:    default\n Debug Mode: false\n Plugins:\n");
    if let Some(path) = &plugin {
        out.stdout.push_str(&format!(
            "  compose: Docker Compose (Docker Inc.)\n    Version:  v{}\n    Path:     {path}\n",
            crate::compose::V2_VERSION
        ));
    }
    out.stdout.push_str("\nServer:\n");
    if !ok {
        out.stdout.push_str(&format!(
            "ERROR: {}\nerrors pretty printing info\n",
            denied("info")
        ));
        out.code = 1;
        return out;
    }
    out.stdout.push_str(&format!(
        " Containers: {}\n  Running: {running}\n  Paused: 0\n  Stopped: {stopped}\n Images: {}\n Server Version: {ENGINE}\n Storage Driver: overlay2\n Docker Root Dir: /var/lib/docker\n Operating System: {os}\n OSType: linux\n Architecture: x86_64\n CPUs: 2\n",
        st.containers.len(),
        st.image_count()
    ));
    out
}

fn pull_cmd(st: &mut State, args: &[String]) -> Out {
    let Some(img) = args.iter().find(|a| !a.starts_with('-')) else {
        return Out::fail(
            1,
            "\"docker pull\" requires exactly 1 argument.\nSee 'docker pull --help'.",
        );
    };
    let r = normalize(img);
    let (repo, tag) = crate::releases::split_ref(&r);
    let before = st.image_by_ref(&r).map(|i| i.id.clone());
    match containers::pull(st, &r) {
        Ok(i) => {
            let status = if before.as_deref() == Some(i.id.as_str()) {
                format!("Image is up to date for {r}")
            } else {
                format!("Downloaded newer image for {r}")
            };
            Out::ok(format!(
                "{tag}: Pulling from {repo}\nDigest: {}\nStatus: {status}\ndocker.io/{r}\n",
                containers::digest(&i)
            ))
        }
        Err(m) => Out::fail(1, format!("Error response from daemon: {m}")),
    }
}

/// Whether `r` is a reference docker accepts as a new tag; the error is docker's.
fn check_new_tag(r: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "Error parsing reference: \"{r}\" is not a valid repository/tag: invalid reference format{why}"
        ))
    };
    if r.contains('@') {
        return Err(
            "Error response from daemon: refusing to create a tag with a digest reference".into(),
        );
    }
    let (name, tag) = match r.rfind(':') {
        Some(i) if !r[i..].contains('/') => (&r[..i], Some(&r[i + 1..])),
        _ => (r, None),
    };
    if let Some(t) = tag {
        let ok_first = t
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok_first
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return bad("");
        }
    }
    if name.is_empty() {
        return bad("");
    }
    let parts: Vec<&str> = name.split('/').collect();
    let domain = parts.len() > 1
        && parts
            .first()
            .is_some_and(|d| d.contains('.') || d.contains(':') || *d == "localhost");
    for (k, p) in parts.iter().enumerate() {
        if k == 0 && domain {
            continue;
        }
        if p.chars().any(|c| c.is_ascii_uppercase()) {
            return bad(": repository name must be lowercase");
        }
        let sep = |c: char| "._-".contains(c);
        if p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || sep(c))
            || p.starts_with(sep)
            || p.ends_with(sep)
        {
            return bad("");
        }
    }
    if parts.len() == 1 && name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("Error response from daemon: refusing to create an ambiguous tag using digest algorithm as name".into());
    }
    Ok(())
}

/// `docker tag SOURCE TARGET`: TARGET names SOURCE's image (a reference, an image ID or a unique
/// ID prefix); the image TARGET named before stays in the store (dangling if nothing else names
/// it).
fn tag(st: &mut State, args: &[String]) -> Out {
    let pos: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let [src, dst] = pos.as_slice() else {
        return Out::fail(
            1,
            "\"docker tag\" requires exactly 2 arguments.\nSee 'docker tag --help'.\n\nUsage:  docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\nCreate a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        );
    };
    if let Err(m) = check_new_tag(dst) {
        return Out::fail(1, m);
    }
    let Some(img) = st.resolve_image(src).cloned() else {
        let hexish = src
            .strip_prefix("sha256:")
            .unwrap_or(src)
            .bytes()
            .all(|b| b.is_ascii_hexdigit());
        let shown = if hexish && src.len() >= 12 {
            src.to_string()
        } else {
            normalize(src)
        };
        return Out::fail(
            1,
            format!("Error response from daemon: No such image: {shown}"),
        );
    };
    st.set_tag(dst, img);
    Out::default()
}

fn run(host: &Host, st: &mut State, args: &[String]) -> Out {
    let mut spec = Spec {
        restart_policy: "no".into(),
        ..Spec::default()
    };
    let mut detach = false;
    let mut i = 0;
    let mut rm = false;
    while i < args.len() {
        let a = args[i].clone();
        if !a.starts_with('-') {
            break;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let val = |i: &mut usize| -> String {
            inline.clone().unwrap_or_else(|| {
                *i += 1;
                args.get(*i).cloned().unwrap_or_default()
            })
        };
        match name.as_str() {
            "--name" => spec.name = val(&mut i),
            "-v" | "--volume" => {
                let v = val(&mut i);
                let parts: Vec<&str> = v.split(':').collect();
                if let [s, d, ..] = parts.as_slice() {
                    let kind = if s.starts_with('/') { "bind" } else { "volume" };
                    let source = if kind == "bind" {
                        s.to_string()
                    } else {
                        format!("/var/lib/docker/volumes/{s}/_data")
                    };
                    spec.mounts.push(Mount {
                        kind: kind.into(),
                        source,
                        destination: d.to_string(),
                    });
                }
            }
            "-e" | "--env" => spec.env.push(val(&mut i)),
            "-p" | "--publish" => spec.ports.push(val(&mut i)),
            "--restart" => spec.restart_policy = val(&mut i),
            "--entrypoint" => spec.entrypoint = vec![val(&mut i)],
            "-l" | "--label" => {
                let l = val(&mut i);
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                spec.labels.insert(k.to_string(), v.to_string());
            }
            "--network" | "--net" => {
                let n = val(&mut i);
                spec.network_mode = (n == "host").then_some(n);
            }
            "-w" | "--workdir" | "-u" | "--user" | "--ulimit" | "-m" | "--memory" => {
                val(&mut i);
            }
            "--privileged" => spec.privileged = true,
            "--rm" => rm = true,
            _ => {
                let flags = a.trim_start_matches('-');
                if flags.contains('d') && !a.starts_with("--") {
                    detach = true;
                }
                if a == "--detach" {
                    detach = true;
                }
            }
        }
        i += 1;
    }
    let Some(image) = args.get(i).cloned() else {
        return Out::fail(
            125,
            "docker: 'docker run' requires at least 1 argument.\nSee 'docker run --help'.",
        );
    };
    spec.image = image.clone();
    spec.command = args
        .get(i + 1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if spec.name.is_empty() {
        spec.name = format!("sim_{}", st.counter + 1);
    }
    let mut out = Out::default();
    let r = normalize(&image);
    if st.resolve_image(&image).is_none() {
        out.eline(&format!("Unable to find image '{r}' locally"));
        if let Err(m) = containers::pull(st, &r) {
            out.eline(&format!(
                "docker: Error response from daemon: {m}.\nSee 'docker run --help'."
            ));
            out.code = 125;
            return out;
        }
    }
    let name = match containers::create(host, st, spec) {
        Ok(n) => n,
        Err(m) => {
            out.eline(&format!(
                "docker: Error response from daemon: {m}.\nSee 'docker run --help'."
            ));
            out.code = 125;
            return out;
        }
    };
    if let Some(msg) = containers::port_conflict(st, &name) {
        out.eline(&format!("docker: Error response from daemon: {msg}."));
        out.code = 125;
        return out;
    }
    if let Err(e) = containers::start(host, st, &name) {
        return e.into();
    }
    let Some(c) = st.containers.get(&name).cloned() else {
        return out;
    };
    if detach {
        out.line(&c.id);
    } else {
        for l in &c.logs {
            out.line(l);
        }
        if c.status == Status::Exited {
            out.code = c.exit_code;
        }
    }
    if rm && c.status == Status::Exited {
        st.containers.shift_remove(&name);
    }
    out
}

fn no_such(n: &str) -> String {
    format!("Error response from daemon: No such container: {n}")
}

fn lifecycle(host: &Host, st: &mut State, verb: &str, args: &[String]) -> Out {
    let force = args
        .iter()
        .any(|a| a == "-f" || a == "--force" || a == "-fv" || a == "-vf");
    let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut out = Out::default();
    for n in names {
        let Some(key) = st.find(n).map(str::to_string) else {
            out.eline(&no_such(n));
            out.code = 1;
            continue;
        };
        match verb {
            "rm" => {
                let running = st
                    .containers
                    .get(&key)
                    .is_some_and(|c| c.status == Status::Running || c.status == Status::Restarting);
                if running && !force {
                    out.eline(&format!("Error response from daemon: cannot remove container \"/{key}\": container is running: stop the container before removing or force remove"));
                    out.code = 1;
                    continue;
                }
                containers::stop(st, &key);
                st.containers.shift_remove(&key);
            }
            "stop" | "kill" => containers::stop(st, &key),
            "start" => {
                let up = st
                    .containers
                    .get(&key)
                    .is_some_and(|c| c.status == Status::Running);
                if !up && let Some(msg) = containers::port_conflict(st, &key) {
                    out.eline(&format!(
                        "Error response from daemon: {msg}\nError: failed to start containers: {n}"
                    ));
                    out.code = 1;
                    continue;
                }
                if !up && let Err(e) = containers::start(host, st, &key) {
                    return e.into();
                }
            }
            _ => {
                containers::stop(st, &key);
                if let Some(msg) = containers::port_conflict(st, &key) {
                    out.eline(&format!(
                        "Error response from daemon: Cannot restart container {n}: {msg}"
                    ));
                    out.code = 1;
                    continue;
                }
                if let Err(e) = containers::start(host, st, &key) {
                    return e.into();
                }
            }
        }
        out.line(n);
    }
    out
}

fn logs(st: &State, args: &[String]) -> Out {
    let mut tail: Option<usize> = None;
    let mut name = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--tail" | "-n" => {
                i += 1;
                tail = args.get(i).and_then(|v| v.parse().ok());
            }
            "--since" | "--until" => i += 1,
            a if a.starts_with("--tail=") => tail = a.trim_start_matches("--tail=").parse().ok(),
            a if a.starts_with('-') => {}
            a => name = Some(a.to_string()),
        }
        i += 1;
    }
    let Some(n) = name else {
        return Out::fail(1, "\"docker logs\" requires exactly 1 argument.");
    };
    let Some(c) = st.find(&n).and_then(|k| st.containers.get(k)) else {
        return Out::fail(1, no_such(&n));
    };
    let skip = tail.map(|t| c.logs.len().saturating_sub(t)).unwrap_or(0);
    let mut out = Out::default();
    for l in c.logs.iter().skip(skip) {
        out.line(l);
    }
    out
}

fn exec_cmd(host: &Host, st: &State, args: &[String]) -> Out {
    let mut i = 0;
    let mut extra_env: Vec<String> = Vec::new();
    while i < args.len() && args[i].starts_with('-') {
        match args[i].as_str() {
            "-e" | "--env" => {
                i += 1;
                if let Some(e) = args.get(i) {
                    extra_env.push(e.clone());
                }
            }
            "-u" | "--user" | "-w" | "--workdir" => i += 1,
            _ => {}
        }
        i += 1;
    }
    let Some(n) = args.get(i) else {
        return Out::fail(1, "\"docker exec\" requires at least 2 arguments.");
    };
    let cmd = args
        .get(i + 1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    if cmd.is_empty() {
        return Out::fail(1, "\"docker exec\" requires at least 2 arguments.");
    }
    let Some(c) = st.find(n).and_then(|k| st.containers.get(k)) else {
        return Out::fail(1, no_such(n));
    };
    match c.status {
        Status::Running => {}
        Status::Restarting => {
            return Out::fail(
                1,
                format!(
                    "Error response from daemon: Container {} is restarting, wait until the container is running",
                    c.id
                ),
            );
        }
        _ => {
            return Out::fail(
                1,
                format!(
                    "Error response from daemon: container {} is not running",
                    c.id
                ),
            );
        }
    }
    let mut c = c.clone();
    c.env.extend(extra_env);
    crate::exec::exec(host, st, &c, &cmd)
}

/// `*`/`?` glob of docker's `reference=` filter (Go's path.Match, without classes).
fn glob(pat: &str, s: &str) -> bool {
    match pat.chars().next() {
        None => s.is_empty(),
        Some('*') => {
            let rest = &pat[1..];
            (0..=s.len())
                .filter(|&i| s.is_char_boundary(i))
                .any(|i| !s[..i].contains('/') && glob(rest, &s[i..]))
        }
        Some(c) => {
            let mut it = s.chars();
            match it.next() {
                Some(x) if (c == '?' && x != '/') || x == c => {
                    glob(&pat[c.len_utf8()..], it.as_str())
                }
                _ => false,
            }
        }
    }
}

/// `docker images [-a] [-q] [--no-trunc] [--digests] [-f|--filter dangling=…|reference=…]
/// [--format T] [REPOSITORY[:TAG]]`: tagged images, one row per tag, and dangling ones as
/// `<none>`/`<none>` (there are no intermediate layers, so `-a` shows the same).
fn images(st: &State, args: &[String]) -> Out {
    let (fmt, rest) = format_arg(&filter_flag(args));
    let mut quiet = false;
    let mut no_trunc = false;
    let mut filters: Vec<(String, String)> = Vec::new();
    let mut wanted: Option<String> = None;
    let mut i = 0;
    while i < rest.len() {
        let a = rest[i].as_str();
        match a {
            "-q" | "--quiet" | "-aq" | "-qa" => quiet = true,
            "-a" | "--all" | "--digests" => {}
            "--no-trunc" => no_trunc = true,
            "--filter" => {
                i += 1;
                if let Some((k, v)) = rest.get(i).and_then(|f| f.split_once('=')) {
                    filters.push((k.to_string(), v.to_string()));
                }
            }
            _ => {
                if let Some(f) = a.strip_prefix("--filter=") {
                    if let Some((k, v)) = f.split_once('=') {
                        filters.push((k.to_string(), v.to_string()));
                    }
                } else if !a.starts_with('-') {
                    wanted = Some(a.to_string());
                }
            }
        }
        i += 1;
    }
    let keep = |img: &crate::state::Image| -> bool {
        let (repo, tag) = crate::releases::split_ref(&img.reference);
        let familiar = format!("{repo}:{tag}");
        let ok_filters = filters.iter().all(|(k, v)| match k.as_str() {
            "dangling" => img.dangling == (v == "true" || v == "1"),
            "reference" => !img.dangling && (glob(v, &familiar) || glob(v, &repo)),
            _ => true,
        });
        let ok_name = wanted.as_ref().is_none_or(|w| {
            if img.dangling {
                return false;
            }
            match w.rfind(':').filter(|&i| !w[i..].contains('/')) {
                Some(_) => normalize(w) == img.reference,
                None => normalize(w).trim_end_matches(":latest") == repo,
            }
        });
        ok_filters && ok_name
    };
    let rows: Vec<Value> = st
        .images
        .values()
        .filter(|i| keep(i))
        .map(|i| {
            let (repo, tag) = if i.dangling {
                ("<none>".to_string(), "<none>".to_string())
            } else {
                crate::releases::split_ref(&i.reference)
            };
            let id = if no_trunc {
                i.id.clone()
            } else {
                i.id.trim_start_matches("sha256:").get(..12).unwrap_or_default().to_string()
            };
            json!({"Repository": repo, "Tag": tag, "ID": id, "Digest": containers::digest(i),
                "CreatedAt": crate::state::rfc3339(i.pulled_at), "CreatedSince": "2 months ago", "Size": "1.2GB"})
        })
        .collect();
    if quiet {
        let mut out = Out::default();
        for r in &rows {
            out.line(r.get("ID").and_then(Value::as_str).unwrap_or(""));
        }
        return out;
    }
    match fmt {
        Some(f) => render_lines(&f, &rows),
        None => {
            let mut out = Out::default();
            out.line("REPOSITORY                                      TAG          IMAGE ID       CREATED        SIZE");
            for r in &rows {
                let g = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                out.line(&format!(
                    "{:<47} {:<12} {:<14} {:<14} {}",
                    g("Repository"),
                    g("Tag"),
                    g("ID"),
                    g("CreatedSince"),
                    g("Size")
                ));
            }
            out
        }
    }
}

/// `docker ARGS`.
pub fn main(host: &Host, args: &[String]) -> Out {
    let st = match host.load() {
        Ok(s) => s,
        // A caller who cannot even read the daemon state has no access to the daemon either.
        Err(_) if !rustix::process::geteuid().is_root() => {
            return Out::fail(1, denied("containers/json"));
        }
        Err(e) => return e.into(),
    };
    if st.settings.docker_access == Access::None {
        return Out::fail(127, "docker: command not found");
    }
    // Global options.
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        match args[i].as_str() {
            "-H" | "--host" | "-c" | "--context" | "--config" | "-l" | "--log-level" => i += 2,
            "-v" | "--version" => {
                return Out::ok(format!("Docker version {ENGINE}, build ce12230\n"));
            }
            _ => i += 1,
        }
    }
    let sub = args.get(i).map(String::as_str).unwrap_or("");
    let rest: Vec<String> = args
        .get(i + 1..)
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let ok = caller_ok(&st);
    match sub {
        "version" => return version(host, &st, &rest, ok),
        "info" => return info(host, &st, &rest, ok),
        "compose" => {
            if compose_plugin(host, &st).is_none() {
                return Out::fail(
                    1,
                    "docker: 'compose' is not a docker command.\nSee 'docker --help'",
                );
            }
            let is_version = rest.iter().any(|a| a == "version");
            if !ok && !is_version && !rest.iter().any(|a| a == "config") {
                return Out::fail(1, denied("containers/json"));
            }
            return crate::compose_cli::main(host, &rest, Flavour::V2);
        }
        "" => {
            return Out::fail(
                0,
                "Usage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers",
            );
        }
        _ => {}
    }
    if !ok {
        return Out::fail(1, denied("containers/json"));
    }
    let (sub, rest) = match (sub, rest.first().map(String::as_str)) {
        ("container", Some(s)) => (
            if s == "ls" || s == "list" { "ps" } else { s },
            rest.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        ),
        ("image", Some("inspect")) => (
            "image-inspect",
            rest.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        ),
        ("image", Some("ls" | "list")) => (
            "images",
            rest.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        ),
        ("image", Some("pull")) => (
            "pull",
            rest.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        ),
        ("image", Some("tag")) => (
            "tag",
            rest.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        ),
        _ => (sub, rest),
    };
    let read_only = |f: &dyn Fn(&State) -> Out| f(&st);
    let r = match sub {
        "ps" => return read_only(&|s| ps(s, &rest)),
        "inspect" => return read_only(&|s| inspect(s, &rest, false)),
        "image-inspect" => return read_only(&|s| inspect(s, &rest, true)),
        "images" => return read_only(&|s| images(s, &rest)),
        "logs" => return read_only(&|s| logs(s, &rest)),
        "exec" => return exec_cmd(host, &st, &rest),
        "pull" => host.with_state(|s| pull_cmd(s, &rest)),
        "tag" => host.with_state(|s| tag(s, &rest)),
        "run" => host.with_state(|s| run(host, s, &rest)),
        "rm" | "stop" | "start" | "restart" | "kill" => {
            host.with_state(|s| lifecycle(host, s, sub, &rest))
        }
        other => {
            return Out::fail(
                1,
                format!(
                    "clearml-sim: `docker {other}` is not simulated (supported: version, info, ps, inspect, image inspect, images, image ls, tag, logs, exec, pull, run, rm, stop, start, restart, compose)"
                ),
            );
        }
    };
    match r {
        Ok(o) => o,
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules() {
        assert!(may_access(Access::Root, 0, &[], None));
        assert!(!may_access(Access::Root, 1000, &[999], Some(999)));
        assert!(may_access(Access::Group, 1000, &[999], Some(999)));
        assert!(!may_access(Access::Group, 1000, &[100], Some(999)));
        assert!(!may_access(Access::None, 0, &[], None));
        assert!(
            denied("version").starts_with(
                "permission denied while trying to connect to the Docker daemon socket"
            )
        );
    }
}

//! The simulated daemon's container lifecycle: pulling images, creating containers, and the
//! startup rules that decide whether each ClearML container runs, exits or keeps restarting
//! (the real failure rules of spec §5 and §8; the apiserver's own steps are in apiserver.rs).

use crate::elastic;
use crate::mongo;
use crate::redis;
use crate::releases::{self, ImageKind, Lookup, normalize, series, vge};
use crate::state::{
    Container, Host, Image, Mount, Role, ServerErrors, SimError, State, Status, hex_id, now,
};
use indexmap::IndexMap;
use std::path::PathBuf;

/// The ID of an image: derived from what it is (repository, release or version, build), not from
/// the reference it was pulled by, so that two tags of one image (`clearml/server:latest` and
/// `clearml/server:2.3.0`, `mongo:4.4` and `mongo:4.4.29`) are one image, as in docker.
pub fn image_id(repo: &str, version: &str, build: Option<&str>) -> String {
    format!(
        "sha256:{}",
        hex_id(&format!("image/{repo}@{version}+{}", build.unwrap_or("")))
    )
}

/// The registry digest of an image (`RepoDigests`, `docker pull`'s "Digest:").
pub fn digest(img: &Image) -> String {
    format!("sha256:{}", hex_id(&format!("digest/{}", img.id)))
}

/// Pull `reference` into the local image store; the error is the daemon's message. When the
/// reference named another image before, that image stays in the store (dangling unless another
/// tag names it).
pub fn pull(st: &mut State, reference: &str) -> Result<Image, String> {
    let r = normalize(reference);
    let (repo, _) = releases::split_ref(&r);
    let missing = st.inject.missing_tags.iter().any(|t| normalize(t) == r);
    let found = if missing {
        Lookup::NoTag
    } else {
        releases::registry_at(&r, &st.inject.latest)
    };
    match found {
        Lookup::Found(ri) => {
            let id = image_id(&repo, &ri.version, ri.build.as_deref());
            if let Some(same) = st.image_by_ref(&r).filter(|i| i.id == id) {
                return Ok(same.clone());
            }
            let img = Image {
                reference: r.clone(),
                id,
                dangling: false,
                kind: ri.kind,
                env: image_env(ri.kind, &ri.version, ri.build.as_deref()),
                version: ri.version,
                build: ri.build,
                pulled_at: now(),
            };
            st.set_tag(&r, img.clone());
            Ok(img)
        }
        Lookup::NoTag => Err(format!(
            "manifest for {r} not found: manifest unknown: manifest unknown"
        )),
        Lookup::NoRepo => Err(format!(
            "pull access denied for {repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied"
        )),
    }
}

/// Put an image of a given version in the local store without asking the registry (for `init`:
/// images pulled back when `:latest` meant that release).
pub fn install_image(
    st: &mut State,
    reference: &str,
    kind: ImageKind,
    version: &str,
    build: Option<&str>,
) {
    let r = normalize(reference);
    let (repo, _) = releases::split_ref(&r);
    let img = Image {
        reference: r.clone(),
        id: image_id(&repo, version, build),
        dangling: false,
        kind,
        version: version.to_string(),
        build: build.map(str::to_string),
        env: image_env(kind, version, build),
        pulled_at: now(),
    };
    st.set_tag(&r, img);
}

/// The image's own `Config.Env`.
pub fn image_env(kind: ImageKind, version: &str, build: Option<&str>) -> Vec<String> {
    let mut env =
        vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()];
    match kind {
        ImageKind::Server => {
            // The official Dockerfile sets these since 1.1 (spec §2.2).
            if vge(version, "1.1.0") {
                env.push(format!("CLEARML_SERVER_VERSION={version}"));
                env.push(format!("CLEARML_SERVER_BUILD={}", build.unwrap_or("0")));
            }
        }
        ImageKind::Mongo => {
            env.push(format!("MONGO_VERSION={version}"));
            env.push(format!("MONGO_MAJOR={}", series(version)));
        }
        ImageKind::Elastic => {
            env.push("ELASTIC_CONTAINER=true".into());
            env.push(format!("ES_VERSION={version}"));
        }
        ImageKind::Redis => env.push(format!("REDIS_VERSION={version}")),
        ImageKind::AgentServices | ImageKind::Other => {}
    }
    env
}

pub fn role_of(kind: ImageKind, entrypoint: &[String], command: &[String]) -> Role {
    match kind {
        ImageKind::Mongo => Role::Mongo,
        ImageKind::Elastic => Role::Elastic,
        ImageKind::Redis => Role::Redis,
        ImageKind::AgentServices => Role::AgentServices,
        ImageKind::Server => {
            let all = entrypoint
                .iter()
                .chain(command.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            if all.contains("async_urls_delete") {
                Role::AsyncDelete
            } else if all.contains("webserver") {
                Role::Webserver
            } else if all.contains("fileserver") {
                Role::Fileserver
            } else {
                Role::Apiserver
            }
        }
        ImageKind::Other => Role::Other,
    }
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub name: String,
    pub image: String,
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
    pub env: Vec<String>,
    pub labels: IndexMap<String, String>,
    pub mounts: Vec<Mount>,
    pub ports: Vec<String>,
    pub network_mode: Option<String>,
    pub restart_policy: String,
    pub privileged: bool,
}

/// The ports a ClearML container's process listens on: what it holds on the host network (the
/// Trains 0.10 README: "API server on port 8008, Web server on port 8080, File server on port
/// 8081"; the data stores on their defaults).
pub fn listen_ports(role: Role) -> &'static [&'static str] {
    match role {
        Role::Apiserver => &["8008"],
        Role::Webserver => &["8080"],
        Role::Fileserver => &["8081"],
        Role::Elastic => &["9200"],
        Role::Mongo => &["27017"],
        Role::Redis => &["6379"],
        Role::AsyncDelete | Role::AgentServices | Role::Other => &[],
    }
}

pub fn conflict_msg(name: &str, id: &str) -> String {
    format!(
        "Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    )
}

/// Real path of a mount's source (named volumes live in the state dir).
pub fn real_source(host: &Host, m: &Mount) -> PathBuf {
    if m.kind == "volume" {
        let name = m
            .source
            .trim_start_matches("/var/lib/docker/volumes/")
            .trim_end_matches("/_data");
        host.state_dir.join("volumes").join(name).join("_data")
    } else {
        host.path(&m.source)
    }
}

/// Create a container; the image must be in the local store.
pub fn create(host: &Host, st: &mut State, spec: Spec) -> Result<String, String> {
    if let Some(c) = st.containers.get(&spec.name) {
        return Err(conflict_msg(&spec.name, &c.id));
    }
    let Some(img) = st.resolve_image(&spec.image).cloned() else {
        return Err(format!("No such image: {}", normalize(&spec.image)));
    };
    let mut env = img.env.clone();
    for kv in &spec.env {
        let k = kv.split('=').next().unwrap_or("");
        env.retain(|e| e.split('=').next() != Some(k));
        env.push(kv.clone());
    }
    for m in &spec.mounts {
        let p = real_source(host, m);
        let system = ["/var/run/", "/run/", "/dev/", "/proc/", "/sys/"]
            .iter()
            .any(|d| m.source.starts_with(d));
        if !p.exists() && !system {
            // The daemon creates missing bind sources (as root).
            std::fs::create_dir_all(&p).map_err(|e| {
                format!("error while creating mount source path '{}': {e}", m.source)
            })?;
        }
    }
    let id = st.next_id(&spec.name);
    let t = now();
    let role = role_of(img.kind, &spec.entrypoint, &spec.command);
    let ports = if spec.network_mode.as_deref() == Some("host") {
        listen_ports(role).iter().map(|p| p.to_string()).collect()
    } else {
        spec.ports
    };
    let c = Container {
        id,
        name: spec.name.clone(),
        image: spec.image.clone(),
        image_id: img.id.clone(),
        kind: img.kind,
        role,
        version: img.version.clone(),
        build: img.build.clone(),
        entrypoint: spec.entrypoint,
        command: spec.command,
        env,
        labels: spec.labels,
        mounts: spec.mounts,
        ports,
        network_mode: spec.network_mode,
        restart_policy: if spec.restart_policy.is_empty() {
            "no".into()
        } else {
            spec.restart_policy
        },
        privileged: spec.privileged,
        status: Status::Created,
        exit_code: 0,
        restart_count: 0,
        restarting_since: None,
        created: t,
        started_at: 0,
        finished_at: 0,
        logs: vec![],
        server_errors: ServerErrors::default(),
    };
    st.containers.insert(spec.name.clone(), c);
    Ok(spec.name)
}

pub(crate) enum Outcome {
    Run,
    Exit(i32),
}

pub(crate) struct Verdict {
    pub(crate) outcome: Outcome,
    pub(crate) logs: Vec<String>,
    pub(crate) errors: ServerErrors,
}

impl Verdict {
    pub(crate) fn run(logs: Vec<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Run,
            logs,
            errors: ServerErrors::default(),
        }
    }
    pub(crate) fn exit(code: i32, logs: Vec<String>) -> Verdict {
        Verdict {
            outcome: Outcome::Exit(code),
            logs,
            errors: ServerErrors::default(),
        }
    }
}

/// Real path of the directory mounted at `dest` in `c` (an anonymous volume otherwise).
pub fn data_dir(host: &Host, c: &Container, dest: &str) -> PathBuf {
    let d = dest.trim_end_matches('/');
    match c
        .mounts
        .iter()
        .find(|m| m.destination.trim_end_matches('/') == d)
    {
        Some(m) => real_source(host, m),
        None => host
            .state_dir
            .join("volumes")
            .join(c.id.get(..12).unwrap_or(&c.id))
            .join(d.trim_start_matches('/')),
    }
}

/// The running container of `role`, preferring the same compose project as `c`.
pub fn peer<'a>(st: &'a State, c: &Container, role: Role) -> Option<&'a Container> {
    let project = c.label("com.docker.compose.project");
    let mut it = st
        .containers
        .values()
        .filter(|x| x.role == role && x.is_up());
    let all: Vec<&Container> = it.by_ref().collect();
    all.iter()
        .find(|x| x.label("com.docker.compose.project") == project)
        .or_else(|| all.first())
        .copied()
}

fn verdict(host: &Host, st: &State, c: &Container) -> Result<Verdict, SimError> {
    if st
        .inject
        .broken_tags
        .iter()
        .any(|t| normalize(t) == normalize(&c.image))
    {
        return Ok(Verdict::exit(
            1,
            vec![format!(
                "clearml-sim: injected failure: image {} exits at start",
                c.image
            )],
        ));
    }
    match c.role {
        Role::Mongo => {
            let dir = data_dir(host, c, "/data/db");
            let args: Vec<String> = c.entrypoint.iter().chain(&c.command).cloned().collect();
            Ok(
                match mongo::start(&c.version, &dir, st.settings.avx, &args)? {
                    mongo::Start::Running(l) => Verdict::run(l),
                    mongo::Start::Exited(code, l) => Verdict::exit(code, l),
                },
            )
        }
        Role::Elastic => {
            let dir = data_dir(host, c, "/usr/share/elasticsearch/data");
            let e = elastic::Env {
                env: &c.env,
                es_uid: st.settings.es_uid,
                free_mb: st.settings.free_mb,
            };
            Ok(match elastic::start(&c.version, &dir, &e)? {
                elastic::Start::Running(l) => Verdict::run(l),
                elastic::Start::Exited(code, l) => Verdict::exit(code, l),
            })
        }
        Role::Redis => {
            let dir = data_dir(host, c, "/data");
            Ok(match redis::start(&c.version, &dir)? {
                redis::Start::Running(l) => Verdict::run(l),
                redis::Start::Exited(code, l) => Verdict::exit(code, l),
            })
        }
        Role::Apiserver => crate::apiserver::apiserver(host, st, c),
        Role::AgentServices => crate::apiserver::agent_services(host, st, c),
        Role::Webserver => Ok(Verdict::run(vec![
            "nginx: ready, serving the ClearML web app on port 80".into(),
        ])),
        Role::Fileserver => Ok(Verdict::run(vec![crate::apiserver::apilog(
            "INFO",
            "fileserver",
            "Running on http://0.0.0.0:8081",
        )])),
        // The job is `python3 -m jobs.async_urls_delete` with PYTHONPATH=/opt/clearml/apiserver,
        // the image's own path (clearml/clearml-server v1.7.0 … v2.3.0, docker/docker-compose.yml,
        // async_delete): a container-side path rewritten for a custom root (a text substitution
        // over the whole file) leaves Python without its module, and the container exits.
        Role::AsyncDelete => match c.env_var("PYTHONPATH") {
            Some(p) if p != "/opt/clearml/apiserver" => Ok(Verdict::exit(
                1,
                vec![
                    "/usr/bin/python3: Error while finding module specification for 'jobs.async_urls_delete' (ModuleNotFoundError: No module named 'jobs')".into(),
                ],
            )),
            _ => Ok(Verdict::run(vec![crate::apiserver::apilog(
                "INFO",
                "async_urls_delete",
                "Starting async urls delete",
            )])),
        },
        Role::Other => Ok(Verdict::run(crate::serving::start_logs(c))),
    }
}

fn host_ports(ports: &[String]) -> Vec<String> {
    ports
        .iter()
        .filter_map(|p| {
            let p = p.split('/').next().unwrap_or(p);
            let parts: Vec<&str> = p.split(':').collect();
            match parts.as_slice() {
                [one] => Some(one.to_string()),
                [h, _] | [_, h, _] => Some(h.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// The daemon's error when another live container already holds one of `name`'s host ports.
pub fn port_conflict(st: &State, name: &str) -> Option<String> {
    let c = st.containers.get(name)?;
    let mine = host_ports(&c.ports);
    for other in st.containers.values() {
        if other.name == name
            || !(other.status == Status::Running || other.status == Status::Restarting)
        {
            continue;
        }
        if let Some(p) = host_ports(&other.ports)
            .into_iter()
            .find(|p| mine.contains(p))
        {
            return Some(format!(
                "driver failed programming external connectivity on endpoint {name} ({}): Bind for 0.0.0.0:{p} failed: port is already allocated",
                c.id
            ));
        }
    }
    None
}

/// Start (or restart) a container, applying the startup rules and its restart policy.
pub fn start(host: &Host, st: &mut State, name: &str) -> Result<(), SimError> {
    let Some(c) = st.containers.get(name).cloned() else {
        return Ok(());
    };
    let v = verdict(host, st, &c)?;
    let t = now();
    let Some(c) = st.containers.get_mut(name) else {
        return Ok(());
    };
    c.logs.extend(v.logs);
    c.server_errors = v.errors;
    c.started_at = t;
    match v.outcome {
        Outcome::Run => {
            c.status = Status::Running;
            c.exit_code = 0;
            c.restarting_since = None;
        }
        Outcome::Exit(code) => {
            c.exit_code = code;
            c.finished_at = t;
            let restart = match c.restart_policy.as_str() {
                "always" | "unless-stopped" => true,
                p if p.starts_with("on-failure") => code != 0,
                _ => false,
            };
            if restart {
                c.status = Status::Restarting;
                c.restart_count = c.restart_count.saturating_add(1);
                c.restarting_since = Some(t);
            } else {
                c.status = Status::Exited;
                c.restarting_since = None;
            }
        }
    }
    Ok(())
}

/// `docker stop`: SIGTERM; the restart loop ends too.
pub fn stop(st: &mut State, name: &str) {
    let t = now();
    if let Some(c) = st.containers.get_mut(name) {
        let n = c.effective_restarts(t);
        c.restart_count = n;
        if c.status == Status::Running {
            c.exit_code = 0;
        }
        c.status = Status::Exited;
        c.restarting_since = None;
        c.finished_at = t;
    }
}

/// Start order so that dependencies come first.
pub fn start_order(st: &State, names: &[String]) -> Vec<String> {
    let mut v: Vec<(Role, usize, String)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| st.containers.get(n).map(|c| (c.role, i, n.clone())))
        .collect();
    v.sort();
    v.into_iter().map(|(_, _, n)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mongo::Creds;
    use crate::state::Settings;
    use std::collections::BTreeMap;

    pub(crate) fn host(t: &std::path::Path) -> Host {
        Host {
            fsroot: t.join("root"),
            state_dir: t.join("state"),
            cwd: t.to_path_buf(),
            env: BTreeMap::new(),
        }
    }

    fn bind(src: &str, dst: &str) -> Mount {
        Mount {
            kind: "bind".into(),
            source: src.into(),
            destination: dst.into(),
        }
    }

    /// A minimal stack of `version` whose containers are created (not started).
    fn stack(h: &Host, st: &mut State, version: &str, agent_env: &[&str]) {
        let s = releases::stack(version);
        let r = releases::find(version).expect("release");
        st.settings = Settings {
            es_uid: rustix::process::getuid().as_raw(),
            ..Settings::default()
        };
        install_image(st, "srv:x", ImageKind::Server, r.version, Some(r.build));
        for (img, kind) in [
            (s.mongo_image, ImageKind::Mongo),
            (s.es_image, ImageKind::Elastic),
        ] {
            assert!(pull(st, img).is_ok(), "{}", kind_name(kind));
        }
        if let Some(rd) = s.redis_image {
            pull(st, rd).expect("redis");
        }
        let lab = |svc: &str| -> IndexMap<String, String> {
            [
                (
                    "com.docker.compose.project".to_string(),
                    "clearml".to_string(),
                ),
                ("com.docker.compose.service".to_string(), svc.to_string()),
            ]
            .into_iter()
            .collect()
        };
        let mk =
            |name: &str, image: &str, cmd: &[&str], mounts: Vec<Mount>, env: Vec<String>| Spec {
                name: name.into(),
                image: image.into(),
                command: cmd.iter().map(|s| s.to_string()).collect(),
                mounts,
                env,
                labels: lab(name),
                restart_policy: "unless-stopped".into(),
                ..Spec::default()
            };
        let _ = h;
        let specs = vec![
            mk(
                "clearml-mongo",
                s.mongo_image,
                &[],
                vec![bind("/opt/clearml/data/mongo_4/db", "/data/db")],
                vec![],
            ),
            mk(
                "clearml-elastic",
                s.es_image,
                &[],
                vec![bind(
                    "/opt/clearml/data/elastic_7",
                    "/usr/share/elasticsearch/data",
                )],
                vec![],
            ),
            mk(
                "clearml-redis",
                s.redis_image.unwrap_or("redis:5.0"),
                &[],
                vec![bind("/opt/clearml/data/redis", "/data")],
                vec![],
            ),
            mk(
                "clearml-apiserver",
                "srv:x",
                &["apiserver"],
                vec![],
                agent_env.iter().map(|s| s.to_string()).collect(),
            ),
        ];
        for sp in specs {
            let n = sp.name.clone();
            st.containers.shift_remove(&n);
            create(h, st, sp).expect("create");
        }
    }

    fn kind_name(k: ImageKind) -> &'static str {
        match k {
            ImageKind::Mongo => "mongo",
            _ => "es",
        }
    }

    fn up(h: &Host, st: &mut State) {
        let names: Vec<String> = st.containers.keys().cloned().collect();
        for n in start_order(st, &names) {
            start(h, st, &n).expect("start");
        }
    }

    fn mdata(h: &Host) -> mongo::MongoData {
        mongo::load(&h.path("/opt/clearml/data/mongo_4/db"))
            .expect("l")
            .expect("marker")
    }

    fn status(st: &State, n: &str) -> (Status, i32) {
        let c = st.containers.get(n).expect("c");
        (c.status, c.exit_code)
    }

    #[test]
    fn apiserver_fcv_rule_per_release() {
        // (server release, mongo image, FCV before, FCV after)
        let cases = [
            ("1.17.1", "mongo:5.0.26", "4.4", "5.0"),
            ("1.16.2", "mongo:5.0.26", "4.4", "4.4"),
            ("2.0.0", "mongo:6.0.19", "5.0", "6.0"),
            ("2.1.0", "mongo:6.0.19", "5.0", "6.0"),
            ("2.2.0", "mongo:6.0.19", "5.0", "5.0"),
            ("2.3.0", "mongo:6.0.19", "5.0", "5.0"),
            ("2.2.0", "mongo:7.0.22", "6.0", "7.0"),
            ("2.3.0", "mongo:7.0.22", "6.0", "7.0"),
        ];
        for (ver, mimg, before, after) in cases {
            let t = tempfile::tempdir().expect("tmp");
            let h = host(t.path());
            let mut st = State::default();
            stack(&h, &mut st, "2.0.0", &[]);
            // Swap in the mongo image of the case and a server of the case's release.
            pull(&mut st, mimg).expect("pull");
            let r = releases::find(ver).expect("r");
            install_image(
                &mut st,
                "srv:x",
                ImageKind::Server,
                r.version,
                Some(r.build),
            );
            for n in ["clearml-mongo", "clearml-apiserver"] {
                let mut c = st.containers.shift_remove(n).expect("c");
                let img = st
                    .images
                    .get(&normalize(if n == "clearml-mongo" {
                        mimg
                    } else {
                        "srv:x"
                    }))
                    .expect("img")
                    .clone();
                c.version = img.version;
                c.image = img.reference;
                st.containers.insert(n.into(), c);
            }
            let dir = h.path("/opt/clearml/data/mongo_4/db");
            mongo::save(
                &dir,
                &mongo::MongoData {
                    binary: "x".into(),
                    fcv: before.into(),
                    non_empty: true,
                    server_uid: Some("u".into()),
                    versions: vec!["1.9.0".into()],
                    ..Default::default()
                },
            )
            .expect("save");
            elastic::create_files(&h.path("/opt/clearml/data/elastic_7"), "8.17.0").expect("es");
            up(&h, &mut st);
            assert_eq!(
                status(&st, "clearml-apiserver").0,
                Status::Running,
                "{ver} {mimg}"
            );
            assert_eq!(mdata(&h).fcv, after, "{ver} on {mimg} from FCV {before}");
            let logs = st
                .containers
                .get("clearml-apiserver")
                .expect("a")
                .logs
                .join("\n");
            if before == after {
                assert!(
                    logs.contains("Database version should be") || ver.starts_with("1.16"),
                    "{logs}"
                );
            }
        }
    }

    #[test]
    fn fresh_start_creates_uid_and_migrations_and_credentials_are_wiped_from_1_16() {
        let t = tempfile::tempdir().expect("tmp");
        let h = host(t.path());
        let mut st = State::default();
        let env = [
            "CLEARML__secure__credentials__services_agent__user_key=K",
            "CLEARML__secure__credentials__services_agent__user_secret=S",
        ];
        stack(&h, &mut st, "1.16.2", &env);
        up(&h, &mut st);
        let d = mdata(&h);
        assert!(d.server_uid.is_some());
        assert_eq!(d.versions.last().map(String::as_str), Some("1.9.0"));
        assert_eq!(
            d.services_agent,
            Some(Creds {
                key: "K".into(),
                secret: "S".into()
            })
        );
        assert_eq!(d.fcv, "4.4");
        // A new `up` without the variables wipes them.
        stack(
            &h,
            &mut st,
            "1.16.2",
            &["CLEARML__secure__credentials__services_agent__user_key="],
        );
        up(&h, &mut st);
        let d2 = mdata(&h);
        assert_eq!(d2.services_agent, None);
        assert_eq!(d2.server_uid, d.server_uid);
        assert!(
            st.containers
                .get("clearml-apiserver")
                .expect("a")
                .logs
                .iter()
                .any(|l| l.contains(
                    "Resetting credentials for existing user __services_agent__ (services_agent)"
                ))
        );
        // 1.15 leaves credentials alone.
        mongo::save(
            &h.path("/opt/clearml/data/mongo_4/db"),
            &mongo::MongoData {
                services_agent: Some(Creds {
                    key: "K".into(),
                    secret: "S".into(),
                }),
                ..d.clone()
            },
        )
        .expect("s");
        stack(&h, &mut st, "1.15.1", &[]);
        up(&h, &mut st);
        assert!(mdata(&h).services_agent.is_some());
    }

    #[test]
    fn agent_services_outcomes() {
        let t = tempfile::tempdir().expect("tmp");
        let h = host(t.path());
        let mut st = State::default();
        stack(&h, &mut st, "1.17.1", &[]);
        up(&h, &mut st);
        install_image(
            &mut st,
            "allegroai/clearml-agent-services:latest",
            ImageKind::AgentServices,
            "latest",
            None,
        );
        let mk = |env: Vec<String>| Spec {
            name: "clearml-agent-services".into(),
            image: "allegroai/clearml-agent-services:latest".into(),
            env,
            labels: [(
                "com.docker.compose.project".to_string(),
                "clearml".to_string(),
            )]
            .into_iter()
            .collect(),
            restart_policy: "on-failure".into(),
            ..Spec::default()
        };
        create(
            &h,
            &mut st,
            mk(vec![
                "SHUTDOWN_IF_NO_ACCESS_KEY=1".into(),
                "CLEARML_API_ACCESS_KEY=".into(),
            ]),
        )
        .expect("c");
        start(&h, &mut st, "clearml-agent-services").expect("s");
        let c = st.containers.get("clearml-agent-services").expect("c");
        assert_eq!((c.status, c.exit_code), (Status::Exited, 0));
        assert!(
            c.logs.iter().any(
                |l| l == "CLEARML_API_ACCESS_KEY was not provided, service will not be started"
            )
        );
        st.containers.shift_remove("clearml-agent-services");
        create(
            &h,
            &mut st,
            mk(vec![
                "SHUTDOWN_IF_NO_ACCESS_KEY=1".into(),
                "CLEARML_API_ACCESS_KEY=old".into(),
                "CLEARML_API_SECRET_KEY=old".into(),
            ]),
        )
        .expect("c");
        start(&h, &mut st, "clearml-agent-services").expect("s");
        let c = st.containers.get("clearml-agent-services").expect("c");
        assert_eq!((c.status, c.exit_code), (Status::Restarting, 1));
        assert!(
            c.logs
                .join("\n")
                .contains("failed to locate provided credentials")
        );
        assert!(c.effective_restarts(now() + 60) > c.restart_count);
    }

    #[test]
    fn missed_es_upgrade_and_conflicts_and_pull() {
        let t = tempfile::tempdir().expect("tmp");
        let h = host(t.path());
        let mut st = State::default();
        stack(&h, &mut st, "0.17.0", &[]);
        mongo::save(
            &h.path("/opt/clearml/data/mongo_4/db"),
            &mongo::MongoData {
                binary: "3.6.5".into(),
                fcv: "3.6".into(),
                non_empty: true,
                server_uid: Some("u".into()),
                versions: releases::migrations_upto("0.15.1"),
                ..Default::default()
            },
        )
        .expect("s");
        up(&h, &mut st);
        let a = st.containers.get("clearml-apiserver").expect("a");
        assert_eq!(a.status, Status::Running);
        assert!(a.server_errors.missed_es_upgrade);
        // Name conflict.
        let e = create(
            &h,
            &mut st,
            Spec {
                name: "clearml-apiserver".into(),
                image: "srv:x".into(),
                ..Spec::default()
            },
        )
        .expect_err("conflict");
        assert!(e.starts_with("Conflict. The container name \"/clearml-apiserver\" is already in use by container \""), "{e}");
        // Pull of a tag the registry lacks, and of an injected missing tag.
        assert_eq!(
            pull(&mut st, "allegroai/clearml:9.9.9").expect_err("missing"),
            "manifest for allegroai/clearml:9.9.9 not found: manifest unknown: manifest unknown"
        );
        st.inject.missing_tags.push("mongo:5.0.26".into());
        assert!(pull(&mut st, "mongo:5.0.26").is_err());
        // Broken tag.
        st.inject.broken_tags.push("srv:x".into());
        start(&h, &mut st, "clearml-apiserver").expect("s");
        assert_eq!(status(&st, "clearml-apiserver"), (Status::Restarting, 1));
    }
}

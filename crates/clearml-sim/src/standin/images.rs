//! `clearml-sim standin-images`: the images a stand-in registry must hold, each described as
//! the real image is configured (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts) plus what
//! the stand-in image needs (links to the binary under the real commands' paths, files).
//!
//! Sources of the image configurations (checked unless marked inferred):
//! - MongoDB: docker-library/repo-info `repos/mongo/remote/4.4.18.md`, `5.0.14.md`,
//!   `7.0-jammy.md` (ENTRYPOINT ["docker-entrypoint.sh"], CMD ["mongod"], ENV MONGO_PACKAGE,
//!   MONGO_REPO, MONGO_MAJOR, MONGO_VERSION, HOME=/data/db, EXPOSE 27017) and docker-library/mongo
//!   `3.6/Dockerfile` (the same without HOME). HOME on 4.0/4.2: inferred (as 4.4). Shells: the
//!   images install `mongodb-org-shell` of their version (same files): the legacy `mongo` up to
//!   5.0, `mongosh` (with `mongodb-org` 5.0+) from 5.0, only `mongosh` from 6.0 (6.0 dropped the
//!   legacy shell) — inferred from MongoDB's packaging, as mongo.rs `has_shell` has it.
//! - Redis: docker-library/repo-info `repos/redis/remote/6.2.10.md` (ENTRYPOINT
//!   ["docker-entrypoint.sh"], CMD ["redis-server"], WORKDIR /data, EXPOSE 6379, binaries in
//!   /usr/local/bin); 5.0 and 7.4: inferred the same.
//! - Elasticsearch 7/8: docker-library/repo-info `repos/elasticsearch/remote/7.17.8.md` and
//!   `8.6.0.md` (ENTRYPOINT ["/bin/tini","--","/usr/local/bin/docker-entrypoint.sh"], CMD
//!   ["eswrapper"], WORKDIR /usr/share/elasticsearch, ENV ELASTIC_CONTAINER=true and PATH with
//!   /usr/share/elasticsearch/bin, EXPOSE 9200 9300, uid 1000; USER elasticsearch:root on 8.x,
//!   none on 7.x, curl installed); the other 7.x/8.x tags and docker.elastic.co's: inferred the
//!   same. Elasticsearch 5.6: CMD ["/bin/bash","bin/es-docker"], USER elasticsearch, no
//!   ENTRYPOINT (elastic/elasticsearch-docker 5.x Dockerfile as quoted by derived images);
//!   ELASTIC_CONTAINER on 5.x: inferred.
//! - Server images: clearml/clearml-server `docker/build/Dockerfile` (v1.2.0 … v2.3.0:
//!   ENTRYPOINT ["/opt/clearml/entrypoint.sh"], WORKDIR /opt/clearml/, EXPOSE 8080 8008 8081,
//!   ENV CLEARML_SERVER_VERSION/BUILD, no USER, curl installed by final_image_preparation.sh).
//!   Before 1.1.0 the image lived under /opt/trains (version.py paths, exec.rs): entrypoint
//!   `/opt/trains/entrypoint.sh` there is inferred (the repository has no Dockerfile before
//!   c55b6f3, 2021-10-18).
//! - Services agent: clearml-agent `docker/services/Dockerfile` (ENTRYPOINT
//!   ["/usr/agent/entrypoint.sh"], WORKDIR /usr/agent, curl and python3 installed).
//! - ClearML Serving: clearml/clearml-serving c0ee96e `clearml_serving/{serving,statistics,
//!   engines/triton}/Dockerfile` (ENTRYPOINT relative to WORKDIR /root/clearml/, EXPOSE 8080,
//!   9999, 8001). nginx, bitnami zookeeper/kafka, prometheus, alertmanager, grafana: inferred
//!   from those projects' usual images.
//!
//! Env holds the simulator's `containers::image_env` entries (what the simulated daemon shows)
//! plus the checked ones above; two references of one image (same repository, release or
//! version, build) get identical descriptions apart from `reference` and `tag`.

use super::ImageDesc;
use crate::containers::image_env;
use crate::releases::{self, ImageKind, Lookup, RegistryImage, split_ref, vnum};
use indexmap::IndexMap;
use std::collections::BTreeMap;

/// The upstream compose facts (every release's images): playbooks/clearml/upstream-compose.json.
const UPSTREAM_COMPOSE: &str = include_str!("../../../../playbooks/clearml/upstream-compose.json");
/// The product's release data, whose hops pin server image tags.
const PRODUCT_RELEASES: &str = include_str!("../../../../playbooks/clearml/releases.yml");

/// (registry host, repository path) of an image name as docker normalises it.
pub fn registry_of(name: &str) -> (String, String) {
    let first = name.split('/').next().unwrap_or("");
    if name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost") {
        let rest = name[first.len() + 1..].to_string();
        return (first.to_string(), rest);
    }
    let repo = if name.contains('/') {
        name.to_string()
    } else {
        format!("library/{name}")
    };
    ("registry-1.docker.io".to_string(), repo)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn passwd(extra: &[(&str, u32, u32, &str)]) -> (String, String) {
    let mut p = String::from(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    );
    let mut g = String::from("root:x:0:\nnogroup:x:65534:\n");
    for (name, uid, gid, home) in extra {
        p.push_str(&format!("{name}:x:{uid}:{gid}:{name}:{home}:/bin/sh\n"));
        if *gid != 0 {
            g.push_str(&format!("{name}:x:{gid}:\n"));
        }
    }
    (p, g)
}

/// The server image's base directory: /opt/trains before 1.1.0, /opt/clearml from it (the
/// version.py paths of exec.rs).
fn server_base(version: &str) -> &'static str {
    if vnum(version) < (1, 1, 0) {
        "/opt/trains"
    } else {
        "/opt/clearml"
    }
}

/// version.py where the release has one (exec.rs `image_file`): `server/version.py` up to
/// 0.16.1 and `apiserver/version.py` from 0.17.0, under the image's base.
fn version_py_file(version: &str) -> Option<(String, String)> {
    let text = releases::version_py(version)?;
    let path = if vnum(version) < (0, 17, 0) {
        "/opt/trains/server/version.py".to_string()
    } else {
        format!("{}/apiserver/version.py", server_base(version))
    };
    Some((path, format!("__version__ = \"{text}\"\n")))
}

/// The description of the image `ri` under the name `name` (no tag).
pub fn describe(name: &str, ri: &RegistryImage, in_registry: bool) -> ImageDesc {
    let (registry, repository) = registry_of(name);
    let v = ri.version.as_str();
    let mut env = image_env(ri.kind, v, ri.build.as_deref());
    let mut files: IndexMap<String, String> = IndexMap::new();
    let shape = match ri.kind {
        ImageKind::Server => {
            let base = server_base(v);
            if let Some((p, t)) = version_py_file(v) {
                files.insert(p, t);
            }
            Shape {
                entrypoint: Some(vec![format!("{base}/entrypoint.sh")]),
                cmd: None,
                working_dir: if base == "/opt/clearml" {
                    "/opt/clearml/"
                } else {
                    "/opt/trains/"
                },
                user: "",
                exposed: s(&["8008/tcp", "8080/tcp", "8081/tcp"]),
                links: vec![
                    format!("{base}/entrypoint.sh"),
                    "/usr/bin/python3".into(),
                    "/bin/bash".into(),
                    "/usr/bin/curl".into(),
                    "/usr/bin/printenv".into(),
                ],
                env: vec![],
                users: vec![],
            }
        }
        ImageKind::AgentServices => Shape {
            entrypoint: Some(s(&["/usr/agent/entrypoint.sh"])),
            cmd: None,
            working_dir: "/usr/agent",
            user: "",
            exposed: vec![],
            links: s(&[
                "/usr/agent/entrypoint.sh",
                "/usr/bin/python3",
                "/bin/bash",
                "/usr/bin/curl",
                "/usr/bin/printenv",
            ]),
            env: vec![],
            users: vec![],
        },
        ImageKind::Mongo => {
            let mut links = s(&["/usr/local/bin/docker-entrypoint.sh", "/usr/bin/mongod"]);
            for shell in ["mongo", "mongosh"] {
                if crate::mongo::has_shell(v, shell) {
                    links.push(format!("/usr/bin/{shell}"));
                }
            }
            links.push("/bin/bash".into());
            links.push("/usr/bin/printenv".into());
            let mut extra = s(&["MONGO_PACKAGE=mongodb-org", "MONGO_REPO=repo.mongodb.org"]);
            if vnum(v) >= (4, 0, 0) {
                extra.push("HOME=/data/db".into());
            }
            Shape {
                entrypoint: Some(s(&["docker-entrypoint.sh"])),
                cmd: Some(s(&["mongod"])),
                working_dir: "",
                user: "",
                exposed: s(&["27017/tcp"]),
                links,
                env: extra,
                users: vec![("mongodb", 999, 999, "/data/db")],
            }
        }
        ImageKind::Elastic => {
            // The real images' env replaces the simulator's invented ES_VERSION.
            env = s(&[
                "PATH=/usr/share/elasticsearch/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ELASTIC_CONTAINER=true",
            ]);
            let tail = s(&[
                "/usr/share/elasticsearch/bin/elasticsearch",
                "/bin/bash",
                "/usr/bin/curl",
                "/usr/bin/printenv",
            ]);
            let users = vec![("elasticsearch", 1000, 1000, "/usr/share/elasticsearch")];
            if vnum(v) < (6, 0, 0) {
                let mut links = s(&["/usr/share/elasticsearch/bin/es-docker"]);
                links.extend(tail);
                Shape {
                    entrypoint: None,
                    cmd: Some(s(&["/bin/bash", "bin/es-docker"])),
                    working_dir: "/usr/share/elasticsearch",
                    user: "elasticsearch",
                    exposed: s(&["9200/tcp", "9300/tcp"]),
                    links,
                    env: vec![],
                    users,
                }
            } else {
                let mut links = s(&["/bin/tini", "/usr/local/bin/docker-entrypoint.sh"]);
                links.extend(tail);
                Shape {
                    entrypoint: Some(s(&[
                        "/bin/tini",
                        "--",
                        "/usr/local/bin/docker-entrypoint.sh",
                    ])),
                    cmd: Some(s(&["eswrapper"])),
                    working_dir: "/usr/share/elasticsearch",
                    user: if vnum(v) >= (8, 0, 0) {
                        "elasticsearch:root"
                    } else {
                        ""
                    },
                    exposed: s(&["9200/tcp", "9300/tcp"]),
                    links,
                    env: vec![],
                    users,
                }
            }
        }
        ImageKind::Redis => Shape {
            entrypoint: Some(s(&["docker-entrypoint.sh"])),
            cmd: Some(s(&["redis-server"])),
            working_dir: "/data",
            user: "",
            exposed: s(&["6379/tcp"]),
            links: s(&[
                "/usr/local/bin/docker-entrypoint.sh",
                "/usr/local/bin/redis-server",
                "/usr/local/bin/redis-cli",
                "/bin/bash",
                "/usr/bin/printenv",
            ]),
            env: vec![],
            users: vec![("redis", 999, 999, "/home/redis")],
        },
        ImageKind::Other => other(name),
    };
    env.extend(shape.env);
    let (p, g) = passwd(&shape.users);
    files.insert("/etc/passwd".into(), p);
    files.insert("/etc/group".into(), g);
    files.insert("/etc/nsswitch.conf".into(), "hosts: files dns\n".into());
    ImageDesc {
        reference: String::new(),
        tag: String::new(),
        name: name.to_string(),
        repository,
        registry,
        in_registry,
        kind: ri.kind,
        version: ri.version.clone(),
        build: ri.build.clone(),
        entrypoint: shape.entrypoint,
        cmd: shape.cmd,
        env,
        working_dir: shape.working_dir.to_string(),
        user: shape.user.to_string(),
        exposed_ports: shape.exposed,
        links: shape.links,
        files,
        broken: false,
        retries: None,
        retry_delay_seconds: None,
    }
}

/// An image's configuration and what its stand-in needs besides the binary.
struct Shape {
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: &'static str,
    user: &'static str,
    exposed: Vec<String>,
    links: Vec<String>,
    /// Added to the simulator's `image_env`.
    env: Vec<String>,
    /// Users beside root and nobody: (name, uid, gid, home).
    users: Vec<(&'static str, u32, u32, &'static str)>,
}

/// Images of no ClearML role (see the module's sources; third-party ones inferred).
fn other(name: &str) -> Shape {
    let serving = |dir: &str, port: &str| {
        let ep = format!("clearml_serving/{dir}/entrypoint.sh");
        Shape {
            entrypoint: Some(vec![ep.clone()]),
            cmd: None,
            working_dir: "/root/clearml/",
            user: "",
            exposed: vec![format!("{port}/tcp")],
            links: vec![
                format!("/root/clearml/{ep}"),
                "/bin/bash".into(),
                "/usr/bin/curl".into(),
                "/usr/local/bin/python3".into(),
            ],
            env: vec!["LC_ALL=C.UTF-8".into()],
            users: vec![],
        }
    };
    let bitnami = |app: &str, ports: &[&str]| Shape {
        entrypoint: Some(vec![format!("/opt/bitnami/scripts/{app}/entrypoint.sh")]),
        cmd: Some(vec![format!("/opt/bitnami/scripts/{app}/run.sh")]),
        working_dir: "/",
        user: "1001",
        exposed: ports.iter().map(|p| format!("{p}/tcp")).collect(),
        links: vec![
            format!("/opt/bitnami/scripts/{app}/entrypoint.sh"),
            format!("/opt/bitnami/scripts/{app}/run.sh"),
            "/bin/bash".into(),
        ],
        env: vec![],
        users: vec![],
    };
    let repo = name.rsplit('/').next().unwrap_or(name);
    match repo {
        "clearml-serving-inference" | "clearml-serving-inference-intel" => {
            serving("serving", "8080")
        }
        "clearml-serving-statistics" => serving("statistics", "9999"),
        "clearml-serving-triton" => serving("engines/triton", "8001"),
        "zookeeper" => bitnami("zookeeper", &["2181", "2888", "3888", "8080"]),
        "kafka" => bitnami("kafka", &["9092"]),
        "prometheus" => Shape {
            entrypoint: Some(s(&["/bin/prometheus"])),
            cmd: Some(s(&[
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--web.console.libraries=/usr/share/prometheus/console_libraries",
                "--web.console.templates=/usr/share/prometheus/consoles",
            ])),
            working_dir: "/prometheus",
            user: "nobody",
            exposed: s(&["9090/tcp"]),
            links: s(&["/bin/prometheus"]),
            env: vec![],
            users: vec![],
        },
        "alertmanager" => Shape {
            entrypoint: Some(s(&["/bin/alertmanager"])),
            cmd: Some(s(&[
                "--config.file=/etc/alertmanager/alertmanager.yml",
                "--storage.path=/alertmanager",
            ])),
            working_dir: "/alertmanager",
            user: "nobody",
            exposed: s(&["9093/tcp"]),
            links: s(&["/bin/alertmanager"]),
            env: vec![],
            users: vec![],
        },
        "grafana" => Shape {
            entrypoint: Some(s(&["/run.sh"])),
            cmd: None,
            working_dir: "/usr/share/grafana",
            user: "472",
            exposed: s(&["3000/tcp"]),
            links: s(&["/run.sh", "/bin/bash"]),
            env: vec![],
            users: vec![("grafana", 472, 0, "/usr/share/grafana")],
        },
        // nginx and anything else: docker-library/nginx's configuration.
        _ => Shape {
            entrypoint: Some(s(&["/docker-entrypoint.sh"])),
            cmd: Some(s(&["nginx", "-g", "daemon off;"])),
            working_dir: "",
            user: "",
            exposed: s(&["80/tcp"]),
            links: s(&["/docker-entrypoint.sh", "/usr/sbin/nginx", "/bin/bash"]),
            env: vec!["NGINX_VERSION=1.27.3".into()],
            users: vec![("nginx", 101, 101, "/nonexistent")],
        },
    }
}

/// Every image reference of upstream's compose files (all releases).
pub fn upstream_compose_images() -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(UPSTREAM_COMPOSE).unwrap_or_default();
    let mut out = Vec::new();
    for entry in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
        if let Some(svcs) = entry["services"].as_object() {
            for s in svcs.values() {
                if let Some(i) = s["image"].as_str() {
                    out.push(i.to_string());
                }
            }
        }
    }
    out
}

/// The server image tags the product's hops pin (`server_image: REPO:TAG` in releases.yml).
pub fn product_pinned_images() -> Vec<String> {
    let mut out = Vec::new();
    for line in PRODUCT_RELEASES.lines() {
        let l = line.trim();
        if l.starts_with('#') {
            continue;
        }
        let mut rest = l;
        while let Some(i) = rest.find("server_image:") {
            rest = &rest[i + "server_image:".len()..];
            let val: String = rest
                .trim_start()
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != ',' && *c != '}')
                .collect();
            let val = val.trim_matches(['"', '\'']).to_string();
            if val.contains(':') {
                out.push(val);
            }
        }
    }
    out
}

fn lookup(reference: &str, latest: &BTreeMap<String, String>) -> Option<RegistryImage> {
    match releases::registry_at(reference, latest) {
        Lookup::Found(ri) => Some(ri),
        _ => None,
    }
}

fn entry(reference: &str, ri: &RegistryImage, in_registry: bool) -> ImageDesc {
    let (name, tag) = split_ref(reference);
    let mut d = describe(&name, ri, in_registry);
    d.reference = format!("{name}:{tag}");
    d.tag = tag;
    d
}

/// The images the registry holds: every reference of the candidates (upstream's compose files,
/// the product's pinned hops, every tag the registry model knows, and `latest`'s moves) that
/// the registry model answers `Found` for, each once.
pub fn registry_images(latest: &BTreeMap<String, String>) -> Vec<ImageDesc> {
    let mut refs: Vec<String> = upstream_compose_images();
    refs.extend(product_pinned_images());
    refs.extend(releases::known_references());
    for (repo, v) in latest {
        refs.push(format!("{repo}:latest"));
        refs.push(format!("{repo}:{v}"));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in refs {
        let n = releases::normalize(&r);
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(ri) = lookup(&n, latest) {
            out.push(entry(&n, &ri, true));
        }
    }
    out
}

/// A release the simulator does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown release {0:?}")]
pub struct UnknownRelease(pub String);

/// The images a host of release `version` holds as `init` lays it out: `:latest` of its server
/// repository as pulled back then (that release, which the registry may no longer hold under
/// that tag), the image its compose file names, the services agent's and the data stores'.
pub fn era_images(version: &str) -> Result<Vec<ImageDesc>, UnknownRelease> {
    let rel = releases::find(version).ok_or_else(|| UnknownRelease(version.to_owned()))?;
    let st = releases::stack(rel.version);
    let none = BTreeMap::new();
    let server = RegistryImage {
        kind: ImageKind::Server,
        version: rel.version.to_string(),
        build: Some(rel.build.to_string()),
    };
    let mut out = Vec::new();
    let mut refs = vec![format!("{}:latest", st.server_repo)];
    refs.push(releases::compose_server_image(rel.version, false));
    if let Some(p) = releases::pinned_server_tag(rel.version) {
        refs.push(p);
    }
    // Whether the registry holds this release's image under any tag of its repository.
    let held_anywhere = releases::known_references()
        .iter()
        .any(|r| split_ref(r).0 == st.server_repo && lookup(r, &none).as_ref() == Some(&server));
    let mut seen = std::collections::BTreeSet::new();
    for r in refs {
        let n = releases::normalize(&r);
        if !seen.insert(n.clone()) {
            continue;
        }
        match lookup(&n, &none) {
            Some(ri) if ri == server => out.push(entry(&n, &ri, true)),
            // `:latest` as pulled back then: the registry's `latest` has moved on since.
            _ if n.ends_with(":latest") => out.push(entry(&n, &server, held_anywhere)),
            _ => {}
        }
    }
    let mut others: Vec<String> = st
        .agent_repo
        .map(|a| format!("{a}:latest"))
        .into_iter()
        .collect();
    others.push(st.mongo_image.to_string());
    others.push(st.es_image.to_string());
    others.extend(st.redis_image.map(str::to_string));
    for r in others {
        let n = releases::normalize(&r);
        if seen.insert(n.clone())
            && let Some(ri) = lookup(&n, &none)
        {
            out.push(entry(&n, &ri, true));
        }
    }
    Ok(out)
}

/// Parses `REPO=VERSION` of `--latest` (main.rs `parse_latest`, as `inject --latest`).
pub type ParseLatest = dyn Fn(&str) -> Result<(String, String), crate::BadLatest>;

/// `clearml-sim standin-images [--latest REPO=VERSION]... [--era VERSION]`.
pub fn main(args: &[String], parse_latest: &ParseLatest) -> crate::state::Out {
    use crate::state::Out;
    let mut latest = BTreeMap::new();
    let mut era = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--latest" => {
                i += 1;
                let Some(v) = args.get(i) else {
                    return Out::fail(2, "clearml-sim standin-images: --latest needs REPO=VERSION");
                };
                match parse_latest(v) {
                    Ok((r, ver)) => {
                        latest.insert(r, ver);
                    }
                    Err(m) => return Out::fail(2, m.to_string()),
                }
            }
            "--era" => {
                i += 1;
                era = args.get(i).cloned();
                if era.is_none() {
                    return Out::fail(2, "clearml-sim standin-images: --era needs a release");
                }
            }
            "-h" | "--help" => {
                return Out::ok(
                    "usage: clearml-sim standin-images [--latest REPO=VERSION]... [--era VERSION]\n  prints the stand-in images as a JSON array: the registry's (default, with `latest` moved as `inject --latest` moves it), or those a host of release VERSION holds as `init` lays it out\n",
                );
            }
            other => {
                return Out::fail(
                    2,
                    format!("clearml-sim standin-images: unknown option {other:?}"),
                );
            }
        }
        i += 1;
    }
    let list = match era {
        Some(v) => match era_images(&v) {
            Ok(l) => l,
            Err(m) => return Out::fail(2, format!("clearml-sim standin-images: {m}")),
        },
        None => registry_images(&latest),
    };
    match serde_json::to_string_pretty(&list) {
        Ok(s) => Out::ok(s + "\n"),
        Err(e) => Out::fail(1, format!("clearml-sim standin-images: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_and_repositories() {
        assert_eq!(
            registry_of("mongo"),
            ("registry-1.docker.io".into(), "library/mongo".into())
        );
        assert_eq!(
            registry_of("docker.elastic.co/elasticsearch/elasticsearch"),
            (
                "docker.elastic.co".into(),
                "elasticsearch/elasticsearch".into()
            )
        );
        assert_eq!(
            registry_of("clearml/server"),
            ("registry-1.docker.io".into(), "clearml/server".into())
        );
    }

    #[test]
    fn the_product_pins_are_found() {
        let p = product_pinned_images();
        assert!(
            p.contains(&"allegroai/clearml:1.17.1-554".to_string()),
            "{p:?}"
        );
        assert!(p.contains(&"clearml/server:2.3.0".to_string()), "{p:?}");
        assert!(upstream_compose_images().len() > 100);
    }

    #[test]
    fn shells_and_users_per_image() {
        let l = registry_images(&BTreeMap::new());
        let get = |r: &str| l.iter().find(|d| d.reference == r).cloned().expect(r);
        let has = |d: &ImageDesc, p: &str| d.links.iter().any(|l| l == p);
        assert!(has(&get("mongo:4.4.29"), "/usr/bin/mongo"));
        assert!(!has(&get("mongo:4.4.29"), "/usr/bin/mongosh"));
        assert!(
            has(&get("mongo:5.0.26"), "/usr/bin/mongo")
                && has(&get("mongo:5.0.26"), "/usr/bin/mongosh")
        );
        assert!(!has(&get("mongo:7.0.22"), "/usr/bin/mongo"));
        assert_eq!(get("elasticsearch:8.17.0").user, "elasticsearch:root");
        assert_eq!(
            get("docker.elastic.co/elasticsearch/elasticsearch:5.6.16").user,
            "elasticsearch"
        );
        let era = era_images("1.12").expect("era");
        let srv = era
            .iter()
            .find(|d| d.reference == "allegroai/clearml:latest")
            .expect("latest");
        assert_eq!((srv.version.as_str(), srv.in_registry), ("1.12.1", false));
    }
}

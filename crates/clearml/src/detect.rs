//! Detection's interpretation: turn the probe script's output into a [`HostState`]. Pure and
//! unit-tested; running the probe on a host is the runner's (`clearfleet_runner::detect`).

use indexmap::IndexMap;
use serde_json::Value;

use super::compose::{self, image_name, image_tag, parse_env};
use super::containers::{Container, Family, Role, classify, parse_inspect};
use super::probe::{HttpAnswer, Section, parse_http};
use super::releases::Releases;
use super::state::{
    AgentSettings, Compose, ContainerSummary, DockerAccess, HostState, InterruptedUpgrade, Probe,
};
use super::upstream;
use super::version::{self, Version};
use clearfleet_base::secret::Secret;

/// Compares the compose file in use with upstream's file of the release the host runs (the
/// closest of its `major.minor` series, or of the range a stopped server's pins allow).
pub fn apply_drift(st: &mut HostState, text: &str, root: &str) {
    let candidates: Vec<&'static upstream::ReleaseFacts> = match (st.version, st.version_range) {
        (Some(v), _) => upstream::series_of(v),
        (None, Some((lo, hi))) => upstream::facts()
            .iter()
            .filter(|f| {
                f.release
                    .parse::<Version>()
                    .is_ok_and(|r| lo <= r && r <= hi)
            })
            .collect(),
        _ => Vec::new(),
    };
    match upstream::drift(text, root, &candidates) {
        Some((f, d)) => {
            st.compose_compared_with = Some(format!("{} ({})", f.release, f.source()));
            st.compose_drift = d;
        }
        None => st.notes.push(
            "compose file not compared with upstream: no recorded release matches".to_owned(),
        ),
    }
}

fn text<'a>(sections: &'a Sections, name: &str) -> Option<&'a str> {
    sections.get(name).map(|s| s.text.as_str())
}

/// The probe script's output: its sections by name.
type Sections = IndexMap<String, Section>;

/// Turns the probe script's sections into a host state. Never fails: what cannot be read
/// becomes a note.
pub fn interpret(sections: &Sections, releases: &Releases) -> HostState {
    let mut st = HostState::default();
    read_platform(&mut st, sections);
    let containers = read_containers(&mut st, sections);
    st.kind = family_of(&containers);
    choose_compose(&mut st, sections, &containers);
    let (compose_file, compose_text) = compose_in_use(sections, &containers);
    let services = compose_text.map(compose::services);
    if st.kind.is_none()
        && let Some(Ok(services)) = &services
    {
        st.kind = family_of_services(services);
    }
    if let Some(Err(e)) = &services {
        st.notes.push(e.to_string());
    }
    if st.kind.is_none() {
        if compose_file.is_some() {
            st.notes
                .push("a compose file exists but names no ClearML or Trains image".to_owned());
        }
        return st;
    }
    let services = services.as_ref().and_then(|s| s.as_ref().ok());
    let dotenv = read_layout(&mut st, sections, &containers, compose_file, services);
    read_interrupted(&mut st, sections);
    let apiserver = by_role(&containers, Role::Apiserver);
    st.running = apiserver.is_some_and(|c| c.running)
        || http(sections, "http:debug.ping").is_some_and(|a| a.status == 200);
    version_from_api(&mut st, sections);
    version_from_host(&mut st, sections, apiserver);
    read_data_stores(
        &mut st,
        sections,
        services,
        by_role(&containers, Role::Mongo),
    );
    if st.version.is_none()
        && let Some(services) = services
    {
        st.version_range = infer_range(services, releases);
        if st.version_range.is_some() {
            st.version_probe = Some(Probe::ComposePins);
        }
    }
    read_migrations(&mut st, sections);
    st.agent = agent_settings(&containers, &dotenv);
    st
}

/// The operating system and the machine (`uname -s`, `uname -m`), and how this login reaches
/// Docker.
fn read_platform(st: &mut HostState, sections: &Sections) {
    if let Some(os) = text(sections, "os") {
        let mut lines = os.lines();
        st.os = lines.next().map(|s| match s.trim() {
            "Linux" => "linux".to_owned(),
            "Darwin" => "macos".to_owned(),
            other => other.to_ascii_lowercase(),
        });
        st.arch = lines.next().map(|s| s.trim().to_owned());
    }
    st.docker_access = text(sections, "docker-access").and_then(|a| match a.trim() {
        "root" => Some(DockerAccess::Root),
        "group" => Some(DockerAccess::Group),
        "sudo" => Some(DockerAccess::Sudo),
        "denied" => Some(DockerAccess::Denied),
        "down" => Some(DockerAccess::Down),
        "missing" => Some(DockerAccess::Missing),
        _ => None,
    });
}

/// The containers `docker inspect` described (none, with a note, if its output is unreadable),
/// summed up in the state.
fn read_containers(st: &mut HostState, sections: &Sections) -> Vec<Container> {
    let containers = match sections.get("inspect") {
        Some(s) => match parse_inspect(&s.text) {
            Ok(c) => c,
            Err(e) => {
                st.notes.push(e.to_string());
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    st.containers = containers
        .iter()
        .map(|c| ContainerSummary {
            name: c.name.clone(),
            image: c.image.clone(),
            status: c.status.clone(),
            exit_code: c.exit_code,
            restart_count: c.restart_count,
        })
        .collect();
    containers
}

/// The server's container in `role`, if there is one.
fn by_role(containers: &[Container], role: Role) -> Option<&Container> {
    containers
        .iter()
        .find(|c| classify(&c.name).is_some_and(|(_, r)| r == role))
}

/// The answer of an HTTP probe section.
fn http(sections: &Sections, name: &str) -> Option<HttpAnswer> {
    sections.get(name).map(|s| parse_http(&s.text))
}

/// The compose file in use and its text (when the probe read it): the one the containers'
/// compose labels name, else the first of the default paths found.
fn compose_in_use<'a>(
    sections: &'a Sections,
    containers: &[Container],
) -> (Option<String>, Option<&'a str>) {
    let files: Vec<(&str, &str)> = sections
        .iter()
        .filter_map(|(k, s)| k.strip_prefix("file:").map(|p| (p, s.text.as_str())))
        .collect();
    let labelled = containers.iter().find_map(|c| {
        c.labels
            .get("com.docker.compose.project.config_files")
            .and_then(|v| v.split(',').next())
            .map(str::to_owned)
    });
    let compose_file = labelled
        .clone()
        .filter(|l| files.iter().any(|(p, _)| p == l))
        .or_else(|| files.first().map(|(p, _)| (*p).to_owned()))
        .or(labelled);
    let compose_text = compose_file
        .as_deref()
        .and_then(|f| files.iter().find(|(p, _)| *p == f).map(|(_, t)| *t));
    (compose_file, compose_text)
}

/// The family a compose file's services run. The server image decides: ClearML 0.17.0 still
/// ran `allegroai/trains-agent-services` (clearml/clearml-server 0.17.0,
/// docker/docker-compose.yml).
fn family_of_services(services: &[compose::Service]) -> Option<Family> {
    if services
        .iter()
        .any(|s| image_name(&s.image) == "allegroai/trains")
    {
        Some(Family::Trains)
    } else if services.iter().any(|s| {
        let n = image_name(&s.image);
        n == "allegroai/clearml" || n == "clearml/server"
    }) {
        Some(Family::Clearml)
    } else {
        None
    }
}

/// Where the deployment lives: the compose file and the images it names, the `.env` beside it,
/// the root directory. Returns the `.env` variables.
fn read_layout(
    st: &mut HostState,
    sections: &Sections,
    containers: &[Container],
    compose_file: Option<String>,
    services: Option<&Vec<compose::Service>>,
) -> IndexMap<String, String> {
    for s in services.into_iter().flatten() {
        if !s.image.is_empty() && !st.compose_images.contains(&s.image) {
            st.compose_images.push(s.image.clone());
        }
    }
    let dir = compose_file
        .as_deref()
        .and_then(|f| f.rsplit_once('/'))
        .map(|(d, _)| d.to_owned());
    let env_text = sections.iter().find_map(|(k, s)| {
        let path = k.strip_prefix("env:")?;
        (dir.as_deref().is_some_and(|d| path == format!("{d}/.env")))
            .then_some((path, s.text.as_str()))
    });
    st.env_file = env_text.map(|(p, _)| p.to_owned());
    st.root = root_from_mounts(containers).or(dir);
    st.compose_file = compose_file;
    env_text.map(|(_, t)| parse_env(t)).unwrap_or_default()
}

/// An earlier upgrade that stopped half-way, beside the compose file in use.
fn read_interrupted(st: &mut HostState, sections: &Sections) {
    let Some(dir) = st.compose_file.as_deref().and_then(|f| f.rsplit_once('/')) else {
        return;
    };
    let Some(text) = text(sections, &format!("marker:{}", dir.0)) else {
        return;
    };
    st.interrupted = InterruptedUpgrade::parse(text);
    st.interrupted_unreadable = st.interrupted.is_none();
    let note = match &st.interrupted {
        Some(m) => format!(
            "an upgrade from {} stopped in its {} step (backup {}): `upgrade` finishes or \
             rolls it back",
            m.from, m.step, m.backup
        ),
        None => format!(
            "{}/.clearfleet/upgrade-in-progress is unreadable: an earlier upgrade stopped \
             half-way; check the host and remove the file by hand",
            dir.0
        ),
    };
    st.notes.push(note);
}

/// The version as the server's API tells it: `server.info` (with the uid of `/v2.8`), else the
/// web server's `version.json`.
fn version_from_api(st: &mut HostState, sections: &Sections) {
    match http(sections, "http:server.info") {
        Some(a) if a.status == 200 => {
            apply_server_info(st, &a.body, Probe::ServerInfo);
            if let Some(a) = http(sections, "http:server.info-v2.8") {
                apply_uid(st, &a);
            }
        }
        Some(a) if a.status == 401 => st
            .notes
            .push("server.info needs credentials (2.3 or later)".to_owned()),
        _ => {}
    }
    if st.version.is_none()
        && let Some(a) = http(sections, "http:version.json").filter(|a| a.status == 200)
        && let Some(v) = serde_json::from_str::<Value>(&a.body)
            .ok()
            .and_then(|j| j.get("version")?.as_str()?.parse::<Version>().ok())
    {
        st.version = Some(v);
        st.version_probe = Some(Probe::VersionJson);
    }
}

/// The version from the host when the API did not tell it, strongest first: the apiserver's
/// environment, its image tag, the `version.py` of its files.
fn version_from_host(st: &mut HostState, sections: &Sections, apiserver: Option<&Container>) {
    if st.version.is_none()
        && let Some(c) = apiserver
        && let Some(v) = c
            .env_var("CLEARML_SERVER_VERSION")
            .or_else(|| c.env_var("TRAINS_SERVER_VERSION"))
            .and_then(|v| v.parse::<Version>().ok())
    {
        let build = c
            .env_var("CLEARML_SERVER_BUILD")
            .or_else(|| c.env_var("TRAINS_SERVER_BUILD"))
            .and_then(|b| b.parse().ok());
        st.version = Some(Version { build, ..v });
        st.version_probe = Some(Probe::ApiserverEnv);
    }
    if st.version.is_none()
        && let Some(v) = apiserver.and_then(|c| version::from_image_tag(&c.image))
    {
        st.version = Some(v);
        st.version_probe = Some(Probe::ImageTag);
    }
    if st.version.is_none()
        && let Some(v) = sections
            .iter()
            .find(|(k, _)| k.starts_with("version-py:"))
            .and_then(|(_, s)| version::from_version_py(&s.text))
    {
        st.version = Some(v);
        st.version_probe = Some(Probe::VersionPy);
        st.notes.push(
            "version.py lags some patch releases (v1.16.2 says 1.16.0): patch level may be older"
                .to_owned(),
        );
    }
}

/// Data stores: what the running containers say, else what the compose file pins.
fn read_data_stores(
    st: &mut HostState,
    sections: &Sections,
    services: Option<&Vec<compose::Service>>,
    mongo: Option<&Container>,
) {
    for (k, s) in sections {
        let line = s.text.trim();
        if k.starts_with("mongo-version:") {
            st.mongo = line
                .lines()
                .last()
                .map(str::trim)
                .filter(|v| v.parse::<Version>().is_ok())
                .map(str::to_owned);
        } else if k.starts_with("mongo-fcv:") {
            st.mongo_fcv = serde_json::from_str::<Value>(line.lines().last().unwrap_or(""))
                .ok()
                .and_then(|j| {
                    j.get("featureCompatibilityVersion")?
                        .get("version")?
                        .as_str()
                        .map(str::to_owned)
                });
        } else if k.starts_with("elastic:") {
            st.elasticsearch = serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|j| j.get("version")?.get("number")?.as_str().map(str::to_owned));
        } else if k.starts_with("redis:") {
            st.redis = line
                .lines()
                .find_map(|l| l.trim().strip_prefix("redis_version:"))
                .map(|v| v.trim().to_owned());
        }
    }
    let pinned = |kind: &str| -> Option<String> {
        services?
            .iter()
            .find(|s| image_name(&s.image).ends_with(kind))
            .map(|s| image_tag(&s.image).to_owned())
    };
    let mut from_pins = Vec::new();
    if st.elasticsearch.is_none() {
        st.elasticsearch = pinned("elasticsearch");
        from_pins.push("Elasticsearch");
    }
    if st.mongo.is_none() {
        st.mongo = pinned("mongo");
        from_pins.push("MongoDB");
    }
    if st.redis.is_none() {
        st.redis = pinned("redis");
        from_pins.push("Redis");
    }
    if st.mongo_fcv.is_none() && st.mongo.is_some() {
        st.notes.push(format!(
            "MongoDB feature compatibility version unknown{}",
            why_no_fcv(sections, mongo)
        ));
    }
    if !st.running && !from_pins.is_empty() {
        st.notes.push(format!(
            "{} version from the compose file pins (server stopped)",
            from_pins.join(", ")
        ));
    }
}

/// Whether the data must be migrated first: Elasticsearch 5 or MongoDB 3 in use, the server's
/// own `missed_es_upgrade` error, or Elasticsearch 5 data never migrated.
fn read_migrations(st: &mut HostState, sections: &Sections) {
    let major = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| s.split('.').next())
            .and_then(|m| m.parse::<u32>().ok())
    };
    st.es_migration_required = major(&st.elasticsearch) == Some(5);
    st.mongo_migration_required = major(&st.mongo) == Some(3);
    for name in ["http:login.supported_modes", "http:auth.fixed_users_mode"] {
        if let Some(a) = http(sections, name).filter(|a| a.status == 200)
            && let Ok(j) = serde_json::from_str::<Value>(&a.body)
            && let Some(errors) = j
                .get("data")
                .and_then(|d| d.get("server_errors"))
                .and_then(Value::as_object)
        {
            for (k, v) in errors {
                if v.as_bool() == Some(true) && !st.server_errors.contains(k) {
                    st.server_errors.push(k.clone());
                }
            }
        }
    }
    if st.server_errors.iter().any(|e| e == "missed_es_upgrade") {
        st.es_migration_required = true;
    }
    // Elasticsearch 5 data still in `data/elastic` with no `elastic_migrated_*` beside it: the
    // ES 5 → 7 migration never ran, whatever the compose file now pins (the script renames its
    // source to `elastic_migrated_<date_time>`: clearml-docs
    // `docs/deploying_clearml/clearml_server_es7_migration.md`).
    if let Some(root) = &st.root
        && let Some(listing) = text(sections, &format!("datadir:{root}"))
    {
        let names: Vec<&str> = listing.lines().map(str::trim).collect();
        if names.contains(&"elastic") && !names.iter().any(|n| n.starts_with("elastic_migrated_")) {
            st.es_migration_required = true;
            st.notes.push(format!(
                "Elasticsearch 5 data in {root}/data/elastic was never migrated to Elasticsearch 7"
            ));
        }
    }
}

/// The compose flavour: the one that created the server's containers (their
/// `com.docker.compose.version` label) when this login can run it, else v2, else v1. The v2
/// plugin counts as there when `docker compose version` answers, or does so under the
/// `DOCKER_CONFIG` of the login's or root's home (a plugin installed under
/// `~/.docker/cli-plugins` of a home that is not this session's `HOME`).
fn choose_compose(
    st: &mut HostState,
    sections: &IndexMap<String, Section>,
    containers: &[Container],
) {
    let ok = |name: &str| sections.get(name).is_some_and(|s| s.rc == Some(0));
    let config = text(sections, "compose-v2-config")
        .and_then(|t| t.lines().next())
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let v2 = ok("compose-v2") || config.is_some();
    let v1 = ok("compose-v1");
    let have = |c: Compose| match c {
        Compose::V2 => v2,
        Compose::V1 => v1,
    };
    st.compose_created_by = containers
        .iter()
        .filter(|c| classify(&c.name).is_some())
        .find_map(|c| c.labels.get("com.docker.compose.version"))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let created = st.compose_created_by.as_deref().and_then(|v| {
        match v
            .trim_start_matches('v')
            .split('.')
            .next()?
            .parse::<u32>()
            .ok()?
        {
            0 | 1 => Some(Compose::V1),
            _ => Some(Compose::V2),
        }
    });
    st.compose = match created {
        Some(c) if have(c) => Some(c),
        _ if v2 => Some(Compose::V2),
        _ if v1 => Some(Compose::V1),
        _ => None,
    };
    if st.compose == Some(Compose::V2) && !ok("compose-v2") {
        st.compose_docker_config = config.map(str::to_owned);
    }
    let name = |c: Compose| match c {
        Compose::V2 => "v2 (`docker compose`)",
        Compose::V1 => "v1 (`docker-compose`)",
    };
    if let (Some(made), Some(used), Some(version)) =
        (created, st.compose, st.compose_created_by.as_deref())
        && made != used
    {
        st.notes.push(format!(
            "the server's containers were created by compose {version}, {} of which this login \
             cannot run; compose {} is used",
            name(made),
            name(used)
        ));
    }
    if !v2 && let Some(path) = text(sections, "compose-v2-system").map(str::trim) {
        let why = text(sections, "compose-v2")
            .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("no output");
        st.notes.push(format!(
            "the compose v2 plugin {path} is installed but `docker compose version` failed: {why}"
        ));
    }
}

/// Why the feature compatibility version is unknown: mongod's container does not run, neither
/// mongosh nor mongo answered in it (what they said), or its answer was not the version.
fn why_no_fcv(sections: &IndexMap<String, Section>, mongo: Option<&Container>) -> String {
    let Some(c) = mongo.filter(|c| c.running) else {
        return " (mongod not running)".to_owned();
    };
    let Some(s) = sections.get(&format!("mongo-fcv:{}", c.name)) else {
        return format!(" (no answer from {})", c.name);
    };
    let errors: Vec<&str> = s
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("@@cf-err:"))
        .map(str::trim)
        .collect();
    if s.rc.is_some_and(|rc| rc != 0) || !errors.is_empty() {
        return format!(
            ": neither mongosh nor mongo answered in {}: {}",
            c.name,
            if errors.is_empty() {
                format!("exit {}", s.rc.unwrap_or_default())
            } else {
                errors.join("; ")
            }
        );
    }
    let last = s.text.lines().map(str::trim).rfind(|l| !l.is_empty());
    match last {
        Some(l) => format!(
            ": {} answered {:?}",
            c.name,
            l.chars().take(200).collect::<String>()
        ),
        None => format!(": {} gave no answer", c.name),
    }
}

/// The uid from `/v2.8/server.info`: from API 2.12 (0.17) on, the unversioned call reaches the
/// newest handler, which reports no uid; only the 2.8 handler does (clearml/clearml-server
/// v2.3.0, apiserver/services/server/__init__.py, lines 59-77). A 0.15/0.16 server's
/// unversioned answer already has it.
pub fn apply_uid(st: &mut HostState, answer: &HttpAnswer) {
    if answer.status != 200 {
        return;
    }
    let uid = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|j| j.get("data")?.get("uid")?.as_str().map(str::to_owned));
    if uid.is_some() {
        st.uid = uid;
    }
}

pub fn apply_server_info(st: &mut HostState, body: &str, probe: Probe) {
    let Ok(j) = serde_json::from_str::<Value>(body) else {
        st.notes
            .push("server.info answered something that is not JSON".to_owned());
        return;
    };
    let data = j.get("data").unwrap_or(&Value::Null);
    let Some(v) = data
        .get("version")
        .and_then(Value::as_str)
        .and_then(|v| v.parse::<Version>().ok())
    else {
        st.notes.push("server.info gave no version".to_owned());
        return;
    };
    let build = data
        .get("build")
        .and_then(|b| {
            b.as_str()
                .map(str::to_owned)
                .or_else(|| b.as_u64().map(|n| n.to_string()))
        })
        .and_then(|b| b.parse().ok());
    st.version = Some(Version {
        build: build.or(v.build),
        ..v
    });
    st.version_probe = Some(probe);
    st.running = true;
    st.uid = data.get("uid").and_then(Value::as_str).map(str::to_owned);
    st.api_version = data.get("api_version").and_then(|a| {
        a.as_str()
            .map(str::to_owned)
            .or_else(|| a.as_f64().map(|f| f.to_string()))
    });
}

/// The deployment root: the host directory holding `data/` (from the data-store mounts) or
/// `config/` (from the apiserver's mounts).
fn root_from_mounts(containers: &[Container]) -> Option<String> {
    let parent = |p: &str| {
        p.trim_end_matches('/')
            .rsplit_once('/')
            .map(|(d, _)| d.to_owned())
    };
    for c in containers {
        match classify(&c.name).map(|(_, r)| r) {
            Some(Role::Elastic) => {
                if let Some(src) = c.mount_source("/usr/share/elasticsearch/data") {
                    // ROOT/data/elastic_7 → ROOT
                    return parent(src).and_then(|d| parent(&d));
                }
            }
            Some(Role::Apiserver) => {
                for dest in ["/opt/clearml/config", "/opt/trains/config"] {
                    if let Some(src) = c.mount_source(dest) {
                        return parent(src);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The releases whose compose pins match the file's data-store images.
fn infer_range(services: &[compose::Service], releases: &Releases) -> Option<(Version, Version)> {
    let tag_of = |kind: &str| {
        services
            .iter()
            .find(|s| image_name(&s.image).ends_with(kind))
            .map(|s| image_tag(&s.image))
    };
    let server = services
        .iter()
        .map(|s| image_name(&s.image))
        .find(|n| n.ends_with("/trains") || *n == "allegroai/clearml" || *n == "clearml/server");
    let es = tag_of("elasticsearch");
    let mongo = tag_of("mongo");
    let matching: Vec<_> = releases
        .eras
        .iter()
        .filter(|e| es.is_none_or(|t| t == e.elasticsearch))
        .filter(|e| mongo.is_none_or(|t| t == e.mongo))
        .filter(|e| server.is_none_or(|s| s == e.server_image))
        .collect();
    let lo = matching.iter().map(|e| e.from).min()?;
    let hi = matching.iter().map(|e| e.to).max()?;
    Some((lo, hi))
}

/// The services-agent settings from the running containers, then the `.env` file.
/// Trains or ClearML, by the apiserver container's name. ClearML 0.17.0 is ClearML although its
/// services agent is still `trains-agent-services` (clearml/clearml-server 0.17.0,
/// docker/docker-compose.yml): a Trains container other than the apiserver decides only when
/// no ClearML container exists.
fn family_of(containers: &[Container]) -> Option<Family> {
    let classified: Vec<(Family, Role)> = containers
        .iter()
        .filter_map(|c| classify(&c.name))
        .collect();
    if let Some((f, _)) = classified.iter().find(|(_, r)| *r == Role::Apiserver) {
        return Some(*f);
    }
    if classified.iter().any(|(f, _)| *f == Family::Clearml) {
        return Some(Family::Clearml);
    }
    classified.first().map(|(f, _)| *f)
}

fn agent_settings(containers: &[Container], dotenv: &IndexMap<String, String>) -> AgentSettings {
    let api = containers
        .iter()
        .find(|c| classify(&c.name).is_some_and(|(_, r)| r == Role::Apiserver));
    let agent = containers
        .iter()
        .find(|c| classify(&c.name).is_some_and(|(_, r)| r == Role::AgentServices));
    let pick = |names: &[&str]| -> Option<String> {
        for n in names {
            for c in [agent, api].into_iter().flatten() {
                if let Some(v) = c.env_var(n) {
                    return Some(v.to_owned());
                }
            }
            if let Some(v) = dotenv.get(*n).filter(|v| !v.is_empty()) {
                return Some(v.clone());
            }
        }
        None
    };
    AgentSettings {
        host_ip: pick(&["CLEARML_HOST_IP", "TRAINS_HOST_IP"]),
        git_user: pick(&["CLEARML_AGENT_GIT_USER", "TRAINS_AGENT_GIT_USER"]),
        git_pass: pick(&["CLEARML_AGENT_GIT_PASS", "TRAINS_AGENT_GIT_PASS"]).map(Secret::new),
        access_key: pick(&[
            "CLEARML__secure__credentials__services_agent__user_key",
            "CLEARML_AGENT_ACCESS_KEY",
            "CLEARML_API_ACCESS_KEY",
            "TRAINS_API_ACCESS_KEY",
        ]),
        secret_key: pick(&[
            "CLEARML__secure__credentials__services_agent__user_secret",
            "CLEARML_AGENT_SECRET_KEY",
            "CLEARML_API_SECRET_KEY",
            "TRAINS_API_SECRET_KEY",
        ])
        .map(Secret::new),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases() -> Releases {
        Releases::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn sections(pairs: &[(&str, &str)]) -> IndexMap<String, Section> {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    Section {
                        text: (*v).to_owned(),
                        rc: Some(0),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn nonsense_from_a_host_becomes_notes_not_a_crash() {
        let s = sections(&[
            ("os", "Darwin\narm64\n"),
            ("docker-access", "root\n"),
            ("names", "clearml-apiserver\n"),
            ("inspect", "<html>oops</html>"),
            ("http:server.info", "<html>proxy error</html>\n502"),
            ("file:/opt/clearml/docker-compose.yml", "services: ["),
        ]);
        let st = interpret(&s, &releases());
        assert_eq!(st.os.as_deref(), Some("macos"));
        assert_eq!(st.arch.as_deref(), Some("arm64"));
        assert_eq!(st.kind, None);
        assert!(
            st.notes.iter().any(|n| n.contains("docker inspect")),
            "{:?}",
            st.notes
        );
        assert!(
            st.notes.iter().any(|n| n.contains("compose file")),
            "{:?}",
            st.notes
        );
    }

    #[test]
    fn the_marker_of_an_interrupted_upgrade_is_read_beside_the_compose_file() {
        let compose = "services:\n  apiserver:\n    image: allegroai/clearml:latest\n  mongo:\n    image: mongo:7.0.22\n";
        let marker = r#"{"from":"2.0.0","hops":["2.3.0"],"step":"hop:2.3.0","backup":"/opt/b","root":"/opt/clearml","compose_file":"/opt/clearml/docker-compose.yml","uid":"u1"}"#;
        let base = [
            ("docker-access", "root"),
            ("file:/opt/clearml/docker-compose.yml", compose),
        ];
        let read = |extra: &[(&str, &str)]| {
            let mut pairs = base.to_vec();
            pairs.extend_from_slice(extra);
            interpret(&sections(&pairs), &releases())
        };
        let st = read(&[("marker:/opt/clearml", marker)]);
        let m = st
            .interrupted
            .unwrap_or_else(|| panic!("no marker: {:?}", st.notes));
        assert_eq!(m.hop(), "2.3.0".parse().ok());
        assert_eq!((m.backup.as_str(), m.uid.as_str()), ("/opt/b", "u1"));
        assert!(!st.interrupted_unreadable);
        // A marker elsewhere is not this deployment's.
        assert_eq!(read(&[("marker:/srv/other", marker)]).interrupted, None);
        // Garbage, an unknown step, or a hop outside its own plan: unreadable, noted.
        for bad in [
            "{not json",
            r#"{"from":"2.0.0","hops":["2.3.0"],"step":"dance","backup":"/b","root":"/r","compose_file":"/r/c"}"#,
            r#"{"from":"2.0.0","hops":["2.3.0"],"step":"hop:9.9.9","backup":"/b","root":"/r","compose_file":"/r/c"}"#,
            r#"{"from":"2.0.0","hops":[],"step":"migrate","backup":"/b","root":"/r","compose_file":"/r/c"}"#,
        ] {
            let st = read(&[("marker:/opt/clearml", bad)]);
            assert!(
                st.interrupted.is_none() && st.interrupted_unreadable,
                "{bad}"
            );
            assert!(st.notes.iter().any(|n| n.contains("upgrade-in-progress")));
        }
    }

    /// ClearML 0.17.0 runs `clearml-*` containers beside `trains-agent-services`
    /// (clearml/clearml-server 0.17.0, docker/docker-compose.yml): ClearML, never renamed.
    #[test]
    fn clearml_0_17_with_its_trains_agent_is_clearml() {
        let inspect = r#"[{"Name":"/trains-agent-services","State":{"Status":"running","Running":true},"Config":{"Image":"allegroai/trains-agent-services:latest"}},
            {"Name":"/clearml-apiserver","State":{"Status":"running","Running":true},"Config":{"Image":"allegroai/clearml:latest"}}]"#;
        let st = interpret(
            &sections(&[("docker-access", "root"), ("inspect", inspect)]),
            &releases(),
        );
        assert_eq!(st.kind, Some(Family::Clearml));
        let trains = r#"[{"Name":"/trains-apiserver","State":{"Status":"running","Running":true},"Config":{"Image":"allegroai/trains:latest"}}]"#;
        let st = interpret(
            &sections(&[("docker-access", "root"), ("inspect", trains)]),
            &releases(),
        );
        assert_eq!(st.kind, Some(Family::Trains));
        // Stopped: the compose file's server image decides, not the agent's.
        let compose = "services:\n  apiserver:\n    image: allegroai/clearml:latest\n    container_name: clearml-apiserver\n  agent-services:\n    image: allegroai/trains-agent-services:latest\n    container_name: trains-agent-services\n";
        let st = interpret(
            &sections(&[
                ("docker-access", "root"),
                ("file:/opt/clearml/docker-compose.yml", compose),
            ]),
            &releases(),
        );
        assert_eq!(st.kind, Some(Family::Clearml), "{:?}", st.notes);
    }

    #[test]
    fn server_info_that_is_not_json_is_noted() {
        let inspect = r#"[{"Name":"/clearml-apiserver","State":{"Status":"running","Running":true},"Config":{"Image":"allegroai/clearml:latest"}}]"#;
        let s = sections(&[
            ("docker-access", "root"),
            ("inspect", inspect),
            ("http:server.info", "not json\n200"),
        ]);
        let st = interpret(&s, &releases());
        assert_eq!(st.kind, Some(Family::Clearml));
        assert_eq!(st.version, None);
        assert!(
            st.notes.iter().any(|n| n.contains("not JSON")),
            "{:?}",
            st.notes
        );
    }

    fn container(name: &str, running: bool, compose_version: &str) -> String {
        format!(
            r#"{{"Name":"/{name}","State":{{"Status":"{}","Running":{running}}},"Config":{{"Image":"allegroai/clearml:1.16.2","Labels":{{"com.docker.compose.version":"{compose_version}"}}}}}}"#,
            if running { "running" } else { "exited" }
        )
    }

    fn with_rc(mut s: IndexMap<String, Section>, name: &str, rc: i32) -> IndexMap<String, Section> {
        if let Some(x) = s.get_mut(name) {
            x.rc = Some(rc);
        }
        s
    }

    #[test]
    fn the_compose_that_made_the_containers_wins_when_this_login_can_run_it() {
        let inspect = |version: &str| {
            format!(
                "[{},{}]",
                container("clearml-apiserver", true, version),
                container("clearml-mongo", true, version)
            )
        };
        let detect = |made: &str, v2: i32, v1: Option<i32>, extra: &[(&str, &str)]| {
            let inspect = inspect(made);
            let mut pairs = vec![
                ("docker-access", "root"),
                ("compose-v2", "Docker Compose version v2.26.1"),
                ("inspect", inspect.as_str()),
            ];
            if v1.is_some() {
                pairs.push((
                    "compose-v1",
                    "docker-compose version 1.29.2, build 5becea4c",
                ));
            }
            pairs.extend_from_slice(extra);
            let mut s = with_rc(sections(&pairs), "compose-v2", v2);
            if let Some(rc) = v1 {
                s = with_rc(s, "compose-v1", rc);
            }
            interpret(&s, &releases())
        };
        // Both installed: the label decides.
        let st = detect("1.29.2", 0, Some(0), &[]);
        assert_eq!(st.compose, Some(Compose::V1));
        assert_eq!(st.compose_created_by.as_deref(), Some("1.29.2"));
        assert!(st.notes.is_empty(), "{:?}", st.notes);
        assert_eq!(detect("2.26.1", 0, Some(0), &[]).compose, Some(Compose::V2));
        // Made by v1, which is gone: v2, said in a note.
        let st = detect("1.29.2", 0, None, &[]);
        assert_eq!(st.compose, Some(Compose::V2));
        assert!(
            st.notes.iter().any(|n| n.contains(
                "created by compose 1.29.2, v1 (`docker-compose`) of which this login cannot run; compose v2 (`docker compose`) is used"
            )),
            "{:?}",
            st.notes
        );
        // Made by v2 whose plugin this session's HOME lacks: found under root's home.
        let st = detect(
            "2.26.1",
            1,
            Some(0),
            &[(
                "compose-v2-config",
                "/root/.docker\nDocker Compose version v2.26.1",
            )],
        );
        assert_eq!(st.compose, Some(Compose::V2));
        assert_eq!(st.compose_docker_config.as_deref(), Some("/root/.docker"));
        // Nowhere to be found: v1, and a plugin docker did not run is named.
        let st = detect(
            "2.26.1",
            1,
            Some(0),
            &[(
                "compose-v2-system",
                "/usr/libexec/docker/cli-plugins/docker-compose",
            )],
        );
        assert_eq!(st.compose, Some(Compose::V1));
        assert_eq!(st.compose_docker_config, None);
        let notes = st.notes.join("\n");
        assert!(notes.contains("created by compose 2.26.1, v2"), "{notes}");
        assert!(
            notes.contains("the compose v2 plugin /usr/libexec/docker/cli-plugins/docker-compose is installed but `docker compose version` failed: Docker Compose version v2.26.1"),
            "{notes}"
        );
    }

    #[test]
    fn an_unknown_fcv_says_what_failed() {
        let compose = "services:\n  apiserver:\n    image: allegroai/clearml:1.16.2\n    container_name: clearml-apiserver\n  mongo:\n    image: mongo:4.4.29\n    container_name: clearml-mongo\n";
        let note = |mongo_running: bool, fcv: Option<(&str, i32)>| {
            let inspect = format!(
                "[{},{}]",
                container("clearml-apiserver", true, "2.26.1"),
                container("clearml-mongo", mongo_running, "2.26.1")
            );
            let mut pairs = vec![
                ("docker-access", "root"),
                ("inspect", inspect.as_str()),
                ("file:/opt/clearml/docker-compose.yml", compose),
            ];
            if let Some((text, _)) = fcv {
                pairs.push(("mongo-fcv:clearml-mongo", text));
            }
            let mut s = sections(&pairs);
            if let Some((_, rc)) = fcv {
                s = with_rc(s, "mongo-fcv:clearml-mongo", rc);
            }
            let st = interpret(&s, &releases());
            assert_eq!(st.mongo.as_deref(), Some("4.4.29"), "from the pins");
            st.notes
                .into_iter()
                .find(|n| n.starts_with("MongoDB feature compatibility version unknown"))
                .unwrap_or_default()
        };
        assert_eq!(
            note(false, None),
            "MongoDB feature compatibility version unknown (mongod not running)"
        );
        assert_eq!(
            note(
                true,
                Some((
                    "\n@@cf-err:mongosh (exit 127): OCI runtime exec failed: exec: \"mongosh\": executable file not found in $PATH: unknown\n@@cf-err:mongo (exit 126): permission denied",
                    126
                ))
            ),
            "MongoDB feature compatibility version unknown: neither mongosh nor mongo answered in clearml-mongo: mongosh (exit 127): OCI runtime exec failed: exec: \"mongosh\": executable file not found in $PATH: unknown; mongo (exit 126): permission denied"
        );
        assert_eq!(
            note(true, Some(("Warning: something\n{\"ok\":0}", 0))),
            "MongoDB feature compatibility version unknown: clearml-mongo answered \"{\\\"ok\\\":0}\""
        );
    }
}

//! `clearml-sim init`: lays out a host of a given release as a real installation would have it
//! (root dir, that release's compose file generated from the simulator's own table, `.env`,
//! data directories with markers, local images, running containers), plus `compose-file`.

use crate::compose;
use crate::containers;
use crate::elastic;
use crate::interpolate::Flavour;
use crate::mongo;
use crate::redis;
use crate::releases::{self, ImageKind, Stack, rdb_version, series, stack, vge};
use crate::state::{Access, Host, Out, SimError, State, hex_id, io_err, now, set_mode, write_file};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct InitOpts {
    pub era: String,
    pub stopped: bool,
    pub exited: bool,
    pub root: Option<String>,
    pub compose: Option<String>,
    pub no_clearml: bool,
    pub no_avx: bool,
    pub agent_key: Option<String>,
    pub agent_secret: Option<String>,
    pub host_ip: Option<String>,
    pub git_user: Option<String>,
    pub git_pass: Option<String>,
    pub docker_access: Option<String>,
    /// Keep the agent settings out of `.env` (as if they had been exported in the shell at install).
    pub no_dotenv: bool,
    pub pin: bool,
    pub free_mb: Option<u64>,
    pub memory_mb: Option<u64>,
}

/// The compose file of release `version` (server images pinned to exact tags with `pin`).
pub fn compose_yaml(version: &str, root_override: Option<&str>, pin: bool) -> String {
    let s: Stack = stack(version);
    let root = root_override
        .unwrap_or(s.root)
        .trim_end_matches('/')
        .to_string();
    let v = releases::vnum(version);
    let trains_paths = v < (1, 0, 0); // 0.17 still mounted /opt/trains/config and /var/log/trains
    let inner = if trains_paths { "trains" } else { "clearml" };
    let pre = if s.trains { "TRAINS" } else { "CLEARML" };
    let cn = if s.trains { "trains" } else { "clearml" };
    let server = match (pin, releases::pinned_server_tag(version)) {
        (true, Some(t)) => t,
        _ => format!("{}:latest", s.server_repo),
    };
    let mut y = String::from("version: \"3.6\"\nservices:\n\n");
    // apiserver
    y.push_str(&format!(
        "  apiserver:\n    command:\n    - apiserver\n    container_name: {cn}-apiserver\n    image: {server}\n    restart: unless-stopped\n    volumes:\n    - {root}/logs:/var/log/{inner}\n    - {root}/config:/opt/{inner}/config\n    - {root}/data/fileserver:/mnt/fileserver\n    depends_on:\n      - redis\n      - mongo\n      - elasticsearch\n      - fileserver\n    environment:\n      {pre}_ELASTIC_SERVICE_HOST: elasticsearch\n      {pre}_ELASTIC_SERVICE_PORT: 9200\n      {pre}_MONGODB_SERVICE_HOST: mongo\n      {pre}_MONGODB_SERVICE_PORT: 27017\n      {pre}_REDIS_SERVICE_HOST: redis\n      {pre}_REDIS_SERVICE_PORT: 6379\n      {pre}_SERVER_DEPLOYMENT_TYPE: ${{{pre}_SERVER_DEPLOYMENT_TYPE:-linux}}\n      {pre}__apiserver__pre_populate__enabled: \"true\"\n      {pre}__apiserver__pre_populate__zip_files: \"/opt/{inner}/db-pre-populate\"\n      {pre}__apiserver__pre_populate__artifacts_path: \"/mnt/fileserver\"\n"
    ));
    if s.async_delete {
        y.push_str("      CLEARML__services__async_urls_delete__enabled: \"true\"\n      CLEARML__services__async_urls_delete__fileserver__url_prefixes: \"[${CLEARML_FILES_HOST:-}]\"\n");
    }
    if s.agent_key_env {
        y.push_str("      CLEARML__secure__credentials__services_agent__user_key: ${CLEARML_AGENT_ACCESS_KEY:-}\n      CLEARML__secure__credentials__services_agent__user_secret: ${CLEARML_AGENT_SECRET_KEY:-}\n");
    }
    y.push_str(
        "    ports:\n    - \"8008:8008\"\n    networks:\n      - backend\n      - frontend\n\n",
    );
    // elasticsearch
    y.push_str(&format!("  elasticsearch:\n    networks:\n      - backend\n    container_name: {cn}-elastic\n    environment:\n"));
    if v < (1, 16, 0) {
        y.push_str("      ES_JAVA_OPTS: -Xms2g -Xmx2g -Dlog4j2.formatMsgNoLookups=true\n");
    }
    if ((0, 16, 0)..(1, 16, 0)).contains(&v) {
        y.push_str("      ELASTIC_PASSWORD: changeme\n");
    }
    y.push_str(&format!("      bootstrap.memory_lock: \"true\"\n      cluster.name: {cn}\n      cluster.routing.allocation.node_initial_primaries_recoveries: \"500\"\n"));
    if v >= (0, 17, 0) {
        y.push_str("      cluster.routing.allocation.disk.watermark.low: 500mb\n      cluster.routing.allocation.disk.watermark.high: 500mb\n      cluster.routing.allocation.disk.watermark.flood_stage: 500mb\n");
    }
    if s.legacy_es_settings {
        y.push_str("      discovery.zen.minimum_master_nodes: \"1\"\n");
    }
    if v >= (0, 16, 0) {
        y.push_str("      discovery.type: \"single-node\"\n");
    }
    y.push_str(&format!("      http.compression_level: \"7\"\n      node.name: {cn}\n      reindex.remote.whitelist: \"'*.*'\"\n"));
    if s.legacy_es_settings {
        y.push_str("      xpack.monitoring.enabled: \"false\"\n");
    }
    y.push_str(&format!(
        "      xpack.security.enabled: \"false\"\n    ulimits:\n      memlock:\n        soft: -1\n        hard: -1\n      nofile:\n        soft: 65536\n        hard: 65536\n    image: {}\n    restart: unless-stopped\n    volumes:\n      - {root}/data/{}:/usr/share/elasticsearch/data\n",
        s.es_image, s.es_dir
    ));
    if v >= (0, 17, 0) {
        y.push_str("      - /usr/share/elasticsearch/logs\n");
    }
    if s.publish_db_ports {
        y.push_str("    ports:\n      - \"9200:9200\"\n");
    }
    y.push('\n');
    // fileserver
    y.push_str(&format!("  fileserver:\n    networks:\n      - backend\n      - frontend\n    command:\n    - fileserver\n    container_name: {cn}-fileserver\n    image: {server}\n"));
    if v >= (1, 16, 0) {
        y.push_str("    environment:\n      CLEARML__fileserver__delete__allow_batch: \"true\"\n");
    }
    y.push_str(&format!("    restart: unless-stopped\n    volumes:\n    - {root}/logs:/var/log/{inner}\n    - {root}/data/fileserver:/mnt/fileserver\n    - {root}/config:/opt/{inner}/config\n    ports:\n    - \"8081:8081\"\n\n"));
    // mongo
    let mongo_cmd = if v >= (1, 17, 0) {
        "internalQueryMaxBlockingSortMemoryUsageBytes=196100200"
    } else {
        "internalQueryExecMaxBlockingSortBytes=196100200"
    };
    y.push_str(&format!(
        "  mongo:\n    networks:\n      - backend\n    container_name: {cn}-mongo\n    image: {}\n    restart: unless-stopped\n    command: --setParameter {mongo_cmd}\n    volumes:\n    - {root}/data/{}/db:/data/db\n    - {root}/data/{}/configdb:/data/configdb\n",
        s.mongo_image, s.mongo_dir, s.mongo_dir
    ));
    if s.publish_db_ports {
        y.push_str("    ports:\n    - \"27017:27017\"\n");
    }
    y.push('\n');
    // redis
    if let Some(r) = s.redis_image {
        y.push_str(&format!("  redis:\n    networks:\n      - backend\n    container_name: {cn}-redis\n    image: {r}\n    restart: unless-stopped\n    volumes:\n    - {root}/data/redis:/data\n"));
        if s.publish_db_ports {
            y.push_str("    ports:\n    - \"6379:6379\"\n");
        }
        y.push('\n');
    }
    // webserver
    y.push_str(&format!("  webserver:\n    command:\n    - webserver\n    container_name: {cn}-webserver\n    image: {server}\n    restart: unless-stopped\n    depends_on:\n      - apiserver\n    ports:\n    - \"8080:80\"\n    networks:\n      - backend\n      - frontend\n\n"));
    if s.async_delete {
        y.push_str(&format!(
            "  async_delete:\n    depends_on:\n      - apiserver\n      - redis\n      - mongo\n      - elasticsearch\n      - fileserver\n    container_name: async_delete\n    image: {server}\n    networks:\n      - backend\n    restart: unless-stopped\n    environment:\n      CLEARML_ELASTIC_SERVICE_HOST: elasticsearch\n      CLEARML_ELASTIC_SERVICE_PORT: 9200\n      CLEARML_MONGODB_SERVICE_HOST: mongo\n      CLEARML_MONGODB_SERVICE_PORT: 27017\n      CLEARML_REDIS_SERVICE_HOST: redis\n      CLEARML_REDIS_SERVICE_PORT: 6379\n      PYTHONPATH: /opt/clearml/apiserver\n      CLEARML__services__async_urls_delete__fileserver__url_prefixes: \"[${{CLEARML_FILES_HOST:-}}]\"\n    entrypoint:\n      - python3\n      - -m\n      - jobs.async_urls_delete\n      - --fileserver-host\n      - http://fileserver:8081\n    volumes:\n      - {root}/logs:/var/log/clearml\n      - {root}/config:/opt/clearml/config\n\n"
        ));
    }
    if let Some(agent) = s.agent_repo {
        y.push_str(&format!("  agent-services:\n    networks:\n      - backend\n    container_name: {cn}-agent-services\n    image: {agent}:latest\n"));
        if v < (0, 17, 0) {
            y.push_str("    restart: unless-stopped\n");
        } else {
            y.push_str("    deploy:\n      restart_policy:\n        condition: on-failure\n");
        }
        y.push_str("    privileged: true\n    environment:\n");
        if s.trains {
            y.push_str("      TRAINS_HOST_IP: ${TRAINS_HOST_IP}\n      TRAINS_WEB_HOST: ${TRAINS_WEB_HOST:-}\n      TRAINS_API_HOST: http://apiserver:8008\n      TRAINS_FILES_HOST: ${TRAINS_FILES_HOST:-}\n      TRAINS_API_ACCESS_KEY: ${TRAINS_API_ACCESS_KEY:-}\n      TRAINS_API_SECRET_KEY: ${TRAINS_API_SECRET_KEY:-}\n      TRAINS_AGENT_GIT_USER: ${TRAINS_AGENT_GIT_USER}\n      TRAINS_AGENT_GIT_PASS: ${TRAINS_AGENT_GIT_PASS}\n      TRAINS_AGENT_UPDATE_VERSION: ${TRAINS_AGENT_UPDATE_VERSION:->=0.15.0}\n      TRAINS_AGENT_DEFAULT_BASE_DOCKER: \"ubuntu:18.04\"\n      TRAINS_WORKER_ID: \"trains-services\"\n      TRAINS_AGENT_DOCKER_HOST_MOUNT: \"/opt/trains/agent:/root/.trains\"\n");
        } else {
            let (key, secret) = if s.agent_key_env {
                (
                    "${CLEARML_AGENT_ACCESS_KEY:-$CLEARML_API_ACCESS_KEY}",
                    "${CLEARML_AGENT_SECRET_KEY:-$CLEARML_API_SECRET_KEY}",
                )
            } else {
                ("${CLEARML_API_ACCESS_KEY:-}", "${CLEARML_API_SECRET_KEY:-}")
            };
            y.push_str(&format!("      CLEARML_HOST_IP: ${{CLEARML_HOST_IP}}\n      CLEARML_WEB_HOST: ${{CLEARML_WEB_HOST:-}}\n      CLEARML_API_HOST: http://apiserver:8008\n      CLEARML_FILES_HOST: ${{CLEARML_FILES_HOST:-}}\n      CLEARML_API_ACCESS_KEY: {key}\n      CLEARML_API_SECRET_KEY: {secret}\n      CLEARML_AGENT_GIT_USER: ${{CLEARML_AGENT_GIT_USER}}\n      CLEARML_AGENT_GIT_PASS: ${{CLEARML_AGENT_GIT_PASS}}\n      CLEARML_AGENT_UPDATE_VERSION: ${{CLEARML_AGENT_UPDATE_VERSION:->=0.17.0}}\n      CLEARML_AGENT_DEFAULT_BASE_DOCKER: \"ubuntu:18.04\"\n      AWS_ACCESS_KEY_ID: ${{AWS_ACCESS_KEY_ID:-}}\n      AWS_SECRET_ACCESS_KEY: ${{AWS_SECRET_ACCESS_KEY:-}}\n      AWS_DEFAULT_REGION: ${{AWS_DEFAULT_REGION:-}}\n      AZURE_STORAGE_ACCOUNT: ${{AZURE_STORAGE_ACCOUNT:-}}\n      AZURE_STORAGE_KEY: ${{AZURE_STORAGE_KEY:-}}\n      GOOGLE_APPLICATION_CREDENTIALS: ${{GOOGLE_APPLICATION_CREDENTIALS:-}}\n      CLEARML_WORKER_ID: \"clearml-services\"\n      CLEARML_AGENT_DOCKER_HOST_MOUNT: \"{root}/agent:/root/.clearml\"\n      SHUTDOWN_IF_NO_ACCESS_KEY: 1\n"));
        }
        let agent_home = if s.trains || trains_paths {
            "/root/.trains"
        } else {
            "/root/.clearml"
        };
        y.push_str(&format!("    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n      - {root}/agent:{agent_home}\n    depends_on:\n      - apiserver\n"));
        if s.agent_key_env {
            y.push_str("    entrypoint: >\n      bash -c \"curl --retry 10 --retry-delay 10 --retry-connrefused 'http://apiserver:8008/debug.ping' && /usr/agent/entrypoint.sh\"\n");
        }
        y.push('\n');
    }
    y.push_str("networks:\n  backend:\n    driver: bridge\n  frontend:\n    driver: bridge\n");
    y
}

fn chown_r(p: &Path, uid: u32) -> bool {
    let mut ok = std::os::unix::fs::chown(p, Some(uid), Some(uid)).is_ok();
    if p.is_dir()
        && !p.is_symlink()
        && let Ok(rd) = std::fs::read_dir(p)
    {
        for e in rd.flatten() {
            ok &= chown_r(&e.path(), uid);
        }
    }
    ok
}

/// `chown -R uid:uid` of a real path.
pub fn chown_tree(p: &Path, uid: u32) -> bool {
    chown_r(p, uid)
}

fn agent_vars(o: &InitOpts, version: &str) -> BTreeMap<String, String> {
    let s = stack(version);
    let mut m = BTreeMap::new();
    let p = if s.trains { "TRAINS" } else { "CLEARML" };
    if let (Some(k), Some(sec)) = (&o.agent_key, &o.agent_secret) {
        if s.agent_key_env {
            m.insert("CLEARML_AGENT_ACCESS_KEY".into(), k.clone());
            m.insert("CLEARML_AGENT_SECRET_KEY".into(), sec.clone());
        } else {
            m.insert(format!("{p}_API_ACCESS_KEY"), k.clone());
            m.insert(format!("{p}_API_SECRET_KEY"), sec.clone());
        }
    }
    if let Some(ip) = &o.host_ip {
        m.insert(format!("{p}_HOST_IP"), ip.clone());
    }
    if let Some(u) = &o.git_user {
        m.insert(format!("{p}_AGENT_GIT_USER"), u.clone());
    }
    if let Some(pw) = &o.git_pass {
        m.insert(format!("{p}_AGENT_GIT_PASS"), pw.clone());
    }
    m
}

fn populate(
    host: &Host,
    st: &mut State,
    o: &InitOpts,
    version: &str,
    root: &str,
) -> Result<(), SimError> {
    let s = stack(version);
    let rel = releases::find(version);
    let data = format!("{root}/data");
    for d in ["config", "logs", "data/fileserver"] {
        let p = host.path(&format!("{root}/{d}"));
        std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
    }
    if s.agent_repo.is_some() {
        let p = host.path(&format!("{root}/agent"));
        std::fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
    }
    write_file(
        &host.path(&format!("{root}/data/fileserver/example/model.pkl")),
        &(0u8..=255).collect::<Vec<u8>>(),
    )?;
    // Mongo.
    let mongo_ver = releases::registry(s.mongo_image);
    let mongo_ver = match mongo_ver {
        releases::Lookup::Found(i) => i.version,
        _ => "4.4.29".into(),
    };
    let mdir = host.path(&format!("{data}/{}/db", s.mongo_dir));
    std::fs::create_dir_all(host.path(&format!("{data}/{}/configdb", s.mongo_dir)))
        .map_err(|e| io_err(&mdir, e))?;
    mongo::create_files(&mdir, &mongo_ver)?;
    let creds = match (&o.agent_key, &o.agent_secret) {
        (Some(k), Some(sec)) => Some(mongo::Creds {
            key: k.clone(),
            secret: sec.clone(),
        }),
        _ => None,
    };
    let md = mongo::MongoData {
        binary: mongo_ver.clone(),
        fcv: series(&mongo_ver),
        server_uid: Some(
            hex_id(&format!("server-uid/{root}/{version}/{}", now()))
                .get(..32)
                .unwrap_or_default()
                .to_string(),
        ),
        services_agent: creds,
        versions: releases::migrations_upto(version),
        non_empty: true,
        collections: [
            ("task", 120u64),
            ("project", 9),
            ("model", 31),
            ("user", 4),
            ("queue", 2),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect(),
    };
    mongo::save(&mdir, &md)?;
    // Elasticsearch.
    let es_ver = match releases::registry(s.es_image) {
        releases::Lookup::Found(i) => i.version,
        _ => "7.17.18".into(),
    };
    let edir = host.path(&format!("{data}/{}", s.es_dir));
    std::fs::create_dir_all(&edir).map_err(|e| io_err(&edir, e))?;
    elastic::create_files(&edir, &es_ver)?;
    elastic::save(
        &edir,
        &elastic::EsData {
            version: es_ver,
            indices: elastic::sample_indices(3),
        },
    )?;
    // Redis.
    if let Some(ri) = s.redis_image
        && let releases::Lookup::Found(i) = releases::registry(ri)
    {
        write_file(
            &host.path(&format!("{data}/redis/{}", redis::DUMP)),
            &redis::dump_bytes(rdb_version(&i.version)),
        )?;
    }
    // Ownership as the docs prescribe (chown -R 1000:1000).
    if !chown_tree(&host.path(&data), 1000) {
        st.settings.es_uid = crate::state::owner_uid(&edir).unwrap_or(1000);
    }
    // Images as pulled back then: `:latest` meant this release.
    let server_ref = format!("{}:latest", s.server_repo);
    containers::install_image(
        st,
        &server_ref,
        ImageKind::Server,
        version,
        rel.map(|r| r.build),
    );
    if o.pin
        && let Some(t) = releases::pinned_server_tag(version)
    {
        containers::install_image(st, &t, ImageKind::Server, version, rel.map(|r| r.build));
    }
    if let Some(a) = s.agent_repo {
        containers::install_image(
            st,
            &format!("{a}:latest"),
            ImageKind::AgentServices,
            "latest",
            None,
        );
    }
    for img in [Some(s.mongo_image), Some(s.es_image), s.redis_image]
        .into_iter()
        .flatten()
    {
        if let Err(e) = containers::pull(st, img) {
            return Err(SimError::BadState {
                path: img.to_string(),
                msg: e,
            });
        }
    }
    Ok(())
}

pub fn init(host: &Host, o: &InitOpts) -> Out {
    let mut st = State::default();
    match o.compose.as_deref() {
        None | Some("v2") => {}
        Some("v1") => {
            st.settings.compose_v1 = true;
            st.settings.compose_v2 = false;
        }
        Some("both") => st.settings.compose_v1 = true,
        Some(other) => {
            return Out::fail(
                2,
                format!("clearml-sim init: --compose must be v1, v2 or both, not {other:?}"),
            );
        }
    }
    st.settings.avx = !o.no_avx;
    // A simulated server has 16 GB unless told otherwise, whatever this machine has.
    st.settings.memory_mb = Some(o.memory_mb.unwrap_or(16_384));
    if let Err(m) = crate::procfs::sync(host, &st.settings) {
        return Out::fail(1, format!("clearml-sim: {m}"));
    }
    if let Some(f) = o.free_mb {
        st.settings.free_mb = f;
    }
    st.settings.docker_access = match o.docker_access.as_deref() {
        None | Some("group") => Access::Group,
        Some("root") => Access::Root,
        Some("none") => Access::None,
        Some(other) => {
            return Out::fail(
                2,
                format!(
                    "clearml-sim init: --docker-access must be root, group or none, not {other:?}"
                ),
            );
        }
    };
    if o.no_clearml {
        return match host.with_state(|s| *s = st.clone()) {
            Ok(()) => Out::ok("clearml-sim: host without ClearML initialised\n"),
            Err(e) => e.into(),
        };
    }
    let Some(rel) = releases::find(&o.era) else {
        return Out::fail(2, format!("clearml-sim init: unknown release {:?}", o.era));
    };
    let version = rel.version;
    let s = stack(version);
    let root = o.root.clone().unwrap_or_else(|| s.root.to_string());
    let root = root.trim_end_matches('/').to_string();
    if let Err(e) = populate(host, &mut st, o, version, &root) {
        return e.into();
    }
    let yaml = compose_yaml(version, Some(&root), o.pin);
    if let Err(e) = write_file(
        &host.path(&format!("{root}/docker-compose.yml")),
        yaml.as_bytes(),
    ) {
        return e.into();
    }
    let vars = agent_vars(o, version);
    if !vars.is_empty() && !o.no_dotenv {
        let body: String = vars.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let p = host.path(&format!("{root}/.env"));
        if let Err(e) = write_file(&p, body.as_bytes()) {
            return e.into();
        }
        set_mode(&p, 0o600);
    }
    let mut out = Out::ok(format!(
        "clearml-sim: host of release {version} laid out at {root}\n"
    ));
    if !o.stopped {
        let mut h = host.clone();
        h.cwd = host.path(&root);
        let flavour = if st.settings.compose_v2 {
            Flavour::V2
        } else {
            Flavour::V1
        };
        let opts = compose::Opts {
            files: vec![format!("{root}/docker-compose.yml")],
            ..compose::Opts::default()
        };
        let p = match compose::load_project(&h, &opts, flavour, &vars) {
            Ok(p) => p,
            Err(o) => return o,
        };
        let r = compose::up(&h, &mut st, &p, flavour, &compose::UpOpts::default());
        if r.code != 0 {
            return r;
        }
        if o.exited {
            let names: Vec<String> = st.containers.keys().cloned().collect();
            for n in names {
                containers::stop(&mut st, &n);
            }
        }
        for c in st.containers.values() {
            out.line(&format!("  {} {:?} ({})", c.name, c.status, c.exit_code));
        }
    }
    if let Err(e) = host.with_state(|s| *s = st.clone()) {
        return e.into();
    }
    let _ = vge;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_files_follow_the_spec_shapes() {
        let y = compose_yaml("1.17.1", None, true);
        assert!(y.contains("image: allegroai/clearml:1.17.1-554"));
        assert!(y.contains("docker.elastic.co/elasticsearch/elasticsearch:8.15.3"));
        assert!(y.contains(
            "CLEARML__secure__credentials__services_agent__user_key: ${CLEARML_AGENT_ACCESS_KEY:-}"
        ));
        assert!(y.contains("${CLEARML_AGENT_ACCESS_KEY:-$CLEARML_API_ACCESS_KEY}"));
        assert!(!y.contains("discovery.zen.minimum_master_nodes"));
        let t = compose_yaml("0.15.1", None, false);
        assert!(
            t.contains("container_name: trains-apiserver")
                && t.contains("/opt/trains/data/elastic:/usr/share/elasticsearch/data")
        );
        assert!(
            t.contains("TRAINS_AGENT_GIT_USER: ${TRAINS_AGENT_GIT_USER}")
                && t.contains("\"9200:9200\"")
        );
        let c = compose_yaml("2.3.0", None, false);
        assert!(
            c.contains("image: clearml/server:latest")
                && c.contains("mongo:7.0.22")
                && c.contains("container_name: async_delete")
        );
        for v in [
            "0.14.2", "0.16.1", "0.17.0", "1.1.1", "1.5.0", "1.12.1", "1.16.2", "2.0.0", "2.2.0",
        ] {
            let y = compose_yaml(v, None, false);
            let parsed: Result<serde_json::Value, _> = serde_saphyr::from_str(&y);
            assert!(parsed.is_ok(), "{v}: {parsed:?}\n{y}");
        }
    }
}

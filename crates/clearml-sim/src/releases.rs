//! The simulator's own table of ClearML/Trains releases, images and data-store versions
//! (clearml/clearml-server tags and compose files, clearml-helm-charts tags:
//! docs/upstream.md §1.4, §3, §6),
//! kept independent of the product's release data so that the two can check each other.
//!
//! Choices no upstream source settles (docs/upstream.md §3: "not found") and that the simulator
//! fixes here:
//! - `allegroai/clearml:latest` resolves to **2.0.0-613** (the last tag known under that name);
//! - `clearml/server:latest` resolves to 2.3.0, `allegroai/trains:latest` to 0.16.1, until
//!   `inject --latest` moves a server repository's `latest` (to 2.4.0, say: see `IMAGE_ONLY`);
//! - `clearml/server` has plain tags `2.1.0`, `2.2.0`, `2.3.0`; `allegroai/trains` has plain tags
//!   for every Trains release; `allegroai/clearml` has the HELM tags plus `latest`;
//! - builds of releases without a known HELM tag are the simulator's own numbers;
//! - floating data-store tags resolve to: `redis:5.0` 5.0.14, `redis:6.2` 6.2.14, `mongo:4.4` 4.4.29.

/// One server release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    pub version: &'static str,
    pub build: &'static str,
    /// Max API version (`server.info` `api_version`).
    pub api: &'static str,
}

/// Every clearml/clearml-server release: each tag from 0.10.0 to v2.3.0 (0.9.0 had no compose
/// file), plus 1.15.1 and 1.17.1, which have no tag (see their comments).
/// - `version`: the tag without its `v` (tag `v1.10` is 1.10.0).
/// - `build`: the build number of the `allegroai/clearml` tag in clearml/clearml-helm-charts
///   747c018 `charts/clearml/values.yaml` (docs/upstream.md §3, `CLEARML_TAGS`) where there is
///   one; otherwise the simulator's own number.
/// - `api`: `_max_version` in apiserver/service_repo/service_repo.py (server/… up to 0.16.1) at
///   the tag; for 0.14–0.16 that is `__version__` of server/api_version.py
///   (docs/upstream.md §1.4).
pub const RELEASES: &[Release] = &[
    Release {
        version: "0.10.0",
        build: "50",
        api: "2.1",
    },
    // added: tag 0.10.1; build: the simulator's own number.
    Release {
        version: "0.10.1",
        build: "52",
        api: "2.1",
    },
    Release {
        version: "0.11.0",
        build: "60",
        api: "2.3",
    },
    Release {
        version: "0.12.0",
        build: "70",
        api: "2.4",
    },
    Release {
        version: "0.12.1",
        build: "72",
        api: "2.4",
    },
    Release {
        version: "0.13.0",
        build: "80",
        api: "2.6",
    },
    Release {
        version: "0.14.0",
        build: "90",
        api: "2.7",
    },
    Release {
        version: "0.14.1",
        build: "92",
        api: "2.7",
    },
    Release {
        version: "0.14.2",
        build: "94",
        api: "2.7",
    },
    Release {
        version: "0.15.0",
        build: "100",
        api: "2.8",
    },
    Release {
        version: "0.15.1",
        build: "102",
        api: "2.8",
    },
    Release {
        version: "0.16.0",
        build: "110",
        api: "2.9",
    },
    Release {
        version: "0.16.1",
        build: "112",
        api: "2.9",
    },
    Release {
        version: "0.17.0",
        build: "120",
        api: "2.12",
    },
    Release {
        version: "1.0.0",
        build: "104",
        api: "2.13",
    },
    // added: tag 1.0.1; build: the simulator's own number.
    Release {
        version: "1.0.1",
        build: "106",
        api: "2.13",
    },
    Release {
        version: "1.0.2",
        build: "108",
        api: "2.13",
    },
    Release {
        version: "1.1.0",
        build: "130",
        api: "2.14",
    },
    Release {
        version: "1.1.1",
        build: "135",
        api: "2.14",
    },
    Release {
        version: "1.2.0",
        build: "150",
        api: "2.16",
    },
    Release {
        version: "1.3.0",
        build: "170",
        api: "2.17",
    },
    // added: tag v1.3.1; build: the simulator's own number.
    Release {
        version: "1.3.1",
        build: "172",
        api: "2.17",
    },
    Release {
        version: "1.4.0",
        build: "185",
        api: "2.17",
    },
    Release {
        version: "1.5.0",
        build: "200",
        api: "2.17",
    },
    Release {
        version: "1.6.0",
        build: "230",
        api: "2.20",
    },
    Release {
        version: "1.7.0",
        build: "260",
        api: "2.21",
    },
    Release {
        version: "1.8.0",
        build: "290",
        api: "2.22",
    },
    // added: tag v1.9.0; build: the simulator's own number.
    Release {
        version: "1.9.0",
        build: "310",
        api: "2.23",
    },
    Release {
        version: "1.9.1",
        build: "312",
        api: "2.23",
    },
    Release {
        version: "1.9.2",
        build: "317",
        api: "2.23",
    },
    // tag v1.10.
    Release {
        version: "1.10.0",
        build: "357",
        api: "2.24",
    },
    // added: tag v1.10.1; build: the simulator's own number.
    Release {
        version: "1.10.1",
        build: "359",
        api: "2.24",
    },
    Release {
        version: "1.11.0",
        build: "373",
        api: "2.25",
    },
    Release {
        version: "1.12.0",
        build: "393",
        api: "2.26",
    },
    Release {
        version: "1.12.1",
        build: "400",
        api: "2.26",
    },
    Release {
        version: "1.13.0",
        build: "414",
        api: "2.27",
    },
    Release {
        version: "1.13.1",
        build: "420",
        api: "2.27",
    },
    Release {
        version: "1.14.0",
        build: "431",
        api: "2.28",
    },
    Release {
        version: "1.14.1",
        build: "448",
        api: "2.28",
    },
    Release {
        version: "1.15.0",
        build: "472",
        api: "2.29",
    },
    // no upstream tag (HELM tag 1.15.1-478 only): its compose file is v1.15.0's.
    Release {
        version: "1.15.1",
        build: "478",
        api: "2.29",
    },
    Release {
        version: "1.16.0",
        build: "494",
        api: "2.30",
    },
    Release {
        version: "1.16.1",
        build: "499",
        api: "2.30",
    },
    Release {
        version: "1.16.2",
        build: "502",
        api: "2.30",
    },
    Release {
        version: "1.17.0",
        build: "548",
        api: "2.31",
    },
    // no upstream tag: the 1.17 -> 2.0 upgrade compose file, commit 2976ce69, upgrade/1_17_to_2_0/docker-compose.yml (pins allegroai/clearml:1.17.1-554).
    Release {
        version: "1.17.1",
        build: "554",
        api: "2.31",
    },
    Release {
        version: "2.0.0",
        build: "613",
        api: "2.31",
    },
    Release {
        version: "2.1.0",
        build: "668",
        api: "2.32",
    },
    Release {
        version: "2.2.0",
        build: "702",
        api: "2.33",
    },
    Release {
        version: "2.3.0",
        build: "735",
        api: "2.34",
    },
];

/// The `allegroai/clearml` tags of clearml/clearml-helm-charts 747c018 `charts/clearml/values.yaml`
/// (docs/upstream.md §3), the only pinned tags of that repository.
pub const CLEARML_TAGS: &[&str] = &[
    "1.0.2",
    "1.1.0",
    "1.1.1",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0",
    "1.8.0",
    "1.9.1-312",
    "1.9.2-317",
    "1.10.0-357",
    "1.11.0-373",
    "1.12.0-393",
    "1.13.0-414",
    "1.14.0-431",
    "1.14.1-448",
    "1.15.0-472",
    "1.15.1-478",
    "1.16.0-494",
    "1.16.1-499",
    "1.16.2-502",
    "1.17.1-554",
    "2.0.0-613",
];

pub const LATEST_ALLEGRO_CLEARML: &str = "2.0.0";
pub const LATEST_CLEARML_SERVER: &str = "2.3.0";
pub const LATEST_TRAINS: &str = "0.16.1";

/// Parse "X.Y.Z" (extra suffixes after '-' ignored) into numbers; missing parts are 0.
pub fn vnum(v: &str) -> (u32, u32, u32) {
    let core = v.split('-').next().unwrap_or("");
    let mut it = core
        .split('.')
        .map(|p| p.trim().parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

pub fn vge(a: &str, b: &str) -> bool {
    vnum(a) >= vnum(b)
}

/// Server releases whose image the registry can hold (see `inject --latest`) but that `init`
/// cannot lay out: they have no tag, hence no compose file, in clearml/clearml-server.
/// - 2.4.0: clearml/clearml-docs (df22ffc) `docs/release_notes/clearml_server/open_source/ver_2_4.md`
///   says only "Update Elastic to version 8.19.9"; the server image, its build and API version,
///   and its MongoDB and Redis are not found upstream (docs/upstream.md items 6 and 11). Assumed
///   here: it reports version 2.4.0 with the simulator's own build 771, keeps 2.3.0's API version
///   2.34 and, like 2.2.0 and 2.3.0, raises MongoDB's FCV to 7.0 (needs MongoDB 7).
pub const IMAGE_ONLY: &[Release] = &[Release {
    version: "2.4.0",
    build: "771",
    api: "2.34",
}];

/// A release whose image the registry can hold: one of [`RELEASES`] (exact or "X.Y") or of
/// [`IMAGE_ONLY`] (exact).
pub fn find_image(version: &str) -> Option<&'static Release> {
    find(version).or_else(|| IMAGE_ONLY.iter().find(|r| r.version == version))
}

/// The repositories of the ClearML/Trains server image (see [`stack`]).
pub const SERVER_REPOS: &[&str] = &["allegroai/trains", "allegroai/clearml", "clearml/server"];

/// Find a release by exact version, or the newest patch of "X.Y".
pub fn find(version: &str) -> Option<&'static Release> {
    if let Some(r) = RELEASES.iter().find(|r| r.version == version) {
        return Some(r);
    }
    let (a, b, _) = vnum(version);
    let parts = version.split('.').count();
    if parts == 2 {
        return RELEASES.iter().rev().find(|r| {
            let (x, y, _) = vnum(r.version);
            x == a && y == b
        });
    }
    None
}

/// `__version__` in each release's `version.py`, read at every tag of github.com/clearml/clearml-server
/// (`git show TAG:server/version.py` up to 0.16.1, `TAG:apiserver/version.py` from 0.17.0; tags
/// `0.10.0` … `1.2.0`, `v1.3.0` … `v2.3.0`, `v1.10` for 1.10.0). Upstream bumps it for some patch
/// releases and not for others, so it is a table, not a rule. `None`: the release has no
/// version.py (0.10.0, 0.10.1 and 0.11.0 have only the DB model `server/database/model/version.py`).
pub const VERSION_PY: &[(&str, Option<&str>)] = &[
    ("0.10.0", None),
    ("0.10.1", None),
    ("0.11.0", None),
    // First version.py: tag 0.12.0 (server/version.py). Tag 0.12.1 (2c3f0e4) still says 0.12.0.
    ("0.12.0", Some("0.12.0")),
    ("0.12.1", Some("0.12.0")),
    ("0.13.0", Some("0.13.0")),
    ("0.14.0", Some("0.14.0")),
    // Bumped for these patches: 0.14.1 (50c373c), 0.14.2 (d9bdebe), 0.15.1 (5ce202c), 0.16.1
    // (b93591e), 1.0.1 (2216bfe), 1.0.2 (09ab2af), 1.1.1 (1bc8529), v1.9.1 (b1a50c1), v1.9.2 (3a2675a).
    ("0.14.1", Some("0.14.1")),
    ("0.14.2", Some("0.14.2")),
    ("0.15.0", Some("0.15.0")),
    ("0.15.1", Some("0.15.1")),
    ("0.16.0", Some("0.16.0")),
    ("0.16.1", Some("0.16.1")),
    // apiserver/version.py from 0.17.0.
    ("0.17.0", Some("0.17.0")),
    ("1.0.0", Some("1.0.0")),
    ("1.0.1", Some("1.0.1")),
    ("1.0.2", Some("1.0.2")),
    ("1.1.0", Some("1.1.0")),
    ("1.1.1", Some("1.1.1")),
    ("1.2.0", Some("1.2.0")),
    ("1.3.0", Some("1.3.0")),
    // Not bumped: v1.3.1 (bf65ea7) says 1.3.0.
    ("1.3.1", Some("1.3.0")),
    ("1.4.0", Some("1.4.0")),
    ("1.5.0", Some("1.5.0")),
    ("1.6.0", Some("1.6.0")),
    ("1.7.0", Some("1.7.0")),
    ("1.8.0", Some("1.8.0")),
    ("1.9.0", Some("1.9.0")),
    ("1.9.1", Some("1.9.1")),
    ("1.9.2", Some("1.9.2")),
    ("1.10.0", Some("1.10.0")),
    // Not bumped: v1.10.1 (c8e4d9e) says 1.10.0.
    ("1.10.1", Some("1.10.0")),
    ("1.11.0", Some("1.11.0")),
    ("1.12.0", Some("1.12.0")),
    // v1.12.1 and v1.12.0 are the same commit (2263e7c).
    ("1.12.1", Some("1.12.0")),
    ("1.13.0", Some("1.13.0")),
    // v1.13.1 and v1.13.0 are the same commit (4684fd5).
    ("1.13.1", Some("1.13.0")),
    ("1.14.0", Some("1.14.0")),
    // Not bumped: v1.14.1 (6a1fc04) says 1.14.0.
    ("1.14.1", Some("1.14.0")),
    ("1.15.0", Some("1.15.0")),
    // No tag (HELM 1.15.1-478): every commit from v1.15.0 (9c95c63) to the 1.16.0 bump (3f34f83)
    // says 1.15.0.
    ("1.15.1", Some("1.15.0")),
    ("1.16.0", Some("1.16.0")),
    // v1.16.1 and v1.16.2 are one commit (83a0485), which says 1.16.0.
    ("1.16.1", Some("1.16.0")),
    ("1.16.2", Some("1.16.0")),
    ("1.17.0", Some("1.17.0")),
    // No tag (HELM 1.17.1-554): every commit from v1.17.0 (1299ebf) to the v2.0.0 bump (8de039e)
    // says 1.17.0.
    ("1.17.1", Some("1.17.0")),
    ("2.0.0", Some("2.0.0")),
    ("2.1.0", Some("2.1.0")),
    ("2.2.0", Some("2.2.0")),
    ("2.3.0", Some("2.3.0")),
    // Assumed: 2.4.0 has no tag in clearml/clearml-server (see IMAGE_ONLY).
    ("2.4.0", Some("2.4.0")),
];

/// The `__version__` of a release's version.py (see [`VERSION_PY`]); `None` when the release has
/// no version.py or is unknown.
pub fn version_py(version: &str) -> Option<&'static str> {
    VERSION_PY
        .iter()
        .find(|(v, _)| *v == version)
        .and_then(|(_, p)| *p)
}

/// Whether the apiserver reads `version.py` for `server.info`'s version at all: from 0.13.0 on
/// (`server/config/info.py` `_get("VERSION", default=__version__)`, after the env variable and a
/// `VERSION` file). 0.11.0 … 0.12.1 read only the file `server/VERSION` (empty string when it
/// is missing; same file, tags 0.11.0 and 0.12.1), and before 0.11.0 there is no server.info.
pub fn reads_version_py(version: &str) -> bool {
    vge(version, "0.13.0")
}

/// Images and layout of a release's compose file (recorded in
/// playbooks/clearml/upstream-compose.json; docs/simulator.md "Compose files"). Every threshold
/// below is the upstream tag whose compose file changed it: repository clearml/clearml-server,
/// file docker-compose.yml up to 0.16.1 and docker/docker-compose.yml from 0.17.0 (the compose
/// file itself is `init::compose_yaml`'s table, which uses these images and paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub server_repo: &'static str,
    pub agent_repo: Option<&'static str>,
    pub es_image: &'static str,
    pub mongo_image: &'static str,
    pub redis_image: Option<&'static str>,
    pub trains: bool,
    /// The default root: the host side of every bind mount but the docker socket.
    pub root: &'static str,
    pub es_dir: &'static str,
    pub mongo_dir: &'static str,
    /// 1.16+: services-agent key variables in the apiserver env.
    pub agent_key_env: bool,
}

pub fn stack(version: &str) -> Stack {
    let v = vnum(version);
    // Trains until 0.16.1; 0.17.0 is the first ClearML release (container names clearml-*, root
    // /opt/clearml), although its services agent is still trains-agent-services.
    let trains = v < (0, 17, 0);
    // Server image: allegroai/trains:latest (0.10.0–0.16.1), allegroai/clearml:latest
    // (0.17.0–v2.0.0), clearml/server:latest (v2.1.0+).
    let server_repo = if trains {
        "allegroai/trains"
    } else if v < (2, 1, 0) {
        "allegroai/clearml"
    } else {
        "clearml/server"
    };
    // Services agent: from 0.15.0; allegroai/trains-agent-services up to and including 0.17.0,
    // allegroai/clearml-agent-services from 1.0.0, clearml/clearml-agent-services from v2.1.0.
    let agent_repo = if v < (0, 15, 0) {
        None
    } else if v < (1, 0, 0) {
        Some("allegroai/trains-agent-services")
    } else if v < (2, 1, 0) {
        Some("allegroai/clearml-agent-services")
    } else {
        Some("clearml/clearml-agent-services")
    };
    // Elasticsearch: 5.6.16 (0.10.0), 7.6.2 (0.16.0), 7.16.2 (1.2.0), 7.17.7 (v1.10), 7.17.18
    // (v1.15.0), 8.15.3 (v1.17.0), Docker Hub's elasticsearch:8.17.0 (v2.0.0).
    let es_image = if v < (0, 16, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:5.6.16"
    } else if v < (1, 2, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:7.6.2"
    } else if v < (1, 10, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:7.16.2"
    } else if v < (1, 15, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:7.17.7"
    } else if v < (1, 17, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:7.17.18"
    } else if v < (2, 0, 0) {
        "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"
    } else {
        "elasticsearch:8.17.0"
    };
    // Mongo: 3.6.5 (0.10.0), 3.6.23 (1.2.0: the tag still mounts data/mongo; master moved to
    // 4.4.9 a minute after the tag), 4.4.9 (v1.3.0), 4.4.29 (v1.15.0), 5.0.26 (v1.17.0), 6.0.19
    // (v2.0.0), 7.0.22 (v2.3.0).
    let mongo_image = if v < (1, 2, 0) {
        "mongo:3.6.5"
    } else if v < (1, 3, 0) {
        "mongo:3.6.23"
    } else if v < (1, 15, 0) {
        "mongo:4.4.9"
    } else if v < (1, 17, 0) {
        "mongo:4.4.29"
    } else if v < (2, 0, 0) {
        "mongo:5.0.26"
    } else if v < (2, 3, 0) {
        "mongo:6.0.19"
    } else {
        "mongo:7.0.22"
    };
    // Redis: none before 0.12.0; redis:5.0 (0.12.0), redis:6.2 (v1.15.0), redis:7.4.1 (v2.0.0).
    let redis_image = if v < (0, 12, 0) {
        None
    } else if v < (1, 15, 0) {
        Some("redis:5.0")
    } else if v < (2, 0, 0) {
        Some("redis:6.2")
    } else {
        Some("redis:7.4.1")
    };
    Stack {
        server_repo,
        agent_repo,
        es_image,
        mongo_image,
        redis_image,
        trains,
        // /opt/trains up to 0.16.1, /opt/clearml from 0.17.0.
        root: if trains {
            "/opt/trains"
        } else {
            "/opt/clearml"
        },
        // data/elastic (ES 5) up to 0.15.1, data/elastic_7 from 0.16.0.
        es_dir: if v < (0, 16, 0) {
            "elastic"
        } else {
            "elastic_7"
        },
        // data/mongo up to 1.2.0, data/mongo_4 from v1.3.0 (with mongo 4.4.9).
        mongo_dir: if v < (1, 3, 0) { "mongo" } else { "mongo_4" },
        // v1.16.0: CLEARML__secure__credentials__services_agent__user_key: ${CLEARML_AGENT_ACCESS_KEY:-}.
        agent_key_env: v >= (1, 16, 0),
    }
}

/// The server image a release's compose file names: upstream's `:latest` (see [`stack`]), except
/// 1.17.1, whose compose file (commit 2976ce69, upgrade/1_17_to_2_0/docker-compose.yml) pins
/// `allegroai/clearml:1.17.1-554`; with `pin`, the exact tag where the registry has one.
pub fn compose_server_image(version: &str, pin: bool) -> String {
    if pin && let Some(t) = pinned_server_tag(version) {
        return t;
    }
    if version == "1.17.1" {
        return "allegroai/clearml:1.17.1-554".to_string();
    }
    format!("{}:latest", stack(version).server_repo)
}

/// The exact tag to pin a release's server image to, if the registry has one.
pub fn pinned_server_tag(version: &str) -> Option<String> {
    let st = stack(version);
    let r = find(version)?;
    match st.server_repo {
        "allegroai/clearml" => {
            let with_build = format!("{}-{}", r.version, r.build);
            CLEARML_TAGS
                .iter()
                .find(|t| **t == with_build || **t == r.version)
                .map(|t| format!("allegroai/clearml:{t}"))
        }
        repo => Some(format!("{repo}:{}", r.version)),
    }
}

/// What an image is, as far as the simulator is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    Server,
    AgentServices,
    Mongo,
    Elastic,
    Redis,
    Other,
}

/// What the registry holds for a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryImage {
    pub kind: ImageKind,
    /// Server release, or data-store version.
    pub version: String,
    pub build: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(RegistryImage),
    /// The repository exists but not the tag.
    NoTag,
    /// The repository does not exist.
    NoRepo,
}

/// Normalise an image reference: drop `docker.io/` and `library/`, add `:latest`.
pub fn normalize(reference: &str) -> String {
    let mut r = reference.trim().to_string();
    for p in [
        "docker.io/library/",
        "docker.io/",
        "index.docker.io/library/",
    ] {
        if let Some(rest) = r.strip_prefix(p) {
            r = rest.to_string();
        }
    }
    if let Some(rest) = r.strip_prefix("library/") {
        r = rest.to_string();
    }
    let last = r.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !r.contains('@') {
        r.push_str(":latest");
    }
    r
}

/// Split a normalised reference into repository and tag.
pub fn split_ref(reference: &str) -> (String, String) {
    let n = normalize(reference);
    match n.rfind(':') {
        Some(i) if !n[i..].contains('/') => (n[..i].to_string(), n[i + 1..].to_string()),
        _ => (n, "latest".to_string()),
    }
}

fn server(version: &str) -> Lookup {
    match find_image(version) {
        Some(r) => Lookup::Found(RegistryImage {
            kind: ImageKind::Server,
            version: r.version.to_string(),
            build: Some(r.build.to_string()),
        }),
        None => Lookup::NoTag,
    }
}

fn store(kind: ImageKind, version: &str) -> Lookup {
    Lookup::Found(RegistryImage {
        kind,
        version: version.to_string(),
        build: None,
    })
}

/// The registry's answer for an image reference once the `latest` of some server repositories
/// has moved (`inject --latest REPO=VERSION`, repository → release): `REPO:latest` is that
/// release from then on, and in the repositories with plain version tags (`clearml/server`,
/// `allegroai/trains`) its plain tag `REPO:VERSION` exists too.
pub fn registry_at(reference: &str, latest: &std::collections::BTreeMap<String, String>) -> Lookup {
    let (repo, tag) = split_ref(reference);
    if let Some(v) = latest.get(&repo)
        && SERVER_REPOS.contains(&repo.as_str())
        && (tag == "latest" || (tag == *v && repo != "allegroai/clearml"))
    {
        return server(v);
    }
    registry(reference)
}

/// MongoDB tags the registry holds: the tags clearml/clearml-server's compose files pin (see
/// [`stack`]), plus 4.0.27 and 4.2.16, the steps of the documented 3.6 → 4.4 data migration
/// (clearml-docs `docs/deploying_clearml/clearml_server_mongo44_migration.md`,
/// docs/upstream.md §4).
pub const MONGO_TAGS: &[&str] = &[
    "3.6.5", "3.6.23", "4.0.27", "4.2.16", "4.4.9", "4.4.29", "5.0.26", "6.0.19", "7.0.22",
];

/// Floating MongoDB tags and the version each resolves to.
pub const MONGO_FLOATING: &[(&str, &str)] = &[
    ("4.4", "4.4.29"),
    ("5.0", "5.0.26"),
    ("6.0", "6.0.19"),
    ("7.0", "7.0.22"),
];

/// docker.elastic.co/elasticsearch/elasticsearch tags: the tags the compose files pin (see
/// [`stack`]), plus 7.10.2 (clearml/clearml-server master `docker/docker-compose.yml` from
/// 2021-11-15 to 2021-12-22, between the 1.1.1 and 1.2.0 tags; no commit recorded), 7.17.0 (the
/// ES 8 upgrade floor, docs/upstream.md §6.2) and 8.19.9 (clearml-docs `ver_2_4.md`).
pub const ELASTIC_CO_TAGS: &[&str] = &[
    "5.6.16", "7.6.2", "7.10.2", "7.16.2", "7.17.0", "7.17.7", "7.17.18", "8.15.3", "8.17.0",
    "8.19.9",
];

/// Docker Hub's `elasticsearch` tags. The library has no floating `7.17` tag any more
/// (clearml-server PR #237).
pub const ELASTIC_HUB_TAGS: &[&str] = &["7.17.18", "8.15.3", "8.17.0", "8.19.9"];

/// Redis tags and the version each resolves to.
pub const REDIS_TAGS: &[(&str, &str)] = &[
    ("5.0", "5.0.14"),
    ("6.2", "6.2.14"),
    ("7.4.1", "7.4.1"),
    ("7.4", "7.4.1"),
];

/// The repositories of the services-agent image (only ever `:latest`).
pub const AGENT_REPOS: &[&str] = &[
    "allegroai/trains-agent-services",
    "allegroai/clearml-agent-services",
    "clearml/clearml-agent-services",
];

/// ClearML Serving's own images (only `:latest`, see [`registry`]).
pub const SERVING_REPOS: &[&str] = &[
    "clearml/clearml-serving-inference",
    "clearml/clearml-serving-inference-intel",
    "clearml/clearml-serving-statistics",
    "clearml/clearml-serving-triton",
    "allegroai/clearml-serving-inference",
    "allegroai/clearml-serving-statistics",
    "allegroai/clearml-serving-triton",
];

/// The third-party images of ClearML Serving's compose file, with their only tags.
pub const SERVING_THIRD_PARTY: &[(&str, &str)] = &[
    ("bitnamilegacy/zookeeper", "3.7.0"),
    ("bitnamilegacy/kafka", "3.1.1"),
    ("prom/prometheus", "v2.34.0"),
    ("prom/alertmanager", "v0.23.0"),
    ("grafana/grafana", "8.4.4-ubuntu"),
];

/// Every reference [`registry`] answers `Found` for (before injections), each tag once.
pub fn known_references() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    v.push("allegroai/trains:latest".into());
    for r in RELEASES.iter().filter(|r| vnum(r.version) < (0, 17, 0)) {
        v.push(format!("allegroai/trains:{}", r.version));
    }
    v.push("allegroai/clearml:latest".into());
    v.extend(
        CLEARML_TAGS
            .iter()
            .map(|t| format!("allegroai/clearml:{t}")),
    );
    v.push("clearml/server:latest".into());
    v.extend(["2.1.0", "2.2.0", "2.3.0"].map(|t| format!("clearml/server:{t}")));
    v.extend(AGENT_REPOS.iter().map(|r| format!("{r}:latest")));
    v.extend(MONGO_TAGS.iter().map(|t| format!("mongo:{t}")));
    v.extend(MONGO_FLOATING.iter().map(|(t, _)| format!("mongo:{t}")));
    v.extend(
        ELASTIC_CO_TAGS
            .iter()
            .map(|t| format!("docker.elastic.co/elasticsearch/elasticsearch:{t}")),
    );
    v.extend(
        ELASTIC_HUB_TAGS
            .iter()
            .map(|t| format!("elasticsearch:{t}")),
    );
    v.extend(REDIS_TAGS.iter().map(|(t, _)| format!("redis:{t}")));
    v.extend(["latest", "1.27", "1.27.3"].map(|t| format!("nginx:{t}")));
    v.extend(SERVING_REPOS.iter().map(|r| format!("{r}:latest")));
    v.extend(SERVING_THIRD_PARTY.iter().map(|(r, t)| format!("{r}:{t}")));
    v
}

/// The registry's answer for an image reference (before failure injections).
pub fn registry(reference: &str) -> Lookup {
    let (repo, tag) = split_ref(reference);
    match repo.as_str() {
        "allegroai/trains" => {
            if tag == "latest" {
                return server(LATEST_TRAINS);
            }
            if vnum(&tag) < (0, 17, 0) && find(&tag).is_some_and(|r| r.version == tag) {
                return server(&tag);
            }
            Lookup::NoTag
        }
        "allegroai/clearml" => {
            if tag == "latest" {
                return server(LATEST_ALLEGRO_CLEARML);
            }
            if CLEARML_TAGS.contains(&tag.as_str()) {
                let v = tag.split('-').next().unwrap_or("");
                return server(v);
            }
            Lookup::NoTag
        }
        "clearml/server" => {
            if tag == "latest" {
                return server(LATEST_CLEARML_SERVER);
            }
            if ["2.1.0", "2.2.0", "2.3.0"].contains(&tag.as_str()) {
                return server(&tag);
            }
            Lookup::NoTag
        }
        r if AGENT_REPOS.contains(&r) => {
            if tag == "latest" {
                store(ImageKind::AgentServices, "latest")
            } else {
                Lookup::NoTag
            }
        }
        "mongo" => {
            if MONGO_TAGS.contains(&tag.as_str()) {
                return store(ImageKind::Mongo, &tag);
            }
            match MONGO_FLOATING.iter().find(|(t, _)| *t == tag) {
                Some((_, v)) => store(ImageKind::Mongo, v),
                None => Lookup::NoTag,
            }
        }
        "docker.elastic.co/elasticsearch/elasticsearch" => {
            if ELASTIC_CO_TAGS.contains(&tag.as_str()) {
                store(ImageKind::Elastic, &tag)
            } else {
                Lookup::NoTag
            }
        }
        "elasticsearch" => {
            if ELASTIC_HUB_TAGS.contains(&tag.as_str()) {
                store(ImageKind::Elastic, &tag)
            } else {
                Lookup::NoTag
            }
        }
        "redis" => match REDIS_TAGS.iter().find(|(t, _)| *t == tag) {
            Some((_, v)) => store(ImageKind::Redis, v),
            None => Lookup::NoTag,
        },
        // Not ClearML: a site's own web server, for port conflicts on 8080 and the like.
        "nginx" => match tag.as_str() {
            "latest" | "1.27" | "1.27.3" => store(ImageKind::Other, "1.27.3"),
            _ => Lookup::NoTag,
        },
        // ClearML Serving, not ClearML Server: the images of github.com/clearml/clearml-serving's
        // docker/docker-compose*.yml and docker/compose*.yaml. `main` (c0ee96e, since 1484e13 of
        // 2026-01-04) names clearml/clearml-serving-{inference,inference-intel,statistics,triton}
        // and bitnamilegacy/{zookeeper,kafka} (bitnami/ → bitnamilegacy/ in a761e8a, "Update
        // bitnami repositories"); tags 0.9.0 … 1.3.1 name allegroai/clearml-serving-* (all
        // `:latest`). Long-running containers of no ClearML role (see `serving.rs`).
        r if SERVING_REPOS.contains(&r) => match tag.as_str() {
            "latest" => store(ImageKind::Other, "latest"),
            _ => Lookup::NoTag,
        },
        r if SERVING_THIRD_PARTY.iter().any(|(x, _)| *x == r) => {
            if SERVING_THIRD_PARTY.contains(&(repo.as_str(), tag.as_str())) {
                store(ImageKind::Other, &tag)
            } else {
                Lookup::NoTag
            }
        }
        _ => Lookup::NoRepo,
    }
}

/// Mongo release series in order ("4.4", "5.0", ...).
pub const MONGO_SERIES: &[&str] = &[
    "3.4", "3.6", "4.0", "4.2", "4.4", "5.0", "6.0", "7.0", "8.0",
];

/// "5.0.26" → "5.0".
pub fn series(version: &str) -> String {
    let (a, b, _) = vnum(version);
    format!("{a}.{b}")
}

pub fn prev_series(s: &str) -> Option<&'static str> {
    let i = MONGO_SERIES.iter().position(|x| *x == s)?;
    if i == 0 {
        None
    } else {
        MONGO_SERIES.get(i - 1).copied()
    }
}

/// The Mongo series a server release raises FCV to by itself (docs/upstream.md §6.1), if any.
pub fn apiserver_mongo_target(version: &str) -> Option<&'static str> {
    let v = vnum(version);
    if v >= (2, 2, 0) {
        Some("7.0")
    } else if v >= (2, 0, 0) {
        Some("6.0")
    } else if v >= (1, 17, 0) {
        Some("5.0")
    } else {
        None
    }
}

/// Migration scripts applied on startup (clearml/clearml-server v2.3.0
/// `apiserver/mongo/migrations/`, docs/upstream.md §6.1); the last one is 1.9.0.
pub const MIGRATIONS: &[&str] = &[
    "0.12.1", "0.13.0", "0.14.0", "0.15.0", "0.16.0", "0.16.1", "0.16.2", "0.17.0", "1.0.0",
    "1.0.2", "1.3.0", "1.6.0", "1.7.0", "1.9.0",
];

pub fn migrations_upto(version: &str) -> Vec<String> {
    MIGRATIONS
        .iter()
        .filter(|m| vge(version, m))
        .map(|m| m.to_string())
        .collect()
}

/// Redis RDB format written by a redis version.
pub fn rdb_version(redis: &str) -> u32 {
    let v = vnum(redis);
    if v >= (7, 4, 0) {
        12
    } else if v >= (7, 2, 0) {
        11
    } else if v >= (7, 0, 0) {
        10
    } else {
        9
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_reference_is_found_once() {
        let all = known_references();
        for r in &all {
            assert!(matches!(registry(r), Lookup::Found(_)), "{r}");
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &all {
            assert!(seen.insert(r.clone()), "{r} twice");
        }
        assert!(all.iter().any(|r| r == "mongo:4.0.27"));
    }

    #[test]
    fn latest_resolution_follows_the_documented_choices() {
        let ver = |r: &str| match registry(r) {
            Lookup::Found(i) => i.version,
            other => panic!("{r}: {other:?}"),
        };
        assert_eq!(ver("allegroai/clearml:latest"), "2.0.0");
        assert_eq!(ver("allegroai/clearml"), "2.0.0");
        assert_eq!(ver("clearml/server:latest"), "2.3.0");
        assert_eq!(ver("docker.io/allegroai/trains:latest"), "0.16.1");
        assert_eq!(ver("allegroai/clearml:1.17.1-554"), "1.17.1");
        assert_eq!(ver("redis:6.2"), "6.2.14");
        assert_eq!(registry("allegroai/clearml:9.9.9"), Lookup::NoTag);
        assert_eq!(registry("elasticsearch:7.17"), Lookup::NoTag);
        assert_eq!(registry("nosuch/thing:1"), Lookup::NoRepo);
    }

    #[test]
    fn stacks_match_the_spec_table() {
        assert_eq!(stack("1.16.2").mongo_image, "mongo:4.4.29");
        assert_eq!(
            stack("1.17.1").es_image,
            "docker.elastic.co/elasticsearch/elasticsearch:8.15.3"
        );
        assert_eq!(stack("2.0.0").redis_image, Some("redis:7.4.1"));
        assert_eq!(stack("2.1.0").server_repo, "clearml/server");
        assert_eq!(stack("2.3.0").mongo_image, "mongo:7.0.22");
        assert_eq!(stack("0.15.1").es_dir, "elastic");
        assert_eq!(stack("1.1.1").mongo_dir, "mongo");
        assert_eq!(stack("1.2.0").mongo_image, "mongo:3.6.23");
        assert_eq!(stack("1.2.0").mongo_dir, "mongo");
        assert_eq!(stack("1.3.0").mongo_dir, "mongo_4");
        assert_eq!(
            compose_server_image("1.17.1", false),
            "allegroai/clearml:1.17.1-554"
        );
        assert_eq!(
            compose_server_image("1.17.0", false),
            "allegroai/clearml:latest"
        );
        assert_eq!(
            compose_server_image("1.3.1", true),
            "allegroai/clearml:latest"
        );
        assert!(stack("0.16.1").trains);
        assert_eq!(
            pinned_server_tag("1.16.2").as_deref(),
            Some("allegroai/clearml:1.16.2-502")
        );
        assert_eq!(
            pinned_server_tag("2.0.0").as_deref(),
            Some("allegroai/clearml:2.0.0-613")
        );
        assert_eq!(pinned_server_tag("0.17.0"), None);
    }

    #[test]
    fn version_py_is_upstreams_per_release() {
        for r in RELEASES.iter().chain(IMAGE_ONLY) {
            assert!(
                VERSION_PY.iter().any(|(v, _)| *v == r.version),
                "{} has no version.py row",
                r.version
            );
        }
        assert_eq!(VERSION_PY.len(), RELEASES.len() + IMAGE_ONLY.len());
        // Bumped for these patches (tags 0.14.1 … v1.9.2), not for v1.16.1/v1.16.2 and others.
        for v in [
            "0.14.1", "0.14.2", "0.15.1", "0.16.1", "1.0.1", "1.0.2", "1.1.1", "1.9.1", "1.9.2",
        ] {
            assert_eq!(version_py(v), Some(v));
        }
        for (v, py) in [
            ("1.16.1", "1.16.0"),
            ("1.16.2", "1.16.0"),
            ("1.17.1", "1.17.0"),
            ("1.3.1", "1.3.0"),
            ("0.12.1", "0.12.0"),
        ] {
            assert_eq!(version_py(v), Some(py), "{v}");
        }
        assert_eq!(version_py("0.11.0"), None);
        assert!(!reads_version_py("0.12.1") && reads_version_py("0.13.0"));
    }

    #[test]
    fn latest_can_move_past_the_newest_known_release() {
        let mut latest = std::collections::BTreeMap::new();
        let ver = |r: &str, l: &std::collections::BTreeMap<String, String>| match registry_at(r, l)
        {
            Lookup::Found(i) => (i.version, i.build),
            other => panic!("{r}: {other:?}"),
        };
        assert_eq!(ver("clearml/server", &latest).0, "2.3.0");
        assert_eq!(registry("clearml/server:2.4.0"), Lookup::NoTag);
        latest.insert("clearml/server".to_string(), "2.4.0".to_string());
        assert_eq!(
            ver("clearml/server:latest", &latest),
            ("2.4.0".to_string(), Some("771".to_string()))
        );
        assert_eq!(ver("clearml/server:2.4.0", &latest).0, "2.4.0");
        assert_eq!(ver("clearml/server:2.3.0", &latest).0, "2.3.0");
        latest.insert("allegroai/clearml".to_string(), "2.4.0".to_string());
        assert_eq!(ver("allegroai/clearml:latest", &latest).0, "2.4.0");
        assert_eq!(
            registry_at("allegroai/clearml:2.4.0", &latest),
            Lookup::NoTag
        );
        assert_eq!(find("2.4"), None, "init cannot lay out 2.4.0");
        assert_eq!(apiserver_mongo_target("2.4.0"), Some("7.0"));
    }

    #[test]
    fn version_py_and_fcv_targets() {
        assert_eq!(version_py("1.16.2"), Some("1.16.0"));
        assert_eq!(apiserver_mongo_target("1.17.1"), Some("5.0"));
        assert_eq!(apiserver_mongo_target("2.1.0"), Some("6.0"));
        assert_eq!(apiserver_mongo_target("2.2.0"), Some("7.0"));
        assert_eq!(apiserver_mongo_target("1.16.2"), None);
        assert_eq!(prev_series("5.0"), Some("4.4"));
        assert_eq!(find("1.16").map(|r| r.version), Some("1.16.2"));
        assert_eq!(
            migrations_upto("0.15.1").last().map(String::as_str),
            Some("0.15.0")
        );
        assert_eq!(rdb_version("7.4.1"), 12);
        assert_eq!(rdb_version("6.2.14"), 9);
    }
}

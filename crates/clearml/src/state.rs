//! What detection learns about one host: deployment, version and how it was found, data
//! stores, layout, and the services-agent settings an upgrade must carry over.

use serde::Serialize;

use super::containers::Family;
use super::version::Version;
use clearfleet_base::secret::Secret;

/// How docker can be used on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DockerAccess {
    /// Logged in as root.
    Root,
    /// A user in the `docker` group.
    Group,
    /// Through passwordless `sudo`.
    Sudo,
    /// docker exists but this user may not use it.
    Denied,
    /// docker exists but its daemon does not answer ("Cannot connect to the Docker daemon"):
    /// the server's containers may still run, nothing can be done with them.
    Down,
    /// No docker command.
    Missing,
}

/// A compose flavour (which command: `docker compose` or `docker-compose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Compose {
    /// `docker compose` (the v2 plugin).
    #[serde(rename = "v2")]
    V2,
    /// Only `docker-compose` (v1).
    #[serde(rename = "v1")]
    V1,
}

/// The probe a version came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Probe {
    /// `GET :8008/server.info`, no credentials (up to 2.2).
    ServerInfo,
    /// `GET :8008/server.info` with the services-agent credentials (2.3+).
    ServerInfoAuthenticated,
    /// `GET :8080/version.json` from the webserver.
    VersionJson,
    /// `CLEARML_SERVER_VERSION`/`TRAINS_SERVER_VERSION` in the apiserver's environment.
    ApiserverEnv,
    /// The pinned tag of the apiserver image.
    ImageTag,
    /// `version.py` inside the apiserver (it lags some patch releases: clearml/clearml-server
    /// v1.16.2 apiserver/version.py says 1.16.0).
    VersionPy,
    /// A range inferred from the compose file's data-store pins (server stopped).
    ComposePins,
}

impl Probe {
    pub fn as_str(self) -> &'static str {
        match self {
            Probe::ServerInfo => "server.info",
            Probe::ServerInfoAuthenticated => "server.info (auth)",
            Probe::VersionJson => "version.json",
            Probe::ApiserverEnv => "apiserver env",
            Probe::ImageTag => "image tag",
            Probe::VersionPy => "version.py",
            Probe::ComposePins => "compose pins",
        }
    }
}

/// The services-agent settings that must survive an upgrade: from 1.16.0 the apiserver resets
/// the agent's credentials to the configured pair on every start (clearml/clearml-server v1.16.0
/// `apiserver/mongo/initialize/user.py`, `docker/docker-compose.yml`;
/// docs/upstream.md Summary fact 12).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentSettings {
    pub host_ip: Option<String>,
    pub git_user: Option<String>,
    pub git_pass: Option<Secret>,
    pub access_key: Option<String>,
    pub secret_key: Option<Secret>,
}

/// A container as detection reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerSummary {
    pub name: String,
    pub image: String,
    pub status: String,
    pub exit_code: i64,
    pub restart_count: u64,
}

/// Where an earlier `clearfleet upgrade` stopped without finishing: the marker
/// `<root>/.clearfleet/upgrade-in-progress` that the upgrade playbook writes once its backup is
/// verified and removes after the final checks or a finished rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterruptedUpgrade {
    /// The version that ran before that upgrade (the rollback's target).
    pub from: Version,
    /// Every hop that upgrade planned, in order.
    pub hops: Vec<Version>,
    /// The step it was in: `migrate`, `hop:<version>` or `rollback`.
    pub step: String,
    /// Its verified backup, the way back.
    pub backup: String,
    /// The root and compose file the previous version ran from.
    pub root: String,
    pub compose_file: String,
    /// The server uid before that upgrade ("" when unknown).
    pub uid: String,
}

impl InterruptedUpgrade {
    /// The hop it was in, when it stopped in one.
    pub fn hop(&self) -> Option<Version> {
        self.step.strip_prefix("hop:")?.parse().ok()
    }

    /// Reads the marker (JSON); `None` for anything malformed, which detection notes.
    pub fn parse(text: &str) -> Option<InterruptedUpgrade> {
        let v: serde_json::Value = serde_json::from_str(text.trim()).ok()?;
        let s = |k: &str| v.get(k)?.as_str().map(str::to_owned);
        let hops = v
            .get("hops")?
            .as_array()?
            .iter()
            .map(|h| h.as_str()?.parse().ok())
            .collect::<Option<Vec<Version>>>()?;
        let marker = InterruptedUpgrade {
            from: s("from")?.parse().ok()?,
            hops,
            step: s("step")?,
            backup: s("backup")?,
            root: s("root")?,
            compose_file: s("compose_file")?,
            uid: s("uid").unwrap_or_default(),
        };
        let known = marker.step == "migrate"
            || marker.step == "rollback"
            || marker.hop().is_some_and(|h| marker.hops.contains(&h));
        (known && !marker.hops.is_empty() && !marker.backup.is_empty()).then_some(marker)
    }
}

/// Everything known about one host's ClearML deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostState {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub docker_access: Option<DockerAccess>,
    /// The compose the upgrade uses: the one that created the server's containers when this
    /// login can run it, else v2, else v1.
    pub compose: Option<Compose>,
    /// The compose version that created the server's containers (their
    /// `com.docker.compose.version` label: `1.29.2` is v1, `2.26.1` v2).
    pub compose_created_by: Option<String>,
    /// A `DOCKER_CONFIG` under whose `cli-plugins` `docker compose` finds the v2 plugin when
    /// this session's own (`$HOME/.docker`) lacks it: the login's or root's home.
    pub compose_docker_config: Option<String>,
    /// `None` when the host has no ClearML or Trains deployment.
    pub kind: Option<Family>,
    pub root: Option<String>,
    pub compose_file: Option<String>,
    pub env_file: Option<String>,
    /// Whether the apiserver answered or runs.
    pub running: bool,
    pub version: Option<Version>,
    pub version_probe: Option<Probe>,
    /// For a stopped server: the releases its compose pins match (inclusive).
    pub version_range: Option<(Version, Version)>,
    pub api_version: Option<String>,
    pub uid: Option<String>,
    pub elasticsearch: Option<String>,
    pub mongo: Option<String>,
    pub mongo_fcv: Option<String>,
    pub redis: Option<String>,
    /// Elasticsearch 5 data (Trains ≤ 0.15): the documented ES 5 → 7 migration comes first.
    pub es_migration_required: bool,
    /// MongoDB 3.6 data (ClearML ≤ 1.1): the documented MongoDB 4.4 migration comes first.
    pub mongo_migration_required: bool,
    /// `server_errors` flags the server reports (`missed_es_upgrade`, `es_connection_error`).
    pub server_errors: Vec<String>,
    pub agent: AgentSettings,
    pub containers: Vec<ContainerSummary>,
    /// The image references of the compose file in use, in file order, without repeats.
    pub compose_images: Vec<String>,
    /// The upstream compose file the one in use was compared with (its source), if any.
    pub compose_compared_with: Option<String>,
    /// How the compose file in use differs from that upstream file: a site's own changes,
    /// which an upgrade to upstream's next file would drop.
    pub compose_drift: Vec<String>,
    /// An earlier upgrade that stopped half-way (its marker), to finish or roll back first.
    pub interrupted: Option<InterruptedUpgrade>,
    /// A marker of an interrupted upgrade exists but cannot be read: the host needs a person.
    pub interrupted_unreadable: bool,
    /// Things detection could not settle, in words (never secrets).
    pub notes: Vec<String>,
}

impl HostState {
    /// The version to plan from: the detected one, or the top of the inferred range.
    pub fn effective_version(&self) -> Option<Version> {
        self.version.or(self.version_range.map(|(_, hi)| hi))
    }
}

//! What `docker inspect` says about a host's ClearML or Trains containers, and their roles.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The part of one `docker inspect` object that detection and health checks use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// Without docker's leading `/`.
    pub name: String,
    pub image: String,
    pub status: String,
    pub running: bool,
    pub exit_code: i64,
    pub restart_count: u64,
    pub env: IndexMap<String, String>,
    pub labels: IndexMap<String, String>,
    /// (host source, container destination) of every mount.
    pub mounts: Vec<(String, String)>,
}

/// What a container does in a ClearML deployment, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Apiserver,
    Webserver,
    Fileserver,
    Elastic,
    Mongo,
    Redis,
    AgentServices,
    AsyncDelete,
}

/// The deployment family a container name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Trains,
    Clearml,
}

/// The role and family of a container named exactly as an upstream compose file names it
/// (container_name of every service in clearml/clearml-server's compose files, 0.10.0 …
/// v2.3.0; recorded in playbooks/clearml/upstream-compose.json). Nothing else is
/// this server's: not `clearml-serving-*`, not a site's own `clearml-*` service.
pub fn classify(name: &str) -> Option<(Family, Role)> {
    if name == "async_delete" {
        return Some((Family::Clearml, Role::AsyncDelete));
    }
    let (family, rest) = if let Some(r) = name.strip_prefix("clearml-") {
        (Family::Clearml, r)
    } else if let Some(r) = name.strip_prefix("trains-") {
        (Family::Trains, r)
    } else {
        return None;
    };
    let role = match rest {
        "apiserver" => Role::Apiserver,
        "webserver" => Role::Webserver,
        "fileserver" => Role::Fileserver,
        "elastic" => Role::Elastic,
        "mongo" => Role::Mongo,
        "redis" => Role::Redis,
        "agent-services" => Role::AgentServices,
        _ => return None,
    };
    Some((family, role))
}

/// [`classify`]'s names as the regular expression the probe script and the upgrade playbook
/// (`clearml_server_containers`) filter `docker ps` with; a test keeps the three equal.
pub const SERVER_CONTAINERS_RE: &str = "^((clearml|trains)-(apiserver|webserver|fileserver|elastic|mongo|redis|agent-services)|async_delete)$";

/// Whether clearfleet may ever remove this container: only ClearML's and Trains' own, by their
/// exact names (never `clearml-serving-*` or a site's own `clearml-*` service).
pub fn is_removable(name: &str) -> bool {
    classify(name).is_some()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawContainer {
    name: String,
    #[serde(default)]
    state: RawState,
    #[serde(default)]
    restart_count: u64,
    #[serde(default)]
    mounts: Vec<RawMount>,
    #[serde(default)]
    config: RawConfig,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawState {
    #[serde(default)]
    status: String,
    #[serde(default)]
    running: bool,
    #[serde(default)]
    exit_code: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMount {
    #[serde(default)]
    source: String,
    #[serde(default)]
    destination: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    #[serde(default)]
    image: String,
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<IndexMap<String, String>>,
}

/// Malformed `docker inspect` output.
#[derive(Debug, thiserror::Error)]
#[error("unexpected `docker inspect` output: {0}")]
pub struct InspectError(String);

/// Parses the JSON array that `docker inspect NAME...` prints.
pub fn parse_inspect(json: &str) -> Result<Vec<Container>, InspectError> {
    let raw: Vec<RawContainer> =
        serde_json::from_str(json.trim()).map_err(|e| InspectError(e.to_string()))?;
    Ok(raw
        .into_iter()
        .map(|c| Container {
            name: c.name.trim_start_matches('/').to_owned(),
            image: c.config.image,
            status: c.state.status,
            running: c.state.running,
            exit_code: c.state.exit_code,
            restart_count: c.restart_count,
            env: c
                .config
                .env
                .unwrap_or_default()
                .into_iter()
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (kv, String::new()),
                })
                .collect(),
            labels: c.config.labels.unwrap_or_default(),
            mounts: c
                .mounts
                .into_iter()
                .map(|m| (m.source, m.destination))
                .collect(),
        })
        .collect())
}

impl Container {
    /// The host path mounted at `destination`, if any.
    pub fn mount_source(&self, destination: &str) -> Option<&str> {
        let wanted = destination.trim_end_matches('/');
        self.mounts
            .iter()
            .find(|(_, d)| d.trim_end_matches('/') == wanted)
            .map(|(s, _)| s.as_str())
    }

    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_list_of_server_containers_everywhere() {
        let re = regex::Regex::new(SERVER_CONTAINERS_RE).unwrap_or_else(|e| panic!("{e}"));
        assert!(super::super::probe::SCRIPT.contains(SERVER_CONTAINERS_RE));
        let playbook = super::super::playbook_vars::PLAYBOOK_FILES
            .iter()
            .find(|(n, _)| *n == "clearml-upgrade.yml")
            .map(|(_, t)| *t)
            .unwrap_or_default();
        assert!(playbook.contains(&format!("      {SERVER_CONTAINERS_RE}\n")));
        // Every container_name of every upstream compose file, and nothing else.
        let facts: serde_json::Value = serde_json::from_str(include_str!(
            "../../../playbooks/clearml/upstream-compose.json"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        for release in facts.as_array().into_iter().flatten() {
            for (_, svc) in release["services"].as_object().into_iter().flatten() {
                let name = svc["container_name"].as_str().unwrap_or_default();
                assert!(classify(name).is_some(), "{name}");
                assert!(re.is_match(name), "{name}");
            }
        }
        for other in [
            "clearml-serving-inference",
            "clearml-nginx",
            "trains-elasticsearch",
        ] {
            assert!(classify(other).is_none() && !re.is_match(other), "{other}");
        }
    }

    use super::*;

    const INSPECT: &str = r#"[{"Id":"4f1","Name":"/clearml-apiserver","RestartCount":2,
      "State":{"Status":"running","Running":true,"ExitCode":0},
      "Mounts":[{"Type":"bind","Source":"/opt/clearml/config","Destination":"/opt/clearml/config","RW":true}],
      "Config":{"Image":"allegroai/clearml:1.16.2-502","Env":["CLEARML_SERVER_VERSION=1.16.2","EMPTY=","NOEQ"],
        "Labels":{"com.docker.compose.project.config_files":"/opt/clearml/docker-compose.yml"}}},
      {"Name":"/async_delete","State":{"Status":"exited","Running":false,"ExitCode":137},"Config":{"Image":"x","Env":null,"Labels":null}}]"#;

    #[test]
    fn parses_docker_inspect() {
        let c = parse_inspect(INSPECT).unwrap_or_default();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].name, "clearml-apiserver");
        assert_eq!(c[0].restart_count, 2);
        assert_eq!(c[0].env_var("CLEARML_SERVER_VERSION"), Some("1.16.2"));
        assert_eq!(c[0].env_var("EMPTY"), None);
        assert_eq!(
            c[0].mount_source("/opt/clearml/config/"),
            Some("/opt/clearml/config")
        );
        assert_eq!(
            c[0].labels
                .get("com.docker.compose.project.config_files")
                .map(String::as_str),
            Some("/opt/clearml/docker-compose.yml")
        );
        assert!(!c[1].running);
        assert_eq!(c[1].exit_code, 137);
        assert!(parse_inspect("Error: No such object: x").is_err());
    }

    #[test]
    fn classifies_by_name() {
        assert_eq!(
            classify("clearml-mongo"),
            Some((Family::Clearml, Role::Mongo))
        );
        assert_eq!(
            classify("trains-elastic"),
            Some((Family::Trains, Role::Elastic))
        );
        assert_eq!(
            classify("async_delete"),
            Some((Family::Clearml, Role::AsyncDelete))
        );
        assert_eq!(
            classify("clearml-agent-services"),
            Some((Family::Clearml, Role::AgentServices))
        );
        assert_eq!(classify("postgres"), None);
        assert!(is_removable("trains-redis"));
        assert!(!is_removable("my-clearml-backup"));
        assert!(!is_removable("clearml-serving-inference"));
        assert!(!is_removable("clearml-nginx"));
    }
}

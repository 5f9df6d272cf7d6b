//! The apiserver's own startup steps (dependencies, uid, migrations, the per-release FCV raise,
//! services-agent credentials, missed ES upgrade) and the agent-services entrypoint's outcome.

use crate::containers::Verdict;
use crate::elastic;
use crate::mongo::{self, Creds};
use crate::releases::{self, apiserver_mongo_target, series, vge, vnum};
use crate::state::{ServerErrors, SimError, hex_id};

pub(crate) fn apilog(level: &str, comp: &str, msg: &str) -> String {
    format!("[2025-01-01 00:00:00,000] [9] [{level}] [clearml.{comp}] {msg}")
}

/// Where the apiserver of release `ver` loads its configuration from (its first log line).
pub(crate) fn config_dir(ver: &str) -> &'static str {
    if vnum(ver) < (0, 17, 0) {
        "/opt/trains/server/config/default"
    } else if vnum(ver) < (1, 1, 0) {
        "/opt/trains/apiserver/config/default"
    } else {
        "/opt/clearml/apiserver/config/default"
    }
}

/// The apiserver's log line when a data store it needs cannot be reached (`what`: "MongoDB",
/// "ElasticSearch" or "Redis").
pub(crate) fn peer_error(what: &str) -> String {
    apilog(
        "ERROR",
        "app_sequence",
        &format!("Error starting server: failed connecting to {what} service"),
    )
}

/// What the apiserver's startup steps did to the data of its MongoDB and Elasticsearch.
pub(crate) struct Steps {
    pub(crate) logs: Vec<String>,
    pub(crate) errors: ServerErrors,
    /// The Elasticsearch data was changed (example data written on a first start).
    pub(crate) es_changed: bool,
}

/// The apiserver's steps once its data stores answer: uid, migrations and example data on a
/// first start, the missed-ES-upgrade check, the FCV raise of its release and the services-agent
/// credentials. `ver`: the server release; `uid_seed`: what the new server uid is derived from;
/// `env`: the container's environment; `mongo_version`/`es_version`: the versions of the running
/// data stores; `md`/`ed`: their data, changed in place.
pub(crate) fn startup_steps(
    ver: &str,
    uid_seed: &str,
    env: &dyn Fn(&str) -> Option<String>,
    mongo_version: &str,
    es_version: &str,
    md: &mut mongo::MongoData,
    ed: &mut elastic::EsData,
) -> Steps {
    let mut logs = Vec::new();
    let mut errors = ServerErrors::default();
    let mut es_changed = false;
    if !md.non_empty || md.server_uid.is_none() {
        // First start on empty data: server uid, migrations, pre-populated examples.
        md.non_empty = true;
        md.server_uid = Some(hex_id(uid_seed).get(..32).unwrap_or_default().to_string());
        md.versions = releases::migrations_upto(ver);
        md.collections = [("task", 12), ("project", 3), ("model", 4), ("user", 2)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        if ed.indices.is_empty() {
            ed.indices = elastic::sample_indices(1);
            if ed.version.is_empty() {
                ed.version = es_version.to_string();
            }
            es_changed = true;
        }
        logs.push(apilog(
            "INFO",
            "mongo.initialize",
            "Pre-populating database with example data",
        ));
        logs.push(apilog(
            "INFO",
            "mongo.initialize.migration",
            "Finished mongodb migrations",
        ));
    } else {
        let max = mongo::max_version(md);
        let missed = vge(ver, "0.16.0")
            && !vge(&max, "0.16.0")
            && vnum(es_version).0 >= 7
            && ed.indices.is_empty();
        if missed {
            errors.missed_es_upgrade = true;
            logs.push(apilog(
                "ERROR",
                "app_sequence",
                "ES database seems not migrated",
            ));
        } else {
            for v in releases::migrations_upto(ver) {
                if !md.versions.contains(&v) {
                    logs.push(apilog(
                        "INFO",
                        "mongo.initialize.migration",
                        &format!("Applying migration {v}"),
                    ));
                    md.versions.push(v);
                }
            }
            logs.push(apilog(
                "INFO",
                "mongo.initialize.migration",
                "Finished mongodb migrations",
            ));
        }
    }
    // FCV: each release raises it only for its own Mongo series (docs/upstream.md §6.1:
    // clearml/clearml-server `apiserver/mongo/initialize/migration.py`).
    if let Some(target) = apiserver_mongo_target(ver) {
        let bin = series(mongo_version);
        if bin == target {
            if md.fcv != target {
                logs.push(apilog(
                    "INFO",
                    "mongo.initialize.migration",
                    &format!("Upgrading db version from {} to {target}", md.fcv),
                ));
                md.fcv = target.to_string();
            } else {
                logs.push(apilog(
                    "INFO",
                    "mongo.initialize.migration",
                    &format!("DB version: {target}"),
                ));
            }
        } else {
            logs.push(apilog(
                "WARNING",
                "mongo.initialize.migration",
                &format!("Database version should be {target}. Instead: {mongo_version}"),
            ));
        }
    }
    // Services-agent credentials (1.16+: clearml/clearml-server v1.16.0
    // `apiserver/mongo/initialize/user.py`; docs/upstream.md Summary fact 12).
    if vge(ver, "1.16.0") {
        let key = env("CLEARML__secure__credentials__services_agent__user_key").unwrap_or_default();
        let secret =
            env("CLEARML__secure__credentials__services_agent__user_secret").unwrap_or_default();
        if key.is_empty() || secret.is_empty() {
            logs.push(apilog(
                "INFO",
                "mongo.initialize.user",
                "Resetting credentials for existing user __services_agent__ (services_agent)",
            ));
            md.services_agent = None;
        } else {
            md.services_agent = Some(Creds { key, secret });
        }
    }
    Steps {
        logs,
        errors,
        es_changed,
    }
}

/// The apiserver's last startup line, once it serves.
pub(crate) fn started_log() -> String {
    apilog("INFO", "server", "Server started, listening on port 8008")
}

/// Asks the server whether a key and secret are the services agent's (`None`: the apiserver
/// cannot be reached).
pub(crate) type CredCheck<'a> = dyn FnMut(&str, &str) -> Result<Option<bool>, SimError> + 'a;

/// What the agent-services entrypoint does with the credentials of its environment `env`:
/// `check(key, secret)` asks the server whether they are the services agent's (`None`: the
/// apiserver cannot be reached).
pub(crate) fn agent_outcome(
    env: &dyn Fn(&str) -> Option<String>,
    check: &mut CredCheck,
) -> Result<Verdict, SimError> {
    let key = env("CLEARML_API_ACCESS_KEY")
        .filter(|s| !s.is_empty())
        .or(env("TRAINS_API_ACCESS_KEY"))
        .unwrap_or_default();
    let secret = env("CLEARML_API_SECRET_KEY")
        .filter(|s| !s.is_empty())
        .or(env("TRAINS_API_SECRET_KEY"))
        .unwrap_or_default();
    let shutdown = env("SHUTDOWN_IF_NO_ACCESS_KEY").is_some_and(|v| !v.is_empty());
    if key.is_empty() {
        if shutdown {
            return Ok(Verdict::exit(
                0,
                vec!["CLEARML_API_ACCESS_KEY was not provided, service will not be started".into()],
            ));
        }
        return Ok(Verdict::run(vec![
            "clearml-agent: using default credentials".into(),
        ]));
    }
    let Some(ok) = check(&key, &secret)? else {
        return Ok(Verdict::exit(7, vec!["curl: (7) Failed to connect to apiserver port 8008 after 0 ms: Couldn't connect to server".into()]));
    };
    if ok {
        Ok(Verdict::run(vec![
            "{\"meta\":{\"result_code\":200},\"data\":{\"msg\":\"ClearML server\"}}".into(),
            "clearml-agent: services mode, listening on queue services".into(),
        ]))
    } else {
        Ok(Verdict::exit(
            1,
            vec![
                "clearml_agent.backend_api.session.session.LoginError: Failed getting token (error 401 from http://apiserver:8008): Unauthorized (invalid credentials) (failed to locate provided credentials)".into(),
            ],
        ))
    }
}

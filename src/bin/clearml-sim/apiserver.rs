//! The apiserver's own startup steps (dependencies, uid, migrations, the per-release FCV raise,
//! services-agent credentials, missed ES upgrade) and the agent-services entrypoint's outcome.

use crate::containers::{Outcome, Verdict, data_dir, peer};
use crate::elastic;
use crate::mongo::{self, Creds};
use crate::releases::{self, apiserver_mongo_target, series, vge, vnum};
use crate::state::{Container, Host, Role, ServerErrors, SimError, State, hex_id, now};

pub(crate) fn apilog(level: &str, comp: &str, msg: &str) -> String {
    format!("[2025-01-01 00:00:00,000] [9] [{level}] [clearml.{comp}] {msg}")
}

pub(crate) fn apiserver(host: &Host, st: &State, c: &Container) -> Result<Verdict, SimError> {
    let ver = c.version.clone();
    let conf = if vnum(&ver) < (0, 17, 0) {
        "/opt/trains/server/config/default"
    } else if vnum(&ver) < (1, 1, 0) {
        "/opt/trains/apiserver/config/default"
    } else {
        "/opt/clearml/apiserver/config/default"
    };
    let mut logs = vec![apilog(
        "INFO",
        "initialize",
        &format!("Loading config from {conf}"),
    )];
    let Some(m) = peer(st, c, Role::Mongo) else {
        logs.push(apilog(
            "ERROR",
            "app_sequence",
            "Error starting server: failed connecting to MongoDB service",
        ));
        return Ok(Verdict::exit(1, logs));
    };
    let Some(es) = peer(st, c, Role::Elastic) else {
        logs.push(apilog(
            "ERROR",
            "app_sequence",
            "Error starting server: failed connecting to ElasticSearch service",
        ));
        return Ok(Verdict::exit(1, logs));
    };
    if vge(&ver, "0.12.0") && peer(st, c, Role::Redis).is_none() {
        logs.push(apilog(
            "ERROR",
            "app_sequence",
            "Error starting server: failed connecting to Redis service",
        ));
        return Ok(Verdict::exit(1, logs));
    }
    let mdir = data_dir(host, m, "/data/db");
    let edir = data_dir(host, es, "/usr/share/elasticsearch/data");
    let mut md = mongo::load(&mdir)?.unwrap_or_else(|| mongo::fresh(&m.version));
    let mut ed = elastic::load(&edir)?.unwrap_or_default();
    let mut errors = ServerErrors::default();
    if !md.non_empty || md.server_uid.is_none() {
        // First start on empty data: server uid, migrations, pre-populated examples.
        md.non_empty = true;
        md.server_uid = Some(
            hex_id(&format!("uid/{}/{}", c.id, now()))
                .get(..32)
                .unwrap_or_default()
                .to_string(),
        );
        md.versions = releases::migrations_upto(&ver);
        md.collections = [("task", 12), ("project", 3), ("model", 4), ("user", 2)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        if ed.indices.is_empty() {
            ed.indices = elastic::sample_indices(1);
            if ed.version.is_empty() {
                ed.version = es.version.clone();
            }
            elastic::save(&edir, &ed)?;
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
        let max = mongo::max_version(&md);
        let missed = vge(&ver, "0.16.0")
            && !vge(&max, "0.16.0")
            && vnum(&es.version).0 >= 7
            && ed.indices.is_empty();
        if missed {
            errors.missed_es_upgrade = true;
            logs.push(apilog(
                "ERROR",
                "app_sequence",
                "ES database seems not migrated",
            ));
        } else {
            for v in releases::migrations_upto(&ver) {
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
    // FCV: each release raises it only for its own Mongo series (spec §5 rule 1).
    if let Some(target) = apiserver_mongo_target(&ver) {
        let bin = series(&m.version);
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
                &format!(
                    "Database version should be {target}. Instead: {}",
                    m.version
                ),
            ));
        }
    }
    // Services-agent credentials (1.16+, spec §4.3).
    if vge(&ver, "1.16.0") {
        let key = c
            .env_var("CLEARML__secure__credentials__services_agent__user_key")
            .unwrap_or("");
        let secret = c
            .env_var("CLEARML__secure__credentials__services_agent__user_secret")
            .unwrap_or("");
        if key.is_empty() || secret.is_empty() {
            logs.push(apilog(
                "INFO",
                "mongo.initialize.user",
                "Resetting credentials for existing user __services_agent__ (services_agent)",
            ));
            md.services_agent = None;
        } else {
            md.services_agent = Some(Creds {
                key: key.to_string(),
                secret: secret.to_string(),
            });
        }
    }
    mongo::save(&mdir, &md)?;
    logs.push(apilog(
        "INFO",
        "server",
        "Server started, listening on port 8008",
    ));
    Ok(Verdict {
        outcome: Outcome::Run,
        logs,
        errors,
    })
}

pub(crate) fn agent_services(host: &Host, st: &State, c: &Container) -> Result<Verdict, SimError> {
    let key = c
        .env_var("CLEARML_API_ACCESS_KEY")
        .filter(|s| !s.is_empty())
        .or(c.env_var("TRAINS_API_ACCESS_KEY"))
        .unwrap_or("");
    let secret = c
        .env_var("CLEARML_API_SECRET_KEY")
        .filter(|s| !s.is_empty())
        .or(c.env_var("TRAINS_API_SECRET_KEY"))
        .unwrap_or("");
    let shutdown = c
        .env_var("SHUTDOWN_IF_NO_ACCESS_KEY")
        .is_some_and(|v| !v.is_empty());
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
    let Some(api) = peer(st, c, Role::Apiserver) else {
        return Ok(Verdict::exit(7, vec!["curl: (7) Failed to connect to apiserver port 8008 after 0 ms: Couldn't connect to server".into()]));
    };
    let m = peer(st, api, Role::Mongo);
    let creds = match m {
        Some(m) => mongo::load(&data_dir(host, m, "/data/db"))?.and_then(|d| d.services_agent),
        None => None,
    };
    let ok = creds.is_some_and(|cr| cr.key == key && cr.secret == secret);
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

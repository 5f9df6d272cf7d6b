//! From a detected host and its plan to the variables of `playbooks/clearml-upgrade.yml`: the
//! pure part of `clearfleet upgrade`. The playbook files are built into the binary too, so an
//! installed clearfleet needs no checkout.

use serde_json::{Map, Value, json};

use super::compose::env_value;
use super::plan::{Migration, Plan};
use super::releases::Releases;
use super::state::{Compose, DockerAccess, HostState, InterruptedUpgrade};
use clearfleet_base::secret::Secret;
use clearfleet_base::shell::quote;

/// The upgrade playbook and its task files, as shipped (path relative to `playbooks/`).
pub const PLAYBOOK_FILES: &[(&str, &str)] = &[
    (
        "clearml-upgrade.yml",
        include_str!("../../../playbooks/clearml-upgrade.yml"),
    ),
    (
        "clearml/preflight.yml",
        include_str!("../../../playbooks/clearml/preflight.yml"),
    ),
    (
        "clearml/prepare_hop.yml",
        include_str!("../../../playbooks/clearml/prepare_hop.yml"),
    ),
    (
        "clearml/backup.yml",
        include_str!("../../../playbooks/clearml/backup.yml"),
    ),
    (
        "clearml/backup.sh",
        include_str!("../../../playbooks/clearml/backup.sh"),
    ),
    (
        "clearml/migrate.yml",
        include_str!("../../../playbooks/clearml/migrate.yml"),
    ),
    (
        "clearml/mongo_step.yml",
        include_str!("../../../playbooks/clearml/mongo_step.yml"),
    ),
    (
        "clearml/hop.yml",
        include_str!("../../../playbooks/clearml/hop.yml"),
    ),
    (
        "clearml/postcheck.yml",
        include_str!("../../../playbooks/clearml/postcheck.yml"),
    ),
    (
        "clearml/rollback.yml",
        include_str!("../../../playbooks/clearml/rollback.yml"),
    ),
];

/// Where the compose files of the hops come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeSource {
    /// Each hop's pinned upstream URL (from the release data).
    Upstream,
    /// A controller directory holding `<version>/docker-compose.yml`.
    Dir(String),
    /// A URL prefix serving `<version>/docker-compose.yml`.
    Url(String),
}

/// Why a host is not handed to the upgrade playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    UpToDate(String),
    /// Runs a release newer than the release data knows: left alone, not a failure.
    NewerThanKnown(String),
    /// Refused by the planner or not automated yet; the reason says which.
    Refused(String),
    NoServer,
}

/// What the playbook needs for one host, or why the host is skipped.
pub fn host_vars(
    state: &HostState,
    plan: &Plan,
    releases: &Releases,
    source: &ComposeSource,
    backup_dir: &str,
) -> Result<(Map<String, Value>, Vec<Secret>), Skip> {
    let (migrations, hops): (&[Migration], &[_]) = match plan {
        Plan::UpToDate { version } => return Err(Skip::UpToDate(version.release().to_string())),
        Plan::NewerThanKnown { version } => {
            return Err(Skip::NewerThanKnown(version.release().to_string()));
        }
        Plan::NoServer => return Err(Skip::NoServer),
        Plan::Refused { reason } | Plan::Unknown { reason } => {
            return Err(Skip::Refused(reason.clone()));
        }
        Plan::Upgrade { migrations, hops } => (migrations, hops),
        Plan::Resume { hops, .. } => (&[], hops),
        Plan::Recover { .. } => (&[], &[]),
    };
    let migration_names: Vec<&str> = migrations
        .iter()
        .map(|m| match m {
            Migration::Es7 => "es7",
            Migration::RenameRoot => "rename-root",
            Migration::Mongo44 => "mongo44",
            Migration::SetFcv { .. } => "set-fcv",
        })
        .collect();
    let (Some(root), Some(compose_file), Some(compose)) = (
        state.root.as_deref(),
        state.compose_file.as_deref(),
        state.compose,
    ) else {
        return Err(Skip::Refused(
            "root, compose file or compose command not detected".to_owned(),
        ));
    };
    let docker = match state.docker_access {
        Some(DockerAccess::Root | DockerAccess::Group) => "docker",
        Some(DockerAccess::Sudo) => "sudo -n docker",
        _ => {
            return Err(Skip::Refused(
                "docker is not usable on this host".to_owned(),
            ));
        }
    };
    // The v2 plugin under another home than the session's HOME (detection found it there).
    let v2_env = state
        .compose_docker_config
        .as_deref()
        .map(|config| format!("env DOCKER_CONFIG={} ", quote(config)))
        .unwrap_or_default();
    let compose_cmd = match (compose, docker) {
        (Compose::V2, "docker") if !v2_env.is_empty() => format!("{v2_env}docker compose"),
        (Compose::V2, _) if !v2_env.is_empty() => format!("sudo -n {v2_env}docker compose"),
        (Compose::V2, d) => format!("{d} compose"),
        (Compose::V1, "docker") => "docker-compose".to_owned(),
        (Compose::V1, _) => "sudo -n docker-compose".to_owned(),
    };
    let mut hop_list = Vec::new();
    for v in hops {
        let Some(h) = releases.hop(*v) else {
            return Err(Skip::Refused(format!("no compose file known for {v}")));
        };
        let url = match source {
            ComposeSource::Url(prefix) => {
                format!("{}/{v}/docker-compose.yml", prefix.trim_end_matches('/'))
            }
            _ => h.compose_url.clone(),
        };
        hop_list.push(json!({
            "version": v.to_string(),
            "server_image": h.server_image,
            "images": h.pins(),
            "compose_url": url,
            "mongo": h.mongo,
            "mongo_fcv": h.mongo_fcv,
            "elasticsearch": h.elasticsearch,
        }));
    }
    // The .env every hop writes: the services-agent settings, so that `up` never wipes the
    // agent credentials (1.16+) and Trains ≤ 0.14 settings carry over under their new names.
    let a = &state.agent;
    let mut env =
        String::from("# Written by clearfleet: services-agent settings kept across upgrades.\n");
    let mut secrets = Vec::new();
    let settings = [
        ("CLEARML_AGENT_ACCESS_KEY", a.access_key.as_deref()),
        (
            "CLEARML_AGENT_SECRET_KEY",
            a.secret_key.as_ref().map(Secret::expose),
        ),
        ("CLEARML_HOST_IP", a.host_ip.as_deref()),
        ("CLEARML_AGENT_GIT_USER", a.git_user.as_deref()),
        (
            "CLEARML_AGENT_GIT_PASS",
            a.git_pass.as_ref().map(Secret::expose),
        ),
    ];
    for (key, value) in settings {
        let Some(value) = value else { continue };
        // The value itself is never in the message: two of these are secrets.
        let quoted = env_value(value, compose).map_err(|why| {
            Skip::Refused(format!(
                "the services agent's {key} holds {why}: it would not survive the upgrade's \
                 .env; change it on the server first"
            ))
        })?;
        env.push_str(&format!("{key}={quoted}\n"));
    }
    secrets.extend(a.secret_key.iter().chain(&a.git_pass).cloned());
    let new_root = if migration_names.contains(&"rename-root") {
        "/opt/clearml"
    } else {
        root
    };
    let mut vars = Map::new();
    vars.insert("clearml_root".into(), json!(root));
    vars.insert("clearml_new_root".into(), json!(new_root));
    vars.insert("clearml_migrations".into(), json!(migration_names));
    if let Some(Migration::SetFcv { version }) = migrations
        .iter()
        .find(|m| matches!(m, Migration::SetFcv { .. }))
    {
        vars.insert("clearml_set_fcv".into(), json!(version));
    }
    if migration_names.contains(&"es7") {
        let kit = &releases.es_migration;
        let url = match source {
            ComposeSource::Url(prefix) => format!(
                "{}/{}/{}",
                prefix.trim_end_matches('/'),
                kit.release,
                kit.asset
            ),
            _ => kit.url.clone(),
        };
        vars.insert(
            "clearml_es_migration".into(),
            json!({
                "release": kit.release.to_string(),
                "asset": kit.asset,
                "url": url,
                "script": kit.script,
                "source": format!("{root}/data/elastic"),
                "target": format!("{root}/data/elastic_7"),
            }),
        );
    }
    vars.insert("clearml_compose_file".into(), json!(compose_file));
    vars.insert("clearml_old_images".into(), json!(state.compose_images));
    vars.insert("clearml_compose".into(), json!(compose_cmd));
    vars.insert("clearml_docker".into(), json!(docker));
    vars.insert(
        "clearml_from".into(),
        json!(
            state
                .effective_version()
                .map(|v| v.release().to_string())
                .unwrap_or_default()
        ),
    );
    vars.insert(
        "clearml_uid".into(),
        json!(state.uid.clone().unwrap_or_default()),
    );
    vars.insert("clearml_hops".into(), Value::Array(hop_list));
    vars.insert(
        "clearml_compose_mirror".into(),
        json!(match source {
            ComposeSource::Dir(d) => d.clone(),
            _ => String::new(),
        }),
    );
    vars.insert("clearml_backup_dir".into(), json!(backup_dir));
    vars.insert("clearml_env".into(), json!(env));
    vars.insert(
        "clearml_os".into(),
        json!(state.os.clone().unwrap_or_else(|| "linux".to_owned())),
    );
    if let (Some(k), Some(s)) = (&a.access_key, &a.secret_key) {
        vars.insert("clearml_agent_key".into(), json!(k));
        vars.insert("clearml_agent_secret".into(), json!(s.expose()));
    }
    if let (Some(m), Plan::Resume { .. } | Plan::Recover { .. }) = (&state.interrupted, plan) {
        resume_vars(&mut vars, root, m, plan);
    }
    Ok((vars, secrets))
}

/// Finishing what an interrupted upgrade started: its backup (verified then) stays the way
/// back to the version it started from, in the root and compose file it ran from; the hops go
/// on from where the deployment is now.
fn resume_vars(vars: &mut Map<String, Value>, root: &str, m: &InterruptedUpgrade, plan: &Plan) {
    vars.insert("clearml_new_root".into(), json!(root));
    vars.insert("clearml_old_root".into(), json!(m.root));
    vars.insert("clearml_compose_file".into(), json!(m.compose_file));
    vars.insert("clearml_from".into(), json!(m.from.release().to_string()));
    vars.insert("clearml_uid".into(), json!(m.uid));
    vars.insert("clearml_backup_dir".into(), json!(m.backup));
    vars.insert("clearml_backup_verified".into(), json!(true));
    let hops: Vec<String> = m.hops.iter().map(ToString::to_string).collect();
    vars.insert("clearml_plan_hops".into(), json!(hops));
    let resume = if matches!(plan, Plan::Recover { .. }) {
        let to = hops.last().map_or("", String::as_str);
        vars.insert(
            "clearml_recover_reason".into(),
            json!(format!(
                "an earlier upgrade to {to} stopped in its {} step",
                m.step
            )),
        );
        "rollback"
    } else {
        "hops"
    };
    vars.insert("clearml_resume".into(), json!(resume));
}

/// The manifests `clearml/backup.sh back-up` writes in the backup directory (`manifest.config`
/// only when the server has a config directory): each entry's type, mode, owner, size and
/// SHA-256.
pub const BACKUP_MANIFESTS: [&str; 3] = ["manifest.data", "manifest.config", "manifest.files"];

/// `<root>-backup-<UTC timestamp>`: beside the root, never inside what a restore removes.
pub fn default_backup_dir(root: &str, now: std::time::SystemTime) -> String {
    format!(
        "{}-backup-{}",
        root.trim_end_matches('/'),
        clearfleet_base::time::compact(now)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::Family;
    use crate::plan::{PlanOptions, plan};
    use crate::state::AgentSettings;

    fn releases() -> Releases {
        Releases::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn hop_versions(vars: &Map<String, Value>) -> Vec<&str> {
        vars["clearml_hops"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h["version"].as_str())
            .collect()
    }

    fn state() -> HostState {
        HostState {
            os: Some("linux".into()),
            kind: Some(Family::Clearml),
            root: Some("/opt/clearml".into()),
            compose_file: Some("/opt/clearml/docker-compose.yml".into()),
            compose: Some(Compose::V2),
            docker_access: Some(DockerAccess::Sudo),
            version: "1.12.1".parse().ok(),
            elasticsearch: Some("7.17.7".into()),
            mongo: Some("4.4.9".into()),
            mongo_fcv: Some("4.4".into()),
            uid: Some("u1".into()),
            agent: AgentSettings {
                access_key: Some("AK".into()),
                secret_key: Some(Secret::new("S3CRET")),
                git_pass: Some(Secret::new("GITPW")),
                ..AgentSettings::default()
            },
            ..HostState::default()
        }
    }

    #[test]
    fn builds_the_playbook_variables() {
        let r = releases();
        let s = state();
        let p = plan(&s, &r, r.latest, PlanOptions::default());
        let (v, secrets) = host_vars(
            &s,
            &p,
            &r,
            &ComposeSource::Dir("/m".into()),
            "/opt/clearml-backup-x",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(v["clearml_compose"], "sudo -n docker compose");
        assert_eq!(v["clearml_docker"], "sudo -n docker");
        // The v2 plugin only under root's home, which is not this session's HOME.
        let elsewhere = HostState {
            compose_docker_config: Some("/root/.docker".into()),
            ..state()
        };
        let (v, _) = host_vars(
            &elsewhere,
            &p,
            &r,
            &ComposeSource::Dir("/m".into()),
            "/opt/clearml-backup-x",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            v["clearml_compose"],
            "sudo -n env DOCKER_CONFIG=/root/.docker docker compose"
        );
        assert_eq!(v["clearml_from"], "1.12.1");
        assert_eq!(hop_versions(&v), ["1.17.1", "2.0.0", "2.3.0"]);
        assert_eq!(
            v["clearml_hops"][0]["server_image"],
            "allegroai/clearml:1.17.1-554"
        );
        assert_eq!(v["clearml_compose_mirror"], "/m");
        let env = v["clearml_env"].as_str().unwrap_or_default();
        assert!(
            env.contains("CLEARML_AGENT_ACCESS_KEY='AK'\n")
                && env.contains("CLEARML_AGENT_SECRET_KEY='S3CRET'\n")
        );
        assert_eq!(secrets.len(), 2);
    }

    #[test]
    fn skips_what_it_must_not_touch() {
        let r = releases();
        let mut s = state();
        s.version = "2.3.0".parse().ok();
        s.mongo = Some("7.0.22".into());
        let p = plan(&s, &r, r.latest, PlanOptions::default());
        assert_eq!(
            host_vars(&s, &p, &r, &ComposeSource::Upstream, "/b").err(),
            Some(Skip::UpToDate("2.3.0".into()))
        );
        let mut old = state();
        old.version = "1.1.1".parse().ok();
        old.mongo = Some("3.6.5".into());
        old.elasticsearch = Some("7.6.2".into());
        let p = plan(&old, &r, r.latest, PlanOptions::default());
        let (v, _) = host_vars(&old, &p, &r, &ComposeSource::Upstream, "/b")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(v["clearml_migrations"], json!(["mongo44"]));
        assert_eq!(v["clearml_new_root"], "/opt/clearml");
        let mut fcv5 = state();
        fcv5.version = "2.2.0".parse().ok();
        fcv5.mongo = Some("6.0.19".into());
        fcv5.mongo_fcv = Some("5.0".into());
        let p = plan(&fcv5, &r, r.latest, PlanOptions::default());
        let (v, _) = host_vars(&fcv5, &p, &r, &ComposeSource::Upstream, "/b")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(v["clearml_migrations"], json!(["set-fcv"]));
        assert_eq!(v["clearml_set_fcv"], "6.0");
    }

    #[test]
    fn an_interrupted_upgrade_goes_on_with_its_own_backup_root_and_origin() {
        let r = releases();
        let v = |x: &str| x.parse().unwrap_or_else(|e| panic!("{e}"));
        let mut s = state();
        // A Trains server stopped in its 1.17.1 hop: renamed, its compose file is 1.17.1's.
        s.version = Some(v("1.17.1"));
        s.interrupted = Some(InterruptedUpgrade {
            from: v("0.17.0"),
            hops: ["1.16.2", "1.17.1", "2.0.0", "2.3.0"].map(v).to_vec(),
            step: "hop:1.17.1".into(),
            backup: "/opt/trains-backup-1".into(),
            root: "/opt/trains".into(),
            compose_file: "/opt/trains/docker-compose.yml".into(),
            uid: "u0".into(),
        });
        let p = plan(&s, &r, r.latest, PlanOptions::default());
        let (vars, _) = host_vars(&s, &p, &r, &ComposeSource::Upstream, "/new-backup")
            .unwrap_or_else(|e| panic!("{e:?}"));
        for (k, want) in [
            ("clearml_resume", json!("hops")),
            ("clearml_from", json!("0.17.0")),
            ("clearml_root", json!("/opt/clearml")),
            ("clearml_new_root", json!("/opt/clearml")),
            ("clearml_old_root", json!("/opt/trains")),
            (
                "clearml_compose_file",
                json!("/opt/trains/docker-compose.yml"),
            ),
            ("clearml_backup_dir", json!("/opt/trains-backup-1")),
            ("clearml_backup_verified", json!(true)),
            ("clearml_uid", json!("u0")),
            ("clearml_migrations", json!([])),
            (
                "clearml_plan_hops",
                json!(["1.16.2", "1.17.1", "2.0.0", "2.3.0"]),
            ),
        ] {
            assert_eq!(vars[k], want, "{k}");
        }
        assert_eq!(hop_versions(&vars), ["1.17.1", "2.0.0", "2.3.0"]);
        if let Some(m) = s.interrupted.as_mut() {
            m.step = "migrate".into();
        }
        let p = plan(&s, &r, r.latest, PlanOptions::default());
        let (vars, _) = host_vars(&s, &p, &r, &ComposeSource::Upstream, "/new-backup")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(vars["clearml_resume"], "rollback");
        assert_eq!(vars["clearml_hops"], json!([]));
        assert_eq!(
            vars["clearml_recover_reason"],
            "an earlier upgrade to 2.3.0 stopped in its migrate step"
        );
    }

    #[test]
    fn backup_dirs_are_timestamped_beside_the_root() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        assert_eq!(
            default_backup_dir("/opt/clearml/", t),
            "/opt/clearml-backup-20261118T110640Z"
        );
    }

    #[test]
    fn every_upgrade_task_file_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../playbooks/clearml");
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = format!("clearml/{}", entry.file_name().to_string_lossy());
            if (name.ends_with(".yml") || name.ends_with(".sh")) && name != "clearml/releases.yml" {
                assert!(
                    PLAYBOOK_FILES.iter().any(|(n, _)| *n == name),
                    "{name} is not built in"
                );
            }
        }
    }

    /// macOS hosts run the same tasks with BSD tools: the shipped playbook must not use the
    /// GNU-only flags that differ there (it has never run on a real macOS host; this is the
    /// guard that keeps it portable).
    #[test]
    fn shipped_playbook_uses_no_gnu_only_flags() {
        let gnu_only = [
            "sed -i",
            "stat -c",
            "xargs -r",
            "--no-run-if-empty",
            "du -b",
            "du -sb",
            "readlink -f",
            "grep -P",
            "date -d",
            "sort -V",
            "find -printf",
            "-printf ",
            "tar --",
            "cp --",
            "ls --",
            "mv -T",
            "cp -T",
            "nproc",
            "free -",
            "/proc/",
        ];
        for (name, text) in PLAYBOOK_FILES {
            let lines: Vec<&str> = text.lines().collect();
            for (n, line) in lines.iter().enumerate() {
                if line.trim_start().starts_with('#') {
                    continue;
                }
                // backup.sh detects its tools: a GNU-only flag there is either the probe
                // itself (`tar --version 2>/dev/null`) or in the branch the probe chose.
                let detected = *name == "clearml/backup.sh"
                    && (line.contains("2>/dev/null")
                        || line.contains(">/dev/null 2>&1")
                        || [lines[n.saturating_sub(1)], line].iter().any(|l| {
                            ["$gnufind", "$gnutar", "$statc"]
                                .iter()
                                .any(|probe| l.contains(probe))
                        }));
                for flag in gnu_only {
                    // /proc is Linux-only: allowed where the task guards it for macOS.
                    let guarded = detected
                        || flag == "/proc/"
                            && (text.contains("clearml_os == 'linux'")
                                || line.contains("[ -r /proc/"));
                    assert!(
                        !line.contains(flag) || guarded,
                        "playbooks/{name}:{}: {flag:?} is GNU/Linux-only: {line}",
                        n + 1
                    );
                }
            }
        }
    }
}

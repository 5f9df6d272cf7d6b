//! Upgrade planning: a pure function from a detected host state and a target release to the
//! safe chain of hops (docs/upgrade.md step 2, "Plan"; its upstream rules are
//! docs/upstream.md Summary facts 6–10 and 15).

use serde::Serialize;

use super::containers::Family;
use super::releases::Releases;
use super::state::{DockerAccess, HostState, InterruptedUpgrade};
use super::version::Version;

/// A step before the hops that changes data in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum Migration {
    /// Trains 0.16's `elastic_upgrade.py`: Elasticsearch 5 data reindexed into `data/elastic_7`
    /// (clearml-docs `docs/deploying_clearml/clearml_server_es7_migration.md`,
    /// docs/upstream.md §4); only with `--allow-es-migration`.
    Es7,
    /// `mv /opt/trains /opt/clearml` (Trains → ClearML).
    RenameRoot,
    /// The documented MongoDB 3.6 → 4.0 → 4.2 → 4.4 FCV sequence (clearml-docs
    /// `docs/deploying_clearml/clearml_server_mongo44_migration.md`, docs/upstream.md §4).
    Mongo44,
    /// Set the MongoDB feature compatibility version to the running series before the first
    /// hop starts a newer MongoDB, when it is behind (Trap B: MongoDB 6 left at 5.0) or unknown
    /// (a stopped server): MongoDB N refuses data below FCV N-1. Idempotent.
    SetFcv { version: String },
}

/// What to do with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Plan {
    UpToDate {
        version: Version,
    },
    Upgrade {
        migrations: Vec<Migration>,
        hops: Vec<Version>,
    },
    /// An earlier upgrade stopped in one of its hops (its marker is on the host): finish the
    /// hops from that one on, with every check, rolling back to its backup if they fail.
    Resume {
        from: Version,
        hops: Vec<Version>,
        backup: String,
    },
    /// An earlier upgrade stopped before its hops or during its rollback: restore its backup
    /// and start the previous version again; the next run upgrades afresh.
    Recover {
        from: Version,
        step: String,
        backup: String,
    },
    /// The host cannot be upgraded automatically; `reason` says what to do.
    Refused {
        reason: String,
    },
    /// Not enough is known to plan.
    Unknown {
        reason: String,
    },
    /// The host runs no ClearML or Trains server.
    NoServer,
    /// The host runs a release newer than every release the data knows: left alone.
    NewerThanKnown {
        version: Version,
    },
}

impl Plan {
    /// A short verdict for tables: "up to date", "upgrade: 3 hops", ...
    pub fn verdict(&self) -> String {
        match self {
            Plan::UpToDate { .. } => "up to date".to_owned(),
            Plan::Upgrade { migrations, hops } => {
                let n = hops.len();
                let mut parts: Vec<String> = migrations
                    .iter()
                    .filter_map(|m| match m {
                        Migration::Es7 => Some("Elasticsearch 7 migration".to_owned()),
                        Migration::Mongo44 => Some("MongoDB 4.4 migration".to_owned()),
                        _ => None,
                    })
                    .collect();
                parts.push(format!("{n} hop{}", if n == 1 { "" } else { "s" }));
                format!("upgrade: {}", parts.join(" + "))
            }
            Plan::Resume { hops, .. } => {
                let n = hops.len();
                format!("resume: {n} hop{}", if n == 1 { "" } else { "s" })
            }
            Plan::Recover { .. } => "roll back an interrupted upgrade".to_owned(),
            Plan::Refused { .. } => "manual migration required".to_owned(),
            Plan::Unknown { reason } => format!("unknown: {reason}"),
            Plan::NoServer => "no ClearML server".to_owned(),
            Plan::NewerThanKnown { version } => format!("newer than known ({version})"),
        }
    }
}

fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next().and_then(|m| m.trim().parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// What the operator allows beyond the default plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Run the Elasticsearch 5 → 7 migration script instead of refusing Trains ≤ 0.15.
    pub allow_es_migration: bool,
    /// Upgrade hosts whose compose file differs from upstream's, dropping those changes (the
    /// old file stays in the backup).
    pub discard_compose_changes: bool,
}

/// Plans the hops from `state` to `target` (pure; see the module docs).
pub fn plan(state: &HostState, releases: &Releases, target: Version, options: PlanOptions) -> Plan {
    if state.docker_access == Some(DockerAccess::Denied) {
        return Plan::Unknown {
            reason: "the login user may not use docker (use --become, the docker group or \
                     passwordless sudo)"
                .to_owned(),
        };
    }
    if state.docker_access == Some(DockerAccess::Down) {
        return Plan::Unknown {
            reason: "the Docker daemon does not answer (`docker info`: cannot connect); its \
                     containers may still run: start it (e.g. `systemctl start docker`) and run \
                     again"
                .to_owned(),
        };
    }
    if state.kind.is_none() {
        return Plan::NoServer;
    }
    if state.interrupted_unreadable {
        return Plan::Refused {
            reason: "an earlier upgrade stopped half-way and its marker \
                     (.clearfleet/upgrade-in-progress) is unreadable: check the server and its \
                     backup, then remove the marker by hand"
                .to_owned(),
        };
    }
    if let Some(m) = &state.interrupted {
        return resume(m, target);
    }
    let Some(current) = state.effective_version() else {
        return Plan::Unknown {
            reason: "server version not detected".to_owned(),
        };
    };
    if current == target {
        return Plan::UpToDate { version: current };
    }
    if current > releases.newest_known() {
        return Plan::NewerThanKnown { version: current };
    }
    if let Some(a) = releases.announced(target) {
        return Plan::Refused {
            reason: format!(
                "{target} cannot be planned: {}; known: {}. Choose a --target from `clearfleet \
                 releases`, or give release data that pins it (--releases FILE)",
                a.unknown, a.known
            ),
        };
    }
    if current > target {
        return Plan::Refused {
            reason: format!(
                "runs {current}, newer than the target {target}: downgrades need a backup restore"
            ),
        };
    }
    if !state.compose_drift.is_empty() && !options.discard_compose_changes {
        const SHOWN: usize = 8;
        let d = &state.compose_drift;
        let more = d.len().saturating_sub(SHOWN);
        return Plan::Refused {
            reason: format!(
                "the compose file differs from upstream's {}: {}{}. The upgrade puts upstream's \
                 next file in its place and these changes would be lost: carry them over by \
                 hand afterwards and re-run with --discard-compose-changes (the old file is kept \
                 in the backup)",
                state
                    .compose_compared_with
                    .as_deref()
                    .unwrap_or("file of its release"),
                d.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            ),
        };
    }
    let mut es = state.elasticsearch.as_deref().and_then(major_minor);
    let mongo = state.mongo.as_deref().and_then(major_minor);
    let mut migrations = Vec::new();
    let es5 = state.es_migration_required || es.is_some_and(|(m, _)| m < 7);
    if es5 && options.allow_es_migration {
        migrations.push(Migration::Es7);
        // What the script leaves: Elasticsearch 7.6 data, as a 0.16 server would write it.
        es = Some((7, 6));
    } else if es5 {
        let root = state.root.as_deref().unwrap_or("/opt/trains");
        return Plan::Refused {
            reason: format!(
                "Host runs Trains Server ≤0.15 (Elasticsearch 5 data at {root}/data/elastic). \
                 Elasticsearch 5→7 data migration (trains-server-0.16.0-migration.zip / \
                 elastic_upgrade.py) is required first: needs ≥8 GB RAM, free disk ≥ 30% + 2–3× \
                 the data size, python, docker access. See \
                 https://clear.ml/docs/latest/docs/deploying_clearml/clearml_server_es7_migration"
            ),
        };
    }
    if state.kind == Some(Family::Trains) || state.root.as_deref() == Some("/opt/trains") {
        migrations.push(Migration::RenameRoot);
    }
    // The hop that each data-store state must go through next (most demanding first).
    let es_717 = es.is_some_and(|v| v >= (7, 17));
    let mut chain: Vec<Version> = Vec::new();
    match mongo {
        Some((3, _)) => {
            migrations.push(Migration::Mongo44);
            chain.extend(["1.16.2", "1.17.1", "2.0.0"].map(parse));
        }
        Some((4, _)) if !es_717 => chain.extend(["1.16.2", "1.17.1", "2.0.0"].map(parse)),
        Some((4, _)) => chain.extend(["1.17.1", "2.0.0"].map(parse)),
        Some((5, _)) => chain.push(parse("2.0.0")),
        Some(_) => {}
        None => {
            return Plan::Unknown {
                reason: "MongoDB version not detected".to_owned(),
            };
        }
    }
    let mut hops: Vec<Version> = chain
        .into_iter()
        .filter(|h| *h > current && *h < target && releases.hop(*h).is_some())
        .collect();
    if releases.hop(target).is_none() {
        return Plan::Unknown {
            reason: format!("no compose file known for target {target}"),
        };
    }
    hops.push(target);
    // The first hop that runs a newer MongoDB series needs the data at the running series' FCV.
    if let (Some((maj, min)), Some(first)) = (mongo, hops.first().and_then(|h| releases.hop(*h)))
        && maj >= 4
        && major_minor(&first.mongo).is_some_and(|next| next > (maj, min))
    {
        let fcv = state.mongo_fcv.as_deref().and_then(major_minor);
        if fcv.is_none_or(|f| f < (maj, min)) {
            migrations.push(Migration::SetFcv {
                version: format!("{maj}.{min}"),
            });
        }
    }
    Plan::Upgrade { migrations, hops }
}

/// What to do about an upgrade that stopped half-way: finish its hops from the one it was in
/// (never past `target`), or restore its backup when it stopped outside the hops.
fn resume(m: &InterruptedUpgrade, target: Version) -> Plan {
    let recover = || Plan::Recover {
        from: m.from,
        step: m.step.clone(),
        backup: m.backup.clone(),
    };
    let Some(at) = m.hop() else {
        return recover();
    };
    if at > target {
        return Plan::Refused {
            reason: format!(
                "an upgrade from {} stopped in its {at} hop, beyond the target {target}: re-run \
                 with --target {at} or later to finish it (its backup: {})",
                m.from, m.backup
            ),
        };
    }
    Plan::Resume {
        from: m.from,
        hops: m
            .hops
            .iter()
            .copied()
            .skip_while(|h| *h != at)
            .take_while(|h| *h <= target)
            .collect(),
        backup: m.backup.clone(),
    }
}

fn parse(s: &str) -> Version {
    s.parse().unwrap_or(Version::new(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases() -> Releases {
        Releases::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn state(version: &str, es: &str, mongo: &str, fcv: Option<&str>) -> HostState {
        HostState {
            kind: Some(Family::Clearml),
            root: Some("/opt/clearml".to_owned()),
            version: version.parse().ok(),
            elasticsearch: Some(es.to_owned()),
            mongo: Some(mongo.to_owned()),
            mongo_fcv: fcv.map(str::to_owned),
            ..HostState::default()
        }
    }

    fn hops(p: &Plan) -> Vec<String> {
        match p {
            Plan::Upgrade { hops, .. } => hops.iter().map(ToString::to_string).collect(),
            other => panic!("not an upgrade: {other:?}"),
        }
    }

    #[test]
    fn follows_the_safe_hop_chain_table() {
        let r = releases();
        let t = r.latest;
        assert_eq!(
            hops(&plan(
                &state("1.12.0", "7.17.7", "4.4.9", None),
                &r,
                t,
                PlanOptions::default()
            )),
            ["1.17.1", "2.0.0", "2.3.0"]
        );
        assert_eq!(
            hops(&plan(
                &state("1.5.0", "7.16.2", "4.4.9", None),
                &r,
                t,
                PlanOptions::default()
            )),
            ["1.16.2", "1.17.1", "2.0.0", "2.3.0"]
        );
        assert_eq!(
            hops(&plan(
                &state("1.17.1", "8.15.3", "5.0.26", Some("5.0")),
                &r,
                t,
                PlanOptions::default(),
            )),
            ["2.0.0", "2.3.0"]
        );
        assert_eq!(
            hops(&plan(
                &state("2.0.0", "8.17.0", "6.0.19", Some("6.0")),
                &r,
                t,
                PlanOptions::default(),
            )),
            ["2.3.0"]
        );
        let p = plan(
            &state("1.1.1", "7.6.2", "3.6.5", None),
            &r,
            t,
            PlanOptions::default(),
        );
        assert_eq!(hops(&p), ["1.16.2", "1.17.1", "2.0.0", "2.3.0"]);
        assert_eq!(p.verdict(), "upgrade: MongoDB 4.4 migration + 4 hops");
        assert_eq!(
            plan(
                &state("1.16.2", "7.17.18", "4.4.29", None),
                &r,
                t,
                PlanOptions::default()
            )
            .verdict(),
            "upgrade: 3 hops"
        );
    }

    #[test]
    fn sets_fcv_where_no_release_raises_it() {
        let r = releases();
        let p = plan(
            &state("2.2.0", "8.17.0", "6.0.19", Some("5.0")),
            &r,
            r.latest,
            PlanOptions::default(),
        );
        assert_eq!(
            p,
            Plan::Upgrade {
                migrations: vec![Migration::SetFcv {
                    version: "6.0".to_owned()
                }],
                hops: vec![r.latest]
            }
        );
    }

    #[test]
    fn a_changed_compose_file_is_refused_unless_its_changes_may_go() {
        let r = releases();
        let mut s = state("2.0.0", "8.17.0", "6.0.19", Some("6.0"));
        s.compose_compared_with = Some("2.0.0 (clearml/clearml-server v2.0.0@…)".to_owned());
        s.compose_drift = (0..10).map(|i| format!("difference {i}")).collect();
        let p = plan(&s, &r, r.latest, PlanOptions::default());
        assert!(
            matches!(&p, Plan::Refused { reason } if reason.starts_with("the compose file differs from upstream's 2.0.0 (clearml/clearml-server v2.0.0@…): difference 0; ")
                && reason.contains("difference 7; and 2 more")
                && reason.contains("--discard-compose-changes")),
            "{p:?}"
        );
        let discard = PlanOptions {
            discard_compose_changes: true,
            ..PlanOptions::default()
        };
        assert!(matches!(
            plan(&s, &r, r.latest, discard),
            Plan::Upgrade { .. }
        ));
        // Up to date: nothing would be dropped, nothing refused.
        assert!(matches!(
            plan(
                &s,
                &r,
                "2.0.0".parse().unwrap_or(r.latest),
                PlanOptions::default()
            ),
            Plan::UpToDate { .. }
        ));
    }

    #[test]
    fn announced_targets_are_refused_and_newer_hosts_left_alone() {
        let r = releases();
        let v = |s: &str| s.parse::<Version>().unwrap_or(Version::new(0, 0, 0));
        let p = plan(
            &state("2.0.0", "8.17.0", "6.0.19", Some("6.0")),
            &r,
            v("2.4.0"),
            PlanOptions::default(),
        );
        assert!(
            matches!(&p, Plan::Refused { reason } if reason.contains("2.4.0 cannot be planned") && reason.contains("no v2.4.0 tag") && reason.contains("8.19.9")),
            "{p:?}"
        );
        assert_eq!(
            plan(
                &state("2.5.1", "8.19.9", "7.0.22", Some("7.0")),
                &r,
                r.latest,
                PlanOptions::default()
            ),
            Plan::NewerThanKnown {
                version: v("2.5.1")
            }
        );
        // 2.4.0 is known (announced): a host on it is newer than the target, not unknown.
        assert!(matches!(
            plan(
                &state("2.4.0", "8.19.9", "7.0.22", Some("7.0")),
                &r,
                r.latest,
                PlanOptions::default()
            ),
            Plan::Refused { .. }
        ));
    }

    #[test]
    fn sets_fcv_when_it_is_unknown_or_behind_before_a_newer_mongodb() {
        let r = releases();
        let set = |v: &str| Migration::SetFcv {
            version: v.to_owned(),
        };
        let migrations = |s: HostState| match plan(&s, &r, r.latest, PlanOptions::default()) {
            Plan::Upgrade { migrations, .. } => migrations,
            other => panic!("{other:?}"),
        };
        // A stopped server: FCV unknown.
        assert_eq!(
            migrations(state("1.16.2", "7.17.18", "4.4.29", None)),
            vec![set("4.4")]
        );
        assert_eq!(
            migrations(state("1.17.0", "8.15.3", "5.0.26", None)),
            vec![set("5.0")]
        );
        assert_eq!(
            migrations(state("2.1.0", "8.17.0", "6.0.19", None)),
            vec![set("6.0")]
        );
        // Behind the running series.
        assert_eq!(
            migrations(state("1.17.0", "8.15.3", "5.0.26", Some("4.4"))),
            vec![set("5.0")]
        );
        // At the running series: nothing to set.
        assert_eq!(
            migrations(state("1.17.0", "8.15.3", "5.0.26", Some("5.0"))),
            vec![]
        );
        // MongoDB 3.6 goes through the documented 4.4 migration instead.
        assert_eq!(
            migrations(state("1.1.1", "7.6.2", "3.6.5", None)),
            vec![Migration::Mongo44]
        );
    }

    #[test]
    fn elasticsearch_5_is_migrated_only_when_allowed() {
        let r = releases();
        let mut trains = state("0.15.1", "5.6.16", "3.6.5", None);
        trains.kind = Some(Family::Trains);
        trains.root = Some("/opt/trains".to_owned());
        let allow = PlanOptions {
            allow_es_migration: true,
            ..PlanOptions::default()
        };
        let p = plan(&trains, &r, r.latest, allow);
        assert_eq!(
            p,
            Plan::Upgrade {
                migrations: vec![Migration::Es7, Migration::RenameRoot, Migration::Mongo44],
                hops: ["1.16.2", "1.17.1", "2.0.0", "2.3.0"].map(parse).to_vec(),
            }
        );
        assert_eq!(
            p.verdict(),
            "upgrade: Elasticsearch 7 migration + MongoDB 4.4 migration + 4 hops"
        );
        // A 0.16+ server that missed the migration (ES 5 data still in data/elastic).
        let mut missed = state("1.1.1", "7.6.2", "3.6.5", None);
        missed.es_migration_required = true;
        assert!(matches!(
            plan(&missed, &r, r.latest, PlanOptions::default()),
            Plan::Refused { .. }
        ));
        let Plan::Upgrade { migrations, .. } = plan(&missed, &r, r.latest, allow) else {
            panic!("not an upgrade");
        };
        assert_eq!(migrations, [Migration::Es7, Migration::Mongo44]);
    }

    #[test]
    fn refuses_elasticsearch_5_and_downgrades_and_knows_when_done() {
        let r = releases();
        let mut trains = state("0.15.1", "5.6.16", "3.6.5", None);
        trains.kind = Some(Family::Trains);
        trains.root = Some("/opt/trains".to_owned());
        let p = plan(&trains, &r, r.latest, PlanOptions::default());
        assert_eq!(p.verdict(), "manual migration required");
        assert!(
            matches!(&p, Plan::Refused { reason } if reason.contains("/opt/trains/data/elastic"))
        );
        assert_eq!(
            plan(
                &state("2.3.0", "8.17.0", "7.0.22", Some("7.0")),
                &r,
                r.latest,
                PlanOptions::default()
            )
            .verdict(),
            "up to date"
        );
        let to_old = plan(
            &state("2.3.0", "8.17.0", "7.0.22", None),
            &r,
            parse("2.0.0"),
            PlanOptions::default(),
        );
        assert!(matches!(to_old, Plan::Refused { .. }));
        assert_eq!(
            plan(&HostState::default(), &r, r.latest, PlanOptions::default()),
            Plan::NoServer
        );
        let unknown = HostState {
            kind: Some(Family::Clearml),
            ..HostState::default()
        };
        assert!(matches!(
            plan(&unknown, &r, r.latest, PlanOptions::default()),
            Plan::Unknown { .. }
        ));
        let denied = HostState {
            docker_access: Some(DockerAccess::Denied),
            ..HostState::default()
        };
        assert!(
            matches!(plan(&denied, &r, r.latest, PlanOptions::default()), Plan::Unknown { reason } if reason.contains("may not use docker"))
        );
        let down = HostState {
            docker_access: Some(DockerAccess::Down),
            ..HostState::default()
        };
        assert!(
            matches!(plan(&down, &r, r.latest, PlanOptions::default()), Plan::Unknown { reason } if reason.starts_with("the Docker daemon does not answer"))
        );
    }

    #[test]
    fn trains_0_16_renames_the_root_then_migrates_mongo() {
        let r = releases();
        let mut s = state("0.16.1", "7.6.2", "3.6.5", None);
        s.kind = Some(Family::Trains);
        let Plan::Upgrade { migrations, hops } = plan(&s, &r, r.latest, PlanOptions::default())
        else {
            panic!("expected an upgrade");
        };
        assert_eq!(migrations, vec![Migration::RenameRoot, Migration::Mongo44]);
        assert_eq!(hops.len(), 4);
    }

    #[test]
    fn stops_at_an_earlier_target() {
        let r = releases();
        let p = plan(
            &state("1.12.0", "7.17.7", "4.4.9", None),
            &r,
            parse("2.0.0"),
            PlanOptions::default(),
        );
        assert_eq!(hops(&p), ["1.17.1", "2.0.0"]);
    }

    /// Every era of the release data (as detected on a running server) against every hop
    /// target: the plan never skips a MongoDB major, never brings pre-7.17 Elasticsearch data
    /// to ES 8, ends at the target, and only uses known hops.
    #[test]
    fn an_interrupted_upgrade_is_finished_from_its_hop_or_rolled_back() {
        let r = releases();
        let v = |s: &str| parse(s);
        // Whatever the half-written deployment now says (here: already the target's version).
        let mut s = state("2.3.0", "8.17.0", "7.0.22", None);
        let marker = |step: &str| InterruptedUpgrade {
            from: v("1.12.0"),
            hops: ["1.17.1", "2.0.0", "2.3.0"].map(v).to_vec(),
            step: step.to_owned(),
            backup: "/opt/b".to_owned(),
            root: "/opt/clearml".to_owned(),
            compose_file: "/opt/clearml/docker-compose.yml".to_owned(),
            uid: String::new(),
        };
        let o = PlanOptions::default();
        s.interrupted = Some(marker("hop:2.0.0"));
        let p = plan(&s, &r, v("2.3.0"), o);
        assert_eq!(
            p,
            Plan::Resume {
                from: v("1.12.0"),
                hops: vec![v("2.0.0"), v("2.3.0")],
                backup: "/opt/b".to_owned()
            }
        );
        assert_eq!(p.verdict(), "resume: 2 hops");
        // Never past the target; a target below the hop it stopped in is refused.
        assert_eq!(
            plan(&s, &r, v("2.0.0"), o),
            Plan::Resume {
                from: v("1.12.0"),
                hops: vec![v("2.0.0")],
                backup: "/opt/b".to_owned()
            }
        );
        assert!(
            matches!(plan(&s, &r, v("1.17.1"), o), Plan::Refused { reason } if reason.contains("--target 2.0.0"))
        );
        for step in ["migrate", "rollback"] {
            s.interrupted = Some(marker(step));
            assert_eq!(
                plan(&s, &r, v("2.3.0"), o),
                Plan::Recover {
                    from: v("1.12.0"),
                    step: step.to_owned(),
                    backup: "/opt/b".to_owned()
                }
            );
        }
        s.interrupted = None;
        s.interrupted_unreadable = true;
        assert!(
            matches!(plan(&s, &r, v("2.3.0"), o), Plan::Refused { reason } if reason.contains("unreadable"))
        );
    }

    #[test]
    fn every_era_against_every_target_keeps_the_data_store_rules() {
        let r = releases();
        let major = |v: &str| {
            v.split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let es_of = |v: Version| -> String {
            r.hop(v)
                .map(|h| h.elasticsearch.clone())
                .unwrap_or_default()
        };
        let mongo_of =
            |v: Version| -> String { r.hop(v).map(|h| h.mongo.clone()).unwrap_or_default() };
        for era in &r.eras {
            let fcv = era.mongo.split('.').take(2).collect::<Vec<_>>().join(".");
            let mut st = state(
                &era.to.to_string(),
                &era.elasticsearch,
                &era.mongo,
                Some(&fcv),
            );
            if era.server_image.contains("trains") {
                st.kind = Some(Family::Trains);
                st.root = Some("/opt/trains".to_owned());
            }
            let targets = r.hops.iter().map(|h| h.version);
            for (target, allow) in targets.flat_map(|t| [(t, false), (t, true)]) {
                let options = PlanOptions {
                    allow_es_migration: allow,
                    ..PlanOptions::default()
                };
                let p = plan(&st, &r, target, options);
                let label = format!("{} → {target} (allow ES migration: {allow})", era.to);
                let es5 = major(&era.elasticsearch) == 5;
                match &p {
                    Plan::UpToDate { .. } => assert_eq!(era.to, target, "{label}"),
                    Plan::Refused { reason } => assert!(
                        era.to > target || (es5 && !allow),
                        "{label}: refused: {reason}"
                    ),
                    Plan::Upgrade { migrations, hops } => {
                        assert!(era.to < target, "{label}");
                        assert_eq!(hops.last(), Some(&target), "{label}");
                        assert!(hops.windows(2).all(|w| w[0] < w[1]), "{label}: {hops:?}");
                        assert!(hops.iter().all(|h| r.hop(*h).is_some()), "{label}");
                        // The ES migration comes first, and only for Elasticsearch 5 data.
                        assert_eq!(
                            migrations.first() == Some(&Migration::Es7),
                            es5,
                            "{label}: {migrations:?}"
                        );
                        let mut es = if es5 {
                            "7.6.2".to_owned()
                        } else {
                            era.elasticsearch.clone()
                        };
                        let mut mongo = if migrations.contains(&Migration::Mongo44) {
                            "4.4".to_owned()
                        } else {
                            era.mongo.clone()
                        };
                        for h in hops {
                            let (next_es, next_mongo) = (es_of(*h), mongo_of(*h));
                            if major(&next_es) == 8 && major(&es) == 7 {
                                let minor: u32 = es
                                    .split('.')
                                    .nth(1)
                                    .and_then(|m| m.parse().ok())
                                    .unwrap_or(0);
                                assert!(minor >= 17, "{label}: ES {es} → {next_es} at {h}");
                            }
                            assert!(
                                major(&next_mongo) <= major(&mongo) + 1,
                                "{label}: MongoDB {mongo} → {next_mongo} at {h}"
                            );
                            es = next_es;
                            mongo = next_mongo;
                        }
                        assert_eq!(
                            migrations.contains(&Migration::Mongo44),
                            major(&era.mongo) == 3,
                            "{label}"
                        );
                    }
                    other => panic!("{label}: {other:?}"),
                }
            }
        }
    }
}

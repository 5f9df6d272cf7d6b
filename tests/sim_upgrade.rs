//! The real upgrade moves done by hand on simulated hosts (down, tar backup, swap compose,
//! pull, up -d), with the outcomes a real ClearML host would show.

#[path = "support/sim.rs"]
mod sim;

use sim::SimHost;

const DOWN: &str = "docker compose down";

/// Swap the compose file for release `era` (server images pinned), pull, up -d.
fn hop(h: &SimHost, era: &str) -> sim::Run {
    let r = h.sim(&["compose-file", "--era", era, "--pin"]).ok();
    std::fs::write(h.path("/opt/clearml/docker-compose.yml"), r.stdout).expect("write compose");
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && docker compose pull && docker compose up -d"),
        &[],
    )
}

fn fcv(h: &SimHost) -> String {
    h.json("/opt/clearml/data/mongo_4/db/.sim-mongo.json")["fcv"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn server_info(h: &SimHost, auth: &str) -> serde_json::Value {
    let r = h.sh(&format!("curl -s {auth} http://localhost:8008/server.info"));
    serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null)
}

/// The uid, from the only `server.info` handler that reports it (API 2.8 … 2.11): an
/// unversioned call reaches the newest handler, which has none from 0.17 on.
fn server_uid(h: &SimHost, auth: &str) -> serde_json::Value {
    let r = h.sh(&format!(
        "curl -s {auth} http://localhost:8008/v2.8/server.info"
    ));
    serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap_or_default()["data"]["uid"].clone()
}

fn all_running(h: &SimHost) -> Vec<String> {
    h.sh("docker ps -a --format '{{.Names}} {{.State}}'")
        .ok()
        .stdout
        .lines()
        .filter(|l| !l.ends_with(" running"))
        .map(str::to_string)
        .collect()
}

#[test]
fn direct_1_16_to_2_3_fails_with_mongo_exit_62_and_the_backup_brings_1_16_back() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.16",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
    ])
    .ok();
    let uid = server_uid(&h, "").as_str().unwrap_or_default().to_string();
    assert_eq!(uid.len(), 32);
    let old_compose = std::fs::read(h.path("/opt/clearml/docker-compose.yml")).expect("compose");
    // Backup as the docs say, with the server down.
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && tar czf $T/data.tgz -C $R/opt/clearml/data ."),
        &[],
    )
    .ok();
    let before = SimHost::snapshot(&h.path("/opt/clearml/data"));
    let r = h.sim(&["compose-file", "--era", "2.3"]).ok();
    std::fs::write(h.path("/opt/clearml/docker-compose.yml"), r.stdout).expect("write");
    h.sh_in(
        "/opt/clearml",
        "docker compose pull && docker compose up -d",
        &[],
    )
    .ok();
    assert_eq!(
        h.inspect(
            "clearml-mongo",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Restarting}}"
        ),
        "restarting 62 true"
    );
    let logs = h.sh("docker logs clearml-mongo").ok().stdout;
    assert!(
        logs.contains("Wrong mongod version") && logs.contains("version: \\\"4.4\\\""),
        "{logs}"
    );
    assert_eq!(
        h.inspect("clearml-apiserver", "{{.State.Status}}"),
        "restarting"
    );
    let c = h.sh("curl -s -S http://localhost:8008/debug.ping");
    assert_eq!(c.code, 7);
    assert!(
        c.stderr.contains(
            "Failed to connect to localhost port 8008 after 0 ms: Couldn't connect to server"
        ),
        "{}",
        c.stderr
    );
    // ES 8.17 and redis 7.4 did start and rewrote their data: rolling back without the backup fails.
    assert!(h.path("/opt/clearml/data/elastic_7/nodes").is_file());
    std::fs::write(h.path("/opt/clearml/docker-compose.yml"), &old_compose).expect("write");
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && docker compose up -d"),
        &[],
    )
    .ok();
    assert!(
        h.sh("docker logs clearml-redis")
            .stdout
            .contains("Can't handle RDB format version 12")
    );
    assert!(
        h.sh("docker logs clearml-elastic")
            .stdout
            .contains("perhaps it has already been upgraded")
    );
    // Restore the backup: 1.16 comes back with identical data bytes and the same uid.
    h.sh_in(
        "/opt/clearml",
        &format!(
            "{DOWN} && rm -rf $R/opt/clearml/data/* && tar xzf $T/data.tgz -C $R/opt/clearml/data"
        ),
        &[],
    )
    .ok();
    assert_eq!(
        SimHost::snapshot(&h.path("/opt/clearml/data")),
        before,
        "restored bytes differ"
    );
    h.sh_in("/opt/clearml", "docker compose up -d", &[]).ok();
    assert!(all_running(&h).is_empty(), "{:?}", all_running(&h));
    let info = server_info(&h, "");
    assert_eq!(info["data"]["version"], "1.16.2");
    assert_eq!(server_uid(&h, ""), uid.as_str());
    assert_eq!(fcv(&h), "4.4");
}

#[test]
fn hops_1_16_to_1_17_to_2_0_to_2_3_succeed_and_keep_the_uid() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.16",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
    ])
    .ok();
    let uid = server_uid(&h, "").as_str().unwrap_or_default().to_string();
    for (era, want_fcv, want_version) in [
        ("1.17", "5.0", "1.17.1"),
        ("2.0", "6.0", "2.0.0"),
        ("2.3", "7.0", "2.3.0"),
    ] {
        hop(&h, era).ok();
        assert!(all_running(&h).is_empty(), "{era}: {:?}", all_running(&h));
        assert_eq!(fcv(&h), want_fcv, "{era}");
        let info = server_info(&h, "-u AK:AS");
        assert_eq!(info["data"]["version"], want_version, "{era}: {info}");
        assert_eq!(server_uid(&h, "-u AK:AS"), uid.as_str(), "{era}");
    }
    // 2.3 needs credentials for server.info.
    let r = h.sh("curl -s -o /dev/null -w '%{http_code}' http://localhost:8008/server.info");
    assert_eq!(r.stdout, "401");
    let bad = server_info(&h, "-u AK:wrong");
    assert_eq!(bad["meta"]["result_code"], 401);
    let noauth = server_info(&h, "");
    assert_eq!(
        (
            noauth["meta"]["result_code"].as_i64(),
            noauth["meta"]["result_subcode"].as_i64()
        ),
        (Some(401), Some(20))
    );
    // The probes of §9 on the upgraded host.
    assert_eq!(h.sh("docker exec clearml-mongo mongosh --quiet --eval 'db.adminCommand({getParameter:1, featureCompatibilityVersion:1})'").ok().stdout, "{ featureCompatibilityVersion: { version: '7.0' }, ok: 1 }\n");
    assert_eq!(
        h.sh("docker exec clearml-mongo mongo --quiet --eval 'db.version()'")
            .code,
        127
    );
    assert_eq!(
        h.sh("docker exec clearml-redis redis-cli ping").ok().stdout,
        "PONG\n"
    );
    assert!(
        h.sh("docker exec clearml-elastic curl -s localhost:9200")
            .ok()
            .stdout
            .contains("\"number\": \"8.17.0\"")
    );
    assert_eq!(h.sh("curl -s localhost:8081/").ok().stdout, "OK");
    let v = h.sh("curl -s localhost:8080/api/debug.ping").ok().stdout;
    assert!(v.contains("\"msg\":\"ClearML server\""), "{v}");
    let b = std::fs::read(h.path("/opt/clearml/data/redis/dump.rdb")).expect("rdb");
    assert_eq!(&b[..9], b"REDIS0012");
}

#[test]
fn trap_a_1_17_straight_to_2_3_fails_but_setting_fcv_by_hand_on_mongo_6_works() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.17",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
    ])
    .ok();
    assert_eq!(fcv(&h), "5.0");
    hop(&h, "2.3").ok();
    assert_eq!(h.inspect("clearml-mongo", "{{.State.ExitCode}}"), "62");
    // Trap B: the 2.2 compose (mongo 6, clearml/server pinned 2.2.0) does not raise FCV 5.0 → 6.0.
    hop(&h, "2.2").ok();
    assert_eq!(fcv(&h), "5.0");
    assert!(
        h.sh("docker logs clearml-apiserver")
            .stdout
            .contains("Database version should be 7.0")
    );
    // Setting it by hand is what the upgrader must do.
    let r = h.sh("docker exec clearml-mongo mongosh --quiet --eval 'db.adminCommand({setFeatureCompatibilityVersion:\"6.0\"})'").ok();
    assert_eq!(r.stdout, "{ ok: 1 }\n");
    hop(&h, "2.3").ok();
    assert!(all_running(&h).is_empty(), "{:?}", all_running(&h));
    assert_eq!(fcv(&h), "7.0");
}

#[test]
fn hop_1_5_to_1_17_fails_on_elasticsearch_7_16() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.5"]).ok();
    hop(&h, "1.17").ok();
    assert_eq!(
        h.inspect("clearml-elastic", "{{.State.Status}} {{.State.ExitCode}}"),
        "restarting 1"
    );
    let logs = h.sh("docker logs clearml-elastic").ok().stdout;
    assert!(logs.contains("cannot upgrade a node from version [7.16.2] directly to version [8.15.3], upgrade to version [7.17.0] first"), "{logs}");
    assert_eq!(
        h.inspect("clearml-apiserver", "{{.State.Status}}"),
        "restarting"
    );
    // Via 1.16 (ES 7.17.18) it works.
    hop(&h, "1.16").ok();
    hop(&h, "1.17").ok();
    assert!(
        all_running(&h)
            .iter()
            .all(|l| l.starts_with("clearml-agent-services")),
        "{:?}",
        all_running(&h)
    );
}

#[test]
fn up_without_the_agent_key_wipes_the_credentials() {
    let h = SimHost::new();
    // Credentials were exported in the admin's shell at install time, not kept in .env.
    h.sim(&[
        "init",
        "--era",
        "1.16",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
        "--no-dotenv",
    ])
    .ok();
    assert_eq!(
        h.json("/opt/clearml/data/mongo_4/db/.sim-mongo.json")["services_agent"]["key"],
        "AK"
    );
    assert!(!h.path("/opt/clearml/.env").exists());
    // A non-interactive session re-runs up without them.
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && docker compose up -d"),
        &[],
    )
    .ok();
    assert!(h.json("/opt/clearml/data/mongo_4/db/.sim-mongo.json")["services_agent"].is_null());
    assert!(
        h.sh("docker logs clearml-apiserver").stdout.contains(
            "Resetting credentials for existing user __services_agent__ (services_agent)"
        )
    );
    assert_eq!(
        h.inspect(
            "clearml-agent-services",
            "{{.State.Status}} {{.State.ExitCode}}"
        ),
        "exited 0"
    );
    assert!(
        h.sh("docker logs clearml-agent-services")
            .stdout
            .contains("CLEARML_API_ACCESS_KEY was not provided, service will not be started")
    );
    // With the old key only on the agent side, the agent keeps failing with 401.
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && docker compose up -d"),
        &[
            ("CLEARML_API_ACCESS_KEY", "AK"),
            ("CLEARML_API_SECRET_KEY", "AS"),
        ],
    )
    .ok();
    assert_eq!(
        h.inspect(
            "clearml-agent-services",
            "{{.State.Status}} {{.State.ExitCode}}"
        ),
        "restarting 1"
    );
    assert!(
        h.sh("docker logs clearml-agent-services")
            .stdout
            .contains("failed to locate provided credentials")
    );
    // Re-supplying them (e.g. in .env) restores a working agent.
    std::fs::write(
        h.path("/opt/clearml/.env"),
        "CLEARML_AGENT_ACCESS_KEY=AK\nCLEARML_AGENT_SECRET_KEY=AS\n",
    )
    .expect("env");
    h.sh_in(
        "/opt/clearml",
        &format!("{DOWN} && docker compose up -d"),
        &[],
    )
    .ok();
    assert_eq!(
        h.inspect("clearml-agent-services", "{{.State.Status}}"),
        "running"
    );
}

#[test]
fn missing_tag_pull_fails_and_running_containers_are_untouched() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.17"]).ok();
    let ids = h.sh("docker ps -q").ok().stdout;
    let y = std::fs::read_to_string(h.path("/opt/clearml/docker-compose.yml"))
        .expect("y")
        .replace("allegroai/clearml:1.17.1-554", "allegroai/clearml:9.9.9");
    std::fs::write(h.path("/opt/clearml/next.yml"), y).expect("w");
    let r = h.sh_in("/opt/clearml", "docker compose -f next.yml pull", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "manifest for allegroai/clearml:9.9.9 not found: manifest unknown: manifest unknown"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(h.sh("docker ps -q").ok().stdout, ids);
    // An injected missing tag of the real table fails the same way.
    h.sim(&["inject", "--missing-tag", "mongo:6.0.19"]).ok();
    let r = h.sh("docker pull mongo:6.0.19");
    assert_eq!(
        (r.code, r.stderr.trim()),
        (
            1,
            "Error response from daemon: manifest for mongo:6.0.19 not found: manifest unknown: manifest unknown"
        )
    );
    // A broken tag exits 1 at start.
    h.sim(&["inject", "--broken-tag", "redis:6.2"]).ok();
    h.sh("docker restart clearml-redis").ok();
    assert_eq!(
        h.inspect("clearml-redis", "{{.State.ExitCode}} {{.State.Restarting}}"),
        "1 true"
    );
}

#[test]
fn leftover_container_of_another_project_blocks_up() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.16"]).ok();
    std::fs::create_dir_all(h.path("/srv/other")).expect("mkdir");
    std::fs::copy(
        h.path("/opt/clearml/docker-compose.yml"),
        h.path("/srv/other/docker-compose.yml"),
    )
    .expect("cp");
    let id = h.inspect("clearml-apiserver", "{{.Id}}");
    let r = h.sh_in("/srv/other", "docker compose up -d", &[]);
    assert_eq!(r.code, 1);
    let want = format!(
        "Error response from daemon: Conflict. The container name \"/clearml-apiserver\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name."
    );
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    h.sh("docker rm -f clearml-apiserver").ok();
    let r = h.sh_in("/srv/other", "docker compose up -d", &[]);
    assert_eq!(
        r.code, 1,
        "the next leftover (clearml-elastic) still conflicts"
    );
}

#[test]
fn trains_0_15_on_es7_without_migration_reports_missed_es_upgrade() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "0.15",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
        "--host-ip",
        "10.1.2.3",
    ])
    .ok();
    assert!(h.path("/opt/trains/data/elastic/nodes/0").is_dir());
    let env = h.inspect("trains-agent-services", "{{json .Config.Env}}");
    assert!(
        env.contains("TRAINS_HOST_IP=10.1.2.3") && env.contains("TRAINS_API_ACCESS_KEY=AK"),
        "{env}"
    );
    let y = h.sim(&["compose-file", "--era", "0.16"]).ok().stdout;
    std::fs::write(h.path("/opt/trains/docker-compose.yml"), y).expect("w");
    // Docker creates the missing elastic_7 as root: ES 7 cannot use it (issue #70) until the
    // documented `chown -R 1000:1000`.
    h.sh_in(
        "/opt/trains",
        "docker compose down && docker compose pull && docker compose up -d",
        &[],
    )
    .ok();
    assert!(
        h.sh("docker logs trains-elastic")
            .stdout
            .contains("AccessDeniedException[/usr/share/elasticsearch/data/nodes]")
    );
    h.sh_in(
        "/opt/trains",
        "docker compose down && chown -R 1000:1000 $R/opt/trains && docker compose up -d",
        &[],
    )
    .ok();
    let r = h.sh("curl -s localhost:8008/auth.fixed_users_mode").ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["data"]["server_errors"]["missed_es_upgrade"], true, "{v}");
    assert!(
        h.sh("docker logs trains-apiserver")
            .stdout
            .contains("ES database seems not migrated")
    );
    let p: serde_json::Value =
        serde_json::from_str(&h.sh("curl -s localhost:8008/debug.ping").stdout).expect("json");
    assert_eq!(p["data"]["msg"], "Because it trains cats and dogs");
}

#[test]
fn mongo_5_without_avx_exits_132() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.16", "--no-avx"]).ok();
    hop(&h, "1.17").ok();
    assert_eq!(h.inspect("clearml-mongo", "{{.State.ExitCode}}"), "132");
    assert!(
        h.sh("docker logs clearml-mongo")
            .stdout
            .contains("Illegal instruction")
    );
}

#[test]
fn elastic_needs_uid_1000_and_500_mb() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "2.0"]).ok();
    h.sim(&["inject", "--chown-data", "0"]).ok();
    h.sh("docker restart clearml-elastic").ok();
    assert!(
        h.sh("docker logs clearml-elastic")
            .stdout
            .contains("failed to obtain node locks")
    );
    h.sim(&["inject", "--chown-data", "1000", "--free-mb", "300"])
        .ok();
    h.sh("docker restart clearml-elastic").ok();
    assert_eq!(
        h.inspect("clearml-elastic", "{{.State.Status}}"),
        "restarting"
    );
    assert!(
        h.sh("docker logs --tail 2 clearml-elastic")
            .stdout
            .contains("flood stage disk watermark [500mb] exceeded")
    );
    h.sim(&["inject", "--free-mb", "5000"]).ok();
    h.sh("docker restart clearml-elastic").ok();
    assert_eq!(h.inspect("clearml-elastic", "{{.State.Status}}"), "running");
}

#[test]
fn documented_mongo_3_6_to_4_4_migration_by_docker_run_then_1_16() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.1",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
    ])
    .ok();
    // Going to 1.16 directly: mongo 4.4 refuses the FCV 3.6 data (in the new mongo_4 dir it is empty
    // anyway), so follow the documented manual steps.
    let steps = r#"set -e
docker compose down
tar -zcf $T/mongodb_upgrade.gz -C $R/opt/clearml/data/mongo .
mkdir $R/opt/clearml/data/mongo_4
tar -xzf $T/mongodb_upgrade.gz -C $R/opt/clearml/data/mongo_4
chown -R 1000:1000 $R/opt/clearml/data/mongo_4
for pair in 4.0.27:4.0 4.2.16:4.2 4.4.9:4.4; do
  img=${pair%%:*}; fcv=${pair##*:}
  docker run -id -v /opt/clearml/data/mongo_4/db:/data/db -v /opt/clearml/data/mongo_4/configdb:/data/configdb --name mongodb_upgrade mongo:$img
  docker exec mongodb_upgrade mongo --eval 'db.adminCommand({ping:1})'
  docker exec mongodb_upgrade bash -c "mongo --eval \"db.adminCommand({setFeatureCompatibilityVersion:\\\"$fcv\\\"})\""
  docker stop mongodb_upgrade && docker rm mongodb_upgrade
done"#;
    let r = h.sh_in("/opt/clearml", steps, &[]).ok();
    assert_eq!(
        r.stdout.matches("{ \"ok\" : 1 }").count(),
        6,
        "{}",
        r.stdout
    );
    assert_eq!(fcv(&h), "4.4");
    hop(&h, "1.16").ok();
    // The 1.1 `.env` names the key CLEARML_API_ACCESS_KEY: the 1.16 apiserver wants
    // CLEARML_AGENT_ACCESS_KEY, wipes the credentials, and the agent (which falls back to the
    // old name) is refused.
    assert_eq!(
        all_running(&h),
        vec!["clearml-agent-services restarting".to_string()]
    );
    std::fs::write(
        h.path("/opt/clearml/.env"),
        "CLEARML_AGENT_ACCESS_KEY=AK\nCLEARML_AGENT_SECRET_KEY=AS\n",
    )
    .expect("env");
    h.sh_in(
        "/opt/clearml",
        "docker compose down && docker compose up -d",
        &[],
    )
    .ok();
    assert!(all_running(&h).is_empty(), "{:?}", all_running(&h));
    assert_eq!(
        h.json("/opt/clearml/data/mongo_4/db/.sim-mongo.json")["binary"],
        "4.4.29"
    );
    let info = server_info(&h, "");
    assert_eq!(info["data"]["version"], "1.16.2");
}

#[test]
fn leftover_trains_containers_hold_the_ports_after_the_rename() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "0.16"]).ok();
    // `mv /opt/trains /opt/clearml` without `down` first: the trains project keeps running.
    std::fs::rename(h.path("/opt/trains"), h.path("/opt/clearml")).expect("mv");
    let y = h.sim(&["compose-file", "--era", "0.17"]).ok().stdout;
    std::fs::write(h.path("/opt/clearml/docker-compose.yml"), y).expect("w");
    // 0.17.0's services agent keeps its Trains name (clearml/clearml-server 0.17.0,
    // docker/docker-compose.yml: container_name trains-agent-services), so the leftover one
    // blocks the create first.
    let r = h.sh_in("/opt/clearml", "docker compose up -d", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("The container name \"/trains-agent-services\" is already in use"),
        "{}",
        r.stderr
    );
    h.sh("docker rm -f trains-agent-services").ok();
    let r = h.sh_in("/opt/clearml", "docker compose up -d", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Bind for 0.0.0.0:8081 failed: port is already allocated"),
        "{}",
        r.stderr
    );
}

/// A custom root done by text substitution over the whole compose file also rewrites the
/// container-side `PYTHONPATH: /opt/clearml/apiserver` of async_delete, and the real image
/// then cannot find its module: the simulated one exits 1 too. Host sides only (as
/// `clearml-sim compose-file --root` and the upgrade's `compose_rebase` do) runs.
#[test]
fn container_side_paths_rewritten_for_a_custom_root_break_async_delete() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.16", "--stopped"]).ok();
    h.sh_in(
        "/opt/clearml",
        "sed -i 's#/opt/clearml/#/opt/cml/#g' docker-compose.yml && docker compose up -d",
        &[],
    );
    assert_eq!(
        h.inspect("async_delete", "{{.State.ExitCode}}"),
        "1",
        "{}",
        h.sh("docker logs async_delete").stdout
    );
    h.sh_in("/opt/clearml", "docker compose down", &[]).ok();
    let good = h
        .sim(&["compose-file", "--era", "1.16", "--root", "/opt/cml"])
        .ok();
    std::fs::write(h.path("/opt/clearml/docker-compose.yml"), good.stdout).expect("write");
    h.sh_in("/opt/clearml", "docker compose up -d", &[]).ok();
    assert_eq!(h.inspect("async_delete", "{{.State.Status}}"), "running");
}

//! The upstream upgrade traps, sprung by hand (down, tar backup, swap the compose file, pull,
//! `up -d`) on real Docker Engines running the stand-in images (tests/support/docker_host.rs):
//! the stand-ins on a real engine reproduce the traps clearfleet's upgrade avoids (MongoDB's
//! FCV and AVX exits, Elasticsearch's 7.17 and uid rules, credentials wiped by `up`, leftover
//! containers), so the upgrade tests that show it avoiding them mean something.
//!
//! Each trap is a function of one host; a test installs one host per trap in one fleet and plays
//! them side by side (`play`).

use crate::support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::docker_host::{DockerFleet, DockerHost, Run};

const CLEARML: &str = "/opt/clearml";
const COMPOSE: &str = "/opt/clearml/docker-compose.yml";
const MONGO_MARKER: &str = "/opt/clearml/data/mongo_4/db/.sim-mongo.json";
/// How long a container may take to reach a state (restart back-off, retries of the stand-ins).
const LIMIT: Duration = Duration::from_secs(90);

/// One trap on one host: the `clearml-sim init` arguments of the host's install (see
/// [`DockerHost::install`]) and the steps, played once the whole fleet is installed.
struct Trap {
    name: &'static str,
    install: &'static [&'static str],
    steps: fn(&DockerHost),
}

/// Starts a fleet of one compose-v2 host per trap, installs them all at once, then plays every
/// trap on its own host in parallel; fails naming every trap that failed, with its message.
fn play(traps: &[Trap]) {
    let Some(fleet) = DockerFleet::start(&vec!["v2"; traps.len()]) else {
        return;
    };
    let started = Instant::now();
    fleet.install(&traps.iter().map(|t| t.install.to_vec()).collect::<Vec<_>>());
    eprintln!("installed {} hosts in {:?}", traps.len(), started.elapsed());
    let failed: Vec<String> = std::thread::scope(|s| {
        let jobs: Vec<_> = traps
            .iter()
            .zip(fleet.hosts())
            .map(|(t, h)| {
                let job = std::thread::Builder::new()
                    .name(t.name.to_owned())
                    .spawn_scoped(s, move || {
                        let t0 = Instant::now();
                        (t.steps)(h);
                        eprintln!("{}: passed in {:?}", t.name, t0.elapsed());
                    })
                    .unwrap_or_else(|e| panic!("spawn {}: {e}", t.name));
                (t.name, job)
            })
            .collect();
        jobs.into_iter()
            .filter_map(|(name, j)| j.join().err().map(|e| format!("{name}: {}", text(&*e))))
            .collect()
    });
    assert!(failed.is_empty(), "traps failed:\n{}", failed.join("\n\n"));
}

/// A panic's message.
fn text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// `script` run by root inside the host in directory `dir`.
fn sh_in(h: &DockerHost, dir: &str, script: &str) -> Run {
    h.sh(&format!("cd {dir} && {script}"))
}

/// Writes upstream's compose file of release `era` (`clearml-sim compose-file --era ERA
/// EXTRA…`) as `path` inside the host.
fn write_compose(h: &DockerHost, path: &str, era: &str, extra: &[&str]) {
    let mut args = vec!["compose-file", "--era", era];
    args.extend(extra);
    let file = h.sim(&args).ok().stdout;
    std::fs::write(h.path(path), file).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// The upgrade move by hand: upstream's compose file of `era` (server images pinned) in place
/// of the running one, then down, pull, `up -d` (which returns before anything has started).
fn hop(h: &DockerHost, era: &str) {
    write_compose(h, COMPOSE, era, &["--pin"]);
    sh_in(
        h,
        CLEARML,
        "docker compose down && docker compose pull && docker compose up -d",
    )
    .ok();
}

/// `docker inspect -f FMT NAME`, trimmed.
fn inspect(h: &DockerHost, name: &str, fmt: &str) -> String {
    let r = h.sh(&format!("docker inspect -f '{fmt}' {name}"));
    assert_eq!(r.code, 0, "docker inspect {name}: {}", r.stderr);
    r.stdout.trim().to_owned()
}

/// `docker logs NAME`, both streams.
fn logs(h: &DockerHost, name: &str) -> String {
    h.sh(&format!("docker logs {name} 2>&1")).stdout
}

/// Polls `probe` every 250 ms until it gives `Ok`; panics after [`LIMIT`] with `what` and the
/// last `Err` (what was seen).
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(v) => return v,
            Err(seen) if started.elapsed() > LIMIT => {
                panic!("{what}: not within {LIMIT:?}; last seen:\n{seen}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
}

/// Waits until `docker inspect -f FMT NAME` prints `want`.
fn wait_inspect(h: &DockerHost, name: &str, fmt: &str, want: &str) {
    wait_for(&format!("{name} {fmt} = {want}"), || {
        let seen = inspect(h, name, fmt);
        if seen == want {
            Ok(())
        } else {
            Err(format!("{seen}\n{}", tail(&logs(h, name))))
        }
    });
}

/// Waits until container `name`'s status and exit code read `want` (`exited 0`).
fn wait_state(h: &DockerHost, name: &str, want: &str) {
    wait_inspect(h, name, "{{.State.Status}} {{.State.ExitCode}}", want);
}

/// Waits until `docker logs NAME` holds `needle`; returns the logs.
fn wait_logs(h: &DockerHost, name: &str, needle: &str) -> String {
    wait_for(&format!("{name} logs {needle:?}"), || {
        let l = logs(h, name);
        if l.contains(needle) { Ok(l) } else { Err(l) }
    })
}

/// The last 20 lines of `s`.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// `NAME STATE RESTARTS` of every container, sorted.
fn states(h: &DockerHost) -> Vec<String> {
    let r = h.sh("ids=$(docker ps -aq); [ -z \"$ids\" ] || \
         docker inspect -f '{{.Name}} {{.State.Status}} {{.RestartCount}}' $ids");
    let mut v: Vec<String> = r
        .ok()
        .stdout
        .lines()
        .map(|l| l.trim_start_matches('/').to_owned())
        .collect();
    v.sort();
    v
}

/// Waits until every container but those named in `except` runs, then asserts that 3 s later
/// they still do, none restarted meanwhile (a restart loop caught while running does not pass).
fn settle(h: &DockerHost, except: &[&str]) {
    let watched = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .filter(|l| !except.iter().any(|e| l.starts_with(&format!("{e} "))))
            .collect()
    };
    let first = wait_for("every container running", || {
        let seen = watched(states(h));
        if seen.iter().all(|l| l.contains(" running ")) && !seen.is_empty() {
            Ok(seen)
        } else {
            Err(seen.join("\n"))
        }
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(watched(states(h)), first, "still running 3 s later");
}

/// Waits until container `name` has logged `line`, exited and been started again by its restart
/// policy: a crash loop. (`docker inspect` shows `restarting` only during the back-off, 100 ms
/// doubling, so a process that takes a while to give up is seen `running` most of the time.)
fn wait_crash_loop(h: &DockerHost, name: &str, line: &str) {
    wait_logs(h, name, line);
    wait_for(&format!("{name} restarted by its policy"), || {
        let n = inspect(h, name, "{{.RestartCount}}");
        if n.parse::<u32>().is_ok_and(|c| c >= 1) {
            Ok(())
        } else {
            Err(format!("RestartCount {n}"))
        }
    });
}

/// Waits until container `name` runs, then asserts that 3 s later it still runs, not restarted.
fn stays_running(h: &DockerHost, name: &str) {
    wait_inspect(h, name, "{{.State.Status}}", "running");
    let fmt = "{{.State.Status}} {{.RestartCount}} {{.State.StartedAt}}";
    let first = inspect(h, name, fmt);
    std::thread::sleep(Duration::from_secs(3));
    let then = inspect(h, name, fmt);
    assert_eq!(then, first, "{name} 3 s later:\n{}", tail(&logs(h, name)));
}

/// The JSON file at `path` inside the host.
fn json_file(h: &DockerHost, path: &str) -> serde_json::Value {
    let t = std::fs::read_to_string(h.path(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{path}: {e}: {t}"))
}

/// MongoDB's feature compatibility version, from the stand-in's marker in the real data dir.
fn fcv(h: &DockerHost) -> String {
    json_file(h, MONGO_MARKER)["fcv"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `GET localhost:8008/PATH` with the real curl (`auth` e.g. `-u AK:AS`), as JSON (null when
/// it is not).
fn api(h: &DockerHost, auth: &str, path: &str) -> serde_json::Value {
    let r = h.sh(&format!(
        "curl -s -m 10 {auth} http://localhost:8008/{path}"
    ));
    serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null)
}

/// The uid, from the only `server.info` handler that reports it (API 2.8 … 2.11): an
/// unversioned call reaches the newest handler, which has none from 0.17 on.
fn server_uid(h: &DockerHost, auth: &str) -> serde_json::Value {
    api(h, auth, "v2.8/server.info")["data"]["uid"].clone()
}

/// Every file under a machine directory with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, d: &Path, m: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, m);
            } else {
                let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
                m.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut m = BTreeMap::new();
    walk(dir, dir, &mut m);
    m
}

/// Runs `script` while container `name` is `state` (`running`, `restarting`) before and after,
/// with the same restart count: what a client sees of a crash-looping container at that stage.
fn while_state(h: &DockerHost, name: &str, state: &str, script: &str) -> Run {
    let seen = || inspect(h, name, "{{.State.Status}} {{.RestartCount}}");
    wait_for(&format!("{script} while {name} is {state}"), || {
        let before = seen();
        let r = h.sh(script);
        let after = seen();
        if before.starts_with(&format!("{state} ")) && before == after {
            Ok(r)
        } else {
            Err(format!("{before} / {after}: {}{}", r.stdout, r.stderr))
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Upgrades by hand

/// 1.16 straight to 2.3: MongoDB 7 refuses the FCV 4.4 data (exit 62, restarting), the
/// apiserver crash-loops, nothing answers on 8008; ES 8.17 and Redis 7.4 did start and rewrote
/// their data, so 1.16's compose file alone does not bring 1.16 back; the documented tar backup
/// does, byte for byte, with the same uid.
fn direct_1_16_to_2_3_fails_with_mongo_exit_62_and_the_backup_brings_1_16_back(h: &DockerHost) {
    let uid = server_uid(h, "").as_str().unwrap_or_default().to_owned();
    assert_eq!(uid.len(), 32, "uid {uid:?}");
    let old_compose = std::fs::read(h.path(COMPOSE)).unwrap_or_else(|e| panic!("{e}"));
    // Backup as the docs say, with the server down.
    sh_in(
        h,
        CLEARML,
        "docker compose down && mkdir -p /opt/backups && tar czf /opt/backups/data.tgz -C /opt/clearml/data .",
    )
    .ok();
    let before = snapshot(&h.path("/opt/clearml/data"));
    write_compose(h, COMPOSE, "2.3", &[]);
    sh_in(h, CLEARML, "docker compose pull && docker compose up -d").ok();
    wait_inspect(
        h,
        "clearml-mongo",
        "{{.State.Status}} {{.State.ExitCode}} {{.State.Restarting}}",
        "restarting 62 true",
    );
    let mongo_logs = wait_logs(h, "clearml-mongo", "Wrong mongod version");
    assert!(mongo_logs.contains("version: \\\"4.4\\\""), "{mongo_logs}");
    wait_crash_loop(
        h,
        "clearml-apiserver",
        "Error starting server: failed connecting to MongoDB service",
    );
    // The apiserver's container runs most of the time, its process waiting for MongoDB:
    // docker-proxy takes the connection and, finding nothing behind it, closes it (as an
    // empty reply or a reset, whichever curl sees first).
    let c = while_state(
        h,
        "clearml-apiserver",
        "running",
        "curl -s -S http://localhost:8008/debug.ping",
    );
    assert!(
        matches!(
            (c.code, c.stderr.trim()),
            (52, "curl: (52) Empty reply from server")
                | (56, "curl: (56) Recv failure: Connection reset by peer")
        ),
        "curl exited {}: {}{}",
        c.code,
        c.stdout,
        c.stderr
    );
    // ES 8.17 and Redis 7.4 did start and rewrote their data.
    let nodes = h.path("/opt/clearml/data/elastic_7/nodes");
    wait_for("ES 8 leaves `nodes` a file", || {
        if nodes.is_file() {
            Ok(())
        } else {
            Err(logs(h, "clearml-elastic"))
        }
    });
    let rdb = h.path("/opt/clearml/data/redis/dump.rdb");
    wait_for("Redis 7.4 rewrites dump.rdb", || {
        let b = std::fs::read(&rdb).unwrap_or_default();
        if b.starts_with(b"REDIS0012") {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&b[..b.len().min(9)]).into_owned())
        }
    });
    // Rolling back the compose file without the backup fails.
    std::fs::write(h.path(COMPOSE), &old_compose).unwrap_or_else(|e| panic!("{e}"));
    sh_in(h, CLEARML, "docker compose down && docker compose up -d").ok();
    wait_logs(h, "clearml-redis", "Can't handle RDB format version 12");
    wait_logs(h, "clearml-elastic", "perhaps it has already been upgraded");
    // Restore the backup: 1.16 comes back with identical data bytes and the same uid.
    sh_in(
        h,
        CLEARML,
        "docker compose down && rm -rf /opt/clearml/data/* && tar xzf /opt/backups/data.tgz -C /opt/clearml/data",
    )
    .ok();
    assert!(
        snapshot(&h.path("/opt/clearml/data")) == before,
        "restored bytes differ"
    );
    sh_in(h, CLEARML, "docker compose up -d").ok();
    h.wait_for_apiserver(LIMIT);
    settle(h, &[]);
    let info = api(h, "", "server.info");
    assert_eq!(info["data"]["version"], "1.16.2", "{info}");
    assert_eq!(server_uid(h, ""), uid.as_str());
    assert_eq!(fcv(h), "4.4");
}

/// The documented hops 1.16 → 1.17 → 2.0 → 2.3 each start every container, raise the FCV
/// (5.0, 6.0, 7.0) and keep the uid; 2.3 wants credentials for `server.info`, and the health
/// probes (see the end of the function) answer on the upgraded host.
fn hops_1_16_to_1_17_to_2_0_to_2_3_succeed_and_keep_the_uid(h: &DockerHost) {
    let uid = server_uid(h, "").as_str().unwrap_or_default().to_owned();
    assert_eq!(uid.len(), 32, "uid {uid:?}");
    for (era, want_fcv, want_version) in [
        ("1.17", "5.0", "1.17.1"),
        ("2.0", "6.0", "2.0.0"),
        ("2.3", "7.0", "2.3.0"),
    ] {
        hop(h, era);
        h.wait_for_apiserver(LIMIT);
        settle(h, &[]);
        assert_eq!(fcv(h), want_fcv, "{era}");
        let info = api(h, "-u AK:AS", "server.info");
        assert_eq!(info["data"]["version"], want_version, "{era}: {info}");
        assert_eq!(server_uid(h, "-u AK:AS"), uid.as_str(), "{era}");
    }
    // 2.3 needs credentials for server.info.
    let r = h.sh("curl -s -o /dev/null -w '%{http_code}' http://localhost:8008/server.info");
    assert_eq!(r.stdout, "401");
    let bad = api(h, "-u AK:wrong", "server.info");
    assert_eq!(bad["meta"]["result_code"], 401, "{bad}");
    let noauth = api(h, "", "server.info");
    assert_eq!(
        (
            noauth["meta"]["result_code"].as_i64(),
            noauth["meta"]["result_subcode"].as_i64()
        ),
        (Some(401), Some(20)),
        "{noauth}"
    );
    // Health probes on the upgraded host: the FCV query of playbooks/clearml/hop.yml, redis,
    // Elasticsearch, the file server and the web server's `/api` proxy
    // (docs/upstream.md Summary fact 13).
    let fcv_probe = h
        .sh("docker exec clearml-mongo mongosh --quiet --eval 'db.adminCommand({getParameter:1, featureCompatibilityVersion:1})'")
        .ok();
    assert_eq!(
        fcv_probe.stdout,
        "{ featureCompatibilityVersion: { version: '7.0' }, ok: 1 }\n"
    );
    let legacy = h.sh("docker exec clearml-mongo mongo --quiet --eval 'db.version()'");
    assert_eq!(legacy.code, 126, "{}{}", legacy.stdout, legacy.stderr);
    // Docker's own message, on stdout.
    assert_eq!(
        legacy.stdout.trim_end(),
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"mongo\": executable file not found in $PATH: unknown",
        "{}",
        legacy.stderr
    );
    let ping = h.sh("docker exec clearml-redis redis-cli ping").ok();
    assert_eq!(ping.stdout, "PONG\n");
    let es = h
        .sh("docker exec clearml-elastic curl -s localhost:9200")
        .ok();
    assert!(
        es.stdout.contains("\"number\": \"8.17.0\""),
        "{}",
        es.stdout
    );
    let files = h.sh("curl -s localhost:8081/").ok();
    assert_eq!(files.stdout, "OK");
    let web = h.sh("curl -s localhost:8080/api/debug.ping").ok();
    assert!(
        web.stdout.contains("\"msg\":\"ClearML server\""),
        "{}",
        web.stdout
    );
    let b = std::fs::read(h.path("/opt/clearml/data/redis/dump.rdb")).unwrap_or_default();
    assert!(
        b.starts_with(b"REDIS0012"),
        "{:?}",
        String::from_utf8_lossy(&b[..b.len().min(9)])
    );
}

/// Trap A: 1.17 straight to 2.3 (MongoDB 7 on FCV 5.0) exits 62. Trap B: 2.2's compose file
/// (MongoDB 6, clearml/server 2.2.0) does not raise the FCV 5.0 → 6.0. Setting it by hand, as
/// the upgrader must, lets 2.3 start and raise it to 7.0.
fn trap_a_1_17_straight_to_2_3_fails_but_setting_fcv_by_hand_on_mongo_6_works(h: &DockerHost) {
    assert_eq!(fcv(h), "5.0");
    hop(h, "2.3");
    wait_inspect(h, "clearml-mongo", "{{.State.ExitCode}}", "62");
    hop(h, "2.2");
    wait_logs(h, "clearml-apiserver", "Database version should be 7.0");
    assert_eq!(fcv(h), "5.0");
    let r = h
        .sh("docker exec clearml-mongo mongosh --quiet --eval 'db.adminCommand({setFeatureCompatibilityVersion:\"6.0\"})'")
        .ok();
    assert_eq!(r.stdout, "{ ok: 1 }\n");
    hop(h, "2.3");
    h.wait_for_apiserver(LIMIT);
    settle(h, &[]);
    assert_eq!(fcv(h), "7.0");
}

/// 1.5 (ES 7.16.2) straight to 1.17 (ES 8.15.3): Elasticsearch refuses data last written by
/// 7.16 and crash-loops, so does the apiserver; via 1.16 (ES 7.17.18) it works.
fn hop_1_5_to_1_17_fails_on_elasticsearch_7_16(h: &DockerHost) {
    hop(h, "1.17");
    wait_state(h, "clearml-elastic", "restarting 1");
    wait_logs(
        h,
        "clearml-elastic",
        "cannot upgrade a node from version [7.16.2] directly to version [8.15.3], upgrade to version [7.17.0] first",
    );
    wait_crash_loop(
        h,
        "clearml-apiserver",
        "Error starting server: failed connecting to ElasticSearch service",
    );
    hop(h, "1.16");
    hop(h, "1.17");
    h.wait_for_apiserver(LIMIT);
    // No agent key: the services agent leaves at once (SHUTDOWN_IF_NO_ACCESS_KEY).
    settle(h, &["clearml-agent-services"]);
    wait_state(h, "clearml-agent-services", "exited 0");
}

/// The documented MongoDB 3.6 → 4.4 migration of a 1.1 server (clearml-docs
/// `clearml_server_mongo44_migration.md`): copy the data to `mongo_4`, then `docker run` 4.0,
/// 4.2 and 4.4 in turn, raising the FCV each time; 1.16 then starts on it, except the services
/// agent, whose key 1.1's `.env` names `CLEARML_API_ACCESS_KEY`: the 1.16 apiserver wants
/// `CLEARML_AGENT_ACCESS_KEY`, wipes the credentials, and refuses the agent until `.env` has it.
fn documented_mongo_3_6_to_4_4_migration_by_docker_run_then_1_16(h: &DockerHost) {
    // Each `docker exec` of the shell waits for the mongod just started, as a person typing the
    // steps would (`docker run -d` returns before mongod listens).
    let steps = r#"set -e
docker compose down
mkdir -p /opt/backups
tar -zcf /opt/backups/mongodb_upgrade.gz -C /opt/clearml/data/mongo .
mkdir /opt/clearml/data/mongo_4
tar -xzf /opt/backups/mongodb_upgrade.gz -C /opt/clearml/data/mongo_4
chown -R 1000:1000 /opt/clearml/data/mongo_4
for pair in 4.0.27:4.0 4.2.16:4.2 4.4.9:4.4; do
  img=${pair%%:*}; fcv=${pair##*:}
  docker run -id -v /opt/clearml/data/mongo_4/db:/data/db -v /opt/clearml/data/mongo_4/configdb:/data/configdb --name mongodb_upgrade mongo:$img
  until docker exec mongodb_upgrade mongo --quiet --eval 'db.adminCommand({ping:1})' >/dev/null 2>&1; do sleep 0.2; done
  docker exec mongodb_upgrade mongo --eval 'db.adminCommand({ping:1})'
  docker exec mongodb_upgrade bash -c "mongo --eval \"db.adminCommand({setFeatureCompatibilityVersion:\\\"$fcv\\\"})\""
  docker stop mongodb_upgrade && docker rm mongodb_upgrade
done"#;
    let r = sh_in(h, CLEARML, steps).ok();
    assert_eq!(
        r.stdout.matches("{ \"ok\" : 1 }").count(),
        6,
        "{}",
        r.stdout
    );
    assert_eq!(fcv(h), "4.4");
    hop(h, "1.16");
    h.wait_for_apiserver(LIMIT);
    wait_logs(
        h,
        "clearml-agent-services",
        "failed to locate provided credentials",
    );
    settle(h, &["clearml-agent-services"]);
    wait_state(h, "clearml-agent-services", "restarting 1");
    resupply_agent_credentials(h);
    assert_eq!(json_file(h, MONGO_MARKER)["binary"], "4.4.29");
    let info = api(h, "", "server.info");
    assert_eq!(info["data"]["version"], "1.16.2", "{info}");
}

/// MongoDB 5 (1.17) on a CPU without AVX dies of an illegal instruction: exit 132.
///
/// The test machine's CPU has AVX and every container sees its /proc/cpuinfo; the host's own
/// /proc/cpuinfo (without AVX flags after `inject --avx off`) is bind-mounted over the mongo
/// container's by a compose override file, as LXCFS shows a container its host's view: the
/// compose file itself stays upstream's.
fn mongo_5_without_avx_exits_132(h: &DockerHost) {
    h.inject(&["--avx", "off"]);
    let cpu = h.sh("grep -c avx /proc/cpuinfo");
    assert_eq!(
        cpu.stdout.trim(),
        "0",
        "the host's CPU flags: {}",
        cpu.stdout
    );
    std::fs::write(
        h.path("/opt/clearml/docker-compose.override.yml"),
        "services:\n  mongo:\n    volumes:\n      - /proc/cpuinfo:/proc/cpuinfo:ro\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    hop(h, "1.17");
    wait_inspect(h, "clearml-mongo", "{{.State.ExitCode}}", "132");
    wait_logs(h, "clearml-mongo", "Illegal instruction");
}

#[test]
fn upgrades_by_hand_spring_the_traps_and_the_documented_ways_around_them() {
    play(&[
        Trap {
            name: "direct_1_16_to_2_3",
            install: &["--era", "1.16", "--agent-key", "AK", "--agent-secret", "AS"],
            steps: direct_1_16_to_2_3_fails_with_mongo_exit_62_and_the_backup_brings_1_16_back,
        },
        Trap {
            name: "hops_1_16_to_2_3",
            install: &["--era", "1.16", "--agent-key", "AK", "--agent-secret", "AS"],
            steps: hops_1_16_to_1_17_to_2_0_to_2_3_succeed_and_keep_the_uid,
        },
        Trap {
            name: "trap_a_1_17_to_2_3",
            install: &["--era", "1.17", "--agent-key", "AK", "--agent-secret", "AS"],
            steps: trap_a_1_17_straight_to_2_3_fails_but_setting_fcv_by_hand_on_mongo_6_works,
        },
        Trap {
            name: "es_7_16",
            install: &["--era", "1.5"],
            steps: hop_1_5_to_1_17_fails_on_elasticsearch_7_16,
        },
        Trap {
            name: "mongo_3_6_to_4_4",
            install: &["--era", "1.1", "--agent-key", "AK", "--agent-secret", "AS"],
            steps: documented_mongo_3_6_to_4_4_migration_by_docker_run_then_1_16,
        },
        Trap {
            name: "no_avx",
            install: &["--era", "1.16"],
            steps: mongo_5_without_avx_exits_132,
        },
    ]);
}

// ---------------------------------------------------------------------------------------------
// Host states that break `up`

/// Credentials exported in the admin's shell at install time, not kept in `.env`: a later `up`
/// without them (a non-interactive session) wipes them and the services agent leaves; with the
/// old key only on the agent's side, the agent is refused (401) and crash-loops; `.env` with the
/// key brings it back.
fn up_without_the_agent_key_wipes_the_credentials(h: &DockerHost) {
    assert!(!h.path("/opt/clearml/.env").exists());
    sh_in(
        h,
        CLEARML,
        "CLEARML_AGENT_ACCESS_KEY=AK CLEARML_AGENT_SECRET_KEY=AS docker compose up -d",
    )
    .ok();
    h.wait_for_apiserver(LIMIT);
    settle(h, &[]);
    let agent = &json_file(h, MONGO_MARKER)["services_agent"];
    assert_eq!(agent["key"], "AK", "{agent}");
    // A non-interactive session re-runs up without them.
    sh_in(h, CLEARML, "docker compose down && docker compose up -d").ok();
    h.wait_for_apiserver(LIMIT);
    let agent = &json_file(h, MONGO_MARKER)["services_agent"];
    assert!(agent.is_null(), "{agent}");
    wait_logs(
        h,
        "clearml-apiserver",
        "Resetting credentials for existing user __services_agent__ (services_agent)",
    );
    wait_state(h, "clearml-agent-services", "exited 0");
    wait_logs(
        h,
        "clearml-agent-services",
        "CLEARML_API_ACCESS_KEY was not provided, service will not be started",
    );
    // With the old key only on the agent side, the agent keeps failing with 401.
    sh_in(
        h,
        CLEARML,
        "docker compose down && CLEARML_API_ACCESS_KEY=AK CLEARML_API_SECRET_KEY=AS docker compose up -d",
    )
    .ok();
    wait_state(h, "clearml-agent-services", "restarting 1");
    wait_logs(
        h,
        "clearml-agent-services",
        "failed to locate provided credentials",
    );
    // Re-supplying them (in .env) restores a working agent.
    resupply_agent_credentials(h);
}

/// Writes the services agent's credentials AK:AS into `.env` and brings the server down and
/// up again, as a site does after `up` wiped them; returns once every container has settled.
fn resupply_agent_credentials(h: &DockerHost) {
    std::fs::write(
        h.path("/opt/clearml/.env"),
        "CLEARML_AGENT_ACCESS_KEY=AK\nCLEARML_AGENT_SECRET_KEY=AS\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sh_in(h, CLEARML, "docker compose down && docker compose up -d").ok();
    h.wait_for_apiserver(LIMIT);
    settle(h, &[]);
}

/// `ID NAME STATE STARTED-AT` of every container but the services agent (whose fate without a
/// key is its own), sorted: the same lines later mean nothing was created, removed or restarted.
fn server_containers(h: &DockerHost) -> Vec<String> {
    let r = h.sh(
        "docker inspect -f '{{.Id}} {{.Name}} {{.State.Status}} {{.State.StartedAt}}' \
         $(docker ps -aq)",
    );
    let mut v: Vec<String> = r
        .ok()
        .stdout
        .lines()
        .filter(|l| !l.contains(" /clearml-agent-services "))
        .map(str::to_owned)
        .collect();
    v.sort();
    v
}

/// A pull of a tag the registry lacks fails and leaves the running containers alone; a broken
/// tag fails only what is created from it after a pull.
fn missing_tag_pull_fails_and_running_containers_are_untouched(h: &DockerHost) {
    settle(h, &["clearml-agent-services"]);
    let before = server_containers(h);
    let y = std::fs::read_to_string(h.path(COMPOSE))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("allegroai/clearml:1.17.1-554", "allegroai/clearml:9.9.9");
    std::fs::write(h.path("/opt/clearml/next.yml"), y).unwrap_or_else(|e| panic!("{e}"));
    let r = sh_in(h, CLEARML, "docker compose -f next.yml pull");
    assert_eq!(r.code, 18, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains(
            "Error response from daemon: manifest for allegroai/clearml:9.9.9 not found: manifest unknown: manifest unknown"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        server_containers(h),
        before,
        "the server after the failed pull"
    );
    // An injected missing tag of the real table fails the same way.
    h.inject(&["--missing-tag", "mongo:6.0.19"]);
    let r = h.sh("docker pull mongo:6.0.19");
    assert_eq!(
        (r.code, r.stderr.trim()),
        (
            1,
            "Error response from daemon: manifest for mongo:6.0.19 not found: manifest unknown: manifest unknown"
        )
    );
    // A broken tag (the stand-in store has broken twins of the server images only): a restart
    // runs the local image, still the good one; once pulled, the container created from it
    // exits 1 at start.
    h.inject(&["--broken-tag", "allegroai/clearml:1.17.1-554"]);
    h.sh("docker restart clearml-apiserver").ok();
    stays_running(h, "clearml-apiserver");
    sh_in(
        h,
        CLEARML,
        "docker compose pull apiserver && docker compose up -d apiserver",
    )
    .ok();
    wait_inspect(
        h,
        "clearml-apiserver",
        "{{.State.ExitCode}} {{.State.Restarting}}",
        "1 true",
    );
}

/// The `Conflict` error of the daemon about a leftover container: (name, id) from a compose
/// `up`'s stderr, checking the whole sentence.
fn conflict(stderr: &str) -> (String, String) {
    let re = "Error response from daemon: Conflict. The container name \"/";
    let at = stderr
        .find(re)
        .unwrap_or_else(|| panic!("no Conflict error in:\n{stderr}"));
    let rest = &stderr[at + re.len()..];
    let (name, rest) = rest.split_once('"').unwrap_or_default();
    let rest = rest
        .strip_prefix(" is already in use by container \"")
        .unwrap_or_else(|| panic!("not docker's sentence:\n{stderr}"));
    let (id, rest) = rest.split_once('"').unwrap_or_default();
    assert!(
        rest.starts_with(
            ". You have to remove (or rename) that container to be able to reuse that name."
        ),
        "{stderr}"
    );
    (name.to_owned(), id.to_owned())
}

/// Leftover containers of another compose project (same `container_name`s) block `up`.
fn leftover_container_of_another_project_blocks_up(h: &DockerHost) {
    h.sh("mkdir -p /opt/other && cp /opt/clearml/docker-compose.yml /opt/other/")
        .ok();
    let r = sh_in(h, "/opt/other", "docker compose up -d");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let (name, id) = conflict(&r.stderr);
    assert_eq!(inspect(h, &name, "{{.Id}}"), id, "{}", r.stderr);
    h.sh("docker rm -f clearml-apiserver").ok();
    let r = sh_in(h, "/opt/other", "docker compose up -d");
    assert_eq!(
        r.code, 1,
        "the next leftovers still conflict: {}{}",
        r.stdout, r.stderr
    );
    let (name, id) = conflict(&r.stderr);
    assert_ne!(name, "clearml-apiserver", "{}", r.stderr);
    assert_eq!(inspect(h, &name, "{{.Id}}"), id, "{}", r.stderr);
}

/// Trains 0.15 → 0.16 without the ES 5 → 7 migration: Docker creates the missing `elastic_7`
/// as root, where ES 7 cannot write (issue #70) until the documented `chown -R 1000:1000`; then
/// the apiserver reports `missed_es_upgrade` on the empty ES 7.
fn trains_0_15_on_es7_without_migration_reports_missed_es_upgrade(h: &DockerHost) {
    assert!(h.path("/opt/trains/data/elastic/nodes/0").is_dir());
    let env = inspect(h, "trains-agent-services", "{{json .Config.Env}}");
    assert!(
        env.contains("TRAINS_HOST_IP=10.1.2.3") && env.contains("TRAINS_API_ACCESS_KEY=AK"),
        "{env}"
    );
    write_compose(h, "/opt/trains/docker-compose.yml", "0.16", &[]);
    sh_in(
        h,
        "/opt/trains",
        "docker compose down && docker compose pull && docker compose up -d",
    )
    .ok();
    wait_logs(
        h,
        "trains-elastic",
        "AccessDeniedException[/usr/share/elasticsearch/data/nodes]",
    );
    sh_in(
        h,
        "/opt/trains",
        "docker compose down && chown -R 1000:1000 /opt/trains && docker compose up -d",
    )
    .ok();
    h.wait_for_apiserver(LIMIT);
    let v = api(h, "", "auth.fixed_users_mode");
    assert_eq!(v["data"]["server_errors"]["missed_es_upgrade"], true, "{v}");
    wait_logs(h, "trains-apiserver", "ES database seems not migrated");
    let p = api(h, "", "debug.ping");
    assert_eq!(p["data"]["msg"], "Because it trains cats and dogs", "{p}");
}

/// Elasticsearch needs its data owned by uid 1000 and 500 MB free (the flood stage), here on
/// a file system of its own: 300 MB, then 5000 MB.
fn elastic_needs_uid_1000_and_500_mb(h: &DockerHost) {
    let es = "/opt/clearml/data/elastic_7";
    h.inject(&["--chown-data", "0"]);
    h.sh("docker restart clearml-elastic").ok();
    wait_logs(h, "clearml-elastic", "failed to obtain node locks");
    h.sh(&format!(
        "docker stop clearml-elastic && cp -a {es} /opt/es-copy"
    ))
    .ok();
    h.inject(&["--disk", &format!("{es}=300m")]);
    h.sh(&format!(
        "cp -a /opt/es-copy/. {es}/ && rm -rf /opt/es-copy"
    ))
    .ok();
    h.inject(&["--chown-data", "1000"]);
    h.sh("docker restart clearml-elastic").ok();
    wait_inspect(h, "clearml-elastic", "{{.State.Status}}", "restarting");
    let last = h.sh("docker logs --tail 2 clearml-elastic 2>&1").stdout;
    assert!(
        last.contains("flood stage disk watermark [500mb] exceeded"),
        "{last}"
    );
    h.sh(&format!("mount -o remount,size=5000m {es}")).ok();
    h.sh("docker restart clearml-elastic").ok();
    stays_running(h, "clearml-elastic");
}

/// `mv /opt/trains /opt/clearml` without `down` first: the trains project keeps running, its
/// services agent's name blocks 0.17's (which keeps the Trains name: clearml/clearml-server
/// 0.17.0 docker/docker-compose.yml), and the rest hold the ports.
fn leftover_trains_containers_hold_the_ports_after_the_rename(h: &DockerHost) {
    h.sh("mv /opt/trains /opt/clearml").ok();
    write_compose(h, COMPOSE, "0.17", &[]);
    let r = sh_in(h, CLEARML, "docker compose up -d");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let (name, _) = conflict(&r.stderr);
    assert_eq!(name, "trains-agent-services", "{}", r.stderr);
    h.sh("docker rm -f trains-agent-services").ok();
    let r = sh_in(h, CLEARML, "docker compose up -d");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("Bind for 0.0.0.0:8081 failed: port is already allocated"),
        "{}",
        r.stderr
    );
}

/// A custom root done by text substitution over the whole compose file also rewrites the
/// container-side `PYTHONPATH: /opt/clearml/apiserver` of async_delete, and the image then
/// cannot find its module: exit 1. Host sides only (as `clearml-sim compose-file --root` and
/// the upgrade's `compose_rebase` do) runs.
fn container_side_paths_rewritten_for_a_custom_root_break_async_delete(h: &DockerHost) {
    sh_in(
        h,
        CLEARML,
        "sed -i 's#/opt/clearml/#/opt/cml/#g' docker-compose.yml && docker compose up -d",
    )
    .ok();
    wait_inspect(h, "async_delete", "{{.State.ExitCode}}", "1");
    wait_logs(h, "async_delete", "No module named 'jobs'");
    sh_in(h, CLEARML, "docker compose down").ok();
    write_compose(h, COMPOSE, "1.16", &["--root", "/opt/cml"]);
    sh_in(h, CLEARML, "docker compose up -d").ok();
    stays_running(h, "async_delete");
}

#[test]
fn host_states_that_break_up_or_the_server() {
    play(&[
        Trap {
            name: "credentials",
            install: &[
                "--era",
                "1.16",
                "--agent-key",
                "AK",
                "--agent-secret",
                "AS",
                "--no-dotenv",
                "--stopped",
            ],
            steps: up_without_the_agent_key_wipes_the_credentials,
        },
        Trap {
            name: "missing_tag",
            install: &["--era", "1.17"],
            steps: missing_tag_pull_fails_and_running_containers_are_untouched,
        },
        Trap {
            name: "leftover_project",
            install: &["--era", "1.16"],
            steps: leftover_container_of_another_project_blocks_up,
        },
        Trap {
            name: "trains_0_15_es7",
            install: &[
                "--era",
                "0.15",
                "--agent-key",
                "AK",
                "--agent-secret",
                "AS",
                "--host-ip",
                "10.1.2.3",
            ],
            steps: trains_0_15_on_es7_without_migration_reports_missed_es_upgrade,
        },
        Trap {
            name: "elastic_uid_disk",
            install: &["--era", "2.0"],
            steps: elastic_needs_uid_1000_and_500_mb,
        },
        Trap {
            name: "leftover_trains",
            install: &["--era", "0.16"],
            steps: leftover_trains_containers_hold_the_ports_after_the_rename,
        },
        Trap {
            name: "custom_root",
            install: &["--era", "1.16", "--stopped"],
            steps: container_side_paths_rewritten_for_a_custom_root_break_async_delete,
        },
    ]);
}

//! The simulated `docker`, `docker compose`, `docker-compose`, `curl` and `wget` surfaces,
//! as detection would use them on hosts of several eras and layouts.

#[path = "support/sim.rs"]
mod sim;

use sim::SimHost;

#[test]
fn inspect_is_docker_shaped() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.17",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
        "--host-ip",
        "10.0.0.9",
        "--git-user",
        "gu",
        "--git-pass",
        "gp",
    ])
    .ok();
    let r = h.sh("docker inspect clearml-apiserver").ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let c = &v[0];
    assert_eq!(c["Name"], "/clearml-apiserver");
    assert_eq!(c["Id"].as_str().map(str::len), Some(64));
    assert_eq!(c["State"]["Status"], "running");
    assert_eq!(c["State"]["Running"], true);
    assert_eq!(c["RestartCount"], 0);
    // 1.17's newest patch, 1.17.1, is upstream's upgrade compose file, which pins its build
    // (clearml/clearml-server 2976ce69, upgrade/1_17_to_2_0/docker-compose.yml).
    assert_eq!(c["Config"]["Image"], "allegroai/clearml:1.17.1-554");
    let labels = &c["Config"]["Labels"];
    assert_eq!(labels["com.docker.compose.project"], "clearml");
    assert_eq!(
        labels["com.docker.compose.project.config_files"],
        "/opt/clearml/docker-compose.yml"
    );
    assert_eq!(
        labels["com.docker.compose.project.working_dir"],
        "/opt/clearml"
    );
    assert_eq!(labels["com.docker.compose.service"], "apiserver");
    let env: Vec<&str> = c["Config"]["Env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert!(env.contains(&"CLEARML_SERVER_VERSION=1.17.1"), "{env:?}");
    assert!(env.contains(&"CLEARML__secure__credentials__services_agent__user_key=AK"));
    let mounts = c["Mounts"].as_array().expect("mounts");
    assert!(mounts.iter().any(|m| m["Type"] == "bind"
        && m["Source"] == "/opt/clearml/config"
        && m["Destination"] == "/opt/clearml/config"));
    assert!(
        c["Image"]
            .as_str()
            .is_some_and(|i| i.starts_with("sha256:"))
    );
    // Templates.
    assert_eq!(
        h.inspect(
            "clearml-apiserver",
            "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"
        ),
        "running 0 0"
    );
    assert_eq!(
        h.inspect("clearml-mongo", "{{range .Mounts}}{{.Source}} {{end}}"),
        "/opt/clearml/data/mongo_4/db /opt/clearml/data/mongo_4/configdb"
    );
    let agent = h.inspect("clearml-agent-services", "{{json .Config.Env}}");
    assert!(
        agent.contains("\"CLEARML_HOST_IP=10.0.0.9\"")
            && agent.contains("\"CLEARML_AGENT_GIT_USER=gu\"")
            && agent.contains("\"CLEARML_AGENT_GIT_PASS=gp\""),
        "{agent}"
    );
    let r = h.sh("docker inspect -f '{{printf \"%s\" .Name}}' clearml-apiserver");
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("\"printf\" not defined"), "{}", r.stderr);
    let r = h.sh("docker inspect -f '{{.Name}}' clearml-apiserver nosuch");
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.trim()),
        (1, "/clearml-apiserver\n", "Error: No such object: nosuch")
    );
    let img = h
        .sh("docker image inspect --format '{{json .Config.Env}}' allegroai/clearml:latest")
        .ok()
        .stdout;
    assert!(img.contains("CLEARML_SERVER_BUILD=554"), "{img}");
    // ps filters and formats.
    let names = h
        .sh("docker ps -a --filter name=clearml- --filter name=async_delete --format '{{.Names}}'")
        .ok()
        .stdout;
    assert_eq!(names.lines().count(), 8, "{names}");
    let one = h
        .sh("docker ps --filter name=clearml-mongo --format '{{json .}}'")
        .ok()
        .stdout;
    let row: serde_json::Value = serde_json::from_str(one.trim()).expect("row");
    assert_eq!(
        (
            row["Names"].as_str(),
            row["State"].as_str(),
            row["Image"].as_str()
        ),
        (Some("clearml-mongo"), Some("running"), Some("mongo:5.0.26"))
    );
}

#[test]
fn stopped_containers_refuse_exec_and_http() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "2.2"]).ok();
    h.sh("docker stop clearml-apiserver clearml-mongo").ok();
    let id = h.inspect("clearml-mongo", "{{.Id}}");
    let r = h.sh("docker exec clearml-mongo mongosh --quiet --eval 'db.version()'");
    assert_eq!(
        (r.code, r.stderr.trim().to_string()),
        (
            1,
            format!("Error response from daemon: container {id} is not running")
        )
    );
    let r = h.sh("curl -sS -m 5 http://localhost:8008/debug.ping");
    assert_eq!(r.code, 7);
    let r = h.sh("wget -q -O - http://localhost:8008/debug.ping");
    assert_eq!(r.code, 4);
    let r = h
        .sh("curl -s http://localhost:8080/api/debug.ping -w ' %{http_code}'")
        .ok();
    assert!(r.stdout.ends_with(" 502"), "{}", r.stdout);
    let r = h.sh("docker exec nosuch true");
    assert_eq!(
        r.stderr.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    // `docker start` applies the rules again.
    h.sh("docker start clearml-mongo clearml-apiserver").ok();
    let r = h.sh("wget -qO- http://127.0.0.1:8008/debug.ping").ok();
    assert!(r.stdout.contains("\"result_code\":200"));
    let r = h
        .sh("curl -sf -H 'Accept: application/json' localhost:8080/version.json")
        .ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["version"], "2.2.0-702");
}

#[test]
fn probes_inside_containers_by_era() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "0.17"]).ok();
    let r = h.sh("docker exec clearml-apiserver sh -c 'cat /opt/clearml/apiserver/version.py /opt/trains/apiserver/version.py /opt/trains/server/version.py 2>/dev/null'");
    assert_eq!(r.stdout, "__version__ = \"0.17.0\"\n");
    assert_eq!(
        h.sh("docker exec clearml-apiserver printenv CLEARML_SERVER_VERSION")
            .code,
        1
    );
    assert_eq!(h.sh("docker exec clearml-mongo mongosh --eval 1").code, 127);
    let v = h
        .sh("docker exec clearml-mongo mongo --quiet --eval 'db.version()'")
        .ok()
        .stdout;
    assert_eq!(v, "3.6.5\n");
    let r = h.sh("docker exec clearml-mongo mongo --quiet --eval 'JSON.stringify(db.getSiblingDB(\"backend\").versions.find({},{num:1}).toArray())'").ok();
    let arr: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json");
    assert_eq!(
        arr.as_array()
            .and_then(|a| a.last())
            .map(|d| d["num"].clone()),
        Some(serde_json::json!("0.17.0"))
    );
    assert_eq!(
        h.sh("docker exec clearml-redis redis-cli INFO server")
            .ok()
            .stdout
            .lines()
            .nth(1),
        Some("redis_version:5.0.14")
    );
    let es = h
        .sh("docker exec clearml-elastic curl -s 'localhost:9200/_cat/indices?v'")
        .ok()
        .stdout;
    assert!(
        es.starts_with("health status index") && es.contains("events-log-"),
        "{es}"
    );
    let h2 = SimHost::new();
    h2.sim(&["init", "--era", "1.12"]).ok();
    assert_eq!(
        h2.sh("docker exec clearml-apiserver cat /opt/clearml/apiserver/version.py")
            .ok()
            .stdout,
        "__version__ = \"1.12.0\"\n"
    );
    assert_eq!(
        h2.sh("docker exec clearml-apiserver printenv CLEARML_SERVER_VERSION")
            .ok()
            .stdout,
        "1.12.1\n"
    );
    let fcv = h2.sh("docker exec clearml-mongo mongo --quiet --eval 'db.adminCommand({setFeatureCompatibilityVersion:\"5.0\"})'").ok().stdout;
    assert!(
        fcv.contains("\"ok\" : 0") && fcv.contains("BadValue"),
        "{fcv}"
    );
}

#[test]
fn compose_v1_only_host_and_interpolation_flavours() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.16", "--compose", "v1"]).ok();
    let r = h.sh("docker compose version");
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (
            1,
            "docker: 'compose' is not a docker command.\nSee 'docker --help'\n"
        )
    );
    assert!(
        h.sh("docker-compose version")
            .ok()
            .stdout
            .starts_with("docker-compose version 1.29.2")
    );
    assert_eq!(
        h.inspect(
            "clearml-apiserver",
            "{{index .Config.Labels \"com.docker.compose.version\"}}"
        ),
        "1.29.2"
    );
    // v1 takes `${A:-$B}` defaults literally; v2 resolves them.
    let env = [("CLEARML_API_ACCESS_KEY", "fromshell")];
    let v1 = h
        .sh_in("/opt/clearml", "docker-compose config", &env)
        .ok()
        .stdout;
    assert!(
        v1.contains("CLEARML_API_ACCESS_KEY: $CLEARML_API_ACCESS_KEY"),
        "{v1}"
    );
    h.sim(&["inject", "--compose", "both"]).ok();
    let v2 = h
        .sh_in("/opt/clearml", "docker compose config", &env)
        .ok()
        .stdout;
    assert!(
        v2.starts_with("name: clearml\n") && v2.contains("CLEARML_API_ACCESS_KEY: fromshell"),
        "{v2}"
    );
    // v1 reads .env from the CWD, v2 from the project directory.
    std::fs::write(
        h.path("/opt/clearml/.env"),
        "CLEARML_AGENT_ACCESS_KEY=inproject\n",
    )
    .expect("env");
    let v1 = h
        .sh_in(
            "/",
            "docker-compose -f /opt/clearml/docker-compose.yml config",
            &[],
        )
        .ok()
        .stdout;
    assert!(
        v1.contains("user_key: ''") || v1.contains("user_key: \"\""),
        "{v1}"
    );
    let v2 = h
        .sh_in(
            "/",
            "docker compose -f /opt/clearml/docker-compose.yml config",
            &[],
        )
        .ok()
        .stdout;
    assert!(v2.contains("user_key: inproject"), "{v2}");
    // v1 `up` over an existing container with a new config hits KeyError 'ContainerConfig'.
    let r = h.sh_in(
        "/opt/clearml",
        "docker-compose up -d",
        &[
            ("CLEARML_AGENT_ACCESS_KEY", "x"),
            ("CLEARML_AGENT_SECRET_KEY", "y"),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("KeyError: 'ContainerConfig'"),
        "{}",
        r.stderr
    );
}

#[test]
fn docker_access_root_only_and_none() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "2.0", "--docker-access", "none"])
        .ok();
    assert_eq!(h.sh("docker ps").code, 127);
    h.sim(&["inject", "--docker-access", "root"]).ok();
    // Tests run as root here; a non-root caller gets the real permission error (unit-tested rule).
    assert_eq!(
        h.sh("docker info --format '{{.ServerVersion}}'")
            .ok()
            .stdout,
        "27.3.1\n"
    );
    assert!(
        h.sh("docker version")
            .ok()
            .stdout
            .contains("Server: Docker Engine - Community")
    );
}

#[test]
fn custom_root_stopped_and_no_clearml_hosts() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "1.12",
        "--root",
        "/srv/clearml",
        "--stopped",
    ])
    .ok();
    assert_eq!(h.sh("docker ps -a -q").ok().stdout, "");
    let y = std::fs::read_to_string(h.path("/srv/clearml/docker-compose.yml")).expect("compose");
    assert!(
        y.contains("/srv/clearml/data/elastic_7:/usr/share/elasticsearch/data")
            && y.contains("elasticsearch:7.17.7")
    );
    h.sh_in("/srv/clearml", "docker compose up -d", &[]).ok();
    assert_eq!(
        h.inspect(
            "clearml-apiserver",
            "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}"
        ),
        "/srv/clearml"
    );
    assert!(
        h.sh("curl -s localhost:8008/server.info")
            .ok()
            .stdout
            .contains("\"version\":\"1.12.1\"")
    );
    let down = h.sh_in("/srv/clearml", "docker compose down", &[]).ok();
    assert!(down.stderr.contains("Container clearml-apiserver  Removed"));
    assert!(
        h.path("/srv/clearml/data/mongo_4/db/.sim-mongo.json")
            .is_file(),
        "down keeps data"
    );
    let n = SimHost::new();
    n.sim(&["init", "--no-clearml"]).ok();
    assert_eq!(n.sh("docker ps -a").ok().stdout.lines().count(), 1);
    assert_eq!(
        n.sh("curl -s localhost:8008/debug.ping").code,
        7,
        "nothing listens: the real curl answers"
    );
    let exited = SimHost::new();
    exited.sim(&["init", "--era", "2.3", "--exited"]).ok();
    assert_eq!(
        exited.inspect("clearml-apiserver", "{{.State.Status}}"),
        "exited"
    );
}

#[test]
fn other_urls_go_to_the_real_curl() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "2.3"]).ok();
    let f = h.tmp.path().join("mirror.yml");
    std::fs::write(&f, "services: {}\n").expect("w");
    let r = h.sh(&format!("curl -s file://{}", f.display())).ok();
    assert_eq!(r.stdout, "services: {}\n");
    // Output paths are host paths, for the real curl too.
    h.sh(&format!(
        "curl -s -o /opt/clearml/mirror-copy.yml file://{}",
        f.display()
    ))
    .ok();
    assert_eq!(
        std::fs::read_to_string(h.path("/opt/clearml/mirror-copy.yml")).expect("copy"),
        "services: {}\n"
    );
    let r = h
        .sh("curl -s -o /opt/clearml/info.json -w '%{http_code}' http://localhost:8008/server.info")
        .ok();
    assert_eq!(r.stdout, "401");
    let v = h.json("/opt/clearml/info.json");
    assert_eq!(
        v["meta"]["result_msg"],
        "Unauthorized (missing credentials)"
    );
}

#[test]
fn every_era_lays_out_a_healthy_host() {
    // (era, root, container prefix, reported version, ES dir, mongo dir). Before 1.1 the image
    // sets no version variable and the server reports version.py, which upstream bumped for
    // 0.14.2, 0.15.1 and 0.16.1 (clearml/clearml-server tags, server/version.py).
    let eras = [
        (
            "0.14",
            "/opt/trains",
            "trains",
            "0.14.2",
            "elastic",
            "mongo",
        ),
        (
            "0.15",
            "/opt/trains",
            "trains",
            "0.15.1",
            "elastic",
            "mongo",
        ),
        (
            "0.16",
            "/opt/trains",
            "trains",
            "0.16.1",
            "elastic_7",
            "mongo",
        ),
        (
            "0.17",
            "/opt/clearml",
            "clearml",
            "0.17.0",
            "elastic_7",
            "mongo",
        ),
        (
            "1.1",
            "/opt/clearml",
            "clearml",
            "1.1.1",
            "elastic_7",
            "mongo",
        ),
        (
            "1.5",
            "/opt/clearml",
            "clearml",
            "1.5.0",
            "elastic_7",
            "mongo_4",
        ),
        (
            "1.12",
            "/opt/clearml",
            "clearml",
            "1.12.1",
            "elastic_7",
            "mongo_4",
        ),
        (
            "1.16",
            "/opt/clearml",
            "clearml",
            "1.16.2",
            "elastic_7",
            "mongo_4",
        ),
        (
            "1.17",
            "/opt/clearml",
            "clearml",
            "1.17.1",
            "elastic_7",
            "mongo_4",
        ),
        (
            "2.0",
            "/opt/clearml",
            "clearml",
            "2.0.0",
            "elastic_7",
            "mongo_4",
        ),
        (
            "2.2",
            "/opt/clearml",
            "clearml",
            "2.2.0",
            "elastic_7",
            "mongo_4",
        ),
        (
            "2.3",
            "/opt/clearml",
            "clearml",
            "2.3.0",
            "elastic_7",
            "mongo_4",
        ),
    ];
    for (era, root, prefix, version, es_dir, mongo_dir) in eras {
        let h = SimHost::new();
        h.sim(&[
            "init",
            "--era",
            era,
            "--agent-key",
            "AK",
            "--agent-secret",
            "AS",
        ])
        .ok();
        let states = h
            .sh("docker ps -a --format '{{.Names}}={{.State}}'")
            .ok()
            .stdout;
        for line in states.lines() {
            assert!(line.ends_with("=running"), "{era}: {states}");
        }
        assert!(
            states.contains(&format!("{prefix}-apiserver=running")),
            "{era}: {states}"
        );
        assert!(
            h.path(&format!("{root}/docker-compose.yml")).is_file(),
            "{era}"
        );
        assert!(
            h.path(&format!("{root}/data/{es_dir}/.sim-es.json"))
                .is_file(),
            "{era}"
        );
        let m = h.json(&format!("{root}/data/{mongo_dir}/db/.sim-mongo.json"));
        assert_eq!(m["services_agent"]["key"], "AK", "{era}");
        let r = h.sh("curl -s -u AK:AS localhost:8008/server.info").ok();
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
        assert_eq!(v["data"]["version"], version, "{era}: {v}");
        let cfg = h
            .sh_in(root, "docker compose config --services", &[])
            .ok()
            .stdout;
        assert!(
            cfg.contains("apiserver\n") && cfg.contains("mongo\n"),
            "{era}: {cfg}"
        );
    }
}

#[test]
fn non_root_callers_need_the_docker_group() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let h = SimHost::new();
    h.sim(&["init", "--era", "1.17", "--docker-access", "root"])
        .ok();
    std::fs::set_permissions(
        h.tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let as_nobody = |cmd: &str| {
        h.sh(&format!(
            "setpriv --reuid 65534 --regid 65534 --clear-groups {cmd}"
        ))
    };
    let r = as_nobody("docker ps");
    assert_eq!(r.code, 1);
    assert!(r.stderr.starts_with("permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock"), "{}", r.stderr);
    let r = as_nobody("docker version");
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with("Client: Docker Engine - Community")
            && r.stderr.contains("permission denied")
    );
    // Group access: a member of the host's docker group (by gid) may use it.
    let gid = std::fs::read_to_string("/etc/group").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"docker"))
                .then(|| f.get(2).map(|g| g.to_string()))
                .flatten()
        })
    });
    if let Some(g) = gid {
        h.sim(&["inject", "--docker-access", "group"]).ok();
        let r = h.sh(&format!(
            "setpriv --reuid 65534 --regid 65534 --groups {g} docker ps -q"
        ));
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(as_nobody("docker ps").code, 1);
    }
}

/// `docker tag` and moved tags: a pull that moves a reference keeps the old image (dangling,
/// reachable by ID), `docker tag ID REF` points the reference back, containers keep the ID of the
/// image they were created from, and `inject --latest` moves the registry's `latest` past 2.3.0.
#[test]
fn tags_move_and_images_stay_reachable_by_id() {
    let h = SimHost::new();
    h.sim(&[
        "init",
        "--era",
        "2.3",
        "--agent-key",
        "AK",
        "--agent-secret",
        "AS",
    ])
    .ok();
    let id_of = |r: &str| {
        h.sh(&format!("docker image inspect -f '{{{{.Id}}}}' {r}"))
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    let short = |id: &str| id.trim_start_matches("sha256:")[..12].to_string();
    let old = id_of("clearml/server:latest");
    assert!(old.starts_with("sha256:") && old.len() == 71, "{old}");
    assert_eq!(h.inspect("clearml-apiserver", "{{.Image}}"), old);
    // One image, two names.
    h.sh("docker tag clearml/server:latest site/keep:1").ok();
    assert_eq!(id_of("site/keep:1"), old);
    let tags = h
        .sh(&format!(
            "docker image inspect -f '{{{{join .RepoTags \",\"}}}}' {old}"
        ))
        .ok()
        .stdout;
    assert_eq!(tags.trim(), "clearml/server:latest,site/keep:1");
    let up_to_date = h.sh("docker pull clearml/server").ok().stdout;
    assert!(
        up_to_date.contains("Status: Image is up to date for clearml/server:latest"),
        "{up_to_date}"
    );
    // The registry's latest moves on to 2.4.0.
    h.sim(&["inject", "--latest", "clearml/server=2.4.0"]).ok();
    let p = h.sh("docker pull clearml/server:latest").ok().stdout;
    assert!(
        p.contains("Status: Downloaded newer image for clearml/server:latest"),
        "{p}"
    );
    let new = id_of("clearml/server:latest");
    assert_ne!(new, old);
    assert_eq!(
        h.sh(&format!(
            "docker image inspect -f '{{{{index .Config.Env 1}}}}' {new}"
        ))
        .ok()
        .stdout,
        "CLEARML_SERVER_VERSION=2.4.0\n"
    );
    // Still named site/keep:1, so nothing dangles yet. The running containers keep their image;
    // `docker ps` shows their reference only while it names that image, else the image's ID.
    assert_eq!(
        h.sh("docker images -q --filter dangling=true").ok().stdout,
        ""
    );
    assert_eq!(h.inspect("clearml-apiserver", "{{.Image}}"), old);
    let ps = h
        .sh("docker ps --filter name=clearml-apiserver --format '{{.Image}}'")
        .ok()
        .stdout;
    assert_eq!(
        ps.trim(),
        short(&old),
        "the tag moved: ps shows the image ID"
    );
    let ps = h
        .sh("docker ps --no-trunc --filter name=clearml-apiserver --format '{{.Image}}'")
        .ok()
        .stdout;
    assert_eq!(ps.trim(), old);
    let anc = h
        .sh(&format!(
            "docker ps --filter ancestor={} --format '{{{{.Names}}}}' | sort",
            short(&old)
        ))
        .ok()
        .stdout;
    assert!(
        anc.contains("clearml-apiserver\n") && anc.contains("clearml-webserver\n"),
        "{anc}"
    );
    // Move its other name too: the old image dangles, shown as <none>, found by ID.
    h.sh("docker tag clearml/server:latest site/keep:1").ok();
    let dangling = h.sh("docker images --filter dangling=true").ok().stdout;
    assert!(
        dangling
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("<none>")
                && l.split_whitespace().nth(1) == Some("<none>")
                && l.split_whitespace().nth(2) == Some(short(&old).as_str())),
        "{dangling}"
    );
    assert_eq!(dangling.lines().count(), 2, "{dangling}");
    let all = h
        .sh("docker images -a --format '{{.Repository}}:{{.Tag}} {{.ID}}'")
        .ok()
        .stdout;
    assert!(
        all.contains(&format!("<none>:<none> {}", short(&old))),
        "{all}"
    );
    assert!(
        all.contains(&format!("clearml/server:latest {}", short(&new))),
        "{all}"
    );
    assert_eq!(
        h.sh(&format!(
            "docker image inspect -f '{{{{.Id}}}} {{{{len .RepoTags}}}} {{{{len .RepoDigests}}}}' {}",
            short(&old)
        ))
        .ok()
        .stdout
        .trim(),
        format!("{old} 0 1")
    );
    // `docker run ID` runs the dangling image.
    h.sh(&format!(
        "docker run -d --name old-web {} webserver",
        short(&old)
    ))
    .ok();
    assert_eq!(
        h.inspect("old-web", "{{.Image}} {{.Config.Image}} {{.State.Status}}"),
        format!("{old} {} running", short(&old))
    );
    h.sh("docker rm -f old-web").ok();
    // `docker tag ID REF` points `latest` back: `up -d` keeps the running containers; the
    // 2.4.0 image is still named site/keep:1.
    h.sh(&format!("docker tag {old} clearml/server:latest"))
        .ok();
    assert_eq!(id_of("clearml/server:latest"), old);
    assert_eq!(h.sh("docker images -q -f dangling=true").ok().stdout, "");
    assert_eq!(id_of("site/keep:1"), new);
    let up = h.sh_in("/opt/clearml", "docker compose up -d", &[]).ok();
    assert!(
        up.stderr.contains("Container clearml-apiserver  Running")
            && !up.stderr.contains("Recreate"),
        "{}",
        up.stderr
    );
    // Pulling again and `up -d` recreates on 2.4.0, which reports its version.
    h.sh("docker pull clearml/server:latest").ok();
    assert_eq!(id_of("clearml/server:latest"), new);
    assert_eq!(
        h.sh("docker images -q -f dangling=true").ok().stdout.trim(),
        short(&old)
    );
    let up = h.sh_in("/opt/clearml", "docker compose up -d", &[]).ok();
    assert!(
        up.stderr.contains("Container clearml-apiserver  Recreate"),
        "{}",
        up.stderr
    );
    assert_eq!(h.inspect("clearml-apiserver", "{{.Image}}"), new);
    let info = h
        .sh("curl -s -u AK:AS localhost:8008/server.info")
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(
        (v["data"]["version"].as_str(), v["data"]["build"].as_str()),
        (Some("2.4.0"), Some("771")),
        "{v}"
    );
    assert_eq!(
        h.sh("docker info --format '{{.Images}}'")
            .ok()
            .stdout
            .trim(),
        "6",
        "server 2.3.0 and 2.4.0, agent, mongo, elastic, redis"
    );
    // --clear: the registry's latest is 2.3.0 again.
    h.sim(&["inject", "--clear"]).ok();
    h.sh("docker pull clearml/server:latest").ok();
    assert_eq!(id_of("clearml/server:latest"), old);
    // Errors as docker gives them.
    let r = h.sh("docker tag nosuch clearml/x");
    assert_eq!(
        (r.code, r.stderr.trim()),
        (
            1,
            "Error response from daemon: No such image: nosuch:latest"
        )
    );
    let r = h.sh("docker tag clearml/server:latest Clearml/X");
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("invalid reference format"),
        "{}",
        r.stderr
    );
    let r = h.sh("docker tag clearml/server:latest");
    assert!(
        r.code == 1
            && r.stderr
                .starts_with("\"docker tag\" requires exactly 2 arguments."),
        "{}",
        r.stderr
    );
    assert_eq!(h.sh("docker image inspect sha256:0000").code, 1);
    // --latest takes a server repository and a release the registry can hold.
    assert_eq!(h.sim(&["inject", "--latest", "mongo=7.0.22"]).code, 2);
    assert_eq!(
        h.sim(&["inject", "--latest", "clearml/server=9.9.9"]).code,
        2
    );
    h.sim(&["inject", "--latest", "allegroai/clearml=1.17.1"])
        .ok();
    let r = h.sh("docker pull allegroai/clearml && docker image inspect -f '{{json .Config.Env}}' allegroai/clearml").ok();
    assert!(
        r.stdout.contains("CLEARML_SERVER_VERSION=1.17.1"),
        "{}",
        r.stdout
    );
}

/// ClearML Serving beside the server: its inference container publishes 8080 in upstream's
/// compose file, so beside a ClearML server a site moves it (`init --serving PORT`); the Serving
/// containers are their own compose project and never the server's.
#[test]
fn clearml_serving_beside_the_server() {
    let h = SimHost::new();
    let r = h.sim(&["init", "--era", "2.3", "--serving", "8090"]).ok();
    assert!(
        r.stdout.contains("clearml-serving-inference Running"),
        "{}",
        r.stdout
    );
    let ps = h
        .sh("docker ps --format '{{.Names}}\t{{.Ports}}' | sort")
        .ok()
        .stdout;
    for line in [
        "clearml-serving-inference\t0.0.0.0:8090->8080/tcp",
        "clearml-serving-grafana\t0.0.0.0:3000->3000/tcp",
        "clearml-serving-kafka\t",
        "clearml-serving-zookeeper\t",
        "clearml-serving-prometheus\t",
        "clearml-serving-alertmanager\t",
        "clearml-serving-statistics\t",
        "clearml-webserver\t0.0.0.0:8080->80/tcp",
    ] {
        assert!(ps.lines().any(|l| l == line), "{line:?} in\n{ps}");
    }
    assert_eq!(
        h.inspect(
            "clearml-serving-inference",
            "{{index .Config.Labels \"com.docker.compose.project\"}} {{.Config.Image}}"
        ),
        "docker clearml/clearml-serving-inference:latest"
    );
    let y = std::fs::read_to_string(h.path("/opt/clearml-serving/docker/compose.yaml"))
        .expect("compose");
    assert!(
        y.contains("- \"8090:8080\"")
            && y.contains("CLEARML_SERVING_PORT: ${CLEARML_SERVING_PORT:-8080}")
    );
    // Each port answers for its own holder.
    let r = h
        .sh("curl -s -w ' %{http_code}' localhost:8090/serve/test_model")
        .ok();
    assert_eq!(r.stdout, "{\"detail\":\"Not Found\"} 404");
    let r = h.sh("curl -s localhost:8080/version.json").ok();
    assert!(
        r.stdout.contains("\"version\":\"2.3.0-735\""),
        "{}",
        r.stdout
    );
    assert!(
        h.sh("curl -s localhost:3000/api/health")
            .ok()
            .stdout
            .contains("\"version\": \"8.4.4\"")
    );
    let logs = h.sh("docker logs clearml-serving-inference").ok().stdout;
    assert!(logs.contains("SERVING_PORT=8080"), "{logs}");
    // The server's own compose project does not include them.
    let down = h.sh_in("/opt/clearml", "docker compose down", &[]).ok();
    assert!(!down.stderr.contains("serving"), "{}", down.stderr);
    assert_eq!(
        h.sh("docker ps -q --filter name=clearml-serving- | wc -l")
            .ok()
            .stdout
            .trim(),
        "7"
    );

    // Upstream's own port, 8080, beside a running server: compose fails like docker does and
    // the inference container is left created.
    let c = SimHost::new();
    let r = c.sim(&["init", "--era", "2.3", "--serving", "8080"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("Bind for 0.0.0.0:8080 failed: port is already allocated"),
        "{}",
        r.stderr
    );
    assert_eq!(
        c.inspect("clearml-serving-inference", "{{.State.Status}}"),
        "created"
    );
    // On 8080 while the server is down, Serving holds the port and the server cannot start.
    let s = SimHost::new();
    s.sim(&["init", "--era", "2.3", "--stopped", "--serving", "8080"])
        .ok();
    let r = s.sh_in("/opt/clearml", "docker compose up -d", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("port is already allocated"),
        "{}",
        r.stderr
    );
    let ps = s
        .sh("docker ps --format '{{.Names}} {{.Ports}}'")
        .ok()
        .stdout;
    assert!(
        ps.lines()
            .any(|l| l == "clearml-serving-inference 0.0.0.0:8080->8080/tcp"),
        "{ps}"
    );
    // A host with Serving only.
    let n = SimHost::new();
    n.sim(&["init", "--no-clearml", "--serving", "8080"]).ok();
    assert_eq!(
        n.sh("docker ps -a --format '{{.Names}}' | grep -c clearml-serving-")
            .ok()
            .stdout
            .trim(),
        "7"
    );
    assert_eq!(
        n.sh("docker ps -a -q --filter name=clearml-apiserver")
            .ok()
            .stdout,
        ""
    );
    // And the stand-alone `docker run` of upstream's README, with the tags' image name.
    let d = SimHost::new();
    d.sim(&["init", "--era", "2.3", "--stopped"]).ok();
    let r = d
        .sh("docker run -d --name clearml-serving-inference -p 8080:8080 allegroai/clearml-serving-inference:latest")
        .ok();
    assert_eq!(r.stdout.trim().len(), 64);
    assert_eq!(
        d.inspect(
            "clearml-serving-inference",
            "{{.State.Status}} {{.RestartCount}}"
        ),
        "running 0"
    );
    let r = d.sh("curl -s -w ' %{http_code}' localhost:8080/").ok();
    assert_eq!(r.stdout, "{\"detail\":\"Not Found\"} 404");
}

/// The simulated host is prepared as ClearML's docs say today: `vm.max_map_count=524288`
/// (clearml/clearml-docs df22ffc, docs/deploying_clearml/clearml_server_linux_mac.md).
#[test]
fn max_map_count_defaults_to_the_documented_524288() {
    let h = SimHost::new();
    h.sim(&["init", "--era", "2.3"]).ok();
    std::os::unix::fs::symlink(sim::SIM, h.bin.join("sysctl")).expect("symlink");
    assert_eq!(h.sh("sysctl -n vm.max_map_count").ok().stdout, "524288\n");
    let st: serde_json::Value = serde_json::from_str(&h.sim(&["show"]).ok().stdout).expect("state");
    assert_eq!(st["settings"]["max_map_count"], 524_288);
}

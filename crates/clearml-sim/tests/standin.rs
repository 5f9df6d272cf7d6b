//! The stand-in images' processes (crates/clearml-sim/src/standin/): the simulator binary run under
//! the real commands' names with an image description (`CLEARML_STANDIN_CONFIG`, one entry of
//! `clearml-sim standin-images`) and a container root (`CLEARML_STANDIN_ROOT`) whose data dirs
//! are the ones `clearml-sim init` lays out, as plain processes in a private network namespace
//! (`unshare -n`, loopback up), checked with the real curl.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SIM: &str = env!("CARGO_BIN_EXE_clearml-sim");
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn images(args: &[&str]) -> Vec<Value> {
    let o = Command::new(SIM)
        .arg("standin-images")
        .args(args)
        .env_remove("CLEARML_STANDIN_CONFIG")
        .output()
        .expect("run clearml-sim standin-images");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    match serde_json::from_slice(&o.stdout).expect("JSON") {
        Value::Array(a) => a,
        other => panic!("not an array: {other}"),
    }
}

fn image(list: &[Value], reference: &str) -> Value {
    list.iter()
        .find(|d| d["reference"] == reference)
        .cloned()
        .unwrap_or_else(|| panic!("{reference} is not among the stand-in images"))
}

fn has_link(d: &Value, path: &str) -> bool {
    d["links"]
        .as_array()
        .is_some_and(|l| l.iter().any(|x| x == path))
}

fn root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped: network namespaces need root");
    false
}

/// A host's data as `clearml-sim init --era ERA --stopped` lays it out, and a private network
/// namespace (held by `unshare -n sleep`) to run stand-ins in.
struct Host {
    dir: tempfile::TempDir,
    holder: Child,
    procs: Vec<(String, Child)>,
}

impl Host {
    fn new(era: &str) -> Host {
        let dir = tempfile::tempdir().expect("tmp");
        let o = Command::new(SIM)
            .args([
                "init",
                "--era",
                era,
                "--agent-key",
                "AK",
                "--agent-secret",
                "AS",
            ])
            .env("CLEARML_SIM_FSROOT", dir.path().join("fs"))
            .env_remove("CLEARML_STANDIN_CONFIG")
            .output()
            .expect("init");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let holder = Command::new("unshare")
            .args(["-n", "--", "sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare -n (util-linux)");
        let h = Host {
            dir,
            holder,
            procs: vec![],
        };
        // Wait for the namespace to exist (the holder's differs from ours), then bring its
        // loopback up.
        let t = Instant::now();
        let ours = std::fs::read_link("/proc/self/ns/net").expect("own netns");
        while std::fs::read_link(format!("/proc/{}/ns/net", h.holder.id())).ok()
            == Some(ours.clone())
        {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "unshare -n did not start"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        loop {
            let o = h
                .ns(&["ip", "link", "set", "lo", "up"])
                .output()
                .expect("nsenter");
            if o.status.success() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "no namespace: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        h
    }

    /// `argv` inside the namespace.
    fn ns(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.holder.id().to_string())
            .arg("-n")
            .arg("--")
            .args(argv);
        c.env_clear().env("PATH", PATH);
        c
    }

    /// The host's data path (under the init'ed file system root).
    fn data(&self, p: &str) -> PathBuf {
        self.dir.path().join("fs").join(p.trim_start_matches('/'))
    }

    /// A container of `desc` named `name`: its description file, its root with `mounts`
    /// (container path → host data path) as symlinks, and `/proc/cpuinfo` with AVX.
    fn container(&self, name: &str, desc: &Value, mounts: &[(&str, &str)]) -> (PathBuf, PathBuf) {
        let cfg = self.dir.path().join(format!("{name}.json"));
        std::fs::write(&cfg, desc.to_string()).expect("write description");
        let root = self.dir.path().join(format!("{name}-root"));
        for (inside, host) in mounts {
            let link = root.join(inside.trim_start_matches('/'));
            std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
            std::os::unix::fs::symlink(self.data(host), &link).expect("symlink");
        }
        std::fs::create_dir_all(root.join("proc")).expect("proc");
        std::fs::write(
            root.join("proc/cpuinfo"),
            "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2\n\n",
        )
        .expect("cpuinfo");
        (cfg, root)
    }

    /// The stand-in binary under the name `cmd`.
    fn command(&self, cmd: &str) -> PathBuf {
        let bin = self.dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let p = bin.join(cmd);
        if !p.exists() {
            std::os::unix::fs::symlink(SIM, &p).expect("symlink");
        }
        p
    }

    fn standin(
        &self,
        cfg: &(PathBuf, PathBuf),
        cmd: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let prog = self.command(cmd);
        let mut argv = vec![prog.to_str().expect("utf-8")];
        argv.extend_from_slice(args);
        let mut c = self.ns(&argv);
        c.env("CLEARML_STANDIN_CONFIG", &cfg.0)
            .env("CLEARML_STANDIN_ROOT", &cfg.1)
            .env("CLEARML_STANDIN_RETRY_DELAY", "0.1");
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Start a long-running stand-in; its output goes to NAME.log.
    fn start(&mut self, name: &str, mut c: Command) {
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).expect("log");
        let err = log.try_clone().expect("log");
        let child = c
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn stand-in");
        self.procs.push((name.to_string(), child));
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Real curl inside the namespace.
    fn curl(&self, args: &[&str]) -> Output {
        let mut argv = vec!["curl", "-s", "-m", "5"];
        argv.extend_from_slice(args);
        self.ns(&argv).output().expect("curl")
    }

    /// Wait until `url` answers (any status), or fail with the logs.
    fn wait_http(&self, url: &str) {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if self.curl(&["-o", "/dev/null", url]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        let logs: Vec<String> = self
            .procs
            .iter()
            .map(|(n, _)| format!("--- {n}\n{}", self.log(n)))
            .collect();
        panic!("{url} does not answer\n{}", logs.join("\n"));
    }

    /// SIGTERM every stand-in; each must end at once with 0.
    fn stop_all(&mut self) {
        for (_, c) in &self.procs {
            if let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(c.id()).unwrap_or(0)) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
        }
        let t = Instant::now();
        let mut left = std::mem::take(&mut self.procs);
        while !left.is_empty() {
            assert!(
                t.elapsed() < Duration::from_secs(3),
                "still running 3 s after SIGTERM: {:?}",
                left.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
            );
            let mut still = Vec::new();
            for (n, mut c) in left {
                match c.try_wait().expect("wait") {
                    Some(st) => {
                        assert_eq!(st.code(), Some(0), "{n} after SIGTERM\n{}", self.log(&n))
                    }
                    None => still.push((n, c)),
                }
            }
            left = still;
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        for (_, c) in &mut self.procs {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn headers_and_json(o: &Output) -> (String, Value) {
    let s = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    let (head, body) = s.split_once("\n\n").unwrap_or((&s, ""));
    let v = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {s}"));
    (head.to_ascii_lowercase(), v)
}

#[test]
fn a_2_3_apiserver_with_its_data_stores_answers_like_the_real_one() {
    if !root() {
        return;
    }
    let list = images(&[]);
    let mut h = Host::new("2.3");
    let uid = {
        let m: Value = serde_json::from_str(
            &std::fs::read_to_string(h.data("/opt/clearml/data/mongo_4/db/.sim-mongo.json"))
                .expect("marker"),
        )
        .expect("json");
        m["server_uid"].as_str().expect("uid").to_string()
    };
    let mongo = h.container(
        "mongo",
        &image(&list, "mongo:7.0.22"),
        &[("/data/db", "/opt/clearml/data/mongo_4/db")],
    );
    let es = h.container(
        "elastic",
        &image(&list, "elasticsearch:8.17.0"),
        &[(
            "/usr/share/elasticsearch/data",
            "/opt/clearml/data/elastic_7",
        )],
    );
    let redis = h.container(
        "redis",
        &image(&list, "redis:7.4.1"),
        &[("/data", "/opt/clearml/data/redis")],
    );
    let server = h.container(
        "server",
        &image(&list, "clearml/server:2.3.0"),
        &[("/mnt/fileserver", "/opt/clearml/data/fileserver")],
    );
    // As compose runs them: the image's entrypoint with the service's command.
    let c = h.standin(
        &mongo,
        "docker-entrypoint.sh",
        &[
            "--setParameter",
            "internalQueryMaxBlockingSortMemoryUsageBytes=196100200",
        ],
        &[],
    );
    h.start("mongo", c);
    let c = h.standin(
        &es,
        "tini",
        &["--", "/usr/local/bin/docker-entrypoint.sh", "eswrapper"],
        &[("cluster.name", "clearml")],
    );
    h.start("elastic", c);
    let c = h.standin(&redis, "docker-entrypoint.sh", &["redis-server"], &[]);
    h.start("redis", c);
    let api_env = [
        ("CLEARML_MONGODB_SERVICE_HOST", "localhost"),
        ("CLEARML_MONGODB_SERVICE_PORT", "27017"),
        ("CLEARML_ELASTIC_SERVICE_HOST", "127.0.0.1"),
        ("CLEARML_ELASTIC_SERVICE_PORT", "9200"),
        ("CLEARML_REDIS_SERVICE_HOST", "127.0.0.1"),
        ("CLEARML_REDIS_SERVICE_PORT", "6379"),
        ("CLEARML_SERVER_VERSION", "2.3.0"),
        ("CLEARML_SERVER_BUILD", "735"),
        (
            "CLEARML__secure__credentials__services_agent__user_key",
            "AK",
        ),
        (
            "CLEARML__secure__credentials__services_agent__user_secret",
            "AS",
        ),
    ];
    let c = h.standin(&server, "entrypoint.sh", &["apiserver"], &api_env);
    h.start("apiserver", c);
    let c = h.standin(
        &server,
        "entrypoint.sh",
        &["webserver"],
        &[("NGINX_APISERVER_ADDRESS", "http://127.0.0.1:8008")],
    );
    h.start("webserver", c);
    let c = h.standin(&server, "entrypoint.sh", &["fileserver"], &[]);
    h.start("fileserver", c);
    h.wait_http("http://127.0.0.1:8008/debug.ping");

    let (head, v) = headers_and_json(&h.curl(&["-i", "http://127.0.0.1:8008/debug.ping"]));
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(v["data"]["msg"], "ClearML server");
    let (head, v) = headers_and_json(&h.curl(&[
        "-i",
        "-u",
        "AK:AS",
        "http://localhost:8008/v2.8/server.info",
    ]));
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(v["data"]["uid"], uid.as_str(), "{v}");
    assert_eq!(v["data"]["version"], "2.3.0");
    assert!(v["data"].get("api_version").is_none(), "{v}");
    let (head, v) = headers_and_json(&h.curl(&["-i", "http://localhost:8008/server.info"]));
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert_eq!(v["meta"]["result_subcode"], 20);
    let logs = h.log("apiserver");
    assert!(logs.contains("DB version: 7.0"), "{logs}");
    assert!(
        logs.contains("Server started, listening on port 8008"),
        "{logs}"
    );

    // The probes clearfleet runs with `docker exec`, and the webserver and fileserver.
    let o = h
        .standin(&es, "curl", &["-s", "localhost:9200"], &[])
        .output()
        .expect("curl");
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(v["version"]["number"], "8.17.0");
    assert_eq!(v["tagline"], "You Know, for Search");
    let o = h
        .standin(
            &mongo,
            "mongosh",
            &["--quiet", "--eval", "db.version()"],
            &[],
        )
        .output()
        .expect("mongosh");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "7.0.22\n",
        "{}",
        text(&o)
    );
    let o = h
        .standin(&redis, "redis-cli", &["INFO", "server"], &[])
        .output()
        .expect("redis-cli");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("redis_version:7.4.1"),
        "{}",
        text(&o)
    );
    h.wait_http("http://127.0.0.1:80/");
    let (_, v) = headers_and_json(&h.curl(&["-i", "http://127.0.0.1:80/version.json"]));
    assert_eq!(v["version"], "2.3.0-735");
    let (_, v) = headers_and_json(&h.curl(&["-i", "http://127.0.0.1:80/api/debug.ping"]));
    assert_eq!(v["data"]["msg"], "ClearML server");
    h.wait_http("http://127.0.0.1:8081/");
    let o = h.curl(&["http://127.0.0.1:8081/example/model.pkl"]);
    assert_eq!(o.stdout, (0u8..=255).collect::<Vec<u8>>(), "{}", text(&o));

    // The services agent: its credentials checked by the server.
    let agent = h.container(
        "agent",
        &image(&list, "clearml/clearml-agent-services:latest"),
        &[],
    );
    let agent_env = |k: &'static str, s: &'static str| {
        vec![
            ("CLEARML_API_HOST", "http://127.0.0.1:8008"),
            ("SHUTDOWN_IF_NO_ACCESS_KEY", "1"),
            ("CLEARML_API_ACCESS_KEY", k),
            ("CLEARML_API_SECRET_KEY", s),
        ]
    };
    let o = h
        .standin(&agent, "entrypoint.sh", &[], &agent_env("AK", "wrong"))
        .output()
        .expect("agent");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("failed to locate provided credentials"));
    let o = h
        .standin(&agent, "entrypoint.sh", &[], &agent_env("", ""))
        .output()
        .expect("agent");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let c = h.standin(&agent, "entrypoint.sh", &[], &agent_env("AK", "AS"));
    h.start("agent", c);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        h.log("agent").contains("services mode"),
        "{}",
        h.log("agent")
    );

    h.stop_all();
    // The raised FCV stays 7.0 and the binary is recorded by mongod.
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(h.data("/opt/clearml/data/mongo_4/db/.sim-mongo.json"))
            .expect("marker"),
    )
    .expect("json");
    assert_eq!(
        (m["binary"].as_str(), m["fcv"].as_str()),
        (Some("7.0.22"), Some("7.0"))
    );
}

#[test]
fn mongod_exits_62_on_a_feature_compatibility_version_two_series_behind() {
    if !root() {
        return;
    }
    let list = images(&[]);
    // 1.16's data: MongoDB 4.4 with FCV 4.4; MongoDB 6.0 accepts only 5.0 or 6.0.
    let h = Host::new("1.16");
    let mongo = h.container(
        "mongo",
        &image(&list, "mongo:6.0.19"),
        &[("/data/db", "/opt/clearml/data/mongo_4/db")],
    );
    let t = Instant::now();
    let o = h
        .standin(&mongo, "docker-entrypoint.sh", &["mongod"], &[])
        .output()
        .expect("mongod");
    assert_eq!(o.status.code(), Some(62), "{}", text(&o));
    assert!(text(&o).contains("Wrong mongod version"), "{}", text(&o));
    assert!(t.elapsed() < Duration::from_secs(3));
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(h.data("/opt/clearml/data/mongo_4/db/.sim-mongo.json"))
            .expect("marker"),
    )
    .expect("json");
    assert_eq!(m["binary"], "4.4.29", "a refused start records nothing");
    // Without AVX, MongoDB 5.0+ dies at once (132).
    std::fs::write(mongo.1.join("proc/cpuinfo"), "flags\t\t: fpu sse2\n").expect("cpuinfo");
    let o = h
        .standin(&mongo, "docker-entrypoint.sh", &["mongod"], &[])
        .output()
        .expect("mongod");
    assert_eq!(o.status.code(), Some(132), "{}", text(&o));
}

#[test]
fn the_shells_are_the_images_and_refuse_without_a_mongod() {
    let list = images(&[]);
    let (m44, m50, m70) = (
        image(&list, "mongo:4.4.29"),
        image(&list, "mongo:5.0.26"),
        image(&list, "mongo:7.0.22"),
    );
    assert!(has_link(&m44, "/usr/bin/mongo") && !has_link(&m44, "/usr/bin/mongosh"));
    assert!(has_link(&m50, "/usr/bin/mongo") && has_link(&m50, "/usr/bin/mongosh"));
    assert!(!has_link(&m70, "/usr/bin/mongo") && has_link(&m70, "/usr/bin/mongosh"));
    if !root() {
        return;
    }
    let mut h = Host::new("2.3");
    let old = h.container("old", &m44, &[]);
    let o = h
        .standin(&old, "mongo", &["--quiet", "--eval", "db.version()"], &[])
        .output()
        .expect("mongo");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("couldn't connect to server 127.0.0.1:27017")
            && text(&o).contains("Connection refused"),
        "{}",
        text(&o)
    );
    let new = h.container(
        "mongo",
        &m70,
        &[("/data/db", "/opt/clearml/data/mongo_4/db")],
    );
    let o = h
        .standin(&new, "mongosh", &["--quiet", "--eval", "db.version()"], &[])
        .output()
        .expect("mongosh");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017"),
        "{}",
        text(&o)
    );
    let c = h.standin(&new, "docker-entrypoint.sh", &["mongod"], &[]);
    h.start("mongod", c);
    h.wait_http("http://127.0.0.1:27017/");
    let eval = |js: &str| {
        h.standin(&new, "mongosh", &["--quiet", "--eval", js], &[])
            .output()
            .expect("mongosh")
    };
    let o = eval("db.version()");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "7.0.22\n",
        "{}",
        text(&o)
    );
    let o = eval("JSON.stringify(db.adminCommand({getParameter:1,featureCompatibilityVersion:1}))");
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(v["featureCompatibilityVersion"]["version"], "7.0");
    // mongod answers HTTP on its port as the real one does.
    let o = h.curl(&["http://127.0.0.1:27017/"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("trying to access MongoDB over HTTP"),
        "{}",
        text(&o)
    );
    h.stop_all();
}

#[test]
fn elasticsearch_8_refuses_data_not_last_written_by_7_17() {
    if !root() {
        return;
    }
    let list = images(&[]);
    // 1.9's data: written by Elasticsearch 7.16.2.
    let h = Host::new("1.9");
    let es = h.container(
        "elastic",
        &image(
            &list,
            "docker.elastic.co/elasticsearch/elasticsearch:8.15.3",
        ),
        &[(
            "/usr/share/elasticsearch/data",
            "/opt/clearml/data/elastic_7",
        )],
    );
    let o = h
        .standin(
            &es,
            "tini",
            &["--", "/usr/local/bin/docker-entrypoint.sh", "eswrapper"],
            &[],
        )
        .output()
        .expect("es");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "cannot upgrade a node from version [7.16.2] directly to version [8.15.3], upgrade to version [7.17.0] first"
        ),
        "{}",
        text(&o)
    );
    assert!(
        h.data("/opt/clearml/data/elastic_7/nodes/0").is_dir(),
        "a refused start leaves the data alone"
    );
}

/// Trains 0.16's Elasticsearch 5 → 7 migration as its script drives the two stand-ins: the ES 5
/// node lists its indices (`_cat/indices?format=json`, as real ES), and the ES 7 node, on
/// another `http.port`, reindexes each from it (`POST /_reindex` with `source.remote.host`)
/// only when its `reindex.remote.whitelist` names it, into its own data, owned by uid 1000.
#[test]
fn elasticsearch_7_reindexes_from_a_remote_elasticsearch_5() {
    if !root() {
        return;
    }
    let list = images(&[]);
    let mut h = Host::new("0.15");
    let data = "/usr/share/elasticsearch/data";
    let es5 = h.container(
        "es5",
        &image(
            &list,
            "docker.elastic.co/elasticsearch/elasticsearch:5.6.16",
        ),
        &[(data, "/opt/trains/data/elastic")],
    );
    // The script's target: a new directory handed to uid 1000 (the real images' user).
    let target = h.data("/opt/trains/data/elastic_7");
    std::fs::create_dir_all(&target).expect("target");
    std::os::unix::fs::chown(&target, Some(1000), Some(1000)).expect("chown");
    let es7 = h.container(
        "es7",
        &image(&list, "docker.elastic.co/elasticsearch/elasticsearch:7.6.2"),
        &[(data, "/opt/trains/data/elastic_7")],
    );
    h.start("es5", h.standin(&es5, "es-docker", &[], &[]));
    let es7_env = [
        ("http.port", "9201"),
        ("reindex.remote.whitelist", "localhost:9200"),
    ];
    let c = h.standin(
        &es7,
        "tini",
        &["--", "/usr/local/bin/docker-entrypoint.sh", "eswrapper"],
        &es7_env,
    );
    h.start("es7", c);
    h.wait_http("http://127.0.0.1:9200/");
    h.wait_http("http://127.0.0.1:9201/");

    let cat = |port: u16| -> BTreeMap<String, u64> {
        let o = h.curl(&[&format!("http://127.0.0.1:{port}/_cat/indices?format=json")]);
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        v.as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                let docs = i["docs.count"].as_str().and_then(|d| d.parse().ok());
                (
                    i["index"].as_str().unwrap_or("").to_owned(),
                    docs.unwrap_or(u64::MAX),
                )
            })
            .collect()
    };
    let source = cat(9200);
    assert!(!source.is_empty(), "no indices in ES 5");
    assert!(cat(9201).is_empty());
    let reindex = |remote: &str, index: &str| {
        let body = serde_json::json!({"source": {"remote": {"host": remote}, "index": index},
            "dest": {"index": index}});
        headers_and_json(&h.curl(&[
            "-i",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
            "http://127.0.0.1:9201/_reindex?refresh=true",
        ]))
    };
    let first = source.keys().next().cloned().unwrap_or_default();
    let (head, v) = reindex("http://127.0.0.1:9200", &first);
    assert!(head.starts_with("http/1.1 400"), "{head}");
    assert_eq!(
        v["error"]["reason"], "[127.0.0.1:9200] not whitelisted in reindex.remote.whitelist",
        "{v}"
    );
    let (head, v) = reindex("http://localhost:9200", "no-such-index");
    assert!(head.starts_with("http/1.1 404"), "{head}");
    assert_eq!(v["error"]["type"], "index_not_found_exception", "{v}");
    for (index, docs) in &source {
        let (head, v) = reindex("http://localhost:9200", index);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert_eq!(
            (&v["total"], &v["created"]),
            (&json(*docs), &json(*docs)),
            "{v}"
        );
        assert_eq!(v["failures"], serde_json::json!([]), "{v}");
    }
    assert_eq!(cat(9201), source, "every index with every document");
    let (_, again) = reindex("http://localhost:9200", &first);
    assert_eq!(
        (&again["created"], &again["updated"]),
        (&json(0), &json(source[&first]))
    );
    let marker: Value =
        serde_json::from_slice(&std::fs::read(target.join(".sim-es.json")).expect("ES 7 marker"))
            .expect("json");
    assert_eq!(marker["version"], "7.6.2");
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(target.join(".sim-es.json"))
        .expect("marker")
        .uid();
    assert_eq!(owner, 1000, "written as the ES 7 image's user");
    h.stop_all();
}

fn json(n: u64) -> Value {
    Value::from(n)
}

#[test]
fn failing_starts_exit_with_the_real_messages() {
    let list = images(&[]);
    let tmp = tempfile::tempdir().expect("tmp");
    let run = |desc: &Value, cmd: &str, args: &[&str], env: &[(&str, &str)]| {
        let cfg = tmp.path().join("desc.json");
        std::fs::write(&cfg, desc.to_string()).expect("write");
        let prog = tmp.path().join(cmd);
        let _ = std::fs::remove_file(&prog);
        std::os::unix::fs::symlink(SIM, &prog).expect("symlink");
        let mut c = Command::new(&prog);
        c.args(args)
            .env_clear()
            .env("PATH", PATH)
            .env("CLEARML_STANDIN_CONFIG", &cfg)
            .env("CLEARML_STANDIN_ROOT", tmp.path().join("root"));
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run")
    };
    // The broken-image fault.
    let mut broken = image(&list, "mongo:4.4.29");
    broken["broken"] = Value::Bool(true);
    let o = run(&broken, "docker-entrypoint.sh", &["mongod"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("injected failure: image mongo:4.4.29 exits at start"),
        "{}",
        text(&o)
    );
    // async_delete with a container-side PYTHONPATH rewritten for a custom root.
    let server = image(&list, "clearml/server:2.3.0");
    let o = run(
        &server,
        "python3",
        &[
            "-m",
            "jobs.async_urls_delete",
            "--fileserver-host",
            "http://fileserver:8081",
        ],
        &[("PYTHONPATH", "/srv/clearml/apiserver")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("No module named 'jobs'"), "{}", text(&o));
    // The wrong sort-memory parameter for the series.
    let o = run(
        &image(&list, "mongo:4.4.9"),
        "docker-entrypoint.sh",
        &[
            "--setParameter",
            "internalQueryExecMaxBlockingSortBytes=196100200",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("Unknown --setParameter"), "{}", text(&o));
    // A description that is not valid is named.
    let cfg = tmp.path().join("bad.json");
    std::fs::write(&cfg, "{").expect("write");
    let o = Command::new(SIM)
        .env("CLEARML_STANDIN_CONFIG", &cfg)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("is not valid"), "{}", text(&o));
}

/// The description without what distinguishes two references of one image.
fn identity(d: &Value) -> Value {
    let mut d = d.clone();
    if let Some(m) = d.as_object_mut() {
        m.remove("reference");
        m.remove("tag");
    }
    d
}

#[test]
fn standin_images_cover_every_upstream_image_and_equal_images_are_equal() {
    let list = images(&[]);
    let refs: Vec<&str> = list
        .iter()
        .map(|d| d["reference"].as_str().expect("reference"))
        .collect();
    let mut missing = Vec::new();
    for f in clearfleet_clearml::upstream::facts() {
        for svc in f.services.values() {
            let img = svc["image"].as_str().expect("image");
            let norm = img.strip_prefix("docker.io/").unwrap_or(img);
            let norm = if norm.rsplit('/').next().unwrap_or("").contains(':') {
                norm.to_string()
            } else {
                format!("{norm}:latest")
            };
            if !refs.contains(&norm.as_str()) {
                missing.push(format!("{} ({})", norm, f.release));
            }
        }
    }
    assert!(missing.is_empty(), "not stand-in images: {missing:?}");
    for r in [
        "mongo:4.0.27",
        "mongo:4.2.16",
        "mongo:4.4.9",
        "mongo:4.4",
        "allegroai/clearml:1.16.2-502",
        "clearml/server:2.3.0",
        "allegroai/clearml-agent-services:latest",
    ] {
        assert!(refs.contains(&r), "{r}");
    }
    // One image, one description (apart from the reference).
    let mut by_image: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for d in &list {
        let key = format!(
            "{}|{}|{}|{}",
            d["name"], d["kind"], d["version"], d["build"]
        );
        by_image.entry(key).or_default().push(d);
    }
    for (k, ds) in &by_image {
        for d in ds {
            assert_eq!(identity(d), identity(ds[0]), "{k}");
        }
    }
    let same = |a: &str, b: &str| {
        assert_eq!(
            identity(&image(&list, a)),
            identity(&image(&list, b)),
            "{a} vs {b}"
        )
    };
    same("clearml/server:latest", "clearml/server:2.3.0");
    same("mongo:4.4", "mongo:4.4.29");
    same("allegroai/clearml:latest", "allegroai/clearml:2.0.0-613");
    same("redis:7.4", "redis:7.4.1");
    assert_ne!(
        identity(&image(&list, "clearml/server:2.2.0")),
        identity(&image(&list, "clearml/server:2.3.0"))
    );
    // The server images: their entrypoint and the commands their compose services run.
    let s = image(&list, "clearml/server:2.3.0");
    assert_eq!(
        s["entrypoint"],
        serde_json::json!(["/opt/clearml/entrypoint.sh"])
    );
    for l in [
        "/opt/clearml/entrypoint.sh",
        "/usr/bin/python3",
        "/bin/bash",
    ] {
        assert!(has_link(&s, l), "{l}");
    }
    assert_eq!(
        s["files"]["/opt/clearml/apiserver/version.py"],
        "__version__ = \"2.3.0\"\n"
    );
    assert!(
        s["env"]
            .as_array()
            .expect("env")
            .iter()
            .any(|e| e == "CLEARML_SERVER_VERSION=2.3.0")
    );
    // `latest` moved past the newest release: its tags appear.
    let moved = images(&["--latest", "clearml/server=2.4.0"]);
    assert_eq!(image(&moved, "clearml/server:latest")["version"], "2.4.0");
    same_in(&moved, "clearml/server:latest", "clearml/server:2.4.0");
}

fn same_in(list: &[Value], a: &str, b: &str) {
    assert_eq!(
        identity(&image(list, a)),
        identity(&image(list, b)),
        "{a} vs {b}"
    );
}

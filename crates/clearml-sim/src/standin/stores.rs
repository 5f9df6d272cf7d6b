//! The data stores' stand-ins: mongod and the `mongo`/`mongosh` shells, Elasticsearch, and
//! redis-server/redis-cli, each applying the simulator's rules (mongo.rs, elastic.rs, redis.rs)
//! to its data directory and then serving on its real port.

use super::net::{self, Reply, Request, Resp};
use super::{ImageDesc, Term, check_broken, cpath, err, exec_args, exit, out, unknown};
use crate::{elastic, mongo, redis};
use std::io::{BufReader, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Internal requests between stand-ins.
pub const MARKER_PATH: &str = "/_standin/marker";
pub const EVAL_PATH: &str = "/_standin/eval";

fn lock(m: &Mutex<()>) -> std::sync::MutexGuard<'_, ()> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn bad(msg: impl std::fmt::Display) -> Reply {
    Reply::json(400, &serde_json::json!({"error": msg.to_string()}))
}

fn internal(msg: impl std::fmt::Display) -> Reply {
    Reply::json(500, &serde_json::json!({"error": msg.to_string()}))
}

/// Bind `port` or leave: the stand-in cannot serve.
fn bind_or_exit(
    port: u16,
    log_line: impl FnOnce(&std::io::Error) -> String,
    code: i32,
) -> std::net::TcpListener {
    match net::listen(port) {
        Ok(l) => l,
        Err(e) => {
            err(&log_line(&e));
            exit(code)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// MongoDB

pub fn mongo_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        // docker-library/mongo docker-entrypoint.sh: options alone mean `mongod OPTIONS`.
        "docker-entrypoint.sh" => match args.first().map(String::as_str) {
            None => {
                err("error: no command given (the image's CMD is [\"mongod\"])");
                1
            }
            Some(a) if a.starts_with('-') => mongod(cfg, args),
            Some("mongod") => mongod(cfg, args.get(1..).unwrap_or(&[])),
            Some(_) => exec_args(cfg, args),
        },
        "mongod" => mongod(cfg, args),
        "mongo" | "mongosh" => mongo_shell(cfg, name, args),
        _ => unknown(cfg, name),
    }
}

/// Whether the CPU has AVX, as /proc/cpuinfo's flags say (under `CLEARML_STANDIN_ROOT` when a
/// test provides one there).
fn cpu_has_avx() -> bool {
    let own = cpath("/proc/cpuinfo");
    let text = std::fs::read_to_string(&own)
        .or_else(|_| std::fs::read_to_string("/proc/cpuinfo"))
        .unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|w| w == "avx"))
}

fn arg_value(args: &[String], names: &[&str]) -> Option<String> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for n in names {
            if a == n {
                return it.next().cloned();
            }
            if let Some(v) = a.strip_prefix(&format!("{n}=")) {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn mongod(cfg: &ImageDesc, args: &[String]) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let dbpath = arg_value(args, &["--dbpath"]).unwrap_or_else(|| "/data/db".into());
    let port = arg_value(args, &["--port"])
        .and_then(|p| p.parse().ok())
        .unwrap_or(27017u16);
    let dir = cpath(&dbpath);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        err(&format!(
            "exception in initAndListen: NonExistentPath: Data directory {dbpath} not found: {e}, terminating"
        ));
        return 100;
    }
    let version = cfg.version.clone();
    match mongo::start(&version, &dir, cpu_has_avx(), args) {
        Err(e) => {
            err(&format!("exception in initAndListen: {e}, terminating"));
            100
        }
        Ok(mongo::Start::Exited(code, logs)) => {
            for l in logs {
                err(&l);
            }
            code
        }
        Ok(mongo::Start::Running(logs)) => {
            let listener = bind_or_exit(
                port,
                |e| format!("Failed to set up listener: SocketException: {e}"),
                48,
            );
            for l in logs {
                out(&l);
            }
            let guard = Arc::new(Mutex::new(()));
            let handler: net::Handler =
                Arc::new(move |req: &Request| mongod_http(&version, &dir, &guard, req));
            net::serve_http(listener, handler);
            term.wait()
        }
    }
}

#[derive(serde::Deserialize)]
struct EvalReq {
    shell: String,
    #[serde(default)]
    args: Vec<String>,
}

fn mongod_http(version: &str, dir: &Path, guard: &Mutex<()>, req: &Request) -> Reply {
    let path = req.path.split('?').next().unwrap_or("");
    match (req.method.as_str(), path) {
        ("GET", MARKER_PATH) => {
            let _g = lock(guard);
            match mongo::load(dir) {
                Ok(d) => Reply::json(200, &serde_json::json!({"binary": version, "data": d})),
                Err(e) => internal(e),
            }
        }
        ("PUT", MARKER_PATH) => match serde_json::from_slice::<mongo::MongoData>(&req.body) {
            Ok(d) => {
                let _g = lock(guard);
                match mongo::save(dir, &d) {
                    Ok(()) => Reply::json(200, &serde_json::json!({"ok": 1})),
                    Err(e) => internal(e),
                }
            }
            Err(e) => bad(e),
        },
        ("POST", EVAL_PATH) => match serde_json::from_slice::<EvalReq>(&req.body) {
            Ok(r) => {
                let _g = lock(guard);
                let o = mongo::shell(version, &r.shell, &r.args, dir);
                Reply::json(
                    200,
                    &serde_json::json!({"stdout": o.stdout, "stderr": o.stderr, "code": o.code}),
                )
            }
            Err(e) => bad(e),
        },
        // What mongod answers to HTTP on its driver port.
        _ => Reply::new(
            200,
            "text/plain",
            "It looks like you are trying to access MongoDB over HTTP on the native driver port.\n",
        ),
    }
}

/// `mongo`/`mongosh [--quiet] [--host H] [--port P] --eval JS`: connects to the mongod of the
/// container (127.0.0.1:27017) and evaluates there as mongo.rs's shell does.
fn mongo_shell(cfg: &ImageDesc, shell: &str, args: &[String]) -> i32 {
    let mut host = "127.0.0.1".to_string();
    let mut port = 27017u16;
    if let Some(h) = arg_value(args, &["--host"]) {
        match h.rsplit_once(':') {
            Some((hh, p)) if p.parse::<u16>().is_ok() => {
                host = hh.to_string();
                port = p.parse().unwrap_or(27017);
            }
            _ => host = h,
        }
    }
    if let Some(p) = arg_value(args, &["--port"]).and_then(|p| p.parse().ok()) {
        port = p;
    }
    let quiet = args.iter().any(|a| a == "--quiet");
    let body = serde_json::json!({"shell": shell, "args": args}).to_string();
    let r = net::http_call(
        &host,
        port,
        "POST",
        EVAL_PATH,
        &[("Content-Type".into(), "application/json".into())],
        body.as_bytes(),
        Duration::from_secs(30),
    );
    let version = &cfg.version;
    match r {
        Ok(a) if a.status == 200 => {
            let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
            let so = v["stdout"].as_str().unwrap_or("");
            let se = v["stderr"].as_str().unwrap_or("");
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(so.as_bytes());
            let _ = o.flush();
            let mut e = std::io::stderr().lock();
            let _ = e.write_all(se.as_bytes());
            let _ = e.flush();
            i32::try_from(v["code"].as_i64().unwrap_or(1)).unwrap_or(1)
        }
        Ok(a) => {
            err(&format!(
                "{shell}: unexpected answer {} from the server at {host}:{port}",
                a.status
            ));
            1
        }
        Err(e) => {
            // What the shells print when nothing listens (mongo 4.x legacy shell; mongosh).
            if shell == "mongo" {
                if !quiet {
                    out(&format!("MongoDB shell version v{version}"));
                    out(&format!(
                        "connecting to: mongodb://{host}:{port}/?compressors=disabled&gssapiServiceName=mongodb"
                    ));
                }
                let why = match e {
                    net::NetErr::Refused => "Connection refused".to_string(),
                    other => other.to_string(),
                };
                err(&format!(
                    "Error: couldn't connect to server {host}:{port}, connection attempt failed: SocketException: Error connecting to {host}:{port} :: caused by :: {why} :"
                ));
                err("connect@src/mongo/shell/mongo.js:374:17");
                err("@(connect):2:6");
                err("exception: connect failed");
                err("exiting with code 1");
            } else {
                if !quiet {
                    out("Current Mongosh Log ID:\t6571a0b1c2d3e4f5a6b7c8d9");
                    out(&format!(
                        "Connecting to:\t\tmongodb://{host}:{port}/?directConnection=true&serverSelectionTimeoutMS=2000&appName=mongosh+2.3.1"
                    ));
                }
                let why = match e {
                    net::NetErr::Refused => format!("connect ECONNREFUSED {host}:{port}"),
                    net::NetErr::Resolve => format!("getaddrinfo ENOTFOUND {host}"),
                    other => other.to_string(),
                };
                err(&format!("MongoNetworkError: {why}"));
            }
            1
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Elasticsearch

const ES_DATA: &str = "/usr/share/elasticsearch/data";
/// The uid Elasticsearch runs as in the official images (`groupadd -g 1000 elasticsearch &&
/// adduser --uid 1000`, docker-library/repo-info elasticsearch 7.17.8 and 8.6.0).
const ES_UID: u32 = 1000;

pub fn elastic_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        // Elastic's docker-entrypoint.sh: `eswrapper` (the CMD) or options run Elasticsearch;
        // anything else is exec'd.
        "docker-entrypoint.sh" => match args.first().map(String::as_str) {
            None | Some("eswrapper") => elasticsearch(cfg, args.get(1..).unwrap_or(&[])),
            Some(a) if a.starts_with('-') => elasticsearch(cfg, args),
            Some(_) => exec_args(cfg, args),
        },
        // ES 5's CMD is `/bin/bash bin/es-docker`.
        "es-docker" | "elasticsearch" | "eswrapper" => elasticsearch(cfg, args),
        _ => unknown(cfg, name),
    }
}

/// Free MiB on the filesystem of `dir`.
fn free_mb(dir: &Path) -> u64 {
    match rustix::fs::statvfs(dir) {
        Ok(s) => s.f_bavail.saturating_mul(s.f_frsize) / (1024 * 1024),
        Err(_) => u64::MAX,
    }
}

/// Elasticsearch writes as uid 1000 (ES 7's entrypoint steps down from root to it; ES 8 runs
/// as it): when this process is root, what it created under the data dir gets the dir's owner.
fn own_like_dir(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let Ok(m) = std::fs::metadata(dir) else {
        return;
    };
    let (uid, gid) = (m.uid(), m.gid());
    fn walk(p: &Path, uid: u32, gid: u32, depth: u32) {
        if depth > 64 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(p) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            if let Ok(md) = std::fs::symlink_metadata(&path) {
                if md.uid() != uid || md.gid() != gid {
                    let _ = std::os::unix::fs::lchown(&path, Some(uid), Some(gid));
                }
                if md.is_dir() {
                    walk(&path, uid, gid, depth + 1);
                }
            }
        }
    }
    walk(dir, uid, gid, 0);
}

fn elasticsearch(cfg: &ImageDesc, _args: &[String]) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let dir = cpath(ES_DATA);
    let _ = std::fs::create_dir_all(&dir);
    let env: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    let e = elastic::Env {
        env: &env,
        es_uid: ES_UID,
        free_mb: free_mb(&dir),
    };
    let version = cfg.version.clone();
    match elastic::start(&version, &dir, &e) {
        Err(e) => {
            err(&format!("ERROR: {e}"));
            1
        }
        Ok(elastic::Start::Exited(code, logs)) => {
            for l in logs {
                err(&l);
            }
            code
        }
        Ok(elastic::Start::Running(logs)) => {
            own_like_dir(&dir);
            let port = http_port();
            let listener = bind_or_exit(
                port,
                |e| {
                    format!(
                        "{{\"log.level\":\"ERROR\", \"message\":\"fatal exception while booting Elasticsearch\", \"error.message\":\"BindHttpException[Failed to bind to 0.0.0.0:{port}]; {e}\"}}"
                    )
                },
                1,
            );
            for l in logs {
                out(&l);
            }
            let cluster = std::env::var("cluster.name").unwrap_or_else(|_| "docker-cluster".into());
            let guard = Arc::new(Mutex::new(()));
            let handler: net::Handler =
                Arc::new(move |req: &Request| es_http(&version, &cluster, &dir, &guard, req));
            net::serve_http(listener, handler);
            term.wait()
        }
    }
}

/// The HTTP port: the `http.port` setting (the official images take settings as environment
/// variables, as compose files pass `cluster.name`), else 9200.
fn http_port() -> u16 {
    std::env::var("http.port")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(9200)
}

fn es_http(version: &str, cluster: &str, dir: &Path, guard: &Mutex<()>, req: &Request) -> Reply {
    let path = req.path.split('?').next().unwrap_or("");
    match (req.method.as_str(), path.trim_end_matches('/')) {
        // Reindex, from a remote node too (Trains 0.16's ES 5 → 7 migration): reindex.rs.
        ("POST", "/_reindex") => {
            let mut r = super::reindex::reindex(dir, guard, &req.body);
            own_like_dir(dir);
            r.headers
                .push(("X-elastic-product".into(), "Elasticsearch".into()));
            r
        }
        ("GET", MARKER_PATH) => {
            let _g = lock(guard);
            match elastic::load(dir) {
                Ok(d) => Reply::json(200, &serde_json::json!({"version": version, "data": d})),
                Err(e) => internal(e),
            }
        }
        ("PUT", MARKER_PATH) => match serde_json::from_slice::<elastic::EsData>(&req.body) {
            Ok(d) => {
                let _g = lock(guard);
                match elastic::save(dir, &d) {
                    Ok(()) => {
                        own_like_dir(dir);
                        Reply::json(200, &serde_json::json!({"acknowledged": true}))
                    }
                    Err(e) => internal(e),
                }
            }
            Err(e) => bad(e),
        },
        _ => {
            let (status, body) = elastic::http(version, cluster, dir, &req.path);
            let cat_text = path.starts_with("/_cat/") && !req.path.contains("format=json");
            let ct = if cat_text {
                "text/plain; charset=UTF-8"
            } else {
                "application/json; charset=UTF-8"
            };
            let mut r = Reply::new(status, ct, body);
            r.headers
                .push(("X-elastic-product".into(), "Elasticsearch".into()));
            r
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Redis

pub fn redis_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        // docker-library/redis docker-entrypoint.sh: options or a `.conf` file mean
        // `redis-server ARGS`.
        "docker-entrypoint.sh" => match args.first().map(String::as_str) {
            None => redis_server(cfg, &[]),
            Some("redis-server") => redis_server(cfg, args.get(1..).unwrap_or(&[])),
            Some(a) if a.starts_with('-') || a.ends_with(".conf") => redis_server(cfg, args),
            Some(_) => exec_args(cfg, args),
        },
        "redis-server" => redis_server(cfg, args),
        "redis-cli" => redis_cli(args),
        _ => unknown(cfg, name),
    }
}

fn redis_server(cfg: &ImageDesc, args: &[String]) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let port = arg_value(args, &["--port"])
        .and_then(|p| p.parse().ok())
        .unwrap_or(6379u16);
    // The image's WORKDIR /data is redis's `dir`.
    let dir = cpath("/data");
    let _ = std::fs::create_dir_all(&dir);
    let version = cfg.version.clone();
    match redis::start(&version, &dir) {
        Err(e) => {
            out(&format!("1:M 01 Jan 2025 00:00:00.000 # {e}"));
            1
        }
        Ok(redis::Start::Exited(code, logs)) => {
            for l in logs {
                out(&l);
            }
            code
        }
        Ok(redis::Start::Running(logs)) => {
            let listener = bind_or_exit(
                port,
                |e| {
                    format!(
                        "1:M 01 Jan 2025 00:00:00.000 # Warning: Could not create server TCP listening socket *:{port}: {e}"
                    )
                },
                1,
            );
            for l in logs {
                out(&l);
            }
            std::thread::spawn(move || {
                for s in listener.incoming() {
                    let Ok(s) = s else { continue };
                    let v = version.clone();
                    std::thread::spawn(move || {
                        let _ = redis_conn(&v, s);
                    });
                }
            });
            term.wait()
        }
    }
}

fn redis_reply(version: &str, w: &[String]) -> (Resp, bool) {
    let cmd = w
        .first()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    match cmd.as_str() {
        "ping" => match w.get(1) {
            Some(m) => (Resp::Bulk(Some(m.as_bytes().to_vec())), false),
            None => (Resp::Simple("PONG".into()), false),
        },
        "info" => {
            let o = redis::cli(version, w);
            (Resp::Bulk(Some(o.stdout.into_bytes())), false)
        }
        "dbsize" => {
            let o = redis::cli(version, w);
            (Resp::Int(o.stdout.trim().parse().unwrap_or(0)), false)
        }
        "quit" => (Resp::Simple("OK".into()), true),
        "" => (Resp::Error("ERR empty command".into()), false),
        _ => (
            Resp::Error(format!(
                "ERR unknown command '{}', with args beginning with: {}",
                w.first().cloned().unwrap_or_default(),
                w.iter()
                    .skip(1)
                    .map(|a| format!("'{a}' "))
                    .collect::<String>()
            )),
            false,
        ),
    }
}

fn redis_conn(version: &str, s: std::net::TcpStream) -> std::io::Result<()> {
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    while let Some(v) = net::read_resp(&mut r)? {
        let words = net::words(&v);
        if words.is_empty() {
            continue;
        }
        let (reply, close) = redis_reply(version, &words);
        w.write_all(&reply.encode())?;
        w.flush()?;
        if close {
            break;
        }
    }
    Ok(())
}

/// `redis-cli [-h H] [-p P] COMMAND...` as redis-cli prints replies when not on a terminal.
fn redis_cli(args: &[String]) -> i32 {
    let mut host = "127.0.0.1".to_string();
    let mut port = 6379u16;
    let mut words = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-h" => {
                i += 1;
                host = args.get(i).cloned().unwrap_or(host);
            }
            "-p" => {
                i += 1;
                port = args.get(i).and_then(|p| p.parse().ok()).unwrap_or(port);
            }
            "--no-auth-warning" | "--raw" | "--no-raw" => {}
            a if a.starts_with('-') && words.is_empty() => {}
            a => words.push(a.to_string()),
        }
        i += 1;
    }
    if words.is_empty() {
        err("redis-cli: only `redis-cli COMMAND ...` is simulated (no interactive mode)");
        return 1;
    }
    let s = match net::connect(&host, port, Duration::from_secs(10)) {
        Ok(s) => s,
        Err(e) => {
            let why = match e {
                net::NetErr::Refused => "Connection refused".to_string(),
                net::NetErr::Resolve => "Name or service not known".to_string(),
                other => other.to_string(),
            };
            err(&format!(
                "Could not connect to Redis at {host}:{port}: {why}"
            ));
            return 1;
        }
    };
    let req = Resp::Array(Some(
        words
            .iter()
            .map(|w| Resp::Bulk(Some(w.as_bytes().to_vec())))
            .collect(),
    ));
    let Ok(mut wr) = s.try_clone() else {
        return 1;
    };
    if wr.write_all(&req.encode()).is_err() {
        err("Error: Server closed the connection");
        return 1;
    }
    let mut r = BufReader::new(s);
    match net::read_resp(&mut r) {
        Ok(Some(v)) => {
            print_resp(&v);
            0
        }
        _ => {
            err("Error: Server closed the connection");
            1
        }
    }
}

fn print_resp(v: &Resp) {
    match v {
        Resp::Simple(s) => out(s),
        Resp::Error(s) => out(&format!("(error) {s}")),
        Resp::Int(n) => out(&n.to_string()),
        Resp::Bulk(None) | Resp::Array(None) => out(""),
        Resp::Bulk(Some(b)) => out(&String::from_utf8_lossy(b)),
        Resp::Array(Some(items)) => {
            for i in items {
                print_resp(i);
            }
        }
    }
}

//! The server image's processes (apiserver, webserver, fileserver, async_delete), the services
//! agent, and the long-running images of no ClearML role (ClearML Serving's, nginx), each with
//! the simulator's rules (apiserver.rs, http.rs, containers.rs, serving.rs) over real sockets.

use super::net::{self, NetErr, Reply, Request};
use super::stores::MARKER_PATH;
use super::{ImageDesc, Term, check_broken, cpath, err, exec_args, exit, out, unknown};
use crate::apiserver::{self, apilog};
use crate::containers::Outcome;
use crate::releases::{vge, vnum};
use crate::state::{Container, Role, now};
use crate::{elastic, http, mongo};
use std::sync::Arc;
use std::time::Duration;

/// The internal check of the services agent's credentials (basic auth) on the apiserver.
pub const SERVICES_AGENT_PATH: &str = "/_standin/services_agent";

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

fn env_vec() -> Vec<String> {
    std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect()
}

/// The first of `names` set to a non-empty value.
fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "standin".into())
}

/// This container as the simulator's rules see one.
fn container(cfg: &ImageDesc, role: Role) -> Container {
    Container::running(
        hostname(),
        cfg.display(),
        cfg.kind,
        role,
        cfg.version.clone(),
        cfg.build.clone(),
        env_vec(),
    )
}

/// Where a data store is, from the apiserver's environment: `CLEARML_*` (1.0+), `TRAINS_*`
/// (0.13–0.17), the plain names of 0.11/0.12 (upstream compose files, `environment` of
/// `apiserver`); the host network's localhost otherwise (0.10: `network_mode: host`).
fn peer(service: &str, default_port: u16) -> (String, u16) {
    let names = |suffix: &str| -> Vec<String> {
        vec![
            format!("CLEARML_{service}_SERVICE_{suffix}"),
            format!("TRAINS_{service}_SERVICE_{suffix}"),
            format!("{service}_SERVICE_{suffix}"),
            format!("{service}_SERVICE_SERVICE_{suffix}"),
        ]
    };
    let hosts = names("HOST");
    let ports = names("PORT");
    let h = env_first(&hosts.iter().map(String::as_str).collect::<Vec<_>>())
        .unwrap_or_else(|| "localhost".into());
    let p = env_first(&ports.iter().map(String::as_str).collect::<Vec<_>>())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(default_port);
    (h, p)
}

fn get_json(host: &str, port: u16, path: &str) -> Result<serde_json::Value, NetErr> {
    let a = net::http_call(host, port, "GET", path, &[], &[], Duration::from_secs(15))?;
    if a.status != 200 {
        return Err(NetErr::Other(format!(
            "HTTP {} from {host}:{port}{path}",
            a.status
        )));
    }
    serde_json::from_slice(&a.body).map_err(|e| NetErr::Other(e.to_string()))
}

fn put_json(host: &str, port: u16, path: &str, v: &impl serde::Serialize) -> Result<(), NetErr> {
    let body = serde_json::to_vec(v).map_err(|e| NetErr::Other(e.to_string()))?;
    let a = net::http_call(
        host,
        port,
        "PUT",
        path,
        &[("Content-Type".into(), "application/json".into())],
        &body,
        Duration::from_secs(15),
    )?;
    if a.status != 200 {
        return Err(NetErr::Other(format!(
            "HTTP {} from {host}:{port}{path}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        )));
    }
    Ok(())
}

/// Try `f` up to `n` times, `delay` apart (`on_retry(attempt)` before each wait); a terminating
/// signal meanwhile ends the process with 0.
fn with_retries<T>(
    term: &mut Term,
    (n, delay): (u32, Duration),
    mut f: impl FnMut() -> Result<T, NetErr>,
    mut on_retry: impl FnMut(u32),
) -> Result<T, NetErr> {
    let mut attempt = 1;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= n => return Err(e),
            Err(_) => {
                on_retry(attempt);
                if term.sleep(delay) {
                    exit(0);
                }
                attempt += 1;
            }
        }
    }
}

pub fn server_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        // clearml/clearml-server docker/build/internal_files/entrypoint.sh (v1.2.0 … v2.3.0).
        "entrypoint.sh" => match args.first().map(String::as_str) {
            None => {
                check_broken(cfg);
                let mut term = Term::install();
                out(
                    "The server type was not stated. It should be either apiserver, webserver or fileserver.",
                );
                if term.sleep(Duration::from_secs(60)) {
                    exit(0);
                }
                1
            }
            Some("apiserver") => apiserver_main(cfg),
            Some("webserver") => webserver_main(cfg),
            Some("fileserver") => fileserver_main(cfg),
            Some(other) => {
                check_broken(cfg);
                out(&format!(
                    "Server type {other} is invalid. Please choose either apiserver, webserver or fileserver."
                ));
                0
            }
        },
        "python3" | "python" => python(cfg, args),
        _ => unknown(cfg, name),
    }
}

/// `python3 -m MODULE ...`: the modules the server image's compose services run.
fn python(cfg: &ImageDesc, args: &[String]) -> i32 {
    let module = args
        .iter()
        .position(|a| a == "-m")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    match module {
        Some("jobs.async_urls_delete") => async_delete_main(cfg),
        Some("apiserver.server") => apiserver_main(cfg),
        _ if args.iter().any(|a| a == "--version" || a == "-V") => {
            out("Python 3.11.11");
            0
        }
        _ => {
            err(&format!(
                "python3 (clearml-standin): only `-m jobs.async_urls_delete` and `-m apiserver.server` are simulated, not {:?}",
                args.join(" ")
            ));
            2
        }
    }
}

/// The mongo marker through the mongod stand-in: (mongod's version, data).
fn mongo_marker(host: &str, port: u16) -> Result<(String, Option<mongo::MongoData>), NetErr> {
    let v = get_json(host, port, MARKER_PATH)?;
    let binary = v["binary"].as_str().unwrap_or_default().to_string();
    let data =
        serde_json::from_value(v["data"].clone()).map_err(|e| NetErr::Other(e.to_string()))?;
    Ok((binary, data))
}

fn es_marker(host: &str, port: u16) -> Result<(String, Option<elastic::EsData>), NetErr> {
    let root = get_json(host, port, "/")?;
    let version = root["version"]["number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let v = get_json(host, port, MARKER_PATH)?;
    let data =
        serde_json::from_value(v["data"].clone()).map_err(|e| NetErr::Other(e.to_string()))?;
    Ok((version, data))
}

fn redis_ping(host: &str, port: u16) -> Result<(), NetErr> {
    use std::io::{BufReader, Write};
    let s = net::connect(host, port, Duration::from_secs(10))?;
    let mut w = s.try_clone().map_err(|e| NetErr::Other(e.to_string()))?;
    w.write_all(b"PING\r\n")
        .map_err(|e| NetErr::Other(e.to_string()))?;
    match net::read_resp(&mut BufReader::new(s)) {
        Ok(Some(net::Resp::Simple(p))) if p == "PONG" => Ok(()),
        other => Err(NetErr::Other(format!(
            "unexpected answer to PING: {other:?}"
        ))),
    }
}

fn basic_creds(req: &Request) -> Option<(String, String)> {
    let v = req.header("authorization")?.trim();
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = http::b64_decode(b64.trim())?;
    let s = String::from_utf8(raw).ok()?;
    let (k, sec) = s.split_once(':')?;
    Some((k.to_string(), sec.to_string()))
}

/// The apiserver: its startup steps (apiserver.rs) against the data stores it reaches over the
/// network, then `server.info`, `debug.ping` & co. (http.rs) on port 8008.
fn apiserver_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let ver = cfg.version.clone();
    out(&apilog(
        "INFO",
        "initialize",
        &format!("Loading config from {}", apiserver::config_dir(&ver)),
    ));
    let retry = cfg.retry();
    let (mh, mp) = peer("MONGODB", 27017);
    let (eh, ep) = peer("ELASTIC", 9200);
    let (rh, rp) = peer("REDIS", 6379);
    let Ok((mongo_version, md)) = with_retries(&mut term, retry, || mongo_marker(&mh, mp), |_| {})
    else {
        err(&apiserver::peer_error("MongoDB"));
        return 1;
    };
    let (n, delay) = retry;
    let es = with_retries(
        &mut term,
        retry,
        || es_marker(&eh, ep),
        |i| {
            // apiserver/elastic/initialize.py check_elastic_empty (probing.max_retries 4,
            // timeout 30 s upstream).
            out(&apilog(
                "WARNING",
                "elastic.initialize",
                &format!(
                    "Could not connect to ElasticSearch Service. Retry {i} of {n}. Waiting for {}sec",
                    delay.as_secs()
                ),
            ));
        },
    );
    let Ok((es_version, ed)) = es else {
        err(&apiserver::peer_error("ElasticSearch"));
        return 1;
    };
    if vge(&ver, "0.12.0")
        && with_retries(&mut term, retry, || redis_ping(&rh, rp), |_| {}).is_err()
    {
        err(&apiserver::peer_error("Redis"));
        return 1;
    }
    let mut md = md.unwrap_or_else(|| mongo::fresh(&mongo_version));
    let mut ed = ed.unwrap_or_default();
    let env_fn = |k: &str| env(k);
    let steps = apiserver::startup_steps(
        &ver,
        &format!("uid/{}/{}/{}", hostname(), std::process::id(), now()),
        &env_fn,
        &mongo_version,
        &es_version,
        &mut md,
        &mut ed,
    );
    for l in &steps.logs {
        out(l);
    }
    let saved = if steps.es_changed {
        put_json(&eh, ep, MARKER_PATH, &ed)
    } else {
        Ok(())
    }
    .and_then(|()| put_json(&mh, mp, MARKER_PATH, &md));
    if let Err(e) = saved {
        err(&apilog(
            "ERROR",
            "app_sequence",
            &format!("Error starting server: {e}"),
        ));
        return 1;
    }
    let listener = match net::listen(8008) {
        Ok(l) => l,
        Err(e) => {
            err(&apilog(
                "ERROR",
                "server",
                &format!("Error starting server: port 8008: {e}"),
            ));
            return 1;
        }
    };
    out(&apiserver::started_log());
    let mut c = container(cfg, Role::Apiserver);
    c.server_errors = steps.errors;
    let handler: net::Handler = Arc::new(move |req: &Request| {
        let md = mongo_marker(&mh, mp).ok().and_then(|(_, d)| d);
        let path = req.path.split('?').next().unwrap_or("");
        if path == SERVICES_AGENT_PATH {
            let ok = match (
                basic_creds(req),
                md.as_ref().and_then(|d| d.services_agent.as_ref()),
            ) {
                (Some((k, s)), Some(cr)) => cr.key == k && cr.secret == s,
                _ => false,
            };
            return Reply::json(if ok { 200 } else { 401 }, &serde_json::json!({"ok": ok}));
        }
        let sim_req = http::Request {
            headers: req.headers.clone(),
        };
        Reply::from_sim(http::api_answer(&c, md.as_ref(), &sim_req, &req.path))
    });
    net::serve_http(listener, handler);
    term.wait()
}

/// The webserver (nginx with the web app): port 80 in the container (compose files publish
/// `8080:80` from 0.11.0); 8080 itself on the host network of 0.10 (its README: "Web server on
/// port 8080"). `/api/` goes to the apiserver as the image's nginx proxies it
/// (`NGINX_APISERVER_ADDRESS`, default `http://apiserver:8008`; localhost on the host network).
fn webserver_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let host_network = vnum(&cfg.version) < (0, 11, 0);
    let port: u16 = if host_network { 8080 } else { 80 };
    let api = env_first(&["NGINX_APISERVER_ADDRESS"]).unwrap_or_else(|| {
        if host_network {
            "http://localhost:8008".into()
        } else {
            "http://apiserver:8008".into()
        }
    });
    let (ah, ap) = net::host_port(&api, 80).unwrap_or(("apiserver".into(), 8008));
    let listener = match net::listen(port) {
        Ok(l) => l,
        Err(e) => {
            err(&format!(
                "nginx: [emerg] bind() to 0.0.0.0:{port} failed ({e})"
            ));
            return 1;
        }
    };
    out(&format!(
        "nginx: ready, serving the ClearML web app on port {port}"
    ));
    let c = container(cfg, Role::Webserver);
    let handler: net::Handler = Arc::new(move |req: &Request| {
        if let Some(rest) = req.path.strip_prefix("/api/") {
            let headers: Vec<(String, String)> = req
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("connection"))
                .cloned()
                .collect();
            return match net::http_call(
                &ah,
                ap,
                &req.method,
                &format!("/{rest}"),
                &headers,
                &req.body,
                Duration::from_secs(60),
            ) {
                Ok(a) => {
                    let ct = a.header("content-type").unwrap_or("text/plain").to_string();
                    let mut r = Reply::new(a.status, &ct, a.body.clone());
                    if let Some(s) = a.header("server") {
                        r.headers.push(("server".into(), s.to_string()));
                    }
                    r
                }
                Err(_) => Reply::from_sim(http::bad_gateway()),
            };
        }
        Reply::from_sim(http::webserver_page(&c, &req.path))
    });
    net::serve_http(listener, handler);
    term.wait()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The fileserver: the real bytes of the files under its `/mnt/fileserver` on port 8081; `/`
/// and missing files as http.rs answers them.
fn fileserver_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let listener = match net::listen(8081) {
        Ok(l) => l,
        Err(e) => {
            err(&apilog(
                "ERROR",
                "fileserver",
                &format!("Could not bind 0.0.0.0:8081: {e}"),
            ));
            return 1;
        }
    };
    out(&apilog(
        "INFO",
        "fileserver",
        "Running on http://0.0.0.0:8081",
    ));
    let c = container(cfg, Role::Fileserver);
    let root = cpath("/mnt/fileserver");
    let handler: net::Handler = Arc::new(move |req: &Request| {
        let raw = req.path.split('?').next().unwrap_or("");
        if matches!(req.method.as_str(), "GET" | "HEAD")
            && let Some(p) = percent_decode(raw)
        {
            let rel = p.trim_start_matches('/');
            let safe = !rel.is_empty()
                && std::path::Path::new(rel)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)));
            if safe {
                let f = root.join(rel);
                if f.is_file()
                    && let Ok(bytes) = std::fs::read(&f)
                {
                    return Reply::new(200, "application/octet-stream", bytes);
                }
            }
        }
        Reply::from_sim(http::fileserver_root(&c, raw))
    });
    net::serve_http(listener, handler);
    term.wait()
}

/// async_delete: `python3 -m jobs.async_urls_delete` with `PYTHONPATH=/opt/clearml/apiserver`
/// (clearml/clearml-server v1.7.0 … v2.3.0, docker/docker-compose.yml); another PYTHONPATH (a
/// container-side path rewritten for a custom root) leaves Python without the module
/// (containers.rs, Role::AsyncDelete).
fn async_delete_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    match env("PYTHONPATH") {
        Some(p) if p != "/opt/clearml/apiserver" => {
            err(
                "/usr/bin/python3: Error while finding module specification for 'jobs.async_urls_delete' (ModuleNotFoundError: No module named 'jobs')",
            );
            1
        }
        _ => {
            out(&apilog(
                "INFO",
                "async_urls_delete",
                "Starting async urls delete",
            ));
            term.wait()
        }
    }
}

pub fn agent_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    match name {
        "entrypoint.sh" => agent_main(cfg),
        "python3" | "python" => {
            err(&format!(
                "python3 (clearml-standin): not simulated in the services agent: {}",
                args.join(" ")
            ));
            2
        }
        _ => unknown(cfg, name),
    }
}

/// The services agent's entrypoint: the outcome apiserver.rs gives it, with the credential
/// check asked of the apiserver at `CLEARML_API_HOST` (`TRAINS_API_HOST`).
fn agent_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let api = env_first(&["CLEARML_API_HOST", "TRAINS_API_HOST"])
        .unwrap_or_else(|| "http://apiserver:8008".into());
    let (ah, ap) = net::host_port(&api, 80).unwrap_or(("apiserver".into(), 8008));
    let retry = cfg.retry();
    let env_fn = |k: &str| env(k);
    let term_ref = &mut term;
    let mut check = |key: &str, secret: &str| -> Result<Option<bool>, crate::state::SimError> {
        let auth = (
            "Authorization".to_string(),
            format!(
                "Basic {}",
                http::b64_encode(format!("{key}:{secret}").as_bytes())
            ),
        );
        let r = with_retries(
            term_ref,
            retry,
            || {
                net::http_call(
                    &ah,
                    ap,
                    "GET",
                    SERVICES_AGENT_PATH,
                    std::slice::from_ref(&auth),
                    &[],
                    Duration::from_secs(15),
                )
            },
            |_| {},
        );
        Ok(match r {
            Ok(a) if a.status == 200 => Some(true),
            Ok(a) if a.status == 401 => Some(false),
            _ => None,
        })
    };
    let v = match apiserver::agent_outcome(&env_fn, &mut check) {
        Ok(v) => v,
        Err(e) => {
            err(&e.to_string());
            return 1;
        }
    };
    match v.outcome {
        Outcome::Run => {
            for l in &v.logs {
                out(l);
            }
            term.wait()
        }
        Outcome::Exit(code) => {
            for l in &v.logs {
                if code == 0 {
                    out(l);
                } else {
                    err(l);
                }
            }
            code
        }
    }
}

pub fn other_command(cfg: &ImageDesc, name: &str, args: &[String]) -> i32 {
    // An entrypoint script given another program (`docker run nginx sh`) runs that program; the
    // image's own command (`nginx -g 'daemon off;'`, options) is the long-running process.
    let own_cmd = cfg
        .cmd
        .as_ref()
        .and_then(|c| c.first())
        .is_some_and(|c| Some(c) == args.first());
    if name.ends_with("entrypoint.sh")
        && !own_cmd
        && args.first().is_some_and(|a| !a.starts_with('-'))
    {
        return exec_args(cfg, args);
    }
    other_main(cfg)
}

/// A long-running image of no ClearML role (ClearML Serving's, a site's nginx): its first log
/// lines (serving.rs) and HTTP on the ports it exposes, answered as serving.rs does.
fn other_main(cfg: &ImageDesc) -> i32 {
    check_broken(cfg);
    let mut term = Term::install();
    let c = container(cfg, Role::Other);
    for l in crate::serving::start_logs(&c) {
        out(&l);
    }
    let mut ports: Vec<u16> = cfg
        .exposed_ports
        .iter()
        .filter(|p| !p.ends_with("/udp"))
        .filter_map(|p| p.split('/').next().and_then(|n| n.parse().ok()))
        .collect();
    if crate::serving::is_inference(&c)
        && let Some(p) = env_first(&["CLEARML_SERVING_PORT"]).and_then(|p| p.parse().ok())
    {
        ports = vec![p];
    }
    let c = Arc::new(c);
    for port in ports {
        match net::listen(port) {
            Ok(l) => {
                let c = c.clone();
                let handler: net::Handler = Arc::new(
                    move |req: &Request| match crate::serving::http(&c, &req.path) {
                        Some((status, ct, body)) => Reply::new(status, ct, body),
                        None => Reply::new(404, "text/plain", "404 page not found\n"),
                    },
                );
                net::serve_http(l, handler);
            }
            Err(e) => err(&format!("clearml-standin: cannot listen on {port}: {e}")),
        }
    }
    term.wait()
}

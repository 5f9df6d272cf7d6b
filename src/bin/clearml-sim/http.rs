//! The host's `curl` and `wget`: requests to localhost ports published by simulated containers
//! (apiserver 8008, webserver 8080, fileserver 8081, Trains-era 9200) are answered from the state
//! with the real ClearML envelope; every other URL goes to the real /usr/bin/curl or /usr/bin/wget.

use crate::containers::{data_dir, peer};
use crate::releases::{self, vge};
use crate::state::{Container, Host, Out, Role, State, hex_id, now};
use crate::{elastic, mongo};
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub extra_headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub enum Route {
    Local(Response),
    Refused { host: String, port: u16 },
    Passthrough,
}

/// (host, port, path-with-query) of an http URL; None when not http.
pub fn parse_url(url: &str) -> Option<(String, u16, String)> {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("http".to_string(), url),
    };
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let default_port = if scheme == "https" { 443 } else { 80 };
    let (h, port) = if let Some(b) = authority.strip_prefix('[') {
        let (h, p) = b.split_once(']').unwrap_or((b, ""));
        (
            h.to_string(),
            p.strip_prefix(':')
                .and_then(|p| p.parse().ok())
                .unwrap_or(default_port),
        )
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (authority.to_string(), default_port),
        }
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path
    };
    Some((h.to_ascii_lowercase(), port, path))
}

fn is_local(h: &str) -> bool {
    matches!(h, "localhost" | "127.0.0.1" | "::1" | "0.0.0.0")
}

/// Published host port → container: a live one first (a stopped container keeps its port
/// mapping but does not hold the port).
fn publisher(st: &State, port: u16) -> Option<(&Container, u16)> {
    let hit = |c: &Container| {
        c.ports.iter().find_map(|p| {
            let p = p.split('/').next().unwrap_or(p);
            let parts: Vec<&str> = p.split(':').collect();
            let (hp, cp) = match parts.as_slice() {
                [one] => (*one, *one),
                [h, c] => (*h, *c),
                [_, h, c] => (*h, *c),
                _ => return None,
            };
            (hp.parse::<u16>().ok() == Some(port)).then(|| cp.parse::<u16>().unwrap_or(port))
        })
    };
    let find = |live: bool| {
        st.containers
            .values()
            .filter(|c| c.is_up() == live)
            .find_map(|c| hit(c).map(|cp| (c, cp)))
    };
    find(true).or_else(|| find(false))
}

pub fn route(host: &Host, st: &State, req: &Request) -> Route {
    let Some((h, port, path)) = parse_url(&req.url) else {
        return Route::Passthrough;
    };
    if !is_local(&h) {
        return Route::Passthrough;
    }
    let Some((c, cport)) = publisher(st, port) else {
        return Route::Passthrough;
    };
    if !c.is_up() {
        return Route::Refused { host: h, port };
    }
    Route::Local(serve(host, st, c, cport, req, &path))
}

fn json_resp(status: u16, v: &Value, server_header: bool) -> Response {
    Response {
        status,
        content_type: "application/json".into(),
        body: v.to_string(),
        extra_headers: if server_header {
            vec![("server".into(), "clearml".into())]
        } else {
            vec![]
        },
    }
}

fn text(status: u16, ct: &str, body: &str) -> Response {
    Response {
        status,
        content_type: ct.into(),
        body: body.into(),
        extra_headers: vec![],
    }
}

/// nginx's answer when the apiserver behind `/api/` cannot be reached.
pub fn bad_gateway() -> Response {
    text(
        502,
        "text/html",
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    )
}

/// The webserver's own pages (everything but its `/api/` proxy): `/version.json`, and the web
/// app's index for any other path.
pub fn webserver_page(c: &Container, path: &str) -> Response {
    let p = path.split('?').next().unwrap_or(path);
    if p == "/version.json" {
        let v = json!({"version": format!("{}-{}", c.version, c.build.clone().unwrap_or_default()),
            "date": "2025-01-01", "build-number": c.build.clone().unwrap_or_default(), "docker-image": c.image,
            "webapp-treeish": format!("release/community-v{}", releases::series(&c.version)), "webapp-commit": hex_id(&c.version).get(..40).unwrap_or_default()});
        return json_resp(200, &v, false);
    }
    text(
        200,
        "text/html",
        "<!doctype html><html lang=\"en\"><head><title>ClearML</title></head><body><sm-root></sm-root></body></html>\n",
    )
}

/// The fileserver's answer for a path it holds no file for: `/` answers "OK" from 1.7.0.
pub fn fileserver_root(c: &Container, path: &str) -> Response {
    if (path == "/" || path.is_empty()) && vge(&c.version, "1.7.0") {
        text(200, "text/html; charset=utf-8", "OK")
    } else {
        text(
            404,
            "text/html; charset=utf-8",
            "<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n",
        )
    }
}

/// Serve `path` on container port `cport` of `c`.
pub fn serve(
    host: &Host,
    st: &State,
    c: &Container,
    cport: u16,
    req: &Request,
    path: &str,
) -> Response {
    match c.role {
        Role::Apiserver => api(host, st, c, req, path),
        Role::Webserver => {
            let p = path.split('?').next().unwrap_or(path);
            if let Some(rest) = p.strip_prefix("/api/") {
                let q = path
                    .split_once('?')
                    .map(|(_, q)| format!("?{q}"))
                    .unwrap_or_default();
                return match peer(st, c, Role::Apiserver) {
                    Some(a) => api(host, st, a, req, &format!("/{rest}{q}")),
                    None => bad_gateway(),
                };
            }
            webserver_page(c, path)
        }
        Role::Fileserver => fileserver_root(c, path),
        Role::Elastic if cport == 9200 => {
            let dir = data_dir(host, c, "/usr/share/elasticsearch/data");
            let cluster = c.env_var("cluster.name").unwrap_or("docker-cluster");
            let (s, b) = elastic::http(&c.version, cluster, &dir, path);
            text(s, "application/json; charset=UTF-8", &b)
        }
        Role::Mongo => text(
            200,
            "text/plain",
            "It looks like you are trying to access MongoDB over HTTP on the native driver port.\n",
        ),
        _ => match crate::serving::http(c, path) {
            Some((status, ct, body)) => text(status, ct, &body),
            None => text(404, "text/plain", "404 page not found\n"),
        },
    }
}

fn basic_creds(req: &Request) -> Option<(String, String)> {
    let v = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim())?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = b64_decode(b64.trim())?;
    let s = String::from_utf8(raw).ok()?;
    let (k, sec) = s.split_once(':')?;
    Some((k.to_string(), sec.to_string()))
}

/// The version `server.info` reports, as upstream's `server/config/info.py` (`apiserver/…` from
/// 0.17.0) finds it. 0.11.0 … 0.12.1: only the file `server/VERSION`, else "" — the repository
/// has no such file and the simulated image has none either (what the official images held is
/// not found upstream), so "". From 0.13.0: the env variable (`TRAINS_SERVER_VERSION`; from
/// 1.0.0 `CLEARML_SERVER_VERSION` first), then that file, then `version.py`
/// ([`releases::VERSION_PY`]).
pub fn reported_version(c: &Container) -> String {
    if !releases::reads_version_py(&c.version) {
        return String::new();
    }
    let env = if vge(&c.version, "1.0.0") {
        c.env_var("CLEARML_SERVER_VERSION")
            .or(c.env_var("TRAINS_SERVER_VERSION"))
    } else {
        c.env_var("TRAINS_SERVER_VERSION")
    };
    match env {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => releases::version_py(&c.version)
            .unwrap_or_default()
            .to_string(),
    }
}

fn api(host: &Host, st: &State, c: &Container, req: &Request, path: &str) -> Response {
    let mongo_data = peer(st, c, Role::Mongo)
        .and_then(|m| mongo::load(&data_dir(host, m, "/data/db")).ok().flatten());
    api_answer(c, mongo_data.as_ref(), req, path)
}

/// The apiserver `c`'s answer for `path`, given the data of its MongoDB (`None`: unreachable).
pub fn api_answer(
    c: &Container,
    mongo_data: Option<&mongo::MongoData>,
    req: &Request,
    path: &str,
) -> Response {
    let ver = c.version.clone();
    let rel = releases::find_image(&ver);
    let max_api = rel.map(|r| r.api).unwrap_or("2.1");
    let p = path
        .split('?')
        .next()
        .unwrap_or(path)
        .trim_start_matches('/')
        .trim_end_matches('/');
    let (requested, name) = match p.split_once('/') {
        Some((v, n)) if v.starts_with('v') => {
            (v.trim_start_matches('v').to_string(), n.to_string())
        }
        _ => (max_api.to_string(), p.to_string()),
    };
    let server_header = vge(&ver, "1.3.0");
    let envelope = |code: u16, sub: u32, msg: &str, data: Value| -> Response {
        let id = hex_id(&format!("{name}{}", now()));
        let meta = json!({"id": id.get(..32).unwrap_or_default(), "trx": id.get(32..64).unwrap_or_default(),
            "endpoint": {"name": name, "requested_version": requested, "actual_version": "1.0"},
            "result_code": code, "result_subcode": sub, "result_msg": msg, "error_stack": "", "error_data": {}});
        json_resp(code, &json!({"meta": meta, "data": data}), server_header)
    };
    let errors = &c.server_errors;
    match name.as_str() {
        "debug.ping" if vge(&ver, "0.16.0") => {
            let msg = if vge(&ver, "1.0.0") {
                "ClearML server"
            } else {
                "Because it trains cats and dogs"
            };
            envelope(200, 0, "OK", json!({"msg": msg}))
        }
        "server.info" if vge(&ver, "0.11.0") => {
            if vge(&ver, "2.3.0") {
                match basic_creds(req) {
                    None => {
                        return envelope(401, 20, "Unauthorized (missing credentials)", json!({}));
                    }
                    Some((k, s)) => {
                        let ok = mongo_data
                            .and_then(|d| d.services_agent.as_ref())
                            .is_some_and(|cr| cr.key == k && cr.secret == s);
                        if !ok {
                            return envelope(
                                401,
                                21,
                                "Unauthorized (invalid credentials) (failed to locate provided credentials)",
                                json!({}),
                            );
                        }
                    }
                }
            }
            let build = c
                .env_var("CLEARML_SERVER_BUILD")
                .map(str::to_string)
                .or_else(|| rel.map(|r| r.build.to_string()))
                .unwrap_or_default();
            let mut data = json!({"version": reported_version(c), "build": build, "commit": hex_id(&format!("commit/{ver}")).get(..40).unwrap_or_default()});
            // Routed by the requested version, as upstream routes it: only the handler with
            // min_version 2.8 adds `uid` (it answers /v2.8 … /v2.11); the 2.12 handler adds
            // `api_version` and no uid; an unversioned call goes to the newest handler
            // (clearml/clearml-server v2.3.0, apiserver/services/server/__init__.py, lines 59-77).
            let api_num = releases::vnum(max_api);
            let req_num = releases::vnum(&requested).min(api_num);
            if let Some(m) = data.as_object_mut() {
                if ((2, 8, 0)..(2, 12, 0)).contains(&req_num) {
                    let uid = mongo_data
                        .and_then(|d| d.server_uid.clone())
                        .unwrap_or_default();
                    m.insert("uid".into(), Value::String(uid));
                }
                if req_num >= (2, 12, 0) {
                    m.insert("api_version".into(), Value::String(max_api.to_string()));
                }
            }
            envelope(200, 0, "OK", data)
        }
        // From 0.10.0, without credentials (clearml/clearml-server 0.10.0,
        // server/schema/services/auth.conf); `server_errors` from 0.16.0.
        "auth.fixed_users_mode" if vge(&ver, "0.10.0") => {
            let mut se = serde_json::Map::new();
            if errors.missed_es_upgrade {
                se.insert("missed_es_upgrade".into(), Value::Bool(true));
            }
            if errors.es_connection_error {
                se.insert("es_connection_error".into(), Value::Bool(true));
            }
            envelope(
                200,
                0,
                "OK",
                json!({"enabled": false, "guest": {"enabled": false}, "server_errors": se}),
            )
        }
        "login.supported_modes" if vge(&ver, "0.17.0") => envelope(
            200,
            0,
            "OK",
            json!({"basic": {"enabled": true, "guest": {"enabled": false}}, "sso": {}, "sso_providers": [],
                "server_errors": {"missed_es_upgrade": errors.missed_es_upgrade, "es_connection_error": errors.es_connection_error},
                "authenticated": false}),
        ),
        _ => envelope(
            404,
            0,
            &format!("Unable to find endpoint for name {name} and version {requested}"),
            Value::Null,
        ),
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = usize::try_from((n >> (18 - 6 * i)) & 63).unwrap_or(0);
                out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for ch in s.bytes() {
        if ch == b'=' {
            break;
        }
        let v = u32::try_from(B64.iter().position(|&c| c == ch)?).ok()?;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "BAD REQUEST",
        401 => "UNAUTHORIZED",
        404 => "NOT FOUND",
        502 => "Bad Gateway",
        _ => "",
    }
}

fn exec_real(prog: &str, env_key: &str, host: &Host, args: &[String]) -> Out {
    use std::os::unix::process::CommandExt;
    let real = host.var(env_key).unwrap_or(prog).to_string();
    // Output files are host paths (under CLEARML_SIM_FSROOT when it is set).
    let mut mapped: Vec<String> = Vec::with_capacity(args.len());
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        mapped.push(a.clone());
        if ["-o", "--output", "-O", "--output-document"].contains(&a.as_str())
            && let Some(f) = it.next()
        {
            mapped.push(if f == "-" {
                f.clone()
            } else {
                host.path(f).display().to_string()
            });
        }
    }
    let err = std::process::Command::new(&real)
        .arg0(prog.rsplit('/').next().unwrap_or(prog))
        .args(&mapped)
        .exec();
    Out::fail(127, format!("clearml-sim: cannot run {real}: {err}"))
}

/// `curl ARGS`.
pub fn curl(host: &Host, args: &[String]) -> Out {
    let mut req = Request {
        method: "GET".into(),
        ..Request::default()
    };
    let (mut silent, mut show_err, mut fail, mut include, mut head) =
        (false, false, false, false, false);
    let mut output: Option<String> = None;
    let mut write_out: Option<String> = None;
    let mut dump_header: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        let next = |i: &mut usize| -> String {
            *i += 1;
            args.get(*i).cloned().unwrap_or_default()
        };
        if a.starts_with("--") {
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            let val = if crate::standin::curl::TAKES_VALUE.contains(&name.as_str()) {
                Some(inline.unwrap_or_else(|| next(&mut i)))
            } else {
                None
            };
            match (name.as_str(), val) {
                ("--silent", _) => silent = true,
                ("--show-error", _) => show_err = true,
                ("--fail", _) | ("--fail-with-body", _) => fail = true,
                ("--include", _) => include = true,
                ("--head", _) => head = true,
                ("--output", Some(v)) => output = Some(v),
                ("--write-out", Some(v)) => write_out = Some(v),
                ("--header", Some(v)) => push_header(&mut req, &v),
                ("--user", Some(v)) => req.headers.push((
                    "Authorization".into(),
                    format!("Basic {}", b64_encode(v.as_bytes())),
                )),
                ("--request", Some(v)) => req.method = v,
                ("--url", Some(v)) => req.url = v,
                ("--config", Some(v)) => apply_config(&mut req, &v),
                ("--dump-header", Some(v)) => dump_header = Some(v),
                _ => {}
            }
        } else if a.starts_with('-') && a.len() > 1 {
            let flags: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < flags.len() {
                let f = flags[j];
                let opt = format!("-{f}");
                if crate::standin::curl::TAKES_VALUE.contains(&opt.as_str()) {
                    let rest: String = flags[j + 1..].iter().collect();
                    let v = if rest.is_empty() { next(&mut i) } else { rest };
                    match f {
                        'o' => output = Some(v),
                        'w' => write_out = Some(v),
                        'H' => push_header(&mut req, &v),
                        'u' => req.headers.push((
                            "Authorization".into(),
                            format!("Basic {}", b64_encode(v.as_bytes())),
                        )),
                        'X' => req.method = v,
                        'K' => apply_config(&mut req, &v),
                        'D' => dump_header = Some(v),
                        _ => {}
                    }
                    break;
                }
                match f {
                    's' => silent = true,
                    'S' => show_err = true,
                    'f' => fail = true,
                    'i' => include = true,
                    'I' => head = true,
                    _ => {}
                }
                j += 1;
            }
        } else if req.url.is_empty() {
            req.url = a;
        }
        i += 1;
    }
    let st = match host.load() {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let mut out = Out::default();
    let wo = |code: u16| -> String {
        write_out
            .as_ref()
            .map(|w| {
                w.replace("%{http_code}", &format!("{code:03}"))
                    .replace("%{response_code}", &format!("{code:03}"))
                    .replace("%{num_redirects}", "0")
                    .replace("%{url_effective}", &req.url)
                    .replace("\\n", "\n")
            })
            .unwrap_or_default()
    };
    match route(host, &st, &req) {
        Route::Passthrough => exec_real("/usr/bin/curl", "CLEARML_SIM_REAL_CURL", host, args),
        Route::Refused { host: h, port } => {
            out.stdout.push_str(&wo(0));
            if !silent || show_err {
                out.eline(&format!("curl: (7) Failed to connect to {h} port {port} after 0 ms: Couldn't connect to server"));
            }
            out.code = 7;
            out
        }
        Route::Local(resp) => {
            if fail && resp.status >= 400 {
                out.stdout.push_str(&wo(resp.status));
                if !silent || show_err {
                    out.eline(&format!(
                        "curl: (22) The requested URL returned error: {}",
                        resp.status
                    ));
                }
                out.code = 22;
                return out;
            }
            let header_block = {
                let mut h = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
                h.push_str(&format!(
                    "Content-Type: {}\r\nContent-Length: {}\r\n",
                    resp.content_type,
                    resp.body.len()
                ));
                for (k, v) in &resp.extra_headers {
                    h.push_str(&format!("{k}: {v}\r\n"));
                }
                h.push_str("\r\n");
                h
            };
            if let Some(f) = &dump_header {
                let written = if f == "-" {
                    out.stdout.push_str(&header_block);
                    Ok(())
                } else {
                    std::fs::write(host.path(f), header_block.as_bytes())
                };
                if let Err(e) = written {
                    out.eline(&format!(
                        "curl: (23) Failure writing output to destination: {e}"
                    ));
                    out.code = 23;
                    return out;
                }
            }
            let mut body = String::new();
            if include || head {
                body.push_str(&format!(
                    "HTTP/1.1 {} {}\r\n",
                    resp.status,
                    reason(resp.status)
                ));
                body.push_str(&format!(
                    "Content-Type: {}\r\nContent-Length: {}\r\n",
                    resp.content_type,
                    resp.body.len()
                ));
                for (k, v) in &resp.extra_headers {
                    body.push_str(&format!("{k}: {v}\r\n"));
                }
                body.push_str("\r\n");
            }
            if !head {
                body.push_str(&resp.body);
            }
            match output.as_deref() {
                Some("-") | None => out.stdout.push_str(&body),
                Some(f) => {
                    if let Err(e) = std::fs::write(host.path(f), body.as_bytes()) {
                        out.eline(&format!(
                            "curl: (23) Failure writing output to destination: {e}"
                        ));
                        out.code = 23;
                        return out;
                    }
                }
            }
            out.stdout.push_str(&wo(resp.status));
            out
        }
    }
}

/// `curl -K FILE` (`-` = stdin): config lines `option = "value"`; `user`, `header`, `url` and
/// `request` are honoured, as the real curl reads them.
fn apply_config(req: &mut Request, source: &str) {
    let text = if source == "-" {
        let mut t = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut t);
        t
    } else {
        std::fs::read_to_string(source).unwrap_or_default()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.find(|c: char| c == '=' || c == ':' || c.is_whitespace()) {
            Some(i) => (
                &line[..i],
                line[i + 1..].trim_start_matches(['=', ':', ' ', '\t']),
            ),
            None => (line, ""),
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => value.to_string(),
        };
        match key.trim_start_matches("--") {
            "user" | "u" => req.headers.push((
                "Authorization".into(),
                format!("Basic {}", b64_encode(value.as_bytes())),
            )),
            "header" | "H" => push_header(req, &value),
            "url" => req.url = value,
            "request" | "X" => req.method = value,
            _ => {}
        }
    }
}

fn push_header(req: &mut Request, h: &str) {
    if let Some((k, v)) = h.split_once(':') {
        req.headers
            .push((k.trim().to_string(), v.trim().to_string()));
    }
}

/// `wget ARGS`.
pub fn wget(host: &Host, args: &[String]) -> Out {
    let mut req = Request {
        method: "GET".into(),
        ..Request::default()
    };
    let mut quiet = false;
    let mut output: Option<String> = None;
    let (mut user, mut pass) = (None::<String>, None::<String>);
    let mut i = 0;
    while i < args.len() {
        let a = args[i].clone();
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (long.to_string(), None),
            };
            let needs = [
                "output-document",
                "header",
                "user",
                "password",
                "http-user",
                "http-password",
                "timeout",
                "tries",
                "post-data",
                "method",
            ];
            let val = if needs.contains(&name.as_str()) {
                inline.or_else(|| {
                    i += 1;
                    args.get(i).cloned()
                })
            } else {
                None
            };
            match (name.as_str(), val) {
                ("quiet", _) => quiet = true,
                ("output-document", Some(v)) => output = Some(v),
                ("header", Some(v)) => push_header(&mut req, &v),
                ("user" | "http-user", Some(v)) => user = Some(v),
                ("password" | "http-password", Some(v)) => pass = Some(v),
                ("method", Some(v)) => req.method = v,
                _ => {}
            }
        } else if a.starts_with('-') && a.len() > 1 {
            let flags: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < flags.len() {
                match flags[j] {
                    'q' => quiet = true,
                    'O' | 'T' | 't' | 'U' => {
                        let rest: String = flags[j + 1..].iter().collect();
                        let v = if rest.is_empty() {
                            i += 1;
                            args.get(i).cloned().unwrap_or_default()
                        } else {
                            rest
                        };
                        if flags[j] == 'O' {
                            output = Some(v);
                        }
                        break;
                    }
                    _ => {}
                }
                j += 1;
            }
        } else if req.url.is_empty() {
            req.url = a;
        }
        i += 1;
    }
    if let (Some(u), Some(p)) = (&user, &pass) {
        req.headers.push((
            "Authorization".into(),
            format!("Basic {}", b64_encode(format!("{u}:{p}").as_bytes())),
        ));
    }
    let st = match host.load() {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let mut out = Out::default();
    let (h, port) = parse_url(&req.url)
        .map(|(h, p, _)| (h, p))
        .unwrap_or_default();
    if !quiet {
        out.eline(&format!("--2025-01-01 00:00:00--  {}", req.url));
        out.eline(&format!("Resolving {h} ({h})... 127.0.0.1"));
    }
    match route(host, &st, &req) {
        Route::Passthrough => exec_real("/usr/bin/wget", "CLEARML_SIM_REAL_WGET", host, args),
        Route::Refused { .. } => {
            if !quiet {
                out.eline(&format!(
                    "Connecting to {h} ({h})|127.0.0.1|:{port}... failed: Connection refused."
                ));
            }
            out.code = 4;
            out
        }
        Route::Local(resp) => {
            if !quiet {
                out.eline(&format!(
                    "Connecting to {h} ({h})|127.0.0.1|:{port}... connected."
                ));
                out.eline(&format!(
                    "HTTP request sent, awaiting response... {} {}",
                    resp.status,
                    reason(resp.status)
                ));
            }
            if resp.status >= 400 {
                if !quiet {
                    out.eline(&format!(
                        "2025-01-01 00:00:00 ERROR {}: {}.",
                        resp.status,
                        reason(resp.status)
                    ));
                }
                out.code = 8;
                return out;
            }
            let target = output.unwrap_or_else(|| {
                let p = parse_url(&req.url).map(|(_, _, p)| p).unwrap_or_default();
                let base = p
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .to_string();
                if base.is_empty() {
                    "index.html".into()
                } else {
                    base
                }
            });
            if target == "-" {
                out.stdout.push_str(&resp.body);
            } else if let Err(e) = std::fs::write(host.path(&target), resp.body.as_bytes()) {
                out.eline(&format!("{target}: {e}"));
                out.code = 3;
            } else if !quiet {
                out.eline(&format!("Saving to: '{target}'"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_base64() {
        assert_eq!(
            parse_url("http://localhost:8008/server.info"),
            Some(("localhost".into(), 8008, "/server.info".into()))
        );
        assert_eq!(
            parse_url("127.0.0.1:8080"),
            Some(("127.0.0.1".into(), 8080, "/".into()))
        );
        assert_eq!(parse_url("file:///etc/hosts"), None);
        assert_eq!(b64_encode(b"key:secret"), "a2V5OnNlY3JldA==");
        assert_eq!(
            b64_decode("a2V5OnNlY3JldA==").as_deref(),
            Some(&b"key:secret"[..])
        );
        assert_eq!(b64_decode(&b64_encode(b"ab")).as_deref(), Some(&b"ab"[..]));
    }

    fn host_of(era: &str, t: &std::path::Path) -> Host {
        let h = Host {
            fsroot: t.join("root"),
            state_dir: t.join("state"),
            cwd: t.to_path_buf(),
            env: Default::default(),
        };
        let o = crate::init::InitOpts {
            era: era.into(),
            agent_key: Some("AK".into()),
            agent_secret: Some("AS".into()),
            ..Default::default()
        };
        let r = crate::init::init(&h, &o);
        assert_eq!(r.code, 0, "{r:?}");
        h
    }

    fn get(h: &Host, url: &str, auth: Option<&str>) -> Option<(u16, Value)> {
        let st = h.load().expect("state");
        let mut req = Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
        };
        if let Some(a) = auth {
            req.headers.push((
                "Authorization".into(),
                format!("Basic {}", b64_encode(a.as_bytes())),
            ));
        }
        match route(h, &st, &req) {
            Route::Local(r) => Some((
                r.status,
                serde_json::from_str(&r.body).unwrap_or(Value::Null),
            )),
            _ => None,
        }
    }

    #[test]
    fn server_info_auth_rule_and_fields_per_release() {
        // (era, needs auth, unversioned has uid, has api_version, reported version): from 0.17
        // (API 2.12) the unversioned call reaches the newest handler, which has no uid. The
        // version is version.py's where the image sets no env variable (before 1.1), and
        // version.py is bumped for some patches (0.14.2, 0.15.1, 1.0.2: releases::VERSION_PY);
        // 0.12.x reads only the file server/VERSION, which no image has.
        let cases = [
            ("0.12", false, false, false, ""),
            ("0.13", false, false, false, "0.13.0"),
            ("0.14", false, false, false, "0.14.2"),
            ("0.15", false, true, false, "0.15.1"),
            ("1.0", false, false, true, "1.0.2"),
            ("0.17", false, false, true, "0.17.0"),
            ("1.12", false, false, true, "1.12.1"),
            ("2.2", false, false, true, "2.2.0"),
            ("2.3", true, false, true, "2.3.0"),
        ];
        for (era, auth, uid, api, version) in cases {
            let t = tempfile::tempdir().expect("tmp");
            let h = host_of(era, t.path());
            let (code, v) = get(&h, "http://localhost:8008/server.info", None).expect("local");
            if auth {
                assert_eq!(
                    (code, v["meta"]["result_subcode"].as_u64()),
                    (401, Some(20)),
                    "{era}"
                );
                let (c2, _) =
                    get(&h, "http://localhost:8008/server.info", Some("AK:nope")).expect("local");
                assert_eq!(c2, 401);
                let (c3, v3) =
                    get(&h, "http://localhost:8008/server.info", Some("AK:AS")).expect("local");
                assert_eq!(
                    (c3, v3["data"]["version"].as_str()),
                    (200, Some(version)),
                    "{era}"
                );
                continue;
            }
            assert_eq!(code, 200, "{era}: {v}");
            assert_eq!(v["data"]["version"], version, "{era}");
            assert_eq!(v["data"].get("uid").is_some(), uid, "{era}");
            assert_eq!(v["data"].get("api_version").is_some(), api, "{era}");
            assert_eq!(v["meta"]["endpoint"]["name"], "server.info");
            // /v2.8 reaches the handler that reports the uid, from 0.15 (API 2.8) on.
            if !["0.12", "0.13", "0.14"].contains(&era) {
                let (c, v8) =
                    get(&h, "http://localhost:8008/v2.8/server.info", None).expect("local");
                assert_eq!(c, 200, "{era}");
                assert!(v8["data"]["uid"].as_str().is_some(), "{era}: {v8}");
                assert!(v8["data"].get("api_version").is_none(), "{era}: {v8}");
            }
        }
        let t = tempfile::tempdir().expect("tmp");
        let h = host_of("2.3", t.path());
        let (c, v8) =
            get(&h, "http://localhost:8008/v2.8/server.info", Some("AK:AS")).expect("local");
        assert_eq!(c, 200);
        assert!(v8["data"]["uid"].as_str().is_some(), "{v8}");
    }

    #[test]
    fn endpoints_by_release() {
        let t = tempfile::tempdir().expect("tmp");
        let h = host_of("0.15", t.path());
        let (c, _) = get(&h, "http://localhost:8008/debug.ping", None).expect("local");
        assert_eq!(c, 404, "debug.ping arrives in 0.16");
        assert!(
            get(&h, "http://localhost:9200/", None).is_some(),
            "Trains publishes 9200"
        );
        let t = tempfile::tempdir().expect("tmp");
        let h = host_of("1.5", t.path());
        let (c, _) = get(&h, "http://127.0.0.1:8081/", None).expect("local");
        assert_eq!(c, 404, "fileserver OK arrives in 1.7");
        let (c, v) = get(
            &h,
            "http://localhost:8008/v2.17/login.supported_modes",
            None,
        )
        .expect("local");
        assert_eq!(
            (c, v["data"]["server_errors"]["missed_es_upgrade"].as_bool()),
            (200, Some(false))
        );
        assert_eq!(v["meta"]["endpoint"]["requested_version"], "2.17");
        let (_, v) = get(&h, "http://localhost:8008/auth.fixed_users_mode", None).expect("local");
        assert_eq!(v["data"]["server_errors"], serde_json::json!({}));
        assert!(
            get(&h, "http://localhost:9999/", None).is_none(),
            "unknown ports go to the real curl"
        );
        assert!(get(&h, "http://example.invalid:8008/", None).is_none());
    }
}

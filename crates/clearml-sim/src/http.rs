//! The host's `curl` and `wget`: requests to localhost ports published by simulated containers
//! (apiserver 8008, webserver 8080, fileserver 8081, Trains-era 9200) are answered from the state
//! with the real ClearML envelope; every other URL goes to the real /usr/bin/curl or /usr/bin/wget.

use crate::mongo;
use crate::releases::{self, vge};
use crate::state::{Container, hex_id, now};
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
pub struct Request {
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    pub extra_headers: Vec<(String, String)>,
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

    /// The apiserver of release `era` (its image's environment) over data with a uid and the
    /// services agent's credentials AK:AS, as a stand-in apiserver sees itself.
    fn apiserver_of(era: &str) -> (Container, mongo::MongoData) {
        let r = releases::find(era).expect("release");
        let c = Container::running(
            "clearml-apiserver".into(),
            String::new(),
            releases::ImageKind::Server,
            crate::state::Role::Apiserver,
            r.version.into(),
            None,
            crate::containers::image_env(releases::ImageKind::Server, r.version, Some(r.build)),
        );
        let md = mongo::MongoData {
            server_uid: Some(hex_id("uid").get(..32).unwrap_or_default().to_owned()),
            services_agent: Some(mongo::Creds {
                key: "AK".into(),
                secret: "AS".into(),
            }),
            ..Default::default()
        };
        (c, md)
    }

    /// What the apiserver of `h` answers to `url` (a path on 8008), with basic auth `auth`.
    fn get(
        h: &(Container, mongo::MongoData),
        url: &str,
        auth: Option<&str>,
    ) -> Option<(u16, Value)> {
        let path = url.strip_prefix("http://localhost:8008")?;
        let mut req = Request { headers: vec![] };
        if let Some(a) = auth {
            req.headers.push((
                "Authorization".into(),
                format!("Basic {}", b64_encode(a.as_bytes())),
            ));
        }
        let r = api_answer(&h.0, Some(&h.1), &req, path);
        Some((
            r.status,
            serde_json::from_str(&r.body).unwrap_or(Value::Null),
        ))
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
            let h = apiserver_of(era);
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
        let h = apiserver_of("2.3");
        let (c, v8) =
            get(&h, "http://localhost:8008/v2.8/server.info", Some("AK:AS")).expect("local");
        assert_eq!(c, 200);
        assert!(v8["data"]["uid"].as_str().is_some(), "{v8}");
    }

    #[test]
    fn endpoints_by_release() {
        let h = apiserver_of("0.15");
        let (c, _) = get(&h, "http://localhost:8008/debug.ping", None).expect("local");
        assert_eq!(c, 404, "debug.ping arrives in 0.16");
        let h = apiserver_of("1.5");
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
    }
}

//! `docker exec` inside simulated containers: the probes of spec §2 and §9 (mongo/mongosh,
//! curl localhost:9200, redis-cli, printenv, cat of version.py, `sh -c` of simple lines).

use crate::containers::data_dir;
use crate::http;
use crate::mongo;
use crate::redis;
use crate::releases::{self, vnum};
use crate::state::{Container, Host, Out, Role, State};
use crate::{elastic, state::SimError};

fn not_found(prog: &str) -> Out {
    Out::fail(
        127,
        format!(
            "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{prog}\": executable file not found in $PATH: unknown"
        ),
    )
}

/// Files that exist inside a server-image container: version.py where the release has one
/// (`releases::VERSION_PY`): `server/version.py` from 0.12.0 (under /opt/trains),
/// `apiserver/version.py` from 0.17.0 (under /opt/clearml from 1.1.0). No `VERSION`, `BUILD` or
/// `COMMIT` file: the repository has none (see `http::reported_version`).
fn image_file(c: &Container, path: &str) -> Option<String> {
    if c.kind != releases::ImageKind::Server {
        return None;
    }
    let v = vnum(&c.version);
    let vp = if v < (0, 17, 0) {
        "/opt/trains/server/version.py"
    } else if v < (1, 1, 0) {
        "/opt/trains/apiserver/version.py"
    } else {
        "/opt/clearml/apiserver/version.py"
    };
    let text = releases::version_py(&c.version)?;
    (path == vp).then(|| format!("__version__ = \"{text}\"\n"))
}

fn cat(host: &Host, c: &Container, files: &[String]) -> Out {
    let mut out = Out::default();
    for f in files {
        if let Some(text) = image_file(c, f) {
            out.stdout.push_str(&text);
            continue;
        }
        // Files under a bind mount are the host's.
        let hit = c.mounts.iter().find_map(|m| {
            let d = m.destination.trim_end_matches('/');
            f.strip_prefix(d)
                .filter(|r| r.is_empty() || r.starts_with('/'))
                .map(|r| (m, r.to_string()))
        });
        match hit.and_then(|(m, r)| {
            std::fs::read_to_string(
                crate::containers::real_source(host, m).join(r.trim_start_matches('/')),
            )
            .ok()
        }) {
            Some(t) => out.stdout.push_str(&t),
            None => {
                out.eline(&format!("cat: {f}: No such file or directory"));
                out.code = 1;
            }
        }
    }
    out
}

fn printenv(c: &Container, vars: &[String]) -> Out {
    let mut out = Out::default();
    if vars.is_empty() {
        for e in &c.env {
            out.line(e);
        }
        return out;
    }
    for v in vars {
        match c.env_var(v) {
            Some(x) => out.line(x),
            None => out.code = 1,
        }
    }
    out
}

/// `curl` inside a container: only its own service on localhost.
fn inner_curl(host: &Host, st: &State, c: &Container, args: &[String]) -> Out {
    let url = args.iter().find(|a| {
        !a.starts_with('-')
            && (a.contains("localhost")
                || a.contains("127.0.0.1")
                || a.contains("://")
                || a.contains(':'))
    });
    let Some((h, port, path)) = url.and_then(|u| http::parse_url(u)) else {
        return Out::fail(2, "curl: (2) no URL specified");
    };
    let silent = args
        .iter()
        .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('s'));
    let local = matches!(h.as_str(), "localhost" | "127.0.0.1");
    let ok = local
        && ((c.role == Role::Elastic && port == 9200)
            || (c.role == Role::Apiserver && port == 8008)
            || (c.role == Role::Fileserver && port == 8081)
            || (c.role == Role::Webserver && port == 80));
    if !ok {
        let mut o = Out::default();
        if !silent {
            o.eline(&format!("curl: (7) Failed to connect to {h} port {port} after 0 ms: Couldn't connect to server"));
        }
        o.code = 7;
        return o;
    }
    if c.role == Role::Elastic {
        let dir = data_dir(host, c, "/usr/share/elasticsearch/data");
        let cluster = c.env_var("cluster.name").unwrap_or("docker-cluster");
        let (_, body) = elastic::http(&c.version, cluster, &dir, &path);
        return Out::ok(body);
    }
    let req = http::Request {
        method: "GET".into(),
        url: url.cloned().unwrap_or_default(),
        headers: vec![],
    };
    Out::ok(http::serve(host, st, c, port, &req, &path).body)
}

/// One simple command (no shell syntax).
fn simple(host: &Host, st: &State, c: &Container, argv: &[String]) -> Result<Out, SimError> {
    let Some(prog) = argv.first() else {
        return Ok(Out::default());
    };
    let args = argv.get(1..).unwrap_or(&[]);
    let base = prog.rsplit('/').next().unwrap_or(prog);
    Ok(match base {
        "mongo" | "mongosh" => {
            if c.role != Role::Mongo || !mongo::has_shell(&c.version, base) {
                return Ok(not_found(prog));
            }
            let dir = data_dir(host, c, "/data/db");
            mongo::shell(&c.version, base, args, &dir)
        }
        "redis-cli" => {
            if c.role != Role::Redis {
                return Ok(not_found(prog));
            }
            redis::cli(&c.version, args)
        }
        "curl" => inner_curl(host, st, c, args),
        "printenv" => printenv(c, args),
        "env" if args.is_empty() => printenv(c, &[]),
        "cat" => cat(host, c, args),
        "echo" => Out::ok(format!("{}\n", args.join(" "))),
        "true" => Out::default(),
        "false" => Out::fail(1, ""),
        "sh" | "bash" => match (args.first().map(String::as_str), args.get(1)) {
            (Some("-c"), Some(script)) => script_run(host, st, c, script)?,
            _ => Out::fail(
                126,
                format!("clearml-sim: only `{base} -c SCRIPT` is simulated"),
            ),
        },
        _ => Out::fail(
            126,
            format!(
                "clearml-sim: `{}` is not simulated inside containers (supported: mongo, mongosh, redis-cli, curl, printenv, env, cat, echo, sh -c)",
                argv.join(" ")
            ),
        ),
    })
}

fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

/// `sh -c SCRIPT` with `;`, `&&`, `||` and the redirections `2>/dev/null`, `>/dev/null`.
fn script_run(host: &Host, st: &State, c: &Container, script: &str) -> Result<Out, SimError> {
    let mut out = Out::default();
    let mut last = 0;
    let mut rest = script.trim();
    let mut op = ";";
    while !rest.is_empty() {
        let (cmd, next_op, tail) = split_first(rest);
        let run = match op {
            "&&" => last == 0,
            "||" => last != 0,
            _ => true,
        };
        if run {
            let mut w = shell_words(cmd);
            let mut quiet_err = false;
            let mut quiet_out = false;
            w.retain(|x| match x.as_str() {
                "2>/dev/null" => {
                    quiet_err = true;
                    false
                }
                ">/dev/null" | "1>/dev/null" => {
                    quiet_out = true;
                    false
                }
                "2>&1" => false,
                _ => true,
            });
            let o = simple(host, st, c, &w)?;
            if !quiet_out {
                out.stdout.push_str(&o.stdout);
            }
            if !quiet_err {
                out.stderr.push_str(&o.stderr);
            }
            last = o.code;
        }
        op = next_op;
        rest = tail.trim();
    }
    out.code = last;
    Ok(out)
}

fn split_first(s: &str) -> (&str, &'static str, &str) {
    let b = s.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == b'\'' || ch == b'"' => quote = Some(ch),
            None if ch == b';' => return (&s[..i], ";", &s[i + 1..]),
            None if ch == b'&' && b.get(i + 1) == Some(&b'&') => {
                return (&s[..i], "&&", &s[i + 2..]);
            }
            None if ch == b'|' && b.get(i + 1) == Some(&b'|') => {
                return (&s[..i], "||", &s[i + 2..]);
            }
            None => {}
        }
        i += 1;
    }
    (s, ";", "")
}

pub fn exec(host: &Host, st: &State, c: &Container, argv: &[String]) -> Out {
    match simple(host, st, c, argv) {
        Ok(o) => o,
        Err(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_and_quote() {
        assert_eq!(
            split_first("cat a 2>/dev/null; echo x"),
            ("cat a 2>/dev/null", ";", " echo x")
        );
        assert_eq!(split_first("a && b"), ("a ", "&&", " b"));
        assert_eq!(
            shell_words("mongosh --quiet --eval 'db.version()'"),
            vec!["mongosh", "--quiet", "--eval", "db.version()"]
        );
    }
}

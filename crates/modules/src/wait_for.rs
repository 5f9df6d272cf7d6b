//! `wait_for`: wait on the host for a TCP port to open or close, or a path to appear (with
//! content) or vanish. Never a change; runs in check mode too, as in Ansible.
//!
//! One round trip: the polling loop runs on the host. A TCP connect is tried with, in order,
//! `nc -z -w <connect_timeout>`, bash's `/dev/tcp` (under `timeout` when present), then
//! `python3`/`python` `socket.create_connection`; with none of them the task fails clearly.
//! `search_regex` is tested with `grep -E` on the host (`\d`, `\s`, `\w` and their negations
//! are translated to POSIX classes); the match groups are then computed here with the Python-
//! like regex over the file content the script prints on success.

use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::{Map, Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::{call, nonce, qpath};
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// Arguments of `wait_for`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitForArgs {
    pub host: String,
    pub port: Option<u16>,
    pub path: Option<String>,
    /// `started`, `stopped`, `present`, `absent`.
    pub state: String,
    pub timeout: f64,
    pub delay: f64,
    pub sleep: f64,
    pub connect_timeout: f64,
    pub search_regex: Option<String>,
    /// Replaces the timeout message.
    pub msg: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("host", &[]),
    ("port", &[]),
    ("path", &[]),
    ("state", &[]),
    ("timeout", &[]),
    ("delay", &[]),
    ("sleep", &[]),
    ("connect_timeout", &[]),
    ("search_regex", &[]),
    ("msg", &[]),
];

impl WaitForArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<WaitForArgs, ArgError> {
        let mut a = Args::new("wait_for", KEYS, v)?;
        let port = match a.int("port")? {
            None => None,
            Some(p) if (1..=65535).contains(&p) => Some(p as u16),
            Some(p) => return Err(ArgError::field("port", format!("{p} is not a TCP port"))),
        };
        let parsed = WaitForArgs {
            host: a.str("host")?.unwrap_or_else(|| "127.0.0.1".into()),
            port,
            path: a.str("path")?,
            state: a
                .choice(
                    "state",
                    &["started", "stopped", "present", "absent", "drained"],
                    Some("started"),
                )?
                .unwrap_or_default(),
            timeout: a.seconds("timeout")?.unwrap_or(300.0),
            delay: a.seconds("delay")?.unwrap_or(0.0),
            sleep: a.seconds("sleep")?.unwrap_or(1.0),
            connect_timeout: a.seconds("connect_timeout")?.unwrap_or(5.0),
            search_regex: a.str("search_regex")?,
            msg: a.str("msg")?,
        };
        a.finish()?;
        if parsed.port.is_some() && parsed.path.is_some() {
            return Err(ArgError::general(
                "wait_for: port and path parameter can not both be passed",
            ));
        }
        if parsed.state == "drained" {
            return Err(ArgError::field(
                "state",
                "state=drained is not supported by clearfleet",
            ));
        }
        if parsed.port.is_some() && parsed.search_regex.is_some() {
            return Err(ArgError::field(
                "search_regex",
                "search_regex on a port is not supported by clearfleet",
            ));
        }
        if parsed.path.is_some() && parsed.state == "stopped" {
            return Err(ArgError::field(
                "state",
                "state=stopped should only be used for checking a port",
            ));
        }
        if let Some(r) = &parsed.search_regex {
            Regex::new(r).map_err(|e| {
                ArgError::field("search_regex", format!("invalid regular expression: {e}"))
            })?;
        }
        if parsed.host.contains(['\n', '\r']) {
            return Err(ArgError::field("host", "bad host name"));
        }
        Ok(parsed)
    }
}

/// Python escapes that `grep -E` lacks, as POSIX classes (outside bracket expressions).
fn to_ere(re: &str) -> String {
    let mut o = String::new();
    let mut cs = re.chars();
    while let Some(c) = cs.next() {
        if c == '\\' {
            match cs.next() {
                Some('d') => o.push_str("[0-9]"),
                Some('D') => o.push_str("[^0-9]"),
                Some('s') => o.push_str("[[:space:]]"),
                Some('S') => o.push_str("[^[:space:]]"),
                Some('w') => o.push_str("[[:alnum:]_]"),
                Some('W') => o.push_str("[^[:alnum:]_]"),
                Some(x) => {
                    o.push('\\');
                    o.push(x);
                }
                None => o.push('\\'),
            }
        } else {
            o.push(c);
        }
    }
    o
}

const TCP_FN: &str = r#"_cf_tcp() {
  if command -v nc >/dev/null 2>&1; then nc -z -w "$3" "$1" "$2" >/dev/null 2>&1
  elif command -v bash >/dev/null 2>&1; then
    if command -v timeout >/dev/null 2>&1; then timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1
    else bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" >/dev/null 2>&1; fi
  else
    for py in python3 python; do
      if command -v $py >/dev/null 2>&1; then
        $py -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()' "$1" "$2" "$3" >/dev/null 2>&1
        return $?
      fi
    done
    echo "$_cf_n:notool"; exit 0
  fi
}
"#;

/// Runs `wait_for`.
pub async fn run<R: Remote>(args: &WaitForArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let n = match nonce() {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let cond = match (&args.port, &args.path) {
        (Some(p), _) => {
            let probe = format!("_cf_tcp {} {p} {}", quote(&args.host), args.connect_timeout);
            if args.state == "stopped" || args.state == "absent" {
                format!("! {probe}")
            } else {
                probe
            }
        }
        (None, Some(path)) => {
            let q = qpath(path);
            match (args.state.as_str(), &args.search_regex) {
                ("absent", _) => format!("[ ! -e {q} ]"),
                (_, Some(re)) => format!("grep -E -q -e {} {q} 2>/dev/null", quote(&to_ere(re))),
                _ => format!("[ -e {q} ]"),
            }
        }
        (None, None) => "false".to_owned(),
    };
    let on_success = match (&args.path, &args.search_regex) {
        (Some(path), Some(_)) => format!("echo {n}:ok; cat {}; exit 0", qpath(path)),
        _ => format!("echo {n}:ok; exit 0"),
    };
    let script = format!(
        "_cf_n={n}\n{TCP_FN}sleep {delay}\nstart=$(date +%s)\nwhile :; do\n  if {cond}; then {on_success}; fi\n  \
         [ $(( $(date +%s) - start )) -ge {timeout} ] && {{ echo {n}:timeout; exit 0; }}\n  sleep {sleep}\ndone\n",
        delay = args.delay,
        timeout = args.timeout.ceil() as u64,
        sleep = args.sleep,
    );
    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.delay + args.timeout + args.connect_timeout + 30.0);
    let out = match call(ctx, &script, None, Some(limit)).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let elapsed = started.elapsed().as_secs();
    let text = out.stdout_text();
    let mut base = ModuleResult::ok()
        .with("elapsed", elapsed)
        .with("state", args.state.clone());
    if let Some(p) = args.port {
        base = base.with("port", p);
    }
    if let Some(p) = &args.path {
        base = base.with("path", p.clone());
    }
    if let Some(r) = &args.search_regex {
        base = base.with("search_regex", r.clone());
    }
    let Some(rest) = text.strip_prefix(&format!("{n}:")) else {
        return ModuleResult::fail(format!(
            "unexpected output from wait_for: {text:?} {}",
            out.stderr_text()
        ));
    };
    if rest.starts_with("notool") {
        return ModuleResult::fail(
            "wait_for: the host has none of nc, bash or python to test a TCP port",
        );
    }
    if rest.starts_with("timeout") && args.port.is_none() && args.path.is_none() {
        return base; // Nothing to wait for: Ansible just sleeps for `timeout`.
    }
    if rest.starts_with("timeout") {
        let what = match (&args.port, &args.path, &args.search_regex) {
            (Some(p), _, _) if args.state == "stopped" || args.state == "absent" => {
                format!("Timeout when waiting for {}:{p} to stop.", args.host)
            }
            (Some(p), _, _) => format!("Timeout when waiting for {}:{p}", args.host),
            (None, Some(path), _) if args.state == "absent" => {
                format!("Timeout when waiting for {path} to be absent.")
            }
            (None, Some(path), Some(re)) => {
                format!("Timeout when waiting for search string {re} in {path}")
            }
            (None, Some(path), None) => format!("Timeout when waiting for file {path}"),
            _ => "Timeout".to_owned(),
        };
        base.failed = true;
        base.msg = Some(args.msg.clone().unwrap_or(what));
        return base;
    }
    if let Some(re) = &args.search_regex {
        let content = rest.strip_prefix("ok\n").unwrap_or_default();
        let (groups, dict) = match Regex::new(&format!("(?m){re}")).ok().and_then(|r| {
            let caps = r.captures(content)?;
            let groups: Vec<Value> = caps
                .iter()
                .skip(1)
                .map(|m| m.map_or(Value::Null, |m| json!(m.as_str())))
                .collect();
            let mut dict = Map::new();
            for name in r.capture_names().flatten() {
                dict.insert(
                    name.to_owned(),
                    caps.name(name).map_or(Value::Null, |m| json!(m.as_str())),
                );
            }
            Some((groups, dict))
        }) {
            Some(x) => x,
            None => (Vec::new(), Map::new()),
        };
        base = base
            .with("match_groups", groups)
            .with("match_groupdict", Value::Object(dict));
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ere_translation() {
        assert_eq!(
            to_ere(r"port \d+\s\w"),
            "port [0-9]+[[:space:]][[:alnum:]_]"
        );
        assert_eq!(to_ere(r"a\.b"), r"a\.b");
    }
}

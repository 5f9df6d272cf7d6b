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
    /// `started`, `stopped`, `present`, `absent`, `drained`.
    pub state: String,
    pub timeout: f64,
    pub delay: f64,
    pub sleep: f64,
    pub connect_timeout: f64,
    pub search_regex: Option<String>,
    /// Replaces the timeout message.
    pub msg: Option<String>,
    /// `drained`: connections from these hosts do not count.
    pub exclude_hosts: Vec<String>,
    /// `drained`: the TCP states that count as active, as `/proc/net/tcp` codes.
    pub active_states: Vec<&'static str>,
}

/// `active_connection_states` names and their `/proc/net/tcp` codes (Ansible's
/// `get_connection_state_id`), and its default (all of them).
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
];

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
    ("exclude_hosts", &[]),
    ("active_connection_states", &[]),
];

impl WaitForArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<WaitForArgs, ArgError> {
        let mut a = Args::new("wait_for", KEYS, v)?;
        let excluding = a.has("exclude_hosts");
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
            exclude_hosts: a.list_str("exclude_hosts")?.unwrap_or_default(),
            active_states: active_states(a.list_str("active_connection_states")?)?,
        };
        a.finish()?;
        if excluding && parsed.state != "drained" {
            return Err(ArgError::at_run_time(
                Some("exclude_hosts"),
                "exclude_hosts should only be with state=drained",
            ));
        }
        if parsed.port.is_some() && parsed.path.is_some() {
            return Err(ArgError::general(
                "wait_for: port and path parameter can not both be passed",
            ));
        }
        if parsed.state == "drained" && parsed.path.is_some() {
            return Err(ArgError::at_run_time(
                Some("state"),
                "state=drained should only be used for checking a port in the wait_for module",
            ));
        }
        if parsed.state == "drained" && parsed.port.is_none() {
            return Err(ArgError::field("port", "state=drained needs a port"));
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
        for h in std::iter::once(&parsed.host).chain(&parsed.exclude_hosts) {
            if h.contains(['\n', '\r']) {
                return Err(ArgError::field("host", "bad host name"));
            }
        }
        Ok(parsed)
    }
}

/// The `/proc/net/tcp` codes of `active_connection_states` (all of them when unset).
fn active_states(names: Option<Vec<String>>) -> Result<Vec<&'static str>, ArgError> {
    let Some(names) = names else {
        return Ok(TCP_STATES.iter().map(|(_, code)| *code).collect());
    };
    names
        .iter()
        .map(|n| {
            TCP_STATES
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, code)| *code)
                .ok_or_else(|| {
                    ArgError::at_run_time(
                        Some("active_connection_states"),
                        format!("unknown active_connection_state ({n}) defined"),
                    )
                })
        })
        .collect()
}

/// A Python `re` pattern as `grep -E` reads it, for the host's polling loop (whether the file
/// holds a match): `\d`, `\s`, `\w` and their negations as POSIX classes, named and
/// non-capturing groups (`(?P<name>…)`, `(?:…)`) as plain groups, lazy quantifiers (`*?`,
/// `+?`, `??`) as greedy ones (the same lines match). Inside a bracket expression only the
/// escapes are translated. The groups themselves are computed here afterwards, with the
/// Python-like regex over the content.
fn to_ere(re: &str) -> String {
    let mut o = String::new();
    let mut cs = re.chars().peekable();
    let mut in_bracket = false;
    while let Some(c) = cs.next() {
        match c {
            '\\' => match cs.next() {
                Some('d') => o.push_str(if in_bracket { "0-9" } else { "[0-9]" }),
                Some('s') => o.push_str(if in_bracket {
                    "[:space:]"
                } else {
                    "[[:space:]]"
                }),
                Some('w') => o.push_str(if in_bracket {
                    "[:alnum:]_"
                } else {
                    "[[:alnum:]_]"
                }),
                Some('D') if !in_bracket => o.push_str("[^0-9]"),
                Some('S') if !in_bracket => o.push_str("[^[:space:]]"),
                Some('W') if !in_bracket => o.push_str("[^[:alnum:]_]"),
                Some(x) => {
                    o.push('\\');
                    o.push(x);
                }
                None => o.push('\\'),
            },
            '[' if !in_bracket => {
                in_bracket = true;
                o.push('[');
                // `[^]…]` and `[]…]`: a leading `]` is a member.
                if cs.peek() == Some(&'^') {
                    o.push('^');
                    cs.next();
                }
                if cs.peek() == Some(&']') {
                    o.push(']');
                    cs.next();
                }
            }
            ']' if in_bracket => {
                in_bracket = false;
                o.push(']');
            }
            '(' if !in_bracket && cs.peek() == Some(&'?') => {
                let rest: String = cs.clone().collect();
                if rest.starts_with("?:") {
                    cs.nth(1);
                } else if rest.starts_with("?P<")
                    && let Some(end) = rest.find('>')
                {
                    cs.nth(end);
                }
                o.push('(');
            }
            '*' | '+' | '?' if !in_bracket && cs.peek() == Some(&'?') => {
                o.push(c);
                cs.next();
            }
            _ => o.push(c),
        }
    }
    o
}

/// `_cf_drained`: true when no connection in one of the active states is on the port at one
/// of the host's addresses, as Ansible's `LinuxTCPConnectionInfo` counts them from
/// `/proc/net/tcp` and `/proc/net/tcp6`: the local address must be one of `host`'s (or
/// `host` is `0.0.0.0`), an IPv4 address also counts as its IPv4-mapped IPv6 address, and
/// connections from `exclude_hosts` are not counted. Names are resolved on the host
/// (`getent ahosts`), addresses taken as they are.
fn drained_fn(args: &WaitForArgs, port: u16) -> String {
    let is_ip = |h: &str| h.parse::<std::net::IpAddr>().is_ok();
    let addrs = |h: &str| {
        if is_ip(h) {
            format!("echo {}", quote(h))
        } else {
            format!("getent ahosts {} | awk '{{print $1}}'", quote(h))
        }
    };
    let needs_getent = std::iter::once(&args.host)
        .chain(&args.exclude_hosts)
        .any(|h| !is_ip(h));
    let excluded: Vec<String> = args.exclude_hosts.iter().map(|h| addrs(h)).collect();
    format!(
        r#"[ -r /proc/net/tcp ] || {{ echo "$_cf_n:noproc"; exit 0; }}
{getent}_cf_ips=$({host} | awk '{HEX_AWK}')
[ -n "$_cf_ips" ] || {{ echo "$_cf_n:nogetent"; exit 0; }}
_cf_excl=$({{ :; {excluded} }} | awk '{HEX_AWK}')
_cf_drained() {{
  [ "$(awk -v port={port:04X} -v states=' {states} ' -v ips=" $_cf_ips " -v excl=" $_cf_excl " '{COUNT_AWK}' /proc/net/tcp /proc/net/tcp6 2>/dev/null)" = 0 ]
}}
"#,
        host = addrs(&args.host),
        getent = if needs_getent {
            "command -v getent >/dev/null 2>&1 || { echo \"$_cf_n:nogetent\"; exit 0; }\n"
        } else {
            ""
        },
        excluded = excluded.iter().map(|e| format!("{e};")).collect::<String>(),
        states = args.active_states.join(" "),
    )
}

/// Addresses (one per line in, space-separated out) as `/proc/net/tcp*` writes them, `family:HEX` (Ansible's
/// `_convert_host_to_hex`): IPv4 as one little-endian word, and again as its IPv4-mapped
/// IPv6 address; IPv6 as four little-endian words. No single quotes: it goes in `'…'`.
const HEX_AWK: &str = r#"
function pad(g) { while (length(g) < 4) g = "0" g; return toupper(g) }
function le(w) { return substr(w, 7, 2) substr(w, 5, 2) substr(w, 3, 2) substr(w, 1, 2) }
function v4(ip,   p) { split(ip, p, "."); return sprintf("%02X%02X%02X%02X", p[4], p[3], p[2], p[1]) }
function v6(ip,   halves, h, t, nh, nt, i, full) {
  split(ip, halves, "::")
  nh = halves[1] == "" ? 0 : split(halves[1], h, ":")
  nt = (index(ip, "::") == 0 || halves[2] == "") ? 0 : split(halves[2], t, ":")
  full = ""
  for (i = 1; i <= nh; i++) full = full pad(h[i])
  for (i = nh + nt; i < 8; i++) full = full "0000"
  for (i = 1; i <= nt; i++) full = full pad(t[i])
  return le(substr(full, 1, 8)) le(substr(full, 9, 8)) le(substr(full, 17, 8)) le(substr(full, 25, 8))
}
$1 ~ /^[0-9.]+$/ && !seen[$1]++ { printf "4:%s 6:0000000000000000FFFF0000%s ", v4($1), v4($1) }
$1 ~ /:/ && $1 !~ /\./ && !seen[$1]++ { printf "6:%s ", v6($1) }
"#;

/// Counts the active connections of `/proc/net/tcp` and `/proc/net/tcp6` (given in that
/// order) on `port`, as [`drained_fn`] says; prints the count.
const COUNT_AWK: &str = r#"
FNR == 1 { fam = (FILENAME ~ /6$/) ? 6 : 4; next }
{
  split($2, l, ":"); split($3, r, ":")
  if (index(states, " " $4 " ") == 0 || l[2] != port) next
  if (index(excl, " " fam ":" r[1] " ")) next
  if (index(ips, " " fam ":" l[1] " ") || index(ips, fam == 4 ? " 4:00000000 " : " 6:00000000000000000000000000000000 ") ||
      (substr(l[1], 1, 24) == "0000000000000000FFFF0000" && index(ips, " 6:0000000000000000FFFF000000000000 "))) c++
}
END { print c + 0 }
"#;

/// The host's clock in hundredths of a second since boot (`/proc/uptime`), or whole seconds
/// (as hundredths) where there is none: `elapsed` is measured on the host, as wait_for.py
/// measures it, not with the SSH round trip.
const CLOCK_FN: &str = r#"_cf_t() {
  if read _cf_u _cf_x < /proc/uptime 2>/dev/null; then echo "${_cf_u%%.*}${_cf_u#*.}"
  else echo "$(( $(date +%s) * 100 ))"; fi
}
_cf_el() { echo $(( ($(_cf_t) - start) / 100 )); }
"#;

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
    let mut functions = format!("{CLOCK_FN}{TCP_FN}");
    let cond = match (&args.port, &args.path) {
        (Some(p), _) if args.state == "drained" => {
            functions.push_str(&drained_fn(args, *p));
            "_cf_drained".to_owned()
        }
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
        (Some(path), Some(_)) => format!("echo {n}:ok:$(_cf_el); cat {}; exit 0", qpath(path)),
        _ => format!("echo {n}:ok:$(_cf_el); exit 0"),
    };
    // As wait_for.py: the clock starts before `delay`, and `timeout` counts from there; with
    // nothing to wait for, it sleeps `delay`, then `timeout`.
    let deadline = if args.port.is_none() && args.path.is_none() {
        args.delay + args.timeout
    } else {
        args.timeout
    };
    let script = format!(
        "_cf_n={n}\n{functions}start=$(_cf_t)\nsleep {delay}\nwhile :; do\n  if {cond}; then {on_success}; fi\n  \
         [ $(( $(_cf_t) - start )) -ge {timeout} ] && {{ echo {n}:timeout:$(_cf_el); exit 0; }}\n  sleep {sleep}\ndone\n",
        delay = args.delay,
        timeout = (deadline * 100.0).ceil() as u64,
        sleep = args.sleep,
    );
    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.delay + args.timeout + args.connect_timeout + 30.0);
    let out = match call(ctx, &script, None, Some(limit)).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let text = out.stdout_text();
    // `N:ok:SECS` or `N:timeout:SECS` (the host's count), then a searched file's text.
    let host_elapsed = text
        .strip_prefix(&format!("{n}:"))
        .and_then(|rest| rest.lines().next())
        .and_then(|first| first.split_once(':'))
        .and_then(|(_, secs)| secs.trim().parse::<u64>().ok());
    let elapsed = host_elapsed.unwrap_or_else(|| started.elapsed().as_secs());
    // Every key of Ansible's `exit_json`, unset ones null (its `match_groups` starts as `()`).
    let mut base = ModuleResult::ok()
        .with("elapsed", elapsed)
        .with("state", args.state.clone())
        .with("port", args.port)
        .with("path", args.path.clone())
        .with("search_regex", args.search_regex.clone())
        .with("match_groups", json!([]))
        .with("match_groupdict", json!({}));
    let Some(rest) = text.strip_prefix(&format!("{n}:")) else {
        return ModuleResult::fail(format!(
            "unexpected output from wait_for: {text:?} {}",
            out.stderr_text()
        ));
    };
    if rest.starts_with("noproc") {
        return ModuleResult::fail(
            "wait_for: state=drained reads /proc/net/tcp, which this host lacks (clearfleet counts connections on Linux only)",
        );
    }
    if rest.starts_with("nogetent") {
        return ModuleResult::fail(format!(
            "wait_for: could not resolve {} on the host (getent ahosts)",
            args.host
        ));
    }
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
            (Some(p), _, _) if args.state == "drained" => {
                format!("Timeout when waiting for {}:{p} to drain", args.host)
            }
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
        let content = rest.split_once('\n').map_or("", |(_, c)| c);
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
    use std::path::Path;

    #[test]
    fn ere_translation() {
        assert_eq!(
            to_ere(r"port \d+\s\w"),
            "port [0-9]+[[:space:]][[:alnum:]_]"
        );
        assert_eq!(to_ere(r"a\.b"), r"a\.b");
        // ansible-core's wait_for target.
        assert_eq!(
            to_ere(r"completed (?P<foo>\w+) ([0-9]+)"),
            "completed ([[:alnum:]_]+) ([0-9]+)"
        );
        assert_eq!(to_ere(r"(?:a|b)+?c*?"), "(a|b)+c*");
        assert_eq!(to_ere(r"[\d(?]x"), "[0-9(?]x");
        assert_eq!(to_ere(r"[]\w]"), "[][:alnum:]_]");
    }

    /// What the translation says matches, `grep -E` on this machine finds.
    #[test]
    fn grep_agrees() {
        let Ok(grep) = std::process::Command::new("grep").arg("--version").output() else {
            return;
        };
        assert!(grep.status.success());
        for (re, line, want) in [
            (
                r"completed (?P<foo>\w+) ([0-9]+)",
                "completed data 123",
                true,
            ),
            (r"completed (?P<foo>\w+) ([0-9]+)", "completed", false),
            (r"(?:ab)+?c", "xababc", true),
            (r"[\d]x", "5x", true),
            (r"[\d]x", "ax", false),
        ] {
            let out = std::process::Command::new("grep")
                .args(["-E", "-q", "-e", &to_ere(re)])
                .stdin(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().map(|mut i| i.write_all(line.as_bytes()));
                    c.wait()
                })
                .unwrap_or_else(|e| panic!("grep: {e}"));
            assert_eq!(out.success(), want, "{re} on {line}");
        }
    }

    /// The drained probe against this machine's own `/proc/net/tcp`: an established
    /// connection on the port counts (at its address, at `0.0.0.0`, through a name; and in
    /// `/proc/net/tcp6` as an IPv4-mapped address, where the machine has IPv6), one from an
    /// excluded host does not, and none counts once it is closed.
    #[test]
    fn drained_counts_this_machines_connections() {
        if !Path::new("/proc/net/tcp").exists() {
            return;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let drained_on = |port: u16, host: &str, exclude: &[&str]| {
            let args = WaitForArgs::parse(&json!({
                "port": port,
                "host": host,
                "state": "drained",
                "active_connection_states": ["ESTABLISHED"],
                "exclude_hosts": exclude,
            }))
            .expect("args");
            let script = format!(
                "_cf_n=n\n{}_cf_drained && echo yes || echo no",
                drained_fn(&args, port)
            );
            let out = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .expect("sh");
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        };
        let drained = |host: &str, exclude: &[&str]| drained_on(port, host, exclude);
        assert_eq!(drained("127.0.0.1", &[]), "yes");
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        assert_eq!(drained("127.0.0.1", &[]), "no");
        assert_eq!(drained("0.0.0.0", &[]), "no");
        assert_eq!(drained("127.0.0.2", &[]), "yes");
        assert_eq!(drained("127.0.0.1", &["127.0.0.1"]), "yes");
        assert_eq!(drained("localhost", &[]), "no");
        drop(client);
        drop(server);
        assert_eq!(drained("127.0.0.1", &[]), "yes");
        // A dual-stack listener sees an IPv4 client as `::ffff:127.0.0.1` in /proc/net/tcp6.
        if let Ok(six) = std::net::TcpListener::bind("[::]:0") {
            let port6 = six.local_addr().expect("addr").port();
            let client = std::net::TcpStream::connect(("127.0.0.1", port6)).expect("connect");
            let (server, _) = six.accept().expect("accept");
            assert_eq!(drained_on(port6, "127.0.0.1", &[]), "no");
            assert_eq!(drained_on(port6, "127.0.0.2", &[]), "yes");
            drop((client, server));
            assert_eq!(drained_on(port6, "127.0.0.1", &[]), "yes");
        }
    }

    #[test]
    fn hex_like_the_kernel() {
        let out = std::process::Command::new("awk")
            .arg(HEX_AWK)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                if let Some(mut i) = c.stdin.take() {
                    i.write_all(b"127.0.0.1\n::1\nfe80::1:2\n127.0.0.1\n")?;
                }
                c.wait_with_output()
            })
            .expect("awk");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "4:0100007F 6:0000000000000000FFFF00000100007F \
             6:00000000000000000000000001000000 6:000080FE000000000000000002000100 "
        );
    }
}

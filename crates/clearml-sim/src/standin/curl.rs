//! `curl` inside a stand-in container (the real images have it: Elasticsearch's, the server's
//! and the services agent's, whose compose `entrypoint` waits with `curl --retry 10
//! --retry-delay 10 --retry-connrefused http://apiserver:8008/debug.ping`): a real HTTP/1.1
//! client for plain http URLs, with curl's options, messages and exit codes for what the
//! ClearML images' users run.

use super::net::{self, NetErr};
use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Opts {
    url: Option<String>,
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Option<Vec<u8>>,
    silent: bool,
    show_error: bool,
    fail: bool,
    include: bool,
    head: bool,
    output: Option<String>,
    write_out: Option<String>,
    max_time: Option<f64>,
    connect_timeout: Option<f64>,
    retry: u32,
    retry_delay: Option<f64>,
    retry_connrefused: bool,
}

/// The curl options that take a value, shared with the simulated daemon's `curl` (http.rs).
pub(crate) const TAKES_VALUE: &[&str] = &[
    "-o",
    "--output",
    "-w",
    "--write-out",
    "-H",
    "--header",
    "-u",
    "--user",
    "-m",
    "--max-time",
    "-X",
    "--request",
    "-d",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--connect-timeout",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "-A",
    "--user-agent",
    "-e",
    "--referer",
    "--url",
    "--cacert",
    "-b",
    "--cookie",
    "-c",
    "--cookie-jar",
    "--resolve",
    "-T",
    "--upload-file",
    "-E",
    "--cert",
    "--key",
    "-x",
    "--proxy",
    "-K",
    "--config",
    "-D",
    "--dump-header",
];

fn basic(user: &str) -> (String, String) {
    (
        "Authorization".to_string(),
        format!("Basic {}", crate::http::b64_encode(user.as_bytes())),
    )
}

fn push_header(o: &mut Opts, h: &str) {
    if let Some((k, v)) = h.split_once(':') {
        o.headers.push((k.trim().to_string(), v.trim().to_string()));
    }
}

/// Command-line mistakes, in curl's words.
#[derive(Debug, thiserror::Error)]
enum ArgError {
    #[error("curl: (26) cannot read config from stdin: {0}")]
    ConfigStdin(#[source] std::io::Error),
    #[error("curl: (26) cannot read config file {path}: {source}")]
    ConfigFile {
        path: String,
        source: std::io::Error,
    },
    #[error("curl: option {0}: expected a proper numerical parameter")]
    NotANumber(String),
    #[error("curl: option {0}: requires parameter")]
    NoValue(String),
}

/// `-K FILE` (`-` = stdin): `option = "value"` lines; `user`, `header`, `url`, `request`.
fn apply_config(o: &mut Opts, source: &str) -> Result<(), ArgError> {
    let text = if source == "-" {
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
            .map_err(ArgError::ConfigStdin)?;
        t
    } else {
        std::fs::read_to_string(source).map_err(|e| ArgError::ConfigFile {
            path: source.to_owned(),
            source: e,
        })?
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sep = line
            .char_indices()
            .find(|(_, c)| *c == '=' || *c == ':' || c.is_whitespace());
        let (key, value) = match sep {
            Some((i, c)) => (
                &line[..i],
                line[i + c.len_utf8()..].trim_start_matches(['=', ':', ' ', '\t']),
            ),
            None => (line, ""),
        };
        let value = value.trim();
        let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => value.to_string(),
        };
        match key.trim_start_matches("--") {
            "user" | "u" => o.headers.push(basic(&value)),
            "header" | "H" => push_header(o, &value),
            "url" => o.url = Some(value),
            "request" | "X" => o.method = Some(value),
            _ => {}
        }
    }
    Ok(())
}

fn set(o: &mut Opts, name: &str, v: String) -> Result<(), ArgError> {
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| ArgError::NotANumber(name.to_owned()))
    };
    match name {
        "-o" | "--output" => o.output = Some(v),
        "-w" | "--write-out" => o.write_out = Some(v),
        "-H" | "--header" => push_header(o, &v),
        "-u" | "--user" => o.headers.push(basic(&v)),
        "-m" | "--max-time" => o.max_time = Some(num(&v)?),
        "--connect-timeout" => o.connect_timeout = Some(num(&v)?),
        "-X" | "--request" => o.method = Some(v),
        "-d" | "--data" | "--data-raw" | "--data-binary" | "--data-ascii" => {
            let mut d = o.data.take().unwrap_or_default();
            if !d.is_empty() {
                d.push(b'&');
            }
            d.extend_from_slice(v.as_bytes());
            o.data = Some(d);
        }
        "--retry" => {
            o.retry = v
                .trim()
                .parse()
                .map_err(|_| ArgError::NotANumber("--retry".to_owned()))?
        }
        "--retry-delay" => o.retry_delay = Some(num(&v)?),
        "-A" | "--user-agent" => o.headers.push(("User-Agent".into(), v)),
        "--url" => o.url = Some(v),
        "-K" | "--config" => apply_config(o, &v)?,
        _ => {}
    }
    Ok(())
}

fn parse(args: &[String]) -> Result<Opts, ArgError> {
    let mut o = Opts::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (format!("--{n}"), Some(v.to_string())),
                None => (a.clone(), None),
            };
            if TAKES_VALUE.contains(&name.as_str()) {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i)
                            .cloned()
                            .ok_or_else(|| ArgError::NoValue(name.clone()))?
                    }
                };
                set(&mut o, &name, v)?;
            } else {
                match name.as_str() {
                    "--silent" => o.silent = true,
                    "--show-error" => o.show_error = true,
                    "--fail" | "--fail-with-body" => o.fail = true,
                    "--include" => o.include = true,
                    "--head" => o.head = true,
                    "--retry-connrefused" => o.retry_connrefused = true,
                    _ => {}
                }
            }
        } else if a.len() > 1 && a.starts_with('-') {
            let chars: Vec<char> = a[1..].chars().collect();
            let mut j = 0;
            while j < chars.len() {
                let flag = format!("-{}", chars[j]);
                if TAKES_VALUE.contains(&flag.as_str()) {
                    let rest: String = chars[j + 1..].iter().collect();
                    let v = if rest.is_empty() {
                        i += 1;
                        args.get(i)
                            .cloned()
                            .ok_or_else(|| ArgError::NoValue(flag.clone()))?
                    } else {
                        rest
                    };
                    set(&mut o, &flag, v)?;
                    break;
                }
                match chars[j] {
                    's' => o.silent = true,
                    'S' => o.show_error = true,
                    'f' => o.fail = true,
                    'i' => o.include = true,
                    'I' => o.head = true,
                    _ => {}
                }
                j += 1;
            }
        } else if o.url.is_none() {
            o.url = Some(a.clone());
        }
        i += 1;
    }
    Ok(o)
}

fn write_out(fmt: &str, code: u16) -> String {
    fmt.replace("%{http_code}", &format!("{code:03}"))
        .replace("%{response_code}", &format!("{code:03}"))
        .replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace("\\r", "\r")
}

/// `curl ARGS`: the exit code, after printing what curl prints.
pub fn main(args: &[String]) -> i32 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(m) => {
            super::err(&m.to_string());
            return 2;
        }
    };
    let show_err = !o.silent || o.show_error;
    let finish = |code: i32, status: u16, msg: Option<String>| -> i32 {
        if let Some(w) = &o.write_out {
            let mut so = std::io::stdout().lock();
            let _ = so.write_all(write_out(w, status).as_bytes());
            let _ = so.flush();
        }
        if let (Some(m), true) = (msg, show_err) {
            super::err(&m);
        }
        code
    };
    let Some(url) = o.url.clone() else {
        super::err("curl: no URL specified!");
        return 2;
    };
    let lower = url.to_ascii_lowercase();
    if let Some((scheme, _)) = lower.split_once("://")
        && scheme != "http"
    {
        return finish(
            1,
            0,
            Some(format!(
                "curl: (1) Protocol \"{scheme}\" not supported or disabled in libcurl"
            )),
        );
    }
    let Some((host, port, path)) = crate::http::parse_url(&url) else {
        return finish(
            3,
            0,
            Some("curl: (3) URL using bad/illegal format or missing URL".into()),
        );
    };
    let method = o.method.clone().unwrap_or_else(|| {
        if o.head {
            "HEAD".into()
        } else if o.data.is_some() {
            "POST".into()
        } else {
            "GET".into()
        }
    });
    let mut headers = o.headers.clone();
    if o.data.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    let body = o.data.clone().unwrap_or_default();
    let timeout = Duration::from_secs_f64(
        o.max_time
            .or(o.connect_timeout)
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(300.0)
            .min(86_400.0),
    );
    let mut left = o.retry;
    // `--retry-delay 0` is curl's default: exponential back-off from 1 s.
    let fixed = o.retry_delay.filter(|d| *d > 0.0).map(|d| d.min(3600.0));
    let mut delay = fixed.unwrap_or(1.0);
    loop {
        let attempt = Instant::now();
        let r = net::http_call(&host, port, &method, &path, &headers, &body, timeout);
        let transient = match &r {
            Ok(a) => [408, 429, 500, 502, 503, 504].contains(&a.status),
            Err(NetErr::Refused) => o.retry_connrefused,
            Err(NetErr::Timeout) => true,
            Err(_) => false,
        };
        if transient && left > 0 {
            if !o.silent {
                let what = match &r {
                    Ok(a) => format!("HTTP error {}", a.status),
                    Err(NetErr::Timeout) => "timeout".into(),
                    Err(_) => "connection refused".into(),
                };
                super::err(&format!(
                    "Warning: Problem : {what}. Will retry in {} seconds. {} retries left.",
                    delay.round(),
                    left
                ));
            }
            std::thread::sleep(Duration::from_secs_f64(delay));
            if fixed.is_none() {
                delay = (delay * 2.0).min(600.0);
            }
            left -= 1;
            continue;
        }
        let ms = attempt.elapsed().as_millis();

        return match r {
            Err(NetErr::Resolve) => finish(
                6,
                0,
                Some(format!("curl: (6) Could not resolve host: {host}")),
            ),
            Err(NetErr::Refused) => finish(
                7,
                0,
                Some(format!(
                    "curl: (7) Failed to connect to {host} port {port} after {ms} ms: Couldn't connect to server"
                )),
            ),
            Err(NetErr::Timeout) => finish(
                28,
                0,
                Some(format!(
                    "curl: (28) Operation timed out after {ms} milliseconds with 0 bytes received"
                )),
            ),
            Err(NetErr::Other(m)) => finish(56, 0, Some(format!("curl: (56) {m}"))),
            Ok(a) => {
                if o.fail && a.status >= 400 {
                    return finish(
                        22,
                        a.status,
                        Some(format!(
                            "curl: (22) The requested URL returned error: {}",
                            a.status
                        )),
                    );
                }
                let mut bytes = Vec::new();
                if o.include || o.head {
                    bytes.extend_from_slice(a.status_line.as_bytes());
                    bytes.extend_from_slice(b"\r\n");
                    for (k, v) in &a.headers {
                        bytes.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
                    }
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(&a.body);
                match o.output.as_deref() {
                    None | Some("-") => {
                        let mut so = std::io::stdout().lock();
                        let _ = so.write_all(&bytes);
                        let _ = so.flush();
                    }
                    Some(f) => {
                        if let Err(e) = std::fs::write(f, &bytes) {
                            return finish(
                                23,
                                a.status,
                                Some(format!(
                                    "curl: (23) Failure writing output to destination: {e}"
                                )),
                            );
                        }
                    }
                }
                finish(0, a.status, None)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_as_the_compose_files_and_probes_use_them() {
        let o = parse(&s(&[
            "--retry",
            "10",
            "--retry-delay",
            "10",
            "--retry-connrefused",
            "http://apiserver:8008/debug.ping",
        ]))
        .expect("parse");
        assert_eq!(
            (o.retry, o.retry_delay, o.retry_connrefused),
            (10, Some(10.0), true)
        );
        assert_eq!(o.url.as_deref(), Some("http://apiserver:8008/debug.ping"));
        let o = parse(&s(&["-sSf", "-m5", "-w", "%{http_code}", "localhost:9200"])).expect("p");
        assert!(o.silent && o.show_error && o.fail);
        assert_eq!(o.max_time, Some(5.0));
        assert_eq!(write_out(o.write_out.as_deref().unwrap_or(""), 7), "007");
        let o = parse(&s(&["-u", "k:s", "-X", "POST", "x"])).expect("p");
        assert_eq!(o.headers[0].1, "Basic azpz");
        assert!(parse(&s(&["--retry", "many", "x"])).is_err());
    }
}

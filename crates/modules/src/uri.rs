//! `uri`: an HTTP request made from the host (health checks, APIs), returning status, headers,
//! content and parsed JSON as Ansible does.
//!
//! One round trip, with the host's `curl` (required; `wget` cannot report status and headers
//! portably). Everything about the request (URL, headers, credentials, body) goes to curl as a
//! config file on stdin (`curl -K -`), so nothing secret appears in the command line (`ps`).
//! The script prints curl's exit code and the sizes of three parts (`-w` summary, headers,
//! body), then the parts, so binary bodies survive.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::args::{ArgError, Args, Key, Mode, Secret};
use super::command::Guard;
use super::context::ModuleContext;
use super::probe::{call, nonce};
use super::remote::Remote;
use super::result::ModuleResult;
use super::url_fetch::{self, CurlRequest, FetchOpts};

/// Arguments of `uri`.
#[derive(Debug, Clone, PartialEq)]
pub struct UriArgs {
    pub url: String,
    pub method: String,
    pub body: Option<Value>,
    /// `raw`, `json`, `form-urlencoded`, `form-multipart` ([`super::uri_multipart`]).
    pub body_format: String,
    pub headers: Vec<(String, String)>,
    pub status_code: Vec<i64>,
    pub return_content: bool,
    pub url_username: Option<String>,
    /// no_log: sent on stdin only, never returned.
    pub url_password: Option<Secret>,
    pub validate_certs: bool,
    /// `ciphers`, joined with `:` (curl's `--ciphers`).
    pub ciphers: Option<String>,
    pub timeout: f64,
    /// `safe` (GET/HEAD only), `all`, `none`.
    pub follow_redirects: String,
    pub creates: Option<String>,
    pub removes: Option<String>,
    pub http_agent: String,
    /// `false`: ignore `*_proxy` environment variables on the host.
    pub use_proxy: bool,
    /// `dest`: the body is written there (uri.py's `write_file`), a directory taking the
    /// Content-Disposition file name or the URL's last segment.
    pub dest: Option<String>,
    /// `force`: `Cache-Control: no-cache` and no `If-Modified-Since` for an existing dest.
    pub force: bool,
    /// The urls.py arguments shared with get_url ([`super::url_fetch`]).
    pub fetch: FetchOpts,
    /// `src`: a file sent as the body (uri.py's `uri`: opened, its size as `Content-Length`);
    /// on the controller (the uri action plugin transfers it) unless `remote_src`.
    pub src: Option<String>,
    pub remote_src: bool,
    /// The file arguments applied to a written `dest` (uri.py: `set_fs_attributes_if_different`).
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("url", &[]),
    ("method", &[]),
    ("body", &[]),
    ("body_format", &[]),
    ("headers", &[]),
    ("status_code", &[]),
    ("return_content", &[]),
    ("url_username", &["user"]),
    ("url_password", &["password"]),
    ("force_basic_auth", &[]),
    ("validate_certs", &[]),
    ("timeout", &[]),
    ("follow_redirects", &[]),
    ("creates", &[]),
    ("removes", &[]),
    ("http_agent", &[]),
    ("use_proxy", &[]),
    ("ciphers", &[]),
    ("dest", &[]),
    ("force", &[]),
    ("decompress", &[]),
    ("use_netrc", &[]),
    ("use_gssapi", &[]),
    ("client_cert", &[]),
    ("client_key", &[]),
    ("unredirected_headers", &[]),
    ("unix_socket", &[]),
    ("ca_path", &[]),
    ("unsafe_writes", &[]),
    ("src", &[]),
    ("remote_src", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
];

/// `ciphers` (module_utils/urls.py of 2.19.14): an OpenSSL cipher list, a list being joined
/// with `:`; given to curl as `--ciphers`.
pub(super) fn ciphers(a: &mut Args) -> Result<Option<String>, ArgError> {
    match a.value("ciphers") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            })
            .collect::<Result<Vec<_>, ArgError>>()
            .map(|l| Some(l.join(":"))),
        Some(other) => Err(ArgError::field(
            "ciphers",
            format!("ciphers must be a string or a list, got {other}"),
        )),
    }
}

impl UriArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<UriArgs, ArgError> {
        let mut a = Args::new("uri", KEYS, v)?;
        let url = a.req_str("url")?;
        check_url(&url, false)?;
        let status_code = match a.value("status_code") {
            None => vec![200],
            Some(Value::Array(items)) => items
                .iter()
                .map(status_int)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                ArgError::field("status_code", "must be an integer or a list of integers")
            })?,
            Some(one) => vec![status_int(&one).ok_or_else(|| {
                ArgError::field("status_code", "must be an integer or a list of integers")
            })?],
        };
        let follow = match a.value("follow_redirects") {
            None => "safe".to_owned(),
            Some(v) => match clearfleet_base::boolean::ansible_bool(&v) {
                Some(true) => "all".to_owned(),
                Some(false) => "none".to_owned(),
                None => match v.as_str() {
                    Some(s @ ("safe" | "all" | "none" | "urllib2")) => s.replace("urllib2", "safe"),
                    _ => {
                        return Err(ArgError::field(
                            "follow_redirects",
                            "value must be one of: all, none, safe, urllib2, yes, no",
                        ));
                    }
                },
            },
        };
        let parsed = UriArgs {
            url,
            method: a
                .str("method")?
                .unwrap_or_else(|| "GET".into())
                .to_ascii_uppercase(),
            body: a.value("body"),
            body_format: a
                .choice(
                    "body_format",
                    &["raw", "json", "form-urlencoded", "form-multipart"],
                    Some("raw"),
                )?
                .unwrap_or_default(),
            headers: a.str_map("headers")?,
            status_code,
            return_content: a.bool("return_content", false)?,
            url_username: a.str("url_username")?,
            url_password: a.str("url_password")?.map(Secret),
            validate_certs: a.bool("validate_certs", true)?,
            ciphers: ciphers(&mut a)?,
            timeout: a.seconds("timeout")?.unwrap_or(30.0),
            follow_redirects: follow,
            creates: a.str("creates")?,
            removes: a.str("removes")?,
            http_agent: http_agent(&mut a)?,
            use_proxy: a.bool("use_proxy", true)?,
            dest: a.str("dest")?,
            force: a.bool("force", false)?,
            fetch: FetchOpts::parse(&mut a)?,
            src: a.str("src")?,
            remote_src: a.bool("remote_src", false)?,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
        };
        a.bool("force_basic_auth", false)?;
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        if parsed.body.is_some() && parsed.src.is_some() {
            return Err(ArgError::general(
                "parameters are mutually exclusive: body|src",
            ));
        }
        if !parsed.method.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ArgError::field("method", "not an HTTP method"));
        }
        Ok(parsed)
    }
}

fn status_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `http_agent` argument, defaulting to Ansible's `ansible-httpget`.
pub(super) fn http_agent(a: &mut Args) -> Result<String, ArgError> {
    Ok(a.str("http_agent")?
        .unwrap_or_else(|| "ansible-httpget".into()))
}

/// Only http(s) URLs (and `file://` where `file` is set: get_url's urllib opens them), without
/// newlines (they would end a config line).
pub(super) fn check_url(url: &str, file: bool) -> Result<(), ArgError> {
    if !(url.starts_with("http://")
        || url.starts_with("https://")
        || (file && url.starts_with("file://")))
    {
        let also = if file { ", file://" } else { "" };
        return Err(ArgError::field(
            "url",
            format!("only http://, https://{also} URLs are supported: {url}"),
        ));
    }
    if url.contains(['\n', '\r']) {
        return Err(ArgError::field("url", "URL contains a newline"));
    }
    Ok(())
}

/// A curl config string value (`"..."` with curl's escapes).
pub(super) fn curl_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// `application/x-www-form-urlencoded`, as Python's `urlencode`.
fn form_encode(v: &Value) -> Option<String> {
    let pairs: Vec<(String, String)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::Array(p) if p.len() == 2 => Some((scalar(&p[0]), scalar(&p[1]))),
                _ => None,
            })
            .collect(),
        Value::String(s) => return Some(s.clone()),
        _ => return None,
    };
    Some(
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn quote_plus(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// Why the request cannot be put in a curl config.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ConfigError {
    #[error("body must be a mapping or a list of pairs for form-urlencoded")]
    FormBody,
    #[error("body contains a NUL byte")]
    NulInBody,
}

/// The request as the four [`CurlRequest`] sections (sent on stdin).
/// `src` is the body file's path on the host (`src` itself, or the controller file's copy,
/// or the form-multipart body made of `body`, whose `Content-Type` is `multipart`).
fn curl_config(
    a: &UriArgs,
    src: Option<&str>,
    multipart: Option<&str>,
) -> Result<Vec<String>, ConfigError> {
    let mut c = String::new();
    if a.method == "HEAD" {
        c.push_str("head\n");
    } else {
        c.push_str(&format!("request = {}\n", curl_str(&a.method)));
    }
    let follow = match a.follow_redirects.as_str() {
        "all" => true,
        "none" => false,
        _ => a.method == "GET" || a.method == "HEAD",
    };
    if !a.validate_certs {
        c.push_str("insecure\n");
    }
    if let Some(list) = &a.ciphers {
        c.push_str(&format!("ciphers = {}\n", curl_str(list)));
    }
    if !a.use_proxy {
        c.push_str("noproxy = \"*\"\n");
    }
    c.push_str(&format!("max-time = {}\n", a.timeout));
    c.push_str(&format!("user-agent = {}\n", curl_str(&a.http_agent)));
    let mut headers = a.headers.clone();
    let has = |name: &str| a.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if a.force {
        // Request.open: `cache-control: no-cache`, user headers after it.
        headers.insert(0, ("cache-control".to_owned(), "no-cache".to_owned()));
    }
    if let Some(ctype) = multipart {
        // uri.py: `dict_headers['Content-Type'] = content_type`, which urllib's
        // `capitalize()`d header names make win over any casing of a user's.
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        headers.push(("Content-Type".to_owned(), ctype.to_owned()));
    } else if let Some(body) = &a.body {
        let (text, ctype) = match a.body_format.as_str() {
            "json" => (
                match body {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                "application/json",
            ),
            "form-urlencoded" => (
                form_encode(body).ok_or(ConfigError::FormBody)?,
                "application/x-www-form-urlencoded",
            ),
            _ => (scalar(body), ""),
        };
        if !ctype.is_empty() && !has("Content-Type") {
            headers.push(("Content-Type".to_owned(), ctype.to_owned()));
        }
        if text.contains('\0') {
            return Err(ConfigError::NulInBody);
        }
        c.push_str(&format!("data-raw = {}\n", curl_str(&text)));
    }
    if let Some(path) = src {
        // urllib's do_request_ adds the form Content-Type to a body without one, as curl does.
        c.push_str(&format!(
            "data-binary = {}\n",
            curl_str(&format!("@{path}"))
        ));
    }
    let req = CurlRequest {
        url: &a.url,
        common: c,
        headers: &headers,
        user: url_fetch::credentials(a.url_username.as_deref(), a.url_password.as_ref()),
        max_redirects: follow.then_some(50),
        opts: &a.fetch,
    };
    Ok(req.sections().into())
}

/// The script: the sections split into files, `_cf_curl`, gzip decoding, the body staged
/// beside `dest`, then the framed parts: curl's exit code and the sizes of four parts (`-w`
/// summary, headers, body, `<dest is a dir 0|1> <staged file>`), then the parts.
fn script(a: &UriArgs, sep: &str, src: Option<&(String, bool)>) -> String {
    let mut s = format!(
        "{}{}command -v curl >/dev/null 2>&1 || {{ echo 'uri needs curl on the host' >&2; exit 127; }}\n\
         d=$(mktemp -d \"${{TMPDIR:-/tmp}}/clearfleet-uri.XXXXXXXX\") || exit 1\n\
         trap 'rm -rf \"$d\"' EXIT\n{}",
        super::probe::PRELUDE,
        url_fetch::SHELL,
        url_fetch::split_script("\"$d\"", sep, 4)
    );
    if let Some((path, copied)) = src {
        s.push_str(&format!("S={}\n", super::probe::qpath(path)));
        if *copied {
            s.push_str("trap 'rm -rf \"$d\"; rm -f \"$S\"' EXIT\n");
        }
        s.push_str("[ -f \"$S\" ] && [ -r \"$S\" ] || { printf 'Unable to open source file %s\\n' \"$S\" >&2; exit 94; }\n");
    }
    if a.fetch.use_gssapi {
        s.push_str("_cf_gss\n");
    }
    if let Some(dest) = &a.dest {
        s.push_str(&format!("D={}\n", super::probe::qpath(dest)));
        if !a.force {
            // uri(): an existing dest file's mtime as `If-Modified-Since`.
            s.push_str("[ -f \"$D\" ] && printf 'header = \"If-Modified-Since: %s\"\\n' \"$(LC_ALL=C date -u -r \"$D\" '+%a, %d %b %Y %H:%M:%S GMT')\" >> \"$d/s0\"\n");
        }
    }
    let req = CurlRequest {
        url: &a.url,
        common: String::new(),
        headers: &a.headers,
        user: url_fetch::credentials(a.url_username.as_deref(), a.url_password.as_ref()),
        max_redirects: None,
        opts: &a.fetch,
    };
    s.push_str(&format!(
        "{}\nrc=$?\ntouch \"$d/b\" \"$d/h\" \"$d/w\" \"$d/e\"\n: > \"$d/x\"\n",
        req.call("\"$d\"", "\"$d/b\"")
    ));
    if a.fetch.decompress {
        s.push_str("[ \"$rc\" = 0 ] && { _cf_gunzip \"$d/h\" \"$d/b\" || exit 1; }\n");
    }
    if a.dest.is_some() {
        s.push_str(
            "if [ \"$rc\" = 0 ]; then if [ -d \"$D\" ]; then i=1; sd=$D; else i=0; sd=$(dirname \"$D\"); fi\n\
             sf=$(mktemp \"$sd/.clearfleet-uri.XXXXXXXX\" 2>/dev/null) && cat \"$d/b\" > \"$sf\" && printf '%s %s' \"$i\" \"$sf\" > \"$d/x\"; fi\n",
        );
    }
    s.push_str(
        "printf '%s %s %s %s %s\\n' \"$rc\" $(wc -c < \"$d/w\") $(wc -c < \"$d/h\") $(wc -c < \"$d/b\") $(wc -c < \"$d/x\")\n\
         cat \"$d/w\" \"$d/h\" \"$d/b\" \"$d/x\"\ncat \"$d/e\" >&2\n",
    );
    s
}

/// A parsed HTTP exchange.
#[derive(Debug, Default)]
pub(super) struct Response {
    pub curl_rc: i32,
    pub status: i64,
    pub redirects: u64,
    pub url: String,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// With `dest`: whether dest is a directory, and the body's staged copy beside it.
    pub staged: Option<(bool, String)>,
}

/// Why [`script`]'s output cannot be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum OutputError {
    #[error("no output from the request script")]
    Empty,
    /// The first line is not four numbers.
    #[error("unexpected output from the request script: {0:?}")]
    Header(String),
    #[error("truncated output from the request script")]
    Truncated,
}

/// Parses [`script`]'s output.
fn parse(stdout: &[u8]) -> Result<Response, OutputError> {
    let nl = stdout
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(OutputError::Empty)?;
    let head = String::from_utf8_lossy(&stdout[..nl]);
    let nums: Vec<usize> = head
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let [rc, w, h, b, x] = nums[..] else {
        return Err(OutputError::Header(head.into_owned()));
    };
    let rest = &stdout[nl + 1..];
    if rest.len() != w + h + b + x {
        return Err(OutputError::Truncated);
    }
    let summary = String::from_utf8_lossy(&rest[..w]).into_owned();
    let mut parts = summary.splitn(3, ' ');
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let redirects = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let url = parts.next().unwrap_or_default().trim().to_owned();
    let raw_headers = String::from_utf8_lossy(&rest[w..w + h]).replace("\r\n", "\n");
    // Several blocks with redirects or `100 Continue`: the last one is the response.
    let block = raw_headers
        .split("\n\n")
        .filter(|b| b.starts_with("HTTP/"))
        .last()
        .unwrap_or_default();
    let mut lines = block.lines();
    let reason = lines
        .next()
        .and_then(|l| l.splitn(3, ' ').nth(2))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        curl_rc: rc as i32,
        status: if status == 0 { -1 } else { status },
        redirects,
        url,
        reason,
        headers,
        body: rest[w + h..w + h + b].to_vec(),
        staged: String::from_utf8_lossy(&rest[w + h + b..])
            .split_once(' ')
            .map(|(dir, path)| (dir == "1", path.to_owned())),
    })
}

/// Headers as Ansible returns them: lowercase, `-` → `_`, repeated ones joined with `, `.
pub(super) fn header_map(headers: &[(String, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in headers {
        let key = k.to_ascii_lowercase().replace('-', "_");
        match m.get_mut(&key) {
            Some(Value::String(s)) => {
                s.push_str(", ");
                s.push_str(v);
            }
            _ => {
                m.insert(key, json!(v));
            }
        }
    }
    m
}

/// Where `src` is on the host, and whether it is a copy of a controller file to remove after
/// (the uri action plugin's `_transfer_file` into its tmpdir; one round trip).
async fn host_src<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    a: &UriArgs,
) -> Result<Option<(String, bool)>, ModuleResult> {
    let Some(src) = &a.src else {
        return Ok(None);
    };
    if a.remote_src {
        return Ok(Some((src.clone(), false)));
    }
    let (bytes, _) = super::copy::read_source(ctx, src, "files").await?;
    Ok(Some((upload(ctx, bytes, src).await?, true)))
}

/// Writes `bytes` (`what`, for the error) to a new private temporary file on the host and
/// returns its path.
pub(super) async fn upload<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    bytes: Vec<u8>,
    what: &str,
) -> Result<String, ModuleResult> {
    let out = call(
        ctx,
        "umask 077; f=$(mktemp \"${TMPDIR:-/tmp}/clearfleet-uri-src.XXXXXXXX\") || exit 1; cat > \"$f\" || { rm -f \"$f\"; exit 1; }; echo \"$f\"",
        Some(bytes),
        None,
    )
    .await?;
    match (out.rc, out.stdout_text().trim()) {
        (Some(0), path) if !path.is_empty() => Ok(path.to_owned()),
        _ => Err(ModuleResult::fail(format!(
            "cannot copy {what} to the host: {}",
            out.stderr_text()
        ))),
    }
}

/// fetch_url's `cookies` (name to value) and `cookies_string` (`name=value; ...`) from the
/// response's `Set-Cookie` headers, in response order (a name set again keeps its last value);
/// clearfleet reads only the last response's headers (not a redirect's) and ignores `Path`,
/// `Domain` and expiry.
pub(super) fn cookies(headers: &[(String, String)]) -> (Value, String) {
    let mut list: Vec<(String, String)> = Vec::new();
    for (_, v) in headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
    {
        let pair = v.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            let name = name.trim().to_owned();
            list.retain(|(n, _)| *n != name);
            list.push((name, value.trim().to_owned()));
        }
    }
    let string = list
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let dict: Map<String, Value> = list.into_iter().map(|(n, v)| (n, json!(v))).collect();
    (Value::Object(dict), string)
}

/// Runs `uri`. Check mode: skipped (Ansible's uri does not support it).
pub async fn run<R: Remote>(args: &UriArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    if args.creates.is_some() || args.removes.is_some() {
        let n = match nonce() {
            Ok(n) => n,
            Err(r) => return *r,
        };
        let guard = Guard {
            chdir: None,
            physical: false,
            creates: args.creates.as_deref(),
            removes: args.removes.as_deref(),
        };
        let out = match call(
            ctx,
            &format!("{}echo go", guard.script(&n, false)),
            None,
            None,
        )
        .await
        {
            Ok(o) => o,
            Err(r) => return r,
        };
        if let Some(m) = Guard::marker(&out, &n)
            && let Some(mut r) = guard.not_run(&m, ctx.check_mode)
        {
            r.msg = r.msg.map(|m| m.replace("run command", "run"));
            r.stdout = None;
            r.stderr = None;
            r.rc = None;
            return r;
        }
    }
    if ctx.check_mode {
        return ModuleResult::skipped_check("uri does not support check mode");
    }
    let mut src = match host_src(ctx, args).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut multipart = None;
    if src.is_none() && args.body_format == "form-multipart" {
        match super::uri_multipart::host_body(ctx, args.body.as_ref(), args.remote_src).await {
            Ok((path, ctype)) => {
                src = Some((path, true));
                multipart = Some(ctype);
            }
            Err(r) => return r,
        }
    }
    let config = match curl_config(
        args,
        src.as_ref().map(|s| s.0.as_str()),
        multipart.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return ModuleResult::fail(e.to_string()),
    };
    let sep = match nonce() {
        Ok(n) => format!("--clearfleet-{n}--"),
        Err(r) => return *r,
    };
    let started = Instant::now();
    let timeout = std::time::Duration::from_secs_f64(args.timeout + 30.0);
    let stdin = url_fetch::framed(&config, &sep).into_bytes();
    let out = match call(
        ctx,
        &script(args, &sep, src.as_ref()),
        Some(stdin),
        Some(timeout),
    )
    .await
    {
        Ok(o) => o,
        Err(r) => return r,
    };
    let elapsed = started.elapsed().as_secs();
    if out.rc == Some(94) {
        // uri(): `Unable to open source file`, with elapsed 0.
        return ModuleResult::fail(out.stderr_text().trim_end()).with("elapsed", 0);
    }
    if matches!(out.rc, Some(127 | 95)) {
        return ModuleResult::fail(out.stderr_text());
    }
    let resp = match parse(&out.stdout) {
        Ok(r) => r,
        Err(e) => return ModuleResult::fail(format!("{e}: {}", out.stderr_text())),
    };
    let mut r = ModuleResult::ok();
    for (k, v) in header_map(&resp.headers) {
        r.data.insert(k, v);
    }
    let content_type = resp
        .headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    if content_type.contains("json")
        && let Ok(js) = serde_json::from_str::<Value>(&text)
    {
        r.data.insert("json".into(), js);
    }
    r = r
        .with("status", resp.status)
        .with(
            "url",
            if resp.url.is_empty() {
                args.url.clone()
            } else {
                resp.url.clone()
            },
        )
        .with("redirected", resp.redirects > 0)
        .with("elapsed", elapsed);
    // fetch_url: `cookies` and `cookies_string` only when urllib raised no HTTPError (2xx).
    if resp.curl_rc == 0 && (200..300).contains(&resp.status) {
        let (dict, string) = cookies(&resp.headers);
        r = r.with("cookies", dict).with("cookies_string", string);
    }
    if args.return_content {
        r = r.with("content", text);
    }
    if let (Some(dest), true) = (&args.dest, resp.status > 0) {
        match write_dest(ctx, args, dest, &resp).await {
            Ok(w) => r = w.apply(r),
            Err(e) => return e,
        }
    }
    let detail = if resp.curl_rc != 0 {
        url_fetch::request_failed(&out.stderr_text())
    } else if (200..400).contains(&resp.status) {
        let len = resp
            .headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.clone());
        format!("OK ({} bytes)", len.unwrap_or_else(|| "unknown".into()))
    } else {
        format!("HTTP Error {}: {}", resp.status, resp.reason)
    };
    if resp.curl_rc != 0 || !args.status_code.contains(&resp.status) {
        let codes: Vec<String> = args.status_code.iter().map(i64::to_string).collect();
        r.failed = true;
        r.msg = Some(format!(
            "Status code was {} and not [{}]: {detail}",
            resp.status,
            codes.join(", ")
        ));
    } else {
        r.msg = Some(detail);
    }
    r
}

/// What [`write_dest`] did: the path, and whether it wrote (uri.py's `changed`).
struct Written {
    path: String,
    wrote: bool,
    stat: Option<super::probe::Info>,
}

impl Written {
    fn apply(self, mut r: ModuleResult) -> ModuleResult {
        r.changed = self.wrote;
        r = r.with("path", self.path);
        match self.stat {
            Some(info) if !r.failed => info.add_path_info(r),
            _ => r,
        }
    }
}

/// uri.py's `write_file` (after a response with a status in `status_code`, not 304): the
/// staged body moved over dest when it differs (with dest's mode, else the umask's), `path`
/// being dest, or in a directory dest the file name `get_response_filename` gives.
async fn write_dest<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    args: &UriArgs,
    dest: &str,
    resp: &Response,
) -> Result<Written, ModuleResult> {
    let Some((is_dir, staged)) = &resp.staged else {
        return Ok(Written {
            path: dest.to_owned(),
            wrote: false,
            stat: None,
        });
    };
    let path = if *is_dir {
        format!(
            "{}/{}",
            dest.trim_end_matches('/'),
            response_filename(&resp.headers, &resp.url)
        )
    } else {
        dest.to_owned()
    };
    let write = args.status_code.contains(&resp.status) && resp.status != 304;
    let (s, q) = (super::probe::qpath(staged), super::probe::qpath(&path));
    let script = if write {
        format!(
            "{}s={s}; q={q}\n\
             if [ -f \"$q\" ] && cmp -s \"$s\" \"$q\"; then rm -f \"$s\"\n\
             else if [ -e \"$q\" ]; then m=$(stat -c %a \"$q\" 2>/dev/null || stat -f %Lp \"$q\"); else m=$(printf '%o' $((0666 & ~$(umask)))); fi\n\
             chmod \"$m\" \"$s\" && mv -f \"$s\" \"$q\" || {{ rm -f \"$s\"; exit 1; }}; fi\n\
             printf 'stat=%s\\n' \"$(_cf_stat '' \"$q\")\"\n",
            super::probe::PRELUDE
        )
    } else {
        format!("rm -f {s}\n")
    };
    let out = call(ctx, &script, None, None).await?;
    if out.rc != Some(0) {
        return Err(ModuleResult::fail(format!(
            "failed to copy {staged} to {path}: {}",
            out.stderr_text()
        )));
    }
    let text = out.stdout_text();
    let mut stat = text
        .lines()
        .find_map(|l| l.strip_prefix("stat="))
        .and_then(|l| super::probe::stat_info(l.trim()).ok());
    if write && (args.mode.is_some() || args.owner.is_some() || args.group.is_some()) {
        // uri.py main: `load_file_common_arguments` and `set_fs_attributes_if_different` on
        // the written path (its `changed` is already true).
        let mode = match &args.mode {
            Some(m) => Some(
                m.resolve(stat.as_ref().map(|i| i.mode), false)
                    .map_err(|e| ModuleResult::fail(format!("bad mode: {e}")))?,
            ),
            None => None,
        };
        let after = super::copy::set_attrs(
            ctx,
            &path,
            mode,
            args.owner.as_deref(),
            args.group.as_deref(),
        )
        .await?;
        stat = after.or(stat);
    }
    Ok(Written {
        path,
        wrote: write,
        stat,
    })
}

/// urls.py's `get_response_filename`: Content-Disposition's `filename` (its base name), else
/// the URL path's last segment (unquoted), else `index.html` (uri.py).
fn response_filename(headers: &[(String, String)], url: &str) -> String {
    if let Some(name) = url_fetch::content_disposition_filename(headers) {
        return name;
    }
    let path = url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let path = path.split_once('/').map(|(_, p)| p).unwrap_or_default();
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if last.is_empty() {
        "index.html".to_owned()
    } else {
        percent_decode(last)
    }
}

/// `urllib.parse.unquote` for UTF-8.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_strings_escape() {
        assert_eq!(curl_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode(&json!({"a b": "c&d", "n": 1})),
            Some("a+b=c%26d&n=1".into())
        );
        assert_eq!(form_encode(&json!([["x", "é"]])), Some("x=%C3%A9".into()));
    }

    #[test]
    fn password_only_in_config() {
        let a = UriArgs::parse(
            &json!({"url": "http://127.0.0.1/", "url_username": "u", "url_password": "s3cret"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            curl_config(&a, None, None)
                .unwrap_or_default()
                .join("")
                .contains("user = \"u:s3cret\"")
        );
        assert!(!script(&a, "--s--", None).contains("s3cret"));
    }

    #[test]
    fn src_excludes_body_and_goes_to_curl_as_a_file() {
        assert!(UriArgs::parse(&json!({"url": "http://h/", "body": "x", "src": "/f"})).is_err());
        let a = UriArgs::parse(&json!({"url": "http://h/", "src": "/f", "remote_src": true}))
            .expect("parses");
        let c = curl_config(&a, Some("/f b"), None)
            .expect("config")
            .join("");
        assert!(c.contains("data-binary = \"@/f b\"\n"), "{c}");
        let s = script(&a, "--s--", Some(&("/f b".to_owned(), false)));
        assert!(s.contains("Unable to open source file"), "{s}");
        assert!(!s.contains("rm -f \"$S\""), "a remote src is left alone");
    }
}

//! `get_url`: download a URL on the host to a path, only when needed.
//!
//! Round trips: 1 probe (stat + sha1, or the `checksum` algorithm, of dest); then, unless dest
//! already satisfies the task (a file matching `checksum`, without `force`), 1 download script
//! (a HEAD request in check mode, as get_url.py's; an existing file dest's mtime sent as
//! `If-Modified-Since`, a 304 leaving it alone): `curl` (else `wget`) into a temporary file
//! beside dest (or in `tmp_dest`), decode gzip (`decompress`), verify `checksum`, compare sha1
//! with dest, and `mv` only if different. A directory dest takes its file name from the
//! response (get_url.py's `extract_filename_from_headers`, else `url_filename` of the URL after
//! redirects): the download script stops after the request, keeping the staged file, and a
//! second script (after a probe of the named file, unless it is the URL's) finishes it. Request details (URL, headers, credentials) go on
//! stdin as curl/wget
//! config files, never in the command line. The shared urls.py arguments are in
//! [`super::url_fetch`]; `file://` URLs are read by curl, as urls.py's urllib reads them.

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, Secret};
use super::context::ModuleContext;
use super::copy::set_attrs;
use super::probe::{self, Probe, algo_arg, call, nonce, owner_differs, qpath};
use super::remote::Remote;
use super::result::ModuleResult;
use super::uri::{check_url, curl_str, http_agent};
use super::url_fetch::{self, CurlRequest, FetchOpts};
use clearfleet_base::shell::quote;

/// Arguments of `get_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetUrlArgs {
    pub url: String,
    pub dest: String,
    /// `(algorithm, lowercase hex)` from `sha256:abc…`.
    pub checksum: Option<(String, String)>,
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub force: bool,
    pub backup: bool,
    pub timeout: f64,
    pub headers: Vec<(String, String)>,
    pub url_username: Option<String>,
    /// no_log: sent on stdin only, never returned.
    pub url_password: Option<Secret>,
    pub validate_certs: bool,
    /// `ciphers`, joined with `:`: curl's `--ciphers` (wget has no such setting: with
    /// ciphers the host needs curl).
    pub ciphers: Option<String>,
    pub http_agent: String,
    /// `false`: ignore `*_proxy` environment variables on the host.
    pub use_proxy: bool,
    /// `decompress`, `use_netrc`, `use_gssapi`, `client_cert`, `client_key`,
    /// `unredirected_headers`.
    pub fetch: FetchOpts,
    /// `tmp_dest`: an existing directory the download is staged in (url_get).
    pub tmp_dest: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("url", &[]),
    ("dest", &[]),
    ("checksum", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("force", &[]),
    ("backup", &[]),
    ("timeout", &[]),
    ("headers", &[]),
    ("url_username", &["username"]),
    ("url_password", &["password"]),
    ("force_basic_auth", &[]),
    ("validate_certs", &[]),
    ("http_agent", &[]),
    ("use_proxy", &[]),
    ("ciphers", &[]),
    ("decompress", &[]),
    ("use_netrc", &[]),
    ("use_gssapi", &[]),
    ("client_cert", &[]),
    ("client_key", &[]),
    ("unredirected_headers", &[]),
    ("tmp_dest", &[]),
    ("unsafe_writes", &[]),
];

impl GetUrlArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<GetUrlArgs, ArgError> {
        let mut a = Args::new("get_url", KEYS, v)?;
        let url = a.req_str("url")?;
        check_url(&url, true)?;
        let checksum = match a.str("checksum")?.filter(|s| !s.is_empty()) {
            None => None,
            Some(c) => {
                let (alg, hex) = c.split_once(':').ok_or_else(|| {
                    ArgError::field("checksum", "format must be <algorithm>:<checksum>")
                })?;
                if algo_arg(alg).is_none() {
                    return Err(ArgError::field(
                        "checksum",
                        format!("unsupported algorithm: {alg}"),
                    ));
                }
                if hex.contains("://") {
                    return Err(ArgError::field(
                        "checksum",
                        "checksum URLs are not supported by clearfleet",
                    ));
                }
                if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(ArgError::field(
                        "checksum",
                        "the checksum is not hexadecimal",
                    ));
                }
                Some((alg.to_owned(), hex.to_ascii_lowercase()))
            }
        };
        let parsed = GetUrlArgs {
            url,
            dest: a.req_str("dest")?,
            checksum,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
            force: a.bool("force", false)?,
            backup: a.bool("backup", false)?,
            timeout: a.seconds("timeout")?.unwrap_or(10.0),
            headers: a.str_map("headers")?,
            url_username: a.str("url_username")?,
            url_password: a.str("url_password")?.map(Secret),
            validate_certs: a.bool("validate_certs", true)?,
            ciphers: super::uri::ciphers(&mut a)?,
            http_agent: http_agent(&mut a)?,
            use_proxy: a.bool("use_proxy", true)?,
            fetch: FetchOpts::parse(&mut a)?,
            tmp_dest: a.str("tmp_dest")?.filter(|t| !t.is_empty()),
        };
        a.bool("force_basic_auth", false)?;
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        for (k, v) in &parsed.headers {
            if k.contains(['\n', '\r', ':']) || v.contains(['\n', '\r']) {
                return Err(ArgError::field("headers", format!("bad header {k:?}")));
            }
        }
        Ok(parsed)
    }

    /// The six stdin sections: the four of [`CurlRequest::sections`], then the wgetrc and
    /// the URL for wget.
    fn sections(&self) -> Vec<String> {
        let mut c = format!("max-time = {}\n", self.timeout);
        c.push_str(&format!("user-agent = {}\n", curl_str(&self.http_agent)));
        if !self.validate_certs {
            c.push_str("insecure\n");
        }
        if let Some(list) = &self.ciphers {
            c.push_str(&format!("ciphers = {}\n", curl_str(list)));
        }
        if !self.use_proxy {
            c.push_str("noproxy = \"*\"\n");
        }
        let user = url_fetch::credentials(self.url_username.as_deref(), self.url_password.as_ref());
        let curl = CurlRequest {
            url: &self.url,
            common: c,
            headers: &self.headers,
            user,
            // urllib's HTTPRedirectHandler.max_redirections.
            max_redirects: Some(10),
            opts: &self.fetch,
        };
        let mut w = format!(
            "timeout = {}\nuser_agent = {}\n",
            self.timeout,
            self.http_agent.replace('\n', " ")
        );
        if !self.validate_certs {
            w.push_str("check_certificate = off\n");
        }
        if !self.use_proxy {
            w.push_str("use_proxy = off\n");
        }
        if !self.fetch.use_netrc {
            w.push_str("netrc = off\n");
        }
        for (k, v) in &self.headers {
            w.push_str(&format!("header = {k}: {v}\n"));
        }
        if let Some((u, password)) = user {
            w.push_str(&format!(
                "http_user = {u}\nhttp_password = {password}\nauth_no_challenge = on\n"
            ));
        }
        let mut all: Vec<String> = curl.sections().into();
        all.push(w);
        all.push(format!("{}\n", self.url));
        all
    }

    /// The request without its secrets: what [`CurlRequest::call`] and
    /// [`CurlRequest::netrc_host`] need.
    fn bare_request(&self) -> CurlRequest<'_> {
        CurlRequest {
            url: &self.url,
            common: String::new(),
            headers: &self.headers,
            user: self.url_username.as_deref().map(|u| (u, "")),
            max_redirects: None,
            opts: &self.fetch,
        }
    }

    /// The `_cf_curl` call for this download.
    fn curl_call(&self, dir: &str, out: &str) -> String {
        self.bare_request().call(dir, out)
    }

    /// The host whose `.netrc` entry gives the credentials, for the `wget` fallback.
    fn netrc_host(&self) -> Option<String> {
        self.bare_request().netrc_host()
    }

    /// Whether the host needs curl (wget cannot do it).
    fn needs_curl(&self) -> bool {
        self.ciphers.is_some() || self.fetch.needs_curl() || self.url.starts_with("file:")
    }
}

/// The file name a URL suggests (for a directory dest).
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let name = path.rsplit('/').next().unwrap_or_default();
    if name.is_empty() || path.matches('/').count() < 3 {
        "index.html".to_owned()
    } else {
        name.to_owned()
    }
}

/// The download's second half, from the staged file `$t` to `$p` (get_url.py main after
/// url_get): check mode's answer, gzip decoding, the `checksum` check, the sha1 comparison,
/// mode and owner, `backup`, the move; dest's `info` before it.
fn tail_script(
    args: &GetUrlArgs,
    check_mode: bool,
    mode: Option<u32>,
    info: &probe::Info,
    alg: &str,
) -> String {
    let mut s = String::new();
    if check_mode {
        // The empty download's sha1 against dest's (get_url.py main, `module.check_mode`).
        s.push_str("old=; [ -f \"$p\" ] && old=$(_cf_sum 1 \"$p\"); echo \"check ${old:--}\"; printf 'src=%s\\n' \"$t\"; exit 0\n");
    }
    if args.fetch.decompress {
        s.push_str("_cf_gunzip \"$w/h\" \"$t\" || exit 1\n");
    }
    if let Some((_, want)) = &args.checksum {
        s.push_str(&format!(
            "got=$(_cf_sum {alg} \"$t\"); [ \"$got\" = {} ] || {{ printf 'The checksum for %s did not match %s; it was %s.\\n' \"$t\" {} \"$got\" >&2; exit 94; }}\n",
            quote(want),
            quote(want)
        ));
    }
    s.push_str("new=$(_cf_sum 1 \"$t\"); size=$(wc -c < \"$t\"); old=; [ -f \"$p\" ] && old=$(_cf_sum 1 \"$p\")\n");
    let chmod = match mode {
        Some(m) => format!("chmod {m:o}"),
        None if info.exists => format!("chmod {:o}", info.mode),
        None => "chmod \"$(printf '%o' $((0666 & ~$(umask))))\"".to_owned(),
    };
    let chown = match (&args.owner, &args.group) {
        (Some(o), Some(g)) => format!("chown {}", quote(&format!("{o}:{g}"))),
        (Some(o), None) => format!("chown {}", quote(o)),
        (None, Some(g)) => format!("chgrp {}", quote(g)),
        (None, None) => "true".to_owned(),
    };
    s.push_str(&format!(
        "if [ \"$new\" = \"$old\" ]; then {chmod} \"$p\" && {chown} \"$p\" || exit 1; k=same\n\
         else {chmod} \"$t\" && {chown} \"$t\" || exit 1\n"
    ));
    if args.backup {
        s.push_str("if [ -f \"$p\" ]; then b=\"$p.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; cp -p \"$p\" \"$b\" || exit 1; fi\n");
    }
    s.push_str(
        "mv -f \"$t\" \"$p\" || exit 1; k=new; fi\n\
         echo \"$k $new ${old:--} $size ${b:-}\"\n\
         printf 'src=%s\\nmd5=%s\\nstat=%s\\n' \"$t\" \"$(_cf_sum md5 \"$p\")\" \"$(_cf_stat '' \"$p\")\"\n",
    );
    s
}

/// `mode` resolved against dest's `info`, and whether an existing dest's mode or owner
/// differs from what the task wants.
fn wanted_attrs(args: &GetUrlArgs, info: &probe::Info) -> Result<(Option<u32>, bool), String> {
    let current = info.exists.then_some(info.mode);
    let mode = match &args.mode {
        Some(m) => Some(
            m.resolve(current, false)
                .map_err(|e| format!("bad mode: {e}"))?,
        ),
        None => None,
    };
    let attrs_changed = info.exists
        && (mode.is_some_and(|m| m != info.mode)
            || owner_differs(info, args.owner.as_deref(), args.group.as_deref()));
    Ok((mode, attrs_changed))
}

/// Runs `get_url`.
pub async fn run<R: Remote>(args: &GetUrlArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let alg = args
        .checksum
        .as_ref()
        .and_then(|(a, _)| algo_arg(a))
        .unwrap_or("1");
    let joined = format!(
        "{}/{}",
        args.dest.trim_end_matches('/'),
        url_file_name(&args.url)
    );
    let probed = match probe::probe(
        ctx,
        &[
            Probe {
                checksum: Some(alg),
                follow: true,
                ..Probe::stat(&args.dest)
            },
            Probe {
                checksum: Some(alg),
                follow: true,
                ..Probe::stat(&joined)
            },
        ],
    )
    .await
    {
        Ok(p) => p,
        Err(r) => return r,
    };
    let dest_is_dir = probed.infos[0].is_dir() || args.dest.ends_with('/');
    let (dest, info) = if dest_is_dir {
        (joined.as_str(), probed.infos[1].clone())
    } else {
        (args.dest.as_str(), probed.infos[0].clone())
    };
    let base = |r: ModuleResult| {
        r.with("dest", dest.to_owned())
            .with("url", args.url.clone())
    };
    let (mode, attrs_changed) = match wanted_attrs(args, &info) {
        Ok(w) => w,
        Err(e) => return base(ModuleResult::fail(e)),
    };
    // get_url.py main: only a file dest whose checksum matches `checksum` skips the download
    // (without `force`); any other existing file is fetched with `If-Modified-Since`.
    let satisfied = !dest_is_dir
        && info.exists
        && !args.force
        && args
            .checksum
            .as_ref()
            .is_some_and(|(_, want)| info.checksum.as_deref() == Some(want.as_str()));
    if satisfied {
        let r = if attrs_changed {
            ModuleResult::changed().with_msg("file already exists but file attributes changed")
        } else {
            ModuleResult::ok().with_msg("file already exists")
        };
        let mut now = info.clone();
        if attrs_changed && !ctx.check_mode {
            match set_attrs(
                ctx,
                dest,
                mode,
                args.owner.as_deref(),
                args.group.as_deref(),
            )
            .await
            {
                Ok(Some(after)) => now = after,
                Ok(None) => {}
                Err(e) => return base(e),
            }
        }
        // get_url.py main's `result` as it stands before the download, and dest's path info.
        let r = r
            .with("checksum_dest", Value::Null)
            .with("checksum_src", Value::Null)
            .with("elapsed", 0);
        return now.add_path_info(base(r));
    }
    let sep = match nonce() {
        Ok(n) => format!("--clearfleet-{n}--"),
        Err(r) => return base(*r),
    };
    let mut s = format!(
        "{}{}p={}\nd=$(dirname {})\n",
        probe::PRELUDE,
        url_fetch::SHELL,
        qpath(dest),
        qpath(dest)
    );
    s.push_str(
        "[ -d \"$d\" ] || { printf 'Destination %s does not exist\\n' \"$d\" >&2; exit 1; }\n",
    );
    // url_get: the response is read first; then tmp_dest must be an existing directory (exit
    // 96 after the status checks; the body meanwhile staged in the work directory).
    let (stage, td_check) = match &args.tmp_dest {
        Some(td) => {
            s.push_str(&format!("td={}\nsg=\"$td\"\n", qpath(td)));
            (
                "$sg",
                "if [ ! -d \"$td\" ]; then if [ -e \"$td\" ]; then printf '%s is a file but should be a directory.\\n' \"$td\" >&2; else printf '%s directory does not exist.\\n' \"$td\" >&2; fi; exit 96; fi\n",
            )
        }
        None => ("$d", ""),
    };
    s.push_str(&format!(
        "w=$(mktemp -d \"${{TMPDIR:-/tmp}}/clearfleet-get.XXXXXXXX\") || exit 1\n\
         [ -d \"{stage}\" ] || sg=\"$w\"\n\
         t=$(mktemp \"{stage}/.clearfleet.XXXXXXXX\") || {{ rm -rf \"$w\"; exit 1; }}\n\
         trap 'rm -rf \"$w\"; rm -f \"$t\"' EXIT\n{}",
        url_fetch::split_script("\"$w\"", &sep, 6)
    ));
    // Request.open (urls.py): `force` sends `cache-control: no-cache`; else an existing file
    // dest's mtime goes as `If-Modified-Since` (rfc2822_date_string, GMT).
    if args.force {
        s.push_str("printf 'header = \"cache-control: no-cache\"\\n' >> \"$w/s0\"; printf 'header = cache-control: no-cache\\n' >> \"$w/s4\"\n");
    } else if !dest_is_dir {
        s.push_str("if [ -e \"$p\" ]; then ims=$(LC_ALL=C date -u -r \"$p\" '+%a, %d %b %Y %H:%M:%S GMT') || exit 1; printf 'header = \"If-Modified-Since: %s\"\\n' \"$ims\" >> \"$w/s0\"; printf 'header = If-Modified-Since: %s\\n' \"$ims\" >> \"$w/s4\"; fi\n");
    }
    // get_url.py main: check mode makes a HEAD request (curl's `head`, wget's `--spider`).
    if ctx.check_mode {
        s.push_str("printf 'head\\n' >> \"$w/s0\"\n");
    }
    if args.fetch.use_gssapi {
        s.push_str("_cf_gss\n");
    }
    s.push_str(&format!(
        "if command -v curl >/dev/null 2>&1; then {}; rc=$?\n\
         elif {wget} command -v wget >/dev/null 2>&1; then {wnetrc}wget -nv -S{spider} --config=\"$w/s4\" -i \"$w/s5\" -O \"$t\" 2> \"$w/e\"; rc=$?\n\
         awk '/^  HTTP\\//{{if(n++)print \"\"}} /^  /{{sub(/^  /,\"\"); print}}' \"$w/e\" > \"$w/h\"\n\
         else echo {needs} >&2; exit 93; fi\n\
         touch \"$w/h\"; cat \"$w/h\"; printf '\\n%s\\n' {sep}\n\
         if [ \"$rc\" != 0 ] && ! grep -q '^HTTP/' \"$w/h\"; then grep -v '^ ' \"$w/e\" >&2; exit 92; fi\n\
         st=$(awk '{{sub(/\\r$/,\"\")}} /^HTTP\\//{{s=$2}} END{{print s}}' \"$w/h\")\n\
         case \"$st\" in 304) echo 304; exit 0;; 200|'') ;; *) exit 97;; esac\n{td_check}",
        args.curl_call(
            "\"$w\"",
            if ctx.check_mode { "\"$w/hb\"" } else { "\"$t\"" }
        ),
        sep = quote(&sep),
        spider = if ctx.check_mode { " --spider" } else { "" },
        wget = if args.needs_curl() { "false &&" } else { "" },
        wnetrc = match args.netrc_host() {
            Some(h) => format!("_cf_wnetrc \"$w/s4\" {} || exit 1; ", quote(&h)),
            None => String::new(),
        },
        needs = if args.needs_curl() {
            "'get_url with these arguments needs curl on the host'"
        } else {
            "'get_url needs curl or wget on the host'"
        },
    ));
    let (sections, timeout) = (
        url_fetch::framed(&args.sections(), &sep),
        std::time::Duration::from_secs_f64(args.timeout + 60.0),
    );
    let started = std::time::Instant::now();
    // get_url.py main: for a directory dest the file name comes from the response
    // (`extract_filename_from_headers`, else `url_filename(info['url'])`, the URL after
    // redirects): the download stops here, keeping its staging files, and the rest runs once
    // the name is known.
    let mut tail = String::new();
    if !dest_is_dir {
        s.push_str(&tail_script(args, ctx.check_mode, mode, &info, alg));
    } else {
        s.push_str("trap - EXIT; printf 'stage=%s\\n%s\\n' \"$w\" \"$t\"; [ -s \"$w/w\" ] && cut -d' ' -f3- \"$w/w\" | head -n 1\n");
    }
    let out = match call(ctx, &s, Some(sections.into_bytes()), Some(timeout)).await {
        Ok(o) => o,
        Err(r) => return base(r),
    };
    let elapsed = started.elapsed().as_secs();
    let text = out.stdout_text();
    let (raw_headers, rest) = text
        .split_once(&format!("\n{sep}\n"))
        .unwrap_or(("", text.as_str()));
    let (status, reason, headers) = url_fetch::last_block(raw_headers);
    let timed = |r: ModuleResult| base(r).with("elapsed", elapsed);
    match out.rc {
        Some(0) => {}
        // fetch_url's MissingModuleError: only msg; url_get's tmp_dest checks: msg, elapsed.
        Some(95) => return ModuleResult::fail(out.stderr_text()),
        Some(96) => return ModuleResult::fail(out.stderr_text()).with("elapsed", elapsed),
        Some(92) => {
            let err = out.stderr_text();
            let msg = match args.url.strip_prefix("file://") {
                // urllib's FileHandler: `<urlopen error [Errno 2] ...>`.
                Some(path) if err.contains("(37)") => format!(
                    "Request failed: <urlopen error [Errno 2] No such file or directory: '{path}'>"
                ),
                _ => url_fetch::request_failed(&err),
            };
            return timed(ModuleResult::fail(msg));
        }
        Some(97) => {
            let mut r = ModuleResult::fail("Request failed");
            r = r.with("status_code", status.unwrap_or(-1)).with(
                "response",
                format!("HTTP Error {}: {reason}", status.unwrap_or(-1)),
            );
            return timed(r);
        }
        _ => return timed(ModuleResult::fail(out.stderr_text())),
    }
    if rest.trim() == "304" {
        let r = ModuleResult::ok()
            .with_msg(format!("HTTP Error 304: {reason}"))
            .with("status_code", 304);
        // exit_json with `dest`: dest's path info (the file left as it was).
        return info.add_path_info(timed(r));
    }
    let (dest, info) = if dest_is_dir {
        let mut lines = rest.lines().skip_while(|l| !l.starts_with("stage="));
        let work = lines
            .next()
            .and_then(|l| l.strip_prefix("stage="))
            .unwrap_or_default();
        let staged = lines.next().unwrap_or_default();
        let url = lines.next().filter(|u| !u.is_empty()).unwrap_or(&args.url);
        let name =
            url_fetch::content_disposition_filename(&headers).unwrap_or_else(|| url_file_name(url));
        let path = format!("{}/{name}", args.dest.trim_end_matches('/'));
        let info = if path == joined {
            info
        } else {
            match probe::probe(
                ctx,
                &[Probe {
                    follow: true,
                    ..Probe::stat(&path)
                }],
            )
            .await
            {
                Ok(mut p) => p.infos.swap_remove(0),
                Err(r) => {
                    let _ = call(
                        ctx,
                        &format!("rm -rf {}; rm -f {}\n", qpath(work), qpath(staged)),
                        None,
                        None,
                    )
                    .await;
                    return r.with("dest", path).with("url", args.url.clone());
                }
            }
        };
        tail = format!(
            "{}{}p={}\nw={}\nt={}\ntrap 'rm -rf \"$w\"; rm -f \"$t\"' EXIT\n",
            probe::PRELUDE,
            url_fetch::SHELL,
            qpath(&path),
            qpath(work),
            qpath(staged)
        );
        (path, info)
    } else {
        (dest.to_owned(), info)
    };
    let dest = dest.as_str();
    let base = |r: ModuleResult| {
        r.with("dest", dest.to_owned())
            .with("url", args.url.clone())
    };
    let timed = |r: ModuleResult| base(r).with("elapsed", elapsed);
    let (mode, attrs_changed) = match wanted_attrs(args, &info) {
        Ok(w) => w,
        Err(e) => return timed(ModuleResult::fail(e)),
    };
    // A file dest's script ran whole; a directory's runs its tail now.
    let rest = if dest_is_dir {
        tail.push_str(&tail_script(args, ctx.check_mode, mode, &info, alg));
        let out = match call(ctx, &tail, None, Some(timeout)).await {
            Ok(o) => o,
            Err(r) => return timed(r),
        };
        if out.rc != Some(0) {
            return timed(ModuleResult::fail(out.stderr_text()));
        }
        out.stdout_text()
    } else {
        rest.to_owned()
    };
    let rest = rest.as_str();
    // fetch_url's msg: the Content-Length header, not the size written (gzip).
    let ok_msg = format!(
        "OK ({} bytes)",
        url_fetch::header(&headers, "content-length").unwrap_or("unknown")
    );
    if let Some(old) = rest.lines().next().and_then(|l| l.strip_prefix("check ")) {
        // sha1 of the empty file a HEAD request leaves.
        const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let old = old.trim();
        let mut r = if old == "-" || old != EMPTY_SHA1 {
            ModuleResult::changed()
        } else {
            ModuleResult::ok()
        };
        r.msg = Some(ok_msg);
        r = r
            .with("checksum_src", EMPTY_SHA1)
            .with(
                "checksum_dest",
                if old == "-" {
                    Value::Null
                } else {
                    Value::from(old)
                },
            )
            .with(
                "src",
                rest.lines()
                    .find_map(|l| l.strip_prefix("src="))
                    .unwrap_or_default(),
            );
        // AnsibleModule.add_path_info: nothing for a path that does not exist.
        let r = timed(r);
        return if info.exists {
            info.add_path_info(r)
        } else {
            r
        };
    }
    let mut lines = rest.lines();
    let first = lines.next().unwrap_or_default();
    let f: Vec<&str> = first.split_whitespace().collect();
    let (Some(kind), Some(new), Some(size)) = (f.first(), f.get(1), f.get(3)) else {
        return timed(ModuleResult::fail(format!(
            "unexpected output from the download script: {text:?}"
        )));
    };
    let field = |name: &str| {
        rest.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    };
    let changed = *kind == "new" || attrs_changed;
    let mut r = if changed {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    r.msg = Some(ok_msg);
    r = r
        .with("checksum_src", *new)
        .with("size", size.parse::<u64>().unwrap_or(0))
        .with("src", field("src"))
        .with("md5sum", field("md5"))
        .with(
            "status_code",
            status.map_or(serde_json::Value::Null, serde_json::Value::from),
        )
        .with(
            "checksum_dest",
            f.get(2)
                .filter(|o| **o != "-")
                .map_or(serde_json::Value::Null, |o| serde_json::Value::from(*o)),
        );
    if let Some(b) = f.get(4) {
        r = r.with("backup_file", *b);
    }
    let r = timed(r);
    match probe::stat_info(field("stat").trim()) {
        Ok(info) => info.add_path_info(r),
        Err(_) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_checksums() {
        assert_eq!(url_file_name("http://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_file_name("http://h/"), "index.html");
        assert!(
            GetUrlArgs::parse(&json!({"url": "http://h/x", "dest": "/d", "checksum": "sha256:zz"}))
                .is_err()
        );
        assert!(GetUrlArgs::parse(&json!({"url": "ftp://h/x", "dest": "/d"})).is_err());
        let a = GetUrlArgs::parse(
            &json!({"url": "http://h/x", "dest": "/d", "checksum": "SHA256:AB"}).clone(),
        );
        assert!(a.is_err(), "algorithm names are lowercase, as in Ansible");
    }

    #[test]
    fn wget_reads_netrc_only_without_a_user_or_with_use_netrc() {
        let host = |v: Value| GetUrlArgs::parse(&v).expect("parses").netrc_host();
        assert_eq!(
            host(json!({"url": "http://H:8/x", "dest": "/d"})).as_deref(),
            Some("h")
        );
        assert_eq!(
            host(json!({"url": "http://h/x", "dest": "/d", "username": "u"})),
            None
        );
        assert_eq!(
            host(json!({"url": "http://h/x", "dest": "/d", "use_netrc": false})),
            None
        );
    }

    #[test]
    fn ciphers_go_to_curl_joined_and_keep_wget_out() {
        let a = GetUrlArgs::parse(&json!({"url": "https://h/x", "dest": "/d",
            "ciphers": ["ECDHE-RSA-AES128-SHA256", "AES256-SHA"]}))
        .expect("parses");
        assert_eq!(
            a.ciphers.as_deref(),
            Some("ECDHE-RSA-AES128-SHA256:AES256-SHA")
        );
        let c = a.sections().join("");
        assert!(
            c.contains("ciphers = \"ECDHE-RSA-AES128-SHA256:AES256-SHA\"\n"),
            "{c}"
        );
        let one = GetUrlArgs::parse(&json!({"url": "https://h/x", "dest": "/d",
            "ciphers": "AES256-SHA"}))
        .expect("parses");
        assert_eq!(one.ciphers.as_deref(), Some("AES256-SHA"));
        assert!(
            GetUrlArgs::parse(&json!({"url": "https://h/x", "dest": "/d", "ciphers": {"a": 1}}))
                .is_err()
        );
    }
}

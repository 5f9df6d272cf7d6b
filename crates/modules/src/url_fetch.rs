//! What `get_url` and `uri` share of module_utils/urls.py (2.19.14) beyond URL, headers and
//! credentials: the arguments `decompress`, `use_netrc`, `use_gssapi`, `client_cert`,
//! `client_key`, `unredirected_headers` (and uri's `ca_path`, `unix_socket`), the curl config
//! sections they need, and the host shell that honours them (`_cf_curl`, `_cf_netrc`,
//! `_cf_gunzip`, `_cf_gss`).

use super::args::{ArgError, Args, Secret};
use super::uri::curl_str;

/// The shared arguments, as `Request.open` (urls.py) takes them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FetchOpts {
    /// `decompress` (default true): a `Content-Encoding: gzip` body is decoded (urls.py's
    /// `GzipDecodedReader`); no `Accept-Encoding` is sent, as urllib sends none asking for it.
    pub decompress: bool,
    /// `use_netrc` (default true): `_configure_auth` reads `$NETRC` or `~/.netrc` when no
    /// user is given, and its Basic `Authorization` replaces one in `headers`.
    pub use_netrc: bool,
    /// `use_gssapi`: curl's `--negotiate` (SPNEGO), which needs a curl built with GSS-API.
    pub use_gssapi: bool,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// uri's `ca_path`: curl's `--cacert`.
    pub ca_path: Option<String>,
    /// uri's `unix_socket`: curl's `--unix-socket`.
    pub unix_socket: Option<String>,
    /// Lowercase header names sent on the first request only (`add_unredirected_header`).
    pub unredirected: Vec<String>,
}

impl FetchOpts {
    /// Takes the shared arguments (`ca_path` and `unix_socket` only where the module's keys
    /// have them).
    pub fn parse(a: &mut Args) -> Result<FetchOpts, ArgError> {
        Ok(FetchOpts {
            decompress: a.bool("decompress", true)?,
            use_netrc: a.bool("use_netrc", true)?,
            use_gssapi: a.bool("use_gssapi", false)?,
            client_cert: a.str("client_cert")?,
            client_key: a.str("client_key")?,
            ca_path: a.str("ca_path")?,
            unix_socket: a.str("unix_socket")?,
            unredirected: a
                .list_str("unredirected_headers")?
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Whether only curl can honour these (get_url's `wget` fallback cannot).
    pub fn needs_curl(&self) -> bool {
        self.use_gssapi
            || self.client_cert.is_some()
            || self.client_key.is_some()
            || self.ca_path.is_some()
            || self.unix_socket.is_some()
            || !self.unredirected.is_empty()
    }
}

/// One request, split into the four curl config sections `_cf_curl` reads: `s0` everything
/// sent on every hop, `s1` what is sent on the first only (unredirected headers), `s2` the
/// redirect settings, `s3` the URL.
#[derive(Debug)]
pub struct CurlRequest<'a> {
    pub url: &'a str,
    /// Config lines for every hop that are not headers or credentials (method, body, ...).
    pub common: String,
    pub headers: &'a [(String, String)],
    pub user: Option<(&'a str, &'a str)>,
    /// Redirects followed (`None`: none).
    pub max_redirects: Option<u32>,
    pub opts: &'a FetchOpts,
}

/// A request's `user`: `url_username` with `url_password` (empty when not given), as urls.py
/// sends basic credentials; `None` without a user name.
pub fn credentials<'a>(
    user: Option<&'a str>,
    password: Option<&'a Secret>,
) -> Option<(&'a str, &'a str)> {
    user.map(|u| (u, password.map(|p| p.0.as_str()).unwrap_or_default()))
}

impl CurlRequest<'_> {
    /// The four sections, in order.
    pub fn sections(&self) -> [String; 4] {
        let (mut every, mut first) = (self.common.clone(), String::new());
        let o = self.opts;
        for (k, v) in [
            ("cert", &o.client_cert),
            ("key", &o.client_key),
            ("cacert", &o.ca_path),
            ("unix-socket", &o.unix_socket),
        ] {
            if let Some(v) = v {
                every.push_str(&format!("{k} = {}\n", curl_str(v)));
            }
        }
        for (k, v) in self.headers {
            let line = format!("header = {}\n", curl_str(&format!("{k}: {v}")));
            if o.unredirected.contains(&k.to_ascii_lowercase()) {
                first.push_str(&line);
            } else {
                every.push_str(&line);
            }
        }
        let auth = if o.unredirected.iter().any(|h| h == "authorization") {
            &mut first
        } else {
            &mut every
        };
        match (self.user, o.use_gssapi) {
            (Some((u, p)), gss) => {
                auth.push_str(&format!("user = {}\n", curl_str(&format!("{u}:{p}"))));
                if gss {
                    auth.push_str("negotiate\n");
                }
            }
            (None, true) => auth.push_str("negotiate\nuser = \":\"\n"),
            (None, false) => {}
        }
        let follow = self
            .max_redirects
            .map(|n| format!("location\nmax-redirs = {n}\n"))
            .unwrap_or_default();
        [
            every,
            first,
            follow,
            format!("url = {}\n", curl_str(self.url)),
        ]
    }

    /// The host whose `.netrc` entry gives credentials (`_configure_auth`: only without
    /// `use_gssapi` and without a user in the arguments or the URL).
    pub fn netrc_host(&self) -> Option<String> {
        if !self.opts.use_netrc || self.opts.use_gssapi || self.user.is_some() {
            return None;
        }
        let rest = self.url.split_once("://")?.1;
        let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if netloc.contains('@') {
            return None;
        }
        let host = match netloc.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => netloc.split(':').next().unwrap_or_default(),
        };
        (!host.is_empty()).then(|| host.to_ascii_lowercase())
    }

    /// The section a `.netrc` `Authorization` goes to (`s1` when it is unredirected).
    pub fn netrc_section(&self) -> &'static str {
        if self.opts.unredirected.iter().any(|h| h == "authorization") {
            "s1"
        } else {
            "s0"
        }
    }

    /// The shell call of `_cf_curl DIR OUT` for this request.
    pub fn call(&self, dir: &str, out: &str) -> String {
        format!(
            "_cf_curl {dir} {out} {} {}",
            clearfleet_base::shell::quote(&self.netrc_host().unwrap_or_default()),
            self.netrc_section()
        )
    }
}

/// Host shell functions. `_cf_curl DIR OUT NETRC_HOST NETRC_SECTION` runs curl with the
/// sections `DIR/s0`..`DIR/s3` (see [`CurlRequest::sections`]), the body to `OUT`, the
/// response headers (every hop's block) to `DIR/h`, `%{http_code} %{num_redirects}
/// %{url_effective}` to `DIR/w`, curl's errors to `DIR/e`; with unredirected headers and
/// redirects on, the first hop is made alone and the rest without `DIR/s1`.
/// `_cf_wnetrc WGETRC HOST` does for get_url's `wget` fallback what `_cf_curl` does with
/// `.netrc` credentials (wget itself reads only `~/.netrc`, never `$NETRC`, and waits for a
/// challenge). `_cf_netrc HOST` prints the login and password `netrc.authenticators(HOST)` would give
/// (the host's entry, else `default`); `_cf_gunzip HEADERS BODY` decodes BODY in place when
/// the last header block says `Content-Encoding: gzip`; `_cf_gss` fails as urls.py does
/// without its GSSAPI library when the host's curl lacks GSS-API.
pub const SHELL: &str = r#"_cf_q() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
_cf_netrc() { _cf_f=${NETRC:-$HOME/.netrc}; [ -r "$_cf_f" ] || return 0; awk -v h="$1" '
/^[ \t]*#/ { next }
{ for (i = 1; i <= NF; i++) t[n++] = $i }
END {
  for (i = 0; i < n; i++) {
    w = t[i]
    if (w == "machine") { m = t[++i]; if (m == h) { hit = 1; hl = ""; hp = "" } }
    else if (w == "default") { m = "\001"; dflt = 1 }
    else if (w == "login" || w == "user") { v = t[++i]; if (m == h) hl = v; else if (m == "\001") dl = v }
    else if (w == "password") { v = t[++i]; if (m == h) hp = v; else if (m == "\001") dp = v }
    else if (w == "account") i++
  }
  if (hit) printf "%s\n%s\n", hl, hp; else if (dflt) printf "%s\n%s\n", dl, dp
}' "$_cf_f"; }
_cf_curl() {
  _cf_w=$1
  if [ -n "$3" ]; then
    _cf_n=$(_cf_netrc "$3")
    _cf_l=$(printf '%s\n' "$_cf_n" | sed -n 1p); _cf_p=$(printf '%s\n' "$_cf_n" | sed -n 2p)
    if [ -n "$_cf_l" ] && [ -n "$_cf_p" ]; then
      for _cf_x in s0 s1; do grep -vi '^header = "authorization:' "$_cf_w/$_cf_x" > "$_cf_w/$_cf_x.n"; mv -f "$_cf_w/$_cf_x.n" "$_cf_w/$_cf_x"; done
      printf 'user = "%s:%s"\nbasic\n' "$(_cf_q "$_cf_l")" "$(_cf_q "$_cf_p")" >> "$_cf_w/$4"
    fi
  fi
  _cf_fmt='%{http_code} %{num_redirects} %{url_effective}'
  if [ -s "$_cf_w/s1" ] && [ -s "$_cf_w/s2" ]; then
    curl -sS -K "$_cf_w/s0" -K "$_cf_w/s1" -K "$_cf_w/s3" -o "$2" -D "$_cf_w/h" -w "$_cf_fmt\n%{redirect_url}" > "$_cf_w/w" 2> "$_cf_w/e"; _cf_rc=$?
    _cf_r=$(sed -n 2p "$_cf_w/w")
    if [ "$_cf_rc" = 0 ] && [ -n "$_cf_r" ]; then
      printf 'url = "%s"\n' "$(_cf_q "$_cf_r")" > "$_cf_w/s3"
      curl -sS -K "$_cf_w/s0" -K "$_cf_w/s2" -K "$_cf_w/s3" -o "$2" -D "$_cf_w/h2" -w "$_cf_fmt" > "$_cf_w/w2" 2> "$_cf_w/e"; _cf_rc=$?
      cat "$_cf_w/h2" >> "$_cf_w/h"
      awk '{ $2 = $2 + 1; printf "%s", $0; exit }' "$_cf_w/w2" > "$_cf_w/w"
    else
      _cf_r=$(sed -n 1p "$_cf_w/w"); printf '%s' "$_cf_r" > "$_cf_w/w"
    fi
  else
    curl -sS -K "$_cf_w/s0" -K "$_cf_w/s1" -K "$_cf_w/s2" -K "$_cf_w/s3" -o "$2" -D "$_cf_w/h" -w "$_cf_fmt" > "$_cf_w/w" 2> "$_cf_w/e"; _cf_rc=$?
  fi
  return $_cf_rc
}
_cf_wnetrc() {
  _cf_n=$(_cf_netrc "$2")
  _cf_l=$(printf '%s\n' "$_cf_n" | sed -n 1p); _cf_p=$(printf '%s\n' "$_cf_n" | sed -n 2p)
  [ -n "$_cf_l" ] && [ -n "$_cf_p" ] || return 0
  grep -vi '^header = authorization:' "$1" > "$1.n"
  printf 'http_user = %s\nhttp_password = %s\nauth_no_challenge = on\n' "$_cf_l" "$_cf_p" >> "$1.n"
  mv -f "$1.n" "$1"
}
_cf_gunzip() {
  awk '{ l = tolower($0); sub(/\r$/, "", l) } l ~ /^http\// { g = 0 } l ~ /^content-encoding:[ \t]*gzip[ \t]*$/ { g = 1 } END { exit !g }' "$1" 2>/dev/null || return 0
  gzip -dc < "$2" > "$2.z" || { rm -f "$2.z"; return 1; }
  cat "$2.z" > "$2"; rm -f "$2.z"
}
_cf_gss() {
  curl -V 2>/dev/null | grep -q -e GSS-API -e SPNEGO && return 0
  printf "Failed to find GSS-API support in the host's curl on %s (curl -V lists neither GSS-API nor SPNEGO). This is required for use_gssapi=True.\n" "$(uname -n)" >&2
  exit 95
}
"#;

/// The sections joined for stdin, each ended by the `sep` line (split on the host by
/// [`split_script`]).
pub fn framed(sections: &[String], sep: &str) -> String {
    let mut s = String::new();
    for part in sections {
        s.push_str(part);
        if !part.is_empty() && !part.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(sep);
        s.push('\n');
    }
    s
}

/// Shell that splits stdin at `sep` lines into `DIR/s0`, `DIR/s1`, ... (`dir` a shell word;
/// `n` starts at 0, or awk's empty `n` would send the first section to `DIR/s`).
pub fn split_script(dir: &str, sep: &str, count: usize) -> String {
    format!(
        "for _cf_i in $(seq 0 {}); do : > {dir}/s$_cf_i; done\n\
         awk -v s={} -v d={dir} -v n=0 '$0==s{{n++;next}} {{print > (d \"/s\" n)}}' || exit 1\n",
        count.saturating_sub(1),
        clearfleet_base::shell::quote(sep)
    )
}

/// The last response block of a `-D` header file: status (`None` without an HTTP status
/// line, as for `file://`), reason, and headers.
pub fn last_block(raw: &str) -> (Option<i64>, String, Vec<(String, String)>) {
    let raw = raw.replace("\r\n", "\n");
    let mut status = None;
    let mut reason = String::new();
    let mut headers = Vec::new();
    for line in raw.lines() {
        if let Some(rest) = line.strip_prefix("HTTP/") {
            let mut f = rest.splitn(3, ' ');
            f.next();
            status = f.next().and_then(|s| s.trim().parse().ok());
            reason = f.next().unwrap_or_default().trim().to_owned();
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    (status, reason, headers)
}

/// fetch_url's `Request failed: ...` text for a request curl could not make: urllib's
/// `<urlopen error [Errno N] ...>` for the errors it words so (an unknown host; a connection
/// refused, which newer curls word "Couldn't connect to server", or without a route), else
/// curl's own message.
pub fn request_failed(curl_stderr: &str) -> String {
    let err = curl_stderr.trim();
    let text = if err.contains("curl: (6)") {
        "<urlopen error [Errno -2] Name or service not known>"
    } else if err.contains("curl: (7)") {
        if err.contains("No route to host") {
            "<urlopen error [Errno 113] No route to host>"
        } else if err.contains("Network is unreachable") {
            "<urlopen error [Errno 101] Network is unreachable>"
        } else {
            "<urlopen error [Errno 111] Connection refused>"
        }
    } else {
        err
    };
    format!("Request failed: {text}")
}

/// The value of a header (the last of its name).
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `Message.get_param('filename', header='content-disposition')` (Python's email.message:
/// `_parseparam`, `utils.unquote`) made a base name (`os.path.basename`), as get_url.py's
/// `extract_filename_from_headers` and urls.py's `get_response_filename` take it: `None`
/// without the header or the parameter, or for an empty name. RFC 2231's `filename*` is not
/// read (Python gives a tuple there, which `os.path.basename` refuses).
pub fn content_disposition_filename(headers: &[(String, String)]) -> Option<String> {
    let value = header(headers, "content-disposition")?;
    let name = header_params(value).into_iter().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("filename")).then(|| unquote(v.trim()))
    })?;
    let base = name.rsplit('/').next().unwrap_or_default();
    (!base.is_empty()).then(|| base.to_owned())
}

/// email.message's `_parseparam`: a header value split at `;`s outside quotes.
fn header_params(value: &str) -> Vec<String> {
    let mut s = format!(";{value}");
    let mut out = Vec::new();
    while let Some(rest) = s.strip_prefix(';') {
        let rest = rest.to_owned();
        let quotes =
            |end: usize| rest[..end].matches('"').count() - rest[..end].matches("\\\"").count();
        let mut end = rest.find(';');
        while let Some(e) = end.filter(|e| *e > 0 && quotes(*e) % 2 == 1) {
            end = rest[e + 1..].find(';').map(|n| n + e + 1);
        }
        let end = end.unwrap_or(rest.len());
        out.push(rest[..end].trim().to_owned());
        s = rest[end..].to_owned();
    }
    out
}

/// email.utils's `unquote`.
fn unquote(v: &str) -> String {
    if v.len() > 1 {
        if let Some(inner) = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
            return inner.replace("\\\\", "\\").replace("\\\"", "\"");
        }
        if let Some(inner) = v.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
            return inner.to_owned();
        }
    }
    v.to_owned()
}

#[cfg(test)]
#[path = "url_fetch_tests.rs"]
mod tests;

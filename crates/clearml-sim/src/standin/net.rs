//! A small HTTP/1.1 server and client over std's TCP (one request per connection,
//! `Connection: close`), and the bits of Redis's RESP the stand-ins speak.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// An HTTP request as a stand-in server sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// Path with its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_string(),
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn json(status: u16, v: &serde_json::Value) -> Reply {
        Reply::new(status, "application/json", v.to_string())
    }

    /// From the simulator's http.rs answer.
    pub fn from_sim(r: crate::http::Response) -> Reply {
        Reply {
            status: r.status,
            content_type: r.content_type,
            headers: r.extra_headers,
            body: r.body.into_bytes(),
        }
    }
}

pub fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Listen on every address of `port`: IPv6 and IPv4 when the container has IPv6, IPv4 only
/// otherwise.
pub fn listen(port: u16) -> std::io::Result<TcpListener> {
    match TcpListener::bind(("::", port)) {
        Ok(l) => Ok(l),
        Err(_) => TcpListener::bind(("0.0.0.0", port)),
    }
}

pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// Serve HTTP on `listener` in the background, one thread per connection.
pub fn serve_http(listener: TcpListener, handler: Handler) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let h = handler.clone();
            std::thread::spawn(move || {
                let _ = handle_http(stream, &h);
            });
        }
    });
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

fn read_head(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<String>>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line)?;
        if n == 0 {
            return Ok(if lines.is_empty() { None } else { Some(lines) });
        }
        total += n;
        if total > MAX_HEAD {
            return Err(std::io::Error::other("header too large"));
        }
        let l = line.trim_end_matches(['\r', '\n']).to_string();
        if l.is_empty() {
            if lines.is_empty() {
                continue;
            }
            return Ok(Some(lines));
        }
        lines.push(l);
    }
}

fn parse_headers(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn read_body(
    r: &mut BufReader<TcpStream>,
    headers: &[(String, String)],
    until_eof: bool,
) -> std::io::Result<Vec<u8>> {
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            if r.read_line(&mut size)? == 0 {
                break;
            }
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            if n == 0 {
                let mut rest = String::new();
                while r.read_line(&mut rest)? > 2 {
                    rest.clear();
                }
                break;
            }
            if body.len() + n > MAX_BODY {
                return Err(std::io::Error::other("body too large"));
            }
            let mut chunk = vec![0u8; n];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            r.read_line(&mut crlf)?;
        }
        return Ok(body);
    }
    match get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n > MAX_BODY => Err(std::io::Error::other("body too large")),
        Some(n) => {
            let mut body = vec![0u8; n];
            r.read_exact(&mut body)?;
            Ok(body)
        }
        None if until_eof => {
            let mut body = Vec::new();
            r.take(u64::try_from(MAX_BODY).unwrap_or(u64::MAX))
                .read_to_end(&mut body)?;
            Ok(body)
        }
        None => Ok(Vec::new()),
    }
}

fn handle_http(stream: TcpStream, handler: &Handler) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let Some(lines) = read_head(&mut r)? else {
        return Ok(());
    };
    let first = lines.first().cloned().unwrap_or_default();
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_ascii_uppercase();
    let target = parts.next().unwrap_or("/").to_string();
    let headers = parse_headers(lines.get(1..).unwrap_or(&[]));
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue"))
    {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let reply = match read_body(&mut r, &headers, false) {
        Ok(body) => {
            // An absolute-form target (a proxy request) keeps only its path.
            let path = match target.split_once("://") {
                Some((_, rest)) => match rest.find('/') {
                    Some(i) => rest[i..].to_string(),
                    None => "/".to_string(),
                },
                None => target,
            };
            let req = Request {
                method: method.clone(),
                path,
                headers,
                body,
            };
            handler(&req)
        }
        Err(e) => Reply::new(400, "text/plain", format!("bad request: {e}\n")),
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    head.push_str(&format!(
        "Content-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.content_type,
        reply.body.len()
    ));
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    if method != "HEAD" {
        w.write_all(&reply.body)?;
    }
    w.flush()?;
    let _ = w.shutdown(Shutdown::Write);
    Ok(())
}

/// Why a connection or request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetErr {
    /// The name does not resolve.
    Resolve,
    /// Nothing listens (every address refused).
    Refused,
    Timeout,
    Other(String),
}

impl std::fmt::Display for NetErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetErr::Resolve => write!(f, "name does not resolve"),
            NetErr::Refused => write!(f, "connection refused"),
            NetErr::Timeout => write!(f, "timed out"),
            NetErr::Other(m) => write!(f, "{m}"),
        }
    }
}

fn io_kind(e: &std::io::Error) -> NetErr {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => NetErr::Refused,
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => NetErr::Timeout,
        _ => NetErr::Other(e.to_string()),
    }
}

/// Connect to `host:port`, trying each address it resolves to.
pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, NetErr> {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match (h, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(_) => return Err(NetErr::Resolve),
    };
    if addrs.is_empty() {
        return Err(NetErr::Resolve);
    }
    let mut last = NetErr::Refused;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(timeout));
                let _ = s.set_write_timeout(Some(timeout));
                return Ok(s);
            }
            Err(e) => {
                let k = io_kind(&e);
                // A refusal on one address family does not hide another error.
                if k != NetErr::Refused || last == NetErr::Refused {
                    last = k;
                }
            }
        }
    }
    Err(last)
}

/// An HTTP answer as a client sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub status_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP request to `host:port`.
pub fn http_call(
    host: &str,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<Answer, NetErr> {
    let stream = connect(host, port, timeout)?;
    let mut w = stream.try_clone().map_err(|e| io_kind(&e))?;
    let host_header = if port == 80 {
        host.to_string()
    } else {
        format!("{host}:{port}")
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host_header}\r\n");
    let mut has_ua = false;
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("host") || k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        has_ua |= k.eq_ignore_ascii_case("user-agent");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_ua {
        head.push_str("User-Agent: clearml-standin\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("Accept: */*\r\nConnection: close\r\n\r\n");
    w.write_all(head.as_bytes()).map_err(|e| io_kind(&e))?;
    w.write_all(body).map_err(|e| io_kind(&e))?;
    w.flush().map_err(|e| io_kind(&e))?;
    let mut r = BufReader::new(stream);
    let lines = match read_head(&mut r) {
        Ok(Some(l)) => l,
        Ok(None) => return Err(NetErr::Other("empty reply from server".into())),
        Err(e) => return Err(io_kind(&e)),
    };
    let status_line = lines.first().cloned().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| NetErr::Other(format!("not HTTP: {status_line}")))?;
    let headers = parse_headers(lines.get(1..).unwrap_or(&[]));
    let body = if method == "HEAD" || status == 204 || status == 304 {
        Vec::new()
    } else {
        read_body(&mut r, &headers, true).map_err(|e| io_kind(&e))?
    };
    Ok(Answer {
        status,
        status_line,
        headers,
        body,
    })
}

/// `http://HOST:PORT` (or a bare `HOST:PORT`) → (host, port).
pub fn host_port(url: &str, default_port: u16) -> Option<(String, u16)> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return None;
    }
    if let Some(b) = authority.strip_prefix('[') {
        let (h, p) = b.split_once(']')?;
        let port = match p.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        return Some((h.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

/// A Redis reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Resp::Simple(s) => format!("+{s}\r\n").into_bytes(),
            Resp::Error(s) => format!("-{s}\r\n").into_bytes(),
            Resp::Int(n) => format!(":{n}\r\n").into_bytes(),
            Resp::Bulk(None) => b"$-1\r\n".to_vec(),
            Resp::Bulk(Some(b)) => {
                let mut v = format!("${}\r\n", b.len()).into_bytes();
                v.extend_from_slice(b);
                v.extend_from_slice(b"\r\n");
                v
            }
            Resp::Array(None) => b"*-1\r\n".to_vec(),
            Resp::Array(Some(items)) => {
                let mut v = format!("*{}\r\n", items.len()).into_bytes();
                for i in items {
                    v.extend(i.encode());
                }
                v
            }
        }
    }
}

fn read_crlf_line<R: BufRead>(r: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    let n = r.read_line(&mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > MAX_HEAD {
        return Err(std::io::Error::other("line too long"));
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// Read one RESP value; `None` at end of stream.
pub fn read_resp<R: BufRead>(r: &mut R) -> std::io::Result<Option<Resp>> {
    let Some(line) = read_crlf_line(r)? else {
        return Ok(None);
    };
    let (t, rest) = line.split_at(line.chars().next().map(char::len_utf8).unwrap_or(0));
    let num = || -> std::io::Result<i64> {
        rest.trim()
            .parse::<i64>()
            .map_err(|_| std::io::Error::other(format!("protocol error: {line}")))
    };
    Ok(Some(match t {
        "+" => Resp::Simple(rest.to_string()),
        "-" => Resp::Error(rest.to_string()),
        ":" => Resp::Int(num()?),
        "$" => {
            let n = num()?;
            if n < 0 {
                Resp::Bulk(None)
            } else {
                let n = usize::try_from(n).unwrap_or(0);
                if n > MAX_BODY {
                    return Err(std::io::Error::other("bulk too large"));
                }
                let mut b = vec![0u8; n + 2];
                r.read_exact(&mut b)?;
                b.truncate(n);
                Resp::Bulk(Some(b))
            }
        }
        "*" => {
            let n = num()?;
            if n < 0 {
                Resp::Array(None)
            } else {
                let mut items = Vec::new();
                for _ in 0..n.min(1_000_000) {
                    match read_resp(r)? {
                        Some(v) => items.push(v),
                        None => return Err(std::io::Error::other("truncated array")),
                    }
                }
                Resp::Array(Some(items))
            }
        }
        "" => Resp::Array(Some(vec![])),
        // An inline command (`PING\r\n`, as telnet or `nc` send it).
        _ => Resp::Array(Some(
            line.split_whitespace()
                .map(|w| Resp::Bulk(Some(w.as_bytes().to_vec())))
                .collect(),
        )),
    }))
}

/// A command's words from a RESP value (an array of bulk strings).
pub fn words(v: &Resp) -> Vec<String> {
    match v {
        Resp::Array(Some(items)) => items
            .iter()
            .map(|i| match i {
                Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
                Resp::Simple(s) => s.clone(),
                Resp::Int(n) => n.to_string(),
                _ => String::new(),
            })
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp_round_trip_and_inline() {
        let v = Resp::Array(Some(vec![
            Resp::Bulk(Some(b"INFO".to_vec())),
            Resp::Bulk(Some(b"server".to_vec())),
        ]));
        let mut r = std::io::Cursor::new(v.encode());
        assert_eq!(read_resp(&mut r).expect("read"), Some(v.clone()));
        assert_eq!(words(&v), vec!["INFO", "server"]);
        let mut r = std::io::Cursor::new(b"PING\r\n".to_vec());
        let p = read_resp(&mut r).expect("read").expect("some");
        assert_eq!(words(&p), vec!["PING"]);
        assert_eq!(read_resp(&mut r).expect("eof"), None);
    }

    #[test]
    fn urls() {
        assert_eq!(
            host_port("http://apiserver:8008", 80),
            Some(("apiserver".into(), 8008))
        );
        assert_eq!(host_port("http://web/x", 80), Some(("web".into(), 80)));
        assert_eq!(host_port("[::1]:27017", 1), Some(("::1".into(), 27017)));
        assert_eq!(host_port("http://", 80), None);
    }
}

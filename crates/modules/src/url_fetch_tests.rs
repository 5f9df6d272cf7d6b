//! Unit tests of the shared urls.py arguments: section split, netrc host, header blocks.

use super::*;
use serde_json::json;

fn opts(v: serde_json::Value) -> FetchOpts {
    let keys: &[super::super::args::Key] = &[
        ("decompress", &[]),
        ("use_netrc", &[]),
        ("use_gssapi", &[]),
        ("client_cert", &[]),
        ("client_key", &[]),
        ("unredirected_headers", &[]),
    ];
    let mut a = Args::new("t", keys, &v).unwrap_or_else(|e| panic!("{e}"));
    FetchOpts::parse(&mut a).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn unredirected_headers_and_their_credentials_go_to_the_first_hop_only() {
    let o = opts(json!({"unredirected_headers": ["X-Secret", "Authorization"]}));
    let headers = vec![
        ("X-Secret".to_owned(), "s".to_owned()),
        ("X-Plain".to_owned(), "p".to_owned()),
    ];
    let r = CurlRequest {
        url: "http://h/x",
        common: String::new(),
        headers: &headers,
        user: Some(("u", "p")),
        max_redirects: Some(10),
        opts: &o,
    };
    let [every, first, follow, url] = r.sections();
    assert_eq!(every, "header = \"X-Plain: p\"\n");
    assert_eq!(first, "header = \"X-Secret: s\"\nuser = \"u:p\"\n");
    assert_eq!(follow, "location\nmax-redirs = 10\n");
    assert_eq!(url, "url = \"http://h/x\"\n");
    assert_eq!(r.netrc_host(), None, "a user is given");
    assert_eq!(r.netrc_section(), "s1");
}

#[test]
fn netrc_host_only_without_credentials() {
    let o = opts(json!({}));
    assert!(o.decompress && o.use_netrc && !o.use_gssapi);
    let r = |url| CurlRequest {
        url,
        common: String::new(),
        headers: &[],
        user: None,
        max_redirects: None,
        opts: &o,
    };
    assert_eq!(
        r("http://Host.Example:8080/a").netrc_host().as_deref(),
        Some("host.example")
    );
    assert_eq!(r("http://u:p@h/a").netrc_host(), None);
    assert_eq!(r("http://[::1]:80/").netrc_host().as_deref(), Some("::1"));
    let off = opts(json!({"use_netrc": false}));
    let r = CurlRequest {
        opts: &off,
        ..r("http://h/")
    };
    assert_eq!(r.netrc_host(), None);
}

#[test]
fn gssapi_negotiates_with_or_without_a_user() {
    let o = opts(json!({"use_gssapi": true, "client_cert": "/c.pem", "client_key": "/k"}));
    assert!(o.needs_curl());
    let r = CurlRequest {
        url: "https://h/",
        common: String::new(),
        headers: &[],
        user: None,
        max_redirects: None,
        opts: &o,
    };
    let [every, ..] = r.sections();
    assert_eq!(
        every,
        "cert = \"/c.pem\"\nkey = \"/k\"\nnegotiate\nuser = \":\"\n"
    );
}

#[test]
fn the_last_header_block_counts() {
    let raw =
        "HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let (status, reason, h) = last_block(raw);
    assert_eq!((status, reason.as_str()), (Some(200), "OK"));
    assert_eq!(header(&h, "content-length"), Some("5"));
    assert_eq!(header(&h, "location"), None);
    let (status, _, h) = last_block("Content-Length: 6\r\nAccept-ranges: bytes\r\n\r\n");
    assert_eq!((status, header(&h, "Content-Length")), (None, Some("6")));
}

#[test]
fn sections_are_framed_and_split_by_the_same_separator() {
    let f = framed(&["a\n".into(), String::new(), "c".into()], "--s--");
    assert_eq!(f, "a\n--s--\n--s--\nc\n--s--\n");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let script = format!(
        "w={}\n{}",
        dir.path().display(),
        split_script("\"$w\"", "--s--", 3)
    );
    let mut sh = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = sh.stdin.take() {
        std::io::Write::write_all(&mut stdin, f.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(sh.wait().is_ok_and(|s| s.success()));
    let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap_or_default();
    assert_eq!(
        (read("s0"), read("s1"), read("s2")),
        ("a\n".into(), String::new(), "c\n".into())
    );
    assert!(!dir.path().join("s").exists());
}

#[test]
fn curl_errors_read_as_urllib_words_them() {
    assert_eq!(
        request_failed("curl: (6) Could not resolve host: httpbin.org\n"),
        "Request failed: <urlopen error [Errno -2] Name or service not known>"
    );
    assert_eq!(
        request_failed("curl: (7) Failed to connect to h port 1 after 0 ms: Connection refused"),
        "Request failed: <urlopen error [Errno 111] Connection refused>"
    );
    assert_eq!(
        request_failed(
            "curl: (7) Failed to connect to h port 1 after 0 ms: Couldn't connect to server"
        ),
        "Request failed: <urlopen error [Errno 111] Connection refused>"
    );
    assert_eq!(
        request_failed("curl: (28) timed out"),
        "Request failed: curl: (28) timed out"
    );
}

#[test]
fn content_disposition_file_names_are_read_as_email_message_reads_them() {
    let name =
        |v: &str| content_disposition_filename(&[("Content-Disposition".to_owned(), v.to_owned())]);
    assert_eq!(name("attachment; filename=a.txt").as_deref(), Some("a.txt"));
    assert_eq!(
        name("attachment; FileName=\"x;y \\\"q\\\".txt\"").as_deref(),
        Some("x;y \"q\".txt")
    );
    assert_eq!(
        name("attachment; filename=\"../../etc/passwd\"").as_deref(),
        Some("passwd")
    );
    assert_eq!(name("attachment; filename=\"dir/\""), None);
    assert_eq!(name("attachment; filename=\"\""), None);
    assert_eq!(name("inline"), None);
    assert_eq!(name("attachment; filename*=UTF-8''a.txt"), None);
    assert_eq!(content_disposition_filename(&[]), None);
}

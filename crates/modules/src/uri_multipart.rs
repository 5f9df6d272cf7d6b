//! uri's `body_format: form-multipart`: the body mapping made a `multipart/form-data` request
//! body byte for byte as module_utils/urls.py's `prepare_multipart` (2.19.14) makes it with
//! Python's email package (`MIMEMultipart('form-data')`, `policy.HTTP`).

use serde_json::Value;

use super::context::ModuleContext;
use super::probe::{call, nonce, qpath};
use super::remote::Remote;
use super::result::ModuleResult;

/// Why the body cannot be made multipart (the messages of the uri action plugin and of
/// `prepare_multipart`, which uri.py prefixes with `failed to parse body as form-multipart: `).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    /// The uri action plugin's check; the type is ansible-core's data-tagged one for a value
    /// the task gives literally (`_AnsibleTaggedList`), which is what clearfleet assumes.
    #[error("body must be mapping, cannot be type {}", tagged(.0))]
    NotMapping(&'static str),
    /// `prepare_multipart`'s own check (with `remote_src`, the action plugin checks nothing).
    #[error("failed to parse body as form-multipart: Mapping is required, cannot be type {0}")]
    ModuleNotMapping(&'static str),
    #[error(
        "failed to parse body as form-multipart: value must be a string, or mapping, cannot be type {0}"
    )]
    BadValue(&'static str),
    #[error(
        "failed to parse body as form-multipart: at least one of filename or content must be provided"
    )]
    Empty,
    #[error(
        "failed to parse body as form-multipart: multipart_encoding must be one of dict_keys(['base64', '7or8bit'])."
    )]
    Encoding,
}

/// One form field (`prepare_multipart`'s loop body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// `filename` (a path: the part names its base name).
    pub filename: Option<String>,
    /// The part's content type (`text/plain` for a text field).
    pub mime: String,
    /// What is sent: `content`, or the file's bytes once loaded into it.
    pub data: Vec<u8>,
    /// The file whose bytes [`Field::data`] must hold (`filename` without `content`), and
    /// whether they go base64 (`multipart_encoding`) rather than `7or8bit`.
    pub file: Option<(String, bool)>,
}

/// Python's type name of a JSON value, for the messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The class ansible-core 2.19's data tagging (module_utils/_internal/_datatag) gives a
/// value of Python type `name` loaded from a task (`bool` and `NoneType` are never tagged).
fn tagged(name: &str) -> String {
    match name {
        "str" | "int" | "float" | "list" | "dict" => {
            let mut c = name.chars();
            let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or_default();
            format!("_AnsibleTagged{first}{}", c.as_str())
        }
        other => other.to_owned(),
    }
}

/// Python truthiness of an optional value, as text.
fn truthy(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null | Value::Bool(false) => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The fields of `body`, sorted by name (`sorted(fields.items())`); file fields have
/// [`Field::file`] set and their data still empty.
pub fn fields(body: Option<&Value>) -> Result<Vec<Field>, MultipartError> {
    let map = match body {
        Some(Value::Object(m)) => m,
        other => {
            return Err(MultipartError::NotMapping(
                other.map_or("NoneType", type_name),
            ));
        }
    };
    let mut out = Vec::new();
    for (name, value) in map {
        let field = match value {
            Value::String(s) => Field {
                name: name.clone(),
                filename: None,
                mime: "text/plain".into(),
                data: s.clone().into_bytes(),
                file: None,
            },
            Value::Object(m) => {
                let filename = truthy(m.get("filename"));
                let content = truthy(m.get("content"));
                if filename.is_none() && content.is_none() {
                    return Err(MultipartError::Empty);
                }
                let mime = truthy(m.get("mime_type")).unwrap_or_else(|| {
                    super::mime_types::guess_type(filename.as_deref().unwrap_or_default())
                        .unwrap_or("application/octet-stream")
                        .to_owned()
                });
                // `mime.partition('/')`: a type without `/` gets an empty subtype.
                let mime = match mime.split_once('/') {
                    Some(_) => mime,
                    None => format!("{mime}/"),
                };
                let file = match (&filename, &content) {
                    (Some(f), None) => {
                        let base64 = match truthy(m.get("multipart_encoding")).as_deref() {
                            None | Some("base64") => true,
                            Some("7or8bit") => false,
                            Some(_) => return Err(MultipartError::Encoding),
                        };
                        Some((f.clone(), base64))
                    }
                    _ => None,
                };
                Field {
                    name: name.clone(),
                    filename,
                    mime,
                    data: content.unwrap_or_default().into_bytes(),
                    file,
                }
            }
            other => return Err(MultipartError::BadValue(type_name(other))),
        };
        out.push(field);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The `Content-Type` header for `boundary`.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary=\"{boundary}\"")
}

/// email.message's `_formatparam` with quoting: `k="v"` (`utils.quote`), or RFC 2231's
/// `k*=utf-8''%XX` for a non-ASCII value.
fn param(k: &str, v: &str) -> String {
    if v.is_ascii() {
        format!("; {k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        let mut q = String::new();
        for b in v.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                    q.push(b as char)
                }
                b => q.push_str(&format!("%{b:02X}")),
            }
        }
        format!("; {k}*=utf-8''{q}")
    }
}

/// The generator's line ends: `\n`, `\r\n` and `\r` all become `\r\n`.
fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `base64.encodebytes`: lines of 76 characters, each ended by a newline.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(text.len() + text.len() / 76 + 1);
    for chunk in text.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out
}

/// The request body (`m.as_bytes(policy=email.policy.HTTP)` after its headers): each part's
/// headers (`Content-Transfer-Encoding` for a file read, `Content-Type`,
/// `Content-Disposition`), its payload, the closing boundary.
pub fn encode(fields: &[Field], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if fields.is_empty() {
        // The generator's `_handle_multipart` writes one empty part for no subparts.
        out.extend_from_slice(format!("--{boundary}\r\n\r\n").as_bytes());
    }
    for f in fields {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let payload = match &f.file {
            Some((_, true)) => {
                out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
                base64_lines(&f.data)
            }
            Some((_, false)) => {
                let cte = if f.data.is_ascii() { "7bit" } else { "8bit" };
                out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
                f.data.clone()
            }
            None => f.data.clone(),
        };
        let mut disposition = format!("form-data{}", param("name", &f.name));
        if let Some(path) = &f.filename {
            // `os.path.basename`.
            disposition.push_str(&param("filename", path.rsplit('/').next().unwrap_or(path)));
        }
        out.extend_from_slice(
            format!(
                "Content-Type: {}\r\nContent-Disposition: {disposition}\r\n\r\n",
                f.mime
            )
            .as_bytes(),
        );
        out.extend_from_slice(&crlf(&payload));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// The multipart body of `body` written to a temporary file on the host: its path and the
/// `Content-Type`. Files come from the controller (the uri action plugin's `_find_needle`
/// in `files`, then `_transfer_file`), or from the host with `remote_src` (uri.py opens them).
pub(super) async fn host_body<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    body: Option<&Value>,
    remote_src: bool,
) -> Result<(String, String), ModuleResult> {
    let mut fields = fields(body).map_err(|e| {
        let e = match e {
            MultipartError::NotMapping(t) if remote_src => MultipartError::ModuleNotMapping(t),
            e => e,
        };
        ModuleResult::fail(e.to_string())
    })?;
    for f in &mut fields {
        let Some((path, _)) = &f.file else {
            continue;
        };
        f.data = if remote_src {
            let out = call(ctx, &format!("cat -- {}", qpath(path)), None, None).await?;
            if out.rc != Some(0) {
                return Err(ModuleResult::fail(format!(
                    "failed to parse body as form-multipart: cannot read {path}: {}",
                    out.stderr_text().trim()
                )));
            }
            out.stdout
        } else {
            super::copy::read_source(ctx, path, "files").await?.0
        };
    }
    let boundary = format!("==============={}==", nonce().map_err(|r| *r)?);
    let bytes = encode(&fields, &boundary);
    let path = super::uri::upload(ctx, bytes, "the form-multipart body").await?;
    Ok((path, content_type(&boundary)))
}

#[cfg(test)]
#[path = "uri_multipart_tests.rs"]
mod tests;

//! `find`'s second round trip, made only for `contains` or `get_checksum`: the content of the
//! files `contains` looks into and the checksums of the matches (`_cf_sum` of
//! [`super::probe::PRELUDE`]), and find.py's `contentfilter()` (ansible-core 2.19.14,
//! lib/ansible/modules/find.py) on that content: the file decoded as `open(encoding=...)`
//! does, lines (universal newlines) matched with `re.match`, or the whole text with
//! `re.search` (`read_whole_file`).

use std::collections::HashMap;

use super::probe::{PRELUDE, qpath};
use super::pyre::Pattern;

/// The script printing, after a `\n<nonce> ` marker each, `c <i>\n<content>` for each of
/// `contents` that can be read and `k <i> <hex>` for each of `sums`; `end` last.
pub fn script(nonce: &str, contents: &[String], sums: &[String], algo: &str) -> String {
    let mut s = String::from(PRELUDE);
    for (i, p) in contents.iter().enumerate() {
        s.push_str(&format!(
            "p={}; if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf '\\n%s c {i}\\n' {nonce}; cat \"$p\" 2>/dev/null; fi\n",
            qpath(p)
        ));
    }
    for (i, p) in sums.iter().enumerate() {
        s.push_str(&format!(
            "p={}; if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf '\\n%s k {i} %s' {nonce} \"$(_cf_sum {algo} \"$p\")\"; fi\n",
            qpath(p)
        ));
    }
    s.push_str(&format!("printf '\\n%s end' {nonce}\n"));
    s
}

/// Contents and checksums by path.
pub type Read = (HashMap<String, Vec<u8>>, HashMap<String, String>);

/// The contents and checksums by path from the script's output; `None`: it did not finish.
pub fn parse(out: &[u8], nonce: &str, contents: &[String], sums: &[String]) -> Option<Read> {
    let marker = format!("\n{nonce} ");
    let m = marker.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + m.len() <= out.len() {
        if &out[i..i + m.len()] == m {
            starts.push(i);
            i += m.len();
        } else {
            i += 1;
        }
    }
    let mut texts = HashMap::new();
    let mut hashes = HashMap::new();
    let mut ended = false;
    for (n, &at) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(out.len());
        let chunk = &out[at + m.len()..end];
        let (head, body) = match chunk.iter().position(|&b| b == b'\n') {
            Some(p) => (&chunk[..p], &chunk[p + 1..]),
            None => (chunk, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut words = head.split(' ');
        let kind = words.next();
        let idx = words.next().and_then(|w| w.parse::<usize>().ok());
        match (kind, idx) {
            (Some("c"), Some(i)) => {
                let path = contents.get(i)?;
                texts.insert(path.clone(), body.to_vec());
            }
            (Some("k"), Some(i)) => {
                let hex = words.next().unwrap_or("");
                if !hex.is_empty() {
                    hashes.insert(sums.get(i)?.clone(), hex.to_owned());
                }
            }
            (Some("end"), _) => ended = true,
            _ => return None,
        }
    }
    ended.then_some((texts, hashes))
}

/// Why `contentfilter()` raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentError {
    /// `LookupError` of an encoding Python does not know.
    Unknown(String),
    /// `UnicodeDecodeError`.
    Decode,
}

impl ContentError {
    /// The exception's text, as find.py words it.
    pub fn message(&self, fsname: &str, encoding: Option<&str>) -> String {
        match self {
            ContentError::Unknown(e) => format!("unknown encoding: {e}"),
            ContentError::Decode => format!(
                "Failed to read the file {fsname} due to an encoding error. current encoding: {}",
                encoding.unwrap_or(
                    r#"None (default determined by the Python built-in function "open")"#
                )
            ),
        }
    }
}

/// The size of the chunks Python's text files decode at a time (`TextIOWrapper._CHUNK_SIZE`).
const CHUNK: usize = 8192;

/// The decoded text, and whether decoding failed after it (then the text is what Python had
/// decoded in whole chunks before the bad one).
fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<(String, bool), ContentError> {
    let label = encoding.unwrap_or("utf-8");
    let norm = label.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    match norm.as_str() {
        "utf_8" | "utf8" | "u8" | "utf" | "cp65001" => Ok(match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_owned(), false),
            Err(e) => {
                let upto = (e.valid_up_to() / CHUNK) * CHUNK;
                let head = &bytes[..upto];
                let text = match std::str::from_utf8(head) {
                    Ok(s) => s.to_owned(),
                    Err(e2) => String::from_utf8_lossy(&head[..e2.valid_up_to()]).into_owned(),
                };
                (text, true)
            }
        }),
        "latin_1" | "latin1" | "iso_8859_1" | "iso8859_1" | "8859" | "cp819" | "l1" | "latin" => {
            Ok((bytes.iter().map(|&b| b as char).collect(), false))
        }
        "ascii" | "us_ascii" | "646" => match bytes.iter().position(|b| !b.is_ascii()) {
            None => Ok((String::from_utf8_lossy(bytes).into_owned(), false)),
            Some(p) => Ok((
                String::from_utf8_lossy(&bytes[..(p / CHUNK) * CHUNK]).into_owned(),
                true,
            )),
        },
        _ => {
            let enc = encoding_rs::Encoding::for_label(label.trim().as_bytes())
                .ok_or_else(|| ContentError::Unknown(label.to_owned()))?;
            match enc.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(t) => Ok((t.into_owned(), false)),
                None => Ok((String::new(), true)),
            }
        }
    }
}

/// `re.match` of a line as Python reads it (with its `\n`; Python's `$` also matches before
/// it, so the line without it is tried too).
fn line_matches(re: &Pattern, line: &str) -> bool {
    re.matches_at_start(line.as_bytes())
        || line
            .strip_suffix('\n')
            .is_some_and(|l| re.matches_at_start(l.as_bytes()))
}

/// find.py's `contentfilter()` on a file's bytes.
pub fn content_matches(
    re: &Pattern,
    bytes: &[u8],
    encoding: Option<&str>,
    whole: bool,
) -> Result<bool, ContentError> {
    let (text, failed) = decode(bytes, encoding)?;
    // Text mode's universal newlines.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if whole {
        if failed {
            return Err(ContentError::Decode);
        }
        let t = text.as_bytes();
        return Ok(re.is_match(t) || t.strip_suffix(b"\n").is_some_and(|s| re.is_match(s)));
    }
    for line in text.split_inclusive('\n') {
        // A last line without its end is only whole when nothing failed after it.
        if failed && !line.ends_with('\n') {
            break;
        }
        if line_matches(re, line) {
            return Ok(true);
        }
    }
    if failed {
        return Err(ContentError::Decode);
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyre::compile;

    #[test]
    fn lines_match_from_their_start() {
        let re = compile("contains", "foo").expect("test value");
        assert_eq!(content_matches(&re, b"a\nfoo bar\n", None, false), Ok(true));
        assert_eq!(content_matches(&re, b"a foo\n", None, false), Ok(false));
        assert_eq!(content_matches(&re, b"a foo\n", None, true), Ok(true));
        let end = compile("contains", "bar$").expect("test value");
        assert_eq!(content_matches(&end, b"bar\r\nx", None, false), Ok(true));
    }

    #[test]
    fn encodings_as_python_reads_them() {
        let re = compile("contains", "caf\u{e9}").expect("test value");
        assert_eq!(
            content_matches(&re, b"caf\xe9\n", Some("latin-1"), false),
            Ok(true)
        );
        assert_eq!(
            content_matches(&re, b"caf\xe9\n", None, false),
            Err(ContentError::Decode)
        );
        assert_eq!(
            content_matches(&re, b"x", Some("no-such"), false),
            Err(ContentError::Unknown("no-such".into()))
        );
    }

    #[test]
    fn the_output_is_read_back() {
        let c = vec!["/a".to_owned(), "/b".to_owned()];
        let k = vec!["/a".to_owned()];
        let out = b"\nN c 0\nline\n\nN k 0 abc\nN end".to_vec();
        let out = String::from_utf8(out)
            .expect("test value")
            .replace("\nN ", "\nNONCE ");
        let (t, h) = parse(out.as_bytes(), "NONCE", &c, &k).expect("test value");
        assert_eq!(t.get("/a").expect("test value"), b"line\n");
        assert!(!t.contains_key("/b"));
        assert_eq!(h.get("/a").expect("test value"), "abc");
        assert!(parse(b"\nNONCE c 0\nx", "NONCE", &c, &k).is_none());
    }
}

//! `blockinfile`: make sure a block of lines between two marker lines is (or is not) in a
//! text file.
//!
//! Round trips: 1 (stat and content of the file); the edit is computed here with Ansible's
//! algorithm (blockinfile.py's `main()`, ported line for line); then, only when the text
//! changes and not in check mode, 1 atomic write, or 1 `chmod`/`chown` when only attributes
//! differ. `insertafter`/`insertbefore` are Python regexes as far as the `regex` crate agrees
//! (see [`super::pyre`]); a leading `(?m)` searches the whole file, as Ansible does.

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, check_validate};
use super::context::ModuleContext;
use super::pyre::{compile, inline_multiline, readlines, search_text};
use super::remote::Remote;
use super::result::ModuleResult;
use super::textedit::{self, Apply, Attrs};

/// Arguments of `blockinfile`.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockinfileArgs {
    pub path: String,
    pub present: bool,
    /// With `{mark}` where `marker_begin`/`marker_end` go.
    pub marker: String,
    pub marker_begin: String,
    pub marker_end: String,
    pub block: String,
    /// `EOF` or a regex.
    pub insertafter: Option<String>,
    /// `BOF` or a regex.
    pub insertbefore: Option<String>,
    pub create: bool,
    pub backup: bool,
    pub validate: Option<String>,
    pub append_newline: bool,
    pub prepend_newline: bool,
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("path", &["dest", "destfile", "name"]),
    ("state", &[]),
    ("marker", &[]),
    ("marker_begin", &[]),
    ("marker_end", &[]),
    ("block", &["content"]),
    ("insertafter", &[]),
    ("insertbefore", &[]),
    ("create", &[]),
    ("backup", &[]),
    ("validate", &[]),
    ("append_newline", &[]),
    ("prepend_newline", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("unsafe_writes", &[]),
];

impl BlockinfileArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<BlockinfileArgs, ArgError> {
        let mut a = Args::new("blockinfile", KEYS, v)?;
        let present = a.present()?;
        let parsed = BlockinfileArgs {
            path: a.req_str("path")?,
            present,
            marker: a
                .str("marker")?
                .unwrap_or_else(|| "# {mark} ANSIBLE MANAGED BLOCK".to_owned()),
            marker_begin: a.str("marker_begin")?.unwrap_or_else(|| "BEGIN".to_owned()),
            marker_end: a.str("marker_end")?.unwrap_or_else(|| "END".to_owned()),
            block: a.str("block")?.unwrap_or_default(),
            insertafter: a.str("insertafter")?,
            insertbefore: a.str("insertbefore")?,
            create: a.bool("create", false)?,
            backup: a.bool("backup", false)?,
            validate: a.str("validate")?,
            append_newline: a.bool("append_newline", false)?,
            prepend_newline: a.bool("prepend_newline", false)?,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
        };
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        if parsed.insertafter.is_some() && parsed.insertbefore.is_some() {
            return Err(ArgError::general(
                "blockinfile: parameters are mutually exclusive: insertbefore|insertafter",
            ));
        }
        if let Some(p) = parsed.insert_pattern() {
            compile(
                if parsed.insertafter.is_some() {
                    "insertafter"
                } else {
                    "insertbefore"
                },
                p,
            )?;
        }
        check_validate(parsed.validate.as_deref())?;
        Ok(parsed)
    }

    /// The regex of `insertafter`/`insertbefore`, unless it is `EOF`/`BOF` or absent.
    fn insert_pattern(&self) -> Option<&str> {
        match (&self.insertafter, &self.insertbefore) {
            (Some(p), _) if p != "EOF" => Some(p),
            (None, Some(p)) if p != "BOF" => Some(p),
            _ => None,
        }
    }
}

/// blockinfile.py's edit: the new text of a file whose text is `original` (`None`: it does
/// not exist), and whether there is a block to write (else the block is removed).
fn edit(a: &BlockinfileArgs, original: Option<&[u8]>) -> (Vec<u8>, bool) {
    let mut lines = original.map(readlines).unwrap_or_default();
    let insertafter = match (&a.insertafter, &a.insertbefore) {
        (None, None) => Some("EOF"),
        (x, _) => x.as_deref(),
    };
    let insertbefore = a.insertbefore.as_deref();
    let pattern = a.insert_pattern();
    let insertre = pattern.and_then(|p| compile("insertafter", p).ok());
    let mark = |m: &str| format!("{}\n", a.marker.replace("{mark}", m)).into_bytes();
    let (marker0, marker1) = (mark(&a.marker_begin), mark(&a.marker_end));
    let blocklines: Vec<Vec<u8>> = if a.present && !a.block.is_empty() {
        let mut block = a.block.clone().into_bytes();
        if !block.ends_with(b"\n") {
            block.push(b'\n');
        }
        let mut l = vec![marker0.clone()];
        l.extend(readlines(&block));
        l.push(marker1.clone());
        l
    } else {
        Vec::new()
    };
    let (mut n0, mut n1) = (None, None);
    for (i, line) in lines.iter().enumerate() {
        if *line == marker0 {
            n0 = Some(i);
        }
        if *line == marker1 {
            n1 = Some(i);
        }
    }
    let mut n0 = match (n0, n1) {
        (Some(b), Some(e)) if b < e => {
            lines.drain(b..=e);
            b
        }
        (Some(b), Some(e)) => {
            lines.drain(e..=b);
            e
        }
        _ => {
            let mut at = None;
            if let (Some(re), Some(p)) = (&insertre, pattern) {
                if inline_multiline(p) {
                    if let Some(m) = original.and_then(|o| re.find(o)) {
                        let o = original.unwrap_or_default();
                        let count = |end: usize| o[..end].iter().filter(|&&c| c == b'\n').count();
                        if insertafter.is_some() {
                            at = Some(count(m.end));
                        } else if insertbefore.is_some() {
                            at = Some(count(m.start));
                        }
                    }
                } else {
                    for (i, line) in lines.iter().enumerate() {
                        if re.is_match(search_text(line)) {
                            at = Some(i);
                        }
                    }
                }
                match at {
                    None => lines.len(),
                    Some(i) if insertafter.is_some() => i + 1,
                    Some(i) => i,
                }
            } else if insertbefore.is_some() {
                0
            } else {
                lines.len()
            }
        }
    };
    n0 = n0.min(lines.len());
    if n0 > 0 && !lines[n0 - 1].ends_with(b"\n") {
        lines[n0 - 1].push(b'\n');
    }
    if a.prepend_newline && a.present && n0 != 0 && lines[n0 - 1] != b"\n" {
        lines.insert(n0, b"\n".to_vec());
        n0 += 1;
    }
    let count = blocklines.len();
    let has_block = !blocklines.is_empty();
    lines.splice(n0..n0, blocklines);
    if a.append_newline && a.present {
        let after = n0 + count;
        if after < lines.len() && lines[after] != b"\n" {
            lines.insert(after, b"\n".to_vec());
        }
    }
    (lines.concat(), has_block)
}

/// Runs `blockinfile`.
pub async fn run<R: Remote>(args: &BlockinfileArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let (info, original) = match textedit::read(ctx, &args.path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if original.is_none() && !args.create {
        let mut r = ModuleResult::fail(format!("Path {} does not exist !", args.path));
        r.rc = Some(257);
        return r;
    }
    if !args.present && original.is_none() {
        return ModuleResult::ok().with_msg(format!("File {} not present", args.path));
    }
    let (result, has_block) = edit(args, original.as_deref());
    let (changed, msg) = match &original {
        Some(o) if *o == result => (false, ""),
        None => (true, "File created"),
        Some(_) if !has_block => (true, "Block removed"),
        Some(_) => (true, "Block inserted"),
    };
    let mut r = ModuleResult {
        changed,
        msg: Some(msg.to_owned()),
        ..ModuleResult::default()
    };
    if ctx.diff {
        r.diff = Some(textedit::content_diff(
            &args.path,
            original.as_deref().unwrap_or_default(),
            &result,
        ));
    }
    if ctx.check_mode && original.is_none() {
        return r;
    }
    let apply = Apply {
        path: &args.path,
        attrs: Attrs {
            mode: args.mode.as_ref(),
            owner: args.owner.as_deref(),
            group: args.group.as_deref(),
        },
        backup: args.backup,
        validate: args.validate.as_deref(),
        make_parents: args.create,
    };
    match textedit::apply(ctx, &apply, &info, changed, result, &mut r).await {
        Ok(Some(b)) => r.with("backup_file", b),
        Ok(None) => r,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The new text of `text` (`None`: no file), and the message run() gives.
    fn go(args: Value, text: Option<&str>) -> (String, &'static str) {
        let a = BlockinfileArgs::parse(&args).unwrap_or_else(|e| panic!("{e}"));
        let (out, has_block) = edit(&a, text.map(str::as_bytes));
        let msg = match text {
            Some(t) if t.as_bytes() == out.as_slice() => "",
            None => "File created",
            Some(_) if !has_block => "Block removed",
            Some(_) => "Block inserted",
        };
        (String::from_utf8_lossy(&out).into_owned(), msg)
    }

    const SSHD: &str = "Port 22\n#AddressFamily any\nListenAddress 0.0.0.0\n";
    const BLOCK: &str = "Match User ansible-agent\nPasswordAuthentication no";
    const MARKED: &str = "# BEGIN ANSIBLE MANAGED BLOCK\nMatch User ansible-agent\nPasswordAuthentication no\n# END ANSIBLE MANAGED BLOCK\n";

    // The cases below are those of ansible-core 2.19.14's integration target `blockinfile`
    // (tasks/*.yml), each expected text as the target asserts it or as blockinfile.py gives.

    #[test]
    fn add_block_to_existing_file_then_remove_it() {
        let (out, msg) = go(json!({"path": "x", "block": BLOCK}), Some(SSHD));
        assert_eq!(
            (out.as_str(), msg),
            (&*format!("{SSHD}{MARKED}"), "Block inserted")
        );
        // Again: no change.
        assert_eq!(go(json!({"path": "x", "block": BLOCK}), Some(&out)).1, "");
        // state=absent, and an empty block, remove it.
        let (gone, msg) = go(json!({"path": "x", "state": "absent"}), Some(&out));
        assert_eq!((gone.as_str(), msg), (SSHD, "Block removed"));
        assert_eq!(go(json!({"path": "x", "block": ""}), Some(&out)).0, SSHD);
    }

    #[test]
    fn create_file_and_empty_block() {
        assert_eq!(
            go(
                json!({"path": "x", "block": "This is a block", "create": true}),
                None
            ),
            (
                "# BEGIN ANSIBLE MANAGED BLOCK\nThis is a block\n# END ANSIBLE MANAGED BLOCK\n"
                    .into(),
                "File created"
            )
        );
        // A missing file and no block: an empty file is created.
        assert_eq!(
            go(json!({"path": "x", "create": true}), None),
            (String::new(), "File created")
        );
    }

    #[test]
    fn line_endings_and_missing_trailing_newlines() {
        // preserve_line_endings: the block's own line ends stay (\r\n lines too).
        let (out, _) = go(
            json!({"path": "x", "block": "line 1\r\nline 2\r\n"}),
            Some("a\r\n"),
        );
        assert_eq!(
            out,
            "a\r\n# BEGIN ANSIBLE MANAGED BLOCK\nline 1\r\nline 2\r\n# END ANSIBLE MANAGED BLOCK\n"
        );
        // file_without_trailing_newline: one is added before the block.
        let (out, _) = go(json!({"path": "x", "block": "b"}), Some("last line"));
        assert_eq!(
            out,
            "last line\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n# END ANSIBLE MANAGED BLOCK\n"
        );
        // block_without_trailing_newline: the same block, with or without its newline.
        let with = go(json!({"path": "x", "block": "b\n"}), Some("")).0;
        assert_eq!(go(json!({"path": "x", "block": "b"}), Some(&with)).1, "");
    }

    #[test]
    fn insertafter_and_insertbefore() {
        let text = "line1\nline2\nline3\n";
        // insertafter a regex: after its last match; no match: at the end.
        let a = go(
            json!({"path": "x", "block": "B", "insertafter": "^line"}),
            Some(text),
        )
        .0;
        assert!(a.starts_with("line1\nline2\nline3\n# BEGIN"), "{a}");
        let a = go(
            json!({"path": "x", "block": "B", "insertafter": "line2"}),
            Some(text),
        )
        .0;
        assert_eq!(
            a,
            "line1\nline2\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\nline3\n"
        );
        let a = go(
            json!({"path": "x", "block": "B", "insertbefore": "line2"}),
            Some(text),
        )
        .0;
        assert_eq!(
            a,
            "line1\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\nline2\nline3\n"
        );
        let a = go(
            json!({"path": "x", "block": "B", "insertbefore": "BOF"}),
            Some(text),
        )
        .0;
        assert!(
            a.starts_with("# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END"),
            "{a}"
        );
        let a = go(
            json!({"path": "x", "block": "B", "insertbefore": "nope"}),
            Some(text),
        )
        .0;
        assert!(a.starts_with("line1\nline2\nline3\n# BEGIN"), "{a}");
        // An existing block stays where it is, whatever insertbefore says.
        let moved = go(
            json!({"path": "x", "block": "C", "insertbefore": "BOF"}),
            Some(
                &go(
                    json!({"path": "x", "block": "B", "insertafter": "line2"}),
                    Some(text),
                )
                .0,
            ),
        )
        .0;
        assert_eq!(
            moved,
            "line1\nline2\n# BEGIN ANSIBLE MANAGED BLOCK\nC\n# END ANSIBLE MANAGED BLOCK\nline3\n"
        );
    }

    #[test]
    fn multiline_search() {
        // multiline_search.yml: (?m) patterns search the whole file.
        let text = "export FOO=bar\nexport BAZ=qux\n\nsome other line\n";
        let a = go(
            json!({"path": "x", "block": "X", "insertafter": "(?m)^export FOO=bar\\nexport"}),
            Some(text),
        )
        .0;
        assert_eq!(
            a,
            "export FOO=bar\nexport BAZ=qux\n# BEGIN ANSIBLE MANAGED BLOCK\nX\n# END ANSIBLE MANAGED BLOCK\n\nsome other line\n"
        );
        // Without (?m), line by line: a pattern across lines matches none (block at EOF).
        let c = go(
            json!({"path": "x", "block": "X", "insertafter": "^export FOO=bar\\nexport"}),
            Some(text),
        )
        .0;
        assert!(c.starts_with(text), "{c}");
        let b = go(
            json!({"path": "x", "block": "X", "insertbefore": "(?m)^export BAZ=qux\\n\\nsome"}),
            Some(text),
        )
        .0;
        assert_eq!(
            b,
            "export FOO=bar\n# BEGIN ANSIBLE MANAGED BLOCK\nX\n# END ANSIBLE MANAGED BLOCK\nexport BAZ=qux\n\nsome other line\n"
        );
    }

    #[test]
    fn append_and_prepend_newline() {
        let text = "line1\nline2\n";
        let a = go(
            json!({"path": "x", "block": "B", "insertafter": "line1", "append_newline": true, "prepend_newline": true}),
            Some(text),
        )
        .0;
        assert_eq!(
            a,
            "line1\n\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\n\nline2\n"
        );
        // Not at the start or end of the file, nor next to a blank line.
        let b = go(
            json!({"path": "x", "block": "B", "insertbefore": "BOF", "prepend_newline": true, "append_newline": true}),
            Some("\nx\n"),
        )
        .0;
        assert_eq!(
            b,
            "# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\n\nx\n"
        );
        let c = go(
            json!({"path": "x", "block": "B", "prepend_newline": true, "append_newline": true}),
            Some("x\n"),
        )
        .0;
        assert_eq!(
            c,
            "x\n\n# BEGIN ANSIBLE MANAGED BLOCK\nB\n# END ANSIBLE MANAGED BLOCK\n"
        );
    }

    #[test]
    fn custom_markers() {
        let a = go(
            json!({"path": "x", "block": "B", "marker": "<!-- {mark} -->", "marker_begin": "start", "marker_end": "stop"}),
            Some(""),
        )
        .0;
        assert_eq!(a, "<!-- start -->\nB\n<!-- stop -->\n");
    }

    #[test]
    fn argument_rules() {
        let err = |v: Value| BlockinfileArgs::parse(&v).is_err();
        assert!(err(json!({"block": "x"})));
        assert!(err(
            json!({"path": "x", "insertafter": "a", "insertbefore": "b"})
        ));
        assert!(err(json!({"path": "x", "insertafter": "("})));
        assert!(err(json!({"path": "x", "validate": "true"})));
        assert!(err(json!({"path": "x", "state": "gone"})));
        assert!(!err(json!({"dest": "x", "content": "y"})));
    }
}

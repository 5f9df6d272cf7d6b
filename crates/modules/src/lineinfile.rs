//! `lineinfile`: make sure one line is (or is not) in a text file.
//!
//! Round trips: 1 (stat and content of the file); the edit is computed here with Ansible's
//! algorithm (`present()`/`absent()` of lineinfile.py, ported line for line); then, only when
//! the text changes and not in check mode, 1 atomic write (content on stdin), or 1
//! `chmod`/`chown` when only attributes differ. Regexes are Python's as far as the `regex`
//! crate agrees (no look-around, no backreferences in patterns); `\1`, `\g<1>`, `\g<name>` in
//! `line` are expanded with `backrefs`.

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, check_validate};
use super::context::ModuleContext;
use super::pyre::{compile, python_template, readlines, search_text};
use super::remote::Remote;
use super::result::ModuleResult;
use super::textedit::{self, Apply, Attrs};

/// Arguments of `lineinfile`.
#[derive(Debug, Clone)]
pub struct LineinfileArgs {
    pub path: String,
    pub present: bool,
    pub regexp: Option<String>,
    pub search_string: Option<String>,
    pub line: Option<String>,
    /// `EOF`, `BOF` or a regex.
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    pub backrefs: bool,
    pub create: bool,
    pub backup: bool,
    pub firstmatch: bool,
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub validate: Option<String>,
}

impl PartialEq for LineinfileArgs {
    fn eq(&self, o: &Self) -> bool {
        format!("{self:?}") == format!("{o:?}")
    }
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("path", &["dest", "destfile", "name"]),
    ("state", &[]),
    ("regexp", &["regex"]),
    ("search_string", &[]),
    ("line", &["value"]),
    ("insertafter", &[]),
    ("insertbefore", &[]),
    ("backrefs", &[]),
    ("create", &[]),
    ("backup", &[]),
    ("firstmatch", &[]),
    ("validate", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("unsafe_writes", &[]),
];

impl LineinfileArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<LineinfileArgs, ArgError> {
        let mut a = Args::new("lineinfile", KEYS, v)?;
        let present = a.present()?;
        let parsed = LineinfileArgs {
            path: a.req_str("path")?,
            present,
            regexp: a.str("regexp")?,
            search_string: a.str("search_string")?,
            line: a.str("line")?,
            insertafter: a.str("insertafter")?,
            insertbefore: a.str("insertbefore")?,
            backrefs: a.bool("backrefs", false)?,
            create: a.bool("create", false)?,
            backup: a.bool("backup", false)?,
            firstmatch: a.bool("firstmatch", false)?,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
            validate: a.str("validate")?,
        };
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        let both = |x: bool, y: bool, names: &str| {
            if x && y {
                Err(ArgError::general(format!(
                    "lineinfile: parameters are mutually exclusive: {names}"
                )))
            } else {
                Ok(())
            }
        };
        both(
            parsed.insertafter.is_some(),
            parsed.insertbefore.is_some(),
            "insertbefore|insertafter",
        )?;
        both(
            parsed.regexp.is_some(),
            parsed.search_string.is_some(),
            "regexp|search_string",
        )?;
        both(
            parsed.backrefs,
            parsed.search_string.is_some(),
            "backrefs|search_string",
        )?;
        if parsed.present {
            if parsed.backrefs && parsed.regexp.is_none() {
                return Err(ArgError::field(
                    "backrefs",
                    "regexp is required with backrefs=true",
                ));
            }
            if parsed.line.is_none() {
                return Err(ArgError::field(
                    "line",
                    "line is required with state=present",
                ));
            }
        } else if parsed.regexp.is_none() && parsed.search_string.is_none() && parsed.line.is_none()
        {
            return Err(ArgError::general(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        if let Some(r) = &parsed.regexp {
            compile("regexp", r)?;
        }
        for (k, v) in [
            ("insertafter", &parsed.insertafter),
            ("insertbefore", &parsed.insertbefore),
        ] {
            if let Some(p) = v
                && p != "EOF"
                && p != "BOF"
            {
                compile(k, p)?;
            }
        }
        check_validate(parsed.validate.as_deref())?;
        Ok(parsed)
    }
}

fn rstrip(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    while end > 0 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
        end -= 1;
    }
    &b[..end]
}

/// The edit of `present()`: new lines and message.
fn present(a: &LineinfileArgs, mut lines: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, &'static str, bool) {
    let line = a.line.clone().unwrap_or_default().into_bytes();
    let ins_aft = match (&a.insertafter, &a.insertbefore) {
        (None, None) => Some("EOF".to_owned()),
        (x, _) => x.clone(),
    };
    let ins_bef = a.insertbefore.clone();
    let bre_ins = match (&ins_aft, &ins_bef) {
        (Some(p), _) if p != "EOF" => compile("insertafter", p).ok(),
        (_, Some(p)) if p != "BOF" => compile("insertbefore", p).ok(),
        _ => None,
    };
    let bre_m = a.regexp.as_ref().and_then(|r| compile("regexp", r).ok());
    let mut index: [i64; 2] = [-1, -1];
    let mut matched_line: Option<usize> = None;
    if let Some(re) = &bre_m {
        for (n, cur) in lines.iter().enumerate() {
            if re.is_match(search_text(cur)) {
                index[0] = n as i64;
                matched_line = Some(n);
                if a.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = &a.search_string {
        for (n, cur) in lines.iter().enumerate() {
            if memfind(cur, s.as_bytes()) {
                index[0] = n as i64;
                matched_line = Some(n);
                if a.firstmatch {
                    break;
                }
            }
        }
    }
    if matched_line.is_none() {
        for (n, cur) in lines.iter().enumerate() {
            if line == rstrip(cur) {
                index[0] = n as i64;
            } else if let Some(re) = &bre_ins
                && re.is_match(search_text(cur))
            {
                if ins_aft.is_some() {
                    index[1] = n as i64 + 1;
                    if a.firstmatch {
                        break;
                    }
                }
                if ins_bef.is_some() {
                    index[1] = n as i64;
                    if a.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let sep = b"\n".to_vec();
    let with_sep = |l: &[u8]| [l, &sep].concat();
    let ends_nl = |ls: &Vec<Vec<u8>>| {
        ls.last()
            .is_none_or(|l| matches!(l.last(), Some(b'\n' | b'\r')))
    };
    let aft = ins_aft.as_deref();
    let bef = ins_bef.as_deref();
    if index[0] != -1 {
        let mut new_line = match (a.backrefs, matched_line, &bre_m) {
            (true, Some(n), Some(re)) => {
                let text = search_text(&lines[n]);
                match re.captures_at(text, 0) {
                    Some(caps) => {
                        let mut out = Vec::new();
                        let text = String::from_utf8_lossy(&line);
                        // A template Python refuses (`\\q`) stays as it is written.
                        let template =
                            python_template(&text).unwrap_or_else(|_| text.replace('$', "$$"));
                        caps.expand(&template, &mut out);
                        out
                    }
                    None => line.clone(),
                }
            }
            _ => line.clone(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        // Ansible's branch for "index found without a match" cannot be reached: without
        // regexp/search_string, index[0] is only set by an exact line match.
        if lines[index[0] as usize] != new_line {
            lines[index[0] as usize] = new_line;
            (lines, "line replaced", true)
        } else {
            (lines, "", false)
        }
    } else if a.backrefs {
        (lines, "", false)
    } else if bef == Some("BOF") || aft == Some("BOF") {
        lines.insert(0, with_sep(&line));
        (lines, "line added", true)
    } else if aft == Some("EOF") || index[1] == -1 {
        if !ends_nl(&lines) {
            lines.push(sep.clone());
        }
        lines.push(with_sep(&line));
        (lines, "line added", true)
    } else if aft.is_some() && index[1] != -1 {
        let i = index[1] as usize;
        if lines.len() == i {
            if rstrip(&lines[i - 1]) != line.as_slice() {
                lines.push(with_sep(&line));
                return (lines, "line added", true);
            }
            (lines, "", false)
        } else if line.as_slice() != rstrip(&lines[i]) {
            lines.insert(i, with_sep(&line));
            (lines, "line added", true)
        } else {
            (lines, "", false)
        }
    } else {
        let i = index[1].max(0) as usize;
        lines.insert(i.min(lines.len()), with_sep(&line));
        (lines, "line added", true)
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The edit of `absent()`: remaining lines and how many were removed.
fn absent(a: &LineinfileArgs, lines: Vec<Vec<u8>>) -> (Vec<Vec<u8>>, usize) {
    let re = a.regexp.as_ref().and_then(|r| compile("regexp", r).ok());
    let line = a.line.clone().unwrap_or_default().into_bytes();
    let before = lines.len();
    let kept: Vec<Vec<u8>> = lines
        .into_iter()
        .filter(|cur| {
            let hit = if let Some(re) = &re {
                re.is_match(search_text(cur))
            } else if let Some(s) = &a.search_string {
                memfind(cur, s.as_bytes())
            } else {
                rstrip(cur) == line.as_slice()
            };
            !hit
        })
        .collect();
    let removed = before - kept.len();
    (kept, removed)
}

/// Runs `lineinfile`.
pub async fn run<R: Remote>(args: &LineinfileArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let mut r = edit_file(args, ctx).await;
    if let Some(w) = empty_pattern_warning(args) {
        r.warnings.insert(0, w);
    }
    r
}

/// lineinfile.py's warning (ansible-core 2.19.14, `main`) for an empty `regexp` or
/// `search_string`, which matches every line.
fn empty_pattern_warning(a: &LineinfileArgs) -> Option<String> {
    let name = if a.regexp.as_deref() == Some("") {
        "regular expression"
    } else if a.search_string.as_deref() == Some("") {
        "search string"
    } else {
        return None;
    };
    let mut msg = format!(
        "The {name} is an empty string, which will match every line in the file. This may have \
         unintended consequences, such as replacing the last line in the file rather than \
         appending."
    );
    if name == "regular expression" {
        msg.push_str(
            " If this is desired, use '^' to match every line in the file and avoid this warning.",
        );
    }
    Some(msg)
}

async fn edit_file<R: Remote>(args: &LineinfileArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let (info, content) = match textedit::read(ctx, &args.path).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let before = content.unwrap_or_default();
    let (after, msg, changed, found) = if args.present {
        if !info.exists && !args.create {
            let mut r = ModuleResult::fail(format!("Destination {} does not exist !", args.path));
            r.rc = Some(257);
            return r;
        }
        let (lines, msg, changed) = present(args, readlines(&before));
        (lines.concat(), msg.to_owned(), changed, None)
    } else {
        if !info.exists {
            return ModuleResult::ok().with_msg("file not present");
        }
        let (lines, n) = absent(args, readlines(&before));
        let msg = if n > 0 {
            format!("{n} line(s) removed")
        } else {
            String::new()
        };
        (lines.concat(), msg, n > 0, Some(n))
    };
    let mut r = ModuleResult {
        changed,
        msg: Some(msg),
        ..ModuleResult::default()
    };
    if ctx.diff {
        r.diff = Some(textedit::content_diff(&args.path, &before, &after));
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
    let backup = match textedit::apply(ctx, &apply, &info, changed, after, &mut r).await {
        Ok(b) => b.unwrap_or_default(),
        Err(e) => return e,
    };
    if let Some(n) = found {
        r = r.with("found", n as u64);
    }
    r.with("backup", backup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edit(args: Value, text: &str) -> (String, bool) {
        let a = LineinfileArgs::parse(&args).unwrap_or_else(|e| panic!("{e}"));
        let (lines, _, changed) = present(&a, readlines(text.as_bytes()));
        (
            String::from_utf8_lossy(&lines.concat()).into_owned(),
            changed,
        )
    }

    #[test]
    fn ansible_present_cases() {
        // Appends at EOF, adding the missing newline first.
        assert_eq!(
            edit(json!({"path": "x", "line": "c"}), "a\nb"),
            ("a\nb\nc\n".into(), true)
        );
        // Exact line present: nothing.
        assert_eq!(
            edit(json!({"path": "x", "line": "b"}), "a\nb\n"),
            ("a\nb\n".into(), false)
        );
        // Regexp replaces the last match (the first with firstmatch).
        let t = "SELINUX=enforcing\nx\nSELINUX=permissive\n";
        assert_eq!(
            edit(
                json!({"path": "x", "regexp": "^SELINUX=", "line": "SELINUX=disabled"}),
                t
            ),
            ("SELINUX=enforcing\nx\nSELINUX=disabled\n".into(), true)
        );
        assert_eq!(
            edit(
                json!({"path": "x", "regexp": "^SELINUX=", "line": "SELINUX=disabled", "firstmatch": true}),
                t
            ),
            ("SELINUX=disabled\nx\nSELINUX=permissive\n".into(), true)
        );
        // insertafter / insertbefore a regex, and BOF.
        let t = "[a]\nk=v\n[b]\n";
        assert_eq!(
            edit(
                json!({"path": "x", "line": "n=1", "insertafter": "^\\[a\\]"}),
                t
            ),
            ("[a]\nn=1\nk=v\n[b]\n".into(), true)
        );
        assert_eq!(
            edit(
                json!({"path": "x", "line": "n=1", "insertbefore": "^\\[b\\]"}),
                t
            ),
            ("[a]\nk=v\nn=1\n[b]\n".into(), true)
        );
        assert_eq!(
            edit(
                json!({"path": "x", "line": "#top", "insertbefore": "BOF"}),
                t
            ),
            ("#top\n[a]\nk=v\n[b]\n".into(), true)
        );
        // insertafter with no match: EOF.
        assert_eq!(
            edit(
                json!({"path": "x", "line": "z", "insertafter": "^nope"}),
                "a\n"
            ),
            ("a\nz\n".into(), true)
        );
        // backrefs: no match, no change; match, expanded.
        assert_eq!(
            edit(
                json!({"path": "x", "regexp": "^(nope)", "line": "\\1", "backrefs": true}),
                "a\n"
            ),
            ("a\n".into(), false)
        );
        assert_eq!(
            edit(
                json!({"path": "x", "regexp": "^(\\w+)=(.*)$", "line": "\\2=\\g<1> $5", "backrefs": true}),
                "k=v\n"
            ),
            ("v=k $5\n".into(), true)
        );
        // search_string replaces.
        assert_eq!(
            edit(
                json!({"path": "x", "search_string": "port 22", "line": "port 2222"}),
                "listen port 22\n"
            ),
            ("port 2222\n".into(), true)
        );
    }

    #[test]
    fn ansible_absent_cases() {
        let a = LineinfileArgs::parse(&json!({"path": "x", "state": "absent", "regexp": "^#"}))
            .unwrap_or_else(|e| panic!("{e}"));
        let (lines, n) = absent(&a, readlines(b"#a\nb\n#c\n"));
        assert_eq!((lines.concat(), n), (b"b\n".to_vec(), 2));
    }

    #[test]
    fn argument_rules() {
        assert!(LineinfileArgs::parse(&json!({"path": "x"})).is_err());
        assert!(LineinfileArgs::parse(&json!({"path": "x", "state": "absent"})).is_err());
        assert!(
            LineinfileArgs::parse(&json!({"path": "x", "line": "a", "backrefs": true})).is_err()
        );
        assert!(LineinfileArgs::parse(&json!({"path": "x", "line": "a", "regexp": "("})).is_err());
        assert!(
            LineinfileArgs::parse(
                &json!({"path": "x", "line": "a", "insertafter": "a", "insertbefore": "b"})
            )
            .is_err()
        );
    }
}

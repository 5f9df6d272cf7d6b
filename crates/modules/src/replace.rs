//! `replace`: replace every match of a regex in a file (or in the part of it between `after`
//! and `before`), as Python's `re.subn` does.
//!
//! Round trips: 1 (stat and content of the file); the edit is computed here with Ansible's
//! algorithm (replace.py's `main()`, ported line for line, [`super::pyre::subn`] for
//! `re.subn`); then, only when the text changes and not in check mode, 1 atomic write, or 1
//! `chmod`/`chown` when only attributes differ. Regexes are Python's as far as the `regex`
//! crate agrees (see [`super::pyre`]); `encoding` is utf-8 only.

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, check_validate};
use super::context::ModuleContext;
use super::probe::diff_text;
use super::pyre::{Pattern, compile, python_template, subn};
use super::remote::Remote;
use super::result::{Diff, ModuleResult};
use super::textedit::{self, Apply, Attrs};

/// Arguments of `replace`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaceArgs {
    pub path: String,
    pub regexp: String,
    /// A Python `re.sub` template (`\1`, `\g<name>`).
    pub replace: String,
    pub after: Option<String>,
    pub before: Option<String>,
    pub backup: bool,
    pub validate: Option<String>,
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("path", &["dest", "destfile", "name"]),
    ("regexp", &[]),
    ("replace", &[]),
    ("after", &[]),
    ("before", &[]),
    ("backup", &[]),
    ("validate", &[]),
    ("encoding", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("unsafe_writes", &[]),
];

impl ReplaceArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<ReplaceArgs, ArgError> {
        let mut a = Args::new("replace", KEYS, v)?;
        let parsed = ReplaceArgs {
            path: a.req_str("path")?,
            regexp: a.req_str("regexp")?,
            replace: a.str("replace")?.unwrap_or_default(),
            after: a.str("after")?,
            before: a.str("before")?,
            backup: a.bool("backup", false)?,
            validate: a.str("validate")?,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
        };
        if let Some(e) = a.str("encoding")?
            && !matches!(e.to_ascii_lowercase().as_str(), "utf-8" | "utf8")
        {
            return Err(ArgError::field(
                "encoding",
                format!("only utf-8 is supported, not {e}"),
            ));
        }
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        parsed.regex()?;
        parsed.section_regex()?;
        check_validate(parsed.validate.as_deref())?;
        Ok(parsed)
    }

    /// `regexp` with `re.MULTILINE`.
    fn regex(&self) -> Result<Pattern, ArgError> {
        compile("regexp", &format!("(?m){}", self.regexp))
    }

    /// The pattern of the section between `after` and `before` (as Ansible's message shows
    /// it) and its regex (`re.DOTALL`), if either is given (and not empty).
    fn section_regex(&self) -> Result<Option<(String, Pattern)>, ArgError> {
        let after = self.after.as_deref().filter(|s| !s.is_empty());
        let before = self.before.as_deref().filter(|s| !s.is_empty());
        let pattern = match (after, before) {
            (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
            (Some(a), None) => format!("{a}(?P<subsection>.*)"),
            (None, Some(b)) => format!("(?P<subsection>.*){b}"),
            (None, None) => return Ok(None),
        };
        let field = if after.is_some() { "after" } else { "before" };
        let re = compile(field, &format!("(?s){pattern}"))?;
        Ok(Some((pattern, re)))
    }
}

/// What replace.py decides for `contents`.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// `after`/`before` did not match: the message names the pattern.
    NoSection(String),
    /// No replacement changed the text.
    Same,
    /// The new text and the number of replacements.
    Replaced(Vec<u8>, usize),
}

/// replace.py's edit of `contents`; `Err` is Python's `re.error` for a bad template.
fn edit(a: &ReplaceArgs, contents: &[u8]) -> Result<Outcome, String> {
    let re = a.regex().map_err(|e| e.to_string())?;
    let (range, section) = match a.section_regex().map_err(|e| e.to_string())? {
        Some((pattern, sre)) => match sre
            .captures_at(contents, 0)
            .and_then(|c| c.name_range("subsection"))
        {
            Some(r) => (r.clone(), &contents[r]),
            None => return Ok(Outcome::NoSection(pattern)),
        },
        None => (0..contents.len(), contents),
    };
    // After the section, as Python compiles the template in `re.subn`.
    let template = python_template(&a.replace)?;
    let (new, n) = subn(&re, &template, section);
    if n == 0 || new == section {
        return Ok(Outcome::Same);
    }
    let whole = [&contents[..range.start], &new, &contents[range.end..]].concat();
    Ok(Outcome::Replaced(whole, n))
}

/// Runs `replace`.
pub async fn run<R: Remote>(args: &ReplaceArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let (info, contents) = match textedit::read(ctx, &args.path).await {
        Ok((info, Some(c))) => (info, c),
        Ok((_, None)) => {
            let mut r = ModuleResult::fail(format!("Path {} does not exist !", args.path));
            r.rc = Some(257);
            return r;
        }
        Err(r) => return r,
    };
    let mut r = ModuleResult {
        rc: Some(0),
        msg: Some(String::new()),
        ..ModuleResult::default()
    };
    let (changed, after) = match edit(args, &contents) {
        Err(e) => {
            return ModuleResult::fail(format!("Unable to process replace due to error: {e}"));
        }
        Ok(Outcome::NoSection(pattern)) => {
            r.msg = Some(format!(
                "Pattern for before/after params did not match the given file: {pattern}"
            ));
            return r;
        }
        Ok(Outcome::Same) => (false, Vec::new()),
        Ok(Outcome::Replaced(after, n)) => {
            r.msg = Some(format!("{n} replacements made"));
            if ctx.diff {
                r.diff = Some(Diff::content(
                    &args.path,
                    diff_text(&contents),
                    diff_text(&after),
                ));
            }
            (true, after)
        }
    };
    r.changed = changed;
    let apply = Apply {
        path: &args.path,
        attrs: Attrs {
            mode: args.mode.as_ref(),
            owner: args.owner.as_deref(),
            group: args.group.as_deref(),
        },
        backup: args.backup,
        validate: args.validate.as_deref(),
        make_parents: false,
    };
    match textedit::apply(ctx, &apply, &info, changed, after, &mut r).await {
        Ok(Some(b)) => r.with("backup_file", b),
        Ok(None) => r,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PANGRAMS: &str = "The quick brown fox jumps over the lazy dog.\nWe promptly judged antique ivory buckles for the next prize.\nJinxed wizards pluck ivy from the big quilt.\nJaded zombies acted quaintly but kept driving their oxen forward.";

    fn go(args: Value, text: &str) -> Outcome {
        let a = ReplaceArgs::parse(&args).unwrap_or_else(|e| panic!("{e}"));
        edit(&a, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn text(o: Outcome) -> String {
        match o {
            Outcome::Replaced(t, _) => String::from_utf8_lossy(&t).into_owned(),
            other => panic!("no replacement: {other:?}"),
        }
    }

    fn lines(o: Outcome) -> Vec<String> {
        text(o).lines().map(str::to_owned).collect()
    }

    // The cases of ansible-core 2.19.14's integration target `replace` (tasks/main.yml).

    #[test]
    fn before_and_after() {
        let l = lines(go(
            json!({"path": "x", "before": "quilt", "regexp": " "}),
            PANGRAMS,
        ));
        assert_eq!(l[0], "Thequickbrownfoxjumpsoverthelazydog.");
        assert_eq!(
            l[3],
            "Jaded zombies acted quaintly but kept driving their oxen forward."
        );
        let l = lines(go(
            json!({"path": "x", "after": "promptly", "regexp": " "}),
            PANGRAMS,
        ));
        assert_eq!(l[0], "The quick brown fox jumps over the lazy dog.");
        assert_eq!(
            l[3],
            "Jadedzombiesactedquaintlybutkeptdrivingtheiroxenforward."
        );
        assert_eq!(
            go(
                json!({"path": "x", "before": "promptly", "after": "quilt", "regexp": "e", "replace": "3"}),
                PANGRAMS
            ),
            Outcome::NoSection("quilt(?P<subsection>.*?)promptly".into())
        );
        let l = lines(go(
            json!({"path": "x", "before": "quilt", "after": "promptly", "regexp": "e", "replace": "3"}),
            PANGRAMS,
        ));
        assert_eq!(
            l[1],
            "We promptly judg3d antiqu3 ivory buckl3s for th3 n3xt priz3."
        );
    }

    #[test]
    fn multiline_anchors_and_dot() {
        let once = text(go(
            json!({"path": "x", "regexp": "^([\\S\\s]+)$", "replace": "\"\\1\""}),
            PANGRAMS,
        ));
        let l: Vec<&str> = once.lines().collect();
        assert_eq!(l[0], "\"The quick brown fox jumps over the lazy dog.");
        assert_eq!(
            l[3],
            "Jaded zombies acted quaintly but kept driving their oxen forward.\""
        );
        let l = lines(go(
            json!({"path": "x", "regexp": "^(.+)$", "replace": "\"\\1\""}),
            &once,
        ));
        assert_eq!(l[0], "\"\"The quick brown fox jumps over the lazy dog.\"");
        assert_eq!(
            l[3],
            "\"Jaded zombies acted quaintly but kept driving their oxen forward.\"\""
        );
    }

    #[test]
    fn word_boundaries_and_counts() {
        let o = go(
            json!({"path": "x", "regexp": "\\b(.+)\\b", "replace": "\"\\1\""}),
            PANGRAMS,
        );
        let Outcome::Replaced(t, n) = o else {
            panic!("{o:?}")
        };
        assert_eq!(n, 4);
        assert!(
            String::from_utf8_lossy(&t)
                .starts_with("\"The quick brown fox jumps over the lazy dog\".\n")
        );
        // Nothing to replace, or the same text again: no change.
        assert_eq!(
            go(json!({"path": "x", "regexp": "zzz"}), PANGRAMS),
            Outcome::Same
        );
        assert_eq!(
            go(
                json!({"path": "x", "regexp": "(dog)", "replace": "\\1"}),
                PANGRAMS
            ),
            Outcome::Same
        );
    }

    #[test]
    fn named_groups_and_bad_templates() {
        let o = go(
            json!({"path": "x", "regexp": "^(?P<key>\\w+)=(?P<v>.*)$", "replace": "\\g<v>=\\g<key>"}),
            "a=1\nb=2\n",
        );
        assert_eq!(o, Outcome::Replaced(b"1=a\n2=b\n".to_vec(), 2));
        let a = ReplaceArgs::parse(&json!({"path": "x", "regexp": "a", "replace": "\\q"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            edit(&a, b"a"),
            Err("bad escape \\q at position 0".to_owned())
        );
    }

    #[test]
    fn section_before_template_errors() {
        // The target's /dev/null case: the section matches the empty text, then the template
        // fails; a section that does not match comes first.
        let bad = |after: &str| {
            let a = ReplaceArgs::parse(
                &json!({"path": "x", "after": after, "before": "$", "regexp": "\\.", "replace": "\\D"}),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            edit(&a, b"")
        };
        assert_eq!(bad("^"), Err("bad escape \\D at position 0".to_owned()));
        assert!(matches!(bad("nope"), Ok(Outcome::NoSection(_))));
    }

    #[test]
    fn argument_rules() {
        let err = |v: Value| ReplaceArgs::parse(&v).is_err();
        assert!(err(json!({"path": "x"})));
        assert!(err(json!({"regexp": "x"})));
        assert!(err(json!({"path": "x", "regexp": "("})));
        assert!(err(
            json!({"path": "x", "regexp": "a", "encoding": "latin-1"})
        ));
        assert!(err(json!({"path": "x", "regexp": "a", "validate": "true"})));
        assert!(!err(
            json!({"dest": "x", "regexp": "a", "encoding": "UTF-8"})
        ));
    }
}

//! `file`: a path's kind (file, directory, link, hard link, touched, absent) and attributes.
//!
//! Round trips: 1 probe (the path, and `src` for links); 1 more with `recurse` (a `find` for
//! children whose mode or owner differ); then 1 apply script only when a change is needed and
//! not in check mode. `touch` reports a change on every run, as Ansible's does (its default
//! `modification_time: now`); `modification_time: preserve` and `access_time: preserve` keep it
//! idempotent.

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key, Mode};
use super::context::ModuleContext;
use super::probe::{self, Info, Probe, call, owner_differs, qpath};
use super::remote::Remote;
use super::result::{Diff, ModuleResult};
use clearfleet_base::shell::quote;

/// The wanted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    File,
    Directory,
    Absent,
    Touch,
    Link,
    Hard,
}

impl FileState {
    fn name(self) -> &'static str {
        match self {
            FileState::File => "file",
            FileState::Directory => "directory",
            FileState::Absent => "absent",
            FileState::Touch => "touch",
            FileState::Link => "link",
            FileState::Hard => "hard",
        }
    }
}

/// Arguments of `file`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileArgs {
    pub path: String,
    /// `None`: the current kind if the path exists, else `file`.
    pub state: Option<FileState>,
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Link target (`link`, `hard`).
    pub src: Option<String>,
    /// `directory`: apply mode/owner/group to everything below.
    pub recurse: bool,
    /// `link`/`hard`: replace what is in the way; create a link to a missing src.
    pub force: bool,
    pub follow: bool,
    /// `touch`: `now` (default), `preserve`, or a `touch -t` stamp (`YYYYmmddHHMM.SS`).
    pub modification_time: Option<String>,
    pub access_time: Option<String>,
    /// `_diff_peek`, the action plugins' own argument: only whether the file looks binary.
    pub diff_peek: bool,
    /// `attributes` (`attr`): `lsattr` flags to set (`A`), add (`+A`) or remove (`-A`) with
    /// `chattr` ([`super::file_attrs`]).
    pub attributes: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("path", &["dest", "name"]),
    ("state", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("src", &[]),
    ("recurse", &[]),
    ("force", &[]),
    ("follow", &[]),
    ("modification_time", &[]),
    ("modification_time_format", &[]),
    ("access_time", &[]),
    ("access_time_format", &[]),
    ("unsafe_writes", &[]),
    ("_diff_peek", &[]),
    ("attributes", &["attr"]),
];

impl FileArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<FileArgs, ArgError> {
        let mut a = Args::new("file", KEYS, v)?;
        let state = a
            .choice(
                "state",
                &["file", "directory", "absent", "touch", "link", "hard"],
                None,
            )?
            .map(|s| match s.as_str() {
                "directory" => FileState::Directory,
                "absent" => FileState::Absent,
                "touch" => FileState::Touch,
                "link" => FileState::Link,
                "hard" => FileState::Hard,
                _ => FileState::File,
            });
        let parsed = FileArgs {
            path: a.req_str("path")?,
            state,
            mode: a.mode("mode", false)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
            src: a.str("src")?,
            recurse: a.bool("recurse", false)?,
            force: a.bool("force", false)?,
            follow: a.bool("follow", true)?,
            modification_time: a.str("modification_time")?,
            access_time: a.str("access_time")?,
            diff_peek: a.bool("_diff_peek", false)?,
            attributes: a.str("attributes")?,
        };
        for f in ["modification_time_format", "access_time_format"] {
            if let Some(fmt) = a.str(f)?
                && fmt != "%Y%m%d%H%M.%S"
            {
                return Err(ArgError::field(
                    f,
                    "only the default format %Y%m%d%H%M.%S is supported",
                ));
            }
        }
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        if matches!(parsed.state, Some(FileState::Link | FileState::Hard)) && parsed.src.is_none() {
            return Err(ArgError::field(
                "src",
                "src is required for state link and hard",
            ));
        }
        if parsed.recurse && parsed.attributes.as_deref().is_some_and(|a| !a.is_empty()) {
            return Err(ArgError::field(
                "attributes",
                "attributes with recurse are not supported by clearfleet (only the directory's own would be set)",
            ));
        }
        if parsed.recurse && !matches!(parsed.state, Some(FileState::Directory) | None) {
            return Err(ArgError::field(
                "recurse",
                "recurse option requires state to be 'directory'",
            ));
        }
        for t in [&parsed.modification_time, &parsed.access_time]
            .into_iter()
            .flatten()
        {
            if t != "now" && t != "preserve" && !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Err(ArgError::general(format!(
                    "bad time '{t}': now, preserve or YYYYmmddHHMM.SS"
                )));
            }
        }
        Ok(parsed)
    }
}

/// `_diff_peek` (modules/file.py `execute_diff_peek` of ansible-core 2.19.14): a file whose
/// first 8192 bytes hold a NUL appears binary; one that cannot be read is taken as text.
async fn diff_peek<R: Remote>(ctx: &ModuleContext<'_, R>, path: &str) -> ModuleResult {
    let p = qpath(path);
    let cmd = format!(
        "head -c 8192 -- {p} 2>/dev/null | wc -c; head -c 8192 -- {p} 2>/dev/null | tr -d '\\000' | wc -c"
    );
    let out = match call(ctx, &cmd, None, None).await {
        Ok(o) => o,
        Err(e) => return e,
    };
    let text = out.stdout_text();
    let counts: Vec<&str> = text.split_whitespace().collect();
    let appears_binary = counts.len() == 2 && counts[0] != counts[1];
    ModuleResult::ok()
        .with("path", path.to_owned())
        .with("appears_binary", appears_binary)
}

/// Ansible's diff of a file's state: `{path, state, mode, ...}` before and after.
fn state_diff(path: &str, before: Value, after: Value) -> Diff {
    let pretty = |v: &Value| format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default());
    Diff {
        before: pretty(&before),
        after: pretty(&after),
        before_header: Some(path.to_owned()),
        after_header: Some(path.to_owned()),
    }
}

fn current_state(info: &Info) -> &'static str {
    if !info.exists {
        "absent"
    } else if info.is_link() {
        "link"
    } else if info.is_dir() {
        "directory"
    } else if info.nlink > 1 {
        "hard"
    } else {
        "file"
    }
}

/// Runs `file`.
pub async fn run<R: Remote>(args: &FileArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let path = args.path.as_str();
    if args.diff_peek {
        return diff_peek(ctx, path).await;
    }
    let link_src = args.src.as_ref().map(|s| {
        if s.starts_with('/') {
            s.clone()
        } else {
            let dir = path
                .rsplit_once('/')
                .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d });
            format!("{dir}/{s}")
        }
    });
    let follow_path = args.follow
        && !matches!(
            args.state,
            Some(FileState::Link | FileState::Hard | FileState::Absent)
        );
    let mut probes = vec![Probe {
        follow: follow_path,
        attributes: args.attributes.is_some(),
        ..Probe::stat(path)
    }];
    if let Some(s) = &link_src {
        probes.push(Probe {
            follow: true,
            ..Probe::stat(s)
        });
    }
    let probed = match probe::probe(ctx, &probes).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let info = &probed.infos[0];
    let state = args.state.unwrap_or(if info.is_dir() {
        FileState::Directory
    } else {
        FileState::File
    });
    let base = |r: ModuleResult| r.with("path", path.to_owned()).with("state", state.name());
    let before_state = current_state(info);
    let diff = |after: &str| {
        state_diff(
            path,
            json!({"path": path, "state": before_state}),
            json!({"path": path, "state": after}),
        )
    };
    match state {
        FileState::Absent => {
            if !info.exists {
                return base(ModuleResult::ok());
            }
            let mut r = ModuleResult::changed();
            if ctx.diff {
                r.diff = Some(diff("absent"));
            }
            if !ctx.check_mode {
                let out = match call(ctx, &format!("rm -rf {}", qpath(path)), None, None).await {
                    Ok(o) => o,
                    Err(e) => return e,
                };
                if out.rc != Some(0) {
                    return base(ModuleResult::fail(format!(
                        "rmtree failed: {}",
                        out.stderr_text()
                    )));
                }
            }
            base(r)
        }
        FileState::File => {
            if !info.exists {
                return base(ModuleResult::fail(format!(
                    "file ({path}) is absent, cannot continue"
                )));
            }
            if !info.is_file() {
                return base(ModuleResult::fail(format!(
                    "file ({path}) is {before_state}, cannot continue"
                )));
            }
            attributes(args, ctx, info, false, ModuleResult::ok(), "")
                .await
                .map_or_else(|e| e, base)
        }
        FileState::Directory => {
            if info.exists && !info.is_dir() {
                return base(ModuleResult::fail(format!(
                    "{path} already exists as a {before_state}"
                )));
            }
            if !info.exists {
                let mut r = ModuleResult::changed();
                if ctx.diff {
                    r.diff = Some(diff("directory"));
                }
                if ctx.check_mode {
                    return base(r);
                }
                let mkdir = format!("mkdir -p {} || exit 1\n", qpath(path));
                // Attributes of the new directory (and nothing below it yet).
                let fresh = Info {
                    exists: true,
                    kind: Some(probe::Kind::Directory),
                    mode: u32::MAX,
                    ..Info::default()
                };
                let mut a = args.clone();
                a.recurse = false;
                return attributes(&a, ctx, &fresh, true, r, &mkdir)
                    .await
                    .map_or_else(|e| e, base);
            }
            let mut r = ModuleResult::ok();
            if args.recurse {
                match recurse_differs(args, ctx).await {
                    Ok(true) => r = ModuleResult::changed(),
                    Ok(false) => {}
                    Err(e) => return e,
                }
            }
            attributes(args, ctx, info, true, r, "")
                .await
                .map_or_else(|e| e, base)
        }
        FileState::Touch => touch(args, ctx, info).await.map_or_else(|e| e, base),
        FileState::Link | FileState::Hard => {
            let src = args.src.clone().unwrap_or_default();
            let src_info = probed.infos.get(1).cloned().unwrap_or_default();
            let hard = state == FileState::Hard;
            let same = if hard {
                info.exists
                    && src_info.exists
                    && info.inode == src_info.inode
                    && info.dev == src_info.dev
            } else {
                info.is_link() && info.link_target.as_deref() == Some(src.as_str())
            };
            let base = |r: ModuleResult| {
                base(r)
                    .with("src", src.clone())
                    .with("dest", path.to_owned())
            };
            if same {
                let r = attributes(args, ctx, info, false, ModuleResult::ok(), "").await;
                return r.map_or_else(|e| e, base);
            }
            if hard && !src_info.exists {
                return base(ModuleResult::fail(format!("src does not exist: {src}")));
            }
            if !hard && !src_info.exists && !args.force {
                return base(ModuleResult::fail(format!(
                    "src file does not exist, use \"force=yes\" if you really want to create the link: {}",
                    link_src.unwrap_or_default()
                )));
            }
            let replaceable = !info.exists || info.is_link() || args.force;
            if !replaceable {
                let kind = if hard { "hard link" } else { "symlink" };
                return base(ModuleResult::fail(format!(
                    "refusing to convert from {before_state} to {kind} for {path}"
                )));
            }
            let mut r = ModuleResult::changed();
            if ctx.diff {
                r.diff = Some(diff(state.name()));
            }
            if ctx.check_mode {
                return base(r);
            }
            let q = qpath(path);
            let mut s = String::new();
            if info.is_dir() {
                s.push_str(&format!("rmdir {q} || exit 1\n"));
            }
            if hard {
                s.push_str(&format!("ln -f {} {q} || exit 1\n", qpath(&src)));
            } else {
                s.push_str(&format!("rm -f {q}; ln -s {} {q} || exit 1\n", quote(&src)));
            }
            match (&args.owner, &args.group) {
                (Some(o), Some(g)) => s.push_str(&format!(
                    "chown -h {} {q} || exit 1\n",
                    quote(&format!("{o}:{g}"))
                )),
                (Some(o), None) => s.push_str(&format!("chown -h {} {q} || exit 1\n", quote(o))),
                (None, Some(g)) => s.push_str(&format!("chgrp -h {} {q} || exit 1\n", quote(g))),
                (None, None) => {}
            }
            let out = match call(ctx, &s, None, None).await {
                Ok(o) => o,
                Err(e) => return e,
            };
            if out.rc != Some(0) {
                return base(ModuleResult::fail(format!(
                    "error while linking: {}",
                    out.stderr_text()
                )));
            }
            base(r)
        }
    }
}

/// The apply script's exit code when `chattr` fails.
const CHATTR_FAILED: i32 = 97;

/// Mode/owner/group/attributes of a path (on top of `r`, which may already say changed), in one round
/// trip after `prefix` (shell lines that create the path, if any).
async fn attributes<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
    info: &Info,
    is_dir: bool,
    mut r: ModuleResult,
    prefix: &str,
) -> Result<ModuleResult, ModuleResult> {
    let current = (info.mode != u32::MAX).then_some(info.mode);
    let mode = match &args.mode {
        Some(m) => Some(
            m.resolve(current, is_dir)
                .map_err(|e| ModuleResult::fail(format!("bad mode: {e}")))?,
        ),
        None => None,
    };
    let mode_diff = mode.is_some_and(|m| Some(m) != current);
    let owner_diff = owner_differs(info, args.owner.as_deref(), args.group.as_deref());
    // A path made by this run (`prefix`) has no flags yet: asked of an empty set, as an
    // absent file in check mode is (`check_file_absent_if_check_mode`).
    let chattr = match &args.attributes {
        Some(wanted) if !prefix.is_empty() => {
            let made = Info {
                chattr: true,
                ..Info::default()
            };
            super::file_attrs::change(wanted, &made)
        }
        Some(wanted) => super::file_attrs::change(wanted, info),
        None => None,
    };
    if let Some(m) = mode.or(current) {
        r = r.with("mode", format!("{m:04o}"));
    }
    let recursed = args.recurse && r.changed;
    if prefix.is_empty() && !(mode_diff || owner_diff || recursed || chattr.is_some()) {
        if !info.owner.is_empty() {
            r = r
                .with("owner", info.owner.clone())
                .with("group", info.group.clone())
                .with("uid", info.uid)
                .with("gid", info.gid);
        }
        return Ok(r);
    }
    r.changed = true;
    if ctx.diff && r.diff.is_none() && (mode_diff || chattr.is_some()) {
        let mut before = json!({"path": args.path});
        let mut after = json!({"path": args.path});
        if mode_diff {
            before["mode"] = json!(current.map(|m| format!("{m:04o}")));
            after["mode"] = json!(mode.map(|m| format!("{m:04o}")));
        }
        if let Some(c) = &chattr {
            let (b, a) = super::file_attrs::diff_entries(info, c);
            before["attributes"] = b;
            after["attributes"] = a;
        }
        r.diff = Some(state_diff(&args.path, before, after));
    }
    if ctx.check_mode {
        return Ok(r);
    }
    let q = qpath(&args.path);
    let rec = if args.recurse { "-R " } else { "" };
    let mut s = prefix.to_owned();
    if let Some(m) = mode {
        match (&args.mode, args.recurse) {
            (Some(Mode::Symbolic(sym)), true) => {
                s.push_str(&format!("chmod -R {} {q} || exit 1\n", quote(sym)))
            }
            _ => s.push_str(&format!("chmod {rec}{m:o} {q} || exit 1\n")),
        }
    }
    match (&args.owner, &args.group) {
        (Some(o), Some(g)) => s.push_str(&format!(
            "chown {rec}{} {q} || exit 1\n",
            quote(&format!("{o}:{g}"))
        )),
        (Some(o), None) => s.push_str(&format!("chown {rec}{} {q} || exit 1\n", quote(o))),
        (None, Some(g)) => s.push_str(&format!("chgrp {rec}{} {q} || exit 1\n", quote(g))),
        (None, None) => {}
    }
    if let Some(c) = &chattr {
        // `set_attributes_if_different`: a non-zero exit or any stderr fails, with both.
        s.push_str(&format!(
            "e=$(chattr {} {q} 2>&1); r=$?; if [ $r -ne 0 ] || [ -n \"$e\" ]; then printf '%s' \"$e\"; exit {CHATTR_FAILED}; fi\n",
            quote(c)
        ));
    }
    if s.is_empty() {
        return Ok(r);
    }
    let out = call(ctx, &s, None, None).await?;
    if out.rc == Some(CHATTR_FAILED) {
        return Err(ModuleResult::fail("chattr failed")
            .with("path", args.path.clone())
            .with(
                "details",
                format!("Error while setting attributes: {}", out.stdout_text()),
            ));
    }
    if out.rc != Some(0) {
        return Err(ModuleResult::fail(format!(
            "failed to update {}: {}",
            args.path,
            out.stderr_text()
        )));
    }
    Ok(r)
}

/// `recurse`: does anything below the directory have another mode/owner/group?
async fn recurse_differs<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<bool, ModuleResult> {
    let mut tests = Vec::new();
    match &args.mode {
        Some(Mode::Bits(m)) => tests.push(format!("! -perm {m:04o}")),
        // A symbolic mode may differ per file: let chmod -R decide, report a change.
        Some(Mode::Symbolic(_)) => tests.push("-true".to_owned()),
        _ => {}
    }
    if let Some(o) = &args.owner {
        tests.push(format!("! -user {}", quote(o)));
    }
    if let Some(g) = &args.group {
        tests.push(format!("! -group {}", quote(g)));
    }
    if tests.is_empty() {
        return Ok(false);
    }
    let script = format!(
        "find {} -mindepth 1 \\( {} \\) -print | head -n 1",
        qpath(&args.path),
        tests.join(" -o ")
    );
    let out = call(ctx, &script, None, None).await?;
    Ok(!out.stdout.is_empty())
}

/// `touch`: create, or update times.
async fn touch<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
    info: &Info,
) -> Result<ModuleResult, ModuleResult> {
    let mtime = args.modification_time.as_deref().unwrap_or("now");
    let atime = args.access_time.as_deref().unwrap_or("now");
    let preserve = mtime == "preserve" && atime == "preserve";
    let q = qpath(&args.path);
    let mut r = if !info.exists || !preserve {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
    if ctx.diff && !info.exists {
        r.diff = Some(state_diff(
            &args.path,
            json!({"path": args.path, "state": "absent"}),
            json!({"path": args.path, "state": "touch"}),
        ));
    }
    let mut prefix = String::new();
    if r.changed {
        if !info.exists {
            prefix.push_str(&format!("touch {q} || exit 1\n"));
        }
        for (flag, t) in [("-m", mtime), ("-a", atime)] {
            match t {
                "preserve" => {}
                "now" => prefix.push_str(&format!("touch {flag} {q} || exit 1\n")),
                stamp => {
                    prefix.push_str(&format!("touch {flag} -t {} {q} || exit 1\n", quote(stamp)))
                }
            }
        }
    }
    let fresh;
    let info = if info.exists {
        info
    } else {
        fresh = Info {
            exists: true,
            kind: Some(probe::Kind::File),
            mode: u32::MAX,
            ..Info::default()
        };
        &fresh
    };
    attributes(args, ctx, info, false, r, &prefix).await
}

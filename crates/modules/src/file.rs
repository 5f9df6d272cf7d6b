//! `file`: a path's kind (file, directory, link, hard link, touched, absent) and attributes.
//!
//! Round trips: 1 probe (the path, and `src` for links); 1 more with `recurse` (a `find` for
//! children whose mode or owner differ), 1 more with a `modification_time`/`access_time`
//! stamp (read as the host's local time); then 1 apply script only when a change is needed and
//! not in check mode, and after it 1 stat of the path for the result (`add_path_info`).
//! `touch` reports a change on every run, as Ansible's does (its default
//! `modification_time: now`); `modification_time: preserve` and `access_time: preserve` keep it
//! idempotent.

use serde_json::{Map, Value, json};

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
        let mut parsed = FileArgs {
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
        // `additional_parameter_handling` and `ensure_symlink`/`ensure_hardlink` fail these when
        // the module runs, not before.
        if parsed.src.is_some()
            && !matches!(parsed.state, Some(FileState::Link | FileState::Hard))
            && parsed.state.is_some()
        {
            return Err(ArgError::at_run_time(
                Some("src"),
                "src option requires state to be 'link' or 'hard'",
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
        for t in [&mut parsed.modification_time, &mut parsed.access_time]
            .into_iter()
            .flatten()
        {
            if let Some(full) = super::file_time::touch_stamp(t) {
                *t = full;
            }
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

/// Ansible's diff of a path (modules/file.py `initial_diff`, then each setter of
/// module_utils/basic.py adds its key): `before` and `after` mappings, returned as they are
/// under `--diff` and shown as JSON.
#[derive(Debug, Default)]
struct FileDiff {
    before: Map<String, Value>,
    after: Map<String, Value>,
}

impl FileDiff {
    /// `initial_diff(path, state, prev_state)`: the path, and both states when they differ.
    fn initial(path: &str, state: &str, prev_state: &str) -> FileDiff {
        let mut d = FileDiff::default();
        d.set("path", json!(path), json!(path));
        if state != prev_state {
            d.set("state", json!(prev_state), json!(state));
        }
        d
    }

    fn set(&mut self, key: &str, before: Value, after: Value) {
        self.before.insert(key.to_owned(), before);
        self.after.insert(key.to_owned(), after);
    }

    /// `r` with the diff, under `--diff` and when `r` did not fail (`main()` drops it
    /// otherwise): the mappings registered, their JSON (keys sorted, as the callback's
    /// `_serialize_diff`) shown.
    fn attach(self, path: &str, diff: bool, mut r: ModuleResult) -> ModuleResult {
        if !diff || r.failed {
            return r;
        }
        let text = |m: &Map<String, Value>| {
            let sorted: std::collections::BTreeMap<&String, &Value> = m.iter().collect();
            format!(
                "{}\n",
                serde_json::to_string_pretty(&sorted).unwrap_or_default()
            )
        };
        r.diff = Some(Diff {
            before: text(&self.before),
            after: text(&self.after),
            before_header: Some(path.to_owned()),
            after_header: Some(path.to_owned()),
        });
        r.with("diff", json!({"before": self.before, "after": self.after}))
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
    if args.diff_peek {
        return diff_peek(ctx, &args.path).await;
    }
    let mut diff = None;
    let mut seen = None;
    let r = apply(args, ctx, &mut diff, &mut seen).await;
    let r = path_info(ctx, r, seen).await;
    match diff {
        Some(d) => d.attach(&args.path, ctx.diff, r),
        None => r,
    }
}

/// `add_path_info`, as every exit of an Ansible module adds it for its `path` (or `dest`):
/// owner, group, mode, state and size of the path itself (`lstat`). A path this run changed
/// is looked at again (one more round trip); otherwise the first probe tells (`seen`).
async fn path_info<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    r: ModuleResult,
    seen: Option<Info>,
) -> ModuleResult {
    let at = ["path", "dest"]
        .iter()
        .find_map(|k| r.data.get(*k).and_then(Value::as_str).map(str::to_owned));
    let Some(at) = at else {
        return r;
    };
    if r.changed && !r.failed && !ctx.check_mode {
        return match probe::probe(ctx, &[Probe::stat(&at)]).await {
            Ok(mut p) => p.infos.remove(0).add_path_info(r),
            Err(_) => r,
        };
    }
    match seen {
        Some(info) => info.add_path_info(r),
        None => r,
    }
}

/// The wanted state applied (or, in check mode, what would be), its diff in `fd`.
async fn apply<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
    fd: &mut Option<FileDiff>,
    seen: &mut Option<Info>,
) -> ModuleResult {
    let path = args.path.as_str();
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
    // `get_state` looks at the path itself (a link is `link`), whatever `follow` says.
    if follow_path {
        probes.push(Probe::stat(path));
    }
    let probed = match probe::probe(ctx, &probes).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let info = &probed.infos[0];
    let own = if follow_path {
        probed.infos.last().unwrap_or(info)
    } else {
        info
    };
    let before_state = current_state(own);
    *seen = Some(own.clone());
    // `additional_parameter_handling`: the state the path is in, else `directory` with
    // `recurse`, else `file`.
    let state = args.state.unwrap_or(match before_state {
        "link" => FileState::Link,
        "hard" => FileState::Hard,
        "directory" => FileState::Directory,
        "absent" if args.recurse => FileState::Directory,
        _ => FileState::File,
    });
    if args.src.is_some() && !matches!(state, FileState::Link | FileState::Hard) {
        return ModuleResult::fail("src option requires state to be 'link' or 'hard'")
            .with("path", path.to_owned());
    }
    // `execute_touch`, `ensure_symlink` and `ensure_hardlink` name the path `dest`.
    let key = match state {
        FileState::Touch | FileState::Link | FileState::Hard => "dest",
        _ => "path",
    };
    // `add_path_info`: the state the path is in once the module is done (a failure or a check
    // leaves it as it was; a touched file is a `file`).
    let after = match state {
        FileState::Touch | FileState::File if before_state == "absent" => "file",
        FileState::Touch | FileState::File => before_state,
        FileState::Link => "link",
        FileState::Hard => "hard",
        FileState::Directory => "directory",
        FileState::Absent => "absent",
    };
    let base = |r: ModuleResult| {
        let now = if r.failed || (ctx.check_mode && r.changed) {
            before_state
        } else {
            after
        };
        r.with(key, path.to_owned()).with("state", now)
    };
    if state != FileState::Absent || info.exists {
        *fd = Some(FileDiff::initial(path, state.name(), before_state));
    }
    match state {
        FileState::Absent => {
            if !info.exists {
                return base(ModuleResult::ok());
            }
            let r = ModuleResult::changed();
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
            attributes(args, ctx, info, false, ModuleResult::ok(), "", fd)
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
                let r = ModuleResult::changed();
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
                return attributes(&a, ctx, &fresh, true, r, &mkdir, fd)
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
            attributes(args, ctx, info, true, r, "", fd)
                .await
                .map_or_else(|e| e, base)
        }
        FileState::Touch => touch(args, ctx, info, fd).await.map_or_else(|e| e, base),
        FileState::Link | FileState::Hard => {
            let hard = state == FileState::Hard;
            // No `src`: an existing link (or hard link) is kept as it is; for anything else it is
            // Ansible's error.
            let src = match (&args.src, &own.link_target) {
                (Some(s), _) => s.clone(),
                (None, Some(target)) if !hard && own.is_link() => target.clone(),
                (None, _) if hard && before_state == "hard" => path.to_owned(),
                (None, _) => {
                    let kind = if hard { "hardlinks" } else { "symlinks" };
                    return ModuleResult::fail(format!("src is required for creating new {kind}"));
                }
            };
            let src_info = match &link_src {
                Some(_) => probed.infos.get(1).cloned().unwrap_or_default(),
                None => Info::default(),
            };
            let same = if args.src.is_none() {
                true
            } else if hard {
                own.exists
                    && src_info.exists
                    && own.inode == src_info.inode
                    && own.dev == src_info.dev
            } else {
                own.is_link() && own.link_target.as_deref() == Some(src.as_str())
            };
            // The `src` given (`None` when the link was kept without one).
            let base = |r: ModuleResult| base(r).with("src", json!(args.src));
            if !same && hard && !src_info.exists {
                return base(ModuleResult::fail(format!("src does not exist: {src}")));
            }
            if !same && !hard && !src_info.exists && !args.force {
                return base(ModuleResult::fail(format!(
                    "src file does not exist, use \"force=yes\" if you really want to create the link: {}",
                    link_src.clone().unwrap_or_default()
                )));
            }
            let replaceable = !own.exists || own.is_link() || args.force;
            if !same && !replaceable {
                let kind = if hard { "hard link" } else { "symlink" };
                return base(ModuleResult::fail(format!(
                    "refusing to convert from {before_state} to {kind} for {path}"
                )));
            }
            // ensure_symlink/ensure_hardlink: a link pointing elsewhere shows both targets.
            if let (false, Some(old), Some(d)) = (same, &own.link_target, fd.as_mut())
                && own.is_link()
            {
                d.set("src", json!(old), json!(src));
            }
            let r = if same {
                ModuleResult::ok()
            } else {
                ModuleResult::changed()
            };
            let q = qpath(path);
            let mut made = String::new();
            if !same {
                // Ansible returns here in check mode when the path does not exist yet.
                if ctx.check_mode {
                    return base(r);
                }
                if own.is_dir() {
                    made.push_str(&format!("rmdir {q} || exit 1\n"));
                }
                if hard {
                    made.push_str(&format!("ln -f {} {q} || exit 1\n", qpath(&src)));
                } else {
                    made.push_str(&format!("rm -f {q}; ln -s {} {q} || exit 1\n", quote(&src)));
                }
            }
            // Then the file arguments (`load_file_common_arguments`): a hard link's inode; a
            // followed symlink's target; else the symlink itself.
            let done = if hard {
                let now = if same { own } else { &src_info };
                attributes(args, ctx, now, false, r, &made, fd).await
            } else if args.follow {
                let target = match &link_src {
                    Some(abs) => Some((abs.clone(), &src_info)),
                    // No `src`: the link kept, `info` is its target followed.
                    None => Some((path.to_owned(), info)),
                };
                match target {
                    Some((abs, t)) if t.exists => {
                        let mut a = args.clone();
                        a.path = abs;
                        attributes(&a, ctx, t, t.is_dir(), r, &made, fd).await
                    }
                    _ => {
                        let mut r = r;
                        r.warnings.push(
                            "Cannot set fs attributes on a non-existent symlink target. follow \
                             should be set to False to avoid this."
                                .to_owned(),
                        );
                        run_made(ctx, &made, r).await
                    }
                }
            } else {
                let fresh = Info {
                    exists: true,
                    kind: Some(probe::Kind::Link),
                    mode: 0o777,
                    ..Info::default()
                };
                let now = if same { own } else { &fresh };
                attributes(args, ctx, now, false, r, &made, fd).await
            };
            done.map_or_else(|e| e, base)
        }
    }
}

/// Runs `made` (the lines that make the path) and gives `r`, or the failure.
async fn run_made<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    made: &str,
    r: ModuleResult,
) -> Result<ModuleResult, ModuleResult> {
    if made.is_empty() {
        return Ok(r);
    }
    let out = call(ctx, made, None, None).await?;
    if out.rc != Some(0) {
        return Err(ModuleResult::fail(format!(
            "error while linking: {}",
            out.stderr_text()
        )));
    }
    Ok(r)
}

/// The apply script's exit code when `chattr` fails.
const CHATTR_FAILED: i32 = 97;

/// Mode/owner/group/attributes of a path (on top of `r`, which may already say changed), in one round
/// trip after `prefix` (shell lines that create the path, if any).
#[allow(clippy::too_many_arguments)]
async fn attributes<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
    info: &Info,
    is_dir: bool,
    mut r: ModuleResult,
    prefix: &str,
    fd: &mut Option<FileDiff>,
) -> Result<ModuleResult, ModuleResult> {
    let current = (info.mode != u32::MAX).then_some(info.mode);
    let mode = match &args.mode {
        Some(m) => Some(
            m.resolve(current, is_dir)
                .map_err(|e| ModuleResult::fail(format!("bad mode: {e}")))?,
        ),
        None => None,
    };
    // A symlink's own mode cannot change on Linux: Ansible's `set_mode_if_different` chmods
    // (which follows the link), puts the target's mode back, and sees the link's mode unchanged
    // (a change only in check mode, where it stops before trying).
    let is_link = info.is_link();
    let mode_diff = mode.is_some_and(|m| Some(m) != current);
    let mode_changes = mode_diff && (!is_link || ctx.check_mode);
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
    // `touch` sets its own times; the other states keep them unless asked.
    let times = if args.state == Some(FileState::Touch) {
        Vec::new()
    } else {
        time_changes(args, ctx, info).await?
    };
    if prefix.is_empty()
        && !(mode_changes || owner_diff || recursed || chattr.is_some() || !times.is_empty())
    {
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
    if let Some(d) = fd.as_mut() {
        // As basic.py's setters add them: owner, group, mode, attributes. The owner and group
        // after are as written (Ansible: the uid and gid they name).
        let owner = probe::wanted_other(args.owner.as_deref(), &info.owner, info.uid);
        let group = probe::wanted_other(args.group.as_deref(), &info.group, info.gid);
        for (key, wanted, id) in [("owner", owner, info.uid), ("group", group, info.gid)] {
            if let Some(w) = wanted {
                let after = w.parse::<u64>().map_or(json!(w), |n| json!(n));
                d.set(key, json!(id), after);
            }
        }
        if mode_diff {
            d.set(
                "mode",
                json!(current.map(|m| format!("0{m:03o}"))),
                json!(mode.map(|m| format!("0{m:03o}"))),
            );
        }
        if let Some(c) = &chattr {
            let (b, a) = super::file_attrs::diff_entries(info, c);
            d.set("attributes", b, a);
        }
        for t in &times {
            d.set(t.key, json!(t.before), t.after.clone());
        }
    }
    if ctx.check_mode {
        return Ok(r);
    }
    let q = qpath(&args.path);
    let rec = if args.recurse {
        "-R "
    } else if is_link {
        "-h "
    } else {
        ""
    };
    let mut s = prefix.to_owned();
    if let Some(m) = mode.filter(|_| !is_link) {
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
    for t in &times {
        match &t.stamp {
            Some(stamp) => s.push_str(&format!(
                "touch {} -t {} {q} || exit 1\n",
                t.flag,
                quote(stamp)
            )),
            None => s.push_str(&format!("touch {} {q} || exit 1\n", t.flag)),
        }
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

/// A time `update_timestamp_for_file` changes: `touch` flag, diff key, the stamp (`None`:
/// now), the time before and after.
struct TimeChange {
    flag: &'static str,
    key: &'static str,
    stamp: Option<String>,
    before: i64,
    after: Value,
}

/// The times `modification_time`/`access_time` change on a path that is not being touched
/// (modules/file.py `update_timestamp_for_file`; unset is `preserve` there): `now` always
/// changes, a stamp only when the time differs. The stamps are read as the host's local time
/// by `touch -t` on a scratch file (one round trip, only when there are any).
async fn time_changes<R: Remote>(
    args: &FileArgs,
    ctx: &ModuleContext<'_, R>,
    info: &Info,
) -> Result<Vec<TimeChange>, ModuleResult> {
    let asked = [
        ("-m", "mtime", args.modification_time.as_deref(), info.mtime),
        ("-a", "atime", args.access_time.as_deref(), info.atime),
    ];
    let stamps: Vec<&str> = asked
        .iter()
        .filter_map(|(_, _, t, _)| t.filter(|t| !matches!(*t, "now" | "preserve")))
        .collect();
    let mut epochs = Vec::new();
    if !stamps.is_empty() {
        let mut script = String::from("t=$(mktemp) || exit 1\n");
        for stamp in &stamps {
            script.push_str(&format!(
                "touch -m -t {} \"$t\" && _cf_m=$(stat -c %Y \"$t\" 2>/dev/null || stat -f %m \"$t\") && echo \"$_cf_m\" || echo x\n",
                quote(stamp)
            ));
        }
        script.push_str("rm -f \"$t\"\n");
        let out = call(ctx, &script, None, None).await?;
        epochs = out
            .stdout_text()
            .lines()
            .map(|l| l.trim().parse::<i64>().ok())
            .collect();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut changes = Vec::new();
    let mut next = epochs.into_iter();
    for (flag, key, wanted, before) in asked {
        match wanted {
            None | Some("preserve") => {}
            Some("now") => changes.push(TimeChange {
                flag,
                key,
                stamp: None,
                before,
                after: json!(now),
            }),
            Some(stamp) => {
                let Some(Some(epoch)) = next.next() else {
                    return Err(ModuleResult::fail(format!(
                        "Error while obtaining timestamp for time {stamp} using format %Y%m%d%H%M.%S"
                    )));
                };
                if epoch != before {
                    changes.push(TimeChange {
                        flag,
                        key,
                        stamp: Some(stamp.to_owned()),
                        before,
                        after: json!(epoch as f64),
                    });
                }
            }
        }
    }
    Ok(changes)
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
    fd: &mut Option<FileDiff>,
) -> Result<ModuleResult, ModuleResult> {
    let mtime = args.modification_time.as_deref().unwrap_or("now");
    let atime = args.access_time.as_deref().unwrap_or("now");
    let preserve = mtime == "preserve" && atime == "preserve";
    let q = qpath(&args.path);
    let r = if !info.exists || !preserve {
        ModuleResult::changed()
    } else {
        ModuleResult::ok()
    };
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
    attributes(args, ctx, info, false, r, &prefix, fd).await
}

//! `unarchive`: ansible-core 2.19.14's action plugin (plugins/action/unarchive.py: `creates`,
//! dest an existing directory, the controller's archive sent to the host) and module
//! (modules/unarchive.py: its handlers `ZipArchive`, `ZipZArchive`, `TgzArchive`,
//! `TarArchive`, `TarBzipArchive`, `TarXzArchive`, `TarZstdArchive` tried in that order,
//! `is_unarchived`, the extraction, `mode`/`owner`/`group` on the extracted paths,
//! `list_files`), with their results and messages.
//!
//! Round trips: 1 look ([`super::unarchive_host::query_script`]: the archive travels on its
//! stdin, once; the handlers are tried and the chosen one's check material gathered), then,
//! outside check mode and only when something is to be done (extract, set attributes, or
//! remove the archive sent), 1 apply ([`super::unarchive_host::apply_script`]). With
//! `creates` and a controller archive that cannot be found, 1 trip asks for `creates` first.
//! The decisions are the module's ([`super::unarchive_check`]), made on the controller.

use serde_json::{Value, json};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::copy::read_source_as;
use super::fetch_file::{self, mask_url};
use super::find_walk::Lstat;
use super::probe::{self, call, nonce, qpath};
use super::remote::Remote;
use super::result::ModuleResult;
use super::unarchive_attrs::{FileMode, loop_script};
use super::unarchive_check::{
    Asked, Id, Present, ZipHost, tar_files, tar_unarchived, zip_crcs, zip_files, zip_unarchived,
};
use super::unarchive_host::{
    Apply, Query, Records, Source, TAR_HANDLERS, TarOpts, apply_script, literal, query_script,
    tar_args,
};

/// Arguments of `unarchive`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnarchiveArgs {
    pub src: String,
    pub dest: String,
    /// The archive is on the host (`copy: false` says so too).
    pub remote_src: bool,
    pub creates: Option<String>,
    pub list_files: bool,
    pub keep_newer: bool,
    pub exclude: Vec<String>,
    pub include: Vec<String>,
    pub extra_opts: Vec<String>,
    /// For a URL `src` with `remote_src`.
    pub validate_certs: bool,
    /// Read the controller's archive decrypted when it is vault-encrypted (the default).
    pub decrypt: bool,
    pub mode: Option<FileMode>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("src", &[]),
    ("dest", &[]),
    ("remote_src", &[]),
    ("copy", &[]),
    ("creates", &[]),
    ("list_files", &[]),
    ("keep_newer", &[]),
    ("exclude", &[]),
    ("include", &[]),
    ("extra_opts", &[]),
    ("validate_certs", &[]),
    ("io_buffer_size", &[]),
    ("decrypt", &[]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("unsafe_writes", &[]),
];

impl UnarchiveArgs {
    /// Parses and checks the arguments; the action's checks fail the task when it runs, in
    /// its words.
    pub fn parse(v: &Value) -> Result<UnarchiveArgs, ArgError> {
        let mut a = Args::new("unarchive", KEYS, v)?;
        let run_time = |m: &str| ArgError::at_run_time(None, m);
        if a.has("copy") && a.has("remote_src") {
            return Err(run_time(
                "parameters are mutually exclusive: ('copy', 'remote_src')",
            ));
        }
        let remote_src = match a.has("copy") {
            true => !a.bool("copy", true)?,
            false => a.bool("remote_src", false)?,
        };
        let (src, dest) = (a.str("src")?, a.str("dest")?);
        let (Some(src), Some(dest)) = (src, dest) else {
            return Err(run_time("src (or content) and dest are required"));
        };
        if a.has("include") && a.has("exclude") {
            return Err(run_time(
                "parameters are mutually exclusive: include|exclude",
            ));
        }
        let parsed = UnarchiveArgs {
            src,
            dest,
            remote_src,
            creates: a.str("creates")?.filter(|c| !c.is_empty()),
            list_files: a.bool("list_files", false)?,
            keep_newer: a.bool("keep_newer", false)?,
            exclude: a.list_str("exclude")?.unwrap_or_default(),
            include: a.list_str("include")?.unwrap_or_default(),
            extra_opts: a.list_str("extra_opts")?.unwrap_or_default(),
            validate_certs: a.bool("validate_certs", true)?,
            decrypt: a.bool("decrypt", true)?,
            mode: FileMode::parse(a.value("mode"))?,
            owner: a.str("owner")?.filter(|o| !o.is_empty()),
            group: a.str("group")?.filter(|g| !g.is_empty()),
        };
        a.int("io_buffer_size")?;
        a.bool("unsafe_writes", false)?;
        a.finish()?;
        Ok(parsed)
    }

    fn tar_opts(&self) -> TarOpts {
        TarOpts {
            extra_opts: self.extra_opts.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
            keep_newer: self.keep_newer,
            excludes: self
                .exclude
                .iter()
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect(),
            includes: self.include.clone(),
        }
    }
}

/// Python's `os.path.normpath`.
fn normpath(p: &str) -> String {
    let lead = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if !lead.is_empty() => {}
            c => parts.push(c),
        }
    }
    let s = format!("{lead}{}", parts.join("/"));
    if s.is_empty() { ".".into() } else { s }
}

/// Python's `os.path.join(a, b)`.
fn py_join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        b.to_owned()
    } else if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// Python's `int()` of an owner or group: its id when it is a number.
fn as_id(s: &str) -> Option<u64> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
        .then(|| t.replace('_', "").parse().ok())
        .flatten()
}

/// The controller's archive ([`super::copy::read_source_as`], as `copy` and `script` read
/// theirs), or the failure: the action's, after `creates`.
async fn controller_archive<R: Remote>(
    args: &UnarchiveArgs,
    ctx: &ModuleContext<'_, R>,
) -> Result<Vec<u8>, ModuleResult> {
    let read = match args.src.contains("://") {
        true => Err(ModuleResult::fail(format!(
            "Unsupported option, an URI src ({}) is only supported when remote_src is True",
            mask_url(&args.src)
        ))),
        false => read_source_as(ctx, &args.src, "files", args.decrypt).await,
    };
    match read {
        Ok((bytes, _)) => Ok(bytes),
        Err(failure) => {
            // The action looks at `creates` first.
            if let Some(c) = &args.creates {
                let out = call(ctx, &format!("[ -e {} ]", qpath(c)), None, None).await?;
                if out.rc == Some(0) {
                    return Err(ModuleResult::action_skip(format!(
                        "skipped, since {c} exists"
                    )));
                }
            }
            Err(failure)
        }
    }
}

/// Runs `unarchive`.
pub async fn run<R: Remote>(args: &UnarchiveArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let n = match nonce() {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let url = args.remote_src && args.src.contains("://");
    let (source, stdin) = if !args.remote_src {
        match controller_archive(args, ctx).await {
            Ok(bytes) => (Source::Upload, Some(bytes)),
            Err(r) => return r,
        }
    } else if url {
        let (prefix, ext) = fetch_file::split_multiext(&args.src);
        let sep = format!("--clearfleet-{n}--");
        let configs = fetch_file::configs(&args.src, args.validate_certs, &sep);
        (Source::Url { prefix, ext, sep }, Some(configs.into_bytes()))
    } else {
        (Source::Remote(args.src.clone()), None)
    };
    let keep = !ctx.check_mode && (!args.remote_src || url);
    let q = Query {
        nonce: n.clone(),
        creates: args.creates.clone(),
        dest: args.dest.clone(),
        source,
        check_mode: ctx.check_mode,
        tar: args.tar_opts(),
        zip_excludes: args.exclude.clone(),
        zip_includes: args.include.clone(),
        owner: args.owner.clone(),
        group: args.group.clone(),
        keep,
    };
    let out = match call(ctx, &query_script(&q), stdin, None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let recs = match Records::parse(&out.stdout, &n) {
        Ok(r) => r,
        Err(e) => return ModuleResult::fail(format!("unarchive: {e}")),
    };
    match recs.early.as_deref() {
        Some("creates") => {
            let c = args.creates.clone().unwrap_or_default();
            return ModuleResult::action_skip(format!("skipped, since {c} exists"));
        }
        Some("nodest") => {
            return ModuleResult::fail(format!("dest '{}' must be an existing dir", args.dest));
        }
        _ => {}
    }
    let Some(pwd) = recs.value("pwd") else {
        return ModuleResult::fail(format!(
            "unarchive could not look at the host (rc={:?}): {}",
            out.rc,
            out.stderr_text()
        ));
    };
    let mut warnings = Vec::new();
    let abs_dest = normpath(&py_join(&pwd, &args.dest));
    if !args.dest.starts_with('/') {
        warnings.push(format!(
            "Relative destination path '{}' was resolved to absolute path '{abs_dest}'.",
            args.dest
        ));
    }
    let mut r = Looked {
        args,
        nonce: n,
        recs: &recs,
        abs_dest,
        query_dir: recs.value("w"),
        keep,
    }
    .decide(ctx)
    .await;
    r.warnings.splice(0..0, warnings);
    r
}

/// The look's records, and what follows from them.
struct Looked<'a> {
    args: &'a UnarchiveArgs,
    nonce: String,
    recs: &'a Records,
    abs_dest: String,
    query_dir: Option<String>,
    keep: bool,
}

/// The chosen handler's check.
struct Checked {
    handler: &'static str,
    /// The tar program or unzip, as found.
    program: String,
    /// The tar handler's compression option (`None` for zip).
    flag: Option<&'static str>,
    tar: bool,
    files: Vec<String>,
    unarchived: bool,
    diff: String,
    /// The zip handler's excludes with the files `keep_newer` keeps.
    excludes: Vec<String>,
}

impl Looked<'_> {
    fn early_failure(&self) -> Option<ModuleResult> {
        let recs = self.recs;
        let args = self.args;
        if recs.get("nosrc").is_some() {
            return Some(ModuleResult::fail(match args.remote_src {
                false => format!(
                    "Source '{}/source' failed to transfer",
                    self.query_dir.clone().unwrap_or_default()
                ),
                true => format!("Source '{}' does not exist", args.src),
            }));
        }
        if let Some(d) = recs.get("download") {
            return Some(ModuleResult::fail(format!(
                "Failure downloading {}, {}",
                mask_url(&args.src),
                d.err_text().trim()
            )));
        }
        if let Some(s) = recs.value("unreadable") {
            return Some(ModuleResult::fail(format!("Source '{s}' not readable")));
        }
        let src = recs.value("src").unwrap_or_default();
        if recs.get("empty").is_some() {
            return Some(ModuleResult::fail(format!(
                "Invalid archive '{src}', the file is 0 bytes"
            )));
        }
        if recs.get("notdir").is_some() {
            return Some(ModuleResult::fail(format!(
                "Destination '{}' is not a directory",
                args.dest
            )));
        }
        if recs.get("checkskip").is_some() {
            return Some(ModuleResult::skipped_check(
                "remote module (ansible.legacy.unarchive) does not support check mode when using gtar",
            ));
        }
        None
    }

    /// `pick_handler`'s failure: every handler's reason, each once.
    fn no_handler(&self) -> ModuleResult {
        let recs = self.recs;
        let src = recs.value("src").unwrap_or_default();
        let uz = recs.value("unzip").unwrap_or_default();
        let zi = recs.value("zipinfo").unwrap_or_default();
        let mut reasons: Vec<String> = Vec::new();
        let mut add = |r: String| {
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        };
        let unzip_l = recs.get("unzip-l");
        let unzip_failed = |u: &str| {
            format!(
                "Command \"{u}\" could not handle archive: {}",
                unzip_l.map(|r| r.err_text()).unwrap_or_default()
            )
        };
        // ZipArchive, then ZipZArchive.
        let missing: Vec<&str> = [("unzip", &uz), ("zipinfo", &zi)]
            .iter()
            .filter(|(_, p)| p.is_empty())
            .map(|(b, _)| *b)
            .collect();
        if !missing.is_empty() {
            add(format!(
                "Unable to find required '{}' binary in the path.",
                missing.join("' or '")
            ));
        } else {
            add(unzip_failed(&uz));
        }
        if uz.is_empty() {
            add("Unable to find required 'unzip' or 'unzip' binary in the path.".into());
        } else if unzip_l.is_some_and(|r| r.rc != 0) {
            add(unzip_failed(&uz));
        } else {
            add(format!(
                "Command \"unzip -Z\" could not handle archive: {}",
                recs.get("unzip-Z")
                    .map(|r| r.err_text())
                    .unwrap_or_default()
            ));
        }
        let tar = recs.value("tar").unwrap_or_default();
        for (i, _) in TAR_HANDLERS.iter().enumerate() {
            if tar.is_empty() {
                add("Unable to find required 'gtar' or 'tar' binary in the path".into());
                continue;
            }
            let Some(list) = recs.get(&format!("list{i}")) else {
                let version = recs.value("tarv").unwrap_or_default();
                let kind = if version.starts_with("bsdtar") {
                    "bsd"
                } else {
                    "None"
                };
                add(format!(
                    "Command \"{tar}\" detected as tar type {kind}. GNU tar required."
                ));
                continue;
            };
            if list.rc != 0 {
                add(format!(
                    "Command \"{tar}\" could not handle archive: Unable to list files in the archive: {}",
                    list.err_text()
                ));
            } else {
                add(format!(
                    "Command \"{tar}\" found no files in archive. Empty archive files are not supported."
                ));
            }
        }
        ModuleResult::fail(format!(
            "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed.\n{}",
            reasons.join("\n")
        ))
    }

    /// Who runs and who the files are to belong to, from the `ids`, `passwd` and `group`
    /// records.
    fn host_ids(&self) -> (ZipHost, Option<String>, Option<String>) {
        let ids = self.recs.value("ids").unwrap_or_default();
        let l: Vec<&str> = ids.lines().collect();
        let get = |i: usize| l.get(i).copied().unwrap_or_default();
        let named = |name: &str, id: u64| Id {
            name: (!name.is_empty()).then(|| name.to_owned()),
            id,
        };
        let run_user = named(get(4), get(2).trim().parse().unwrap_or(0));
        let run_group = named(get(5), get(3).trim().parse().unwrap_or(0));
        // A database line: `name:x:id:...`.
        let entry = |db: &str| {
            self.recs.value(db).and_then(|line| {
                let f: Vec<&str> = line.trim_end().split(':').collect();
                Some((f.first()?.to_string(), f.get(2)?.parse::<u64>().ok()?))
            })
        };
        let fut = |given: &Option<String>, db: &str, run: &Id| match given {
            Some(_) => entry(db).map_or_else(|| run.clone(), |(name, id)| named(&name, id)),
            None => run.clone(),
        };
        let host = ZipHost {
            umask: u32::from_str_radix(get(0).trim(), 8).unwrap_or(0o022),
            bsd: get(1).to_ascii_lowercase().contains("bsd"),
            groups: get(6)
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect(),
            fut_user: fut(&self.args.owner, "passwd", &run_user),
            fut_group: fut(&self.args.group, "group", &run_group),
            run_user,
            run_group,
            ..ZipHost::default()
        };
        // What `set_owner_if_different`/`set_group_if_different` chown to: a number as it
        // is, else the name's id (`None`: unknown).
        let want = |given: &Option<String>, db: &str| {
            given.as_ref().and_then(|g| {
                as_id(g)
                    .or_else(|| entry(db).filter(|(name, _)| name == g).map(|(_, id)| id))
                    .map(|id| id.to_string())
            })
        };
        let wu = want(&self.args.owner, "passwd");
        let wg = want(&self.args.group, "group");
        (host, wu, wg)
    }

    /// The chosen handler's `files_in_archive` and `is_unarchived`.
    fn check(&self, handler: &str, host: &ZipHost) -> Result<Checked, Box<ModuleResult>> {
        let recs = self.recs;
        let args = self.args;
        if let Some(i) = handler
            .strip_prefix("tar")
            .and_then(|i| i.parse::<usize>().ok())
        {
            let (name, flag) = TAR_HANDLERS.get(i).copied().unwrap_or(TAR_HANDLERS[0]);
            let list = recs.get(&format!("list{i}")).cloned().unwrap_or_default();
            let diff = recs.get("diff").cloned().unwrap_or_default();
            let asked = Asked {
                owner: args.owner.is_some(),
                group: args.group.is_some(),
                mode: args.mode.is_some(),
            };
            return Ok(Checked {
                handler: name,
                program: recs.value("tar").unwrap_or_default(),
                flag,
                tar: true,
                files: tar_files(&list.out, &args.exclude),
                unarchived: tar_unarchived(
                    &diff.out_text(),
                    &diff.err_text(),
                    host.run_user.id == 0,
                    asked,
                ),
                diff: String::new(),
                excludes: Vec::new(),
            });
        }
        let mut zh = host.clone();
        let info = recs.get("zipinfo").cloned().unwrap_or_default();
        zh.rc = info.rc;
        zh.listing = info.out_text();
        zh.stamps = recs
            .value("stamps")
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim().parse().ok())
            .collect();
        zh.crcs = zip_crcs(&recs.value("crcs").unwrap_or_default());
        let present = recs
            .get("present")
            .map(|r| r.out.clone())
            .unwrap_or_default();
        let fields: Vec<String> = present
            .split(|&b| b == 0)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        for rec in fields.chunks(3) {
            let [name, st, crc] = rec else { continue };
            let Some(name) = name.strip_prefix('R') else {
                continue;
            };
            let Some(st) = lstat(st) else { continue };
            let bytes: Vec<u32> = crc
                .split_whitespace()
                .filter_map(|b| b.parse().ok())
                .collect();
            let crc = (bytes.len() >= 4)
                .then(|| bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24);
            zh.present.insert(name.to_owned(), Present { st, crc });
        }
        let verdict = zip_unarchived(&zh, args.mode.as_ref(), args.keep_newer, &args.exclude)
            .map_err(|f| {
                let r = ModuleResult::fail(f.msg);
                Box::new(match f.path {
                    Some(p) => r.with("path", p),
                    None => r,
                })
            })?;
        Ok(Checked {
            handler: if handler == "zip" {
                "ZipArchive"
            } else {
                "ZipZArchive"
            },
            program: recs.value("unzip").unwrap_or_default(),
            flag: None,
            tar: false,
            files: zip_files(
                &recs.value("names").unwrap_or_default(),
                &args.include,
                &args.exclude,
            ),
            unarchived: verdict.unarchived,
            diff: verdict.diff,
            excludes: verdict.excludes,
        })
    }

    async fn decide<R: Remote>(&self, ctx: &ModuleContext<'_, R>) -> ModuleResult {
        if let Some(r) = self.early_failure() {
            return r;
        }
        let recs = self.recs;
        let args = self.args;
        let Some(handler) = recs.value("handler") else {
            return self.no_handler();
        };
        let src = recs.value("src").unwrap_or_default();
        let (host, wu, wg) = self.host_ids();
        let checked = match self.check(&handler, &host) {
            Ok(c) => c,
            Err(r) => {
                self.cleanup(ctx).await;
                return *r;
            }
        };
        let base = ModuleResult::ok()
            .with("handler", checked.handler)
            .with("dest", args.dest.clone())
            .with("src", src.clone());
        let finish = |mut r: ModuleResult, dst: Option<String>| {
            if !checked.diff.is_empty() {
                r = r.with("diff", json!({ "prepared": checked.diff }));
            }
            if args.list_files {
                r = r.with("files", checked.files.clone());
            }
            path_info(r, dst)
        };
        if ctx.check_mode {
            let mut r = base;
            r.changed = !checked.unarchived;
            return finish(r, recs.value("dst"));
        }
        let attrs = args.mode.is_some() || args.owner.is_some() || args.group.is_some();
        if checked.unarchived && !attrs && !self.keep {
            return finish(base, recs.value("dst"));
        }
        let extract = (!checked.unarchived).then(|| self.extract_cmd(&checked, &src));
        let mut paths: Vec<String> = checked
            .files
            .iter()
            .map(|f| py_join(&self.abs_dest, f))
            .collect();
        let mut tops: Vec<&str> = Vec::new();
        for f in &checked.files {
            if let Some((top, _)) = f.split_once('/')
                && !tops.contains(&top)
            {
                tops.push(top);
            }
        }
        paths.extend(tops.iter().map(|t| format!("{}/{t}", args.dest)));
        let mode_code = args.mode.as_ref().map(FileMode::shell);
        let a = Apply {
            nonce: self.nonce.clone(),
            dest: args.dest.clone(),
            abs_dest: self.abs_dest.clone(),
            query_dir: self.keep.then(|| self.query_dir.clone()).flatten(),
            extract: extract.clone().map(|c| (c, checked.tar)),
            loc: recs.value("loc").unwrap_or_else(|| "C".into()),
            attrs: attrs.then(|| {
                (
                    loop_script(
                        args.owner.as_ref().map(|_| wu.is_some()),
                        args.group.as_ref().map(|_| wg.is_some()),
                        mode_code.as_ref(),
                    ),
                    wu.clone(),
                    wg.clone(),
                )
            }),
        };
        let stdin = attrs.then(|| {
            paths
                .iter()
                .map(|p| format!("{p}\n"))
                .collect::<String>()
                .into_bytes()
        });
        let out = match call(ctx, &apply_script(&a), stdin, None).await {
            Ok(o) => o,
            Err(r) => return r,
        };
        let done = match Records::parse(&out.stdout, &a.nonce) {
            Ok(d) => d,
            Err(e) => return ModuleResult::fail(format!("unarchive: {e}")),
        };
        let dst = done.value("dst");
        let mut r = base;
        if let (Some(cmd), Some(x)) = (&extract, done.get("extract")) {
            r = r.with(
                "extract_results",
                json!({"cmd": cmd, "rc": x.rc, "out": x.out_text(), "err": x.err_text()}),
            );
            if x.rc != 0 {
                let failed = ModuleResult {
                    failed: true,
                    msg: Some(format!("failed to unpack {src} to {}", args.dest)),
                    ..r
                };
                return path_info(failed, dst);
            }
            r.changed = true;
        } else if extract.is_some() {
            return ModuleResult::fail(format!(
                "unarchive could not extract on the host (rc={:?}): {}",
                out.rc,
                out.stderr_text()
            ));
        }
        if attrs {
            let text = done.value("attrs").unwrap_or_default();
            let mut lines = text.lines();
            while let Some(l) = lines.next() {
                if l == "C" {
                    r.changed = true;
                    continue;
                }
                let path = lines.next().unwrap_or_default().to_owned();
                let st = lines.next().map(str::to_owned);
                let rest: Vec<&str> = lines.by_ref().collect();
                let at_path = |msg: String| {
                    path_info(
                        ModuleResult::fail(msg).with("path", path.clone()),
                        st.clone(),
                    )
                };
                return match l {
                    "F" => {
                        let mut failed = finish(r, dst);
                        failed.failed = true;
                        failed.msg = Some("Unexpected error when accessing exploded file.".into());
                        failed
                    }
                    "U" => at_path(format!(
                        "chown failed: failed to look up user {}",
                        args.owner.clone().unwrap_or_default()
                    )),
                    "V" => at_path(format!(
                        "chgrp failed: failed to look up group {}",
                        args.group.clone().unwrap_or_default()
                    )),
                    "O" => at_path("chown failed".into()).with("details", rest.join("\n")),
                    "G" => at_path("chgrp failed".into()).with("details", rest.join("\n")),
                    "M" => at_path("chmod failed".into()).with("details", rest.join("\n")),
                    _ => at_path("mode must be in octal or symbolic form".into()).with(
                        "details",
                        match &mode_code {
                            Some(Err(e)) => e.clone(),
                            _ => String::new(),
                        },
                    ),
                };
            }
        }
        finish(r, dst)
    }

    /// The handler's `unarchive()` command.
    fn extract_cmd(&self, c: &Checked, src: &str) -> Vec<String> {
        let args = self.args;
        if c.tar {
            let mut cmd = vec![c.program.clone()];
            cmd.extend(literal(
                &tar_args("--extract", c.flag, &args.tar_opts()),
                &self.abs_dest,
                src,
            ));
            return cmd;
        }
        let mut cmd = vec![c.program.clone(), "-o".to_owned()];
        cmd.extend(args.extra_opts.iter().cloned());
        cmd.push(src.to_owned());
        if !c.excludes.is_empty() {
            cmd.push("-x".into());
            cmd.extend(c.excludes.iter().cloned());
        }
        cmd.extend(args.include.iter().cloned());
        cmd.push("-d".into());
        cmd.push(self.abs_dest.clone());
        cmd
    }

    /// Removes the look's temporary directory when the module stops before the apply.
    async fn cleanup<R: Remote>(&self, ctx: &ModuleContext<'_, R>) {
        if let (true, Some(w)) = (self.keep, &self.query_dir) {
            let _ = call(ctx, &format!("rm -rf {}", qpath(w)), None, None).await;
        }
    }
}

/// An `_cf_stat` line with the `|` the record format ends with.
fn lstat(st: &str) -> Option<Lstat> {
    super::find_walk::stat_record(st).map(|(s, _)| s)
}

/// `add_path_info` of dest (or of the failing path) from its `_cf_stat` line.
fn path_info(r: ModuleResult, st: Option<String>) -> ModuleResult {
    match st.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(line) => match probe::stat_info(line) {
            Ok(info) => info.add_path_info(r),
            Err(_) => r,
        },
        None => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_os_path() {
        assert_eq!(normpath("/home/u/./a/../b//"), "/home/u/b");
        assert_eq!(normpath("/../x"), "/x");
        assert_eq!(py_join("/d", "a/b"), "/d/a/b");
        assert_eq!(py_join("/d/", "a"), "/d/a");
        assert_eq!(as_id("1000"), Some(1000));
        assert_eq!(as_id("root"), None);
    }

    #[test]
    fn action_checks_fail_when_the_task_runs() {
        let e = UnarchiveArgs::parse(
            &json!({"src": "a", "dest": "/d", "copy": false, "remote_src": true}),
        );
        assert!(e.is_err_and(|e| e.at_run_time && e.message.contains("('copy', 'remote_src')")));
        let e = UnarchiveArgs::parse(&json!({"src": "a"}));
        assert!(e.is_err_and(|e| e.message == "src (or content) and dest are required"));
        let a = UnarchiveArgs::parse(&json!({"src": "a", "dest": "/d", "copy": "no"}));
        assert!(a.is_ok_and(|a| a.remote_src));
    }
}

//! `copy`: put bytes (inline `content` or a controller file) at a remote path, only if they
//! differ; also the engine of `template`, which is copy with rendered content.
//!
//! Round trips: 1 to learn the state (stat + sha1 of dest, plus its content when `--diff`),
//! then, only when needed and not in check mode, 1 to write (content on stdin into a temporary
//! file beside dest, validate, chmod/chown, backup, `mv`), or 1 `chmod`/`chown` when only
//! attributes differ.

use std::path::Path;

use serde_json::Value;

use super::args::{ArgError, Args, Key, Mode, check_validate};
use super::context::ModuleContext;
use super::probe::{
    self, Content, Info, PRELUDE, Probe, Write, call, diff_text, owner_differs, qpath, sha1_hex,
};
use super::remote::Remote;
use super::result::{Diff, ModuleResult};

/// Arguments of `copy`.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyArgs {
    pub content: Option<String>,
    /// A controller-side file (relative: `files/`, then the playbook dir).
    pub src: Option<String>,
    pub dest: String,
    pub file: FileParams,
    /// Write through a symlink at dest instead of replacing it.
    pub follow: bool,
    /// `src` is a path on the host (copied there by the module, not the action).
    pub remote_src: bool,
    /// Follow symlinks of the source (the action's default: `true`; the module's: unset).
    pub local_follow: Option<bool>,
    /// The mode of directories a recursive copy creates.
    pub directory_mode: Option<Mode>,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("content", &[]),
    ("src", &[]),
    ("dest", &["path"]),
    ("mode", &[]),
    ("owner", &[]),
    ("group", &[]),
    ("backup", &[]),
    ("force", &["thirsty"]),
    ("validate", &[]),
    ("remote_src", &[]),
    ("follow", &[]),
    ("local_follow", &[]),
    ("directory_mode", &[]),
    ("unsafe_writes", &[]),
    ("decrypt", &[]),
    ("_original_basename", &[]),
    ("_diff_peek", &[]),
];

/// The whole-file write options shared by `copy` and `template`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileParams {
    pub mode: Option<Mode>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub backup: bool,
    /// `false`: never replace an existing dest.
    pub force: bool,
    /// A command with `%s` (the temporary file) that must succeed before the file is moved in.
    pub validate: Option<String>,
}

impl FileParams {
    /// Takes the shared keys (`mode`, `owner`, `group`, `backup`, `force`, `validate`).
    pub(super) fn take(a: &mut Args) -> Result<FileParams, ArgError> {
        let validate = a.str("validate")?;
        check_validate(validate.as_deref())?;
        Ok(FileParams {
            mode: a.mode("mode", true)?,
            owner: a.str("owner")?,
            group: a.str("group")?,
            backup: a.bool("backup", false)?,
            force: a.bool("force", true)?,
            validate,
        })
    }
}

impl CopyArgs {
    /// Parses and checks the arguments. The checks the action plugin makes when the task runs
    /// (plugins/action/copy.py of ansible-core 2.19.14, `ActionModule.run`) fail the task then,
    /// in its words, in its order.
    pub fn parse(v: &Value) -> Result<CopyArgs, ArgError> {
        let mut a = Args::new("copy", KEYS, v)?;
        // "ensure user is not setting internal parameters"
        for internal in ["_original_basename", "_diff_peek"] {
            if a.has(internal) {
                return Err(ArgError::at_run_time(
                    Some(internal),
                    format!("Invalid parameter specified: \"{internal}\""),
                ));
            }
        }
        let content = match a.value("content") {
            None => None,
            Some(Value::String(s)) => Some(s),
            // Ansible writes a mapping or list given as content as JSON.
            Some(other) => Some(other.to_string()),
        };
        let src = a.str("src")?;
        let dest = a.str("dest")?;
        let run_time = |m: &str| Err(ArgError::at_run_time(None, m));
        match (&src, &content, &dest) {
            (None, None, _) => return run_time("src (or content) is required"),
            (Some(s), None, _) if s.is_empty() => return run_time("src (or content) is required"),
            (_, _, None) => return run_time("dest is required"),
            (_, _, Some(d)) if d.is_empty() => return run_time("dest is required"),
            (Some(s), Some(_), _) if !s.is_empty() => {
                return run_time("src and content are mutually exclusive");
            }
            (_, Some(_), Some(d)) if d.ends_with('/') => {
                return run_time("can not use content with a dir as dest");
            }
            _ => {}
        }
        // An empty `src` beside `content` is no source (the action's `not source`).
        let src = src.filter(|s| !s.is_empty());
        let dest = dest.unwrap_or_default();
        let file = FileParams::take(&mut a)?;
        let remote_src = a.bool("remote_src", false)?;
        let follow = a.bool("follow", false)?;
        let local_follow = match a.has("local_follow") {
            true => Some(a.bool("local_follow", true)?),
            false => None,
        };
        for ignored in ["unsafe_writes", "decrypt"] {
            a.bool(ignored, false)?;
        }
        let directory_mode = a.mode("directory_mode", false)?;
        a.finish()?;
        Ok(CopyArgs {
            content,
            src,
            dest,
            file,
            follow,
            remote_src,
            local_follow,
            directory_mode,
        })
    }
}

/// Runs `copy`.
pub async fn run<R: Remote>(args: &CopyArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    if args.remote_src {
        return super::copy_remote::run(args, ctx).await;
    }
    if let (None, Some(src)) = (&args.content, &args.src)
        && let Some(path) = ctx.find_source(src, "files")
        && ctx.files.is_dir(&path)
    {
        // The action keeps the trailing slash the task gave (`src/`: the contents).
        let trailing = src.ends_with('/');
        let shown = path.display().to_string();
        let shown = format!(
            "{}{}",
            shown.trim_end_matches('/'),
            if trailing { "/" } else { "" }
        );
        return super::copy_tree::run(args, ctx, &path, trailing, shown).await;
    }
    let (bytes, src_mode, name) = match (&args.content, &args.src) {
        (Some(c), _) => (c.clone().into_bytes(), None, None),
        (None, Some(src)) => match read_source(ctx, src, "files").await {
            Ok((b, m)) => (
                b,
                m,
                Path::new(src)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned()),
            ),
            Err(r) => return r,
        },
        (None, None) => return ModuleResult::fail("copy: src (or content) is required"),
    };
    let put = Put {
        content: bytes,
        src_name: name,
        src_mode,
        dest: &args.dest,
        file: &args.file,
        follow: args.follow,
        src_arg: args.src.as_deref(),
        directory_mode: args.directory_mode.as_ref(),
    };
    put.run(ctx).await
}

/// Reads a controller file and its permission bits.
pub(super) async fn read_source<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    src: &str,
    sub: &str,
) -> Result<(Vec<u8>, Option<u32>), ModuleResult> {
    read_source_as(ctx, src, sub, true).await
}

/// [`read_source`]; a vault-encrypted file on disk is read as it is unless `decrypt`
/// (the actions' `decrypt: false`).
pub(super) async fn read_source_as<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    src: &str,
    sub: &str,
    decrypt: bool,
) -> Result<(Vec<u8>, Option<u32>), ModuleResult> {
    let path = ctx.find_source(src, sub).ok_or_else(|| {
        ModuleResult::fail(format!(
            "Could not find or access '{src}' on the controller"
        ))
    })?;
    if ctx.files.is_dir(&path) {
        return Err(ModuleResult::fail(format!(
            "'{src}' is a directory: copying directories is not supported by clearfleet"
        )));
    }
    // Off the async workers, as `tokio::fs::read` does: a source may be a large file on disk.
    let (files, at) = (ctx.files.clone(), path.clone());
    let bytes = tokio::task::spawn_blocking(move || match decrypt {
        true => files.read(&at),
        false => std::fs::read(&at).or_else(|_| files.read(&at)),
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|read| read)
    .map_err(|e| ModuleResult::fail(format!("could not read '{}': {e}", path.display())))?;
    Ok((bytes, ctx.files.mode(&path)))
}

/// One whole-file write, query then apply.
pub(super) struct Put<'a> {
    pub content: Vec<u8>,
    /// The source's file name, used when dest is a directory.
    pub src_name: Option<String>,
    /// The source's mode (for `mode: preserve`).
    pub src_mode: Option<u32>,
    pub dest: &'a str,
    pub file: &'a FileParams,
    pub follow: bool,
    /// `src` as the task gave it (copy's), the `src` of a result under `force: false`.
    pub src_arg: Option<&'a str>,
    /// The mode of the directories a `dest` ending in `/` makes (copy's `directory_mode`).
    pub directory_mode: Option<&'a Mode>,
}

impl Put<'_> {
    pub(super) async fn run<R: Remote>(&self, ctx: &ModuleContext<'_, R>) -> ModuleResult {
        // The shapes of Ansible's copy action (plugins/action/copy.py of ansible-core 2.19.14,
        // `_copy_file`): every result but `force: false`'s carries `diff`, a list.
        let listed = |r: ModuleResult| {
            let diffs: Vec<Value> = r.diff.iter().map(Diff::to_json).collect();
            r.with("diff", diffs)
        };
        let (owner, group) = (self.file.owner.as_deref(), self.file.group.as_deref());
        let content_kind = if ctx.diff {
            Content::Small
        } else {
            Content::None
        };
        // With a source file name, dest may be a directory: look at dest/<name> in the same trip.
        let joined = self.src_name.as_ref().map(|n| {
            if self.dest.ends_with('/') {
                format!("{}{n}", self.dest)
            } else {
                format!("{}/{n}", self.dest)
            }
        });
        // Followed: a link's own mode (0777) must not leak into the file written in its place.
        let mut probes = vec![Probe {
            content: content_kind,
            follow: true,
            ..Probe::sha1(self.dest)
        }];
        if let Some(j) = &joined {
            probes.push(Probe {
                content: content_kind,
                follow: true,
                ..Probe::sha1(j)
            });
        }
        let probed = match probe::probe(ctx, &probes).await {
            Ok(p) => p,
            Err(r) => return listed(r),
        };
        let dest_info = &probed.infos[0];
        let (target, info, before) = if dest_info.is_dir() || self.dest.ends_with('/') {
            match (&joined, probed.infos.get(1)) {
                (Some(j), Some(i)) => (j.as_str(), i.clone(), probed.content.clone()),
                _ => {
                    return listed(ModuleResult::fail("can not use content with a dir as dest"));
                }
            }
        } else {
            (self.dest, dest_info.clone(), probed.content.clone())
        };
        if info.exists && info.is_dir() {
            return listed(ModuleResult::fail(format!("dest {target} is a directory")));
        }
        let checksum = sha1_hex(&self.content);
        if info.exists && !self.file.force {
            // The action returns before the module: `dest` and the `src` given.
            let r = ModuleResult::ok().with("dest", self.dest.to_owned());
            return match self.src_arg {
                Some(src) => r.with("src", src.to_owned()),
                None => r,
            };
        }
        let current = info.exists.then_some(info.mode);
        let mode = match &self.file.mode {
            Some(Mode::Preserve) => self.src_mode.or(current),
            Some(m) => match m.resolve(current, false) {
                Ok(b) => Some(b),
                Err(e) => return listed(ModuleResult::fail(format!("bad mode: {e}"))),
            },
            None => current,
        };
        let content_changed = !info.exists || info.checksum.as_deref() != Some(checksum.as_str());
        if info.exists && info.checksum.is_none() {
            return listed(ModuleResult::fail(format!(
                "could not checksum {target} on the host (unreadable, or no sha1sum/shasum)"
            )));
        }
        if !content_changed {
            // Same content: the action runs the file module for the attributes, whose result
            // is the path's (in check mode, as it is now).
            let attrs_changed =
                mode.is_some_and(|m| m != info.mode) || owner_differs(&info, owner, group);
            let mut now = info.clone();
            if attrs_changed && !ctx.check_mode {
                match set_attrs(ctx, target, mode, owner, group).await {
                    Ok(Some(after)) => now = after,
                    Ok(None) => {}
                    Err(e) => return listed(e),
                }
            }
            let r = if attrs_changed {
                ModuleResult::changed()
            } else {
                ModuleResult::ok()
            };
            return listed(
                now.add_path_info(
                    r.with("dest", target.to_owned())
                        .with("path", target.to_owned())
                        .with("checksum", checksum),
                ),
            );
        }
        let mut r = ModuleResult::changed();
        if ctx.diff {
            let before_text = match (&before, info.exists) {
                (_, false) => String::new(),
                (Some(b), true) => diff_text(b),
                (None, true) => "(content not shown: file too large)\n".into(),
            };
            let mut diff = Diff::content(target, before_text, diff_text(&self.content));
            // Ansible's `_get_diff_data` names the file before only when there is one.
            if !info.exists {
                diff.before_header = None;
            }
            r.diff = Some(diff);
        }
        if ctx.check_mode {
            return listed(r);
        }
        // "Special handling for recursive copy - create intermediate dirs" (copy.py): a dest
        // ending in `/` that does not exist is made, each new directory given
        // `directory_mode`, `owner` and `group`.
        if self.dest.ends_with('/') && !dest_info.exists {
            let mode = match self
                .directory_mode
                .map(|m| m.resolve(None, true))
                .transpose()
            {
                Ok(m) => m,
                Err(e) => return listed(ModuleResult::fail(format!("bad mode: {e}"))),
            };
            let script = make_dirs_script(self.dest, mode, owner, group);
            if let Err(e) = call(ctx, &script, None, None).await {
                return listed(e);
            }
        }
        let w = Write {
            dest: target,
            mode,
            owner,
            group,
            keep_ids: info.exists.then_some((info.uid, info.gid)),
            backup: self.file.backup,
            validate: self.file.validate.as_deref(),
            make_parents: false,
            follow_links: self.follow,
        };
        let written = match probe::write_reporting(ctx, &w, self.content.clone()).await {
            Ok(w) => w,
            Err(e) => return listed(e),
        };
        r = r
            .with("dest", target.to_owned())
            .with("checksum", checksum)
            .with("md5sum", format!("{:x}", md5::compute(&self.content)));
        if let Some(staged) = written.staged {
            r = r.with("src", staged);
        }
        if let Some(b) = written.backup {
            r = r.with("backup_file", b);
        }
        listed(match &written.stat {
            Some(st) => st.add_path_info(r),
            None => r,
        })
    }
}

/// A script that makes `dir` and its missing parents, giving each directory it makes (not
/// those that existed) `mode`, `owner` and `group`, as copy.py's
/// `adjust_recursive_directory_permissions` walks the new ones.
fn make_dirs_script(
    dir: &str,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
) -> String {
    let mut s = String::from(PRELUDE);
    for d in super::copy_tree::ancestors(dir) {
        let q = qpath(&d);
        s.push_str(&format!("if [ ! -e {q} ]; then mkdir {q} || exit 1\n"));
        if let Some(m) = mode {
            s.push_str(&format!("chmod {m:o} {q} || exit 1\n"));
        }
        s.push_str(&super::copy_tree::chown_word(&q, owner, group, ""));
        s.push_str("fi\n");
    }
    s
}

/// `chmod`/`chown` an existing path in one round trip; the path's [`Info`] after them (`None`:
/// its `stat` could not be read).
pub(super) async fn set_attrs<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    path: &str,
    mode: Option<u32>,
    owner: Option<&str>,
    group: Option<&str>,
) -> Result<Option<Info>, ModuleResult> {
    let q = qpath(path);
    let mut s = String::from(PRELUDE);
    if let Some(m) = mode {
        s.push_str(&format!("chmod {m:o} {q} || exit 1\n"));
    }
    s.push_str(&super::copy_tree::chown_word(&q, owner, group, ""));
    s.push_str(&format!("_cf_stat -L {q} || :\n"));
    let out = call(ctx, &s, None, None).await?;
    if out.rc == Some(0) {
        Ok(probe::stat_info(out.stdout_text().trim()).ok())
    } else {
        Err(ModuleResult::fail(format!(
            "failed to set attributes of {path}: {}",
            out.stderr_text()
        )))
    }
}

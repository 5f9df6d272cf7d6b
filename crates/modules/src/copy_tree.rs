//! `copy` of a controller directory (`src: dir` copies the directory, `src: dir/` its
//! contents), as the action plugin does it (plugins/action/copy.py of ansible-core 2.19.14,
//! `ActionModule.run` after `_walk_dirs`): every file as `_copy_file` (the copy module for new
//! content, creating missing parents with `directory_mode`; the file module for attributes),
//! then every directory (`file state=directory mode=directory_mode`), then every symlink
//! (`file state=link force=yes`).
//!
//! Round trips: 1 probe of every path involved (stat + sha1), then, only when something is to
//! change and not in check mode, 1 apply script that takes the new files as a tar archive on
//! stdin (see [`super::tar`]).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::args::Mode;
use super::context::ModuleContext;
use super::copy::CopyArgs;
use super::copy_walk::{Walked, walk_dirs};
use super::probe::{self, Info, Probe, call, owner_differs, qpath, sha1_hex};
use super::remote::Remote;
use super::result::ModuleResult;
use super::tar;
use clearfleet_base::shell::quote;

/// One controller file, read.
struct Local {
    rel: String,
    bytes: Vec<u8>,
    /// Its permission bits (for `mode: preserve`).
    mode: Option<u32>,
}

/// Reads the walked files off the async workers.
async fn read_all<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    walked: &Walked,
) -> Result<Vec<Local>, ModuleResult> {
    let files = ctx.files.clone();
    let list = walked.files.clone();
    tokio::task::spawn_blocking(move || {
        list.into_iter()
            .map(|(full, rel)| {
                let bytes = files.read(&full).map_err(|e| {
                    // `_copy_file`: get_real_file's AnsibleFileNotFound.
                    format!("could not find src={}, {e}", full.display())
                })?;
                Ok(Local {
                    rel,
                    bytes,
                    mode: files.mode(&full),
                })
            })
            .collect::<Result<Vec<_>, String>>()
    })
    .await
    .map_err(|e| ModuleResult::fail(e.to_string()))?
    .map_err(ModuleResult::fail)
}

/// `chown`/`chgrp` of the shell word `q` for `owner`/`group` (`-h`: the link itself).
pub(super) fn chown_word(q: &str, owner: Option<&str>, group: Option<&str>, h: &str) -> String {
    match (owner, group) {
        (Some(o), Some(g)) => format!("chown {h}{} {q} || exit 1\n", quote(&format!("{o}:{g}"))),
        (Some(o), None) => format!("chown {h}{} {q} || exit 1\n", quote(o)),
        (None, Some(g)) => format!("chgrp {h}{} {q} || exit 1\n", quote(g)),
        (None, None) => String::new(),
    }
}

/// [`chown_word`] of a path.
fn chown_line(path: &str, owner: Option<&str>, group: Option<&str>, h: &str) -> String {
    chown_word(&qpath(path), owner, group, h)
}

/// The directories from the top of `path` down to it (`a/b/c` → `a`, `a/b`, `a/b/c`), without
/// `/` and `.`.
pub(super) fn ancestors(path: &str) -> Vec<String> {
    let trimmed = path.trim_end_matches('/');
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = trimmed[at..].find('/') {
        let p = &trimmed[..at + i];
        if !p.is_empty() && p != "." {
            out.push(p.to_owned());
        }
        at += i + 1;
    }
    if !trimmed.is_empty() && trimmed != "." {
        out.push(trimmed.to_owned());
    }
    out
}

/// The parent of a path, as `os.path.dirname`.
fn dirname(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(d, _)| d)
}

/// What the run learnt and decided; the apply script is built from it.
struct Plan<'a> {
    args: &'a CopyArgs,
    /// Directories that exist (from the probe) or that this run creates.
    dirs: BTreeSet<String>,
    mkdirs: String,
    files: String,
    links: String,
    /// chmod/chown after everything was written (a `directory_mode` without `w` last).
    attrs: String,
    tar: Vec<u8>,
    staged: usize,
}

impl Plan<'_> {
    /// The copy module's `split_pre_existing_dir` + `adjust_recursive_directory_permissions`
    /// (and the file module's `state=directory`): each missing directory down to `dir` is made,
    /// then gets `directory_mode`, `owner`, `group`.
    fn ensure_dir(&mut self, dir: &str) -> Result<bool, String> {
        let mut made = false;
        for d in ancestors(dir) {
            if self.dirs.contains(&d) {
                continue;
            }
            self.mkdirs
                .push_str(&format!("mkdir {} || exit 1\n", qpath(&d)));
            if let Some(m) = &self.args.directory_mode {
                let bits = m
                    .resolve(None, true)
                    .map_err(|e| format!("bad mode: {e}"))?;
                self.attrs
                    .push_str(&format!("chmod {bits:o} {} || exit 1\n", qpath(&d)));
            }
            let f = &self.args.file;
            self.attrs
                .push_str(&chown_line(&d, f.owner.as_deref(), f.group.as_deref(), ""));
            self.dirs.insert(d);
            made = true;
        }
        Ok(made)
    }
}

/// Runs a recursive copy of the controller directory `source` (`trailing`: `src` ended with
/// `/`); `shown` is the `src` of the result.
pub(super) async fn run<R: Remote>(
    args: &CopyArgs,
    ctx: &ModuleContext<'_, R>,
    source: &Path,
    trailing: bool,
    shown: String,
) -> ModuleResult {
    let local_follow = args.local_follow.unwrap_or(true);
    let top = source.to_path_buf();
    let walked = match tokio::task::spawn_blocking(move || walk_dirs(&top, trailing, local_follow))
        .await
        .map_err(std::io::Error::other)
        .and_then(|w| w)
    {
        Ok(w) => w,
        Err(e) => return ModuleResult::fail(e.to_string()),
    };
    let locals = match read_all(ctx, &walked).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    // "If it's recursive copy, destination is always a dir, explicitly mark it so".
    let dest = if args.dest.ends_with('/') {
        args.dest.clone()
    } else {
        format!("{}/", args.dest)
    };
    // "We only follow symlinks for files in the non-recursive case".
    let follow = walked.directories.is_empty() && args.follow;
    let at = |rel: &str| format!("{dest}{rel}");
    let file_paths: Vec<String> = locals.iter().map(|l| at(&l.rel)).collect();
    let dir_paths: Vec<String> = walked.directories.iter().map(|(_, r)| at(r)).collect();
    let link_paths: Vec<String> = walked.symlinks.iter().map(|(_, r)| at(r)).collect();
    let mut known: BTreeSet<String> = ancestors(&dest).into_iter().collect();
    for p in file_paths.iter().chain(&dir_paths).chain(&link_paths) {
        known.extend(ancestors(dirname(p)));
    }
    let known: Vec<String> = known.into_iter().collect();
    let mut probes: Vec<Probe<'_>> = file_paths
        .iter()
        .map(|p| Probe {
            follow,
            ..Probe::sha1(p)
        })
        .collect();
    probes.extend(dir_paths.iter().map(|p| Probe {
        follow: true,
        ..Probe::stat(p)
    }));
    probes.extend(link_paths.iter().map(|p| Probe::stat(p)));
    probes.extend(known.iter().map(|p| Probe {
        follow: true,
        ..Probe::stat(p)
    }));
    let probed = match probe::probe(ctx, &probes).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (file_infos, rest) = probed.infos.split_at(file_paths.len());
    let (dir_infos, rest) = rest.split_at(dir_paths.len());
    let (link_infos, known_infos) = rest.split_at(link_paths.len());
    let mut plan = Plan {
        args,
        dirs: known
            .iter()
            .zip(known_infos)
            .chain(dir_paths.iter().zip(dir_infos))
            .filter(|(_, i)| i.is_dir())
            .map(|(p, _)| p.clone())
            .collect(),
        mkdirs: String::new(),
        files: String::new(),
        links: String::new(),
        attrs: String::new(),
        tar: Vec::new(),
        staged: 0,
    };
    let (owner, group) = (args.file.owner.as_deref(), args.file.group.as_deref());
    let mut changed = false;
    let mut executed = false;
    let mut last: Option<ModuleResult> = None;
    let fail = |m: String| ModuleResult::fail(m);
    for ((local, path), info) in locals.iter().zip(&file_paths).zip(file_infos) {
        if info.exists && !args.file.force {
            continue;
        }
        if info.is_dir() {
            return fail(format!("dest {path} is a directory"));
        }
        // `_copy_file`: `mode: preserve` is the source file's mode.
        let want = match (&args.file.mode, local.mode) {
            (Some(Mode::Preserve), Some(m)) => Some(Mode::Bits(m)),
            (Some(Mode::Preserve), None) => None,
            (m, _) => m.clone(),
        };
        let checksum = sha1_hex(&local.bytes);
        let replace = !info.exists || info.checksum.as_deref() != Some(checksum.as_str());
        let current = (info.exists && !info.is_link()).then_some(info.mode);
        let mode = match want.as_ref().map(|m| m.resolve(current, false)) {
            Some(Ok(b)) => Some(b),
            Some(Err(e)) => return fail(format!("bad mode: {e}")),
            None => None,
        };
        executed = true;
        if replace {
            changed = true;
            let r = ModuleResult::changed().with("diff", Vec::<Value>::new());
            if ctx.check_mode {
                last = Some(r);
                continue;
            }
            if let Err(e) = plan.ensure_dir(dirname(path)) {
                return fail(e);
            }
            if let Err(e) = tar::append(&mut plan.tar, &plan.staged.to_string(), &local.bytes) {
                return fail(e.to_string());
            }
            plan.files.push_str(&stage_file(
                plan.staged,
                path,
                mode.or(current),
                current.map(|_| (info.uid, info.gid)),
                args,
            ));
            plan.staged += 1;
            last = Some(
                ModuleResult::changed()
                    .with("dest", path.clone())
                    .with("checksum", checksum)
                    .with("md5sum", format!("{:x}", md5::compute(&local.bytes))),
            );
        } else {
            // The file module for the attributes (`state=file`).
            let differs = mode.is_some_and(|m| m != info.mode) || owner_differs(info, owner, group);
            if differs {
                changed = true;
                if let Some(m) = mode {
                    plan.attrs
                        .push_str(&format!("chmod {m:o} {} || exit 1\n", qpath(path)));
                }
                plan.attrs.push_str(&chown_line(path, owner, group, ""));
            }
            let r = if differs {
                ModuleResult::changed()
            } else {
                ModuleResult::ok()
            };
            let mut now = info.clone();
            if let Some(m) = mode {
                now.mode = m;
            }
            last = Some(
                now.add_path_info(r)
                    .with("path", path.clone())
                    .with("dest", path.clone())
                    .with("checksum", checksum),
            );
        }
    }
    for (path, info) in dir_paths.iter().zip(dir_infos) {
        executed = true;
        let r = match directory(&mut plan, path, info) {
            Ok(r) => r,
            Err(m) => return fail(m),
        };
        changed |= r.changed;
        last = Some(r);
    }
    for (((target, _), path), info) in walked.symlinks.iter().zip(&link_paths).zip(link_infos) {
        executed = true;
        let same = info.is_link() && info.link_target.as_deref() == Some(target.as_str());
        let r = if same {
            ModuleResult::ok()
        } else {
            changed = true;
            let q = qpath(path);
            if info.is_dir() {
                plan.links.push_str(&format!("rmdir {q} || exit 1\n"));
            } else if info.exists {
                plan.links.push_str(&format!("rm -f {q} || exit 1\n"));
            }
            plan.links
                .push_str(&format!("ln -s {} {q} || exit 1\n", quote(target)));
            plan.links.push_str(&chown_line(path, owner, group, "-h "));
            ModuleResult::changed()
        };
        last = Some(
            r.with("path", path.clone())
                .with("dest", path.clone())
                .with("src", target.clone())
                .with("state", "link"),
        );
    }
    if !ctx.check_mode
        && let Err(r) = apply(ctx, &mut plan, &dest).await
    {
        return r;
    }
    // The end of `run()`: one file's module result, else dest, src and changed.
    match last {
        Some(r) if executed && locals.len() == 1 => {
            let path = r.data.get("path").cloned();
            match (path, r.data.contains_key("dest")) {
                (Some(p), false) => r.with("dest", p),
                _ => r,
            }
        }
        _ => {
            let r = if changed {
                ModuleResult::changed()
            } else {
                ModuleResult::ok()
            };
            r.with("dest", dest).with("src", shown)
        }
    }
}

/// `file state=directory path=... mode=directory_mode` for one walked directory.
fn directory(plan: &mut Plan<'_>, path: &str, info: &Info) -> Result<ModuleResult, String> {
    let r = |r: ModuleResult| r.with("path", path.to_owned()).with("state", "directory");
    if info.exists && !info.is_dir() {
        let kind = if info.is_link() { "link" } else { "file" };
        return Err(format!("{path} already exists as a {kind}"));
    }
    if !info.exists {
        if plan.dirs.contains(path) {
            // Made earlier in this run for a file below it, with directory_mode already.
            return Ok(r(ModuleResult::ok()));
        }
        // Made now, with its missing parents, each with directory_mode.
        plan.ensure_dir(path)?;
        return Ok(r(ModuleResult::changed()));
    }
    let args = plan.args;
    let mode = match &args.directory_mode {
        Some(m) => Some(
            m.resolve(Some(info.mode), true)
                .map_err(|e| format!("bad mode: {e}"))?,
        ),
        None => None,
    };
    let (owner, group) = (args.file.owner.as_deref(), args.file.group.as_deref());
    let differs = mode.is_some_and(|m| m != info.mode) || owner_differs(info, owner, group);
    if !differs {
        return Ok(r(ModuleResult::ok()).with("mode", info.mode_str()));
    }
    if let Some(m) = mode {
        plan.attrs
            .push_str(&format!("chmod {m:o} {} || exit 1\n", qpath(path)));
    }
    plan.attrs.push_str(&chown_line(path, owner, group, ""));
    Ok(r(ModuleResult::changed()))
}

/// The lines that move staged file `n` to `path` with its mode (`None`: a new file's
/// `0666 & ~umask`, as atomic_move), the ids it had, then `owner`/`group`, a backup of the old
/// file, and `validate` run on it first.
fn stage_file(
    n: usize,
    path: &str,
    mode: Option<u32>,
    keep_ids: Option<(u32, u32)>,
    args: &CopyArgs,
) -> String {
    let q = qpath(path);
    let mut s = format!("f=\"$t/{n}\"\n");
    if let Some(v) = &args.file.validate {
        let cmd = v.replace("%s", "\"$f\"");
        s.push_str(&format!("( {cmd} ) >&2 || exit 91\n"));
    }
    match mode {
        Some(m) => s.push_str(&format!("chmod {m:o} \"$f\" || exit 1\n")),
        None => s.push_str("chmod \"$new_mode\" \"$f\" || exit 1\n"),
    }
    if let Some((uid, gid)) = keep_ids {
        s.push_str(&format!("chown {uid}:{gid} \"$f\" 2>/dev/null\n"));
    }
    let f = &args.file;
    s.push_str(&chown_word(
        "\"$f\"",
        f.owner.as_deref(),
        f.group.as_deref(),
        "",
    ));
    if f.backup {
        s.push_str(&format!(
            "if [ -f {q} ]; then cp -p {q} {q}.$$.$(date +%Y-%m-%d@%H:%M:%S)~ || exit 1; fi\n"
        ));
    }
    s.push_str(&format!("mv -f \"$f\" {q} || exit 1\n"));
    s
}

/// Runs the plan's script, if it has anything to do.
async fn apply<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    plan: &mut Plan<'_>,
    dest: &str,
) -> Result<(), ModuleResult> {
    if plan.mkdirs.is_empty()
        && plan.files.is_empty()
        && plan.links.is_empty()
        && plan.attrs.is_empty()
    {
        return Ok(());
    }
    let mut s = String::from("new_mode=$(printf '%o' $((0666 & ~$(umask))))\n");
    s.push_str(&plan.mkdirs);
    let stdin = if plan.staged > 0 {
        s.push_str(&format!(
            "t=$(mktemp -d {}/.clearfleet.XXXXXXXX) || exit 1\n\
             trap 'rm -rf \"$t\"' EXIT\n\
             tar -xf - -C \"$t\" || exit 1\n",
            qpath(dest.trim_end_matches('/'))
        ));
        s.push_str(&plan.files);
        let mut archive = std::mem::take(&mut plan.tar);
        tar::finish(&mut archive);
        Some(archive)
    } else {
        None
    };
    s.push_str(&plan.links);
    s.push_str(&plan.attrs);
    let out = call(ctx, &s, stdin, None).await?;
    match out.rc {
        Some(0) => Ok(()),
        Some(91) => Err(ModuleResult {
            stderr: Some(out.stderr_text()),
            ..ModuleResult::fail(format!("failed to validate: {}", out.stderr_text()))
        }),
        _ => Err(ModuleResult::fail(format!(
            "failed to copy into {dest}: {}",
            out.stderr_text()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_from_the_top_down() {
        assert_eq!(ancestors("/a/b/c/"), ["/a", "/a/b", "/a/b/c"]);
        assert_eq!(ancestors("x/y"), ["x", "x/y"]);
        assert_eq!(ancestors("./x"), ["x"].map(|s| format!("./{s}")));
        assert!(ancestors("/").is_empty());
        assert_eq!(dirname("/a/b"), "/a");
    }
}

//! `copy` with `remote_src: true`: the copy module itself (modules/copy.py of ansible-core
//! 2.19.14, `main`) copying a file or a directory that is already on the host.
//!
//! Round trips: 1 to expand `~`/`$VAR` in the paths (only when they hold one, as the module's
//! `type='path'`), 1 probe (src, dest and what dest may turn into), then, when something is to
//! change (or a directory is compared), 1 script that applies and reports the path's stat.

use super::args::Mode;
use super::command::expand_word;
use super::context::ModuleContext;
use super::copy::CopyArgs;
use super::copy_tree::chown_word;
use super::probe::{self, Info, PRELUDE, Probe, call, owner_differs, qpath};
use super::remote::Remote;
use super::result::ModuleResult;

/// `os.path.dirname`.
fn dirname(p: &str) -> &str {
    match p.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((d, _)) => d,
        None => "",
    }
}

/// `os.path.basename`.
fn basename(p: &str) -> &str {
    p.rsplit_once('/').map_or(p, |(_, b)| b)
}

/// `os.path.join(a, b)` for a relative `b`.
fn join(a: &str, b: &str) -> String {
    if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `src` and `dest` with `~` and `$VAR` expanded on the host (one trip, only if needed).
async fn expand<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    src: &str,
    dest: &str,
) -> Result<(String, String), ModuleResult> {
    let needs = |p: &str| p.contains('$') || p.starts_with('~');
    if !needs(src) && !needs(dest) {
        return Ok((src.to_owned(), dest.to_owned()));
    }
    let out = call(
        ctx,
        &format!(
            "printf '%s\\n%s\\n' {} {}",
            expand_word(src),
            expand_word(dest)
        ),
        None,
        None,
    )
    .await?;
    let text = out.stdout_text();
    let mut lines = text.split('\n');
    match (lines.next(), lines.next()) {
        (Some(s), Some(d)) if out.rc == Some(0) => Ok((s.to_owned(), d.to_owned())),
        _ => Err(ModuleResult::fail(format!(
            "could not expand the paths on the host: {}",
            out.stderr_text()
        ))),
    }
}

/// The module's `copy_directory(src, dest)` as one shell function, `cf_dir SRC DEST`: a new
/// dest is `shutil.copytree` (links kept unless `local_follow`); an existing one gets the
/// files that differ (`copy_diff_files`), the names only src has (`copy_left_only`), and the
/// same in every directory both have (`copy_common_dirs`), as `filecmp.dircmp` pairs them
/// (its default ignore list included). Prints `c` per change; `$check` = 1 changes nothing.
fn copy_directory_fn(
    local_follow: Option<bool>,
    owner: Option<&str>,
    group: Option<&str>,
) -> String {
    // The copy (`$2`), never its source: copy.py's `chown_recursive(dest)`.
    let chown_r = chown_word("\"$2\"", owner, group, "-R ");
    let chown_b = chown_word("\"$b\"", owner, group, "");
    let chown_br = chown_word("\"$b\"", owner, group, "-R ");
    let tree = if local_follow == Some(true) {
        "-RLp"
    } else {
        "-RPp"
    };
    // copy_left_only's four cases of a link (none when local_follow is unset).
    let link = match local_follow {
        Some(true) => format!(
            "if [ -d \"$a\" ]; then cp {tree} \"$a\" \"$b\" || exit 1; {chown_br}\
             elif [ -f \"$a\" ]; then cat \"$a\" > \"$b\" || exit 1; {chown_b}fi"
        ),
        Some(false) => "if [ -d \"$a\" ] || [ -f \"$a\" ]; then ln -s \"$(readlink \"$a\")\" \"$b\" || exit 1; fi".to_owned(),
        None => ":".to_owned(),
    };
    let diff_link = if local_follow == Some(false) {
        "if [ -L \"$a\" ]; then ln -sf \"$(readlink \"$a\")\" \"$b\" || exit 1; else cp -p \"$a\" \"$b\" || exit 1; fi"
    } else {
        "cp -p \"$a\" \"$b\" || exit 1"
    };
    format!(
        r#"cf_cmp() {{
  for a in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$a" ] || [ -L "$a" ] || continue
    n=${{a##*/}}
    case $n in RCS|CVS|tags|.git|.hg|.bzr|_darcs|__pycache__) continue ;; esac
    b="$2/$n"
    if [ ! -e "$b" ] && [ ! -L "$b" ]; then
      echo c
      [ "$check" = 1 ] && continue
      if [ -L "$a" ]; then {link}
      elif [ -d "$a" ]; then cp {tree} "$a" "$b" || exit 1; {chown_br}
      elif [ -f "$a" ]; then cp -p "$a" "$b" || exit 1; {chown_b}
      fi
    elif [ -d "$a" ] && [ -d "$b" ]; then
      ( cf_cmp "$a" "$b" ) || exit 1
    elif [ -f "$a" ] && [ -f "$b" ] && ! cmp -s "$a" "$b"; then
      echo c
      [ "$check" = 1 ] && continue
      {diff_link}
      {chown_b}
    fi
  done
}}
cf_dir() {{
  if [ ! -e "$2" ]; then
    echo c
    [ "$check" = 1 ] && return 0
    mkdir -p "$2" && cp {tree} "$1/." "$2/" || exit 1
    {chown_r}
  else
    ( cf_cmp "$1" "$2" ) || exit 1
  fi
}}
"#
    )
}

/// Runs `copy` with `remote_src: true`.
pub async fn run<R: Remote>(args: &CopyArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let Some(src) = args.src.as_deref() else {
        return ModuleResult::fail("src (or content) is required");
    };
    let (src, dest) = match expand(ctx, src, &args.dest).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // "Make sure we always have a directory component for later processing".
    let dest = if dest.contains('/') {
        dest
    } else {
        format!("./{dest}")
    };
    let into = join(&dest, basename(&src));
    let parent = dirname(dest.trim_end_matches('/')).to_owned();
    let dest_dir = if dest.ends_with('/') {
        dest.trim_end_matches('/').to_owned()
    } else {
        dirname(&dest).to_owned()
    };
    let probes = [
        Probe {
            follow: true,
            ..Probe::sha1(&src)
        },
        Probe {
            follow: true,
            checksum: Some("md5"),
            ..Probe::stat(&src)
        },
        Probe {
            follow: true,
            ..Probe::sha1(&dest)
        },
        Probe::stat(&dest),
        Probe {
            follow: true,
            ..Probe::sha1(&into)
        },
        Probe::stat(&into),
        Probe {
            follow: true,
            ..Probe::stat(&dest_dir)
        },
        Probe {
            follow: true,
            ..Probe::stat(&parent)
        },
    ];
    let p = match probe::probe(ctx, &probes).await {
        Ok(p) => p.infos,
        Err(r) => return r,
    };
    let (src_i, src_md5, dest_i, dest_l, into_i, into_l, dest_dir_i) =
        (&p[0], &p[1], &p[2], &p[3], &p[4], &p[5], &p[6]);
    if !src_i.exists {
        return ModuleResult::fail(format!("Source {src} not found"));
    }
    if !src_i.readable {
        return ModuleResult::fail(format!("Source {src} not readable"));
    }
    // "Preserve is usually handled in the action plugin but mode + remote_src has to be done
    // on the remote host".
    let mode = match &args.file.mode {
        Some(Mode::Preserve) => Some(Mode::Bits(src_i.mode)),
        m => m.clone(),
    };
    let (checksum_src, md5_src) = if src_i.is_file() {
        (src_i.checksum.clone(), src_md5.checksum.clone())
    } else if !src_i.is_dir() {
        return ModuleResult::fail(format!("Cannot copy invalid source '{src}': not a file"));
    } else {
        (None, None)
    };
    let (owner, group) = (args.file.owner.as_deref(), args.file.group.as_deref());
    let mut script = String::from(PRELUDE);
    script.push_str(&format!("check={}\n", u8::from(ctx.check_mode)));
    let mut changed = false;
    let mut dest_is_dir = dest_i.is_dir();
    // "Special handling for recursive copy - create intermediate dirs".
    if dest.ends_with('/') && !dest_dir_i.exists {
        if ctx.check_mode {
            return ModuleResult::changed()
                .with_msg(format!("dest directory {dest_dir} would be created"))
                .with("src", src.clone());
        }
        script.push_str(&format!("mkdir -p {} || exit 1\n", qpath(&dest_dir)));
        if let Some(m) = &args.directory_mode {
            match m.resolve(None, true) {
                Ok(b) => script.push_str(&format!("chmod {b:o} {} || exit 1\n", qpath(&dest_dir))),
                Err(e) => return ModuleResult::fail(format!("bad mode: {e}")),
            }
        }
        script.push_str(&chown_word(&qpath(&dest_dir), owner, group, ""));
        changed = true;
        dest_is_dir = true;
    }
    let (target, t_info, t_link) = if dest_is_dir {
        (into.clone(), into_i, into_l)
    } else {
        (dest.clone(), dest_i, dest_l)
    };
    let mut checksum_dest = None;
    if t_info.exists || t_link.exists {
        if !args.file.force {
            return ModuleResult::ok()
                .with_msg("file already exists")
                .with("src", src.clone())
                .with("dest", target);
        }
        if t_info.is_file() && t_info.readable {
            checksum_dest = t_info.checksum.clone();
        }
    } else if !dest_is_dir && !p[7].exists && !dest.ends_with('/') {
        return ModuleResult::fail(format!(
            "Destination directory {} does not exist",
            dirname(&dest)
        ));
    }
    let mut backup = false;
    // The file branch (a directory source is copied below, as the module's second branch).
    let write = src_i.is_file() && (checksum_src != checksum_dest || t_link.is_link());
    if write {
        changed = true;
        if !ctx.check_mode {
            let q = qpath(&target);
            if args.file.backup && t_info.exists {
                backup = true;
                script.push_str(&format!(
                    "b={q}.$$.$(date +%Y-%m-%d@%H:%M:%S)~; cp -p {q} \"$b\" || exit 1; printf 'backup=%s\\n' \"$b\"\n"
                ));
            }
            // A temporary copy beside dest with the source's stat (shutil.copystat), moved
            // over dest (atomic_move with keep_dest_attrs=False).
            script.push_str(&format!(
                "t=$(mktemp {}/.clearfleet.XXXXXXXX) || exit 1\ntrap 'rm -f \"$t\"' EXIT\n\
                 cp -p {} \"$t\" 2>/dev/null || cp {} \"$t\" || exit 1\n",
                qpath(dirname(&target)),
                qpath(&src),
                qpath(&src)
            ));
            if let Some(v) = &args.file.validate {
                script.push_str(&format!(
                    "( {} ) >&2 || exit 91\n",
                    v.replace("%s", "\"$t\"")
                ));
            }
            script.push_str(&format!("mv -f \"$t\" {q} || exit 1\ntrap - EXIT\n"));
        }
    }
    // "If neither have checksums, both src and dest are directories."
    let both_dirs = src_i.is_dir() && (dest_is_dir || !dest_i.exists);
    let mut dir_copy = false;
    if checksum_src.is_none() && checksum_dest.is_none() && both_dirs {
        let (from, to) = if src.ends_with('/') {
            (src.trim_end_matches('/').to_owned(), args_dest_dir(&dest))
        } else {
            (src.clone(), join(&args_dest_dir(&dest), basename(&src)))
        };
        script.push_str(&copy_directory_fn(args.local_follow, owner, group));
        script.push_str(&format!(
            "cf_dir {} {} || exit 1\n",
            qpath(&from),
            qpath(&to)
        ));
        if owner.is_some() || group.is_some() {
            // chown_recursive of an existing dest: changed when any path below differs.
            let mut tests = Vec::new();
            if let Some(o) = owner {
                tests.push(format!("! -user {}", probe_quote(o)));
            }
            if let Some(g) = group {
                tests.push(format!("! -group {}", probe_quote(g)));
            }
            script.push_str(&format!(
                "if [ -e {q} ] && [ -n \"$(find {q} \\( {} \\) -print | head -n 1)\" ]; then echo c; [ \"$check\" = 1 ] || {{ {}}}; fi\n",
                tests.join(" -o "),
                chown_word(&qpath(&to), owner, group, "-R ").replace('\n', "; "),
                q = qpath(&to)
            ));
        }
        dir_copy = true;
    }
    // The result's path: `dest` as the module left it (dest/<basename> when dest is a dir).
    let final_path = if dest_is_dir {
        into.clone()
    } else {
        dest.clone()
    };
    let current = if write {
        Some(src_i.mode)
    } else {
        t_info.exists.then_some(t_info.mode)
    };
    let want = match mode.as_ref().map(|m| m.resolve(current, !src_i.is_file())) {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => return ModuleResult::fail(format!("bad mode: {e}")),
        None => None,
    };
    // set_fs_attributes_if_different on dest.
    let attrs = want.is_some_and(|m| Some(m) != current)
        || (t_info.exists && !write && owner_differs(t_info, owner, group))
        || (write && (owner.is_some() || group.is_some()));
    if attrs {
        changed = true;
        let q = qpath(&final_path);
        if let Some(m) = want {
            script.push_str(&format!(
                "[ \"$check\" = 1 ] || chmod {m:o} {q} || exit 1\n"
            ));
        }
        let chown = chown_word(&q, owner, group, "");
        if !chown.is_empty() {
            script.push_str(&format!("[ \"$check\" = 1 ] || {chown}"));
        }
    }
    let mut r = ModuleResult::ok();
    let needs_script = dir_copy || (!ctx.check_mode && changed);
    let mut stat = (t_info.exists).then(|| t_info.clone());
    if needs_script {
        script.push_str(&format!(
            "printf 'stat=%s\\n' \"$(_cf_stat -L {} || :)\"\n",
            qpath(&final_path)
        ));
        let out = match call(ctx, &script, None, None).await {
            Ok(o) => o,
            Err(e) => return e,
        };
        match out.rc {
            Some(0) => {}
            Some(91) => {
                return ModuleResult {
                    stderr: Some(out.stderr_text()),
                    ..ModuleResult::fail("failed to validate")
                };
            }
            _ => {
                return ModuleResult::fail(format!(
                    "Failed to copy '{src}' to '{final_path}': {}",
                    out.stderr_text()
                ));
            }
        }
        let text = out.stdout_text();
        for line in text.lines() {
            if line == "c" {
                changed = true;
            } else if let Some(b) = line.strip_prefix("backup=") {
                r = r.with("backup_file", b.to_owned());
            } else if let Some(s) = line.strip_prefix("stat=") {
                stat = probe::stat_info(s).ok();
            }
        }
    }
    let _ = backup;
    r.changed = changed;
    r = r
        .with("dest", final_path)
        .with("src", src)
        .with(
            "md5sum",
            md5_src.map_or(serde_json::Value::Null, Into::into),
        )
        .with(
            "checksum",
            checksum_src.map_or(serde_json::Value::Null, Into::into),
        );
    match stat {
        Some(s) => s.add_path_info(r),
        None => Info::default().add_path_info(r),
    }
}

/// The module's `module.params['dest']` for the directory branch: as given (expanded).
fn args_dest_dir(dest: &str) -> String {
    dest.to_owned()
}

/// A `find -user`/`-group` argument.
fn probe_quote(s: &str) -> String {
    clearfleet_base::shell::quote(s)
}

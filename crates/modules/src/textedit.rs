//! What `lineinfile`, `blockinfile` and `replace` share once the new text is computed: the
//! query (one round trip for stat and content, following links), Ansible's
//! `check_file_attrs` (mode, owner, group) and the apply (one atomic write, or one
//! `chmod`/`chown` when only attributes differ). One copy, so the three agree.

use super::args::Mode;
use super::context::ModuleContext;
use super::copy::set_attrs;
use super::probe::{self, Content, Info, Probe, Write, diff_text, owner_differs};
use super::remote::Remote;
use super::result::{Diff, ModuleResult};

/// The file as it is: stat (of the link's target) and content, in one round trip. A
/// directory fails as Ansible's modules fail on one (`rc` 256); `content` is `None` when the
/// file does not exist.
pub async fn read<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    path: &str,
) -> Result<(Info, Option<Vec<u8>>), ModuleResult> {
    let probed = probe::probe(
        ctx,
        &[Probe {
            follow: true,
            content: Content::All,
            ..Probe::stat(path)
        }],
    )
    .await?;
    let Some(info) = probed.infos.into_iter().next() else {
        return Err(ModuleResult::fail(format!("could not inspect {path}")));
    };
    if info.is_dir() {
        let mut r = ModuleResult::fail(format!("Path {path} is a directory !"));
        r.rc = Some(256);
        return Err(r);
    }
    match (probed.content, info.exists) {
        (Some(c), true) => Ok((info, Some(c))),
        // Read as Python reads it: empty (ansible-core's `replace` target edits it).
        (None, true) if path == "/dev/null" => Ok((info, Some(Vec::new()))),
        (None, true) => Err(ModuleResult::fail(format!("could not read {path}"))),
        (_, false) => Ok((info, None)),
    }
}

/// The diff of `lineinfile` and `blockinfile`: headers `PATH (content)`.
pub fn content_diff(path: &str, before: &[u8], after: &[u8]) -> Diff {
    Diff::content(
        &format!("{path} (content)"),
        diff_text(before),
        diff_text(after),
    )
}

/// `mode`, `owner`, `group` of the task.
#[derive(Debug, Clone, Copy, Default)]
pub struct Attrs<'a> {
    pub mode: Option<&'a Mode>,
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
}

/// How the text edit ends: the new content (when it changed) and how to write it.
#[derive(Debug, Clone)]
pub struct Apply<'a> {
    pub path: &'a str,
    pub attrs: Attrs<'a>,
    pub backup: bool,
    pub validate: Option<&'a str>,
    /// Create missing parent directories (`create: true`).
    pub make_parents: bool,
}

/// Ansible's `check_file_attrs`: sets `r.changed` and `r.msg` for attributes that differ
/// from the task's, then (outside check mode) writes `after` when `text_changed`, or sets
/// the attributes alone. Returns the backup's path, if one was made.
pub async fn apply<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    a: &Apply<'_>,
    info: &Info,
    text_changed: bool,
    after: Vec<u8>,
    r: &mut ModuleResult,
) -> Result<Option<String>, ModuleResult> {
    let current = info.exists.then_some(info.mode);
    let mode = match a.attrs.mode {
        Some(m) => match m.resolve(current, false) {
            Ok(b) => Some(b),
            Err(e) => return Err(ModuleResult::fail(format!("bad mode: {e}"))),
        },
        None => current,
    };
    let attrs_changed = info.exists
        && (mode.is_some_and(|m| m != info.mode)
            || owner_differs(info, a.attrs.owner, a.attrs.group));
    if attrs_changed {
        let msg = r.msg.take().unwrap_or_default();
        r.msg = Some(if text_changed {
            format!("{msg} and ownership, perms or SE linux context changed")
        } else {
            "ownership, perms or SE linux context changed".to_owned()
        });
        r.changed = true;
    }
    if ctx.check_mode || !r.changed {
        return Ok(None);
    }
    if text_changed {
        let w = Write {
            dest: a.path,
            mode,
            owner: a.attrs.owner,
            group: a.attrs.group,
            keep_ids: info.exists.then_some((info.uid, info.gid)),
            backup: a.backup && info.exists,
            validate: a.validate,
            make_parents: a.make_parents,
            follow_links: true,
        };
        let written = probe::write_reporting(ctx, &w, after).await?;
        // A new file gets the writer's umask and ids first, as Ansible's atomic_move: asking
        // for others is an attribute change too.
        if !info.exists
            && written.new_file_differs(a.attrs.mode.and(mode), a.attrs.owner, a.attrs.group)
        {
            let msg = r.msg.take().unwrap_or_default();
            r.msg = Some(format!(
                "{msg} and ownership, perms or SE linux context changed"
            ));
        }
        Ok(written.backup)
    } else {
        set_attrs(ctx, a.path, mode, a.attrs.owner, a.attrs.group).await?;
        Ok(None)
    }
}

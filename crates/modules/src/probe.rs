//! Shell snippets every module shares: one script that reports stat + checksum (+ content) of
//! paths, the atomic stdin-fed write, and the call wrapper. Kept in one place so the portable
//! fallbacks (GNU vs BSD `stat`, `sha1sum` vs `shasum`) are written once.
//!
//! Portability: scripts run under `/bin/sh -c` (POSIX sh: dash, bash, busybox ash, macOS sh).
//! `stat -c` (GNU, busybox) is tried first, then `stat -f` (BSD/macOS); both print the same
//! fields (raw mode in hex first, so the file type comes from the mode bits). Checksums use
//! `sha<N>sum`, then `shasum -a <N>` (macOS), and `md5sum`, then `md5 -q`. Paths that start with
//! `-` get a `./` prefix, so no tool reads them as options (BSD tools lack `--`).

use std::time::Duration;

use super::context::ModuleContext;
use super::remote::{Remote, RemoteOutput};
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// Ansible's `max_diff_size`: larger files show no content diff.
pub const MAX_DIFF_SIZE: u64 = 104_448;

/// Wraps a POSIX sh script for the login shell, whatever it is.
pub fn sh(script: &str) -> String {
    format!("/bin/sh -c {}", quote(script))
}

/// Quotes a path for a command line; a leading `-` gets `./` so it is never an option.
pub fn qpath(p: &str) -> String {
    if p.starts_with('-') {
        quote(&format!("./{p}"))
    } else {
        quote(p)
    }
}

/// A per-call token from the OS's random source (clearfleet_base::random), for the markers in
/// a script's output and the names of temporary files: a command cannot guess it, so its own
/// output is never mistaken for ours. Without random bytes the module fails with the result in
/// `Err` (boxed: it is large, and almost never made).
pub fn nonce() -> Result<String, Box<ModuleResult>> {
    clearfleet_base::random::token().map_err(|e| {
        Box::new(ModuleResult::fail(format!(
            "no random marker from the OS: {e}"
        )))
    })
}

/// Runs a script on the host whose output the module reads as data (a stat, a file's
/// content, a response body): transport errors become the module's result, and so does
/// output cut at the output limit, which is never taken for the whole.
pub async fn call<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    script: &str,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
) -> Result<RemoteOutput, ModuleResult> {
    let out = call_any(ctx, script, stdin, timeout).await?;
    match cut(&out) {
        Some(failure) => Err(failure),
        None => Ok(out),
    }
}

/// [`call`] for a command whose output is shown, not read (`command`, `shell`, `script`):
/// output cut at the limit is handed over as it is.
pub async fn call_any<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    script: &str,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
) -> Result<RemoteOutput, ModuleResult> {
    ctx.remote
        .run(&sh(script), stdin, timeout)
        .await
        .map_err(|e| ModuleResult::from_remote_error(&e))
}

/// [`call`] with the script's stdout written to `stdout` as it arrives, whatever its size
/// (`fetch`); only its stderr is kept, within the limit.
pub async fn call_to<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    script: &str,
    stdout: &mut (dyn std::io::Write + Send),
) -> Result<RemoteOutput, ModuleResult> {
    let out = ctx
        .remote
        .run_to(&sh(script), None, None, stdout)
        .await
        .map_err(|e| ModuleResult::from_remote_error(&e))?;
    match cut(&out) {
        Some(failure) => Err(failure),
        None => Ok(out),
    }
}

/// The module's failure if the output limit dropped part of `out`.
fn cut(out: &RemoteOutput) -> Option<ModuleResult> {
    let why = out.truncation.message()?;
    Some(
        ModuleResult::fail(format!(
            "the module's command on the host printed more than it can read: {why}"
        ))
        .with_truncation(&out.truncation),
    )
}

/// Shell functions: `_cf_stat [-L] PATH` and `_cf_sum ALGO PATH`.
pub const PRELUDE: &str = r#"_cf_stat() { stat $1 -c '%f|%u|%g|%U|%G|%s|%X|%Y|%Z|%i|%d|%h' "$2" 2>/dev/null || stat $1 -f '%Xp|%u|%g|%Su|%Sg|%z|%a|%m|%c|%i|%d|%l' "$2" 2>/dev/null; }
_cf_sum() { if [ "$1" = md5 ]; then { md5sum < "$2" || md5 -q < "$2"; } 2>/dev/null | sed 's/ .*//'; else { "sha$1sum" < "$2" || shasum -a "$1" < "$2"; } 2>/dev/null | sed 's/ .*//'; fi; }
"#;

/// The checksum algorithms `stat`/`get_url` accept, and the `_cf_sum` argument for each.
pub fn algo_arg(name: &str) -> Option<&'static str> {
    Some(match name {
        "sha1" => "1",
        "sha224" => "224",
        "sha256" => "256",
        "sha384" => "384",
        "sha512" => "512",
        "md5" => "md5",
        _ => return None,
    })
}

/// Which content a probe returns after the stat blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    None,
    /// Only if a regular file no larger than [`MAX_DIFF_SIZE`] (for diffs).
    Small,
    /// The whole regular file.
    All,
}

/// One path to look at.
#[derive(Debug, Clone)]
pub struct Probe<'a> {
    pub path: &'a str,
    /// Stat the link target rather than the link.
    pub follow: bool,
    /// `_cf_sum` argument (see [`algo_arg`]); regular files only.
    pub checksum: Option<&'static str>,
    /// The content comes back for the first probe (in order) asking for it that is a regular
    /// file (of acceptable size).
    pub content: Content,
    /// `lsattr -d` and `lsattr -vd` of the path, and whether the host has `chattr`
    /// ([`super::file_attrs`]).
    pub attributes: bool,
}

impl<'a> Probe<'a> {
    /// Stat only, not following links.
    pub fn stat(path: &'a str) -> Probe<'a> {
        Probe {
            path,
            follow: false,
            checksum: None,
            content: Content::None,
            attributes: false,
        }
    }

    /// Stat and sha1 checksum.
    pub fn sha1(path: &'a str) -> Probe<'a> {
        Probe {
            checksum: Some("1"),
            ..Probe::stat(path)
        }
    }
}

/// A file type, from the mode bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Directory,
    Link,
    Block,
    Char,
    Fifo,
    Socket,
    Other,
}

impl Kind {
    fn from_mode(raw: u32) -> Kind {
        match raw & 0o170000 {
            0o100000 => Kind::File,
            0o040000 => Kind::Directory,
            0o120000 => Kind::Link,
            0o060000 => Kind::Block,
            0o020000 => Kind::Char,
            0o010000 => Kind::Fifo,
            0o140000 => Kind::Socket,
            _ => Kind::Other,
        }
    }

    /// The name Ansible's file module uses for the state (`file`, `directory`, `link`, ...).
    pub fn state_name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Link => "link",
            _ => "file",
        }
    }
}

/// What a probe learnt about one path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub exists: bool,
    pub kind: Option<Kind>,
    /// Permission bits (0o7777).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
    /// Hex digest, if asked for and readable.
    pub checksum: Option<String>,
    /// `readlink` of a symlink.
    pub link_target: Option<String>,
    pub readable: bool,
    pub writeable: bool,
    pub executable: bool,
    /// The flags field of `lsattr -d` (dashes kept), if asked for and `lsattr` could tell.
    pub attr_flags: Option<String>,
    /// The version field of `lsattr -vd`, if asked for and `lsattr` could tell.
    pub attr_version: Option<String>,
    /// The host has `chattr` (asked for with the attributes).
    pub chattr: bool,
}

impl Info {
    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.kind == Some(Kind::File)
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Some(Kind::Directory)
    }

    /// A symlink (only when not followed).
    pub fn is_link(&self) -> bool {
        self.kind == Some(Kind::Link)
    }

    /// The mode as Ansible prints it: `'0644'`.
    pub fn mode_str(&self) -> String {
        format!("{:04o}", self.mode)
    }

    /// `r` with what Ansible's `add_path_info` (module_utils/basic.py of ansible-core 2.19.14)
    /// adds to a module's result about the path it worked on: `uid`, `gid`, `owner`, `group`,
    /// `mode` (`'0%03o'`), `state` (`link`, `directory`, `hard` for a file of several links,
    /// else `file`) and `size`; `state: absent` for a path that is not there.
    pub fn add_path_info(&self, r: ModuleResult) -> ModuleResult {
        if !self.exists {
            return r.with("state", "absent");
        }
        let state = match self.kind {
            Some(Kind::Link) => "link",
            Some(Kind::Directory) => "directory",
            _ if self.nlink > 1 => "hard",
            _ => "file",
        };
        r.with("uid", self.uid)
            .with("gid", self.gid)
            .with("owner", self.owner.clone())
            .with("group", self.group.clone())
            .with("mode", format!("0{:03o}", self.mode))
            .with("state", state)
            .with("size", self.size)
    }
}

/// The script for `probes`.
pub fn probe_script(probes: &[Probe<'_>]) -> String {
    let mut s = String::from(PRELUDE);
    for p in probes {
        let l = if p.follow { "-L" } else { "''" };
        s.push_str(&format!(
            "p={}\nif [ -e \"$p\" ] || [ -L \"$p\" ]; then echo e=1; printf 's=%s\\n' \"$(_cf_stat {l} \"$p\")\"\n",
            qpath(p.path)
        ));
        if let Some(alg) = p.checksum {
            s.push_str(&format!(
                "if [ -f \"$p\" ] && [ -r \"$p\" ]; then printf 'k=%s\\n' \"$(_cf_sum {alg} \"$p\")\"; fi\n"
            ));
        }
        if p.attributes {
            // The first field of each, as Ansible's `out.split()` takes it.
            s.push_str(
                "if command -v lsattr >/dev/null 2>&1; then \
                 t=$(lsattr -d \"$p\" 2>/dev/null) && printf 't=%s\\n' \"${t%%[ \t]*}\"; \
                 t=$(lsattr -vd \"$p\" 2>/dev/null) && printf 'v=%s\\n' \"${t%%[ \t]*}\"; fi\n\
                 command -v chattr >/dev/null 2>&1 && echo c=1\n",
            );
        }
        s.push_str(
            "if [ -L \"$p\" ]; then printf 'l=%s\\n' \"$(readlink \"$p\")\"; fi\n\
             a=; [ -r \"$p\" ] && a=r; [ -w \"$p\" ] && a=${a}w; [ -x \"$p\" ] && a=${a}x; printf 'a=%s\\n' \"$a\"\n\
             else echo e=0; fi\necho ']'\n",
        );
    }
    // Content of the first regular file among the probes that ask for it.
    let mut first = true;
    for p in probes.iter().filter(|p| p.content != Content::None) {
        let size = match p.content {
            Content::Small => format!(
                " && [ \"$(wc -c < {q})\" -le {MAX_DIFF_SIZE} ]",
                q = qpath(p.path)
            ),
            _ => String::new(),
        };
        s.push_str(&format!(
            "{} [ -f {q} ]{size}; then echo data; cat {q} || exit 3\n",
            if first { "if" } else { "elif" },
            q = qpath(p.path)
        ));
        first = false;
    }
    if !first {
        s.push_str("fi\n");
    }
    s
}

/// What a probe script printed.
#[derive(Debug, Clone, Default)]
pub struct Probed {
    pub infos: Vec<Info>,
    /// The content of the first regular file among the probes asking for it.
    pub content: Option<Vec<u8>>,
}

/// Why a probe script's output cannot be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// A line that is not `key=value` with a known key.
    #[error("unexpected probe output line: {0:?}")]
    Line(String),
    /// Fewer (or more) blocks than paths probed: the script failed part way.
    #[error(
        "could not inspect the path(s) on the host (rc={rc:?}){}",
        if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
    )]
    Incomplete { rc: Option<i32>, stderr: String },
    /// The `stat` line does not have its 12 fields.
    #[error("cannot read `stat` output: {0:?} (neither GNU nor BSD stat?)")]
    Stat(String),
    /// One `stat` field is not a number.
    #[error("cannot read {field} in `stat` output: {line:?}")]
    StatField { field: &'static str, line: String },
}

/// Parses a probe script's output; `n` blocks are expected.
pub fn parse_probe(out: &RemoteOutput, n: usize) -> Result<Probed, ProbeError> {
    let bytes = &out.stdout;
    let mut infos = Vec::new();
    let mut cur = Info::default();
    let mut pos = 0;
    let mut content = None;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i);
        let line = String::from_utf8_lossy(&bytes[pos..end]).into_owned();
        pos = (end + 1).min(bytes.len());
        if line == "data" && infos.len() == n {
            content = Some(bytes[pos..].to_vec());
            break;
        }
        if line == "]" {
            infos.push(std::mem::take(&mut cur));
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(ProbeError::Line(line));
        };
        match k {
            "e" => cur.exists = v == "1",
            "s" => parse_stat(v, &mut cur)?,
            "k" if !v.is_empty() => cur.checksum = Some(v.to_owned()),
            "k" => {}
            "l" => cur.link_target = Some(v.to_owned()),
            "t" => cur.attr_flags = Some(v.to_owned()),
            "v" => cur.attr_version = Some(v.to_owned()),
            "c" => cur.chattr = v == "1",
            "a" => {
                cur.readable = v.contains('r');
                cur.writeable = v.contains('w');
                cur.executable = v.contains('x');
            }
            _ => return Err(ProbeError::Line(line)),
        }
    }
    if infos.len() != n {
        return Err(ProbeError::Incomplete {
            rc: out.rc,
            stderr: out.stderr_text(),
        });
    }
    Ok(Probed { infos, content })
}

/// An existing path's [`Info`] from one `_cf_stat` line (see [`PRELUDE`]).
pub fn stat_info(line: &str) -> Result<Info, ProbeError> {
    let mut info = Info {
        exists: true,
        ..Info::default()
    };
    parse_stat(line, &mut info)?;
    Ok(info)
}

/// `mode_hex|uid|gid|user|group|size|atime|mtime|ctime|inode|dev|nlink`.
fn parse_stat(v: &str, info: &mut Info) -> Result<(), ProbeError> {
    let f: Vec<&str> = v.split('|').collect();
    if f.len() != 12 {
        return Err(ProbeError::Stat(v.to_owned()));
    }
    let bad = |field: &'static str| ProbeError::StatField {
        field,
        line: v.to_owned(),
    };
    let raw = u32::from_str_radix(f[0], 16).map_err(|_| bad("mode"))?;
    info.kind = Some(Kind::from_mode(raw));
    info.mode = raw & 0o7777;
    info.uid = f[1].parse().map_err(|_| bad("uid"))?;
    info.gid = f[2].parse().map_err(|_| bad("gid"))?;
    info.owner = f[3].to_owned();
    info.group = f[4].to_owned();
    info.size = f[5].parse().map_err(|_| bad("size"))?;
    info.atime = f[6].parse().map_err(|_| bad("atime"))?;
    info.mtime = f[7].parse().map_err(|_| bad("mtime"))?;
    info.ctime = f[8].parse().map_err(|_| bad("ctime"))?;
    info.inode = f[9].parse().map_err(|_| bad("inode"))?;
    info.dev = f[10].parse().map_err(|_| bad("dev"))?;
    info.nlink = f[11].parse().map_err(|_| bad("nlink"))?;
    Ok(())
}

/// Runs probes in one round trip.
pub async fn probe<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    probes: &[Probe<'_>],
) -> Result<Probed, ModuleResult> {
    let out = call(ctx, &probe_script(probes), None, None).await?;
    if out.rc != Some(0) {
        return Err(ModuleResult::fail(format!(
            "could not inspect {} on the host (rc={:?}): {}",
            probes.iter().map(|p| p.path).collect::<Vec<_>>().join(", "),
            out.rc,
            out.stderr_text()
        )));
    }
    parse_probe(&out, probes.len()).map_err(|e| ModuleResult::fail(e.to_string()))
}

/// How to write a file atomically from stdin.
#[derive(Debug, Clone, Default)]
pub struct Write<'a> {
    pub dest: &'a str,
    /// Final permission bits (`None`: `0666` less the remote umask, as a new file gets).
    pub mode: Option<u32>,
    /// `owner`/`group` to set (names or ids); failures are errors.
    pub owner: Option<&'a str>,
    pub group: Option<&'a str>,
    /// Existing `uid:gid` to keep when replacing a file; failures are ignored (non-root).
    pub keep_ids: Option<(u32, u32)>,
    /// Copy the old file to `dest.<pid>.<date>@<time>~` first (prints `backup=PATH`).
    pub backup: bool,
    /// Ansible's `validate`: a command with `%s`, run on the temporary file.
    pub validate: Option<&'a str>,
    /// Create missing parent directories (lineinfile `create`).
    pub make_parents: bool,
    /// If dest is a symlink, write to its final target instead of replacing the link.
    pub follow_links: bool,
}

/// The script for [`Write`]; the content comes on stdin. Exit 91: validation failed.
pub fn write_script(w: &Write<'_>) -> String {
    let mut s = format!("{PRELUDE}p={}\n", qpath(w.dest));
    if w.follow_links {
        // `readlink -f` is missing on older macOS: resolve one link at a time (at most 40).
        s.push_str(
            "n=0; while [ -L \"$p\" ] && [ $n -lt 40 ]; do l=$(readlink \"$p\"); \
             case $l in /*) p=$l ;; *) p=$(dirname \"$p\")/$l ;; esac; n=$((n+1)); done\n",
        );
    }
    s.push_str("d=$(dirname \"$p\")\n");
    if w.make_parents {
        s.push_str("mkdir -p \"$d\" || exit 1\n");
    } else {
        s.push_str(
            "[ -d \"$d\" ] || { printf 'Destination directory %s does not exist\\n' \"$d\" >&2; exit 1; }\n",
        );
    }
    s.push_str(
        "t=$(mktemp \"$d/.clearfleet.XXXXXXXX\") || exit 1\n\
         trap 'rm -f \"$t\"' EXIT\n\
         cat > \"$t\" || exit 1\n",
    );
    if let Some(v) = w.validate {
        let cmd = v.replace("%s", "\"$t\"");
        s.push_str(&format!("( {cmd} ) >&2 || exit 91\n"));
    }
    match w.mode {
        Some(m) => s.push_str(&format!("chmod {m:o} \"$t\" || exit 1\n")),
        None => s.push_str("chmod \"$(printf '%o' $((0666 & ~$(umask))))\" \"$t\" || exit 1\n"),
    }
    if let Some((uid, gid)) = w.keep_ids {
        s.push_str(&format!("chown {uid}:{gid} \"$t\" 2>/dev/null\n"));
    }
    match (w.owner, w.group) {
        (Some(o), Some(g)) => s.push_str(&format!(
            "chown {} \"$t\" || exit 1\n",
            quote(&format!("{o}:{g}"))
        )),
        (Some(o), None) => s.push_str(&format!("chown {} \"$t\" || exit 1\n", quote(o))),
        (None, Some(g)) => s.push_str(&format!("chgrp {} \"$t\" || exit 1\n", quote(g))),
        (None, None) => {}
    }
    if w.backup {
        s.push_str(
            "if [ -f \"$p\" ]; then b=\"$p.$$.$(date +%Y-%m-%d@%H:%M:%S)~\"; cp -p \"$p\" \"$b\" || exit 1; printf 'backup=%s\\n' \"$b\"; fi\n",
        );
    }
    s.push_str("mv -f \"$t\" \"$p\" || exit 1\ntrap - EXIT\n");
    // Where the content was staged (Ansible's `src` of a write) and the file as written.
    s.push_str("printf 'staged=%s\\nstat=%s\\n' \"$t\" \"$(_cf_stat '' \"$p\")\"\n");
    // Who wrote it, for the attributes a new file gets (see [`Written`]).
    s.push_str(
        "printf 'umask=%s\\nids=%s|%s|%s|%s\\n' \"$(umask)\" \"$(id -un 2>/dev/null)\" \"$(id -u)\" \"$(id -gn 2>/dev/null)\" \"$(id -g)\"\n",
    );
    s
}

/// What [`write_reporting`] learnt: the backup made, and what a new file gets without a
/// `mode`/`owner`/`group` (the writer's umask, user and group), as Ansible compares them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub backup: Option<String>,
    /// The temporary file the content went through before it was moved into place.
    pub staged: Option<String>,
    /// The file as written (`None`: its `stat` could not be read).
    pub stat: Option<Info>,
    pub umask: Option<u32>,
    /// `(name, id)` of the writing user and of its group.
    pub user: Option<(String, String)>,
    pub group: Option<(String, String)>,
}

impl Written {
    /// Whether a file this write created differs from what `mode`, `owner`, `group` ask
    /// (Ansible's `set_file_attributes_if_different` after `atomic_move` of a new file).
    pub fn new_file_differs(
        &self,
        mode: Option<u32>,
        owner: Option<&str>,
        group: Option<&str>,
    ) -> bool {
        let differs = |want: Option<&str>, have: &Option<(String, String)>| {
            want.is_some_and(|w| have.as_ref().is_some_and(|(n, i)| w != n && w != i))
        };
        mode.is_some_and(|m| self.umask.is_some_and(|u| m != 0o666 & !u))
            || differs(owner, &self.user)
            || differs(group, &self.group)
    }

    fn parse(stdout: &[u8]) -> Written {
        let mut w = Written::default();
        for l in String::from_utf8_lossy(stdout).lines() {
            if let Some(b) = l.strip_prefix("backup=") {
                w.backup = Some(b.to_owned());
            } else if let Some(t) = l.strip_prefix("staged=") {
                w.staged = Some(t.to_owned());
            } else if let Some(st) = l.strip_prefix("stat=") {
                w.stat = stat_info(st).ok();
            } else if let Some(u) = l.strip_prefix("umask=") {
                w.umask = u32::from_str_radix(u.trim(), 8).ok();
            } else if let Some(ids) = l.strip_prefix("ids=") {
                let f: Vec<&str> = ids.split('|').collect();
                if let [un, u, gn, g] = f[..] {
                    w.user = Some((un.to_owned(), u.to_owned()));
                    w.group = Some((gn.to_owned(), g.to_owned()));
                }
            }
        }
        w
    }
}

/// Writes `content` atomically; returns the backup path, if one was made.
pub async fn write<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    w: &Write<'_>,
    content: Vec<u8>,
) -> Result<Option<String>, ModuleResult> {
    write_reporting(ctx, w, content).await.map(|w| w.backup)
}

/// [`write`], with what the write learnt ([`Written`]).
pub async fn write_reporting<R: Remote>(
    ctx: &ModuleContext<'_, R>,
    w: &Write<'_>,
    content: Vec<u8>,
) -> Result<Written, ModuleResult> {
    let out = call(ctx, &write_script(w), Some(content), None).await?;
    match out.rc {
        Some(0) => Ok(Written::parse(&out.stdout)),
        Some(91) => Err(ModuleResult {
            stderr: Some(out.stderr_text()),
            ..ModuleResult::fail(format!("failed to validate: {}", out.stderr_text()))
        }),
        _ => Err(ModuleResult::fail(format!(
            "failed to write {}: {}",
            w.dest,
            out.stderr_text()
        ))),
    }
}

/// Ansible's `checksum` of bytes: sha1 hex.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    hex(&Sha1::digest(data))
}

/// A digest in lowercase hex.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `owner`/`group` differ from what the host reports (names or numeric ids).
pub fn owner_differs(info: &Info, owner: Option<&str>, group: Option<&str>) -> bool {
    wanted_other(owner, &info.owner, info.uid).is_some()
        || wanted_other(group, &info.group, info.gid).is_some()
}

/// `wanted` (an owner or group, by name or number) when it is not `name`/`id`, the current one.
pub fn wanted_other<'a>(wanted: Option<&'a str>, name: &str, id: u32) -> Option<&'a str> {
    wanted.filter(|w| *w != name && *w != id.to_string())
}

/// Text for a diff, or a note when the content is not text.
pub fn diff_text(bytes: &[u8]) -> String {
    if bytes.contains(&0) {
        return "(binary content)\n".into();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_random_tokens_not_a_clock_or_a_pid() {
        let (a, b) = (nonce().unwrap_or_default(), nonce().unwrap_or_default());
        // 128 bits from the OS, whatever the time and the process: 32 hex digits, never
        // the same twice.
        assert_eq!((a.len(), b.len()), (32, 32), "{a} {b}");
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b);
    }

    fn out(s: &str) -> RemoteOutput {
        RemoteOutput {
            stdout: s.as_bytes().to_vec(),
            rc: Some(0),
            ..RemoteOutput::default()
        }
    }

    #[test]
    fn parses_gnu_and_bsd_shaped_output() {
        let p = parse_probe(
            &out("e=1\ns=81a4|0|0|root|root|6|1|2|3|4|5|1\nk=abc\na=rw\n]\ne=0\n]\ndata\nhi\n"),
            2,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.infos[0].mode, 0o644);
        assert!(p.infos[0].is_file() && p.infos[0].readable && !p.infos[0].executable);
        assert_eq!(p.infos[0].checksum.as_deref(), Some("abc"));
        assert!(!p.infos[1].exists);
        assert_eq!(p.content.as_deref(), Some(&b"hi\n"[..]));
        let d = parse_probe(
            &out("e=1\ns=41ed|501|20|me|staff|64|1|2|3|4|5|3\na=rwx\n]\n"),
            1,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(d.infos[0].is_dir());
        assert_eq!(d.infos[0].mode_str(), "0755");
    }

    #[test]
    fn malformed_output_is_an_error_not_a_panic() {
        for bad in [
            "",
            "e=1\ns=zz\n]\n",
            "e=1\ns=81a4|0\n]\n",
            "garbage\n",
            "e=1\n",
            "e=1\n]\n]\n",
        ] {
            assert!(parse_probe(&out(bad), 1).is_err(), "{bad:?}");
        }
    }
}

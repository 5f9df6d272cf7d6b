//! `find`'s one walk of the host: a POSIX sh script running `find` under each of `paths` and
//! `stat` on every entry (GNU `stat --printf`, else BSD `stat -f`), printing NUL-separated
//! records that [`parse`] turns into one [`Tree`] per path: each directory's entries in the
//! order the host lists them (the order `os.walk`'s `scandir` sees in find.py's `main()`).

use std::collections::HashMap;

use clearfleet_base::shell::quote;

use super::probe::qpath;

/// What `os.lstat` gives find.py's `statinfo()` about one entry (times with their fraction,
/// as Python's float `st_mtime`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lstat {
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// `""` where the password (group) database has no name, as `pwd.getpwuid` failing.
    pub owner: String,
    pub group: String,
    pub size: u64,
    pub atime: f64,
    pub mtime: f64,
    pub ctime: f64,
    pub inode: u64,
    pub dev: u64,
    pub nlink: u64,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub st: Lstat,
    /// `[ -d ]`: a directory, or a link to one (`os.walk` puts it among `dirs`).
    pub is_dir: bool,
    /// `[ -r ]` of such a directory: `scandir` can list it.
    pub readable: bool,
}

/// What the walk found under one of `paths`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    /// The path after `~` expansion on the host.
    pub path: String,
    /// `os.path.isdir(path)`.
    pub is_dir: bool,
    /// The path can be listed.
    pub readable: bool,
    /// Entries by the directory holding them, relative to `path` (`""`: `path` itself).
    pub children: HashMap<String, Vec<Entry>>,
}

/// Runs `stat` on its arguments, then prints `D` records for the directories among them (`r`
/// when readable). `$1` is `1` for GNU `stat`.
const STAT_BATCH: &str = r#"g=$1; shift
if [ "$g" = 1 ]; then stat --printf 'S%f|%u|%g|%U|%G|%s|%.9X|%.9Y|%.9Z|%i|%d|%h|%n\0' -- "$@"
else stat -f 'S%Xp|%u|%g|%Su|%Sg|%z|%Fa|%Fm|%Fc|%i|%d|%l|%N' -- "$@" | tr '\n' '\0'; fi
for f; do if [ -d "$f" ]; then if [ -r "$f" ]; then printf 'Dr|%s\0' "$f"; else printf 'D-|%s\0' "$f"; fi; fi; done
"#;

/// A path as the shell word that expands it as `os.path.expanduser` would: a leading `~` or
/// `~user` left unquoted (see [`super::home`]), the rest quoted.
fn shell_word(path: &str) -> String {
    match super::home::tilde_prefix(path) {
        Some(prefix) => match path[prefix.len()..].strip_prefix('/') {
            Some("") => format!("{prefix}/"),
            Some(rest) => format!("{prefix}/{}", quote(rest)),
            None => prefix.to_owned(),
        },
        None => qpath(path),
    }
}

/// The walk script: for each path, `P<expanded path>`, `N` if it is not a directory, else `Y`, `R`
/// if it can be listed and the `S`/`D` records of everything `find` reaches under it (no
/// deeper than `max_depth` levels; following links with `follow`, as find.py's
/// `os.walk(followlinks=...)`; the path itself always followed, as `os.walk` lists it).
/// An absolute path is walked from `/`: GNU find gives up in a working directory it cannot
/// enter (a become user's in root's home), where `os.walk` does not care.
pub fn script(paths: &[String], follow: bool, max_depth: Option<u32>) -> String {
    let mut s = String::from("cf_g=; stat --printf '' / >/dev/null 2>&1 && cf_g=1\n");
    let opt = if follow { "-L" } else { "-H" };
    let depth = max_depth.map_or(String::new(), |d| format!(" -maxdepth {d}"));
    for p in paths {
        s.push_str(&format!(
            "p={w}\nprintf 'P%s\\0' \"$p\"\ncase $p in -*) q=./$p ;; *) q=$p ;; esac\n\
             if [ -d \"$q\" ]; then printf 'Y\\0'; [ -r \"$q\" ] && printf 'R\\0'\n\
             case $q in /*) cf_d=/ ;; *) cf_d=. ;; esac\n\
             (cd \"$cf_d\" && find {opt} \"$q\" -mindepth 1{depth} -exec sh -c {batch} sh \"$cf_g\" {{}} +) 2>/dev/null\n\
             else printf 'N\\0'; fi\n",
            w = shell_word(p),
            batch = quote(STAT_BATCH),
        ));
    }
    s
}

/// CPython's float time from `SECONDS.NANOSECONDS` text: `sec + nsec * 1e-9` (posixmodule.c
/// `fill_time`).
fn time(t: &str) -> Option<f64> {
    let (sec, frac) = t.split_once('.').unwrap_or((t, ""));
    if sec.starts_with('-') {
        return t.parse().ok();
    }
    let sec: i64 = sec.parse().ok()?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nsec: u64 = digits.parse().ok()?;
    Some(sec as f64 + nsec as f64 * 1e-9)
}

/// An `S` record: `mode_hex|uid|gid|user|group|size|atime|mtime|ctime|inode|dev|nlink|path`.
pub(super) fn stat_record(r: &str) -> Option<(Lstat, &str)> {
    let f: Vec<&str> = r.splitn(13, '|').collect();
    let [
        mode,
        uid,
        gid,
        user,
        group,
        size,
        at,
        mt,
        ct,
        ino,
        dev,
        nlink,
        path,
    ] = f[..]
    else {
        return None;
    };
    let uid: u64 = uid.parse().ok()?;
    let gid: u64 = gid.parse().ok()?;
    // GNU `stat` prints UNKNOWN, BSD the number, where the database has no name.
    let name = |n: &str, id: u64| {
        if n == "UNKNOWN" || n == id.to_string() {
            String::new()
        } else {
            n.to_owned()
        }
    };
    let st = Lstat {
        mode: u32::from_str_radix(mode, 16).ok()?,
        uid,
        gid,
        owner: name(user, uid),
        group: name(group, gid),
        size: size.parse().ok()?,
        atime: time(at)?,
        mtime: time(mt)?,
        ctime: time(ct)?,
        inode: ino.parse().ok()?,
        dev: dev.parse().ok()?,
        nlink: nlink.parse().ok()?,
    };
    Some((st, path))
}

/// `path` relative to `top` as `find` printed it (`None`: not under it).
fn relative<'a>(path: &'a str, top: &str) -> Option<&'a str> {
    let q = if top.starts_with('-') {
        format!("./{top}")
    } else {
        top.to_owned()
    };
    let rest = path.strip_prefix(&q)?;
    let rest = rest.trim_start_matches('/');
    (!rest.is_empty()).then_some(rest)
}

/// The trees of the walk script's output (one per path, in order); `Err`: a record it cannot
/// read.
pub fn parse(out: &[u8]) -> Result<Vec<Tree>, String> {
    let mut trees: Vec<Tree> = Vec::new();
    // Per tree: the entries in order, with their relative paths; the `D` flags by path.
    let mut entries: Vec<(String, Lstat)> = Vec::new();
    let mut dirs: HashMap<String, bool> = HashMap::new();
    let finish = |t: &mut Tree, entries: &mut Vec<(String, Lstat)>, dirs: &mut HashMap<_, _>| {
        for (rel, st) in entries.drain(..) {
            let flag: Option<&bool> = dirs.get(&rel);
            let (parent, name) = rel.rsplit_once('/').unwrap_or(("", &rel));
            let e = Entry {
                name: name.to_owned(),
                st,
                is_dir: flag.is_some(),
                readable: flag.copied().unwrap_or(false),
            };
            t.children.entry(parent.to_owned()).or_default().push(e);
        }
        dirs.clear();
    };
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        let (kind, rest) = rec.split_at(1.min(rec.len()));
        match kind {
            "P" => {
                if let Some(t) = trees.last_mut() {
                    finish(t, &mut entries, &mut dirs);
                }
                trees.push(Tree {
                    path: rest.to_owned(),
                    ..Tree::default()
                });
            }
            _ => {
                let Some(t) = trees.last_mut() else {
                    return Err(format!("unexpected walk record {rec:?}"));
                };
                match kind {
                    "N" => {}
                    "Y" => t.is_dir = true,
                    "R" => t.readable = true,
                    "S" => {
                        let (st, path) = stat_record(rest)
                            .ok_or_else(|| format!("cannot read `stat` output {rest:?}"))?;
                        if let Some(rel) = relative(path, &t.path) {
                            entries.push((rel.to_owned(), st));
                        }
                    }
                    "D" => {
                        let (flag, path) = rest.split_once('|').unwrap_or(("", rest));
                        if let Some(rel) = relative(path, &t.path) {
                            dirs.insert(rel.to_owned(), flag == "r");
                        }
                    }
                    _ => return Err(format!("unexpected walk record {rec:?}")),
                }
            }
        }
    }
    if let Some(t) = trees.last_mut() {
        finish(t, &mut entries, &mut dirs);
    }
    Ok(trees)
}

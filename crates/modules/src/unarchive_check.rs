//! The decisions of ansible-core 2.19.14's lib/ansible/modules/unarchive.py, made on the
//! controller from what the host printed ([`super::unarchive_host`]): the files an archive
//! holds (`files_in_archive` of the tar and zip handlers), whether it is unarchived already
//! (`TgzArchive.is_unarchived` reading `tar --diff`, `ZipArchive.is_unarchived` comparing the
//! `zipinfo` listing with the files under dest: type, time stamp, size, CRC-32, mode, owner
//! and group), and the itemized `diff` the zip handler prepares.

use std::collections::HashMap;

use clearfleet_base::glob::fnmatch;

use super::find_walk::Lstat;
use super::unarchive_attrs::FileMode;

/// Python's `codecs.escape_decode` of one line of `tar --list` (gtar escapes what its locale
/// cannot print): `\\`, `\'`, `\"`, `\a` ... `\v`, `\ooo`, `\xhh`; other bytes as they are.
pub fn escape_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        i += 2;
        match c {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(c),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match s.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hex = s
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

/// `TgzArchive.files_in_archive` from `tar --list`'s output: each line escape-decoded, a
/// leading `/` dropped, and the names an `exclude` pattern (its trailing `/` stripped)
/// matches left out.
pub fn tar_files(out: &[u8], excludes: &[String]) -> Vec<String> {
    let excludes: Vec<&str> = excludes.iter().map(|e| e.trim_end_matches('/')).collect();
    lines(out)
        .into_iter()
        .map(|l| String::from_utf8_lossy(&escape_decode(l)).into_owned())
        .map(|f| f.strip_prefix('/').map(str::to_owned).unwrap_or(f))
        .filter(|f| !excludes.iter().any(|e| fnmatch(e, f)))
        .collect()
}

/// Python's `str.splitlines()` of the common line ends.
fn lines(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            out.push(&b[start..i]);
            if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    if start < b.len() {
        out.push(&b[start..]);
    }
    out
}

/// What `file_args` ask of the extracted files (only whether each is given matters to tar).
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked {
    pub owner: bool,
    pub group: bool,
    pub mode: bool,
}

/// `TgzArchive.is_unarchived`: the lines of `tar --diff` (its stdout, then its stderr) that
/// say the archive and the files differ in something the task does not set anyway.
pub fn tar_unarchived(out: &str, err: &str, root: bool, asked: Asked) -> bool {
    const DIFFER: &[&str] = &[
        ": Mod time differs",
        ": Symlink differs",
        ": Contents differ",
        ": Size differs",
    ];
    let differs = |line: &str| {
        if line.ends_with(": : Warning: Cannot stat: No such file or directory") {
            return false;
        }
        (root && !asked.owner && line.ends_with(": Uid differs"))
            || (root && !asked.group && line.ends_with(": Gid differs"))
            || (!asked.mode && line.ends_with(": Mode differs"))
            || DIFFER.iter().any(|d| line.ends_with(d))
            || line.ends_with(": Warning: Cannot stat: No such file or directory")
            || line.contains(": Invalid owner")
            || line.contains(": Invalid group")
    };
    !out.lines().chain(err.lines()).any(differs)
}

/// `ZipArchive.files_in_archive` from the archive's names in order (`unzip -Z1`): those an
/// `include` pattern matches (once per pattern that does), else those no `exclude` matches.
pub fn zip_files(names: &str, includes: &[String], excludes: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for member in names.lines() {
        if !includes.is_empty() {
            for inc in includes {
                if fnmatch(inc, member) {
                    out.push(member.to_owned());
                }
            }
        } else if !excludes.iter().any(|e| fnmatch(e, member)) {
            out.push(member.to_owned());
        }
    }
    out
}

/// The CRC-32 of each member, from `unzip -v`'s listing (`Length Method Size Cmpr Date Time
/// CRC-32 Name`).
pub fn zip_crcs(listing: &str) -> HashMap<String, u32> {
    listing
        .lines()
        .filter_map(|l| {
            let f = split_ws(l, 7);
            let [len, _, _, _, _, _, crc, name] = f[..] else {
                return None;
            };
            if !len.bytes().all(|b| b.is_ascii_digit()) || crc.len() != 8 {
                return None;
            }
            Some((name.to_owned(), u32::from_str_radix(crc, 16).ok()?))
        })
        .collect()
}

/// Python's `s.split(None, max)`.
fn split_ws(s: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if out.len() == max {
            out.push(rest);
            break;
        }
        match rest.find(char::is_whitespace) {
            Some(at) => {
                out.push(&rest[..at]);
                rest = rest[at..].trim_start();
            }
            None => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// What the host said about one member's path under dest.
#[derive(Debug, Clone, PartialEq)]
pub struct Present {
    pub st: Lstat,
    /// The CRC-32 of a regular file (`None`: it could not be read).
    pub crc: Option<u32>,
}

/// A user or group: its name (`None`: the database has none) and id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id {
    pub name: Option<String>,
    pub id: u64,
}

/// The host's side of `ZipArchive.is_unarchived`.
#[derive(Debug, Clone, Default)]
pub struct ZipHost {
    /// `zipinfo -T -s`'s exit status and output.
    pub rc: i32,
    pub listing: String,
    /// The time stamp of each listing line as `time.mktime` reads it (`None`: not a member
    /// line, or the host could not tell: then UTC).
    pub stamps: Vec<Option<i64>>,
    /// The members found under dest (a member not here is missing).
    pub present: HashMap<String, Present>,
    /// CRC-32 of the members ([`zip_crcs`]).
    pub crcs: HashMap<String, u32>,
    pub umask: u32,
    /// `platform.system()` names a BSD.
    pub bsd: bool,
    pub run_user: Id,
    pub run_group: Id,
    /// `os.getgroups()`.
    pub groups: Vec<u64>,
    /// The owner and group the files are to have (`fut_owner`, `fut_group`).
    pub fut_user: Id,
    pub fut_group: Id,
}

/// What `ZipArchive.is_unarchived` concluded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZipVerdict {
    pub unarchived: bool,
    /// The itemized changes (`res_args['diff']['prepared']` when not empty).
    pub diff: String,
    /// `exclude` with the newer files `keep_newer` keeps.
    pub excludes: Vec<String>,
}

/// Why `is_unarchived` stopped: a failure (`msg`, and `path` as fail_json gets it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipFailure {
    pub msg: String,
    pub path: Option<String>,
}

/// `_valid_time_stamp` in UTC (the host's `mktime` unknown): `YYYYMMDD.hhmmss`, clamped.
fn utc_stamp(ts: &str) -> i64 {
    let digits = |r: std::ops::Range<usize>| ts.get(r).and_then(|d| d.parse::<i64>().ok());
    let fields = (|| {
        if ts.len() != 15 || ts.as_bytes()[8] != b'.' {
            return None;
        }
        Some([
            digits(0..4)?,
            digits(4..6)?,
            digits(6..8)?,
            digits(9..11)?,
            digits(11..13)?,
            digits(13..15)?,
        ])
    })();
    let [y, mo, d, h, mi, s] = match fields {
        Some([y, ..]) if y < 1980 => [1980, 1, 1, 0, 0, 0],
        Some([y, ..]) if y > 2107 => [2107, 12, 31, 23, 59, 59],
        Some(f) => f,
        None => [1980, 1, 1, 0, 0, 0],
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + h * 3600 + mi * 60 + s
}

/// `_permstr_to_octal`.
fn permstr_to_octal(perms: &str, umask: u32) -> u32 {
    let rev: Vec<char> = perms.chars().rev().collect();
    let mut mode = 0;
    for j in 0..3 {
        for i in 0..3 {
            if rev
                .get(i + 3 * j)
                .is_some_and(|c| ['r', 'w', 'x', 's', 't'].contains(c))
            {
                mode += 1 << (i + 3 * j);
            }
        }
    }
    mode & !umask
}

/// Whether `perms` is `([r-][w-][SsTtx-]){3}` at its start (ZIP_FILE_MODE_RE.match).
fn zip_mode_ok(perms: &str) -> bool {
    let c: Vec<char> = perms.chars().collect();
    c.len() >= 9
        && (0..3).all(|k| {
            matches!(c[3 * k], 'r' | '-')
                && matches!(c[3 * k + 1], 'w' | '-')
                && matches!(c[3 * k + 2], 'S' | 's' | 'T' | 't' | 'x' | '-')
        })
}

/// `ZipArchive.is_unarchived`, line by line of the listing.
pub fn zip_unarchived(
    host: &ZipHost,
    mode: Option<&FileMode>,
    keep_newer: bool,
    excludes: &[String],
) -> Result<ZipVerdict, ZipFailure> {
    let mut unarchived = host.rc == 0;
    let mut excludes = excludes.to_vec();
    let mut includes: Vec<String> = Vec::new();
    let mut diff = String::new();
    let root = host.run_user.id == 0;
    let run_owner = host
        .run_user
        .name
        .clone()
        .unwrap_or_else(|| host.run_user.id.to_string());
    let mut ftype = 'f';
    for (n, line) in host.listing.lines().enumerate() {
        let pcs = split_ws(line, 7);
        if pcs.len() != 8 {
            continue;
        }
        if ![7, 8, 10].contains(&pcs[0].chars().count()) || pcs[6].chars().count() != 15 {
            continue;
        }
        let mut chars = pcs[0].chars();
        let ztype = chars.next().unwrap_or(' ');
        let mut permstr: String = chars.collect();
        if !"dl-?".contains(ztype) || !permstr.chars().all(|c| "rwxstah-".contains(c)) {
            continue;
        }
        let size: u64 = pcs[3].parse().unwrap_or(0);
        let path = pcs[7];
        if excludes.iter().any(|e| e == path) {
            continue;
        }
        if path.ends_with('/') {
            ftype = 'd';
        } else if ztype == 'l' {
            ftype = 'L';
        } else if ztype == '-' || ztype == '?' {
            ftype = 'f';
        }
        let file_umask = match permstr.chars().count() {
            6 => {
                permstr = if path.ends_with('/') || permstr == "rwx---" {
                    "rwxrwxrwx".into()
                } else {
                    "rw-rw-rw-".into()
                };
                host.umask
            }
            7 => {
                permstr = if permstr == "rwxa---" {
                    "rwxrwxrwx".into()
                } else {
                    "rw-rw-rw-".into()
                };
                host.umask
            }
            _ if host.bsd => host.umask,
            _ => 0,
        };
        if permstr.chars().count() != 9 || !zip_mode_ok(&permstr) {
            return Err(ZipFailure {
                msg: format!("ZIP info perm format incorrect, {permstr}"),
                path: None,
            });
        }
        let Some(found) = host.present.get(path) else {
            includes.push(path.to_owned());
            diff.push_str(&format!(">{ftype}++++++.?? {path}\n"));
            continue;
        };
        let st = &found.st;
        let kind = st.mode & 0o170000;
        let (is_dir, is_reg, is_link) = (kind == 0o040000, kind == 0o100000, kind == 0o120000);
        let wrong =
            (ftype == 'd' && !is_dir) || (ftype == 'f' && !is_reg) || (ftype == 'L' && !is_link);
        if wrong {
            if ftype == 'f' {
                unarchived = false;
            }
            includes.push(path.to_owned());
            diff.push_str(&format!("c{ftype}++++++.?? {path}\n"));
            continue;
        }
        let mut change = false;
        let mut itemized: Vec<char> = format!(".{ftype}.......??").chars().collect();
        let stamp = host
            .stamps
            .get(n)
            .copied()
            .flatten()
            .unwrap_or_else(|| utc_stamp(pcs[6])) as f64;
        if is_reg {
            if keep_newer {
                if stamp > st.mtime {
                    change = true;
                    includes.push(path.to_owned());
                    itemized[4] = 't';
                } else if stamp < st.mtime {
                    excludes.push(path.to_owned());
                    continue;
                }
            } else if stamp != st.mtime {
                change = true;
                includes.push(path.to_owned());
                itemized[4] = 't';
            }
            if size != st.size {
                change = true;
                itemized[3] = 's';
            }
            if found.crc != host.crcs.get(path).copied() || found.crc.is_none() {
                change = true;
                itemized[2] = 'c';
            }
        }
        if ftype != 'L' {
            let want = match mode {
                Some(m) => m
                    .resolve(st.mode, is_dir, host.umask)
                    .map_err(|msg| ZipFailure {
                        msg,
                        path: Some(path.to_owned()),
                    })?,
                None if ztype == '?' => permstr_to_octal(&permstr, 0),
                None => permstr_to_octal(&permstr, file_umask),
            };
            if want != st.mode & 0o7777 {
                change = true;
                itemized[5] = 'p';
            }
        }
        let fut_owner = host
            .fut_user
            .name
            .clone()
            .unwrap_or_else(|| host.fut_user.id.to_string());
        if !root && (fut_owner != run_owner || host.fut_user.id != host.run_user.id) {
            return Err(ZipFailure {
                msg: format!(
                    "Cannot change ownership of {path} to {fut_owner}, as user {run_owner}"
                ),
                path: None,
            });
        }
        // By name, or by id where the database has no name (an id 0 never differs there).
        let owner_differs = match st.owner.is_empty() {
            false => st.owner != fut_owner,
            true => st.uid != 0 && st.uid != host.fut_user.id,
        };
        if owner_differs {
            change = true;
            itemized[6] = 'o';
        }
        let fut_group = host
            .fut_group
            .name
            .clone()
            .unwrap_or_else(|| host.fut_group.id.to_string());
        let run_group = host
            .run_group
            .name
            .clone()
            .unwrap_or_else(|| host.run_group.id.to_string());
        if !root
            && (fut_group != run_group || host.fut_group.id != host.run_group.id)
            && !host.groups.contains(&host.fut_group.id)
        {
            return Err(ZipFailure {
                msg: format!(
                    "Cannot change group ownership of {path} to {fut_group}, as user {run_owner}"
                ),
                path: None,
            });
        }
        let group_differs = match st.group.is_empty() {
            false => st.group != fut_group,
            true => st.gid != 0 && st.gid != host.fut_group.id,
        };
        if group_differs {
            change = true;
            itemized[6] = 'g';
        }
        if change {
            if !includes.iter().any(|i| i == path) {
                includes.push(path.to_owned());
            }
            diff.push_str(&format!("{} {path}\n", itemized.iter().collect::<String>()));
        }
    }
    if !includes.is_empty() {
        unarchived = false;
    }
    Ok(ZipVerdict {
        unarchived,
        diff,
        excludes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_names_are_escape_decoded_and_filtered() {
        let out = b"d/\nd/caf\\303\\251.txt\n/abs/x\nd/skip.log\n";
        assert_eq!(
            tar_files(out, &["*.log/".to_owned()]),
            vec!["d/", "d/caf\u{e9}.txt", "abs/x"]
        );
        assert_eq!(
            escape_decode(b"a\\tb\\\\c\\x41\\q"),
            b"a\tb\\cA\\q".to_vec()
        );
    }

    #[test]
    fn tar_diff_lines_that_count() {
        let asked = Asked::default();
        assert!(tar_unarchived("", "", true, asked));
        assert!(!tar_unarchived(
            "d/a.txt: Mod time differs\n",
            "",
            true,
            asked
        ));
        assert!(!tar_unarchived("d/a.txt: Uid differs\n", "", true, asked));
        assert!(tar_unarchived("d/a.txt: Uid differs\n", "", false, asked));
        let owned = Asked {
            owner: true,
            mode: true,
            ..Asked::default()
        };
        assert!(tar_unarchived(
            "x: Uid differs\nx: Mode differs\n",
            "",
            true,
            owned
        ));
        assert!(!tar_unarchived(
            "",
            "tar: x: Warning: Cannot stat: No such file or directory\n",
            true,
            asked
        ));
        assert!(tar_unarchived(
            "",
            "tar: : Warning: Cannot stat: No such file or directory\n",
            true,
            asked
        ));
    }

    #[test]
    fn zip_members_by_include_and_exclude() {
        let names = "d/\nd/a.txt\nd/b.log\n";
        assert_eq!(
            zip_files(names, &[], &["*.log".into()]),
            vec!["d/", "d/a.txt"]
        );
        assert_eq!(
            zip_files(names, &["d/*".into(), "*.txt".into()], &[]),
            vec!["d/", "d/a.txt", "d/a.txt", "d/b.log"]
        );
    }

    #[test]
    fn zip_listings() {
        let v = "Archive:  a.zip\n Length   Method    Size  Cmpr    Date    Time   CRC-32   Name\n\
                 --------  ------  ------- ---- ---------- ----- --------  ----\n\
                        6  Stored        6   0% 2026-12-07 04:00 dd3861a8  d/sub/my b.txt\n";
        assert_eq!(zip_crcs(v).get("d/sub/my b.txt"), Some(&0xdd38_61a8));
        assert_eq!(utc_stamp("20170511.153000"), 1_494_516_600);
        assert_eq!(utc_stamp("19700101.000000"), utc_stamp("19800101.000000"));
        assert_eq!(permstr_to_octal("rw-r--r--", 0), 0o644);
        assert_eq!(permstr_to_octal("rwxrwxrwx", 0o022), 0o755);
    }

    fn file(mode: u32, mtime: f64, size: u64, crc: u32) -> Present {
        Present {
            st: Lstat {
                mode,
                mtime,
                size,
                owner: "root".into(),
                group: "root".into(),
                ..Lstat::default()
            },
            crc: Some(crc),
        }
    }

    #[test]
    fn zip_members_compared_with_the_files() {
        let root = Id {
            name: Some("root".into()),
            id: 0,
        };
        let mut host = ZipHost {
            listing: "drwxr-xr-x  3.0 unx        0 bx stor 20170511.153000 d/\n\
                      -rw-r--r--  3.0 unx        6 tx stor 20170511.153000 d/a.txt\n\
                      -rw-r--r--  3.0 unx        6 tx stor 20170511.153000 d/b.txt\n"
                .into(),
            run_user: root.clone(),
            run_group: root.clone(),
            fut_user: root.clone(),
            fut_group: root,
            ..ZipHost::default()
        };
        host.crcs = [("d/a.txt".to_owned(), 7), ("d/b.txt".to_owned(), 8)].into();
        host.present
            .insert("d/".into(), file(0o040755, 1.0, 4096, 0));
        host.present
            .insert("d/a.txt".into(), file(0o100644, 1_494_516_600.0, 6, 7));
        let v = zip_unarchived(&host, None, false, &[]).unwrap_or_default();
        assert!(!v.unarchived);
        assert_eq!(v.diff, ">f++++++.?? d/b.txt\n");
        host.present
            .insert("d/b.txt".into(), file(0o100600, 1_494_516_601.5, 5, 9));
        let v = zip_unarchived(&host, None, false, &[]).unwrap_or_default();
        assert_eq!(v.diff, ".fcstp...?? d/b.txt\n");
        host.present
            .insert("d/b.txt".into(), file(0o100644, 1_494_516_600.0, 6, 8));
        let v = zip_unarchived(&host, None, false, &[]).unwrap_or_default();
        assert!(v.unarchived, "{v:?}");
        assert_eq!(v.diff, "");
    }
}

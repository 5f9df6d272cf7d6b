//! The controller side of a recursive `copy`: which files, directories and symlinks of a source
//! directory go where, as the action's `_walk_dirs` (plugins/action/copy.py of ansible-core
//! 2.19.14) finds them: `src/` copies the contents, `src` the directory itself; `local_follow`
//! follows links (a link back into the copy stays a link), or recreates every link as a link.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// What to copy: `(controller path, path relative to dest)` for files and directories,
/// `(link target, path relative to dest)` for symlinks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walked {
    pub files: Vec<(PathBuf, String)>,
    pub directories: Vec<(PathBuf, String)>,
    pub symlinks: Vec<(String, String)>,
}

type Id = (u64, u64);

fn id(p: &Path) -> io::Result<Id> {
    let m = fs::metadata(p)?;
    Ok((m.dev(), m.ino()))
}

fn is_link(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

fn readlink(p: &Path) -> io::Result<String> {
    Ok(fs::read_link(p)?.to_string_lossy().into_owned())
}

/// An OS error worded as Python's `OSError` (`[Errno 2] No such file or directory: ''`).
fn python_error(e: &io::Error, path: &str) -> io::Error {
    let text = e.to_string();
    let reason = text.split(" (os error").next().unwrap_or(&text);
    match e.raw_os_error() {
        Some(n) => io::Error::new(e.kind(), format!("[Errno {n}] {reason}: '{path}'")),
        None => io::Error::new(e.kind(), text.clone()),
    }
}

/// `_walk_dirs(topdir, local_follow=...)`: `trailing_slash` is whether `src` ended with `/`.
pub fn walk_dirs(topdir: &Path, trailing_slash: bool, local_follow: bool) -> io::Result<Walked> {
    let mut w = Walked::default();
    let strip = if trailing_slash {
        topdir.to_path_buf()
    } else {
        topdir.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let name = || {
        topdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if is_link(topdir) && !local_follow {
        w.symlinks.push((readlink(topdir)?, name()));
        return Ok(w);
    }
    let parents = HashSet::from([id(topdir)?]);
    walk_one(topdir, &strip, "", &parents, local_follow, &mut w)?;
    Ok(w)
}

/// The path relative to dest: `os.path.join(rel_base, filepath[rel_offset:])`.
fn rel(path: &Path, strip: &Path, rel_base: &str) -> String {
    let tail = path
        .strip_prefix(strip)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    if rel_base.is_empty() {
        tail
    } else {
        format!("{rel_base}/{tail}")
    }
}

/// One directory of `_recurse`'s `os.walk` (top-down, not following links), then its
/// subdirectories; `parents` stays the one `_recurse` was called with.
fn walk_one(
    dir: &Path,
    strip: &Path,
    rel_base: &str,
    parents: &HashSet<Id>,
    local_follow: bool,
    w: &mut Walked,
) -> io::Result<()> {
    let mut entries = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    // os.walk: a link to a directory is among the directories (is_dir follows links).
    let (subdirs, files): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|p| p.is_dir());
    for filepath in files {
        let dest = rel(&filepath, strip, rel_base);
        if is_link(&filepath) {
            match fs::canonicalize(&filepath) {
                Ok(real) if local_follow && real.is_file() => w.files.push((real, dest)),
                _ => w.symlinks.push((readlink(&filepath)?, dest)),
            }
        } else {
            w.files.push((filepath, dest));
        }
    }
    for dirpath in &subdirs {
        let dest = rel(dirpath, strip, rel_base);
        if !is_link(dirpath) {
            w.directories.push((dirpath.clone(), dest));
            continue;
        }
        if !local_follow {
            w.symlinks.push((readlink(dirpath)?, dest));
            continue;
        }
        let real_dir = fs::canonicalize(dirpath)?;
        let dir_id = id(&real_dir)?;
        if parents.contains(&dir_id) {
            // The target is already being copied: keep the link.
            w.symlinks.push((readlink(dirpath)?, dest));
            continue;
        }
        // The directories from the link up to one already known (`parent_dir_list`, joined
        // with '/' as Python does: an absolute path's first prefix is '', which fails).
        let dirname = dirpath
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parts: Vec<&str> = dirname.split('/').collect();
        let mut new_parents = HashSet::new();
        for n in (1..=parts.len()).rev() {
            let parent = parts[..n].join("/");
            let parent_id = id(Path::new(&parent)).map_err(|e| python_error(&e, &parent))?;
            if parents.contains(&parent_id) {
                break;
            }
            new_parents.insert(parent_id);
        }
        if new_parents.contains(&dir_id) {
            // A circular link.
            w.symlinks.push((readlink(dirpath)?, dest));
            continue;
        }
        w.directories.push((real_dir.clone(), dest.clone()));
        let union: HashSet<Id> = parents.union(&new_parents).copied().collect();
        walk_one(&real_dir, &real_dir, &dest, &union, local_follow, w)?;
    }
    for dirpath in subdirs.iter().filter(|d| !is_link(d)) {
        walk_one(dirpath, strip, rel_base, parents, local_follow, w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile_dir::Dir, PathBuf) {
        let d = tempfile_dir::Dir::new();
        let top = d.0.join("files/subdir");
        for p in ["sub1", "sub2/sub3", "empty"] {
            let _ = fs::create_dir_all(top.join(p));
        }
        let _ = fs::write(top.join("bar.txt"), "bar\n");
        let _ = fs::write(top.join("sub2/sub3/qux.txt"), "qux\n");
        let _ = symlink("../bar.txt", top.join("sub1/bar.txt"));
        let _ = symlink("../", top.join("sub1/circles"));
        let _ = symlink("../sub2/sub3", top.join("sub1/sub3"));
        let _ = symlink("nowhere", top.join("sub1/invalid"));
        (d, top)
    }

    /// A throwaway directory (the crate has no tempfile dependency outside its tests' dir).
    mod tempfile_dir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                let token = crate::probe::nonce().unwrap_or_default();
                let p = std::env::temp_dir().join(format!("cf-walk-{token}"));
                let _ = std::fs::create_dir_all(&p);
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn rels<T>(v: &[(T, String)]) -> Vec<&str> {
        let mut r: Vec<&str> = v.iter().map(|(_, r)| r.as_str()).collect();
        r.sort_unstable();
        r
    }

    #[test]
    fn without_local_follow_every_link_stays_a_link() {
        let (_d, top) = tree();
        let w = walk_dirs(&top, false, false).unwrap_or_default();
        assert_eq!(
            rels(&w.files),
            ["subdir/bar.txt", "subdir/sub2/sub3/qux.txt"]
        );
        assert_eq!(
            rels(&w.directories),
            [
                "subdir/empty",
                "subdir/sub1",
                "subdir/sub2",
                "subdir/sub2/sub3"
            ]
        );
        let mut links = w.symlinks.clone();
        links.sort();
        assert_eq!(
            links,
            [
                ("../".to_owned(), "subdir/sub1/circles".to_owned()),
                ("../bar.txt".into(), "subdir/sub1/bar.txt".into()),
                ("../sub2/sub3".into(), "subdir/sub1/sub3".into()),
                ("nowhere".into(), "subdir/sub1/invalid".into()),
            ]
        );
        // A trailing slash: the contents, not the directory.
        let w = walk_dirs(&top, true, false).unwrap_or_default();
        assert_eq!(rels(&w.files), ["bar.txt", "sub2/sub3/qux.txt"]);
    }

    #[test]
    fn local_follow_copies_what_links_point_to_but_not_a_circle() {
        let (_d, top) = tree();
        let w = walk_dirs(&top, true, true).unwrap_or_default();
        assert_eq!(
            rels(&w.files),
            [
                "bar.txt",
                "sub1/bar.txt",
                "sub1/sub3/qux.txt",
                "sub2/sub3/qux.txt"
            ]
        );
        assert!(rels(&w.directories).contains(&"sub1/sub3"));
        let mut links = w.symlinks.clone();
        links.sort();
        assert_eq!(
            links,
            [
                ("../".to_owned(), "sub1/circles".to_owned()),
                ("nowhere".into(), "sub1/invalid".into()),
            ]
        );
    }
}

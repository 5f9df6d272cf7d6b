//! What clearfleet writes on the controller (the `--report-dir` directory, `--log-file`) can
//! hold host output and is written to places another local user may reach: made only for the
//! operator (directories 0700, files 0600, whatever the umask) and never through a symbolic
//! link someone planted where a file or directory is to be. Files inside a directory are
//! opened relative to the directory itself (`openat`), so a link swapped in for the directory
//! after it was checked is not followed either.
//!
//! Components above the directory (`reports/` of `reports/<time>`, or an operator's own
//! `/srv/reports -> /data/reports`) are the operator's path and followed as given.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Directories clearfleet makes: only the operator may list or enter them.
pub const DIR_MODE: u32 = 0o700;
/// Files clearfleet writes: only the operator may read them.
pub const FILE_MODE: u32 = 0o600;

/// The error for a symbolic link found where clearfleet writes.
fn link_refused(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} is a symbolic link: clearfleet does not write through one (remove it or choose another path)",
            path.display()
        ),
    )
}

/// `e`, or the clearer [`link_refused`] when it says that `path` is a symbolic link.
fn explain(e: Errno, path: &Path) -> io::Error {
    // Linux says ELOOP for `O_NOFOLLOW` on a link; the BSDs say EMLINK.
    if e == Errno::LOOP || e == Errno::MLINK {
        link_refused(path)
    } else {
        io::Error::from(e)
    }
}

/// One file name of a directory: no separator, not `.` or `..`.
fn plain_name(name: &str) -> io::Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a plain file name"),
        ));
    }
    Ok(name)
}

/// Opens the directory `name` of `parent` without following a link, making it (0700) first if
/// it is missing; `new`: it must be made now (`AlreadyExists` otherwise, a link included).
fn dir_at(parent: &OwnedFd, name: &OsStr, shown: &Path, new: bool) -> io::Result<OwnedFd> {
    let made = match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(DIR_MODE)) {
        Ok(()) => true,
        Err(Errno::EXIST) if !new => false,
        Err(e) => return Err(io::Error::from(e)),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(parent, name, flags, Mode::empty()).map_err(|e| {
        // With `O_DIRECTORY`, Linux says ENOTDIR for a link: look at what is there.
        match rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                link_refused(shown)
            }
            _ => explain(e, shown),
        }
    })?;
    if made {
        // The umask may have taken bits from the mode mkdir was given.
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(DIR_MODE))?;
    }
    Ok(fd)
}

/// A directory clearfleet writes its files in, held open: see the module documentation.
#[derive(Debug)]
pub struct PrivateDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl PrivateDir {
    /// The directory `path`, made (0700, and any missing parent 0700) if it is missing, or kept
    /// as it is if it is a directory already; a symbolic link at `path` is refused.
    pub fn open_or_create(path: &Path) -> io::Result<PrivateDir> {
        PrivateDir::open(path, false)
    }

    /// The directory `path` made now (0700, any missing parent too): `AlreadyExists` if
    /// anything, a symbolic link included, is there already.
    pub fn create_new(path: &Path) -> io::Result<PrivateDir> {
        PrivateDir::open(path, true)
    }

    fn open(path: &Path, new: bool) -> io::Result<PrivateDir> {
        let (parent, name) = match (path.parent(), path.file_name()) {
            (Some(p), Some(n)) => (p, n),
            // `/`, `.` or `..`: nothing to make, and not a link.
            _ => {
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                let fd = rustix::fs::open(path, flags, Mode::empty())?;
                return Ok(PrivateDir {
                    fd,
                    path: path.to_path_buf(),
                });
            }
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(parent)?;
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let parent = rustix::fs::openat(CWD, parent, flags, Mode::empty())?;
        Ok(PrivateDir {
            fd: dir_at(&parent, name, path, new)?,
            path: path.to_path_buf(),
        })
    }

    /// The directory as named when it was opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The subdirectory `name`, made (0700) if missing; a symbolic link there is refused.
    pub fn subdir(&self, name: &str) -> io::Result<PrivateDir> {
        let path = self.path.join(plain_name(name)?);
        Ok(PrivateDir {
            fd: dir_at(&self.fd, OsStr::new(name), &path, false)?,
            path,
        })
    }

    /// Writes `bytes` as the whole of the file `name`: made with mode 0600, or an earlier one of
    /// the operator's emptied first and set to 0600. Refused: a symbolic link, anything but a
    /// regular file (a FIFO would block), a file with another hard link (writing would change
    /// the other name's file too) or one owned by someone else (its mode cannot be set).
    pub fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path.join(plain_name(name)?);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, name, flags, Mode::from_raw_mode(FILE_MODE))
            .map_err(|e| explain(e, &path))?;
        let stat = rustix::fs::fstat(&fd)?;
        let refuse = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} {why}: clearfleet does not write to it", path.display()),
            )
        };
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(refuse("is not a regular file"));
        }
        if stat.st_nlink > 1 {
            return Err(refuse("has another hard link"));
        }
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(FILE_MODE))?;
        rustix::fs::ftruncate(&fd, 0)?;
        File::from(fd).write_all(bytes)
    }

    /// The names of the regular files in this directory (links and directories left out).
    pub fn files(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let stat = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)?;
            if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile {
                names.push(name.to_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes the file `name` of this directory (a link itself, never what it points to).
    pub fn remove_file(&self, name: &str) -> io::Result<()> {
        rustix::fs::unlinkat(&self.fd, plain_name(name)?, AtFlags::empty())?;
        Ok(())
    }
}

/// Opens `path` to append to (`--log-file`): made now with mode 0600 if missing; an existing
/// file is appended to and keeps its mode (the operator's file: a log shipper may read it); a
/// symbolic link at `path` is refused.
pub fn open_append(path: &Path) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::APPEND | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(FILE_MODE);
    match rustix::fs::open(path, flags | OFlags::CREATE | OFlags::EXCL, mode) {
        Ok(fd) => {
            rustix::fs::fchmod(&fd, mode)?;
            Ok(File::from(fd))
        }
        // Made by someone before: open it as it is, still not through a link.
        Err(Errno::EXIST) => rustix::fs::open(path, flags, Mode::empty())
            .map(File::from)
            .map_err(|e| explain(e, path)),
        Err(e) => Err(explain(e, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    }

    fn text(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap_or_default()
    }

    fn ok<T>(r: io::Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `r` failed saying that a symbolic link is in the way.
    #[track_caller]
    fn refused_as_link<T>(r: io::Result<T>) {
        let e = r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            e.contains("is a symbolic link: clearfleet does not write"),
            "{e:?}"
        );
    }

    /// A temporary directory with `target` (a file of the test's own, `mine`) in it.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = ok(tempfile::TempDir::new());
        let root = tmp.path().to_path_buf();
        let target = root.join("target");
        ok(std::fs::write(&target, "mine"));
        (tmp, root, target)
    }

    #[test]
    fn directories_and_files_are_private_and_links_are_refused() {
        let (_tmp, root, target) = setup();
        let dir = ok(PrivateDir::create_new(&root.join("a/b")));
        assert_eq!(
            (mode(&root.join("a")), mode(&root.join("a/b"))),
            (0o700, 0o700)
        );
        let hosts = ok(dir.subdir("hosts"));
        ok(hosts.write("h.json", b"{}"));
        assert_eq!(mode(&root.join("a/b/hosts")), 0o700);
        assert_eq!(mode(&root.join("a/b/hosts/h.json")), 0o600);
        // Rewritten whole, and tightened if it was wider.
        let page = root.join("a/b/hosts/h.json");
        ok(std::fs::set_permissions(
            &page,
            std::fs::Permissions::from_mode(0o644),
        ));
        ok(hosts.write("h.json", b"[]"));
        assert_eq!((text(&page), mode(&page)), ("[]".to_owned(), 0o600));
        assert!(PrivateDir::create_new(&root.join("a/b")).is_err());

        // A link where a file, a subdirectory or the directory itself is to be.
        ok(symlink(&target, root.join("a/b/summary.json")));
        ok(symlink(&root, root.join("a/b/sub")));
        ok(symlink(&root, root.join("linked")));
        refused_as_link(dir.write("summary.json", b"x"));
        refused_as_link(dir.subdir("sub"));
        refused_as_link(PrivateDir::open_or_create(&root.join("linked")));
        assert!(PrivateDir::create_new(&root.join("linked")).is_err());
        // A second name for the same file, and a name that leaves the directory.
        ok(std::fs::hard_link(&target, root.join("a/b/hard.json")));
        assert!(dir.write("hard.json", b"x").is_err());
        assert!(dir.write("../escape", b"x").is_err());
        assert_eq!(text(&target), "mine");

        assert_eq!(ok(dir.files()), ["hard.json"]);
        ok(dir.remove_file("summary.json"));
        assert!(target.exists());
    }

    #[test]
    fn the_log_file_is_made_private_appended_to_and_never_a_link() {
        let (_tmp, root, target) = setup();
        let log = root.join("run.log");
        ok(open_append(&log).and_then(|mut f| f.write_all(b"one\n")));
        ok(open_append(&log).and_then(|mut f| f.write_all(b"two\n")));
        assert_eq!((text(&log), mode(&log)), ("one\ntwo\n".to_owned(), 0o600));
        ok(symlink(&target, root.join("linked.log")));
        refused_as_link(open_append(&root.join("linked.log")));
        assert_eq!(text(&target), "mine");
    }
}

//! Where a playbook's own files are read from on the controller: the disk, or a set of files
//! held in memory (the built-in upgrade playbook), so that running it writes nothing to disk
//! and its diagnostics name `clearml/hop.yml`, never a temporary path. The loader, the runner
//! (`include_tasks`, `vars_files`, `template` sources) and the modules (`copy`/`script` sources)
//! all read through it. A vault-encrypted file is decrypted on reading, as Ansible's loader does
//! (`copy`, `template` and `script` sources, `vars_files`, `include_tasks` files alike).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::vault::{Vault, VaultError, is_encrypted};

/// The controller-side files a playbook reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ControllerFiles {
    /// The controller's filesystem (`clearfleet run`, `clearfleet upgrade --playbook`).
    #[default]
    Disk,
    /// Files held in memory, named by relative paths (`clearml/hop.yml`); a relative path
    /// names one of them or nothing, never a file of the current directory. An absolute path
    /// still names a file on disk (an operator's `--compose-mirror` directory).
    Memory(Arc<BTreeMap<PathBuf, String>>),
    /// The controller's filesystem, with the vault passwords of the run.
    Vaulted(Vault),
}

/// A vault-encrypted file that could not be decrypted (an `io::Error` of kind `InvalidData`
/// carries it, so every reader reports it where it reports a file it cannot read).
#[derive(Debug, thiserror::Error)]
#[error("vault-encrypted file: {0}")]
pub struct VaultFileError(#[from] pub VaultError);

/// `path` with `.` dropped and `..` applied, if it is relative and stays inside its root.
fn relative_key(path: &Path) -> Option<PathBuf> {
    let mut key = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !key.pop() {
                    return None;
                }
            }
            Component::Normal(name) => key.push(name),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(key)
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} is not one of the built-in files", path.display()),
    )
}

impl ControllerFiles {
    /// Files held in memory: `(relative path, text)` pairs such as the embedded playbook's.
    pub fn memory<P: AsRef<Path>, T: Into<String>>(
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Self {
        let map = files
            .into_iter()
            .filter_map(|(p, t)| Some((relative_key(p.as_ref())?, t.into())))
            .collect();
        ControllerFiles::Memory(Arc::new(map))
    }

    /// The in-memory files and the key `path` names among them; `None` when `path` is on disk.
    fn in_memory(&self, path: &Path) -> Option<(&BTreeMap<PathBuf, String>, Option<PathBuf>)> {
        match self {
            ControllerFiles::Memory(files) if path.is_relative() => {
                Some((files, relative_key(path)))
            }
            _ => None,
        }
    }

    /// The vault passwords files are decrypted with (none but for [`ControllerFiles::Vaulted`]).
    pub fn vault(&self) -> Vault {
        match self {
            ControllerFiles::Vaulted(v) => v.clone(),
            _ => Vault::default(),
        }
    }

    /// The text of the file at `path` (decrypted when it is vault-encrypted).
    pub fn read_to_string(&self, path: &Path) -> io::Result<String> {
        self.read_text(path).map(|(text, _)| text)
    }

    /// The text of the file at `path`, and whether it was vault-encrypted.
    pub fn read_text(&self, path: &Path) -> io::Result<(String, bool)> {
        match self.in_memory(path) {
            Some((files, key)) => key
                .and_then(|k| files.get(&k).cloned())
                .map(|t| (t, false))
                .ok_or_else(|| not_found(path)),
            None => {
                let (bytes, vaulted) = self.decrypted(std::fs::read(path)?)?;
                String::from_utf8(bytes)
                    .map(|t| (t, vaulted))
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file is not UTF-8"))
            }
        }
    }

    /// The bytes of the file at `path` (decrypted when it is vault-encrypted).
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.in_memory(path) {
            Some(_) => self.read_to_string(path).map(String::into_bytes),
            None => self.decrypted(std::fs::read(path)?).map(|(b, _)| b),
        }
    }

    /// `bytes` decrypted if they are vault data (every non-blank line of the plaintext is then
    /// remembered as a secret, as well as the whole), and whether they were.
    fn decrypted(&self, bytes: Vec<u8>) -> io::Result<(Vec<u8>, bool)> {
        if !is_encrypted(&bytes) {
            return Ok((bytes, false));
        }
        let vault = self.vault();
        let plain = vault
            .decrypt(&bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, VaultFileError::from(e)))?;
        vault.remember(
            String::from_utf8_lossy(&plain)
                .lines()
                .map(|l| l.trim().to_owned()),
        );
        Ok((plain, true))
    }

    /// Whether `path` names a file (a directory does not count).
    pub fn is_file(&self, path: &Path) -> bool {
        match self.in_memory(path) {
            Some((files, key)) => key.is_some_and(|k| files.contains_key(&k)),
            None => path.is_file(),
        }
    }

    /// Whether `path` names a directory: in memory, one that holds a file.
    pub fn is_dir(&self, path: &Path) -> bool {
        match self.in_memory(path) {
            Some((files, key)) => key.is_some_and(|k| {
                files
                    .keys()
                    .any(|f| f.starts_with(&k) && f.as_path() != k.as_path())
            }),
            None => path.is_dir(),
        }
    }

    /// Whether `path` names a file or a directory.
    pub fn exists(&self, path: &Path) -> bool {
        self.is_file(path) || self.is_dir(path)
    }

    /// The permission bits of the file at `path` (`mode: preserve`); none for a file in memory.
    pub fn mode(&self, path: &Path) -> Option<u32> {
        use std::os::unix::fs::PermissionsExt;
        match self.in_memory(path) {
            Some(_) => None,
            None => std::fs::metadata(path)
                .ok()
                .map(|m| m.permissions().mode() & 0o7777),
        }
    }

    /// The files directly inside the directory `dir` (not its subdirectories), sorted; empty
    /// when it is no directory (the `fileglob` lookup matches their names).
    pub fn files_in(&self, dir: &Path) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = match self.in_memory(dir) {
            Some((files, key)) => key.map_or_else(Vec::new, |k| {
                files
                    .keys()
                    .filter(|f| f.parent() == Some(k.as_path()))
                    .map(|f| dir.join(f.file_name().unwrap_or_default()))
                    .collect()
            }),
            None => std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .collect()
                })
                .unwrap_or_default(),
        };
        out.sort();
        out
    }

    /// Everything directly inside the directory `dir`, files and directories, sorted by name
    /// (Python's `sorted(os.listdir(dir))`); empty when it is no directory.
    pub fn entries_in(&self, dir: &Path) -> Vec<PathBuf> {
        let mut names: Vec<std::ffi::OsString> = match self.in_memory(dir) {
            Some((files, key)) => key.map_or_else(Vec::new, |k| {
                files
                    .keys()
                    .filter_map(|f| f.strip_prefix(&k).ok())
                    .filter_map(|rest| rest.components().next())
                    .map(|c| c.as_os_str().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect()
            }),
            None => std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name())
                        .collect()
                })
                .unwrap_or_default(),
        };
        names.sort();
        names.dedup();
        names.into_iter().map(|n| dir.join(n)).collect()
    }

    /// One name per file, whatever the path's spelling: on disk made absolute with its links
    /// resolved (as given when that fails), in memory its key (an include cycle is found by it).
    pub fn canonical(&self, path: &Path) -> PathBuf {
        match self.in_memory(path) {
            Some((_, key)) => key.unwrap_or_else(|| path.to_path_buf()),
            None => path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ControllerFiles {
        ControllerFiles::memory([("main.yml", "a"), ("sub/task.yml", "b")])
    }

    #[test]
    fn relative_paths_name_the_files_in_memory_and_nothing_else() {
        let f = set();
        let read = |p: &str| f.read_to_string(Path::new(p)).ok();
        assert_eq!(read("main.yml").as_deref(), Some("a"));
        assert_eq!(read("./sub/../sub/task.yml").as_deref(), Some("b"));
        assert_eq!(read("sub/./task.yml").as_deref(), Some("b"));
        // Not the current directory's files, and nothing above the set's root.
        assert_eq!(read("Cargo.toml"), None);
        assert_eq!(read("../main.yml"), None);
        let e = f.read_to_string(Path::new("nope.yml")).err();
        assert_eq!(e.map(|e| e.kind()), Some(io::ErrorKind::NotFound));
        assert!(f.is_file(Path::new("sub/task.yml")));
        assert!(!f.is_file(Path::new("sub")));
        assert!(f.is_dir(Path::new("sub")) && f.exists(Path::new("sub")));
        assert!(!f.is_dir(Path::new("sub/task.yml")));
        assert_eq!(
            f.files_in(Path::new("sub")),
            vec![PathBuf::from("sub/task.yml")]
        );
        assert_eq!(
            f.files_in(Path::new(".")),
            vec![PathBuf::from("./main.yml")]
        );
        // Files and directories alike, each once, by name.
        assert_eq!(
            f.entries_in(Path::new(".")),
            vec![PathBuf::from("./main.yml"), PathBuf::from("./sub")]
        );
        assert!(f.entries_in(Path::new("nope")).is_empty());
        assert_eq!(f.mode(Path::new("main.yml")), None);
        assert_eq!(
            f.canonical(Path::new("./sub/../main.yml")),
            PathBuf::from("main.yml")
        );
    }

    #[test]
    fn absolute_paths_are_read_from_disk() {
        let f = set();
        let here = std::env::current_dir()
            .unwrap_or_default()
            .join("Cargo.toml");
        assert!(f.is_file(&here), "{here:?}");
        assert_eq!(
            f.read_to_string(&here).ok(),
            std::fs::read_to_string(&here).ok()
        );
        assert!(ControllerFiles::Disk.is_file(Path::new("Cargo.toml")));
    }
}

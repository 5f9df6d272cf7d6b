//! Where a controller-side file named by a lookup (or the `template` module's `src`) is
//! looked for: Ansible's `path_dwim_relative_stack`, kept as one small function so that roles
//! extend it by adding their directories to `ansible_search_path`.
//!
//! For each directory of the search path (the task's own directory first, the playbook's
//! directory last): `DIR/SUBDIR/NAME`, then `DIR/NAME`; a directory that ends in `tasks` (a
//! role's) is also tried one level up (`ROLE/SUBDIR/NAME`, `ROLE/NAME`) first. An absolute
//! `NAME` is only itself.

use std::path::{Path, PathBuf};

/// The places `name` is looked for, in order.
pub fn candidates(search_path: &[PathBuf], subdir: Option<&str>, name: &str) -> Vec<PathBuf> {
    let name_path = Path::new(name);
    if name_path.is_absolute() {
        return vec![name_path.to_path_buf()];
    }
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    for dir in search_path {
        let mut dirs = Vec::new();
        if dir.file_name().is_some_and(|n| n == "tasks")
            && let Some(role) = dir.parent()
        {
            dirs.push(role.to_path_buf());
        }
        dirs.push(dir.clone());
        for d in dirs {
            if let Some(sub) = subdir {
                push(d.join(sub).join(name));
            }
            push(d.join(name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdir_first_then_the_directory_then_the_next() {
        let got = candidates(
            &[PathBuf::from("/pb/inc"), PathBuf::from("/pb")],
            Some("files"),
            "a.txt",
        );
        let want: Vec<PathBuf> = [
            "/pb/inc/files/a.txt",
            "/pb/inc/a.txt",
            "/pb/files/a.txt",
            "/pb/a.txt",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(got, want);
        assert_eq!(
            candidates(&[PathBuf::from("/r/x/tasks")], Some("templates"), "t.j2")[..2],
            [
                PathBuf::from("/r/x/templates/t.j2"),
                PathBuf::from("/r/x/t.j2")
            ]
        );
        assert_eq!(
            candidates(&[PathBuf::from("/pb")], None, "/etc/x"),
            [PathBuf::from("/etc/x")]
        );
    }
}

//! The controller's `~`: one reading of `$HOME` and one expansion of `~`/`~/…` for every path
//! a user gives clearfleet (inventory variables, ansible.cfg, ssh options).

use std::path::{Path, PathBuf};

/// The user's home directory, from `$HOME` (unset or empty: none).
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `p` with a leading `~` or `~/` made `home`; as written when there is no home or no `~`
/// (`~user` is not expanded).
pub fn expand_tilde(p: &str, home: Option<&Path>) -> PathBuf {
    match (p, p.strip_prefix("~/"), home) {
        ("~", _, Some(home)) => home.to_path_buf(),
        (_, Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_is_the_home_and_nothing_else_changes() {
        let home = Some(Path::new("/home/u"));
        assert_eq!(expand_tilde("~", home), PathBuf::from("/home/u"));
        assert_eq!(expand_tilde("~/k", home), PathBuf::from("/home/u/k"));
        assert_eq!(expand_tilde("~other/k", home), PathBuf::from("~other/k"));
        assert_eq!(expand_tilde("/a/~/b", home), PathBuf::from("/a/~/b"));
        assert_eq!(expand_tilde("~/k", None), PathBuf::from("~/k"));
    }
}

//! `clearfleet --version` names the commit it was built from: the build script's logic
//! (build/git_version.rs, compiled in here too) on throwaway git repositories, and the built
//! binary against this checkout.

#[path = "../build/git_version.rs"]
mod git_version;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::cli::{clearfleet, temp_home, write};

/// `git ARGS` in `dir` with a fixed identity and commit date, no user or system config; its
/// trimmed stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_COMMITTER_DATE", "2026-03-04T05:06:07+00:00")
        .env("GIT_AUTHOR_DATE", "2026-03-04T05:06:07+00:00")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A repository at `dir` with one commit of a source file and a README.
fn repo(dir: &Path) -> String {
    write(dir, "src/main.rs", "fn main() {}\n");
    write(dir, "Cargo.toml", "[package]\n");
    write(dir, "README.md", "# x\n");
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "one"]);
    git(dir, &["rev-parse", "--short", "HEAD"])
}

fn describe(dir: &Path) -> git_version::Described {
    git_version::describe("1.2.3", dir, OsStr::new("git"))
}

#[test]
fn a_clean_checkout_names_its_commit_and_date() {
    let home = temp_home();
    let short = repo(home.path());
    let d = describe(home.path());
    assert_eq!(d.version, format!("1.2.3 ({short} 2026-03-04)"));
    assert_eq!(
        d.commit,
        Some(git_version::Commit {
            id: short,
            date: "2026-03-04".to_owned()
        })
    );
}

#[test]
fn a_changed_source_makes_it_dirty_and_other_files_do_not() {
    let home = temp_home();
    let dir = home.path();
    let short = repo(dir);
    // Neither the README nor an untracked file changes the binary.
    write(dir, "README.md", "# changed\n");
    write(dir, "src/untracked.rs", "\n");
    assert_eq!(describe(dir).version, format!("1.2.3 ({short} 2026-03-04)"));
    // An edited source, staged or not, does.
    write(dir, "src/main.rs", "fn main() { let _ = 1; }\n");
    assert_eq!(
        describe(dir).version,
        format!("1.2.3 ({short}-dirty 2026-03-04)")
    );
    git(dir, &["add", "src/main.rs"]);
    assert_eq!(
        describe(dir).version,
        format!("1.2.3 ({short}-dirty 2026-03-04)")
    );
    // Committed: clean again, at the new commit.
    git(dir, &["commit", "-q", "-m", "two"]);
    let two = git(dir, &["rev-parse", "--short", "HEAD"]);
    assert_ne!(two, short);
    assert_eq!(describe(dir).version, format!("1.2.3 ({two} 2026-03-04)"));
}

#[test]
fn outside_git_it_is_the_plain_version() {
    let home = temp_home();
    // A directory that is no repository (an unpacked tarball).
    let plain = home.path().join("plain");
    write(&plain, "src/main.rs", "fn main() {}\n");
    let d = describe(&plain);
    assert_eq!(d.version, "1.2.3");
    assert_eq!(d.commit, None);
    assert!(d.git_files.is_empty(), "{:?}", d.git_files);
    // A tarball unpacked inside another checkout must not take that checkout's commit.
    let outer = home.path().join("outer");
    repo(&outer);
    let inner = outer.join("vendor/clearfleet");
    write(&inner, "src/main.rs", "fn main() {}\n");
    assert_eq!(describe(&inner).version, "1.2.3");
    // No git program at all.
    let d = git_version::describe("1.2.3", &outer, OsStr::new("/nonexistent/git"));
    assert_eq!(d.version, "1.2.3");
    // A repository without a commit yet.
    let empty = home.path().join("empty");
    write(&empty, "src/main.rs", "fn main() {}\n");
    git(&empty, &["init", "-q"]);
    assert_eq!(describe(&empty).version, "1.2.3");
}

#[test]
fn the_build_script_watches_head_and_its_branch_in_a_worktree() {
    // This repository is often built from a `git worktree` (its .git is a file): HEAD is the
    // worktree's own, the branches are shared.
    let home = temp_home();
    let main = home.path().join("main");
    repo(&main);
    let wt = home.path().join("wt");
    git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "side",
            &wt.display().to_string(),
        ],
    );
    let d = describe(&wt);
    let short = git(&wt, &["rev-parse", "--short", "HEAD"]);
    assert_eq!(d.version, format!("1.2.3 ({short} 2026-03-04)"));
    let abs = |what: &str| PathBuf::from(git(&wt, &["rev-parse", "--path-format=absolute", what]));
    let (git_dir, common) = (abs("--git-dir"), abs("--git-common-dir"));
    assert_ne!(git_dir, common);
    // The index is not watched (git status rewrites it), nor the other branches.
    assert_eq!(
        d.git_files,
        [git_dir.join("HEAD"), common.join("refs/heads/side")]
    );
    // Packed, the branch is in packed-refs; the directory where a commit would write it
    // loose is watched too.
    git(&main, &["pack-refs", "--all"]);
    assert!(!common.join("refs/heads/side").exists());
    assert_eq!(
        describe(&wt).git_files,
        [
            git_dir.join("HEAD"),
            common.join("packed-refs"),
            common.join("refs/heads")
        ]
    );
}

#[test]
fn the_binary_says_the_commit_of_this_checkout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let want = git_version::describe(env!("CARGO_PKG_VERSION"), root, OsStr::new("git"));
    let home = temp_home();
    let run = clearfleet(home.path()).arg("--version").run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("clearfleet {}\n", want.version));
    // Every command says the same.
    let run = clearfleet(home.path()).args(["upgrade", "--version"]).run();
    assert_eq!(run.stdout, format!("clearfleet-upgrade {}\n", want.version));
    // Built from this repository's checkout (CI's clone, a developer's tree), it names a
    // commit; only a build outside git (a tarball) has none.
    if root.join(".git").exists() {
        let commit = want
            .commit
            .unwrap_or_else(|| panic!("no commit for {root:?}"));
        let head = git(root, &["rev-parse", "--short", "HEAD"]);
        assert!(commit.id.starts_with(&head), "{commit:?} vs HEAD {head}");
    }
}

//! The version `clearfleet --version` prints: the package version and, when the binary is built
//! from a git checkout of this repository, the commit it was built from. Shared by the build
//! script (build/main.rs) and the tests (tests/version.rs), so both compute it the same way.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What goes into the binary, relative to the repository root: a change here makes another
/// binary, so it marks the commit `-dirty` and makes the build script run again. (README, docs
/// and tests/ do not: they change neither the binary nor its version.)
pub const SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "build",
    "src",
    "crates",
    "playbooks",
];

/// The commit a checkout is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// `git rev-parse --short HEAD`, with `-dirty` when a file of [`SOURCES`] differs from it.
    pub id: String,
    /// The commit's date, `YYYY-MM-DD` (committer date).
    pub date: String,
}

/// The version of a build and the files whose change makes it stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// `0.1.0 (42ea1c9 2026-12-05)`, or the plain package version outside git.
    pub version: String,
    /// `None` when built outside a git checkout of `root` (a tarball, a copied directory, no
    /// `git` program).
    pub commit: Option<Commit>,
    /// Git's files that change when HEAD moves: HEAD itself and the branch it points at.
    pub git_files: Vec<PathBuf>,
}

/// The version of the package at `root`, asking the `git` program (`git` on PATH for the build
/// script; the tests pass another to prove the fallback). Never fails: anything git cannot tell
/// leaves the plain `pkg_version`.
pub fn describe(pkg_version: &str, root: &Path, git: &OsStr) -> Described {
    let plain = Described {
        version: pkg_version.to_owned(),
        commit: None,
        git_files: Vec::new(),
    };
    let Some(dirs) = git_dirs(root, git) else {
        return plain;
    };
    let git_files = dirs.watched();
    let head = run(
        git,
        root,
        &[
            "-c",
            "log.showSignature=false",
            "log",
            "-1",
            "--format=%h %cs",
            "HEAD",
        ],
    );
    // No commit yet, or an answer not in the asked format.
    let Some((short, date)) = head.as_deref().and_then(|l| l.trim().split_once(' ')) else {
        return Described { git_files, ..plain };
    };
    let mut status = vec![
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
    ];
    status.extend(SOURCES);
    // When git cannot tell, say dirty rather than claim a clean tree.
    let dirty = run(git, root, &status).is_none_or(|out| !out.trim().is_empty());
    let id = if dirty {
        format!("{short}-dirty")
    } else {
        short.to_owned()
    };
    Described {
        version: format!("{pkg_version} ({id} {date})"),
        commit: Some(Commit {
            id,
            date: date.to_owned(),
        }),
        git_files,
    }
}

/// Where git keeps a checkout's state: per worktree (HEAD) and shared (the branches).
struct GitDirs {
    git_dir: PathBuf,
    common_dir: PathBuf,
}

impl GitDirs {
    /// HEAD and the branch it points at, loose (`refs/heads/NAME`) or packed (`packed-refs`).
    /// A loose branch that does not exist yet is watched through the nearest directory that
    /// does (a commit creates it there). Not the index: `git status` rewrites it now and then,
    /// and each rewrite would cost a release build its whole fat-LTO link again; what the
    /// index could tell (a source changed, staged or not) the sources' own times tell. Only
    /// paths that exist: a missing one would make cargo run the build script every time.
    fn watched(&self) -> Vec<PathBuf> {
        let head = self.git_dir.join("HEAD");
        let mut files = vec![head.clone(), self.common_dir.join("packed-refs")];
        let branch = std::fs::read_to_string(&head)
            .ok()
            .and_then(|h| h.strip_prefix("ref: ").map(|r| r.trim().to_owned()));
        if let Some(branch) = branch {
            let refs = self.common_dir.join("refs");
            let loose = self.common_dir.join(branch);
            let mut up = loose.ancestors().take_while(|p| p.starts_with(&refs));
            if let Some(existing) = up.find(|p| p.exists()) {
                files.push(existing.to_path_buf());
            }
        }
        files.retain(|p| p.exists());
        files
    }
}

/// The git directories of `root`, only when `root` is the top of its own checkout: a tarball
/// unpacked inside another repository must not take that repository's commit.
fn git_dirs(root: &Path, git: &OsStr) -> Option<GitDirs> {
    let out = run(
        git,
        root,
        &[
            "rev-parse",
            "--path-format=absolute",
            "--show-toplevel",
            "--git-dir",
            "--git-common-dir",
        ],
    )?;
    let mut lines = out.lines().map(PathBuf::from);
    let (top, git_dir, common_dir) = (lines.next()?, lines.next()?, lines.next()?);
    let same = match (top.canonicalize(), root.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    same.then_some(GitDirs {
        git_dir,
        common_dir,
    })
}

/// `git ARGS` in `dir`: its stdout when it succeeds.
fn run(git: &OsStr, dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(git)
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

//! The build script of the `clearfleet` binary: puts the commit it is built from into
//! `--version` and the man pages (see git_version.rs), and keeps that from going stale.

mod git_version;

use std::ffi::OsStr;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let pkg_version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let described = git_version::describe(&pkg_version, &root, OsStr::new("git"));
    println!("cargo:rustc-env=CLEARFLEET_VERSION={}", described.version);
    let date = described.commit.map(|c| c.date).unwrap_or_default();
    println!("cargo:rustc-env=CLEARFLEET_COMMIT_DATE={date}");
    // Run again when HEAD moves (a commit, a checkout) or a source of the binary changes
    // (directories are scanned whole by cargo). Without any such line cargo would run it again
    // after a change to any file of the package, and never after a commit.
    for source in git_version::SOURCES {
        println!("cargo:rerun-if-changed={source}");
    }
    for file in described.git_files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}

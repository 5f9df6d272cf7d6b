//! ansible-core's source package, fetched at test time (never copied into the repository): its
//! `test/integration/targets` are the yardstick of tests/ansible_targets.rs.
//!
//! `pip download --no-binary :all: --no-deps` with the venv's pip, the sha256 pinned below
//! (pip's `--require-hashes` checks it on download, and it is checked again on every use of the
//! cached copy), unpacked under the target directory (`CARGO_TARGET_TMPDIR`).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The ansible-core release whose targets are run (the venv's ansible-playbook is the same).
pub const VERSION: &str = "2.19.14";

/// sha256 of `ansible_core-2.19.14.tar.gz` as PyPI serves it.
const SHA256: &str = "1e7612788eaa6b3c87a3670ce86c64b830eba0ae2b3fcb25a772f276704163b4";

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The unpacked `ansible_core-VERSION` directory, downloading and unpacking it when the cache
/// does not hold it yet. `pip` is the venv's pip.
pub fn source_tree(pip: &Path) -> PathBuf {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ansible-core-source");
    std::fs::create_dir_all(&cache).expect("cache dir");
    let archive = cache.join(format!("ansible_core-{VERSION}.tar.gz"));
    if !archive.exists() {
        let requirements = cache.join("requirements.txt");
        std::fs::write(
            &requirements,
            format!("ansible-core=={VERSION} --hash=sha256:{SHA256}\n"),
        )
        .expect("requirements file");
        let out = Command::new(pip)
            .args([
                "download",
                "--no-binary",
                ":all:",
                "--no-deps",
                "--require-hashes",
                "-d",
            ])
            .arg(&cache)
            .arg("-r")
            .arg(&requirements)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", pip.display()));
        assert!(
            out.status.success() && archive.exists(),
            "pip download ansible-core=={VERSION} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let sum = sha256_hex(&archive);
    assert_eq!(
        sum,
        SHA256,
        "{} is not the pinned package",
        archive.display()
    );
    let tree = cache.join(format!("ansible_core-{VERSION}"));
    let done = cache.join("unpacked");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&tree);
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&cache)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar -xzf {}", archive.display());
        std::fs::write(&done, SHA256).expect("unpacked marker");
    }
    tree
}

//! What the `clearfleet upgrade` tests share: the compose mirror they write themselves from the
//! simulator's release table.

use std::path::Path;
use std::process::Command;

use super::cli::write;

/// The compose mirror: upstream-shaped files for the releases the hops use (server images on
/// `:latest`, except the 1.17.1 upgrade compose, which upstream pins).
pub fn write_mirror(dir: &Path) {
    for v in ["1.16.2", "1.17.1", "2.0.0", "2.3.0"] {
        let mut args = vec!["compose-file", "--era", v];
        if v == "1.17.1" {
            args.push("--pin");
        }
        let out = Command::new(super::sim())
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("clearml-sim: {e}"));
        assert!(out.status.success(), "{out:?}");
        write(
            dir,
            &format!("{v}/docker-compose.yml"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
}

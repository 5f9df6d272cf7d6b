//! `--rerun failed|unreachable|ok|interrupted`: the hosts of an earlier report with those
//! statuses, read from its `summary.json` (the newest report under `reports/` by default).

use std::path::{Path, PathBuf};

/// Why `--rerun` could not pick hosts.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    #[error(
        "--rerun needs an earlier report: none under {}/ (run `upgrade`, or any command with --report-dir, first; or give --from-report DIR)",
        dir.display()
    )]
    NoReport { dir: PathBuf },
    #[error("cannot read the report {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("the report {} has no {} host", dir.display(), statuses.join(" or "))]
    NoHosts { dir: PathBuf, statuses: Vec<String> },
}

/// `command_line`'s arguments quoted for a POSIX shell, without the options named in `drop`
/// (and their values).
fn quoted_without(command_line: &[String], drop: &[&str]) -> Vec<String> {
    let mut args = Vec::new();
    let mut it = command_line.iter();
    while let Some(a) = it.next() {
        if drop.contains(&a.as_str()) {
            it.next();
        } else if !drop.iter().any(|d| a.starts_with(&format!("{d}="))) {
            args.push(clearfleet_base::shell::quote(a));
        }
    }
    args
}

/// The command line that runs `command_line` again on the hosts of the report in `dir` that
/// ended `status`: its arguments without an earlier `--rerun`/`--from-report` and without
/// `--report-dir` (the rerun writes a report of its own, not over the one it reads), then
/// `--rerun STATUS --from-report DIR`, each quoted for a POSIX shell.
pub fn line(command_line: &[String], status: &str, dir: &Path) -> String {
    let mut args = quoted_without(command_line, &["--rerun", "--from-report", "--report-dir"]);
    args.push(format!("--rerun {status} --from-report"));
    args.push(clearfleet_base::shell::quote(&dir.display().to_string()));
    args.join(" ")
}

/// The command line that runs `command_line` again on `host` alone (`--limit HOST`, for a
/// status `--rerun` does not take, e.g. `refused`).
pub fn limit_line(command_line: &[String], host: &str) -> String {
    let mut args = quoted_without(command_line, &["--rerun", "--from-report", "--limit", "-l"]);
    args.push("--limit".to_owned());
    args.push(clearfleet_base::shell::quote(host));
    args.join(" ")
}

/// The report directory to read: `from`, else the newest under `parent` that has a
/// `summary.json` (by its modification time, then by name).
pub fn report_dir(from: Option<&Path>, parent: &Path) -> Result<PathBuf, RerunError> {
    if let Some(dir) = from {
        return Ok(dir.to_path_buf());
    }
    let newest = std::fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let summary = e.path().join("summary.json");
            let modified = std::fs::metadata(&summary)
                .and_then(|m| m.modified())
                .ok()?;
            Some((modified, e.file_name(), e.path()))
        })
        .max();
    newest
        .map(|(_, _, path)| path)
        .ok_or_else(|| RerunError::NoReport {
            dir: parent.to_path_buf(),
        })
}

/// The hosts of the report in `dir` whose status is one of `statuses`, in report order.
pub fn hosts(dir: &Path, statuses: &[String]) -> Result<Vec<String>, RerunError> {
    let path = dir.join("summary.json");
    let unreadable = |reason: String| RerunError::Unreadable {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
    let summary: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let list = summary["hosts"]
        .as_array()
        .ok_or_else(|| unreadable("no `hosts` list".to_owned()))?;
    let picked: Vec<String> = list
        .iter()
        .filter(|h| {
            h["status"]
                .as_str()
                .is_some_and(|s| statuses.iter().any(|w| w == s))
        })
        .filter_map(|h| h["host"].as_str().map(str::to_owned))
        .collect();
    if picked.is_empty() {
        return Err(RerunError::NoHosts {
            dir: dir.to_path_buf(),
            statuses: statuses.to_vec(),
        });
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dir: &Path, hosts: &[(&str, &str)]) {
        let list: Vec<serde_json::Value> = hosts
            .iter()
            .map(|(h, s)| serde_json::json!({"host": h, "status": s}))
            .collect();
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.join("summary.json"),
            serde_json::json!({ "hosts": list }).to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn picks_hosts_by_status_from_the_newest_report() {
        let tmp = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let parent = tmp.path().join("reports");
        report(&parent.join("20260101T000000Z"), &[("old", "failed")]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        report(
            &parent.join("20260101T000000Z-2"),
            &[("a", "ok"), ("b", "failed"), ("c", "unreachable")],
        );
        std::fs::create_dir_all(parent.join("empty")).unwrap_or_else(|e| panic!("{e}"));
        let dir = report_dir(None, &parent).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dir, parent.join("20260101T000000Z-2"));
        let want = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(hosts(&dir, &want(&["failed"])).ok(), Some(want(&["b"])));
        assert_eq!(
            hosts(&dir, &want(&["unreachable", "failed"])).ok(),
            Some(want(&["b", "c"]))
        );
        let none = hosts(&dir, &want(&["interrupted"])).map_err(|e| e.to_string());
        assert!(
            none.as_ref()
                .is_err_and(|e| e.contains("has no interrupted host")),
            "{none:?}"
        );
    }

    #[test]
    fn the_rerun_line_replaces_an_earlier_rerun() {
        let argv: Vec<String> = [
            "clearfleet",
            "upgrade",
            "-i",
            "my inv.yml",
            "--rerun",
            "ok",
            "--from-report=x",
            "--report-dir",
            "rep",
        ]
        .map(str::to_owned)
        .into();
        assert_eq!(
            line(&argv, "failed", Path::new("reports/20260101T000000Z")),
            "clearfleet upgrade -i 'my inv.yml' --rerun failed --from-report reports/20260101T000000Z"
        );
        assert_eq!(
            limit_line(&argv, "trains-e"),
            "clearfleet upgrade -i 'my inv.yml' --report-dir rep --limit trains-e"
        );
    }

    #[test]
    fn no_report_is_a_clear_error() {
        let tmp = tempfile::TempDir::new().unwrap_or_else(|e| panic!("{e}"));
        let e = report_dir(None, &tmp.path().join("reports"))
            .map_err(|e| e.to_string())
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with("--rerun needs an earlier report: none under"),
            "{e}"
        );
    }
}

//! The secrets sweep: a secret a test used must appear nowhere clearfleet wrote: not on stdout,
//! not on stderr (where the logs go, so run at `-vv`), not in any file of its report directory.

use std::path::Path;

use super::cli::Run;

/// Asserts that none of `secrets` appears in `run`'s stdout or stderr, nor in any file under
/// each of `dirs` (report directories; every file, recursively). Returns how many files were
/// searched, so a test can check that the sweep covered the report.
pub fn assert_nowhere(secrets: &[&str], run: &Run, dirs: &[&Path]) -> usize {
    let mut places: Vec<(String, String)> = vec![
        ("stdout".to_owned(), run.stdout.clone()),
        ("stderr".to_owned(), run.stderr.clone()),
    ];
    for dir in dirs {
        assert!(dir.is_dir(), "no report directory {}", dir.display());
        for (path, text) in super::report::files(dir) {
            places.push((path.display().to_string(), text));
        }
    }
    for secret in secrets {
        assert!(!secret.is_empty(), "an empty secret matches everything");
        for (place, text) in &places {
            if let Some(at) = text.find(secret) {
                let from = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                panic!(
                    "secret {secret:?} leaked into {place}: …{}…",
                    &text[from..(at + secret.len()).min(text.len())]
                );
            }
        }
    }
    places.len() - 2
}

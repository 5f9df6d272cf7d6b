//! The one error of a playbook load: every diagnostic found, sorted by file and line.

use clearfleet_base::diagnostic::Diagnostic;
use std::fmt;

/// All the mistakes found while loading a playbook (never just the first).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybookError {
    /// Sorted by file, line and column; each mistake once.
    pub diagnostics: Vec<Diagnostic>,
}

impl PlaybookError {
    /// Sorts and de-duplicates `diagnostics` (the same include read twice reports once).
    pub fn new(mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_ref()
                    .map(|l| (l.path.clone(), l.line, l.column))
            };
            key(a).cmp(&key(b))
        });
        diagnostics.dedup();
        PlaybookError { diagnostics }
    }
}

/// Every diagnostic, separated by a blank line. The first is not prefixed, so that printing
/// `error: {err}` (as `crate::error::print_error` does) marks each one with `error:`.
impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\nerror: ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PlaybookError {}

//! Errors in user files point at the source: `file:line:col`, the line, and a caret under it.

use std::fmt;
use std::path::{Path, PathBuf};

/// A place in a user's file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    pub fn new(path: impl Into<PathBuf>, line: usize, column: usize) -> Self {
        Location {
            path: path.into(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// A message about a user file, with the offending line quoted when it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    /// The text of the offending line, without its newline.
    pub source_line: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with no location (for example a missing file).
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            location: None,
            source_line: None,
            hint: None,
        }
    }

    /// A diagnostic at `line:column` of `path`, quoting that line from `source`.
    pub fn at(
        message: impl Into<String>,
        path: &Path,
        source: &str,
        line: usize,
        column: usize,
    ) -> Self {
        let source_line = line
            .checked_sub(1)
            .and_then(|i| source.lines().nth(i))
            .map(str::to_owned);
        Diagnostic {
            message: message.into(),
            location: Some(Location::new(path, line, column)),
            source_line,
            hint: None,
        }
    }

    /// Adds a hint printed after the caret.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The 1-based line and column of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message)?,
            None => write!(f, "{}", self.message)?,
        }
        if let (Some(loc), Some(text)) = (&self.location, &self.source_line) {
            let number = loc.line.to_string();
            let pad = " ".repeat(number.len());
            // Keep tabs so the caret lines up under the same characters.
            let lead: String = text
                .chars()
                .take(loc.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{pad} |\n{number} | {text}\n{pad} | {lead}^")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let src = "all:\n  hots:\n    a:\n";
        let d = Diagnostic::at("unknown key `hots`", Path::new("inv.yml"), src, 2, 3)
            .with_hint("did you mean `hosts`?");
        assert_eq!(
            d.to_string(),
            "inv.yml:2:3: unknown key `hots`\n  |\n2 |   hots:\n  |   ^\n  = hint: did you mean `hosts`?"
        );
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é\nx", 3), (2, 1));
        assert_eq!(line_col("x", 99), (1, 2));
    }
}

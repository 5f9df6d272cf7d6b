//! Template errors that point at the template's place in the playbook (`file:line:col`).

use std::path::PathBuf;

use super::preprocess::Processed;
use clearfleet_base::diagnostic::{Location, line_col};

/// Where a template string came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The YAML file holding the template.
    pub file: PathBuf,
    /// 1-based line of the template's first character in `file`.
    pub line: usize,
    /// 1-based column of the template's first character in `file`.
    pub column: usize,
    /// What the template is, e.g. "task `install docker`, field `cmd`".
    pub what: String,
}

impl Origin {
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        column: usize,
        what: impl Into<String>,
    ) -> Self {
        Origin {
            file: file.into(),
            line,
            column,
            what: what.into(),
        }
    }

    /// The location of byte `offset` of `source`, a template that starts at this origin: on the
    /// template's first line columns add up; on later lines the template's own column is used
    /// (the YAML indentation of a block scalar is not known here).
    pub fn locate(&self, source: &str, offset: usize) -> Location {
        let (line, column) = line_col(source, offset);
        if line == 1 {
            Location::new(&self.file, self.line, self.column + column - 1)
        } else {
            Location::new(&self.file, self.line + line - 1, column)
        }
    }
}

/// An error from compiling or rendering a template.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// The template does not parse.
    #[error("{location}: {what}: template syntax error: {message}")]
    Syntax {
        location: Location,
        what: String,
        message: String,
    },
    /// A variable (or attribute) the template uses is not defined.
    #[error(
        "{location}: {what}: '{name}' is undefined{}",
        detail_suffix(message, name)
    )]
    Undefined {
        location: Location,
        what: String,
        /// The undefined expression as written, e.g. `missing` or `user.name`.
        name: String,
        message: String,
    },
    /// Any other failure while rendering (a filter error, a bad operation, a non-boolean
    /// condition).
    #[error("{location}: {what}: {message}")]
    Render {
        location: Location,
        what: String,
        message: String,
    },
    /// The id does not belong to this `Templates`.
    #[error("unknown template id {0}")]
    UnknownId(usize),
}

fn detail_suffix(message: &str, name: &str) -> String {
    let plain = format!("`{name}` is undefined");
    if message == plain || message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    }
}

impl TemplateError {
    /// The place in the YAML file the error points at.
    pub fn location(&self) -> Option<&Location> {
        match self {
            TemplateError::Syntax { location, .. }
            | TemplateError::Undefined { location, .. }
            | TemplateError::Render { location, .. } => Some(location),
            TemplateError::UnknownId(_) => None,
        }
    }

    /// The same error for the same text written at `to` instead of `from`, where it was
    /// compiled first (a cache shares one compiled template between places).
    pub fn moved(mut self, from: &Location, to: &Location) -> Self {
        if from == to {
            return self;
        }
        if let TemplateError::Syntax { location, .. }
        | TemplateError::Undefined { location, .. }
        | TemplateError::Render { location, .. } = &mut self
        {
            let (line, column) = if location.line == from.line {
                (
                    to.line,
                    (to.column + location.column).saturating_sub(from.column),
                )
            } else {
                (
                    to.line + location.line.saturating_sub(from.line),
                    location.column,
                )
            };
            *location = Location::new(&to.path, line, column);
        }
        self
    }

    /// An undefined error naming `name` instead (the variable a chain of variables came to);
    /// any other error as it is.
    pub fn renamed(self, name: String) -> Self {
        match self {
            TemplateError::Undefined { location, what, .. } => TemplateError::Undefined {
                location,
                what,
                message: format!("`{name}` is undefined"),
                name,
            },
            other => other,
        }
    }

    /// The error without its place and subject (`'x' is undefined`), for a message worded as
    /// Ansible's.
    pub fn bare_message(&self) -> String {
        match self {
            TemplateError::Syntax { message, .. } => format!("template syntax error: {message}"),
            TemplateError::Undefined { name, message, .. } => {
                format!("'{name}' is undefined{}", detail_suffix(message, name))
            }
            TemplateError::Render { message, .. } => message.clone(),
            TemplateError::UnknownId(_) => self.to_string(),
        }
    }

    /// The name of the undefined variable when that is the cause.
    pub fn undefined_name(&self) -> Option<&str> {
        match self {
            TemplateError::Undefined { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Converts a minijinja error into a located error. `field` is the whole string as written
    /// at `origin`; the compiled text is `field[field_offset..]` behind a `prefix_len`-byte
    /// wrapper (e.g. `{% set x = (`); `map` undoes the
    /// rewrites of `preprocess`.
    pub(crate) fn from_minijinja(
        err: &minijinja::Error,
        origin: &Origin,
        field: &str,
        field_offset: usize,
        prefix_len: usize,
        map: &Processed,
    ) -> TemplateError {
        let offset = match (err.range(), err.line()) {
            (Some(range), _) => field_offset + map.original(range.start.saturating_sub(prefix_len)),
            (None, Some(line)) => {
                field_offset + line_start(&field[field_offset.min(field.len())..], line)
            }
            (None, None) => field_offset,
        };
        let location = origin.locate(field, offset.min(field.len()));
        let what = origin.what.clone();
        let message = err
            .detail()
            .map_or_else(|| err.kind().to_string(), str::to_owned);
        if err.kind() == minijinja::ErrorKind::SyntaxError {
            return TemplateError::Syntax {
                location,
                what,
                message,
            };
        }
        if let Some(name) = undefined_name(&message) {
            // minijinja says "`x` is undefined"; Ansible says "'x' is undefined".
            return TemplateError::Undefined {
                location,
                what,
                name,
                message,
            };
        }
        let message = if err.kind() == minijinja::ErrorKind::UndefinedError {
            format!("undefined value ({message})")
        } else if let Some(python) = python_zero_division(&message) {
            // 2.19's templar wraps the Python exception (`AnsibleTemplateError`).
            format!("Error rendering template: {python}")
        } else {
            message
        };
        TemplateError::Render {
            location,
            what,
            message,
        }
    }
}

fn line_start(source: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    source
        .match_indices('\n')
        .nth(line - 2)
        .map_or(source.len(), |(i, _)| i + 1)
}

/// Python's `ZeroDivisionError` text for minijinja's "unable to calculate 1 / 0": what a
/// division by zero says under Ansible (CPython 3.11's `int`/`float` operators).
fn python_zero_division(detail: &str) -> Option<&'static str> {
    let calc = detail.strip_prefix("unable to calculate ")?;
    let (lhs, op, rhs) = ["//", "/", "%"]
        .into_iter()
        .find_map(|op| calc.split_once(&format!(" {op} ")).map(|(l, r)| (l, op, r)))?;
    if rhs.trim_start_matches('-').parse::<f64>().ok()? != 0.0 {
        return None;
    }
    let float = [lhs, rhs]
        .iter()
        .any(|v| v.contains(['.', 'e', 'E']) || v.contains("inf") || v.contains("nan"));
    Some(match (op, float) {
        ("/", false) => "division by zero",
        ("/", true) => "float division by zero",
        ("//", false) => "integer division or modulo by zero",
        ("//", true) => "float floor division by zero",
        ("%", false) => "integer modulo by zero",
        _ => "float modulo",
    })
}

/// Extracts `x` from minijinja's "... (`x` is undefined ...)" detail.
fn undefined_name(detail: &str) -> Option<String> {
    let end = detail.find("` is undefined")?;
    let start = detail[..end].rfind('`')? + 1;
    Some(detail[start..end].to_owned())
}

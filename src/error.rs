//! Errors that stop a whole run before any host is contacted, and their exit codes.
//!
//! Per-host failures are not errors here: they are data (`events::HostOutcome`).

use std::path::PathBuf;

use clearfleet_inventory::InventoryError;
use clearfleet_ssh::{ConfigError, TargetError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("no host matched `{pattern}`")]
    NoHosts { pattern: String },
    #[error("cannot reach host `{host}`: {source}")]
    Target {
        host: String,
        #[source]
        source: TargetError,
    },
    #[error("invalid SSH config {}: {source}", path.display())]
    SshConfig {
        path: PathBuf,
        #[source]
        source: ConfigError,
    },
    #[error("invalid key file {} ({what}): {reason}", path.display())]
    KeyFile {
        path: PathBuf,
        what: String,
        reason: String,
    },
    #[error("invalid `{var}` for host `{host}`: {reason}")]
    HostVar {
        host: String,
        var: String,
        reason: String,
    },
    #[error(transparent)]
    Releases(clearfleet_clearml::releases::ReleasesError),
    #[error("invalid --target: {0}")]
    Version(clearfleet_clearml::version::BadVersion),
    #[error("no compose file is known for --target {target} (known: {})", known.join(", "))]
    UnknownTarget {
        target: clearfleet_clearml::Version,
        known: Vec<String>,
    },
    #[error(transparent)]
    Playbook(#[from] clearfleet_playbook::PlaybookError),
    #[error("invalid --extra-vars `{value}`: {reason}")]
    ExtraVars { value: String, reason: String },
    #[error("invalid --serial `{0}` (expected a number or a percentage such as 25%)")]
    Serial(String),
    #[error("HOME is not set: give --known-hosts")]
    NoHome,
    #[error("vault password source `{source_name}`: {reason}")]
    VaultPassword { source_name: String, reason: String },
    #[error("failed to read a password from the terminal: {0}")]
    Prompt(#[source] std::io::Error),
    #[error("failed to write the report in {}: {source}", path.display())]
    Report {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the log file {}: {source}", path.display())]
    LogFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Rerun(#[from] clearfleet_report::rerun::RerunError),
    #[error("failed to write the man page {}: {source}", path.display())]
    ManPage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to write output: {0}")]
    Output(#[source] std::io::Error),
    #[error("failed to start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl Error {
    /// The documented exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Output(_) | Error::Runtime(_) | Error::Report { .. } | Error::ManPage { .. } => {
                clearfleet_events::exit::INTERNAL
            }
            _ => clearfleet_events::exit::INVALID_INPUT,
        }
    }
}

/// Prints an error and its cause chain on stderr, `error:` first, one `caused by:` per cause.
pub fn print_error(err: &dyn std::error::Error) {
    use std::io::Write;
    let mut text = format!("error: {err}\n");
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror's transparent and `{source}` messages already include the cause.
        if !text.contains(&cause_text) {
            text.push_str(&format!("  caused by: {cause_text}\n"));
        }
        source = cause.source();
    }
    // Values decrypted from the vault never reach the terminal, even in an error.
    let text = crate::logging::redact(&text);
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

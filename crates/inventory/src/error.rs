//! The one error type of the inventory layer; file errors carry a `Diagnostic` (file:line:col, caret).

use crate::model::ModelError;
use crate::range::AddressError;
use clearfleet_base::diagnostic::Diagnostic;
use std::path::PathBuf;

/// Everything that can go wrong loading or querying an inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A vault-encrypted file that could not be decrypted.
    #[error("cannot decrypt {path}: {source}")]
    Vault {
        path: PathBuf,
        #[source]
        source: clearfleet_base::vault::VaultError,
    },
    /// A problem inside a user file (inventory, group_vars, host_vars), with its location.
    #[error("{0}")]
    Parse(Box<Diagnostic>),
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A host pattern that cannot be evaluated (bad regex, out-of-range subscript, missing `@file`).
    #[error("invalid host pattern `{pattern}`: {reason}")]
    Pattern { pattern: String, reason: String },
    /// `--graph GROUP` named no group.
    #[error("no group named `{0}` in the inventory")]
    UnknownGroup(String),
    /// `--host H` did not name exactly one host.
    #[error("`{0}` does not name exactly one host in the inventory")]
    UnknownHost(String),
    /// No `-i` source at all.
    #[error("no inventory source given")]
    NoSource,
    /// A bad host in a comma-separated host list given as a source (`web1,web2,`).
    #[error("in host list `{list}`: {reason}")]
    HostList { list: String, reason: AddressError },
    /// A group-graph error that belongs to no single file (for example a cycle across two
    /// inventories, found by `reconcile`).
    #[error("{0}")]
    Other(ModelError),
}

impl InventoryError {
    /// Wraps a diagnostic.
    pub fn parse(d: Diagnostic) -> Self {
        InventoryError::Parse(Box::new(d))
    }

    /// The diagnostic, when the error points into a file.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            InventoryError::Parse(d) => Some(d),
            _ => None,
        }
    }
}

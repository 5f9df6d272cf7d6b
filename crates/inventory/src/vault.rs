//! Ansible Vault in inventories: a whole inventory or `group_vars`/`host_vars` file encrypted
//! with `ansible-vault encrypt`, and `!vault` values in YAML ones, decrypted as
//! `ansible-inventory` does with the passwords of the run.

use super::error::InventoryError;
use super::yaml::Node;
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::vault::{Vault, VaultError, is_encrypted};
use clearfleet_yaml::vault::{decrypt_vault_scalars, strings};
use std::path::Path;

/// The text of the file at `path`, decrypted if it is vault-encrypted (then every line and the
/// whole are remembered as secrets), and whether it was.
pub fn read_text(path: &Path, vault: &Vault) -> Result<(String, bool), InventoryError> {
    let io = |source| InventoryError::Io {
        path: path.to_owned(),
        source,
    };
    let mut bytes = std::fs::read(path).map_err(io)?;
    let vaulted = is_encrypted(&bytes);
    if vaulted {
        bytes = vault
            .decrypt(&bytes)
            .map_err(|source| InventoryError::Vault {
                path: path.to_owned(),
                source,
            })?;
        vault.remember(
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(|l| l.trim().to_owned()),
        );
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "file is not UTF-8",
        ))
    })?;
    Ok((text, vaulted))
}

/// Decrypts the `!vault` values of `root` (parsed from `text` of `path`); the first that does
/// not decrypt is the error, at its place. When the whole file was encrypted (`vaulted`),
/// every string in it is remembered as a secret too.
pub fn decrypt_values(
    path: &Path,
    text: &str,
    root: &mut Node,
    vault: &Vault,
    vaulted: bool,
) -> Result<(), InventoryError> {
    if vaulted {
        vault.remember(strings(root));
    }
    let failures = decrypt_vault_scalars(root, &|c| vault.decrypt_text(c), &|| VaultError::NotText);
    if let Some(f) = failures.into_iter().next() {
        return Err(InventoryError::parse(Diagnostic::at(
            format!("cannot decrypt this `!vault` value: {}", f.error),
            path,
            text,
            f.line,
            f.column,
        )));
    }
    Ok(())
}

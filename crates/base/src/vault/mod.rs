//! Ansible Vault: values and whole files encrypted with `ansible-vault`, decrypted with the
//! passwords of the run (`--vault-password-file`, `--ask-vault-pass`, `--vault-id`). Every
//! value decrypted is remembered as a secret, so the run's [`Redactor`] masks it wherever it
//! would be shown.
//!
//! [`Redactor`]: crate::secret::Redactor

pub mod aes256;
pub mod envelope;

use crate::secret::{Secret, SecretSink};
use std::sync::Arc;

pub use envelope::is_encrypted;

/// One password of the run and the label it was given (`default` when none).
#[derive(Debug, Clone)]
pub struct VaultSecret {
    pub id: String,
    pub password: Secret,
}

impl VaultSecret {
    pub fn new(id: impl Into<String>, password: Secret) -> Self {
        VaultSecret {
            id: id.into(),
            password,
        }
    }
}

/// Why vault data could not be decrypted. The words follow ansible-core's own messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    #[error("Input is not vault encrypted data")]
    NotVault,
    #[error("Vault envelope format error")]
    Envelope,
    #[error("Vault format unhexlify error (the encrypted data is damaged)")]
    Format,
    #[error("Cipher `{0}` could not be found (only AES256 is known)")]
    Cipher(String),
    #[error(
        "Attempting to decrypt but no vault secrets found (give --vault-password-file, --ask-vault-pass or --vault-id)"
    )]
    NoSecrets,
    #[error("Decryption failed (no vault secrets were found that could decrypt){}", for_id(.0))]
    Failed(Option<String>),
    #[error("the decrypted value is not UTF-8 text")]
    NotText,
}

fn for_id(id: &Option<String>) -> String {
    id.as_deref()
        .map(|id| format!(" for vault id `{id}`"))
        .unwrap_or_default()
}

/// The passwords of a run, and what they decrypted. Cheap to clone (one shared value).
#[derive(Debug, Clone, Default)]
pub struct Vault {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    secrets: Vec<VaultSecret>,
    found: SecretSink,
}

impl PartialEq for Vault {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Vault {
    /// A vault with these passwords, remembering what it decrypts in `found`.
    pub fn new(secrets: Vec<VaultSecret>, found: SecretSink) -> Self {
        Vault {
            inner: Arc::new(Inner { secrets, found }),
        }
    }

    /// Whether the run has any password.
    pub fn has_secrets(&self) -> bool {
        !self.inner.secrets.is_empty()
    }

    /// Where decrypted values are remembered (the run's redactor watches it).
    pub fn found(&self) -> &SecretSink {
        &self.inner.found
    }

    /// Decrypts vault data (an envelope, as written in a `!vault` value or a whole file).
    /// Like ansible-core: the secrets labelled with the envelope's vault id first, then every
    /// other one; a damaged envelope stops at once. The plaintext is remembered as a secret.
    pub fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, VaultError> {
        if !is_encrypted(data) {
            return Err(VaultError::NotVault);
        }
        let env = envelope::parse(data).ok_or(VaultError::Envelope)?;
        if env.cipher != "AES256" {
            return Err(VaultError::Cipher(env.cipher));
        }
        if self.inner.secrets.is_empty() {
            return Err(VaultError::NoSecrets);
        }
        let id = env.vault_id.as_deref();
        let ordered = self
            .inner
            .secrets
            .iter()
            .filter(|s| Some(s.id.as_str()) == id)
            .chain(
                self.inner
                    .secrets
                    .iter()
                    .filter(|s| Some(s.id.as_str()) != id),
            );
        for s in ordered {
            match aes256::decrypt(&env.vaulttext, s.password.expose().as_bytes()) {
                Ok(plain) => {
                    self.inner
                        .found
                        .add(Secret::new(String::from_utf8_lossy(&plain)));
                    return Ok(plain);
                }
                Err(aes256::CipherError::Format) => return Err(VaultError::Format),
                Err(_) => {}
            }
        }
        Err(VaultError::Failed(env.vault_id))
    }

    /// [`Vault::decrypt`] of a value that must be text (`!vault` scalars).
    pub fn decrypt_text(&self, data: &str) -> Result<String, VaultError> {
        String::from_utf8(self.decrypt(data.as_bytes())?).map_err(|_| VaultError::NotText)
    }

    /// Remembers more secrets (the values of a decrypted vars file).
    pub fn remember(&self, values: impl IntoIterator<Item = String>) {
        for v in values {
            self.inner.found.add(Secret::new(v));
        }
    }
}

/// Encrypts `plaintext` as `ansible-vault encrypt` does, with a random 32-byte salt: the
/// envelope text (`1.2` with `vault_id` unless it is `default`).
pub fn encrypt(
    plaintext: &[u8],
    password: &Secret,
    vault_id: Option<&str>,
) -> Result<String, getrandom::Error> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt)?;
    Ok(envelope::format(
        &aes256::encrypt(plaintext, password.expose().as_bytes(), &salt),
        vault_id,
    ))
}

#[cfg(test)]
mod tests;

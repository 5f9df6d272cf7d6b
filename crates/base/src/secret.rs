//! A string that must never reach output, logs or reports: `Debug` and `Display` mask it.

use std::fmt;

/// A secret value (password, passphrase, token). Only [`Secret::expose`] gives the text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret text, for the one place that must send it (an SSH auth call, sudo's stdin).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// Variables that hold secrets: masked in `inventory` output unless `--show-secrets`.
pub const SECRET_VARS: &[&str] = &[
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_ssh_private_key_passphrase",
];

/// Whether a variable name holds a secret, by Ansible's names or by its own name.
pub fn is_secret_var(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_VARS.contains(&lower.as_str())
        || lower.contains("password")
        || lower.contains("passphrase")
        || [
            "_pass",
            "_passwd",
            "_secret",
            "_secret_key",
            "_token",
            "_api_key",
            "_private_key",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn secret_is_masked_in_debug_and_display() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "********");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}

/// Replaces every known secret value in text bound for output with `********`.
///
/// A safety net for remote output and error messages: a host that echoes a password back, or an
/// error that quotes a command line, must not leak it.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<Secret>,
}

impl Redactor {
    /// Values shorter than 4 characters are not redacted: masking every `a` would wreck output.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let mut secrets: Vec<Secret> = secrets.into_iter().filter(|s| s.0.len() >= 4).collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// This redactor plus more secrets (found while running, e.g. detected agent keys).
    pub fn with(&self, more: impl IntoIterator<Item = Secret>) -> Redactor {
        Redactor::new(self.secrets.iter().cloned().chain(more))
    }

    /// The secrets this redactor masks.
    pub fn secrets(&self) -> &[Secret] {
        &self.secrets
    }

    pub fn redact(&self, text: &str) -> String {
        self.redact_owned(text.to_owned())
    }

    /// [`Redactor::redact`] of a text the caller gives up: no copy unless a secret is in it
    /// (a command's output can be as large as the output limit).
    pub fn redact_owned(&self, text: String) -> String {
        let mut out = text;
        for s in &self.secrets {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), "********");
            }
        }
        out
    }
}

#[cfg(test)]
mod redactor_tests {
    use super::{Redactor, Secret};

    #[test]
    fn masks_every_known_secret() {
        let r = Redactor::new([
            Secret::new("hunter2"),
            Secret::new("ab"),
            Secret::new("hunter22"),
        ]);
        assert_eq!(
            r.redact("pw=hunter22 pw=hunter2 ab"),
            "pw=******** pw=******** ab"
        );
    }
}

/// Secrets serialize masked, so a report or JSON output can never carry one by accident.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

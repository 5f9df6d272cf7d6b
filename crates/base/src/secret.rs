//! A string that must never reach output, logs or reports: `Debug` and `Display` mask it.

use std::fmt;
use std::sync::{Arc, RwLock};

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
    /// Secrets found while the run goes on (values decrypted by the vault), shared with
    /// whatever finds them.
    live: Vec<SecretSink>,
    /// Secrets learnt through this redactor ([`Redactor::learn`]): shared by every redactor
    /// made from it ([`Redactor::with`], [`Redactor::merged`], clones).
    learnt: SecretSink,
}

/// Secrets learnt while running (values decrypted from Ansible Vault), shared between what
/// finds them and every [`Redactor`] watching it. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SecretSink(Arc<RwLock<Vec<Secret>>>);

impl SecretSink {
    /// Remembers a secret (shorter than 4 characters: ignored, as by [`Redactor::new`]).
    pub fn add(&self, secret: Secret) {
        if secret.0.len() < 4 {
            return;
        }
        let mut all = self.0.write().unwrap_or_else(|p| p.into_inner());
        if !all.contains(&secret) {
            all.push(secret);
            all.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        }
    }

    /// The secrets remembered so far.
    pub fn secrets(&self) -> Vec<Secret> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Redactor {
    /// Values shorter than 4 characters are not redacted: masking every `a` would wreck output.
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let mut secrets: Vec<Secret> = secrets.into_iter().filter(|s| s.0.len() >= 4).collect();
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        secrets.dedup();
        Redactor {
            secrets,
            live: Vec::new(),
            learnt: SecretSink::default(),
        }
    }

    /// This redactor plus more secrets (found while running, e.g. detected agent keys).
    pub fn with(&self, more: impl IntoIterator<Item = Secret>) -> Redactor {
        let mut r = Redactor::new(self.secrets.iter().cloned().chain(more));
        r.live = self.live.clone();
        r.learnt = self.learnt.clone();
        r
    }

    /// Masks `secret` from now on, here and in every redactor made from this one (a become
    /// password a task's variables give, known only when the task runs).
    pub fn learn(&self, secret: Secret) {
        self.learnt.add(secret);
    }

    /// This redactor, also masking every secret `sink` holds now or later.
    pub fn watching(mut self, sink: &SecretSink) -> Redactor {
        if !self.live.iter().any(|l| Arc::ptr_eq(&l.0, &sink.0)) {
            self.live.push(sink.clone());
        }
        self
    }

    /// This redactor plus everything `other` masks (its sinks too).
    pub fn merged(&self, other: &Redactor) -> Redactor {
        let mut r = self.with(other.secrets.iter().cloned());
        for sink in other.live.iter().chain([&other.learnt]) {
            r = r.watching(sink);
        }
        r
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
        let mut all = self.secrets.clone();
        for sink in self.live.iter().chain([&self.learnt]) {
            all.extend(sink.secrets());
        }
        // Longest first, so a secret that contains another is masked whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        for s in &all {
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

    #[test]
    fn masks_what_its_sink_learns_later_through_every_copy() {
        let sink = super::SecretSink::default();
        let r = Redactor::new([Secret::new("hunter2")]).watching(&sink);
        let copy = r.with([Secret::new("other1")]);
        sink.add(Secret::new("vaulted-value"));
        sink.add(Secret::new("ab"));
        assert_eq!(
            copy.redact("vaulted-value hunter2 other1 ab"),
            "******** ******** ******** ab"
        );
        assert_eq!(r.redact("vaulted-value"), "********");
    }

    #[test]
    fn a_secret_learnt_through_one_copy_is_masked_by_all() {
        let r = Redactor::new([Secret::new("hunter2")]);
        let logs = Redactor::default().merged(&r);
        let files = r.with([Secret::new("other1")]);
        let engine = r.clone();
        engine.learn(Secret::new("become-pw"));
        for each in [&r, &logs, &files, &engine] {
            assert_eq!(each.redact("become-pw hunter2"), "******** ********");
        }
    }
}

/// Secrets serialize masked, so a report or JSON output can never carry one by accident.
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("********")
    }
}

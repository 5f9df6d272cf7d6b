//! Run-wide SSH settings (timeouts, host key policy, agent, channel cap) shared by every
//! connection, plus the cache that decrypts each private key once per run.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh::keys::PrivateKey;

use super::error::KeyLoadError;
use super::known_hosts::HostKeyChecking;
use clearfleet_base::secret::Secret;

/// Asked for the passphrase of an encrypted private key; `None` = no passphrase (skip or fail).
/// Called at most once per key file per [`SshSettings`] (see [`KeyCache`]), never concurrently.
pub type PassphrasePrompt = Arc<dyn Fn(&Path) -> Option<Secret> + Send + Sync>;

/// Settings for every connection of a run. Cloning shares the key cache.
#[derive(Clone)]
pub struct SshSettings {
    /// known_hosts file read and (under AcceptNew) appended to. Default `~/.ssh/known_hosts`.
    pub known_hosts: PathBuf,
    pub host_key_checking: HostKeyChecking,
    /// Bound on TCP + SSH handshake + authentication of one attempt (10 s). A target's
    /// ssh_config `ConnectTimeout` overrides it. Also bounds each single auth request.
    pub connect_timeout: Duration,
    /// Extra attempts after a refused / reset / closed-before-handshake connection (2), with
    /// exponential backoff from 200 ms plus jitter. Never for auth or host key failures.
    pub connect_retries: u32,
    /// SSH keepalive period (15 s): sent after this long without a word from the host. There
    /// is deliberately no inactivity timeout: it would kill silent long commands.
    pub keepalive_interval: Option<Duration>,
    /// Unanswered keepalives in a row (3) after which the connection is closed, so a host
    /// behind a cut network is noticed after about `(keepalive_max + 1) × keepalive_interval`.
    pub keepalive_max: u32,
    /// Connection attempts in flight to one address and port at a time (8), below sshd's
    /// default `MaxStartups 10`: many inventory names for one host, or many hosts behind one
    /// jump host, then queue here instead of being dropped by the server's throttling.
    pub max_handshakes_per_destination: usize,
    /// The per-destination queues, shared by all connections made with (clones of) these
    /// settings.
    pub handshake_gates: HandshakeGates,
    /// Try the keys of ssh-agent (after explicit keys, before default keys).
    pub use_agent: bool,
    /// The agent socket; `None` = `$SSH_AUTH_SOCK`.
    pub agent_socket: Option<PathBuf>,
    /// Keys tried when a target names none (default `~/.ssh/id_ed25519`, `id_rsa`,
    /// `id_ecdsa`); missing ones are skipped silently.
    pub default_identity_files: Vec<PathBuf>,
    /// Concurrent channels per connection (8, below OpenSSH's `MaxSessions 10`).
    pub max_channels: usize,
    /// Run commands in one long-lived login shell per connection when they allow it (true;
    /// `--no-persistent-shell` turns it off): see `persistent_shell.rs`.
    pub persistent_shell: bool,
    /// Asked for the passphrase of an encrypted key.
    pub passphrase: Option<PassphrasePrompt>,
    /// Decrypted keys, shared by all connections made with (clones of) these settings.
    pub key_cache: KeyCache,
}

impl Default for SshSettings {
    fn default() -> Self {
        let ssh_dir = std::env::home_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".ssh");
        SshSettings {
            known_hosts: ssh_dir.join("known_hosts"),
            host_key_checking: HostKeyChecking::AcceptNew,
            connect_timeout: Duration::from_secs(10),
            connect_retries: 2,
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            max_handshakes_per_destination: 8,
            handshake_gates: HandshakeGates::default(),
            use_agent: true,
            agent_socket: None,
            default_identity_files: ["id_ed25519", "id_rsa", "id_ecdsa"]
                .iter()
                .map(|k| ssh_dir.join(k))
                .collect(),
            max_channels: 8,
            persistent_shell: true,
            passphrase: None,
            key_cache: KeyCache::default(),
        }
    }
}

impl fmt::Debug for SshSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshSettings")
            .field("known_hosts", &self.known_hosts)
            .field("host_key_checking", &self.host_key_checking)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_retries", &self.connect_retries)
            .field("keepalive_interval", &self.keepalive_interval)
            .field("keepalive_max", &self.keepalive_max)
            .field(
                "max_handshakes_per_destination",
                &self.max_handshakes_per_destination,
            )
            .field("use_agent", &self.use_agent)
            .field("agent_socket", &self.agent_socket)
            .field("default_identity_files", &self.default_identity_files)
            .field("max_channels", &self.max_channels)
            .field("persistent_shell", &self.persistent_shell)
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "<callback>"),
            )
            .finish_non_exhaustive()
    }
}

type KeyMap = HashMap<PathBuf, Result<Arc<PrivateKey>, KeyLoadError>>;

/// Private keys already loaded (and decrypted) in this run, by path. The lock is held while a
/// key loads, so the passphrase callback runs once per key and never concurrently.
#[derive(Clone, Default)]
pub struct KeyCache {
    pub(crate) inner: Arc<tokio::sync::Mutex<KeyMap>>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyCache")
    }
}

/// One semaphore per destination (`address:port`), bounding the connection attempts in
/// flight to it (see [`SshSettings::max_handshakes_per_destination`]).
#[derive(Clone, Default)]
pub struct HandshakeGates {
    inner: Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>>,
}

impl HandshakeGates {
    /// The gate of `destination`, created with `size` permits on first use.
    pub(crate) fn gate(&self, destination: &str, size: usize) -> Arc<tokio::sync::Semaphore> {
        let mut map = match self.inner.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(destination.to_owned())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(size.max(1))))
            .clone()
    }
}

impl fmt::Debug for HandshakeGates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandshakeGates")
    }
}

//! Why a host could not be reached or a command could not run: one `thiserror` enum per stage.
//!
//! Messages are lowercase fragments ("connection refused by 10.0.0.5:22") so the runner can put
//! them after a host name. No message ever holds a password or passphrase.
//!
//! The runner maps every [`ConnectError`] and [`ExecError::ConnectionLost`] to "unreachable",
//! and every other [`ExecError`] to "failed".

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A host's connection settings could not be worked out (before any network traffic).
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// No user from the inventory, the CLI, ssh_config, `$USER`/`$LOGNAME` or the passwd file.
    #[error("no remote user for {host}: set ansible_user, --user or User in ssh config")]
    NoUser { host: String },
    /// A ProxyJump entry that is not `[user@]host[:port]`.
    #[error("invalid proxyjump entry {spec:?} for {host}: {reason}")]
    BadJump {
        host: String,
        spec: String,
        #[source]
        reason: JumpSpecError,
    },
    /// ProxyJump chains that go on for too long (most likely a loop in ssh_config).
    #[error("proxyjump chain for {host} is longer than {max} hops (a loop in ssh config?)")]
    JumpTooDeep { host: String, max: usize },
    /// A become method other than sudo.
    #[error("become method {method:?} is not supported (sudo is, and su without a password)")]
    UnsupportedBecome { method: String },
}

/// Why a ProxyJump entry is not `[ssh://][user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JumpSpecError {
    #[error("empty user")]
    EmptyUser,
    #[error("unclosed '['")]
    UnclosedBracket,
    #[error("junk after ']'")]
    JunkAfterBracket,
    #[error("empty host")]
    EmptyHost,
    /// Not a number from 1 to 65535.
    #[error("bad port {0:?}")]
    BadPort(String),
}

/// `~/.ssh/config` (or another ssh_config file) could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read ssh config {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("cannot parse ssh config {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// A connection (TCP, SSH handshake, host key check, authentication, jump hosts) failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the port (after the retries).
    #[error("connection refused by {addr} (after {attempts} attempts)")]
    Refused { addr: String, attempts: u32 },
    /// TCP + handshake + authentication did not finish within the connect timeout.
    #[error("timed out after {}s connecting to {addr}", after.as_secs_f32())]
    Timeout { addr: String, after: Duration },
    /// The server closed or reset the connection before the SSH handshake finished (after the
    /// retries); sshd does this when `MaxStartups` is exceeded.
    #[error(
        "connection closed by {addr} before the ssh handshake finished (after {attempts} attempts)"
    )]
    ClosedBeforeHandshake { addr: String, attempts: u32 },
    /// Another network error (no route, name resolution, reset after the handshake...).
    #[error("cannot connect to {addr}: {source}")]
    Io { addr: String, source: io::Error },
    /// The SSH protocol failed (no common algorithm, bad packet, not an SSH server...).
    #[error("ssh handshake with {addr} failed: {message}")]
    Protocol { addr: String, message: String },
    /// The host offered a key other than the one recorded for it.
    #[error(
        "host key for {host} has changed: it offered {key_type} {fingerprint}, but {}:{line} holds another key (possible man-in-the-middle attack; remove that line if the change is expected)",
        known_hosts.display()
    )]
    HostKeyChanged {
        host: String,
        key_type: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },
    /// Strict checking and the host is not in known_hosts.
    #[error(
        "host key for {host} is not known ({key_type} {fingerprint}) and host key checking is strict; add it to {}",
        known_hosts.display()
    )]
    HostKeyUnknown {
        host: String,
        key_type: String,
        fingerprint: String,
        known_hosts: PathBuf,
    },
    /// The offered key is marked `@revoked` in known_hosts.
    #[error(
        "host key for {host} ({key_type} {fingerprint}) is revoked at {}:{line}",
        known_hosts.display()
    )]
    HostKeyRevoked {
        host: String,
        key_type: String,
        fingerprint: String,
        known_hosts: PathBuf,
        line: usize,
    },
    /// The host offered a certificate, which is not supported.
    #[error("host {host} offered a host certificate; only plain host keys are supported")]
    HostCertificate { host: String },
    /// known_hosts could not be read or a new key could not be written to it.
    #[error("cannot {action} known_hosts file {}: {source}", path.display())]
    KnownHostsIo {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// Every authentication method failed.
    #[error("permission denied for {user}@{host} (tried: {})", if tried.is_empty() { "nothing: no key, agent or password available".to_string() } else { tried.join(", ") })]
    AuthFailed {
        user: String,
        host: String,
        tried: Vec<String>,
    },
    /// An authentication request got no answer in time.
    #[error("authentication of {user}@{host} timed out ({method})")]
    AuthTimeout {
        user: String,
        host: String,
        method: String,
    },
    /// A private key file is missing, unreadable or not a key.
    #[error("cannot use private key {}: {reason}", path.display())]
    KeyFile { path: PathBuf, reason: String },
    /// An encrypted private key and no passphrase, or a wrong one.
    #[error("cannot decrypt private key {}: {reason}", path.display())]
    KeyPassphrase { path: PathBuf, reason: String },
    /// The jump host could not be reached; `source` says why.
    #[error("jump host {jump}: {source}")]
    Jump {
        jump: String,
        source: Box<ConnectError>,
    },
    /// The jump host refused to forward to the target.
    #[error("jump host {jump} could not open a tunnel to {target}: {reason}")]
    JumpForward {
        jump: String,
        target: String,
        reason: String,
    },
}

impl ConnectError {
    /// Whether a new attempt may succeed: refused, reset, or closed before the banner. Never true
    /// for authentication or host-key failures, nor for timeouts.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectError::Refused { .. } | ConnectError::ClosedBeforeHandshake { .. }
        )
    }
}

/// A command could not run to completion. A command that ran and exited non-zero is not an
/// error: see [`crate::ExecOutput`].
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The connection died (host down, network, sshd killed) before the command's exit status
    /// arrived. The command may or may not have run.
    #[error("connection to {host} lost{}", if detail.is_empty() { String::new() } else { format!(": {detail}") })]
    ConnectionLost { host: String, detail: String },
    /// The command did not finish in time; it was sent SIGKILL and its channel closed.
    #[error("command timed out after {}s", after.as_secs_f32())]
    Timeout { after: Duration },
    /// The server refused to open a channel.
    #[error("cannot open a channel on {host}: {reason}")]
    ChannelOpen { host: String, reason: String },
    /// The server refused the exec request or stdin could not be sent.
    #[error("cannot start the command on {host}: {reason}")]
    ExecRefused { host: String, reason: String },
    /// Privilege escalation failed; the command did not run.
    #[error("privilege escalation failed: {reason}")]
    BecomeFailed { reason: String },
    /// A become method other than sudo.
    #[error("become method {method:?} is not supported (sudo is, and su without a password)")]
    UnsupportedBecome { method: String },
    /// The command's stdout could not be written where it was to go (a full disk); the
    /// command ran to its end.
    #[error("cannot write the command's output: {source}")]
    WriteOutput { source: io::Error },
    /// The OS gave no random bytes for the command's output markers; nothing was sent.
    #[error("cannot get random bytes from the OS for the command's markers: {0}")]
    Random(#[source] getrandom::Error),
}

/// Why a key file could not be used (cached per path for the run).
#[derive(Debug, Clone)]
pub enum KeyLoadError {
    Missing,
    Unreadable(String),
    Invalid(String),
    NoPassphrase,
    BadPassphrase,
}

impl KeyLoadError {
    /// The connection error for key file `path`.
    pub(crate) fn into_connect_error(self, path: &Path) -> ConnectError {
        let path = path.to_path_buf();
        match self {
            KeyLoadError::Missing => ConnectError::KeyFile {
                path,
                reason: "no such file".into(),
            },
            KeyLoadError::Unreadable(reason) => ConnectError::KeyFile { path, reason },
            KeyLoadError::Invalid(reason) => ConnectError::KeyFile {
                path,
                reason: format!("not a usable private key ({reason})"),
            },
            KeyLoadError::NoPassphrase => ConnectError::KeyPassphrase {
                path,
                reason: "the key is encrypted and no passphrase was given".into(),
            },
            KeyLoadError::BadPassphrase => ConnectError::KeyPassphrase {
                path,
                reason: "wrong passphrase".into(),
            },
        }
    }
}

//! The only door from a module to a host: run one shell command line, with optional stdin,
//! its output kept within the run's output limit (or its stdout written to a controller file).
//!
//! The engine implements [`Remote`] over an SSH `Connection` (`exec` with `ExecOptions { stdin,
//! timeout, become_, max_output }`); tests and `delegate_to: localhost` use
//! [`super::LocalRemote`].

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use clearfleet_base::capture::Truncation;

/// What a module may do on a host.
///
/// Over SSH (the engine's adapter, sketched):
/// ```text
/// conn.exec(cmd, &ExecOptions { stdin, timeout, become_ }) ->
///   Ok(ExecOutput { exit: Code(c), .. })    => RemoteOutput { rc: Some(c as i32), truncation, .. }
///   Ok(ExecOutput { exit: Signal(_), .. })  => RemoteOutput { rc: None, .. }
///   Err(ExecError::ConnectionLost { .. })   => RemoteError::Unreachable(e.to_string())
///   Err(ExecError::Timeout { after })       => RemoteError::Timeout(after)
///   Err(other)                              => RemoteError::Other(other.to_string())
/// ```
/// Modules send `/bin/sh -c '<script>'` (POSIX sh whatever the login shell), except `raw`.
///
/// Decision on the brief's `fetch_local`: modules need no controller scratch directory (fetch
/// writes under its own `dest`, script reads its source from the controller directory), but
/// fetch must know the inventory name of the host (`dest/<host>/<src>`), so the trait carries
/// [`Remote::host`] instead.
pub trait Remote: Send + Sync {
    /// Runs `cmd` through the login shell (as `ssh host CMD` would), feeding `stdin` then EOF.
    /// A non-zero exit is not an error.
    fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<RemoteOutput, RemoteError>> + Send;

    /// [`Remote::run`] with the command's stdout written to `stdout` as it arrives, whatever
    /// its size (`fetch` into a file); the output's `stdout` is then empty. A write error is
    /// [`RemoteError::Other`].
    fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        stdout: &mut (dyn Write + Send),
    ) -> impl Future<Output = Result<RemoteOutput, RemoteError>> + Send;

    /// The host's inventory name (fetch stores files under `dest/<host>/`).
    fn host(&self) -> &str;
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteOutput {
    /// Within the output limit, with a line saying how many bytes were dropped where some
    /// were (see [`clearfleet_base::capture::Capture`]).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None`: killed by a signal.
    pub rc: Option<i32>,
    /// What the output limit dropped.
    pub truncation: Truncation,
}

impl RemoteOutput {
    /// Stdout as text (lossy), for messages and parsing.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (lossy), trimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// Why a command could not be run to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The connection was lost (the host becomes unreachable).
    #[error("host unreachable: {0}")]
    Unreachable(String),
    /// The command ran longer than allowed and was stopped.
    #[error("command timed out after {}s", .0.as_secs_f32())]
    Timeout(std::time::Duration),
    #[error("{0}")]
    Other(String),
}

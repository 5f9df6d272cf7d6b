//! What a command is given and gives back, whichever way it runs (its own channel, `exec.rs`,
//! or the persistent shell, `persistent_shell.rs`): options, output, exit status, sudo's
//! verdict on it, the count of commands being killed, and deadline helpers. Apart so that
//! neither of the two ways depends on the other for it.

use std::future::Future;
use std::time::Duration;

use russh::Sig;
use tokio::time::Instant;

use super::r#become::{Become, SudoState};
use super::error::ExecError;

/// How to run one command.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Sent to the command's stdin, followed by EOF (EOF alone when `None`).
    pub stdin: Option<Vec<u8>>,
    /// Kill the command after this long, counted from the call (waiting for a free channel
    /// included). The kill is a "signal KILL" channel request plus, because sshd ignores that
    /// request for root logins, `kill -KILL -- -<pgid>` from a second channel: the login shell
    /// first prints its pid on stderr (`printf … "$$" >&2;`, taken out of the output), so the
    /// login shell must be POSIX-like (sh, bash, dash, zsh, ksh). A dropped (cancelled) exec
    /// is killed the same way. In the persistent shell, the shell's own process group (the
    /// command's) is killed the same way, and the shell replaced.
    pub timeout: Option<Duration>,
    /// Run through sudo.
    pub become_: Option<Become>,
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: ExitStatus,
}

impl ExecOutput {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.exit == ExitStatus::Code(0)
    }
}

/// How the remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    Code(u32),
    /// Killed by this signal (name without `SIG`, e.g. `KILL`).
    Signal(String),
}

/// How long to keep draining a channel we gave up on (timeout, sudo failure) so it closes
/// cleanly and frees its session slot on the server.
pub(crate) const DRAIN_AFTER_KILL: Duration = Duration::from_secs(3);

/// The command's output, or sudo's failure if sudo never started it (`sudo` = the become
/// conversation, if any): shared by the channel path and the persistent shell.
pub(crate) fn finish(
    sudo: Option<&SudoState>,
    stdout: Vec<u8>,
    mut stderr: Vec<u8>,
    exit: ExitStatus,
) -> Result<ExecOutput, ExecError> {
    if let Some(s) = sudo {
        if !s.running() {
            let code = match &exit {
                ExitStatus::Code(c) => Some(*c),
                ExitStatus::Signal(_) => None,
            };
            return Err(ExecError::BecomeFailed {
                reason: s.failure_reason(&stderr, code),
            });
        }
        s.clean_stderr(&mut stderr);
    }
    Ok(ExecOutput {
        stdout,
        stderr,
        exit,
    })
}

/// Commands being killed because their caller dropped them (see [`Live`]).
static KILLING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts one kill in progress until dropped.
pub(crate) struct Killing;

impl Killing {
    pub(crate) fn start() -> Killing {
        KILLING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Killing
    }
}

impl Drop for Killing {
    fn drop(&mut self) {
        KILLING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Waits (at most `max`) until every command whose exec was dropped (Ctrl-C twice) has been
/// killed on its host and its channel closed: call it before the runtime shuts down.
pub async fn cancelled_commands_settled(max: Duration) {
    let deadline = Instant::now() + max;
    while KILLING.load(std::sync::atomic::Ordering::SeqCst) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `fut` until `deadline`; `None` if the deadline came first.
pub(crate) async fn until<T>(deadline: Option<Instant>, fut: impl Future<Output = T>) -> Option<T> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d, fut).await.ok(),
        None => Some(fut.await),
    }
}

pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn signal_name_of(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(name) => name.clone(),
    }
}

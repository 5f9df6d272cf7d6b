//! What a command is given and gives back, whichever way it runs (its own channel, `exec.rs`,
//! or the persistent shell, `persistent_shell.rs`): options, output as it is collected within
//! the output limit, exit status, sudo's verdict on it, the count of commands being killed,
//! and deadline helpers. Apart so that neither of the two ways depends on the other for it.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use clearfleet_base::capture::{Capture, MaxOutput, Sink, Stream, Truncation};
use russh::Sig;
use tokio::time::Instant;

use super::r#become::{Action, Become, SudoState};
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
    /// How much of stdout, and of stderr, is kept: past it, the first and last halves of the
    /// limit (see [`Capture`]). The channel is read to its end all the same.
    pub max_output: MaxOutput,
}

impl ExecOptions {
    /// The line sudo or su is answered with when it asks for the password (an empty line
    /// when none was given: the prompt fails as it would at a terminal).
    pub(crate) fn become_password_line(&self) -> String {
        self.become_
            .as_ref()
            .and_then(|b| b.password.as_ref())
            .map(|p| format!("{}\n", p.expose()))
            .unwrap_or_default()
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Within [`ExecOptions::max_output`], plus the line that says how many bytes were
    /// dropped where some were; empty when stdout went to a writer
    /// ([`crate::Connection::exec_to`]).
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: ExitStatus,
    /// What the limit dropped.
    pub truncation: Truncation,
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

/// One command's output as it arrives, whichever way the command runs: sudo's conversation
/// taken out first (so its prompt and marker are seen however much came before them), then
/// each stream kept within the limit, or stdout written through to a writer.
pub(crate) struct Collect<'w, W: Write + Send + ?Sized> {
    limit: MaxOutput,
    stdout: Sink<'w, W>,
    stderr: Capture,
    sudo: Option<SudoState>,
}

impl<'w, W: Write + Send + ?Sized> Collect<'w, W> {
    pub(crate) fn new(
        limit: MaxOutput,
        sudo: Option<SudoState>,
        writer: Option<&'w mut W>,
    ) -> Collect<'w, W> {
        Collect {
            limit,
            stdout: Sink::new(limit, writer),
            stderr: Capture::new(limit),
            sudo,
        }
    }

    pub(crate) fn sudo_mut(&mut self) -> Option<&mut SudoState> {
        self.sudo.as_mut()
    }

    /// The next stdout bytes; what sudo's conversation asks for, if anything.
    pub(crate) fn stdout(&mut self, data: &[u8]) -> Option<Action> {
        let out = &mut self.stdout;
        match self.sudo.as_mut() {
            Some(s) => s.on_stdout(data, &mut |b: &[u8]| out.push(b)),
            None => {
                out.push(data);
                None
            }
        }
    }

    /// The next stderr bytes; what sudo's conversation asks for, if anything.
    pub(crate) fn stderr(&mut self, data: &[u8]) -> Option<Action> {
        match self.sudo.as_mut() {
            Some(s) => s.on_stderr(data, &mut self.stderr),
            None => {
                self.stderr.push(data);
                None
            }
        }
    }

    /// The command's output, or sudo's failure if sudo never started it, or the writer's.
    pub(crate) fn finish(self, exit: ExitStatus) -> Result<ExecOutput, ExecError> {
        let (mut stderr, stderr_dropped) = self.stderr.finish(Stream::Stderr);
        if let Some(s) = &self.sudo {
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
        let (stdout, stdout_dropped) = self
            .stdout
            .finish(Stream::Stdout)
            .map_err(|source| ExecError::WriteOutput { source })?;
        Ok(ExecOutput {
            stdout,
            stderr,
            exit,
            truncation: Truncation {
                limit: self.limit,
                stdout_dropped,
                stderr_dropped,
            },
        })
    }
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

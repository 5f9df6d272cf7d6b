//! One long-lived login shell per connection (the "driver") that runs each eligible command in
//! a subshell, so a command costs a fork on the host instead of a new SSH session (sshd's
//! session setup and the login shell's start): issue #8.
//!
//! What a command keeps, compared with its own channel (`exec.rs`):
//! - the same interpreter: the driver is the login shell (`$SHELL -c <driver script>`, as any
//!   command), and each command is `eval`ed by it in a subshell, with stdin `/dev/null` (EOF);
//! - separate, byte-exact stdout and stderr and its exit code (see `shell_frame.rs` for the
//!   markers around them); the environment, working directory, options and fds of one command
//!   end with its subshell;
//! - timeout and cancellation (dropped future, second Ctrl-C): the driver's process group
//!   (its pid, printed first on stderr; the command runs in that group) is killed from a
//!   second channel like a channel command's, and the driver is closed; the next command
//!   starts a new one;
//! - a driver that dies during a command (the command killed `$$` or its process group, sshd
//!   was killed) gives the channel's exit status, or `ConnectionLost`, as a channel would.
//!
//! Known differences: `$$` is the driver's pid (the same for every command of the connection);
//! a process a command leaves running in the background that keeps writing to the command's
//! stdout or stderr no longer holds the command open until it exits, and what it writes after
//! the command ended is dropped (before the next command's begin marker) or, if it writes
//! while a later command runs, shows up in that command's output; a command killed by a
//! signal reports exit code 128 + signal (as the shell's `$?`) rather than the signal, unless
//! it killed the driver itself.
//!
//! Commands go to their own channel instead (the caller falls back) when they have stdin
//! data, become with a password (sudo reads it from the channel), a NUL byte or more than
//! `shell_frame::MAX_COMMAND_LEN` bytes, when the driver is busy with another command of the
//! same connection, or when it cannot start (e.g. a login shell that is not POSIX-like: then
//! never again on that connection). The driver holds one of the connection's channel slots
//! for its life. `SshSettings::persistent_shell` (`--no-persistent-shell`) turns it off.
//!
//! A task always reads the driver's channel to its end (russh stalls the whole connection on
//! an unread channel), also between commands, when what arrives is dropped.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use russh::{ChannelMsg, ChannelReadHalf};
use tokio::sync::{OwnedMutexGuard, mpsc};
use tokio::time::Instant;

use super::r#become::{Action, SudoState};
use super::driver::{Driver, Event, Job, Slot, State};
use super::error::ExecError;
use super::output::{
    Collect, ExecOptions, ExecOutput, ExitStatus, Killing, signal_name_of, sleep_until, until,
};
use super::session::Connection;
use super::shell_frame::{StreamCut, driver_script, frame_command, parse_rc};
use clearfleet_base::random::token as random_token;

/// Longest stderr noise (rc files) searched for the driver's pid line.
const MAX_START_NOISE: usize = 64 * 1024;

/// Pieces of output (at most an SSH packet each) queued from the reader task to the command:
/// the queue is bounded like the channel itself, so a command that prints faster than it is
/// collected holds back the reader instead of growing memory.
const EVENT_QUEUE: usize = 16;

/// What the command's loop woke up for.
enum Next {
    Event(Option<Event>),
    Timeout,
    BecomeTimeout,
}

/// What [`Connection::exec_in_shell`] did.
pub(super) enum Routed {
    Done(Result<ExecOutput, ExecError>),
    /// Run the command on its own channel instead; nothing of it ran.
    Fallback,
}

/// Whether a command with these options can run in the driver.
pub(super) fn eligible(opts: &ExecOptions) -> bool {
    opts.stdin.as_ref().is_none_or(Vec::is_empty)
        && opts.become_.as_ref().is_none_or(|b| b.password.is_none())
}

/// Why a driver did not start.
enum StartError {
    /// The command's own deadline passed while starting.
    Timeout,
    /// Not on this connection (reason for the debug log).
    Unavailable(String),
}

/// The slot held by a running command. Dropped before the command settled (its future was
/// cancelled), it kills the driver in a background task, as `exec.rs` does for a channel.
struct InFlight {
    guard: OwnedMutexGuard<State>,
    conn: Connection,
    settled: bool,
}

impl InFlight {
    fn driver(&self) -> Option<&Driver> {
        match &*self.guard {
            State::Ready(d) => Some(d),
            _ => None,
        }
    }

    /// Takes the driver out of the slot: it will not be used again.
    fn take(&mut self) -> Option<Driver> {
        match std::mem::replace(&mut *self.guard, State::Empty) {
            State::Ready(d) => Some(d),
            other => {
                *self.guard = other;
                None
            }
        }
    }

    /// The command ended and the driver can run the next one.
    fn done(mut self) {
        self.settled = true;
    }

    /// Kills the driver and its command (timeout, sudo failure).
    async fn kill(mut self) {
        self.settled = true;
        if let Some(d) = self.take() {
            d.kill(|pid| self.conn.kill_process_group(pid)).await;
        }
    }

    /// The driver is gone or unusable: close what is left of it in the background.
    fn retire(mut self) {
        self.settled = true;
        if let Some(d) = self.take() {
            tokio::spawn(d.close());
        }
    }

    /// The driver could not start on this host: close it, never try again here.
    fn give_up(mut self) {
        self.settled = true;
        let driver = self.take();
        *self.guard = State::Unavailable;
        if let Some(d) = driver {
            tokio::spawn(d.close());
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Some(driver) = self.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let conn = self.conn.clone();
        let killing = Killing::start();
        runtime.spawn(async move {
            let _killing = killing;
            driver.kill(|pid| conn.kill_process_group(pid)).await;
        });
    }
}

impl Connection {
    /// Runs `command` in the connection's driver (started on first use), or says to fall
    /// back to a channel. `deadline` is the command's timeout, counted from the call.
    pub(super) async fn exec_in_shell<W: Write + Send + ?Sized>(
        &self,
        slot: &Slot,
        command: &str,
        opts: &ExecOptions,
        deadline: Option<Instant>,
        writer: Option<&mut W>,
    ) -> Routed {
        let timeout_err = || ExecError::Timeout {
            after: opts.timeout.unwrap_or_default(),
        };
        let Ok(mut guard) = slot.clone().try_lock_owned() else {
            return Routed::Fallback; // busy with another command of this connection
        };
        let (sudo, line) = match &opts.become_ {
            Some(b) => match SudoState::start(b, command) {
                Ok((state, line)) => (Some(state), line),
                Err(e) => return Routed::Done(Err(e)),
            },
            None => (None, command.to_string()),
        };
        let nonce = match random_token() {
            Ok(t) => t,
            Err(e) => return Routed::Done(Err(ExecError::Random(e))),
        };
        let Some(frame) = frame_command(&nonce, &line) else {
            return Routed::Fallback;
        };

        let dead = matches!(&*guard, State::Ready(d) if !d.alive());
        if dead && let State::Ready(d) = std::mem::replace(&mut *guard, State::Empty) {
            tokio::spawn(d.close());
        }
        match &*guard {
            State::Unavailable => return Routed::Fallback,
            State::Ready(_) => {}
            State::Empty => match self.start_driver(deadline).await {
                Ok(d) => *guard = State::Ready(d),
                Err(StartError::Timeout) => return Routed::Done(Err(timeout_err())),
                Err(StartError::Unavailable(reason)) => {
                    tracing::debug!(host = %self.inner.host, %reason, "persistent shell unavailable; one channel per command");
                    *guard = State::Unavailable;
                    return Routed::Fallback;
                }
            },
        }

        let flight = InFlight {
            guard,
            conn: self.clone(),
            settled: false,
        };
        let Some(driver) = flight.driver() else {
            flight.retire();
            return Routed::Fallback;
        };
        let (tx, mut events) = mpsc::channel(EVENT_QUEUE);
        if driver.jobs.send(Job { nonce, events: tx }).is_err() {
            flight.retire();
            return Routed::Fallback;
        }
        if driver.writer.data_bytes(frame).await.is_err() {
            // The channel is gone: the driver cannot have run a command it did not get whole
            // (it exits at EOF in the middle of one).
            flight.retire();
            return Routed::Fallback;
        }
        let mut out = Collect::new(opts.max_output, sudo, writer);
        if let Some(s) = out.sudo_mut() {
            s.arm();
        }

        let exit = loop {
            let become_deadline = out.sudo_mut().and_then(|s| s.deadline());
            let next = tokio::select! {
                event = events.recv() => Next::Event(event),
                _ = sleep_until(deadline), if deadline.is_some() => Next::Timeout,
                _ = sleep_until(become_deadline), if become_deadline.is_some() => Next::BecomeTimeout,
            };
            let failure = match next {
                Next::Timeout => timeout_err(),
                Next::BecomeTimeout => ExecError::BecomeFailed {
                    reason: match out.sudo_mut().map(SudoState::timed_out) {
                        Some(Action::Fail(r)) => r,
                        _ => "timed out waiting for sudo".into(),
                    },
                },
                Next::Event(Some(Event::Stdout(data))) => {
                    out.stdout(&data);
                    continue;
                }
                Next::Event(Some(Event::Stderr(data))) => match out.stderr(&data) {
                    Some(Action::Fail(reason)) => ExecError::BecomeFailed { reason },
                    // Not eligible with a password; without one sudo fails above.
                    Some(Action::SendPassword) => ExecError::BecomeFailed {
                        reason: "a password is required".into(),
                    },
                    Some(Action::Started) | None => continue,
                },
                Next::Event(Some(Event::Finished(Some(rc)))) => {
                    flight.done();
                    break ExitStatus::Code(rc);
                }
                Next::Event(Some(Event::Finished(None))) => ExecError::ExecRefused {
                    host: self.inner.host.clone(),
                    reason: "the persistent shell sent an unreadable exit status".into(),
                },
                Next::Event(Some(Event::Ended {
                    exit,
                    began,
                    started,
                })) => {
                    if started {
                        flight.retire();
                    } else {
                        tracing::debug!(host = %self.inner.host, ?exit, "persistent shell did not start; one channel per command");
                        flight.give_up();
                    }
                    if !began && !self.is_closed() {
                        return Routed::Fallback;
                    }
                    match exit {
                        Some(exit) => break exit,
                        None => return Routed::Done(Err(self.lost_midway())),
                    }
                }
                Next::Event(None) => {
                    // The reader ended before it took the command: nothing ran.
                    flight.retire();
                    if self.is_closed() {
                        return Routed::Done(Err(self.lost_midway()));
                    }
                    return Routed::Fallback;
                }
            };
            // The reader must never wait on this command's full queue while the driver is
            // being killed (it reads the driver's pid and the channel's end).
            drop(events);
            flight.kill().await;
            return Routed::Done(Err(failure));
        };
        Routed::Done(out.finish(exit))
    }

    fn lost_midway(&self) -> ExecError {
        self.lost(if self.is_closed() {
            "connection closed before the command's exit status arrived"
        } else {
            "channel closed without an exit status"
        })
    }

    /// Opens the driver's channel and starts the driver. Its pid line is not waited for:
    /// the first command is sent right behind the exec request (sshd keeps it until the
    /// shell reads it), so a driver costs no round trip of its own.
    async fn start_driver(&self, deadline: Option<Instant>) -> Result<Driver, StartError> {
        let token =
            random_token().map_err(|e| StartError::Unavailable(format!("no random tag: {e}")))?;
        let tag = format!("cf-drv-{}", &token[..16]);
        let timed_out = || match deadline {
            Some(d) if Instant::now() >= d => StartError::Timeout,
            _ => StartError::Unavailable("timed out starting".into()),
        };
        let permit = until(deadline, self.inner.channels.clone().acquire_owned())
            .await
            .ok_or_else(timed_out)?
            .map_err(|_| StartError::Unavailable("connection closed".into()))?;
        let channel = until(deadline, self.open_channel())
            .await
            .ok_or_else(timed_out)?
            .map_err(|e| StartError::Unavailable(e.to_string()))?;
        let (reader, writer) = channel.split();
        if let Err(e) = writer.exec(true, driver_script(&tag).into_bytes()).await {
            tokio::spawn(async move {
                let _ = writer.close().await;
                drop((reader, permit));
            });
            return Err(StartError::Unavailable(e.to_string()));
        }
        let pid = Arc::new(AtomicU32::new(0));
        let (jobs, queue) = mpsc::unbounded_channel();
        let reading = Reading {
            host: self.inner.host.clone(),
            tag,
            pid: pid.clone(),
        };
        let reader = tokio::spawn(read_driver(reader, queue, reading));
        Ok(Driver {
            writer,
            pid,
            jobs,
            reader,
            permit,
        })
    }
}

/// The pid on the first complete line of `buf` that is `<tag> <pid>`.
fn pid_in(buf: &[u8], tag: &str) -> Option<u32> {
    let complete = &buf[..buf.iter().rposition(|&b| b == b'\n')?];
    complete.split(|&b| b == b'\n').find_map(|line| {
        let rest = line.strip_prefix(tag.as_bytes())?.strip_prefix(b" ")?;
        std::str::from_utf8(rest).ok()?.trim().parse().ok()
    })
}

/// The command whose output the reader is cutting.
struct Current {
    job: Job,
    out: StreamCut,
    err: StreamCut,
}

impl Current {
    fn next(queue: &mut mpsc::UnboundedReceiver<Job>) -> Option<Current> {
        queue.try_recv().ok().map(|job| Current {
            out: StreamCut::new(&job.nonce),
            err: StreamCut::new(&job.nonce),
            job,
        })
    }
}

/// What the reader task knows of its driver.
struct Reading {
    host: String,
    /// The first word of the driver's pid line.
    tag: String,
    /// Where the pid goes once read.
    pid: Arc<AtomicU32>,
}

/// The reader task: reads the driver's channel to its end, takes the driver's pid line out
/// of its first stderr, and cuts each command's output out of the streams for that command's
/// events. What arrives while no command runs is dropped.
async fn read_driver(
    mut reader: ChannelReadHalf,
    mut queue: mpsc::UnboundedReceiver<Job>,
    reading: Reading,
) {
    let host = &reading.host;
    let mut current: Option<Current> = None;
    let mut exit: Option<ExitStatus> = None;
    let mut started = false;
    // stderr so far, until the pid line is in it.
    let mut first_stderr: Option<Vec<u8>> = Some(Vec::new());
    loop {
        let (data, is_err) = match reader.wait().await {
            Some(ChannelMsg::Data { data }) => (data, false),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => (data, true),
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                exit = Some(ExitStatus::Code(exit_status));
                continue;
            }
            Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                if exit.is_none() {
                    exit = Some(ExitStatus::Signal(signal_name_of(&signal_name)));
                }
                continue;
            }
            // The exec request was refused: nothing will run on this channel.
            Some(ChannelMsg::Failure) if !started => break,
            Some(ChannelMsg::Close) | None => break,
            Some(_) => continue,
        };
        if is_err && let Some(buf) = first_stderr.as_mut() {
            buf.extend_from_slice(&data);
            if let Some(pid) = pid_in(buf, &reading.tag) {
                reading.pid.store(pid, Ordering::SeqCst);
                started = true;
                first_stderr = None;
            } else if buf.len() > MAX_START_NOISE {
                first_stderr = None;
            }
        }
        if current.is_none() {
            current = Current::next(&mut queue);
        }
        let Some(cur) = current.as_mut() else {
            tracing::debug!(%host, bytes = data.len(), "persistent shell: output outside any command dropped");
            continue;
        };
        let mut piece = Vec::new();
        if is_err {
            cur.err.feed(&data, &mut piece);
            if !piece.is_empty() {
                let _ = cur.job.events.send(Event::Stderr(piece)).await;
            }
        } else {
            cur.out.feed(&data, &mut piece);
            if !piece.is_empty() {
                let _ = cur.job.events.send(Event::Stdout(piece)).await;
            }
        }
        if cur.out.done() && cur.err.done() {
            let rc = parse_rc(cur.out.trailer());
            let _ = cur.job.events.send(Event::Finished(rc)).await;
            current = None;
        }
    }
    if current.is_none() {
        current = Current::next(&mut queue);
    }
    if let Some(mut cur) = current {
        let mut piece = Vec::new();
        cur.out.finish(&mut piece);
        if !piece.is_empty() {
            let _ = cur
                .job
                .events
                .send(Event::Stdout(std::mem::take(&mut piece)))
                .await;
        }
        cur.err.finish(&mut piece);
        if !piece.is_empty() {
            let _ = cur.job.events.send(Event::Stderr(piece)).await;
        }
        let began = cur.out.began() || cur.err.began();
        let _ = cur
            .job
            .events
            .send(Event::Ended {
                exit,
                began,
                started,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_line_is_found_after_rc_file_noise() {
        let tag = "cf-drv-0123";
        assert_eq!(pid_in(b"noise\ncf-drv-0123 4711\n", tag), Some(4711));
        assert_eq!(pid_in(b"cf-drv-0123 47", tag), None);
        assert_eq!(pid_in(b"cf-drv-01234 5\n", tag), None);
        assert_eq!(pid_in(b"x cf-drv-0123 5\n", tag), None);
        assert_eq!(pid_in(b"", tag), None);
    }

    #[test]
    fn eligibility() {
        use crate::Become;
        use clearfleet_base::secret::Secret;
        assert!(eligible(&ExecOptions::default()));
        assert!(eligible(&ExecOptions {
            stdin: Some(Vec::new()),
            become_: Some(Become::sudo(None)),
            ..Default::default()
        }));
        assert!(!eligible(&ExecOptions {
            stdin: Some(b"x".to_vec()),
            ..Default::default()
        }));
        assert!(!eligible(&ExecOptions {
            become_: Some(Become::sudo(Some(Secret::new("pw")))),
            ..Default::default()
        }));
    }
}

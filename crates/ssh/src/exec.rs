//! Runs one command on its own channel and reads that channel to its end, unless the
//! connection's persistent shell can run it (`persistent_shell.rs`, tried first).
//!
//! Every channel is drained until the server closes it: an unread channel stalls the whole
//! connection in russh (its session loop blocks on a full channel queue), so stdout, stderr and
//! stdin are handled concurrently in one loop, and output past the limit is still read (and
//! only counted, see `output.rs`). The exit status may arrive before the last data.
//! A channel that ends without exit status (nor exit signal) means the connection was lost.
//! A semaphore keeps at most `max_channels` channels open per connection, below OpenSSH's
//! `MaxSessions` (which also counts channels that are still closing).

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::time::Duration;

use russh::{ChannelMsg, ChannelWriteHalf, Sig, client};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use super::r#become::{Action, SudoState};
use super::error::ExecError;
use super::output::{
    Collect, DRAIN_AFTER_KILL, ExecOptions, ExecOutput, ExitStatus, Killing, signal_name_of,
    sleep_until, until,
};
use super::persistent_shell::{self, Routed};
use super::session::Connection;

/// Channel open attempts when the server refuses for lack of sessions.
const OPEN_ATTEMPTS: u32 = 10;

type Pending<'a> = Pin<Box<dyn Future<Output = Result<(), russh::Error>> + Send + 'a>>;

enum Event {
    Msg(Option<ChannelMsg>),
    StdinDone(Result<(), russh::Error>),
    Timeout,
    BecomeTimeout,
}

impl Connection {
    /// Runs `command` through the login user's shell: in the connection's persistent shell
    /// when its options allow (no stdin data, no sudo password) and that shell is free,
    /// otherwise on a new channel. stdout and stderr are kept within
    /// [`ExecOptions::max_output`] each.
    ///
    /// A non-zero exit is not an error. Errors: [`ExecError::ConnectionLost`] if the connection
    /// died before the exit status came, [`ExecError::Timeout`], [`ExecError::BecomeFailed`],
    /// and channel/exec refusals.
    pub async fn exec(&self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, ExecError> {
        self.exec_with::<dyn Write + Send>(command, opts, None)
            .await
    }

    /// [`Connection::exec`] with stdout written to `writer` as it arrives, whatever its size
    /// (a file on the controller: `fetch`); the output's `stdout` is then empty. stderr is
    /// kept within the limit as usual. A write error ([`ExecError::WriteOutput`]) stops the
    /// writing, not the command.
    pub async fn exec_to(
        &self,
        command: &str,
        opts: &ExecOptions,
        writer: &mut (dyn Write + Send),
    ) -> Result<ExecOutput, ExecError> {
        self.exec_with(command, opts, Some(writer)).await
    }

    async fn exec_with<W: Write + Send + ?Sized>(
        &self,
        command: &str,
        opts: &ExecOptions,
        mut writer: Option<&mut W>,
    ) -> Result<ExecOutput, ExecError> {
        let deadline = opts.timeout.and_then(|t| Instant::now().checked_add(t));
        if let Some(slot) = &self.inner.shell
            && persistent_shell::eligible(opts)
        {
            let writer = writer.as_deref_mut();
            match self
                .exec_in_shell(slot, command, opts, deadline, writer)
                .await
            {
                Routed::Done(result) => return result,
                Routed::Fallback => {}
            }
        }
        let timeout_err = || ExecError::Timeout {
            after: opts.timeout.unwrap_or_default(),
        };
        let (sudo, line) = match &opts.become_ {
            Some(b) => {
                let (state, line) = SudoState::start(b, command)?;
                (Some(state), line)
            }
            None => (None, command.to_string()),
        };
        // The login shell first reports its pid (= its process group, as sshd starts each
        // session with setsid) on stderr, so a timed-out or cancelled (Ctrl-C) command can be
        // killed even where sshd ignores "signal" requests (root logins run without privilege
        // separation).
        let mut pid_line = Some(PidLine::new().map_err(ExecError::Random)?);
        let line = match &pid_line {
            Some(p) => format!("{}{line}", p.prefix()),
            None => line,
        };

        let permit = until(deadline, self.inner.channels.clone().acquire_owned())
            .await
            .ok_or_else(timeout_err)?
            .map_err(|_| self.lost("connection closed"))?;
        let channel = until(deadline, self.open_channel())
            .await
            .ok_or_else(timeout_err)??;
        let (reader, writer_half) = channel.split();
        let mut live = Live {
            parts: Some((reader, writer_half, permit)),
            conn: self.clone(),
            pid: None,
            pid_tag: pid_line.as_ref().map(|p| p.tag.clone()),
            drained: false,
        };
        let Some((reader, channel_writer, _permit)) = live.parts.as_mut() else {
            return Err(self.lost("channel vanished"));
        };
        let channel_writer: &ChannelWriteHalf<client::Msg> = channel_writer;
        if let Err(e) = channel_writer.exec(true, line.into_bytes()).await {
            return Err(self.start_error(e));
        }
        let mut out = Collect::new(opts.max_output, sudo, writer);
        let sudo_wait = out.sudo_mut().is_some();
        if let Some(s) = out.sudo_mut() {
            s.arm(); // the become timeout runs from here, not while waiting for a channel
        }

        let mut status: Option<ExitStatus> = None;
        let mut confirmed = false;
        let mut stdin: Option<Pending<'_>> = None;
        let mut stdin_data = opts.stdin.clone();
        if !sudo_wait {
            stdin = Some(send_stdin(channel_writer, stdin_data.take()));
        }

        loop {
            let become_deadline = out.sudo_mut().and_then(|s| s.deadline());
            let event = tokio::select! {
                msg = reader.wait() => Event::Msg(msg),
                done = async { match stdin.as_mut() { Some(f) => f.await, None => Ok(()) } }, if stdin.is_some() => Event::StdinDone(done),
                _ = sleep_until(deadline), if deadline.is_some() => Event::Timeout,
                _ = sleep_until(become_deadline), if become_deadline.is_some() => Event::BecomeTimeout,
            };
            let msg = match event {
                Event::Msg(Some(msg)) => msg,
                Event::Msg(None) => break,
                Event::StdinDone(result) => {
                    stdin = None;
                    if let Err(e) = result {
                        // The command may exit without reading its stdin; its exit status
                        // still decides the outcome.
                        tracing::debug!(error = %e, "stdin not fully sent");
                    }
                    continue;
                }
                Event::Timeout => {
                    drop(stdin.take());
                    let _ = channel_writer.signal(Sig::KILL).await;
                    if let Some(pid) = pid_line.as_ref().and_then(|p| p.pid) {
                        self.kill_process_group(pid).await;
                    }
                    let _ = channel_writer.eof().await;
                    let _ = channel_writer.close().await;
                    drain(reader).await;
                    live.drained = true;
                    return Err(timeout_err());
                }
                Event::BecomeTimeout => {
                    let reason = match out.sudo_mut().map(SudoState::timed_out) {
                        Some(Action::Fail(r)) => r,
                        _ => "timed out waiting for sudo".into(),
                    };
                    drop(stdin.take());
                    abandon(channel_writer, reader).await;
                    live.drained = true;
                    return Err(ExecError::BecomeFailed { reason });
                }
            };
            match msg {
                ChannelMsg::Data { data } => {
                    if let Some(Action::Started) = out.stdout(&data) {
                        stdin = Some(send_stdin(channel_writer, stdin_data.take()));
                    }
                }
                ChannelMsg::ExtendedData { data, ext } => {
                    if ext != 1 {
                        continue;
                    }
                    let action = match pid_line.as_mut() {
                        Some(p) if !p.done => {
                            let rest = p.feed(&data);
                            live.pid = p.pid;
                            if rest.is_empty() {
                                continue;
                            }
                            out.stderr(&rest)
                        }
                        _ => out.stderr(&data),
                    };
                    match action {
                        Some(Action::SendPassword) => {
                            let password = opts.become_password_line();
                            if channel_writer
                                .data_bytes(password.into_bytes())
                                .await
                                .is_err()
                            {
                                return Err(self.lost("while sending the sudo password"));
                            }
                            if let Some(s) = out.sudo_mut() {
                                s.password_sent();
                            }
                        }
                        Some(Action::Fail(reason)) => {
                            drop(stdin.take());
                            abandon(channel_writer, reader).await;
                            live.drained = true;
                            return Err(ExecError::BecomeFailed { reason });
                        }
                        Some(Action::Started) | None => {}
                    }
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    status = Some(ExitStatus::Code(exit_status));
                }
                ChannelMsg::ExitSignal { signal_name, .. } if status.is_none() => {
                    status = Some(ExitStatus::Signal(signal_name_of(&signal_name)));
                }
                ChannelMsg::Success => confirmed = true,
                ChannelMsg::Failure if !confirmed => {
                    return Err(ExecError::ExecRefused {
                        host: self.inner.host.clone(),
                        reason: "the server refused the exec request".into(),
                    });
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        live.drained = true;
        drop(stdin);
        if let Some(p) = pid_line.as_mut()
            && !p.done
        {
            out.stderr(&p.rest());
        }

        let Some(exit) = status else {
            let detail = if self.inner.handle.is_closed() {
                "connection closed before the command's exit status arrived"
            } else {
                "channel closed without an exit status"
            };
            return Err(self.lost(detail));
        };
        out.finish(exit)
    }

    /// Opens a session channel. A server whose `MaxSessions` is below `max_channels` (or
    /// still counts closing channels) refuses with "connect failed": that is retried with
    /// backoff (50 ms doubling to 800 ms, about 5 s in all) before giving up.
    pub(super) async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, ExecError> {
        let mut wait = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.inner.handle.channel_open_session().await {
                Ok(channel) => return Ok(channel),
                Err(russh::Error::ChannelOpenFailure(
                    russh::ChannelOpenFailure::ConnectFailed
                    | russh::ChannelOpenFailure::AdministrativelyProhibited
                    | russh::ChannelOpenFailure::ResourceShortage,
                )) if attempts < OPEN_ATTEMPTS => {
                    tracing::debug!(host = %self.inner.host, attempts, "channel refused; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(800));
                }
                Err(e) => return Err(self.open_error(e)),
            }
        }
    }

    /// Kills remote process group `pid` from a separate channel (bounded in time).
    pub(super) async fn kill_process_group(&self, pid: u32) {
        let inner = &self.inner;
        let _ = tokio::time::timeout(DRAIN_AFTER_KILL, async {
            let Ok(_slot) = inner.killer.acquire().await else {
                return;
            };
            let Ok(channel) = inner.handle.channel_open_session().await else {
                return;
            };
            let (mut reader, writer) = channel.split();
            let cmd =
                format!("kill -KILL -- -{pid} 2>/dev/null; kill -KILL {pid} 2>/dev/null; true");
            if writer.exec(false, cmd.into_bytes()).await.is_ok() {
                let _ = writer.eof().await;
                while let Some(msg) = reader.wait().await {
                    if matches!(msg, ChannelMsg::Close) {
                        break;
                    }
                }
            }
        })
        .await;
    }

    pub(super) fn lost(&self, detail: &str) -> ExecError {
        ExecError::ConnectionLost {
            host: self.inner.host.clone(),
            detail: detail.to_string(),
        }
    }

    fn open_error(&self, e: russh::Error) -> ExecError {
        match e {
            russh::Error::ChannelOpenFailure(reason) => ExecError::ChannelOpen {
                host: self.inner.host.clone(),
                reason: match reason {
                    russh::ChannelOpenFailure::ConnectFailed => {
                        "refused by the server (too many sessions? see sshd MaxSessions)".into()
                    }
                    russh::ChannelOpenFailure::AdministrativelyProhibited => {
                        "administratively prohibited".into()
                    }
                    russh::ChannelOpenFailure::ResourceShortage => "resource shortage".into(),
                    russh::ChannelOpenFailure::UnknownChannelType => "unknown channel type".into(),
                    russh::ChannelOpenFailure::Other { code, reason } => {
                        format!("refused (code {code}: {reason})")
                    }
                },
            },
            _ if self.inner.handle.is_closed() => self.lost("connection closed"),
            russh::Error::SendError | russh::Error::Disconnect | russh::Error::HUP => {
                self.lost("connection closed")
            }
            other => ExecError::ChannelOpen {
                host: self.inner.host.clone(),
                reason: other.to_string().to_lowercase(),
            },
        }
    }

    fn start_error(&self, e: russh::Error) -> ExecError {
        if self.inner.handle.is_closed() {
            self.lost("connection closed")
        } else {
            ExecError::ExecRefused {
                host: self.inner.host.clone(),
                reason: e.to_string().to_lowercase(),
            }
        }
    }
}

/// An open channel and its slot. If the exec future is dropped before the channel was read to
/// its end (the caller cancelled it), the command is killed and the channel closed and drained
/// in a background task, which frees the slot only then: a dropped russh channel is otherwise
/// never closed and would keep one of the server's MaxSessions.
struct Live {
    parts: Option<(
        russh::ChannelReadHalf,
        ChannelWriteHalf<client::Msg>,
        OwnedSemaphorePermit,
    )>,
    conn: Connection,
    pid: Option<u32>,
    /// The pid line's tag, to read the pid from the channel when the command is dropped
    /// before its pid line arrived.
    pid_tag: Option<String>,
    drained: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        if self.drained {
            return;
        }
        let Some((mut reader, writer, permit)) = self.parts.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (conn, pid, tag) = (self.conn.clone(), self.pid, self.pid_tag.take());
        let killing = Killing::start();
        runtime.spawn(async move {
            let _killing = killing;
            // Dropped right after it started: the pid line may still be on its way.
            let pid = match (pid, tag) {
                (None, Some(tag)) => read_pid(&mut reader, tag).await,
                (pid, _) => pid,
            };
            let _ = writer.signal(Sig::KILL).await;
            if let Some(pid) = pid {
                conn.kill_process_group(pid).await;
            }
            let _ = writer.eof().await;
            let _ = writer.close().await;
            drain(&mut reader).await;
            drop(permit);
        });
    }
}

/// How long a dropped command's kill waits for a pid line that has not arrived yet.
const PID_WAIT: Duration = Duration::from_secs(2);

/// Reads the channel (bounded by [`PID_WAIT`]) until the pid line tagged `tag` arrives.
async fn read_pid(reader: &mut russh::ChannelReadHalf, tag: String) -> Option<u32> {
    let mut line = PidLine {
        tag,
        buf: Vec::new(),
        done: false,
        pid: None,
    };
    tokio::time::timeout(PID_WAIT, async {
        while let Some(msg) = reader.wait().await {
            if let ChannelMsg::ExtendedData { data, ext: 1 } = msg {
                line.feed(&data);
                if line.done {
                    return line.pid;
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

/// The `cf-pid-<token>:<pid>` line the login shell prints first on stderr when a timeout is
/// set; taken out of stderr.
struct PidLine {
    tag: String,
    buf: Vec<u8>,
    done: bool,
    pid: Option<u32>,
}

impl PidLine {
    fn new() -> Result<PidLine, getrandom::Error> {
        Ok(PidLine {
            tag: format!("cf-pid-{}:", &clearfleet_base::random::token()?[..16]),
            buf: Vec::new(),
            done: false,
            pid: None,
        })
    }

    fn prefix(&self) -> String {
        format!("printf '{}%s\\n' \"$$\" >&2; ", self.tag)
    }

    /// Takes stderr bytes until the pid line is complete; returns the bytes that belong to
    /// the command's stderr. Whole lines before the pid line (the login shell's rc files
    /// complaining, or the shell failing before it printed) are handed over as they come; a
    /// partial line waits for its end (or for the end of the stream, see `rest`).
    fn feed(&mut self, data: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(data);
        let tag = self.tag.as_bytes();
        let mut out = Vec::new();
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            if let Some(pid) = line.strip_prefix(tag) {
                self.pid = std::str::from_utf8(pid)
                    .ok()
                    .and_then(|p| p.trim().parse().ok());
                self.done = true;
                out.append(&mut self.buf);
                return out;
            }
            out.extend_from_slice(&line);
        }
        if self.buf.len() > 64 * 1024 {
            // A line this long is not the pid line: stop looking.
            self.done = true;
            out.append(&mut self.buf);
        }
        out
    }

    /// What is held back when the stream ends without the pid line.
    fn rest(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.buf)
    }
}

fn send_stdin(writer: &ChannelWriteHalf<client::Msg>, data: Option<Vec<u8>>) -> Pending<'_> {
    Box::pin(async move {
        if let Some(data) = data
            && !data.is_empty()
        {
            writer.data_bytes(data).await?;
        }
        writer.eof().await
    })
}

/// Kills what runs on the channel, closes it and reads it to its end (bounded).
async fn abandon(writer: &ChannelWriteHalf<client::Msg>, reader: &mut russh::ChannelReadHalf) {
    let _ = writer.signal(Sig::KILL).await;
    let _ = writer.eof().await;
    let _ = writer.close().await;
    drain(reader).await;
}

async fn drain(reader: &mut russh::ChannelReadHalf) {
    let _ = tokio::time::timeout(DRAIN_AFTER_KILL, async {
        while let Some(msg) = reader.wait().await {
            if matches!(msg, ChannelMsg::Close) {
                break;
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn connection_is_send_sync_and_shareable() {
        assert_send_sync::<Connection>();
    }

    #[test]
    fn pid_line_is_taken_out_of_stderr_across_chunks() {
        let mut p = PidLine::new().unwrap_or_else(|e| panic!("{e}"));
        let line = format!("{}4242\nreal stderr", p.tag);
        let (a, b) = line.as_bytes().split_at(5);
        assert!(p.feed(a).is_empty());
        assert_eq!(p.feed(b), b"real stderr");
        assert!(p.done);
        assert_eq!(p.pid, Some(4242));
        assert!(p.prefix().contains(&p.tag));

        let mut p = PidLine::new().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.feed(b"sh: syntax error\n"), b"sh: syntax error\n");
        assert_eq!(p.pid, None);
        assert_eq!(p.feed(b"no newline"), b"");
        assert_eq!(p.rest(), b"no newline");
    }

    #[test]
    fn rc_file_noise_before_the_pid_line_stays_in_stderr() {
        let mut p = PidLine::new().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.feed(b"pyenv: cannot reh"), b"");
        assert_eq!(
            p.feed(b"ash\nsecond line\n"),
            b"pyenv: cannot rehash\nsecond line\n"
        );
        let rest = format!("{}77\nreal err", p.tag);
        assert_eq!(p.feed(rest.as_bytes()), b"real err");
        assert_eq!(p.pid, Some(77));
        assert!(p.done);
    }
}

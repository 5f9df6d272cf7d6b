//! Runs a command on the controller itself with become: a `local` connection's task (inventory
//! `ansible_connection: local`, `connection: local`, `delegate_to: localhost`) under `become`.
//! ansible-core 2.19.14's local connection (lib/ansible/plugins/connection/local.py
//! `exec_command`) runs the become plugin's wrapped command with `/bin/sh -c` and answers the
//! become prompt on the process's stdin, as the ssh connection does; here the wrapping and the
//! conversation are the SSH path's own ([`SudoState`], [`Collect`]), the child's pipes in place
//! of the channel: the password goes to sudo's prompt only, the caller's stdin only after the
//! success marker.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::time::Instant;

use super::r#become::{Action, SudoState};
use super::error::ExecError;
use super::output::{Collect, ExecOptions, ExecOutput, ExitStatus, sleep_until};

/// How long output is still read after the command exited while something it started keeps
/// its pipes open (as the controller's plain local runs do).
const AFTER_EXIT: Duration = Duration::from_secs(1);

/// The controller as the host's name in errors.
const CONTROLLER: &str = "the controller";

/// Runs `command` on the controller with `/bin/sh -c`, through `opts.become_` when set, with
/// `opts`' stdin, timeout and output limit; stdout to `writer` when given.
pub async fn exec_local<W: Write + Send + ?Sized>(
    command: &str,
    opts: &ExecOptions,
    writer: Option<&mut W>,
) -> Result<ExecOutput, ExecError> {
    let deadline = opts.timeout.and_then(|t| Instant::now().checked_add(t));
    let (sudo, line) = match &opts.become_ {
        Some(b) => {
            let (state, line) = SudoState::start(b, command)?;
            (Some(state), line)
        }
        None => (None, command.to_owned()),
    };
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(&line)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what sudo started too.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ExecError::ExecRefused {
            host: CONTROLLER.to_owned(),
            reason: format!("cannot start /bin/sh: {e}"),
        })?;
    let mut out = Collect::new(opts.max_output, sudo, writer);
    let mut stdin = child.stdin.take();
    let mut stdin_data = opts.stdin.clone();
    match out.sudo_mut() {
        Some(s) => s.arm(),
        None => feed(stdin.take(), stdin_data.take()),
    }
    let (Some(mut out_pipe), Some(mut err_pipe)) = (child.stdout.take(), child.stderr.take())
    else {
        return Err(ExecError::ExecRefused {
            host: CONTROLLER.to_owned(),
            reason: "no pipes to the command".to_owned(),
        });
    };
    let (mut out_buf, mut err_buf) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    let (mut out_open, mut err_open) = (true, true);
    let mut status: Option<std::process::ExitStatus> = None;
    let mut after_exit: Option<Instant> = None;
    while out_open || err_open {
        let become_deadline = out.sudo_mut().and_then(|s| s.deadline());
        tokio::select! {
            r = out_pipe.read(&mut out_buf), if out_open => match r {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => {
                    if let Some(Action::Started) = out.stdout(&out_buf[..n]) {
                        feed(stdin.take(), stdin_data.take());
                    }
                }
            },
            r = err_pipe.read(&mut err_buf), if err_open => match r {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => match out.stderr(&err_buf[..n]) {
                    Some(Action::SendPassword) => {
                        let password = opts.become_password_line();
                        if let Some(pipe) = stdin.as_mut() {
                            // sudo may have given up meanwhile: its exit tells.
                            let _ = pipe.write_all(password.as_bytes()).await;
                            let _ = pipe.flush().await;
                        }
                        if let Some(s) = out.sudo_mut() {
                            s.password_sent();
                        }
                    }
                    Some(Action::Fail(reason)) => {
                        kill(&mut child).await;
                        return Err(ExecError::BecomeFailed { reason });
                    }
                    Some(Action::Started) | None => {}
                },
            },
            s = child.wait(), if status.is_none() => {
                status = Some(s.map_err(|e| ExecError::ExecRefused {
                    host: CONTROLLER.to_owned(),
                    reason: e.to_string(),
                })?);
                after_exit = Instant::now().checked_add(AFTER_EXIT);
            }
            () = sleep_until(after_exit), if after_exit.is_some() => break,
            () = sleep_until(deadline), if deadline.is_some() => {
                kill(&mut child).await;
                return Err(ExecError::Timeout { after: opts.timeout.unwrap_or_default() });
            }
            () = sleep_until(become_deadline), if become_deadline.is_some() => {
                let reason = match out.sudo_mut().map(SudoState::timed_out) {
                    Some(Action::Fail(r)) => r,
                    _ => "timed out waiting for sudo".into(),
                };
                kill(&mut child).await;
                return Err(ExecError::BecomeFailed { reason });
            }
        }
    }
    let status = match status {
        Some(s) => s,
        None => child.wait().await.map_err(|e| ExecError::ExecRefused {
            host: CONTROLLER.to_owned(),
            reason: e.to_string(),
        })?,
    };
    let exit = match status.code() {
        Some(c) => ExitStatus::Code(u32::try_from(c).unwrap_or(u32::MAX)),
        None => {
            use std::os::unix::process::ExitStatusExt;
            ExitStatus::Signal(status.signal().map_or_else(String::new, signal_name))
        }
    };
    out.finish(exit)
}

/// Sends `data` (then EOF) to the command's stdin without holding up the reading.
fn feed(pipe: Option<ChildStdin>, data: Option<Vec<u8>>) {
    let Some(mut pipe) = pipe else {
        return;
    };
    tokio::spawn(async move {
        if let Some(data) = data {
            // The command may exit without reading its stdin: not an error.
            let _ = pipe.write_all(&data).await;
        }
        drop(pipe);
    });
}

/// Kills the command's process group (sudo and what it started run as root's children) and
/// reaps the shell.
async fn kill(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
    let _ = child.start_kill();
    let _ = child.wait().await;
}

/// A signal's name without `SIG`, as the SSH path reports it.
fn signal_name(n: i32) -> String {
    match n {
        1 => "HUP",
        2 => "INT",
        3 => "QUIT",
        6 => "ABRT",
        9 => "KILL",
        13 => "PIPE",
        14 => "ALRM",
        15 => "TERM",
        _ => return n.to_string(),
    }
    .to_owned()
}

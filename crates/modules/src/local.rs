//! [`Remote`] on the controller itself (`sh -c`): for `delegate_to: localhost` and for tests.
//! Its output is read as it comes and kept within the output limit, as over SSH.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use clearfleet_base::capture::{MaxOutput, Sink, Stream, Truncation};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::remote::{Remote, RemoteError, RemoteOutput};

/// How long output is still read after the command exited while something it started keeps
/// its pipes open.
const AFTER_EXIT: Duration = Duration::from_secs(1);

/// Runs commands with the local `/bin/sh`.
#[derive(Debug, Clone)]
pub struct LocalRemote {
    host: String,
    max_output: MaxOutput,
}

impl LocalRemote {
    /// A local "host" named `host` (the inventory name, for fetch's `dest/<host>/`), with the
    /// default output limit.
    pub fn new(host: impl Into<String>) -> LocalRemote {
        LocalRemote {
            host: host.into(),
            max_output: MaxOutput::DEFAULT,
        }
    }

    /// The same with another output limit.
    pub fn with_max_output(mut self, max_output: MaxOutput) -> LocalRemote {
        self.max_output = max_output;
        self
    }

    async fn run_with<W: Write + Send + ?Sized>(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        writer: Option<&mut W>,
    ) -> Result<RemoteOutput, RemoteError> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| RemoteError::Other(format!("cannot start /bin/sh: {e}")))?;
        let mut pipe = child.stdin.take();
        let feed = async move {
            if let (Some(p), Some(data)) = (pipe.as_mut(), stdin) {
                // The command may exit without reading stdin: not an error.
                let _ = p.write_all(&data).await;
            }
            drop(pipe);
        };
        let mut stdout = Sink::new(self.max_output, writer);
        let mut stderr = Sink::<W>::new(self.max_output, None);
        let (out_pipe, err_pipe) = (child.stdout.take(), child.stderr.take());
        let run = async {
            let reading = async {
                let ((), out, err) = tokio::join!(
                    feed,
                    read_into(out_pipe, &mut stdout),
                    read_into(err_pipe, &mut stderr)
                );
                out.and(err)
            };
            tokio::pin!(reading);
            tokio::select! {
                read = &mut reading => {
                    read?;
                    child.wait().await
                }
                status = child.wait() => {
                    // A process the command left in the background (`cmd &`) may hold its
                    // pipes open: as Ansible's `run_command`, which stops reading once the
                    // command has exited and nothing comes for a second, the rest is read for
                    // at most that long.
                    if let Ok(read) = tokio::time::timeout(AFTER_EXIT, &mut reading).await {
                        read?;
                    }
                    status
                }
            }
        };
        let status = match timeout {
            Some(t) => tokio::time::timeout(t, run)
                .await
                .map_err(|_| RemoteError::Timeout(t))?,
            None => run.await,
        }
        .map_err(|e| RemoteError::Other(e.to_string()))?;
        let (stdout, stdout_dropped) = stdout
            .finish(Stream::Stdout)
            .map_err(|e| RemoteError::Other(format!("cannot write the command's output: {e}")))?;
        let (stderr, stderr_dropped) = stderr
            .finish(Stream::Stderr)
            .map_err(|e| RemoteError::Other(e.to_string()))?;
        Ok(RemoteOutput {
            stdout,
            stderr,
            rc: status.code(),
            truncation: Truncation {
                limit: self.max_output,
                stdout_dropped,
                stderr_dropped,
            },
        })
    }
}

/// Reads `pipe` to its end into `sink`, a chunk at a time.
async fn read_into<W: Write + ?Sized>(
    pipe: Option<impl AsyncRead + Unpin>,
    sink: &mut Sink<'_, W>,
) -> std::io::Result<()> {
    let Some(mut pipe) = pipe else {
        return Ok(());
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut buf).await? {
            0 => return Ok(()),
            n => sink.push(&buf[..n]),
        }
    }
}

impl Default for LocalRemote {
    fn default() -> LocalRemote {
        LocalRemote::new("localhost")
    }
}

impl Remote for LocalRemote {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        self.run_with::<dyn Write + Send>(cmd, stdin, timeout, None)
            .await
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        stdout: &mut (dyn Write + Send),
    ) -> Result<RemoteOutput, RemoteError> {
        self.run_with(cmd, stdin, timeout, Some(stdout)).await
    }

    fn host(&self) -> &str {
        &self.host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ansible-core's command_shell target: `yoink.sh &` (a `sleep 10` in the background)
    /// under `timeout: 5` must not hang on the pipes the background process keeps open.
    #[tokio::test]
    async fn a_command_that_backgrounds_returns_when_it_exits() {
        let started = std::time::Instant::now();
        let out = LocalRemote::default()
            .run(
                "echo before; sleep 30 & echo after",
                None,
                Some(Duration::from_secs(20)),
            )
            .await
            .expect("runs");
        assert_eq!(out.stdout, b"before\nafter\n");
        assert_eq!(out.rc, Some(0));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }

    /// Output written after the command exited by what it left behind is still read, within
    /// the second after the exit.
    #[tokio::test]
    async fn output_just_after_the_exit_is_kept() {
        let out = LocalRemote::default()
            .run(
                "(sleep 0.2; echo late) &",
                None,
                Some(Duration::from_secs(20)),
            )
            .await
            .expect("runs");
        assert_eq!(out.stdout, b"late\n");
    }
}

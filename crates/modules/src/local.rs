//! [`Remote`] on the controller itself (`sh -c`): for `delegate_to: localhost` and for tests.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::remote::{Remote, RemoteError, RemoteOutput};

/// Runs commands with the local `/bin/sh`.
#[derive(Debug, Clone)]
pub struct LocalRemote {
    host: String,
}

impl LocalRemote {
    /// A local "host" named `host` (the inventory name, for fetch's `dest/<host>/`).
    pub fn new(host: impl Into<String>) -> LocalRemote {
        LocalRemote { host: host.into() }
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
        let run = async {
            let ((), out) = tokio::join!(feed, child.wait_with_output());
            out
        };
        let out = match timeout {
            Some(t) => tokio::time::timeout(t, run)
                .await
                .map_err(|_| RemoteError::Timeout(t))?,
            None => run.await,
        }
        .map_err(|e| RemoteError::Other(e.to_string()))?;
        Ok(RemoteOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            rc: out.status.code(),
        })
    }

    fn host(&self) -> &str {
        &self.host
    }
}

//! How modules reach a host during a playbook run: over the host's one SSH connection, with the
//! task's become and environment applied.

use std::time::Duration;

use indexmap::IndexMap;

use crate::connection::{Become, Connection, ExecError, ExecOptions, ExitStatus};
use crate::modules::{Remote, RemoteError, RemoteOutput};
use crate::shell::quote;

/// A [`Remote`] over an established SSH connection.
pub struct SshRemote<'a> {
    pub host: &'a str,
    pub connection: &'a Connection,
    pub become_: Option<Become>,
    pub environment: &'a IndexMap<String, String>,
    /// The task's `timeout:`, applied when the module asks for none.
    pub timeout: Option<Duration>,
}

impl Remote for SshRemote<'_> {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        let mut line = String::new();
        for (k, v) in self.environment {
            // Names are checked by the loader; values are quoted, never interpreted.
            line.push_str(&format!("export {k}={}; ", quote(v)));
        }
        line.push_str(cmd);
        let command = if self.environment.is_empty() {
            line
        } else {
            format!("sh -c {}", quote(&line))
        };
        let options = ExecOptions {
            stdin,
            timeout: timeout.or(self.timeout),
            become_: self.become_.clone(),
        };
        match self.connection.exec(&command, &options).await {
            Ok(out) => Ok(RemoteOutput {
                stdout: out.stdout,
                stderr: out.stderr,
                rc: match out.exit {
                    ExitStatus::Code(c) => Some(i32::try_from(c).unwrap_or(i32::MAX)),
                    ExitStatus::Signal(_) => None,
                },
            }),
            Err(ExecError::ConnectionLost { .. }) => {
                Err(RemoteError::Unreachable("connection lost".to_owned()))
            }
            Err(ExecError::Timeout { .. }) => Err(RemoteError::Timeout),
            Err(e) => Err(RemoteError::Other(e.to_string())),
        }
    }

    fn host(&self) -> &str {
        self.host
    }
}

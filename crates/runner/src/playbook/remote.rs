//! How modules reach a host during a playbook run: over the host's one SSH connection, or on the
//! controller for a `local` connection, with the task's become, environment, timeout and output
//! limit applied.

use std::io::Write;
use std::time::Duration;

use indexmap::IndexMap;

use clearfleet_base::capture::MaxOutput;
use clearfleet_base::shell::quote;
use clearfleet_modules::LocalRemote;
use clearfleet_modules::{Remote, RemoteError, RemoteOutput};
use clearfleet_ssh::{Become, Connection, ExecError, ExecOptions, ExecOutput, ExitStatus};

/// A [`Remote`] over an established SSH connection.
pub struct SshRemote<'a> {
    pub host: &'a str,
    pub connection: &'a Connection,
    pub become_: Option<Become>,
    /// Kept of each output stream of each command.
    pub max_output: MaxOutput,
}

/// `cmd` with the task's `environment` exported first (values quoted, never interpreted).
fn with_environment(environment: &IndexMap<String, String>, cmd: &str) -> String {
    if environment.is_empty() {
        return cmd.to_owned();
    }
    let mut line = String::new();
    for (k, v) in environment {
        // Names are checked by the loader.
        line.push_str(&format!("export {k}={}; ", quote(v)));
    }
    line.push_str(cmd);
    format!("sh -c {}", quote(&line))
}

/// A host's [`Remote`] (SSH, or the controller for `delegate_to: localhost`) with the task's
/// environment and timeout applied.
pub struct TaskRemote<'a, R> {
    pub inner: R,
    pub environment: &'a IndexMap<String, String>,
    /// The task's `timeout:`, applied when the module asks for none.
    pub timeout: Option<Duration>,
}

impl<R: Remote> Remote for TaskRemote<'_, R> {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        let command = with_environment(self.environment, cmd);
        self.inner
            .run(&command, stdin, timeout.or(self.timeout))
            .await
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        stdout: &mut (dyn Write + Send),
    ) -> Result<RemoteOutput, RemoteError> {
        let command = with_environment(self.environment, cmd);
        self.inner
            .run_to(&command, stdin, timeout.or(self.timeout), stdout)
            .await
    }

    fn host(&self) -> &str {
        self.inner.host()
    }
}

impl SshRemote<'_> {
    fn options(&self, stdin: Option<Vec<u8>>, timeout: Option<Duration>) -> ExecOptions {
        ExecOptions {
            stdin,
            timeout,
            become_: self.become_.clone(),
            max_output: self.max_output,
        }
    }
}

/// A command's result as modules see it.
fn remote_result(result: Result<ExecOutput, ExecError>) -> Result<RemoteOutput, RemoteError> {
    match result {
        Ok(out) => Ok(RemoteOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            rc: match out.exit {
                ExitStatus::Code(c) => Some(i32::try_from(c).unwrap_or(i32::MAX)),
                ExitStatus::Signal(_) => None,
            },
            truncation: out.truncation,
        }),
        Err(ExecError::ConnectionLost { .. }) => {
            Err(RemoteError::Unreachable("connection lost".to_owned()))
        }
        Err(ExecError::Timeout { after }) => Err(RemoteError::Timeout(after)),
        Err(e) => Err(RemoteError::Other(e.to_string())),
    }
}

impl Remote for SshRemote<'_> {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        let options = self.options(stdin, timeout);
        remote_result(self.connection.exec(cmd, &options).await)
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        stdout: &mut (dyn Write + Send),
    ) -> Result<RemoteOutput, RemoteError> {
        let options = self.options(stdin, timeout);
        remote_result(self.connection.exec_to(cmd, &options, stdout).await)
    }

    fn host(&self) -> &str {
        self.host
    }
}

/// The controller as a `local` connection's host: plain `/bin/sh` without become, else the
/// command through sudo or su as over SSH ([`clearfleet_ssh::exec_local`]).
pub enum ControllerRemote {
    Plain(LocalRemote),
    Become {
        host: String,
        become_: Become,
        max_output: MaxOutput,
    },
}

impl ControllerRemote {
    /// The controller as `host`, with `become_` when the task becomes someone.
    pub fn new(host: &str, become_: Option<Become>, max_output: MaxOutput) -> ControllerRemote {
        match become_ {
            None => ControllerRemote::Plain(LocalRemote::new(host).with_max_output(max_output)),
            Some(become_) => ControllerRemote::Become {
                host: host.to_owned(),
                become_,
                max_output,
            },
        }
    }

    fn options(&self, stdin: Option<Vec<u8>>, timeout: Option<Duration>) -> ExecOptions {
        let (become_, max_output) = match self {
            ControllerRemote::Plain(_) => (None, MaxOutput::DEFAULT),
            ControllerRemote::Become {
                become_,
                max_output,
                ..
            } => (Some(become_.clone()), *max_output),
        };
        ExecOptions {
            stdin,
            timeout,
            become_,
            max_output,
        }
    }
}

impl Remote for ControllerRemote {
    async fn run(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<RemoteOutput, RemoteError> {
        if let ControllerRemote::Plain(local) = self {
            return local.run(cmd, stdin, timeout).await;
        }
        let options = self.options(stdin, timeout);
        remote_result(clearfleet_ssh::exec_local::<dyn Write + Send>(cmd, &options, None).await)
    }

    async fn run_to(
        &self,
        cmd: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
        stdout: &mut (dyn Write + Send),
    ) -> Result<RemoteOutput, RemoteError> {
        if let ControllerRemote::Plain(local) = self {
            return local.run_to(cmd, stdin, timeout, stdout).await;
        }
        let options = self.options(stdin, timeout);
        remote_result(clearfleet_ssh::exec_local(cmd, &options, Some(stdout)).await)
    }

    fn host(&self) -> &str {
        match self {
            ControllerRemote::Plain(local) => local.host(),
            ControllerRemote::Become { host, .. } => host,
        }
    }
}

//! One host's work: connect once, run the job's commands on that connection, close.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::HostPlan;
use crate::connection::{Connection, ExecError, ExecOptions, ExitStatus, SshSettings};
use crate::events::{HostOutcome, HostStatus};
use crate::secret::Redactor;
use crate::shell::quote;

/// What to do on each host.
#[derive(Debug, Clone)]
pub enum Job {
    /// Connect, authenticate, run `true`.
    Ping,
    /// Run a command through `sh -c`.
    Exec { command: String },
}

impl Job {
    /// The remote command line: always `sh -c '<cmd>'`, whatever the user's login shell is.
    fn remote_command(&self) -> String {
        match self {
            Job::Ping => "true".to_owned(),
            Job::Exec { command } => format!("sh -c {}", quote(command)),
        }
    }
}

/// Everything shared by all host tasks of a run.
pub(crate) struct Shared {
    pub ssh: Arc<SshSettings>,
    pub job: Job,
    pub timeout: Option<Duration>,
    pub redactor: Redactor,
}

pub(crate) async fn run_host(plan: HostPlan, shared: Arc<Shared>) -> HostOutcome {
    let started = Instant::now();
    let mut outcome = HostOutcome {
        host: plan.name.clone(),
        status: HostStatus::Unreachable,
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        duration: Duration::ZERO,
        error: None,
    };
    let connection = match Connection::connect(&plan.target, &shared.ssh).await {
        Ok(c) => c,
        Err(e) => {
            outcome.error = Some(shared.redactor.redact(&e.to_string()));
            outcome.duration = started.elapsed();
            return outcome;
        }
    };
    let options = ExecOptions {
        stdin: None,
        timeout: shared.timeout,
        become_: plan.become_.clone(),
    };
    let result = connection
        .exec(&shared.job.remote_command(), &options)
        .await;
    connection.close().await;
    match result {
        Ok(out) => {
            outcome.stdout = shared
                .redactor
                .redact(&String::from_utf8_lossy(&out.stdout));
            outcome.stderr = shared
                .redactor
                .redact(&String::from_utf8_lossy(&out.stderr));
            match out.exit {
                ExitStatus::Code(0) => {
                    outcome.status = HostStatus::Ok;
                    outcome.rc = Some(0);
                }
                ExitStatus::Code(code) => {
                    outcome.status = HostStatus::Failed;
                    outcome.rc = Some(i64::from(code));
                    outcome.error = Some(format!("command exited with status {code}"));
                }
                ExitStatus::Signal(signal) => {
                    outcome.status = HostStatus::Failed;
                    outcome.error = Some(format!("command killed by signal {signal}"));
                }
            }
        }
        Err(e) => {
            outcome.status = match e {
                ExecError::ConnectionLost { .. } => HostStatus::Unreachable,
                _ => HostStatus::Failed,
            };
            outcome.error = Some(shared.redactor.redact(&e.to_string()));
        }
    }
    outcome.duration = started.elapsed();
    outcome
}

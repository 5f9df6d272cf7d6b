//! One host's work: connect once, run the job on that connection, close.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clearfleet_clearml::plan::PlanOptions;
use clearfleet_clearml::{Detected, Releases, Version, plan};

use crate::config::HostPlan;
use crate::detect;
use clearfleet_base::secret::Redactor;
use clearfleet_base::shell::quote;
use clearfleet_events::{HostOutcome, HostStatus};
use clearfleet_ssh::{Connection, ExecError, ExecOptions, ExitStatus, SshSettings};

/// What to do on each host.
#[derive(Debug, Clone)]
pub enum Job {
    /// Connect, authenticate, run `true`.
    Ping,
    /// Run a command through `sh -c`.
    Exec { command: String },
    /// Detect the ClearML deployment and plan its upgrade to `target`.
    Detect {
        releases: Arc<Releases>,
        target: Version,
        options: PlanOptions,
    },
}

/// Everything shared by all host tasks of a run.
pub(crate) struct Shared {
    pub ssh: Arc<SshSettings>,
    pub job: Job,
    pub timeout: Option<Duration>,
    pub redactor: Redactor,
}

/// The status a failed remote call gives its host: a lost connection is "unreachable".
fn status_of(e: &ExecError) -> HostStatus {
    match e {
        ExecError::ConnectionLost { .. } => HostStatus::Unreachable,
        _ => HostStatus::Failed,
    }
}

pub(crate) async fn run_host(plan: HostPlan, shared: Arc<Shared>) -> HostOutcome {
    let started = Instant::now();
    let mut outcome = HostOutcome::new(plan.name.clone(), HostStatus::Unreachable);
    let connection = match Connection::connect(&plan.target, &shared.ssh).await {
        Ok(c) => c,
        Err(e) => {
            outcome.error = Some(shared.redactor.redact(&e.to_string()));
            outcome.duration = started.elapsed();
            return outcome;
        }
    };
    match &shared.job {
        Job::Ping | Job::Exec { .. } => {
            run_command(&connection, &plan, &shared, &mut outcome).await
        }
        Job::Detect {
            releases,
            target,
            options,
        } => match detect::detect(
            &connection,
            plan.become_.as_ref(),
            plan.max_output,
            releases,
        )
        .await
        {
            Ok(state) => {
                let plan = plan::plan(&state, releases, *target, *options);
                outcome.status = HostStatus::Ok;
                outcome.detected = Some(Box::new(Detected::new(state, plan)));
            }
            Err(e) => {
                outcome.status = match &e {
                    detect::DetectError::Exec(x) => status_of(x),
                    detect::DetectError::Script { .. } | detect::DetectError::TooMuchOutput(_) => {
                        HostStatus::Failed
                    }
                };
                outcome.error = Some(shared.redactor.redact(&e.to_string()));
            }
        },
    }
    connection.close().await;
    outcome.duration = started.elapsed();
    outcome
}

async fn run_command(
    connection: &Connection,
    plan: &HostPlan,
    shared: &Shared,
    outcome: &mut HostOutcome,
) {
    let command = match &shared.job {
        Job::Exec { command } => format!("sh -c {}", quote(command)),
        _ => "true".to_owned(),
    };
    let options = ExecOptions {
        stdin: None,
        timeout: shared.timeout,
        become_: plan.become_.clone(),
        max_output: plan.max_output,
    };
    match connection.exec(&command, &options).await {
        Ok(out) => {
            outcome.stdout = shared.redactor.redact_owned(text(out.stdout));
            outcome.stderr = shared.redactor.redact_owned(text(out.stderr));
            outcome.stdout_dropped = out.truncation.stdout_dropped;
            outcome.stderr_dropped = out.truncation.stderr_dropped;
            if let Some(why) = out.truncation.message() {
                // The command's output is not all there: the host failed, whatever its exit.
                outcome.status = HostStatus::Failed;
                outcome.rc = match out.exit {
                    ExitStatus::Code(code) => Some(i64::from(code)),
                    ExitStatus::Signal(_) => None,
                };
                outcome.error = Some(why);
                return;
            }
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
            outcome.status = status_of(&e);
            outcome.error = Some(shared.redactor.redact(&e.to_string()));
        }
    }
}

/// Output as text (invalid UTF-8 replaced), without a copy when it is valid.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

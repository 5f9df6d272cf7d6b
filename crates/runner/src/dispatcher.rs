//! The single owner of run state: starts hosts up to `--forks`, collects their outcomes, handles
//! Ctrl-C, and hands every event to the reporter in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinSet;

use super::executor::{Job, Shared, run_host};
use crate::config::RunConfig;
use clearfleet_events::Reporter;
use clearfleet_events::{Event, EventKind, HostOutcome, HostStatus, RunSummary};

/// Runs `job` on every host of `config`; returns the summary also sent as `RunFinished`.
///
/// Ctrl-C once: no new host starts, running ones finish. Twice: running ones are cancelled
/// (their connections dropped). Either way the run reports as interrupted (exit 130).
pub async fn run(
    config: RunConfig,
    job: Job,
    command_line: String,
    reporter: &mut dyn Reporter,
) -> RunSummary {
    let started = Instant::now();
    let mut emit = |kind: EventKind| {
        reporter.report(&Event {
            elapsed: started.elapsed(),
            kind,
        });
    };
    for message in &config.warnings {
        emit(EventKind::Warning {
            message: message.clone(),
        });
    }
    let order: HashMap<String, usize> = config
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h.name.clone(), i))
        .collect();
    emit(EventKind::RunStarted {
        command: command_line,
        hosts: config.hosts.iter().map(|h| h.name.clone()).collect(),
        forks: config.forks,
    });

    let shared = Arc::new(Shared {
        ssh: config.ssh.clone(),
        job,
        timeout: config.command_timeout,
        redactor: config.redactor.clone(),
    });
    let mut pending = config.hosts.into_iter();
    let mut running: JoinSet<HostOutcome> = JoinSet::new();
    let mut running_names: HashMap<tokio::task::Id, (String, Instant)> = HashMap::new();
    let mut outcomes: Vec<HostOutcome> = Vec::new();
    let mut interrupt_stage = 0u8;

    loop {
        while interrupt_stage == 0 && running.len() < config.forks {
            let Some(plan) = pending.next() else { break };
            let name = plan.name.clone();
            emit(EventKind::HostStarted { host: name.clone() });
            let span = clearfleet_events::host_span(&name);
            let handle = running.spawn(tracing::Instrument::instrument(
                run_host(plan, shared.clone()),
                span,
            ));
            running_names.insert(handle.id(), (name, Instant::now()));
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next_with_id() => {
                let outcome = match joined {
                    Some(Ok((id, outcome))) => {
                        running_names.remove(&id);
                        outcome
                    }
                    Some(Err(e)) => {
                        let (host, since) = running_names
                            .remove(&e.id())
                            .unwrap_or_else(|| (String::new(), Instant::now()));
                        let (status, error) = if e.is_cancelled() {
                            (HostStatus::Interrupted, "cancelled by Ctrl-C".to_owned())
                        } else {
                            (HostStatus::Failed, format!("internal error: {e}"))
                        };
                        HostOutcome {
                            duration: since.elapsed(),
                            error: Some(error),
                            ..HostOutcome::new(host, status)
                        }
                    }
                    None => continue,
                };
                // The reporters take the host's output with this event; the summary keeps
                // the rest (else every host's output, up to the output limit per stream,
                // would stay in memory to the end of the run).
                let mut kept = outcome;
                let stdout = std::mem::take(&mut kept.stdout);
                let stderr = std::mem::take(&mut kept.stderr);
                emit(EventKind::HostFinished(HostOutcome {
                    stdout,
                    stderr,
                    ..kept.clone()
                }));
                outcomes.push(kept);
            }
            _ = tokio::signal::ctrl_c(), if interrupt_stage < 2 => {
                interrupt_stage += 1;
                emit(EventKind::Interrupted { stage: interrupt_stage });
                if interrupt_stage == 2 {
                    running.abort_all();
                }
            }
        }
    }

    if interrupt_stage >= 2 {
        // The aborted hosts' commands are being killed on their hosts; let that finish.
        clearfleet_ssh::cancelled_commands_settled(std::time::Duration::from_secs(5)).await;
    }
    for plan in pending {
        outcomes.push(HostOutcome {
            error: Some("not started: the run was interrupted".to_owned()),
            ..HostOutcome::new(plan.name, HostStatus::Interrupted)
        });
    }
    outcomes.sort_by_key(|o| order.get(&o.host).copied().unwrap_or(usize::MAX));
    let mut summary = RunSummary {
        was_interrupted: interrupt_stage > 0,
        duration: started.elapsed(),
        ..RunSummary::default()
    };
    for o in &outcomes {
        match o.status {
            HostStatus::Ok => summary.ok += 1,
            HostStatus::Failed => summary.failed += 1,
            HostStatus::Unreachable => summary.unreachable += 1,
            HostStatus::Interrupted => summary.interrupted += 1,
            HostStatus::Refused => summary.refused += 1,
        }
    }
    summary.outcomes = outcomes;
    emit(EventKind::RunFinished(summary.clone()));
    summary
}

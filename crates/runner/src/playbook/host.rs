//! One host's state across a playbook run: how it is reached, the variables it gathered or
//! registered, its failure state and its PLAY RECAP counts. Its connections are the run's
//! ([`Connections`]), shared with the tasks other hosts delegate to it.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::HostPlan;
use clearfleet_events::Recap;
use clearfleet_ssh::{ConnectError, Connection, SshSettings};

use super::connections::Connections;

pub struct HostRun {
    pub name: String,
    pub plan: HostPlan,
    /// Inventory variables plus the magic ones (`inventory_hostname`, `group_names`...).
    pub inventory_vars: Arc<Map<String, Value>>,
    /// The inventory's generation `inventory_vars` were read at (`add_host` and `group_by`
    /// change the inventory during the run).
    pub inventory_generation: u64,
    /// Facts gathered (`ansible_facts` and the injected `ansible_*` names).
    pub facts: Arc<Map<String, Value>>,
    /// `register:` and `set_fact:` results; they outlive the play.
    pub vars: Arc<Map<String, Value>>,
    /// `include_vars` results (Ansible's vars cache: below `set_fact`); they outlive the play.
    pub included_vars: Arc<Map<String, Value>>,
    /// Failed in the current play: no further tasks except `rescue`/`always`.
    pub failed: bool,
    /// Lost for the rest of the run.
    pub unreachable: bool,
    /// Ended for the rest of the play without failing (`meta: end_host`, `end_batch`,
    /// `end_play`), or its errors cleared (`meta: clear_host_errors`): back in the next play.
    pub ended: bool,
    /// The role instance `meta: end_role` ended on the host: its remaining tasks are skipped.
    pub ended_role: Option<Arc<clearfleet_playbook::RoleScope>>,
    /// The failed and unreachable counts `meta: clear_host_errors` forgave: the host's
    /// outcome is a failure only if it failed again.
    pub cleared: Recap,
    /// Handlers notified and not yet run (names or `listen` topics).
    pub notified: Vec<String>,
    /// How many enclosing blocks with a `rescue` the host is in the `block` section of: a
    /// failure there counts as `rescued`, not `failed` (Ansible's `is_any_block_rescuing`).
    pub rescuable: u32,
    /// How many times this host reached each `run_once` task (by location) in the current
    /// batch: the nth time shares the nth run (a handler flushed twice runs twice).
    pub once_seen: std::collections::HashMap<String, u32>,
    pub recap: Recap,
    /// (task, `file:line:col`, message) of every failure.
    pub failures: Vec<(String, String, String)>,
    /// The task running on the host now (its rendered name).
    pub current: Option<String>,
    /// The last task that ran to its end on the host.
    pub last_done: Option<String>,
    /// Where Ctrl-C left the host: `stopped before ...`, `cancelled during ...`.
    pub interrupted: Option<String>,
}

impl HostRun {
    pub fn new(plan: HostPlan, inventory_vars: Map<String, Value>) -> Self {
        HostRun {
            name: plan.name.clone(),
            plan,
            inventory_vars: Arc::new(inventory_vars),
            inventory_generation: 0,
            facts: Arc::default(),
            vars: Arc::default(),
            included_vars: Arc::default(),
            failed: false,
            unreachable: false,
            ended: false,
            ended_role: None,
            cleared: Recap::default(),
            notified: Vec::new(),
            rescuable: 0,
            once_seen: std::collections::HashMap::new(),
            recap: Recap::default(),
            failures: Vec::new(),
            current: None,
            last_done: None,
            interrupted: None,
        }
    }

    /// Ctrl-C stopped the run before `next` (a task, or a play) started on this host: noted
    /// once, the innermost place first, for hosts still taking tasks.
    pub fn stop_before(&mut self, next: &str) {
        if self.active() && self.interrupted.is_none() {
            self.interrupted = Some(match &self.last_done {
                Some(done) => format!("stopped after `{done}`, before {next}"),
                None => format!("stopped before {next}"),
            });
        }
    }

    /// Still taking tasks in this play.
    pub fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }

    /// `meta: end_role` ended the role instance `t` belongs to on this host.
    pub fn role_ended(&self, t: &clearfleet_playbook::Task) -> bool {
        match (&self.ended_role, &t.role) {
            (Some(ended), Some(role)) => Arc::ptr_eq(ended, role),
            _ => false,
        }
    }

    /// The connection logged in as `user` at `port` (`None`: the host's own login, port),
    /// opened now if it is not yet: the host's address, keys and jump hosts, another user.
    pub async fn connection_as(
        &self,
        connections: &Connections,
        ssh: &SshSettings,
        user: Option<&str>,
        port: Option<u16>,
    ) -> Result<Connection, ConnectError> {
        let target = super::transport::at_port(&self.plan.target, port);
        connections.get_as(&target, user, ssh).await
    }
}

impl HostRun {
    /// Counts a failure in the PLAY RECAP: `rescued` inside a block that has a rescue,
    /// else `failed` (with the digest entry).
    pub fn count_failure(&mut self, task: String, location: String, msg: String) {
        if self.rescuable > 0 {
            self.recap.rescued += 1;
        } else {
            self.recap.failed += 1;
            self.failures.push((task, location, msg));
        }
    }
}

//! One host's state across a playbook run: its connection (opened once, on first use), the
//! variables it gathered or registered, its failure state and its PLAY RECAP counts.

use serde_json::{Map, Value};

use crate::config::HostPlan;
use clearfleet_events::Recap;
use clearfleet_ssh::{ConnectError, Connection, SshSettings};

pub struct HostRun {
    pub name: String,
    pub plan: HostPlan,
    connection: Option<Connection>,
    /// Connections as other users (`remote_user` on a play, block or task), opened on first
    /// use and kept, by user.
    logins: Vec<(String, Connection)>,
    /// Inventory variables plus the magic ones (`inventory_hostname`, `group_names`...).
    pub inventory_vars: Map<String, Value>,
    /// The inventory's generation `inventory_vars` were read at (`add_host` and `group_by`
    /// change the inventory during the run).
    pub inventory_generation: u64,
    /// Facts gathered (`ansible_facts` and the injected `ansible_*` names).
    pub facts: Map<String, Value>,
    /// `register:` and `set_fact:` results; they outlive the play.
    pub vars: Map<String, Value>,
    /// `include_vars` results (Ansible's vars cache: below `set_fact`); they outlive the play.
    pub included_vars: Map<String, Value>,
    /// Failed in the current play: no further tasks except `rescue`/`always`.
    pub failed: bool,
    /// Lost for the rest of the run.
    pub unreachable: bool,
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
            connection: None,
            logins: Vec::new(),
            inventory_vars,
            inventory_generation: 0,
            facts: Map::new(),
            vars: Map::new(),
            included_vars: Map::new(),
            failed: false,
            unreachable: false,
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
        !self.failed && !self.unreachable
    }

    /// The host's one connection, opened now if it is not yet.
    pub async fn connection(&mut self, ssh: &SshSettings) -> Result<&Connection, ConnectError> {
        let c = match self.connection.take() {
            Some(c) => c,
            None => Connection::connect(&self.plan.target, ssh).await?,
        };
        Ok(self.connection.insert(c))
    }

    /// The connection logged in as `user` (`None`: the host's own login), opened now if it
    /// is not yet: the host's address, port, keys and jump hosts, another user.
    pub async fn connection_as(
        &mut self,
        ssh: &SshSettings,
        user: Option<&str>,
    ) -> Result<&Connection, ConnectError> {
        let user = match user {
            Some(u) if u != self.plan.target.user => u,
            _ => return self.connection(ssh).await,
        };
        let at = match self.logins.iter().position(|(u, _)| u == user) {
            Some(at) => at,
            None => {
                let mut target = self.plan.target.clone();
                target.user = user.to_owned();
                let c = Connection::connect(&target, ssh).await?;
                self.logins.push((user.to_owned(), c));
                self.logins.len() - 1
            }
        };
        Ok(&self.logins[at].1)
    }

    pub async fn close(&mut self) {
        if let Some(c) = self.connection.take() {
            c.close().await;
        }
        for (_, c) in self.logins.drain(..) {
            c.close().await;
        }
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

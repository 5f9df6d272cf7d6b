//! Runs a loaded playbook across the inventory: plays in order, hosts in parallel (bounded by
//! `--forks`), tasks in lockstep (`strategy: linear`) or per host (`free`), `serial` batches,
//! handlers, blocks with rescue and always. Every outcome becomes an event; nothing prints.

mod connections;
mod deferred_role;
mod facts;
mod gathering;
mod host;
mod hostvars;
mod include_vars;
mod inventory;
mod keywords;
mod lazy_vars;
mod meta;
mod remote;
mod role_names;

use deferred_role::deferred_role;
mod search_path;
pub mod start_at;
mod task;
mod task_args;
mod template_file;
mod templating;
mod transport;
mod vars_prompt;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::config::RunConfig;
use clearfleet_base::controller_files::ControllerFiles;
use clearfleet_events::Reporter;
use clearfleet_events::{Event, EventKind, HostOutcome, HostStatus, RunSummary};
use clearfleet_inventory::Inventory;
use clearfleet_playbook::{
    HostOrder, Play, Playbook, Serial, SerialStep, Strategy, Task, TaskBody,
};

pub use gathering::Gathering;
pub use host::HostRun;
pub use templating::TemplateCache;

/// Run-wide choices from the command line.
#[derive(Debug, Clone, Default)]
pub struct PlaybookOptions {
    pub check: bool,
    pub diff: bool,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at_task: Option<String>,
    /// `-e`: the highest precedence of all.
    pub extra_vars: Map<String, Value>,
    /// Per-host variables from the caller (e.g. `clearfleet upgrade`'s detected state and
    /// plan): above everything but `-e`.
    pub host_vars: std::collections::HashMap<String, Map<String, Value>>,
    pub limit: Option<String>,
    /// `--force-handlers`: the default of the plays' `force_handlers`.
    pub force_handlers: bool,
    /// ansible.cfg's `gathering`.
    pub gathering: Gathering,
}

/// Everything a playbook run shares: read-only while hosts work.
pub struct Engine {
    /// The inventory, with `groups` (the same for every host, so held once and layered under
    /// each host's variables by [`Engine::context`]); `add_host` and `group_by` change it.
    inventory: inventory::RunInventory,
    pub config: RunConfig,
    pub templates: Arc<TemplateCache>,
    pub options: PlaybookOptions,
    pub playbook_dir: PathBuf,
    /// Where the playbook's files live (the disk, or memory for the built-in playbook): a
    /// dynamic `include_tasks`, `vars_files` and `template`/`copy` sources are read from there.
    pub files: ControllerFiles,
    /// The playbook's own module and action plugins, for a dynamic `include_tasks` file.
    plugins: clearfleet_playbook::plugins::Plugins,
    events: mpsc::UnboundedSender<EventKind>,
    /// Every host's connections, shared by its own tasks and those delegated to it.
    connections: connections::Connections,
    /// Every host's variables, for `hostvars`.
    hostvars: hostvars::HostVars,
    /// 0 running, 1 Ctrl-C once (no new task starts), 2 twice.
    interrupted: Arc<AtomicU8>,
}

/// Runs `playbook`; returns the summary also sent as `RunFinished`.
pub async fn run(
    playbook: Playbook,
    inventory: Inventory,
    config: RunConfig,
    templates: Arc<TemplateCache>,
    options: PlaybookOptions,
    playbook_dir: PathBuf,
    reporter: &mut dyn Reporter,
) -> RunSummary {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let interrupted = Arc::new(AtomicU8::new(0));
    for message in &config.warnings {
        reporter.report(&Event {
            elapsed: started.elapsed(),
            kind: EventKind::Warning {
                message: message.clone(),
            },
        });
    }
    templates.set_controller_files(playbook.source.clone());
    let hostvars = hostvars::HostVars::new(&options.extra_vars, playbook.source.clone());
    let engine = Engine {
        inventory: inventory::RunInventory::new(inventory),
        config,
        templates,
        options,
        playbook_dir,
        files: playbook.source.clone(),
        plugins: playbook.plugins.clone(),
        events: tx,
        connections: connections::Connections::default(),
        hostvars,
        interrupted: interrupted.clone(),
    };
    // The hosts live outside the work so a second Ctrl-C, which drops the work (and with it
    // every running command), still leaves their state for the recap.
    let mut hosts = engine.host_runs();
    let mut work = Some(Box::pin(async {
        for play in &playbook.plays {
            if engine.stopping() {
                let names = engine.play_hosts(play);
                let next = format!("play `{}`", play_label(play));
                for h in hosts.iter_mut().filter(|h| names.contains(&h.name)) {
                    h.stop_before(&next);
                }
                break;
            }
            // Hosts `add_host` created take part in the plays that select them.
            engine.adopt_added_hosts(play, &mut hosts);
            if engine.run_play(play, &mut hosts).await.is_break() {
                // `any_errors_fatal`, `max_fail_percentage` or a whole batch failed: Ansible
                // ends the playbook.
                break;
            }
        }
    }));
    while let Some(running) = work.as_mut() {
        tokio::select! {
            () = running => work = None,
            Some(kind) = rx.recv() => reporter.report(&Event { elapsed: started.elapsed(), kind }),
            _ = tokio::signal::ctrl_c(), if interrupted.load(Ordering::SeqCst) < 2 => {
                let stage = interrupted.fetch_add(1, Ordering::SeqCst) + 1;
                reporter.report(&Event { elapsed: started.elapsed(), kind: EventKind::Interrupted { stage } });
                if stage == 2 {
                    // Dropping the work drops every running command: each is killed on its
                    // host (see `connection::exec`), which the wait below lets finish.
                    work = None;
                }
            }
        }
    }
    drop(work);
    let stage = interrupted.load(Ordering::SeqCst);
    if stage >= 2 {
        clearfleet_ssh::cancelled_commands_settled(std::time::Duration::from_secs(5)).await;
    }
    for h in &mut hosts {
        if let Some(task) = h.current.take() {
            h.interrupted = Some(format!("cancelled during `{task}`"));
        }
    }
    engine.connections.close_all().await;
    while let Ok(kind) = rx.try_recv() {
        reporter.report(&Event {
            elapsed: started.elapsed(),
            kind,
        });
    }
    let mut summary = RunSummary {
        was_interrupted: stage > 0,
        duration: started.elapsed(),
        ..RunSummary::default()
    };
    for h in hosts {
        let r = h.recap;
        // `meta: clear_host_errors` forgave the failures counted before it (Ansible's exit
        // status then ignores them; its PLAY RECAP still counts them).
        let status = if r.unreachable > h.cleared.unreachable || h.unreachable {
            HostStatus::Unreachable
        } else if r.failed > h.cleared.failed {
            HostStatus::Failed
        } else if h.interrupted.is_some() {
            HostStatus::Interrupted
        } else {
            HostStatus::Ok
        };
        let outcome = HostOutcome {
            recap: Some(r),
            failures: h.failures,
            error: h.interrupted.filter(|_| status == HostStatus::Interrupted),
            ..HostOutcome::new(h.name, status)
        };
        reporter.report(&Event {
            elapsed: started.elapsed(),
            kind: EventKind::HostFinished(outcome.clone()),
        });
        match status {
            HostStatus::Ok => summary.ok += 1,
            HostStatus::Failed => summary.failed += 1,
            HostStatus::Unreachable => summary.unreachable += 1,
            HostStatus::Interrupted => summary.interrupted += 1,
            HostStatus::Refused => summary.refused += 1,
        }
        summary.outcomes.push(outcome);
    }
    reporter.report(&Event {
        elapsed: started.elapsed(),
        kind: EventKind::RunFinished(summary.clone()),
    });
    summary
}

impl Engine {
    pub(crate) fn emit(&self, kind: EventKind) {
        // The receiver lives as long as the run; a send can only fail after it.
        let _ = self.events.send(kind);
    }

    pub(crate) fn stopping(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst) > 0
    }

    /// The template context of a host's variables: `vars` over the run-wide ones (`groups`).
    pub(crate) fn context(&self, vars: &Map<String, Value>) -> clearfleet_template::Value {
        clearfleet_template::Templates::layered([
            self.shared_context(),
            clearfleet_template::Templates::context_map(vars),
        ])
    }

    /// The run-wide layers under every host's variables: `groups` and `hostvars`.
    pub(crate) fn shared_context(&self) -> clearfleet_template::Value {
        clearfleet_template::Templates::layered([self.inventory.shared(), self.hostvars.layer()])
    }

    /// One state per host the run may touch, with inventory and magic variables (`groups` is
    /// shared, see [`Engine::context`]).
    fn host_runs(&self) -> Vec<HostRun> {
        let member_of = self.inventory.member_of();
        let mut runs: Vec<HostRun> = self
            .config
            .hosts
            .iter()
            .map(|plan| HostRun::new(plan.clone(), self.inventory_vars(&plan.name, &member_of)))
            .collect();
        // `hostvars` names every inventory host, in inventory order; those outside `--limit`
        // have their inventory variables only.
        for name in self.inventory.host_names() {
            match runs.iter_mut().find(|h| h.name == name) {
                Some(h) => self.hostvars.publish(h, self.inventory.shared()),
                None => self.hostvars.seed(
                    &name,
                    self.inventory_vars(&name, &member_of),
                    self.inventory.shared(),
                ),
            }
        }
        runs
    }

    /// A host's inventory variables with the magic ones (`inventory_hostname`, `group_names`,
    /// ...); `member_of` is [`inventory::RunInventory::member_of`].
    fn inventory_vars(
        &self,
        name: &str,
        member_of: &HashMap<String, Vec<String>>,
    ) -> Map<String, Value> {
        let mut vars = self.inventory.host_vars(name);
        // Sorted, as Ansible's `Host.get_magic_vars`.
        let mut group_names = member_of.get(name).cloned().unwrap_or_default();
        group_names.sort();
        vars.insert("inventory_hostname".to_owned(), json!(name));
        vars.insert(
            "inventory_hostname_short".to_owned(),
            json!(name.split('.').next().unwrap_or(name)),
        );
        vars.insert("group_names".to_owned(), json!(group_names));
        // The magic `groups` wins over an inventory variable of that name, as before.
        vars.remove("groups");
        vars.insert("playbook_dir".to_owned(), json!(self.playbook_dir));
        vars.insert("ansible_check_mode".to_owned(), json!(self.options.check));
        vars.insert("ansible_diff_mode".to_owned(), json!(self.options.diff));
        vars.insert("omit".to_owned(), json!(clearfleet_template::OMIT));
        vars
    }

    /// Reads `h`'s inventory variables again when `add_host` or `group_by` changed the
    /// inventory since it last did (its groups, `group_names`, its group variables).
    pub(crate) fn refresh_inventory_vars(&self, h: &mut HostRun) {
        let generation = self.inventory.generation();
        if h.inventory_generation != generation {
            h.inventory_vars = Arc::new(self.inventory_vars(&h.name, &self.inventory.member_of()));
            h.inventory_generation = generation;
        }
    }

    /// Gives each host `add_host` created that `play` selects a state of its own, reached
    /// through its own connection (its variables: `ansible_host`, `ansible_port`, ...). A host
    /// whose variables say no way to reach it is unreachable.
    fn adopt_added_hosts(&self, play: &Play, hosts: &mut Vec<HostRun>) {
        let added: Vec<String> = self
            .play_hosts(play)
            .into_iter()
            .filter(|name| !hosts.iter().any(|h| &h.name == name))
            .collect();
        if added.is_empty() {
            return;
        }
        let member_of = self.inventory.member_of();
        for name in added {
            let vars = self.inventory_vars(&name, &member_of);
            let planned = match &self.config.new_host {
                Some(plan) => plan(&name, &vars),
                None => Err("this run cannot reach hosts added by `add_host`".to_owned()),
            };
            let mut h = match planned {
                Ok(plan) => HostRun::new(plan, vars),
                Err(reason) => {
                    let mut h = HostRun::new(self.config.unreachable_plan(&name), vars);
                    h.unreachable = true;
                    h.recap.unreachable += 1;
                    h.failures
                        .push(("add_host".to_owned(), String::new(), reason));
                    h
                }
            };
            h.inventory_generation = self.inventory.generation();
            self.hostvars.publish(&mut h, self.inventory.shared());
            hosts.push(h);
        }
    }

    /// The hosts of a play: its pattern, then `--limit`, among the hosts of this run.
    fn play_hosts(&self, play: &Play) -> Vec<String> {
        let pattern = if clearfleet_template::Templates::is_template(&play.hosts) {
            let ctx = clearfleet_template::Templates::context(&Value::Object(
                self.options.extra_vars.clone(),
            ));
            self.templates
                .render(&play.hosts, &ctx, &play.location, "play `hosts`")
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        } else {
            play.hosts.clone()
        };
        self.inventory
            .select_limited(&pattern, self.options.limit.as_deref())
            .unwrap_or_default()
    }

    /// Runs one play; `Break` when the rest of the playbook must not run.
    async fn run_play(&self, play: &Play, hosts: &mut [HostRun]) -> std::ops::ControlFlow<()> {
        // Asked before the play starts, as `PlaybookExecutor.run` asks them.
        let prompted =
            match vars_prompt::answers(self, play, &self.play_vars(play, &Map::new())).await {
                Ok(prompted) => prompted,
                Err(err) => {
                    // Ansible's `AnsibleError` from `PlaybookExecutor.run`: the play does not
                    // start and the playbook ends; the play's hosts fail with the error.
                    let names = self.play_hosts(play);
                    for h in hosts.iter_mut().filter(|h| names.contains(&h.name)) {
                        h.failed = true;
                        h.recap.failed += 1;
                        h.failures.push((
                            "vars_prompt".to_owned(),
                            err.location.to_string(),
                            err.to_string(),
                        ));
                    }
                    return std::ops::ControlFlow::Break(());
                }
            };
        let names = self.play_hosts(play);
        let name = play.name.clone().unwrap_or_else(|| play.hosts.clone());
        self.emit(EventKind::PlayStarted {
            name,
            hosts: names.clone(),
        });
        let in_play: Vec<usize> = hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| names.contains(&h.name))
            .map(|(i, _)| i)
            .collect();
        // A host that failed in an earlier play stays out, as in Ansible.
        let mut in_play: Vec<usize> = in_play.into_iter().filter(|i| !hosts[*i].failed).collect();
        order_hosts(play.order, &mut in_play, hosts);
        // `meta: end_host`, `end_role`... ended hosts for their play only.
        for h in hosts.iter_mut() {
            h.ended = false;
            h.ended_role = None;
        }
        let play_vars = self.play_vars(play, &prompted);
        let ctx = PlayCtx {
            play,
            vars: play_vars,
            once: Mutex::new(HashMap::new()),
            abort: AtomicBool::new(false),
            batch: Mutex::new(Vec::new()),
            in_play: in_play.clone(),
            batch_ended: AtomicBool::new(false),
            play_ended: AtomicBool::new(false),
            throttles: Mutex::new(HashMap::new()),
            roles: role_names::PlayRoles::of(play),
        };
        let batches = batches(play.serial.as_ref(), in_play.len());
        let mut offset = 0;
        for size in batches {
            if ctx.play_ended.load(Ordering::SeqCst) {
                break;
            }
            ctx.batch_ended.store(false, Ordering::SeqCst);
            if self.stopping() {
                for i in &in_play[offset..] {
                    hosts[*i].stop_before(&format!("its batch of play `{}`", play_label(play)));
                }
                break;
            }
            let batch: Vec<usize> = in_play[offset..(offset + size).min(in_play.len())].to_vec();
            offset += size;
            if self.options.gathering.play_gathers(play.gather_facts) {
                self.gather_facts(&ctx, hosts, &batch).await;
            }
            *ctx.batch.lock().unwrap_or_else(|p| p.into_inner()) = batch.clone();
            // `run_once` is once per batch.
            ctx.once.lock().unwrap_or_else(|p| p.into_inner()).clear();
            for i in &batch {
                hosts[*i].once_seen.clear();
            }
            match play.strategy {
                Strategy::Linear => {
                    let mut started_at = self.options.start_at_task.is_none();
                    self.run_sections(hosts, &batch, &ctx, &mut started_at)
                        .await;
                }
                Strategy::Free => {
                    // Each host goes through the whole play at its own pace; `--forks`
                    // bounds how many hosts run at once.
                    let runs = hosts
                        .iter_mut()
                        .enumerate()
                        .filter(|(i, _)| batch.contains(i))
                        .map(|(_, h)| {
                            let ctx = &ctx;
                            async move {
                                let mut started_at = self.options.start_at_task.is_none();
                                let one = std::slice::from_mut(h);
                                self.run_sections(one, &[0], ctx, &mut started_at).await;
                            }
                        });
                    futures::stream::iter(runs)
                        .buffer_unordered(self.config.forks.max(1))
                        .collect::<Vec<()>>()
                        .await;
                }
            }
            let failed = batch
                .iter()
                .filter(|i| hosts[**i].failed || hosts[**i].unreachable)
                .count();
            let too_many = match play.max_fail_percentage {
                Some(p) => !batch.is_empty() && (failed as f64) * 100.0 / (batch.len() as f64) > p,
                None => false,
            };
            if too_many
                || ctx.abort.load(Ordering::SeqCst)
                || (play.any_errors_fatal && failed > 0)
                || (!batch.is_empty() && failed == batch.len())
            {
                // The failure budget is spent: the remaining batches and plays are not
                // attempted.
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    }

    /// `pre_tasks`, `tasks` and `post_tasks`, each followed by its handlers.
    async fn run_sections(
        &self,
        hosts: &mut [HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
        started_at: &mut bool,
    ) {
        for tasks in [&ctx.play.pre_tasks, &ctx.play.tasks, &ctx.play.post_tasks] {
            self.run_tasks(tasks, hosts, sel, ctx, started_at).await;
            let forced = self.forced_handler_hosts(hosts, sel, ctx);
            for i in &forced {
                hosts[*i].failed = false;
            }
            self.flush_handlers(hosts, sel, ctx).await;
            for i in forced {
                hosts[i].failed = true;
            }
        }
    }

    /// `force_handlers` (the play's, else `--force-handlers`): the hosts that failed in this
    /// section still run the handlers they were notified of. ansible-core (`Play.compile`)
    /// wraps each section in a block whose `always` flushes the handlers, so a failed host
    /// flushes them once and is then done; as its keyword doc says, not when the play itself
    /// failed (here: `any_errors_fatal` or `max_fail_percentage` stopped it).
    fn forced_handler_hosts(
        &self,
        hosts: &[HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
    ) -> Vec<usize> {
        let forced = ctx
            .play
            .force_handlers
            .unwrap_or(self.options.force_handlers);
        if !forced || ctx.abort.load(Ordering::SeqCst) {
            return Vec::new();
        }
        sel.iter()
            .copied()
            .filter(|i| {
                let h = &hosts[*i];
                h.failed && !h.unreachable && !h.ended && !h.notified.is_empty()
            })
            .collect()
    }

    /// The play's `vars`, its `vars_prompt` answers (`prompted`: play vars, set over `vars` in
    /// ansible-core) and its `vars_files`, lowest first.
    fn play_vars(&self, play: &Play, prompted: &Map<String, Value>) -> Map<String, Value> {
        let mut vars: Map<String, Value> = play.vars.clone().into_iter().collect();
        vars.extend(prompted.clone());
        for file in &play.vars_files {
            let written = if clearfleet_template::Templates::is_template(&file.value) {
                let ctx = self.context(&vars);
                match self
                    .templates
                    .render(&file.value, &ctx, &file.location, "vars_files")
                {
                    Ok(Value::String(s)) => s,
                    _ => file.value.clone(),
                }
            } else {
                file.value.clone()
            };
            let path = clearfleet_playbook::resolve_path(&file.location, &written);
            if let Some(m) = clearfleet_playbook::read_vars_file(&self.files, &path) {
                vars.extend(m);
            }
        }
        vars
    }

    /// After each task of `h`: publishes its variables for `hostvars`, and closes its
    /// connection when the open-file limit cannot hold one per host
    /// (`RunConfig::max_connections`; its next task connects again).
    async fn after_task(&self, h: &mut HostRun) {
        self.hostvars.publish(h, self.inventory.shared());
        if self.config.hosts.len() > self.config.max_connections {
            self.connections.close_host(&h.name).await;
        }
    }

    /// How `h` is reached to gather facts in `play` ([`task::Reach`]): its transport (its
    /// `ansible_connection`, else the play's `connection`), login (its `ansible_user` or
    /// `ansible_ssh_user`, else the play's `remote_user`) and port (its `ansible_port`, else
    /// the play's `port`), each rendered with the host's, the play's and the extra variables. One that
    /// cannot be rendered, or a connection plugin clearfleet lacks, is the host's failure.
    fn play_reach(
        &self,
        play: &Play,
        play_vars: &Map<String, Value>,
        h: &HostRun,
    ) -> Result<task::Reach, String> {
        let mut vars = (*h.inventory_vars).clone();
        vars.extend(play_vars.clone());
        // `-e ansible_connection=local` (or `ansible_user`, `ansible_port`) beats them all.
        vars.extend(self.options.extra_vars.clone());
        let ctx = self.context(&vars);
        let at = &play.location;
        let connection = play.connection.as_ref();
        let transport = transport::transport(
            self,
            connection.map(|c| c.value.as_str()),
            connection.map_or(at, |c| &c.location),
            &ctx,
        )?;
        let port = play.port.as_ref();
        let port = transport::port(
            self,
            port.map(|p| p.value.as_str()),
            port.map_or(at, |p| &p.location),
            &ctx,
        )?;
        let login = match &play.remote_user {
            None => None,
            Some(user) => {
                let chosen = ["ansible_user", "ansible_ssh_user"]
                    .into_iter()
                    .find_map(|name| vars.get(name).and_then(Value::as_str).map(|u| (name, u)));
                let (what, source) = chosen.unwrap_or(("remote_user", &user.value));
                let login = self
                    .templates
                    .render_string(source, &ctx, &user.location, what)
                    .map_err(|err| err.to_string())?;
                Some(login)
            }
        };
        Ok(task::Reach {
            transport,
            login,
            port,
        })
    }

    async fn gather_facts(&self, ctx: &PlayCtx<'_>, hosts: &mut [HostRun], batch: &[usize]) {
        let play = ctx.play;
        let gather_task = play.gather_task();
        let gather_task = &gather_task;
        let gathers = |i: usize, h: &HostRun| {
            batch.contains(&i)
                && h.active()
                && self.options.gathering.host_gathers(!h.facts.is_empty())
        };
        // No banner when no host gathers (`gathering: smart` on hosts with facts), as Ansible
        // queues the implicit setup task for none of them.
        if !hosts.iter().enumerate().any(|(i, h)| gathers(i, h)) {
            return;
        }
        self.emit(EventKind::TaskStarted {
            name: "Gathering Facts".to_owned(),
            location: String::new(),
            handler: false,
        });
        let ssh = self.config.ssh.clone();
        // The play's vars (its vars_files read once, not per host) for its templated
        // `remote_user`, `connection` and `port`, and the connection variables they may set.
        let play_vars = &ctx.vars;
        let futures = hosts
            .iter_mut()
            .enumerate()
            .filter(|(i, h)| gathers(*i, h))
            .map(|(_, h)| {
                let ssh = ssh.clone();
                let span = clearfleet_events::host_span(&h.name);
                tracing::Instrument::instrument(
                    async move {
                        let reach = self.play_reach(play, play_vars, h);
                        let how = task::gather_how(self, h, ctx, gather_task);
                        task::gather(self, h, &ssh, reach, how, play).await;
                        self.after_task(h).await;
                    },
                    span,
                )
            });
        futures::stream::iter(futures)
            .buffer_unordered(self.config.forks)
            .collect::<Vec<()>>()
            .await;
    }

    /// Runs `tasks` on the selected hosts in order; a host that fails stops taking tasks.
    fn run_tasks<'a>(
        &'a self,
        tasks: &'a [Task],
        hosts: &'a mut [HostRun],
        sel: &'a [usize],
        ctx: &'a PlayCtx<'a>,
        started_at: &'a mut bool,
    ) -> futures::future::LocalBoxFuture<'a, ()> {
        Box::pin(async move {
            let all = sel;
            for t in tasks {
                // `meta: end_role` ended the role of this task on some hosts.
                let kept: Vec<usize>;
                let sel = if all.iter().any(|i| hosts[*i].role_ended(t)) {
                    kept = all
                        .iter()
                        .copied()
                        .filter(|i| !hosts[*i].role_ended(t))
                        .collect();
                    &kept[..]
                } else {
                    all
                };
                if ctx.batch_ended.load(Ordering::SeqCst) {
                    // `meta: end_batch`/`end_play` under `free`: the other hosts end as they
                    // reach their next task.
                    self.end_batch(hosts, sel, ctx);
                    return;
                }
                if self.stopping() {
                    let next = format!("`{}`", task::display_name(t));
                    for i in sel {
                        hosts[*i].stop_before(&next);
                    }
                    return;
                }
                if ctx.abort.load(Ordering::SeqCst) {
                    // `any_errors_fatal`: a host failed, the play ends for every host.
                    for i in sel {
                        hosts[*i].failed = true;
                    }
                    return;
                }
                match &t.body {
                    TaskBody::Block {
                        block,
                        rescue,
                        always,
                    } => {
                        let entered: Vec<usize> =
                            sel.iter().copied().filter(|i| hosts[*i].active()).collect();
                        let has_rescue = !rescue.is_empty();
                        if has_rescue {
                            for i in &entered {
                                hosts[*i].rescuable += 1;
                            }
                        }
                        self.run_tasks(block, hosts, &entered, ctx, started_at)
                            .await;
                        if has_rescue {
                            for i in &entered {
                                hosts[*i].rescuable = hosts[*i].rescuable.saturating_sub(1);
                            }
                        }
                        let failed: Vec<usize> = entered
                            .iter()
                            .copied()
                            .filter(|i| hosts[*i].failed && !hosts[*i].unreachable)
                            .collect();
                        // Ansible counted the failure as `rescued` when it happened.
                        if has_rescue && !failed.is_empty() && !ctx.abort.load(Ordering::SeqCst) {
                            for i in &failed {
                                hosts[*i].failed = false;
                            }
                            self.run_tasks(rescue, hosts, &failed, ctx, started_at)
                                .await;
                        }
                        if !always.is_empty() {
                            let still_failed: Vec<usize> = entered
                                .iter()
                                .copied()
                                .filter(|i| hosts[*i].failed)
                                .collect();
                            for i in &still_failed {
                                hosts[*i].failed = false;
                            }
                            let reachable: Vec<usize> = entered
                                .iter()
                                .copied()
                                .filter(|i| !hosts[*i].unreachable)
                                .collect();
                            self.run_tasks(always, hosts, &reachable, ctx, started_at)
                                .await;
                            for i in still_failed {
                                hosts[i].failed = true;
                            }
                        }
                    }
                    TaskBody::IncludeTasks {
                        static_tasks: Some(inner),
                        ..
                    } => self.run_tasks(inner, hosts, sel, ctx, started_at).await,
                    TaskBody::IncludeTasks {
                        file,
                        static_tasks: None,
                    } => {
                        // The include's own tags decide whether it happens (they are not
                        // given to the included tasks, as in Ansible).
                        // Before `--start-at-task`'s task, includes are skipped like any
                        // task (Ansible cannot start inside a dynamic include either).
                        if *started_at && self.tags_selected(&t.tags) {
                            self.include_tasks(t, Included::File(file), hosts, sel, ctx, started_at)
                                .await
                        }
                    }
                    TaskBody::IncludeRole { tasks, .. } => {
                        if *started_at && self.tags_selected(&t.tags) {
                            self.include_tasks(
                                t,
                                Included::Role(tasks),
                                hosts,
                                sel,
                                ctx,
                                started_at,
                            )
                            .await
                        }
                    }
                    TaskBody::Module { .. } => {
                        if !*started_at {
                            if self.options.start_at_task.as_deref() == t.name.as_deref() {
                                *started_at = true;
                            } else {
                                continue;
                            }
                        }
                        if !self.tags_selected(&t.tags) {
                            continue;
                        }
                        if let Some(m) = meta::Meta::of(t) {
                            self.run_meta(t, m, hosts, sel, ctx, false).await;
                            continue;
                        }
                        self.run_module_task(t, hosts, sel, ctx, false).await;
                        // A failure a `rescue` will handle does not count (yet).
                        if ctx.play.any_errors_fatal
                            && sel
                                .iter()
                                .any(|i| hosts[*i].failed && hosts[*i].rescuable == 0)
                        {
                            ctx.abort.store(true, Ordering::SeqCst);
                            for i in sel {
                                hosts[*i].failed = true;
                            }
                        }
                        self.check_fail_budget(hosts, ctx);
                    }
                }
            }
        })
    }

    /// `max_fail_percentage`, checked after every task as Ansible's linear strategy does:
    /// over budget, every host of the batch stops. (Under `free` it is checked per batch.)
    fn check_fail_budget(&self, hosts: &mut [HostRun], ctx: &PlayCtx<'_>) {
        let Some(pct) = ctx.play.max_fail_percentage else {
            return;
        };
        if ctx.play.strategy != Strategy::Linear {
            return;
        }
        let batch = ctx.batch.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if batch.is_empty() || batch.iter().any(|i| *i >= hosts.len()) {
            return;
        }
        let failed = batch
            .iter()
            .filter(|i| (hosts[**i].failed && hosts[**i].rescuable == 0) || hosts[**i].unreachable)
            .count();
        if (failed as f64) * 100.0 / (batch.len() as f64) > pct {
            ctx.abort.store(true, Ordering::SeqCst);
        }
    }

    /// Whether an include happens on a host: its own `when` (an error counts as false).
    fn include_wanted(&self, t: &Task, vars: &clearfleet_template::Value) -> bool {
        t.when.iter().all(|c| {
            self.templates
                .condition(&c.value, vars, &c.location, "when")
                .unwrap_or(false)
        })
    }

    async fn include_tasks(
        &self,
        t: &Task,
        included: Included<'_>,
        hosts: &mut [HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
        started_at: &mut bool,
    ) {
        // The file name may be templated per host; hosts with the same file run it together.
        let mut by_file: Vec<(String, Vec<usize>)> = Vec::new();
        let mut skipped = Vec::new();
        let active: Vec<usize> = sel.iter().copied().filter(|i| hosts[*i].active()).collect();
        for i in active {
            let vars = task::vars_for(self, &hosts[i], ctx, t);
            if !self.include_wanted(t, &vars) {
                skipped.push(i);
                continue;
            }
            let file = match included {
                Included::File(file) => file,
                Included::Role(_) => {
                    // A role named by a template: hosts whose name renders alike load it
                    // together, with the files the first of them rendered (Ansible's
                    // `IncludedFile.__eq__` compares the include's arguments once `name` and
                    // `*_from` are taken out of them).
                    // (With a loop, each item renders it: `include_tasks_loop`.)
                    let key = match deferred_role(t).filter(|_| t.loop_.is_none()) {
                        Some(d) => match self.render_role(t, d, &vars) {
                            Ok(key) => key,
                            Err(msg) => {
                                task::fail_host(self, &mut hosts[i], t, &msg);
                                continue;
                            }
                        },
                        None => String::new(),
                    };
                    let name = deferred_role::rendered_name(&key);
                    match by_file
                        .iter_mut()
                        .find(|(k, _)| deferred_role::rendered_name(k) == name)
                    {
                        Some((_, v)) => v.push(i),
                        None => by_file.push((key, vec![i])),
                    }
                    continue;
                }
            };
            let written =
                match self
                    .templates
                    .render_value(&json!(file), &vars, &t.location, "include_tasks")
                {
                    Ok(Value::String(p)) => p,
                    _ => file.to_owned(),
                };
            let path = clearfleet_playbook::include_path(
                &self.files,
                t.location.path.parent().unwrap_or(std::path::Path::new("")),
                &written,
                t.role.as_ref().map(|r| r.path.as_path()),
            )
            .display()
            .to_string();
            match by_file.iter_mut().find(|(f, _)| *f == path) {
                Some((_, v)) => v.push(i),
                None => by_file.push((path, vec![i])),
            }
        }
        if t.loop_.is_some() {
            return Box::pin(self.include_tasks_loop(t, included, hosts, sel, ctx, started_at))
                .await;
        }
        if let Included::Role(tasks) = included {
            // As Ansible: `skipping` where the include's condition is false, `included: role`
            // (counted `ok`) where it is true, then the role's tasks.
            if skipped.is_empty() && by_file.is_empty() {
                return;
            }
            self.emit(EventKind::TaskStarted {
                name: task::display_name(t),
                location: t.location.to_string(),
                handler: false,
            });
            for i in skipped {
                task::skipped(self, &mut hosts[i], t);
            }
            for (key, group) in by_file {
                let loaded = match deferred_role(t) {
                    Some(d) => match self.load_deferred_role(t, d, &key) {
                        Ok(loaded) => Some(loaded),
                        Err(msg) => {
                            for i in group {
                                task::fail_host(self, &mut hosts[i], t, &msg);
                            }
                            continue;
                        }
                    },
                    None => None,
                };
                let (name, tasks) = match (&loaded, &t.body) {
                    (Some((name, role)), _) => {
                        ctx.roles.included(&role.role_names, &role.dependencies);
                        ctx.roles.add_handlers(&role.handlers);
                        (name.as_str(), role.tasks.as_slice())
                    }
                    (
                        None,
                        TaskBody::IncludeRole {
                            name,
                            role_names,
                            dependencies,
                            ..
                        },
                    ) => {
                        // `IncludeRole.get_block_list` adds the role to `Play.roles` each time.
                        ctx.roles.included(role_names, dependencies);
                        (name.as_str(), tasks)
                    }
                    _ => ("", tasks),
                };
                for i in &group {
                    task::included(self, &mut hosts[*i], t, name);
                }
                self.run_tasks(tasks, hosts, &group, ctx, started_at).await;
                // `meta: end_role` ended this inclusion only (a loop's next item runs it).
                for i in &group {
                    hosts[*i].ended_role = None;
                }
            }
            return;
        }
        for (path, group) in by_file {
            let mut check =
                |src: &str,
                 kind: clearfleet_playbook::TemplateKind,
                 at: &clearfleet_base::diagnostic::Location| {
                    self.templates.check(src, kind, at)
                };
            let parent = t
                .include_apply
                .as_deref()
                .cloned()
                .unwrap_or_else(|| clearfleet_playbook::Inherited::for_include(t));
            match clearfleet_playbook::load_tasks_file(
                &self.files,
                std::path::Path::new(&path),
                &parent,
                false,
                &self.plugins,
                &mut check,
            ) {
                Ok((tasks, _)) => {
                    // Ansible counts the include itself as `ok` on every host that includes.
                    self.emit(EventKind::TaskStarted {
                        name: task::display_name(t),
                        location: t.location.to_string(),
                        handler: false,
                    });
                    for i in &group {
                        task::included(self, &mut hosts[*i], t, &path);
                    }
                    self.run_tasks(&tasks, hosts, &group, ctx, started_at).await;
                }
                Err(e) => {
                    for i in group {
                        task::fail_host(self, &mut hosts[i], t, &e.to_string());
                    }
                }
            }
        }
    }

    /// `include_tasks` with `loop`: item `i` of every host runs together, the item bound to the
    /// loop variable (with `index_var`, `ansible_loop`…, as for a module task) for the included
    /// tasks (hosts with fewer items stop taking part). Templated `loop_control` keywords are
    /// rendered per host.
    async fn include_tasks_loop(
        &self,
        t: &Task,
        included: Included<'_>,
        hosts: &mut [HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
        started_at: &mut bool,
    ) {
        // Per host: its items and the task with its keywords rendered for it.
        let mut items: Vec<(usize, Vec<Value>, std::borrow::Cow<'_, Task>)> = Vec::new();
        let active: Vec<usize> = sel.iter().copied().filter(|i| hosts[*i].active()).collect();
        for i in active {
            let vars = task::vars_for(self, &hosts[i], ctx, t);
            if !self.include_wanted(t, &vars) {
                continue;
            }
            let resolved = match keywords::resolve(self, t, &vars, |_| true) {
                Ok(r) => r,
                Err(e) => {
                    task::fail_host(self, &mut hosts[i], t, &e.to_string());
                    continue;
                }
            };
            match task::loop_items(self, t, &vars) {
                Ok(Some(a)) => items.push((i, a, resolved)),
                Ok(None) => return,
                Err(e) => task::fail_host(self, &mut hosts[i], t, &e.to_string()),
            }
        }
        let longest = items.iter().map(|(_, a, _)| a.len()).max().unwrap_or(0);
        let mut single = t.clone();
        single.loop_ = None;
        let mut bound: Vec<(usize, Vec<String>)> = Vec::new();
        for n in 0..longest {
            let mut group = Vec::new();
            for (i, list, rt) in &items {
                if let Some(item) = list.get(n)
                    && hosts[*i].active()
                {
                    let loop_var = rt.loop_var.as_deref().unwrap_or("item");
                    let vars = task::loop_vars(rt, loop_var, list, n, item);
                    if n == 0 {
                        bound.push((*i, vars.keys().cloned().collect()));
                    }
                    Arc::make_mut(&mut hosts[*i].vars).extend(vars);
                    group.push(*i);
                }
            }
            if group.is_empty() {
                break;
            }
            self.include_tasks(&single, included, hosts, &group, ctx, started_at)
                .await;
        }
        for (i, names) in &bound {
            for name in names {
                Arc::make_mut(&mut hosts[*i].vars).remove(name);
            }
        }
    }

    async fn run_module_task(
        &self,
        t: &Task,
        hosts: &mut [HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
        handler: bool,
    ) {
        let active: Vec<usize> = sel.iter().copied().filter(|i| hosts[*i].active()).collect();
        if active.is_empty() {
            return;
        }
        let vars = task::vars_for(self, &hosts[active[0]], ctx, t);
        self.emit(EventKind::TaskStarted {
            name: task::rendered_name(self, t, &vars),
            location: t.location.to_string(),
            handler,
        });
        // `add_host` runs once, on the first host, as Ansible's action bypasses the host loop
        // (only the first host has its result, unless the task says `run_once`).
        let bypass = matches!(&t.body, TaskBody::Module { module, .. } if module == "add_host");
        if t.run_once || bypass {
            // The first host runs it; what it registered or set is given to every host.
            // Under `strategy: free` the hosts reach the task one by one: the first runs it,
            // the others wait for it and take its values.
            let first = active[0];
            let location = t.location.to_string();
            let mut occurrence = 0;
            for i in &active {
                let n = hosts[*i].once_seen.entry(location.clone()).or_insert(0);
                *n += 1;
                occurrence = occurrence.max(*n);
            }
            let cell = ctx
                .once
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(format!("{location}#{occurrence}"))
                .or_default()
                .clone();
            let mut ran = false;
            let set = cell
                .get_or_init(|| {
                    ran = true;
                    let h = &mut hosts[first];
                    async move {
                        let before = h.vars.clone();
                        run_tracked(self, t, h, ctx).await;
                        self.after_task(h).await;
                        h.vars
                            .iter()
                            .filter(|(k, v)| before.get(*k) != Some(*v))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect::<Map<String, Value>>()
                    }
                })
                .await
                .clone();
            let others = match (ran, t.run_once) {
                (_, false) => &[][..],
                (true, true) => &active[1..],
                (false, true) => &active[..],
            };
            for i in others {
                for (k, v) in &set {
                    Arc::make_mut(&mut hosts[*i].vars).insert(k.clone(), v.clone());
                }
                self.hostvars
                    .publish(&mut hosts[*i], self.inventory.shared());
            }
            return;
        }
        let futures = hosts
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| active.contains(i))
            .map(|(_, h)| async move {
                // Held while the task runs on this host (`strategy: free` and `throttle`).
                let _slot = match ctx.throttle_slots(t) {
                    Some(slots) => slots.acquire_owned().await.ok(),
                    None => None,
                };
                run_tracked(self, t, h, ctx).await;
                self.after_task(h).await;
            });
        // `throttle` lowers the forks for this task only (ansible-core
        // `StrategyBase._queue_task`: its rewind point is the smaller of the two).
        let forks = match usize::try_from(t.throttle) {
            Ok(n) if n > 0 => n.min(self.config.forks),
            _ => self.config.forks,
        };
        futures::stream::iter(futures)
            .buffer_unordered(forks.max(1))
            .collect::<Vec<()>>()
            .await;
    }

    async fn flush_handlers(&self, hosts: &mut [HostRun], sel: &[usize], ctx: &PlayCtx<'_>) {
        // The play's handlers, then those of roles loaded at run time.
        let handlers = ctx.roles.handlers(&ctx.play.handlers);
        let handlers = handlers.as_ref();
        // Ansible's rule: a notification by name runs the last handler loaded with that name
        // (`restart web` or `web : restart web`); a `listen` topic runs every handler that
        // listens to it, once per name (the last one loaded).
        let named = |h: &Task, n: &str| {
            h.name.as_deref().is_some_and(|name| {
                name == n
                    || h.role
                        .as_ref()
                        .is_some_and(|r| n == format!("{} : {name}", r.name))
            })
        };
        for (j, handler) in handlers.iter().enumerate() {
            let later = &handlers[j + 1..];
            let wanted = |n: &String| {
                (named(handler, n) && !later.iter().any(|h| named(h, n)))
                    || (handler.listen.contains(n)
                        && !later.iter().any(|h| {
                            handler.name.is_some() && h.name == handler.name && h.listen.contains(n)
                        }))
            };
            let notified: Vec<usize> = sel
                .iter()
                .copied()
                .filter(|i| hosts[*i].active() && hosts[*i].notified.iter().any(wanted))
                .collect();
            if notified.is_empty() {
                continue;
            }
            // A handler may include a tasks file or a role (ansible-core's own
            // setup_remote_tmp_dir cleans up that way): their tasks run for the notified hosts.
            let included = match &handler.body {
                TaskBody::IncludeTasks {
                    file,
                    static_tasks: None,
                } => Some(Included::File(file)),
                TaskBody::IncludeRole { tasks, .. } => Some(Included::Role(tasks)),
                _ => None,
            };
            match included {
                Some(included) => {
                    let mut started_at = true;
                    Box::pin(self.include_tasks(
                        handler,
                        included,
                        hosts,
                        &notified,
                        ctx,
                        &mut started_at,
                    ))
                    .await
                }
                None => match meta::Meta::of(handler) {
                    Some(m) => {
                        Box::pin(self.run_meta(handler, m, hosts, &notified, ctx, true)).await
                    }
                    None => {
                        self.run_module_task(handler, hosts, &notified, ctx, true)
                            .await
                    }
                },
            }
        }
        for i in sel {
            hosts[*i].notified.clear();
        }
    }

    /// Ansible's tag rules: `--tags` (with `always`, `never`, `all`, `tagged`, `untagged`)
    /// then `--skip-tags`.
    fn tags_selected(&self, task_tags: &[String]) -> bool {
        let has = |t: &str| task_tags.iter().any(|x| x == t);
        if self.options.skip_tags.iter().any(|s| {
            has(s)
                || (s == "tagged" && !task_tags.is_empty())
                || (s == "untagged" && task_tags.is_empty())
        }) {
            return false;
        }
        let wanted = &self.options.tags;
        if wanted.is_empty() || wanted.iter().any(|w| w == "all") {
            return !has("never") || wanted.iter().any(|w| has(w) && w != "all");
        }
        has("always")
            || wanted.iter().any(|w| has(w))
            || (wanted.iter().any(|w| w == "tagged") && !task_tags.is_empty())
            || (wanted.iter().any(|w| w == "untagged") && task_tags.is_empty())
    }
}

/// Runs `t` on `h` in the host's log span and remembers it as the host's last finished task.
async fn run_tracked(e: &Engine, t: &Task, h: &mut HostRun, ctx: &PlayCtx<'_>) {
    e.refresh_inventory_vars(h);
    e.hostvars.take(h);
    let span = clearfleet_events::host_span(&h.name);
    tracing::Instrument::instrument(task::run_on_host(e, t, h, ctx), span).await;
    h.last_done = h.current.take();
}

/// What an include brings in: a tasks file named at run time (`include_tasks`), or a role's
/// tasks loaded with the playbook (`include_role`).
#[derive(Clone, Copy)]
enum Included<'t> {
    File(&'t str),
    Role(&'t [Task]),
}

/// What a `run_once` task set on the host that ran it (registered and `set_fact` values).
type OnceResult = Arc<tokio::sync::OnceCell<Map<String, Value>>>;

/// What every task of a play shares.
pub struct PlayCtx<'a> {
    pub play: &'a Play,
    pub vars: Map<String, Value>,
    /// `run_once` tasks of the current batch (by location): what the host that ran them set.
    once: Mutex<HashMap<String, OnceResult>>,
    /// Set when a host fails in an `any_errors_fatal` play, or the batch went over
    /// `max_fail_percentage`: every host stops, and so does the playbook.
    abort: AtomicBool,
    /// The hosts of the current `serial` batch.
    batch: Mutex<Vec<usize>>,
    /// Every host of the play (`clear_facts` and `clear_host_errors` act on them all).
    in_play: Vec<usize>,
    /// `meta: end_batch` or `end_play` ran in the current batch: its hosts take no more tasks.
    batch_ended: AtomicBool,
    /// `meta: end_play` ran: no further batch starts.
    play_ended: AtomicBool,
    /// Under `strategy: free`, the slots of each `throttle`d task (by location), shared by
    /// the hosts that reach it (ansible-core's free strategy counts the workers on the task).
    throttles: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    /// The play's roles so far (`include_role`s join when they run).
    roles: role_names::PlayRoles,
}

impl PlayCtx<'_> {
    /// The slots a `throttle`d task takes under `strategy: free`, where each host runs its
    /// tasks alone (under `linear` the task's hosts run together, `throttle` at a time).
    fn throttle_slots(&self, t: &Task) -> Option<Arc<tokio::sync::Semaphore>> {
        let n = usize::try_from(t.throttle).ok().filter(|n| *n > 0)?;
        if self.play.strategy != Strategy::Free {
            return None;
        }
        let mut slots = self.throttles.lock().unwrap_or_else(|p| p.into_inner());
        Some(
            slots
                .entry(t.location.to_string())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(n)))
                .clone(),
        )
    }
}

/// A play's `order:` applied to its hosts (`in_play`, indexes into `hosts` in inventory
/// order), as ansible-core's `InventoryManager.get_hosts(order=...)` does.
fn order_hosts(order: HostOrder, in_play: &mut [usize], hosts: &[HostRun]) {
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => in_play.reverse(),
        HostOrder::Sorted => in_play.sort_by(|a, b| hosts[*a].name.cmp(&hosts[*b].name)),
        HostOrder::ReverseSorted => in_play.sort_by(|a, b| hosts[*b].name.cmp(&hosts[*a].name)),
        HostOrder::Shuffle => {
            if let Err(e) = clearfleet_base::random::shuffle(in_play) {
                tracing::warn!(
                    "order: shuffle: no random bytes from the OS ({e}): inventory order"
                );
            }
        }
    }
}

/// A play as the output names it: its `name`, else its `hosts` pattern.
fn play_label(play: &Play) -> String {
    play.name.clone().unwrap_or_else(|| play.hosts.clone())
}

/// Batch sizes for `serial` (a number, a percentage, or a list whose last step repeats).
pub fn batches(serial: Option<&Serial>, hosts: usize) -> Vec<usize> {
    let size = |step: SerialStep| -> usize {
        let n = match step {
            SerialStep::Number(n) => n as usize,
            SerialStep::Percent(p) => (hosts * p as usize) / 100,
        };
        n.max(1)
    };
    let steps: Vec<SerialStep> = match serial {
        None => return vec![hosts.max(1)],
        Some(Serial::Number(0)) | Some(Serial::Percent(0)) => return vec![hosts.max(1)],
        Some(Serial::Number(n)) => vec![SerialStep::Number(*n)],
        Some(Serial::Percent(p)) => vec![SerialStep::Percent(*p)],
        Some(Serial::List(l)) if l.is_empty() => return vec![hosts.max(1)],
        Some(Serial::List(l)) => l.clone(),
    };
    let mut out = Vec::new();
    let mut left = hosts;
    let mut i = 0;
    while left > 0 {
        let step = steps[i.min(steps.len() - 1)];
        let n = size(step).min(left);
        out.push(n);
        left -= n;
        i += 1;
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches_follow_ansible() {
        assert_eq!(batches(None, 5), vec![5]);
        assert_eq!(batches(Some(&Serial::Number(2)), 5), vec![2, 2, 1]);
        assert_eq!(batches(Some(&Serial::Percent(30)), 10), vec![3, 3, 3, 1]);
        assert_eq!(batches(Some(&Serial::Percent(10)), 3), vec![1, 1, 1]);
        let list = Serial::List(vec![SerialStep::Number(1), SerialStep::Percent(50)]);
        assert_eq!(batches(Some(&list), 6), vec![1, 3, 2]);
    }
}

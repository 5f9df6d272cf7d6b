//! `meta` tasks: the engine acts on the play itself (running handlers now, ending a host, a
//! batch, the play or a role, clearing facts or errors, dropping a connection), as
//! ansible-core 2.19.14's `StrategyBase._execute_meta` does
//! (lib/ansible/plugins/strategy/__init__.py) under the linear strategy
//! (lib/ansible/plugins/strategy/linear.py). A meta task has no result: it counts nowhere in
//! the PLAY RECAP, and only the hosts its condition skips are reported.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use clearfleet_events::EventKind;
use clearfleet_playbook::{Strategy, Task};

use super::{Engine, HostRun, PlayCtx, task};

/// What a `meta` task does (lib/ansible/modules/meta.py's choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Meta {
    FlushHandlers,
    Noop,
    EndHost,
    EndRole,
    EndBatch,
    EndPlay,
    ClearFacts,
    ClearHostErrors,
    ResetConnection,
    RefreshInventory,
}

impl Meta {
    /// The action a loaded `meta` task names (the loader accepts no other).
    pub(super) fn of(t: &Task) -> Option<Meta> {
        let clearfleet_playbook::TaskBody::Module {
            module,
            args,
            plugin: None,
        } = &t.body
        else {
            return None;
        };
        if module != "meta" {
            return None;
        }
        Some(
            match args
                .get("_raw_params")
                .and_then(|v| v.as_str())
                .unwrap_or("")
            {
                "flush_handlers" => Meta::FlushHandlers,
                "noop" => Meta::Noop,
                "end_host" => Meta::EndHost,
                "end_role" => Meta::EndRole,
                "end_batch" => Meta::EndBatch,
                "end_play" => Meta::EndPlay,
                "clear_facts" => Meta::ClearFacts,
                "clear_host_errors" => Meta::ClearHostErrors,
                "reset_connection" => Meta::ResetConnection,
                "refresh_inventory" => Meta::RefreshInventory,
                _ => return None,
            },
        )
    }

    fn name(self) -> &'static str {
        match self {
            Meta::FlushHandlers => "flush_handlers",
            Meta::Noop => "noop",
            Meta::EndHost => "end_host",
            Meta::EndRole => "end_role",
            Meta::EndBatch => "end_batch",
            Meta::EndPlay => "end_play",
            Meta::ClearFacts => "clear_facts",
            Meta::ClearHostErrors => "clear_host_errors",
            Meta::ResetConnection => "reset_connection",
            Meta::RefreshInventory => "refresh_inventory",
        }
    }

    /// Acts once, for every host of the play or batch, with the first host's condition
    /// (linear.py: every meta but these sets `run_once`).
    fn once(self) -> bool {
        matches!(
            self,
            Meta::EndBatch | Meta::EndPlay | Meta::ClearFacts | Meta::ClearHostErrors
        )
    }

    /// Takes no `when` (Ansible warns and ignores it).
    fn unconditional(self) -> bool {
        matches!(
            self,
            Meta::Noop | Meta::ResetConnection | Meta::RefreshInventory
        )
    }

    /// Why a host's false condition skips it, as `_execute_meta` words it.
    fn skip_reason(self, host: &str) -> String {
        let tail = match self {
            Meta::FlushHandlers => format!(", not running handlers for {host}"),
            Meta::ClearFacts => format!(", not clearing facts and fact cache for {host}"),
            Meta::ClearHostErrors => format!(", not clearing host error state for {host}"),
            Meta::EndBatch => ", continuing current batch".to_owned(),
            Meta::EndPlay => ", continuing play".to_owned(),
            Meta::EndHost => format!(", continuing execution for {host}"),
            Meta::EndRole | Meta::Noop | Meta::ResetConnection | Meta::RefreshInventory => {
                String::new()
            }
        };
        format!("{} conditional evaluated to False{tail}", self.name())
    }
}

impl Engine {
    /// Runs the `meta` task `t` for the selected hosts still taking tasks.
    pub(super) async fn run_meta(
        &self,
        t: &Task,
        meta: Meta,
        hosts: &mut [HostRun],
        sel: &[usize],
        ctx: &PlayCtx<'_>,
        handler: bool,
    ) {
        let active: Vec<usize> = sel.iter().copied().filter(|i| hosts[*i].active()).collect();
        let Some(first) = active.first().copied() else {
            return;
        };
        let vars = task::vars_for(self, &hosts[first], ctx, t);
        self.emit(EventKind::TaskStarted {
            name: task::rendered_name(self, t, &vars),
            location: t.location.to_string(),
            handler,
        });
        if meta.unconditional() {
            if !t.when.is_empty() {
                self.emit(EventKind::Warning {
                    message: format!("{} task does not support when conditional", meta.name()),
                });
            }
            if meta == Meta::ResetConnection {
                for i in &active {
                    self.connections.close_host(&hosts[*i].name).await;
                }
            }
            if meta == Meta::RefreshInventory {
                self.refresh_inventory(hosts, sel, ctx);
            }
            return;
        }
        // The hosts whose condition holds; the others are reported skipped (not counted).
        let asked = if meta.once() {
            &active[..1]
        } else {
            &active[..]
        };
        let mut chosen = Vec::new();
        for i in asked.iter().copied() {
            let vars = task::vars_for(self, &hosts[i], ctx, t);
            if self.include_wanted(t, &vars) {
                chosen.push(i);
            } else {
                let reason = meta.skip_reason(&hosts[i].name);
                task::meta_skipped(self, &hosts[i], t, reason);
            }
        }
        if chosen.is_empty() {
            return;
        }
        // Under `free` each host runs the play alone: what acts on every host reaches only it
        // (`end_batch` and `end_play` reach the others through the play's flags).
        let everyone: Vec<usize> = match ctx.play.strategy {
            Strategy::Linear => ctx.in_play.clone(),
            Strategy::Free => sel.to_vec(),
        };
        match meta {
            Meta::FlushHandlers => self.flush_handlers(hosts, &chosen, ctx).await,
            Meta::EndHost => {
                for i in chosen {
                    hosts[i].ended = true;
                }
            }
            Meta::EndRole => {
                for i in chosen {
                    hosts[i].ended_role = t.role.clone();
                }
            }
            Meta::EndBatch | Meta::EndPlay => {
                ctx.batch_ended.store(true, Ordering::SeqCst);
                if meta == Meta::EndPlay {
                    ctx.play_ended.store(true, Ordering::SeqCst);
                }
                self.end_batch(hosts, sel, ctx);
            }
            Meta::ClearFacts => {
                for i in everyone {
                    if !hosts[i].facts.is_empty() {
                        hosts[i].facts = Arc::default();
                        self.hostvars
                            .publish(&mut hosts[i], self.inventory.shared());
                    }
                }
            }
            Meta::ClearHostErrors => {
                // Back for the next plays, not for the rest of this one.
                for i in everyone {
                    let h = &mut hosts[i];
                    if h.failed || h.unreachable {
                        h.cleared = h.recap;
                        h.failed = false;
                        h.unreachable = false;
                        h.ended = true;
                    }
                }
            }
            Meta::Noop | Meta::ResetConnection | Meta::RefreshInventory => {}
        }
    }

    /// `refresh_inventory` (`_execute_meta`: `InventoryManager.refresh_inventory`, then
    /// `_set_hosts_cache`): the inventory read again from its sources, the run's `add_host`s
    /// and `group_by`s replayed on it; each host's inventory variables, groups and `hostvars`
    /// read again; a host of the play its pattern no longer selects takes no more of the
    /// play's tasks (the strategy's hosts left come from the refreshed cache), and a host new
    /// to the inventory joins the next plays that select it, not this one. Sources that no
    /// longer load leave the inventory as it was, with a warning.
    fn refresh_inventory(&self, hosts: &mut [HostRun], sel: &[usize], ctx: &PlayCtx<'_>) {
        let Some(reload) = &self.config.reload_inventory else {
            self.emit(EventKind::Warning {
                message: "refresh_inventory: this run cannot read its inventory again; it is left as it was".to_owned(),
            });
            return;
        };
        let refreshed =
            reload().and_then(|fresh| self.inventory.refresh(fresh).map_err(|e| e.to_string()));
        if let Err(why) = refreshed {
            self.emit(EventKind::Warning {
                message: format!(
                    "refresh_inventory: the inventory could not be read again, it is left as it was: {why}"
                ),
            });
            return;
        }
        let names = self.inventory.host_names();
        let member_of = self.inventory.member_of();
        let seeds = names
            .iter()
            .map(|n| (n.clone(), self.inventory_vars(n, &member_of)))
            .collect();
        self.hostvars.reseed(seeds, self.inventory.shared());
        for i in sel {
            let h = &mut hosts[*i];
            self.refresh_inventory_vars(h);
            if names.contains(&h.name) {
                self.hostvars.publish(h, self.inventory.shared());
            }
        }
        let selected = self.play_hosts(ctx.play);
        for i in &ctx.in_play {
            if let Some(h) = hosts.get_mut(*i)
                && !selected.contains(&h.name)
            {
                h.ended = true;
            }
        }
    }

    /// `end_batch`/`end_play` was run: every host of the batch still taking tasks ends
    /// (unreachable ones stay as they are).
    pub(super) fn end_batch(&self, hosts: &mut [HostRun], sel: &[usize], ctx: &PlayCtx<'_>) {
        let batch = match ctx.play.strategy {
            Strategy::Linear => ctx.batch.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            Strategy::Free => sel.to_vec(),
        };
        for i in batch {
            if let Some(h) = hosts.get_mut(i)
                && !h.unreachable
            {
                h.ended = true;
            }
        }
    }
}

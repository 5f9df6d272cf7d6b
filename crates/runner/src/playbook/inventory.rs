//! The run's inventory, which `add_host` and `group_by` change while hosts work: `groups` as
//! templates see it, each host's inventory variables, and the hosts added for later plays.
//! Every change bumps a generation, by which a host knows to read its variables again.
//! `meta: refresh_inventory` replaces the inventory by its sources read again, with every
//! `add_host` and `group_by` of the run replayed on it (ansible-core 2.19.14
//! `InventoryManager.refresh_inventory`: `_cached_dynamic_hosts`, then
//! `_cached_dynamic_grouping`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use clearfleet_inventory::model::ModelError;
use clearfleet_inventory::{Inventory, InventoryError, Vars};

/// The inventory of a playbook run, shared by the hosts working on it.
pub(crate) struct RunInventory {
    state: Mutex<State>,
    generation: AtomicU64,
}

struct State {
    inventory: Inventory,
    /// Every `add_host` of the run (name, groups, variables), in order.
    added_hosts: Vec<(String, Vec<String>, Vars)>,
    /// Every `group_by` of the run (host, group, parents), in order.
    grouped: Vec<(String, String, Vec<String>)>,
    /// `groups`: every group and its hosts.
    groups: Map<String, Value>,
    /// `groups` converted once (per change) for templates.
    shared: clearfleet_template::Value,
}

impl State {
    fn new(inventory: Inventory) -> Self {
        let mut s = State {
            inventory,
            added_hosts: Vec::new(),
            grouped: Vec::new(),
            groups: Map::new(),
            shared: clearfleet_template::Value::UNDEFINED,
        };
        s.regroup();
        s
    }

    fn regroup(&mut self) {
        let inventory = &self.inventory;
        self.groups = inventory
            .group_names()
            .map(|g| {
                let members = inventory.select(g).unwrap_or_default();
                (g.to_owned(), json!(members))
            })
            .collect();
        self.shared = clearfleet_template::Templates::context_map(&Map::from_iter([(
            "groups".to_owned(),
            Value::Object(self.groups.clone()),
        )]));
    }
}

impl RunInventory {
    pub(crate) fn new(inventory: Inventory) -> Self {
        RunInventory {
            state: Mutex::new(State::new(inventory)),
            generation: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many changes the inventory has seen.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// `groups` for templates.
    pub(crate) fn shared(&self) -> clearfleet_template::Value {
        self.lock().shared.clone()
    }

    /// Each host's groups but `all`, in the order of `groups`.
    pub(crate) fn member_of(&self) -> HashMap<String, Vec<String>> {
        let state = self.lock();
        let mut member_of: HashMap<String, Vec<String>> = HashMap::new();
        for (g, members) in &state.groups {
            if g == "all" {
                continue;
            }
            for m in members.as_array().into_iter().flatten() {
                if let Some(m) = m.as_str() {
                    let entry = member_of.entry(m.to_owned()).or_default();
                    if !entry.contains(g) {
                        entry.push(g.clone());
                    }
                }
            }
        }
        member_of
    }

    /// A host's merged inventory variables: the implicit localhost's (`ansible_connection:
    /// local`, the `all` group's variables) for that name, empty for another name the inventory
    /// does not hold.
    pub(crate) fn host_vars(&self, host: &str) -> Map<String, Value> {
        let state = self.lock();
        state
            .inventory
            .host_vars(host)
            .or_else(|| state.inventory.implicit_localhost_vars(host))
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// Every host of the inventory, in its order.
    pub(crate) fn host_names(&self) -> Vec<String> {
        self.lock()
            .inventory
            .host_names()
            .map(str::to_owned)
            .collect()
    }

    /// `host`'s variables; `None` when the inventory has no such host (the implicit
    /// localhost included).
    pub(crate) fn host_vars_of(&self, host: &str) -> Option<Map<String, Value>> {
        self.lock()
            .inventory
            .host_vars(host)
            .map(|vars| vars.into_iter().collect())
    }

    /// The hosts `pattern` selects, within `limit`.
    pub(crate) fn select_limited(
        &self,
        pattern: &str,
        limit: Option<&str>,
    ) -> Result<Vec<String>, InventoryError> {
        self.lock().inventory.select_limited(pattern, limit)
    }

    /// `add_host`; whether it changed the inventory.
    pub(crate) fn add_host(
        &self,
        name: &str,
        groups: &[String],
        vars: &Vars,
    ) -> Result<bool, ModelError> {
        let mut state = self.lock();
        state
            .added_hosts
            .push((name.to_owned(), groups.to_vec(), vars.clone()));
        let changed = state.inventory.add_dynamic_host(name, groups, vars)?;
        if changed {
            state.regroup();
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(changed)
    }

    /// `group_by` for `host`; whether it changed the inventory.
    pub(crate) fn add_group(
        &self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, ModelError> {
        let mut state = self.lock();
        state
            .grouped
            .push((host.to_owned(), group.to_owned(), parents.to_vec()));
        let changed = state.inventory.add_dynamic_group(host, group, parents)?;
        if changed {
            state.regroup();
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        Ok(changed)
    }

    /// `meta: refresh_inventory`: `fresh` (the sources read again) with the run's `add_host`s,
    /// then its `group_by`s, replayed on it, in place of the inventory.
    pub(crate) fn refresh(&self, mut fresh: Inventory) -> Result<(), ModelError> {
        let mut state = self.lock();
        for (name, groups, vars) in &state.added_hosts {
            fresh.add_dynamic_host(name, groups, vars)?;
        }
        for (host, group, parents) in &state.grouped {
            fresh.add_dynamic_group(host, group, parents)?;
        }
        state.inventory = fresh;
        state.regroup();
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

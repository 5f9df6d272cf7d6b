//! `hostvars`: every inventory host's variables as its last finished task left them, as
//! Ansible's `HostVars` gives them (`VariableManager.get_vars(host=…)` without a play:
//! inventory and magic variables, facts, `include_vars`, registered and `set_fact` values,
//! extra vars; ansible-core 2.19.14 lib/ansible/vars/hostvars.py). A host publishes its layers
//! (shared, not copied) after each task; a template reading `hostvars[h]` puts `h`'s together
//! then, renders the variables written as templates with `h`'s own variables, and keeps the
//! result until `h` publishes again.

use std::sync::{Arc, Mutex, MutexGuard};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use clearfleet_base::diagnostic::Location;
use clearfleet_template::{Templates, Value as Ctx};

use super::host::HostRun;
use super::lazy_vars::{Resolver, has_template};
use super::templating::TemplateCache;

type Layer = Arc<Map<String, Value>>;

/// One host's published layers, lowest first, and what a template last read of them.
#[derive(Clone)]
struct Entry {
    layers: [Layer; 4],
    groups: Ctx,
    built: Option<Ctx>,
}

struct Shared {
    hosts: Mutex<IndexMap<String, Entry>>,
    /// Its own templates: a variable read through `hostvars` renders while the task's template
    /// that read it is still rendering with the engine's (whose lock that one holds).
    templates: TemplateCache,
    extra_vars: Arc<Map<String, Value>>,
    /// Where rendering errors point: nowhere in a file (an undefined variable is dropped).
    at: Location,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, IndexMap<String, Entry>> {
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `hostvars[name]`: built now if the host published since it was last read.
    fn get(&self, name: &str) -> Option<Ctx> {
        let entry = self.lock().get(name)?.clone();
        if let Some(built) = entry.built {
            return Some(built);
        }
        let mut vars = Map::new();
        let mut lazy = Vec::new();
        for layer in entry.layers.iter().chain([&self.extra_vars]) {
            for (k, v) in layer.iter() {
                vars.insert(k.clone(), v.clone());
                lazy.retain(|x| x != k);
                if has_template(v) {
                    lazy.push(k.clone());
                }
            }
        }
        // Another host's variables are data one reads by name: an undefined one is named as
        // read (`hostvars[h].x`), not by what it came to.
        let _roots =
            Resolver::new(&self.templates, entry.groups.clone(), &self.at).resolve(&mut vars, lazy);
        let built = Templates::layered([entry.groups.clone(), Templates::context_map(&vars)]);
        if let Some(e) = self.lock().get_mut(name)
            && e.layers
                .iter()
                .zip(&entry.layers)
                .all(|(a, b)| Arc::ptr_eq(a, b))
        {
            e.built = Some(built.clone());
        }
        Some(built)
    }
}

/// Facts or variables a task delegated to a host gave it (`delegate_facts`), waiting for that
/// host's own state to take them.
#[derive(Debug, Clone)]
pub(crate) enum Delivered {
    /// `setup`'s facts (as gathered, before they become variables).
    Gathered(Map<String, Value>),
    /// A module's `ansible_facts`.
    Returned(Map<String, Value>),
    /// `set_fact`'s values.
    Set(Map<String, Value>),
    /// `include_vars`' variables.
    Included(Map<String, Value>),
}

impl Delivered {
    fn apply(&self, facts: &mut Layer, included: &mut Layer, vars: &mut Layer) {
        match self {
            Delivered::Gathered(new) => *facts = Arc::new(super::facts::vars(facts, new.clone())),
            Delivered::Returned(new) => {
                *facts = Arc::new(super::facts::returned_by_module(facts, new));
            }
            Delivered::Set(new) => Arc::make_mut(vars).extend(new.clone()),
            Delivered::Included(new) => Arc::make_mut(included).extend(new.clone()),
        }
    }
}

/// The run's `hostvars`, and the template layer that names it.
pub(crate) struct HostVars {
    shared: Arc<Shared>,
    layer: Ctx,
    delivered: Mutex<std::collections::HashMap<String, Vec<Delivered>>>,
}

impl HostVars {
    pub(crate) fn new(
        extra_vars: &Map<String, Value>,
        files: clearfleet_base::controller_files::ControllerFiles,
    ) -> Self {
        let templates = TemplateCache::default();
        templates.set_controller_files(files);
        let shared = Arc::new(Shared {
            hosts: Mutex::new(IndexMap::new()),
            templates,
            extra_vars: Arc::new(extra_vars.clone()),
            at: Location::new("hostvars", 0, 0),
        });
        let (keys, get) = (shared.clone(), shared.clone());
        let map = clearfleet_template::lazy_map(
            move || keys.lock().keys().cloned().collect(),
            move |name| get.get(name),
        );
        HostVars {
            shared,
            delivered: Mutex::default(),
            layer: Ctx::from(std::collections::BTreeMap::from([(
                "hostvars".to_owned(),
                map,
            )])),
        }
    }

    /// The layer holding `hostvars`, for every task's context.
    pub(crate) fn layer(&self) -> Ctx {
        self.layer.clone()
    }

    /// `name`'s layers as it last published them (inventory variables, facts, `include_vars`
    /// results, registered and `set_fact` values); `None` for a name the inventory lacks.
    pub(crate) fn layers(&self, name: &str) -> Option<[Layer; 4]> {
        self.shared.lock().get(name).map(|e| e.layers.clone())
    }

    /// A host the run does not touch (outside `--limit`): its inventory variables.
    pub(crate) fn seed(&self, name: &str, inventory_vars: Map<String, Value>, groups: Ctx) {
        let empty = Layer::default();
        self.shared.lock().entry(name.to_owned()).or_insert(Entry {
            layers: [
                Arc::new(inventory_vars),
                empty.clone(),
                empty.clone(),
                empty,
            ],
            groups,
            built: None,
        });
    }

    /// Gives `name` what a task delegated to it set (`delegate_facts`): at once for
    /// `hostvars`, and to its own state when it next starts or ends a task ([`HostVars::take`]).
    /// A name the inventory lacks (the implicit localhost) gets nothing.
    pub(crate) fn deliver(&self, name: &str, d: Delivered) {
        {
            let mut hosts = self.shared.lock();
            let Some(e) = hosts.get_mut(name) else {
                return;
            };
            let [_, facts, included, vars] = &mut e.layers;
            d.apply(facts, included, vars);
            e.built = None;
        }
        self.delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_owned())
            .or_default()
            .push(d);
    }

    /// Takes into `h`'s state what tasks delegated to it set.
    pub(crate) fn take(&self, h: &mut HostRun) {
        let taken = self
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&h.name);
        for d in taken.into_iter().flatten() {
            d.apply(&mut h.facts, &mut h.included_vars, &mut h.vars);
        }
    }

    /// `h`'s variables as they are now (with what was delivered to it); nothing is rebuilt
    /// when no layer changed.
    pub(crate) fn publish(&self, h: &mut HostRun, groups: Ctx) {
        self.take(h);
        let layers = [
            h.inventory_vars.clone(),
            h.facts.clone(),
            h.included_vars.clone(),
            h.vars.clone(),
        ];
        let mut hosts = self.shared.lock();
        match hosts.get_mut(&h.name) {
            Some(e) if e.layers.iter().zip(&layers).all(|(a, b)| Arc::ptr_eq(a, b)) => {}
            Some(e) => {
                e.layers = layers;
                e.groups = groups;
                e.built = None;
            }
            None => {
                hosts.insert(
                    h.name.clone(),
                    Entry {
                        layers,
                        groups,
                        built: None,
                    },
                );
            }
        }
    }

    /// After `meta: refresh_inventory`: the inventory's hosts, in its order, each with its
    /// inventory variables read again (what else it had is kept); a host the inventory no
    /// longer holds is gone from `hostvars`, as from Ansible's.
    pub(crate) fn reseed(&self, hosts: Vec<(String, Map<String, Value>)>, groups: Ctx) {
        let mut map = self.shared.lock();
        let mut fresh = IndexMap::new();
        for (name, vars) in hosts {
            let entry = match map.swap_remove(&name) {
                Some(mut e) => {
                    e.layers[0] = Arc::new(vars);
                    e.groups = groups.clone();
                    e.built = None;
                    e
                }
                None => {
                    let empty = Layer::default();
                    Entry {
                        layers: [Arc::new(vars), empty.clone(), empty.clone(), empty],
                        groups: groups.clone(),
                        built: None,
                    }
                }
            };
            fresh.insert(name, entry);
        }
        *map = fresh;
    }
}

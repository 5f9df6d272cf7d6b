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

/// The run's `hostvars`, and the template layer that names it.
pub(crate) struct HostVars {
    shared: Arc<Shared>,
    layer: Ctx,
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

    /// `h`'s variables as they are now; nothing is rebuilt when no layer changed.
    pub(crate) fn publish(&self, h: &HostRun, groups: Ctx) {
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
}

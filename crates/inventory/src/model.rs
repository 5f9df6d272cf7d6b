//! The in-memory inventory graph (groups, hosts, parent/child links) with Ansible's rules for
//! adding children (cycle checks, depth), implicit `all`/`ungrouped`, and reconciliation.

use indexmap::IndexMap;
use serde_json::Value;

/// Why a change to the group graph or a group variable was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A group listed among its own children.
    #[error("group `{0}` cannot be a child of itself")]
    SelfChild(String),
    /// `all` listed as a child (of the named group): every group is already in `all`.
    #[error(
        "adding group `all` as a child of `{0}` creates a dependency loop (every group is in `all`)"
    )]
    AllAsChild(String),
    /// `child` is already an ancestor of `parent`.
    #[error("adding group `{child}` as a child of `{parent}` creates a dependency loop")]
    Loop { child: String, parent: String },
    /// `ansible_group_priority` that is not an integer (the value as JSON).
    #[error("ansible_group_priority must be an integer, got {0}")]
    BadPriority(String),
    /// A run-time change (`group_by`) for a host the inventory does not hold (Ansible's words).
    #[error("{0} cannot be matched in inventory")]
    UnknownHost(String),
}

/// Variables of a host or group, in insertion order.
pub type Vars = IndexMap<String, Value>;

/// One group: its own (inline) variables, direct hosts and direct children, in add order.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub vars: Vars,
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    pub hosts: Vec<usize>,
    /// Longest distance from `all` (Ansible's `Group.depth`).
    pub depth: u32,
    /// `ansible_group_priority` (default 1).
    pub priority: i64,
}

/// One host: its own (inline) variables and the groups that list it directly.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub vars: Vars,
    pub groups: Vec<usize>,
}

/// Index of `all` in [`Data::groups`].
pub const ALL: usize = 0;
/// Index of `ungrouped` in [`Data::groups`].
pub const UNGROUPED: usize = 1;

/// Groups and hosts in first-appearance order.
#[derive(Debug, Clone)]
pub struct Data {
    pub groups: IndexMap<String, Group>,
    pub hosts: IndexMap<String, Host>,
}

impl Default for Data {
    fn default() -> Self {
        Self::new()
    }
}

impl Data {
    /// An inventory holding only `all` and its child `ungrouped`.
    pub fn new() -> Self {
        let mut d = Data {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
        };
        d.add_group("all");
        d.add_group("ungrouped");
        // Cannot fail: two distinct fresh groups.
        let _ = d.add_child(ALL, UNGROUPED);
        d
    }

    /// Adds a group if missing; returns its index.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(i) = self.groups.get_index_of(name) {
            return i;
        }
        let (i, _) = self.groups.insert_full(
            name.to_owned(),
            Group {
                name: name.to_owned(),
                vars: Vars::new(),
                children: Vec::new(),
                parents: Vec::new(),
                hosts: Vec::new(),
                depth: 0,
                priority: 1,
            },
        );
        i
    }

    /// Adds a host if missing, puts it in `group`, and sets `ansible_port` when a port is given.
    pub fn add_host(&mut self, name: &str, group: Option<usize>, port: Option<u16>) -> usize {
        let h = match self.hosts.get_index_of(name) {
            Some(i) => i,
            None => {
                self.hosts
                    .insert_full(
                        name.to_owned(),
                        Host {
                            name: name.to_owned(),
                            vars: Vars::new(),
                            groups: Vec::new(),
                        },
                    )
                    .0
            }
        };
        if let Some(g) = group {
            self.put_host_in_group(h, g);
        }
        if let (Some(p), Some((_, host))) = (port, self.hosts.get_index_mut(h)) {
            host.vars.insert("ansible_port".into(), Value::from(p));
        }
        h
    }

    /// Adds host `h` to group `g` (no-op if it is already there).
    pub fn put_host_in_group(&mut self, h: usize, g: usize) {
        let Some((_, group)) = self.groups.get_index_mut(g) else {
            return;
        };
        if group.hosts.contains(&h) {
            return;
        }
        group.hosts.push(h);
        if let Some((_, host)) = self.hosts.get_index_mut(h) {
            host.groups.push(g);
        }
    }

    fn remove_host_from_group(&mut self, h: usize, g: usize) {
        if let Some((_, group)) = self.groups.get_index_mut(g) {
            group.hosts.retain(|&x| x != h);
        }
        if let Some((_, host)) = self.hosts.get_index_mut(h) {
            host.groups.retain(|&x| x != g);
        }
    }

    /// Makes `child` a child of `parent`, rejecting self-membership and cycles like Ansible.
    pub fn add_child(&mut self, parent: usize, child: usize) -> Result<(), ModelError> {
        let name = |i: usize| {
            self.groups
                .get_index(i)
                .map_or("?", |(n, _)| n.as_str())
                .to_owned()
        };
        if parent == child {
            return Err(ModelError::SelfChild(name(parent)));
        }
        if self
            .groups
            .get_index(parent)
            .is_some_and(|(_, g)| g.children.contains(&child))
        {
            return Ok(());
        }
        // Every group ends up under `all` (see `reconcile`), so `all` under any group is a
        // loop; say so here, where the caller knows the line, not later in `reconcile`.
        if child == ALL {
            return Err(ModelError::AllAsChild(name(parent)));
        }
        if self.ancestors(parent).contains(&child) {
            return Err(ModelError::Loop {
                child: name(child),
                parent: name(parent),
            });
        }
        let parent_depth = self.groups.get_index(parent).map_or(0, |(_, g)| g.depth);
        if let Some((_, p)) = self.groups.get_index_mut(parent) {
            p.children.push(child);
        }
        if let Some((_, c)) = self.groups.get_index_mut(child) {
            if !c.parents.contains(&parent) {
                c.parents.push(parent);
            }
            c.depth = c.depth.max(parent_depth + 1);
        }
        self.propagate_depth(child);
        Ok(())
    }

    fn propagate_depth(&mut self, start: usize) {
        let mut stack = vec![start];
        let mut steps = 0usize;
        while let Some(g) = stack.pop() {
            steps += 1;
            if steps > 1_000_000 {
                return; // cannot happen without a cycle, which add_child rejects
            }
            let Some((_, group)) = self.groups.get_index(g) else {
                continue;
            };
            let depth = group.depth + 1;
            let kids = group.children.clone();
            for k in kids {
                if let Some((_, kid)) = self.groups.get_index_mut(k)
                    && kid.depth < depth
                {
                    kid.depth = depth;
                    stack.push(k);
                }
            }
        }
    }

    /// All ancestors of group `g` (not `g` itself), nearest first.
    pub fn ancestors(&self, g: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut queue = std::collections::VecDeque::from([g]);
        while let Some(x) = queue.pop_front() {
            if let Some((_, group)) = self.groups.get_index(x) {
                for &p in &group.parents {
                    if p != g && !out.contains(&p) {
                        out.push(p);
                        queue.push_back(p);
                    }
                }
            }
        }
        out
    }

    /// Every group host `h` belongs to, directly or through a child group, `all` included.
    pub fn host_groups(&self, h: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if let Some((_, host)) = self.hosts.get_index(h) {
            for &g in &host.groups {
                for x in self.ancestors(g).into_iter().chain([g]) {
                    if !out.contains(&x) {
                        out.push(x);
                    }
                }
            }
        }
        out
    }

    /// `g` and its descendants in Ansible's order: `g`, its children, then each further
    /// generation (`Group._walk_relationship(preserve_ordering=True)`).
    pub fn descendants_with_self(&self, g: usize) -> Vec<usize> {
        let mut ordered = vec![g];
        let mut seen = vec![g];
        if let Some((_, group)) = self.groups.get_index(g) {
            for &c in &group.children {
                if !ordered.contains(&c) {
                    ordered.push(c);
                }
                seen.push(c);
            }
        }
        let mut frontier: Vec<usize> = ordered.clone();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for x in &frontier {
                if let Some((_, group)) = self.groups.get_index(*x) {
                    for &c in &group.children {
                        if !seen.contains(&c) {
                            seen.push(c);
                            ordered.push(c);
                            next.push(c);
                        }
                    }
                }
            }
            frontier = next;
        }
        ordered
    }

    /// All hosts of group `g` and its descendants, deduplicated (Ansible's `Group.get_hosts`).
    pub fn group_hosts(&self, g: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = vec![false; self.hosts.len()];
        for d in self.descendants_with_self(g) {
            if let Some((_, group)) = self.groups.get_index(d) {
                for &h in &group.hosts {
                    if let Some(s) = seen.get_mut(h)
                        && !*s
                    {
                        *s = true;
                        out.push(h);
                    }
                }
            }
        }
        out
    }

    /// Ansible's `reconcile_inventory`: parentless groups become children of `all`; hosts in
    /// no group but `all` go to `ungrouped`; hosts also in a real group leave `ungrouped`.
    pub fn reconcile(&mut self) -> Result<(), ModelError> {
        for g in 0..self.groups.len() {
            if g != ALL
                && self
                    .groups
                    .get_index(g)
                    .is_some_and(|(_, x)| x.parents.is_empty())
            {
                self.add_child(ALL, g)?;
            }
        }
        for h in 0..self.hosts.len() {
            let groups = self.host_groups(h);
            if groups.contains(&UNGROUPED) {
                if groups.iter().any(|&g| g != ALL && g != UNGROUPED) {
                    self.remove_host_from_group(h, UNGROUPED);
                }
            } else if groups.iter().all(|&g| g == ALL) {
                self.put_host_in_group(h, UNGROUPED);
            }
        }
        Ok(())
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority instead (as Ansible).
    pub fn set_group_var(&mut self, g: usize, key: &str, value: Value) -> Result<(), ModelError> {
        let Some((_, group)) = self.groups.get_index_mut(g) else {
            return Ok(());
        };
        if key == "ansible_group_priority" {
            group.priority = match &value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Value::String(s) => s.trim().parse().ok(),
                Value::Bool(b) => Some(i64::from(*b)),
                _ => None,
            }
            .ok_or_else(|| ModelError::BadPriority(value.to_string()))?;
        } else {
            group.vars.insert(key.to_owned(), value);
        }
        Ok(())
    }

    /// Sets a host variable.
    pub fn set_host_var(&mut self, h: usize, key: &str, value: Value) {
        if let Some((_, host)) = self.hosts.get_index_mut(h) {
            host.vars.insert(key.to_owned(), value);
        }
    }

    /// Name of group `g`.
    pub fn group_name(&self, g: usize) -> &str {
        self.groups.get_index(g).map_or("", |(n, _)| n.as_str())
    }

    /// Name of host `h`.
    pub fn host_name(&self, h: usize) -> &str {
        self.hosts.get_index(h).map_or("", |(n, _)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_self_children_are_rejected() {
        let mut d = Data::new();
        let a = d.add_group("a");
        let b = d.add_group("b");
        let c = d.add_group("c");
        assert!(d.add_child(a, a).is_err());
        assert!(d.add_child(a, b).is_ok());
        assert!(d.add_child(b, c).is_ok());
        assert!(d.add_child(c, a).is_err());
        assert_eq!(d.groups[c].depth, 2);
    }

    #[test]
    fn reconcile_fills_ungrouped_and_all() {
        let mut d = Data::new();
        let web = d.add_group("web");
        d.add_host("h1", Some(UNGROUPED), None);
        d.add_host("h1", Some(web), None);
        d.add_host("h2", Some(ALL), Some(2222));
        assert!(d.reconcile().is_ok());
        assert_eq!(d.groups[ALL].children, [UNGROUPED, web]);
        assert_eq!(d.groups[UNGROUPED].hosts, [1]);
        assert_eq!(d.hosts[1].vars["ansible_port"], 2222);
    }
}

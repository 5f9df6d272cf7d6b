//! The inventory changes a playbook makes while it runs, as ansible-core's
//! `InventoryManager.add_dynamic_host` (`add_host`) and `add_dynamic_group` (`group_by`) make
//! them, with their `changed` answer; the variables of the hosts they touch are merged again.

use super::load::Inventory;
use super::merge::merged_host_vars;
use super::model::{ALL, ModelError, Vars};

impl Inventory {
    /// `add_host`: host `name` (added to `all` if new), its own variables combined with `vars`
    /// (a key given replaces the host's), and put in each of `groups` (created if missing).
    /// Whether anything changed, as Ansible reports it.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Vars,
    ) -> Result<bool, ModelError> {
        let mut changed = false;
        let h = match self.data.hosts.get_index_of(name) {
            Some(h) => h,
            None => {
                changed = true;
                self.data.add_host(name, Some(ALL), None)
            }
        };
        for (k, v) in vars {
            if self.data.hosts[h].vars.get(k) != Some(v) {
                self.data.set_host_var(h, k, v.clone());
                changed = true;
            }
        }
        for group in groups {
            let g = match self.data.groups.get_index_of(group.as_str()) {
                Some(g) => g,
                None => {
                    changed = true;
                    self.data.add_group(group)
                }
            };
            if !self.data.groups[g].hosts.contains(&h) {
                self.data.put_host_in_group(h, g);
                changed = true;
            }
        }
        if changed {
            self.data.reconcile()?;
            self.remerge(&[h]);
        }
        Ok(changed)
    }

    /// `group_by`: group `group` (created if missing) made a child of each of `parents`
    /// (created if missing), and host `host` put in it. Whether anything changed, as Ansible
    /// reports it (creating `group` alone is no change).
    pub fn add_dynamic_group(
        &mut self,
        host: &str,
        group: &str,
        parents: &[String],
    ) -> Result<bool, ModelError> {
        let h = self
            .data
            .hosts
            .get_index_of(host)
            .ok_or_else(|| ModelError::UnknownHost(host.to_owned()))?;
        let g = self.data.add_group(group);
        let mut changed = false;
        for parent in parents {
            let p = match self.data.groups.get_index_of(parent.as_str()) {
                Some(p) => p,
                None => {
                    changed = true;
                    self.data.add_group(parent)
                }
            };
            if !self.data.groups[p].children.contains(&g) {
                self.data.add_child(p, g)?;
                changed = true;
            }
        }
        if !self.data.group_hosts(g).contains(&h) {
            self.data.put_host_in_group(h, g);
            changed = true;
        }
        if changed {
            self.data.reconcile()?;
            let touched = self.data.group_hosts(g);
            self.remerge(&touched);
        }
        Ok(changed)
    }

    /// Merges the variables of hosts `hosts` again (a new host gets its entry).
    fn remerge(&mut self, hosts: &[usize]) {
        for &h in hosts {
            let vars = merged_host_vars(&self.data, &self.files, h);
            match self.merged.get_mut(h) {
                Some(m) => *m = vars,
                None => {
                    // Hosts are only ever appended: a new host is the next index.
                    self.merged.resize_with(h, Vars::new);
                    self.merged.push(vars);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inventory(text: &str) -> Inventory {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = tmp.path().join("inv.ini");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        Inventory::load(&[path]).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn add_host_is_changed_only_when_it_changes_something() {
        let mut inv = inventory("a\n[web]\nb\n[web:vars]\ncolour=blue\n");
        let vars = Vars::from_iter([("ansible_port".to_owned(), json!(2222))]);
        let web = vec!["web".to_owned()];
        assert_eq!(inv.add_dynamic_host("c", &web, &vars), Ok(true));
        assert_eq!(inv.select("web").ok(), Some(vec!["b".into(), "c".into()]));
        let c = inv.host_vars("c").unwrap_or_default();
        assert_eq!(c.get("colour"), Some(&json!("blue")));
        assert_eq!(c.get("ansible_port"), Some(&json!(2222)));
        // The same again: nothing new.
        assert_eq!(inv.add_dynamic_host("c", &web, &vars), Ok(false));
        // A new group for an existing host, then a changed variable.
        assert_eq!(
            inv.add_dynamic_host("a", &["db".into()], &Vars::new()),
            Ok(true)
        );
        assert_eq!(inv.select("ungrouped").ok(), Some(vec![]));
        let port = Vars::from_iter([("ansible_port".to_owned(), json!(2223))]);
        assert_eq!(inv.add_dynamic_host("c", &[], &port), Ok(true));
        // A host in no group is ungrouped.
        assert_eq!(inv.add_dynamic_host("d", &[], &Vars::new()), Ok(true));
        assert_eq!(inv.select("ungrouped").ok(), Some(vec!["d".into()]));
    }

    #[test]
    fn group_by_is_changed_when_the_host_or_a_parent_is_new() {
        let mut inv = inventory("a\nb\n[top]\n[top:vars]\nlevel=1\n");
        let all = vec!["all".to_owned()];
        assert_eq!(inv.add_dynamic_group("a", "g1", &all), Ok(true));
        assert_eq!(inv.add_dynamic_group("a", "g1", &all), Ok(false));
        assert_eq!(inv.select("g1").ok(), Some(vec!["a".into()]));
        // Under an existing parent whose variables the host now gets.
        assert_eq!(inv.add_dynamic_group("b", "g2", &["top".into()]), Ok(true));
        assert_eq!(inv.select("top").ok(), Some(vec!["b".into()]));
        assert_eq!(
            inv.host_vars("b").unwrap_or_default().get("level"),
            Some(&json!(1))
        );
        assert_eq!(
            inv.add_dynamic_group("nowhere", "g1", &all),
            Err(ModelError::UnknownHost("nowhere".into()))
        );
    }
}

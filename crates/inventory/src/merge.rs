//! Variable precedence: how inline inventory vars, group_vars/ and host_vars/ combine into
//! one host's variables, exactly in Ansible's default order.

use super::model::{ALL, Data, Vars};

/// The vars files found beside the inventory sources, indexed `[source][group or host index]`.
#[derive(Debug, Default, Clone)]
pub struct FileVars {
    pub groups: Vec<Vec<Vars>>,
    pub hosts: Vec<Vec<Vars>>,
}

/// Groups of host `h` other than `all`, in Ansible's merge order (`sort_groups`): by depth
/// (distance from `all`), then `ansible_group_priority`, then name.
pub fn sorted_host_groups(data: &Data, h: usize) -> Vec<usize> {
    let mut groups: Vec<usize> = data
        .host_groups(h)
        .into_iter()
        .filter(|&g| g != ALL)
        .collect();
    groups.sort_by(|&a, &b| {
        let (ga, gb) = (&data.groups[a], &data.groups[b]);
        (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
    });
    groups
}

/// The merged variables of host `h`. Ansible's default `VARIABLE_PRECEDENCE` and
/// `hash_behaviour = replace` (a later source replaces a whole top-level key, no deep merge),
/// from lowest to highest:
///
/// 1. inline vars of `all` (the inventory file's `all: vars:` / `[all:vars]`);
/// 2. inline vars of the host's other groups (ancestors included), sorted by
///    (depth, `ansible_group_priority`, name): parents before children, equal depths
///    alphabetically, a higher priority later (so it wins);
/// 3. `group_vars/all*` beside each inventory source, sources in `-i` order;
/// 4. `group_vars/GROUP*` for the same sorted groups, per source in `-i` order;
/// 5. the host's inline vars (later definitions of the same host win);
/// 6. `host_vars/HOST*` beside each inventory source, in `-i` order.
///
/// So any group_vars file beats every inline group var (even `group_vars/all.yml` beats a
/// child group's inline var), and host vars beat all group vars.
pub fn merged_host_vars(data: &Data, files: &FileVars, h: usize) -> Vars {
    let groups = sorted_host_groups(data, h);
    let mut out = data.groups[ALL].vars.clone();
    let mut put = |vars: &Vars| {
        for (k, v) in vars {
            out.insert(k.clone(), v.clone());
        }
    };
    for &g in &groups {
        put(&data.groups[g].vars);
    }
    for source in &files.groups {
        if let Some(v) = source.get(ALL) {
            put(v);
        }
    }
    for source in &files.groups {
        for &g in &groups {
            if let Some(v) = source.get(g) {
                put(v);
            }
        }
    }
    put(&data.hosts[h].vars);
    for source in &files.hosts {
        if let Some(v) = source.get(h) {
            put(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> (Data, usize) {
        let mut d = Data::new();
        let parent = d.add_group("parent");
        let child = d.add_group("child");
        let zeta = d.add_group("zeta");
        let alpha = d.add_group("alpha");
        let _ = d.add_child(parent, child);
        let h = d.add_host("h", Some(child), None);
        d.put_host_in_group(h, zeta);
        d.put_host_in_group(h, alpha);
        let _ = d.reconcile();
        for (g, v) in [(ALL, "all"), (parent, "parent"), (child, "child")] {
            let _ = d.set_group_var(g, "level", json!(v));
        }
        let _ = d.set_group_var(zeta, "same_depth", json!("zeta"));
        let _ = d.set_group_var(alpha, "same_depth", json!("alpha"));
        let _ = d.set_group_var(ALL, "only_all", json!(1));
        (d, h)
    }

    #[test]
    fn all_parent_child_host_order() {
        let (mut d, h) = setup();
        let v = merged_host_vars(&d, &FileVars::default(), h);
        assert_eq!(v["level"], "child");
        assert_eq!(v["only_all"], 1);
        assert_eq!(v["same_depth"], "zeta");
        d.set_host_var(h, "level", json!("host"));
        assert_eq!(
            merged_host_vars(&d, &FileVars::default(), h)["level"],
            "host"
        );
    }

    #[test]
    fn priority_beats_name_order() {
        let (mut d, h) = setup();
        let alpha = d.groups.get_index_of("alpha").unwrap_or(0);
        let _ = d.set_group_var(alpha, "ansible_group_priority", json!(10));
        let v = merged_host_vars(&d, &FileVars::default(), h);
        assert_eq!(v["same_depth"], "alpha");
    }

    #[test]
    fn group_vars_files_beat_inline_and_host_vars_beat_all() {
        let (d, h) = setup();
        let mut groups = vec![Vars::new(); d.groups.len()];
        groups[ALL].insert("level".into(), json!("all-file"));
        let parent = d.groups.get_index_of("parent").unwrap_or(0);
        groups[parent].insert("from_file".into(), json!("parent-file"));
        let mut hosts = vec![Vars::new(); d.hosts.len()];
        hosts[h].insert("from_file".into(), json!("host-file"));
        let files = FileVars {
            groups: vec![groups.clone()],
            hosts: vec![vec![Vars::new(); d.hosts.len()]],
        };
        let v = merged_host_vars(&d, &files, h);
        assert_eq!(v["level"], "all-file");
        assert_eq!(v["from_file"], "parent-file");
        let files = FileVars {
            groups: vec![groups],
            hosts: vec![hosts],
        };
        assert_eq!(merged_host_vars(&d, &files, h)["from_file"], "host-file");
    }
}

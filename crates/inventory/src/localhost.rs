//! The implicit localhost: the host Ansible adds when a pattern names `localhost` (or
//! `127.0.0.1`, `::1`) and the inventory has no such host (ansible-core 2.19.14
//! `inventory/data.py` `InventoryData._create_implicit_localhost`). It is in no group, yet sees
//! the `all` group's variables (`VariableManager.get_vars` merges them for every host), and
//! runs its tasks on the controller (`ansible_connection: local`).

use serde_json::Value;

use super::load::Inventory;
use super::model::{ALL, Vars};
use super::pattern::LOCALHOST;

impl Inventory {
    /// The variables of the implicit localhost `name`: the `all` group's (inline, then
    /// `group_vars/all*`), then its own `ansible_connection: local` and
    /// `ansible_python_interpreter` (the controller's Python, see [`controller_python`]),
    /// which `Host.set_variable` puts above group variables. `None` when `name` is an
    /// inventory host or not a name of localhost.
    pub fn implicit_localhost_vars(&self, name: &str) -> Option<Vars> {
        if !LOCALHOST.contains(&name) || self.data.hosts.contains_key(name) {
            return None;
        }
        let mut vars = self.data.groups[ALL].vars.clone();
        for source in &self.files.groups {
            if let Some(v) = source.get(ALL) {
                vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        vars.insert(
            "ansible_python_interpreter".to_owned(),
            Value::String(controller_python()),
        );
        vars.insert(
            "ansible_connection".to_owned(),
            Value::String("local".to_owned()),
        );
        Some(vars)
    }
}

/// The controller's Python, as the implicit localhost's `ansible_python_interpreter`: Ansible
/// takes its own interpreter (`sys.executable`); clearfleet has none, so the first `python3`
/// (else `python`) on `PATH`, else Ansible's fallback `/usr/bin/python`.
pub fn controller_python() -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["python3", "python"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate.to_string_lossy().into_owned();
            }
        }
    }
    "/usr/bin/python".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implicit_localhost_has_all_vars_and_local_connection()
    -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let inv = tmp.path().join("hosts");
        std::fs::write(
            &inv,
            "h1\n[all:vars]\ncolour=blue\nansible_connection=ssh\n",
        )?;
        let i = Inventory::load(&[inv])?;
        let v = i.implicit_localhost_vars("localhost").unwrap_or_default();
        assert_eq!(v.get("colour"), Some(&Value::from("blue")));
        assert_eq!(v.get("ansible_connection"), Some(&Value::from("local")));
        assert!(v.contains_key("ansible_python_interpreter"));
        assert!(i.implicit_localhost_vars("h1").is_none());
        assert!(i.implicit_localhost_vars("other").is_none());
        Ok(())
    }
}

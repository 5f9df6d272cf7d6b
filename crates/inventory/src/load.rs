//! `Inventory`: loads `-i` sources (files, directories, `a,b,` host lists), detects YAML or
//! INI like Ansible, reads group_vars/host_vars, precomputes merged vars, answers queries.

use super::error::InventoryError;
use super::ini::parse_ini;
use super::merge::{FileVars, merged_host_vars};
use super::model::{Data, UNGROUPED, Vars};
use super::output::{graph, list_value, python_json};
use super::pattern;
use super::vars_dirs::load_entity_vars;
use super::vault::{decrypt_values, read_text};
use super::yaml::{Kind, YamlInventory, parse_yaml};
use clearfleet_base::vault::Vault;
use indexmap::IndexMap;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A loaded inventory: groups, hosts (first-appearance order) and each host's merged vars.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub(crate) data: Data,
    pub(crate) merged: Vec<Vars>,
    /// The group_vars/ and host_vars/ files read at load, kept to merge the variables of hosts
    /// and groups changed during a run (`add_host`, `group_by`: see `dynamic.rs`).
    pub(crate) files: FileVars,
}

/// File names a directory source skips (Ansible's `IGNORED` + `INVENTORY_IGNORE_EXTS`).
fn ignored(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InventoryError + '_ {
    move |source| InventoryError::Io {
        path: path.to_owned(),
        source,
    }
}

fn load_file(path: &Path, data: &mut Data, vault: &Vault) -> Result<(), InventoryError> {
    let (text, vaulted) = read_text(path, vault)?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let yaml_ext = matches!(ext.as_deref(), Some("yml" | "yaml" | "json"));
    if ext.is_none() || yaml_ext {
        match parse_yaml(path, &text) {
            Ok(Some(mut node)) if yaml_ext || matches!(node.kind, Kind::Map(_)) => {
                decrypt_values(path, &text, &mut node, vault, vaulted)?;
                return YamlInventory { path, text: &text }.populate(data, &node);
            }
            Ok(None) if yaml_ext => return Ok(()),
            Err(e) if yaml_ext => return Err(e),
            _ => {}
        }
    }
    parse_ini(path, &text, data)
}

fn load_source(
    path: &Path,
    data: &mut Data,
    depth: usize,
    vault: &Vault,
) -> Result<(), InventoryError> {
    if path.is_dir() {
        if depth > 16 {
            return Ok(());
        }
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map_err(io(path))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !ignored(n))
            .collect();
        names.sort();
        for n in names {
            load_source(&path.join(n), data, depth + 1, vault)?;
        }
        Ok(())
    } else {
        load_file(path, data, vault)
    }
}

impl Inventory {
    /// Loads and merges the sources in order (as several `-i`), like `ansible-inventory`.
    /// A source is an inventory file (YAML if it parses as a mapping of groups, else INI), a
    /// directory of them, or a comma-separated host list such as `web1,web2,`.
    pub fn load(paths: &[PathBuf]) -> Result<Inventory, InventoryError> {
        Inventory::load_vaulted(paths, &Vault::default())
    }

    /// [`Inventory::load`] with the vault passwords of the run: vault-encrypted files and
    /// `!vault` values are decrypted (and what they hold remembered as secrets by `vault`).
    pub fn load_vaulted(paths: &[PathBuf], vault: &Vault) -> Result<Inventory, InventoryError> {
        if paths.is_empty() {
            return Err(InventoryError::NoSource);
        }
        let mut data = Data::new();
        let mut basedirs: Vec<PathBuf> = Vec::new();
        for p in paths {
            let s = p.to_string_lossy();
            if !p.exists() && s.contains(',') {
                for h in s.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                    let (host, port) = super::range::parse_address(h).map_err(|reason| {
                        InventoryError::HostList {
                            list: s.to_string(),
                            reason,
                        }
                    })?;
                    data.add_host(&host, Some(UNGROUPED), port);
                }
                continue;
            }
            if !p.exists() {
                return Err(io(p)(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                )));
            }
            load_source(p, &mut data, 0, vault)?;
            basedirs.push(if p.is_dir() {
                p.clone()
            } else {
                p.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
            });
        }
        data.reconcile().map_err(InventoryError::Other)?;
        let mut files = FileVars::default();
        for dir in &basedirs {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            let gdir = dir.join("group_vars");
            let hdir = dir.join("host_vars");
            files.groups.push(
                data.groups
                    .keys()
                    .map(|g| load_entity_vars(&gdir, g, vault))
                    .collect::<Result<_, _>>()?,
            );
            files.hosts.push(
                data.hosts
                    .keys()
                    .map(|h| load_entity_vars(&hdir, h, vault))
                    .collect::<Result<_, _>>()?,
            );
        }
        let merged = (0..data.hosts.len())
            .map(|h| merged_host_vars(&data, &files, h))
            .collect();
        Ok(Inventory {
            data,
            merged,
            files,
        })
    }

    /// Host names in first-appearance order.
    pub fn host_names(&self) -> impl Iterator<Item = &str> {
        self.data.hosts.keys().map(String::as_str)
    }

    /// Group names in first-appearance order (`all` and `ungrouped` first).
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.data.groups.keys().map(String::as_str)
    }

    /// The hosts a pattern selects (see [`pattern::select`]); Ansible's order.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        pattern::select(&self.data, pattern)
    }

    /// `select(pattern)` restricted to the hosts `limit` selects (Ansible's `--limit`).
    pub fn select_limited(
        &self,
        pattern: &str,
        limit: Option<&str>,
    ) -> Result<Vec<String>, InventoryError> {
        let hosts = self.select(pattern)?;
        match limit {
            None => Ok(hosts),
            Some(l) => {
                let allowed: std::collections::HashSet<String> =
                    self.select(l)?.into_iter().collect();
                Ok(hosts.into_iter().filter(|h| allowed.contains(h)).collect())
            }
        }
    }

    /// A host's merged variables (precedence applied, see [`super::merge::merged_host_vars`]).
    /// `None` for a name not in the inventory (including the implicit localhost).
    pub fn host_vars(&self, host: &str) -> Option<IndexMap<String, Value>> {
        let h = self.data.hosts.get_index_of(host)?;
        self.merged.get(h).cloned()
    }

    /// `ansible-inventory --list` output (without the final newline).
    pub fn to_list_json(&self) -> String {
        python_json(&list_value(&self.data, &self.merged))
    }

    /// `ansible-inventory --graph [GROUP]` output (without the final newline).
    pub fn to_graph(&self, group: Option<&str>) -> Result<String, InventoryError> {
        let name = group.unwrap_or("all");
        let g = self
            .data
            .groups
            .get_index_of(name)
            .ok_or_else(|| InventoryError::UnknownGroup(name.to_owned()))?;
        Ok(graph(&self.data, g))
    }

    /// `ansible-inventory --host H` output (without the final newline). `host` may be any
    /// pattern that selects exactly one inventory host, as in Ansible.
    pub fn to_host_json(&self, host: &str) -> Result<String, InventoryError> {
        let hosts = self.select(host)?;
        let [one] = hosts.as_slice() else {
            return Err(InventoryError::UnknownHost(host.to_owned()));
        };
        let vars = self
            .host_vars(one)
            .ok_or_else(|| InventoryError::UnknownHost(host.to_owned()))?;
        Ok(python_json(&Value::Object(vars.into_iter().collect())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        let _ = std::fs::write(&p, text);
        p
    }

    #[test]
    fn public_api() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let inv = write(
            tmp.path(),
            "hosts",
            "solo\n[web]\nw[1:2] x=1\n[web:vars]\ny=2\n",
        );
        let i = Inventory::load(&[inv])?;
        assert_eq!(i.host_names().collect::<Vec<_>>(), ["solo", "w1", "w2"]);
        assert_eq!(i.select("web:!w1")?, ["w2"]);
        let v = i.host_vars("w1").unwrap_or_default();
        assert_eq!((v["x"].clone(), v["y"].clone()), (1.into(), 2.into()));
        assert!(i.host_vars("nope").is_none());
        assert_eq!(i.to_host_json("w2")?, "{\n    \"x\": 1,\n    \"y\": 2\n}");
        assert!(matches!(
            i.to_host_json("web"),
            Err(InventoryError::UnknownHost(_))
        ));
        assert!(matches!(
            i.to_graph(Some("x")),
            Err(InventoryError::UnknownGroup(_))
        ));
        assert_eq!(i.to_graph(Some("web"))?, "@web:\n  |--w1\n  |--w2");
        assert!(Inventory::load(&[]).is_err());
        let hl = Inventory::load(&[PathBuf::from("a.example.com,b:2222,")])?;
        assert_eq!(hl.host_names().collect::<Vec<_>>(), ["a.example.com", "b"]);
        Ok(())
    }

    #[test]
    fn format_detection() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        // A .yml that is not a mapping is an error; an extensionless non-mapping is INI.
        let bad = write(tmp.path(), "list.yml", "- a\n- b\n");
        assert!(Inventory::load(&[bad]).is_err());
        let ini = write(tmp.path(), "plain", "h1\nh2 a=1\n");
        assert_eq!(Inventory::load(&[ini])?.host_names().count(), 2);
        let yaml = write(tmp.path(), "noext", "web:\n  hosts:\n    h3:\n");
        assert_eq!(Inventory::load(&[yaml])?.select("web")?, ["h3"]);
        let txt = write(tmp.path(), "inv.cfg", "[g]\nh4\n");
        assert_eq!(Inventory::load(&[txt])?.select("g")?, ["h4"]);
        Ok(())
    }

    #[test]
    fn never_panics_on_odd_input() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let inputs = [
            "",
            "\n\n",
            "---\n",
            "[",
            "]",
            "[]",
            "[:]",
            "[a:]",
            "[:vars]",
            "a:\n  - b",
            "{",
            "all: [1, 2]",
            "all:\n  hosts:\n    '':\n",
            "all:\n  children:\n    '[':\n",
            "h[",
            "h[1:",
            "h[:]",
            "h[a:1]",
            "h[99999999999999999999:1]",
            "h a='",
            "h \\",
            "[g:vars]\n=",
            "[g:children]\n[g]\n",
            "\u{feff}h1\n",
            "h1 k=é \u{1F600}=x",
            "all:\n  vars: !!binary aGVsbG8=\n",
            "a: &x [*x]\n",
            "a: *missing\n",
            "all:\n  hosts:\n    h:\n      v: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n",
            "[g]\nh ansible_port=1\n[g:children]\ng\n",
            "key: [1, {a: b}, ~, .inf, .nan]\n",
            "all:\n  vars:\n    n: 123456789012345678901234567890\n",
        ];
        for (n, text) in inputs.iter().enumerate() {
            for ext in ["", ".yml", ".ini"] {
                let p = write(tmp.path(), &format!("case{n}{ext}"), text);
                let _ = Inventory::load(&[p]);
            }
        }
        Ok(())
    }
}

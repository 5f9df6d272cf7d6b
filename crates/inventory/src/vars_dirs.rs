//! `group_vars/` and `host_vars/` beside an inventory (Ansible's `host_group_vars` plugin):
//! `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, or a directory `NAME/` of such files.

use super::error::InventoryError;
use super::model::Vars;
use super::vault::{decrypt_values, read_text};
use super::yaml::{Kind, parse_yaml};
use clearfleet_base::diagnostic::Diagnostic;
use clearfleet_base::vault::Vault;
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The files holding variables for `name` in `dir` (`.../group_vars` or `.../host_vars`), in
/// load order. Like Ansible's `find_vars_files`: the first of `NAME` (file or directory),
/// `NAME.yml`, `NAME.yaml`, `NAME.json` that exists wins; a directory is read recursively in
/// sorted order, skipping hidden and `~` files and files with other extensions.
pub fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    if name.starts_with('/') || !dir.is_dir() {
        return Vec::new();
    }
    let candidates = std::iter::once(dir.join(name))
        .chain(EXTENSIONS.iter().map(|e| dir.join(format!("{name}.{e}"))));
    for c in candidates {
        if c.is_dir() {
            let mut out = Vec::new();
            dir_files(&c, &mut out, 0);
            return out;
        }
        if c.exists() {
            return vec![c];
        }
    }
    Vec::new()
}

fn dir_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if depth > 32 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let p = dir.join(&n);
        let ext = Path::new(&n).extension().and_then(|e| e.to_str());
        if p.is_dir() && ext.is_none() {
            dir_files(&p, out, depth + 1);
        } else if p.is_file() && ext.is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(p);
        }
    }
}

/// Reads one vars file: a YAML/JSON mapping (an empty file is no variables).
pub fn load_vars_file(path: &Path, vault: &Vault) -> Result<Vars, InventoryError> {
    let (text, vaulted) = read_text(path, vault)?;
    let Some(mut node) = parse_yaml(path, &text)? else {
        return Ok(Vars::new());
    };
    decrypt_values(path, &text, &mut node, vault, vaulted)?;
    match node.to_value() {
        serde_json::Value::Object(m) => Ok(m.into_iter().collect()),
        _ if matches!(node.kind, Kind::Null) => Ok(Vars::new()),
        _ => Err(InventoryError::parse(Diagnostic::at(
            "a vars file must hold a mapping of variable names to values",
            path,
            &text,
            node.line.max(1),
            node.column.max(1),
        ))),
    }
}

/// The variables for `name` from `dir`, files merged in order (later files replace keys).
pub fn load_entity_vars(dir: &Path, name: &str, vault: &Vault) -> Result<Vars, InventoryError> {
    let mut out = Vars::new();
    for f in find_vars_files(dir, name) {
        for (k, v) in load_vars_file(&f, vault)? {
            out.insert(k, v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_forms_and_directories() -> Result<(), Box<dyn std::error::Error>> {
        let tmp = tempfile::tempdir()?;
        let gv = tmp.path().join("group_vars");
        std::fs::create_dir_all(gv.join("web/sub"))?;
        std::fs::write(gv.join("web/b.yml"), "x: 2\ny: b\n")?;
        std::fs::write(gv.join("web/a.yaml"), "x: 1\n")?;
        std::fs::write(gv.join("web/sub/c.json"), "{\"z\": true}")?;
        std::fs::write(gv.join("web/skip.txt"), "x: 9\n")?;
        std::fs::write(gv.join("web/.hidden.yml"), "x: 9\n")?;
        std::fs::write(gv.join("db.yml"), "d: 1\n")?;
        std::fs::write(gv.join("db.json"), "{\"d\": 2}")?;
        std::fs::write(gv.join("plain"), "p: yes\n")?;
        std::fs::write(gv.join("empty.yml"), "")?;
        std::fs::write(gv.join("list.yml"), "- 1\n")?;
        let web = load_entity_vars(&gv, "web", &Vault::default())?;
        assert_eq!(serde_json::to_string(&web)?, r#"{"x":2,"y":"b","z":true}"#);
        assert_eq!(load_entity_vars(&gv, "db", &Vault::default())?["d"], 1);
        assert_eq!(
            load_entity_vars(&gv, "plain", &Vault::default())?["p"],
            true
        );
        assert!(load_entity_vars(&gv, "empty", &Vault::default())?.is_empty());
        assert!(load_entity_vars(&gv, "none", &Vault::default())?.is_empty());
        let e = load_entity_vars(&gv, "list", &Vault::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("list.yml:1:1"), "{e}");
        Ok(())
    }
}

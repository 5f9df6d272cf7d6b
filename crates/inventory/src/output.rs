//! What `ansible-inventory` prints: `--list` JSON, `--graph` tree, `--host` JSON, byte for byte
//! (Python's `json.dumps(sort_keys=True, indent=4, ensure_ascii=False)`, Python float repr).

use super::model::{ALL, Data, Vars};
use clearfleet_base::python_json::{DumpOptions, dumps};
use serde_json::{Map, Value};

/// `value` as Python's `json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False)` writes
/// it (ansible-core 2.19's inventory encoder turns `ensure_ascii` off: non-ASCII stays as is,
/// only `"`, `\\` and control characters are escaped).
pub fn python_json(value: &Value) -> String {
    dumps(
        value,
        DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// The `--list` document: every non-empty group, `all.children`, `_meta.hostvars`.
pub fn list_value(data: &Data, merged: &[Vars]) -> Value {
    let mut results = Map::new();
    for (gi, (name, group)) in data.groups.iter().enumerate() {
        let mut entry = Map::new();
        if gi != ALL {
            let hosts: Vec<Value> = group
                .hosts
                .iter()
                .map(|&h| Value::String(data.host_name(h).to_owned()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let children: Vec<Value> = group
            .children
            .iter()
            .map(|&c| Value::String(data.group_name(c).to_owned()))
            .collect();
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if !entry.is_empty() {
            results.insert(name.clone(), Value::Object(entry));
        }
    }
    let mut hostvars = Map::new();
    for h in data.group_hosts(ALL) {
        if let Some(vars) = merged.get(h).filter(|v| !v.is_empty()) {
            hostvars.insert(
                data.host_name(h).to_owned(),
                Value::Object(vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            );
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    meta.insert("profile".into(), Value::String("inventory_legacy".into()));
    results.insert("_meta".into(), Value::Object(meta));
    Value::Object(results)
}

/// The `--graph` tree from group `g`: `@name:` lines, `  |--` per level, child groups first.
pub fn graph(data: &Data, g: usize) -> String {
    let mut lines = Vec::new();
    graph_group(data, g, 0, &mut lines);
    lines.join("\n")
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_owned()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn graph_group(data: &Data, g: usize, depth: usize, lines: &mut Vec<String>) {
    let Some((name, group)) = data.groups.get_index(g) else {
        return;
    };
    lines.push(graph_name(&format!("@{name}:"), depth));
    if depth > 64 {
        return;
    }
    for &c in &group.children {
        graph_group(data, c, depth + 1, lines);
    }
    if g != ALL {
        for &h in &group.hosts {
            lines.push(graph_name(data.host_name(h), depth + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_json_layout() {
        let v = json!({"b": [1, {"z": null, "a": true}], "a": {}, "c": [], "d": "é\"\n\u{1F600}\u{1}\u{7f}"});
        assert_eq!(
            python_json(&v),
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        {\n            \"a\": true,\n            \"z\": null\n        }\n    ],\n    \"c\": [],\n    \"d\": \"é\\\"\\n\u{1F600}\\u0001\u{7f}\"\n}"
        );
    }

    #[test]
    fn python_float_repr() {
        let v = json!([
            1.5,
            1000.0,
            0.0001,
            0.00001,
            1e16,
            1.5e300,
            123456789.125,
            -2.0,
            0.1
        ]);
        assert_eq!(
            python_json(&v),
            "[\n    1.5,\n    1000.0,\n    0.0001,\n    1e-05,\n    1e+16,\n    1.5e+300,\n    123456789.125,\n    -2.0,\n    0.1\n]"
        );
    }
}

//! What `ansible-inventory` prints: `--list` JSON, `--graph` tree, `--host` JSON, byte for byte
//! (Python's `json.dumps(sort_keys=True, indent=4, ensure_ascii=False)`, Python float repr).

use super::model::{ALL, Data, Vars};
use serde_json::{Map, Value};
use std::fmt::Write;

/// `value` as Python's `json.dumps(value, sort_keys=True, indent=4, ensure_ascii=False)` writes
/// it (ansible-core 2.19's inventory encoder turns `ensure_ascii` off: non-ASCII stays as is,
/// only `"`, `\\` and control characters are escaped).
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&python_float(f));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_value(out, item, level + 1);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, level + 1);
                write_string(out, k);
                out.push_str(": ");
                if let Some(v) = map.get(k) {
                    write_value(out, v, level + 1);
                }
            }
            newline(out, level);
            out.push('}');
        }
    }
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("    ");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 and from 1e16.
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let body = if exp >= 0 {
            let point = exp as usize + 1;
            let mut d = digits.clone();
            while d.len() < point {
                d.push('0');
            }
            let (int, frac) = d.split_at(point);
            format!("{int}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
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
        for (f, s) in [
            (1.5, "1.5"),
            (1000.0, "1000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (123456789.125, "123456789.125"),
            (-2.0, "-2.0"),
            (0.1, "0.1"),
        ] {
            assert_eq!(python_float(f), s);
        }
    }
}

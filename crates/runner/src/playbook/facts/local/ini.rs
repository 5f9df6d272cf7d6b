//! A local fact file read as INI, as Python 3's `configparser.ConfigParser()` (its defaults:
//! `=` and `:` delimiters, whole-line `#`/`;` comments, keys lowercased, strict, values
//! continued on more-indented lines, a `DEFAULT` section every section inherits,
//! `BasicInterpolation`) reads it, then turned into a fact by local.py's loop over
//! `cp.sections()` and `cp.options(sect)`.

use serde_json::{Map, Value, json};

/// `configparser.MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

/// A section's options in file order, each with its lines (joined with `\n` at the end).
type Section = Vec<(String, Vec<String>)>;

/// `ConfigParser.read_file` (`RawConfigParser._read`): the `DEFAULT` section and the others in
/// order; `Err`: any `configparser.Error` (a line before any section, a line that is not an
/// option, a duplicate section or option).
fn parse(text: &str) -> Result<(Section, Vec<(String, Section)>), ()> {
    let mut defaults: Section = Vec::new();
    let mut sections: Vec<(String, Section)> = Vec::new();
    // Which section options go to: None before any header; Some(None) for DEFAULT.
    let mut cur: Option<Option<usize>> = None;
    let mut opt: Option<usize> = None;
    let mut indent_level = 0usize;
    let mut bad = false;
    for raw in text.lines() {
        let stripped = raw.trim();
        let comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if comment { "" } else { stripped };
        if value.is_empty() {
            // `empty_lines_in_values`: an empty line (not a comment) joins the value.
            if !comment && let (Some(c), Some(o)) = (cur, opt) {
                let target = match c {
                    None => &mut defaults,
                    Some(i) => &mut sections[i].1,
                };
                target[o].1.push(String::new());
            }
            continue;
        }
        let cur_indent = raw.len() - raw.trim_start().len();
        if let (Some(c), Some(o)) = (cur, opt)
            && cur_indent > indent_level
        {
            let target = match c {
                None => &mut defaults,
                Some(i) => &mut sections[i].1,
            };
            target[o].1.push(value.to_owned());
            continue;
        }
        indent_level = cur_indent;
        // SECTCRE `\[(?P<header>.+)\]`, matched at the start (greedy: up to the last `]`).
        if let Some(rest) = value.strip_prefix('[')
            && let Some(end) = rest.rfind(']')
            && end > 0
        {
            let name = &rest[..end];
            if name == "DEFAULT" {
                // Re-entering DEFAULT is allowed (it is not in `elements_added`).
                cur = Some(None);
            } else if sections.iter().any(|(n, _)| n == name) {
                return Err(());
            } else {
                sections.push((name.to_owned(), Vec::new()));
                cur = Some(Some(sections.len() - 1));
            }
            opt = None;
            continue;
        }
        let Some(c) = cur else {
            return Err(());
        };
        // OPTCRE `(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$`.
        let Some(at) = value.find(['=', ':']) else {
            bad = true;
            continue;
        };
        let name = value[..at].trim_end().to_lowercase();
        if name.is_empty() {
            bad = true;
            continue;
        }
        let val = value[at + 1..].trim().to_owned();
        let target = match c {
            None => &mut defaults,
            Some(i) => &mut sections[i].1,
        };
        if target.iter().any(|(n, _)| *n == name) {
            return Err(());
        }
        target.push((name, vec![val]));
        opt = Some(target.len() - 1);
    }
    if bad {
        return Err(());
    }
    Ok((defaults, sections))
}

/// `'\n'.join(val).rstrip()` (`_join_multiline_values`).
fn joined(lines: &[String]) -> String {
    lines.join("\n").trim_end().to_owned()
}

/// Python's `repr` of a string, as configparser's messages quote values.
fn repr(s: &str) -> String {
    clearfleet_base::python_json::repr_str(s)
}

/// `BasicInterpolation._interpolate_some` into `out`; `Err`: the exception's text.
fn interpolate(
    option: &str,
    section: &str,
    rest: &str,
    map: &[(String, String)],
    raw: &str,
    depth: usize,
    out: &mut String,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "Recursion limit exceeded in value substitution: option {} in section {} contains an interpolation key which cannot be substituted in {MAX_DEPTH} steps. Raw value: {}",
            repr(option),
            repr(section),
            repr(raw)
        ));
    }
    let mut rest = rest;
    while !rest.is_empty() {
        let Some(p) = rest.find('%') else {
            out.push_str(rest);
            return Ok(());
        };
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        match rest.as_bytes().get(1) {
            Some(b'%') => {
                out.push('%');
                rest = &rest[2..];
            }
            Some(b'(') => {
                // `%\(([^)]+)\)s`
                let close = rest[2..].find(')').map(|i| i + 2);
                let Some(close) = close.filter(|c| *c > 2 && rest[*c + 1..].starts_with('s'))
                else {
                    return Err(format!(
                        "bad interpolation variable reference {}",
                        repr(rest)
                    ));
                };
                let var = rest[2..close].to_lowercase();
                rest = &rest[close + 2..];
                let Some((_, v)) = map.iter().find(|(k, _)| *k == var) else {
                    return Err(format!(
                        "Bad value substitution: option {} in section {} contains an interpolation key {} which is not a valid option name. Raw value: {}",
                        repr(option),
                        repr(section),
                        repr(&var),
                        repr(raw)
                    ));
                };
                if v.contains('%') {
                    interpolate(option, section, v, map, raw, depth + 1, out)?;
                } else {
                    out.push_str(v);
                }
            }
            _ => {
                return Err(format!(
                    "'%' must be followed by '%' or '(', found: {}",
                    repr(rest)
                ));
            }
        }
    }
    Ok(())
}

/// The fact local.py makes of an INI text (`path` for its messages), with its warnings;
/// `Err`: the text is not INI either.
pub(super) fn read(text: &str, path: &str) -> Result<(Value, Vec<String>), ()> {
    let (defaults, sections) = parse(text)?;
    let mut warnings = Vec::new();
    // Once an option fails, the fact is a message, and local.py's next `fact[sect]...` on it
    // raises a TypeError its outer `except` turns into another message.
    let mut fact: Result<Map<String, Value>, String> = Ok(Map::new());
    for (sect, options) in &sections {
        // `cp.options(sect)`: the section's own, then DEFAULT's; `cp.get` sees the section's
        // value over DEFAULT's.
        let mut map: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| (k.clone(), joined(v)))
            .collect();
        for (k, v) in &defaults {
            if !map.iter().any(|(n, _)| n == k) {
                map.push((k.clone(), joined(v)));
            }
        }
        match &mut fact {
            Ok(m) => {
                m.entry(sect.clone()).or_insert_with(|| json!({}));
            }
            Err(text) if !text.contains(sect.as_str()) => {
                let msg = format!(
                    "Failed to convert ({path}) to JSON: 'str' object does not support item assignment"
                );
                warnings.push(msg.clone());
                return Ok((json!(msg), warnings));
            }
            Err(_) => {}
        }
        for (opt, raw) in &map {
            let mut val = String::new();
            match interpolate(opt, sect, raw, &map, raw, 1, &mut val) {
                Err(ex) => {
                    let msg =
                        format!("error loading facts as ini - please check content: {path} ({ex})");
                    warnings.push(msg.clone());
                    fact = Err(msg);
                }
                Ok(()) => match &mut fact {
                    Ok(m) => {
                        if let Some(Value::Object(s)) = m.get_mut(sect.as_str()) {
                            s.insert(opt.clone(), json!(val));
                        }
                    }
                    Err(_) => {
                        let msg = format!(
                            "Failed to convert ({path}) to JSON: string indices must be integers, not 'str'"
                        );
                        warnings.push(msg.clone());
                        return Ok((json!(msg), warnings));
                    }
                },
            }
        }
    }
    Ok((fact.map_or_else(|m| json!(m), Value::Object), warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_configparser() {
        let text = "# c\n[DEFAULT]\nd = 1\n[a]\nKey: v1\nlong = x\n  y\n\n  z\n\n[b]\nd = 2\np = %(d)s%%\n";
        let (v, w) = read(text, "/f").unwrap_or_default();
        assert!(w.is_empty());
        assert_eq!(
            v,
            json!({"a": {"key": "v1", "long": "x\ny\n\nz", "d": "1"}, "b": {"d": "2", "p": "2%"}})
        );
        assert!(read("x = 1\n", "/f").is_err());
        assert!(read("[a]\nx\n", "/f").is_err());
        assert!(read("[a]\n[a]\n", "/f").is_err());
        assert!(read("[a]\nx=1\nX=2\n", "/f").is_err());
        assert_eq!(read("", "/f").unwrap_or_default().0, json!({}));
        let (v, w) = read("[a]\nx = %(nope)s\n", "/f").unwrap_or_default();
        assert_eq!(w.len(), 1);
        assert_eq!(
            v,
            "error loading facts as ini - please check content: /f (Bad value substitution: option 'x' in section 'a' contains an interpolation key 'nope' which is not a valid option name. Raw value: '%(nope)s')"
        );
    }
}

//! Host patterns (`--limit`, a play's `hosts:`), evaluated like Ansible's `InventoryManager`:
//! names, groups, globs, `~regex`, `a:b`/`a,b` unions, `&` intersections, `!` exclusions,
//! subscripts `g[0]`, `g[1:3]`, `g[-1]`, and `@file`.

use super::error::InventoryError;
use super::model::Data;
use super::range::parse_address;
use regex::Regex;
use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

/// Names Ansible treats as the implicit localhost when no inventory host matches them.
pub const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

fn perr(pattern: &str, reason: impl Into<String>) -> InventoryError {
    InventoryError::Pattern {
        pattern: pattern.to_owned(),
        reason: reason.into(),
    }
}

/// Splits a pattern into single patterns like Ansible's `split_host_pattern`: on `,` if any,
/// else on `:` unless the whole pattern is one address (`host:22`, an IPv6 address, a range).
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    static COLON_SPLIT: OnceLock<Option<Regex>> = OnceLock::new();
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_owned).collect()
    } else if parse_address(pattern).is_ok() {
        vec![pattern.to_owned()]
    } else {
        COLON_SPLIT
            .get_or_init(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").ok())
            .as_ref()
            .map(|r| {
                r.find_iter(pattern)
                    .map(|m| m.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Replaces each `@file` by the patterns listed in that file, one per line.
fn expand_files(patterns: Vec<String>) -> Result<Vec<String>, InventoryError> {
    let mut out = Vec::new();
    for p in patterns {
        if let Some(file) = p.strip_prefix('@') {
            let path = Path::new(file);
            if !path.is_file() {
                return Err(perr(
                    &p,
                    format!("limit file `{file}` does not exist or is not a file"),
                ));
            }
            let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Io {
                path: path.to_owned(),
                source,
            })?;
            out.extend(
                text.split('\n')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty()),
            );
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Unions first, then `&` intersections, then `!` exclusions; only modifiers means `all` first.
fn order_patterns(patterns: Vec<String>) -> Vec<String> {
    let (mut regular, mut inter, mut excl) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns {
        if p.starts_with('!') {
            excl.push(p);
        } else if p.starts_with('&') {
            inter.push(p);
        } else {
            regular.push(p);
        }
    }
    if regular.is_empty() {
        regular.push("all".to_owned());
    }
    regular.into_iter().chain(inter).chain(excl).collect()
}

/// Python's `fnmatch.translate`, as a Rust regex matching the whole name.
pub fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let mut class: String = chars[i..j].iter().collect();
                    i = j + 1;
                    let negate = class.starts_with('!');
                    if negate {
                        class.remove(0);
                    }
                    let body: String = class
                        .chars()
                        .map(|c| match c {
                            '\\' | '[' | '&' | '~' | '|' => format!("\\{c}"),
                            c => c.to_string(),
                        })
                        .collect();
                    if body.is_empty() {
                        out.push_str(if negate { "." } else { "[^\\s\\S]" });
                    } else {
                        out.push('[');
                        if negate {
                            out.push('^');
                        }
                        out.push_str(&body);
                        out.push(']');
                    }
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")\\z");
    out
}

type Subscript = (i64, Option<i64>);

fn split_subscript(pattern: &str) -> (String, Option<Subscript>) {
    static SUB: OnceLock<Option<Regex>> = OnceLock::new();
    if pattern.starts_with('~') {
        return (pattern.to_owned(), None);
    }
    let re = SUB
        .get_or_init(|| Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").ok())
        .as_ref();
    let Some(c) = re.and_then(|r| r.captures(pattern)) else {
        return (pattern.to_owned(), None);
    };
    let base = c.get(1).map_or("", |m| m.as_str()).to_owned();
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
    let sub = if let Some(idx) = num(2) {
        Some((idx, None))
    } else {
        num(3).map(|start| (start, Some(num(5).unwrap_or(-1))))
    };
    match sub {
        Some(s) => (base, Some(s)),
        None => (pattern.to_owned(), None),
    }
}

fn apply_subscript(
    hosts: Vec<String>,
    sub: Option<Subscript>,
    pattern: &str,
) -> Result<Vec<String>, InventoryError> {
    let Some((start, end)) = sub else {
        return Ok(hosts);
    };
    if hosts.is_empty() {
        return Ok(hosts);
    }
    let len = hosts.len() as i64;
    // Python index and slice semantics, as Ansible's `_apply_subscript`.
    let norm = |i: i64| if i < 0 { i + len } else { i };
    match end {
        Some(e) if e != 0 => {
            let e = if e == -1 { len - 1 } else { e };
            let s = norm(start).clamp(0, len) as usize;
            let stop = norm(e + 1).clamp(0, len) as usize;
            Ok(hosts
                .get(s..stop.max(s))
                .map(<[String]>::to_vec)
                .unwrap_or_default())
        }
        _ => {
            let i = norm(start);
            if i < 0 || i >= len {
                return Err(perr(
                    pattern,
                    "no hosts matched the subscript (index out of range)",
                ));
            }
            Ok(hosts.get(i as usize).cloned().into_iter().collect())
        }
    }
}

fn enumerate_matches(data: &Data, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let src = match pattern.strip_prefix('~') {
        Some(re) => format!("^(?:{re})"),
        None => glob_to_regex(pattern),
    };
    let re = Regex::new(&src).map_err(|e| perr(pattern, format!("bad regular expression: {e}")))?;
    let mut results = Vec::new();
    let mut matched_group = false;
    for (gi, (name, _)) in data.groups.iter().enumerate() {
        if re.is_match(name) {
            matched_group = true;
            results.extend(
                data.group_hosts(gi)
                    .into_iter()
                    .map(|h| data.host_name(h).to_owned()),
            );
        }
    }
    if !matched_group || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
        results.extend(data.hosts.keys().filter(|n| re.is_match(n)).cloned());
    }
    if results.is_empty() && LOCALHOST.contains(&pattern) {
        results.push(pattern.to_owned());
    }
    Ok(results)
}

fn match_one(data: &Data, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let p = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
    if p.is_empty() {
        return Ok(Vec::new());
    }
    let (expr, sub) = split_subscript(p);
    let hosts = enumerate_matches(data, &expr)?;
    apply_subscript(hosts, sub, p)
}

/// The hosts `pattern` selects, in Ansible's order (the order of evaluation: each union term's
/// matches in inventory/group order, deduplicated). Matching nothing is an empty list, not an
/// error; a bad regex, an out-of-range single subscript or a missing `@file` is an error. A
/// pattern naming `localhost`/`127.0.0.1`/`::1` that is not in the inventory yields that
/// implicit host, as in Ansible (it has no inventory vars).
pub fn select(data: &Data, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let patterns = order_patterns(expand_files(split_host_pattern(pattern))?);
    let mut hosts: Vec<String> = Vec::new();
    for p in &patterns {
        if data.hosts.contains_key(p.as_str()) {
            hosts.push(p.clone());
            continue;
        }
        let that = match_one(data, p)?;
        if p.starts_with('!') {
            let set: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| !set.contains(h));
        } else if p.starts_with('&') {
            let set: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| set.contains(h));
        } else {
            let existing: HashSet<String> = hosts.iter().cloned().collect();
            hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
        }
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini::parse_ini;

    fn inv() -> Data {
        let mut d = Data::new();
        let text = "solo\n[web]\nweb[1:3].example.com\n[db]\ndb1\ndb2\n[prod:children]\nweb\ndb\n[staging]\nweb2.example.com\ndb2\n";
        let _ = parse_ini(Path::new("t.ini"), text, &mut d);
        let _ = d.reconcile();
        d
    }

    fn s(p: &str) -> Vec<String> {
        select(&inv(), p).unwrap_or_else(|e| vec![format!("ERR {e}")])
    }

    #[test]
    fn names_groups_and_all() {
        assert_eq!(s("db1"), ["db1"]);
        assert_eq!(s("db"), ["db1", "db2"]);
        assert_eq!(s("all").len(), 6);
        assert_eq!(s("*").len(), 6);
        assert_eq!(s("all")[0], "solo");
        assert_eq!(s("ungrouped"), ["solo"]);
        assert!(s("nothing").is_empty());
        assert!(s("").len() == 6);
    }

    #[test]
    fn globs_and_regex() {
        assert_eq!(s("web*").len(), 3);
        assert_eq!(s("*.example.com").len(), 3);
        assert_eq!(s("db?"), ["db1", "db2"]);
        assert_eq!(
            s("web[12].example.com"),
            ["web1.example.com", "web2.example.com"]
        );
        assert_eq!(s("~db[0-9]"), ["db1", "db2"]);
        assert_eq!(s("~web"), s("web"));
        assert_eq!(s("~b1"), Vec::<String>::new()); // re.match anchors at the start
        assert!(s("~web(").first().is_some_and(|e| e.starts_with("ERR")));
    }

    #[test]
    fn unions_intersections_exclusions() {
        assert_eq!(s("db:solo"), ["db1", "db2", "solo"]);
        assert_eq!(s("db,solo"), ["db1", "db2", "solo"]);
        assert_eq!(s("prod:&staging"), ["web2.example.com", "db2"]);
        assert_eq!(s("!db2:db"), ["db1"]);
        assert_eq!(s("&staging:!db2"), ["web2.example.com"]);
        assert_eq!(s("!prod"), ["solo"]);
        assert_eq!(s("db1:db1"), ["db1"]);
    }

    #[test]
    fn subscripts() {
        assert_eq!(s("web[0]"), ["web1.example.com"]);
        assert_eq!(s("web[-1]"), ["web3.example.com"]);
        assert_eq!(s("web[0:1]"), ["web1.example.com", "web2.example.com"]);
        assert_eq!(s("web[1:]"), ["web2.example.com", "web3.example.com"]);
        assert_eq!(s("db[5:9]"), Vec::<String>::new());
        assert!(s("db[7]").first().is_some_and(|e| e.starts_with("ERR")));
        assert!(s("none[7]").is_empty());
    }

    #[test]
    fn limit_file_and_localhost() -> Result<(), Box<dyn std::error::Error>> {
        let f = tempfile::NamedTempFile::new()?;
        std::fs::write(f.path(), "db2\n\nsolo\n")?;
        let p = format!("@{}", f.path().display());
        assert_eq!(s(&p), ["db2", "solo"]);
        assert!(
            s("@/nonexistent/file")
                .first()
                .is_some_and(|e| e.starts_with("ERR"))
        );
        assert_eq!(s("localhost"), ["localhost"]);
        assert!(!s("all").contains(&"localhost".to_owned()));
        Ok(())
    }

    #[test]
    fn splitting() {
        assert_eq!(split_host_pattern("a:b"), ["a", "b"]);
        assert_eq!(split_host_pattern("h:22"), ["h:22"]);
        assert_eq!(split_host_pattern("web[0:2]"), ["web[0:2]"]);
        assert_eq!(split_host_pattern("a, b ,,c"), ["a", "b", "c"]);
        assert_eq!(split_host_pattern("web*:&db:!x"), ["web*", "&db", "!x"]);
    }
}

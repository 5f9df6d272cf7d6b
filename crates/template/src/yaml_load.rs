//! `from_yaml`/`from_yaml_all` with PyYAML's YAML 1.1 resolution (as Ansible loads YAML).
//!
//! Parsing uses the event parser under serde-saphyr (`granit_parser`); scalars are resolved and
//! constructed like PyYAML's `SafeLoader`: `yes`/`no`/`on`/`off` are booleans but `y`/`n` are
//! strings, `0755` is octal, `1:30` is sexagesimal, `1e3` (no dot) is a string, `<<` merges.
//! Timestamps stay strings (PyYAML would build `datetime` objects).

use std::collections::HashMap;

use clearfleet_yaml::resolve::{
    Number as YamlNumber, Resolved, bool_value, float_value, int_value, resolve,
};
use serde_json::{Map, Number, Value as J};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, ScanError};

/// Why YAML text could not be loaded (the messages are PyYAML's where it has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlLoadError {
    /// The text is not YAML.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A tag SafeLoader has no constructor for (handle and suffix, e.g. `!vault`).
    #[error("could not determine a constructor for the tag '{0}'")]
    UnknownTag(String),
    /// A list or mapping used as a mapping key.
    #[error("found unhashable key (a list or dict) in a mapping")]
    UnhashableKey,
    /// `<<` given a scalar.
    #[error("expected a mapping or list of mappings for merging")]
    MergeNotMapping,
    /// `<<` given a list with a non-mapping item.
    #[error("expected a mapping for merging")]
    MergeItemNotMapping,
    /// `*name` before any `&name`.
    #[error("found undefined alias")]
    UndefinedAlias,
    /// A sequence end without its start (a parser bug, kept as an error).
    #[error("unbalanced sequence")]
    UnbalancedSequence,
    /// A mapping end without its start (a parser bug, kept as an error).
    #[error("unbalanced mapping")]
    UnbalancedMapping,
    /// `load` given a stream of several documents.
    #[error("expected a single document in the stream, but found another document")]
    SeveralDocuments,
}

/// Python's int from a YAML 1.1 int literal (text that does not parse stays a string).
fn construct_int(text: &str) -> J {
    int_value(text).map_or_else(|| J::String(text.to_owned()), number)
}

fn number(n: YamlNumber) -> J {
    match n {
        YamlNumber::Int(i) => J::Number(i.into()),
        YamlNumber::UInt(u) => J::Number(u.into()),
        YamlNumber::Float(f) => float(f),
    }
}

// JSON has no NaN/Infinity: they become null, as json.dumps(allow_nan=False) would refuse.
fn float(f: f64) -> J {
    Number::from_f64(f).map_or(J::Null, J::Number)
}

/// Python's float from a YAML 1.1 float literal (`.inf`, `.nan` and sexagesimal included).
fn construct_float(text: &str) -> J {
    float_value(text).map_or_else(|| J::String(text.to_owned()), float)
}

/// Resolves and constructs a plain scalar as PyYAML's SafeLoader does (timestamps, `<<`, `=`
/// and the lone indicators stay strings).
fn resolve_plain(text: &str) -> J {
    match resolve(text) {
        Resolved::Bool => J::Bool(bool_value(text).unwrap_or(false)),
        Resolved::Null => J::Null,
        Resolved::Int => construct_int(text),
        Resolved::Float => construct_float(text),
        Resolved::Merge
        | Resolved::Timestamp
        | Resolved::Value
        | Resolved::Yaml
        | Resolved::Str => J::String(text.to_owned()),
    }
}

fn construct_tagged(text: &str, suffix: &str, handle: &str) -> Result<J, YamlLoadError> {
    let core = handle == "tag:yaml.org,2002:" || handle == "!!";
    match (core, suffix) {
        (true, "str") => Ok(J::String(text.to_owned())),
        (true, "int") => Ok(construct_int(text)),
        (true, "float") => Ok(construct_float(text)),
        (true, "bool") => Ok(J::Bool(bool_value(text).unwrap_or(false))),
        (true, "null") => Ok(J::Null),
        (false, "unsafe") => Ok(J::String(text.to_owned())),
        _ => Err(YamlLoadError::UnknownTag(format!("{handle}{suffix}"))),
    }
}

enum Frame {
    Seq(Vec<J>, usize),
    Map(Vec<(J, J)>, Option<J>, usize),
}

fn key_text(k: &J) -> Result<String, YamlLoadError> {
    match k {
        J::String(s) => Ok(s.clone()),
        J::Null => Ok("None".into()),
        J::Bool(b) => Ok(if *b { "True" } else { "False" }.into()),
        J::Number(n) => Ok(n.to_string()),
        _ => Err(YamlLoadError::UnhashableKey),
    }
}

/// Builds a mapping with Python dict semantics: later keys win but keep the first position;
/// `<<` merges (one mapping or a list of them) come first and never override explicit keys.
fn build_map(pairs: Vec<(J, J)>) -> Result<J, YamlLoadError> {
    let mut merged: Vec<(String, J)> = Vec::new();
    let mut own: Vec<(String, J)> = Vec::new();
    for (k, v) in pairs {
        if matches!(&k, J::String(s) if s == "<<") {
            let sources = match v {
                J::Object(m) => vec![J::Object(m)],
                J::Array(items) => items,
                _ => return Err(YamlLoadError::MergeNotMapping),
            };
            // PyYAML merges later sources first, so earlier ones win.
            let mut merge_pairs = Vec::new();
            for src in sources.into_iter().rev() {
                match src {
                    J::Object(m) => merge_pairs.extend(m),
                    _ => return Err(YamlLoadError::MergeItemNotMapping),
                }
            }
            merged.extend(merge_pairs);
        } else {
            own.push((key_text(&k)?, v));
        }
    }
    let mut out = Map::new();
    for (k, v) in merged.into_iter().chain(own) {
        out.insert(k, v);
    }
    Ok(J::Object(out))
}

/// Loads every document of `text`.
pub fn load_all(text: &str) -> Result<Vec<J>, YamlLoadError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, J> = HashMap::new();
    let mut current: Option<J> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event?;
        let _ = span;
        let (node, anchor) = match event {
            Event::DocumentStart(..) => {
                anchors.clear();
                current = None;
                continue;
            }
            Event::DocumentEnd => {
                docs.push(current.take().unwrap_or(J::Null));
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let node = match (&tag, style) {
                    (Some(tag), _) => construct_tagged(&value, tag.suffix(), tag.handle())?,
                    (None, ScalarStyle::Plain) => resolve_plain(&value),
                    (None, _) => J::String(value.into_owned()),
                };
                (node, anchor)
            }
            Event::Alias(id) => (
                anchors
                    .get(&id)
                    .cloned()
                    .ok_or(YamlLoadError::UndefinedAlias)?,
                0,
            ),
            Event::SequenceStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref().map(|t| (t.handle(), t.suffix())), "seq")?;
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                check_collection_tag(tag.as_deref().map(|t| (t.handle(), t.suffix())), "map")?;
                stack.push(Frame::Map(Vec::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => (J::Array(items), anchor),
                _ => return Err(YamlLoadError::UnbalancedSequence),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(pairs, _, anchor)) => (build_map(pairs)?, anchor),
                _ => return Err(YamlLoadError::UnbalancedMapping),
            },
            _ => continue,
        };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(pairs, key, _)) => match key.take() {
                Some(k) => pairs.push((k, node)),
                None => *key = Some(node),
            },
            None => current = Some(node),
        }
    }
    Ok(docs)
}

fn check_collection_tag(tag: Option<(&str, &str)>, kind: &str) -> Result<(), YamlLoadError> {
    match tag {
        None => Ok(()),
        Some(("tag:yaml.org,2002:" | "!!", s)) if s == kind => Ok(()),
        Some((h, s)) => Err(YamlLoadError::UnknownTag(format!("{h}{s}"))),
    }
}

/// Loads a single document (`yaml.load`); an empty stream is None.
pub fn load(text: &str) -> Result<J, YamlLoadError> {
    let mut docs = load_all(text)?;
    match docs.len() {
        0 => Ok(J::Null),
        1 => Ok(docs.remove(0)),
        _ => Err(YamlLoadError::SeveralDocuments),
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_like_pyyaml() {
        let doc = "a: yes\nb: y\nc: 0755\nd: 0x1F\ne: 1e3\nf: 1.5e3\ng: 1:30\nh: ~\ni: '1'\nj: .inf\nk: 1_000\nl: On\nm: !!str 12\nn: 2024-01-01\n";
        assert_eq!(
            load(doc),
            Ok(
                json!({"a": true, "b": "y", "c": 493, "d": 31, "e": "1e3", "f": "1.5e3", "g": 90,
                      "h": null, "i": "1", "j": null, "k": 1000, "l": true, "m": "12",
                      "n": "2024-01-01"})
            )
        );
    }

    #[test]
    fn merges_and_aliases() {
        let doc = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n  z: 4\nlist: [*b]\n";
        assert_eq!(
            load(doc),
            Ok(
                json!({"base": {"x": 1, "y": 2}, "other": {"x": 1, "y": 3, "z": 4}, "list": [{"x": 1, "y": 2}]})
            )
        );
        assert_eq!(load("a: 1\na: 2\n"), Ok(json!({"a": 2})));
        assert_eq!(load(""), Ok(json!(null)));
        assert!(load("a: 1\n---\nb: 2\n").is_err());
        assert_eq!(load_all("a: 1\n---\nb: 2\n").map(|d| d.len()), Ok(2));
        assert!(load("x: !vault abc").is_err());
        assert_eq!(load("x: !unsafe '{{ y }}'"), Ok(json!({"x": "{{ y }}"})));
    }
}

//! Linux file attributes (`lsattr`/`chattr`), as Ansible's `attributes` file argument and
//! `stat`'s `attributes`/`attr_flags`/`version` read and set them (module_utils/basic.py
//! `get_file_attributes` and `set_attributes_if_different`, module_utils/common/file.py
//! `FILE_ATTRIBUTES` of ansible-core 2.19.14).

use serde_json::{Value, json};

use super::probe::Info;

/// `FILE_ATTRIBUTES`: each `lsattr` flag and the name Ansible gives it.
const NAMES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// The flags of an `lsattr -d` field with its dashes removed (`attr_flags`).
pub fn flags(field: &str) -> String {
    field.replace('-', "").trim().to_owned()
}

/// `format_attributes`: the names of the known flags, in the flags' order.
pub fn names(flags: &str) -> Vec<&'static str> {
    flags
        .chars()
        .filter_map(|c| NAMES.iter().find(|(f, _)| *f == c).map(|(_, n)| *n))
        .collect()
}

/// `stat`'s attribute fields: `version` (`None` where `lsattr -v` says nothing),
/// `attributes` and `attr_flags` (empty where `lsattr` is missing or fails).
pub fn stat_fields(info: &Info) -> [(&'static str, Value); 3] {
    let flags = info.attr_flags.as_deref().map(flags).unwrap_or_default();
    [
        ("version", json!(info.attr_version)),
        ("attributes", json!(names(&flags))),
        ("attr_flags", json!(flags)),
    ]
}

/// What `attributes: X` asks of a path whose current flags are `info`'s: the `chattr`
/// argument (`=A`, `+A`, `-A`) when it differs, as `set_attributes_if_different` decides: an
/// empty request or a host without `chattr` asks nothing; `-` always runs; otherwise the
/// flags must equal the request exactly (so `+A` on a file with `eA` runs again, as Ansible's
/// does).
pub fn change(wanted: &str, info: &Info) -> Option<String> {
    let (op, attrs) = match wanted.chars().next() {
        Some(c @ ('+' | '-')) => (c, &wanted[1..]),
        _ => ('=', wanted),
    };
    if attrs.is_empty() || !info.chattr {
        return None;
    }
    let existing = info.attr_flags.as_deref().map(flags).unwrap_or_default();
    (existing != attrs || op == '-').then(|| format!("{op}{attrs}"))
}

/// The `before`/`after` entries of a diff of attributes (`set_attributes_if_different`).
pub fn diff_entries(info: &Info, change: &str) -> (Value, Value) {
    let before = info.attr_flags.as_deref().map(flags);
    (json!(before), json!(change))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(flags: Option<&str>, chattr: bool) -> Info {
        Info {
            attr_flags: flags.map(str::to_owned),
            chattr,
            ..Info::default()
        }
    }

    #[test]
    fn flags_and_names_as_ansible_formats_them() {
        assert_eq!(flags("--------------e-------"), "e");
        assert_eq!(flags("-------A------e-------"), "Ae");
        assert_eq!(names("Ae"), vec!["noatime", "extents"]);
        assert_eq!(names("?e"), vec!["extents"]);
    }

    #[test]
    fn a_change_is_decided_as_set_attributes_if_different_does() {
        let e = with(Some("--------------e-------"), true);
        assert_eq!(change("A", &e).as_deref(), Some("=A"));
        assert_eq!(change("e", &e), None);
        assert_eq!(change("+e", &e), None);
        // `+A` on `Ae`: the flags are not exactly `A`, so Ansible runs chattr again.
        let ae = with(Some("-------A------e-------"), true);
        assert_eq!(change("+A", &ae).as_deref(), Some("+A"));
        assert_eq!(change("-x", &e).as_deref(), Some("-x"));
        assert_eq!(change("", &e), None);
        assert_eq!(change("-", &e), None);
        // No chattr on the host: nothing to do; no lsattr: the flags are empty.
        assert_eq!(change("A", &with(Some("----"), false)), None);
        assert_eq!(change("A", &with(None, true)).as_deref(), Some("=A"));
    }
}

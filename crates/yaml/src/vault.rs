//! `!vault` scalars: replaced in place by their plaintext, so every reader of a YAML file
//! (playbooks, vars files, inventories, group_vars) decrypts them the same way. The cipher is
//! not here (it is `clearfleet_base::vault`): the caller hands in the decryption.

use crate::syntax::{Kind, MAX_DEPTH, Node};

/// The tag Ansible gives encrypted values.
pub const VAULT_TAG: &str = "!vault";

/// A `!vault` scalar that could not be decrypted, at its 1-based position.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultFailure<E> {
    pub line: usize,
    pub column: usize,
    pub error: E,
}

/// Replaces the text of every `!vault` scalar under `node` by `decrypt(text)` (the tag is
/// kept); the ones that fail keep their ciphertext and are returned, in document order.
pub fn decrypt_vault_scalars<E>(
    node: &mut Node,
    decrypt: &dyn Fn(&str) -> Result<String, E>,
    not_text: &dyn Fn() -> E,
) -> Vec<VaultFailure<E>> {
    let mut failures = Vec::new();
    walk(node, decrypt, not_text, &mut failures, 0);
    failures
}

fn walk<E>(
    node: &mut Node,
    decrypt: &dyn Fn(&str) -> Result<String, E>,
    not_text: &dyn Fn() -> E,
    failures: &mut Vec<VaultFailure<E>>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if node.tag.as_deref() == Some(VAULT_TAG) {
        let result = match &node.kind {
            Kind::Str(cipher) => decrypt(cipher),
            _ => Err(not_text()),
        };
        match result {
            Ok(plain) => node.kind = Kind::Str(plain),
            Err(error) => failures.push(VaultFailure {
                line: node.line.max(1),
                column: node.column.max(1),
                error,
            }),
        }
        return;
    }
    match &mut node.kind {
        Kind::Seq(items) => {
            for i in items {
                walk(i, decrypt, not_text, failures, depth + 1);
            }
        }
        Kind::Map(entries) => {
            for (k, v) in entries {
                walk(k, decrypt, not_text, failures, depth + 1);
                walk(v, decrypt, not_text, failures, depth + 1);
            }
        }
        _ => {}
    }
}

/// Every string scalar under `node` (the values of a decrypted vars file, to be masked).
pub fn strings(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    collect(node, &mut out, 0, false);
    out
}

/// Every string scalar under `node` but those tagged `!unsafe`: what its author wrote, for
/// `clearfleet_base::trust`.
pub fn trusted_strings(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    collect(node, &mut out, 0, true);
    out
}

fn collect(node: &Node, out: &mut Vec<String>, depth: usize, skip_unsafe: bool) {
    if depth > MAX_DEPTH {
        return;
    }
    match &node.kind {
        Kind::Str(_) if skip_unsafe && node.tag.as_deref() == Some("!unsafe") => {}
        Kind::Str(s) => out.push(s.clone()),
        Kind::Seq(items) => items
            .iter()
            .for_each(|i| collect(i, out, depth + 1, skip_unsafe)),
        Kind::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| collect(v, out, depth + 1, skip_unsafe)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse_yaml;

    #[test]
    fn decrypts_tagged_scalars_anywhere_and_reports_the_rest_at_their_place() {
        let text =
            "a: !vault |\n  CIPHER-1\nb:\n  - !vault BAD\n  - plain\nc: {d: !vault CIPHER-2}\n";
        let Ok(Some(mut n)) = parse_yaml(text) else {
            panic!("parse")
        };
        let failures = decrypt_vault_scalars(
            &mut n,
            &|c: &str| match c.trim().strip_prefix("CIPHER-") {
                Some(x) => Ok(format!("plain-{x}")),
                None => Err(c.to_owned()),
            },
            &|| "not text".to_owned(),
        );
        assert_eq!(
            n.to_value(),
            serde_json::json!({"a": "plain-1", "b": ["BAD", "plain"], "c": {"d": "plain-2"}})
        );
        assert_eq!(
            failures,
            [VaultFailure {
                line: 4,
                column: 12,
                error: "BAD".to_owned()
            }]
        );
        assert_eq!(strings(&n), ["plain-1", "BAD", "plain", "plain-2"]);
    }
}

//! A play's `vars_prompt` list, checked as ansible-core's `Play._load_vars_prompt`
//! (lib/ansible/playbook/play.py) checks it; the runner asks the questions.

use super::cx::{Cx, File, shown};
use super::model::{TemplateSite, VarPrompt};
use clearfleet_yaml::syntax::{Kind, Node, key_text};

/// The keys a `vars_prompt` entry may have (`Play._load_vars_prompt`).
const KEYS: &[&str] = &[
    "name",
    "prompt",
    "default",
    "private",
    "confirm",
    "encrypt",
    "salt_size",
    "salt",
    "unsafe",
];

/// The entries of `vars_prompt:` (a list of mappings).
pub fn vars_prompt(
    cx: &mut Cx,
    f: &File,
    v: &Node,
    sites: &mut Vec<TemplateSite>,
) -> Vec<VarPrompt> {
    let items: Vec<&Node> = match &v.kind {
        Kind::Null => return Vec::new(),
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => vec![v],
        _ => {
            cx.error(
                f,
                v,
                format!(
                    "`vars_prompt` must be a list of mappings with `name:`, got {}",
                    shown(v)
                ),
            );
            return Vec::new();
        }
    };
    items
        .into_iter()
        .filter_map(|item| entry(cx, f, item, sites))
        .collect()
}

fn entry(cx: &mut Cx, f: &File, item: &Node, sites: &mut Vec<TemplateSite>) -> Option<VarPrompt> {
    let Some(entries) = item.as_map() else {
        cx.error(
            f,
            item,
            format!(
                "a `vars_prompt` entry must be a mapping with `name:`, got {}",
                shown(item)
            ),
        );
        return None;
    };
    let mut out = VarPrompt {
        name: String::new(),
        prompt: None,
        default: None,
        private: true,
        confirm: false,
        unsafe_: false,
        encrypt: None,
        salt: None,
        salt_size: None,
        location: Cx::loc(f, item),
    };
    let mut ok = true;
    for (k, v) in entries {
        let key = key_text(k);
        match key.as_str() {
            "name" => out.name = cx.string(f, "name", v).unwrap_or_default(),
            "prompt" => {
                out.prompt = cx.string(f, "prompt", v);
                cx.templates(f, v, "vars_prompt.prompt", sites);
            }
            "default" => {
                out.default = cx.string(f, "default", v);
                cx.templates(f, v, "vars_prompt.default", sites);
            }
            "private" => out.private = cx.bool(f, "private", v).unwrap_or(true),
            "confirm" => out.confirm = cx.bool(f, "confirm", v).unwrap_or(false),
            "unsafe" => out.unsafe_ = cx.bool(f, "unsafe", v).unwrap_or(false),
            // Only read with `encrypt` (`Display.do_var_prompt` hands them to `do_encrypt`).
            "encrypt" => {
                out.encrypt = cx.string(f, "encrypt", v);
                cx.templates(f, v, "vars_prompt.encrypt", sites);
            }
            "salt" => {
                out.salt = cx.string(f, "salt", v);
                cx.templates(f, v, "vars_prompt.salt", sites);
            }
            "salt_size" => {
                out.salt_size = match &v.kind {
                    Kind::Int(n) => Some(Ok(*n)),
                    Kind::UInt(n) => Some(i64::try_from(*n).map_err(|_| n.to_string())),
                    _ => cx.string(f, "salt_size", v).map(Err),
                };
                cx.templates(f, v, "vars_prompt.salt_size", sites);
            }
            _ if KEYS.contains(&key.as_str()) => {}
            _ => {
                ok = false;
                cx.error(
                    f,
                    k,
                    format!("Invalid vars_prompt data structure, found unsupported key '{key}'"),
                );
            }
        }
    }
    if out.name.trim().is_empty() {
        cx.error(
            f,
            item,
            "Invalid vars_prompt data structure, missing 'name' key",
        );
        return None;
    }
    ok.then_some(out)
}

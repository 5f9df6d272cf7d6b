//! Ansible's `boolean()` (`module_utils/parsing/convert_bool.py`), one copy for module
//! arguments, playbook keywords and the `truthy`/`falsy` tests, which all read booleans by it.
//!
//! The rule: a boolean is itself; a string is lower-cased and stripped, then `y yes on 1 true t`
//! are true and `n no off 0 false f` false; a number equal to 1 is true and one equal to 0
//! false; anything else is not a boolean (`strict=True`, Ansible raises). The `bool` filter is
//! another, laxer rule and does not use this.

use serde_json::Value;

/// `boolean(value)` for a string.
pub fn ansible_bool_text(s: &str) -> Option<bool> {
    // Python's `str.strip()` also strips the separators U+001C..U+001F.
    let s = s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c));
    match s.to_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
        "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
        _ => None,
    }
}

/// `boolean(value)` for a number (Python compares `1 == 1.0`, so both spellings count).
pub fn ansible_bool_number(f: f64) -> Option<bool> {
    if f == 1.0 {
        Some(true)
    } else if f == 0.0 {
        Some(false)
    } else {
        None
    }
}

/// `boolean(value)`: `None` where Ansible raises "not a valid boolean".
pub fn ansible_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().and_then(ansible_bool_number),
        Value::String(s) => ansible_bool_text(s),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_ansible_boolean() {
        for t in [
            json!(true),
            json!("yes"),
            json!("On"),
            json!(" TRUE "),
            json!("y"),
            json!("t"),
            json!("1"),
            json!(1),
            json!(1.0),
        ] {
            assert_eq!(ansible_bool(&t), Some(true), "{t}");
        }
        for f in [
            json!(false),
            json!("no"),
            json!("OFF"),
            json!("\tfalse\n"),
            json!("n"),
            json!("F"),
            json!("0"),
            json!(0),
            json!(-0.0),
        ] {
            assert_eq!(ansible_bool(&f), Some(false), "{f}");
        }
        // Not booleans for Ansible: `boolean('1.0')` raises, like 2, '', None and lists.
        for n in [
            json!("1.0"),
            json!("0.0"),
            json!("maybe"),
            json!(""),
            json!(2),
            json!(0.5),
            json!(null),
            json!([]),
        ] {
            assert_eq!(ansible_bool(&n), None, "{n}");
        }
    }
}

//! Python's `json.dumps` and `repr(float)`, byte for byte, one copy for the template filters
//! (`to_json`, `to_nice_json`, float `str`) and `ansible-inventory`'s output (which is
//! `json.dumps(sort_keys=True, indent=4, ensure_ascii=False)`).

use std::fmt::Write;

use serde_json::Value as J;

/// Options of Python's `json.dumps` that Ansible's filters use.
#[derive(Debug, Clone, Copy)]
pub struct DumpOptions {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

/// Python's name for the type of the value `v` decodes to (`str`, `dict`, `NoneType`...), for
/// messages worded as Ansible's.
pub fn type_name(v: &J) -> &'static str {
    match v {
        J::Null => "NoneType",
        J::Bool(_) => "bool",
        J::Number(n) if n.is_f64() => "float",
        J::Number(_) => "int",
        J::String(_) => "str",
        J::Array(_) => "list",
        J::Object(_) => "dict",
    }
}

/// Python's `repr()` of a string: single quotes unless it holds a `'` and no `"`.
pub fn repr_str(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `str()` of the value `v` decodes to (a dict or list as its `repr()`), as Ansible's
/// `check_type_str` converts a mapping given where a string is wanted.
pub fn str_of(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr()` of the value `v` decodes to (`None`, `True`, `'text'`, `[1, 'a']`).
pub fn repr(v: &J) -> String {
    match v {
        J::Null => "None".to_owned(),
        J::Bool(true) => "True".to_owned(),
        J::Bool(false) => "False".to_owned(),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => float_repr(f, false),
            _ => n.to_string(),
        },
        J::String(s) => repr_str(s),
        J::Array(a) => format!("[{}]", a.iter().map(repr).collect::<Vec<_>>().join(", ")),
        J::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Serializes `v` exactly as Python's `json.dumps` would with these options.
pub fn dumps(v: &J, opts: DumpOptions) -> String {
    let mut out = String::new();
    write_value(&mut out, v, opts, 0);
    out
}

fn newline(out: &mut String, opts: DumpOptions, level: usize) {
    if let Some(indent) = opts.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', indent * level));
    }
}

fn write_value(out: &mut String, v: &J, opts: DumpOptions, level: usize) {
    // Python uses ", " between items without indent and "," with it (to_nice_json).
    let item_sep = if opts.indent.is_some() { "," } else { ", " };
    match v {
        J::Null => out.push_str("null"),
        J::Bool(true) => out.push_str("true"),
        J::Bool(false) => out.push_str("false"),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => {
                let _ = write!(out, "{i}");
            }
            (None, Some(u), _) => {
                let _ = write!(out, "{u}");
            }
            (_, _, Some(f)) => out.push_str(&float_repr(f, true)),
            _ => out.push_str("null"),
        },
        J::String(s) => write_string(out, s, opts.ensure_ascii),
        J::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, opts, level + 1);
                write_value(out, item, opts, level + 1);
            }
            newline(out, opts, level);
            out.push(']');
        }
        J::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut entries: Vec<(&String, &J)> = map.iter().collect();
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, opts, level + 1);
                write_string(out, k, opts.ensure_ascii);
                out.push_str(": ");
                write_value(out, item, opts, level + 1);
            }
            newline(out, opts, level);
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str, ensure_ascii: bool) {
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
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)` (`json` spells the non-finite values `NaN`/`Infinity`).
pub fn float_repr(f: f64, json: bool) -> String {
    if f.is_nan() {
        return if json { "NaN" } else { "nan" }.into();
    }
    if f.is_infinite() {
        let s = if json { "Infinity" } else { "inf" };
        return if f < 0.0 { format!("-{s}") } else { s.into() };
    }
    // Shortest round-trip digits, then Python's layout: exponent form below 1e-4 or from 1e16.
    let sci = format!("{f:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        format!("{sign}0.{zeros}{digits}")
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;

    const COMPACT: DumpOptions = DumpOptions {
        indent: None,
        sort_keys: false,
        ensure_ascii: true,
    };

    #[test]
    fn compact_like_python() {
        let v = json!({"b": [1, 2.5, null, true], "a": "é<"});
        assert_eq!(
            dumps(&v, COMPACT),
            r#"{"b": [1, 2.5, null, true], "a": "\u00e9<"}"#
        );
    }

    #[test]
    fn nice_like_python() {
        let v = json!({"b": [1, {}], "a": []});
        let opts = DumpOptions {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: true,
        };
        assert_eq!(
            dumps(&v, opts),
            "{\n    \"a\": [],\n    \"b\": [\n        1,\n        {}\n    ]\n}"
        );
    }

    #[test]
    fn floats_like_python_repr() {
        assert_eq!(float_repr(1.0, false), "1.0");
        assert_eq!(float_repr(0.1, false), "0.1");
        assert_eq!(float_repr(1e16, false), "1e+16");
        assert_eq!(float_repr(123456789.5, false), "123456789.5");
        assert_eq!(float_repr(0.0001, false), "0.0001");
        assert_eq!(float_repr(0.00001, false), "1e-05");
        assert_eq!(float_repr(-2.5e-7, false), "-2.5e-07");
        assert_eq!(float_repr(f64::INFINITY, true), "Infinity");
        assert_eq!(float_repr(f64::NEG_INFINITY, false), "-inf");
        assert_eq!(float_repr(f64::NAN, true), "NaN");
        for (f, s) in [
            (1.5, "1.5"),
            (1000.0, "1000.0"),
            (1.5e300, "1.5e+300"),
            (123456789.125, "123456789.125"),
            (-2.0, "-2.0"),
            (-0.0, "-0.0"),
            (1e15, "1000000000000000.0"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(float_repr(f, true), s);
        }
    }

    #[test]
    fn ensure_ascii_off_escapes_only_controls() {
        let v = json!({"d": "é\"\n\u{1F600}\u{1}\u{7f}"});
        let opts = DumpOptions {
            indent: None,
            sort_keys: false,
            ensure_ascii: false,
        };
        assert_eq!(
            dumps(&v, opts),
            "{\"d\": \"é\\\"\\n\u{1F600}\\u0001\u{7f}\"}"
        );
        let ascii = DumpOptions {
            ensure_ascii: true,
            ..opts
        };
        assert_eq!(
            dumps(&v, ascii),
            r#"{"d": "\u00e9\"\n\ud83d\ude00\u0001\u007f"}"#
        );
    }
}

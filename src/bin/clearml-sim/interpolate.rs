//! Compose variable interpolation and `.env` parsing, in the v2 flavour (compose-go: nested
//! defaults are interpolated) and the v1 flavour (docker-compose 1.x: the braced body ends at the
//! first `}` and a default is taken literally, so `${A:-$B}` yields the text `$B` when A is empty;
//! this v1 behaviour is inferred from its `interpolation.py`, the spec marks it [U]).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    V1,
    V2,
}

/// Interpolate `s`. Unset variables without a default become "" with a warning, as compose does.
pub fn interpolate(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    flavour: Flavour,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                out.push('$');
                i += 2;
            }
            Some('{') => {
                // Find the end of the braced expression.
                let start = i + 2;
                let end = match flavour {
                    Flavour::V1 => (start..chars.len()).find(|&j| chars[j] == '}'),
                    Flavour::V2 => {
                        let mut depth = 1;
                        let mut found = None;
                        let mut j = start;
                        while j < chars.len() {
                            match chars[j] {
                                '{' if j > 0 && chars[j - 1] == '$' => depth += 1,
                                '}' => {
                                    depth -= 1;
                                    if depth == 0 {
                                        found = Some(j);
                                        break;
                                    }
                                }
                                _ => {}
                            }
                            j += 1;
                        }
                        found
                    }
                };
                let Some(end) = end else {
                    return Err(format!("Invalid template: \"{s}\""));
                };
                let body: String = chars[start..end].iter().collect();
                out.push_str(&braced(&body, lookup, flavour, warnings, s)?);
                i = end + 1;
            }
            Some(&n) if n == '_' || n.is_ascii_alphabetic() => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j] == '_' || chars[j].is_ascii_alphanumeric()) {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                out.push_str(&value_or_warn(&name, lookup, flavour, warnings));
                i = j;
            }
            _ => {
                if flavour == Flavour::V1 {
                    return Err(format!(
                        "Invalid interpolation format for \"{s}\". You may need to escape any $ with another $."
                    ));
                }
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

fn value_or_warn(
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    flavour: Flavour,
    warnings: &mut Vec<String>,
) -> String {
    match lookup(name) {
        Some(v) => v,
        None => {
            let w = match flavour {
                Flavour::V2 => {
                    format!("The \"{name}\" variable is not set. Defaulting to a blank string.")
                }
                Flavour::V1 => {
                    format!("The {name} variable is not set. Defaulting to a blank string.")
                }
            };
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            String::new()
        }
    }
}

fn braced(
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    flavour: Flavour,
    warnings: &mut Vec<String>,
    whole: &str,
) -> Result<String, String> {
    let name_end = body
        .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
        .unwrap_or(body.len());
    let name = &body[..name_end];
    let op_rest = &body[name_end..];
    if name.is_empty() {
        return Err(format!(
            "Invalid interpolation format for \"{whole}\". You may need to escape any $ with another $."
        ));
    }
    let val = lookup(name);
    let sub = |t: &str, w: &mut Vec<String>| -> Result<String, String> {
        match flavour {
            Flavour::V2 => interpolate(t, lookup, flavour, w),
            Flavour::V1 => Ok(t.to_string()),
        }
    };
    for (op, empty_counts) in [
        (":-", true),
        ("-", false),
        (":?", true),
        ("?", false),
        (":+", true),
        ("+", false),
    ] {
        if let Some(arg) = op_rest.strip_prefix(op) {
            let set = match &val {
                Some(v) => !(empty_counts && v.is_empty()),
                None => false,
            };
            return match op.trim_start_matches(':') {
                "-" => {
                    if set {
                        Ok(val.unwrap_or_default())
                    } else {
                        sub(arg, warnings)
                    }
                }
                "?" => {
                    if set {
                        Ok(val.unwrap_or_default())
                    } else {
                        Err(format!(
                            "required variable {name} is missing a value: {}",
                            sub(arg, warnings)?
                        ))
                    }
                }
                _ => {
                    if set {
                        sub(arg, warnings)
                    } else {
                        Ok(String::new())
                    }
                }
            };
        }
    }
    if !op_rest.is_empty() {
        return Err(format!(
            "Invalid interpolation format for \"{whole}\". You may need to escape any $ with another $."
        ));
    }
    Ok(value_or_warn(name, lookup, flavour, warnings))
}

/// Parse a `.env` file: `KEY=VALUE` lines, `#` comments, optional quotes and `export `.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        let Some((k, v)) = l.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v[1..v.len() - 1].to_string()
        } else {
            match v.find(" #") {
                Some(i) => v[..i].trim_end().to_string(),
                None => v.to_string(),
            }
        };
        out.push((k.trim().to_string(), v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(s: &str, vars: &[(&str, &str)], f: Flavour) -> (Result<String, String>, Vec<String>) {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let look = move |k: &str| m.get(k).cloned();
        let mut w = Vec::new();
        let r = interpolate(s, &look, f, &mut w);
        (r, w)
    }

    #[test]
    fn v2_forms() {
        let v = [("A", "a"), ("E", ""), ("B", "b")];
        let r = |s: &str| run(s, &v, Flavour::V2).0.expect(s);
        assert_eq!(r("${A}"), "a");
        assert_eq!(r("x$A-y"), "xa-y");
        assert_eq!(r("${E:-d}"), "d");
        assert_eq!(r("${E-d}"), "");
        assert_eq!(r("${U-d}"), "d");
        assert_eq!(r("${E:-$B}"), "b");
        assert_eq!(r("${E:-${U:-${B}}}"), "b");
        assert_eq!(r("${A:-$B}"), "a");
        assert_eq!(r("$$A"), "$A");
        assert_eq!(r("${A:+set}"), "set");
        assert_eq!(r("${CLEARML_AGENT_UPDATE_VERSION:->=0.17.0}"), ">=0.17.0");
        let (r2, w) = run("${U}", &v, Flavour::V2);
        assert_eq!(r2.expect("u"), "");
        assert_eq!(
            w,
            vec!["The \"U\" variable is not set. Defaulting to a blank string.".to_string()]
        );
        assert!(run("${U:?need it}", &v, Flavour::V2).0.is_err());
    }

    #[test]
    fn v1_takes_defaults_literally() {
        let v = [("E", ""), ("B", "b")];
        assert_eq!(run("${E:-$B}", &v, Flavour::V1).0.expect("v1"), "$B");
        assert_eq!(run("${E:-d}", &v, Flavour::V1).0.expect("v1"), "d");
        let (_, w) = run("${U}", &v, Flavour::V1);
        assert_eq!(
            w,
            vec!["The U variable is not set. Defaulting to a blank string.".to_string()]
        );
    }

    #[test]
    fn dotenv() {
        let e = parse_dotenv("# c\nexport A=1\nB=\"two words\"\nC=x # note\n\nD=\n");
        assert_eq!(
            e,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x".into()),
                ("D".into(), "".into())
            ]
        );
    }
}

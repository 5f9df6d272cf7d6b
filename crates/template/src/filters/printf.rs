//! Python's `%` string formatting (`'%s:%d' % (host, port)`), reached through a source rewrite.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, State};

use super::{check_defined, fail, py_str};

/// A parsed `%` conversion.
struct Spec {
    key: Option<String>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
    conv: char,
}

/// `__clearfleet_pyformat(format, args)`: `format % args` with Python's rules. A tuple (a list
/// here: minijinja has no tuples) supplies one value per conversion, unless the format has a
/// single conversion, which then formats the whole value; a dict feeds `%(name)s`.
pub(super) fn pyformat(state: &State, format: &Value, args: &Value) -> Result<String, Error> {
    check_defined(state, format)?;
    check_defined(state, args)?;
    let Some(fmt) = format.as_str() else {
        return Err(fail(format!(
            "unsupported operand type(s) for %: '{}'",
            super::type_name(format)
        )));
    };
    apply(fmt, args)
}

/// `fmt % value` for a value the caller produced (the `sequence` lookup's numbers).
pub(crate) fn format_one(fmt: &str, value: &Value) -> Result<String, Error> {
    apply(fmt, value)
}

/// `fmt % args` once both are known to be defined.
fn apply(fmt: &str, args: &Value) -> Result<String, Error> {
    let (pieces, specs) = parse(fmt)?;
    let positional = specs
        .iter()
        .filter(|s| s.key.is_none() && s.conv != '%')
        .count();
    let values: Vec<Value> = if args.kind() == ValueKind::Seq && positional != 1 {
        args.try_iter()?.collect()
    } else {
        vec![args.clone()]
    };
    let mut next = values.iter();
    let mut out = String::new();
    for (text, spec) in pieces
        .iter()
        .zip(specs.iter().map(Some).chain(std::iter::repeat(None)))
    {
        out.push_str(text);
        let Some(spec) = spec else { continue };
        if spec.conv == '%' {
            out.push('%');
            continue;
        }
        let value = match &spec.key {
            Some(k) => args
                .get_item(&Value::from(k.as_str()))
                .ok()
                .filter(|v| !v.is_undefined())
                .ok_or_else(|| fail(format!("KeyError: '{k}'")))?,
            None => next
                .next()
                .cloned()
                .ok_or_else(|| fail("not enough arguments for format string"))?,
        };
        out.push_str(&convert(spec, &value)?);
    }
    if next.next().is_some() && specs.iter().all(|s| s.key.is_none()) {
        return Err(fail("not all arguments converted during string formatting"));
    }
    Ok(out)
}

/// Splits `fmt` into literal pieces and conversions (`pieces.len() == specs.len() + 1`).
fn parse(fmt: &str) -> Result<(Vec<String>, Vec<Spec>), Error> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut pieces = vec![String::new()];
    let mut specs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            if let Some(last) = pieces.last_mut() {
                last.push(chars[i]);
            }
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec {
            key: None,
            left: false,
            zero: false,
            plus: false,
            space: false,
            alt: false,
            width: 0,
            precision: None,
            conv: '%',
        };
        if chars.get(i) == Some(&'(') {
            let close = chars[i..]
                .iter()
                .position(|&c| c == ')')
                .ok_or_else(|| fail("incomplete format key"))?;
            spec.key = Some(chars[i + 1..i + close].iter().collect());
            i += close + 1;
        }
        while let Some(&c) = chars.get(i) {
            match c {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            i += 1;
        }
        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
            spec.width = spec.width.saturating_mul(10).saturating_add(d as usize);
            i += 1;
        }
        if chars.get(i) == Some(&'.') {
            i += 1;
            let mut p = 0usize;
            while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                p = p.saturating_mul(10).saturating_add(d as usize);
                i += 1;
            }
            spec.precision = Some(p);
        }
        while matches!(chars.get(i), Some('h' | 'l' | 'L')) {
            i += 1;
        }
        let conv = *chars.get(i).ok_or_else(|| fail("incomplete format"))?;
        if !"sradiuoxXeEfFgGc%".contains(conv) {
            return Err(fail(format!(
                "unsupported format character '{conv}' (0x{:x})",
                conv as u32
            )));
        }
        spec.conv = conv;
        i += 1;
        // Keep the width/precision sane: Python would happily allocate, we refuse huge ones.
        if spec.width > 10_000 || spec.precision.is_some_and(|p| p > 10_000) {
            return Err(fail("format width or precision too large"));
        }
        specs.push(spec);
        pieces.push(String::new());
    }
    Ok((pieces, specs))
}

fn py_repr(v: &Value) -> String {
    match v.as_str() {
        Some(s) if !s.contains('\'') || s.contains('"') => {
            format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
        }
        Some(s) => format!("\"{}\"", s.replace('\\', "\\\\")),
        None => py_str(v),
    }
}

fn as_f64(v: &Value, conv: char) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => f64::try_from(v.clone())
            .map_err(|_| fail(format!("%{conv} format: a real number is required"))),
        _ => Err(fail(format!(
            "%{conv} format: a real number is required, not {}",
            super::type_name(v)
        ))),
    }
}

fn as_int(v: &Value, conv: char) -> Result<i128, Error> {
    if let Ok(i) = i128::try_from(v.clone())
        && v.is_integer()
    {
        return Ok(i);
    }
    let f = as_f64(v, conv)?;
    if !f.is_finite() {
        return Err(fail("cannot convert float infinity or NaN to integer"));
    }
    Ok(f.trunc() as i128)
}

fn signed(spec: &Spec, negative: bool, prefix: &str, digits: String) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body_len = sign.len() + prefix.len() + digits.chars().count();
    if spec.zero && !spec.left && body_len < spec.width {
        format!(
            "{sign}{prefix}{}{digits}",
            "0".repeat(spec.width - body_len)
        )
    } else {
        pad(spec, format!("{sign}{prefix}{digits}"))
    }
}

fn pad(spec: &Spec, s: String) -> String {
    let len = s.chars().count();
    if len >= spec.width {
        return s;
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left { s + &fill } else { fill + &s }
}

fn float_digits(f: f64, conv: char, precision: usize, alt: bool) -> String {
    match conv {
        'e' | 'E' => {
            let s = format!("{f:.precision$e}");
            // Rust writes `1.5e2`; Python writes `1.5e+02`.
            let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
            let exp: i32 = e.parse().unwrap_or(0);
            let sign = if exp < 0 { '-' } else { '+' };
            let out = format!("{m}e{sign}{:02}", exp.abs());
            if conv == 'E' { out.to_uppercase() } else { out }
        }
        'g' | 'G' => {
            let p = precision.max(1);
            let exp = if f == 0.0 {
                0
            } else {
                f.abs().log10().floor() as i32
            };
            let mut out = if exp < -4 || exp >= p as i32 {
                float_digits(f, 'e', p - 1, alt)
            } else {
                let decimals = (p as i32 - 1 - exp).max(0) as usize;
                format!("{f:.decimals$}")
            };
            if !alt {
                let (mant, exp_part) = match out.find('e') {
                    Some(i) => (out[..i].to_owned(), out[i..].to_owned()),
                    None => (out.clone(), String::new()),
                };
                let mant = if mant.contains('.') {
                    mant.trim_end_matches('0').trim_end_matches('.').to_owned()
                } else {
                    mant
                };
                out = mant + &exp_part;
            }
            if conv == 'G' { out.to_uppercase() } else { out }
        }
        _ => format!("{f:.precision$}"),
    }
}

fn convert(spec: &Spec, v: &Value) -> Result<String, Error> {
    Ok(match spec.conv {
        's' | 'r' | 'a' => {
            let mut s = if spec.conv == 's' {
                py_str(v)
            } else {
                py_repr(v)
            };
            if let Some(p) = spec.precision {
                s = s.chars().take(p).collect();
            }
            pad(spec, s)
        }
        'd' | 'i' | 'u' => {
            let n = as_int(v, spec.conv)?;
            signed(spec, n < 0, "", n.unsigned_abs().to_string())
        }
        'o' | 'x' | 'X' => {
            let n = as_int(v, spec.conv)?;
            let m = n.unsigned_abs();
            let (digits, prefix) = match spec.conv {
                'o' => (format!("{m:o}"), "0o"),
                'x' => (format!("{m:x}"), "0x"),
                _ => (format!("{m:X}"), "0X"),
            };
            signed(spec, n < 0, if spec.alt { prefix } else { "" }, digits)
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let f = as_f64(v, spec.conv)?;
            let precision = spec.precision.unwrap_or(6);
            let digits = if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                "inf".into()
            } else {
                float_digits(f.abs(), spec.conv, precision, spec.alt)
            };
            signed(spec, f.is_sign_negative() && !f.is_nan(), "", digits)
        }
        'c' => {
            let s = match v.as_str() {
                Some(s) if s.chars().count() == 1 => s.to_owned(),
                Some(_) => return Err(fail("%c requires int or char")),
                None => {
                    let n = as_int(v, 'c')?;
                    u32::try_from(n)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| fail("%c arg not in range(0x110000)"))?
                        .to_string()
                }
            };
            pad(spec, s)
        }
        _ => String::new(),
    })
}

//! INI values are Python literals when they parse (Ansible's `_parse_value` uses
//! `ast.literal_eval`): ints, floats, True/False/None, quoted strings, lists, tuples, dicts.
//! Anything else stays the raw string.

use serde_json::{Map, Value};

/// Ansible's `_parse_value`: the Python literal `text` denotes, or the raw text.
pub fn parse_value(text: &str) -> Value {
    let trimmed = text.trim_start_matches([' ', '\t']);
    let mut p = Parser {
        s: trimmed.as_bytes(),
        src: trimmed,
        i: 0,
        depth: 0,
    };
    match p.expr() {
        Some(v) => {
            p.ws();
            if p.i == p.s.len() {
                v
            } else {
                Value::String(text.to_owned())
            }
        }
        None => Value::String(text.to_owned()),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .s
            .get(self.i)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > 100 {
            return None;
        }
        self.ws();
        let v = match self.peek()? {
            b'[' => {
                self.i += 1;
                Value::Array(self.items(b']')?)
            }
            b'(' => {
                self.i += 1;
                // A parenthesised single value without a comma is just that value.
                let start = self.i;
                if let Some(v) = self.expr()
                    && self.eat(b')')
                {
                    self.depth -= 1;
                    return Some(v);
                }
                self.i = start;
                Value::Array(self.items(b')')?)
            }
            b'{' => {
                self.i += 1;
                self.dict()?
            }
            b'-' | b'+' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.ws();
                match self.number()? {
                    Value::Number(n) => {
                        if !neg {
                            Value::Number(n)
                        } else if let Some(i) = n.as_i64() {
                            Value::from(i.checked_neg()?)
                        } else if n.is_f64() {
                            Value::from(-n.as_f64()?)
                        } else {
                            return None; // below i64::MIN: kept as text
                        }
                    }
                    _ => return None,
                }
            }
            b'0'..=b'9' | b'.' if self.s.get(self.i..self.i + 3) != Some(b"...") => {
                self.number()?
            }
            b'.' => {
                self.i += 3;
                Value::String("...".into())
            }
            b'\'' | b'"' => self.strings(0)?,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let word = self.src.get(start..self.i)?;
                if matches!(self.peek(), Some(b'\'' | b'"')) {
                    let lower = word.to_ascii_lowercase();
                    let raw = match lower.as_str() {
                        "r" | "br" | "rb" => 1,
                        "u" | "b" => 0,
                        _ => return None,
                    };
                    self.strings(raw)?
                } else {
                    match word {
                        "True" => Value::Bool(true),
                        "False" => Value::Bool(false),
                        "None" => Value::Null,
                        _ => return None,
                    }
                }
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(v)
    }

    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.expr()?);
            if self.eat(b',') {
                continue;
            }
            if self.eat(close) {
                return Some(out);
            }
            return None;
        }
    }

    fn dict(&mut self) -> Option<Value> {
        let mut out = Map::new();
        if self.eat(b'}') {
            return Some(Value::Object(out));
        }
        loop {
            let k = self.expr()?;
            if !self.eat(b':') {
                return None; // a set literal: not supported, stays raw text
            }
            let v = self.expr()?;
            let key = match k {
                Value::String(s) => s,
                Value::Bool(b) => if b { "true" } else { "false" }.to_owned(),
                Value::Null => "null".to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return None, // unhashable key: literal_eval fails too
            };
            out.insert(key, v);
            if self.eat(b',') {
                if self.eat(b'}') {
                    return Some(Value::Object(out));
                }
                continue;
            }
            if self.eat(b'}') {
                return Some(Value::Object(out));
            }
            return None;
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E'))
                && !self.src.get(start..self.i).unwrap_or("").starts_with("0x")
                && !self.src.get(start..self.i).unwrap_or("").starts_with("0X"))
        {
            self.i += 1;
        }
        let tok = self.src.get(start..self.i)?;
        python_number(tok)
    }

    /// One or more adjacent string literals (Python concatenates them).
    fn strings(&mut self, raw: u8) -> Option<Value> {
        let mut out = self.string(raw == 1)?;
        loop {
            let save = self.i;
            self.ws();
            let mut r = false;
            if matches!(self.peek(), Some(b'r' | b'R' | b'u' | b'U' | b'b' | b'B'))
                && matches!(self.s.get(self.i + 1), Some(b'\'' | b'"'))
            {
                r = matches!(self.peek(), Some(b'r' | b'R'));
                self.i += 1;
            }
            if matches!(self.peek(), Some(b'\'' | b'"')) {
                out.push_str(&self.string(r)?);
            } else {
                self.i = save;
                return Some(Value::String(out));
            }
        }
    }

    fn string(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.s.get(self.i..self.i + 3) == Some(&[q, q, q][..]);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        let rest = self.src.get(self.i..)?;
        let mut chars = rest.char_indices().peekable();
        while let Some((off, c)) = chars.next() {
            if c as u32 == u32::from(q) {
                if !triple {
                    self.i += off + 1;
                    return Some(out);
                }
                if rest.as_bytes().get(off..off + 3) == Some(&[q, q, q][..]) {
                    self.i += off + 3;
                    return Some(out);
                }
                out.push(c);
            } else if c == '\n' && !triple {
                return None;
            } else if c == '\\' {
                let (_, e) = chars.next()?;
                if raw {
                    out.push('\\');
                    out.push(e);
                    continue;
                }
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' | '\'' | '"' => out.push(e),
                    '\n' => {}
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut hex = String::new();
                        for _ in 0..n {
                            hex.push(chars.next()?.1);
                        }
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            } else {
                out.push(c);
            }
        }
        None
    }
}

/// A Python int or float literal (underscores, 0x/0o/0b, exponents); `None` if it is not one
/// (e.g. `0755`, which Python 3 rejects).
fn python_number(tok: &str) -> Option<Value> {
    if tok.is_empty() || tok.starts_with('_') || tok.ends_with('_') || tok.contains("__") {
        return None;
    }
    let lower = tok.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
            return u64::from_str_radix(&digits, radix).ok().map(Value::from);
        }
    }
    if lower.contains(['_']) {
        // underscores only between digits
        let b = lower.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'_'
                && !(i > 0
                    && b[i - 1].is_ascii_digit()
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit))
            {
                return None;
            }
        }
    }
    let clean = lower.replace('_', "");
    if clean.bytes().all(|c| c.is_ascii_digit()) {
        if clean.len() > 1 && clean.starts_with('0') && clean.bytes().any(|c| c != b'0') {
            return None; // leading zeros are a SyntaxError in Python 3
        }
        // serde_json holds at most u64; a larger Python int stays text.
        return clean.parse::<u64>().ok().map(Value::from);
    }
    let (mant, exp) = match clean.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (clean.as_str(), None),
    };
    let mant_ok = !mant.is_empty()
        && mant != "."
        && mant.matches('.').count() <= 1
        && mant.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
    });
    if !mant_ok || !exp_ok || (exp.is_none() && !mant.contains('.')) {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::parse_value as p;
    use serde_json::json;

    #[test]
    fn python_literals() {
        assert_eq!(p("1"), json!(1));
        assert_eq!(p("-5"), json!(-5));
        assert_eq!(p("1_000"), json!(1000));
        assert_eq!(p("12345678901234567890"), json!(12345678901234567890u64));
        assert_eq!(p("0o17"), json!(15));
        assert_eq!(p("0b101"), json!(5));
        assert_eq!(p("0x1F"), json!(31));
        assert_eq!(p("1.5"), json!(1.5));
        assert_eq!(p("1e3"), json!(1000.0));
        assert_eq!(p(".5"), json!(0.5));
        assert_eq!(p("True"), json!(true));
        assert_eq!(p("None"), json!(null));
        assert_eq!(p("'a b'"), json!("a b"));
        assert_eq!(p("\"x\\ty\""), json!("x\ty"));
        assert_eq!(p("'a' 'b'"), json!("ab"));
        assert_eq!(p("[1, 'two', [3]]"), json!([1, "two", [3]]));
        assert_eq!(p("(1, 2)"), json!([1, 2]));
        assert_eq!(p("(1)"), json!(1));
        assert_eq!(p("{'a': 1, 'b': [True]}"), json!({"a": 1, "b": [true]}));
        assert_eq!(p("..."), json!("..."));
    }

    #[test]
    fn non_literals_stay_raw() {
        for raw in [
            "0755",
            "true",
            "yes",
            "abc",
            "hello world",
            "1.2.3",
            "10.0.0.1",
            "{1, 2}",
            "[1,",
            "'open",
            "f'x'",
            "1__0",
            "",
            "a=b",
            "/usr/bin/python3",
        ] {
            assert_eq!(p(raw), json!(raw), "{raw}");
        }
    }
}

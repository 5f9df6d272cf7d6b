//! The subset of Go templates that `docker ... --format` needs: `{{.A.B}}`, `{{json .X}}`,
//! `{{index .X "k"}}`, `{{join .X ","}}`, `{{lower/upper .X}}`, pipes into those functions,
//! `{{range .X}}…{{end}}`, `{{if .X}}…{{else}}…{{end}}`, `{{-`/`-}}` trimming and literal text.
//! Anything else is a clear error naming the construct.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Dot(Vec<String>),
    Str(String),
    Num(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Cmd {
    func: Option<String>,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Vec<Cmd>),
    Range(Vec<Cmd>, Vec<Node>),
    If(Vec<Cmd>, Vec<Node>, Vec<Node>),
}

enum Tok {
    Text(String),
    Action(String),
}

fn lex(tpl: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = tpl;
    let mut trim_next = false;
    while let Some(i) = rest.find("{{") {
        let mut text = rest[..i].to_string();
        if trim_next {
            text = text.trim_start().to_string();
        }
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Err(format!(
                "template parsing error: template: :1: unclosed action in {tpl:?}"
            ));
        };
        let mut inner = &after[..j];
        if let Some(s) = inner.strip_prefix('-') {
            text = text.trim_end().to_string();
            inner = s;
        }
        trim_next = false;
        if let Some(s) = inner.strip_suffix('-') {
            trim_next = true;
            inner = s;
        }
        if !text.is_empty() {
            out.push(Tok::Text(text));
        }
        out.push(Tok::Action(inner.trim().to_string()));
        rest = &after[j + 2..];
    }
    let mut text = rest.to_string();
    if trim_next {
        text = text.trim_start().to_string();
    }
    if !text.is_empty() {
        out.push(Tok::Text(text));
    }
    Ok(out)
}

fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut w = String::from("\"");
            let mut closed = false;
            while let Some(d) = chars.next() {
                if d == c {
                    closed = true;
                    break;
                }
                if d == '\\' && c == '"' {
                    match chars.next() {
                        Some('n') => w.push('\n'),
                        Some('t') => w.push('\t'),
                        Some(x) => w.push(x),
                        None => {}
                    }
                } else {
                    w.push(d);
                }
            }
            if !closed {
                return Err(format!(
                    "template parsing error: template: :1: unterminated quoted string in {s:?}"
                ));
            }
            out.push(w);
        } else if c == '|' {
            chars.next();
            out.push("|".into());
        } else {
            let mut w = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() || d == '|' {
                    break;
                }
                w.push(d);
                chars.next();
            }
            out.push(w);
        }
    }
    Ok(out)
}

const FUNCS: &[&str] = &[
    "json", "index", "join", "lower", "upper", "len", "title", "println",
];

fn parse_pipeline(s: &str) -> Result<Vec<Cmd>, String> {
    let ws = words(s)?;
    let mut cmds = Vec::new();
    for part in ws.split(|w| w == "|") {
        let mut func = None;
        let mut args = Vec::new();
        for (i, w) in part.iter().enumerate() {
            if let Some(lit) = w.strip_prefix('"') {
                args.push(Arg::Str(lit.to_string()));
            } else if w == "." {
                args.push(Arg::Dot(vec![]));
            } else if let Some(p) = w.strip_prefix('.') {
                args.push(Arg::Dot(p.split('.').map(str::to_string).collect()));
            } else if w.chars().all(|c| c.is_ascii_digit()) && !w.is_empty() {
                args.push(Arg::Num(w.clone()));
            } else if i == 0 && FUNCS.contains(&w.as_str()) {
                func = Some(w.clone());
            } else {
                return Err(format!(
                    "template parsing error: template: :1: function {w:?} not defined (clearml-sim supports .Field paths, {})",
                    FUNCS.join(", ")
                ));
            }
        }
        if func.is_none() && args.len() != 1 {
            return Err(format!(
                "template parsing error: template: :1: unsupported action {{{{{s}}}}}"
            ));
        }
        cmds.push(Cmd { func, args });
    }
    if cmds.is_empty() {
        return Err("template parsing error: template: :1: missing value for command".into());
    }
    Ok(cmds)
}

fn parse_nodes(
    toks: &mut std::iter::Peekable<std::vec::IntoIter<Tok>>,
    depth: usize,
) -> Result<(Vec<Node>, Option<String>), String> {
    let mut nodes = Vec::new();
    while let Some(t) = toks.next() {
        match t {
            Tok::Text(s) => nodes.push(Node::Text(s)),
            Tok::Action(a) => {
                if a == "end" || a == "else" {
                    if depth == 0 {
                        return Err(format!(
                            "template parsing error: template: :1: unexpected {{{{{a}}}}}"
                        ));
                    }
                    return Ok((nodes, Some(a)));
                }
                if let Some(p) = a.strip_prefix("range ") {
                    let pipe = parse_pipeline(p)?;
                    let (body, end) = parse_nodes(toks, depth + 1)?;
                    if end.as_deref() != Some("end") {
                        return Err("template parsing error: template: :1: unexpected EOF (range without end)".into());
                    }
                    nodes.push(Node::Range(pipe, body));
                } else if let Some(p) = a.strip_prefix("if ") {
                    let pipe = parse_pipeline(p)?;
                    let (then, end) = parse_nodes(toks, depth + 1)?;
                    let els = match end.as_deref() {
                        Some("else") => {
                            let (e, end2) = parse_nodes(toks, depth + 1)?;
                            if end2.as_deref() != Some("end") {
                                return Err("template parsing error: template: :1: unexpected EOF (if without end)".into());
                            }
                            e
                        }
                        Some("end") => vec![],
                        _ => return Err(
                            "template parsing error: template: :1: unexpected EOF (if without end)"
                                .into(),
                        ),
                    };
                    nodes.push(Node::If(pipe, then, els));
                } else if a.starts_with("with ")
                    || a.starts_with("define ")
                    || a.starts_with("template ")
                    || a.contains(":=")
                {
                    return Err(format!(
                        "template parsing error: clearml-sim does not support {{{{{a}}}}}"
                    ));
                } else {
                    nodes.push(Node::Action(parse_pipeline(&a)?));
                }
            }
        }
    }
    if depth > 0 {
        return Err("template parsing error: template: :1: unexpected EOF".into());
    }
    Ok((nodes, None))
}

fn lookup(dot: &Value, path: &[String]) -> Option<Value> {
    let mut cur = dot.clone();
    for p in path {
        cur = cur.as_object()?.get(p)?.clone();
    }
    Some(cur)
}

fn arg_val(a: &Arg, dot: &Value) -> Option<Value> {
    match a {
        Arg::Dot(p) => lookup(dot, p),
        Arg::Str(s) => Some(Value::String(s.clone())),
        Arg::Num(n) => n.parse::<i64>().ok().map(Value::from),
    }
}

/// Go's `%v` of a decoded JSON value.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", m.get(*k).map(show).unwrap_or_default()))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn truthy(v: &Option<Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
    }
}

fn eval(cmds: &[Cmd], dot: &Value) -> Result<Option<Value>, String> {
    let mut prev: Option<Option<Value>> = None;
    for c in cmds {
        let mut vals: Vec<Option<Value>> = c.args.iter().map(|a| arg_val(a, dot)).collect();
        if let Some(p) = prev.take() {
            vals.push(p);
        }
        let r = match c.func.as_deref() {
            None => vals.into_iter().next().flatten(),
            Some("json") => {
                let v = vals.into_iter().next().flatten().unwrap_or(Value::Null);
                Some(Value::String(v.to_string()))
            }
            Some("index") => {
                let mut it = vals.into_iter();
                let mut cur = it.next().flatten();
                for k in it {
                    cur = match (cur, k) {
                        (Some(Value::Object(m)), Some(Value::String(k))) => m.get(&k).cloned(),
                        (Some(Value::Array(a)), Some(Value::Number(n))) => n
                            .as_u64()
                            .and_then(|i| usize::try_from(i).ok())
                            .and_then(|i| a.get(i).cloned()),
                        _ => None,
                    };
                }
                cur
            }
            Some("join") => {
                let (a, sep) = (
                    vals.first().cloned().flatten(),
                    vals.get(1).cloned().flatten(),
                );
                let sep = sep.as_ref().map(show).unwrap_or_default();
                match a {
                    Some(Value::Array(a)) => Some(Value::String(
                        a.iter().map(show).collect::<Vec<_>>().join(&sep),
                    )),
                    other => other,
                }
            }
            Some("lower") => vals
                .into_iter()
                .next()
                .flatten()
                .map(|v| Value::String(show(&v).to_lowercase())),
            Some("upper") => vals
                .into_iter()
                .next()
                .flatten()
                .map(|v| Value::String(show(&v).to_uppercase())),
            Some("title") => vals.into_iter().next().flatten().map(|v| {
                let s = show(&v);
                let mut c = s.chars();
                Value::String(
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default(),
                )
            }),
            Some("println") => Some(Value::String(format!(
                "{}\n",
                vals.iter()
                    .map(|v| v.as_ref().map(show).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
            ))),
            Some("len") => match vals.into_iter().next().flatten() {
                Some(Value::Array(a)) => Some(Value::from(a.len())),
                Some(Value::Object(m)) => Some(Value::from(m.len())),
                Some(Value::String(s)) => Some(Value::from(s.len())),
                _ => return Err("template: :1: error calling len: len of nil".into()),
            },
            Some(f) => {
                return Err(format!(
                    "template parsing error: template: :1: function {f:?} not defined"
                ));
            }
        };
        prev = Some(r);
    }
    Ok(prev.flatten())
}

fn exec(nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(cmds) => match eval(cmds, dot)? {
                Some(v) => out.push_str(&show(&v)),
                None => out.push_str("<no value>"),
            },
            Node::Range(cmds, body) => match eval(cmds, dot)? {
                Some(Value::Array(items)) => {
                    for it in &items {
                        exec(body, it, out)?;
                    }
                }
                Some(Value::Object(m)) => {
                    let mut keys: Vec<&String> = m.keys().collect();
                    keys.sort();
                    for k in keys {
                        if let Some(v) = m.get(k) {
                            exec(body, v, out)?;
                        }
                    }
                }
                None | Some(Value::Null) => {}
                Some(other) => {
                    return Err(format!(
                        "template: :1: range can't iterate over {}",
                        show(&other)
                    ));
                }
            },
            Node::If(cmds, then, els) => {
                if truthy(&eval(cmds, dot)?) {
                    exec(then, dot, out)?;
                } else {
                    exec(els, dot, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Render `tpl` against `data`.
pub fn render(tpl: &str, data: &Value) -> Result<String, String> {
    let toks = lex(tpl)?;
    let (nodes, _) = parse_nodes(&mut toks.into_iter().peekable(), 0)?;
    let mut out = String::new();
    exec(&nodes, data, &mut out)?;
    Ok(out)
}

/// Check a template without data (so errors come before any output).
pub fn check(tpl: &str) -> Result<(), String> {
    let toks = lex(tpl)?;
    parse_nodes(&mut toks.into_iter().peekable(), 0).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> Value {
        json!({"Name":"/clearml-apiserver","RestartCount":3,"State":{"Status":"running","ExitCode":0,"Running":true},
               "Config":{"Image":"allegroai/clearml:latest","Env":["A=1","B=2"],"Labels":{"com.docker.compose.project":"clearml"}},
               "Mounts":[{"Source":"/opt/clearml/logs","Destination":"/var/log/clearml"},{"Source":"/opt/clearml/config","Destination":"/opt/clearml/config"}]})
    }

    #[test]
    fn supported_subset() {
        let d = data();
        let r = |t: &str| render(t, &d).expect(t);
        assert_eq!(
            r("{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}"),
            "running 3 0"
        );
        assert_eq!(r("{{json .Config.Env}}"), "[\"A=1\",\"B=2\"]");
        assert_eq!(
            r("{{index .Config.Labels \"com.docker.compose.project\"}}"),
            "clearml"
        );
        assert_eq!(r("{{index .Config.Labels \"missing\"}}"), "<no value>");
        assert_eq!(
            r("{{range .Mounts}}{{.Source}} {{end}}"),
            "/opt/clearml/logs /opt/clearml/config "
        );
        assert_eq!(r("x={{.Config.Image}}!"), "x=allegroai/clearml:latest!");
        assert_eq!(r("{{.Config.Env}}"), "[A=1 B=2]");
        assert_eq!(r("{{.Config.Env | json}}"), "[\"A=1\",\"B=2\"]");
        assert_eq!(r("{{join .Config.Env \",\"}}"), "A=1,B=2");
        assert_eq!(r("{{if .State.Running}}up{{else}}down{{end}}"), "up");
        assert_eq!(
            r("{{range .Mounts -}} {{.Destination}};{{- end}}"),
            "/var/log/clearml;/opt/clearml/config;"
        );
        assert!(r("{{json .}}").starts_with("{\"Name\":\"/clearml-apiserver\""));
    }

    #[test]
    fn unsupported_is_a_clear_error() {
        let e = render("{{printf \"%s\" .Name}}", &data()).expect_err("printf");
        assert!(e.contains("\"printf\" not defined"), "{e}");
        assert!(render("{{.Name", &data()).is_err());
        assert!(render("{{range .Mounts}}x", &data()).is_err());
        assert!(check("{{with .State}}{{end}}").is_err());
    }
}

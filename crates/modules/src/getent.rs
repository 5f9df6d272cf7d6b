//! `getent`: one database of the host's NSS (`getent DATABASE [KEY] [-s SERVICE]`) returned as
//! facts, `getent_<database>`, record by record, as ansible-core 2.19.14's
//! lib/ansible/modules/getent.py does (fields split on `:` for passwd, shadow, group and
//! gshadow, else on whitespace or `split`; a key seen twice holds a list of records; its
//! messages for rc 1, 2 and 3). One round trip; nothing changes, in check mode too.

use serde_json::{Map, Value};

use super::args::{ArgError, Args, Key};
use super::context::ModuleContext;
use super::probe::call;
use super::remote::Remote;
use super::result::ModuleResult;
use clearfleet_base::shell::quote;

/// Arguments of `getent`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetentArgs {
    pub database: String,
    pub key: Option<String>,
    pub service: Option<String>,
    /// The field separator; `None`: `:` for the colon databases, else whitespace.
    pub split: Option<String>,
    pub fail_key: bool,
}

/// Accepted keys.
pub const KEYS: &[Key] = &[
    ("database", &[]),
    ("key", &[]),
    ("service", &[]),
    ("split", &[]),
    ("fail_key", &[]),
];

/// getent.py's databases whose fields are split on `:` by default.
const COLON: &[&str] = &["passwd", "shadow", "group", "gshadow"];

impl GetentArgs {
    /// Parses and checks the arguments.
    pub fn parse(v: &Value) -> Result<GetentArgs, ArgError> {
        let mut a = Args::new("getent", KEYS, v)?;
        let parsed = GetentArgs {
            database: a.req_str("database")?,
            key: a.str("key")?,
            service: a.str("service")?,
            split: a.str("split")?,
            fail_key: a.bool("fail_key", true)?,
        };
        a.finish()?;
        Ok(parsed)
    }

    fn command(&self) -> String {
        let mut cmd = format!("getent {}", quote(&self.database));
        if let Some(k) = &self.key {
            cmd.push_str(&format!(" {}", quote(k)));
        }
        if let Some(s) = &self.service {
            cmd.push_str(&format!(" -s {}", quote(s)));
        }
        cmd
    }

    /// The records of getent's output under their first field (Python's `str.split`).
    fn records(&self, out: &str) -> Map<String, Value> {
        let split = self.split.clone().or_else(|| {
            COLON
                .contains(&self.database.as_str())
                .then(|| ":".to_owned())
        });
        let mut records = Map::new();
        let mut seen: Map<String, Value> = Map::new();
        for line in out.lines() {
            let fields: Vec<&str> = match &split {
                Some(sep) if !sep.is_empty() => line.split(sep.as_str()).collect(),
                _ => line.split_whitespace().collect(),
            };
            let Some((first, rest)) = fields.split_first() else {
                // `"".split()` is `[]`: getent.py's `record[0]` raises; skip the empty line.
                continue;
            };
            let rest = Value::from(rest.to_vec());
            match records.get_mut(*first) {
                Some(existing) => {
                    // More than one record for the key: a list of them.
                    if !seen.contains_key(*first) {
                        *existing = Value::Array(vec![existing.take()]);
                        seen.insert((*first).to_owned(), Value::Bool(true));
                    }
                    if let Value::Array(list) = existing {
                        list.push(rest);
                    }
                }
                None => {
                    records.insert((*first).to_owned(), rest);
                }
            }
        }
        records
    }
}

/// Runs `getent`: the database (or the key's records) as `ansible_facts.getent_<database>`.
pub async fn run<R: Remote>(args: &GetentArgs, ctx: &ModuleContext<'_, R>) -> ModuleResult {
    let script = format!("{}\necho \"rc=$?\" >&2\n", args.command());
    let out = match call(ctx, &script, None, None).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let stderr = out.stderr_text();
    let rc: i32 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("rc="))
        .and_then(|rc| rc.trim().parse().ok())
        .unwrap_or(-1);
    let tree = format!("getent_{}", args.database);
    let facts = |records: Map<String, Value>| {
        let mut m = Map::new();
        m.insert(tree.clone(), Value::Object(records));
        Value::Object(m)
    };
    let msg = match rc {
        0 => {
            return ModuleResult::ok()
                .with("ansible_facts", facts(args.records(&out.stdout_text())));
        }
        1 => "Missing arguments, or database unknown.",
        2 => {
            let msg = "One or more supplied key could not be found in the database.";
            if !args.fail_key {
                let mut records = Map::new();
                records.insert(args.key.clone().unwrap_or_default(), Value::Null);
                return ModuleResult::ok()
                    .with("ansible_facts", facts(records))
                    .with_msg(msg);
            }
            msg
        }
        3 => "Enumeration not supported on this database.",
        _ => "Unexpected failure!",
    };
    ModuleResult::fail(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> GetentArgs {
        GetentArgs::parse(&v).expect("args")
    }

    #[test]
    fn records_split_as_getent_py_does() {
        let a = args(json!({"database": "shadow", "key": "u"}));
        assert_eq!(
            Value::Object(a.records("u:$6$x:19000:0:99999:7:::\n")),
            json!({"u": ["$6$x", "19000", "0", "99999", "7", "", "", ""]})
        );
        let hosts = args(json!({"database": "hosts"}));
        assert_eq!(
            Value::Object(hosts.records("127.0.0.1  localhost a\n127.0.0.1 b\n::1 c\n")),
            json!({"127.0.0.1": [["localhost", "a"], ["b"]], "::1": ["c"]})
        );
    }

    #[test]
    fn the_command_is_quoted() {
        let a = args(json!({"database": "passwd", "key": "a; id", "service": "files"}));
        assert_eq!(a.command(), "getent passwd 'a; id' -s files");
    }
}
